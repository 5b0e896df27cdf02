"""``unix_socket_server``: a gevent unix socket server as Rx observables (SPEC 3).

Every accepted connection is its own stream (own framing and codec state). Its
events carry the frozen record ``meta["unix_socket_server"] = {"path", "peer",
"pid", "uid", "gid"}`` (``peer`` is never reused in this process; ``pid/uid/gid``
come from ``SO_PEERCRED``).
Events pushed into ``in_`` are replies, routed back by that metadata. Echo::

    >>> import rxunix
    >>> server = rxunix.unix_socket_server(
    ...     config={"path": "/tmp/rx-echo.sock", "permissions": "=600", "buf_size": 1024},
    ...     codec="json", preprocessors=["separate"], postprocessors=["separate"])
    >>> subscription = server.out.subscribe(server.in_)
    >>> # server.start() ... server.stop()   (or: with server: ...)

Tremor's whole connector dict is accepted as is, and keyword shortcuts for the
``config`` keys too::

    >>> s = rxunix.unix_socket_server(**{"codec": "json", "preprocessors": ["separate"],
    ...                                  "config": {"path": "/tmp/rx-doc.sock"}})
    >>> s.config["buf_size"], rxunix.unix_socket_server(path="/tmp/rx-doc.sock").path
    (8192, '/tmp/rx-doc.sock')

Config keys (``config={...}``, checked by :mod:`rxunix.core.connector_options`):
``path`` (required; ``@name``: the Linux abstract namespace), ``permissions``,
``buf_size`` (8192), ``max_pending_bytes`` (16 MiB: a connection with more
unsent reply bytes is closed and reported, action ``"write"``),
``pause_reading_bytes`` (0: never pause; else below ``max_pending_bytes``: while a
connection has more unsent reply bytes, the server reads nothing more from it
until half of them are written, so a peer that sends faster than it reads its
replies waits, as on a pipe, instead of being evicted), ``backlog``
(1024), ``systemd`` (socket activation), ``max_connections`` (unlimited: at
the limit new connections wait in the backlog; one ``"limit"`` notice per pause)
``send_buffer_bytes`` (the kernel's send buffer of each connection, see
:mod:`rxunix.edge.sockbuf`; default: the kernel's) and ``allow_uids`` (a list
of uids: a connection from any other uid, as ``SO_PEERCRED`` tells, is closed
when accepted, before anything it sent is read, and reported, action
``"accept"``; default: any uid the socket's permissions let in).
Reading pauses while a flow-control link holds ``gate`` (:func:`rxunix.connect`).

The decisions about one connection (framing, reply accounting, slow-reader
eviction, half-close and drain) are made by its sans-I/O core,
:class:`~rxunix.core.server_conn.ServerConn`; this module moves bytes between
the kernel and the cores:

* a reader greenlet receives ``buf_size`` bytes at a time; the core turns the
  chunk into one :class:`~rxunix.core.event.EventBatch`, emitted on ``out`` in
  one call (batch observers such as ``in_`` take it whole); decode failures go
  to ``err`` (action ``"decode"``) and the connection stays up;
* replies to one connection are encoded with one call per batch; everything a
  read's subscribers replied goes out in one write at the end of the read (at
  once when a reply comes from elsewhere); a writer greenlet per connection
  finishes writes the socket could not take at once;
* on EOF the preprocessors' tails are flushed as final events; a peer that only
  half-closed keeps receiving replies until it closes fully (checked every
  :data:`HALF_CLOSE_POLL` seconds) or the server stops;
* ``stop()`` drains: stops accepting (the backlog is taken and drained too),
  removes the socket file if it is still ours, lets every reader flush its
  tails, completes ``out`` (a window on it flushes its partial windows, and
  their replies still reach the connections), writes pending replies within
  the stop timeout (the rest is reported on ``err``), closes everything and
  completes ``err``.

Error actions on ``err``: ``decode``, ``encode``, ``read``, ``write``, ``route``,
``accept``, ``emit`` (a subscriber of ``out`` raised), ``limit``.
"""

from __future__ import annotations

import errno
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import gevent
import gevent.event
from gevent import socket as gsocket
from reactivex import Observable
from reactivex.subject import Subject

from ..core.connector_options import parse_server_options
from ..core.errors import SlowReaderError, UnroutableError
from ..core.event import Event, EventBatch
from ..core.framing import DecoderFactory, EncoderFactory
from ..core.origin import SERVER, FrozenRecord
from ..core.registry import Spec
from .accept import Acceptor
from .balance import AcceptShare
from .base import Connector
from .gcpause import MIN_BYTES as GC_PAUSE_BYTES
from .gcpause import GcPause
from .limits import ConnectionLimit
from .listen import check_listen_config, listen_socket
from .peers import PeerConnection, peer_gone
from .prebound import take_share
from .replies import ReplyWriter
from .runtime import Runtime
from .sockbuf import check_send_buffer
from .sockpath import SocketIdentity
from .turns import Turns

