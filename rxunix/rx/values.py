"""Operators on event values that keep a read whole: :func:`map_values` and :func:`filter_values`.

``ops.map`` and ``ops.filter`` see one event at a time, so between a connector's
``out`` and ``in_`` they cost an event object per value and a chain of calls per
event. These two take a read's events as one batch when the source hands batches
over (a connector's ``out``, a window's aggregates) and hand one batch on to an
observer that takes batches (a connector's ``in_``): a read that no one else
looks at stays values plus one metadata object, and the function is called once
per value in one loop. Any other source or observer gets ordinary per-event Rx::

    >>> import reactivex as rx
    >>> from rxunix.core.event import Event
    >>> out = []
    >>> _ = rx.from_iterable([Event(1, {"k": 1}), Event(2, {"k": 2})]).pipe(
    ...     map_values(lambda v: v * 10)).subscribe(out.append)
    >>> [(e.value, dict(e.meta)) for e in out]
    [(10, {'k': 1}), (20, {'k': 2})]

What holds for every event, whichever path it takes:

* the output is that of ``ops.map(lambda e: e.with_value(fn(e.value)))`` (or
  ``ops.filter(lambda e: pred(e.value))``), in order, metadata kept (so replies
  still find their connections);
* error events (:class:`~rxunix.core.event.ErrorEvent`) pass through untouched;
* a function that raises does not end the stream: the event becomes an error event
  (``action="map"`` / ``"filter"``, the value under ``"value"``) in line, or goes to
  ``errors=`` (an observer or a callable) and the stream goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import length_hint
from typing import Any

from reactivex import Observable, abc

from ..core.event import Event, EventBatch, built, error_event
from .batch import BatchObservable, takes_batches
from .windows.keys import ErrorSink, sink_of

__all__ = ["filter_values", "map_values"]

#: what both operators return: ``Observable[Event] -> Observable[Event]``
EventOperator = Callable[[Observable[Event]], Observable[Event]]


def map_values(fn: Callable[[Any], Any], *, errors: ErrorSink = None) -> EventOperator:
    """Each event's value through ``fn``, metadata kept; batches stay batches (see the module doc).

    Example: an echo that answers with the length of each message::

        server.out.pipe(map_values(lambda v: {"len": len(v["msg"])})).subscribe(server.in_)
    """
    if not callable(fn):
        raise ValueError(f"map_values needs a callable value -> value, got {fn!r}")
    return _operator(fn, True, sink_of(errors, "errors"))


def filter_values(pred: Callable[[Any], Any], *, errors: ErrorSink = None) -> EventOperator:
    """The events whose value ``pred`` holds for; batches stay batches (see the module doc).

    Example: echo only the events at level ``"error"``::

        server.out.pipe(filter_values(lambda v: v.get("level") == "error")).subscribe(server.in_)
    """
    if not callable(pred):
        raise ValueError(f"filter_values needs a callable value -> bool, got {pred!r}")
    return _operator(pred, False, sink_of(errors, "errors"))


def _operator(fn: Callable[[Any], Any], maps: bool,
              errors: Callable[[Any], Any] | None) -> EventOperator:
    def operator(source: Observable[Event]) -> Observable[Event]:
        def subscribe(observer: abc.ObserverBase[Event],
                      scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            return source.subscribe(_Stage(fn, maps, errors, observer), scheduler=scheduler)  # type: ignore[arg-type]

        return BatchObservable(subscribe)

    return operator


class _Stage:
    """One subscription: an observer of the source (it takes batches, lazy ones too)
    feeding ``observer``, in batches when that observer takes them."""

    #: a lazy batch is taken as it is (values and one metadata object)
    takes_values = True

    def __init__(self, fn: Callable[[Any], Any], maps: bool, errors: Callable[[Any], Any] | None,
                 observer: abc.ObserverBase[Event]) -> None:
        self.fn = fn
        self.maps = maps
        self.action = "map" if maps else "filter"
        self.errors = errors
        self.observer = observer
        self.batch_out: Callable[[Sequence[Event]], Any] | None = (
            observer.on_next_batch if takes_batches(observer) else None)  # type: ignore[attr-defined]
        self.lazy_out = self.batch_out is not None and bool(getattr(observer, "takes_values", False))
        self.stopped = False

    def on_next(self, event: Event) -> None:
        if self.stopped:
            return
        out = self._one(event)
        if out is not None:
            self.observer.on_next(out)

    def on_next_batch(self, events: Sequence[Event]) -> None:
        if self.stopped:
            return
        values = events.values if events.__class__ is EventBatch else None
        if values is not None:  # lazy: values and one metadata object
            out: Sequence[Event] = self._values(values, events.meta)  # type: ignore[attr-defined]
            if not (out.values if out.__class__ is EventBatch else out):
                return
        else:
            out = [got for got in map(self._one, events) if got is not None]
            if not out:
                return
        if self.batch_out is None:
            on_next = self.observer.on_next
            for event in built(out):
                on_next(event)
        else:
            self.batch_out(out if self.lazy_out else built(out))

    def _values(self, values: list[Any], meta: Any) -> Sequence[Event]:
        """The output of a lazy batch: a lazy batch again, unless a call failed (then the
        events, each failure's error event where its value stood). ``fn`` is called once
        per value, in order: after a failure the same iterator goes on past it (the values
        ``list.extend`` took before the failure stay in the list)."""
        fn, maps = self.fn, self.maps
        it = iter(values)
        kept: list[Any] = []
        try:
            kept.extend(map(fn, it) if maps else filter(fn, it))
            return EventBatch.of(kept, meta, clean=True, lazy=True)
        except Exception as exc:
            failed: Exception | None = exc
        out = Event.many(kept, meta)
        while failed is not None:
            value = values[len(values) - length_hint(it) - 1]  # the one whose call failed
            err = self._failed(failed, value, meta)
            if err is not None:
                out.append(err)
            kept, failed = [], None
            try:
                kept.extend(map(fn, it) if maps else filter(fn, it))
            except Exception as exc:
                failed = exc
            out += Event.many(kept, meta)
        return out

    def _one(self, event: Event) -> Event | None:
        """What one event becomes: itself, its new value, its error event, or nothing
        (filtered out, or its error went to ``errors``)."""
        if event.is_error:
            return event
        try:
            got = self.fn(event.value)
            if not self.maps:
                return event if got else None
        except Exception as exc:
            return self._failed(exc, event.value, event.meta)
        return Event(got, event.meta)

    def _failed(self, exc: Exception, value: Any, meta: Any) -> Event | None:
        """The error event of a failed call: returned (to go in line) or given to ``errors``."""
        err = error_event(exc, connector=f"{self.action}_values", action=self.action, meta=meta, value=value)
        if self.errors is None:
            return err
        self.errors(err)
        return None

    def on_error(self, error: Exception) -> None:
        if not self.stopped:
            self.stopped = True
            self.observer.on_error(error)

    def on_completed(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.observer.on_completed()
