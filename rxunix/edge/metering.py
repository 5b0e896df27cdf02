"""The timer behind ``connector.metrics``: a greenlet on the connector's hub.

Every ``metrics_interval_s`` seconds it takes the connector's
:meth:`~rxunix.edge.base.Connector.metrics_snapshot` and emits the
events of :func:`rxunix.core.metrics.metric_events` on ``connector.metrics``; when
the connector stops it emits a last set (so the totals are exact) and
completes. Without an interval it emits nothing and only completes::

    >>> import rxunix, tempfile, os
    >>> d = tempfile.mkdtemp(prefix="rx-")
    >>> srv = rxunix.unix_socket_server(path=os.path.join(d, "s.sock"), metrics_interval_s=60)
    >>> seen = []
    >>> _ = srv.metrics.subscribe(lambda e: seen.append(e.value["measurement"]))
    >>> srv.start().stop()
    >>> seen[:3]
    ['connector_events', 'connector_events', 'connector_events']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent
from reactivex.subject import Subject

from ..core.event import Event
from ..core.metrics import Interval, metric_events

if TYPE_CHECKING:
    from .base import Connector

__all__ = ["Meter"]


class Meter:
    """Emits one connector's metrics (hub thread only)."""

    def __init__(self, connector: Connector, report: Callable[[BaseException], None]) -> None:
        self._c = connector
        self._report = report  # a subscriber of ``metrics`` failed
        self.interval_s: float | None = None
        self.subject: Subject[Event] = Subject()
        self._greenlet: gevent.Greenlet | None = None
        self._done = False

    def start(self) -> None:
        """Begin emitting every interval (nothing without an interval)."""
        if self.interval_s is not None and self._greenlet is None and not self._done:
            self._greenlet = self._c._spawn(self._loop, self.interval_s)

    def _loop(self, seconds: float) -> None:
        interval = Interval(seconds, time.monotonic())
        while True:
            gevent.sleep(interval.wait(time.monotonic()))
            now = time.monotonic()
            if interval.due(now):
                self.emit()
                interval.advance(now)

    def emit(self) -> None:
        """Emit one set of metrics events now."""
        c = self._c
        for value in metric_events(c.metrics_name, c.metrics_snapshot(), time.time_ns()):
            try:
                self.subject.on_next(Event(value))
            except Exception as exc:  # a subscriber failed: report, keep metering
                self._report(exc)

    def finish(self) -> None:
        """Stop the timer, emit the final totals (if metering), complete (idempotent)."""
        if self._done:
            return
        self._done = True
        g, self._greenlet = self._greenlet, None
        if g is not None:
            if g is not gevent.getcurrent():
                g.kill(block=False)
            self.emit()
        self.subject.on_completed()
