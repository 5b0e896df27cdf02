"""Listening sockets a supervisor bound for its worker processes (``rxunix run --workers``).

A supervising parent binds each server's socket once (path safety, permissions,
stale-socket rules: :func:`rxunix.edge.listen.listen_socket`) and forks its
workers. In a worker, :func:`adopt` registers each inherited listening file
descriptor under its server's ``(path, socket type)``; a server of that path
then takes it (:func:`take`) instead of binding, and never unlinks the path
(the parent removes it, once); with it, the worker's slot in the workers'
accept table (:func:`take_share`, :mod:`rxunix.edge.balance`), so that each
connection goes to the least-loaded worker. :func:`set_worker` records
the worker's number, which servers add to each connection's metadata
(:func:`worker_meta`)::

    >>> from gevent import socket
    >>> take("/tmp/rx-nothing.sock", socket.SOCK_STREAM) is None
    True
    >>> worker_meta()
    {}

Outside a worker nothing is registered and servers bind as usual.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["adopt", "take", "take_share", "set_worker", "current_worker", "worker_meta"]

_FDS: dict[tuple[str, int], int] = {}
_SHARES: dict[tuple[str, int], Any] = {}
_WORKER: dict[str, int] = {}
_NONE: Mapping[str, int] = {}


def adopt(path: str, kind: int, fd: int, share: Any = None) -> None:
    """Register the inherited listening socket ``fd`` for the server of ``path`` and socket type ``kind``.

    ``share``: this worker's :class:`~rxunix.edge.balance.AcceptShare` of the socket, if any.
    """
    _FDS[(path, kind)] = fd
    if share is not None:
        _SHARES[(path, kind)] = share


def take_share(path: str, kind: int) -> Any:
    """The accept share registered with ``(path, kind)``, or None; taken once."""
    return _SHARES.pop((path, kind), None)


def take(path: str, kind: int) -> int | None:
    """The file descriptor registered for ``(path, kind)``, or None; taken once.

    The caller owns it: once the server closes it, this worker holds no copy of
    the listening socket any more (so when every worker has stopped accepting,
    new connections are refused instead of waiting in a backlog nobody reads).
    """
    return _FDS.pop((path, kind), None)


def set_worker(number: int | None) -> None:
    """Mark this process as worker ``number`` (None: not a worker)."""
    _WORKER.clear()
    if number is not None:
        _WORKER["worker"] = number


def current_worker() -> int | None:
    """This process's worker number, or None outside a worker."""
    return _WORKER.get("worker")


def worker_meta() -> Mapping[str, int]:
    """``{"worker": N}`` inside worker N, else ``{}``: merged into connection records."""
    return dict(_WORKER) if _WORKER else _NONE
