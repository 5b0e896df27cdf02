r"""``influx``: InfluxDB line protocol <-> ``{"measurement", "tags", "fields", "timestamp"}``.

The same structure as Tremor's codec: tags are strings, plain numbers are
floats, ``82i`` is an int (``82u`` an unsigned int), ``t``/``true``/``F``...
booleans, quoted values strings; the timestamp is an int (nanoseconds), and
when the line has none the decode time is used (``time.time_ns()``)::

    >>> c = InfluxCodec()
    >>> v = c.decode(b"weather,location=us-midwest temperature=82,n=3i 1465839830100400200")
    >>> v["measurement"], v["tags"], v["fields"], v["timestamp"]
    ('weather', {'location': 'us-midwest'}, {'temperature': 82.0, 'n': 3}, 1465839830100400200)
    >>> c.encode({"measurement": "wea ther", "tags": {}, "fields": {"s": 'say "hi"', "ok": True},
    ...           "timestamp": 1})
    b'wea\\ ther ok=true,s="say \\"hi\\"" 1'

Escapes follow InfluxData's reference parser: in tag keys, tag values and
field keys ``\,``, ``\=``, ``\ `` and ``\\`` are unescaped, any other
backslash is kept (so ``a\"b`` in a tag value stays ``a\"b``, as in Tremor);
in the measurement ``\,``, ``\ `` and ``\\``; in string fields ``\"`` and
``\\``.

Encoding sorts tags and fields by key (as Tremor does) and escapes ``,``,
``=`` and space in tag keys, tag values and field keys (``,`` and space in
the measurement), and a backslash only where it would otherwise read as an
escape, so every name round-trips and ``a\"b`` is written back as it came
(Tremor writes ``a\\\"b``); ints are written
with ``i`` (``u`` above the signed 64-bit range). Beyond Tremor, values it
cannot write faithfully are :class:`~rxunix.core.errors.CodecError` instead of being
dropped or mangled: non-string tags, NaN/infinite floats, ints beyond 64 bits,
newlines in names, no fields. As InfluxData's parsers (not Tremor, where the
last one wins), a duplicate tag key is a ``CodecError``, and several spaces
between the sections of a line are accepted. An empty line or a ``#`` comment
line, which Tremor skips, is a ``CodecError`` here (a codec returns one value
per frame): drop them with ``remove-empty`` or a filter. A missing ``timestamp`` on encode writes a line without one.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

from ..config import validate
from ..errors import CodecError
from .base import Codec
from .json_codec import JsonCodec

__all__ = ["InfluxCodec"]

_I64 = (-(2**63), 2**63 - 1)
_U64_MAX = 2**64 - 1
_TRUE = frozenset(("t", "T", "true", "True", "TRUE"))
_FALSE = frozenset(("f", "F", "false", "False", "FALSE"))
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TIMESTAMP = re.compile(r"-?[0-9]+")
# a backslash is escaped only where it would otherwise start an escape (or dangle)
_KEY_ESCAPES = re.compile(r"\\(?=[\\, =]|$)|[, =]")
_MEASUREMENT_ESCAPES = re.compile(r"\\(?=[\\, ]|$)|[, ]")
#: What a backslash escapes in tag keys, tag values and field keys.
_KEY_ESCAPABLE = frozenset("\\, =")
#: What a backslash escapes in the measurement.
_MEASUREMENT_ESCAPABLE = frozenset("\\, ")
_JSON = JsonCodec()


class _Bad(Exception):
    pass


class _Scanner:
    """Walks one line, unescaping names."""

    __slots__ = ("s", "i")

    def __init__(self, s: str) -> None:
        self.s, self.i = s, 0

    def name(self, stops: str, what: str, escapable: frozenset[str] = _KEY_ESCAPABLE) -> tuple[str, str | None]:
        """Read up to an unescaped stop character; return (text, stop or None at the end)."""
        s, i, out = self.s, self.i, []
        n = len(s)
        while i < n:
            ch = s[i]
            if ch == "\\":
                if i + 1 >= n:
                    raise _Bad(f"dangling backslash in {what}")
                nxt = s[i + 1]
                out.append(nxt if nxt in escapable else ch + nxt)
                i += 2
                continue
            if ch in stops:
                self.i = i + 1
                return "".join(out), ch
            out.append(ch)
            i += 1
        self.i = n
        return "".join(out), None

    def value(self, key: str) -> tuple[Any, str | None]:
        s, i = self.s, self.i
        n = len(s)
        if i < n and s[i] == '"':
            out, i = [], i + 1
            while True:
                if i >= n:
                    raise _Bad(f"unterminated string in field {key!r}")
                ch = s[i]
                if ch == "\\" and i + 1 < n and s[i + 1] in '"\\':
                    out.append(s[i + 1])
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                else:
                    out.append(ch)
                    i += 1
            if i < n and s[i] not in ", ":
                raise _Bad(f"unexpected {s[i]!r} after string field {key!r}")
            self.i = i + 1
            return "".join(out), (s[i] if i < n else None)
        j = i
        while j < n and s[j] not in ", ":
            j += 1
        self.i = j + 1
        return _scalar(s[i:j], key), (s[j] if j < n else None)


def _scalar(text: str, key: str) -> Any:
    if not text:
        raise _Bad(f"missing value of field {key!r}")
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    suffix = text[-1]
    if suffix in "iu" and _INT.fullmatch(text[:-1]):
        n = int(text[:-1])
        lo, hi = (_I64[0], _I64[1]) if suffix == "i" else (0, _U64_MAX)
        if not lo <= n <= hi:
            raise _Bad(f"integer {text!r} of field {key!r} out of range")
        return n
    if _FLOAT.fullmatch(text):
        f = float(text)
        if math.isfinite(f):
            return f
    raise _Bad(f"invalid value {text!r} of field {key!r}")


def _parse(line: str, now: int) -> dict[str, Any]:
    sc = _Scanner(line)
    measurement, stop = sc.name(", ", "measurement", _MEASUREMENT_ESCAPABLE)
    if not measurement:
        raise _Bad("empty measurement")
    if stop is None:
        raise _Bad("no fields")
    tags: dict[str, str] = {}
    while stop == ",":
        key, stop = sc.name("=, ", "tag key")
        if stop != "=" or not key:
            raise _Bad(f"tag {key!r} has no key=value form")
        val, stop = sc.name("=, ", "tag value")
        if stop == "=":
            raise _Bad(f"unescaped '=' in value of tag {key!r}")
        if not val:
            raise _Bad(f"empty value of tag {key!r}")
        if stop is None:
            raise _Bad("no fields")
        if key in tags:
            raise _Bad(f"duplicate tag key {key!r}")
        tags[key] = val
    while sc.i < len(line) and line[sc.i] == " ":  # several spaces before the fields
        sc.i += 1
    fields: dict[str, Any] = {}
    while True:
        key, stop = sc.name("=, ", "field key")
        if stop != "=" or not key:
            raise _Bad(f"field {key!r} has no key=value form")
        fields[key], stop = sc.value(key)
        if stop != ",":
            break
    rest = line[sc.i :].lstrip(" ") if stop == " " else ""
    if not rest:
        timestamp = now
    elif _TIMESTAMP.fullmatch(rest):
        timestamp = int(rest)
        if not _I64[0] <= timestamp <= _I64[1]:
            raise _Bad(f"timestamp {rest!r} out of range")
    else:
        raise _Bad(f"invalid timestamp {rest[:30]!r}")
    return {"measurement": measurement, "tags": tags, "fields": fields, "timestamp": timestamp}


def _esc_key(name: Any, what: str, escapes: re.Pattern[str] = _KEY_ESCAPES) -> str:
    if not isinstance(name, str) or not name:
        raise CodecError(f"influx: {what} must be a non-empty string, got {name!r}")
    if "\n" in name or "\r" in name:
        raise CodecError(f"influx: {what} {name!r} contains a newline")
    return escapes.sub(lambda m: "\\" + m.group(0), name)


def _field(value: Any, key: str) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if _I64[0] <= value <= _I64[1]:
            return f"{value}i"
        if 0 <= value <= _U64_MAX:
            return f"{value}u"
        raise CodecError(f"influx: integer field {key!r} = {value} is beyond 64 bits")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CodecError(f"influx: float field {key!r} = {value!r} is not finite")
        return _JSON.encode(value).decode("ascii")
    raise CodecError(f"influx: field {key!r} must be str, int, float or bool, got {type(value).__name__}")


class InfluxCodec(Codec):
    """InfluxDB line protocol <-> measurement dicts. No options."""

    name = "influx"

    def __init__(self, **options: Any) -> None:
        validate("influx", options, {})

    def decode(self, data: bytes) -> Any:
        try:
            line = bytes(data).decode("utf-8").strip(" \t\r\n")
        except UnicodeDecodeError as exc:
            raise CodecError(f"influx: invalid UTF-8 at byte {exc.start}") from None
        if not line or line.startswith("#"):
            raise CodecError("influx: empty or comment line, nothing to decode")
        try:
            return _parse(line, time.time_ns())
        except (_Bad, ValueError) as exc:  # (ValueError: a number of thousands of digits)
            raise CodecError(f"influx: {exc} in {line[:60]!r}") from None

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise CodecError(f"influx: can only encode a dict, got {type(value).__name__}")
        parts = [_esc_key(value.get("measurement"), "'measurement'", _MEASUREMENT_ESCAPES)]
        if parts[0].startswith("#"):
            raise CodecError("influx: a 'measurement' starting with '#' would read as a comment line")
        if parts[0].startswith("\t"):  # (a line's leading whitespace is not part of it)
            raise CodecError("influx: a 'measurement' starting with a tab would not read back")
        tags = value.get("tags")
        tags = {} if tags is None else tags
        fields = value.get("fields")
        if not isinstance(tags, Mapping):
            raise CodecError(f"influx: 'tags' must be a dict, got {type(tags).__name__}")
        if not isinstance(fields, Mapping) or not fields:
            raise CodecError(f"influx: 'fields' must be a non-empty dict, got {fields!r}")
        for k in sorted(tags, key=str):
            v = tags[k]
            if not isinstance(v, str):
                raise CodecError(f"influx: tag {k!r} must be a string, got {type(v).__name__}")
            parts.append(f",{_esc_key(k, 'tag key')}={_esc_key(v, f'tag {k!r} value')}")
        parts.append(" ")
        parts.append(
            ",".join(f"{_esc_key(k, 'field key')}={_field(fields[k], k)}" for k in sorted(fields, key=str))
        )
        ts = value.get("timestamp")
        if ts is not None:
            if isinstance(ts, bool) or not isinstance(ts, int) or not _I64[0] <= ts <= _I64[1]:
                raise CodecError(f"influx: 'timestamp' must be a 64-bit int (ns), got {ts!r}")
            parts.append(f" {ts}")
        return "".join(parts).encode("utf-8")
