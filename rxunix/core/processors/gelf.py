"""``gelf-chunking``: reassemble (pre) or split (post) messages with GELF's chunking protocol.

A GELF chunk is ``0x1e 0x0f``, an 8-byte message id, a sequence number, a
chunk count and a piece of the message. The preprocessor takes one chunk per
frame (a datagram, or a frame of a framing such as ``length-prefixed``) and
emits the message once all its chunks are in, in sequence order, whatever
order they came in. A frame that is not chunked passes as it is: an
uncompressed JSON message (``{...}``), or Wayfair's ``0x1f 0x3c`` header
(stripped). As in Tremor, a message still incomplete after 5 to 10 seconds is
dropped. A datagram server keeps one per sender, for all of its datagrams (the
chunks of a message come as several datagrams)::

    >>> post = GelfChunkingPost(chunk_size=16)
    >>> chunks = post.process(b'{"short_message":"hi"}')
    >>> len(chunks), chunks[0][:2], chunks[0][10:12]
    (6, b'\\x1e\\x0f', b'\\x00\\x06')
    >>> pre = GelfChunkingPre()
    >>> [pre.feed(c) for c in reversed(chunks)][-1]
    [b'{"short_message":"hi"}']

Beyond Tremor, what it drops is reported in line as a
:class:`~rxunix.core.errors.FramingError` (Tremor only logs): a bad header, a
chunk out of its message's range, a duplicate chunk (the message is
dropped), a message that expired incomplete or was still incomplete when the
stream ended (``finish()``). Memory is bounded: ``max_length`` (default 16 MiB,
0 = none) bounds the bytes of incomplete messages held (their pieces, and 100
bytes plus 8 per chunk slot for each message); a chunk that would go
beyond it drops the oldest incomplete messages first, each reported; a chunk
count above 128 (GELF's limit) is an error. The postprocessor's
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
from ._options import BIG_MAX_LENGTH, max_length
from .base import Frame, Postprocessor, Preprocessor

__all__ = ["GelfChunkingPre", "GelfChunkingPost"]

_MAGIC, _WELF = b"\x1e\x0f", b"\x1f\x3c"
_HEADER = 12
_EXPIRE_NS = 5_000_000_000
_MAX_CHUNKS = 128
#: What an incomplete message costs beyond its pieces (besides 8 bytes per chunk slot).
_PARTIAL_COST = 100


class _Partial:
    """The chunks of one message received so far."""

    __slots__ = ("parts", "stored", "size")

    def __init__(self, count: int) -> None:
        self.parts: list[bytes | None] = [None] * count
        self.stored = 0
        self.size = 0  # bytes held


class GelfChunkingPre(Preprocessor):
    """Reassemble GELF chunks into messages; ``max_length`` (default 16 MiB, 0 = none)
    bounds the bytes of incomplete messages held.

    :attr:`clock` (monotonic ns) drives the expiry of incomplete messages.
    """

    name = "gelf-chunking"
    spans_frames = True
    SCHEMA = {"max_length": max_length(BIG_MAX_LENGTH)}
    __slots__ = ("_current", "_previous", "_last_swap", "clock", "_max", "_held")

    def __init__(self, **options: Any) -> None:
        self._max: int = validate("gelf-chunking", options, self.SCHEMA)["max_length"]
        self._held = 0
        self._current: dict[int, _Partial] = {}
        self._previous: dict[int, _Partial] = {}
        self.clock: Callable[[], int] = time.monotonic_ns
        self._last_swap = self.clock()

    def finish(self) -> list[Frame]:
        """The stream ended: every incomplete message is dropped, each reported."""
        left = [
            FramingError(f"gelf-chunking: message {mid:#x} incomplete at the end of the stream, "
                         f"with {m.stored} of {len(m.parts)} chunks")
            for table in (self._previous, self._current) for mid, m in table.items()
        ]
        self._previous, self._current, self._held = {}, {}, 0
        return list(left)

    def _make_room(self, size: int, keep: int) -> list[Frame]:
        """Drop the oldest incomplete messages but ``keep`` until ``size`` more bytes fit."""
        dropped: list[Frame] = []
        for table in (self._previous, self._current):
            for mid in [k for k in table if k != keep]:
                if self._held + size <= self._max:
                    return dropped
                m = table.pop(mid)
                self._held -= m.size
                dropped.append(FramingError(f"gelf-chunking: message {mid:#x} dropped incomplete ({m.stored} of "
                                            f"{len(m.parts)} chunks): incomplete messages would hold more than "
                                            f"max_length {self._max} bytes"))
        return dropped

    def _expire(self) -> list[Frame]:
        now = self.clock()
        if now - self._last_swap <= _EXPIRE_NS:
            return []
        dropped = [
            FramingError(f"gelf-chunking: message {mid:#x} expired with {m.stored} of {len(m.parts)} chunks")
            for mid, m in self._previous.items()
        ]
        self._held -= sum(m.size for m in self._previous.values())
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
        if count > _MAX_CHUNKS:
            return [FramingError(f"gelf-chunking: chunk count {count} of message {mid:#x} above GELF's {_MAX_CHUNKS}")]
        if seq >= count:
            return [FramingError(f"gelf-chunking: chunk {seq} out of range 0..{count - 1} for message {mid:#x}")]
        table = self._current if mid in self._current or mid not in self._previous else self._previous
        m = table.get(mid)
        if m is not None and (len(m.parts) != count or m.parts[seq] is not None):
            self._forget(table, mid)
            return [FramingError(f"gelf-chunking: duplicate or inconsistent chunk {seq} of message {mid:#x}")]
        # what holding it costs: the piece, and a new message's own table of chunks
        cost = len(piece) + (_PARTIAL_COST + 8 * count if m is None else 0)
        out: list[Frame] = []
        if self._max and self._held + cost > self._max:
            if (0 if m is None else m.size) + cost > self._max:  # this message alone would not fit
                self._forget(table, mid)
                return [FramingError(f"gelf-chunking: message {mid:#x} would hold more than max_length "
                                     f"{self._max} bytes; dropped")]
            out = self._make_room(cost, keep=mid)
        if m is None:
            m = table[mid] = _Partial(count)
        m.parts[seq] = piece
        m.stored += 1
        m.size += cost
        self._held += cost
        if m.stored < count:
            return out
        self._forget(table, mid)
        return [*out, b"".join(p for p in m.parts if p is not None)]

    def _forget(self, table: dict[int, _Partial], mid: int) -> None:
        m = table.pop(mid, None)
        if m is not None:
            self._held -= m.size


class GelfChunkingPost(Postprocessor):
    """Split each event into GELF chunks of at most ``chunk_size`` bytes (default 8192, > 12)."""

    name = "gelf-chunking"
    frames_are_datagrams = True
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
