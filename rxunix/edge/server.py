"""``unix_socket_server``: a gevent unix socket server as Rx observables (SPEC 3).

Every accepted connection is its own stream (own preprocessor, codec and
postprocessor state). Received events carry the frozen per-connection record
``meta["unix_socket_server"] = {"path", "peer", "pid", "uid", "gid"}`` (``peer``
is never reused in this process; ``pid/uid/gid`` come from ``SO_PEERCRED``).
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

Config keys (``config={...}``): ``path`` (required), ``permissions`` (chmod
style string, or an int mode; see :mod:`rxunix.permissions`), ``buf_size``
(receive size, default 8192), and beyond Tremor ``max_pending_bytes`` (bound
of unsent reply bytes per connection, default 16 MiB: a connection that exceeds
it is closed and reported on ``err`` with action ``"write"``), ``backlog``
(listen backlog, default 1024) and ``max_connections`` (default unlimited: at
the limit the server stops accepting, new connections wait in the backlog, and
one notice per pause goes to ``err`` with action ``"limit"``; see
:mod:`rxunix.connectors.limits`). Reading pauses while a flow-control link
holds ``gate`` (:func:`rxunix.connect`).

Lifecycle of a connection:

* a reader greenlet receives ``buf_size`` bytes at a time, decodes the whole
  chunk and emits its events directly (no per-event greenlet or hop); decode
  failures go to ``err`` (action ``"decode"``) and the connection stays up;
* replies are encoded per connection and queued; at the end of each received
  chunk (or at once when a reply comes from elsewhere) everything queued for a
  connection goes out in one write; a writer greenlet per connection finishes
  writes the socket could not take at once;
* on EOF the preprocessors' tails are flushed as final events. A peer that only
  half-closed (``shutdown(SHUT_WR)``) keeps receiving replies until it closes
  fully (checked every ``HALF_CLOSE_POLL`` seconds and on every failed write)
  or the server stops; a peer that closed fully is dropped once its queued
  replies are written (or have failed);
* ``stop()`` drains: stops accepting (connections already waiting in the
  backlog are taken and drained like the others), removes the socket file if
  it is still ours, lets every reader consume what was already received and
  flush its tails, writes pending replies (within the stop timeout; what is
  left then is reported on ``err``), closes everything and completes ``out``
  and ``err``.
"""

from __future__ import annotations

import errno
import itertools
import os
import struct
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn

import gevent
import gevent.event
from gevent import monkey
from gevent import socket as gsocket
from reactivex import Observable
from reactivex.subject import Subject

from ..core.config import REQUIRED, Option, validate
from ..core.errors import ConfigError, RxUnixError
from ..core.event import Event
from ..core.framing import DecoderFactory, EncoderFactory
from ..core.origin import SERVER
from ..core.permissions import check_permissions
from ..core.routing import route
from .base import Connector, Inlet
from .limits import ConnectionLimit
from .listen import check_listen_config, listen_socket  # abstract names + systemd (issue 17)
from .runtime import Runtime
from .sockpath import SocketIdentity, remove_if_ours
from .turns import Turns

__all__ = ["UnixSocketServer", "unix_socket_server", "UnroutableError", "SlowReaderError"]

#: Peer ids: one counter per process, never reused (also across listener restarts).
_PEERS = itertools.count(1)
_CRED = struct.Struct("3i")
_SO_PEERCRED: int = getattr(gsocket, "SO_PEERCRED", 17)
_poll = monkey.get_original("select", "poll")
_POLLGONE = 0x010 | 0x008 | 0x020  # POLLHUP | POLLERR | POLLNVAL

#: Seconds between checks whether a half-closed peer has closed fully.
HALF_CLOSE_POLL = 0.5
#: Default bound of unsent reply bytes per connection.
DEFAULT_MAX_PENDING = 16 * 1024 * 1024


class UnroutableError(RxUnixError):
    """A reply names no live connection of this server."""


