"""``null`` codec: Tremor's test (tremor-rs/tremor-runtime ``tremor-codec/src/codec/null.rs``)."""

from __future__ import annotations

from rxunix.framing import DecoderFactory, EncoderFactory
from rxunix.registry import create_codec


def test_null_codec() -> None:
    # null.rs: test_null_codec (encoding null gives nothing; decoding anything works)
    c = create_codec("null")
    raw = c.encode(None)
    assert raw == b""
    assert c.decode(raw) is None
    assert c.decode(b"\xff not even utf-8") is None
    assert c.encode({"anything": [1, 2]}) == b""


def test_null_through_framing() -> None:
    # every frame becomes one None; every event becomes only its framing
    dec = DecoderFactory(["separate"], "null")()
    assert dec.feed(b"a\nb\n") == [None, None]
    assert EncoderFactory("null", ["separate"])().encode({"x": 1}) == b"\n"
