"""The connectors' guarantees hold on both hand-over paths, over real unix sockets.

``server.out.subscribe(server.in_)`` and ``server.out.subscribe(client.in_)`` move a
whole read's events in one call (the batch path; a server's own ``in_`` alone takes
a read in one step, beside another subscriber through ``out``'s dispatch); any
operator in between (``ops.map``) delivers them one by one (the per-event path). Ordering, routing,
eviction of a slow reader and the client's accounting must not depend on which.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import pytest
import reactivex
import simplejson
from gevent import socket as gsocket
from reactivex import Observable
from reactivex import operators as ops

import rxunix
from rxunix import Event
from rxunix.edge.ports import Inlet
from tests.helpers import wait_for

LINES = {"preprocessors": ["separate"], "postprocessors": ["separate"], "codec": "json"}

Path = Callable[[Observable[Event]], Observable[Event]]


def _beside_another_subscriber(out: Observable[Event]) -> Observable[Event]:
    """The batch path with another subscriber of ``out``: a server's read then goes
    through ``out``'s dispatch and ``in_`` (alone, ``in_`` takes it in one step)."""
    out.subscribe(lambda _event: None)
    return out


PATHS: dict[str, Path] = {
    "batch": lambda out: out,
    "batch-dispatched": _beside_another_subscriber,
    "per-event": lambda out: out.pipe(ops.map(lambda e: e)),
}


@pytest.fixture(params=sorted(PATHS))
def path(request: pytest.FixtureRequest) -> Path:
    return PATHS[request.param]


def _read_lines(sock: gsocket.socket, n: int, timeout: float = 20.0) -> list[Any]:
    buf = b""
    with gevent.Timeout(timeout):
        while buf.count(b"\n") < n:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
    return [simplejson.loads(line) for line in buf.splitlines()]


def test_the_batch_path_is_taken_only_without_an_operator_between(sock_path: str, path: Path) -> None:
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    path(server.out).subscribe(server.in_)
    batched = any(isinstance(o, Inlet) for o in server.out.batch_observers)
    assert batched == (path is not PATHS["per-event"])


def test_echo_many_clients_each_gets_its_own_replies_in_order(sock_path: str, path: Path) -> None:
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    path(server.out).subscribe(server.in_)
    n, clients = 2000, 6
    with server:
        socks = []
        for _ in range(clients):
            s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            s.connect(sock_path)
            socks.append(s)

        def feed(c: int, s: gsocket.socket) -> None:
            s.sendall(b"".join(b'{"c":%d,"i":%d}\n' % (c, i) for i in range(n)))

        writers = [gevent.spawn(feed, c, s) for c, s in enumerate(socks)]
        replies = [gevent.spawn(_read_lines, s, n) for s in socks]
        gevent.joinall(writers + replies, timeout=30, raise_error=True)
        for c, g in enumerate(replies):
            assert g.value == [{"c": c, "i": i} for i in range(n)]
        for s in socks:
            s.close()


def test_replies_to_the_reading_and_to_another_connection_interleaved(sock_path: str) -> None:
    """Per event, each of A's events is replied to A (its own metadata: gathered with its
    read), to B (routed) and to A again: each gets every reply once, in order, and ``in``
    counts every reply pushed."""
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    metas: dict[str, Any] = {}

    def fan(e: Event) -> Observable[Event]:
        metas.setdefault(e.value["c"], e.meta)
        if e.value["c"] == "b":
            return reactivex.from_iterable([e])
        to_b = e.with_value({"to_b": e.value["i"]}).with_meta(metas["b"])
        return reactivex.from_iterable([e, to_b, e])

    server.out.pipe(ops.flat_map(fan)).subscribe(server.in_)
    n = 3000
    with server:
        a, b = (gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) for _ in range(2))
        b.connect(sock_path)
        b.sendall(b'{"c":"b","i":-1}\n')
        assert _read_lines(b, 1) == [{"c": "b", "i": -1}]
        a.connect(sock_path)
        a.sendall(b"".join(b'{"c":"a","i":%d}\n' % i for i in range(n)))
        got_a, got_b = _read_lines(a, 2 * n), _read_lines(b, n)
        assert got_a == [{"c": "a", "i": i} for i in range(n) for _ in (0, 1)]
        assert got_b == [{"to_b": i} for i in range(n)]
        assert server.stats["in"] == 1 + 3 * n
        a.close()
        b.close()


def test_reads_whose_subscribers_yield_out_of_order_still_get_replies(sock_path: str, path: Path) -> None:
    """A subscriber that blocks (here: until the test releases it) while a read's events
    are emitted lets another connection's read start and finish in between, in any
    order: every connection still gets its replies, then and afterwards."""
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    path(server.out).subscribe(server.in_)
    releases = {"a": gevent.event.Event(), "b": gevent.event.Event()}
    blocked: list[str] = []

    def block(e: Event) -> None:
        if "block" in e.value:
            blocked.append(e.value["block"])
            releases[e.value["block"]].wait()

    server.out.subscribe(block)
    with server:
        a, b = (gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) for _ in range(2))
        a.connect(sock_path)
        b.connect(sock_path)
        try:
            a.sendall(b'{"block":"a"}\n')
            wait_for(lambda: blocked == ["a"], 5, "a's read being emitted")
            b.sendall(b'{"block":"b"}\n')  # b's read starts while a's is still being emitted
            wait_for(lambda: blocked == ["a", "b"], 5, "b's read being emitted")
            releases["a"].set()  # a's read ends while b's is still being emitted
            assert _read_lines(a, 1, timeout=5) == [{"block": "a"}]
            releases["b"].set()
            assert _read_lines(b, 1, timeout=5) == [{"block": "b"}]
        finally:
            for release in releases.values():
                release.set()
        for s, v in ((a, 1), (b, 2), (a, 3)):  # later reads are answered too
            s.sendall(b'{"n":%d}\n' % v)
            assert _read_lines(s, 1, timeout=5) == [{"n": v}]
        a.close()
        b.close()


