"""Metrics events in Tremor's shape, from counter snapshots (pure: no I/O, no clock).

A connector with ``metrics_interval_s`` emits, every interval, one event per
measurement on ``connector.metrics`` (see :mod:`rxunix.edge.metering`),
each shaped like Tremor's connector metrics::

    {"measurement": "connector_events",
     "tags": {"connector": "relay/server", "port": "out"},
     "fields": {"count": 10000},
     "timestamp": 1764263000000000000}

As in Tremor, ``count`` is the total since the connector was created (a
counter never decreases), so the last event of a run holds the exact total and
:func:`increments` turns a series back into per-interval amounts. Gauges (what
is true now: open connections, pending bytes) have ``fields: {"value": N}``,
paused time ``fields: {"seconds": S}`` (total). The measurements:

==============================  ======================================  ==========
measurement                     tags (besides ``connector``)            field
==============================  ======================================  ==========
``connector_events``            ``port``: ``in``, ``out``, ``err``      ``count``
``connector_bytes``             ``direction``: ``read``, ``written``    ``count``
``connector_connections``       ``event``: ``opened``, ``closed``       ``count``
``connector_connections_open``                                          ``value``
``connector_pending_bytes``     (server: unsent reply bytes)            ``value``
``connector_held_events``       (client: events not yet written)        ``value``
``connector_reconnects``        (client: waits before a retry)          ``count``
``connector_paused``            (sources: time paused by flow control)  ``seconds``
==============================  ======================================  ==========

A connector reports the keys of :data:`MEASUREMENTS` it knows in a *snapshot*
(a plain mapping); :func:`metric_events` turns one into events::

    >>> [m["tags"]["port"] for m in metric_events("srv", {"events_in": 1, "events_out": 5}, 7)]
    ['in', 'out']
    >>> metric_events("srv", {"events_out": 5}, 7)[0]
    {'measurement': 'connector_events', 'tags': {'connector': 'srv', 'port': 'out'}, \
'fields': {'count': 5}, 'timestamp': 7}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MEASUREMENTS",
    "Measurement",
    "Interval",
    "metric",
    "metric_events",
    "increments",
    "progress_line",
]


@dataclass(frozen=True)
class Measurement:
    """How one snapshot key is reported: measurement name, extra tags, field name."""

    key: str
    measurement: str
    tags: tuple[tuple[str, str], ...]
    field: str  # "count" (total), "value" (gauge) or "seconds" (total)
    help: str

    @property
    def cumulative(self) -> bool:
        """True for totals that never decrease (``count``, ``seconds``)."""
        return self.field != "value"


def _m(key: str, measurement: str, field: str, help: str, **tags: str) -> Measurement:
    return Measurement(key, measurement, tuple(tags.items()), field, help)


#: Every snapshot key a connector may report, in emission order.
MEASUREMENTS: Final[tuple[Measurement, ...]] = (
    _m("events_in", "connector_events", "count", "events received on in_", port="in"),
    _m("events_out", "connector_events", "count", "events emitted on out", port="out"),
    _m("events_err", "connector_events", "count", "error events emitted on err", port="err"),
    _m("bytes_read", "connector_bytes", "count", "bytes read from sockets or files", direction="read"),
    _m("bytes_written", "connector_bytes", "count", "bytes written to sockets", direction="written"),
    _m("connections_opened", "connector_connections", "count", "connections accepted or made", event="opened"),
    _m("connections_closed", "connector_connections", "count", "connections closed or lost", event="closed"),
    _m("connections_open", "connector_connections_open", "value", "connections open now"),
    _m("pending_bytes", "connector_pending_bytes", "value", "reply bytes queued, not yet written"),
    _m("held_events", "connector_held_events", "value", "events held, not yet written"),
    _m("reconnects", "connector_reconnects", "count", "waits before a reconnect attempt"),
    _m("paused_s", "connector_paused", "seconds", "seconds paused by flow control"),
)
_BY_KEY: Final = {m.key: m for m in MEASUREMENTS}


def metric(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any], timestamp: int) -> dict[str, Any]:
    """One metrics event value in Tremor's shape (``timestamp`` in nanoseconds)."""
    return {"measurement": measurement, "tags": dict(tags), "fields": dict(fields), "timestamp": timestamp}


