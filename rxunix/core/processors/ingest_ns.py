"""``ingest-ns``: an 8-byte big-endian u64 nanosecond timestamp in front of each frame.

The postprocessor prefixes the current time (``time.time_ns()``); the
preprocessor strips it again and keeps it in :attr:`IngestNsPre.last_ingest_ns`.
(Tremor writes and restores the event's ingest time; rxunix events carry none.)
Like Tremor's, both work on whole frames: combine them with a framing
(``["ingest-ns", "length-prefixed"]`` / ``["length-prefixed", "ingest-ns"]``)::

    >>> framed = IngestNsPost().process(b"data")[0]
    >>> len(framed)
    12
    >>> p = IngestNsPre()
    >>> p.feed(framed), p.last_ingest_ns == int.from_bytes(framed[:8], "big")
    ([b'data'], True)
    >>> type(p.feed(b"short")[0]).__name__
    'FramingError'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..config import validate
from ..errors import FramingError
from .base import Frame, Postprocessor, Preprocessor

__all__ = ["IngestNsPre", "IngestNsPost"]

_PREFIX = 8


class IngestNsPre(Preprocessor):
    """Strip the 8-byte timestamp of each frame; a frame shorter than 8 bytes is an error."""

    name = "ingest-ns"
    __slots__ = ("last_ingest_ns",)

    def __init__(self, **options: Any) -> None:
        validate("ingest-ns", options, {})
        #: The timestamp of the last frame seen (``None`` before the first).
        self.last_ingest_ns: int | None = None

    def feed(self, data: bytes) -> list[Frame]:
        if len(data) < _PREFIX:
            return [FramingError(f"ingest-ns: frame of {len(data)} bytes is shorter than the 8-byte prefix")]
        self.last_ingest_ns = int.from_bytes(data[:_PREFIX], "big")
        return [data[_PREFIX:]]


class IngestNsPost(Postprocessor):
    """Prefix each event with the current time in ns since the epoch (u64 big-endian)."""

    name = "ingest-ns"
    __slots__ = ("_clock",)

    def __init__(self, **options: Any) -> None:
        validate("ingest-ns", options, {})
        self._clock: Callable[[], int] = time.time_ns

    def process(self, data: bytes) -> list[bytes]:
        return [(self._clock() & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(_PREFIX, "big") + data]
