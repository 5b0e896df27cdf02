"""``gelf-chunking``: reassemble (pre) or split (post) messages with GELF's chunking protocol.

A GELF chunk is ``0x1e 0x0f``, an 8-byte message id, a sequence number, a
chunk count and a piece of the message. The preprocessor takes one chunk per
frame (a datagram, or a frame of a framing such as ``length-prefixed``) and
emits the message once all its chunks are in, in sequence order, whatever
order they came in. A frame that is not chunked passes as it is: an
uncompressed JSON message (``{...}``), or Wayfair's ``0x1f 0x3c`` header
(stripped). As in Tremor, a message still incomplete after 5 to 10 seconds is
dropped::

    >>> post = GelfChunkingPost(chunk_size=16)
    >>> chunks = post.process(b'{"short_message":"hi"}')
    >>> len(chunks), chunks[0][:2], chunks[0][10:12]
    (6, b'\\x1e\\x0f', b'\\x00\\x06')
    >>> pre = GelfChunkingPre()
    >>> [pre.feed(c) for c in reversed(chunks)][-1]
    [b'{"short_message":"hi"}']

Beyond Tremor, what it drops is reported in line as a
:class:`~rxunix.errors.FramingError` (Tremor only logs): a bad header, a
chunk out of its message's range, a duplicate chunk (the message is
dropped), a message that expired incomplete. The postprocessor's
``chunk_size`` (default 8192, Tremor's fixed size) is configurable, a message
needing more than 128 chunks is an error (as in Tremor), and an empty message
is sent as one empty chunk instead of nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..config import Option, validate
from ..errors import FramingError
from .base import Frame, Postprocessor, Preprocessor

__all__ = ["GelfChunkingPre", "GelfChunkingPost"]

_MAGIC, _WELF = b"\x1e\x0f", b"\x1f\x3c"
_HEADER = 12
_EXPIRE_NS = 5_000_000_000
_MAX_CHUNKS = 128


class _Partial:
    """The chunks of one message received so far."""

    __slots__ = ("parts", "stored")

    def __init__(self, count: int) -> None:
        self.parts: list[bytes | None] = [None] * count
        self.stored = 0


class GelfChunkingPre(Preprocessor):
    """Reassemble GELF chunks into messages; takes no options.

    :attr:`clock` (monotonic ns) drives the expiry of incomplete messages.
    """

    name = "gelf-chunking"
    __slots__ = ("_current", "_previous", "_last_swap", "clock")

    def __init__(self, **options: Any) -> None:
        validate("gelf-chunking", options, {})
        self._current: dict[int, _Partial] = {}
        self._previous: dict[int, _Partial] = {}
        self.clock: Callable[[], int] = time.monotonic_ns
        self._last_swap = self.clock()

    def _expire(self) -> list[Frame]:
        now = self.clock()
        if now - self._last_swap <= _EXPIRE_NS:
            return []
        dropped = [
            FramingError(f"gelf-chunking: message {mid:#x} expired with {m.stored} of {len(m.parts)} chunks")
            for mid, m in self._previous.items()
        ]
        self._previous, self._current, self._last_swap = self._current, {}, now
        return list(dropped)

    def feed(self, data: bytes) -> list[Frame]:
        out = self._expire()
        if data[:2] == _WELF:
            return out + [data[2:]]
        if data[:2] == _MAGIC and len(data) >= _HEADER:
            mid, seq, count = int.from_bytes(data[2:10], "big"), data[10], data[11]
            return out + self._chunk(mid, seq, count, data[_HEADER:])
        if len(data) >= 2 and data[:1] == b"{":
            return out + [data]
        return out + [FramingError(f"gelf-chunking: invalid GELF header in a frame of {len(data)} bytes")]

    def _chunk(self, mid: int, seq: int, count: int, piece: bytes) -> list[Frame]:
        if count == 1:
            return [piece]
        if seq >= count:
            return [FramingError(f"gelf-chunking: chunk {seq} out of range 0..{count - 1} for message {mid:#x}")]
        table = self._current if mid in self._current or mid not in self._previous else self._previous
        m = table.setdefault(mid, _Partial(count))
        if len(m.parts) != count or m.parts[seq] is not None:
            del table[mid]
            return [FramingError(f"gelf-chunking: duplicate or inconsistent chunk {seq} of message {mid:#x}")]
        m.parts[seq] = piece
        m.stored += 1
        if m.stored < count:
            return []
        del table[mid]
        return [b"".join(p for p in m.parts if p is not None)]


class GelfChunkingPost(Postprocessor):
    """Split each event into GELF chunks of at most ``chunk_size`` bytes (default 8192, > 12)."""

    name = "gelf-chunking"
    SCHEMA = {"chunk_size": Option(int, 8192, check=lambda v: v > _HEADER, expect=f"an int > {_HEADER}")}
    __slots__ = ("_size", "_id")

    def __init__(self, **options: Any) -> None:
        self._size: int = validate("gelf-chunking", options, self.SCHEMA)["chunk_size"] - _HEADER
        self._id = 0

    def process(self, data: bytes) -> list[bytes]:
        pieces = [data[i : i + self._size] for i in range(0, len(data), self._size)] or [b""]
        n = len(pieces)
        if n > _MAX_CHUNKS:
            raise FramingError(f"gelf-chunking: maximum number of chunks is 128, this message would need {n}")
        mid = (self._id & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "big")
        self._id += 1
        return [_MAGIC + mid + bytes((i, n)) + p for i, p in enumerate(pieces)]
