"""The connections of ``unix_socket_server``: accepted, opened, ended.

* The accept loop takes a connection when there is room (``max_connections``;
  one ``"limit"`` notice per pause) and, in a worker, when it is this worker's
  turn (:class:`~rxunix.edge.balance.AcceptShare`); a failed accept is reported
  (action ``"accept"``) and retried after a growing pause (10 ms to 1 s).
* Each connection is opened with its peer id, ``SO_PEERCRED`` credentials,
  frozen metadata record, sans-I/O core (:class:`~rxunix.core.server_conn.ServerConn`)
  and its reader and writer greenlets.
* Closing the listener (at stop) takes the connections already in the backlog
  first (they are drained like the others) and frees the path if it is still ours.
* Ending a connection forgets it, closes its socket (which wakes its greenlets)
  and emits its ``closed`` notice; ending it twice does nothing.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import gevent
from reactivex.subject import Subject

from ..core.balance import ABSENT
from ..core.event import Event
from ..core.framing import DecoderFactory, EncoderFactory
from ..core.origin import SERVER, FrozenRecord
from ..core.server_conn import ServerConn
from .balance import AcceptShare
from .limits import ConnectionLimit
from .listen import worker_meta
from .peers import PeerConnection, ServerPart, next_peer_id, peer_credentials
from .sockbuf import apply_send_buffer
from .sockpath import SocketIdentity, remove_if_ours

__all__ = ["Acceptor"]


class Acceptor(ServerPart):
    """Accepting, opening and ending the connections of a stream server (hub thread only); a mixin of the server."""

    _listener: Any
    _ident: SocketIdentity | None
    _acceptor: gevent.Greenlet | None
    _share: AcceptShare | None
    _stopping: bool
    _limit: ConnectionLimit
    _listener_meta: Mapping[str, Any]
    _send_buffer: int | None
    _allow_uids: frozenset[int] | None
    _decoders: DecoderFactory
    _encoders: EncoderFactory
    _max_pending: int
    _closed: Subject[Event]
    _spawn: Callable[..., gevent.Greenlet]
    _read_loop: Callable[[PeerConnection], None]
    _write_loop: Callable[[PeerConnection], None]
    _drop_deferred: Callable[[PeerConnection], None]

    def _close_listener(self) -> None:
        """Stop accepting; connections already in the backlog are taken (and drained); the path is freed."""
        if self._acceptor is not None:
            self._acceptor.kill()
            self._acceptor = None
        if self._listener is not None:
            self._accept_backlog(self._listener)
            self._listener.close()
            self._listener = None
        if self._share is not None:
            self._share.publish(ABSENT)
            self._share = None
        if self._ident is not None:
            remove_if_ours(self.path, self._ident)
            self._ident = None

    def _accept_loop(self, listener: Any) -> None:
        backoff = 0.0
        while True:
            self._limit.wait_for_room(self._conns.__len__, listener.fileno(), self._limit_notice)
            if self._share is not None:
                self._share.wait_turn(listener.fileno())
            try:
                sock, _ = listener.accept()
            except OSError as exc:
                if self._stopping or listener.fileno() < 0:
                    return
                if exc.errno in (errno.EAGAIN, errno.EINTR, errno.ECONNABORTED):
                    continue
                self._error(exc, "accept", self.path, self._listener_meta)
                backoff = min(max(backoff * 2, 0.01), 1.0)
                gevent.sleep(backoff)
                continue
            backoff = 0.0
            self._open(sock)

    def _limit_notice(self, limit: int) -> None:
        self._error(f"max_connections {limit} reached: new connections wait in the backlog until one closes",
                    "limit", self.path, self._listener_meta, max_connections=limit)

    def _accept_backlog(self, listener: Any) -> None:
        listener.settimeout(0.0)
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            sock.settimeout(None)
            self._open(sock)

    def _open(self, sock: Any) -> None:
        peer = next_peer_id()
        if self._send_buffer is not None and (problem := apply_send_buffer(sock, self._send_buffer)):
            self._error(problem, "accept", peer, self._listener_meta, send_buffer_bytes=self._send_buffer)
        pid, uid, gid = peer_credentials(sock)
        if self._allow_uids is not None and uid not in self._allow_uids:  # fails closed (uid None too)
            sock.close()
            self.stats["refused"] += 1
            self._error(f"connection refused: peer uid {uid} (pid {pid}) is not in allow_uids", "accept",
                        peer, self._listener_meta, uid=uid, pid=pid, gid=gid)
            return
        record = FrozenRecord(path=self.path, peer=peer, pid=pid, uid=uid, gid=gid, **worker_meta())
        core = ServerConn(self._decoders(), self._encoders(), meta=MappingProxyType({SERVER: record}),
                          max_pending=self._max_pending)
        conn = PeerConnection(sock, peer, record, core)
        self._conns[peer] = conn
        self._by_record[id(record)] = conn
        self.stats["connections"] += 1
        self._publish_count()
        conn.writer = self._spawn(self._write_loop, conn)
        conn.reader = self._spawn(self._read_loop, conn)

    def _publish_count(self) -> None:
        if self._share is not None:
            self._share.publish(len(self._conns))

    def _end(self, conn: PeerConnection) -> None:
        """Forget and close a connection (idempotent); its greenlets end by themselves."""
        if conn.ended:
            return
        conn.ended = True
        self._drop_deferred(conn)
        if conn.core.unsent:  # replies to what was read after writing had failed
            self._error(f"{conn.core.unsent} reply bytes not sent: writing to the peer had failed", "write",
                        conn.peer, conn.core.meta, dropped_bytes=conn.core.unsent)
        conn.core.close()
        self._conns.pop(conn.peer, None)
        self._by_record.pop(id(conn.record), None)
        try:
            conn.sock.close()  # wakes a reader/writer blocked on it
        except OSError:
            pass
        conn.wake.set()
        conn.done.set()
        conn.room.set()
        self.stats["closed"] += 1
        self._limit.freed()
        self._publish_count()
        try:
            self._closed.on_next(Event(None, conn.core.meta))
        except Exception as exc:  # a subscriber failed: report, keep going
            self._error(exc, "emit", conn.peer, conn.core.meta)
