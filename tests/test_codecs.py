"""string, binary, msgpack, yaml, csv, influx, statsd, syslog: round trips and errors."""

from __future__ import annotations

import math
import sys
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.codecs import yaml_codec
from rxunix.codecs.csv_codec import CsvCodec
from rxunix.codecs.influx import InfluxCodec
from rxunix.codecs.msgpack_codec import MsgpackCodec
from rxunix.codecs.statsd import StatsdCodec
from rxunix.codecs.syslog import FACILITIES, SEVERITIES, SyslogCodec
from rxunix.codecs.text import BinaryCodec, StringCodec
from rxunix.codecs.yaml_codec import YamlCodec
from rxunix.errors import CodecError, ConfigError, MissingExtraError
from rxunix.registry import create_codec

FAST = settings(max_examples=100, deadline=None)
text = st.text(st.characters(exclude_categories=("Cs",)))
json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=15,
)

ALL = ["string", "binary", "msgpack", "yaml", "csv", "influx", "statsd", "syslog"]


@pytest.mark.parametrize("name", ALL)
def test_registered_and_rejects_unknown_options(name: str) -> None:
    assert create_codec(name).decode is not None
    with pytest.raises(ConfigError, match=f"{name}: unknown option 'bogus'"):
        create_codec({"name": name, "config": {"bogus": 1}})


# ---------------------------------------------------------------- string / binary


@FAST
@given(text)
def test_string_round_trip(s: str) -> None:
    c = StringCodec()
    assert c.decode(c.encode(s)) == s


def test_string_errors_and_non_str() -> None:
    c = StringCodec()
    with pytest.raises(CodecError, match="invalid UTF-8 at byte 1"):
        c.decode(b"a\xff")
    with pytest.raises(CodecError):
        c.encode("\ud800")
    with pytest.raises(CodecError, match="string: cannot encode object"):
        c.encode(object())
    assert c.encode({"a": [1, 1e-7]}) == b'{"a":[1,1e-7]}'
    assert c.encode(3) == b"3"
    assert c.decode(b"") == ""


@FAST
@given(st.binary())
def test_binary_round_trip(b: bytes) -> None:
    c = BinaryCodec()
    assert c.encode(c.decode(b)) == b
    assert c.encode(bytearray(b)) == b


def test_binary_encode_types() -> None:
    c = BinaryCodec()
    assert c.encode("é") == b"\xc3\xa9"
    assert c.encode(memoryview(b"xy")) == b"xy"
    # as Tremor's: any other value is written as its JSON text
    assert [c.encode(v) for v in (1, None, {"a": [1.5]})] == [b"1", b"null", b'{"a":[1.5]}']
    assert c.encode([b"a"]) == b'["a"]'  # bytes inside a value as the JSON codec writes them
    with pytest.raises(CodecError, match="binary: cannot encode set"):
        c.encode({1})  # no JSON text


# ---------------------------------------------------------------- msgpack


@FAST
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats(allow_nan=False)
        | text
        | st.binary(),
        lambda kids: st.lists(kids, max_size=4)
        | st.dictionaries(text | st.integers(-(2**63), 2**64 - 1) | st.binary(), kids, max_size=4),
        max_leaves=15,
    )
)
def test_msgpack_round_trip(value: Any) -> None:
    c = MsgpackCodec()
    assert c.decode(c.encode(value)) == value


def test_msgpack_mapping_proxy_and_errors() -> None:
    c = MsgpackCodec()
    assert c.decode(c.encode(MappingProxyType({"a": (1, 2)}))) == {"a": [1, 2]}
    for bad in (b"", b"\xc1", b"\x92\x01", c.encode(1) + b"\x00", b"\xa2\xff\xfe", b"\x81\x90\x01"):
        with pytest.raises(CodecError, match=r"msgpack: cannot decode \d+ bytes: \w+: \S"):
            c.decode(bad)
    for value in (2**64, object(), {1, 2}):
        with pytest.raises(CodecError, match="msgpack: cannot encode"):
            c.encode(value)


