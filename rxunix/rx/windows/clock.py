"""Time for the time-based windows: processing time or event time, and the watermark.

* Processing time (no ``event_time``): an event's time is the scheduler's clock
  when the chain takes it, in seconds since the subscription; the watermark is
  the clock itself, so a window closes when its end comes (a timer), and no event
  is ever late.
* Event time (``event_time=`` a field name or a function of the event returning
  seconds): the watermark is the highest event time seen minus
  ``allowed_lateness``; it never goes back. An event whose time is below the
  watermark when it arrives is *late*. With ``idle_timeout``, once no event has
  arrived for ``idle_timeout`` seconds of processing time, the watermark also
  advances with processing time (as if event time had kept pace with the clock
  since the last event), so that windows close on a quiet stream.

::

    >>> from rxunix.core.event import Event
    >>> clock = Clock(event_time="ts", lateness=2.0, idle_timeout=None, scheduler=None)
    >>> clock.time_of(Event({"ts": 10}))
    10.0
    >>> clock.saw(10.0); clock.watermark
    8.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from reactivex import abc

from ...core.event import Event

__all__ = ["Clock", "EventTime", "time_getter"]

#: An event-time source: a field of the event's value, or a function event -> seconds.
EventTime = str | Callable[[Event], Any]

INF = math.inf


def time_getter(event_time: EventTime) -> Callable[[Event], Any]:
    """A function event -> raw time for a field name or a function."""
    if isinstance(event_time, str):
        name = event_time

        def by_field(event: Event) -> Any:
            try:
                return event.value[name]
            except (KeyError, TypeError, IndexError):
                raise ValueError(_no_field(event.value, name)) from None

        return by_field
    if callable(event_time):
        return event_time
    raise ValueError(f"event_time must be a field name or a callable Event -> seconds, got {event_time!r}")


def _no_field(value: Any, name: str) -> str:
    if isinstance(value, Mapping):
        return f"event_time field {name!r} missing from the event's value (it has {sorted(map(str, value))[:8]})"
    return f"event_time field {name!r}: the event's value is a {type(value).__name__}, not a mapping"


def _seconds(raw: Any) -> float:
    if isinstance(raw, datetime):
        return raw.timestamp()
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw or raw in (INF, -INF):
        raise ValueError(f"event time must be a finite number of seconds or a datetime, got {raw!r}")
    return float(raw)


class Clock:
    """The time and watermark of one subscription (see the module doc).

    ``scheduler`` gives processing time; it may be ``None`` only in event time
    without ``idle_timeout``.
    """

    def __init__(
        self,
        *,
        event_time: EventTime | None,
        lateness: float,
        idle_timeout: float | None,
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        self.event_time = None if event_time is None else time_getter(event_time)
        self.lateness = lateness
        self.idle_timeout = idle_timeout
        self.scheduler = scheduler
        self.origin: datetime | None = None if scheduler is None else scheduler.now
        self.watermark = -INF
        self.base = -INF  # highest event time seen minus the lateness
        self.arrival = 0.0  # processing time of the last event (event time)

    @property
    def processing(self) -> bool:
        return self.event_time is None

    def now(self) -> float:
        """Processing time: seconds since the subscription."""
        assert self.scheduler is not None and self.origin is not None
        return (self.scheduler.now - self.origin).total_seconds()

    def time_of(self, event: Event) -> float:
        """The event's time (raises for a bad event time). Processing time never goes
        back: RxPY's schedulers tell wall-clock time, which the host may set back, and
        an event timed before the watermark would land in windows already emitted."""
        if self.event_time is None:
            return max(self.now(), self.watermark)
        return _seconds(self.event_time(event))

    def saw(self, t: float) -> None:
        """An on-time event at ``t`` was taken: raise the watermark."""
        if self.event_time is None:
            self.watermark = max(self.watermark, t)
            return
        self.base = max(self.base, t - self.lateness)
        self.watermark = max(self.watermark, self.base)
        if self.scheduler is not None:
            self.arrival = self.now()

    def tick(self, woken_for: float = -INF) -> float:
        """The watermark now, advanced by processing time where that applies.

        ``woken_for`` is the processing time a timer was set for (:meth:`when`):
        it has come, even where the scheduler's clock, kept in whole
        microseconds, reads a hair less."""
        if self.event_time is None:
            self.watermark = max(self.watermark, self.now(), woken_for)
        elif self.idle_timeout is not None and self.base > -INF:
            idle = max(self.now(), woken_for) - self.arrival
            if idle >= self.idle_timeout:
                self.watermark = max(self.watermark, self.base + idle)
        return self.watermark

    def when(self, due: float) -> float | None:
        """The processing time at which the watermark reaches ``due`` (``None``: never by itself)."""
        if due == INF:
            return None
        if self.event_time is None:
            return due
        if self.idle_timeout is None or self.base == -INF:
            return None
        return self.arrival + max(self.idle_timeout, due - self.base)
