"""``binflux``: Tremor's binary form of an influx measurement, byte for byte.

The value is the ``influx`` codec's ``{"measurement", "tags", "fields",
"timestamp"}``. Big-endian throughout: u16 version (0), u16-length-prefixed
UTF-8 measurement, u64 timestamp, u16 tag count with (key, value) strings,
u16 field count with key string, one type byte and the value: 0 = i64,
1 = f64, 2 = string, 3 = true, 4 = false (the type numbers Tremor's code
writes). The format has no framing: put ``length-prefixed`` around it::

    >>> c = BinfluxCodec()
    >>> v = {"measurement": "m", "tags": {"t": "v"}, "fields": {"f": 1.5, "n": 2}, "timestamp": 42}
    >>> c.decode(c.encode(v)) == v
    True
    >>> c.encode({"measurement": "m", "timestamp": 1})
    b'\\x00\\x00\\x00\\x01m\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x00'

Beyond Tremor, what cannot be written faithfully is a
:class:`~rxunix.core.errors.CodecError` (Tremor skips a non-string tag but still
counts it, which corrupts the message): non-string tags, ints outside the
signed 64-bit range, strings over 65535 bytes; and a truncated message,
trailing bytes, an unknown version or invalid UTF-8 fail to decode.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from ..config import validate
from ..errors import CodecError
from .base import Codec

__all__ = ["BinfluxCodec"]

TYPE_I64, TYPE_F64, TYPE_STRING, TYPE_TRUE, TYPE_FALSE = 0, 1, 2, 3, 4
_U8, _U16, _U64 = struct.Struct(">B"), struct.Struct(">H"), struct.Struct(">Q")
_I64, _F64 = struct.Struct(">q"), struct.Struct(">d")


class _Reader:
    __slots__ = ("data", "i")

    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    def take(self, n: int) -> bytes:
        if self.i + n > len(self.data):
            raise CodecError(f"binflux: truncated message ({len(self.data)} bytes)")
        out = self.data[self.i : self.i + n]
        self.i += n
        return out

    def num(self, st: struct.Struct) -> Any:
        return st.unpack(self.take(st.size))[0]

    def text(self) -> str:
        try:
            return self.take(self.num(_U16)).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"binflux: invalid UTF-8 in a string: {exc}") from None


def _field(r: _Reader) -> Any:
    kind = r.num(_U8)
    if kind == TYPE_I64:
        return r.num(_I64)
    if kind == TYPE_F64:
        return r.num(_F64)
    if kind == TYPE_STRING:
        return r.text()
    if kind in (TYPE_TRUE, TYPE_FALSE):
        return kind == TYPE_TRUE
    raise CodecError(f"binflux: bad field type {kind}")


def _text(out: bytearray, s: Any, what: str) -> None:
    if not isinstance(s, str):
        raise CodecError(f"binflux: {what} must be a string, got {type(s).__name__}")
    raw = s.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise CodecError(f"binflux: {what} is longer than 65535 bytes")
    out += _U16.pack(len(raw)) + raw


def _count(out: bytearray, items: Any, what: str) -> Mapping[str, Any]:
    items = {} if items is None else items
    if not isinstance(items, Mapping) or len(items) > 0xFFFF:
        raise CodecError(f"binflux: {what!r} must be a dict of at most 65535 entries")
    out += _U16.pack(len(items))
    return items


def _encode_field(out: bytearray, key: Any, v: Any) -> None:
    _text(out, key, "a field key")
    if isinstance(v, bool):
        out.append(TYPE_TRUE if v else TYPE_FALSE)
    elif isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise CodecError(f"binflux: field {key!r} = {v} is outside the signed 64-bit range")
        out.append(TYPE_I64)
        out += _I64.pack(v)
    elif isinstance(v, float):
        out.append(TYPE_F64)
        out += _F64.pack(v)
    elif isinstance(v, str):
        out.append(TYPE_STRING)
        _text(out, v, f"field {key!r}")
    else:
        raise CodecError(f"binflux: unknown type as influx line value: {type(v).__name__} (field {key!r})")


class BinfluxCodec(Codec):
    """Binary influx measurements <-> dicts. No options."""

    name = "binflux"

    def __init__(self, **options: Any) -> None:
        validate("binflux", options, {})

    def decode(self, data: bytes) -> Any:
        r = _Reader(bytes(data))
        if r.num(_U16) != 0:
            raise CodecError("binflux: invalid version")
        measurement = r.text()
        timestamp = r.num(_U64)
        tags: dict[str, str] = {}
        for _ in range(r.num(_U16)):
            key = r.text()
            tags[key] = r.text()
        fields: dict[str, Any] = {}
        for _ in range(r.num(_U16)):
            key = r.text()
            fields[key] = _field(r)
        if r.i != len(r.data):
            raise CodecError(f"binflux: {len(r.data) - r.i} trailing bytes")
        return {"measurement": measurement, "tags": tags, "fields": fields, "timestamp": timestamp}

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise CodecError(f"binflux: can only encode a dict, got {type(value).__name__}")
        out = bytearray(_U16.pack(0))
        if not isinstance(value.get("measurement"), str):
            raise CodecError("binflux: measurement missing")
        _text(out, value["measurement"], "'measurement'")
        ts = value.get("timestamp")
        if isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts < 2**64:
            raise CodecError("binflux: timestamp missing" if ts is None else f"binflux: bad timestamp {ts!r}")
        out += _U64.pack(ts)
        tags = _count(out, value.get("tags"), "tags")
        for k, v in tags.items():
            _text(out, k, "a tag key")
            _text(out, v, f"tag {k!r}")
        fields = _count(out, value.get("fields"), "fields")
        for k, v in fields.items():
            _encode_field(out, k, v)
        return bytes(out)
