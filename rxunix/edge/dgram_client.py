"""``unix_datagram_client``: sends one datagram per event to a unix datagram socket.

Same shape as :func:`rxunix.unix_socket_client`::

    >>> c = unix_datagram_client(path="/tmp/rx-doc-log", codec="syslog",
    ...                          reconnect={"retry": {"interval_ms": 100, "max_retries": 3}})
    >>> c.pushed, c.written, c.reported
    (0, 0, 0)

Each event pushed into ``in_`` is encoded (codec, then postprocessors) into
one datagram, or one per frame its postprocessors make (``gelf-chunking``: one
per chunk). Every event is either written (the kernel took each of its whole
datagrams: datagrams are never cut) or reported on ``err`` with its value, so
once the client is idle or stopped ``written + reported == pushed``.

The socket is *connected* to ``path`` (resolved at connect time; ``@name`` is
the Linux abstract namespace). When the receiver goes away (a send fails with
``ECONNREFUSED``, ``ENOENT``...) the event stays at the head of the queue and
the client reconnects per the ``reconnect`` policy (:mod:`rxunix.core.reconnect`),
which re-resolves the path, so a restarted server is found again; without a
policy, or with retries exhausted, one ``connect`` error says so and the held
events are reported. A full receive queue on the other side makes the client
wait (back-pressure), not drop, however many senders compete for it; the client
is not ``ready`` while it holds :data:`~rxunix.edge.flowctl.READY_BACKLOG`
events (at most ``queue_size`` while disconnected), so a flow-control link
pauses its source. A datagram too large for the socket
(``EMSGSIZE``) is reported for that event alone.

Replies: the client binds its own address so that the server can answer
(``bind``: default an automatic abstract name; a path or ``@name``; ``False``:
stay unbound, no replies). Received datagrams are decoded like the server's
(one datagram, one frame) and carry ``meta["unix_datagram_client"] = {"peer": path}``.

Config keys: ``path`` (required), ``bind``, ``buf_size`` (largest datagram
received, default 65536), ``queue_size`` (events held while disconnected,
default 1000; one more is reported, action ``enqueue``).

Error actions on ``err``: ``connect``, ``read``, ``decode``, ``encode``,
``write``, ``enqueue``, ``stop``, ``deliver``.
"""

from __future__ import annotations

import errno
import time
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import gevent
import gevent.event
from gevent import socket as gsocket

from ..core.address import MAX_PATH_BYTES, is_abstract, peer_name, sockaddr
from ..core.config import Option
from ..core.connector_options import CLIENT_OPTIONS, PATH, buf_size_option
from ..core.datagram import DatagramEncoder, DatagramTooLarge
from ..core.errors import RxUnixError, SocketPathError
from ..core.event import Event, is_failure
from ..core.framing import DecoderFactory, EncoderFactory
from ..core.options import parse_options
from ..core.origin import DGRAM_CLIENT
from ..core.reconnect import RetryPolicy
from .base import Connector
from .flowctl import READY_BACKLOG
from .sockpath import SocketIdentity, bind_secure, check_length, remove_if_ours
from .turns import Turns

__all__ = ["UnixDatagramClient", "unix_datagram_client", "CONFIG_SCHEMA"]

#: errno values of a send that mean "the receiver is gone": reconnect.
LOST = frozenset({errno.ECONNREFUSED, errno.ENOENT, errno.ENOTCONN, errno.EPIPE, errno.ECONNRESET,
                  errno.EDESTADDRREQ, errno.ENOTSOCK})
_MSG_TRUNC: int = gsocket.MSG_TRUNC


def _bind_ok(v: Any) -> bool:
    if v is False:
        return True
    if not isinstance(v, str) or not v:
        return False
    try:
        check_length(v)
    except SocketPathError:
        return False
    return True


CONFIG_SCHEMA: dict[str, Option] = {
    "path": PATH,
    "bind": Option((str, bool), None, check=_bind_ok,
                   expect=f"a path or '@name' of at most {MAX_PATH_BYTES} bytes, or false"),
    "buf_size": buf_size_option(65536),
    "queue_size": Option(int, 1000, check=lambda v: v >= 0, expect="an int >= 0"),
}