def test_msgpack_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "msgpack", None)
    with pytest.raises(MissingExtraError, match=r"rxunix\[msgpack\]") as info:
        MsgpackCodec()
    assert info.value.extra == "msgpack"


# ---------------------------------------------------------------- yaml


@FAST
@given(json_like)
def test_yaml_round_trip(value: Any) -> None:
    c = YamlCodec()
    assert c.decode(c.encode(value)) == value


def test_yaml_values_stay_json_like() -> None:
    c = YamlCodec()
    assert c.decode(b"when: 2001-12-14 21:59:43.10 -5\nok: yes\n") == {
        "when": "2001-12-14 21:59:43.10 -5",
        "ok": "yes",  # YAML 1.2, as serde_yaml: only true/false are booleans
    }
    assert c.encode({"b": 1, "a": "é"}) == "b: 1\na: é\n".encode()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"  \n",
        b"a: 1\n---\nb: 2\n",
        b"[1",
        b"? [1]\n: 2",
        b"!!python/object/apply:os.system ['x']",
        b"\xff",
        b"a: *nope",
    ],
)
def test_yaml_malformed(data: bytes) -> None:
    with pytest.raises(CodecError, match="yaml"):
        YamlCodec().decode(data)


def test_yaml_encode_errors_and_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CodecError, match="yaml: cannot encode"):
        YamlCodec().encode(object())
    monkeypatch.setattr(yaml_codec, "_CLASSES", None)
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(MissingExtraError, match=r"rxunix\[yaml\]"):
        YamlCodec()


# ---------------------------------------------------------------- csv


@FAST
@given(
    st.lists(
        st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")), min_size=1, max_size=6
    )
)
def test_csv_round_trip(fields: list[str]) -> None:
    c = CsvCodec()
    out = c.encode(fields)
    assert not out.endswith(b"\n")
    assert c.decode(out) == fields


def test_csv_tremor_examples() -> None:
    c = CsvCodec()
    assert c.decode(b'"some "" field",1234567,other_text,"2020-01-01 00:00:00"') == [
        'some " field',
        "1234567",
        "other_text",
        "2020-01-01 00:00:00",
    ]
    assert c.encode(["a", "b", "c", 123]) == b"a,b,c,123"
    assert c.encode(("x", 1.5, True, None, [1])) == b"x,1.5,true,null,[1]"
    assert c.decode(b"a,b\r\n") == ["a", "b"]


@pytest.mark.parametrize("data", [b"", b"\n", b'a,"b', b'"a"b', b"a\nb", b"\xff"])
def test_csv_malformed(data: bytes) -> None:
    with pytest.raises(CodecError, match="csv"):
        CsvCodec().decode(data)


@pytest.mark.parametrize("value", ["a,b", [], {"a": 1}, None, [object()]])
def test_csv_unencodable(value: Any) -> None:
    with pytest.raises(CodecError, match="csv|json"):
        CsvCodec().encode(value)


# ---------------------------------------------------------------- influx

