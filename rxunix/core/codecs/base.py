"""The pure interface of codecs: bytes <-> values, no I/O.

    >>> from rxunix.registry import create_codec
    >>> c = create_codec("json")
    >>> c.decode(b'{"a":[1,2.5]}')
    {'a': [1, 2.5]}
    >>> c.encode({"a": "é"})
    b'{"a":"\\xc3\\xa9"}'
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Codec"]


class Codec(ABC):
    """Decode one frame into a value, encode one value into bytes.

    Both raise :class:`~rxunix.core.errors.CodecError` on bad input. A codec instance
    belongs to one stream; stateless codecs may share nothing but their config.
    """

    name: str = ""
    #: True when ``decode_batch`` raises on any frame that is not ``bytes`` (a framing
    #: failure among the frames): the decoder then hands it a read's frames unchecked
    frames_checked: bool = False
    #: True when a decoded value never holds a NaN or an infinite float (see
    #: :meth:`encode_finite_batch`)
    decodes_finite: bool = False

    @abstractmethod
    def decode(self, data: bytes) -> Any:
        """Decode one frame."""

    @abstractmethod
    def encode(self, value: Any) -> bytes:
        """Encode one value."""

    def decode_batch(self, frames: list[bytes]) -> list[Any]:
        """Decode many frames at once: equal to ``[decode(f) for f in frames]``.

        Raises on the first frame that fails (callers then decode frame by frame
        to place each failure); codecs override it where a batch is cheaper.
        """
        decode = self.decode
        return [decode(f) for f in frames]

    def encode_batch(self, values: list[Any], sep: bytes) -> bytes:
        """Encode many values at once: equal to ``b"".join(encode(v) + sep for v in values)``.

        Raises on the first value that fails (callers then encode value by value);
        codecs override it where one joined pass is cheaper.
        """
        encode = self.encode
        return b"".join([encode(v) + sep for v in values])

    def encode_slices(self, elems: list[Any], spans: list[tuple[int, int]], sep: bytes) -> bytes:
        """The lists ``elems[start:start + n]`` for each ``(start, n)`` of ``spans``, encoded
        at once: equal to ``encode_batch`` of those lists. Raises as ``encode_batch`` does;
        codecs override it where encoding each element once is cheaper."""
        return self.encode_batch([elems[s:s + n] for s, n in spans], sep)

    def encode_finite_batch(self, values: list[Any], sep: bytes) -> bytes:
        """:meth:`encode_batch` of values known to hold no NaN or infinite float (values a
        codec that :attr:`decodes_finite` decoded, untouched since): a codec that looks
        for them after encoding may skip the look."""
        return self.encode_batch(values, sep)
