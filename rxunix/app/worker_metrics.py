"""The supervisor's side of metrics under ``rxunix run --workers N`` (see :mod:`.workers`).

Each worker (and the aggregator) hands every metrics event of its connectors
to the supervisor on its pipe to it (``m JSON`` lines, see
:mod:`.worker_process`). The supervisor, the only writer:

* ``--metrics FILE|-``: writes each worker's event as it comes, tagged
  ``worker`` and named ``FLOW/KIND@workerN`` (its totals continue across
  restarts of that worker number), and every ``--metrics-interval`` seconds,
  plus once at the end of the run, the events of every connector summed over
  the workers, named ``FLOW/KIND`` as a single process names them. Each summed
  total equals the sum of the workers' lines for that series written before
  it; the aggregator's connectors only appear summed (it is one process).
* ``--metrics-port PORT``: serves the sums and the per-worker series
  (:func:`rxunix.app.prometheus.serve_merged_prometheus`), as of the workers'
  last reports.

Example (what the supervisor does with two workers' lines)::

    >>> import io
    >>> from rxunix.core.metrics import metric_events
    >>> from .monitoring import Monitor
    >>> out = io.StringIO()
    >>> sm = SupervisorMetrics(Monitor(metrics=out, interval=5.0), log=print)
    >>> sm.begin(now=0.0)
    >>> for w, n in ((1, 3), (2, 4)):
    ...     sm.take(w, simplejson.dumps(metric_events(f"f/s@worker{w}", {"events_in": n}, 1)[0]))
    >>> sm.end()
    >>> [(v["tags"]["connector"], v["fields"]["count"]) for v in map(simplejson.loads, out.getvalue().splitlines())]
    [('f/s@worker1', 3), ('f/s@worker2', 4), ('f/s', 7)]
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import IO, Any

import simplejson

from ..core.metrics import Interval
from ..core.metrics_merge import MetricsMerge
from .monitoring import Monitor

__all__ = ["SupervisorMetrics", "MESSAGE"]

#: Prefix of a metrics line on a worker's pipe to its supervisor.
MESSAGE = "m "


class SupervisorMetrics:
    """Merges, writes and serves the metrics its workers report (supervisor thread only)."""

    def __init__(self, monitor: Monitor, log: Callable[[str], None]) -> None:
        self.monitor = monitor
        self.merge = MetricsMerge()
        #: Whether workers must report their metrics (``--metrics`` or ``--metrics-port``).
        self.wanted = monitor.metrics is not None or monitor.port is not None
        self._log = log
        self._stream: IO[str] | None = None
        self._opened: IO[str] | None = None
        self._interval: Interval | None = None
        self._http: Any = None
        self._failed = False

    def begin(self, now: float | None = None) -> None:
        """Open the metrics file and start the exposition (before any worker is forked)."""
        mon = self.monitor
        if mon.metrics is not None:
            if mon.metrics == "-":
                self._stream = sys.stdout
            elif isinstance(mon.metrics, str):
                self._stream = self._opened = open(mon.metrics, "a", encoding="utf-8")  # noqa: SIM115 - end()
            else:
                self._stream = mon.metrics
            self._interval = Interval(mon.interval, time.monotonic() if now is None else now)
        if mon.port is not None:
            from .prometheus import serve_merged_prometheus

            self._http = serve_merged_prometheus(self.merge, mon.port)
            self._log(f"metrics for Prometheus on http://127.0.0.1:{self._http.port}/metrics")

    @property
    def port(self) -> int | None:
        """The port the exposition serves on (None without ``--metrics-port``)."""
        return None if self._http is None else int(self._http.port)

    def wait(self, now: float) -> float:
        """Seconds until the summed lines are due (``inf`` when no file is written)."""
        return math.inf if self._interval is None else self._interval.wait(now)

    def tick(self, now: float) -> None:
        """Write the summed lines if they are due."""
        if self._interval is not None and self._interval.due(now):
            self._write_merged()
            self._interval.advance(now)

    def take(self, worker: int, text: str) -> None:
        """One metrics event (JSON) reported by ``worker`` (0: the aggregator)."""
        try:
            value = simplejson.loads(text)
            tagged = self.merge.add(worker, value)
        except (ValueError, KeyError, TypeError) as exc:
            reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # KeyError's str() quotes
            self._log(f"metrics: ignored a line from {'the aggregator' if worker == 0 else f'worker {worker}'}: "
                      f"{reason}")
            return
        if worker and self._stream is not None:
            self._write([tagged])

    def retire(self, worker: int) -> None:
        """``worker``'s process has ended (its last report was taken before)."""
        self.merge.retire(worker)

    def end(self) -> None:
        """Write the final sums, close the file, stop the exposition."""
        if self._stream is not None:
            self._write_merged()
        self._stream = None
        self.close_copies()

    def close_copies(self) -> None:
        """Close the file and exposition server (in the supervisor at the end, or in a forked worker)."""
        http, self._http = self._http, None
        if http is not None:
            http.close()
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()
        self._stream = None

    def _write_merged(self) -> None:
        self._write(self.merge.merged(time.time_ns()))

    def _write(self, values: list[dict[str, Any]]) -> None:
        if self._stream is None or not values:
            return
        try:
            self._stream.write("".join(simplejson.dumps(v, sort_keys=True, separators=(",", ":")) + "\n"
                                       for v in values))
            self._stream.flush()
        except (OSError, ValueError) as exc:
            if not self._failed:
                self._failed = True
                self._log(f"metrics: cannot write: {exc}")
