"""``chunk`` and ``collect``: pack whole events into bigger writes, as Tremor does.

``chunk`` packs consecutive events into chunks of at most ``max_bytes``
(required), never splitting an event: a chunk is emitted when the next event
would not fit (that event starts the next chunk) or when it is exactly full;
``finish()`` emits the rest. ``collect`` does the same without the
exactly-full rule, and with ``max_bytes`` 0 (its default) holds everything
until ``finish()``::

    >>> c = ChunkPost(max_bytes=8)
    >>> c.process(b"abc"), c.process(b"def"), c.process(b"ghi"), c.process(b"jklmn"), c.finish()
    ([], [], [b'abcdef'], [b'ghijklmn'], [])
    >>> k = CollectPost()
    >>> k.process(b"snot"), k.process(b"badger"), k.finish()
    ([], [], [b'snotbadger'])

Both are pure postprocessors: they never add framing, so the receiver needs a
framing that survives re-chunking (put ``separate`` or a length prefix first).

Beyond Tremor: an event larger than ``chunk``'s ``max_bytes`` is not sent
(Tremor discards it with a log line) and ``process`` raises
:class:`~rxunix.core.errors.FrameTooLarge`, so the event fails visibly and what is
held stays held. Neither postprocessor ever emits an empty chunk (Tremor's
``collect`` emits one when its first event already overflows, or at the end
of an empty stream).
"""

from __future__ import annotations

from typing import Any

from ..config import REQUIRED, Option, validate
from ..errors import FrameTooLarge
from .base import Postprocessor

__all__ = ["ChunkPost", "CollectPost"]


class _Packer(Postprocessor):
    """Holds events and emits them concatenated."""

    __slots__ = ("_max", "_held", "_size")

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._held: list[bytes] = []
        self._size = 0

    def _take(self) -> list[bytes]:
        out = b"".join(self._held)
        self._held.clear()
        self._size = 0
        return [out] if out else []

    def _hold(self, data: bytes) -> None:
        self._held.append(data)
        self._size += len(data)

    def finish(self) -> list[bytes]:
        return self._take()


class ChunkPost(_Packer):
    """Pack whole events into chunks of at most ``max_bytes`` (required, > 0).

    An event larger than ``max_bytes`` raises :class:`~rxunix.core.errors.FrameTooLarge`
    and is not sent. Empty events add nothing.
    """

    name = "chunk"
    SCHEMA = {"max_bytes": Option(int, REQUIRED, check=lambda v: v > 0, expect="an int > 0")}
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        super().__init__(validate("chunk", options, self.SCHEMA)["max_bytes"])

    def process(self, data: bytes) -> list[bytes]:
        n, m = len(data), self._max
        if n > m:
            raise FrameTooLarge(f"chunk: event of {n} bytes exceeds max_bytes {m}; not sent")
        if self._size + n > m:
            out = self._take()
            self._hold(data)
            return out
        self._hold(data)
        return self._take() if self._size == m else []


class CollectPost(_Packer):
    """Collect events until the next would pass ``max_bytes`` (default 0: only at the end).

    When the next event would not fit, the held events are emitted and that
    event is held instead, even if it alone is larger than ``max_bytes`` (it
    is never split). There is no timer: a quiet stream keeps its last events
    until more arrive or the stream ends.
    """

    name = "collect"
    SCHEMA = {"max_bytes": Option(int, 0, check=lambda v: v >= 0, expect="an int >= 0 (0 = only at the end)")}
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        super().__init__(validate("collect", options, self.SCHEMA)["max_bytes"])

    def process(self, data: bytes) -> list[bytes]:
        out = self._take() if self._max and self._size + len(data) > self._max else []
        self._hold(data)
        return out
