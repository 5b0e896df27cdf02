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
``send_buffer_bytes``
    the kernel's send buffer of each connection (default: the kernel's; see
    :mod:`rxunix.edge.sockbuf`).

Behaviour (SPEC section 4): connects at ``start()``; a failed connect is retried
per the ``reconnect`` policy (:mod:`rxunix.core.reconnect`), and without one is a
single error. When retries are exhausted, one ``connect`` error says so, every
held event is reported (action ``write``) and ``out``/``err`` complete. A lost
connection (EOF or error, noticed by the reader at once) flushes the
preprocessors' tail and starts reconnecting immediately with a fresh schedule
(a connection lost within ``interval_ms`` of being made counts as a failed
attempt, so a server that accepts and closes at once is not hammered).
Which event counts as written, reported or held is decided by the client's
sans-I/O core, :class:`~rxunix.core.outbox.Outbox`: writes are batched (the
first event pushed in a pass of the event loop while the writer is idle goes to
the socket at once, without a greenlet switch; a writer greenlet hands the
events pushed after it, and any backlog, to the socket in batches; ``stats["sends"]``
counts the send calls); if the connection breaks mid-batch, events fully handed to the
socket count as written, an event cut in the middle is reported (``write``),
and events not started go back to the head of the queue for the next
connection (so nothing is sent twice). ``stop()`` flushes the queue to a
live connection within its timeout and reports the rest (action ``stop``).

Events pushed after the client ended (stopped, or gave up) are counted as
reported, but ``err`` has completed by then: check ``client.state`` first.

Error actions on ``err``: ``connect``, ``read``, ``decode``, ``encode``,
``write``, ``enqueue``, ``stop``, ``emit`` (a subscriber of ``out`` raised).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import gevent
import gevent.event

from ..core.connector_options import parse_client_options
from ..core.event import Event, EventBatch
from ..core.framing import Decoder, DecoderFactory, EncoderFactory
from ..core.origin import CLIENT
from ..core.outbox import Outbox, OutboxState
from ..core.reconnect import RetryPolicy
from ..core.registry import Spec
from .base import Connector
from .flowctl import READY_BACKLOG
from .gcpause import GcPause
from .reconnecting import Reconnecting
from .runtime import Runtime
from .session import Session as _Session
from .sockbuf import check_send_buffer
from .turns import OncePerPass, Turns

__all__ = ["UnixSocketClient", "unix_socket_client"]

