"""The metrics events of several worker processes, summed per connector (pure: no I/O, no clock).

Under ``rxunix run --workers N`` every worker reports the metrics events of
its connectors (named ``FLOW/KIND@workerN``) to the supervisor, which feeds
them to a :class:`MetricsMerge`. The merge keeps, per worker number, the last
reported value of each series and answers two things:

* :meth:`MetricsMerge.add` returns the worker's event to write, with tag
  ``worker`` added. Its totals (``count``, ``seconds``) are those of the worker
  *number*: when a worker dies (:meth:`MetricsMerge.retire`) the totals its
  process reported last are kept, and its successor's totals are added to
  them, so a worker's series never decreases and nothing it reported is
  counted twice; its gauges are 0 until the successor reports.
* :meth:`MetricsMerge.merged` returns the events of every connector summed
  over the workers, named ``FLOW/KIND`` as in a single process: each total is
  the exact sum of the workers' totals last returned by :meth:`add`, and each
  gauge (``value``) the sum over the live workers.

Example::

    >>> merge = MetricsMerge()
    >>> for w, n in ((1, 3), (2, 4)):
    ...     ev = metric_events(f"flow/server@worker{w}", {"events_out": n}, 5)[0]
    ...     merge.add(w, ev)["tags"]
    {'connector': 'flow/server@worker1', 'port': 'out', 'worker': '1'}
    {'connector': 'flow/server@worker2', 'port': 'out', 'worker': '2'}
    >>> merge.merged(9)
    [{'measurement': 'connector_events', 'tags': {'connector': 'flow/server', 'port': 'out'}, \
'fields': {'count': 7}, 'timestamp': 9}]
    >>> merge.retire(1)   # worker 1 died; its successor starts counting from 0
    >>> merge.add(1, metric_events("flow/server@worker1", {"events_out": 2}, 10)[0])["fields"]
    {'count': 5}
    >>> merge.totals()["flow/server"]
    {'events_out': 9}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .metrics import MEASUREMENTS, Measurement, metric_events

__all__ = ["MetricsMerge", "base_name", "measurement_of"]

_BY_SERIES: Final = {(m.measurement, m.tags, m.field): m for m in MEASUREMENTS}


def base_name(connector: str, worker: int) -> str:
    """``connector`` without the ``@workerN`` suffix of worker ``worker``.

    >>> base_name("flow/server@worker3", 3), base_name("flow/link", 3)
    ('flow/server', 'flow/link')
    """
    suffix = f"@worker{worker}"
    return connector[: -len(suffix)] if connector.endswith(suffix) else connector


def measurement_of(event: Mapping[str, Any]) -> Measurement:
    """The :data:`~rxunix.core.metrics.MEASUREMENTS` entry of a metrics event; ``KeyError`` if none.

    >>> measurement_of(metric_events("c", {"bytes_read": 1}, 0)[0]).key
    'bytes_read'
    """
    tags = tuple((k, v) for k, v in event["tags"].items() if k not in ("connector", "worker"))
    (field,) = event["fields"]
    try:
        return _BY_SERIES[(event["measurement"], tags, field)]
    except KeyError:
        raise KeyError(f"not a connector metrics event: {dict(event)!r}") from None


class MetricsMerge:
    """Per-worker and summed connector metrics (see the module docs). Not thread-safe."""

    def __init__(self) -> None:
        #: worker -> connector -> snapshot key -> last value reported by the worker's current process
        self._current: dict[int, dict[str, dict[str, float]]] = {}
        #: worker -> connector -> snapshot key -> totals of the worker's earlier (dead) processes
        self._retired: dict[int, dict[str, dict[str, float]]] = {}
        self._connectors: dict[str, None] = {}  # in the order first seen

    def add(self, worker: int, event: Mapping[str, Any]) -> dict[str, Any]:
        """Record one metrics event of ``worker``; the event to write for that worker.

        ``KeyError`` for an event that is not a connector metrics event.
        """
        m = measurement_of(event)
        connector = base_name(str(event["tags"]["connector"]), worker)
        value = event["fields"][m.field]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise KeyError(f"not a number in metrics event: {dict(event)!r}")
        self._connectors.setdefault(connector, None)
        self._current.setdefault(worker, {}).setdefault(connector, {})[m.key] = value
        shown = self._worker_value(worker, connector, m)
        out = metric_events(f"{connector}@worker{worker}", {m.key: shown}, int(event["timestamp"]))[0]
        out["tags"]["worker"] = str(worker)
        return out

    def retire(self, worker: int) -> None:
        """Worker ``worker``'s process has ended: keep its totals; its gauges are 0 until its successor reports."""
        current = self._current.pop(worker, {})
        retired = self._retired.setdefault(worker, {})
        for connector, snap in current.items():
            kept = retired.setdefault(connector, {})
            for key, value in snap.items():  # a gauge stays known, at 0 (see _worker_value)
                kept[key] = kept.get(key, 0) + value if _cumulative(key) else 0

    def _worker_value(self, worker: int, connector: str, m: Measurement) -> float:
        value = self._current.get(worker, {}).get(connector, {}).get(m.key, 0)
        if m.cumulative:
            value += self._retired.get(worker, {}).get(connector, {}).get(m.key, 0)
        return value

    def workers(self) -> dict[tuple[str, int], dict[str, float]]:
        """``(connector, worker)`` -> snapshot of that worker number's values (totals across its processes)."""
        out: dict[tuple[str, int], dict[str, float]] = {}
        for worker in sorted(set(self._current) | set(self._retired)):
            for connector in self._connectors:
                keys = [m for m in MEASUREMENTS if m.key in self._current.get(worker, {}).get(connector, {})
                        or m.key in self._retired.get(worker, {}).get(connector, {})]
                if keys:
                    out[(connector, worker)] = {m.key: self._worker_value(worker, connector, m) for m in keys}
        return out

    def totals(self) -> dict[str, dict[str, float]]:
        """Connector -> snapshot summed over the workers (keys of :data:`~rxunix.core.metrics.MEASUREMENTS`)."""
        out: dict[str, dict[str, float]] = {c: {} for c in self._connectors}
        for (connector, _), snap in self.workers().items():
            total = out[connector]
            for key, value in snap.items():
                total[key] = total.get(key, 0) + value
        order = {m.key: i for i, m in enumerate(MEASUREMENTS)}
        return {c: dict(sorted(s.items(), key=lambda kv: order[kv[0]])) for c, s in out.items() if s}

    def merged(self, timestamp: int) -> list[dict[str, Any]]:
        """The summed metrics events of every connector, stamped ``timestamp`` (ns)."""
        return [ev for connector, snap in self.totals().items() for ev in metric_events(connector, snap, timestamp)]


def _cumulative(key: str) -> bool:
    return next(m.cumulative for m in MEASUREMENTS if m.key == key)
