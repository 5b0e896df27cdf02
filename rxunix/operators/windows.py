"""Tumbling windows over events that lose nothing under gevent, and whose aggregates
reply to every contributing connection.

Three operators, each an ordinary Rx operator (``Observable[Event] ->
Observable[Event]``, usable in ``pipe``):

* :func:`tumbling_count` ``(n)``: a window closes after ``n`` events;
* :func:`tumbling_time` ``(seconds)``: a window closes ``seconds`` after its first event;
* :func:`tumbling_count_or_time` ``(n, seconds)``: whichever comes first.

Each closed window becomes ONE event: its value is the list of the window's values
(or ``reduce(values)``, see :mod:`rxunix.operators.reducers`), its metadata is
:func:`rxunix.origin.merge_origins` of the window's events, so pushed into a
server's ``in_`` it reaches each contributing connection exactly once (SPEC 3.2)::

    >>> import reactivex as rx
    >>> from rxunix.event import Event
    >>> evs = [Event(i, {"unix_socket_server": {"path": "/s", "peer": i % 2}}) for i in range(5)]
    >>> out = []
    >>> _ = rx.from_iterable(evs).pipe(tumbling_count(2)).subscribe(out.append)
    >>> [(e.value, [r["peer"] for r in e.meta["unix_socket_server"]]) for e in out]
    [([0, 1], [0, 1]), ([2, 3], [0, 1]), ([4], [0])]

Semantics (the same as RxPY's ``buffer_with_count`` / ``buffer_with_time_or_count``
except where noted):

* Empty windows emit nothing. A window opens with its first event, so a time
  window spans ``[first event, first event + seconds)`` on the scheduler's clock
  and idle groups cost no timer (RxPY's time buffers tick from subscription and
  emit empty lists). An event at or after a window's deadline starts the next
  window even if the timer has not run yet (a busy hub, or a tie in virtual time).
* ``key=fn``: one window per group ``fn(event)``; :func:`connection_key` groups
  by originating connection. Aggregates are emitted when they close, so groups
  interleave in the output; within a group, order is kept.
* ``release=observable``: each item names a group to release (a key, or an
  :class:`~rxunix.event.Event` that is mapped through ``key``); its open window is
  flushed at once and the group forgotten. Feed it the connection-closed notices of
  a server so that per-connection count windows do not outlive their connection
  (e.g. ``release=server.closed`` with ``key=connection_key``, where ``closed``
  emits an event carrying the closed connection's metadata).
  ``op.live_groups`` counts the groups that currently hold an open window.
* Completion flushes every open window (oldest first), then completes. A source
  error also flushes first (nothing is lost), then is passed on.
* A failing reducer never ends the stream: the window becomes an
  :class:`~rxunix.event.ErrorEvent` (``action="reduce"``, the window's values under
  ``"values"``, the merged origins as metadata), emitted in line or, with
  ``errors=observer``, sent there. A failing ``key`` function likewise turns that
  one event into an error event (``action="key"``).
* Time runs on ``scheduler``, else the subscriber's scheduler, else
  ``GEventScheduler(gevent)``; with ``reactivex.testing.TestScheduler`` boundaries
  are exact in virtual time.

Why not RxPY's buffer operators as they are
-------------------------------------------
RxPY's ``window_with_count`` / ``window_with_time_or_count`` (under
``buffer_with_count`` / ``buffer_with_time_or_count``) guard their state with
``source.lock``, a ``threading.RLock``. Without monkey-patching that lock belongs
to the OS thread, and every greenlet of the hub runs in that one thread, so it
excludes nothing between greenlets. When a window closes, the operator completes
the window's Subject; the aggregate travels downstream and the downstream yields
(a socket write, ``gevent.sleep``). Another greenlet (a reader, the timer greenlet)
then calls ``on_next`` re-entrantly: the item goes into the Subject that was just
completed and is silently dropped (a completed Subject ignores ``on_next``), or,
for ``window_with_count``, finds its window queue empty and raises
``IndexError`` in the producer. A probe with four producer greenlets and a
yielding downstream lost 12% of items with ``buffer_with_time_or_count(0.002, 10)``
and 73% with ``buffer_with_count(10)`` (reactivex 4.1 and 6.1 alike, unpatched;
counting ``on_next`` calls into completed Subjects accounted for every lost item). Monkey-patched, the RLock
becomes greenlet-aware and the time-or-count buffer stops losing, but
``buffer_with_count`` still loses (it has no lock at all).

The guard here: the window state is a pure state machine
(:class:`~rxunix.operators._window_core.WindowCore`) with a single owner at a time.
Every input (item, timer expiry, release, completion, error) is appended to a
queue; whoever finds no owner becomes the owner and drains the queue, emitting
downstream; an input that arrives while the owner is blocked downstream is queued
and handled by the owner, in order, when the downstream returns. No lock is held
while calling downstream (the tiny critical sections use a real OS lock, so
inputs from other OS threads are safe too), producers never block, and timers
only enqueue an expiry stamped with its window's generation, so a late timer
cannot close a newer window.

For plain Rx aggregation (``scan``, ``reduce``, ``group_by``, ``to_list``) use
:func:`aggregated`, which turns lists of events into one aggregate event.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final
from weakref import WeakSet

import gevent
from gevent import monkey
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler.eventloop import GEventScheduler

from ..event import ErrorEvent, Event, error_event
from ..origin import CLIENT, SERVER, merge_origins
from ._window_core import WindowCore
from .reducers import Reducer

__all__ = [
    "TumblingWindow",
    "tumbling_count",
    "tumbling_time",
    "tumbling_count_or_time",
    "connection_key",
    "merge_meta",
    "aggregated",
    "default_scheduler",
]

_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")

KeyFn = Callable[[Event], Hashable]
Seconds = float | int | timedelta

_scheduler: GEventScheduler | None = None


def default_scheduler() -> abc.SchedulerBase:
    """The scheduler time windows use by default: ``GEventScheduler(gevent)``."""
    global _scheduler
    if _scheduler is None:
        _scheduler = GEventScheduler(gevent)
    return _scheduler


def connection_key(event: Event) -> Hashable:
    """The connection an event came from, as a group key (``None`` if none).

    ``("unix_socket_server", path, peer)`` or ``("unix_socket_client", path)``::

        >>> connection_key(Event(1, {"unix_socket_server": {"path": "/s", "peer": 3}}))
        ('unix_socket_server', '/s', 3)
    """
    meta = event.meta
    rec = meta.get(SERVER)
    if rec is not None and (isinstance(rec, dict) or isinstance(rec, Mapping)):
        return (SERVER, rec.get("path"), rec.get("peer"))
    rec = meta.get(CLIENT)
    if rec is not None and (isinstance(rec, dict) or isinstance(rec, Mapping)):
        return (CLIENT, rec.get("peer"))
    return None


def merge_meta(events: list[Event]) -> dict[str, Any]:
    """:func:`rxunix.origin.merge_origins` of ``events``, same result, faster when
    events share metadata objects (a connector gives every event of a connection
    the same mapping): each distinct mapping is merged once."""
    seen: set[int] = set()
    first: list[Mapping[str, Any]] = []
    for e in events:
        m = e.meta
        if id(m) not in seen:
            seen.add(id(m))
            first.append(m)
    if len(first) == 1:
        return merge_origins(first)
    # origins in first-seen order, then the other keys with "last event wins"
    seen.clear()
    last: list[Mapping[str, Any]] = []
    for e in reversed(events):
        m = e.meta
        if id(m) not in seen:
            seen.add(id(m))
            last.append(m)
    last.reverse()
    return merge_origins(first + last)


def _no_key(event: Event) -> Hashable:
    return None


# message tags for the single-owner queue
_ITEM: Final = 0
_EXPIRE: Final = 1
_RELEASE: Final = 2
_COMPLETE: Final = 3
_ERROR: Final = 4


class _Timer:
    __slots__ = ("disposable", "fired")

    def __init__(self) -> None:
        self.disposable: abc.DisposableBase | None = None
        self.fired = False

    def cancel(self) -> None:
        # A timer that has fired is the greenlet running right now (or is done):
        # never kill it (GEventScheduler's dispose kills the timer greenlet).
        if not self.fired and self.disposable is not None:
            self.disposable.dispose()


class _Engine:
    """One subscription: the core, its timers and the single-owner queue."""

    def __init__(
        self,
        op: TumblingWindow,
        observer: abc.ObserverBase[Event],
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        span = None if scheduler is None or op.seconds is None else scheduler.to_timedelta(op.seconds)
        self.core: WindowCore[Event] = WindowCore(op.count, span)
        self.key = op.key
        self.reduce = op.reduce
        self.errors = op.errors
        self.seconds = op.seconds
        self.scheduler = scheduler
        self.observer = observer
        self.timers: dict[Hashable, _Timer] = {}
        self.queue: collections.deque[tuple[int, Any, Any]] = collections.deque()
        self.lock = _allocate_lock()
        self.busy = False
        self.done = False

    # ---- inputs (any greenlet, any thread) --------------------------------
    def on_next(self, event: Event) -> None:
        lock = self.lock
        with lock:
            if self.busy:
                self.queue.append((_ITEM, event, None))
                return
            self.busy = True
            direct = not self.queue
            if not direct:  # leftovers of an owner that raised: keep the order
                self.queue.append((_ITEM, event, None))
        if direct:
            try:
                self._item(event)
            except BaseException:
                with lock:
                    self.busy = False
                raise
            with lock:  # the common case: nothing arrived meanwhile
                if not self.queue:
                    self.busy = False
                    return
        self._run()

    def on_release(self, item: Any) -> None:
        self._put(_RELEASE, item, None)

    def on_completed(self) -> None:
        self._put(_COMPLETE, None, None)

    def on_error(self, error: Exception) -> None:
        self._put(_ERROR, error, None)

    def _put(self, tag: int, a: Any, b: Any) -> None:
        with self.lock:
            self.queue.append((tag, a, b))
            if self.busy:
                return
            self.busy = True
        self._run()

    # ---- the owner ---------------------------------------------------------
    def _run(self) -> None:
        """Drain the queue; only one caller at a time gets here (``busy``)."""
        lock, queue = self.lock, self.queue
        try:
            while True:
                with lock:
                    if not queue:
                        self.busy = False
                        return
                    tag, a, b = queue.popleft()
                if tag == _ITEM:
                    self._item(a)
                elif tag == _EXPIRE:
                    self._expire(a, b)
                elif tag == _RELEASE:
                    self._release(a)
                elif tag == _COMPLETE:
                    self._finish(None)
                else:
                    self._finish(a)
        except BaseException:
            with lock:
                self.busy = False
            raise

    def _item(self, event: Event) -> None:
        if self.done:
            return
        try:
            key = self.key(event)
        except Exception as exc:  # a failing key function: report the event, keep going
            self._fail(exc, "key", None, event.meta, [event.value])
            return
        sched = self.scheduler
        arm, expired, closed = self.core.add(key, event, None if sched is None else sched.now)
        if expired is not None or closed is not None:
            t = self.timers.pop(key, None)
            if t is not None:
                t.cancel()
        if arm is not None:
            self._arm(key, arm)
        # state is consistent before anything goes downstream (which may yield)
        if expired is not None:
            self._emit(key, expired)
        if closed is not None:
            self._emit(key, closed)

    def _arm(self, key: Hashable, gen: int) -> None:
        timer = _Timer()
        self.timers[key] = timer

        def fire(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
            timer.fired = True
            self._put(_EXPIRE, key, gen)

        assert self.scheduler is not None and self.seconds is not None
        timer.disposable = self.scheduler.schedule_relative(self.seconds, fire)

    def _expire(self, key: Hashable, gen: int) -> None:
        if self.done:
            return
        closed = self.core.expire(key, gen)
        if closed is not None:
            self.timers.pop(key, None)
            self._emit(key, closed)

    def _release(self, item: Any) -> None:
        if self.done:
            return
        key = self.key(item) if isinstance(item, Event) else item
        t = self.timers.pop(key, None)
        if t is not None:
            t.cancel()
        closed = self.core.release(key)
        if closed is not None:
            self._emit(key, closed)

    def _finish(self, error: Exception | None) -> None:
        if self.done:
            return
        self._cancel_timers()
        for key, closed in self.core.flush():
            self._emit(key, closed)
        self.done = True
        if error is None:
            self.observer.on_completed()
        else:
            self.observer.on_error(error)

    def _cancel_timers(self) -> None:
        timers, self.timers = self.timers, {}
        for t in timers.values():
            t.cancel()

    def dispose(self) -> None:
        self.done = True
        self._cancel_timers()
        self.core.flush()

    def _emit(self, key: Hashable, events: list[Event]) -> None:
        meta = MappingProxyType(merge_meta(events))
        values = [e.value for e in events]
        out: Event
        if self.reduce is None:
            out = Event(values, meta)
        else:
            try:
                out = Event(self.reduce(values), meta)
            except Exception as exc:
                self._fail(exc, "reduce", key, meta, values)
                return
        self.observer.on_next(out)

    def _fail(self, exc: Exception, action: str, key: Hashable, meta: Any, values: list[Any]) -> None:
        err = error_event(exc, connector="window", action=action, stream=key, meta=meta, values=values)
        if self.errors is not None:
            self.errors.on_next(err)
        else:
            self.observer.on_next(err)


class TumblingWindow:
    """A tumbling-window Rx operator (see the module doc); build it with
    :func:`tumbling_count`, :func:`tumbling_time` or :func:`tumbling_count_or_time`.

    Calling it on an observable returns the observable of aggregates; it can be
    subscribed to many times (each subscription has its own windows).
    ``live_groups`` sums the open windows of all live subscriptions.
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
        errors: abc.ObserverBase[ErrorEvent] | None = None,
    ) -> None:
        if count is None and seconds is None:
            raise ValueError("a window needs a count, a duration or both")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(f"count must be a positive int, got {count!r}")
        if seconds is not None:
            secs = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
            if isinstance(secs, bool) or not isinstance(secs, (int, float)) or not secs > 0:
                raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        if key is not None and not callable(key):
            raise ValueError(f"key must be a callable Event -> hashable, got {key!r}")
        if reduce is not None and not callable(reduce):
            raise ValueError(f"reduce must be a callable list -> value, got {reduce!r}")
        self.count = count
        self.seconds = seconds
        self.key: KeyFn = key or _no_key
        self.reduce = reduce
        self.scheduler = scheduler
        self.release = release
        self.errors = errors
        self._engines: WeakSet[_Engine] = WeakSet()

    @property
    def live_groups(self) -> int:
        """Groups holding an open window, over all live subscriptions."""
        return sum(e.core.live for e in list(self._engines))

    def __call__(self, source: Observable[Event]) -> Observable[Event]:
        def subscribe(
            observer: abc.ObserverBase[Event], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = None
            if self.seconds is not None:
                sched = self.scheduler or scheduler_ or default_scheduler()
            engine = _Engine(self, observer, sched)
            self._engines.add(engine)
            subs = CompositeDisposable()
            if self.release is not None:
                subs.add(
                    self.release.subscribe(engine.on_release, lambda _e: None, None, scheduler=scheduler_)
                )
            subs.add(
                source.subscribe(engine.on_next, engine.on_error, engine.on_completed, scheduler=scheduler_)
            )

            def dispose() -> None:
                subs.dispose()
                engine.dispose()
                self._engines.discard(engine)

            return Disposable(dispose)

        return Observable(subscribe)

    def __repr__(self) -> str:
        return f"<TumblingWindow count={self.count} seconds={self.seconds} live_groups={self.live_groups}>"


def tumbling_count(
    n: int,
    *,
    key: KeyFn | None = None,
    reduce: Reducer | None = None,
    release: Observable[Any] | None = None,
    errors: abc.ObserverBase[ErrorEvent] | None = None,
) -> TumblingWindow:
    """Windows of ``n`` events (per group with ``key``); see the module doc.

    Example: one aggregate per three connections' events, replied to all three::

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
    errors: abc.ObserverBase[ErrorEvent] | None = None,
) -> TumblingWindow:
    """Windows closing ``seconds`` after their first event; see the module doc.

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
    errors: abc.ObserverBase[ErrorEvent] | None = None,
) -> TumblingWindow:
    """Windows closing after ``n`` events or ``seconds`` after their first event,
    whichever comes first (the safe ``buffer_with_time_or_count``)::

        server.out.pipe(tumbling_count_or_time(100, 0.5, reduce=reducers.count()))
    """
    return TumblingWindow(
        count=n, seconds=seconds, key=key, reduce=reduce, scheduler=scheduler, release=release, errors=errors
    )


