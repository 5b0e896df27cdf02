"""``chunk`` and ``collect``: reshape the outgoing byte chunks of a stream.

``chunk`` splits each event into pieces of at most ``max_bytes``; ``collect``
joins consecutive events into one chunk of at most ``max_bytes``, emitting
when the next event would not fit (or when exactly full)::

    >>> ChunkPost(max_bytes=4).process(b"abcdefghij")
    [b'abcd', b'efgh', b'ij']
    >>> c = CollectPost(max_bytes=8)
    >>> c.process(b"abc"), c.process(b"def"), c.process(b"ghi"), c.finish()
    ([], [], [b'abcdef'], [b'ghi'])

Both are pure postprocessors: they never add framing, so the receiver needs a
framing that survives re-chunking (``separate``, the length prefixes).
"""

from __future__ import annotations

from typing import Any

from ..config import validate
from ._options import positive_int
from .base import Postprocessor

__all__ = ["ChunkPost", "CollectPost"]

DEFAULT_MAX_BYTES = 8192


class ChunkPost(Postprocessor):
    """Split every event into pieces of at most ``max_bytes`` (default 8192).

    An empty event stays one empty piece.
    """

    name = "chunk"
    SCHEMA = {"max_bytes": positive_int(DEFAULT_MAX_BYTES)}
    __slots__ = ("_max",)

    def __init__(self, **options: Any) -> None:
        self._max: int = validate("chunk", options, self.SCHEMA)["max_bytes"]

    def process(self, data: bytes) -> list[bytes]:
        m = self._max
        if len(data) <= m:
            return [data]
        return [data[i : i + m] for i in range(0, len(data), m)]


class CollectPost(Postprocessor):
    """Collect events into chunks of at most ``max_bytes`` (default 8192).

    Held events are emitted concatenated as soon as the next one would not
    fit, or the chunk is exactly full; ``finish()`` flushes the rest. An event
    larger than ``max_bytes`` on its own flushes what is held and is emitted
    alone, unsplit (put ``chunk`` after ``collect`` for a hard limit). Events
    are held until then: there is no timer, so a quiet stream keeps its last
    events until more arrive or the stream ends.
    """

    name = "collect"
    SCHEMA = {"max_bytes": positive_int(DEFAULT_MAX_BYTES)}
    __slots__ = ("_max", "_held", "_size")

    def __init__(self, **options: Any) -> None:
        self._max: int = validate("collect", options, self.SCHEMA)["max_bytes"]
        self._held: list[bytes] = []
        self._size = 0

    def _flush(self) -> list[bytes]:
        if not self._held:
            return []
        out = b"".join(self._held)
        self._held.clear()
        self._size = 0
        return [out]

    def process(self, data: bytes) -> list[bytes]:
        n = len(data)
        if n > self._max:
            return self._flush() + [data]
        out = self._flush() if self._size + n > self._max else []
        self._held.append(data)
        self._size += n
        if self._size == self._max:
            out += self._flush()
        return out

    def finish(self) -> list[bytes]:
        return self._flush()
