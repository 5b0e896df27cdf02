"""``statsd``: one StatsD line <-> ``{"metric", "type", "value"[, "sample_rate"][, "action"]}``.

The same structure as Tremor's codec. Types are ``c`` (counter), ``g``
(gauge), ``ms`` (timer), ``h`` (histogram) and ``s`` (set). A value with a
``.`` or an exponent is a float, otherwise an int. A gauge written with an
explicit sign is relative: ``+`` gives ``"action": "add"``, ``-`` gives
``"action": "sub"`` with the magnitude as value (so ``x:-5|g`` decodes to
value ``5``, action ``sub``)::

    >>> c = StatsdCodec()
    >>> c.decode(b"sam:7|c|@0.1")
    {'metric': 'sam', 'type': 'c', 'value': 7, 'sample_rate': 0.1}
    >>> c.decode(b"subastian:-234|g")
    {'metric': 'subastian', 'type': 'g', 'value': 234, 'action': 'sub'}
    >>> c.encode({"metric": "horst", "type": "h", "value": 42.23})
    b'horst:42.23|h'

Anything else (a missing part, an unknown type, a non-number, NaN, trailing
text such as DogStatsD tags) is a :class:`~rxunix.core.errors.CodecError`.
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

__all__ = ["StatsdCodec", "TYPES"]

#: The metric types the codec knows.
TYPES = ("c", "g", "ms", "h", "s")

_LINE = re.compile(
    r"(?P<metric>[^:|\n]+):(?P<sign>[+-]?)(?P<value>[0-9.eE+-]+)\|(?P<type>c|g|ms|h|s)"
    r"(?:\|@(?P<rate>[0-9.eE+-]+))?"
)
_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JSON = JsonCodec()


def _number(text: str, what: str, line: str) -> int | float:
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        f = float(text)
        if math.isfinite(f):
            return f
    raise CodecError(f"statsd: invalid {what} {text!r} in {line!r}")


def _num_text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CodecError(f"statsd: {what} must be a number, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CodecError(f"statsd: {what} must be finite, got {value!r}")
    return _JSON.encode(value).decode("ascii")


def _signed(number: float) -> bool:
    """True for a number written with a minus sign (``-0.0`` too)."""
    return math.copysign(1.0, number) < 0


class StatsdCodec(Codec):
    """StatsD line protocol <-> metric dicts. No options."""

    name = "statsd"

    def __init__(self, **options: Any) -> None:
        validate("statsd", options, {})

    def decode(self, data: bytes) -> Any:
        try:
            line = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"statsd: invalid UTF-8 at byte {exc.start}") from None
        m = _LINE.fullmatch(line)
        if m is None:
            raise CodecError(f"statsd: not a 'metric:value|type[|@rate]' line: {line[:60]!r}")
        try:
            value = _number(m["value"], "value", line)
            rate = None if m["rate"] is None else float(_number(m["rate"], "sample rate", line))
        except ValueError as exc:  # a number of thousands of digits
            raise CodecError(f"statsd: {exc} in {line[:60]!r}") from None
        out: dict[str, Any] = {"metric": m["metric"], "type": m["type"], "value": value}
        if rate is not None:
            out["sample_rate"] = rate
        sign = m["sign"]
        if sign == "-" and m["type"] != "g":
            out["value"] = -value
        elif sign and m["type"] == "g":
            out["action"] = "add" if sign == "+" else "sub"
        return out

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise CodecError(f"statsd: can only encode a dict, got {type(value).__name__}")
        metric, mtype = value.get("metric"), value.get("type")
        if not isinstance(metric, str) or not metric or any(ch in metric for ch in ":|\n"):
            raise CodecError(
                f"statsd: 'metric' must be a non-empty string without ':', '|', newline: {metric!r}"
            )
        if mtype not in TYPES:
            raise CodecError(f"statsd: 'type' must be one of {', '.join(TYPES)}, got {mtype!r}")
        if "value" not in value:
            raise CodecError("statsd: 'value' is missing")
        num = value["value"]
        text = _num_text(num, "'value'")
        action = value.get("action")
        if mtype == "g" and action is not None:
            if action not in ("add", "sub"):
                raise CodecError(f"statsd: 'action' must be 'add' or 'sub', got {action!r}")
            if _signed(num):
                raise CodecError(f"statsd: a gauge with 'action' {action!r} needs a value >= 0, got {num!r}")
            text = ("+" if action == "add" else "-") + text
        elif mtype == "g" and _signed(num):  # (a sign makes a gauge relative: it would read back as 'sub')
            raise CodecError(f"statsd: a gauge without 'action' cannot be negative, got {num!r} "
                             "(a decrement is {'value': 5, 'action': 'sub'})")
        out = f"{metric}:{text}|{mtype}"
        rate = value.get("sample_rate")
        if rate is not None:
            rate_text = _num_text(rate, "'sample_rate'")
            if _signed(rate):
                raise CodecError(f"statsd: 'sample_rate' must not be negative, got {rate!r}")
            out += "|@" + rate_text
        return out.encode("utf-8")
