"""``separate``: split a byte stream at a one-byte separator (default newline).

Beyond Tremor, an oversize frame costs exactly one error: the good frames before
and after it in the same chunk are kept, and the stream resynchronises at the
next separator. Memory held per stream never exceeds ``max_length`` bytes::

    >>> p = SeparatePre(max_length=4)
    >>> [f if isinstance(f, bytes) else type(f).__name__ for f in p.feed(b"ok\\ntoolong\\nfine\\n")]
    [b'ok', 'FrameTooLarge', b'fine']
    >>> SeparatePost().process(b'{"a":1}')
    [b'{"a":1}\\n']
"""

from __future__ import annotations

from typing import Any

from ..config import Option, validate
from ..errors import FrameTooLarge
from ._options import MAX_LENGTH, SEPARATOR
from .base import Frame, Postprocessor, Preprocessor

__all__ = ["SeparatePre", "SeparatePost"]


class SeparatePre(Preprocessor):
    """Split at ``separator``; ``max_length`` (default 8192, 0 = none) bounds a frame.

    ``buffered=False`` treats every chunk as complete: the bytes after the last
    separator of a chunk are a frame of their own instead of waiting for more,
    so a chunk ending in a separator ends with an empty frame, as in Tremor
    (``b"snot\\n"`` gives ``b"snot"``, ``b""``). An empty chunk is no data and
    gives no frame.
    """

    name = "separate"
    SCHEMA = {"separator": SEPARATOR, "max_length": MAX_LENGTH, "buffered": Option(bool, True)}

    __slots__ = ("_sep", "_max", "_buffered", "_buf", "_discarding")

    def __init__(self, **options: Any) -> None:
        opts = validate("separate", options, self.SCHEMA)
        self._sep: bytes = opts["separator"]
        self._max: int = opts["max_length"]
        self._buffered: bool = opts["buffered"]
        self._buf = bytearray()
        self._discarding = False

    def _too_large(self, size: int | None = None) -> FrameTooLarge:
        got = f"{size} bytes" if size is not None else "more bytes"
        return FrameTooLarge(f"separate: frame of {got} exceeds max_length {self._max}")

    def feed(self, data: bytes) -> list[Frame]:
        parts: list[Any] = data.split(self._sep)
        tail: bytes = parts.pop()
        maxlen = self._max
        if not self._buffered:
            if not data:
                return []
            parts.append(tail)
            return self._limited(data, parts) if maxlen and len(data) > maxlen else parts
        if parts:
            if self._discarding:
                # the first part ends the oversize frame: already reported
                del parts[0]
                self._discarding = False
            elif self._buf:
                self._buf += parts[0]
                parts[0] = bytes(self._buf)
                self._buf.clear()
            if maxlen and parts and (len(data) > maxlen or len(parts[0]) > maxlen):  # (else none can be)
                parts = self._limited(data, parts)
        if tail and not self._discarding:
            self._buf += tail
            if maxlen and len(self._buf) > maxlen:
                parts.append(self._too_large())
                self._buf.clear()
                self._discarding = True
        return parts

    def _limited(self, data: bytes, parts: list[Any]) -> list[Any]:
        """``parts`` (the frames of ``data``, the first one possibly carried over from
        earlier reads) with each frame longer than ``max_length`` replaced by its failure.
        Called when one may be (``data`` or the first frame is longer than ``max_length``);
        the frames are measured only when the first one is, or ``data`` may hold a run
        without separator over the limit (:func:`_runs_within`)."""
        maxlen = self._max
        if len(parts[0]) <= maxlen and (len(data) <= maxlen or _runs_within(data, self._sep, maxlen)):
            return parts
        if max(map(len, parts)) <= maxlen:
            return parts
        return [p if len(p) <= maxlen else self._too_large(len(p)) for p in parts]

    def finish(self) -> list[Frame]:
        self._discarding = False
        if not self._buf:
            return []
        last = bytes(self._buf)
        self._buf.clear()
        return [last]


def _runs_within(data: bytes, sep: bytes, maxlen: int) -> bool:
    r"""True when no run of ``data`` without ``sep`` is longer than ``maxlen`` bytes; False
    when one may be (then each frame's length is looked at). A run of ``maxlen + 1``
    bytes or more covers a whole aligned block of ``maxlen // 2 + 1`` bytes, so a
    separator in every such block proves it: a ``memchr`` per block instead of a
    ``len`` per frame. Runs of half ``maxlen`` or more may answer False::

        >>> _runs_within(b"a\nb\nc\nd", b"\n", 2), _runs_within(b"abc\nd", b"\n", 2)
        (True, False)
    """
    block = maxlen // 2 + 1
    find = data.find
    return all(find(sep, i, i + block) >= 0 for i in range(0, len(data) - block + 1, block))


class SeparatePost(Postprocessor):
    """Append ``separator`` (default newline) to every encoded event."""

    name = "separate"
    SCHEMA = {"separator": SEPARATOR}

    __slots__ = ("_sep", "suffix")

    def __init__(self, **options: Any) -> None:
        self._sep: bytes = validate("separate", options, self.SCHEMA)["separator"]
        #: Stateless 1:1 suffix: lets the Encoder fuse it with the codec.
        self.suffix: bytes = self._sep

    def process(self, data: bytes) -> list[bytes]:
        return [data + self._sep]
