"""Prometheus exposition of connector metrics (the ``metrics`` extra: ``prometheus-client``).

``rxunix run --metrics-port PORT`` serves, on ``http://127.0.0.1:PORT/metrics``,
every connector's totals and gauges of :data:`rxunix.core.metrics.MEASUREMENTS`,
read at scrape time (no ``metrics_interval_s`` needed), labelled by
``connector`` and the measurement's tags::

    rxunix_connector_events_total{connector="relay/server",port="out"} 10000.0
    rxunix_connector_connections_open{connector="relay/server"} 4.0

In code::

    exposition = serve_prometheus(lambda: [server, client], 9464)
    ...
    exposition.close()

Under ``rxunix run --workers N`` the supervisor serves what its workers
reported (:func:`serve_merged_prometheus`, on its gevent hub): the same
families summed over the workers, plus each worker's own series in families
named ``rxunix_worker_...`` with a ``worker`` label (so summing a family never
counts a worker twice; the aggregator of ``across_workers`` windows is one
process: its connectors appear summed only, as in the metrics file)::

    rxunix_connector_events_total{connector="relay/server",port="out"} 10000.0
    rxunix_worker_connector_events_total{connector="relay/server",port="out",worker="1"} 4870.0

Only loopback addresses are served. The text format is prometheus-client's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..core.errors import MissingExtraError
from ..core.metrics import MEASUREMENTS, Measurement
from ..core.metrics_merge import MetricsMerge
from ..edge.base import Connector
from ..edge.runtime import Runtime

__all__ = ["serve_prometheus", "serve_merged_prometheus", "Exposition", "MergedExposition", "family_name"]

#: Rows of a collector: label values (``connector`` first) and a snapshot keyed as MEASUREMENTS.
Rows = Sequence[tuple[Sequence[str], Mapping[str, float]]]


def family_name(m: Measurement, prefix: str = "rxunix_") -> str:
    """The Prometheus family of a measurement (counters get ``_total`` from the client library).

    >>> [family_name(m) for m in MEASUREMENTS][:2]
    ['rxunix_connector_events', 'rxunix_connector_events']
    >>> family_name(MEASUREMENTS[-1])
    'rxunix_connector_paused_seconds'
    """
    return f"{prefix}{m.measurement}" + ("_seconds" if m.field == "seconds" else "")


def _client() -> Any:
    try:
        import prometheus_client
        import prometheus_client.core
    except ImportError:
        raise MissingExtraError("Prometheus exposition", "prometheus-client", "metrics") from None
    return prometheus_client


class _Collector:
    """Reads every connector's snapshot (on its hub) at each scrape."""

    def __init__(self, connectors: Callable[[], Sequence[Connector]], runtime: Runtime | None) -> None:
        self._connectors = connectors
        self._runtime = runtime

    def _snapshots(self) -> list[tuple[str, dict[str, float]]]:
        def read() -> list[tuple[str, dict[str, float]]]:
            return [(c.metrics_name, c.metrics_snapshot()) for c in self._connectors()]

        return read() if self._runtime is None else self._runtime.call(read, timeout=10.0)

    def collect(self) -> Iterator[Any]:
        yield from _families([((c,), snap) for c, snap in self._snapshots()], "rxunix_", ("connector",))


def _families(rows: Rows, prefix: str, labels: Sequence[str]) -> Iterator[Any]:
    """The metric families of ``rows`` (label values per ``labels``, then the measurement's tags)."""
    core = _client().core
    families: dict[str, Any] = {}
    for m in MEASUREMENTS:
        name = family_name(m, prefix)
        fam = families.get(name)
        if fam is None:
            kind = core.GaugeMetricFamily if m.field == "value" else core.CounterMetricFamily
            fam = families[name] = kind(name, m.help, labels=[*labels, *(k for k, _ in m.tags)])
        for values, snap in rows:
            if m.key in snap:
                fam.add_metric([*values, *(v for _, v in m.tags)], float(snap[m.key]))
    yield from families.values()


class _MergedCollector:
    """Sums and per-worker values of a :class:`~rxunix.core.metrics_merge.MetricsMerge`, read at each scrape."""

    def __init__(self, merge: MetricsMerge) -> None:
        self._merge = merge

    def collect(self) -> Iterator[Any]:
        yield from _families([((c,), s) for c, s in self._merge.totals().items()], "rxunix_", ("connector",))
        yield from _families([((c, str(w)), s) for (c, w), s in self._merge.workers().items() if w != 0],
                             "rxunix_worker_", ("connector", "worker"))


class Exposition:
    """A running exposition server; :meth:`close` stops it."""

    def __init__(self, server: Any, thread: Any) -> None:
        self._server = server
        self._thread = thread
        #: The port actually bound (useful with port 0).
        self.port: int = server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_prometheus(
    connectors: Callable[[], Sequence[Connector]],
    port: int,
    *,
    host: str = "127.0.0.1",
    runtime: Runtime | None = None,
) -> Exposition:
    """Serve ``connectors()``' metrics on ``http://host:port/metrics`` (a thread).

    ``host`` must be a loopback address. ``runtime``: the hub the connectors
    run on (their snapshots are read there); port 0 picks a free port.
    """
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"serve_prometheus: {host} is not a loopback address")
    client = _client()
    registry = client.CollectorRegistry(auto_describe=False)
    registry.register(_Collector(connectors, runtime))
    server, thread = client.start_http_server(port, addr=host, registry=registry)
    return Exposition(server, thread)


class MergedExposition:
    """The supervisor's exposition server (greenlets on its hub); :meth:`close` stops it."""

    def __init__(self, server: Any) -> None:
        self._server = server
        #: The port actually bound (useful with port 0).
        self.port: int = server.server_port

    def close(self) -> None:
        """Stop serving: close the listening socket, end the requests being served."""
        self._server.stop(timeout=0)


def serve_merged_prometheus(merge: MetricsMerge, port: int, *, host: str = "127.0.0.1") -> MergedExposition:
    """Serve ``merge``'s sums and per-worker series on ``http://host:port/metrics`` (gevent greenlets).

    ``host`` must be a loopback address; port 0 picks a free port. A process
    forked after this call must :meth:`~MergedExposition.close` its copy.
    """
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"serve_merged_prometheus: {host} is not a loopback address")
    from gevent.pool import Pool
    from gevent.pywsgi import WSGIServer

    client = _client()
    registry = client.CollectorRegistry(auto_describe=False)
    registry.register(_MergedCollector(merge))
    server = WSGIServer((host, port), client.make_wsgi_app(registry), spawn=Pool(16), log=None)
    server.start()
    return MergedExposition(server)
