"""``decompress`` (pre) and ``compress`` (post): one compressed entity per frame.

As in Tremor, each frame reaching ``decompress`` must be one complete
compressed entity, so put a framing before it (``["length-prefixed",
"decompress"]``) and after ``compress`` (``["compress", "length-prefixed"]``)::

    >>> packed = CompressPost(algorithm="gzip").process(b"hello")[0]
    >>> DecompressPre().feed(packed)
    [b'hello']
    >>> DecompressPre().feed(b"plain text passes through")
    [b'plain text passes through']
    >>> [type(f).__name__ for f in DecompressPre().feed(packed[:-3])]
    ['FramingError']

Algorithms (``algorithm``): ``gzip``, ``zlib``, ``xz2`` (xz container, stdlib
``lzma``), ``lz4`` (lz4 *frame* format), ``zstd``, ``snappy`` (*framed*
format) and ``br`` (brotli); ``decompress`` also takes ``autodetect`` (the
default), which recognises every one of them but ``br`` by its magic bytes;
brotli has none, so a frame that matches no magic is taken for brotli only if it
decodes completely to non-empty output, and anything else passes through
unchanged (a truncated brotli frame too: name ``br`` to get an error for it).
Data that is recognised (or named) but truncated or corrupt is a
:class:`~rxunix.core.errors.FramingError` in line, never an exception (a framed
snappy stream cut exactly between two of its chunks reads as a shorter
stream: the format has no end marker). Concatenated
gzip/xz/lz4/zstd members decompress to their concatenation. Note that the zlib
magic is only two bytes (``0x78`` then ``0x01``/``0x5e``/``0x9c``/``0xda``):
an uncompressed frame starting with ``x^`` is taken for zlib, as in Tremor.

``lz4``, ``zstd``, ``snappy`` and ``br`` need optional packages (extras
``rxunix[lz4]``, ``[zstd]``, ``[snappy]``, ``[brotli]``); naming a missing one
raises :class:`~rxunix.core.errors.MissingExtraError` at construction, while
``autodetect`` meeting such data reports a ``FramingError`` in line.

``decompress`` bounds memory: ``max_length`` (default 16 MiB, 0 = unlimited)
caps the decompressed size of one frame, checked while decompressing, so a
decompression bomb costs one error and about ``max_length`` of memory (plus the
format's window), not the process. ``compress`` takes
``level`` (default: the library's own; ranges gzip/zlib/xz2 0-9, lz4 0-16,
zstd -7-22, br 0-11; snappy has none). It writes content checksums for
``lz4`` and ``zstd`` too (gzip, zlib, xz2 and snappy have one built in), so
corruption is detected rather than decoded into wrong bytes; brotli has no
checksum: a corrupt ``br`` frame may decode into wrong bytes. Many members in
one frame cost about their own length to decode, however many there are.
"""

from __future__ import annotations

import importlib
import lzma
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..config import REQUIRED, Option, choice, validate
from ..errors import ConfigError, FrameTooLarge, FramingError, MissingExtraError
from ._options import BIG_MAX_LENGTH, max_length
from .base import Frame, Postprocessor, Preprocessor

__all__ = ["ALGORITHMS", "DecompressPre", "CompressPost", "detect", "decompress", "compress"]

#: Every algorithm, in Tremor's names.
ALGORITHMS = ("gzip", "zlib", "xz2", "lz4", "zstd", "snappy", "br")
#: algorithm -> (module to import, pip extra) for the optional ones.
_OPTIONAL = {
    "lz4": ("lz4.frame", "lz4"),
    "zstd": ("zstandard", "zstd"),
    "snappy": ("snappy", "snappy"),
    "br": ("brotli", "brotli"),
}
#: algorithm -> accepted ``level`` range (inclusive).
LEVELS = {"gzip": (0, 9), "zlib": (0, 9), "xz2": (0, 9), "lz4": (0, 16), "zstd": (-7, 22), "br": (0, 11)}

_SNAPPY_ID = b"\xff\x06\x00\x00sNaPpY"
_SNAPPY_MAX_CHUNK = 65536
#: the largest piece of brotli output asked for at once (a frame's output is checked
#: against ``max_length`` piece by piece, so a bomb costs max_length plus a piece or two)
_BR_PIECE = 1 << 20
_XZ_MEMLIMIT = 128 * 1024 * 1024  # enough for every xz preset (9e needs ~65 MiB)


