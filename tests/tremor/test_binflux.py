"""``binflux`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/binflux.rs``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.codecs.binflux import BinfluxCodec
from rxunix.codecs.influx import InfluxCodec
from rxunix.errors import CodecError
from rxunix.framing import DecoderFactory, EncoderFactory

from ._util import decode_encode_decode


def test_errors() -> None:
    # binflux.rs: errors (each missing part is named)
    c = BinfluxCodec()
    with pytest.raises(CodecError, match="measurement missing"):
        c.encode({})
    with pytest.raises(CodecError, match="timestamp missing"):
        c.encode({"measurement": "m"})
    with pytest.raises(CodecError, match="unknown type as influx line value: list"):
        c.encode({"measurement": "m", "timestamp": 42, "fields": {"snot": [1]}})


def test_encode_decode() -> None:
    # binflux.rs: encode_decode
    c = BinfluxCodec()
    value = {
        "measurement": "m",
        "tags": {"t1": "v1", "t2": "v2"},
        "fields": {"f1": 42, "f2": 42.0, "f3": True, "f4": False, "f5": "snot"},
        "timestamp": 42,
    }
    decoded = c.decode(c.encode(value))
    assert decoded == value
    assert type(decoded["fields"]["f1"]) is int and type(decoded["fields"]["f2"]) is float


def test_wire_layout_is_tremors() -> None:
    # binflux.rs: the layout its encoder writes (type numbers 0 i64, 1 f64, 2 string, 3 true, 4 false)
    wire = BinfluxCodec().encode(
        {"measurement": "m", "tags": {"t": "v"}, "fields": {"i": -1, "s": "x", "y": True}, "timestamp": 7}
    )
    assert wire == (
        b"\0\0" + b"\0\1m" + (7).to_bytes(8, "big") + b"\0\1" + b"\0\1t\0\1v"
        + b"\0\3" + b"\0\1i\0" + b"\xff" * 8 + b"\0\1s\2\0\1x" + b"\0\1y\3"
    )  # fmt: skip


def test_influx_lines_through_binflux_with_length_prefix() -> None:
    # real-world lines: influx -> binflux (framed) -> influx gives the same line back
    lines = [
        b"weather,location=us-midwest temperature=82.0 1465839830100400200",
        b'disk,host=web\\ 01,path=/var inodes=120000i,note="a \\"b\\"",ok=true,used_percent=71.5 1700000000000000000',
    ]  # fields in key order: the order the influx encoder writes
    influx = InfluxCodec()
    enc = EncoderFactory("binflux", ["length-prefixed"])()
    stream = b"".join(enc.encode(influx.decode(line)) for line in lines)
    dec = DecoderFactory(["length-prefixed"], "binflux")()
    assert [influx.encode(v) for v in dec.feed(stream)] == lines


@pytest.mark.parametrize(
    "bad",
    [b"", b"\0\1", b"\0\0\0\5m", b"\0\0\0\1m" + b"\0" * 8 + b"\0\0\0\1\0\1f\x09", b"\0\0\0\1m" + b"\0" * 12 + b"!"],
)
def test_bad_input_is_an_error(bad: bytes) -> None:
    # beyond Tremor (which may read past the end): truncated, bad type, trailing bytes
    with pytest.raises(CodecError):
        BinfluxCodec().decode(bad)


def test_non_string_tag_is_an_error() -> None:
    # beyond Tremor (which skips the tag but counts it): an error instead of a corrupt message
    with pytest.raises(CodecError, match="tag 'n' must be a string"):
        BinfluxCodec().encode({"measurement": "m", "timestamp": 1, "tags": {"n": 1}})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_anything_decodes_or_is_an_error_and_round_trips(data: bytes) -> None:
    result = decode_encode_decode(BinfluxCodec(), b"\0\0" + data)
    if result is not None:
        assert result[0] == result[1]