INFLUX_CASES = [
    (
        b"weather,location=us\\,midwest temperature=82 1465839830100400200",
        {
            "measurement": "weather",
            "tags": {"location": "us,midwest"},
            "fields": {"temperature": 82.0},
            "timestamp": 1465839830100400200,
        },
    ),
    (
        b"weather,location\\ place=us-midwest temp\\=erature=82 1465839830100400200",
        {
            "measurement": "weather",
            "tags": {"location place": "us-midwest"},
            "fields": {"temp=erature": 82.0},
            "timestamp": 1465839830100400200,
        },
    ),
    (
        b"wea\\ ther,location=us-midwest temperature=82 1465839830100400200",
        {
            "measurement": "wea ther",
            "tags": {"location": "us-midwest"},
            "fields": {"temperature": 82.0},
            "timestamp": 1465839830100400200,
        },
    ),
    (
        rb'weather,location=us-midwest temperature_str="too\ hot\cold" 1465839830100400203',
        {
            "measurement": "weather",
            "tags": {"location": "us-midwest"},
            "fields": {"temperature_str": "too\\ hot\\cold"},
            "timestamp": 1465839830100400203,
        },
    ),
    (
        rb'weather,location=us-midwest temperature_str="too hot\\\cold" 1465839830100400204',
        {
            "measurement": "weather",
            "tags": {"location": "us-midwest"},
            "fields": {"temperature_str": "too hot\\\\cold"},
            "timestamp": 1465839830100400204,
        },
    ),
    (
        b"weather temperature=82i,ok=t,bad=FALSE,u=18446744073709551615u,f=-1.5e-3 -5",
        {
            "measurement": "weather",
            "tags": {},
            "fields": {"temperature": 82, "ok": True, "bad": False, "u": 2**64 - 1, "f": -0.0015},
            "timestamp": -5,
        },
    ),
]


@pytest.mark.parametrize("line,value", INFLUX_CASES)
def test_influx_decode_and_round_trip(line: bytes, value: dict[str, Any]) -> None:
    c = InfluxCodec()
    assert c.decode(line) == value
    assert c.decode(c.encode(value)) == value


def test_influx_encode_exact() -> None:
    c = InfluxCodec()
    live = (
        b"kafka,agent=jmxtrans,dc=iad1 BytesInPerSec=0i,TotalFetchRequestsPerSec=1993153i 1562179275506000000"
    )
    assert c.encode(c.decode(live)) == live
    mixed = {
        "measurement": "wea,\\ ther",
        "tags": {},
        "fields": {"temp=erature": 82.0, 'too\\ \\\\\\"hot"': True},
        "timestamp": 1465839830100400200,
    }
    assert (
        c.encode(mixed) == rb'wea\,\\\ ther temp\=erature=82.0,too\\\ \\\\\"hot"=true 1465839830100400200'
    )  # a '"' in a name needs no escape; a backslash is escaped only before an escapable char
    assert c.decode(c.encode(mixed)) == mixed
    assert (
        c.encode({"measurement": "m", "tags": {"b": "2", "a": "1"}, "fields": {"x": "1"}})
        == b'm,a=1,b=2 x="1"'
    )


def test_influx_missing_timestamp_uses_now() -> None:
    import time

    before = time.time_ns()
    ts = InfluxCodec().decode(b"m f=1")["timestamp"]
    assert before <= ts <= time.time_ns()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"# comment",
        b"m",
        b"m,a f=1",
        b"m,a=b",
        b"m f",
        b"m f=",
        b"m f=1 x",
        b'm f="x',
        b'm f="x"y',
        b"m f=1x",
        b"m f=99999999999999999999i",
        b"m,a=b=c f=1",
        b"m f=nan",
        b"m f=1,",
        b"m\\",
        b",a=b f=1",
        b"m f=1_0",
        b"m f=1 1 2",
        b"\xff f=1",
    ],
)
def test_influx_malformed(data: bytes) -> None:
    with pytest.raises(CodecError, match="influx"):
        InfluxCodec().decode(data)


@pytest.mark.parametrize(
    "value",
    [
        1,
        {"tags": {}, "fields": {"a": 1}},
        {"measurement": "m", "tags": {}, "fields": {}},
        {"measurement": "m", "tags": {"a": 1}, "fields": {"a": 1}},
        {"measurement": "m", "fields": {"a": float("nan")}},
        {"measurement": "m", "fields": {"a": 2**64}},
        {"measurement": "m", "fields": {"a": [1]}},
        {"measurement": "m\nx", "fields": {"a": 1}},
        {"measurement": "#m", "fields": {"a": 1}},
        {"measurement": "\tm", "fields": {"a": 1}},  # (would read back as "m")
        {"measurement": "m", "fields": {"a": 1}, "timestamp": 1.5},
        {"measurement": "m", "fields": {"a": 1}, "timestamp": True},
        {"measurement": "m", "tags": [], "fields": {"a": 1}},
    ],
)
def test_influx_unencodable(value: Any) -> None:
    with pytest.raises(CodecError, match="influx"):
        InfluxCodec().encode(value)