def aggregated(
    reduce: Reducer | None = None,
) -> Callable[[Observable[Iterable[Event]]], Observable[Event]]:
    """Rx operator: each list of events -> one aggregate event with merged origins.

    For aggregation with plain Rx operators; empty lists are skipped::

        >>> import reactivex as rx
        >>> from reactivex import operators as ops
        >>> evs = [Event(i, {"unix_socket_server": {"path": "/s", "peer": i}}) for i in range(3)]
        >>> out = []
        >>> _ = rx.from_iterable(evs).pipe(ops.to_list(), aggregated(sum)).subscribe(out.append)
        >>> out[0].value, [r["peer"] for r in out[0].meta["unix_socket_server"]]
        (3, [0, 1, 2])

    With ``group_by``: ``ops.group_by(connection_key)``, then
    ``ops.flat_map(lambda g: g.pipe(ops.to_list(), aggregated()))``. Note that RxPY's
    own count/time buffers are not safe under gevent (see the module doc); prefer
    the window operators here for those.
    """
    fn = reduce or list

    def build(events: list[Event]) -> Event:
        return Event(fn([e.value for e in events]), MappingProxyType(merge_meta(events)))

    def materialize(events: Iterable[Event]) -> list[Event]:
        return list(events)

    def non_empty(events: list[Event]) -> bool:
        return len(events) > 0

    def op(source: Observable[Iterable[Event]]) -> Observable[Event]:
        return source.pipe(ops.map(materialize), ops.filter(non_empty), ops.map(build))

    return op
