"""The reply side of ``unix_socket_server``: route replies to connections, encode, write.

A reply pushed into ``server.in_`` goes to the connection(s) its metadata names
(:func:`rxunix.core.routing.route`; the events of a connection carry its frozen
record, so a reply to one of them is an identity lookup). Replies pushed while
the server emits a read's events (the usual echo, whether the whole batch comes
through ``in_.on_next_batch`` or each event through an operator and
``in_.on_next``) are gathered per connection and encoded with one
``encode_batch`` call at the end of that read, then written with one send; a
reply from anywhere else is encoded and handed to the writer at once. Replies
to one connection keep their order either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gevent

from ..core.errors import SlowReaderError, UnroutableError
from ..core.event import Event, EventBatch, SliceBatch, built
from ..core.origin import SERVER, FrozenRecord
from ..core.routing import route
from ..core.server_conn import Evicted
from .peers import PeerConnection, ServerPart
from .runtime import Runtime

__all__ = ["ReplyWriter"]


def _count(events: Sequence[Event] | None) -> int:
    """How many events, a lazy batch's included."""
    if events is None:
        return 0
    return events.size if isinstance(events, (EventBatch, SliceBatch)) else len(events)


class ReplyWriter(ServerPart):
    """Reply routing and writing of a stream server (hub thread only); a mixin of the server."""

    #: ``in_`` takes a lazy batch as it is: an echo of a read builds no event per value
    takes_values = True
    #: ``in_`` encodes a window's slices (a :class:`SliceBatch` gathered whole) element by element
    takes_slices = True

    #: the counters ``stats["in"]`` and ``stats["bytes_written"]`` (ints: see the server)
    _n_in: int
    _n_bytes_written: int
    runtime: Runtime
    _dirty: list[PeerConnection]
    _batching: dict[Any, int]
    _reading: PeerConnection | None
    _reading_meta: Any
    _resume_at: int
    _end: Callable[[PeerConnection], None]

    # ---- routing ------------------------------------------------------------
    def _conn_of(self, meta: Mapping[str, Any] | None) -> PeerConnection | None:
        """The live connection whose own events carry ``meta`` (identity of its record),
        or that is the one origin of an aggregate of its events (``[record]``)."""
        rec = meta.get(SERVER) if meta is not None else None
        if rec.__class__ is list and len(rec) == 1:
            rec = rec[0]
        conn = self._by_record.get(id(rec)) if rec.__class__ is FrozenRecord else None
        return conn if conn is not None and conn.record is rec else None

    def receive_batch(self, events: Sequence[Event]) -> None:
        """Replies in one call: a batch of one connection's events is encoded at once
        (a lazy :class:`~rxunix.core.event.EventBatch` by its values: no event built);
        events with metadata of their own (a read's window aggregates) go to their
        connections a run at a time, in order."""
        self._n_in += _count(events)
        shared = EventBatch.shared_meta(events)
        conn = self._conn_of(shared)
        if conn is not None:
            self._take(conn, events)
        elif shared is not None:
            for event in built(events):
                self._route(event)
        else:
            self._take_runs(events)

    def _take(self, conn: PeerConnection, events: Sequence[Event]) -> None:
        """Replies to ``conn``: gathered until the end of a read, else queued and written now."""
        if conn.deferred is not None or self._in_read():
            self._defer(conn, events)
        elif not conn.ended and self._queue_now(conn, events):
            self._try_send(conn)

    def _take_runs(self, events: Sequence[Event]) -> None:
        """Each run of consecutive replies to one connection in one :meth:`_take`;
        a reply that names no single live connection is routed on its own."""
        conn_of, run_conn = self._conn_of, None
        run: list[Event] = []
        for event in events:
            conn = conn_of(event.meta)
            if conn is not run_conn or conn is None:
                if run:
                    self._take(run_conn, run)  # type: ignore[arg-type]
                    run = []
                run_conn = conn
            if conn is None:
                self._route(event)
            else:
                run.append(event)
        if run:  # (all of them: the batch itself, which may be a SliceBatch)
            self._take(run_conn, events if len(run) == len(events) else run)  # type: ignore[arg-type]

    def receive(self, event: Event) -> None:
        """One reply (hub thread). The common case takes one check: a reply to the
        connection whose read is being emitted, once that read has gathered a reply,
        joins the gathered replies (encoded together at the end of the read); anything
        else goes through routing."""
        if event.meta is self._reading_meta:
            deferred = self._reading.deferred  # type: ignore[union-attr]
            if deferred.__class__ is list:  # (not None, nor a lazy batch gathered whole)
                self._n_in += 1
                deferred.append(event)
                return
        self._receive(event)

    def _receive(self, event: Event) -> None:
        self._n_in += 1
        conn = self._conn_of(event.meta)
        if conn is not None:  # fast path: a reply to one of our events
            self._deliver(conn, event)
        else:
            self._route(event)

    def _route(self, event: Event) -> None:
        meta = event.meta
        r = route(meta, self.path, self._conns)
        for peer in r.targets:
            self._deliver(self._conns[peer], event)
        if r.missing or not r.targets:
            names = ", ".join(map(str, r.missing)) or "no peer in meta['unix_socket_server']"
            self._error(UnroutableError(f"reply for {names}: no such live connection on {self.path}"),
                        "route", r.missing or None, meta, delivered=r.targets, value=event.value)

    def _deliver(self, conn: PeerConnection, event: Event) -> None:
        if conn.deferred is not None or self._in_read():
            self._defer(conn, (event,))
            return
        result = conn.core.queue_reply(event.value)
        if result is None:
            if not conn.writing:  # a writer inside a send picks the new bytes up by itself
                conn.wake.set()
        elif isinstance(result, Evicted):
            self._evicted(conn, result)
        else:
            self._error(result, "encode", conn.peer, event.meta, value=event.value)

    # ---- gathering a read's replies -------------------------------------------
    def _in_read(self) -> bool:
        """True while this greenlet emits a read's events (replies wait for its end)."""
        batching = self._batching
        return bool(batching) and gevent.getcurrent() in batching

    def _defer(self, conn: PeerConnection, events: Sequence[Event]) -> None:
        """Gather replies until the end of the read. A lazy batch that comes first is
        kept whole (unbuilt); anything gathered after it goes into a list of events."""
        if conn.ended:
            return
        deferred = conn.deferred
        if deferred is None:
            whole = isinstance(events, EventBatch) and events.lazy or events.__class__ is SliceBatch
            conn.deferred = events if whole else list(events)  # type: ignore[assignment]
            self._dirty.append(conn)
        else:
            if deferred.__class__ is not list:  # a copy: the batch itself may go on to other observers
                conn.deferred = deferred = list(built(deferred))
            deferred.extend(built(events))

    def _queue_now(self, conn: PeerConnection, events: Sequence[Event]) -> bool:
        """Encode ``events`` in one call and queue their bytes; False if the connection was evicted."""
        if isinstance(events, EventBatch) and events.values is not None:  # lazy: one metadata object
            return self._queue_values(conn, events.values, events.meta)
        if events.__class__ is SliceBatch:  # windows: each element encoded once (lazy: no event built)
            return self._queue_values(conn, events.window_values(), events.meta, slices=(events.elems, events.spans))
        return self._queue_values(conn, [e.value for e in events], None, events)

    def _queue_values(self, conn: PeerConnection, values: Sequence[Any], shared: Mapping[str, Any] | None,
                      events: Sequence[Event] | None = None, *,
                      slices: tuple[list[Any], list[tuple[int, int]]] | None = None, decoded: bool = False) -> bool:
        """Encode ``values`` in one call and queue their bytes; False if the connection was
        evicted. A value that fails to encode is reported with ``shared`` (the metadata
        of them all) or its event's. ``decoded``: the values as ``conn``'s decoder made
        them, seen by nothing else (an echo)."""
        result = conn.core.queue_replies(values, slices, decoded=decoded)
        if result.__class__ is Evicted:
            self._evicted(conn, result)
            return False
        for i, exc in result:  # type: ignore[misc]
            self._error(exc, "encode", conn.peer, shared if events is None else events[i].meta, value=values[i])
        return True

    def _flush_dirty(self) -> None:
        """The end of a read: encode each connection's gathered replies, then write them."""
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            events, conn.deferred = conn.deferred, None
            if conn.ended or (events is not None and _count(events) and not self._queue_now(conn, events)):
                continue
            self._try_send(conn)

    def _drop_deferred(self, conn: PeerConnection) -> None:
        """The connection ends before its gathered replies were encoded: report them."""
        events, conn.deferred = conn.deferred, None
        count = _count(events)
        if count:
            self._error(f"{count} replies not sent: the connection closed", "write", conn.peer,
                        conn.core.meta, dropped_replies=count)

    def _evicted(self, conn: PeerConnection, evicted: Evicted) -> None:
        conn.evicted = True
        self._error(SlowReaderError(f"peer {conn.peer} does not read: {evicted.pending} reply bytes pending "
                                    f"> max_pending_bytes {evicted.max_pending}; connection closed"),
                    "write", conn.peer, conn.core.meta, dropped_bytes=evicted.pending)
        self._end(conn)

    # ---- writing ----------------------------------------------------------
    def _try_send(self, conn: PeerConnection) -> None:
        """Write without blocking; the writer greenlet finishes what the socket did not take.
        While the writer is inside a send it is woken instead (it picks the new bytes up):
        a second send beside it could write the same bytes twice."""
        if conn.writing:
            conn.wake.set()
            return
        core = conn.core
        view = core.data_to_send()
        if view is None:
            return
        try:
            sent = conn.raw.send(view)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._write_failed(conn, exc)
            return
        if self._sent(conn, sent):
            conn.wake.set()  # the writer sends the rest (or ends a connection that closed)

    def _sent(self, conn: PeerConnection, n: int) -> bool:
        """The kernel took ``n`` bytes of ``conn``'s replies; a paused reader may go on
        once they are down to half the pause bound. True while bytes are pending or
        once the connection closed (see :meth:`~rxunix.core.server_conn.ServerConn.sent`)."""
        more = conn.core.sent(n)
        self._n_bytes_written += n
        if conn.paused and conn.core.pending <= self._resume_at:
            conn.room.set()
        return more

    def _write_loop(self, conn: PeerConnection) -> None:
        wake, core, send = conn.wake, conn.core, conn.sock.send
        while not conn.ended:
            wake.wait()
            wake.clear()
            while (view := core.data_to_send()) is not None and not conn.ended:
                conn.writing = True
                try:
                    sent = send(view)
                except OSError as exc:
                    conn.writing = False
                    if not conn.ended:
                        self._write_failed(conn, exc)
                    return
                conn.writing = False
                self._sent(conn, sent)
            if not core.open:  # drained: every byte written
                self._end(conn)
                return

    def _drain(self, conn: PeerConnection) -> None:
        conn.core.drain()
        if conn.core.write_failed:  # no writer left to end it
            self._end(conn)
        else:
            conn.wake.set()

    def _write_failed(self, conn: PeerConnection, exc: OSError) -> None:
        """Writing to ``conn`` failed for good: its pending replies are reported now, those
        of events still read from it (until its EOF) when it ends (see :meth:`_end`)."""
        self._error(exc, "write", conn.peer, conn.core.meta, dropped_bytes=conn.core.send_failed())
        if not conn.core.open:
            self._end(conn)
        else:
            conn.room.set()  # a reader paused for these replies reads on (to the peer's EOF)