def _module(algorithm: str, feature: str) -> ModuleType:
    name, extra = _OPTIONAL[algorithm]
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingExtraError(feature, name.split(".")[0], extra) from None


def detect(data: bytes) -> str | None:
    """The algorithm whose magic bytes start ``data``, or ``None`` (never ``br``)."""
    head = data[:10]
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "zlib"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz2"
    if head[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if head == _SNAPPY_ID:
        return "snappy"
    return None


# --- decompression: each returns the bytes or raises FramingError -----------------------------


class _Truncated(Exception):
    pass


class _TooLarge(Exception):
    pass


#: After a frame's first member, input slices fed to a decompressor grow from the first
#: to the last size: a member costs about its own length, however many members follow it
#: (fed the whole rest, each would copy it again as ``unused_data``).
_FIRST_SLICE = 256
_LAST_SLICE = 1 << 16


def _members(make: Callable[[], Any], data: bytes, limit: int, unlimited: int | None) -> bytes:
    """The members of ``data`` decompressed one after the other, a decompressor (with
    ``eof`` and ``unused_data``) from ``make()`` for each. ``unlimited``: the
    ``max_length`` that means "no limit" to its ``decompress(data, max_length)`` (zlib,
    lzma, lz4); None for one without ``max_length`` (zstd), which is then fed slices
    small enough that one cannot blow far past ``limit``."""
    out = bytearray()
    pos, n = 0, len(data)
    step = n  # the first member: the whole frame (one call for the usual one-member frame)
    sliced = unlimited is None and limit
    while True:
        d = make()
        while True:
            if sliced:
                step = min(step, max(64, (limit - len(out) + 1) >> 16))  # ~64 KiB of output per input byte
            end = min(n, pos + step)
            if unlimited is None:
                out += d.decompress(data[pos:end])  # (bytes: a decompressor takes them faster than a view)
            else:  # one byte more than allowed: getting it means "too large"; less, all was consumed
                out += d.decompress(data[pos:end], limit - len(out) + 1 if limit else unlimited)
            if limit and len(out) > limit:
                raise _TooLarge
            if d.eof:
                pos = end - len(d.unused_data or b"")
                break
            if end >= n:
                raise _Truncated
            pos = end
            if step < _LAST_SLICE:
                step *= 2
        if pos >= n:
            return bytes(out)
        step = _FIRST_SLICE


def _sliced(feed: Callable[[bytes], bytes], data: bytes, limit: int, out: bytearray) -> int:
    """Feed ``data`` in slices small enough that one slice cannot blow far past ``limit``.

    Returns the number of bytes fed (stops early when ``feed`` reports the end via StopIteration).
    """
    pos, n = 0, len(data)
    while pos < n:
        step = max(64, (limit - len(out) + 1) >> 16)  # ~64 KiB of output per input byte at most
        try:
            out += feed(data[pos : pos + step])
        except StopIteration:
            return pos
        pos += step
        if len(out) > limit:
            raise _TooLarge
    return n


def _gzip(data: bytes, limit: int) -> bytes:
    return _members(lambda: zlib.decompressobj(31), data, limit, 0)


def _zlib(data: bytes, limit: int) -> bytes:
    return _members(lambda: zlib.decompressobj(15), data, limit, 0)


def _xz2(data: bytes, limit: int) -> bytes:
    return _members(lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=_XZ_MEMLIMIT), data, limit, -1)


def _lz4(data: bytes, limit: int) -> bytes:
    frame = _module("lz4", "decompress lz4")
    return _members(frame.LZ4FrameDecompressor, data, limit, -1)


def _zstd(data: bytes, limit: int) -> bytes:
    zstd = _module("zstd", "decompress zstd")
    return _members(zstd.ZstdDecompressor().decompressobj, data, limit, None)


