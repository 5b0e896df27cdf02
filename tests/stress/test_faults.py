"""Faults: clients SIGKILLed mid-frame, the server SIGKILLed and restarted under load,
accept failing for want of file descriptors, a reader that stops reading."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from rxunix.connectors.client import unix_socket_client

from ..helpers import wait_for
from ._figures import record, scale
from ._procs import Peer
from ._server import connect, fd_count, recv_lines, running

pytestmark = pytest.mark.slow


def test_clients_sigkilled_mid_frame(sock_path: str, hub_errors: list[Any]) -> None:
    """A partial frame of a killed client is one decode error of *its* peer, never
    merged into another connection's data; complete frames all arrive."""
    started = time.monotonic()
    kills, n = int(scale(6, 40)), int(scale(200, 2000))
    fds0 = fd_count()
    with running(sock_path) as rec:
        server = rec.server
        live, live_peer = connect(sock_path, server)
        sent_live = [0]
        stop_live = gevent.event.Event()

        def chatter() -> None:  # a live connection interleaving with the victims
            while not stop_live.is_set():
                live.sendall(b'{"c":-1,"n":%d}\n' % sent_live[0])
                sent_live[0] += 1
                gevent.sleep(0.001)

        g = gevent.spawn(chatter)
        victims = [Peer("stress_client.py", sock_path, str(i), str(n)) for i in range(kills)]
        for v in victims:
            v.wait_text("sent")
        wait_for(lambda: rec.values >= kills * n, 30, "all complete frames of the victims")
        for v in victims:
            assert v.kill(signal.SIGKILL) == -signal.SIGKILL
        wait_for(lambda: server.peers == [live_peer], 20, "killed peers to be closed")
        stop_live.set()
        g.join()
        live.close()
        wait_for(lambda: server.peers == [], 20, "the live peer to be closed")

    peers_of: dict[int, set[Any]] = {}
    got: dict[int, list[int]] = {}
    merged = 0
    for peer, what, x in rec.items:
        if what == "value":
            if not (isinstance(x, dict) and set(x) == {"c", "n"}):
                merged += 1
                continue
            peers_of.setdefault(x["c"], set()).add(peer)
            got.setdefault(x["c"], []).append(x["n"])
    victim_peers = {c: p for c, ps in peers_of.items() if c >= 0 for p in ps}
    partial_errors = [e for e in rec.actions("decode")]
    lost = sum(n - len(got.get(c, [])) for c in range(kills)) + (sent_live[0] - len(got.get(-1, [])))
    wrong_peer = sum(len(ps) - 1 for ps in peers_of.values())
    record("faults", "clients SIGKILLed mid-frame, beside a live client", started=started,
           load=f"{kills} x {n} frames + live {sent_live[0]}", faults=kills, lost=lost,
           leaks=max(0, fd_count() - fds0), note=f"{len(partial_errors)} partial-frame errors")
    assert merged == 0 and wrong_peer == 0
    assert lost == 0
    for c in range(kills):
        assert got[c] == list(range(n))
    assert got[-1] == list(range(sent_live[0]))
    # each partial frame: exactly one decode error, on the victim's own peer
    assert sorted(e.value["stream"] for e in partial_errors) == sorted(victim_peers.values())
    assert all(e.meta["unix_socket_server"]["peer"] == e.value["stream"] for e in partial_errors)
    assert not hub_errors


