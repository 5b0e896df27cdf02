"""Server ``max_connections``: at the limit it stops accepting; waiting connections are served later."""

from __future__ import annotations

from typing import Any

import gevent
import gevent.event
import pytest
from gevent import socket

import rxunix
from rxunix import ConfigError, Event
from tests.helpers import record_results, wait_for

LIMIT, EXTRA = 3, 5


def _client(path: str, k: int, release: gevent.event.Event, echoed: list[int]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)  # returns at once: the connection waits in the backlog
        s.sendall(b'{"k":%d}\n' % k)
        reply = b""
        while not reply.endswith(b"\n"):
            data = s.recv(100)
            assert data, f"client {k}: closed without a reply"
            reply += data
        echoed.append(k)
        release.wait()


def test_limit_plus_five_clients_are_all_served_never_more_than_the_limit(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, preprocessors=["separate"], postprocessors=["separate"],
                                       max_connections=LIMIT)
    notices: list[Event] = []
    others: list[Event] = []
    server.err.subscribe(lambda e: (notices if e.value["action"] == "limit" else others).append(e))
    server.out.subscribe(server.in_)
    most = [0]

    def watch() -> None:
        while True:
            most[0] = max(most[0], len(server.peers))
            gevent.sleep(0)

    server.start()
    watcher = gevent.spawn(watch)
    releases = [gevent.event.Event() for _ in range(LIMIT + EXTRA)]
    echoed: list[int] = []
    clients = [gevent.spawn(_client, sock_path, k, releases[k], echoed) for k in range(LIMIT + EXTRA)]
    try:
        wait_for(lambda: len(echoed) == LIMIT and len(notices) == 1, 10, "the limit reached, one notice")
        assert len(server.peers) == LIMIT and server.stats["connections"] == LIMIT
        assert notices[0].value["max_connections"] == LIMIT and "backlog" in notices[0].value["error"]
        served = 0
        while served < LIMIT + EXTRA:  # close the served ones, one at a time: a waiting one takes its place
            k = echoed[served]
            releases[k].set()
            served += 1
            want = min(served + LIMIT, LIMIT + EXTRA)
            wait_for(lambda want=want: len(echoed) == want, 10, "a waiting client served")
        gevent.joinall(clients, raise_error=True, timeout=10)
        wait_for(lambda: not server.peers, 10, "every connection closed")
    finally:
        for r in releases:
            r.set()
        watcher.kill()
        server.stop()
    assert sorted(echoed) == list(range(LIMIT + EXTRA))
    assert most[0] == LIMIT  # never more than the limit at once
    assert len(notices) == EXTRA  # one per pause with a connection waiting, not one per attempt
    assert others == []


def test_unlimited_by_default_and_checked(sock_path: str) -> None:
    assert rxunix.unix_socket_server(path=sock_path).config["max_connections"] is None
    for bad in (0, -2, "3", 1.5):
        with pytest.raises(ConfigError, match="max_connections"):
            rxunix.unix_socket_server(path=sock_path, max_connections=bad)


def test_limit_reached_without_waiters_says_nothing(sock_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from rxunix.edge import limits

    # the server's backlog checks while at its limit, and what they found
    checks = record_results(monkeypatch, limits, "pending_connection")
    server = rxunix.unix_socket_server(path=sock_path, max_connections=1)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    server.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(sock_path)
            wait_for(lambda: len(server.peers) == 1, 5, "the connection")
            wait_for(lambda: len(checks) >= 3, 5, "several backlog checks at the limit")
            assert not any(checks)  # nobody waits...
            assert errors == []  # ...so no notice
    finally:
        server.stop()
