"""The listening sockets the workers' supervisor binds once for all its workers, and removes once.

Every stream server's socket is bound as the server itself would bind it
(:func:`rxunix.edge.listen.listen_socket`: path safety, mode, stale sockets,
``@abstract`` names, ``systemd``), each with its row in the workers' accept
table; with windows across workers, also the aggregator's private link socket.
The workers inherit them (:mod:`.worker_process`). What workers cannot share
(a datagram server, a file source reading stdin) is refused here. At the end
each path still ours is unlinked, by the supervisor only.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from gevent import socket as gsocket

from ..core.address import MAX_PATH_BYTES
from ..core.origin import DGRAM_SERVER, SERVER
from ..edge.balance import AcceptTable
from ..edge.listen import Listening, close_listening, listen_socket

__all__ = ["WorkerSockets"]


@dataclass
class _Bound:
    """A listening socket the supervisor bound for its workers."""

    path: str
    kind: int
    listening: Listening
    row: int | None = None  # its row in the workers' accept table (servers' sockets)


class WorkerSockets:
    """Binds and removes the workers' listening sockets; a mixin of :class:`~rxunix.app.workers.Supervisor`."""

    runner: Any
    count: int
    windows: list[Any]
    #: The sockets bound, in the order of the servers (then the aggregator's link).
    bound: list[_Bound]
    #: Each worker's open connections on each server socket: connections go to the least-loaded.
    accepts: AcceptTable | None
    link_path: str
    _link_dir: str | None

    def _bind(self) -> bool:
        """Bind every stream server's socket (as the server itself would); False after a failure."""
        for entry in self.runner.entries:
            conn = entry.connector
            if conn.kind == DGRAM_SERVER:
                self.runner.log(f"error: {entry.name}: a datagram server cannot be shared by workers "
                                "(one client's datagrams would be spread over them, out of order)")
                return False
            if conn.kind == "read_file" and getattr(conn, "path", None) == "-":
                self.runner.log(f"error: {entry.name}: stdin cannot be shared by workers (each would read parts)")
                return False
            if conn.kind != SERVER or not entry.start:
                continue
            try:
                ls = listen_socket(conn.path, gsocket.SOCK_STREAM, conn.config["permissions"],
                                   backlog=conn.config["backlog"], systemd=conn.config["systemd"] or False)
            except Exception as exc:
                self.runner.log(f"{entry.name}: cannot start: {exc}")
                return False
            self.bound.append(_Bound(conn.path, gsocket.SOCK_STREAM, ls, row=len(self.bound)))
        self.accepts = AcceptTable(len(self.bound), self.count)
        if self.windows:  # the aggregator's internal socket, private to this run
            try:
                self._link_dir = _private_dir()
                self.link_path = os.path.join(self._link_dir, "link.sock")
                ls = listen_socket(self.link_path, gsocket.SOCK_STREAM, "=600")
            except Exception as exc:
                self.runner.log(f"across-workers: cannot start the aggregator's socket: {exc}")
                return False
            self.bound.append(_Bound(self.link_path, gsocket.SOCK_STREAM, ls))
        return True

    def _remove_sockets(self) -> None:
        """Close the supervisor's listening sockets and unlink each path that is still ours (once)."""
        bound, self.bound = self.bound, []
        for b in bound:
            try:
                close_listening(b.path, b.listening)
            except OSError as exc:
                self.runner.log(f"{b.path}: cannot remove the socket: {exc}")
        if self._link_dir is not None:
            try:
                os.rmdir(self._link_dir)
            except OSError as exc:
                self.runner.log(f"{self._link_dir}: cannot remove the directory: {exc}")
            self._link_dir = None


def _private_dir() -> str:
    """A new directory only this user can enter, for the aggregator's socket: in the
    temporary directory, or in ``/tmp`` when the temporary directory's path is too long
    for a socket path in it (108 bytes)."""
    made = tempfile.mkdtemp(prefix="rx-agg-")
    if len(os.fsencode(os.path.join(made, "link.sock"))) <= MAX_PATH_BYTES or not os.path.isdir("/tmp"):
        return made
    os.rmdir(made)
    return tempfile.mkdtemp(prefix="rx-agg-", dir="/tmp")