class UnixDatagramClient(Connector):
    """The ``unix_datagram_client`` connector; build it with :func:`unix_datagram_client`.

    Counters (also in ``stats``): :attr:`pushed`, :attr:`written`, :attr:`reported`;
    ``stats["connects"]``, ``stats["retries"]``.
    """

    kind = DGRAM_CLIENT
    flow_controlled = True
    pausable = True

    def __init__(self, config: Mapping[str, Any] | None = None, /, **options: Any) -> None:
        opts, cfg = parse_options(DGRAM_CLIENT, config, options, CLIENT_OPTIONS, CONFIG_SCHEMA)
        check_length(cfg["path"])
        self._decoders = DecoderFactory(opts["preprocessors"] or [], opts["codec"])
        self._reply_decoder = self._decoders() if self._decoders.spans_frames else None
        self._datagrams = DatagramEncoder(EncoderFactory(opts["codec"], opts["postprocessors"] or [])).datagrams
        self.policy: RetryPolicy | None = RetryPolicy.from_config(opts["reconnect"], rng=opts["rng"])
        super().__init__(runtime=opts["runtime"], metrics_interval_s=opts["metrics_interval_s"])
        self.config: Mapping[str, Any] = MappingProxyType(cfg)
        self.path: str = cfg["path"]
        self._meta: Mapping[str, Any] = MappingProxyType({DGRAM_CLIENT: MappingProxyType({"peer": self.path})})
        self._queue: deque[Event] = deque()
        # the event at the head of the queue, its datagrams and how many of them went
        # (a receiver lost between two datagrams of one event: the rest go after reconnecting)
        self._head: list[Any] | None = None
        self._blocked = False  # the runner waits for the receiver to take a datagram
        self._sock: Any = None
        self._ident: SocketIdentity | None = None
        self._closed: str | None = None
        self._wake = gevent.event.Event()
        self._quit = gevent.event.Event()
        self._flushing = False
        self._runner: gevent.Greenlet | None = None
        for key in ("pushed", "written", "reported", "connects", "retries"):
            self.stats[key] = 0
        self._ready_high = min(READY_BACKLOG, self.queue_size)

    # ---- counters -----------------------------------------------------------
    @property
    def pushed(self) -> int:
        """Events received on ``in_``."""
        return self.stats["pushed"]

    @property
    def written(self) -> int:
        """Events sent as a whole datagram."""
        return self.stats["written"]

    @property
    def reported(self) -> int:
        """Events reported on ``err`` instead of sent."""
        return self.stats["reported"]

    @property
    def held(self) -> int:
        """Events waiting to be sent."""
        return len(self._queue)

    @property
    def queue_size(self) -> int:
        """Events held at most while disconnected."""
        return int(self.config["queue_size"])

    @property
    def connected(self) -> bool:
        """True while the socket is connected to the receiver."""
        return self._sock is not None

    @property
    def address(self) -> str | None:
        """This client's own address while connected (where replies come to), if bound."""
        return peer_name(self._sock.getsockname()) if self._sock is not None else None

    def _update_ready(self) -> None:
        """Not ready at the limit of held events (READY_BACKLOG while connected, at most
        ``queue_size`` while disconnected); ready again at half of it."""
        self._readiness.track(len(self._queue), READY_BACKLOG if self._sock is not None else self._ready_high)

    # ---- Connector hooks (hub thread) ---------------------------------------
    def _start(self) -> None:
        self._update_ready()
        self._runner = self._spawn(self._run)

    def _receive(self, event: Event) -> None:
        self.stats["pushed"] += 1
        if not isinstance(event, Event):
            event = Event(event)
        if self._closed is not None:
            self._drop(event, "enqueue", f"not sent: {self._closed}")
            return
        if self._sock is None and len(self._queue) >= self.queue_size:
            self._drop(event, "enqueue", f"not sent: queue full ({self.queue_size} events held while disconnected)")
            return
        self._queue.append(event)
        if len(self._queue) >= self._ready_high and self._readiness.value:  # (once not ready, more cannot change it)
            self._update_ready()
        self._wake.set()

    _abandons_in_hub = True

    def _abandon(self) -> None:
        """A client stopped before it started reports every event pushed into it."""
        self._closed = "client stopped"
        self._report_held("stop", "not sent: client stopped before it was started")
        self._finished()

    def _stop(self, timeout: float | None) -> None:
        self._closed = "client stopped"
        runner = self._runner
        if runner is not None and self._sock is not None and self._queue:
            self._flushing = True  # the runner ends once the queue is empty
            self._wake.set()
            runner.join(timeout=timeout)
        self._quit.set()
        self._wake.set()
        if runner is not None:
            if not self._blocked:  # (waiting for a full receiver, it would not see quit)
                runner.join(timeout=1.0)  # it ends by itself once it sees quit
            runner.kill(block=True, timeout=1.0)
        self._report_held("stop", "not sent: client stopped before it could be sent")
        if self._reply_decoder is not None:  # replies still incomplete (GELF chunks): reported
            self._emit_items(self._reply_decoder.finish())

    # ---- helpers ------------------------------------------------------------
    def _drop(self, event: Event, action: str, message: str | BaseException) -> None:
        self.stats["reported"] += 1
        self._error(message, action, stream=self.path, meta=event.meta, value=event.value)

    def _report_held(self, action: str, message: str) -> None:
        q = self._queue
        self._head = None
        while q:
            self._drop(q.popleft(), action, message)
        self._update_ready()

    def _run(self) -> None:
        try:
            while True:
                sock, error = self._connect()
                if sock is None:
                    if not self._quit.is_set():
                        self._give_up(self._gave_up_message(error))
                    return
                began = time.monotonic()
                lost = self._serve(sock)
                if self._quit.is_set() or lost is None:
                    return
                if self.policy is None:
                    self._give_up(f"receiver at {self.path} gone ({lost}) and no reconnect is configured")
                    return
                if time.monotonic() - began < self.policy.interval_ms / 1000.0:
                    wait = self.policy.next_wait()  # lost as soon as made: a failed attempt
                    if wait is None:
                        self._give_up(self._gave_up_message(lost))
                        return
                    self.stats["retries"] += 1
                    self._quit.wait(wait / 1000.0)
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # a bug must not lose events silently
            self._give_up(f"internal error: {type(exc).__name__}: {exc}")

    def _gave_up_message(self, error: BaseException | None) -> str:
        why = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        if self.policy is None:
            return f"could not connect to {self.path} ({why}); no reconnect is configured"
        return f"gave up connecting to {self.path} after {self.policy.retries} retries ({why})"

    def _give_up(self, message: str) -> None:
        self._closed = message
        self._error(message, "connect", stream=self.path, meta=self._meta,
                    retries=self.policy.retries if self.policy else 0)
        self._report_held("write", f"not sent: {message}")
        self._finished()

    def _open(self) -> Any:
        sock = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
        try:
            bind = self.config["bind"]
            if bind is None:
                sock.bind(b"")  # Linux autobind: a unique abstract name, so replies can come back
            elif bind is not False:
                if is_abstract(bind):
                    sock.bind(sockaddr(bind))
                else:
                    self._ident = bind_secure(sock, bind, None)
            sock.connect(sockaddr(self.path))
        except BaseException:
            self._unbind()
            sock.close()
            raise
        return sock

    def _unbind(self) -> None:
        if self._ident is not None:
            remove_if_ours(self.config["bind"], self._ident)
            self._ident = None

    def _connect(self) -> tuple[Any, BaseException | None]:
        """Connect, retrying per policy; ``(socket, None)`` or ``(None, last error)``."""
        error: BaseException | None = None
        while not self._quit.is_set():
            try:
                sock = self._open()
            except OSError as exc:
                error = exc
            else:
                if self.policy is not None:
                    self.policy.reset()
                return sock, None
            wait = self.policy.next_wait() if self.policy is not None else None
            if wait is None:
                return None, error
            self.stats["retries"] += 1
            self._quit.wait(wait / 1000.0)
        return None, error

    def _serve(self, sock: Any) -> OSError | None:
        """Send until the receiver is lost (returns why) or the client ends (``None``)."""
        self._sock = sock
        self.stats["connects"] += 1
        if self._head is not None:  # an event cut off by the lost receiver: all of it to the new one
            self._head[2] = 0
        self._update_ready()
        lost: list[OSError] = []
        reader = self._spawn(self._read_loop, sock, lost)
        try:
            return self._send_loop(sock, lost)
        finally:
            self._sock = None
            self._update_ready()
            try:
                reader.kill(block=True, timeout=1.0)
            finally:
                sock.close()
                self._unbind()

    def _send_loop(self, sock: Any, lost: list[OSError]) -> OSError | None:
        q = self._queue
        wake = self._wake
        send = self._sender(sock)
        while not self._quit.is_set():
            if lost:
                return lost[0]
            if not q:
                if self._flushing:
                    return None
                wake.clear()
                wake.wait()
                continue
            ev = q[0]
            head = self._head
            if head is None or head[0] is not ev:
                try:
                    head = self._head = [ev, self._datagrams(ev.value), 0]
                except RxUnixError as exc:
                    self._head_done()
                    self._drop(ev, "encode", exc)
                    continue
            frames: list[bytes] = head[1]
            try:
                while head[2] < len(frames):
                    send(frames[head[2]])
                    head[2] += 1
                    self.stats["bytes_written"] += len(frames[head[2] - 1])
            except OSError as exc:
                if exc.errno in LOST:
                    self._error(exc, "write", stream=self.path, meta=self._meta)
                    return exc  # the event stays at the head: all its datagrams go after reconnecting
                self._head_done()
                self._drop(ev, "write", exc if not head[2] else  # EMSGSIZE and the like: this event only
                           f"{exc} (after {head[2]} of its {len(frames)} datagrams)")
                continue
            self._head_done()
            self.stats["written"] += 1
        return None

    def _head_done(self) -> None:
        """The event at the head of the queue is written or reported: the next one's turn."""
        self._queue.popleft()
        self._head = None
        if not self._readiness.value:
            self._update_ready()

    def _sender(self, sock: Any) -> Any:
        """``send(data)`` that returns once the kernel took the whole datagram, waiting
        (cooperatively) while the receiver's queue is full. (gevent's own ``send`` gives
        up and returns 0 when the socket, woken as writable, is full again: another
        sender filled the receiver's queue first. That would count an unsent datagram
        as sent.)"""
        raw = getattr(sock, "_sock", sock)  # gevent's socket keeps the OS socket non-blocking
        fileno = sock.fileno()
        send = raw.send

        def send_whole(data: bytes) -> None:
            while True:
                try:
                    send(data)
                    return
                except BlockingIOError:
                    self._blocked = True  # stop() need not wait for this greenlet to see quit
                    try:
                        gsocket.wait_write(fileno)
                    finally:
                        self._blocked = False

        return send_whole

    def _read_loop(self, sock: Any, lost: list[OSError]) -> None:
        recvmsg = sock.recvmsg
        size = self.config["buf_size"]
        turns = Turns()
        gate = self.gate
        while True:
            if not gate.open:  # paused by a flow-control link (the replies wait in the socket)
                gate.wait()
            try:
                data, _, flags, _ = recvmsg(size)
            except OSError as exc:
                if exc.errno in LOST:
                    lost.append(exc)
                    self._wake.set()
                    return
                self._error(exc, "read", stream=self.path, meta=self._meta)
                gevent.sleep(0.01)
                continue
            if flags & _MSG_TRUNC:
                self._error(DatagramTooLarge(f"datagram larger than buf_size ({size} bytes): dropped"),
                            "read", stream=self.path, meta=self._meta, buf_size=size)
            else:
                self._deliver(data)
            turns.took_turn()

    def _deliver(self, data: bytes) -> None:
        decoder = self._reply_decoder
        if decoder is not None:  # one for every reply (GELF chunks of a message span datagrams)
            items = decoder.feed(data)
        else:
            decoder = self._decoders()
            items = decoder.feed(data)
            items.extend(decoder.finish())
        self._emit_items(items)

    def _emit_items(self, items: list[Any]) -> None:
        meta = self._meta
        for item in items:
            try:
                if is_failure(item):
                    self._error(item, "decode", stream=self.path, meta=meta)
                else:
                    self._emit(Event(item, meta))
            except Exception as exc:  # a subscriber raised: keep receiving
                self._error(exc, "emit", stream=self.path, meta=meta)


def unix_datagram_client(config: Mapping[str, Any] | None = None, /, **options: Any) -> UnixDatagramClient:
    """Create a :class:`UnixDatagramClient` (not started).

    Accepts ``config={...}`` plus ``codec``, ``preprocessors``,
    ``postprocessors``, ``reconnect``, ``runtime``, ``rng``; Tremor's whole
    connector dict; keyword shortcuts for the config keys (``path=``, ``bind=``,
    ``buf_size=``, ``queue_size=``). Bad keys or values raise
    :class:`~rxunix.core.errors.ConfigError`::

        >>> unix_datagram_client(path="/tmp/x.sock", retry=1)
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: unix_datagram_client: unknown option 'retry'; allowed: codec, \
preprocessors, postprocessors, config, runtime, metrics_interval_s, reconnect, rng, path, bind, buf_size, queue_size
    """
    return UnixDatagramClient(config, **options)
