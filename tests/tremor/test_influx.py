"""``influx`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-influx/src/lib.rs``,
``tremor-codec/src/codec/influx.rs``), InfluxData's line-protocol corpus
(influxdata/line-protocol-corpus, via /work/shared/data/upstream), and every escape rule
with decode -> encode -> decode round trips."""

from __future__ import annotations

from typing import Any

import pytest
from rxunix.codecs.binflux import BinfluxCodec
from rxunix.codecs.influx import InfluxCodec
from rxunix.errors import CodecError

from ._util import upstream

TS = 1_465_839_830_100_400_200


def point(measurement: str, tags: dict[str, str], fields: dict[str, Any], ts: int = TS) -> dict[str, Any]:
    return {"measurement": measurement, "tags": tags, "fields": fields, "timestamp": ts}


W = {"location": "us-midwest"}

# tremor-influx/src/lib.rs: parse_* and parse_escape* tests (line, expected value)
LIB_CASES: list[tuple[str, bytes, dict[str, Any]]] = [
    ("unparse_test / parse_simple", b"weather,location=us-midwest temperature=82 1465839830100400200",
     point("weather", W, {"temperature": 82.0})),
    ("parse_simple2", b"weather,location=us-midwest,season=summer temperature=82 1465839830100400200",
     point("weather", {"location": "us-midwest", "season": "summer"}, {"temperature": 82.0})),
    ("parse_simple3", b"weather,location=us-midwest temperature=82,bug_concentration=98 1465839830100400200",
     point("weather", W, {"temperature": 82.0, "bug_concentration": 98.0})),
    ("parse_float_value", b"weather temperature=82 1465839830100400200", point("weather", {}, {"temperature": 82.0})),
    ("parse_int_value", b"weather temperature=82i 1465839830100400200", point("weather", {}, {"temperature": 82})),
    ("parse_str_value", b'weather,location=us-midwest temperature="too warm" 1465839830100400200',
     point("weather", W, {"temperature": "too warm"})),
    ("parse_escape01", b"weather,location=us\\,midwest temperature=82 1465839830100400200",
     point("weather", {"location": "us,midwest"}, {"temperature": 82.0})),
    ("parse_escape02", b"weather,location=us-midwest temp\\=rature=82 1465839830100400200",
     point("weather", W, {"temp=rature": 82.0})),
    ("parse_escape03", b"weather,location\\ place=us-midwest temperature=82 1465839830100400200",
     point("weather", {"location place": "us-midwest"}, {"temperature": 82.0})),
    ("parse_escape04", b"wea\\,ther,location=us-midwest temperature=82 1465839830100400200",
     point("wea,ther", W, {"temperature": 82.0})),
    ("parse_escape05", b"wea\\ ther,location=us-midwest temperature=82 1465839830100400200",
     point("wea ther", W, {"temperature": 82.0})),
    ("parse_escape06", b'weather,location=us-midwest temperature="too\\"hot\\"" 1465839830100400200',
     point("weather", W, {"temperature": 'too"hot"'})),
    ("parse_escape07", b'weather,location=us-midwest temperature_str="too hot/cold" 1465839830100400201',
     point("weather", W, {"temperature_str": "too hot/cold"}, TS + 1)),
    ("parse_escape08", b'weather,location=us-midwest temperature_str="too hot\\cold" 1465839830100400202',
     point("weather", W, {"temperature_str": "too hot\\cold"}, TS + 2)),
    ("parse_escape09", b'weather,location=us-midwest temperature_str="too hot\\\\cold" 1465839830100400203',
     point("weather", W, {"temperature_str": "too hot\\cold"}, TS + 3)),
    ("parse_escape10", b'weather,location=us-midwest temperature_str="too hot\\\\\\cold" 1465839830100400204',
     point("weather", W, {"temperature_str": "too hot\\\\cold"}, TS + 4)),
    ("parse_escape11", b'weather,location=us-midwest temperature_str="too hot\\\\\\\\cold" 1465839830100400205',
     point("weather", W, {"temperature_str": "too hot\\\\cold"}, TS + 5)),
    ("parse_escape12", b'weather,location=us-midwest temperature_str="too hot\\\\\\\\\\cold" 1465839830100400206',
     point("weather", W, {"temperature_str": "too hot\\\\\\cold"}, TS + 6)),
]  # fmt: skip