name_text = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\n\r"), min_size=1, max_size=8
)


@FAST
@given(
    name_text.filter(lambda s: not s.startswith("#")),
    st.dictionaries(name_text, name_text, max_size=3),
    st.dictionaries(
        name_text,
        st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(st.characters(exclude_categories=("Cs",))),
        min_size=1,
        max_size=4,
    ),
    st.integers(-(2**63), 2**63 - 1),
)
def test_influx_round_trip_property(m: str, tags: dict[str, str], fields: dict[str, Any], ts: int) -> None:
    c = InfluxCodec()
    value = {"measurement": m, "tags": tags, "fields": fields, "timestamp": ts}
    assert c.decode(c.encode(value)) == value


# ---------------------------------------------------------------- statsd

STATSD_CASES = [
    (b"gorets:1|c", {"metric": "gorets", "type": "c", "value": 1}),
    (b"glork:320|ms", {"metric": "glork", "type": "ms", "value": 320}),
    (b"gaugor:333|g", {"metric": "gaugor", "type": "g", "value": 333}),
    (b"uniques:765|s", {"metric": "uniques", "type": "s", "value": 765}),
    (b"horst:42.23|h", {"metric": "horst", "type": "h", "value": 42.23}),
    (b"sam:7|c|@0.1", {"metric": "sam", "type": "c", "value": 7, "sample_rate": 0.1}),
    (b"addy:+123|g", {"metric": "addy", "type": "g", "value": 123, "action": "add"}),
    (b"subastian:-234|g", {"metric": "subastian", "type": "g", "value": 234, "action": "sub"}),
    (b"neg:-5|c", {"metric": "neg", "type": "c", "value": -5}),
]


@pytest.mark.parametrize("line,value", STATSD_CASES)
def test_statsd_tremor_cases(line: bytes, value: dict[str, Any]) -> None:
    c = StatsdCodec()
    assert c.decode(line) == value
    assert c.encode(value) == line


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x:1|q",
        b"x|c",
        b"x:|c",
        b":1|c",
        b"x:1.2.3|c",
        b"x:nan|c",
        b"x:1|c|#a:b",
        b"x:1|c|@",
        b"x:--1|g",
        b"x:1|c\n",
        b"x:1e400|c",
        b"x:1|c|@1e999",
        b"x:\xff|c",
    ],
)
def test_statsd_malformed(data: bytes) -> None:
    with pytest.raises(CodecError, match="statsd"):
        StatsdCodec().decode(data)


@pytest.mark.parametrize(
    "value",
    [
        [],
        {"type": "c", "value": 1},
        {"metric": "a:b", "type": "c", "value": 1},
        {"metric": "m", "type": "x", "value": 1},
        {"metric": "m", "type": "c"},
        {"metric": "m", "type": "c", "value": "1"},
        {"metric": "m", "type": "c", "value": True},
        {"metric": "m", "type": "c", "value": float("inf")},
        {"metric": "m", "type": "g", "value": -1, "action": "sub"},
        {"metric": "m", "type": "g", "value": 1, "action": "mul"},
        {"metric": "m", "type": "c", "value": 1, "sample_rate": "x"},
        {"metric": "m", "type": "g", "value": -5},  # (m:-5|g is a decrement: it would read back as 'sub')
        {"metric": "m", "type": "g", "value": -0.0},
        {"metric": "m", "type": "c", "value": 1, "sample_rate": -0.5},
    ],
)
def test_statsd_unencodable(value: Any) -> None:
    with pytest.raises(CodecError, match="statsd"):
        StatsdCodec().encode(value)