class SlowReaderError(RxUnixError):
    """A connection's unsent replies exceeded ``max_pending_bytes``."""


class _Record(dict[str, Any]):
    """The frozen per-connection origin record (a dict that refuses changes).

    Pickles and deep-copies as a plain dict; JSON encoders see a dict.
    """

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the unix_socket_server origin record is read-only; copy it with dict()")

    __setitem__ = __delitem__ = _readonly
    clear = pop = popitem = setdefault = update = __ior__ = _readonly

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))

    def __copy__(self) -> _Record:
        return self

    def __deepcopy__(self, memo: Any) -> _Record:
        return self


def _event_maker() -> Callable[[Any, Mapping[str, Any]], Event]:
    """``make(value, frozen_meta)``: an :class:`Event` equal to ``Event(value, meta)``.

    ``meta`` must already be a ``MappingProxyType``. Skips ``Event.__init__``'s
    Python frame (about 0.4 us an event); falls back to ``Event`` if the class
    ever stops being the two-slot class this relies on.
    """
    try:
        new = object.__new__
        set_value = Event.__dict__["value"].__set__
        set_meta = Event.__dict__["meta"].__set__
        probe = new(Event)
        set_value(probe, 1)
        frozen = MappingProxyType({"k": 1})
        set_meta(probe, frozen)
        if Event.__slots__ != ("value", "meta") or probe != Event(1, frozen):
            return Event
    except Exception:  # pragma: no cover - depends on Event's layout
        return Event

    def make(value: Any, meta: Mapping[str, Any]) -> Event:
        ev = new(Event)
        set_value(ev, value)
        set_meta(ev, meta)
        return ev

    return make


_make_event = _event_maker()


class _HubSubject(Subject[Event]):
    """``out`` of a server: a Subject tuned for the hot path.

    It is only ever fed from its runtime's hub thread, so ``on_next`` needs no
    lock; and a subscriber that is the ``in_`` of a connector on the same runtime
    (echo: ``server.out.subscribe(server.in_)``) is called straight at its
    ``_receive``, which is exactly what :class:`~rxunix.connectors.base.Inlet`
    would do from the hub thread, minus two calls per event.
    """

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self._runtime = runtime

    def _subscribe_core(self, observer: Any, scheduler: Any = None) -> Any:
        on_next = getattr(observer, "_on_next", None)
        inlet = getattr(on_next, "__self__", None)
        if (
            inlet is not None
            and inlet.__class__ is Inlet
            and getattr(on_next, "__func__", None) is Inlet.on_next
            and inlet._c.runtime is self._runtime
        ):
            observer._on_next = inlet._c._receive
        return super()._subscribe_core(observer, scheduler)

    def on_next(self, value: Event) -> None:
        if self.is_stopped or self.is_disposed:
            return
        observers = self.observers
        if len(observers) == 1:
            observers[0].on_next(value)
            return
        for observer in observers[:]:
            observer.on_next(value)


def _config_schema() -> dict[str, Option]:
    def perms(value: Any) -> Any:
        check_permissions(value)
        return value

    def positive(default: int) -> Option:
        return Option(int, default, check=lambda v: v > 0, expect="an int > 0")

    return {
        "path": Option((str, os.PathLike), REQUIRED, convert=os.fspath,
                       check=lambda v: isinstance(v, str), expect="a str path"),
        "permissions": Option((str, int), None, convert=perms),
        "buf_size": positive(8192),
        "max_pending_bytes": positive(DEFAULT_MAX_PENDING),
        "backlog": positive(1024),
        "systemd": Option((bool, str), False),  # issue 17: socket activation
        "max_connections": Option(int, None, check=lambda v: v > 0, expect="an int > 0"),  # issue 16
    }


