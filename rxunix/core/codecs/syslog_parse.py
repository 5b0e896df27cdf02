"""The syslog line parser behind the ``syslog`` codec: the grammar of Tremor's parser.

Tremor decodes syslog with the ``syslog_loose`` crate; this module follows the
same grammar, so the same real-world lines come out with the same fields:

* leading whitespace is skipped; RFC 5424 is tried first, then RFC 3164;
* ``<PRI>`` is optional in both (a line without it has no facility/severity);
* RFC 3164 timestamps are ``Mmm d hh:mm:ss`` (day padded with any number of
  spaces, month in any case), ``Mmm d yyyy hh:mm:ss`` or RFC 3339;
* RFC 3164 hostname and tag (``app[pid]``) are both optional, and structured
  data after the tag (rsyslog's ``[origin software="..."]``) is parsed;
* RFC 5424 structured data allows spaces after ``=`` and drops a malformed
  element up to its ``]``; the message may follow it without a space.

:func:`parse_line` returns ``None`` when neither format matches.

    >>> v = parse_line('<46>Jan  5 15:33:03 host rsyslogd: [origin software="rsyslogd"] start', 2024)
    >>> v["hostname"], v["appname"], v["structured_data"], v["msg"]
    ('host', 'rsyslogd', {'origin': [{'software': 'rsyslogd'}]}, 'start')
    >>> parse_line("just text", 2024) is None
    True

Beyond ``syslog_loose``, so that every RFC 5424 value round-trips: a ``-``
timestamp (the NILVALUE) is accepted; header fields ending in ``:`` are kept
whole; the message keeps its whitespace (only the one space after the
structured data separates it; ``syslog_loose`` trims the line and every space
before the message); structured-data values are unescaped (``\\"``,
``\\\\``, ``\\]``). And in RFC 3164 a message starting with ``-`` keeps it
(``syslog_loose`` takes it for empty structured data and drops it).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["parse_line", "SEVERITIES", "FACILITIES", "ts_3339"]

SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clockd",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NS = 1_000_000_000
_U32 = 2**32 - 1

_PRI = re.compile(r"<([0-9]+)>")
_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r"[ \t]*")
_TS_3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_NO_YEAR = re.compile(r"([A-Za-z]{3})[ \t]+([0-9]+)[ \t]+([0-9]+):([0-9]+):([0-9]+):?")
_WITH_YEAR = re.compile(r"([A-Za-z]{3})[ \t]+([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+):([0-9]+):([0-9]+):?")
_SYSTAG = re.compile(r"([^\s:\[]*)\[([^\]]+)\]")
_SD_UNESCAPE = re.compile(r'\\(["\\\]])')

#: A year resolver: month (1-12) -> year, for RFC 3164 dates that carry none.
YearOf = Callable[[int], int]


class _Fail(Exception):
    """This format does not match."""


def _nanos(y: int, mo: int, d: int, hh: int, mi: int, ss: int, frac_ns: int, offset_s: int) -> int:
    try:
        datetime(y, mo, d, hh, mi, ss)  # validates ranges
    except (ValueError, OverflowError):
        raise _Fail(f"bad date {y}-{mo}-{d} {hh}:{mi}:{ss}") from None
    return (calendar.timegm((y, mo, d, hh, mi, ss)) - offset_s) * _NS + frac_ns


def ts_3339(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp; ``ValueError`` if it is not one."""
    m = _TS_3339.fullmatch(text)
    if m is None:
        raise ValueError(f"bad timestamp {text!r}")
    y, mo, d, hh, mi, ss, frac, _z, sign, oh, om = m.groups()
    frac_ns = int((frac or "0").ljust(9, "0"))
    offset = 0 if sign is None else (1 if sign == "+" else -1) * (int(oh) * 3600 + int(om) * 60)
    try:
        return _nanos(int(y), int(mo), int(d), int(hh), int(mi), int(ss), frac_ns, offset)
    except _Fail as exc:
        raise ValueError(str(exc)) from None


