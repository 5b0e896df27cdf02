"""``string`` and ``binary``: the codecs that leave the bytes (almost) alone.

``string`` decodes UTF-8 text into a ``str``; invalid UTF-8 is a
:class:`~rxunix.core.errors.CodecError`. Encoding a ``str`` gives its UTF-8 bytes;
any other value is written as its JSON text (as Tremor does), so a pipeline
that turned a line into a dict still produces a line::

    >>> c = StringCodec()
    >>> c.decode("héllo".encode())
    'héllo'
    >>> c.encode("héllo") == "héllo".encode()
    True
    >>> c.encode({"a": [1, 2.5]})
    b'{"a":[1,2.5]}'

``binary`` passes bytes through unchanged; like Tremor's, it writes a ``str``
as UTF-8 and any other value as its JSON text::

    >>> BinaryCodec().decode(b"\\x00\\xff")
    b'\\x00\\xff'
    >>> BinaryCodec().encode("é"), BinaryCodec().encode({"a": [1]})
    (b'\\xc3\\xa9', b'{"a":[1]}')

``null`` decodes every frame to ``None`` and encodes every value to no bytes,
as Tremor's does (a sink that discards, a source whose content does not matter)::

    >>> NullCodec().decode(b"anything"), NullCodec().encode({"a": 1})
    (None, b'')
"""

from __future__ import annotations

from typing import Any

from ..config import validate
from ..errors import CodecError
from .base import Codec
from .json_codec import JsonCodec

__all__ = ["StringCodec", "BinaryCodec", "NullCodec"]

_JSON = JsonCodec()


class StringCodec(Codec):
    """UTF-8 text <-> ``str``; non-``str`` values encode as their JSON text. No options."""

    name = "string"

    def __init__(self, **options: Any) -> None:
        validate("string", options, {})

    def decode(self, data: bytes) -> Any:
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"string: invalid UTF-8 at byte {exc.start}: {bytes(data[:40])!r}") from None

    def encode(self, value: Any) -> bytes:
        return _text_or_json("string", value)


class BinaryCodec(Codec):
    """Bytes in, bytes out; ``str`` encodes as UTF-8, any other non-bytes value as JSON text. No options."""

    name = "binary"

    def __init__(self, **options: Any) -> None:
        validate("binary", options, {})

    def decode(self, data: bytes) -> Any:
        return bytes(data)

    def encode(self, value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        return _text_or_json("binary", value)


class NullCodec(Codec):
    """Decodes every frame to ``None``, encodes every value to ``b""``. No options."""

    name = "null"

    def __init__(self, **options: Any) -> None:
        validate("null", options, {})

    def decode(self, data: bytes) -> Any:
        return None

    def encode(self, value: Any) -> bytes:
        return b""


def _text_or_json(codec: str, value: Any) -> bytes:
    """A ``str`` as UTF-8, any other value as minified JSON text; CodecError naming ``codec``."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CodecError(f"{codec}: cannot encode str as UTF-8: {exc}") from None
    try:
        return _JSON.encode(value)
    except CodecError as exc:
        raise CodecError(f"{codec}: cannot encode {type(value).__name__} (as JSON text): {exc}") from None
