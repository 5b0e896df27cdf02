"""The window factories: one function per kind of window.

Every factory takes ``key=`` (one window per group, e.g. :func:`~.keys.connection_key`),
``reduce=`` (a reducer, see :mod:`rxunix.operators.reducers`), ``release=`` (an
observable naming groups to flush and forget) and ``errors=`` (where error events
go; in line by default).
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

from .keys import ErrorSink, KeyFn, Reducer, Seconds
from .operator import TumblingWindow

__all__ = ["tumbling_count", "tumbling_time", "tumbling_count_or_time"]


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


def tumbling_time(
    seconds: Seconds,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    scheduler: abc.SchedulerBase | None = None,
    release: Observable[Any] | None = None,
    errors: ErrorSink = None,
) -> TumblingWindow:
    """Windows closing ``seconds`` after their first event, like ``ops.buffer_with_time``.

    Example: per-connection mean of ``x`` every second::

        server.out.pipe(tumbling_time(1.0, key=connection_key, reduce=reducers.mean("x")))
    """
    return TumblingWindow(
        seconds=seconds, key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors
    )


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
    """Windows closing after ``n`` events or ``seconds`` after their first event,
    whichever comes first (the safe ``buffer_with_time_or_count``)::

        server.out.pipe(tumbling_count_or_time(100, 0.5, reduce=reducers.count()))
    """
    return TumblingWindow(
        count=n, seconds=seconds, key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors
    )
