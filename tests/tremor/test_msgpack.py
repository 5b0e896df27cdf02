"""``msgpack`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/msgpack.rs``)."""

from __future__ import annotations

from rxunix.registry import create_codec


def test_msgpack_codec() -> None:
    # msgpack.rs: test_msgpack_codec
    codec = create_codec("msgpack")
    raw = codec.encode({"snot": "badger"})
    assert raw == b"\x81\xa4snot\xa6badger"  # a fixmap of one fixstr pair, as rmp-serde writes it
    assert codec.decode(raw) == {"snot": "badger"}