CONFIG_SCHEMA = _config_schema()
_SPEC_TYPES = (str, Mapping, Callable)
CONNECTOR_SCHEMA = {
    "config": Option(Mapping, None),
    "codec": Option(_SPEC_TYPES, "json"),  # type: ignore[arg-type]
    "preprocessors": Option((list, tuple), None),
    "postprocessors": Option((list, tuple), None),
    "runtime": Option(Runtime, None),
    "metrics_interval_s": Option((int, float), None),  # flow control and metrics (issue 16)
}
_OWNER = "unix_socket_server"


def _parse_options(first: Mapping[str, Any] | None, options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Connector options and validated config from every accepted call shape."""
    options = dict(options)
    if first is not None:
        if not isinstance(first, Mapping):
            raise ConfigError(f"{_OWNER}: config must be a dict, got {type(first).__name__}")
        if first and all(k in CONNECTOR_SCHEMA for k in first):  # Tremor's whole connector dict
            for k, v in first.items():
                if k in options:
                    raise ConfigError(f"{_OWNER}: option {k!r} given twice")
                options[k] = v
        else:
            if "config" in options:
                raise ConfigError(f"{_OWNER}: option 'config' given twice")
            options["config"] = first
    schema = dict(CONNECTOR_SCHEMA)
    schema.update({k: Option((object, bool), None) for k in CONFIG_SCHEMA})  # keyword shortcuts (bool: systemd=True)
    opts = validate(_OWNER, options, schema)
    cfg = dict(opts.pop("config") or {})
    for key in CONFIG_SCHEMA:
        value = opts.pop(key)
        if value is None:
            continue
        if key in cfg and cfg[key] != value:
            raise ConfigError(f"{_OWNER}: option {key!r} given both as keyword and in config, differently")
        cfg[key] = value
    return opts, validate(f"{_OWNER} config", cfg, CONFIG_SCHEMA)


class _Conn:
    """One accepted connection (hub thread only)."""

    __slots__ = (
        "sock", "raw", "peer", "record", "meta", "decoder", "encoder", "outq", "pending",
        "wake", "done", "reader", "writer", "writing", "eof", "draining", "closed",
    )

    def __init__(self, sock: Any, peer: int, record: _Record, server: UnixSocketServer) -> None:
        self.sock = sock
        self.raw = getattr(sock, "_sock", None)  # the non-blocking stdlib socket under gevent's
        self.peer = peer
        self.record = record
        self.meta: Mapping[str, Any] = MappingProxyType({SERVER: record})
        self.decoder = server._decoders()
        self.encoder = server._encoders()
        self.outq: list[bytes] = []
        self.pending = 0  # reply bytes queued or in flight
        self.wake = gevent.event.Event()
        self.done = gevent.event.Event()
        self.reader: gevent.Greenlet | None = None
        self.writer: gevent.Greenlet | None = None
        self.writing = False
        self.eof = False
        self.draining = False
        self.closed = False


class UnixSocketServer(Connector):
    """The ``unix_socket_server`` connector; build it with :func:`unix_socket_server`.

    ``out``: received events; ``err``: error events (actions ``decode``,
    ``encode``, ``read``, ``write``, ``route``, ``accept``, ``emit``, ``limit``); ``in_``:
    replies. See the module documentation for the behaviour.
    """

    kind = SERVER
    # ---- flow control and metrics (issue 16) ----
    pausable = True
    metered = {"events_in": "in", "events_out": "out", "events_err": "errors", "bytes_read": "bytes_read",
               "bytes_written": "bytes_written", "connections_opened": "connections",
               "connections_closed": "closed"}

    def _gauges(self) -> dict[str, float]:
        return {"connections_open": len(self._conns),
                "pending_bytes": sum(c.pending for c in self._conns.values())}
    # ---- end flow control and metrics ----

    def __init__(self, config: Mapping[str, Any] | None = None, /, **options: Any) -> None:
        opts, cfg = _parse_options(config, options)
        self._decoders = DecoderFactory(opts["preprocessors"] or [], opts["codec"])
        self._encoders = EncoderFactory(opts["codec"], opts["postprocessors"] or [])
        self._systemd = check_listen_config(cfg["path"], cfg["permissions"], cfg["systemd"])  # issue 17
        super().__init__(runtime=opts["runtime"], metrics_interval_s=opts["metrics_interval_s"])
        self._out: Subject[Event] = _HubSubject(self.runtime)
        self._closed: Subject[Event] = Subject()
        #: The validated configuration (read-only).
        self.config: Mapping[str, Any] = MappingProxyType(cfg)
        self.path: str = cfg["path"]
        self._buf_size: int = cfg["buf_size"]
        self._max_pending: int = cfg["max_pending_bytes"]
        self._limit = ConnectionLimit(cfg["max_connections"])  # max_connections (issue 16)
        self._conns: dict[int, _Conn] = {}
        self._by_record: dict[int, _Conn] = {}
        self._dirty: list[_Conn] = []
        self._batching: Any = None  # the greenlet emitting a received chunk, if any
        self._listener: Any = None
        self._ident: SocketIdentity | None = None
        self._acceptor: gevent.Greenlet | None = None
        self._stopping = False
        self._listener_meta: Mapping[str, Any] = MappingProxyType({SERVER: _Record(path=self.path)})

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
            self._close(conn)
            return True

        return self.runtime.call(close)

    @property
    def peers(self) -> list[int]:
        """Peer ids of the live connections."""
        return list(self._conns)

    # ---- lifecycle (hub thread) -------------------------------------------
    def _start(self) -> None:
        # issue 17: a path, an @abstract name or a systemd socket (ident None: nothing to unlink)
        sock, self._ident = listen_socket(self.path, gsocket.SOCK_STREAM, self.config["permissions"],
                                          backlog=self.config["backlog"], systemd=self._systemd)
        self._listener = sock
        self._stopping = False
        self._acceptor = gevent.spawn(self._accept_loop, sock)

    def _stop(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self._stopping = True
        # 1. stop accepting; the path is free again
        if self._acceptor is not None:
            self._acceptor.kill()
            self._acceptor = None
        if self._listener is not None:
            self._accept_backlog(self._listener)  # connected already: drained like the others
            self._listener.close()
            self._listener = None
        if self._ident is not None:
            remove_if_ours(self.path, self._ident)
            self._ident = None
        # 2. readers consume what was received, flush their tails, and end
        conns = list(self._conns.values())
        for conn in conns:
            conn.done.set()
            if not conn.eof and not conn.closed:
                try:  # the stdlib socket's shutdown: gevent's would cancel the pending read
                    (conn.raw or conn.sock).shutdown(gsocket.SHUT_RD)
                except OSError:
                    pass
        readers = [c.reader for c in conns if c.reader is not None]
        gevent.joinall(readers, timeout=left())
        for g in readers:
            g.kill(block=True, timeout=1.0)  # their finally still flushes tails
        # 3. writers write what is pending, then close their connection
        conns = list(self._conns.values())
        for conn in conns:
            conn.draining = True
            conn.wake.set()
        writers = [c.writer for c in conns if c.writer is not None]
        gevent.joinall(writers, timeout=left())
        # 4. whatever is left did not make it in time
        for conn in list(self._conns.values()):
            if conn.pending:
                self._error(
                    SlowReaderError(f"stop: {conn.pending} reply bytes not written in time"),
                    "write", conn.peer, conn.meta, dropped_bytes=conn.pending,
                )
            self._close(conn)
        for g in writers:
            g.kill(block=True, timeout=1.0)

    # ---- accepting --------------------------------------------------------
    def _accept_loop(self, listener: Any) -> None:
        backoff = 0.0
        while True:
            self._limit.wait_for_room(self._conns.__len__, listener.fileno(), self._limit_notice)  # issue 16
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

    def _limit_notice(self, limit: int) -> None:  # max_connections (issue 16)
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
        peer = next(_PEERS)
        try:
            pid, uid, gid = _CRED.unpack(sock.getsockopt(gsocket.SOL_SOCKET, _SO_PEERCRED, _CRED.size))
        except (OSError, struct.error):
            pid = uid = gid = None
        record = _Record(path=self.path, peer=peer, pid=pid, uid=uid, gid=gid)
        conn = _Conn(sock, peer, record, self)
        self._conns[peer] = conn
        self._by_record[id(record)] = conn
        self.stats["connections"] += 1
        conn.writer = gevent.spawn(self._write_loop, conn)
        conn.reader = gevent.spawn(self._read_loop, conn)

    # ---- receiving --------------------------------------------------------
    def _read_loop(self, conn: _Conn) -> None:
        recv = conn.sock.recv
        size = self._buf_size
        feed = conn.decoder.feed
        batch = self._batch
        turns = Turns()
        gate = self.gate  # flow control (issue 16)
        stats = self.stats
        try:
            while True:
                if not gate.open and not self._stopping:  # flow control (issue 16): paused
                    gate.wait(conn.done)
                try:
                    data = recv(size)
                except OSError as exc:
                    if not conn.closed:
                        self._error(exc, "read", conn.peer, conn.meta)
                    break
                if not data:
                    break
                stats["bytes_read"] += len(data)  # metrics (issue 16)
                batch(conn, feed(data))
                turns.took_turn()  # a flooding peer must not starve the hub
        finally:
            conn.eof = True
            batch(conn, conn.decoder.finish())
        if conn.closed:
            return
        if self._stopping:
            return  # stop() drains the writer
        # EOF: a peer that only half-closed still gets its replies
        while not self._peer_gone(conn):
            conn.done.wait(HALF_CLOSE_POLL)
            if conn.closed or self._stopping:
                return
        conn.draining = True
        conn.wake.set()

    @staticmethod
    def _peer_gone(conn: _Conn) -> bool:
        if conn.closed:
            return True
        p = _poll()
        try:
            p.register(conn.sock.fileno(), 0)
            return bool(p.poll(0))
        except (OSError, ValueError):
            return True

    def _batch(self, conn: _Conn, items: list[Any]) -> None:
        """Emit one chunk's decoded items, then write everything queued meanwhile."""
        meta = conn.meta
        on_next = self._out.on_next
        make = _make_event
        outer = self._batching
        self._batching = gevent.getcurrent()
        n = 0
        for item in items:
            if isinstance(item, RxUnixError):
                self._error(item, "decode", conn.peer, meta)
                continue
            try:
                on_next(make(item, meta))
            except Exception as exc:  # a subscriber failed: report, keep the stream
                self._error(exc, "emit", conn.peer, meta)
            n += 1
        self.stats["out"] += n
        self._batching = outer
        if self._dirty:
            self._flush_dirty()

    # ---- replies ----------------------------------------------------------
    def _receive(self, event: Event) -> None:
        self.stats["in"] += 1  # metrics (issue 16)
        meta = event.meta
        rec = meta.get(SERVER)
        conn = self._by_record.get(id(rec)) if rec.__class__ is _Record else None
        if conn is not None and conn.record is rec:  # fast path: a reply to one of our events
            self._deliver(conn, event)
            return
        r = route(meta, self.path, self._conns)
        for peer in r.targets:
            self._deliver(self._conns[peer], event)
        if r.missing or not r.targets:
            names = ", ".join(map(str, r.missing)) or "no peer in meta['unix_socket_server']"
            self._error(
                UnroutableError(f"reply for {names}: no such live connection on {self.path}"),
                "route", r.missing or None, meta, delivered=r.targets,
            )

    def _deliver(self, conn: _Conn, event: Event) -> None:
        try:
            data = conn.encoder.encode(event.value)
        except RxUnixError as exc:
            self._error(exc, "encode", conn.peer, event.meta)
            return
        if not data:
            return
        conn.outq.append(data)
        conn.pending += len(data)
        if conn.pending > self._max_pending:
            self._error(
                SlowReaderError(
                    f"peer {conn.peer} does not read: {conn.pending} reply bytes pending "
                    f"> max_pending_bytes {self._max_pending}; connection closed"
                ),
                "write", conn.peer, conn.meta, dropped_bytes=conn.pending,
            )
            self._close(conn)
            return
        if len(conn.outq) == 1:
            if self._batching is not None and self._batching is gevent.getcurrent():
                self._dirty.append(conn)
            elif not conn.writing:
                conn.wake.set()

    def _flush_dirty(self) -> None:
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            if conn.outq and not conn.writing and not conn.closed:
                self._try_send(conn)

    def _try_send(self, conn: _Conn) -> None:
        """Write the queue without blocking; the writer greenlet finishes the rest."""
        q = conn.outq
        data = q[0] if len(q) == 1 else b"".join(q)
        q.clear()
        raw = conn.raw
        sent = 0
        if raw is not None:
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self._write_failed(conn, exc)
                return
        conn.pending -= sent
        self.stats["bytes_written"] += sent
        if sent < len(data):
            q.append(data[sent:])
            conn.wake.set()

    def _write_loop(self, conn: _Conn) -> None:
        wake = conn.wake
        sendall = conn.sock.sendall
        q = conn.outq
        while not conn.closed:
            wake.wait()
            wake.clear()
            while q and not conn.closed:
                data = q[0] if len(q) == 1 else b"".join(q)
                q.clear()
                conn.writing = True
                try:
                    sendall(data)
                except OSError as exc:
                    conn.writing = False
                    if not conn.closed:
                        self._write_failed(conn, exc)
                    return
                conn.writing = False
                conn.pending -= len(data)
                self.stats["bytes_written"] += len(data)
            if conn.draining and not q:
                self._close(conn)
                return

    def _write_failed(self, conn: _Conn, exc: OSError) -> None:
        self._error(exc, "write", conn.peer, conn.meta, dropped_bytes=conn.pending)
        self._close(conn)

    def _close(self, conn: _Conn) -> None:
        """Forget and close a connection (idempotent); its greenlets end by themselves."""
        if conn.closed:
            return
        conn.closed = True
        self.stats["closed"] += 1  # metrics (issue 16)
        self._limit.freed()  # max_connections (issue 16)
        self._conns.pop(conn.peer, None)
        self._by_record.pop(id(conn.record), None)
        conn.outq.clear()
        conn.pending = 0
        try:
            conn.sock.close()  # wakes a reader/writer blocked on it
        except OSError:
            pass
        conn.wake.set()
        conn.done.set()
        try:
            self._closed.on_next(Event(None, conn.meta))
        except Exception as exc:  # a subscriber failed: report, keep going
            self._error(exc, "emit", conn.peer, conn.meta)

    def _finished(self) -> None:
        super()._finished()
        self._closed.on_completed()


def unix_socket_server(config: Mapping[str, Any] | None = None, /, **options: Any) -> UnixSocketServer:
    """Create a :class:`UnixSocketServer` (not started).

    Accepts ``config={...}`` plus ``codec``, ``preprocessors``, ``postprocessors``,
    ``runtime`` and ``metrics_interval_s`` (``connector.metrics``); Tremor's whole
    connector dict (``unix_socket_server(**tremor)`` or ``unix_socket_server(tremor)``);
    keyword shortcuts for the config keys (``path=``, ``permissions=``, ``buf_size=``,
    ``max_pending_bytes=``, ``backlog=``, ``max_connections=``).
    Unknown keys or wrong types raise :class:`~rxunix.errors.ConfigError` naming
    the key and listing the allowed ones::

        >>> unix_socket_server(path="/tmp/x.sock", reconnect={})
        Traceback (most recent call last):
        ...
        rxunix.errors.ConfigError: unix_socket_server: unknown option 'reconnect'; allowed: config, \
codec, preprocessors, postprocessors, runtime, metrics_interval_s, path, permissions, buf_size, \
max_pending_bytes, backlog, systemd, max_connections
    """
    return UnixSocketServer(config, **options)
