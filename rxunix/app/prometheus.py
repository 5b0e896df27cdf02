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

Only loopback addresses are served. The text format is prometheus-client's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.errors import MissingExtraError
from ..core.metrics import MEASUREMENTS, Measurement
from ..edge.base import Connector
from ..edge.runtime import Runtime

__all__ = ["serve_prometheus", "Exposition", "family_name"]


def family_name(m: Measurement) -> str:
    """The Prometheus family of a measurement (counters get ``_total`` from the client library).

    >>> [family_name(m) for m in MEASUREMENTS][:2]
    ['rxunix_connector_events', 'rxunix_connector_events']
    >>> family_name(MEASUREMENTS[-1])
    'rxunix_connector_paused_seconds'
    """
    return f"rxunix_{m.measurement}" + ("_seconds" if m.field == "seconds" else "")


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
        core = _client().core
        snaps = self._snapshots()
        families: dict[str, Any] = {}
        for m in MEASUREMENTS:
            name = family_name(m)
            fam = families.get(name)
            if fam is None:
                labels = ["connector", *(k for k, _ in m.tags)]
                kind = core.GaugeMetricFamily if m.field == "value" else core.CounterMetricFamily
                fam = families[name] = kind(name, m.help, labels=labels)
            for connector, snap in snaps:
                if m.key in snap:
                    fam.add_metric([connector, *(v for _, v in m.tags)], float(snap[m.key]))
        yield from families.values()


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
