"""In-process server helpers for the stress suite (gevent sockets: works unpatched and patched)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
from gevent import socket as gsocket
from rxunix.connectors.server import UnixSocketServer, unix_socket_server
from rxunix.event import Event
from rxunix.origin import SERVER

from ..helpers import wait_for


def peer_of(event: Event) -> Any:
    rec = event.meta.get(SERVER)
    return rec.get("peer") if isinstance(rec, dict) or hasattr(rec, "get") else None


class Recorder:
    """Everything a server emits, in order: ``(peer, "value"|action, value or error kind)``."""

    def __init__(self, server: UnixSocketServer, echo: Callable[[Event], bool] | None = None) -> None:
        self.server = server
        self.items: list[tuple[Any, str, Any]] = []
        self.errors: list[Event] = []
        self.values = 0
        self.completed = False
        self._echo = echo
        server.out.subscribe(self._on_out, on_completed=self._done)
        server.err.subscribe(self._on_err)

    def _on_out(self, ev: Event) -> None:
        self.values += 1
        self.items.append((peer_of(ev), "value", ev.value))
        if self._echo is not None and self._echo(ev):
            self.server.in_.on_next(ev)

    def _on_err(self, ev: Event) -> None:
        self.errors.append(ev)
        self.items.append((ev.value.get("stream"), ev.value.get("action"), ev.value.get("kind")))

    def _done(self) -> None:
        self.completed = True

    def of(self, peer: Any) -> list[tuple[str, Any]]:
        return [(what, x) for p, what, x in self.items if p == peer]

    def actions(self, action: str) -> list[Event]:
        return [e for e in self.errors if e.value.get("action") == action]


@contextmanager
def running(path: str, echo: Callable[[Event], bool] | None = None, **options: Any) -> Iterator[Recorder]:
    """A started server with a :class:`Recorder`; stopped (and checked removed) at exit."""
    options.setdefault("codec", "json")
    options.setdefault("preprocessors", ["separate"])
    options.setdefault("postprocessors", ["separate"])
    config = {"path": path, **options.pop("config", {})}
    server = unix_socket_server(config=config, **options)
    rec = Recorder(server, echo)
    server.start()
    try:
        yield rec
    finally:
        server.stop(timeout=10)
        assert not os.path.exists(path), "socket file left behind after stop()"


def connect(path: str, server: UnixSocketServer | None = None, timeout: float = 10) -> tuple[Any, Any]:
    """A gevent client socket; with ``server``, also the peer id the server gave it."""
    before = set(server.peers) if server is not None else set()
    s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    s.connect(path)
    if server is None:
        return s, None
    new: list[int] = []

    def appeared() -> bool:
        new[:] = sorted(set(server.peers) - before)
        return bool(new)

    wait_for(appeared, timeout, "the server to accept")
    return s, new[-1]


def recv_lines(sock: Any, n: int, timeout: float = 10) -> list[bytes]:
    """Read until ``n`` complete lines arrived."""
    buf = b""
    with gevent.Timeout(timeout, AssertionError(f"timed out waiting for {n} lines")):
        while buf.count(b"\n") < n:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
    return buf.split(b"\n")[:n]


def is_gone(server: UnixSocketServer, peer: int) -> Callable[[], bool]:
    return lambda: peer not in server.peers


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))
