"""``stop()`` called from a connector's own callbacks (stopping on an ``"exit"`` event):
it returns at once, the stop drains as usual once the callback returns, and nothing is
left open or cut short. Over real unix sockets."""

from __future__ import annotations

import os
import time
from typing import Any

import gevent
from gevent import socket

import rxunix
from rxunix import Event
from tests.helpers import recv_exactly, wait_for

LINES = b'1\n2\n"exit"\n3\n'


def stop_on_exit(connector: Any, returned: list[float]) -> None:
    def on_event(event: Event) -> None:
        if event.value == "exit":
            t0 = time.monotonic()
            connector.stop()
            returned.append(time.monotonic() - t0)  # the callback goes on after stop()

    connector.out.subscribe(on_event)


def test_a_server_stopped_by_its_own_subscriber_drains_and_closes(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, preprocessors=["separate"], postprocessors=["separate"])
    server.out.subscribe(server.in_)
    returned: list[float] = []
    stop_on_exit(server, returned)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    server.start()
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(sock_path)
    peer.sendall(LINES)  # one read: the events after "exit" are still emitted and answered
    assert recv_exactly(peer, len(LINES)) == LINES
    assert server.join(5) and returned and returned[0] < 1.0
    with gevent.Timeout(5):
        assert peer.recv(100) == b""  # the connection is closed, not left open
    assert server.state == "stopped" and not server.peers and not errors
    assert not os.path.exists(sock_path)


def test_a_client_stopped_by_its_own_subscriber_stops_at_once(sock_path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    client = rxunix.unix_socket_client(path=sock_path, preprocessors=["separate"], postprocessors=["separate"])
    returned: list[float] = []
    stop_on_exit(client, returned)
    got: list[Any] = []
    client.out.subscribe(lambda e: got.append(e.value))
    client.start()
    conn, _ = listener.accept()
    conn.sendall(LINES)
    assert client.join(5) and returned and returned[0] < 1.0
    assert got == [1, 2, "exit", 3] and client.state == "stopped"
    with gevent.Timeout(5):
        assert conn.recv(100) == b""
    listener.close()


def test_a_datagram_server_stopped_by_its_own_subscriber(short_tmp: str, sock_path: str) -> None:
    server = rxunix.unix_datagram_server(path=sock_path, preprocessors=["separate"], postprocessors=["separate"])
    server.out.subscribe(server.in_)
    returned: list[float] = []
    stop_on_exit(server, returned)
    server.start()
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    peer.bind(os.path.join(short_tmp, "peer"))
    peer.sendto(LINES, sock_path)  # one datagram
    assert server.join(5) and returned and returned[0] < 1.0
    with gevent.Timeout(5):  # one reply datagram per event, those after "exit" too
        assert [peer.recv(100) for _ in range(4)] == LINES.splitlines(keepends=True)


def test_a_second_stop_while_one_drains_waits_for_it(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, preprocessors=["separate"])
    returned: list[float] = []
    stop_on_exit(server, returned)
    server.start()
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(sock_path)
    peer.sendall(b'"exit"\n')
    wait_for(lambda: returned, what="the stop from the callback")
    server.stop()  # from elsewhere, while (or after) the first one drains
    assert server.state == "stopped"