def metric_events(connector: str, snapshot: Mapping[str, float], timestamp: int) -> list[dict[str, Any]]:
    """The metrics event values for one ``snapshot`` of connector ``connector``.

    Keys of ``snapshot`` not in :data:`MEASUREMENTS` raise ``KeyError`` (a
    connector reporting something nobody documented is a bug).
    """
    for key in snapshot:
        if key not in _BY_KEY:
            raise KeyError(f"unknown metrics key {key!r}")
    out = []
    for m in MEASUREMENTS:
        if m.key in snapshot:
            value = snapshot[m.key]
            if m.field == "seconds":
                value = round(float(value), 6)
            out.append(metric(m.measurement, {"connector": connector, **dict(m.tags)}, {m.field: value}, timestamp))
    return out


def _series_key(event: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, str], ...], str]:
    fields = event["fields"]
    (field,) = fields
    return event["measurement"], tuple(sorted(event["tags"].items())), field


def increments(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per-interval amounts of cumulative metrics events (gauges are left out).

    Each series (measurement + tags) starts from 0, so the increments of a
    series sum to its last total::

        >>> evs = [metric("connector_events", {"connector": "c", "port": "out"}, {"count": n}, t)
        ...        for t, n in enumerate([3, 3, 10])]
        >>> [e["fields"]["count"] for e in increments(evs)]
        [3, 0, 7]
    """
    last: dict[tuple[str, tuple[tuple[str, str], ...], str], float] = {}
    out = []
    for ev in events:
        key = _series_key(ev)
        if key[2] == "value":
            continue
        total = ev["fields"][key[2]]
        step = total - last.get(key, 0)
        last[key] = total
        out.append(metric(ev["measurement"], ev["tags"], {key[2]: step}, ev["timestamp"]))
    return out


#: The shortest metrics interval (seconds): a tick every millisecond at most.
MIN_INTERVAL = 0.001


class Interval:
    """When the next metrics event is due; time is passed in (seconds, monotonic).

    Ticks that were missed (the hub was busy) are skipped, not caught up in a burst::

        >>> iv = Interval(1.0, start=10.0)
        >>> iv.wait(10.2), iv.due(10.2), iv.due(11.0)
        (0.8, False, True)
        >>> iv.advance(13.5); iv.wait(13.5)
        0.5
    """

    def __init__(self, seconds: float, start: float) -> None:
        if not MIN_INTERVAL <= seconds < math.inf:
            raise ValueError(f"metrics interval must be at least {MIN_INTERVAL} seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self.next_at = start + self.seconds

    def due(self, now: float) -> bool:
        """True once the next tick's time has come."""
        return now >= self.next_at

    def wait(self, now: float) -> float:
        """Seconds until the next tick (0 if due)."""
        return max(0.0, round(self.next_at - now, 9))

    def advance(self, now: float) -> None:
        """A tick was emitted at ``now``: schedule the next one after ``now``."""
        if self.next_at <= now:  # (the ticks missed are skipped in one step)
            self.next_at += (math.floor((now - self.next_at) / self.seconds) + 1) * self.seconds
            if self.next_at <= now:  # (float rounding)
                self.next_at = now + self.seconds


def _count(value: float) -> str:
    if value >= 10_000_000:
        return f"{value / 1_000_000:.0f}M"
    if value >= 100_000:
        return f"{value / 1000:.0f}k"
    return f"{value:g}"


def progress_line(elapsed: float, rows: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """One line summarising connector snapshots, e.g. for a terminal every few seconds::

        >>> progress_line(12.34, [("srv", {"events_in": 0, "events_out": 12000, "events_err": 1,
        ...                                "connections_open": 4, "paused_s": 0.5}),
        ...                       ("cli", {"events_in": 12000, "held_events": 3})])
        '12.3s | srv out=12000 err=1 conns=4 paused=0.5s | cli in=12000 held=3'
    """
    parts = [f"{elapsed:.1f}s"]
    short = {"events_in": "in", "events_out": "out", "events_err": "err", "connections_open": "conns",
             "held_events": "held", "pending_bytes": "pending"}
    for name, snap in rows:
        bits = [f"{label}={_count(snap[key])}" for key, label in short.items() if snap.get(key)]
        paused = snap.get("paused_s", 0.0)
        if paused:
            bits.append(f"paused={paused:.1f}s")
        parts.append(" ".join([name, *bits]) if bits else f"{name} idle")
    return " | ".join(parts)
