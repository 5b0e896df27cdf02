"""connector.metrics over real unix sockets: exact totals, every measurement, clean end."""

from __future__ import annotations

import json
import os
from typing import Any

import gevent
import pytest
from gevent import socket
from rxunix.connectors.files import read_file, write_file

import rxunix
from rxunix import ConfigError, Event
from rxunix.core.metrics import increments
from tests.helpers import wait_for


def _collect(conn: Any) -> tuple[list[dict[str, Any]], list[str]]:
    values: list[dict[str, Any]] = []
    done: list[str] = []
    conn.metrics.subscribe(lambda e: values.append(e.value), on_completed=lambda: done.append("done"))
    return values, done


def _total(values: list[dict[str, Any]], measurement: str, **tags: str) -> Any:
    """Sum of the per-interval increments of one series (== its last total)."""
    inc = increments(values)
    return sum(next(iter(e["fields"].values())) for e in inc
               if e["measurement"] == measurement and all(e["tags"].get(k) == v for k, v in tags.items()))


def _send(path: str, payload: bytes) -> bytes:
    """Send, half-close, read the echoed replies until the server closes."""
    replies = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        while len(replies) < len(payload):
            data = s.recv(65536)
            if not data:
                break
            replies += data
    return replies


def test_server_metrics_sum_exactly(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, preprocessors=["separate"], postprocessors=["separate"],
                                       metrics_interval_s=0.02)
    values, done = _collect(server)
    got: list[Event] = []
    server.out.subscribe(got.append)
    server.out.subscribe(server.in_)  # echo: replies count on port "in"
    server.start()
    payloads = [b"".join(b'{"c":%d,"i":%d}\n' % (c, i) for i in range(n)) for c, n in enumerate((700, 1, 299))]
    greenlets = [gevent.spawn(_send, sock_path, p) for p in payloads]
    gevent.joinall(greenlets, raise_error=True)
    assert [g.value for g in greenlets] == payloads
    wait_for(lambda: len(got) == 1000 and server.stats["closed"] == 3, 20, "1000 events, 3 closed")
    wait_for(lambda: any(v["measurement"] == "connector_events" and v["fields"]["count"] == 1000
                         for v in values), 10, "a metrics tick with the total")
    server.stop()
    assert done == ["done"]
    assert _total(values, "connector_events", port="out") == 1000
    assert _total(values, "connector_events", port="in") == 1000
    assert _total(values, "connector_events", port="err") == 0
    assert _total(values, "connector_bytes", direction="read") == sum(map(len, payloads))
    assert _total(values, "connector_bytes", direction="written") == sum(map(len, payloads))
    assert _total(values, "connector_connections", event="opened") == 3
    assert _total(values, "connector_connections", event="closed") == 3
    assert {v["tags"]["connector"] for v in values} == {f"unix_socket_server:{sock_path}"}
    stamps = [v["timestamp"] for v in values]
    assert stamps == sorted(stamps) and len(set(stamps)) >= 3  # several ticks, in ns
    last_open = [v["fields"]["value"] for v in values if v["measurement"] == "connector_connections_open"][-1]
    assert last_open == 0


def test_server_bytes_read_and_written_are_told_apart(sock_path: str) -> None:
    """Replies of another size than what was read: each direction has its own total."""
    from reactivex import operators as ops

    server = rxunix.unix_socket_server(path=sock_path, preprocessors=["separate"], postprocessors=["separate"],
                                       metrics_interval_s=0.02)
    values, _ = _collect(server)
    server.out.pipe(ops.map(lambda e: Event(1, e.meta))).subscribe(server.in_)  # every reply: b"1\n"
    server.start()
    payload = b"".join(b'{"i":%d}\n' % i for i in range(10))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        replies = b""
        while len(replies) < 20 and (data := s.recv(65536)):
            replies += data
    assert replies == b"1\n" * 10

    def written_total() -> Any:
        return next((v["fields"] for v in reversed(values) if v["measurement"] == "connector_bytes"
                     and v["tags"].get("direction") == "written"), None)

    wait_for(lambda: server.stats["out"] == 10 and written_total() is not None, 10, "a tick after the replies")
    server.stop()
    assert _total(values, "connector_bytes", direction="written") == 20
    assert _total(values, "connector_bytes", direction="read") == len(payload)
    assert (server.stats["bytes_read"], server.stats["bytes_written"]) == (len(payload), 20)