@pytest.mark.parametrize(("test", "line", "expected"), LIB_CASES, ids=[c[0] for c in LIB_CASES])
def test_lib_cases(test: str, line: bytes, expected: dict[str, Any]) -> None:
    c = InfluxCodec()
    value = c.decode(line)
    assert value == expected
    assert [type(v) for v in value["fields"].values()] == [type(v) for v in expected["fields"].values()]
    assert c.decode(c.encode(value)) == value


@pytest.mark.parametrize("spelling", ["true", "True", "TRUE", "t", "T", "false", "False", "FALSE", "f", "F"])
def test_parse_true_false_value(spelling: str) -> None:
    # lib.rs: parse_true_value, parse_false_value
    v = InfluxCodec().decode(b"weather,location=us-midwest too_hot=%s 1465839830100400200" % spelling.encode())
    assert v == point("weather", W, {"too_hot": spelling[0] in "tT"})


def test_parse_no_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    # lib.rs: parse_no_timestamp (the ingest time stands in)
    import rxunix.codecs.influx as influx

    monkeypatch.setattr(influx.time, "time_ns", lambda: TS)
    assert InfluxCodec().decode(b"weather temperature=82i") == point("weather", {}, {"temperature": 82})


@pytest.mark.parametrize("line", [b"", b"  ", b"  \n", b" \t \n", b"# bla", b"  # bla", b" \t \n# bla"])
def test_unparse_empty_and_comment(line: bytes) -> None:
    # lib.rs: unparse_empty, unparse_comment. Tremor returns no event; a codec here returns one
    # value per frame, so rxunix reports it as a CodecError (documented; drop such frames with
    # remove-empty or a filter).
    with pytest.raises(CodecError, match="empty or comment line"):
        InfluxCodec().decode(line)


def test_parse_example() -> None:
    # lib.rs: parse_example (integers as ints, floats as floats)
    v = {"measurement": "swap", "tags": {"host": "56a6f1b85709", "window": "10secs"},
         "fields": {"count_free": 2, "min_free": 2139095040, "mean_free": 2143289344.0, "stdev_free": 0.0,
                    "p99.9_free": 2147483647}, "timestamp": 1465839830100400200}  # fmt: skip
    assert InfluxCodec().encode(v) == (
        b"swap,host=56a6f1b85709,window=10secs count_free=2i,mean_free=2143289344.0,min_free=2139095040i,"
        b"p99.9_free=2147483647i,stdev_free=0.0 1465839830100400200"
    )


def test_simple_bin_parse() -> None:
    # influx.rs: simple_bin_parse
    d = InfluxCodec().decode(b"weather,location=us-midwest,name=cake temperature=82 1465839830100400200")
    assert BinfluxCodec().decode(BinfluxCodec().encode(d)) == d


def test_encode_mixed_bag() -> None:
    # influx.rs: encode_mixed_bag. Tremor writes
    #   wea\,\\\ ther temp\=erature=82.0,too\\\ \\\\\\\"hot\"=true 1465839830100400200
    # escaping every '"' and '\' in names, which its own decoder does not read back (it keeps '\"').
    # rxunix writes a '"' as is and a backslash escaped only where it would read as an escape, so
    # the value round-trips (docs/tremor.md, Beyond Tremor).
    s = point("wea,\\ ther", {}, {"temp=erature": 82.0, 'too\\ \\\\\\"hot"': True})
    c = InfluxCodec()
    encoded = c.encode(s)
    assert encoded == rb'wea\,\\\ ther temp\=erature=82.0,too\\\ \\\\\"hot"=true 1465839830100400200'
    assert c.decode(encoded) == s


def test_decode_test() -> None:
    # influx.rs: decode_test
    assert InfluxCodec().decode(b"weather,location=us-midwest temperature=82 1465839830100400200") == point(
        "weather", W, {"temperature": 82.0}
    )


