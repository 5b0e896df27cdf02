"""The sans-I/O core of one server connection: bytes in, events out; replies in, bytes out.

:class:`ServerConn` never sees a socket or a clock. The edge feeds it what the
kernel gave (:meth:`~ServerConn.receive`, :meth:`~ServerConn.receive_eof`),
hands it replies (:meth:`~ServerConn.queue_reply`,
:meth:`~ServerConn.queue_replies`), asks what to write
(:meth:`~ServerConn.data_to_send`) and says what the kernel took
(:meth:`~ServerConn.sent`, :meth:`~ServerConn.send_failed`). The core decides
everything else: framing, when a slow reader is evicted, when a connection may
close, what is lost and how many bytes.

The state machine (:class:`ConnState`, transitions in :data:`TRANSITIONS`)::

    OPEN --receive_eof--> HALF_CLOSED --drain--> DRAINING --all written--> CLOSED
      |                        |                    |
      +--drain--> DRAINING     +--(fail/evict/close: any state)--> CLOSED

Accounting holds after every call: ``queued == written + dropped + pending``
(bytes), and ``pending <= max_pending`` for every open connection::

    >>> from rxunix.core.framing import DecoderFactory, EncoderFactory
    >>> conn = ServerConn(DecoderFactory(["separate"], "json")(), EncoderFactory("json", ["separate"])(),
    ...                   meta={"unix_socket_server": {"peer": 1}}, max_pending=1024)
    >>> [e.value for e in conn.receive(b'{"a":1}\\n{"a"')], [e.value for e in conn.receive(b':2}\\n')]
    ([{'a': 1}], [{'a': 2}])
    >>> conn.queue_replies([1, 2]), bytes(conn.data_to_send())
    ([], b'1\\n2\\n')
    >>> conn.sent(3), bytes(conn.data_to_send()), conn.pending
    (True, b'\\n', 1)
    >>> conn.sent(1), conn.receive_eof(), conn.state
    (False, [], <ConnState.HALF_CLOSED: 'half_closed'>)
    >>> conn.drain(); conn.state, conn.written, conn.dropped
    (<ConnState.CLOSED: 'closed'>, 4, 0)
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .errors import RxUnixError
from .event import EventBatch
from .framing import Decoder, Encoder

__all__ = ["ConnState", "ServerConn", "Evicted", "TRANSITIONS", "IllegalTransition", "SEND_BYTES"]

#: :meth:`ServerConn.data_to_send` joins queued replies into one write up to this many
#: bytes; a larger reply goes out as it is (never copied), and the unsent rest of a write is
#: never copied again behind new replies, so a reader that falls behind costs linear time.
SEND_BYTES = 256 * 1024


class ConnState(enum.Enum):
    """Where a server connection is in its life."""

    #: reading and writing
    OPEN = "open"
    #: the peer sent EOF; replies still go out until the peer is gone or the server drains
    HALF_CLOSED = "half_closed"
    #: write what is pending, accept nothing new, then close
    DRAINING = "draining"
    #: over: nothing is read or written any more
    CLOSED = "closed"


#: Allowed transitions (anything else raises :class:`IllegalTransition`).
TRANSITIONS: Mapping[ConnState, frozenset[ConnState]] = {
    ConnState.OPEN: frozenset({ConnState.HALF_CLOSED, ConnState.DRAINING, ConnState.CLOSED}),
    ConnState.HALF_CLOSED: frozenset({ConnState.DRAINING, ConnState.CLOSED}),
    ConnState.DRAINING: frozenset({ConnState.CLOSED}),
    ConnState.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A caller asked for a transition the state machine does not allow."""


class Evicted(NamedTuple):
    """The connection was closed because its unsent replies exceeded ``max_pending``."""

    pending: int
    max_pending: int


