"""The sans-I/O core of a client's sending side: every event pushed is written or reported.

:class:`Outbox` holds the events pushed into a client, hands the edge the bytes
to write (:meth:`~Outbox.data_to_send`) and learns what the kernel took
(:meth:`~Outbox.sent`, :meth:`~Outbox.send_failed`). It decides which events
count as written, which are reported (and why), and which wait for the next
connection. It never sees a socket or a clock.

``written + reported + held == pushed`` after every call, so once nothing is
held, ``written + reported == pushed``. An event whose bytes were handed to the
kernel only in part when the connection broke is reported (resending it would
duplicate its first bytes); events not yet started wait, in order, for the next
connection. Reports are collected in :attr:`Outbox.reports` until the edge takes
them with :meth:`Outbox.take_reports`::

    >>> from rxunix.core.event import Event
    >>> from rxunix.core.framing import EncoderFactory
    >>> box = Outbox(queue_size=2)
    >>> box.push(Event(1)); box.push(Event(2)); box.push(Event(3))  # disconnected: bound 2
    >>> [(r.action, r.event.value) for r in box.take_reports()]
    [('enqueue', 3)]
    >>> box.connected(EncoderFactory("json", ["separate"])())
    >>> bytes(box.data_to_send()), box.sent(3), box.pushed, box.written, box.held
    (b'1\\n2\\n', None, 3, 0, 2)
    >>> box.send_failed("broken pipe"); [(r.action, r.event.value) for r in box.take_reports()]
    [('write', 2)]
    >>> box.written + box.reported == box.pushed
    True
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import repeat
from operator import add
from typing import NamedTuple

from .errors import RxUnixError
from .event import Event
from .framing import Encoder

__all__ = ["Outbox", "OutboxState", "Report", "TRANSITIONS", "BATCH_BYTES"]

#: A batch stops growing once it holds this many encoded bytes.
BATCH_BYTES = 256 * 1024
#: At most this many events are encoded in one call (see :meth:`Outbox.data_to_send`).
RUN = 256


class OutboxState(enum.Enum):
    """Where a client's sending side is."""

    #: no connection: events are held (up to ``queue_size``)
    DISCONNECTED = "disconnected"
    #: a connection is up: events are encoded and handed out in batches
    CONNECTED = "connected"
    #: stopping on a live connection: hand out what is held, then the encoder's tail
    FINISHING = "finishing"
    #: over: every event pushed from now on is reported
    CLOSED = "closed"


#: Allowed transitions.
TRANSITIONS: Mapping[OutboxState, frozenset[OutboxState]] = {
    OutboxState.DISCONNECTED: frozenset({OutboxState.CONNECTED, OutboxState.CLOSED}),
    OutboxState.CONNECTED: frozenset({OutboxState.DISCONNECTED, OutboxState.FINISHING, OutboxState.CLOSED}),
    OutboxState.FINISHING: frozenset({OutboxState.DISCONNECTED, OutboxState.CLOSED}),
    OutboxState.CLOSED: frozenset(),
}


class Report(NamedTuple):
    """An event that will not be written: the action that failed and why."""

    event: Event
    action: str
    reason: str | BaseException


class _Batch:
    __slots__ = ("events", "ends", "view", "done")

    def __init__(self, events: list[Event], ends: list[int], data: bytes) -> None:
        self.events = events
        self.ends = ends  # cumulative end offset of each event's bytes
        self.view = memoryview(data)
        self.done = 0  # bytes the kernel took


