"""Datagram rows of the stress table: many senders, senders SIGKILLed, hostile datagrams,
a datagram client whose receiver restarts under load."""

from __future__ import annotations

import os
import random
import sys
import time
from collections import defaultdict
from typing import Any

import gevent.subprocess as gsub
import pytest
from gevent import socket as gsocket
from rxunix.event import Event
from rxunix.origin import DGRAM_SERVER

from rxunix.edge.dgram_client import unix_datagram_client
from rxunix.edge.dgram_server import UnixDatagramServer, unix_datagram_server

from ..helpers import wait_for
from ..peers.spawn import _RXUNIX_ROOT
from ._figures import record, scale
from ._server import fd_count

pytestmark = pytest.mark.slow

SENDER = r"""
import itertools, socket, sys
path, sid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(n) if n >= 0 else itertools.count():  # n < 0: until killed
    s.sendto(b'{"s":%d,"i":%d}\n' % (sid, i), path)
"""


def _server(path: str, **options: Any) -> tuple[UnixDatagramServer, dict[int, list[int]], list[Event]]:
    srv = unix_datagram_server(path=path, preprocessors=["separate"], **options)
    seen: dict[int, list[int]] = defaultdict(list)
    errors: list[Event] = []
    srv.out.subscribe(lambda e: seen[e.value["s"]].append(e.value["i"]))
    srv.err.subscribe(errors.append)
    srv.start()
    return srv, seen, errors


def _senders(path: str, count: int, n: int, first: int = 0) -> list[gsub.Popen]:
    env = dict(os.environ, PYTHONPATH=_RXUNIX_ROOT)
    return [gsub.Popen([sys.executable, "-c", SENDER, path, str(sid), str(n)], env=env)
            for sid in range(first, first + count)]


def _damage(seq: list[int]) -> int:
    """Missing, duplicated or reordered datagrams in a sender's received sequence (must be 0, 1, 2, ...)."""
    if not seq:
        return 0
    missing = len(set(range(max(seq) + 1)) - set(seq))
    return missing + (len(seq) - len(set(seq))) + (seq != sorted(seq))


def test_datagram_flood_from_many_senders(sock_path: str, hub_errors: list[Any]) -> None:
    started = time.monotonic()
    count, n = int(scale(8, 32)), int(scale(2000, 50000))
    fds0 = fd_count()
    srv, seen, errors = _server(sock_path)
    procs = _senders(sock_path, count, n)
    try:
        wait_for(lambda: all(p.poll() is not None for p in procs), 120, "the senders to finish")
        wait_for(lambda: sum(map(len, seen.values())) == count * n, 60, "every datagram")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        srv.stop()
    got = sum(map(len, seen.values()))
    out_of_order = sum(1 for seq in seen.values() if seq != sorted(seq))
    record("datagrams", f"{count} sender processes flood one datagram server", started=started,
           load=f"{count * n} datagrams", lost=count * n - got + out_of_order, leaks=max(0, fd_count() - fds0),
           note="kernel back-pressure: a full receive queue makes senders wait")
    assert got == count * n and out_of_order == 0 and not errors and not hub_errors
    assert fd_count() <= fds0


def test_datagram_senders_sigkilled(sock_path: str, hub_errors: list[Any]) -> None:
    started = time.monotonic()
    kills = int(scale(6, 40))
    fds0 = fd_count()
    srv, seen, errors = _server(sock_path)
    try:
        for k in range(kills):
            (p,) = _senders(sock_path, 1, -1, first=k)  # each victim its own sequence
            wait_for(lambda: len(seen[k]) > 50, 30, "the sender under way")  # noqa: B023
            p.kill()
            p.wait()
    finally:
        srv.stop()  # what the victims queued before dying is still emitted
    lost = sum(_damage(seq) for seq in seen.values())
    record("datagrams", "senders SIGKILLed mid-stream", started=started, load=f"{sum(map(len, seen.values()))} dgrams",
           faults=kills, lost=lost, leaks=max(0, fd_count() - fds0), note="each datagram whole or absent, never cut")
    assert lost == 0 and not errors and not hub_errors and fd_count() <= fds0


def test_hostile_datagrams(sock_path: str, hub_errors: list[Any]) -> None:
    started = time.monotonic()
    n = int(scale(3000, 100000))
    fds0 = fd_count()
    rng = random.Random(17)
    srv = unix_datagram_server(path=sock_path, preprocessors=["separate"], codec="json", buf_size=1024)
    errors: list[Event] = []
    out: list[Event] = []
    srv.err.subscribe(errors.append)
    srv.out.subscribe(out.append)
    srv.start()
    c = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
    try:
        for _ in range(n):
            size = rng.choice((0, 1, 7, 100, 1023, 1024, 1025, 5000))
            c.sendto(rng.randbytes(size), sock_path)
        c.sendto(b'"end"\n', sock_path)
        wait_for(lambda: srv.stats["datagrams"] == n + 1, 60, "every datagram handled")
    finally:
        c.close()
        srv.stop()
    unexpected = [e.value for e in errors if e.value["action"] not in ("decode", "read")]
    record("hostile input", "random datagrams (empty, binary, oversize) to a datagram server", started=started,
           bad_inputs=n, lost=0 if out and out[-1].value == "end" else 1, leaks=max(0, fd_count() - fds0),
           note=f"{sum(e.value['action'] == 'read' for e in errors)} oversize reported once each")
    assert not unexpected and out[-1].value == "end" and not hub_errors and fd_count() <= fds0
    assert all(e.meta[DGRAM_SERVER]["pid"] == os.getpid() for e in out)


def test_datagram_client_receiver_restarts_under_load(sock_path: str, hub_errors: list[Any]) -> None:
    started = time.monotonic()
    restarts, n = int(scale(4, 20)), int(scale(2000, 20000))
    fds0 = fd_count()
    client = unix_datagram_client(path=sock_path, postprocessors=["separate"],
                                  reconnect={"retry": {"interval_ms": 5, "growth_rate": 1.5, "max_interval_ms": 50}},
                                  queue_size=n)
    errors: list[Event] = []
    client.err.subscribe(errors.append)
    client.start()
    got: list[int] = []
    per = n // (restarts + 1)
    pushed = 0
    try:
        for _ in range(restarts + 1):
            srv = unix_datagram_server(path=sock_path, preprocessors=["separate"])
            srv.out.subscribe(lambda e: got.append(e.value))
            srv.start()
            for _ in range(per):
                client.in_.on_next(Event(pushed))
                pushed += 1
            wait_for(lambda: client.held == 0, 60, "the client to send everything")  # noqa: B023
            srv.stop()  # the receiver goes away; the client finds the next one
    finally:
        client.stop()
    lost = pushed - len(got)
    reported = client.reported
    record("datagrams", "datagram client, receiver restarted under load", started=started, load=f"{pushed} events",
           faults=restarts, lost=lost, leaks=max(0, fd_count() - fds0),
           note=f"written + reported == pushed ({client.written} + {reported} == {client.pushed})")
    assert client.written + reported == client.pushed == pushed
    assert reported == 0 and got == list(range(pushed)) and not hub_errors
    assert {e.value["action"] for e in errors} <= {"write"}
    assert fd_count() <= fds0