# influx.rs: get_data_for_tests (cases 0-12), used by round_trip_all_cases
ROUND_TRIP = [
    point("weather", {"location": "us,midwest"}, {"temperature": 82.0}),
    point("weather", {"location_place": "us-midwest"}, {"temp=erature": 82.0}),
    point("weather", {"location place": "us-midwest"}, {"temperature": 82.0}),
    point("wea,ther", W, {"temperature": 82.0}),
    point("wea ther", W, {"temperature": 82.0}),
    point("weather", W, {"temperature_str": "too\\ hot\\cold"}),
    point("weather", W, {"temperature_str": "too hot/cold"}),
    point("weather", W, {"temperature_str": "too hot\\cold"}),
    point("weather", W, {"temperature_str": "too hot\\\\cold"}, TS + 4),
    point("weather", W, {"temperature_str": "too hot\\\\cold"}, TS + 5),
    point("weather", W, {"temperature_str": "too hot\\\\\\cold"}, TS + 6),
    point("weather", W, {"temperature": 82.0, "bug_concentration": 98.0}),
    point("weather", W, {"temperature": 82}),
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=[f"case {i}" for i in range(len(ROUND_TRIP))])
def test_round_trip_all_cases(value: dict[str, Any]) -> None:
    # influx.rs: round_trip_all_cases (through influx and through binflux)
    c = InfluxCodec()
    assert c.decode(c.encode(value)) == value
    assert BinfluxCodec().decode(BinfluxCodec().encode(value)) == value


def test_live_usecase() -> None:
    # influx.rs: live_usecase (decodes, and encodes back to the same bytes)
    line = (
        b"kafka_BrokerTopicMetrics,agent=jmxtrans,dc=iad1,host_name=kafka-iad1-g4-1,junk=kafka_topic,"
        b"kafka_type=server,metric_type=counter,topic_name=customerEmailServiceMessage BytesInPerSec=0i,"
        b"BytesOutPerSec=0i,FailedFetchRequestsPerSec=0i,FetchMessageConversionsPerSec=0i,"
        b"TotalFetchRequestsPerSec=1993153i 1562179275506000000"
    )
    c = InfluxCodec()
    v = c.decode(line)
    assert v["tags"]["topic_name"] == "customerEmailServiceMessage"
    assert v["fields"]["TotalFetchRequestsPerSec"] == 1993153
    assert c.encode(v) == line


# --- InfluxData's line-protocol corpus --------------------------------------------------------

#: Corpus inputs where rxunix follows Tremor instead of InfluxData's parsers, each with the reason.
CORPUS_DIFFERENCES = {
    b"\tm v=1": "the line is trimmed first, as Tremor trims it",
    b"x\x01y v=1": "control characters in names are kept, as in Tremor",
    b"m x\x01y=1": "control characters in names are kept, as in Tremor",
    b"m,x\x01y=v v=1": "control characters in names are kept, as in Tremor",
    b"cpu,host=two\\\\\\ words value=42": "'\\\\' is an escaped backslash, as in Tremor",
    b"cpu,host=two\\\\ words value=42": "'\\\\' is an escaped backslash, as in Tremor",
    b"cpu,regions=eas\\\\ t value=1.0": "'\\\\' is an escaped backslash, as in Tremor",
    b"cpu,regions=east\\\\  value=1.0": "'\\\\' is an escaped backslash, as in Tremor",
    b"cpu,reg\\\\=ion=east value=1.0": "'\\\\' is an escaped backslash, as in Tremor",
    b"cpu,regions=\\\\,\\,\\=east value=1.0": "'\\\\' is an escaped backslash, as in Tremor",
    b"cpu,regions=\\\\ east value=1.0": "'\\\\' is an escaped backslash, as in Tremor",
}


def _corpus() -> list[tuple[str, bytes, int, Any]]:
    cases = upstream("_lp_corpus_cases").DECODE
    return [(key, text if isinstance(text, bytes) else text.encode(), default, result)
            for key, _impl, _about, text, default, result in cases]  # fmt: skip


