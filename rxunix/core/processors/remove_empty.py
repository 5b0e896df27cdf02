"""``remove-empty``: drop empty frames (e.g. blank lines before a ``json`` codec)::

    >>> p = RemoveEmptyPre()
    >>> p.feed(b""), p.feed(b"x")
    ([], [b'x'])
"""

from __future__ import annotations

from typing import Any

from ..config import validate
from .base import Frame, Preprocessor

__all__ = ["RemoveEmptyPre"]


class RemoveEmptyPre(Preprocessor):
    """Pass every non-empty frame through unchanged; takes no options."""

    name = "remove-empty"
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        validate("remove-empty", options, {})

    def feed(self, data: bytes) -> list[Frame]:
        return [data] if data else []
