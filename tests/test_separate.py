"""``separate``: oversize frames, resync, defaults, options."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.errors import ConfigError, FrameTooLarge
from rxunix.processors.separate import SeparatePost, SeparatePre
from rxunix.registry import create_postprocessor, create_preprocessor


def show(frames: list[Any]) -> list[Any]:
    return [f if isinstance(f, bytes) else type(f).__name__ for f in frames]


def test_oversize_in_one_chunk_is_one_error_and_neighbours_survive() -> None:
    p = SeparatePre(max_length=4)
    assert show(p.feed(b"ok\ntoolong\nfine\npart")) == [b"ok", "FrameTooLarge", b"fine"]
    assert p.feed(b"\n") == [b"part"]


def test_oversize_across_chunks_is_one_error_then_resync() -> None:
    p = SeparatePre(max_length=4)
    out = p.feed(b"a\nxxx") + p.feed(b"xx") + p.feed(b"xxxxxx") + p.feed(b"xx\nb\n")
    assert show(out) == [b"a", "FrameTooLarge", b"b"]
    assert p.finish() == []


def test_oversize_tail_then_more_frames_in_same_chunk() -> None:
    p = SeparatePre(max_length=3)
    assert show(p.feed(b"abcd")) == ["FrameTooLarge"]
    assert show(p.feed(b"ef\ngh\nij")) == [b"gh"]
    assert p.finish() == [b"ij"]


def test_exactly_max_length_is_accepted() -> None:
    p = SeparatePre(max_length=3)
    assert p.feed(b"abc\nab") + p.feed(b"c\n") == [b"abc", b"abc"]
    assert show(p.feed(b"abcd\n")) == ["FrameTooLarge"]


def test_error_is_frame_too_large_with_message() -> None:
    [err] = SeparatePre(max_length=2).feed(b"abc\n")
    assert isinstance(err, FrameTooLarge)
    assert "max_length 2" in str(err)


@pytest.mark.parametrize(
    "make",
    [
        SeparatePre,
        lambda: create_preprocessor("separate"),
        lambda: create_preprocessor({"name": "separate"}),
        lambda: create_preprocessor({"name": "separate", "config": {}}),
    ],
    ids=["object", "name", "dict", "dict-empty-config"],
)
def test_default_max_length_is_8192_however_configured(make: Any) -> None:
    p = make()
    assert p.feed(b"x" * 8192 + b"\n") == [b"x" * 8192]
    assert show(p.feed(b"y" * 8193 + b"\nz\n")) == ["FrameTooLarge", b"z"]
    q = make()
    assert show(q.feed(b"y" * 8193)) == ["FrameTooLarge"]  # without a separator too


def test_max_length_zero_is_unlimited() -> None:
    p = SeparatePre(max_length=0)
    big = b"x" * 100_000
    assert p.feed(big[:50_000]) == []
    assert p.feed(big[50_000:] + b"\n") == [big]


def test_unbuffered_chunk_is_complete() -> None:
    p = SeparatePre(buffered=False)
    assert p.feed(b"a\nb") == [b"a", b"b"]
    assert p.feed(b"c\n") == [b"c", b""]  # as Tremor: a trailing separator ends an empty frame
    assert p.feed(b"") == []
    assert p.finish() == []


def test_unbuffered_oversize() -> None:
    p = SeparatePre(buffered=False, max_length=2)
    assert show(p.feed(b"ok\ntoo\nno")) == [b"ok", "FrameTooLarge", b"no"]


def test_finish_flushes_last_line_without_newline() -> None:
    p = SeparatePre()
    assert p.feed(b"a\nlast") == [b"a"]
    assert p.finish() == [b"last"]
    assert p.finish() == []


def test_empty_frames_are_kept() -> None:
    assert SeparatePre().feed(b"\n\na\n") == [b"", b"", b"a"]


@pytest.mark.parametrize("sep", ["|", b"|"])
def test_separator_as_str_or_bytes(sep: str | bytes) -> None:
    assert SeparatePre(separator=sep).feed(b"a|b\n|") == [b"a", b"b\n"]
    assert SeparatePost(separator=sep).process(b"x") == [b"x|"]
    assert create_postprocessor({"name": "separate", "config": {"separator": sep}}).process(b"y") == [b"y|"]


@pytest.mark.parametrize(
    "options",
    [
        {"separator": "ab"},
        {"separator": b"\r\n"},
        {"separator": ""},
        {"separator": "é"},  # two bytes in UTF-8
        {"separator": 10},
        {"max_length": -1},
        {"max_length": "10"},
        {"max_length": True},
        {"buffered": "yes"},
        {"max_len": 10},
    ],
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as info:
        SeparatePre(**options)
    assert next(iter(options)) in str(info.value)
    with pytest.raises(ConfigError):
        create_preprocessor({"name": "separate", "config": options})


def test_post_rejects_pre_only_options() -> None:
    with pytest.raises(ConfigError, match="allowed: separator"):
        SeparatePost(max_length=3)


def _model(chunks: list[bytes], maxlen: int, buffered: bool) -> list[Any]:
    """What ``feed`` gives, frame by frame (each frame's length looked at)."""
    out: list[Any] = []
    carry, discarding = b"", False
    for chunk in chunks:
        if not buffered:
            if chunk:
                out += [p if len(p) <= maxlen else "too large" for p in chunk.split(b"\n")]
            continue
        *parts, tail = chunk.split(b"\n")
        if parts:
            if discarding:
                parts, discarding = parts[1:], False
            else:
                parts[0], carry = carry + parts[0], b""
            out += [p if len(p) <= maxlen else "too large" for p in parts]
        if tail and not discarding:
            carry += tail
            if len(carry) > maxlen:
                out.append("too large")
                carry, discarding = b"", True
    return out


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.integers(0, 24), max_size=30), cuts=st.lists(st.integers(0, 400), max_size=6),
       maxlen=st.integers(1, 12), buffered=st.booleans())
def test_oversize_frames_are_found_whatever_the_chunks(lines: list[int], cuts: list[int], maxlen: int,
                                                       buffered: bool) -> None:
    """Frames longer than ``max_length`` anywhere in a chunk (first, middle, last, joined
    to a carried part) are each one error; every other frame is kept, as a frame-by-frame
    look at the lengths says."""
    data = b"".join(b"x" * n + b"\n" for n in lines)
    bounds = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    p = SeparatePre(max_length=maxlen, buffered=buffered)
    got = [f if isinstance(f, bytes) else "too large" for c in chunks for f in p.feed(c)]
    assert got == _model(chunks, maxlen, buffered)
