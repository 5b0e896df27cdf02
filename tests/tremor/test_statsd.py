"""``statsd`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/statsd.rs``)
and real-world lines (Etsy statsd's examples, sample rates) with round trips."""

from __future__ import annotations

import pytest
from rxunix.codecs.statsd import StatsdCodec
from rxunix.errors import CodecError


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"gorets:1|c", {"type": "c", "metric": "gorets", "value": 1}),  # statsd.rs: gorets
        (b"glork:320|ms", {"type": "ms", "metric": "glork", "value": 320}),  # statsd.rs: glork
        (b"gaugor:333|g", {"type": "g", "metric": "gaugor", "value": 333}),  # statsd.rs: gaugor
        (b"uniques:765|s", {"type": "s", "metric": "uniques", "value": 765}),  # statsd.rs: uniques
        (b"horst:42.23|h", {"type": "h", "metric": "horst", "value": 42.23}),  # statsd.rs: horst
        (b"sam:7|c|@0.1", {"type": "c", "metric": "sam", "value": 7, "sample_rate": 0.1}),  # statsd.rs: sam
        (b"addy:+123|g", {"type": "g", "metric": "addy", "action": "add", "value": 123}),  # statsd.rs: addy
        (b"subastian:-234|g", {"type": "g", "metric": "subastian", "action": "sub", "value": 234}),  # subastian
    ],
)
def test_tremor_cases_decode_and_encode_back(line: bytes, expected: dict[str, object]) -> None:
    c = StatsdCodec()
    v = c.decode(line)
    assert v == expected
    assert type(v["value"]) is type(expected["value"])  # 1 stays an int, 42.23 a float
    assert c.encode(v) == line


@pytest.mark.parametrize("line", [b"foo:1620649445.3351967|h", b"foo1:12345|c", b"foo2:1234567890|c"])
def test_bench(line: bytes) -> None:
    # statsd.rs: bench
    c = StatsdCodec()
    assert c.encode(c.decode(line)) == line


@pytest.mark.parametrize(
    "line",
    [
        b"gorets:1|c|@0.1",  # Etsy statsd README: sampling
        b"glork:320|ms|@0.1",
        b"gaugor:-10|g",  # relative gauge
        b"api.requests.2xx:1|c|@0.25",
        b"db.query_time:12.5|ms",
        b"users.online:1000|g",
    ],
)
def test_real_world_round_trip(line: bytes) -> None:
    c = StatsdCodec()
    v = c.decode(line)
    assert c.decode(c.encode(v)) == v
    assert c.encode(v) == line


@pytest.mark.parametrize("line", [b"dog:111", b"dog:1|c|#tag:x", b"dog:1|x", b"dog:abc|c", b":1|c", b"dog:1|c|@"])
def test_invalid_lines(line: bytes) -> None:
    # statsd.rs: the decoder's invalid() paths: no type, DogStatsD tags, unknown type, bad numbers
    with pytest.raises(CodecError):
        StatsdCodec().decode(line)
