"""``base64``: decode (pre) or encode (post) each frame with standard, padded base64.

Base64 is not a framing of its own: put it after a framing preprocessor
(``["separate", "base64"]``) and before a framing postprocessor
(``["base64", "separate"]``). Bad input is an error in line::

    >>> Base64Post().process(b"hi")
    [b'aGk=']
    >>> p = Base64Pre()
    >>> p.feed(b"aGk="), type(p.feed(b"a*b")[0]).__name__
    ([b'hi'], 'FramingError')
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..config import validate
from ..errors import FramingError
from .base import Frame, Postprocessor, Preprocessor

__all__ = ["Base64Pre", "Base64Post"]


class Base64Pre(Preprocessor):
    """Decode each frame; anything but the standard alphabet with correct padding is an error."""

    name = "base64"
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        validate("base64", options, {})

    def feed(self, data: bytes) -> list[Frame]:
        try:
            return [base64.b64decode(data, validate=True)]
        except (binascii.Error, ValueError) as exc:
            return [FramingError(f"base64: invalid input of {len(data)} bytes: {exc}")]


class Base64Post(Postprocessor):
    """Encode each event."""

    name = "base64"
    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        validate("base64", options, {})

    def process(self, data: bytes) -> list[bytes]:
        return [base64.b64encode(data)]