@FAST
@given(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters=":|\n"), min_size=1, max_size=10),
    st.sampled_from(["c", "ms", "h", "s", "g"]),
    st.integers(-(2**70), 2**70) | st.floats(-1e300, 1e300),
    st.none() | st.floats(-1, 1),
    st.sampled_from([None, "add", "sub"]),
)
def test_statsd_round_trip_property(
    metric: str, mtype: str, num: float, rate: float | None, action: str | None
) -> None:
    """What encodes reads back the same; only what the line cannot say is refused."""
    c = StatsdCodec()
    value: dict[str, Any] = {"metric": metric, "type": mtype, "value": num}
    if rate is not None:
        value["sample_rate"] = rate
    if mtype == "g" and action is not None:
        value["action"] = action
    try:
        line = c.encode(value)
    except CodecError:  # a signed gauge, or a negative rate
        assert (mtype == "g" and math.copysign(1, num) < 0) or (rate is not None and math.copysign(1, rate) < 0)
        return
    assert c.decode(line) == value


# ---------------------------------------------------------------- syslog


def test_syslog_rfc5424_decode_like_tremor() -> None:
    c = SyslogCodec()
    line = (
        b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
        b'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event'
    )
    assert c.decode(line) == {
        "severity": "notice",
        "facility": "local4",
        "hostname": "mymachine.example.com",
        "appname": "evntslog",
        "msgid": "ID47",
        "protocol": "RFC5424",
        "protocol_version": 1,
        "timestamp": 1065910455003000000,
        "structured_data": {
            "exampleSDID@32473": [{"iut": "3"}, {"eventSource": "Application"}, {"eventID": "1011"}],
            "examplePriority@32473": [{"class": "high"}],
        },
        "msg": "An application event",
    }
    assert c.decode(b"<191>1 2021-03-18T20:30:00.123Z - - - - - message") == {
        "severity": "debug",
        "facility": "local7",
        "msg": "message",
        "protocol": "RFC5424",
        "protocol_version": 1,
        "timestamp": 1616099400123000000,
    }


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \ufeff'su root' failed",
            "<34>1 2003-10-11T22:14:15.003+00:00 mymachine.example.com su - ID47 - \ufeff'su root' failed",
        ),
        (
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% do-nuts.",
            "<165>1 2003-08-24T12:14:15.000003+00:00 192.0.2.1 myproc 8710 - - %% do-nuts.",
        ),
        (
            '<165>1 2003-10-11T22:14:15.003Z h e - ID47 [a@1 x="q\\"\\]\\\\"][b@2 class="high"]',
            '<165>1 2003-10-11T22:14:15.003+00:00 h e - ID47 [a@1 x="q\\"\\]\\\\"][b@2 class="high"]',
        ),
        (
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick",
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick",
        ),
        (
            "<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar",
            "<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar",
        ),
        (
            "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time",
            "<165>Aug 24 05:34:00 CST 1987: mymachine myproc[10]: %% It's time",
        ),
    ],
)
def test_syslog_examples_re_encode_like_tremor(line: str, expected: str) -> None:
    c = SyslogCodec()
    decoded = c.decode(line.encode())
    assert c.encode(decoded).decode() == expected
    assert c.decode(expected.encode()) == decoded


def test_syslog_rfc3164_fields_and_loose_fallback() -> None:
    c = SyslogCodec()
    v = c.decode(b"<13>Jan  5 15:33:03 74794bfb6795 root[8539]: i am foobar")
    assert {
        k: v[k] for k in ("severity", "facility", "hostname", "appname", "procid", "msg", "protocol")
    } == {
        "severity": "notice",
        "facility": "user",
        "hostname": "74794bfb6795",
        "appname": "root",
        "procid": "8539",
        "msg": "i am foobar",
        "protocol": "RFC3164",
    }
    assert isinstance(v["timestamp"], int)
    assert c.decode(b"an invalid message") == {"msg": "an invalid message", "protocol": "RFC3164"}
    with pytest.raises(CodecError, match="not an RFC 5424 or RFC 3164 line"):
        SyslogCodec(strict=True).decode(b"an invalid message")
    with pytest.raises(ConfigError, match="'strict' must be bool"):
        SyslogCodec(strict="yes")