class ServerConn:
    """One accepted connection's framing, reply queue and accounting (no I/O).

    ``meta`` is the connection's metadata, shared by every event it produces.
    ``max_pending`` bounds the unsent reply bytes: the reply that crosses it
    evicts the connection (:meth:`queue_reply` returns :class:`Evicted`).
    """

    __slots__ = (
        "state", "meta", "max_pending", "queued", "written", "dropped", "pending", "write_failed", "unsent",
        "_decoder", "_encoder", "_out", "_view",
    )

    def __init__(self, decoder: Decoder, encoder: Encoder, *, meta: Mapping[str, Any], max_pending: int) -> None:
        self.state = ConnState.OPEN
        self.meta = meta
        self.max_pending = max_pending
        #: reply bytes accepted, written to the kernel, and dropped (eviction, failure, close)
        self.queued = self.written = self.dropped = 0
        #: writing failed for good (see :meth:`send_failed`); ``unsent``: the reply bytes
        #: dropped since, as they were queued (part of ``dropped``)
        self.write_failed = False
        self.unsent = 0
        self._decoder = decoder
        self._encoder = encoder
        self._out: deque[bytes] = deque()  # encoded replies not yet taken by data_to_send()
        #: reply bytes accepted and not yet written (in ``_out`` and the unsent part of ``_view``; read only)
        self.pending = 0
        #: the next write, not yet all sent: handed out by data_to_send() (the bytes of one
        #: reply queued while nothing was pending, as they are; else a memoryview)
        self._view: bytes | memoryview | None = None

    # ---- state --------------------------------------------------------------
    def _move(self, new: ConnState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state.value} -> {new.value}")
        self.state = new

    @property
    def open(self) -> bool:
        """True until the connection is closed."""
        return self.state is not ConnState.CLOSED

    @property
    def reading(self) -> bool:
        """True while received bytes are still expected (before EOF, drain or close)."""
        return self.state is ConnState.OPEN

    # ---- receiving ----------------------------------------------------------
    def receive(self, data: bytes, *, lazy: bool = False) -> EventBatch:
        """Frame and decode one received chunk: its events and failures, in order.

        Failures (:class:`~rxunix.core.errors.RxUnixError` instances) stand in the
        batch where the value would have been; see :meth:`EventBatch.failures`.
        ``lazy=True``: a batch without failures leaves its events unbuilt (see
        :class:`~rxunix.core.event.EventBatch`).
        """
        decoder = self._decoder
        items = decoder.feed(data)
        return EventBatch.of(items, self.meta, clean=decoder.clean, lazy=lazy)

    def receive_eof(self) -> EventBatch:
        """The peer closed its side: flush the framing's tail as the last events."""
        if self.state is ConnState.OPEN:
            self._move(ConnState.HALF_CLOSED)
        decoder = self._decoder
        items = decoder.finish()
        return EventBatch.of(items, self.meta, clean=decoder.clean)

    # ---- replies ------------------------------------------------------------
    def queue_reply(self, value: Any) -> RxUnixError | Evicted | None:
        """Encode one reply and queue its bytes.

        Returns None when queued (or when the connection is closed: replies to a
        closed connection are counted as dropped by the caller's routing), the
        encoding failure, or :class:`Evicted` when this reply crossed ``max_pending``
        (the connection is then closed and every pending byte dropped).
        """
        try:
            data = self._encoder.encode(value)
        except RxUnixError as exc:
            return exc
        return self._queue(data)

    def queue_replies(self, values: Sequence[Any], slices: tuple[list[Any], list[tuple[int, int]]] | None = None,
                      *, decoded: bool = False) -> list[tuple[int, RxUnixError]] | Evicted:
        """Encode a batch of replies in one call and queue the bytes (``slices``: see
        :meth:`~rxunix.core.framing.Encoder.encode_batch`). ``decoded=True`` says that
        ``values`` are as this connection's decoder gave them, untouched since (an echo):
        a NaN or infinity the decoder never makes is not looked for.

        Returns the ``(index, error)`` pairs of values that failed to encode (the
        others are queued), or :class:`Evicted`.
        """
        data, failed = self._encoder.encode_batch(values, slices, decoded and self._decoder.finite)
        evicted = self._queue(data)
        return evicted if evicted is not None else failed

    def _queue(self, data: bytes) -> Evicted | None:
        if not data or self.state is ConnState.CLOSED:
            return None
        if self.write_failed:  # nothing can be written any more: dropped as it comes
            n = len(data)
            self.queued += n
            self.dropped += n
            self.unsent += n
            return None
        if self.pending:
            self._out.append(data)
        else:  # nothing pending: these bytes are the next write, as they are
            self._view = data
        n = len(data)
        self.queued += n
        self.pending += n
        if self.pending > self.max_pending:
            evicted = Evicted(self.pending, self.max_pending)
            self.close()
            return evicted
        return None

    # ---- writing ------------------------------------------------------------
    def data_to_send(self) -> bytes | memoryview | None:
        """The bytes to write now, or None if nothing is pending.

        The unsent rest of the last write comes first, then queued replies in order,
        joined up to :data:`SEND_BYTES` (a larger reply is handed out alone, uncopied);
        what is left comes with the next call. Call :meth:`sent` with how many bytes the
        kernel took before asking again.
        """
        if self.state is ConnState.CLOSED:
            return None
        view, out = self._view, self._out
        if not out or (view is not None and len(view) >= SEND_BYTES):
            return view
        parts: list[bytes | memoryview] = [] if view is None else [view]
        size = 0 if view is None else len(view)
        while out and (not parts or size + len(out[0]) <= SEND_BYTES):
            chunk = out.popleft()
            parts.append(chunk)
            size += len(chunk)
        self._view = memoryview(parts[0] if len(parts) == 1 else b"".join(parts))
        return self._view

    def sent(self, n: int) -> bool:
        """The kernel took ``n`` bytes of what :meth:`data_to_send` returned. Returns True
        when the writer has more to do: bytes are still pending, or the connection closed."""
        view = self._view
        if view is None or not 0 <= n <= len(view):
            raise ValueError(f"sent({n}) does not match the {0 if view is None else len(view)} bytes handed out")
        self.pending -= n
        self.written += n
        self._view = (view if view.__class__ is memoryview else memoryview(view))[n:] if n < len(view) else None
        if self.pending:
            return True
        if self.state is ConnState.DRAINING:
            self._move(ConnState.CLOSED)
        return self.state is ConnState.CLOSED

    def send_failed(self) -> int:
        """Writing failed for good (the peer no longer reads: ``EPIPE``): the pending bytes
        are dropped, and so are the bytes of every later reply (counted in ``unsent``);
        while the connection is open, what the peer sent is still read until EOF (its
        last events are not lost). Returns how many pending bytes were dropped."""
        lost = self.pending
        self.dropped += lost
        self.pending = 0
        self._out.clear()
        self._view = None
        self.write_failed = True
        if self.state is not ConnState.OPEN and self.state is not ConnState.CLOSED:
            self._move(ConnState.CLOSED)  # nothing more to read, nothing can be written
        return lost

    @property
    def writing_done(self) -> bool:
        """True when nothing is pending."""
        return self.pending == 0

    # ---- ending -------------------------------------------------------------
    def drain(self) -> None:
        """Accept no more received data; close once every pending byte is written."""
        if self.state in (ConnState.OPEN, ConnState.HALF_CLOSED):
            self._move(ConnState.DRAINING)
        if self.state is ConnState.DRAINING and self.pending == 0:
            self._move(ConnState.CLOSED)

    def close(self) -> int:
        """Close now (idempotent): pending bytes are dropped; returns how many."""
        if self.state is ConnState.CLOSED:
            return 0
        lost = self.pending
        self.dropped += lost
        self.pending = 0
        self._out.clear()
        self._view = None
        self._move(ConnState.CLOSED)
        return lost

