"""A connector's ports: ``out`` (an :class:`EventSubject`) and ``in_`` (an :class:`Inlet`).

Both carry events one at a time, as every Rx observable does, and also whole
batches (the events of one read) between connectors:

* :meth:`EventSubject.on_next_batch` hands a batch to every *batch observer*
  subscribed to it (an object with ``on_next_batch``, such as a connector's
  ``in_``) in one call, and to every other observer event by event, in order;
* :meth:`Inlet.on_next_batch` passes a batch to its connector in one call.

So ``server.out.subscribe(server.in_)`` (echo) and
``server.out.subscribe(client.in_)`` (relay) move a read's events with one call
per read, while ``server.out.pipe(ops.map(f)).subscribe(...)`` sees each event::

    >>> from rxunix.core.event import Event
    >>> class Sink:                       # a batch observer
    ...     def __init__(self): self.calls = []
    ...     def on_next(self, e): self.calls.append(e.value)
    ...     def on_next_batch(self, es): self.calls.append([e.value for e in es])
    ...     def on_error(self, err): pass
    ...     def on_completed(self): pass
    >>> out, sink, seen = EventSubject(owner=None), Sink(), []
    >>> _ = out.subscribe(sink); _ = out.subscribe(lambda e: seen.append(e.value))
    >>> failures = out.on_next_batch(Event.many([1, 2])); out.on_next(Event(3))
    >>> sink.calls, seen
    ([[1, 2], 3], [1, 2, 3])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.observer.autodetachobserver import AutoDetachObserver
from reactivex.subject import Subject

from ..core.event import ErrorEvent, Event, EventBatch, built, error_event
from ..rx.batch import takes_batches
from .runtime import _get_ident  # the real thread's id, also under gevent's monkey-patching

__all__ = ["BatchObserver", "EventSubject", "Inlet", "InletTarget"]


@runtime_checkable
class BatchObserver(Protocol):
    """An observer that also takes a whole batch of events in one call."""

    def on_next(self, value: Event) -> None: ...

    def on_next_batch(self, values: Sequence[Event]) -> None: ...

    def on_error(self, error: Exception) -> None: ...

    def on_completed(self) -> None: ...


class EventSubject(Subject[Event]):
    """A hot subject of events that also delivers batches; ``owner`` is the connector it belongs to.

    Only the owner's hub thread calls ``on_next``/``on_next_batch``. A
    subscriber that is a :class:`BatchObserver` is kept as is (not wrapped):
    it gets batches whole and completes with the subject.
    ``subscribe_hook`` may replace how a batch observer is subscribed (flow
    control uses it to put a pausing link between a source and a sink).
    """

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.owner = owner
        self.batch_observers: list[BatchObserver] = []
        #: every batch observer takes a lazy batch as it is (see ``on_next_batch``)
        self.batch_take_values = True
        self.subscribe_hook: Callable[[BatchObserver], abc.DisposableBase | None] | None = None

    def subscribe(
        self, on_next: Any = None, on_error: Any = None, on_completed: Any = None, *, scheduler: Any = None
    ) -> abc.DisposableBase:
        if on_error is None and on_completed is None:
            if takes_batches(on_next):
                linked = self.subscribe_hook(on_next) if self.subscribe_hook is not None else None
                return linked if linked is not None else self.subscribe_batch(on_next)
            bound: Any = getattr(on_next, "__self__", None)  # e.g. client.in_.on_next
            if self.subscribe_hook is not None and takes_batches(bound) and on_next == bound.on_next:
                linked = self.subscribe_hook(bound)
                if linked is not None:
                    return linked
        return super().subscribe(on_next, on_error, on_completed, scheduler=scheduler)

    def subscribe_batch(self, observer: BatchObserver) -> abc.DisposableBase:
        """Subscribe ``observer`` to get batches whole (what ``subscribe`` does for batch observers)."""
        with self.lock:
            self.check_disposed()
            if self.is_stopped:
                if self.exception is not None:
                    observer.on_error(self.exception)
                else:
                    observer.on_completed()
                return Disposable()
            self._set_batch_observers([*self.batch_observers, observer])

        def remove() -> None:
            with self.lock:
                self._set_batch_observers([o for o in self.batch_observers if o is not observer])

        return Disposable(remove)

    def _set_batch_observers(self, observers: list[BatchObserver]) -> None:
        self.batch_observers = observers
        self.batch_take_values = all(getattr(o, "takes_values", False) for o in observers)

    def on_next(self, value: Event) -> None:
        if self.is_stopped:
            return
        for b in self.batch_observers:
            b.on_next(value)
        observers = self.observers
        if len(observers) == 1:
            observers[0].on_next(value)
        else:
            for observer in observers[:]:
                observer.on_next(value)

    def on_next_batch(self, values: Sequence[Event]) -> list[Exception]:
        """Batch observers get ``values`` in one call; the others get each event, in order.

        A lazy :class:`~rxunix.core.event.EventBatch` is built first unless every
        subscriber is a batch observer whose ``takes_values`` is true (such an
        observer reads a lazy batch's ``values`` and ``meta``).
        An observer that raises does not keep the others (nor its own later
        events) from being delivered: the exceptions are returned, in order.
        """
        failures: list[Exception] = []
        if self.is_stopped:
            return failures
        if values.__class__ is EventBatch and values.lazy and (  # a lazy batch
                self.observers or not self.batch_take_values):
            values.build()
        for b in self.batch_observers:
            try:
                b.on_next_batch(values)
            except Exception as exc:
                failures.append(exc)
        observers = self.observers
        if len(observers) == 1:
            observer = observers[0]
            if observer.__class__ is AutoDetachObserver:  # what subscribe(fn) makes: call fn itself
                on_next = observer._on_next
                for value in values:
                    if observer.is_stopped:
                        break
                    try:
                        on_next(value)
                    except Exception as exc:
                        failures.append(exc)
                return failures
            on_next = observer.on_next
            for value in values:
                try:
                    on_next(value)
                except Exception as exc:
                    failures.append(exc)
        elif observers:
            for value in values:
                for observer in observers[:]:
                    try:
                        observer.on_next(value)
                    except Exception as exc:
                        failures.append(exc)
        return failures

    def on_completed(self) -> None:
        batch = self.batch_observers
        self._set_batch_observers([])
        super().on_completed()
        for b in batch:
            b.on_completed()

    def on_error(self, error: Exception) -> None:
        batch = self.batch_observers
        self._set_batch_observers([])
        super().on_error(error)
        for b in batch:
            b.on_error(error)


class InletTarget(Protocol):
    """What an :class:`Inlet` feeds: a connector's hub-thread entry points."""

    kind: str
    runtime: Any

    def receive(self, event: Event) -> None: ...

    def receive_batch(self, events: Sequence[Event]) -> None: ...

    def receive_error(self, event: ErrorEvent) -> None: ...

    def input_completed(self) -> None: ...


class Inlet(abc.ObserverBase[Event]):
    """The ``in_`` observer of a connector: thread-safe, never terminated by upstream errors.

    From the connector's hub thread events go straight in; from any other
    thread they are handed into the hub. ``connector`` is the connector it feeds.
    """

    def __init__(self, connector: InletTarget) -> None:
        self.connector = connector

    @property
    def takes_values(self) -> bool:
        """True when the connector takes a lazy batch (its values and metadata) as it is."""
        return bool(getattr(self.connector, "takes_values", False))

    @property
    def takes_slices(self) -> bool:
        """True when the connector encodes a :class:`~rxunix.core.event.SliceBatch`'s
        elements once (a window subscribed straight to it hands one over)."""
        return bool(getattr(self.connector, "takes_slices", False))

    def on_next(self, value: Event) -> None:
        c = self.connector
        if _get_ident() == c.runtime.thread_id:  # Runtime.in_hub_thread, inlined
            c.receive(value)
        else:
            c.runtime.call_soon(c.receive, value)

    def on_next_batch(self, values: Sequence[Event]) -> None:
        """Take a whole batch in one call (in order, as if each came through :meth:`on_next`).
        A lazy batch handed to another thread is built here first: only the thread
        that emitted it ever builds it."""
        c = self.connector
        if c.runtime.in_hub_thread():
            c.receive_batch(values)
        else:
            c.runtime.call_soon(c.receive_batch, built(values))

    def on_error(self, error: Exception) -> None:
        c = self.connector
        ev = error_event(error, connector=c.kind, action="input")
        if c.runtime.in_hub_thread():
            c.receive_error(ev)
        else:
            c.runtime.call_soon(c.receive_error, ev)

    def on_completed(self) -> None:
        c = self.connector
        if c.runtime.in_hub_thread():
            c.input_completed()
        else:
            c.runtime.call_soon(c.input_completed)

    def __call__(self, value: Event) -> None:
        self.on_next(value)