__all__ = ["UnixSocketServer", "unix_socket_server", "UnroutableError", "SlowReaderError", "HALF_CLOSE_POLL"]

#: Seconds between checks whether a half-closed peer has closed fully.
HALF_CLOSE_POLL = 0.5


class UnixSocketServer(ReplyWriter, Acceptor, Connector):
    """The ``unix_socket_server`` connector; build it with :func:`unix_socket_server`.

    ``out``: received events; ``err``: error events; ``in_``: replies (also
    whole batches, see :mod:`rxunix.edge.ports`). See the module documentation.
    """

    kind = SERVER
    pausable = True
    metered = {"events_in": "in", "events_out": "out", "events_err": "errors", "bytes_read": "bytes_read",
               "bytes_written": "bytes_written", "connections_opened": "connections",
               "connections_closed": "closed"}

    def __init__(self, config: Mapping[str, Any] | None = None, /, **options: Any) -> None:
        opts, cfg = parse_server_options(config, options)
        self._decoders = DecoderFactory(opts["preprocessors"] or [], opts["codec"])
        self._encoders = EncoderFactory(opts["codec"], opts["postprocessors"] or [])
        self._systemd = check_listen_config(cfg["path"], cfg["permissions"], cfg["systemd"])
        # the counters every read moves, as ints (an item of a Counter costs a few times more):
        # ``stats`` writes them in when it is read
        self._n_bytes_read = self._n_out = self._n_in = self._n_bytes_written = 0
        super().__init__(runtime=opts["runtime"], metrics_interval_s=opts["metrics_interval_s"])
        self._closed: Subject[Event] = Subject()
        #: The validated configuration (read-only).
        self.config: Mapping[str, Any] = MappingProxyType(cfg)
        self.path: str = cfg["path"]
        self._buf_size: int = cfg["buf_size"]
        self._max_pending: int = cfg["max_pending_bytes"]
        self._pause_at: int = cfg["pause_reading_bytes"]
        self._resume_at: int = self._pause_at // 2
        self._limit = ConnectionLimit(cfg["max_connections"])
        check_send_buffer(SERVER, cfg["send_buffer_bytes"])
        self._send_buffer: int | None = cfg["send_buffer_bytes"]
        self._allow_uids: frozenset[int] | None = cfg["allow_uids"]
        self._conns: dict[int, PeerConnection] = {}
        self._by_record: dict[int, PeerConnection] = {}
        self._dirty: list[PeerConnection] = []
        self._batching: dict[Any, int] = {}  # greenlets emitting a received chunk: how deeply nested
        self._reading: PeerConnection | None = None  # the connection whose chunk was emitted last
        self._reading_meta: Any = None  # and that connection's metadata
        self._listener: Any = None
        self._ident: SocketIdentity | None = None
        self._acceptor: gevent.Greenlet | None = None
        self._share: AcceptShare | None = None  # a worker's slot: connections go to the least-loaded worker
        self._stopping = False
        self._listener_meta: Mapping[str, Any] = MappingProxyType({SERVER: FrozenRecord(path=self.path)})

    # ---- introspection ----------------------------------------------------
    @property
    def closed(self) -> Observable[Event]:
        """One event per closed connection (value ``None``, that connection's metadata).

        Feed it to a per-connection window's ``release`` so its group does not
        outlive the connection::

            window = tumbling_count(10, key=connection_key, release=server.closed)
        """
        return self._closed

    def close_peer(self, peer: int) -> bool:
        """Close one live connection (e.g. a peer refused by its ``SO_PEERCRED`` uid).

        Returns False if ``peer`` is not live. Its queued replies are dropped; a
        ``closed`` notice is emitted. Safe from any thread.
        """

        def close() -> bool:
            conn = self._conns.get(peer)
            if conn is None:
                return False
            self._end(conn)
            return True

        return self.runtime.call(close)

    @property
    def peers(self) -> list[int]:
        """Peer ids of the live connections."""
        return list(self._conns)
    def _gauges(self) -> dict[str, float]:
        pending = sum(c.core.pending for c in self._conns.values())
        return {"connections_open": len(self._conns), "pending_bytes": pending}

    # ---- lifecycle (hub thread) -------------------------------------------
    def _start(self) -> None:
        # a path, an @abstract name or a systemd socket (ident None: nothing to unlink)
        sock, self._ident = listen_socket(self.path, gsocket.SOCK_STREAM, self.config["permissions"],
                                          backlog=self.config["backlog"], systemd=self._systemd)
        self._listener = sock
        self._stopping = False
        self._share = take_share(self.path, gsocket.SOCK_STREAM)
        if self._share is not None:  # a worker: it accepts only after its turn (wait_turn)
            sock.settimeout(0.0)
        self._publish_count()
        self._acceptor = self._spawn(self._accept_loop, sock)

    def _stop(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self._stopping = True
        self._close_listener()  # then readers consume what was received, flush their tails, and end
        conns = list(self._conns.values())
        for conn in conns:
            conn.done.set()
            conn.room.set()  # a paused reader goes on reading what is left
            if conn.core.reading:
                try:  # the stdlib socket's shutdown: gevent's would cancel the pending read
                    conn.raw.shutdown(gsocket.SHUT_RD)
                except OSError:
                    pass
        readers = [c.reader for c in conns if c.reader is not None]
        gevent.joinall(readers, timeout=left())
        for g in readers:
            g.kill(block=True, timeout=1.0)  # their finally still flushes tails
        self._complete_out()  # nothing more is read: windows flush to connections still open
        conns = list(self._conns.values())  # writers write what is pending, then close
        for conn in conns:
            self._drain(conn)
        writers = [c.writer for c in conns if c.writer is not None]
        gevent.joinall(writers, timeout=left())
        for conn in list(self._conns.values()):  # whatever is left did not make it in time
            if conn.core.pending:
                self._error(SlowReaderError(f"stop: {conn.core.pending} reply bytes not written in time"),
                            "write", conn.peer, conn.core.meta, dropped_bytes=conn.core.pending)
            self._end(conn)
        for g in writers:
            g.kill(block=True, timeout=1.0)

    # ---- counters ---------------------------------------------------------
    @property
    def stats(self) -> Counter[str]:
        """Counters: ``in``, ``out``, ``errors``, ``bytes_read``, ``bytes_written``,
        ``connections``, ``closed``, ``read_pauses``, ``refused`` (by ``allow_uids``)."""
        s = self._stats
        s["bytes_read"], s["out"], s["in"] = self._n_bytes_read, self._n_out, self._n_in
        s["bytes_written"] = self._n_bytes_written
        return s

    @stats.setter
    def stats(self, value: Counter[str]) -> None:
        self._stats = value

    # ---- receiving --------------------------------------------------------
    def _read_loop(self, conn: PeerConnection) -> None:
        recv = conn.sock.recv
        size = self._buf_size
        take, read = GcPause().run, self._read
        publish = self._publish
        turns = Turns()
        gate = self.gate
        core, pause_at = conn.core, self._pause_at
        receive = core.receive
        try:
            while True:
                if not gate.open and not self._stopping:  # paused by a flow-control link
                    gate.wait(conn.done)
                try:
                    data = recv(size)
                except OSError as exc:
                    # (after a failed write, ECONNRESET is the peer's close with our replies
                    # unread, already reported: its end of stream)
                    if not conn.ended and not (core.write_failed and exc.errno == errno.ECONNRESET):
                        self._error(exc, "read", conn.peer, conn.core.meta)
                    break
                if not data:
                    break
                self._n_bytes_read += len(data)
                if len(data) < GC_PAUSE_BYTES:  # (a small read: no pause, as GcPause.run would)
                    publish(conn, receive(data, lazy=True))
                else:
                    take(read, conn, data)  # decoded and emitted with the collector paused
                if pause_at and core.pending > pause_at:
                    self._pause_reading(conn)
                turns.took_turn()  # a flooding peer must not starve the hub
        finally:
            if not conn.evicted:  # (an evicted peer was cut off mid-stream: its tail is no frame)
                publish(conn, conn.core.receive_eof())
        self._after_eof(conn)

    def _read(self, conn: PeerConnection, data: bytes) -> None:
        """One read: its events emitted, then the replies gathered meanwhile written."""
        self._publish(conn, conn.core.receive(data, lazy=True))

    def _pause_reading(self, conn: PeerConnection) -> None:
        """Read nothing more from ``conn`` until its unsent replies are down to half the
        pause bound (the writer sets ``room``), it ends, or the server stops."""
        self.stats["read_pauses"] += 1
        conn.paused = True
        try:
            while (conn.core.pending > self._resume_at and not conn.ended and not self._stopping
                   and not conn.core.write_failed):
                conn.room.clear()
                conn.room.wait()
        finally:
            conn.paused = False

    def _after_eof(self, conn: PeerConnection) -> None:
        """A peer that only half-closed still gets its replies; drain once it is gone."""
        if conn.ended or self._stopping:
            return  # stop() drains the writer
        while not peer_gone(conn):
            conn.done.wait(HALF_CLOSE_POLL)
            if conn.ended or self._stopping:
                return
        self._drain(conn)

    def _publish(self, conn: PeerConnection, batch: EventBatch) -> None:
        """Emit one chunk's events (decode failures on ``err`` in stream order), then write
        everything queued meanwhile. Reads of several connections may interleave (a
        subscriber that blocks lets another reader run): each greenlet's outermost
        read writes what was gathered when it ends.

        An echo (a lazy, clean read whose only subscriber is this server's ``in_``, while
        no read is being emitted) takes one step: what ``_emit_batch``, ``in_`` and
        ``_flush_dirty`` would do, the read's values encoded in one call and written."""
        values = batch.values
        if values is not None and conn.deferred is None and not self._batching and self._echoes_to_itself():
            n = len(values)
            self._n_out += n
            self._n_in += n
            if n and not conn.ended and self._queue_values(conn, values, batch.meta, decoded=True):
                self._try_send(conn)
            return
        me, batching = gevent.getcurrent(), self._batching
        depth = batching.get(me, 0)
        batching[me] = depth + 1
        self._reading, self._reading_meta = conn, conn.core.meta
        try:
            if batch.failures:
                for part, failure in batch.in_order():
                    if part is None:
                        self._error(failure, "decode", conn.peer, conn.core.meta)
                    else:
                        self._emit_batch(conn, part)
            elif batch.size:
                self._emit_batch(conn, batch)
        finally:
            if depth:
                batching[me] = depth
            else:
                del batching[me]
            self._reading = self._reading_meta = None  # (receive's shortcut; it checks the rest)
        if self._dirty and not depth:
            self._flush_dirty()

    def _echoes_to_itself(self) -> bool:
        """True when ``out``'s one subscriber is this server's own ``in_`` (an echo)."""
        out = self._out
        takers = out.batch_observers
        return len(takers) == 1 and takers[0] is self.in_ and not out.observers and not out.is_stopped

    def _emit_batch(self, conn: PeerConnection, batch: EventBatch) -> None:
        self._n_out += batch.size
        for exc in self._out.on_next_batch(batch):  # a subscriber failed: report, keep the stream
            self._error(exc, "emit", conn.peer, conn.core.meta)

    def _finished(self) -> None:
        super()._finished()
        self._closed.on_completed()


def unix_socket_server(
    config: Mapping[str, Any] | None = None,
    *,
    codec: Spec | None = None,
    preprocessors: Sequence[Spec] | None = None,
    postprocessors: Sequence[Spec] | None = None,
    runtime: Runtime | None = None,
    metrics_interval_s: float | None = None,
    **config_keys: Any,
) -> UnixSocketServer:
    """Create a :class:`UnixSocketServer` (not started). An echo server of JSON lines::

        server = unix_socket_server(path="/tmp/rx/echo.sock", codec="json",
                                    preprocessors=["separate"], postprocessors=["separate"])
        server.out.subscribe(server.in_)   # each reply goes back to the connection it came from
        server.start()

    ``codec``, ``preprocessors``, ``postprocessors``: the framing, as Tremor's (default
    ``json``, no framing); ``runtime``: the hub it runs on (default: the current one);
    ``metrics_interval_s``: emit ``metrics`` every so many seconds (default: none).
    ``config`` is the ``config`` dict (``path``, ``permissions``, ``buf_size``,
    ``max_pending_bytes``, ``pause_reading_bytes``, ``backlog``, ``systemd``,
    ``max_connections``, ``send_buffer_bytes``, ``allow_uids``) or Tremor's whole connector dict
    (``unix_socket_server(tremor)`` and ``unix_socket_server(**tremor)`` both
    work); ``config_keys`` are keyword
    shortcuts for the config keys (``path=...``). Unknown keys or wrong types
    raise :class:`~rxunix.core.errors.ConfigError` naming the key and listing the
    allowed ones::

        >>> unix_socket_server(path="/tmp/x.sock", reconnect={})
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: unix_socket_server: unknown option 'reconnect'; allowed: codec, \
preprocessors, postprocessors, config, runtime, metrics_interval_s, path, permissions, buf_size, \
max_pending_bytes, pause_reading_bytes, backlog, systemd, max_connections, send_buffer_bytes, allow_uids
    """
    named = {"codec": codec, "preprocessors": preprocessors, "postprocessors": postprocessors,
             "runtime": runtime, "metrics_interval_s": metrics_interval_s}
    return UnixSocketServer(config, **{k: v for k, v in named.items() if v is not None}, **config_keys)
