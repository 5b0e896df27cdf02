"""``unix_socket_client``: a reconnecting UNIX socket client that loses nothing.

Tremor's configuration from the source document works unchanged, as one dict or
as keyword arguments::

    >>> client = unix_socket_client({
    ...     "postprocessors": ["separate"], "preprocessors": ["separate"], "codec": "json",
    ...     "config": {"path": "/tmp/unix-socket.sock", "buf_size": 1024},
    ...     "reconnect": {"retry": {"interval_ms": 100, "growth_rate": 2, "max_retries": 3}},
    ... })
    >>> client = unix_socket_client(config={"path": "/tmp/unix-socket.sock", "buf_size": 1024},
    ...                             preprocessors=["separate"], postprocessors=["separate"])
    >>> client.pushed, client.written, client.reported
    (0, 0, 0)

Events received carry ``meta["unix_socket_client"] = {"peer": path}``. Events
pushed into ``in_`` are encoded and written in order; every one of them is either
written to a socket or reported on ``err`` with its value, so that once the client
is idle (or stopped) ``written + reported == pushed``.

Config keys (``config={...}``):

``path``
    socket to connect to (required).
``buf_size``
    receive buffer in bytes (default 8192).
``queue_size``
    how many events are held while disconnected (default 1000, 0 = none): events
    pushed while no connection is up wait in this queue and are sent in order
    after (re)connecting; an event pushed when it is full is reported on ``err``
    (action ``enqueue``). While connected the queue is the writer's backlog and
    is not bounded by this option.

Behaviour (SPEC section 4): connects at ``start()``; a failed connect is retried
per the ``reconnect`` policy (:mod:`rxunix.reconnect`), and without one is a
single error. When retries are exhausted, one ``connect`` error says so, every
held event is reported (action ``write``) and ``out``/``err`` complete. A lost
connection (EOF or error, noticed by the reader at once) flushes the
preprocessors' tail and starts reconnecting immediately with a fresh schedule
(a connection lost within ``interval_ms`` of being made counts as a failed
attempt, so a server that accepts and closes at once is not hammered).
Writes are batched: a writer greenlet drains the queue and hands each batch to
the socket in one go; if the connection breaks mid-batch, events fully handed
to the socket count as written, an event cut in the middle is reported
(``write``), and events not started go back to the head of the queue for the
next connection (so nothing is sent twice). ``stop()`` flushes the queue to a
live connection within its timeout and reports the rest (action ``stop``).

Events pushed after the client ended (stopped, or gave up) are counted as
reported, but ``err`` has completed by then: check ``client.state`` first.

Error actions on ``err``: ``connect``, ``read``, ``decode``, ``encode``,
``write``, ``enqueue``, ``stop``, ``deliver`` (a subscriber of ``out`` raised).
"""

from __future__ import annotations

import os
import random
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import gevent
import gevent.event
from gevent import socket as gsocket

from ..core.address import sockaddr
from ..core.config import REQUIRED, Option, validate
from ..core.errors import ConfigError, RxUnixError
from ..core.event import Event
from ..core.framing import Decoder, DecoderFactory, Encoder, EncoderFactory
from ..core.origin import CLIENT
from ..core.reconnect import RetryPolicy
from ..core.registry import Spec
from .base import Connector
from .flowctl import READY_BACKLOG
from .runtime import Runtime
from .sockpath import describe_connect_error
from .turns import Turns

__all__ = ["UnixSocketClient", "unix_socket_client", "CONFIG_SCHEMA", "CONNECTOR_KEYS"]

#: Linux ``sun_path`` limit, including the terminating NUL.
_SUN_PATH_MAX = 108
#: A batch stops growing once it holds this many encoded bytes.
_BATCH_BYTES = 256 * 1024
#: Seconds one connect attempt may take (a listener whose backlog is full).
_CONNECT_TIMEOUT = 10.0
#: Seconds the reader may still drain after the writer saw the connection break.
_READ_GRACE = 1.0


def _check_path(p: str) -> bool:
    return bool(p) and len(os.fsencode(p)) < _SUN_PATH_MAX


