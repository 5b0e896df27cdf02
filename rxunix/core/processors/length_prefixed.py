"""``length-prefixed`` and ``textual-length-prefixed`` framings.

``length-prefixed`` puts the payload length in front of each frame as an
8-byte big-endian u64; ``textual-length-prefixed`` as ASCII decimal digits and
one space (RFC 5425 octet counting, ``"5 hello"``; read, as Tremor does, up to
any ASCII whitespace byte, with an optional ``+``). Both preprocessors are
streaming: frames may be split across chunks, and a chunk may hold many frames::

    >>> LengthPrefixedPost().process(b"hi")
    [b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02hi']
    >>> p = TextualLengthPrefixedPre()
    >>> p.feed(b"2 hi3 y"), p.feed(b"o"), p.feed(b"u0 "), p.finish()
    ([b'hi'], [], [b'you', b''], [])

Memory is bounded by ``max_length`` (default 16 MiB, 0 = unlimited): a
header claiming more is **one** :class:`~rxunix.core.errors.FrameTooLarge` error,
its payload is skipped as it arrives (counted, never buffered), and the next
frame is read normally, so the stream stays in sync::

    >>> p = LengthPrefixedPre(max_length=3)
    >>> out = p.feed(LengthPrefixedPost().process(b"toolong")[0] + b"\\0" * 7 + b"\\1!")
    >>> [f if isinstance(f, bytes) else type(f).__name__ for f in out]
    ['FrameTooLarge', b'!']

A malformed textual header (a byte other than a digit before the whitespace,
whitespace without digits, or more than 20 digits) cannot be resynchronised from:
the stream has no delimiter to look for, and guessing would turn payload bytes
into frames. It is reported once as a :class:`~rxunix.core.errors.FramingError`; the
frames completed before it are kept, and every later byte of the stream is
discarded (:attr:`TextualLengthPrefixedPre.discarded` counts them) until
``finish()``. A stream ending inside a frame is an error from ``finish()``.
"""

from __future__ import annotations

import re
from typing import Any

from ..config import validate
from ..errors import FrameTooLarge, FramingError
from ._options import BIG_MAX_LENGTH, max_length
from .base import Frame, Postprocessor, Preprocessor

__all__ = [
    "LengthPrefixedPre",
    "LengthPrefixedPost",
    "TextualLengthPrefixedPre",
    "TextualLengthPrefixedPost",
]

_U64 = 8
_MAX_DIGITS = 20  # len(str(2**64 - 1))
#: What ends a textual header: ASCII whitespace as Rust's ``u8::is_ascii_whitespace`` (Tremor).
_SPACE = re.compile(rb"[ \t\n\x0c\r]")
#: A header's digits so far: an optional ``+`` (Rust's ``u32`` parse takes one), then digits.
_DIGITS = re.compile(rb"\+?[0-9]*")


class _PrefixedPre(Preprocessor):
    """Shared payload state machine; subclasses parse the header."""

    name = ""
    SCHEMA = {"max_length": max_length(BIG_MAX_LENGTH)}
    __slots__ = ("_max", "_hdr", "_want", "_buf", "_skip")

    def __init__(self, **options: Any) -> None:
        self._max: int = validate(self.name, options, self.SCHEMA)["max_length"]
        self._hdr = bytearray()  # partial header
        self._want: int | None = None  # payload length of the current frame
        self._buf = bytearray()  # partial payload
        self._skip = 0  # payload bytes of an oversize frame still to discard

    def _header(self, data: bytes, pos: int, out: list[Frame]) -> int:
        """Parse header bytes from ``pos``; set ``_want`` when complete; return new pos (-1: stop)."""
        raise NotImplementedError

    def _start(self, length: int, out: list[Frame]) -> None:
        if self._max and length > self._max:
            out.append(FrameTooLarge(f"{self.name}: frame of {length} bytes exceeds max_length {self._max}"))
            self._skip = length
        elif length == 0:
            out.append(b"")
        else:
            self._want = length

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        pos, n = 0, len(data)
        while pos < n:
            if self._skip:
                k = min(self._skip, n - pos)
                self._skip -= k
                pos += k
            elif self._want is None:
                pos = self._header(data, pos, out)
                if pos < 0:
                    break
            else:
                want = self._want
                if not self._buf and n - pos >= want:
                    out.append(data[pos : pos + want])
                    pos += want
                    self._want = None
                    continue
                k = min(want - len(self._buf), n - pos)
                self._buf += data[pos : pos + k]
                pos += k
                if len(self._buf) == want:
                    out.append(bytes(self._buf))
                    self._buf.clear()
                    self._want = None
        return out

    def _reset(self) -> None:
        self._hdr.clear()
        self._buf.clear()
        self._want = None
        self._skip = 0

    def finish(self) -> list[Frame]:
        out: list[Frame] = []
        if self._want is not None:
            out.append(
                FramingError(
                    f"{self.name}: stream ended inside a frame ({len(self._buf)} of {self._want} bytes)"
                )
            )
        elif self._hdr:
            out.append(FramingError(f"{self.name}: stream ended inside a length header"))
        self._reset()
        return out


