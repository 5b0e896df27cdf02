"""``dogstatsd``: one DogStatsD v1.2 datagram line <-> a dict, with Tremor's structure.

Three kinds of line, each decoded under its own key::

    >>> c = DogStatsdCodec()
    >>> c.decode(b"dog:111:4.5|g|@0.5|#env:dev,a|c:123abc")
    {'metric': {'metric': 'dog', 'values': [111.0, 4.5], 'type': 'g', 'sample_rate': 0.5, \
'tags': ['env:dev', 'a'], 'container_id': '123abc'}}
    >>> c.decode(b"_e{4,6}:Test|A Test|t:warning")
    {'event': {'title': 'Test', 'text': 'A Test', 'type': 'warning'}}
    >>> c.decode(b"_sc|Redis connection|2|#env:dev|m:timed out")
    {'service_check': {'name': 'Redis connection', 'status': 2, 'tags': ['env:dev'], 'message': 'timed out'}}
    >>> c.encode({"metric": {"metric": "dog", "type": "c", "values": [1.0], "tags": ["a:b"]}})
    b'dog:1|c|#a:b'

Metric types: ``c``, ``d``, ``g``, ``h``, ``ms``, ``s``. Values are floats (an
integral value is written without a fraction, as Tremor writes it). Event
optional fields: ``timestamp`` (``d:``), ``hostname`` (``h:``),
``aggregation_key`` (``k:``), ``priority`` (``p:``), ``source`` (``s:``),
``type`` (``t:``), ``tags`` (``#``), ``container_id`` (``c:``); service checks:
``timestamp``, ``hostname``, ``tags``, ``message`` (``m:``), ``container_id``.

Beyond Tremor, nothing is dropped silently: a metric without a type, an
unknown section, an event whose text is longer or shorter than its header
says, a status outside 0-3, or a value that cannot be written back (NaN, a
``|`` in a name, a non-string tag, an empty tag list, which Tremor writes as
``|#`` and reads back as one empty tag) is a :class:`~rxunix.core.errors.CodecError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..config import validate
from ..errors import CodecError
from .base import Codec
from .json_codec import JsonCodec
from .json_numbers import ryu_text

__all__ = ["DogStatsdCodec", "METRIC_TYPES"]

#: The metric types of DogStatsD.
METRIC_TYPES = ("c", "d", "g", "h", "ms", "s")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_U32 = 2**32 - 1
_EVENT_HEAD = re.compile(rb"_e\{([0-9]+),([0-9]+)\}:")
_EVENT_KEYS = {"d:": "timestamp", "h:": "hostname", "k:": "aggregation_key", "p:": "priority",
               "s:": "source", "t:": "type", "c:": "container_id"}  # fmt: skip
_CHECK_KEYS = {"d:": "timestamp", "h:": "hostname", "m:": "message", "c:": "container_id"}
_JSON = JsonCodec()


class _Bad(Exception):
    pass


def _float(text: str, what: str) -> float:
    if _NUMBER.fullmatch(text):
        f = float(text)
        if math.isfinite(f):
            return f
    raise _Bad(f"invalid {what} {text!r}")


def _u32(text: str, what: str) -> int:
    if text.isascii() and text.isdigit() and int(text) <= _U32:
        return int(text)
    raise _Bad(f"invalid {what} {text!r}")


def _sections(out: dict[str, Any], sections: list[str], keys: Mapping[str, str]) -> None:
    """The optional ``|``-separated sections of an event or a service check."""
    for sec in sections:
        if sec.startswith("#"):
            out["tags"] = sec[1:].split(",")
        elif sec[:2] in keys:
            key = keys[sec[:2]]
            out[key] = _u32(sec[2:], key) if key == "timestamp" else sec[2:]
        else:
            raise _Bad(f"unknown section {sec[:20]!r}")


def _metric(line: str) -> dict[str, Any]:
    name, sep, rest = line.partition(":")
    values_text, sep2, rest = rest.partition("|")
    if not sep or not sep2 or not name or "|" in name:  # the encoder refuses such a name too
        raise _Bad("not a 'metric:value|type' line")
    out: dict[str, Any] = {"metric": name, "values": [_float(v, "value") for v in values_text.split(":")]}
    mtype, *sections = rest.split("|")
    if mtype not in METRIC_TYPES:
        raise _Bad(f"unknown metric type {mtype!r}; allowed: {', '.join(METRIC_TYPES)}")
    out["type"] = mtype
    for sec in sections:
        if sec.startswith("@"):
            out["sample_rate"] = _float(sec[1:], "sample rate")
        elif sec.startswith("#"):
            out["tags"] = sec[1:].split(",")
        elif sec.startswith("c:"):
            out["container_id"] = sec[2:]
        else:
            raise _Bad(f"unknown section {sec[:20]!r}")
    return {"metric": out}


def _event(data: bytes) -> dict[str, Any]:
    m = _EVENT_HEAD.match(data)
    if m is None:
        raise _Bad("not an '_e{title length,text length}:title|text' event")
    tl, xl, i = int(m.group(1)), int(m.group(2)), m.end()
    title, bar, text = data[i : i + tl], data[i + tl : i + tl + 1], data[i + tl + 1 : i + tl + 1 + xl]
    rest = data[i + tl + 1 + xl :]
    if len(title) != tl or bar != b"|" or len(text) != xl or rest[:1] not in (b"", b"|"):
        raise _Bad("event title/text do not match their lengths")
    out: dict[str, Any] = {"title": title.decode("utf-8"), "text": text.decode("utf-8")}
    if rest:
        _sections(out, rest.decode("utf-8")[1:].split("|"), _EVENT_KEYS)
    return {"event": out}


def _service_check(line: str) -> dict[str, Any]:
    name, sep, rest = line[4:].partition("|")
    status_text, _, rest = rest.partition("|")
    if not sep or not name:
        raise _Bad("not a '_sc|name|status' service check")
    if status_text not in ("0", "1", "2", "3"):
        raise _Bad(f"invalid status {status_text!r} (0-3)")
    out: dict[str, Any] = {"name": name, "status": int(status_text)}
    if rest:
        _sections(out, rest.split("|"), _CHECK_KEYS)
    return {"service_check": out}


def _text(value: Any, what: str, extra: str = "") -> str:
    if not isinstance(value, str) or any(c in value for c in "|\n" + extra):
        raise CodecError(f"dogstatsd: {what} must be a string without '|', newline{extra and ' or ' + extra!r}")
    return value


def _num(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CodecError(f"dogstatsd: {what} must be a finite number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return ryu_text(value) if isinstance(value, float) else str(value)


def _tags_and_id(v: Mapping[str, Any], parts: list[str], container_last: bool = True) -> None:
    tags = v.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not tags:
            raise CodecError(f"dogstatsd: 'tags' must be a non-empty list of strings, got {tags!r}")
        parts.append("#" + ",".join(_text(t, "a tag", ",") for t in tags))
    if container_last and v.get("container_id") is not None:
        parts.append("c:" + _text(v["container_id"], "'container_id'"))


def _encode_metric(v: Mapping[str, Any]) -> str:
    name = _text(v.get("metric"), "'metric'", ":")
    if not name or v.get("type") not in METRIC_TYPES:
        raise CodecError(f"dogstatsd: a metric needs a name and a 'type' in {METRIC_TYPES}, got {dict(v)!r}")
    values = v.get("values")
    if not isinstance(values, list) or not values:
        raise CodecError(f"dogstatsd: 'values' must be a non-empty list of numbers, got {values!r}")
    parts = [f"{name}:{':'.join(_num(x, 'a value') for x in values)}", v["type"]]
    if v.get("sample_rate") is not None:
        rate = v["sample_rate"]
        _num(rate, "'sample_rate'")
        parts.append("@" + _JSON.encode(rate).decode("ascii"))
    _tags_and_id(v, parts)
    return "|".join(parts)


def _optional(v: Mapping[str, Any], keys: Mapping[str, str], parts: list[str]) -> None:
    for prefix, key in keys.items():
        if v.get(key) is None or key == "container_id":
            continue
        if key == "timestamp":
            ts = v[key]
            if isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts <= _U32:
                raise CodecError(f"dogstatsd: 'timestamp' must be an int 0..2**32-1 (seconds), got {ts!r}")
            parts.append(f"d:{ts}")
        else:
            parts.append(prefix + _text(v[key], repr(key)))


def _framed_text(value: Any, what: str) -> str:
    """Title and text are framed by their lengths: only a newline would break the line."""
    if not isinstance(value, str) or "\n" in value:
        raise CodecError(f"dogstatsd: {what} must be a string without newline, got {value!r}")
    return value


def _encode_event(v: Mapping[str, Any]) -> str:
    title, text = _framed_text(v.get("title"), "'title'"), _framed_text(v.get("text"), "'text'")
    parts = [f"_e{{{len(title.encode())},{len(text.encode())}}}:{title}", text]
    _optional(v, _EVENT_KEYS, parts)
    _tags_and_id(v, parts)
    return "|".join(parts)


def _encode_check(v: Mapping[str, Any]) -> str:
    status = v.get("status")
    if isinstance(status, bool) or status not in (0, 1, 2, 3):
        raise CodecError(f"dogstatsd: 'status' must be 0, 1, 2 or 3, got {status!r}")
    name = _text(v.get("name"), "'name'")
    if not name:
        raise CodecError("dogstatsd: a service check's 'name' must not be empty")
    parts = ["_sc", name, str(status)]
    keys = dict(_CHECK_KEYS)
    message = keys.pop("m:")
    _optional(v, keys, parts)
    _tags_and_id(v, parts, container_last=False)
    if v.get(message) is not None:
        parts.append("m:" + _text(v[message], "'message'"))
    if v.get("container_id") is not None:
        parts.append("c:" + _text(v["container_id"], "'container_id'"))
    return "|".join(parts)


class DogStatsdCodec(Codec):
    """DogStatsD metrics, events and service checks <-> dicts. No options."""

    name = "dogstatsd"

    def __init__(self, **options: Any) -> None:
        validate("dogstatsd", options, {})

    def decode(self, data: bytes) -> Any:
        raw = bytes(data)
        try:
            if raw.startswith(b"_e{"):
                return _event(raw)
            line = raw.decode("utf-8")
            return _service_check(line) if line.startswith("_sc|") else _metric(line)
        except UnicodeDecodeError as exc:
            raise CodecError(f"dogstatsd: invalid UTF-8 at byte {exc.start}") from None
        except (_Bad, ValueError) as exc:  # (ValueError: a number of thousands of digits)
            raise CodecError(f"dogstatsd: {exc}: {raw[:60]!r}") from None

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise CodecError(f"dogstatsd: can only encode a dict, got {type(value).__name__}")
        for key, encode in (("metric", _encode_metric), ("event", _encode_event), ("service_check", _encode_check)):
            inner = value.get(key)
            if inner is not None:
                if not isinstance(inner, Mapping):
                    raise CodecError(f"dogstatsd: {key!r} must be a dict, got {type(inner).__name__}")
                return encode(inner).encode("utf-8")
        raise CodecError("dogstatsd: expected a dict with 'metric', 'event' or 'service_check'")
