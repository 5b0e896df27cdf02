"""``msgpack``: MessagePack (extra ``rxunix[msgpack]``).

Strings are UTF-8 ``str``, binary data ``bytes``, arrays lists; map keys may be
strings, bytes or numbers (what the encoder writes, the decoder reads back)::

    >>> c = MsgpackCodec()
    >>> c.decode(c.encode({"a": [1, 2.5, "é", b"\\x00"], 7: None}))
    {'a': [1, 2.5, 'é', b'\\x00'], 7: None}

Trailing bytes after one object, truncated data, invalid UTF-8 in a string and
values msgpack cannot represent are :class:`~rxunix.core.errors.CodecError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import validate
from ..errors import CodecError, MissingExtraError
from .base import Codec

__all__ = ["MsgpackCodec"]


def _import() -> Any:
    try:
        import msgpack
    except ImportError:
        raise MissingExtraError("codec 'msgpack'", "msgpack", "msgpack") from None
    return msgpack


def _default(obj: Any) -> Any:
    if isinstance(obj, Mapping):  # e.g. an event's read-only metadata
        return dict(obj)
    raise TypeError(f"can not serialize {type(obj).__name__!r} object")


class MsgpackCodec(Codec):
    """MessagePack <-> values. No options."""

    name = "msgpack"

    def __init__(self, **options: Any) -> None:
        validate("msgpack", options, {})
        msgpack = _import()
        self._packb = msgpack.packb
        self._unpackb = msgpack.unpackb

    def decode(self, data: bytes) -> Any:
        try:
            return self._unpackb(data, raw=False, strict_map_key=False)
        except Exception as exc:  # ExtraData, FormatError, StackError, ValueError, TypeError...
            raise CodecError(
                f"msgpack: cannot decode {len(data)} bytes: {type(exc).__name__}: {str(exc) or 'not MessagePack'}"
            ) from None

    def encode(self, value: Any) -> bytes:
        try:
            return self._packb(value, use_bin_type=True, default=_default)  # type: ignore[no-any-return]
        except Exception as exc:  # TypeError, OverflowError, ValueError...
            raise CodecError(f"msgpack: cannot encode {type(value).__name__}: {exc}") from None