class _Line:
    """A cursor over one trimmed line, with the grammar's small parsers."""

    __slots__ = ("s", "i")

    def __init__(self, s: str) -> None:
        self.s, self.i = s, 0

    def spaces(self, at_least_one: bool = False) -> None:
        m = _SPACES.match(self.s, self.i)
        assert m is not None  # matches the empty string
        if at_least_one and m.end() == self.i:
            raise _Fail("expected a space")
        self.i = m.end()

    def lit(self, text: str) -> bool:
        if self.s.startswith(text, self.i):
            self.i += len(text)
            return True
        return False

    def pri(self, out: dict[str, Any]) -> None:
        m = _PRI.match(self.s, self.i)
        if m is None or int(m.group(1)) > 255:
            return  # optional: nothing consumed
        pri = int(m.group(1))
        if pri >> 3 < len(FACILITIES):
            out["facility"] = FACILITIES[pri >> 3]
        out["severity"] = SEVERITIES[pri & 7]
        self.i = m.end()

    def word(self) -> str:
        """Up to the next space (take_until): the space must exist."""
        j = self.s.find(" ", self.i)
        if j < 0:
            raise _Fail("expected a space")
        text, self.i = self.s[self.i : j], j
        return text

    def field(self, colons: bool, split_colon: bool = True) -> str | None:
        """A header field up to whitespace (or ``:`` unless ``colons``); ``-`` is empty.

        With ``split_colon`` (RFC 3164), a trailing ``:`` is left in the line as
        the header/message separator; RFC 5424 fields keep it.
        """
        s, i = self.s, self.i
        j = i
        while j < len(s) and not s[j].isspace() and (colons or s[j] != ":"):
            j += 1
        value = s[i:j]
        if not value or (split_colon and value == ":"):
            raise _Fail("expected a header field")
        if split_colon and value.endswith(":"):
            self.i = j - 1
            return value[:-1]
        self.i = j
        return None if value == "-" else value


def _param_value(ln: _Line) -> str:
    s, i = ln.s, ln.i
    if not s.startswith('"', i):
        raise _Fail("expected a quoted value")
    j = i + 1
    while j < len(s) and s[j] != '"':
        j += 2 if s[j] == "\\" else 1
    if j >= len(s):
        raise _Fail("unterminated value")
    ln.i = j + 1
    return _SD_UNESCAPE.sub(r"\1", s[i + 1 : j])


def _param(ln: _Line) -> tuple[str, str]:
    s, start = ln.s, ln.i
    j = start
    while j < len(s) and s[j] not in "]=":
        j += 1
    if j == start or not s.startswith("=", j):
        raise _Fail("expected name=")
    ln.i = j + 1
    ln.spaces()
    return s[start:j], _param_value(ln)


def _params(ln: _Line) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    while True:
        back = ln.i
        try:
            if out and not ln.lit(" "):
                raise _Fail("no separator")
            name, value = _param(ln)
        except _Fail:
            ln.i = back
            return out
        out.append({name: value})


def _element(ln: _Line, permissive: bool) -> tuple[str, list[dict[str, str]]] | None:
    """One ``[id name="value" ...]``; a malformed one is skipped (``None``) if ``permissive``."""
    s, start = ln.s, ln.i
    if not ln.lit("["):
        raise _Fail("expected '['")
    j = ln.i
    while j < len(s) and not s[j].isspace() and s[j] not in "]=":
        j += 1
    if j > ln.i:
        sd_id, ln.i = s[ln.i : j], j
        ln.spaces()
        params = _params(ln)
        if ln.lit("]"):
            return sd_id, params
    if not permissive:
        ln.i = start
        raise _Fail("malformed structured data")
    close = s.find("]", start + 1)
    if close < 0:
        ln.i = start
        raise _Fail("unterminated structured data")
    ln.i = close + 1
    return None


def _structured_data(ln: _Line, permissive: bool) -> dict[str, list[dict[str, str]]]:
    """One or more elements (at least one must parse in form)."""
    out: dict[str, list[dict[str, str]]] = {}
    first = _element(ln, permissive)
    elements = [first]
    while ln.s.startswith("[", ln.i):
        back = ln.i
        try:
            elements.append(_element(ln, permissive))
        except _Fail:
            ln.i = back
            break
    for elem in elements:
        if elem is not None:
            out[elem[0]] = elem[1]
    return out


def _header_5424(ln: _Line, out: dict[str, Any]) -> None:
    ln.pri(out)
    m = _DIGITS.match(ln.s, ln.i)
    if m is None or int(m.group(0)) > _U32:
        raise _Fail("expected a version")
    version, ln.i = int(m.group(0)), m.end()
    ln.spaces(True)
    ts = ln.word()
    if ts != "-":
        try:
            out["timestamp"] = ts_3339(ts)
        except ValueError as exc:
            raise _Fail(str(exc)) from None
    for key in ("hostname", "appname", "procid", "msgid"):
        ln.spaces(True)
        value = ln.field(colons=True, split_colon=False)
        if value is not None:
            out[key] = value
    out["protocol"], out["protocol_version"] = "RFC5424", version


