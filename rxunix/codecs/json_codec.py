"""``json``: minified UTF-8 JSON, via simplejson (default) or orjson.

Output is minified, raw UTF-8 (no ``\\u`` escapes), floats in shortest
round-trip form; ``mode="sorted"`` sorts object keys::

    >>> JsonCodec(mode="sorted").encode({"b": 1, "a": [0.1, -2, "ü"]})
    b'{"a":[0.1,-2,"\\xc3\\xbc"],"b":1}'
    >>> JsonCodec().decode(b'{"x": 848311734.7466849}')
    {'x': 848311734.7466849}

``backend="orjson"`` (extra ``rxunix[orjson]``) is about three times faster and
gives the same bytes on ordinary data; it refuses integers beyond 64 bits.
"""

from __future__ import annotations

from typing import Any

import simplejson

from ..config import choice, validate
from ..errors import CodecError, MissingExtraError
from .base import Codec

__all__ = ["JsonCodec"]

# Encoder/decoder objects are immutable once built: share them between streams.
_DECODER = simplejson.JSONDecoder()
_ENCODERS = {
    sort: simplejson.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, sort_keys=sort, allow_nan=False
    )
    for sort in (False, True)
}


class JsonCodec(Codec):
    """JSON codec; options ``mode`` (``unsorted``/``sorted``), ``backend`` (``simplejson``/``orjson``)."""

    name = "json"
    SCHEMA = {"mode": choice("unsorted", "sorted"), "backend": choice("simplejson", "orjson")}

    def __init__(self, **options: Any) -> None:
        opts = validate("json", options, self.SCHEMA)
        self.sorted = opts["mode"] == "sorted"
        self.backend = opts["backend"]
        if self.backend == "orjson":
            try:
                import orjson
            except ImportError:
                raise MissingExtraError("json backend 'orjson'", "orjson", "orjson") from None
            self._orjson = orjson
            self._opt = orjson.OPT_SORT_KEYS if self.sorted else 0
            self.decode = self._decode_orjson  # type: ignore[method-assign]
            self.encode = self._encode_orjson  # type: ignore[method-assign]
        else:
            self._encode_str = _ENCODERS[self.sorted].encode

    def decode(self, data: bytes) -> Any:
        try:
            return _DECODER.decode(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CodecError(f"json: cannot decode {_preview(data)}: {exc}") from None

    def encode(self, value: Any) -> bytes:
        try:
            return self._encode_str(value).encode("utf-8")  # type: ignore[no-any-return]
        except (TypeError, ValueError) as exc:
            raise CodecError(f"json: cannot encode {type(value).__name__}: {exc}") from None

    def _decode_orjson(self, data: bytes) -> Any:
        try:
            return self._orjson.loads(data)
        except self._orjson.JSONDecodeError as exc:
            raise CodecError(f"json: cannot decode {_preview(data)}: {exc}") from None

    def _encode_orjson(self, value: Any) -> bytes:
        try:
            return self._orjson.dumps(value, option=self._opt)  # type: ignore[no-any-return]
        except TypeError as exc:
            raise CodecError(f"json: cannot encode {type(value).__name__}: {exc}") from None


def _preview(data: bytes, limit: int = 40) -> str:
    shown = data[:limit]
    return repr(shown) + ("..." if len(data) > limit else "") + f" ({len(data)} bytes)"
