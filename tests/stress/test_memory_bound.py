"""Oversize frames, pure layer: memory stays bounded by ``max_length``, not by the input.

A 1 MB line (CI) and a 100 MB line (full variant) are streamed into the
preprocessors in 64 KiB chunks (one chunk object reused: the input is never
built in memory) and the ``tracemalloc`` peak is compared with ``max_length``.
The stream must then resynchronise: the frame after the oversize one decodes.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from rxunix.errors import FrameTooLarge
from rxunix.framing import DecoderFactory
from rxunix.processors.length_prefixed import LengthPrefixedPost

from ._figures import FULL, record

CHUNK = 64 * 1024
MB = 1024 * 1024
SIZES = [1 * MB, 100 * MB] if FULL else [1 * MB]


def _bound(max_length: int) -> int:
    # the held frame (max_length) + one chunk being split + its copies, + small change
    return 2 * max_length + 4 * CHUNK + 256 * 1024


def _stream(size: int, chunk: bytes) -> object:
    full, rest = divmod(size, len(chunk))
    for _ in range(full):
        yield chunk
    if rest:
        yield chunk[:rest]


@pytest.mark.parametrize("max_length", [8192, 1 * MB // 4])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s // MB}MB")
def test_separate_oversize_line_is_bounded(size: int, max_length: int) -> None:
    started = time.monotonic()
    d = DecoderFactory([{"name": "separate", "config": {"max_length": max_length}}], "json")()
    chunk = b"x" * CHUNK
    out: list[object] = []
    tracemalloc.start()
    try:
        out.extend(d.feed(b'{"before":1}\n'))
        for c in _stream(size, chunk):
            out.extend(d.feed(c))
        out.extend(d.feed(b'\n{"after":2}\n'))
        out.extend(d.finish())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kinds = [type(x).__name__ if isinstance(x, Exception) else x for x in out]
    lost = 0 if kinds == [{"before": 1}, "FrameTooLarge", {"after": 2}] else 1
    record("hostile input", f"separate: {size // MB} MB line, max_length {max_length}",
           started=started, load=f"peak {peak // 1024} KiB for {size // MB} MB input",
           bad_inputs=1, lost=lost, leaks=int(peak > _bound(max_length)))
    assert kinds == [{"before": 1}, "FrameTooLarge", {"after": 2}]
    assert peak <= _bound(max_length), f"peak {peak} bytes > bound {_bound(max_length)}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s // MB}MB")
def test_length_prefixed_oversize_frame_is_bounded(size: int) -> None:
    started = time.monotonic()
    max_length = 64 * 1024
    d = DecoderFactory([{"name": "length-prefixed", "config": {"max_length": max_length}}], "json")()
    post = LengthPrefixedPost()
    header = post.process(b"")[0][:8]
    huge = (size).to_bytes(8, "big")
    chunk = b"y" * CHUNK
    out: list[object] = []
    tracemalloc.start()
    try:
        out.extend(d.feed(post.process(b'{"before":1}')[0] + huge))
        for c in _stream(size, chunk):
            out.extend(d.feed(c))
        out.extend(d.feed(post.process(b'{"after":2}')[0]))
        out.extend(d.finish())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(header) == 8
    kinds = [type(x).__name__ if isinstance(x, Exception) else x for x in out]
    ok = kinds == [{"before": 1}, "FrameTooLarge", {"after": 2}]
    record("hostile input", f"length-prefixed: {size // MB} MB frame, max_length 64 KiB",
           started=started, load=f"peak {peak // 1024} KiB", bad_inputs=1, lost=0 if ok else 1,
           leaks=int(peak > _bound(max_length)))
    assert ok, kinds
    assert peak <= _bound(max_length)


def test_frame_too_large_is_the_error_type() -> None:
    d = DecoderFactory([{"name": "separate", "config": {"max_length": 4}}], "string")()
    assert isinstance(d.feed(b"12345\n")[0], FrameTooLarge)