def test_server_killed_and_restarted_under_load(short_tmp: str, hub_errors: list[Any]) -> None:
    """Reconnecting clients under load while the server process is SIGKILLed and
    restarted: every event pushed is written or reported; nothing arrives twice."""
    started = time.monotonic()
    path = os.path.join(short_tmp, "s.sock")
    out = os.path.join(short_tmp, "received.jsonl")
    restarts, n_clients = int(scale(3, 12)), 4
    duration = float(scale(3.0, 30.0))
    server = Peer("stress_server.py", path, "--out", out)
    server.wait_line("ready")
    server_errors: list[dict[str, Any]] = []
    clients = [unix_socket_client(config={"path": path, "queue_size": 1_000_000},
                                  preprocessors=["separate"], postprocessors=["separate"],
                                  reconnect={"retry": {"interval_ms": 10, "growth_rate": 1.5,
                                                       "max_interval_ms": 100}})
               for _ in range(n_clients)]
    for c in clients:
        c.start()
    stop = gevent.event.Event()

    def pump(i: int, c: Any) -> None:
        seq = 0
        while not stop.is_set():
            for _ in range(20):
                c.in_.on_next({"c": i, "n": seq})
                seq += 1
            gevent.sleep(0.002)

    pumps = [gevent.spawn(pump, i, c) for i, c in enumerate(clients)]
    try:
        for _ in range(restarts):
            gevent.sleep(duration / (restarts + 1))
            server.kill(signal.SIGKILL)
            server_errors.extend(server.tagged("err"))
            gevent.sleep(0.05)  # clients keep pushing while nobody listens
            server = Peer("stress_server.py", path, "--out", out)
            server.wait_line("ready")
        gevent.sleep(duration / (restarts + 1))
    finally:
        stop.set()
        gevent.joinall(pumps)
    wait_for(lambda: all(c.held == 0 and c.connected for c in clients), 30, "clients to drain")
    for c in clients:
        c.stop(timeout=10)
    assert server.kill(signal.SIGTERM) == 0
    server_errors.extend(server.tagged("err"))
    pushed = sum(c.pushed for c in clients)
    written = sum(c.written for c in clients)
    reported = sum(c.reported for c in clients)
    with open(out) as f:
        received = [json.loads(line) for line in f]
    seen = {(r["c"], r["n"]) for r in received}
    dupes = len(received) - len(seen)
    lost = pushed - written - reported
    record("faults", "server SIGKILLed + restarted under reconnecting clients", started=started,
           load=f"{pushed} events from {n_clients} clients", faults=restarts, lost=lost,
           note=f"written {written}, reported {reported}, received {len(received)}, dup {dupes}; "
                f"{written - len(received)} were in kernel buffers at a SIGKILL; "
                f"server error events {len(server_errors)}")
    assert pushed > 0 and lost == 0
    assert not server_errors, server_errors[:3]
    assert len(received) > pushed // 2
    assert dupes == 0
    assert len(received) <= written
    for i in range(n_clients):  # per client, the server saw an increasing sequence
        ns = [r["n"] for r in received if r["c"] == i]
        assert ns == sorted(ns)
    assert not hub_errors


def test_accept_fails_for_want_of_fds(short_tmp: str) -> None:
    """RLIMIT_NOFILE lowered in the server process: accept fails with error events,
    open connections keep working, the waiting ones are served once fds free up."""
    started = time.monotonic()
    path = os.path.join(short_tmp, "s.sock")
    spare, extra = 4, 3
    server = Peer("stress_server.py", path, "--echo", "--spare-fds", str(spare))
    server.wait_line("ready")
    try:
        first = []
        for i in range(spare):
            s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            s.connect(path)
            s.sendall(b'{"first":%d}\n' % i)
            assert recv_lines(s, 1) == [b'{"first":%d}' % i]
            first.append(s)
        waiting = []
        for _ in range(extra):  # the kernel completes these; the server cannot accept them
            s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            s.connect(path)
            waiting.append(s)
        errs = server.wait_line("err", 1)
        accept_errs = [e for e in errs if e["action"] == "accept"]
        assert accept_errs and "Too many open files" in accept_errs[0]["error"]
        for i, s in enumerate(first):  # existing connections keep working
            s.sendall(b'{"again":%d}\n' % i)
            assert recv_lines(s, 1) == [b'{"again":%d}' % i]
        for s in first:
            s.close()
        for i, s in enumerate(waiting):  # accepted once fds are free again
            s.sendall(b'{"late":%d}\n' % i)
            assert recv_lines(s, 1, timeout=20) == [b'{"late":%d}' % i]
        n_err = len([e for e in server.tagged("err") if e["action"] == "accept"])
        for s in waiting:
            s.close()
        record("faults", "RLIMIT_NOFILE: accept fails, then recovers", started=started,
               load=f"{spare} open + {extra} waiting connections", faults=n_err, lost=0,
               note="existing connections kept working; waiting ones served after fds freed")
    finally:
        assert server.kill(signal.SIGTERM) == 0


