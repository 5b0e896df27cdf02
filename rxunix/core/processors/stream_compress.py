"""``stream-compress``: compress the whole outgoing stream as one compressed stream.

Where ``compress`` makes every event its own compressed entity, Tremor's
``stream-compress`` feeds all events of a stream into one compressor and
ends it when the stream finishes, so the receiver sees one ``xz2`` or ``zstd``
stream (``algorithm``, required) whose content is the events' bytes, in order.
``level``: ``xz2`` 0-9 (default 6), ``zstd`` -7-22 (default 3). The
compressor emits bytes when it has them, so an event may produce none, and a
stream without events sends nothing::

    >>> import lzma
    >>> post = StreamCompressPost(algorithm="xz2")
    >>> out = post.process(b"a\\n") + post.process(b"b\\n") + post.finish()
    >>> lzma.decompress(b"".join(out))
    b'a\\nb\\n'

Put a framing before it (``["separate", "stream-compress"]``) so the events can
be told apart after decompression. Beyond Tremor, the zstd stream carries a
content checksum, and ``zstd`` needs the optional ``zstandard`` package (extra
``rxunix[zstd]``).
"""

from __future__ import annotations

import lzma
from typing import Any

from ..config import REQUIRED, Option, validate
from ..errors import ConfigError
from .base import Postprocessor
from .compression import _module

__all__ = ["StreamCompressPost"]

#: algorithm -> (lowest level, highest level, default level)
LEVELS = {"xz2": (0, 9, 6), "zstd": (-7, 22, 3)}


class StreamCompressPost(Postprocessor):
    """One compressed stream per connection stream; ``finish()`` ends it."""

    name = "stream-compress"
    SCHEMA = {
        "algorithm": Option(str, REQUIRED, check=lambda v: v in LEVELS, expect="one of xz2, zstd"),
        "level": Option(int, None),
    }
    __slots__ = ("_algorithm", "_level", "_compressor", "_started")

    def __init__(self, **options: Any) -> None:
        opts = validate("stream-compress", options, self.SCHEMA)
        self._algorithm: str = opts["algorithm"]
        low, high, default = LEVELS[self._algorithm]
        level = default if opts["level"] is None else opts["level"]
        if not low <= level <= high:
            raise ConfigError(
                f"stream-compress: {self._algorithm} supports levels {low} to {high}, got {level}"
            )
        self._level: int = level
        self._compressor: Any = None
        self._started = False
        self._new()  # fail at construction if the package is missing

    def _new(self) -> None:
        if self._algorithm == "xz2":
            self._compressor = lzma.LZMACompressor(lzma.FORMAT_XZ, preset=self._level)
        else:
            zstd = _module("zstd", "stream-compress zstd")
            self._compressor = zstd.ZstdCompressor(level=self._level, write_checksum=True).compressobj()

    def process(self, data: bytes) -> list[bytes]:
        self._started = True
        out: bytes = self._compressor.compress(data)
        return [out] if out else []

    def finish(self) -> list[bytes]:
        """End the compressed stream (nothing if no event was sent); a later event starts a new one."""
        if not self._started:
            return []
        out: bytes = self._compressor.flush()
        self._new()
        self._started = False
        return [out]