class UnixSocketClient(Reconnecting, Connector):
    """A client connector; build it with :func:`unix_socket_client`.

    Counters: :attr:`pushed`, :attr:`written`, :attr:`reported` (also in
    ``stats``); ``stats["connects"]`` counts successful connects,
    ``stats["retries"]`` waits before a retry.
    """

    kind = CLIENT
    flow_controlled = True
    pausable = True
    metered = {"events_in": "pushed", "events_out": "out", "events_err": "errors", "bytes_read": "bytes_read",
               "bytes_written": "bytes_written", "connections_opened": "connects",
               "connections_closed": "disconnects", "reconnects": "retries"}

    def __init__(self, config: Mapping[str, Any] | None = None, /, **options: Any) -> None:
        opts, cfg = parse_client_options(config, options)
        self._decoders = DecoderFactory(opts["preprocessors"], opts["codec"])
        self._encoders = EncoderFactory(opts["codec"], opts["postprocessors"])
        self.policy: RetryPolicy | None = RetryPolicy.from_config(opts["reconnect"], rng=opts["rng"])
        self._box = Outbox(cfg["queue_size"])
        check_send_buffer(CLIENT, cfg["send_buffer_bytes"])
        super().__init__(runtime=opts["runtime"], metrics_interval_s=opts["metrics_interval_s"])
        #: The validated configuration (read-only).
        self.config: Mapping[str, Any] = MappingProxyType(cfg)
        self.path: str = cfg["path"]
        self.buf_size: int = cfg["buf_size"]
        self.queue_size: int = cfg["queue_size"]
        self._meta: Mapping[str, Any] = MappingProxyType({CLIENT: MappingProxyType({"peer": self.path})})
        self._session: _Session | None = None
        self._wake = gevent.event.Event()  # the writer has work (or must look at its session)
        self._quit = gevent.event.Event()  # stop() was called
        self._runner: gevent.Greenlet | None = None
        for key in ("connects", "retries", "sends"):
            self._stats[key] = 0
        self._direct = OncePerPass()  # the first push of a pass of the loop is sent at once
        self._ready_high = min(READY_BACKLOG, self.queue_size)

    # ---- counters -----------------------------------------------------------
    @property
    def stats(self) -> Counter[str]:
        """Counters; ``pushed``, ``written`` and ``reported`` are the outbox's."""
        s, box = self._stats, self._box
        s["pushed"], s["written"], s["reported"] = box.pushed, box.written, box.reported
        return s

    @stats.setter
    def stats(self, value: Counter[str]) -> None:
        self._stats = value

    @property
    def pushed(self) -> int:
        """Events received on ``in_``."""
        return self._box.pushed

    @property
    def written(self) -> int:
        """Events whose bytes were completely handed to a socket."""
        return self._box.written

    @property
    def reported(self) -> int:
        """Events pushed that were reported on ``err`` instead of written."""
        return self._box.reported

    @property
    def held(self) -> int:
        """Events waiting to be written (queued or in the batch being written)."""
        return self._box.held

    @property
    def outbox(self) -> Outbox:
        """The sans-I/O core deciding what is written, reported and held (read it, do not drive it)."""
        return self._box

    @property
    def connected(self) -> bool:
        """True while a connection is up."""
        return self._box.state in (OutboxState.CONNECTED, OutboxState.FINISHING)

    def _gauges(self) -> dict[str, float]:
        return {"connections_open": int(self.connected), "held_events": self.held}

    def _update_ready(self) -> None:
        """Not ready at the limit of held events (READY_BACKLOG while connected, at most
        ``queue_size`` while disconnected); ready again at half of it."""
        self._readiness.track(self._box.held, READY_BACKLOG if self.connected else self._ready_high)

    # ---- pushing (hub thread) -------------------------------------------------
    def _start(self) -> None:
        self._update_ready()
        self._runner = self._spawn(self._run)

    def _receive(self, event: Event) -> None:
        self._box.push(event if isinstance(event, Event) else Event(event))
        self._pushed()

    receive = _receive  # what ``in_`` calls for each event (one call less than the base's)

    def receive_batch(self, events: Sequence[Event]) -> None:
        """Take a batch pushed into ``in_`` in one call (held in order, written in one go)."""
        self._box.push_many(events)
        self._pushed()

    def _pushed(self) -> None:
        box = self._box
        if box.reports:
            self._report_outbox()
        if box.held >= self._ready_high and self._readiness.value:  # (once not ready, more cannot change it)
            self._update_ready()
        sess = self._session
        if sess is not None and not sess.writing and box.state is OutboxState.CONNECTED:
            if self._direct.first():  # (a producer pushing many events without yielding:
                self._try_send(sess)  # the first goes at once, the writer sends the rest together)
            else:
                self._wake.set()

    def _try_send(self, sess: _Session) -> None:
        """The writer is idle: hand what is held to the socket from here, without
        waiting (saves a greenlet switch per event when traffic is sparse); the
        writer greenlet finishes whatever the socket does not take at once."""
        box = self._box
        view = box.data_to_send()
        if box.reports:
            self._report_outbox()
        if view is None:
            return
        self._stats["sends"] += 1
        try:
            sent = sess.raw.send(view)
        except OSError:  # would block, or the connection broke: the writer takes over
            sent = 0
        box.sent(sent)
        self._stats["bytes_written"] += sent
        if not box.idle:
            self._wake.set()

    def _report_outbox(self) -> None:
        for r in self._box.take_reports():
            self._error(r.reason, r.action, stream=self.path, meta=r.event.meta, value=r.event.value)

    # ---- stopping -------------------------------------------------------------
    _abandons_in_hub = True

    def _abandon(self) -> None:
        """A client stopped before it started reports every event pushed into it."""
        self._box.close("client stopped before it was started")
        self._report_outbox()
        self._finished()

    def _stop(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        sess = self._session
        self._box.finishing("client stopped")
        if sess is not None and not sess.lost.is_set():
            # flush what is held to the live connection, then the encoder's tail
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
        self._box.close("client stopped before it could be written")
        self._report_outbox()

    # ---- receiving ------------------------------------------------------------
    def _deliver(self, batch: EventBatch) -> None:
        for part, failure in batch.in_order():
            if failure is not None:
                self._error(failure, "decode", stream=self.path, meta=self._meta)
            elif part:
                self._stats["out"] += len(part)
                for exc in self._out.on_next_batch(part):  # a subscriber raised: keep the connection
                    self._error(exc, "emit", stream=self.path, meta=self._meta)

    def _read_loop(self, sess: _Session) -> None:
        recv = sess.sock.recv
        decoder = sess.decoder
        take, read = GcPause().run, self._read
        meta = self._meta
        size = self.buf_size
        turns = Turns()
        gate = self.gate
        stats = self._stats
        try:
            while True:
                if not gate.open and not sess.closing:  # paused by a flow-control link
                    gate.wait(sess.lost)
                data = recv(size)
                if not data:
                    sess.eof = True
                    break
                stats["bytes_read"] += len(data)
                take(read, decoder, data)  # decoded and delivered with the collector paused
                turns.took_turn()  # a flooding server must not starve the hub
        except OSError as exc:
            if not sess.closing:
                self._error(exc, "read", stream=self.path, meta=meta)
        finally:
            sess.lost.set()

    def _read(self, decoder: Decoder, data: bytes) -> None:
        """One read: its events decoded and emitted."""
        self._deliver(EventBatch.of(decoder.feed(data), self._meta, clean=decoder.clean))

    # ---- writing ----------------------------------------------------------------
    def _write_loop(self, sess: _Session) -> None:
        box, wake, send = self._box, self._wake, sess.sock.send
        while not sess.closing:
            view = box.data_to_send()
            if box.reports:
                self._report_outbox()
            if view is None:
                if box.state is OutboxState.FINISHING:
                    self._send_tail(sess)
                    return
                wake.clear()
                if box.idle:
                    wake.wait()
                continue
            sess.writing = True
            self._stats["sends"] += 1
            try:
                sent = send(view)
            except OSError as exc:
                sess.writing = False
                if not sess.closing:
                    self._error(exc, "write", stream=self.path, meta=self._meta)
                box.send_failed(exc)
                self._report_outbox()
                sess.lost.set()
                return
            sess.writing = False
            box.sent(sent)
            self._stats["bytes_written"] += sent
            self._update_ready()

    def _send_tail(self, sess: _Session) -> None:
        try:
            tail = self._box.tail()
            if tail:
                self._stats["sends"] += 1
                sess.sock.sendall(tail)
                self._stats["bytes_written"] += len(tail)
        except OSError as exc:
            if not sess.closing:
                self._error(exc, "write", stream=self.path, meta=self._meta)
        except Exception as exc:  # the encoder's own failure (an RxUnixError)
            self._error(exc, "encode", stream=self.path, meta=self._meta)


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
    **config_keys: Any,
) -> UnixSocketClient:
    """Build a :class:`UnixSocketClient` (not started).

    ``config`` is the connector's ``config`` dict (``path``, ``buf_size``,
    ``queue_size``, ``send_buffer_bytes``), or Tremor's whole connector definition as one dict (keys
    ``codec``, ``preprocessors``, ``postprocessors``, ``config``, ``reconnect``,
    ``metrics_interval_s``). Config keys may also be given as keyword arguments
    (``path=...``). Bad keys or values raise :class:`~rxunix.core.errors.ConfigError`
    naming the key and what is allowed. ``rng`` seeds the reconnect jitter (for
    tests). Example::

        >>> c = unix_socket_client(path="/tmp/x.sock", reconnect={"retry": {"interval_ms": 50}})
        >>> c.policy
        RetryPolicy(interval_ms=50, growth_rate=1.5, max_retries=None, randomized=True, max_interval_ms=30000)
    """
    named = {"codec": codec, "preprocessors": preprocessors, "postprocessors": postprocessors,
             "reconnect": reconnect, "runtime": runtime, "rng": rng, "metrics_interval_s": metrics_interval_s}
    options = {k: v for k, v in named.items() if v is not None}
    options.update(config_keys)
    return UnixSocketClient(config, **options)
