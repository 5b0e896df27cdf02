"""``binary`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/binary.rs``)."""

from __future__ import annotations

from rxunix.registry import create_codec


def test_binary_codec() -> None:
    # binary.rs: test_binary_codec
    codec = create_codec("binary")
    raw = codec.encode(b"snot badger")
    assert raw == b"snot badger"
    assert codec.decode(raw) == b"snot badger"


def test_non_bytes_values() -> None:
    # binary.rs: encode ("When data isn't already represented as bytes it will be encoded as JSON")
    codec = create_codec("binary")
    assert codec.encode("snot") == b"snot"  # a string: its UTF-8 bytes
    assert codec.encode({"snot": [1, 2.5, None, True]}) == b'{"snot":[1,2.5,null,true]}'
    assert codec.encode(42) == b"42"
