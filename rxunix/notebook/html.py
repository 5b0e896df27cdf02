"""HTML and text rendering of events, event lists and connectors for notebooks."""


from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.display import register_html
from ..core.event import ErrorEvent, Event
from ..core.origin import CLIENT, SERVER, origin_records
from ..edge.base import Connector

_CSS = "font-family:monospace;font-size:12px;border-collapse:collapse"
_TD = "padding:1px 6px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


# ---- text and HTML ---------------------------------------------------------------


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def value_text(value: Any, limit: int = 200) -> str:
    """A short one-line text of a value (JSON where possible), cut at ``limit`` chars.

    >>> value_text({"a": [1, 2]}), value_text(b"raw"), value_text([1] * 9, limit=8)
    ('{"a": [1, 2]}', "b'raw'", '[1, 1, …')
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = repr(bytes(value))
    else:
        try:
            text = json.dumps(_plain(value), ensure_ascii=False, default=repr)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def origin_text(meta: Mapping[str, Any]) -> str:
    """Where an event came from, for people: server path/peer(s)/pid, or client socket.

    >>> origin_text({"unix_socket_client": {"peer": "/tmp/s"}})
    'client of /tmp/s'
    >>> origin_text({"unix_socket_server": [{"path": "/s", "peer": 1}, {"path": "/s", "peer": 2}]})
    'server /s peers 1, 2'
    >>> origin_text({})
    ''
    """
    parts: list[str] = []
    recs = origin_records(meta, SERVER)
    if recs:
        paths = sorted({str(r.get("path")) for r in recs})
        peers = ", ".join(str(r.get("peer")) for r in recs)
        text = f"server {', '.join(paths)} peer{'s' if len(recs) > 1 else ''} {peers}"
        if len(recs) == 1 and recs[0].get("pid") is not None:
            text += f" (pid {recs[0]['pid']})"
        parts.append(text)
    crecs = origin_records(meta, CLIENT)
    if crecs:
        parts.append("client of " + ", ".join(sorted({str(r.get("peer")) for r in crecs})))
    return "; ".join(parts)


def _other_meta(meta: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in meta.items() if k not in (SERVER, CLIENT)}
    return value_text(rest, 120) if rest else ""


def event_html(event: Event) -> str:
    """One event as a small HTML table: value, origin, other metadata (errors in red)."""
    if isinstance(event, ErrorEvent):
        v = event.value if isinstance(event.value, Mapping) else {"error": event.value}
        head = (
            f"<b style='color:#b00'>error</b> {html.escape(str(v.get('action', '')))} "
            f"in {html.escape(str(v.get('connector', '')))}: {html.escape(str(v.get('error', '')))}"
        )
        rows = [("stream", value_text(v.get("stream")))]
    else:
        head = "<b>event</b>"
        rows = [("value", value_text(event.value, 500))]
    origin = origin_text(event.meta)
    if origin:
        rows.append(("origin", origin))
    other = _other_meta(event.meta)
    if other:
        rows.append(("meta", other))
    body = "".join(
        f"<tr><th style='{_TD}'>{html.escape(k)}</th><td style='{_TD}'>{html.escape(t)}</td></tr>"
        for k, t in rows
    )
    return f"<div>{head}<table style='{_CSS}'>{body}</table></div>"


def events_html(events: Sequence[Event], limit: int = 50, times: Sequence[float] | None = None) -> str:
    """A list of events as an HTML table (the last ``limit`` rows; a note says how many are hidden).

    ``times`` (seconds, same length as ``events``) adds a time column.
    """
    n = len(events)
    start = max(0, n - limit)
    head = ["#"] + (["t (s)"] if times is not None else []) + ["value", "origin", "meta"]
    rows = []
    for i in range(start, n):
        ev = events[i]
        value = value_text(ev.value)
        style = _TD + (";color:#b00" if isinstance(ev, ErrorEvent) else "")
        cells = [str(i)] + ([f"{times[i]:.3f}"] if times is not None else [])
        cells += [value, origin_text(ev.meta), _other_meta(ev.meta)]
        rows.append("<tr>" + "".join(f"<td style='{style}'>{html.escape(c)}</td>" for c in cells) + "</tr>")
    note = f"<div><i>{start} earlier event(s) not shown</i></div>" if start else ""
    th = "".join(f"<th style='{_TD}'>{h}</th>" for h in head)
    return (
        f"<div><b>{n} event{'s' if n != 1 else ''}</b>{note}"
        f"<table style='{_CSS}'><tr>{th}</tr>{''.join(rows)}</table></div>"
    )


def connector_html(connector: Connector) -> str:
    """A connector as HTML: kind, state, socket path, live peers/connection and counters."""
    c: Any = connector
    facts: list[tuple[str, str]] = [("state", str(c.state))]
    path = getattr(c, "path", None)
    if path is not None:
        facts.append(("path", str(path)))
    for attr in ("peers", "connected", "held"):
        try:
            val = getattr(c, attr)
        except Exception:  # a property that cannot be read right now
            continue
        facts.append((attr, value_text(val)))
    facts += [(k, str(v)) for k, v in sorted(c.stats.items())]
    body = "".join(
        f"<tr><th style='{_TD}'>{html.escape(k)}</th><td style='{_TD}'>{html.escape(v)}</td></tr>"
        for k, v in facts
    )
    return (
        f"<div><b>{html.escape(type(c).__name__)}</b> <code>{html.escape(str(c.kind))}</code>"
        f"<table style='{_CSS}'>{body}</table></div>"
    )


def pretty(obj: Event | Sequence[Event], p: Any, cycle: bool) -> None:
    """``_repr_pretty_`` body for events and lists of events (plain-text front ends)."""
    if cycle:
        p.text("...")
    elif isinstance(obj, Event):
        p.text(repr(obj))
    else:
        p.text(f"{len(obj)} events")
        for i, ev in enumerate(obj):
            p.break_()
            p.text(f"{i}: {value_text(ev.value)}  [{origin_text(ev.meta)}]")


class EventList(list[Event]):
    """A list of events that renders as a table in notebooks."""

    def _repr_html_(self) -> str:
        return events_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        pretty(self, p, cycle)


# ---- collecting from the hub thread --------------------------------------------------




register_html(Event, event_html)
register_html(Connector, connector_html)