@pytest.mark.parametrize("data", [b"", b"\n", b"<13>1 \xff"])
def test_syslog_malformed(data: bytes) -> None:
    with pytest.raises(CodecError, match="syslog"):
        SyslogCodec().decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b"<999>1 2003-10-11T22:14:15Z h a p m - x",
        b"<13>1 2003-13-11T22:14:15Z h a p m - x",
        b"<13>1 2003-10-11T22:14:15Z h a p m [unterminated",
        b"<13>1 2003-10-11 h a p m - x",
        b"<13>Foo  5 15:33:03 h a: x",
    ],
)
def test_syslog_strict_rejects_bad_headers(data: bytes) -> None:
    assert SyslogCodec().decode(data)["msg"] == data.decode()
    with pytest.raises(CodecError, match="syslog"):
        SyslogCodec(strict=True).decode(data)


def test_syslog_encode_like_tremor() -> None:
    c = SyslogCodec()
    msg = {
        "severity": "notice",
        "facility": "local4",
        "msg": "test message",
        "protocol": "RFC5424",
        "protocol_version": 1,
        "timestamp": 0,
    }
    assert c.encode(msg) == b"<165>1 1970-01-01T00:00:00+00:00 - - - - - test message"
    assert c.decode(c.encode(msg)) == msg
    msg3164 = {
        "severity": "notice",
        "facility": "local4",
        "msg": "test message",
        "protocol": "RFC3164",
        "timestamp": 0,
    }
    assert c.encode(msg3164) == b"<165>Jan  1 00:00:00 - : test message"
    assert c.encode({"severity": "info", "facility": "cron", "timestamp": 1}) == (
        b"<78>1 1970-01-01T00:00:00.000000001+00:00 - - - - -"
    )


@pytest.mark.parametrize(
    "value,match",
    [
        ({}, "facility missing"),
        ({"facility": "cron"}, "severity missing"),
        ({"facility": "cron", "severity": "info", "structured_data": "sd"}, "structured data not an object"),
        ({"facility": "snot", "severity": "info"}, "invalid facility"),
        ({"facility": "cron", "severity": "snot"}, "invalid severity"),
        ({"facility": "cron", "severity": "info", "protocol": "RFC5424"}, "missing protocol version"),
        ({"facility": "cron", "severity": "info", "protocol_version": 1}, "missing protocol type"),
        ({"facility": "cron", "severity": "info", "protocol": "snot"}, "invalid protocol type"),
        ({"facility": "cron", "severity": "info", "hostname": "a b"}, "'hostname'"),
        ({"facility": "cron", "severity": "info", "msgid": "-"}, "NILVALUE"),  # (would read back as absent)
        ({"facility": "cron", "severity": "info", "timestamp": "now"}, "'timestamp'"),
        ({"facility": "cron", "severity": "info", "msg": 1}, "'msg'"),
        ([1], "can only encode a dict"),
    ],
)
def test_syslog_unencodable(value: Any, match: str) -> None:
    with pytest.raises(CodecError, match=match):
        SyslogCodec().encode(value)


token = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="-"), min_size=1, max_size=8
)
sd_name = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='="]'), min_size=1, max_size=6
)


