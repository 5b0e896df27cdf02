"""Sliding count windows: RxPY's ``buffer_with_count(count, skip)``, per group.

A group's windows start at its events number ``0, step, 2 * step, ...`` and
hold ``n`` events each (``step <= n``), so each window, once full, is the last
``n`` events, cut every ``step`` events; an event belongs to every window that
covers it (``n / step`` of them when ``step`` divides ``n``). Completion and
release flush the windows still open, partial, in the order they started; empty
windows emit nothing::

    >>> import reactivex as rx
    >>> from reactivex import operators as ops
    >>> from rxunix.core.event import Event
    >>> from rxunix.rx.windows import sliding_count
    >>> out = []
    >>> _ = rx.from_iterable([Event(i) for i in range(7)]).pipe(sliding_count(3, 2)).subscribe(
    ...     lambda e: out.append(e.value))
    >>> out
    [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6]]
    >>> rx.from_iterable(range(7)).pipe(ops.buffer_with_count(3, 2), ops.to_list()).run()
    [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6]]

A pure core (a list per group) rather than RxPY's operator: the same windows at a
fraction of the cost, behind the same guard.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol

from reactivex import abc

from ...core.event import Event
from .keys import WindowSpec
from .outputs import NO_KEY, Outputs

__all__ = ["CountGroup", "SlidingCountChain", "SlidingSpec"]


class SlidingSpec(WindowSpec, Protocol):
    """What the sliding count chain reads from its operator."""

    count: int
    step: int


class CountGroup:
    """One group: its events' values and metadata objects (``metas``, one per event)
    from ``base`` (the number of ``values[0]``) on, ``n`` (how many events it has
    had), and ``meta``, the metadata object its events have carried since event
    number ``since``. No event object is kept: a window's aggregate needs the values,
    and the metadata objects only when they differ within it."""

    __slots__ = ("metas", "values", "base", "n", "meta", "since")

    def __init__(self) -> None:
        self.metas: list[Any] = []
        self.values: list[Any] = []
        self.base = 0
        self.n = 0
        self.meta: Any = None
        self.since = 0


class SlidingCountChain(Outputs):
    """Sliding count windows (see the module doc). Not re-entrant."""

    def __init__(self, op: SlidingSpec, observer: abc.ObserverBase[Event],
                 _scheduler: abc.SchedulerBase | None = None) -> None:
        super().__init__(op, observer)
        self.count = op.count
        self.step = op.step

    def take(self, event: Event) -> None:
        """Add the event to its group; emit the window it fills, if any."""
        if self.done:
            return
        key = self.key_of(event)
        if key is NO_KEY:
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = CountGroup()
            self.many_groups()
        meta = event.meta
        group.metas.append(meta)
        group.values.append(event.value)
        i = group.n
        group.n = i + 1
        if meta is not group.meta:
            group.meta, group.since = meta, i
        start = i - self.count + 1  # the window that ends with this event, if one does
        if start >= 0 and start % self.step == 0:
            self._window(key, group, start)
            self._forget(group, start + self.step)

    def take_run(self, key: Hashable, events: Sequence[Event], i: int, j: int) -> None:
        """Add ``events[i:j]`` (one group, one metadata object) to group ``key`` at once,
        then emit the windows they complete, oldest first (the windows of adding them one
        by one, in the same order: nothing else happens in between)."""
        if i < j:
            self.take_values(key, [event.value for event in events[i:j]], events[i].meta)

    def take_values(self, key: Hashable, values: list[Any], meta: Any) -> None:
        """:meth:`take_run` of events not built: ``values``, all carrying ``meta``."""
        if not values or self.done:
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = CountGroup()
            self.many_groups()
        count, step, n = self.count, self.step, group.n
        if meta is not group.meta:
            group.meta, group.since = meta, n
        group.metas += [meta] * len(values)
        group.values += values
        group.n = end = n + len(values)
        first = -(-max(0, n - count + 1) // step) * step  # the first window not complete before
        starts = range(first, end - count + 1, step)  # the windows complete now
        if not starts:
            return
        if self.takes_slices and self.held is not None:  # they may go on as slices of one sequence
            lo = first - group.base
            elems = group.values[lo:lo + starts[-1] - first + count]
            spans = [(s - first, count) for s in starts]
            if group.since <= first and self.can_hold_lazy():  # one metadata object: held unbuilt
                self.hold_lazy(key, elems, spans, group.meta)
            else:
                self._windows(key, group, starts)
                self.hold_slices(elems, spans)
        else:
            self._windows(key, group, starts)
        self._forget(group, starts[-1] + step)

    def _windows(self, key: Hashable, group: CountGroup, starts: range) -> None:
        """Emit the windows of ``group`` from its event numbers ``starts``."""
        for start in starts:
            if self.done:
                return
            self._window(key, group, start)

    @staticmethod
    def _forget(group: CountGroup, base: int) -> None:
        """Drop the events before number ``base`` (the next window's start: they are done)."""
        cut = base - group.base
        del group.metas[:cut]
        del group.values[:cut]
        group.base = base

    def _window(self, key: Hashable, group: CountGroup, start: int) -> None:
        """Emit the window of ``group`` from its event number ``start`` (``count`` events,
        or up to its last one)."""
        lo = start - group.base
        hi = lo + self.count
        if group.since <= start:  # one metadata object: no need for each event's
            self.emit(key, (group.meta,), group.values[lo:hi], group.meta)
        else:
            self.emit(key, group.metas[lo:hi], group.values[lo:hi], None)

    def flush(self, key: Hashable, group: CountGroup) -> None:
        """Emit the open (partial) windows, in the order they started."""
        start = -(-group.base // self.step) * self.step  # the first window start at or after base
        while start < group.n:
            self._window(key, group, start)
            start += self.step

    def dispose(self) -> None:
        self.done = True
        self.groups.clear()
