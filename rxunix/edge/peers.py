"""The edge side of one accepted stream connection: its socket, its greenlets, its core.

A :class:`PeerConnection` holds what only the gevent edge needs (the socket,
the reader and writer greenlets, their wake-ups); every decision about the
connection is its :class:`~rxunix.core.server_conn.ServerConn`'s.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
from gevent import monkey
from gevent import socket as gsocket

from ..core.event import Event
from ..core.origin import FrozenRecord
from ..core.server_conn import ServerConn

__all__ = ["PeerConnection", "ServerPart", "next_peer_id", "peer_credentials", "peer_gone"]

#: Peer ids: one counter per process, never reused (also across listener restarts).
_PEERS = itertools.count(1)
_CRED = struct.Struct("3i")
_SO_PEERCRED: int = getattr(gsocket, "SO_PEERCRED", 17)
_poll = monkey.get_original("select", "poll")


def next_peer_id() -> int:
    """A peer id never used before in this process."""
    return next(_PEERS)


def peer_credentials(sock: Any) -> tuple[int | None, int | None, int | None]:
    """``(pid, uid, gid)`` of the peer from ``SO_PEERCRED`` (Nones where the kernel gives none)."""
    try:
        pid, uid, gid = _CRED.unpack(sock.getsockopt(gsocket.SOL_SOCKET, _SO_PEERCRED, _CRED.size))
    except (OSError, struct.error):
        return None, None, None
    return pid, uid, gid


class ServerPart:
    """What the parts of a stream server (its mixins) use of it, declared once: its
    path, counters, live connections (by peer id and by origin record) and error report."""

    path: str
    stats: Any
    _conns: dict[int, PeerConnection]
    _by_record: dict[int, PeerConnection]
    _error: Callable[..., None]


class PeerConnection:
    """One accepted connection at the edge (hub thread only)."""

    __slots__ = ("sock", "raw", "peer", "record", "core", "wake", "done", "reader", "writer", "writing", "ended",
                 "evicted", "deferred", "paused", "room")

    def __init__(self, sock: Any, peer: int, record: FrozenRecord, core: ServerConn) -> None:
        self.sock = sock
        self.raw = getattr(sock, "_sock", sock)  # the non-blocking stdlib socket under gevent's
        self.peer = peer
        self.record = record
        self.core = core
        self.wake = gevent.event.Event()  # the writer has something to do
        self.done = gevent.event.Event()  # the connection is over, or the server stops
        self.reader: gevent.Greenlet | None = None
        self.writer: gevent.Greenlet | None = None
        self.writing = False  # the writer greenlet is inside a blocking send
        self.ended = False  # the socket is closed and the connection forgotten
        self.evicted = False  # closed by the server for not reading its replies (mid-frame: no tail)
        #: replies gathered during a read, encoded together at its end (None: not gathering)
        self.deferred: list[Event] | None = None
        self.paused = False  # the reader waits for its unsent replies to shrink
        self.room = gevent.event.Event()  # set when a paused reader may go on


def peer_gone(conn: PeerConnection) -> bool:
    """True once the peer has closed fully (or the connection ended): a poll without waiting."""
    if conn.ended:
        return True
    p = _poll()
    try:
        p.register(conn.sock.fileno(), 0)
        return bool(p.poll(0))
    except (OSError, ValueError):
        return True