def _br(data: bytes, limit: int) -> bytes:
    brotli = _module("br", "decompress br")
    d = brotli.Decompressor()
    out = bytearray()
    if not limit:
        out += d.process(data)
    elif hasattr(d, "can_accept_more_data"):  # brotli >= 1.2: output a piece at a time
        piece = min(limit + 1, _BR_PIECE)
        chunk = d.process(data, output_buffer_limit=piece)
        idle = 0  # calls in a row that gave nothing
        while True:
            out += chunk
            idle = 0 if chunk else idle + 1
            if len(out) > limit or d.is_finished() or (idle and d.can_accept_more_data()) or idle > 2:
                break  # too large, whole, or it wants input there is not (truncated)
            chunk = d.process(b"", output_buffer_limit=piece)
    else:
        _sliced(d.process, data, limit, out)
    if limit and len(out) > limit:
        raise _TooLarge
    if not d.is_finished():
        raise _Truncated
    return bytes(out)


def _varint(data: bytes, pos: int, end: int) -> int:
    value = shift = 0
    while pos < end and shift < 35:
        b = data[pos]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value
        pos += 1
        shift += 7
    raise FramingError("snappy: bad uncompressed length in a chunk")


def _snappy(data: bytes, limit: int) -> bytes:
    # Check the framing and the declared sizes first (python-snappy's stream
    # decoder accepts truncated streams and trailing junk), then decode (CRCs).
    snappy = _module("snappy", "decompress snappy")
    if not data.startswith(_SNAPPY_ID):
        raise FramingError("snappy: missing stream identifier")
    pos, n, total = 0, len(data), 0
    while pos < n:
        if n - pos < 4:
            raise _Truncated
        kind = data[pos]
        end = pos + 4 + int.from_bytes(data[pos + 1 : pos + 4], "little")
        if end > n:
            raise _Truncated
        if kind == 0xFF:
            if data[pos + 4 : end] != b"sNaPpY":
                raise FramingError("snappy: bad stream identifier")
        elif kind in (0x00, 0x01):
            if end - pos < 8 + (kind == 0):
                raise FramingError("snappy: chunk too short")
            size = _varint(data, pos + 8, end) if kind == 0 else end - pos - 8
            if size > _SNAPPY_MAX_CHUNK:
                raise FramingError(f"snappy: chunk of {size} bytes exceeds {_SNAPPY_MAX_CHUNK}")
            total += size
            if limit and total > limit:
                raise _TooLarge
        elif kind < 0x80:
            raise FramingError(f"snappy: reserved unskippable chunk type {kind:#x}")
        pos = end
    out: bytes = snappy.StreamDecompressor().decompress(data)
    if len(out) != total:
        raise FramingError(f"snappy: decoded {len(out)} bytes, chunks declared {total}")
    return out


_DECOMPRESS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip,
    "zlib": _zlib,
    "xz2": _xz2,
    "lz4": _lz4,
    "zstd": _zstd,
    "snappy": _snappy,
    "br": _br,
}


def decompress(algorithm: str, data: bytes, limit: int = BIG_MAX_LENGTH) -> bytes:
    """Decompress one complete entity; raise :class:`FramingError` on any failure.

    ``limit`` caps the output size (0 = unlimited; exceeding it raises
    :class:`~rxunix.core.errors.FrameTooLarge`)::

        >>> decompress("zlib", compress("zlib", b"abc"))
        b'abc'
    """
    try:
        return _DECOMPRESS[algorithm](data, limit)
    except FramingError:
        raise
    except _TooLarge:
        raise FrameTooLarge(f"decompress {algorithm}: output exceeds max_length {limit}") from None
    except _Truncated:
        raise FramingError(f"decompress {algorithm}: truncated data ({len(data)} bytes)") from None
    except MissingExtraError as exc:
        raise FramingError(f"decompress {algorithm}: {exc}") from None
    except Exception as exc:  # every library has its own error types
        raise FramingError(f"decompress {algorithm}: corrupt data: {type(exc).__name__}: {exc}") from None


# --- compression -------------------------------------------------------------------------------