@FAST
@given(
    st.sampled_from(FACILITIES),
    st.sampled_from(SEVERITIES),
    st.integers(-62135596800 * 10**9, 253402300799 * 10**9),  # (years 1 to 9999)
    st.none() | token,
    st.none() | token,
    st.none() | token,
    st.none() | token,
    st.dictionaries(
        sd_name,
        st.lists(
            st.dictionaries(
                sd_name, st.text(st.characters(exclude_categories=("Cs",))), min_size=1, max_size=1
            ),
            max_size=3,
        ),
        max_size=2,
    ),
    st.none() | st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\n")),  # ("" too)
)
def test_syslog_rfc5424_round_trip_property(
    facility: str,
    severity: str,
    ts: int,
    host: str | None,
    app: str | None,
    procid: str | None,
    msgid: str | None,
    sd: dict[str, Any],
    msg: str | None,
) -> None:
    value: dict[str, Any] = {
        "facility": facility,
        "severity": severity,
        "timestamp": ts,
        "protocol": "RFC5424",
        "protocol_version": 1,
    }
    for k, v in (("hostname", host), ("appname", app), ("procid", procid), ("msgid", msgid), ("msg", msg)):
        if v is not None:
            value[k] = v
    if sd:
        value["structured_data"] = sd
    c = SyslogCodec()
    assert c.decode(c.encode(value)) == value


@FAST
@given(st.binary(max_size=60))
def test_every_codec_decode_raises_only_codec_error(data: bytes) -> None:
    for name in ALL:
        try:
            create_codec(name).decode(data)
        except CodecError:
            pass


@pytest.mark.timeout(30)  # linear: milliseconds; the old number patterns backtracked for minutes on these
@pytest.mark.parametrize(
    ("name", "line"),
    [("influx", b"m f=" + b"1" * 65000 + b"x"), ("statsd", b"m:" + b"1" * 65000 + b"x|c"),
     ("dogstatsd", b"m:" + b"1" * 65000 + b"e|c"), ("dogstatsd", b"m:1|c|@" + b"1" * 65000 + b"x")],
)
def test_a_long_malformed_number_is_refused_in_linear_time(name: str, line: bytes) -> None:
    with pytest.raises(CodecError):
        create_codec(name).decode(line)


def test_yaml_aliases_that_would_blow_up_or_loop_are_refused() -> None:
    c = YamlCodec()
    laughs = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    with pytest.raises(CodecError, match="aliases stand for more than"):
        c.decode(laughs.encode())  # 300 bytes standing for 10**9 values
    with pytest.raises(CodecError, match="recursive"):
        c.decode(b"&a [*a]")
    assert c.decode(b"a: &x {k: 1}\nb: *x\nc: [*x, *x]\n") == {"a": {"k": 1}, "b": {"k": 1}, "c": [{"k": 1}] * 2}
    many_uses = "base: &b {x: 1, y: 2, z: 3}\nl:\n" + "- *b\n" * 3000  # ordinary documents pass
    assert len(c.decode(many_uses.encode())["l"]) == 3000
    big_anchor = "a: &a [" + ",".join(map(str, range(200))) + "]\nb: [" + ",".join(["*a"] * 150) + "]\n"
    assert len(c.decode(big_anchor.encode())["b"]) == 150


@pytest.mark.parametrize(
    ("name", "data"),
    [("influx", b"m f=" + b"9" * 5000 + b"i"), ("influx", b"m f=1i " + b"9" * 5000),
     ("statsd", b"m:" + b"9" * 5000 + b"|c"), ("statsd", b"m:1|c|@" + b"9" * 5000),
     ("dogstatsd", b"_e{" + b"9" * 5000 + b",1}:a|b"), ("dogstatsd", b"_sc|n|0|d:" + b"9" * 5000)],
)
def test_numbers_of_thousands_of_digits_are_a_codec_error(name: str, data: bytes) -> None:
    with pytest.raises(CodecError):  # not Python's ValueError (its int digit limit)
        create_codec(name).decode(data)


def test_a_syslog_line_with_a_pri_of_thousands_of_digits_is_neither_format() -> None:
    line = b"<" + b"1" * 8000 + b">msg"
    assert create_codec("syslog").decode(line) == {"protocol": "RFC3164", "msg": line.decode()}
    with pytest.raises(CodecError, match="not an RFC 5424 or RFC 3164 line"):
        create_codec({"name": "syslog", "config": {"strict": True}}).decode(line)