def _fspath(v: Any) -> str:
    p = os.fspath(v)
    if not isinstance(p, str):
        raise ValueError(f"must be a str path, got {type(p).__name__}")
    return p


#: Options of the ``config`` dict.
CONFIG_SCHEMA: dict[str, Option] = {
    "path": Option(
        (str, os.PathLike), REQUIRED, convert=_fspath, check=_check_path,
        expect=f"a non-empty path shorter than {_SUN_PATH_MAX} bytes",
    ),
    "buf_size": Option(int, 8192, check=lambda v: v > 0, expect="a positive int"),
    "queue_size": Option(int, 1000, check=lambda v: v >= 0, expect="an int >= 0"),
}

#: Top-level keys of Tremor's connector definition.
CONNECTOR_KEYS = ("codec", "preprocessors", "postprocessors", "config", "reconnect", "metrics_interval_s")


class _Session:
    """One live connection: socket, per-stream framing state and its greenlets."""

    __slots__ = ("sock", "decoder", "encoder", "lost", "closing", "finishing", "reader", "writer", "rest",
                 "direct")

    def __init__(self, sock: gsocket.socket, decoder: Decoder, encoder: Encoder) -> None:
        self.sock = sock
        self.decoder = decoder
        self.encoder = encoder
        self.lost = gevent.event.Event()  # the connection is over (or being closed)
        self.closing = False  # we are closing it: errors are expected, not reported
        self.finishing = False  # stop(): write what is queued, the encoder's tail, then end
        self.reader: gevent.Greenlet | None = None
        self.writer: gevent.Greenlet | None = None
        #: bytes of the in-flight event that a direct write could not hand over
        self.rest: memoryview | None = None
        #: events may be written straight from ``in_`` (stateless encoding only)
        self.direct = encoder.stateless