def compress(algorithm: str, data: bytes, level: int | None = None) -> bytes:
    """Compress ``data`` into one entity that :func:`detect` recognises (but ``br``)::

        >>> detect(compress("xz2", b"abc"))
        'xz2'
    """
    if algorithm == "gzip":
        c = zlib.compressobj(-1 if level is None else level, zlib.DEFLATED, 31)
        return c.compress(data) + c.flush()
    if algorithm == "zlib":
        return zlib.compress(data, -1 if level is None else level)
    if algorithm == "xz2":
        return lzma.compress(data, lzma.FORMAT_XZ, preset=level)
    out: bytes
    if algorithm == "lz4":
        lz4 = _module("lz4", "compress lz4")
        out = lz4.compress(data, compression_level=level or 0, content_checksum=True)
    elif algorithm == "zstd":
        zstd = _module("zstd", "compress zstd")
        out = zstd.ZstdCompressor(level=3 if level is None else level, write_checksum=True).compress(data)
    elif algorithm == "snappy":
        # python-snappy writes nothing for empty input: send an empty stream instead
        out = _module("snappy", "compress snappy").StreamCompressor().add_chunk(data) or _SNAPPY_ID
    elif algorithm == "br":
        brotli = _module("br", "compress br")
        out = brotli.compress(data) if level is None else brotli.compress(data, quality=level)
    else:
        raise ConfigError(f"compress: unknown algorithm {algorithm!r}; allowed: {', '.join(ALGORITHMS)}")
    return out


class DecompressPre(Preprocessor):
    """Decompress each frame (``algorithm``: ``autodetect`` default; ``max_length`` 16 MiB, 0 = none)."""

    name = "decompress"
    SCHEMA = {"algorithm": choice("autodetect", *ALGORITHMS), "max_length": max_length(BIG_MAX_LENGTH)}
    __slots__ = ("_algorithm", "_max")

    def __init__(self, **options: Any) -> None:
        opts = validate("decompress", options, self.SCHEMA)
        self._algorithm: str = opts["algorithm"]
        self._max: int = opts["max_length"]
        if self._algorithm in _OPTIONAL:
            _module(self._algorithm, f"decompress algorithm {self._algorithm!r}")

    def feed(self, data: bytes) -> list[Frame]:
        algorithm: str | None = self._algorithm
        if algorithm == "autodetect":
            algorithm = detect(data)
            if algorithm is None:
                return [self._brotli_or_plain(data)]
        try:
            return [decompress(algorithm, data, self._max)]  # type: ignore[arg-type]
        except FramingError as exc:
            return [exc]


    def _brotli_or_plain(self, data: bytes) -> bytes:
        """Brotli has no magic bytes: a frame that matches no other algorithm is
        taken for brotli only if it decodes completely to something non-empty
        (plain text and JSON practically never do); anything else, truncated
        brotli included, passes through unchanged."""
        if not data or _BROTLI_MISSING:
            return data
        try:
            return decompress("br", data, self._max) or data
        except FramingError:
            return data


def _brotli_available() -> bool:
    try:
        _module("br", "decompress autodetect")
    except MissingExtraError:
        return False
    return True


_BROTLI_MISSING = not _brotli_available()


def _check_level(algorithm: str, level: int | None) -> None:
    if level is None:
        return
    if algorithm not in LEVELS:
        raise ConfigError(f"compress: option 'level' is not supported by {algorithm!r}; leave it out")
    lo, hi = LEVELS[algorithm]
    if not lo <= level <= hi:
        raise ConfigError(f"compress: option 'level' for {algorithm!r} must be in {lo}..{hi}, got {level!r}")


class CompressPost(Postprocessor):
    """Compress each event (``algorithm`` required, ``level`` optional)."""

    name = "compress"
    SCHEMA = {
        "algorithm": Option(
            str, REQUIRED, check=lambda v: v in ALGORITHMS, expect="one of " + ", ".join(ALGORITHMS)
        ),
        "level": Option(int, None),
    }
    __slots__ = ("_algorithm", "_level")

    def __init__(self, **options: Any) -> None:
        opts = validate("compress", options, self.SCHEMA)
        self._algorithm: str = opts["algorithm"]
        self._level: int | None = opts["level"]
        _check_level(self._algorithm, self._level)
        if self._algorithm in _OPTIONAL:
            _module(self._algorithm, f"compress algorithm {self._algorithm!r}")

    def process(self, data: bytes) -> list[bytes]:
        try:
            return [compress(self._algorithm, data, self._level)]
        except Exception as exc:
            raise FramingError(f"compress {self._algorithm}: {type(exc).__name__}: {exc}") from None
