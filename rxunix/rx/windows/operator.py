"""The window operator: an ordinary Rx operator (``Observable[Event] -> Observable[Event]``).

:class:`Window` wires one subscription: the source and the ``release`` stream
feed an :class:`~.guard.Engine` (by default a :class:`~.guard.Guard` in front of
the operator's chain); ``live_groups`` counts the groups of all live
subscriptions. :class:`TumblingWindow` is the tumbling kind; the other kinds
live in their own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast
from weakref import WeakSet

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from ...core.event import Event
from ..batch import BatchObservable
from ..scheduling import default_scheduler
from .guard import Chain, Engine, Guard
from .keys import ErrorSink, EventSink, KeyFn, Reducer, Seconds, no_key, seconds_of, sink_of
from .sliding import SlidingCountChain, SlidingSpec
from .tumbling import CHUNK, TumblingChain

__all__ = ["Aggregates", "EngineFactory", "Window", "TumblingWindow", "guarded"]

#: Builds the engine of one subscription: ``engine(op, observer, scheduler)``.
EngineFactory = Callable[["Window", abc.ObserverBase[Event], "abc.SchedulerBase | None"], Engine]


def guarded(op: Window, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None) -> Engine:
    """The default engine: the operator's chain behind the single-owner guard."""
    return Guard(lambda guarded_scheduler: op.chain(observer, guarded_scheduler), scheduler)


class Window:
    """Base of the window operators: validation, subscription wiring, group counting.

    Calling it on an observable returns the observable of aggregates; it can be
    subscribed to many times (each subscription has its own windows).
    ``engine`` builds each subscription's engine (default :func:`guarded`); it is
    the one hook for running a chain differently.
    """

    #: whether the operator needs a scheduler (time windows and event-time idle timers)
    timed: bool = False

    def __init__(
        self,
        *,
        key: KeyFn | None = None,
        reduce: Reducer | None = None,
        scheduler: abc.SchedulerBase | None = None,
        release: Observable[Any] | None = None,
        errors: ErrorSink = None,
        late: EventSink = None,
    ) -> None:
        if key is not None and not callable(key):
            raise ValueError(f"key must be a callable Event -> hashable, got {key!r}")
        if reduce is not None and not callable(reduce):
            raise ValueError(f"reduce must be a callable list -> value, got {reduce!r}")
        if release is not None and not isinstance(release, Observable):
            raise ValueError(f"release must be an Observable, got {release!r}")
        sink_of(errors, "errors")
        sink_of(late, "late")
        self.key: KeyFn = key or no_key
        self.reduce = reduce
        self.scheduler = scheduler
        self.release = release
        self.errors = errors
        self.late = late
        self.engine: EngineFactory = guarded
        self._engines: WeakSet[Any] = WeakSet()

    def chain(self, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None) -> Chain:
        """The chain of one subscription (``scheduler`` is the guarded one, or ``None``)."""
        raise NotImplementedError

    @property
    def live_groups(self) -> int:
        """Groups that exist now, over all live subscriptions."""
        return sum(e.live for e in list(self._engines))

    def __call__(self, source: Observable[Event]) -> Observable[Event]:
        def subscribe(
            observer: abc.ObserverBase[Event], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = (self.scheduler or scheduler_ or default_scheduler()) if self.timed else None
            engine = self.engine(self, observer, sched)
            self._engines.add(engine)
            subs = CompositeDisposable()
            if self.release is not None:
                subs.add(self.release.subscribe(engine.on_release, lambda _e: None, None, scheduler=scheduler_))
            feed = cast(abc.ObserverBase[Event], feed_of(engine))  # an observer by its attributes
            subs.add(source.subscribe(feed, scheduler=scheduler_))

            def dispose() -> None:
                subs.dispose()
                engine.dispose()
                self._engines.discard(engine)

            return Disposable(dispose)

        return Aggregates(subscribe)


class Aggregates(BatchObservable):
    """The observable of a window operator's aggregates: an ordinary Rx observable,
    except that an observer which also takes batches (``on_next_batch``, such as a
    connector's ``in_``) is subscribed as it is, so the aggregates one read closes
    reach it in one call (see :mod:`.outputs`); ``window(out).subscribe(server.in_)``
    replies to a read's windows with one encoding, as an echo does."""


class _Feed:
    """What a window subscribes to its source: the engine's inputs, and ``on_next_batch``
    so that a source that hands over whole batches (a connector's ``out``) feeds a
    read's events in one call; ``takes_values`` when the engine takes a lazy batch
    unbuilt. (An observer by its attributes, as RxPY's ``subscribe`` and a
    connector's ``out`` take it.)"""

    __slots__ = ("on_next", "on_next_batch", "on_error", "on_completed", "takes_values")

    def __init__(self, engine: Engine, on_next_batch: Callable[[Sequence[Event]], None],
                 takes_values: bool = False) -> None:
        self.on_next = engine.on_next
        self.on_next_batch = on_next_batch
        self.on_error = engine.on_error
        self.on_completed = engine.on_completed
        self.takes_values = takes_values


def feed_of(engine: Engine) -> _Feed:
    """The observer a window subscribes to its source (see :class:`_Feed`); an engine
    without ``on_next_batch`` gets a batch's events one by one (the first exception
    is raised after the last event)."""
    batch = getattr(engine, "on_next_batch", None)
    if batch is None:
        def batch(events: Sequence[Event]) -> None:
            raised: BaseException | None = None
            for event in events:  # (built: this feed does not take values)
                try:
                    engine.on_next(event)
                except Exception as exc:
                    raised = raised or exc
            if raised is not None:
                raise raised

        return _Feed(engine, batch)
    return _Feed(engine, batch, bool(getattr(engine, "takes_values", False)))


class TumblingWindow(Window):
    """Tumbling windows of ``count`` events, of ``seconds`` (cut back to back from a
    group's first event), or whichever comes first; build it with :func:`~.factories.tumbling_count`,
    :func:`~.factories.tumbling_time` or :func:`~.factories.tumbling_count_or_time`.

    Windows with a duration run RxPY's buffer operator per group (:mod:`.tumbling`;
    ``chunk`` is how many events it is handed at a time); count-only windows run the
    count core of :mod:`.sliding` with step ``count``.
    """

    def __init__(
        self,
        *,
        count: int | None = None,
        seconds: Seconds | None = None,
        key: KeyFn | None = None,
        reduce: Reducer | None = None,
        scheduler: abc.SchedulerBase | None = None,
        release: Observable[Any] | None = None,
        errors: ErrorSink = None,
    ) -> None:
        if count is None and seconds is None:
            raise ValueError("a window needs a count, a duration or both")
        check_count(count, "n")
        if seconds is not None:
            seconds_of(seconds, "seconds")
        super().__init__(key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors)
        self.count = count
        self.seconds: Seconds | None = seconds
        self.timed = seconds is not None
        self.chunk = CHUNK

    @property
    def step(self) -> int | None:
        """A count-only window's step in the count core: ``count`` (windows back to back)."""
        return self.count

    def chain(self, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None) -> Chain:
        if self.seconds is None:  # buffer_with_count(n) is buffer_with_count(n, n): the count core
            return SlidingCountChain(cast(SlidingSpec, self), observer, scheduler)
        return TumblingChain(self, observer, scheduler)

    def __repr__(self) -> str:
        return f"<TumblingWindow count={self.count} seconds={self.seconds} live_groups={self.live_groups}>"


def check_count(count: Any, name: str) -> None:
    """``ValueError`` unless ``count`` is ``None`` or a positive int."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"{name} must be a positive int, got {count!r}")
