"""``length-prefixed`` pre- and postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/length_prefixed.rs``, ``.../postprocessor/length_prefixed.rs``,
``.../preprocessor.rs``)."""

from __future__ import annotations

from rxunix.framing import DecoderFactory
from rxunix.registry import create_postprocessor, create_preprocessor

from ._util import show


def test_name() -> None:
    # length_prefixed.rs: name
    assert create_preprocessor("length-prefixed").name == "length-prefixed"
    assert create_postprocessor("length-prefixed").name == "length-prefixed"


def test_length_prefix() -> None:
    # length_prefixed.rs and preprocessor.rs: length_prefix (a frame split after 7 bytes of its header)
    data = bytes(range(10))
    wire = create_postprocessor("length-prefixed").process(data)[0]
    assert wire == (10).to_bytes(8, "big") + data
    start, end = wire[:7], wire[7:]
    dec = DecoderFactory(["length-prefixed"], "binary")()
    assert dec.feed(start) == []
    assert dec.feed(end) == [data]
    assert dec.feed(start) == []  # incomplete data
    # not emitted upon finish, as in Tremor; beyond Tremor the loss is reported
    assert show(dec.finish()) == ["FramingError"]


def test_many_frames_in_any_chunking() -> None:
    frames = [b"", b"a", b"\x00" * 300, bytes(range(256))]
    post = create_postprocessor("length-prefixed")
    wire = b"".join(post.process(f)[0] for f in frames)
    for size in (1, 3, 8, 9, len(wire)):
        pre = create_preprocessor("length-prefixed")
        out = [f for i in range(0, len(wire), size) for f in pre.feed(wire[i : i + size])]
        assert out == frames and pre.finish() == []
