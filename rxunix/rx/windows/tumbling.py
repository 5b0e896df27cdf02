"""The tumbling chain of windows with a duration: one RxPY ``ops.buffer(boundaries)`` per group.

(Count-only tumbling windows run :class:`~.sliding.SlidingCountChain` with step
``n``: RxPY's ``buffer_with_count(n)`` is ``buffer_with_count(n, n)``.)

Each group (``key(event)``) has its own buffer operator, subscribed to a
per-group source and a per-group boundary source when the group's first event
arrives; the chain drives both::

    event -> key -> the group's chunk -> the group's source ---> ops.buffer(boundaries) -> buffers
                                         the group's boundaries --/
                                           <- n events counted (count windows)
                                           <- the window's timer ran (time windows; the
                                              timer restarts when n events close a window early)
    each non-empty buffer -> one aggregate event (merged origins, reducer)

Ending a group completes its source, so the buffer operator flushes its partial
buffer (RxPY's own completion rule). A group ends when it is released, when the
source completes, and, for timed windows, when one of its windows passes without
an event. The sources hand the buffer operator's own callbacks to the chain
(:class:`Inlet`), so an event costs the chain one call into RxPY.

Events reach the buffer operator in chunks: the chain gathers a group's events
in a list and hands it over, as one item, every :data:`CHUNK` events and whenever
the window is cut or the group ends, always before the boundary; each buffer RxPY
emits (a list of chunks) is flattened back into the window's events. The windows
are exactly those of handing events one by one (``op.chunk = 1``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, Protocol

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable

from ...core.event import Event
from .keys import Seconds, WindowSpec
from .outputs import NO_KEY, Outputs, flat

__all__ = ["CHUNK", "Group", "Inlet", "TumblingChain", "TumblingSpec"]

#: how many events the chain gathers before it hands them, as one item, to the
#: group's RxPY buffer operator; 1 hands each event alone
CHUNK: Final = 32


class TumblingSpec(WindowSpec, Protocol):
    """What the tumbling chain reads from its operator."""

    count: int | None
    seconds: Seconds | None
    chunk: int


def _noop(*_args: Any) -> None:
    return None


class Group:
    """One group: its key, its buffer operator's inputs (``feed`` a chunk, ``cut``
    a window, ``close`` the source), that operator's subscription, the number of
    events in its open window, the chunk being gathered and its window timer."""

    __slots__ = ("key", "feed", "close", "cut", "subscription", "n", "timer", "chunk")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.chunk: list[Event] = []  # events not yet handed to the buffer operator
        self.feed: Callable[[Any], None] = _noop
        self.close: Callable[[], None] = _noop
        self.cut: Callable[[Any], None] = _noop
        self.subscription: abc.DisposableBase | None = None
        self.n = 0  # events in the open window
        self.timer: abc.DisposableBase | None = None


class Inlet(Observable[Any]):
    """A source that hands its subscriber's callbacks to ``attach(on_next, on_completed)``
    as they are: the chain calls the buffer operator's own callbacks, without the
    auto-detaching observer ``Observable.subscribe`` would wrap them in."""

    def __init__(self, attach: Callable[[Callable[[Any], None], Callable[[], None]], None]) -> None:
        super().__init__()
        self._attach_to = attach

    def subscribe(
        self,
        on_next: abc.ObserverBase[Any] | Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_completed: Callable[[], None] | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        if isinstance(on_next, abc.ObserverBase):
            self._attach_to(on_next.on_next, on_next.on_completed)
        else:
            self._attach_to(on_next or _noop, on_completed or _noop)
        return Disposable()


class TumblingChain(Outputs):
    """One RxPY ``ops.buffer(boundaries)`` per group (see the module doc).

    Not re-entrant: exactly one caller at a time may call ``take``, ``release``,
    ``complete`` and the timer actions (the guard makes sure of that).
    """

    def __init__(
        self, op: TumblingSpec, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None
    ) -> None:
        super().__init__(op, observer)
        self.count = op.count or 0  # 0: no count limit
        self.seconds = op.seconds
        self.scheduler = scheduler
        self.chunk = op.chunk
        self.opening: Group | None = None
        if op.seconds is not None:
            assert scheduler is not None
        # built once; each group subscribes to it (a fresh buffer operator per group)
        self.buffered = Inlet(self._attach_source).pipe(ops.buffer(Inlet(self._attach_boundary)))

    def _attach_source(self, on_next: Callable[[Event], None], on_completed: Callable[[], None]) -> None:
        assert self.opening is not None
        self.opening.feed, self.opening.close = on_next, on_completed

    def _attach_boundary(self, on_next: Callable[[Any], None], _on_completed: Callable[[], None]) -> None:
        assert self.opening is not None
        self.opening.cut = on_next  # a boundary: the buffer operator emits its buffer

    def _open(self, key: Hashable) -> Group:
        group = Group(key)
        self.groups[key] = group

        def on_window(chunks: list[list[Event]]) -> None:
            self.emit(key, chunks[0] if len(chunks) == 1 else flat(chunks))

        # the buffer operator subscribes now: its first window (and timer) starts here
        self.opening = group
        group.subscription = self.buffered.subscribe(on_window, self._on_error, scheduler=self.scheduler)
        self.opening = None
        if self.seconds is not None:
            self._arm(group)
        return group

    def _arm(self, group: Group) -> None:
        assert self.scheduler is not None and self.seconds is not None
        group.timer = self.scheduler.schedule_relative(self.seconds, self._tick, group)

    def _tick(self, _scheduler: abc.SchedulerBase, group: Group | None) -> None:
        """A window's time is up (run by the guard): cut it, or end the idle group."""
        assert group is not None
        current: Group | None = self.groups.get(group.key)
        if self.done or current is not group:
            return
        if group.n == 0:  # the window passed without events: the group ends
            self.release(group.key)
            return
        group.n = 0
        self._arm(group)
        self._hand(group)
        group.cut(None)

    # ---- inputs ----
    def take(self, event: Event) -> None:
        """Key the event and add it to its group's open window."""
        if self.done:
            return
        key = self.key_of(event)
        if key is NO_KEY:
            return
        group = self.groups.get(key)
        if group is None:
            group = self._open(key)
        chunk = group.chunk
        chunk.append(event)
        n = group.n + 1
        if n == self.count:
            self._full(group)
            return
        group.n = n
        if len(chunk) == self.chunk:
            self._hand(group)

    def take_run(self, key: Hashable, events: Sequence[Event], i: int, j: int) -> None:
        """Add ``events[i:j]`` (all of group ``key``) to the group's open window, cutting full ones."""
        count = self.count
        while i < j and not self.done:
            group = self.groups.get(key)
            if group is None:
                group = self._open(key)
            size = j - i if not count else min(j - i, count - group.n)
            group.chunk.extend(events[i:i + size])
            i += size
            if count and group.n + size == count:
                self._full(group)
            else:
                group.n += size
                if len(group.chunk) >= self.chunk:
                    self._hand(group)

    def _hand(self, group: Group) -> None:
        """Hand the chunk gathered so far to the group's buffer operator."""
        chunk = group.chunk
        if chunk:
            group.chunk = []
            group.feed(chunk)

    def _full(self, group: Group) -> None:
        """The open window holds ``count`` events: cut it (and restart its period)."""
        group.n = 0
        if group.timer is not None:
            group.timer.dispose()
            self._arm(group)
        self._hand(group)
        group.cut(None)

    def flush(self, key: Hashable, group: Group) -> None:
        """Flush the group's open window."""
        self._end(group)

    def _end(self, group: Group) -> None:
        if group.timer is not None:
            group.timer.dispose()
        self._hand(group)
        group.close()  # the buffer operator flushes its partial buffer
        if group.subscription is not None:
            group.subscription.dispose()

    def complete(self, error: Exception | None) -> None:
        """Flush every open window (oldest group first), then complete or fail."""
        if self.done:
            return
        groups = list(self.groups.values())
        self.groups.clear()
        for group in groups:
            self._end(group)
        self.finish(error)

    def _on_error(self, error: Exception) -> None:  # a failure inside RxPY: pass it on
        if not self.done:
            self._drop()
            self.finish(error)

    def dispose(self) -> None:
        self.done = True
        self._drop()

    def _drop(self) -> None:
        groups = list(self.groups.values())
        self.groups.clear()
        for group in groups:
            if group.timer is not None:
                group.timer.dispose()
            if group.subscription is not None:
                group.subscription.dispose()
