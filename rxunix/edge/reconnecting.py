"""The connection supervisor of ``unix_socket_client``: connect, serve, reconnect or give up.

One greenlet per client (:meth:`Reconnecting._run`) keeps it connected:

* it connects, retrying as the ``reconnect`` policy says
  (:class:`~rxunix.core.reconnect.RetryPolicy`), and applies
  ``send_buffer_bytes``; a connection that lasts at least ``interval_ms``, or
  on which the server sent something, resets the policy's schedule;
* it serves one connection at a time with a reader and a writer greenlet
  (:class:`~rxunix.edge.session.Session`); when the writer sees the
  connection break first, the reader may still take what already arrived for
  up to :data:`_READ_GRACE` seconds; then the preprocessors' tail is flushed as
  events;
* a connection lost within ``interval_ms`` of being made, with nothing
  received on it, counts as a failed attempt (the policy's next wait, growing,
  up to ``max_retries``), so a server that accepts and closes at once is
  neither hammered nor retried forever, while one that answers a request per
  connection is not taken for a failing one;
  without a policy the first loss ends the client;
* giving up is one ``connect`` error, every held event reported (action
  ``write``), and ``out``/``err`` completed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import gevent
import gevent.event
from gevent import socket as gsocket

from ..core.event import EventBatch
from ..core.framing import DecoderFactory, EncoderFactory
from ..core.outbox import Outbox, OutboxState
from ..core.reconnect import RetryPolicy
from .session import Session as _Session
from .session import connect_stream
from .sockbuf import apply_send_buffer
from .sockpath import describe_connect_error

__all__ = ["Reconnecting"]

#: Seconds the reader may still drain after the writer saw the connection break.
_READ_GRACE = 1.0


class Reconnecting:
    """Keeps a stream client connected (its supervisor greenlet); a mixin of the client."""

    path: str
    config: Mapping[str, Any]
    policy: RetryPolicy | None
    _box: Outbox
    _meta: Mapping[str, Any]
    _stats: Counter[str]
    _session: _Session | None
    _wake: gevent.event.Event
    _quit: gevent.event.Event
    _spawn: Callable[..., gevent.Greenlet]
    _decoders: DecoderFactory
    _encoders: EncoderFactory
    _error: Callable[..., None]
    _finished: Callable[[], None]
    _report_outbox: Callable[[], None]
    _update_ready: Callable[[], None]
    _deliver: Callable[[EventBatch], None]
    _read_loop: Callable[[_Session], None]
    _write_loop: Callable[[_Session], None]

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
                began, read = time.monotonic(), self._stats["bytes_read"]
                self._serve(sock)
                if self._quit.is_set() or not self._after_loss(began, self._stats["bytes_read"] > read):
                    return
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # a bug must not lose events silently
            self._give_up(f"internal error: {type(exc).__name__}: {exc}")

    def _after_loss(self, began: float, answered: bool) -> bool:
        """A connection was lost: False if the client gives up, else wait as the policy says.
        ``answered``: the server sent something on it."""
        policy = self.policy
        if policy is None:
            self._give_up(f"connection to {self.path} lost and no reconnect is configured")
            return False
        if answered or time.monotonic() - began >= policy.interval_ms / 1000.0:
            policy.reset()  # the connection served: start the schedule afresh
        else:
            # lost as soon as made (a dying or refusing server): counts as a failed
            # attempt, so that reconnecting never spins nor goes on forever
            wait = policy.next_wait()
            if wait is None:
                self._give_up(self._gave_up_message(ConnectionError("connection lost at once")))
                return False
            self._stats["retries"] += 1
            self._quit.wait(wait / 1000.0)
        return True

    def _gave_up_message(self, error: BaseException | None) -> str:
        why = describe_connect_error(self.path, error) if error is not None else "unknown error"
        if self.policy is None:
            return f"could not connect to {self.path} ({why}); no reconnect is configured"
        return f"gave up connecting to {self.path} after {self.policy.retries} retries ({why})"

    def _give_up(self, message: str) -> None:
        self._error(message, "connect", stream=self.path, meta=self._meta,
                    retries=self.policy.retries if self.policy else 0)
        self._box.close(message, action="write")
        self._report_outbox()
        self._finished()

    def _connect(self) -> tuple[gsocket.socket | None, BaseException | None]:
        """Connect, retrying per policy; ``(socket, None)`` or ``(None, last error)``."""
        policy = self.policy
        error: BaseException | None = None
        while not self._quit.is_set():
            try:
                sock = connect_stream(self.path)
            except OSError as exc:
                error = exc
            else:
                size = self.config["send_buffer_bytes"]
                if size is not None and (problem := apply_send_buffer(sock, size)):
                    self._error(problem, "connect", stream=self.path, meta=self._meta, send_buffer_bytes=size)
                return sock, None
            wait = policy.next_wait() if policy is not None else None
            if wait is None:
                return None, error
            self._stats["retries"] += 1
            self._quit.wait(wait / 1000.0)
        return None, error

    def _serve(self, sock: gsocket.socket) -> None:
        sess = _Session(sock, self._decoders())
        self._session = sess
        if self._box.state is OutboxState.DISCONNECTED:
            self._box.connected(self._encoders())
        self._stats["connects"] += 1
        self._update_ready()
        sess.reader = reader = self._spawn(self._read_loop, sess)
        sess.writer = writer = self._spawn(self._write_loop, sess)
        stopped = False  # the client closed it (stop): a reply it was receiving is cut, not malformed
        try:
            sess.lost.wait()
            stopped = sess.closing
            if not sess.closing and not reader.dead:
                # the writer saw the break: let the reader take what already arrived
                reader.join(timeout=_READ_GRACE)
        finally:
            stopped = stopped or sess.closing
            sess.closing = True
            self._wake.set()
            sock.close()  # wakes a reader/writer blocked on the socket
            writer.join()
            reader.join()
            self._box.disconnected()
            self._report_outbox()
            self._session = None
            self._stats["disconnects"] += 1
            self._update_ready()
            if sess.eof or not stopped:  # the peer's end of stream: its last frame, even unterminated, is one
                self._deliver(EventBatch.of(sess.decoder.finish(), self._meta, clean=sess.decoder.clean))