class LengthPrefixedPre(_PrefixedPre):
    """Split at u64 big-endian length prefixes; ``max_length`` (default 16 MiB, 0 = none)."""

    name = "length-prefixed"
    __slots__ = ()

    def _header(self, data: bytes, pos: int, out: list[Frame]) -> int:
        hdr = self._hdr
        if not hdr and len(data) - pos >= _U64:
            length = int.from_bytes(data[pos : pos + _U64], "big")
            pos += _U64
        else:
            k = _U64 - len(hdr)
            hdr += data[pos : pos + k]
            pos += min(k, len(data) - pos)
            if len(hdr) < _U64:
                return pos
            length = int.from_bytes(hdr, "big")
            hdr.clear()
        self._start(length, out)
        return pos


class TextualLengthPrefixedPre(_PrefixedPre):
    """Split at ``<decimal length><whitespace>`` headers; ``max_length`` (default 16 MiB, 0 = none).

    As Tremor: the length ends at the first ASCII whitespace byte (space, tab,
    newline, form feed, carriage return) and may have one leading ``+``;
    leading zeros are accepted; at most 20 digits. See the module docs for
    what happens after a malformed header.
    """

    name = "textual-length-prefixed"
    __slots__ = ("_broken", "discarded")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._broken = False
        #: Bytes discarded since a malformed header (reset by ``finish()``).
        self.discarded = 0

    def _malformed(self, what: str, out: list[Frame], rest: int) -> int:
        out.append(
            FramingError(f"{self.name}: malformed length header ({what}); discarding the rest of the stream")
        )
        self._broken = True
        self._hdr.clear()
        self.discarded = rest
        return -1

    def _header(self, data: bytes, pos: int, out: list[Frame]) -> int:
        hdr = self._hdr
        # an optional "+", at most _MAX_DIGITS digits, the whitespace; hdr never holds more
        # than the first two (checked below), so room >= 1 and every call makes progress
        room = _MAX_DIGITS + 2 - len(hdr)
        seg = data[pos : pos + room]
        space = _SPACE.search(seg)
        if space is None:
            if not _DIGITS.fullmatch(bytes(hdr + seg)):
                return self._malformed(f"non-digit in {bytes(hdr + seg)[:24]!r}", out, len(data) - pos)
            hdr += seg
            if len(hdr.lstrip(b"+")) > _MAX_DIGITS:
                return self._malformed(f"more than {_MAX_DIGITS} digits", out, len(data) - pos)
            return pos + len(seg)
        i = space.start()
        digits = seg[:i]
        if not _DIGITS.fullmatch(bytes(hdr + digits)):
            return self._malformed(f"non-digit in {bytes(hdr + digits)[:24]!r}", out, len(data) - pos)
        hdr += digits
        if len(hdr.lstrip(b"+")) > _MAX_DIGITS:
            return self._malformed(f"more than {_MAX_DIGITS} digits", out, len(data) - pos)
        if not hdr.lstrip(b"+"):
            return self._malformed("no digits before the whitespace", out, len(data) - pos)
        length = int(hdr)
        hdr.clear()
        self._start(length, out)
        return pos + i + 1

    def feed(self, data: bytes) -> list[Frame]:
        if self._broken:
            self.discarded += len(data)
            return []
        return super().feed(data)

    def finish(self) -> list[Frame]:
        if self._broken:
            self._broken = False
            self.discarded = 0
            self._reset()
            return []
        return super().finish()


class LengthPrefixedPost(Postprocessor):
    """Prefix each event with its length as a u64 big-endian."""

    name = "length-prefixed"
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        validate(self.name, options, {})

    def process(self, data: bytes) -> list[bytes]:
        return [len(data).to_bytes(_U64, "big") + data]


class TextualLengthPrefixedPost(Postprocessor):
    """Prefix each event with its length in ASCII decimal and one space."""

    name = "textual-length-prefixed"
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        validate(self.name, options, {})

    def process(self, data: bytes) -> list[bytes]:
        return [b"%d %s" % (len(data), data)]