def test_slow_reader_is_evicted_and_the_others_are_served(sock_path: str, path: Path) -> None:
    server = rxunix.unix_socket_server(path=sock_path, max_pending_bytes=64 * 1024, **LINES)
    path(server.out).subscribe(server.in_)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    with server:
        slow = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        slow.connect(sock_path)
        fast = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        fast.connect(sock_path)
        line = b'{"pad":"' + b"x" * 200 + b'"}\n'
        with gevent.Timeout(30):  # the slow peer never reads its replies
            while not any(e.value["action"] == "write" for e in errors):
                try:
                    slow.sendall(line * 200)
                except OSError:  # evicted while still sending
                    wait_for(lambda: bool(errors), 5, "the eviction report")
        evicted = [e.value for e in errors if e.value["action"] == "write"]
        assert len(evicted) == 1 and "max_pending_bytes" in evicted[0]["error"]
        assert evicted[0]["dropped_bytes"] > 64 * 1024
        fast.sendall(b'{"ok":1}\n')
        assert _read_lines(fast, 1) == [{"ok": 1}]
        wait_for(lambda: len(server.peers) == 1, 5, "the slow peer to be gone")
        slow.close()
        fast.close()


def test_relay_accounting_and_order(short_tmp: str, path: Path) -> None:
    """server -> client -> downstream server: every event written, in order, none twice."""
    up, down = os.path.join(short_tmp, "up.sock"), os.path.join(short_tmp, "down.sock")
    downstream = rxunix.unix_socket_server(path=down, **LINES)
    got: list[Any] = []
    downstream.out.subscribe(lambda e: got.append(e.value))
    relay = rxunix.unix_socket_server(path=up, **LINES)
    client = rxunix.unix_socket_client(path=down, **LINES)
    path(relay.out).subscribe(client.in_)
    n = 5000
    with downstream, relay, client:
        wait_for(lambda: client.connected, 5, "client connect")
        s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        s.connect(up)
        s.sendall(b"".join(b"%d\n" % i for i in range(n)))
        wait_for(lambda: len(got) == n, 20, "relayed events")
        s.close()
    assert got == list(range(n))
    assert client.written == client.pushed == n and client.reported == 0


def test_a_batch_of_replies_with_their_own_metadata_keeps_each_connections_order(sock_path: str) -> None:
    """``in_.on_next_batch`` of replies carrying different metadata (a read's window
    aggregates): each reply reaches the connection(s) its metadata names, and each
    connection gets its replies in the batch's order, one naming two reaching both."""
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    seen: list[Event] = []
    server.out.subscribe(seen.append)
    with server:
        a, b = (gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) for _ in range(2))
        for s, name in ((a, b"a"), (b, b"b")):
            s.connect(sock_path)
            s.sendall(b'"%s"\n' % name)
            wait_for(lambda n=len(seen): len(seen) == n + 1, 5, "the hello")
        ma, mb = seen[0].meta, seen[1].meta
        both = rxunix.merge_origins([seen[0], seen[1]])
        agg_a = [Event(i, rxunix.merge_origins([seen[0]])) for i in range(3)]  # a fresh mapping each
        server.in_.on_next_batch([agg_a[0], Event("ab", both), agg_a[1], Event("b", mb), Event("a", ma), agg_a[2]])
        assert _read_lines(a, 5) == [0, "ab", 1, "a", 2]
        assert _read_lines(b, 2) == ["ab", "b"]
        a.close()
        b.close()


@pytest.mark.parametrize("meta", ["the connection's own", "an aggregate's each"])
def test_a_batch_handed_to_in_outside_a_read_is_written_at_once(sock_path: str, meta: str) -> None:
    """Replies given to ``in_`` as a batch by code outside any read (a timer, another
    greenlet) are written then, not left queued until the connection reads again:
    with one shared metadata object (taken in one step) and with a mapping each
    (taken as a run of one connection's replies)."""
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    seen: list[Event] = []
    server.out.subscribe(seen.append)
    with server:
        sock = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        sock.connect(sock_path)
        sock.sendall(b'"hello"\n')
        wait_for(lambda: len(seen) == 1, 5, "the hello")
        own = seen[0].meta

        def reply(i: int) -> Event:
            return Event(i, own if meta == "the connection's own" else rxunix.merge_origins([seen[0]]))

        gevent.spawn(server.in_.on_next_batch, [reply(1), reply(2)]).join()
        assert _read_lines(sock, 2, timeout=5) == [1, 2]
        assert server.stats["in"] == 2
        sock.close()
