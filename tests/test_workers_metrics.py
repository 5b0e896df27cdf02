"""``rxunix run --workers N`` with ``--metrics`` / ``--metrics-port``: the supervisor merges, writes and serves.

Real supervisor and worker processes (``python -m rxunix run``), real clients
over the real socket, a real scrape of the supervisor's Prometheus endpoint on
loopback. What is checked:

* the supervisor's summed lines (``FLOW/KIND``) equal the sum of the workers'
  lines (``FLOW/KIND@workerN``) written before them, line by line, and at the
  end the events actually sent; every line of the file is whole JSON;
* the scrape's sums equal the events sent, per worker too;
* a worker killed (SIGKILL) after its last report and restarted: nothing it
  reported is lost or counted twice, its series continues;
* every line a worker writes on stderr reaches the supervisor's stderr whole,
  tagged with the worker.
"""

from __future__ import annotations

import io
import os
import re
import signal
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import simplejson

from rxunix.app.monitoring import Monitor
from rxunix.app.worker_metrics import SupervisorMetrics
from rxunix.core.metrics import metric_events

from .test_workers import ECHO_FLOW, GLOBAL_FLOW, Client, Service, service, wait_until

__all__ = ["service"]  # the fixture, shared with test_workers

SERVER = "flow/unix_socket_server"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def connect_until_spread(path: str, workers: int, timeout: float = 30.0) -> list[tuple[Client, int]]:
    """Open connections (each sends one probe event) until they are held by ``workers`` different workers."""
    conns: list[tuple[Client, int]] = []

    def spread() -> bool:
        c = Client(path)
        c.send([{"probe": len(conns)}])
        conns.append((c, int(c.recv(1)[0]["w"])))  # type: ignore[call-overload]
        return len({w for _, w in conns}) >= workers or len(conns) >= 200

    wait_until(spread, timeout, f"connections on {workers} workers")
    assert len({w for _, w in conns}) >= workers, f"200 connections, all on {set(w for _, w in conns)}"
    return conns


def echo_on_each(conns: list[tuple[Client, int]], base: int) -> dict[int, int]:
    """Each connection sends ``base + i`` events and reads them back; events per worker (probes included)."""
    per_worker: dict[int, int] = {}
    for i, (c, w) in enumerate(conns):
        n = base + i
        c.send([{"i": k} for k in range(n)])
        assert [r["i"] for r in c.recv(n)] == list(range(n))
        per_worker[w] = per_worker.get(w, 0) + n + 1
    return per_worker


def exposition_url(svc: Service) -> str:
    port = svc.wait_line(r"^rxunix run: metrics for Prometheus on http://127\.0\.0\.1:(\d+)/metrics$").group(1)
    return f"http://127.0.0.1:{port}/metrics"


def scrape(url: str) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def out_events(samples: Samples, worker: int | None = None) -> float | None:
    """``events_out`` of the server: summed, or worker ``worker``'s series."""
    if worker is None:
        return samples.get(("rxunix_connector_events_total", frozenset({("connector", SERVER), ("port", "out")})))
    labels = frozenset({("connector", SERVER), ("port", "out"), ("worker", str(worker))})
    return samples.get(("rxunix_worker_connector_events_total", labels))


def opened(samples: Samples, worker: int | None = None) -> float | None:
    """Connections the server accepted: summed, or worker ``worker``'s series."""
    if worker is None:
        return samples.get(("rxunix_connector_connections_total",
                            frozenset({("connector", SERVER), ("event", "opened")})))
    labels = frozenset({("connector", SERVER), ("event", "opened"), ("worker", str(worker))})
    return samples.get(("rxunix_worker_connector_connections_total", labels))


def wait_scrape(url: str, cond: Callable[[Samples], bool], what: str) -> Samples:
    got: list[Samples] = []

    def ok() -> bool:
        got[:] = [scrape(url)]
        return cond(got[0])

    wait_until(ok, 30, what)
    return got[0]