def _expected(result: Any, default_time: int) -> dict[str, Any] | None:
    if result[0] == "error":
        return None
    (p,) = result[1]
    fields = {k: v for k, (_kind, v) in p["fields"]}
    kinds = [_TYPES[kind] for _k, (kind, _v) in p["fields"]]
    return {"measurement": p["name"], "tags": dict(p["tags"]), "fields": fields, "time": p["time"], "kinds": kinds}


_TYPES = {"float": float, "int": int, "uint": int, "string": str, "bool": bool, "binary": bytes}


@pytest.mark.parametrize(("key", "text", "default", "result"), _corpus(), ids=lambda v: v if isinstance(v, str) else "")
def test_line_protocol_corpus(
    key: str, text: bytes, default: int, result: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rxunix.codecs.influx as influx

    monkeypatch.setattr(influx.time, "time_ns", lambda: default)
    expected = _expected(result, default)
    try:
        got: dict[str, Any] | None = InfluxCodec().decode(text)
    except CodecError:
        got = None
    if text in CORPUS_DIFFERENCES:
        same = (got is None and expected is None) or (
            got is not None
            and expected is not None
            and (got["measurement"], got["tags"], got["fields"])
            == (expected["measurement"], expected["tags"], expected["fields"])
        )
        assert not same, f"no longer differs from InfluxData: {CORPUS_DIFFERENCES[text]}"
        return
    if expected is None:
        assert got is None, f"InfluxData rejects {text!r} ({result[1][:60]}); rxunix decoded {got!r}"
        return
    assert got is not None, f"InfluxData accepts {text!r}"
    assert (got["measurement"], got["tags"], got["fields"], got["timestamp"]) == (
        expected["measurement"], expected["tags"], expected["fields"], expected["time"],
    )  # fmt: skip
    assert [type(v) for v in got["fields"].values()] == expected["kinds"]
    c = InfluxCodec()
    assert c.decode(c.encode(got)) == got


# --- real-world lines: every escape rule, round trips -----------------------------------------

REAL_WORLD = [
    # Telegraf's cpu and disk inputs
    b"cpu,cpu=cpu-total,host=web01 usage_idle=98.5,usage_system=0.75,usage_user=0.75 1700000000000000000",
    b"disk,device=sda1,fstype=ext4,host=web01,mode=rw,path=/ free=52305047552i,used_percent=47.3 1700000000000000000",
    # escapes in the measurement (comma, space), tag keys/values (comma, equals, space), field keys
    b"my\\ measurement,my\\,tag=a\\=b,tag\\ key=tag\\ value field\\=key=1i 1700000000000000000",
    # a double quote in a tag value is kept escaped (no escape needed: it is not a field string)
    b'http,path=/a\\"b status="ok" 1700000000000000000',
    # string fields with quotes, backslashes, commas, spaces and equals signs
    b'log,app=api msg="GET /x?a=1,b=2 \\"quoted\\" C:\\\\temp" 1700000000000000000',
    # unsigned ints, negative ints, exponent floats, booleans, unicode
    "m,城市=東京 big=18446744073709551615u,neg=-42i,sci=1.5e-07,up=true 1700000000000000000".encode(),
    # no timestamp: decode time stands in
    b"mem,host=web01 available_percent=62.1",
]


@pytest.mark.parametrize("line", REAL_WORLD)
def test_real_world_round_trip(line: bytes) -> None:
    c = InfluxCodec()
    v = c.decode(line)
    assert c.decode(c.encode(v)) == v


def test_duplicate_tag_keys_are_an_error() -> None:
    # beyond Tremor (last one wins there): InfluxData rejects a line with a duplicate tag key
    with pytest.raises(CodecError, match="duplicate tag key 'b'"):
        InfluxCodec().decode(b"cpu,b=2,c=3,b=1 value=1i 1000000000")


def test_tag_with_escaped_quote_keeps_it() -> None:
    v = InfluxCodec().decode(b'cpu,tag0=1\\"\\",t=k value=1 0')
    assert v["tags"] == {"tag0": '1\\"\\"', "t": "k"}
    assert InfluxCodec().encode(v) == b'cpu,t=k,tag0=1\\"\\" value=1.0 0'
