"""The naive window chain, WITHOUT the guard: what the guard prevents (tests only).

Per-group sources -> RxPY's own ``buffer_with_count`` / ``buffer_with_time`` /
``buffer_with_time_or_count``, fed directly by the producers and timed by the raw
scheduler. Under gevent with a yielding downstream it loses items;
``tests/test_windows_gevent.py`` shows that, which is what makes the lossless
tests of the guarded windows meaningful.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from rxunix.event import Event

from rxunix.rx.windows import Outputs, TumblingWindow, Window


class _NaiveGroup:
    __slots__ = ("key", "source", "subscription")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.source: abc.ObserverBase[Event] | None = None
        self.subscription: abc.DisposableBase | None = None


class RxChain(Outputs):
    """RxPY's own buffer operator per group, on the raw scheduler; ``settle()``
    must follow each input (it ends the groups an empty time window found idle)."""

    def __init__(
        self, op: TumblingWindow, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None
    ) -> None:
        super().__init__(op, observer)
        self.scheduler = scheduler
        self.idle: list[_NaiveGroup] = []
        self.opening: _NaiveGroup | None = None
        buffer: Callable[[Observable[Event]], Observable[list[Event]]]
        if op.seconds is None:
            assert op.count is not None
            buffer = ops.buffer_with_count(op.count)
        elif op.count is None:
            buffer = ops.buffer_with_time(op.seconds, scheduler=scheduler)
        else:
            buffer = ops.buffer_with_time_or_count(op.seconds, op.count, scheduler=scheduler)
        self.buffered = Observable(self._attach).pipe(buffer)

    def _attach(self, observer: abc.ObserverBase[Event], _scheduler: abc.SchedulerBase | None = None) -> Any:
        assert self.opening is not None
        self.opening.source = observer
        return Disposable()

    def _open(self, key: Hashable) -> _NaiveGroup:
        group = _NaiveGroup(key)
        self.groups[key] = group

        def on_window(events: list[Event]) -> None:
            if not events:  # a time window passed without events: forget the group
                self.idle.append(group)
            self.emit(key, events)

        self.opening = group
        group.subscription = self.buffered.subscribe(on_window, self._on_error, scheduler=self.scheduler)
        self.opening = None
        return group

    def _on_error(self, error: Exception) -> None:
        self.groups.clear()
        self.finish(error)

    def push(self, key: Hashable, event: Event) -> None:
        if self.done:
            return
        group = self.groups.get(key)
        if group is None:
            group = self._open(key)
        assert group.source is not None
        group.source.on_next(event)

    def release(self, key: Hashable) -> None:
        group = self.groups.pop(key, None)
        if group is not None and not self.done:
            assert group.source is not None
            group.source.on_completed()
            if group.subscription is not None:
                group.subscription.dispose()

    def complete(self, error: Exception | None) -> None:
        if self.done:
            return
        for key in list(self.groups):  # oldest first
            self.release(key)
        self.finish(error)

    def settle(self) -> None:
        idle, self.idle = self.idle, []
        for group in idle:
            if self.groups.get(group.key) is group:
                self.release(group.key)

    def dispose(self) -> None:
        self.done = True
        for group in list(self.groups.values()):
            if group.subscription is not None:
                group.subscription.dispose()
        self.groups.clear()


class Unguarded:
    """An engine that feeds the naive chain directly (no queue, no owner)."""

    def __init__(self, op: Window, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None) -> None:
        assert isinstance(op, TumblingWindow)
        self.key = op.key
        self.chain = RxChain(op, observer, scheduler)

    @property
    def live(self) -> int:
        return self.chain.live

    def on_next(self, event: Event) -> None:
        self.chain.push(self.key(event), event)
        self.chain.settle()

    def on_release(self, item: Any) -> None:
        self.chain.release(self.key(item) if isinstance(item, Event) else item)
        self.chain.settle()

    def on_completed(self) -> None:
        self.chain.complete(None)

    def on_error(self, error: Exception) -> None:
        self.chain.complete(error)

    def dispose(self) -> None:
        self.chain.dispose()


def unguarded(op: TumblingWindow) -> TumblingWindow:
    """``op`` without the guard (through the public ``engine`` hook): it loses items
    under gevent; only for showing that."""
    op.engine = Unguarded
    return op