def read_metrics(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return [simplejson.loads(line) for line in lines]  # every line whole JSON, or this raises


def check_sums_line_by_line(lines: list[dict[str, Any]], gauges: bool) -> int:
    """Each summed line equals the sum of the workers' last lines of its series before it; how many summed lines."""
    last: dict[tuple[Any, ...], dict[str, float]] = {}
    checked = 0
    for v in lines:
        tags = dict(v["tags"])
        worker = tags.pop("worker", None)
        (field, value), = v["fields"].items()
        connector = tags.pop("connector")
        if worker is not None:
            assert connector == f"{SERVER}@worker{worker}"
            last.setdefault((v["measurement"], tuple(sorted(tags.items())), field), {})[worker] = value
            continue
        assert connector == SERVER
        if field == "value" and not gauges:
            continue
        key = (v["measurement"], tuple(sorted(tags.items())), field)
        assert value == pytest.approx(sum(last.get(key, {}).values())), (v, last.get(key))
        checked += 1
    return checked


def final(lines: list[dict[str, Any]], measurement: str, connector: str = SERVER, **tags: str) -> float:
    """The last value of a series in the metrics file."""
    values = [next(iter(v["fields"].values())) for v in lines if v["measurement"] == measurement
              and v["tags"]["connector"] == connector and all(v["tags"].get(k) == t for k, t in tags.items())]
    assert values, (measurement, connector, tags)
    return values[-1]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("patch", [[], ["--monkey-patch"]], ids=["plain", "monkey-patch"])
def test_summed_metrics_equal_the_workers_and_the_events_sent(service: Callable[..., Service], tmp_path: Path,
                                                              patch: list[str]) -> None:
    metrics = tmp_path / "m.jsonl"
    svc = service(ECHO_FLOW, 2, "--metrics", str(metrics), "--metrics-interval", "0.1", "--metrics-port", "0", *patch)
    svc.wait_ready(2)
    url = exposition_url(svc)
    conns = connect_until_spread(svc.path, 2)
    per_worker = echo_on_each(conns, 50)
    total = sum(per_worker.values())
    open_now = ("rxunix_connector_connections_open", frozenset({("connector", SERVER)}))
    # a worker's report is several lines: wait until the last one checked (connections open) is in too
    samples = wait_scrape(url, lambda s: out_events(s) == total and s.get(open_now) == len(conns),
                          f"{total} events out and {len(conns)} connections open in the scrape")
    for w, n in per_worker.items():
        assert out_events(samples, w) == n, (w, samples)
    assert sum(out_events(samples, w) or 0 for w in (1, 2)) == total
    assert opened(samples) == len(conns) == sum(opened(samples, w) or 0 for w in (1, 2))
    for c, _ in conns:
        c.close()
    assert svc.stop() == 0, svc.text()
    lines = read_metrics(metrics)
    assert check_sums_line_by_line(lines, gauges=True) >= 2
    assert final(lines, "connector_events", port="out") == final(lines, "connector_events", port="in") == total
    assert final(lines, "connector_connections", event="closed") == len(conns)
    assert final(lines, "connector_connections_open") == 0
    for w, n in per_worker.items():
        assert final(lines, "connector_events", f"{SERVER}@worker{w}", port="out") == n


@pytest.mark.timeout(120)
def test_a_killed_worker_keeps_what_it_reported_and_is_not_counted_twice(service: Callable[..., Service],
                                                                         tmp_path: Path) -> None:
    metrics = tmp_path / "m.jsonl"
    svc = service(ECHO_FLOW, 2, "--metrics", str(metrics), "--metrics-interval", "0.1", "--metrics-port", "0")
    pids = svc.wait_ready(2)
    url = exposition_url(svc)
    before = connect_until_spread(svc.path, 2)
    first = echo_on_each(before, 30)
    victim = before[0][1]
    victim_conns = sum(1 for _, w in before if w == victim)
    # what holds: a worker's totals count up to its last report; wait for the report, then kill it
    wait_scrape(url, lambda s: out_events(s, victim) == first[victim] and opened(s, victim) == victim_conns,
                f"worker {victim}'s report")
    os.kill(pids[victim], signal.SIGKILL)
    svc.wait_line(rf"worker {victim} \(pid {pids[victim]}\) died \(killed by SIGKILL\)")
    wait_until(lambda: svc.ready_pids().get(victim) not in (None, pids[victim]), 20, "the restarted worker")
    for c, _ in before:
        c.close()
    after = connect_until_spread(svc.path, 2)  # the new worker holds connections too
    second = echo_on_each(after, 20)
    total = sum(first.values()) + sum(second.values())
    expect = {w: first.get(w, 0) + second.get(w, 0) for w in (1, 2)}
    samples = wait_scrape(url, lambda s: out_events(s) == total and opened(s) == len(before) + len(after),
                          f"{total} events out in the scrape")
    assert {w: out_events(samples, w) for w in (1, 2)} == expect
    for c, _ in after:
        c.close()
    assert svc.stop() == 0, svc.text()
    lines = read_metrics(metrics)
    check_sums_line_by_line(lines, gauges=False)
    assert final(lines, "connector_events", port="out") == total
    assert final(lines, "connector_connections", event="opened") == len(before) + len(after)
    series = [v["fields"]["count"] for v in lines if v["tags"]["connector"] == f"{SERVER}@worker{victim}"
              and v["measurement"] == "connector_events" and v["tags"]["port"] == "out"]
    assert series == sorted(series) and series[-1] == expect[victim], "the victim's series never goes back"


LOUD_FLOW = ECHO_FLOW + '''
    import sys
    if ctx.runner.worker:
        mark = "AB"[ctx.runner.worker - 1]
        def shout():
            for _ in range(5):
                sys.stderr.write(mark * 50000 + "\\n")
                sys.stderr.flush()
            raise ZeroDivisionError("from a greenlet")
        ctx.spawn_later(0, shout)
'''


@pytest.mark.timeout(60)
def test_worker_stderr_lines_arrive_whole_and_tagged(service: Callable[..., Service]) -> None:
    svc = service(LOUD_FLOW, 2)
    svc.wait_ready(2)
    for w in (1, 2):
        svc.wait_line(rf"^rxunix run \[worker {w}\]: ZeroDivisionError: from a greenlet")
    c = Client(svc.path)
    c.send([{"i": 0}])
    assert c.recv(1)[0]["i"] == 0
    c.close()
    assert svc.stop() == 0, svc.text()
    tagged = re.compile(r"^rxunix run(?: \[worker (\d)\])?: ")
    shouts: dict[str, list[str]] = {"1": [], "2": []}
    for line in svc.lines:
        m = tagged.match(line)
        assert m, f"an untagged line: {line[:200]!r}"
        rest = line[m.end():]
        if m.group(1) and rest[:1] in ("A", "B"):
            shouts[m.group(1)].append(rest)
    assert shouts == {"1": ["A" * 50000] * 5, "2": ["B" * 50000] * 5}, "lines torn or interleaved"
    assert any(re.match(r"^rxunix run \[worker 1\]: Traceback \(most recent call last\):$", x) for x in svc.lines)


@pytest.mark.timeout(60)
def test_the_aggregator_metrics_are_written_summed_only(service: Callable[..., Service], tmp_path: Path) -> None:
    metrics = tmp_path / "m.jsonl"
    svc = service(GLOBAL_FLOW, 2, "--metrics", str(metrics), "--metrics-interval", "0.2")
    svc.wait_ready(2)
    svc.wait_line(r"aggregator \(pid \d+\) ready")
    c = Client(svc.path)
    c.send([{"c": 0, "i": n} for n in range(40)])
    assert len(c.recv(1)[0]) == 40  # one aggregate of the global tumbling_count(40)
    c.close()  # its worker tells the aggregator to forget the connection's token: one more link message

    def link_messages() -> float:
        try:
            return final(read_metrics(metrics), "connector_events", "across-workers/link", port="out")
        except AssertionError:  # (no line of it yet)
            return 0

    wait_until(lambda: link_messages() == 41, 30, "the closed connection's token forgotten by the aggregator")
    assert svc.stop() == 0, svc.text()
    lines = read_metrics(metrics)
    assert not [v for v in lines if v["tags"].get("worker") == "0" or "@worker0" in v["tags"]["connector"]]
    assert final(lines, "connector_events", "across-workers/link", port="out") == 41  # the aggregator's server
    assert final(lines, "connector_events", port="out") == 40
    links = {v["tags"]["connector"] for v in lines if "across-workers link" in v["tags"]["connector"]}
    assert links == {"flow/across-workers link", "flow/across-workers link@worker1", "flow/across-workers link@worker2"}


def test_supervisor_metrics_ignore_bad_lines_and_report_a_failing_file_once() -> None:
    class Full(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError("No space left on device")

    logs: list[str] = []
    sm = SupervisorMetrics(Monitor(metrics=Full(), interval=0.5), logs.append)
    sm.begin(now=0.0)
    assert sm.wait(0.2) == pytest.approx(0.3) and sm.port is None
    sm.take(1, "not json")
    sm.take(0, '{"measurement": "cpu", "tags": {}, "fields": {"count": 1}, "timestamp": 0}')
    for n in (1, 2, 3):
        sm.take(2, simplejson.dumps(metric_events(f"{SERVER}@worker2", {"events_out": n}, 0)[0]))
    sm.tick(0.6)
    sm.end()
    assert logs[0].startswith("metrics: ignored a line from worker 1: ")
    assert logs[1].startswith("metrics: ignored a line from the aggregator: not a connector metrics event")
    assert logs[2:] == ["metrics: cannot write: No space left on device"]
    assert sm.merge.totals() == {SERVER: {"events_out": 3}}  # kept, whatever the file