def _parse_5424(s: str) -> dict[str, Any]:
    ln = _Line(s)
    out: dict[str, Any] = {}
    _header_5424(ln, out)
    ln.spaces()
    if not ln.lit("-"):
        sd = _structured_data(ln, permissive=True)
        if sd:
            out["structured_data"] = sd
    # RFC 5424: one space before the message (which keeps any further ones); a line
    # that ends with that space has an empty message
    if ln.lit(" ") or ln.i < len(s):
        out["msg"] = s[ln.i :]
    return out


def _ts_3164(ln: _Line, year_of: YearOf) -> int:
    s, i = ln.s, ln.i
    m = _NO_YEAR.match(s, i)
    if m is not None and m.group(1).lower() in _MONTHS:
        mon = _MONTHS.index(m.group(1).lower()) + 1
        d, hh, mi, ss = (int(g) for g in m.group(2, 3, 4, 5))
        try:
            ns = _nanos(year_of(mon), mon, d, hh, mi, ss, 0, 0)
            ln.i = m.end()
            return ns
        except _Fail:
            pass
    m = _WITH_YEAR.match(s, i)
    if m is not None and m.group(1).lower() in _MONTHS:
        mon = _MONTHS.index(m.group(1).lower()) + 1
        d, y, hh, mi, ss = (int(g) for g in m.group(2, 3, 4, 5, 6))
        try:
            ns = _nanos(y, mon, d, hh, mi, ss, 0, 0)
            ln.i = m.end()
            return ns
        except _Fail:
            pass
    try:
        return ts_3339(ln.word())
    except ValueError as exc:
        ln.i = i
        raise _Fail(str(exc)) from None


def _opt_field(ln: _Line, colons: bool) -> tuple[bool, str | None]:
    """``opt(preceded(" ", field))``: (present, value)."""
    back = ln.i
    if ln.lit(" "):
        try:
            return True, ln.field(colons)
        except _Fail:
            pass
    ln.i = back
    return False, None


def _host_and_tag(
    f1: tuple[bool, str | None], f2: tuple[bool, str | None]
) -> tuple[str | None, str | None, str | None]:
    """(hostname, appname, procid) from the one or two header words, as syslog_loose resolves them."""
    if f1[0] and f2[0] and f2[1] is not None:
        m = _SYSTAG.fullmatch(f2[1])
        return (f1[1], m.group(1), m.group(2)) if m else (f1[1], f2[1], None)
    only = f1 if f1[0] and not f2[0] else f2 if f2[0] and not f1[0] else (False, None)
    if only[1] is not None:
        m = _SYSTAG.fullmatch(only[1])
        return (None, m.group(1), m.group(2)) if m else (only[1], None, None)
    return None, None, None


def _parse_3164(s: str, year_of: YearOf) -> dict[str, Any]:
    ln = _Line(s)
    out: dict[str, Any] = {}
    ln.pri(out)
    ln.spaces()
    out["timestamp"] = _ts_3164(ln, year_of)
    out["protocol"] = "RFC3164"
    f1 = _opt_field(ln, colons=True)
    f2 = _opt_field(ln, colons=False)
    for key, value in zip(("hostname", "appname", "procid"), _host_and_tag(f1, f2), strict=True):
        if value:
            out[key] = value
    ln.spaces()
    ln.lit(":")
    ln.spaces()
    if ln.s.startswith("[", ln.i):
        try:
            sd = _structured_data(ln, permissive=False)
            if sd:
                out["structured_data"] = sd
        except _Fail:
            pass
    ln.spaces()
    if ln.i < len(s):
        out["msg"] = s[ln.i :]
    return out


def parse_line(line: str, year_of: YearOf | int) -> dict[str, Any] | None:
    """Decode one syslog line into Tremor's fields, or ``None`` if it is neither format.

    ``year_of`` gives the year of an RFC 3164 date (which has none) from its
    month, or is a fixed year.
    """
    resolve: YearOf = (lambda _m: year_of) if isinstance(year_of, int) else year_of
    s = line.lstrip()
    try:
        return _parse_5424(s)
    except _Fail:
        pass
    try:
        return _parse_3164(s, resolve)
    except _Fail:
        return None