def test_client_metrics_count_bytes_held_and_reconnects(sock_path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client = rxunix.unix_socket_client(path=sock_path, reconnect={"retry": {"interval_ms": 20, "growth_rate": 1}},
                                       preprocessors=["separate"], postprocessors=["separate"],
                                       metrics_interval_s=0.02)
    client.name = "relay/client"
    values, done = _collect(client)
    client.start()
    for i in range(50):
        client.in_.on_next(Event({"i": i}))
    wait_for(lambda: client.stats["retries"] >= 2, 10, "reconnect attempts")
    wait_for(lambda: any(v["measurement"] == "connector_held_events" and v["fields"]["value"] == 50
                         for v in values), 10, "held events in metrics")
    listener.bind(sock_path)
    listener.listen(1)
    conn, _ = listener.accept()
    expected = b"".join(b'{"i":%d}\n' % i for i in range(50))
    received = b""
    conn.settimeout(10)
    while len(received) < len(expected):
        received += conn.recv(65536)
    conn.sendall(b'"pong"\n')
    wait_for(lambda: client.stats["out"] == 1, 10, "the reply")
    client.stop()
    conn.close()
    listener.close()
    assert received == expected and done == ["done"]
    assert _total(values, "connector_events", port="in") == 50
    assert _total(values, "connector_bytes", direction="written") == len(expected)
    assert _total(values, "connector_bytes", direction="read") == len(b'"pong"\n')
    assert _total(values, "connector_events", port="out") == 1
    assert _total(values, "connector_connections", event="opened") == 1
    assert _total(values, "connector_reconnects") == client.stats["retries"] >= 2
    assert {v["tags"]["connector"] for v in values} == {"relay/client"}


def test_files_meter_and_no_interval_means_no_metrics(short_tmp: str) -> None:
    src_path = os.path.join(short_tmp, "in.jsonl")
    with open(src_path, "w") as fh:
        fh.writelines(json.dumps({"n": i}) + "\n" for i in range(500))
    src = read_file(src_path, metrics_interval_s=0.01)
    sink = write_file(os.path.join(short_tmp, "out.jsonl"))
    src_values, _ = _collect(src)
    sink_values, sink_done = _collect(sink)
    src.out.subscribe(sink.in_)
    sink.start()
    src.start()
    assert src.join(10)
    sink.stop()
    assert _total(src_values, "connector_events", port="out") == 500
    assert _total(src_values, "connector_bytes", direction="read") == os.path.getsize(src_path)
    assert _total(src_values, "connector_paused") == 0
    assert sink_values == [] and sink_done == ["done"]  # no interval: nothing, but completes
    assert sink.metrics_snapshot() == {"events_in": 500, "events_err": 0}


@pytest.mark.parametrize("bad", [0, -1, "5", True, float("nan")])
def test_bad_interval_is_a_config_error(sock_path: str, bad: Any) -> None:
    with pytest.raises(ConfigError, match="metrics_interval_s"):
        rxunix.unix_socket_server(path=sock_path, metrics_interval_s=bad)
    with pytest.raises(ConfigError, match="metrics_interval_s"):
        rxunix.unix_socket_client(path=sock_path, metrics_interval_s=bad)


def test_tremor_connector_dict_takes_metrics_interval(sock_path: str) -> None:
    tremor = {"codec": "json", "config": {"path": sock_path}, "metrics_interval_s": 5}
    assert rxunix.unix_socket_server(**tremor).metrics_interval_s == 5.0
    assert rxunix.unix_socket_client(tremor).metrics_interval_s == 5.0


def test_a_server_and_a_client_on_one_path_are_two_series(sock_path: str) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")  # (a test extra: always installed)
    from rxunix.app.prometheus import _Collector

    server = rxunix.unix_socket_server(path=sock_path)
    client = rxunix.unix_socket_client(path=sock_path)
    assert (server.metrics_name, client.metrics_name) == (f"unix_socket_server:{sock_path}",
                                                          f"unix_socket_client:{sock_path}")
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(_Collector(lambda: [server, client], None))
    series = [line.rsplit(" ", 1)[0] for line in prometheus_client.generate_latest(registry).decode().splitlines()
              if line.startswith("rxunix_")]
    assert series and len(series) == len(set(series))  # Prometheus refuses a scrape with duplicates
    assert f'rxunix_connector_events_total{{connector="unix_socket_client:{sock_path}",port="in"}}' in series
