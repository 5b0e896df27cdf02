"""The window operators beyond tumbling: sliding count, time grid, session.

:class:`SlidingCountWindow` runs :class:`~.sliding.SlidingCountChain`;
:class:`ClockedWindow` runs :class:`~.clocked.ClockedChain` with the groups of
:class:`GridWindow` (sliding and event-time tumbling windows) or
:class:`SessionWindow`. Build them with the factories of :mod:`.factories`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from reactivex import Observable, abc

from ...core.event import Event
from .clock import EventTime, time_getter
from .clocked import ClockedChain, GroupBase
from .grid import Grid, GridGroup
from .guard import Chain
from .keys import ErrorSink, EventSink, KeyFn, Reducer, Seconds, seconds_of
from .operator import Window, check_count
from .session import SessionGroup
from .sliding import SlidingCountChain

__all__ = ["SlidingCountWindow", "ClockedWindow", "GridWindow", "SessionWindow", "check_event_time_options",
           "MAX_WINDOWS_PER_EVENT"]

#: The most windows of a ``sliding_time`` one event may belong to (``seconds / step``).
MAX_WINDOWS_PER_EVENT = 100_000


def check_event_time_options(event_time: EventTime | None, allowed_lateness: Seconds,
                             idle_timeout: Seconds | None, late: EventSink) -> None:
    """Raise ValueError for the event-time options without ``event_time``, or a bad ``event_time``."""
    if event_time is None:
        if allowed_lateness or idle_timeout is not None or late is not None:
            raise ValueError("allowed_lateness, idle_timeout and late need event_time")
    else:
        time_getter(event_time)


class SlidingCountWindow(Window):
    """Windows of the last ``count`` events every ``step`` events (``step <= count``)."""

    def __init__(self, count: int, step: int, **common: Any) -> None:
        check_count(count, "n")
        check_count(step, "step")
        if step > count:
            raise ValueError(f"step ({step}) must not exceed n ({count}): events between windows would be lost")
        super().__init__(**common)
        self.count = count
        self.step = step

    def chain(self, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None) -> Chain:
        return SlidingCountChain(self, observer, scheduler)

    def __repr__(self) -> str:
        return f"<SlidingCountWindow n={self.count} step={self.step} live_groups={self.live_groups}>"


class ClockedWindow(Window):
    """Base of the time-based windows: processing or event time (see :mod:`.clock`)."""

    def __init__(
        self,
        *,
        key: KeyFn | None = None,
        reduce: Reducer | None = None,
        scheduler: abc.SchedulerBase | None = None,
        release: Observable[Any] | None = None,
        errors: ErrorSink = None,
        event_time: EventTime | None = None,
        allowed_lateness: Seconds = 0.0,
        idle_timeout: Seconds | None = None,
        late: EventSink = None,
    ) -> None:
        check_event_time_options(event_time, allowed_lateness, idle_timeout, late)
        super().__init__(key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors, late=late)
        self.event_time = event_time
        self.allowed_lateness = seconds_of(allowed_lateness, "allowed_lateness", zero=True)
        self.idle_timeout = None if idle_timeout is None else seconds_of(idle_timeout, "idle_timeout")
        self.timed = event_time is None or idle_timeout is not None

    def new_group(self, key: Hashable) -> GroupBase:
        """A new, empty group."""
        raise NotImplementedError

    def chain(self, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None) -> Chain:
        return ClockedChain(self, observer, scheduler)


class GridWindow(ClockedWindow):
    """Windows ``[k * step, k * step + size)``: sliding, or tumbling when ``step == size``."""

    def __init__(self, size: Seconds, step: Seconds, **common: Any) -> None:
        size_s, step_s = seconds_of(size, "seconds"), seconds_of(step, "step")
        if step_s > size_s:
            raise ValueError(f"step ({step}) must not exceed seconds ({size}): events between windows would be lost")
        if size_s / step_s > MAX_WINDOWS_PER_EVENT:
            raise ValueError(f"seconds / step ({size} / {step}) must be at most {MAX_WINDOWS_PER_EVENT:,}: "
                             f"each event would belong to that many windows")
        super().__init__(**common)
        self.grid = Grid(size_s, step_s, 0 if self.event_time is None else None)

    def new_group(self, key: Hashable) -> GroupBase:
        return GridGroup(key, self.grid)

    def __repr__(self) -> str:
        return (f"<GridWindow seconds={self.grid.size} step={self.grid.step} "
                f"event_time={self.event_time!r} live_groups={self.live_groups}>")


class SessionWindow(ClockedWindow):
    """A window per burst of a group's events (see :mod:`.session`)."""

    def __init__(self, gap: Seconds, max_duration: Seconds | None = None, **common: Any) -> None:
        self.gap = seconds_of(gap, "gap")
        self.max_duration = None if max_duration is None else seconds_of(max_duration, "max_duration")
        super().__init__(**common)

    def new_group(self, key: Hashable) -> GroupBase:
        return SessionGroup(key, self.gap, self.max_duration)

    def __repr__(self) -> str:
        return (f"<SessionWindow gap={self.gap} max_duration={self.max_duration} "
                f"event_time={self.event_time!r} live_groups={self.live_groups}>")
