"""The window factories: one function per kind of window.

Every factory takes ``key=`` (one window per group, e.g. :func:`~.keys.connection_key`),
``reduce=`` (a reducer, see :mod:`rxunix.rx.reducers`), ``release=`` (an
observable naming groups to flush and forget) and ``errors=`` (where error events
go; in line by default). The time-based ones (``tumbling_time``, ``sliding_time``,
``session_window``) also take ``event_time=``, ``allowed_lateness=``,
``idle_timeout=`` and ``late=`` (see :mod:`.clock`).
"""

from __future__ import annotations

from typing import Any, overload

from reactivex import Observable, abc

from .clock import EventTime
from .keys import ErrorSink, EventSink, KeyFn, Reducer, Seconds
from .kinds import GridWindow, SessionWindow, SlidingCountWindow, check_event_time_options
from .operator import TumblingWindow

__all__ = [
    "tumbling_count",
    "tumbling_time",
    "tumbling_count_or_time",
    "sliding_count",
    "sliding_time",
    "session_window",
]


def tumbling_count(
    n: int,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    release: Observable[Any] | None = None,
    errors: ErrorSink = None,
) -> TumblingWindow:
    """Windows of ``n`` events (per group with ``key``), like ``ops.buffer_with_count(n)``.

    Example: one aggregate per three events, replied to their connections::

        server.out.pipe(tumbling_count(3)).subscribe(server.in_)
    """
    return TumblingWindow(count=n, key=key, reduce=reduce, release=release, errors=errors)


@overload
def tumbling_time(
    seconds: Seconds,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    scheduler: abc.SchedulerBase | None = None,
    release: Observable[Any] | None = None,
    errors: ErrorSink = None,
    event_time: None = None,
) -> TumblingWindow: ...


@overload
def tumbling_time(
    seconds: Seconds,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    scheduler: abc.SchedulerBase | None = None,
    release: Observable[Any] | None = None,
    errors: ErrorSink = None,
    event_time: EventTime,
    allowed_lateness: Seconds = 0.0,
    idle_timeout: Seconds | None = None,
    late: EventSink = None,
) -> GridWindow: ...


def tumbling_time(
    seconds: Seconds,
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
) -> TumblingWindow | GridWindow:
    """Windows of ``seconds``, like ``ops.buffer_with_time``: a group's first event opens
    its first window, the next ones are cut back to back every ``seconds`` until one
    passes empty (the next event then opens a new first window).

    With ``event_time``: windows ``[k * seconds, (k + 1) * seconds)`` of event time,
    closed by the watermark (see :mod:`.clock`). Example: per-connection mean of
    ``x`` every second::

        server.out.pipe(tumbling_time(1.0, key=connection_key, reduce=reducers.mean("x")))
        server.out.pipe(tumbling_time(60, event_time="ts", allowed_lateness=5, idle_timeout=10))
    """
    if event_time is None:
        check_event_time_options(event_time, allowed_lateness, idle_timeout, late)
        return TumblingWindow(
            seconds=seconds, key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors
        )
    return GridWindow(seconds, seconds, key=key, reduce=reduce, scheduler=scheduler, release=release,
                      errors=errors, event_time=event_time, allowed_lateness=allowed_lateness,
                      idle_timeout=idle_timeout, late=late)


def tumbling_count_or_time(
    n: int,
    seconds: Seconds,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    scheduler: abc.SchedulerBase | None = None,
    release: Observable[Any] | None = None,
    errors: ErrorSink = None,
) -> TumblingWindow:
    """Windows closing after ``n`` events or ``seconds``, whichever comes first (the safe
    ``buffer_with_time_or_count``: a window closed by its ``n``-th event restarts the
    period; otherwise windows are cut as :func:`tumbling_time` cuts them)::

        server.out.pipe(tumbling_count_or_time(100, 0.5, reduce=reducers.count()))
    """
    return TumblingWindow(
        count=n, seconds=seconds, key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors
    )


def sliding_count(
    n: int,
    step: int,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    release: Observable[Any] | None = None,
    errors: ErrorSink = None,
) -> SlidingCountWindow:
    """A window of the last ``n`` events every ``step`` events (``step <= n``), per
    group with ``key``: RxPY's ``buffer_with_count(n, step)`` (see :mod:`.sliding`)::

        server.out.pipe(sliding_count(100, 10, key=connection_key, reduce=reducers.mean("x")))
    """
    return SlidingCountWindow(n, step, key=key, reduce=reduce, release=release, errors=errors)


def sliding_time(
    seconds: Seconds,
    step: Seconds,
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
) -> GridWindow:
    """Windows ``[k * step, k * step + seconds)`` (``step <= seconds``): RxPY's
    ``buffer_with_time(seconds, step)`` in processing time (from the subscription),
    or on event time with ``event_time`` (see :mod:`.grid`)::

        server.out.pipe(sliding_time(10.0, 1.0, reduce=reducers.count()))
    """
    return GridWindow(seconds, step, key=key, reduce=reduce, scheduler=scheduler, release=release,
                      errors=errors, event_time=event_time, allowed_lateness=allowed_lateness,
                      idle_timeout=idle_timeout, late=late)


def session_window(
    gap: Seconds,
    max_duration: Seconds | None = None,
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
) -> SessionWindow:
    """A window per burst of each group's events: it closes after ``gap`` seconds
    without an event, or ``max_duration`` after its first event (see :mod:`.session`).
    Example: one aggregate per burst of each connection::

        server.out.pipe(session_window(0.5, key=connection_key)).subscribe(server.in_)
    """
    return SessionWindow(gap, max_duration, key=key, reduce=reduce, scheduler=scheduler, release=release,
                         errors=errors, event_time=event_time, allowed_lateness=allowed_lateness,
                         idle_timeout=idle_timeout, late=late)
