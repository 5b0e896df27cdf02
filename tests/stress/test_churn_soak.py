"""Churn and soak: connect/disconnect cycles through a windowed pipeline leave fds,
greenlets, connections and window groups at their start counts; a long run at half
the measured maximum rate keeps the server's resident memory flat."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from rxunix.connectors.server import unix_socket_server
from rxunix.operators import connection_key, tumbling_count_or_time

from ..helpers import wait_for
from ._figures import record, scale
from ._probe import Snapshot, rss_bytes
from ._procs import Peer
from ._server import Recorder, recv_lines

pytestmark = pytest.mark.slow


def test_connect_disconnect_churn(sock_path: str, hub_errors: list[Any]) -> None:
    """Even cycles: connect, send two lines, get their window (a list) back, close.
    Odd cycles: send one line and hang up: the half-full window is released by the
    server's ``closed`` notice (its reply is then unroutable, one ``route`` error)."""
    started = time.monotonic()
    cycles, workers = int(scale(1000, 10_000)), 8
    server = unix_socket_server(config={"path": sock_path}, preprocessors=["separate"],
                                postprocessors=["separate"])
    rec = Recorder(server)
    # the time bound is far beyond the test: only count and release close windows
    window = tumbling_count_or_time(2, 60.0, key=connection_key, release=server.closed)
    server.out.pipe(window).subscribe(server.in_)
    server.start()
    done = [0]

    def cycle(w: int, i: int) -> None:
        s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        s.connect(sock_path)
        if i % 2:
            s.sendall(b'{"w":%d,"i":%d}\n' % (w, i))
            s.close()
            done[0] += 1
            return
        s.sendall(b'{"w":%d,"i":%d}\n{"w":%d,"i":%d}\n' % (w, i, w, -i))
        reply = recv_lines(s, 1)[0]
        s.close()
        assert json.loads(reply) == [{"w": w, "i": i}, {"w": w, "i": -i}], reply
        done[0] += 1

    def worker(w: int) -> None:
        for i in range(w, cycles, workers):
            cycle(w, i)

    try:
        cycle(-1, 0)  # warm up lazily created objects before the baseline
        wait_for(lambda: server.peers == [] and window.live_groups == 0, 10, "warm-up to settle")
        base = Snapshot()
        done[0] = 0
        gevent.joinall([gevent.spawn(worker, w) for w in range(workers)], raise_error=True)
        wait_for(lambda: server.peers == [] and window.live_groups == 0, 20,
                 "connections and window groups to be released")
        leaks = base.leaks()
    finally:
        server.stop(timeout=10)
    leaked = leaks["fds"] + leaks["greenlets"] + window.live_groups + len(server.peers)
    hung_up = cycles // 2
    routes = rec.actions("route")
    errors = [e.value for e in rec.errors if e.value["action"] != "route"]
    record("churn", "connect/disconnect cycles through per-connection windows", started=started,
           load=f"{cycles} cycles, {workers} at a time", lost=(cycles - done[0]) + abs(hung_up - len(routes)),
           leaks=leaked,
           note=f"fds +{leaks['fds']}, greenlets +{leaks['greenlets']}, open groups {window.live_groups}; "
                f"{len(routes)} windows of hung-up peers released and reported; other errors {len(errors)}")
    assert done[0] == cycles
    assert len(routes) == hung_up  # each released half window: exactly one unroutable reply
    assert leaked == 0, leaks
    assert not errors, errors[:3]
    assert not hub_errors


def _measure_max_rate(path: str, seconds: float, clients: int = 4, batch: int = 200) -> float:
    """Echoed events per second with pipelined batches (send a batch, read it back)."""
    count = [0]
    deadline = time.monotonic() + seconds
    line = b'{"k":"' + b"v" * 40 + b'"}\n'

    def run() -> None:
        s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        s.connect(path)
        while time.monotonic() < deadline:
            s.sendall(line * batch)
            recv_lines(s, batch)
            count[0] += batch
        s.close()

    t0 = time.monotonic()
    gevent.joinall([gevent.spawn(run) for _ in range(clients)], raise_error=True)
    return count[0] / (time.monotonic() - t0)


def test_soak_half_max_rate_rss_flat(short_tmp: str) -> None:
    """The server (own process, echo) at half its measured max rate: every event comes
    back, and its RSS after warm-up stays within 10% of the first post-warm-up sample."""
    started = time.monotonic()
    duration = float(scale(10.0, 300.0))
    path = os.path.join(short_tmp, "s.sock")
    server = Peer("stress_server.py", path, "--echo")
    pid = server.wait_line("ready")[0]["pid"]
    try:
        max_rate = _measure_max_rate(path, float(scale(1.5, 5.0)))
        target = max_rate / 2
        clients, batch = 4, 50
        interval = clients * batch / target
        sent, echoed = [0], [0]
        stop = gevent.event.Event()
        line = b'{"k":"' + b"v" * 40 + b'"}\n'

        def paced() -> None:
            s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            s.connect(path)
            nxt = time.monotonic()
            while not stop.is_set():
                s.sendall(line * batch)
                sent[0] += batch
                got = recv_lines(s, batch)
                assert len(got) == batch and got[-1] == line[:-1], (len(got), got[-1:])
                echoed[0] += len(got)
                nxt += interval
                gevent.sleep(max(0.0, nxt - time.monotonic()))
            s.close()

        samples: list[tuple[float, int]] = []
        t0 = time.monotonic()
        gs = [gevent.spawn(paced) for _ in range(clients)]
        while time.monotonic() - t0 < duration:
            gevent.sleep(min(1.0, duration / 20))
            samples.append((time.monotonic() - t0, rss_bytes(pid)))
        stop.set()
        gevent.joinall(gs, raise_error=True)
        elapsed = time.monotonic() - t0
    finally:
        rc = server.kill(signal.SIGTERM)
    warm = [rss for t, rss in samples if t >= duration * 0.2]
    growth = (max(warm) - warm[0]) / warm[0]
    rate = sent[0] / elapsed
    record("soak", f"{duration:.0f} s at half the max rate, server RSS", started=started,
           load=f"{rate:,.0f} ev/s (max {max_rate:,.0f}), {sent[0]} events",
           lost=sent[0] - echoed[0], leaks=int(growth > 0.10),
           note=f"RSS {warm[0] // 1024} -> {warm[-1] // 1024} KiB (max +{growth:.1%})")
    assert rc == 0
    assert sent[0] == echoed[0], server.lines[-5:]
    assert growth <= 0.10, samples
