"""The chain of the time-based windows (sliding time, session, event-time tumbling).

A pure core that reproduces the semantics of RxPY's time buffers
(``buffer_with_time(timespan, timeshift)``; a window closes when its end comes)
on a :class:`~.clock.Clock`: each group keeps its pending events sorted by time;
a window closes when the watermark reaches its end (``due``), and is emitted as
one aggregate. Groups wait in a heap ordered by their next ``due``; one timer
(through the guard's scheduler) wakes the chain at the earliest processing time
a window can close. A group with no pending event is forgotten.

Subclasses supply the group kind (:class:`GroupBase`): how an event is added,
which windows close at a watermark, and the flush at release and completion.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from reactivex import abc

from ...core.event import Event
from .clock import INF, Clock, EventTime
from .keys import WindowSpec
from .outputs import NO_KEY, Outputs

__all__ = ["ClockedChain", "ClockedSpec", "GroupBase"]

Emit = Callable[[list[Event]], None]


class GroupBase:
    """One group's pending events, sorted by time (ties in arrival order), and
    ``due``: the watermark at which its next window closes (``INF``: none);
    ``queued``: the ``due`` of its entry in the chain's heap (``INF``: none)."""

    __slots__ = ("key", "ts", "evs", "due", "queued")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.ts: list[float] = []
        self.evs: list[Event] = []
        self.due = INF
        self.queued = INF

    def insert(self, t: float, event: Event) -> bool:
        """Insert in time order; ``True`` if appended at the end."""
        ts = self.ts
        if not ts or t >= ts[-1]:
            ts.append(t)
            self.evs.append(event)
            return True
        i = bisect.bisect_right(ts, t)
        ts.insert(i, t)
        self.evs.insert(i, event)
        return False

    def drop(self, n: int) -> None:
        """Forget the first ``n`` pending events."""
        del self.ts[:n]
        del self.evs[:n]

    def add(self, t: float, event: Event) -> None:
        raise NotImplementedError

    def close(self, watermark: float, emit: Emit) -> None:
        """Emit every window that closes at ``watermark`` (``INF``: flush them all)."""
        raise NotImplementedError


class ClockedSpec(WindowSpec, Protocol):
    """What the clocked chain reads from its operator."""

    event_time: EventTime | None
    allowed_lateness: float
    idle_timeout: float | None

    def new_group(self, key: Hashable) -> GroupBase: ...


class ClockedChain(Outputs):
    """The chain of a :class:`~.kinds.ClockedWindow` (see the module doc). Not re-entrant."""

    def __init__(self, op: ClockedSpec, observer: abc.ObserverBase[Event],
                 scheduler: abc.SchedulerBase | None) -> None:
        super().__init__(op, observer)
        self.new_group = op.new_group
        self.clock = Clock(event_time=op.event_time, lateness=op.allowed_lateness,
                           idle_timeout=op.idle_timeout, scheduler=scheduler)
        self.scheduler = scheduler
        self.heap: list[tuple[float, int, GroupBase]] = []
        self.seq = itertools.count()
        self.timer: abc.DisposableBase | None = None
        self.timer_at = INF

    # ---- inputs ----
    def take(self, event: Event) -> None:
        """Time the event, close what the clock has passed, add the event (or report it late)."""
        if self.done:
            return
        key = self.key_of(event)
        if key is NO_KEY:
            return
        clock = self.clock
        try:
            t = clock.time_of(event)
        except Exception as exc:
            self.fail(exc, "event_time", key, event.meta, [event.value])
            return
        if clock.processing:
            clock.saw(t)
            self.advance(t)
        elif t < clock.watermark:
            self.too_late(key, event, t, clock.watermark)
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = self.new_group(key)
        group.add(t, event)
        self.queue(group)
        if not clock.processing:
            clock.saw(t)
            self.advance(clock.watermark)
        self.arm()

    def queue(self, group: GroupBase) -> None:
        """Keep an entry in the heap no later than the group's ``due``."""
        if group.due < group.queued:
            group.queued = group.due
            heapq.heappush(self.heap, (group.due, next(self.seq), group))

    def _head(self) -> float:
        """The earliest live entry's ``due`` (stale entries are dropped)."""
        heap, groups = self.heap, self.groups
        while heap:
            due, _, group = heap[0]
            live: GroupBase | None = groups.get(group.key)
            if live is group and group.queued == due:
                return due
            heapq.heappop(heap)
        return INF

    def advance(self, watermark: float) -> None:
        """Close, group by group in order of ``due``, every window ending by ``watermark``."""
        heap, groups = self.heap, self.groups
        while self._head() <= watermark:
            _, _, group = heapq.heappop(heap)
            group.queued = INF
            if group.due <= watermark:
                self._close(group, watermark)
            if not group.ts:
                del groups[group.key]
            else:
                self.queue(group)

    def _close(self, group: GroupBase, watermark: float) -> None:
        key = group.key

        def emit(events: list[Event]) -> None:
            self.emit(key, events)

        group.close(watermark, emit)

    def arm(self) -> None:
        """Make sure a timer wakes the chain when the next window can close."""
        if self.scheduler is None or self.done:
            return
        at = self.clock.when(self._head())
        if at is None or at >= self.timer_at:
            return
        if self.timer is not None:
            self.timer.dispose()
        self.timer_at = at
        self.timer = self.scheduler.schedule_relative(max(0.0, at - self.clock.now()), self._tick)

    def _tick(self, _scheduler: abc.SchedulerBase, _state: Any = None) -> None:
        woken_for = self.timer_at
        self.timer, self.timer_at = None, INF
        if self.done:
            return
        self.advance(self.clock.tick(woken_for))
        self.arm()

    def flush(self, key: Hashable, group: GroupBase) -> None:
        """Close every window of ``group``, whatever the watermark."""
        self._close(group, INF)

    def finish(self, error: Exception | None) -> None:
        """No timer after the end: complete (or fail) downstream, once."""
        self.dispose_timer()
        super().finish(error)

    def dispose_timer(self) -> None:
        if self.timer is not None:
            self.timer.dispose()
            self.timer = None

    def dispose(self) -> None:
        self.done = True
        self.groups.clear()
        self.heap.clear()
        self.dispose_timer()