class UnixSocketClient(Connector):
    """A client connector; build it with :func:`unix_socket_client`.

    Counters (also in ``stats``): :attr:`pushed`, :attr:`written`,
    :attr:`reported`; ``stats["connects"]`` counts successful connects,
    ``stats["retries"]`` waits before a retry.
    """

    kind = CLIENT
    # ---- flow control and metrics (issue 16) ----
    flow_controlled = True
    pausable = True
    metered = {"events_in": "pushed", "events_out": "out", "events_err": "errors", "bytes_read": "bytes_read",
               "bytes_written": "bytes_written", "connections_opened": "connects",
               "connections_closed": "disconnects", "reconnects": "retries"}

    def _gauges(self) -> dict[str, float]:
        return {"connections_open": int(self._connected), "held_events": self.held}

    def _update_ready(self) -> None:
        """Not ready at the limit of held events (READY_BACKLOG while connected, at most
        ``queue_size`` while disconnected); ready again at half of it."""
        held = len(self._queue) + len(self._inflight)
        limit = READY_BACKLOG if self._connected else self._ready_high
        if held >= limit:
            self._set_ready(False)
        elif held <= limit // 2:
            self._set_ready(True)
    # ---- end flow control and metrics ----

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        codec: Spec = "json",
        preprocessors: Sequence[Spec] | None = None,
        postprocessors: Sequence[Spec] | None = None,
        reconnect: Any = None,
        runtime: Runtime | None = None,
        rng: random.Random | None = None,
        metrics_interval_s: float | None = None,
    ) -> None:
        opts = validate(f"{CLIENT} config", config, CONFIG_SCHEMA)
        self._decoders = DecoderFactory(preprocessors, codec)
        self._encoders = EncoderFactory(codec, postprocessors)
        self.policy: RetryPolicy | None = RetryPolicy.from_config(reconnect, rng=rng)
        super().__init__(runtime=runtime, metrics_interval_s=metrics_interval_s)
        self.path: str = opts["path"]
        self.buf_size: int = opts["buf_size"]
        self.queue_size: int = opts["queue_size"]
        self._meta: Mapping[str, Any] = MappingProxyType({CLIENT: MappingProxyType({"peer": self.path})})
        self._queue: deque[Event] = deque()
        self._inflight: list[Event] = []
        self._session: _Session | None = None
        self._connected = False
        self._closed: str | None = None  # why the client takes no more events
        self._wake = gevent.event.Event()  # the writer has work (or must look at its session)
        self._quit = gevent.event.Event()  # stop() was called
        self._runner: gevent.Greenlet | None = None
        for key in ("pushed", "written", "reported", "connects", "retries"):
            self.stats[key] = 0
        self._ready_high = min(READY_BACKLOG, self.queue_size)  # flow control (issue 16)

    # ---- counters -----------------------------------------------------------
    @property
    def pushed(self) -> int:
        """Events received on ``in_``."""
        return self.stats["pushed"]

    @property
    def written(self) -> int:
        """Events whose bytes were completely handed to a socket."""
        return self.stats["written"]

    @property
    def reported(self) -> int:
        """Events pushed that were reported on ``err`` instead of written."""
        return self.stats["reported"]

    @property
    def held(self) -> int:
        """Events waiting to be written (queued or in the batch being written)."""
        return len(self._queue) + len(self._inflight)

    @property
    def connected(self) -> bool:
        """True while a connection is up."""
        return self._connected

    # ---- Connector hooks (hub thread) ---------------------------------------
    def _start(self) -> None:
        self._update_ready()  # flow control (issue 16)
        self._runner = gevent.spawn(self._run)

    def _receive(self, event: Event) -> None:
        stats = self.stats
        stats["pushed"] += 1
        if not isinstance(event, Event):
            event = Event(event)
        if self._closed is not None:
            self._drop(event, "enqueue", f"not sent: {self._closed}")
            return
        if not self._connected and len(self._queue) >= self.queue_size:
            why = f"not sent: queue full ({self.queue_size} events held while disconnected)"
            self._drop(event, "enqueue", why)
            return
        self._queue.append(event)
        if len(self._queue) >= self._ready_high:  # flow control (issue 16)
            self._update_ready()
        sess = self._session
        if (
            sess is not None and sess.direct and self._connected and len(self._queue) == 1
            and not self._inflight and not sess.finishing and not sess.closing
        ):
            self._send_direct(sess)
        else:
            self._wake.set()

    def _send_direct(self, sess: _Session) -> None:
        """The writer is idle and nothing is queued before this event: hand it to the
        socket from here without waiting (saves a greenlet switch per event when
        traffic is sparse). Whatever the socket does not take at once is finished by
        the writer greenlet, before anything else, so order and accounting are kept."""
        ev = self._queue.popleft()
        try:
            data = sess.encoder.encode(ev.value)
        except RxUnixError as exc:
            self._drop(ev, "encode", exc)
            return
        try:
            sent = sess.sock.send(data, 0, 0.0)  # gevent: timeout 0 = never wait
        except OSError:  # would block, or the connection broke: the writer takes over
            sent = 0
        self.stats["bytes_written"] += sent  # metrics (issue 16)
        if sent == len(data):
            self.stats["written"] += 1
            return
        if sent == 0:
            self._queue.appendleft(ev)  # nothing went out: encoding is stateless, redo later
        else:
            self._inflight = [ev]
            sess.rest = memoryview(data)[sent:]
        self._wake.set()

    def _send_rest(self, sess: _Session) -> bool:
        """Finish the event a direct write handed over in part; False if the connection broke."""
        rest, sess.rest = sess.rest, None
        assert rest is not None
        batch, total = self._inflight, len(rest)
        sent = 0
        error: OSError | None = None
        try:
            while sent < total:
                sent += sess.sock.send(rest[sent:])
        except OSError as exc:
            error = exc
        self.stats["bytes_written"] += sent  # metrics (issue 16)
        self._inflight = []
        if error is None:
            self.stats["written"] += len(batch)
            return True
        # its first bytes are already out: it cannot be resent without duplicating
        self._cut(batch, sess, error)
        return False

    def _cut(self, batch: list[Event], sess: _Session, error: BaseException | None) -> None:
        for ev in batch:
            self._drop(ev, "write", f"partially written before the connection broke ({error or 'interrupted'})")
        if error is not None and not sess.closing:
            self._error(error, "write", stream=self.path, meta=self._meta)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop: flush held events to a live connection within ``timeout``, report the rest."""
        if self.state == "new":  # never started: events pushed so far must not vanish
            self.runtime.call(self._abandon)
        super().stop(timeout)

    def _abandon(self) -> None:
        self._closed = "client stopped"
        self._report_held("stop", "not sent: client stopped before it was started")
        self._finished()

    def _stop(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        self._closed = "client stopped"
        sess = self._session
        if sess is not None and not sess.lost.is_set():
            # flush what is queued to the live connection, then the encoder's tail
            sess.finishing = True
            self._wake.set()
            if sess.writer is not None:
                gevent.wait([sess.writer, sess.lost], timeout=left(), count=1)
            sess.closing = True
            sess.lost.set()
        self._quit.set()
        runner = self._runner
        if runner is not None:
            # closing the socket ends a session promptly: allow a little beyond the deadline
            remaining = left()
            runner.join(timeout=None if remaining is None else max(remaining, 1.0))
            if not runner.dead:
                runner.kill(block=True, timeout=1.0)
        self._report_held("stop", "not sent: client stopped before it could be written")

    # ---- helpers ------------------------------------------------------------
    def _drop(self, event: Event, action: str, message: str | BaseException) -> None:
        self.stats["reported"] += 1
        self._error(message, action, stream=self.path, meta=event.meta, value=event.value)

    def _report_held(self, action: str, message: str) -> None:
        inflight, self._inflight = self._inflight, []
        for ev in inflight:
            self._drop(ev, action, message)
        q = self._queue
        while q:
            self._drop(q.popleft(), action, message)

    def _deliver(self, items: list[Any]) -> None:
        meta = self._meta
        emit = self._emit
        for item in items:
            try:
                if isinstance(item, RxUnixError):
                    self._error(item, "decode", stream=self.path, meta=meta)
                else:
                    emit(Event(item, meta))
            except Exception as exc:  # a subscriber raised: keep the connection
                self._error(exc, "deliver", stream=self.path, meta=meta)

    # ---- the connection supervisor ------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                sock, error = self._connect()
                if self._quit.is_set():
                    if sock is not None:
                        sock.close()
                    return
                if sock is None:
                    self._give_up(self._gave_up_message(error))
                    return
                began = time.monotonic()
                self._serve(sock)
                if self._quit.is_set():
                    return
                policy = self.policy
                if policy is None:
                    self._give_up(f"connection to {self.path} lost and no reconnect is configured")
                    return
                if time.monotonic() - began < policy.interval_ms / 1000.0:
                    # lost as soon as made (a dying or refusing server): counts as a failed
                    # attempt, so that reconnecting never spins
                    wait = policy.next_wait()
                    if wait is None:
                        self._give_up(self._gave_up_message(ConnectionError("connection lost at once")))
                        return
                    self.stats["retries"] += 1
                    self._quit.wait(wait / 1000.0)
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # a bug must not lose events silently
            self._give_up(f"internal error: {type(exc).__name__}: {exc}")

    def _gave_up_message(self, error: BaseException | None) -> str:
        why = describe_connect_error(self.path, error) if error is not None else "unknown error"
        if self.policy is None:
            return f"could not connect to {self.path} ({why}); no reconnect is configured"
        return f"gave up connecting to {self.path} after {self.policy.retries} retries ({why})"

    def _give_up(self, message: str) -> None:
        self._closed = message
        self._error(message, "connect", stream=self.path, meta=self._meta,
                    retries=self.policy.retries if self.policy else 0)
        self._report_held("write", f"not sent: {message}")
        self._finished()

    def _connect(self) -> tuple[gsocket.socket | None, BaseException | None]:
        """Connect, retrying per policy; ``(socket, None)`` or ``(None, last error)``."""
        policy = self.policy
        error: BaseException | None = None
        while not self._quit.is_set():
            sock = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            try:
                sock.settimeout(_CONNECT_TIMEOUT)
                sock.connect(sockaddr(self.path))  # issue 17
                sock.settimeout(None)
            except OSError as exc:
                sock.close()
                error = exc
            except BaseException:  # killed by stop(): do not leak the socket
                sock.close()
                raise
            else:
                if policy is not None:
                    policy.reset()
                return sock, None
            wait = policy.next_wait() if policy is not None else None
            if wait is None:
                return None, error
            self.stats["retries"] += 1
            self._quit.wait(wait / 1000.0)
        return None, error

    def _serve(self, sock: gsocket.socket) -> None:
        sess = _Session(sock, self._decoders(), self._encoders())
        self._session = sess
        self._connected = True
        self.stats["connects"] += 1
        self._update_ready()  # flow control (issue 16)
        sess.reader = reader = gevent.spawn(self._read_loop, sess)
        sess.writer = writer = gevent.spawn(self._write_loop, sess)
        try:
            sess.lost.wait()
            self._connected = False
            if not sess.closing and not reader.dead:
                # the writer saw the break: let the reader take what already arrived
                reader.join(timeout=_READ_GRACE)
        finally:
            self._connected = False
            self.stats["disconnects"] += 1  # metrics (issue 16)
            self._update_ready()  # flow control (issue 16)
            sess.closing = True
            self._wake.set()
            sock.close()  # wakes a reader/writer blocked on the socket
            writer.join()
            reader.join()
            if sess.rest is not None:  # a direct write's tail never went out
                sess.rest = None
                batch, self._inflight = self._inflight, []
                self._cut(batch, sess, None)
            self._session = None
            self._deliver(sess.decoder.finish())

    def _read_loop(self, sess: _Session) -> None:
        recv = sess.sock.recv
        feed = sess.decoder.feed
        deliver = self._deliver
        size = self.buf_size
        turns = Turns()
        gate = self.gate  # flow control (issue 16)
        try:
            while True:
                if not gate.open and not sess.closing:  # flow control (issue 16): paused
                    gate.wait(sess.lost)
                data = recv(size)
                if not data:
                    break
                self.stats["bytes_read"] += len(data)  # metrics (issue 16)
                deliver(feed(data))
                turns.took_turn()  # a flooding server must not starve the hub
        except OSError as exc:
            if not sess.closing:
                self._error(exc, "read", stream=self.path, meta=self._meta)
        finally:
            sess.lost.set()

    def _write_loop(self, sess: _Session) -> None:
        q = self._queue
        wake = self._wake
        while not sess.closing:
            if sess.rest is not None:
                if not self._send_rest(sess):
                    sess.lost.set()
                    return
                self._update_ready()  # flow control (issue 16)
                continue
            if q:
                if not self._send_batch(sess):
                    sess.lost.set()
                    return
                self._update_ready()  # flow control (issue 16)
                continue
            if sess.finishing:
                self._send_tail(sess)
                return
            wake.clear()
            wake.wait()

    def _send_tail(self, sess: _Session) -> None:
        try:
            tail = sess.encoder.finish()
            if tail:
                sess.sock.sendall(tail)
                self.stats["bytes_written"] += len(tail)  # metrics (issue 16)
        except RxUnixError as exc:
            self._error(exc, "encode", stream=self.path, meta=self._meta)
        except OSError as exc:
            if not sess.closing:
                self._error(exc, "write", stream=self.path, meta=self._meta)

    def _send_batch(self, sess: _Session) -> bool:
        """Encode and write one batch from the head of the queue; False if the connection broke."""
        q = self._queue
        encode = sess.encoder.encode
        batch: list[Event] = []
        parts: list[bytes] = []
        ends: list[int] = []
        total = 0
        while q and total < _BATCH_BYTES:
            ev = q.popleft()
            try:
                data = encode(ev.value)
            except RxUnixError as exc:
                self._drop(ev, "encode", exc)
                continue
            batch.append(ev)
            parts.append(data)
            total += len(data)
            ends.append(total)
        if not batch:
            return True
        self._inflight = batch
        send = sess.sock.send
        sent = 0
        error: OSError | None = None
        try:
            view = memoryview(parts[0] if len(parts) == 1 else b"".join(parts))
            while sent < total:
                sent += send(view[sent:])
        except OSError as exc:
            error = exc
        finally:
            self._settle(batch, ends, sent, error, sess)
        return error is None

    def _settle(
        self, batch: list[Event], ends: list[int], sent: int, error: OSError | None, sess: _Session
    ) -> None:
        """Account for a batch after ``sent`` of its bytes reached the socket."""
        self._inflight = []
        self.stats["bytes_written"] += sent  # metrics (issue 16)
        done = bisect_right(ends, sent)
        self.stats["written"] += done
        if done == len(batch):
            return
        start = ends[done - 1] if done else 0
        rest = batch[done:]
        if sent > start:  # cut in the middle: cannot be resent without duplicating
            why = f"partially written before the connection broke ({error or 'interrupted'})"
            self._drop(rest[0], "write", why)
            rest = rest[1:]
        if error is not None and not sess.closing:
            self._error(error, "write", stream=self.path, meta=self._meta)
        self._queue.extendleft(reversed(rest))  # sent on the next connection


def unix_socket_client(
    config: Mapping[str, Any] | None = None,
    *,
    codec: Spec | None = None,
    preprocessors: Sequence[Spec] | None = None,
    postprocessors: Sequence[Spec] | None = None,
    reconnect: Any = None,
    runtime: Runtime | None = None,
    rng: random.Random | None = None,
    metrics_interval_s: float | None = None,
    **options: Any,
) -> UnixSocketClient:
    """Build a :class:`UnixSocketClient` (not started).

    ``config`` is the connector's ``config`` dict (``path``, ``buf_size``,
    ``queue_size``), or Tremor's whole connector definition as one dict (keys
    ``codec``, ``preprocessors``, ``postprocessors``, ``config``, ``reconnect``).
    Config keys may also be given as keyword arguments (``path=...``). Bad keys
    or values raise :class:`~rxunix.errors.ConfigError` naming the key and what is
    allowed. ``rng`` seeds the reconnect jitter (for tests). Example::

        >>> c = unix_socket_client(path="/tmp/x.sock", reconnect={"retry": {"interval_ms": 50}})
        >>> c.policy
        RetryPolicy(interval_ms=50, growth_rate=1.5, max_retries=None, randomized=True, max_interval_ms=30000)
    """
    explicit: dict[str, Any] = {
        k: v
        for k, v in (("codec", codec), ("preprocessors", preprocessors),
                     ("postprocessors", postprocessors), ("reconnect", reconnect),
                     ("metrics_interval_s", metrics_interval_s))
        if v is not None
    }
    if isinstance(config, Mapping) and any(k in config for k in CONNECTOR_KEYS):
        whole = dict(config)
        for key in whole:
            if key not in CONNECTOR_KEYS:
                raise ConfigError(f"{CLIENT}: unknown option {key!r}; allowed: {', '.join(CONNECTOR_KEYS)}")
        both = sorted(set(explicit) & set(whole))
        if both:
            raise ConfigError(f"{CLIENT}: {', '.join(both)} given both in the connector dict and as argument")
        whole.update(explicit)
        config = whole.get("config")
        if config is None and not options:
            raise ConfigError(f"{CLIENT}: option 'config' is required (it holds 'path')")
        explicit = {k: whole[k] for k in CONNECTOR_KEYS if k != "config" and whole.get(k) is not None}
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError(f"{CLIENT}: 'config' must be a dict, got {type(config).__name__}")
    merged = dict(config or {})
    for key, value in options.items():
        if key in merged:
            raise ConfigError(f"{CLIENT}: option {key!r} given both in config and as keyword argument")
        merged[key] = value
    return UnixSocketClient(
        merged,
        codec=explicit.get("codec", "json"),
        preprocessors=explicit.get("preprocessors"),
        postprocessors=explicit.get("postprocessors"),
        reconnect=explicit.get("reconnect"),
        runtime=runtime,
        rng=rng,
        metrics_interval_s=explicit.get("metrics_interval_s"),
    )
