"""A reusable conformance check for framing pairs (pre/postprocessor chains).

``check_framing_pair(pre_specs, post_specs)`` draws lists of frames (including
empty frames and frames of exactly ``max_length``), encodes them through the
postprocessor chain (as :class:`rxunix.framing.Encoder` does, ``finish()``
included), and decodes the resulting byte stream through the preprocessor
chain (as :class:`rxunix.framing.Decoder` does) fed in three styles: all at
once, byte by byte, and in random chunks (empty chunks included). Every style
must give back exactly the frames, with no error, and ``finish()`` must add
nothing. The tests at the end show the check catches broken pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rxunix.codecs.base import Codec
from rxunix.framing import Decoder, Encoder
from rxunix.processors.base import Frame, Preprocessor
from rxunix.registry import Spec, postprocessor_factory, preprocessor_factory, register_preprocessor

SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


class RawCodec(Codec):
    """Identity codec: frames in, frames out."""

    def decode(self, data: bytes) -> Any:
        return bytes(data)

    def encode(self, value: Any) -> bytes:
        return bytes(value)


def encode_stream(post_specs: Sequence[Spec], frames: Sequence[bytes]) -> bytes:
    enc = Encoder(RawCodec(), [postprocessor_factory(s)() for s in post_specs])
    return b"".join(enc.encode(f) for f in frames) + enc.finish()


def decode_chunks(pre_specs: Sequence[Spec], chunks: Sequence[bytes]) -> list[Any]:
    dec = Decoder([preprocessor_factory(s)() for s in pre_specs], RawCodec())
    out: list[Any] = []
    for c in chunks:
        out.extend(dec.feed(c))
    out.extend(dec.finish())
    return out


def split_at(stream: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted(min(c, len(stream)) for c in cuts)
    chunks, prev = [], 0
    for p in points:
        chunks.append(stream[prev:p])  # repeated cuts give empty chunks on purpose
        prev = p
    chunks.append(stream[prev:])
    return chunks


def frames_strategy(max_length: int, alphabet: bytes | None = None) -> st.SearchStrategy[bytes]:
    """Frames of 0..max_length bytes, with empty and maximal ones drawn often."""
    any_size = st.binary(max_size=max_length)
    maximal = st.binary(min_size=max_length, max_size=max_length)
    if alphabet is not None:  # map every byte into the alphabet (much faster than lists of bytes)
        table = bytes(alphabet[i % len(alphabet)] for i in range(256))
        any_size = any_size.map(lambda b: b.translate(table))
        maximal = maximal.map(lambda b: b.translate(table))
    return st.one_of(st.just(b""), maximal, any_size)


def check_framing_pair(
    pre_specs: Sequence[Spec],
    post_specs: Sequence[Spec],
    *,
    max_length: int,
    alphabet: bytes | None = None,
    max_frames: int = 6,
    settings_: settings = SETTINGS,
) -> None:
    """Round-trip frames through ``post_specs`` then ``pre_specs`` in all three feeding styles."""
    # validate the specs once, eagerly, so a bad spec fails outside hypothesis
    for s in pre_specs:
        preprocessor_factory(s)
    for s in post_specs:
        postprocessor_factory(s)

    @settings_
    @given(
        frames=st.lists(frames_strategy(max_length, alphabet), max_size=max_frames),
        cuts=st.lists(st.integers(min_value=0, max_value=4 * max_length + 64), max_size=12),
    )
    def run(frames: list[bytes], cuts: list[int]) -> None:
        stream = encode_stream(post_specs, frames)
        whole = decode_chunks(pre_specs, [stream])
        assert whole == frames, "fed whole"
        bytewise = decode_chunks(pre_specs, [stream[i : i + 1] for i in range(len(stream))])
        assert bytewise == frames, "fed byte by byte"
        chunked = decode_chunks(pre_specs, split_at(stream, cuts))
        assert chunked == frames, f"fed in chunks at {sorted(cuts)}"

    run()


# --- the check must be able to fail -----------------------------------------------------------

#: no shrinking: we only need to know that a counterexample is found
FIND_ONLY = settings(SETTINGS, phases=[Phase.generate])


class _DropsLast(Preprocessor):
    """Broken: forgets what it holds at the end of the stream."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[Frame]:
        *frames, self._buf = (self._buf + data).split(b"\n")
        return list(frames)


class _ChunkIsFrame(Preprocessor):
    """Broken: takes every read for a frame (works only when fed whole)."""

    def feed(self, data: bytes) -> list[Frame]:
        return data.split(b"\n")[:-1] if data else []


class _NoEmpty(Preprocessor):
    """Broken: loses empty frames."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[Frame]:
        *frames, self._buf = (self._buf + data).split(b"\n")
        return [f for f in frames if f]


@pytest.mark.parametrize(
    ("broken", "post"),
    [
        (_ChunkIsFrame, "separate"),
        (_NoEmpty, "separate"),
        # a post that adds nothing: the last frame has no terminator, _DropsLast loses it
        (_DropsLast, {"name": "chunk", "config": {"max_bytes": 1000}}),
    ],
)
def test_check_catches_broken_pairs(broken: Callable[[], Preprocessor], post: Spec) -> None:
    name = f"broken-{broken.__name__.lower()}"
    register_preprocessor(name, broken, replace=True)
    with pytest.raises(AssertionError):
        check_framing_pair([name], [post], max_length=8, alphabet=b"ab", settings_=FIND_ONLY)


def test_check_catches_a_too_small_max_length() -> None:
    # maximal frames are part of the draw: a preprocessor limit below max_length must fail
    with pytest.raises(AssertionError):
        check_framing_pair(
            [{"name": "length-prefixed", "config": {"max_length": 7}}],
            ["length-prefixed"],
            max_length=8,
            settings_=FIND_ONLY,
        )


def test_split_at_keeps_every_byte() -> None:
    assert split_at(b"abcdef", [4, 1, 1, 99]) == [b"a", b"", b"bcd", b"ef", b""]