class Outbox:
    """Held events, the batch being written, and exact accounting (no I/O).

    ``queue_size`` bounds the events held while disconnected (0: none are held);
    while connected the queue is the writer's backlog and is not bounded by it.
    """

    __slots__ = ("state", "queue_size", "pushed", "written", "reported", "reports",
                 "_queue", "_batch", "_encoder", "_closed_why")

    def __init__(self, queue_size: int = 1000) -> None:
        self.state = OutboxState.DISCONNECTED
        self.queue_size = queue_size
        self.pushed = self.written = self.reported = 0
        #: reports not yet taken by the edge (see :meth:`take_reports`)
        self.reports: list[Report] = []
        self._queue: deque[Event] = deque()
        self._batch: _Batch | None = None
        self._encoder: Encoder | None = None
        self._closed_why = ""

    def _move(self, new: OutboxState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise RuntimeError(f"outbox: {self.state.value} -> {new.value} is not a transition")
        self.state = new

    # ---- counters -------------------------------------------------------------
    @property
    def held(self) -> int:
        """Events pushed and neither written nor reported yet."""
        return len(self._queue) + (len(self._batch.events) if self._batch is not None else 0)

    @property
    def in_flight(self) -> int:
        """Events of the batch being written (handed out by :meth:`data_to_send`, not all sent)."""
        return len(self._batch.events) if self._batch is not None else 0

    @property
    def idle(self) -> bool:
        """True when nothing is held."""
        return not self._queue and self._batch is None

    def take_reports(self) -> list[Report]:
        """The reports since the last call (the edge turns them into error events)."""
        out, self.reports = self.reports, []
        return out

    def _report(self, event: Event, action: str, reason: str | BaseException) -> None:
        self.reported += 1
        self.reports.append(Report(event, action, reason))

    # ---- pushing --------------------------------------------------------------
    def push(self, event: Event) -> None:
        """Take one event: held for writing, or reported (client closed, queue full)."""
        self.pushed += 1
        state = self.state
        if state is OutboxState.CLOSED or state is OutboxState.FINISHING:
            self._report(event, "enqueue", f"not sent: {self._closed_why}")
        elif state is OutboxState.DISCONNECTED and len(self._queue) >= self.queue_size:
            self._report(event, "enqueue",
                         f"not sent: queue full ({self.queue_size} events held while disconnected)")
        else:
            self._queue.append(event)

    def push_many(self, events: Iterable[Event]) -> None:
        """:meth:`push` each event, in order."""
        if self.state is OutboxState.CONNECTED:
            before = len(self._queue)
            self._queue.extend(events)
            self.pushed += len(self._queue) - before
            return
        for event in events:
            self.push(event)

    # ---- connection hand-over ---------------------------------------------------
    def connected(self, encoder: Encoder) -> None:
        """A connection is up; ``encoder`` is its (fresh, per-connection) encoder."""
        self._move(OutboxState.CONNECTED)
        self._encoder = encoder

    def finishing(self, why: str) -> None:
        """Stop on a live connection: hand out what is held (events pushed from now on
        are reported with ``why``); :meth:`tail` then gives the encoder's end."""
        self._closed_why = why
        if self.state is OutboxState.CONNECTED:
            self._move(OutboxState.FINISHING)

    def disconnected(self, error: str | BaseException | None = None) -> None:
        """The connection is gone: settle the batch in flight (what the kernel took is
        written, an event cut in the middle is reported, the rest waits)."""
        if self._batch is not None:
            self._settle(error or "connection lost")
        self._encoder = None
        if self.state in (OutboxState.CONNECTED, OutboxState.FINISHING):
            self._move(OutboxState.DISCONNECTED)

    def close(self, why: str, action: str = "stop") -> None:
        """No more writing: every held event is reported with ``action``; later pushes too."""
        if self._batch is not None:
            self._settle(why)
        self._closed_why = why
        queue = self._queue
        while queue:
            self._report(queue.popleft(), action, f"not sent: {why}")
        self._encoder = None
        if self.state is not OutboxState.CLOSED:
            self._move(OutboxState.CLOSED)

    # ---- writing ----------------------------------------------------------------
    def data_to_send(self, limit: int = BATCH_BYTES) -> memoryview | None:
        """The bytes to write now: the rest of the batch in flight, or a new batch of
        held events encoded up to ``limit`` bytes (None when nothing is to be sent)."""
        batch = self._batch
        if batch is not None:
            return batch.view[batch.done:]
        if not self._queue or self.state not in (OutboxState.CONNECTED, OutboxState.FINISHING):
            return None
        return self._new_batch(limit)

    def _new_batch(self, limit: int) -> memoryview | None:
        """Encode held events until the batch holds ``limit`` bytes. After the first
        event, runs of events (sized by what the batch weighs so far, at most
        :data:`RUN`) are encoded in one call when the encoder can (see
        :meth:`~rxunix.core.framing.Encoder.encode_with_ends`); a run it cannot take
        is encoded one event at a time, which reports the events that fail."""
        assert self._encoder is not None
        encoder = self._encoder
        encode, joins = encoder.encode, encoder.joins
        queue = self._queue
        events: list[Event] = []
        parts: list[bytes] = []
        ends: list[int] = []
        total = 0
        single = 0  # events left to encode one at a time (a run failed)
        while queue and total < limit:
            if joins and not single and total and len(queue) > 1:
                n = min(len(queue), RUN, (limit - total) * len(events) // total)  # the room left, at the mean size
                if n > 1:
                    run = [queue.popleft() for _ in range(n)]
                    got = encoder.encode_with_ends([e.value for e in run])
                    if got is not None:
                        events.extend(run)
                        parts.append(got[0])
                        ends.extend(map(add, got[1], repeat(total)))
                        total = ends[-1]
                        continue
                    queue.extendleft(reversed(run))
                    single = n
            if single:
                single -= 1
            ev = queue.popleft()
            try:
                data = encode(ev.value)
            except RxUnixError as exc:
                self._report(ev, "encode", exc)
                continue
            events.append(ev)
            parts.append(data)
            total += len(data)
            ends.append(total)
        if not events:
            return None
        if total == 0:  # every event encoded to nothing (e.g. ``collect``): written as such
            self.written += len(events)
            return None
        self._batch = batch = _Batch(events, ends, parts[0] if len(parts) == 1 else b"".join(parts))
        return batch.view

    def sent(self, n: int) -> None:
        """The kernel took ``n`` more bytes of what :meth:`data_to_send` returned."""
        batch = self._batch
        if batch is None or not 0 <= n <= len(batch.view) - batch.done:
            raise ValueError(f"sent({n}) does not match the bytes handed out")
        batch.done += n
        if batch.done == len(batch.view):
            self.written += len(batch.events)
            self._batch = None

    def send_failed(self, error: str | BaseException) -> None:
        """Writing failed: settle the batch in flight as :meth:`disconnected` does."""
        if self._batch is not None:
            self._settle(error)

    def _settle(self, error: str | BaseException) -> None:
        batch = self._batch
        assert batch is not None
        self._batch = None
        done = bisect_right(batch.ends, batch.done)
        self.written += done
        rest = batch.events[done:]
        start = batch.ends[done - 1] if done else 0
        if rest and batch.done > start:  # cut in the middle: resending would duplicate
            self._report(rest[0], "write", f"partially written before the connection broke ({error})")
            rest = rest[1:]
        self._queue.extendleft(reversed(rest))

    def tail(self) -> bytes:
        """The encoder's end of stream (e.g. what ``collect`` still holds); raises its error."""
        return self._encoder.finish() if self._encoder is not None else b""
