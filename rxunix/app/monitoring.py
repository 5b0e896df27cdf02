"""What ``rxunix run`` does with metrics: JSON lines, a progress line, Prometheus.

* :class:`MetricsWriter` writes every metrics event (:mod:`rxunix.core.metrics`)
  as one sorted, minified JSON line (``rxunix run --metrics FILE|-``).
* :class:`Progress` prints :func:`rxunix.core.metrics.progress_line` every few
  seconds (``--progress``; by default only when stderr is a terminal).
* :func:`serve_prometheus` (``--metrics-port PORT``, the ``metrics`` extra)
  lives in :mod:`rxunix.app.prometheus`.

Example::

    >>> import io
    >>> out = io.StringIO()
    >>> MetricsWriter(out).on_next(Event({"measurement": "m", "tags": {}, "fields": {"count": 1},
    ...                                   "timestamp": 5}))
    >>> out.getvalue()
    '{"fields":{"count":1},"measurement":"m","tags":{},"timestamp":5}\\n'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import gevent
import simplejson
from reactivex import abc

from ..core.event import Event
from ..core.metrics import progress_line
from ..edge.base import Connector

__all__ = ["Monitor", "MetricsWriter", "Progress", "wants_progress"]


class MetricsWriter(abc.ObserverBase[Event]):
    """Writes each metrics event's value as one JSON line to ``stream`` (flushed)."""

    def __init__(self, stream: IO[str], on_failure: Callable[[BaseException], None] | None = None) -> None:
        self.stream = stream
        self.lines = 0
        self._failed = on_failure

    def on_next(self, value: Event) -> None:
        try:
            self.stream.write(simplejson.dumps(value.value, sort_keys=True, separators=(",", ":")) + "\n")
            self.stream.flush()
            self.lines += 1
        except (OSError, ValueError) as exc:
            if self._failed is not None:
                self._failed(exc)

    def on_error(self, error: Exception) -> None:
        pass

    def on_completed(self) -> None:
        pass


def wants_progress(force: bool, quiet: bool, stream: Any = None) -> bool:
    """Progress lines: never with ``quiet``, always with ``force``, else when
    ``stream`` (default stderr) is a terminal."""
    if quiet:
        return False
    if force:
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Logs one line about ``connectors`` every ``every`` seconds (a greenlet)."""

    def __init__(self, rows: Callable[[], Sequence[tuple[str, Connector]]], log: Callable[[str], None],
                 every: float = 2.0) -> None:
        self._rows = rows
        self._log = log
        self.every = every
        self._greenlet: gevent.Greenlet | None = None
        self.started = time.monotonic()

    def start(self) -> None:
        self.started = time.monotonic()
        self._greenlet = gevent.spawn(self._loop)

    def line(self) -> str:
        """The current progress line."""
        rows = [(name, c.metrics_snapshot()) for name, c in self._rows()]
        return progress_line(time.monotonic() - self.started, rows)

    def _loop(self) -> None:
        while True:
            gevent.sleep(self.every)
            self._log(self.line())

    def stop(self) -> None:
        g, self._greenlet = self._greenlet, None
        if g is not None:
            g.kill(block=False)


#: error events logged per connector whose ``err`` nobody subscribed; the rest are counted
UNHEARD_LOGGED = 20


def log_unheard_errors(entries: Sequence[Any], log: Callable[[str], None]) -> None:
    """Log the error events of each connector whose ``err`` has no subscriber when a run
    begins (the first :data:`UNHEARD_LOGGED`, then that the rest are counted in the
    summary's ``errors=``): without a subscriber they would be a count and nothing more.
    ``entries``: the runner's (``.name``, ``.connector``)."""
    for entry in entries:
        err = entry.connector.err
        if getattr(err, "observers", True):  # someone listens (or not a subject): theirs
            continue
        seen = [0]

        def heard(event: Event, name: str = entry.name, seen: list[int] = seen) -> None:
            seen[0] += 1
            if seen[0] <= UNHEARD_LOGGED:
                value = event.value if isinstance(event.value, dict) else {"error": event.value}
                log(f"{name}: error ({value.get('action', '?')}): {value.get('error')}")
            if seen[0] == UNHEARD_LOGGED:
                log(f"{name}: further error events are only counted (errors= in the summary)")

        err.subscribe(heard)


@dataclass
class Monitor:
    """What a run does with metrics (``rxunix run --metrics/--metrics-port/--progress``).

    ``metrics``: a file name (appended to; ``"-"``: stdout) or a text stream
    receiving every connector's metrics events as JSON lines; connectors without their own ``metrics_interval_s`` get
    ``interval`` seconds. ``port``: serve Prometheus on ``127.0.0.1:port``.
    ``progress``: seconds between progress lines on the runner's log (None: none).
    ``forward``: called with the value of every connector's metrics event
    instead of writing them (a worker of ``rxunix run --workers`` hands them to
    its supervisor, which writes and serves them).
    """

    metrics: str | IO[str] | None = None
    interval: float = 5.0
    port: int | None = None
    progress: float | None = None
    forward: Callable[[dict[str, Any]], None] | None = None
    _progress: Any = None
    _http: Any = None
    _opened: IO[str] | None = None

    def begin(self, runner: Any) -> None:
        """Wire metrics and start the exposition and progress (before connectors start)."""
        writer: Any = None
        if self.forward is not None:
            forward = self.forward

            def writer(event: Event) -> None:
                forward(event.value)
        elif self.metrics is not None:
            stream = self.metrics
            if stream == "-":
                stream = sys.stdout
            elif isinstance(stream, str):
                stream = self._opened = open(stream, "a", encoding="utf-8")  # noqa: SIM115 - closed by end()
            writer = MetricsWriter(stream, lambda exc: runner.log(f"metrics: cannot write: {exc}"))
        if writer is not None:
            for e in runner.entries:
                c = e.connector
                if c.state == "new" and c.metrics_interval_s is None:
                    c.metrics_interval_s = self.interval
                c.metrics.subscribe(writer)
        if self.port is not None:
            from .prometheus import serve_prometheus

            self._http = serve_prometheus(lambda: [e.connector for e in runner.entries], self.port,
                                          runtime=runner.runtime)
            runner.log(f"metrics for Prometheus on http://127.0.0.1:{self._http.port}/metrics")
        if self.progress is not None:
            self._progress = Progress(lambda: [(e.name, e.connector) for e in runner.entries],
                                      runner.log, self.progress)
            self._progress.start()

    def end(self) -> None:
        """Stop the progress line and the exposition server."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._opened is not None:
            self._opened.close()
            self._opened = None
