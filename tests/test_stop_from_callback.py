"""``stop()`` called from a connector's own callbacks (stopping on an ``"exit"`` event):
it returns at once, the stop drains as usual once the callback returns, and nothing is
left open or cut short. Over real unix sockets."""

from __future__ import annotations

import os
import time
from typing import Any

import gevent
import gevent.event
from gevent import socket

import rxunix
from rxunix import Event
from rxunix.edge.base import Connector
from rxunix.edge.runtime import ThreadRuntime
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


class SlowStop(Connector):
    """A connector whose drain takes a while and reports an error on the way."""

    kind = "slow"

    def __init__(self) -> None:
        super().__init__()
        self.draining = gevent.event.Event()
        self.finish = gevent.event.Event()

    def _start(self) -> None: ...

    def _receive(self, event: Event) -> None: ...

    def _stop(self, timeout: float | None) -> None:
        self.draining.set()
        self._error("not delivered", "write")  # its err subscriber may call stop() again
        self.finish.wait(10)


def test_a_second_stop_while_one_drains_waits_for_it() -> None:
    c = SlowStop().start()
    first = gevent.spawn(c.stop)
    c.draining.wait(5)
    second = gevent.spawn(c.stop)
    # the second stop waits for the connector to be stopped (it does not return early)
    wait_for(lambda: c._stopped.linkcount() > 0, 5, "the second stop to wait for the first")
    assert not second.dead and c.state == "stopping"
    c.finish.set()
    assert second.get(timeout=5) is None and first.get(timeout=5) is None and c.state == "stopped"


def test_a_stop_from_a_callback_of_the_stop_itself_returns_at_once() -> None:
    c = SlowStop().start()
    took: list[float] = []

    def on_error(_: Event) -> None:  # runs inside the drain
        t0 = time.monotonic()
        c.stop(timeout=None)  # waiting for the drain it runs in would never end
        took.append(time.monotonic() - t0)

    c.err.subscribe(on_error)
    stopper = gevent.spawn(c.stop)
    c.draining.wait(5)
    assert took and took[0] < 1.0
    c.finish.set()
    stopper.get(timeout=5)
    assert c.state == "stopped"


def test_a_stop_from_an_err_callback_on_a_thread_runtime(sock_path: str) -> None:
    runtime = ThreadRuntime()
    try:
        server = rxunix.unix_socket_server(path=sock_path, runtime=runtime)
        outcome: list[str] = []

        def on_error(_: Event) -> None:  # a route error, reported on the hub (handed in from this thread)
            try:
                server.stop()
                outcome.append("returned")
            except BaseException as exc:  # noqa: BLE001 - what the test looks for
                outcome.append(f"{type(exc).__name__}: {exc}")

        server.err.subscribe(on_error)
        server.start()
        server.in_.on_next(Event(1))  # names no connection
        assert server.join(10) and outcome == ["returned"] and server.state == "stopped"
    finally:
        runtime.close()
