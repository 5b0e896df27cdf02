"""``syslog``: RFC 5424 (IETF) and RFC 3164 (BSD) syslog lines <-> dicts, as Tremor does.

Decoded fields (present only when the line has them): ``severity`` and
``facility`` (names such as ``"notice"``, ``"local4"``), ``timestamp`` (int,
nanoseconds since the epoch, UTC), ``hostname``, ``appname``, ``procid``
(string), ``msgid``, ``structured_data`` (``{id: [{name: value}, ...]}``),
``msg``, ``protocol`` (``"RFC5424"`` or ``"RFC3164"``) and ``protocol_version``
(RFC 5424 only)::

    >>> c = SyslogCodec()
    >>> v = c.decode(b'<165>1 2003-10-11T22:14:15.003Z host app - ID47 [ex@1 iut="3"] hello')
    >>> v["facility"], v["severity"], v["timestamp"], v["structured_data"], v["msg"]
    ('local4', 'notice', 1065910455003000000, {'ex@1': [{'iut': '3'}]}, 'hello')
    >>> c.encode(v)
    b'<165>1 2003-10-11T22:14:15.003+00:00 host app - ID47 [ex@1 iut="3"] hello'

Lines are parsed with the grammar of Tremor's parser (see
:mod:`rxunix.core.codecs.syslog_parse`): ``<PRI>`` is optional, RFC 3164 accepts
single-digit days, a year or an RFC 3339 timestamp, and structured data after
the tag. RFC 3164 lines carry no year: the current one is used (the previous
one for a December line read in January), as Tremor does. As in Tremor, a line
that is neither format decodes to ``{"protocol": "RFC3164", "msg": <the line>}``;
``strict=True`` makes it a :class:`~rxunix.core.errors.CodecError` instead. Beyond
Tremor, an empty frame or invalid UTF-8 is always a ``CodecError``.

Encoding writes RFC 5424 (version ``protocol_version``, default 1) unless
``protocol`` is ``"RFC3164"``, exactly as Tremor chooses; RFC 5424 needs
``facility`` and ``severity``. A missing RFC 3164 timestamp is the encode time
(:attr:`SyslogCodec.clock`). Beyond Tremor, header fields that would corrupt
the line (spaces, empty strings) are a ``CodecError``, and ``"``, ``\\`` and
``]`` in structured-data values are escaped (and unescaped on decode), so
values round-trip; a header field ``"-"`` (the NILVALUE, which reads back as
absent) is a ``CodecError`` too. One exception: a line's trailing newline is
not part of it, so a ``msg`` that ends with one reads back without it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..config import Option, validate
from ..errors import CodecError
from .base import Codec
from .syslog_parse import FACILITIES, SEVERITIES, parse_line

__all__ = ["SyslogCodec", "SEVERITIES", "FACILITIES"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000
_SD_NAME = re.compile(r'[^\s="\]]+')


def _header_field(value: Any, key: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool) and key == "procid":
        value = str(value)
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise CodecError(f"syslog: {key!r} must be a non-empty string without spaces, got {value!r}")
    if value == "-":
        raise CodecError(f"syslog: {key!r} '-' is the NILVALUE: it would read back as absent (leave it out)")
    return value


def _encode_sd(sd: Any) -> str:
    if not isinstance(sd, Mapping):
        raise CodecError("syslog: invalid structured data: structured data not an object")
    parts = []
    for sd_id, params in sd.items():
        if not isinstance(sd_id, str) or not _SD_NAME.fullmatch(sd_id):
            raise CodecError(f"syslog: invalid structured data id {sd_id!r}")
        if not isinstance(params, (list, tuple)):
            raise CodecError(f"syslog: invalid structured data: params of {sd_id!r} not a list of objects")
        elem = ["[", sd_id]
        for kv in params:
            if not isinstance(kv, Mapping):
                raise CodecError(f"syslog: invalid structured data: param of {sd_id!r} not an object")
            for k, v in kv.items():
                if not isinstance(k, str) or not _SD_NAME.fullmatch(k) or not isinstance(v, str):
                    raise CodecError(f"syslog: invalid structured data param {k!r}={v!r} in {sd_id!r}")
                v = v.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
                elem.append(f' {k}="{v}"')
        elem.append("]")
        parts.append("".join(elem))
    return "".join(parts) or "-"


def _pri_of(value: Mapping[str, Any], required: bool) -> int:
    f, s = value.get("facility"), value.get("severity")
    if f is None or s is None:
        if required:
            raise CodecError(f"syslog: {'facility' if f is None else 'severity'} missing")
        return 13  # user.notice, RFC 3164 4.3.3
    if f not in FACILITIES:
        raise CodecError(f"syslog: invalid facility {f!r}; allowed: {', '.join(FACILITIES)}")
    if s not in SEVERITIES:
        raise CodecError(f"syslog: invalid severity {s!r}; allowed: {', '.join(SEVERITIES)}")
    return FACILITIES.index(f) * 8 + SEVERITIES.index(s)


def _datetime(ns: Any) -> tuple[datetime, int]:
    if isinstance(ns, bool) or not isinstance(ns, int):
        raise CodecError(f"syslog: 'timestamp' must be an int (ns since the epoch), got {ns!r}")
    secs, frac = divmod(ns, _NS)
    try:
        return _EPOCH + timedelta(seconds=secs), frac
    except OverflowError:
        raise CodecError(f"syslog: 'timestamp' {ns} out of range") from None


def _rfc3339(ns: Any) -> str:
    dt, frac = _datetime(ns)
    if frac == 0:
        fraction = ""
    elif frac % 1_000_000 == 0:
        fraction = f".{frac // 1_000_000:03d}"
    elif frac % 1000 == 0:
        fraction = f".{frac // 1000:06d}"
    else:
        fraction = f".{frac:09d}"
    return f"{dt.year:04d}-{dt:%m-%dT%H:%M:%S}" + fraction + "+00:00"  # (%Y: no leading zeros before 1000)


def _msg(value: Mapping[str, Any]) -> list[str]:
    msg = value.get("msg")
    if msg is None:
        return []
    if not isinstance(msg, str):
        raise CodecError(f"syslog: 'msg' must be a string, got {type(msg).__name__}")
    return [msg]


class SyslogCodec(Codec):
    """RFC 5424 / RFC 3164 syslog <-> dicts. Option ``strict`` (default ``False``)."""

    name = "syslog"
    SCHEMA = {"strict": Option(bool, False)}

    def __init__(self, **options: Any) -> None:
        self.strict: bool = validate("syslog", options, self.SCHEMA)["strict"]
        #: Nanoseconds since the epoch, for RFC 3164: the year of a decoded date
        #: and the timestamp of an encoded line without one.
        self.clock: Callable[[], int] = time.time_ns

    def _year_of(self, month: int) -> int:
        now = time.gmtime(self.clock() // _NS)
        return now.tm_year - 1 if now.tm_mon == 1 and month == 12 else now.tm_year

    def decode(self, data: bytes) -> Any:
        try:
            line = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"syslog: invalid UTF-8 at byte {exc.start}") from None
        if line.endswith("\n"):
            line = line[:-2] if line.endswith("\r\n") else line[:-1]
        if not line:
            raise CodecError("syslog: empty frame")
        try:
            value = parse_line(line, self._year_of)
        except ValueError:  # a number of thousands of digits (Python's int limit): neither format
            value = None
        if value is not None:
            return value
        if self.strict:
            raise CodecError(f"syslog: not an RFC 5424 or RFC 3164 line: {line[:60]!r}")
        return {"protocol": "RFC3164", "msg": line}

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise CodecError(f"syslog: can only encode a dict, got {type(value).__name__}")
        protocol, version = value.get("protocol"), value.get("protocol_version")
        if protocol == "RFC3164":
            return self._encode_3164(value).encode("utf-8")
        if protocol is None and version is not None:
            raise CodecError("syslog: missing protocol type")
        if protocol not in (None, "RFC5424"):
            raise CodecError(f"syslog: invalid protocol type {protocol!r}; allowed: RFC5424, RFC3164")
        if protocol == "RFC5424" and version is None:
            raise CodecError("syslog: missing protocol version")
        if version is None:
            version = 1
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
            raise CodecError(f"syslog: 'protocol_version' must be an int 1..999, got {version!r}")
        parts = [f"<{_pri_of(value, True)}>{version}"]
        ts = value.get("timestamp")
        parts.append("-" if ts is None else _rfc3339(ts))
        for key in ("hostname", "appname", "procid", "msgid"):
            parts.append(_header_field(value.get(key), key))
        sd = value.get("structured_data")
        parts.append("-" if sd is None else _encode_sd(sd))
        return " ".join(parts + _msg(value)).encode("utf-8")

    def _encode_3164(self, value: Mapping[str, Any]) -> str:
        ts = value.get("timestamp")
        dt, _ = _datetime(self.clock() if ts is None else ts)
        parts = [f"<{_pri_of(value, False)}>{_MONTHS[dt.month - 1]} {dt.day:2d} {dt:%H:%M:%S}"]
        parts.append(_header_field(value.get("hostname"), "hostname"))
        app = value.get("appname")
        if app is None:
            parts.append(":")
        else:
            app = _header_field(app, "appname")
            procid = value.get("procid")
            parts.append(f"{app}[{_header_field(procid, 'procid')}]:" if procid is not None else f"{app}:")
        sd = value.get("structured_data")
        if sd is not None:
            parts.append(_encode_sd(sd))
        return " ".join(parts + _msg(value))
