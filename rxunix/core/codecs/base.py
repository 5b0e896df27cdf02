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

    Both raise :class:`~rxunix.errors.CodecError` on bad input. A codec instance
    belongs to one stream; stateless codecs may share nothing but their config.
    """

    name: str = ""

    @abstractmethod
    def decode(self, data: bytes) -> Any:
        """Decode one frame."""

    @abstractmethod
    def encode(self, value: Any) -> bytes:
        """Encode one value."""