def test_reader_that_stops_reading_is_evicted(sock_path: str, hub_errors: list[Any]) -> None:
    """A connection that never reads its replies is closed at max_pending_bytes and
    reported; the others get every reply."""
    started = time.monotonic()
    n_good, lines = 3, int(scale(2000, 20000))
    fds0 = fd_count()
    with running(sock_path, echo=lambda ev: True, config={"max_pending_bytes": 256 * 1024}) as rec:
        server = rec.server
        slow, slow_peer = connect(sock_path, server)
        blob = b'{"slow":"' + b"x" * 200 + b'"}\n'

        def flood() -> None:
            try:
                for _ in range(20_000):  # ~4 MB of echo that nobody reads
                    slow.sendall(blob)
            except OSError:
                pass  # evicted: the server closed us

        def good(i: int) -> int:
            s, _ = connect(sock_path, server)
            got = 0
            for k in range(0, lines, 100):
                s.sendall(b"".join(b'{"g":%d,"n":%d}\n' % (i, j) for j in range(k, k + 100)))
                got += len(recv_lines(s, 100))
            s.close()
            return got

        f = gevent.spawn(flood)
        goods = [gevent.spawn(good, i) for i in range(n_good)]
        gevent.joinall(goods, raise_error=True)
        wait_for(lambda: slow_peer not in server.peers, 30, "the slow reader to be evicted")
        f.join(timeout=30)
        slow.close()
        wait_for(lambda: server.peers == [], 20, "all peers to be closed")
    evicted = [e for e in rec.actions("write") if e.value["stream"] == slow_peer]
    got = sum(g.value for g in goods)
    others_hit = [e for e in rec.errors if e.value["stream"] not in (slow_peer, [slow_peer])]
    record("faults", "reader that stops reading", started=started,
           load=f"{n_good} readers x {lines} echoes beside a 4 MB non-reader", faults=len(evicted),
           lost=n_good * lines - got, leaks=max(0, fd_count() - fds0))
    assert evicted and evicted[0].value["kind"] == "SlowReaderError"
    assert got == n_good * lines
    assert not others_hit, [e.value for e in others_hit]
    assert not hub_errors


def test_stop_drains_bytes_already_received(sock_path: str) -> None:
    """stop() right after clients sent: everything already in the server's socket
    buffers becomes events (SPEC 3 Stop: drains), no spurious read errors."""
    started = time.monotonic()
    conns, n = 8, 50
    with running(sock_path) as rec:
        socks = [connect(sock_path, rec.server)[0] for _ in range(conns)]
        gevent.sleep(0.05)  # every reader is now waiting in recv
        for i, s in enumerate(socks):  # no yield from here to stop(): the bytes wait in the kernel
            s.sendall(b"".join(b'{"c":%d,"n":%d}\n' % (i, j) for j in range(n)))
    for s in socks:
        s.close()
    reads = rec.actions("read")
    lost = conns * n - rec.values
    record("faults", "stop() with bytes already received (drain)", started=started,
           load=f"{conns} x {n} events in socket buffers", lost=lost,
           note=f"{len(reads)} spurious read errors" if reads or lost else "drained")
    assert lost == 0 and not reads, (lost, [e.value["error"] for e in reads[:2]])
