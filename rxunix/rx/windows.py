"""Tumbling windows over events, built on RxPY's buffer operators and guarded so that
they lose nothing under gevent; their aggregates reply to every contributing connection.

Three operators, each an ordinary Rx operator (``Observable[Event] ->
Observable[Event]``, usable in ``pipe``):

* :func:`tumbling_count` ``(n)``: a window closes after ``n`` events
  (like ``ops.buffer_with_count``);
* :func:`tumbling_time` ``(seconds)``: a window closes ``seconds`` after its first
  event (like ``ops.buffer_with_time``);
* :func:`tumbling_count_or_time` ``(n, seconds)``: whichever comes first
  (like ``ops.buffer_with_time_or_count``).

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

How it is built
---------------
Each group (``key(event)``; one group when there is no key) has its own RxPY
buffer operator, ``ops.buffer(boundaries)``, subscribed to a per-group source and a
per-group boundary source when the group's first event arrives; the chain drives
both, for every kind of window::

    event -> key -> the group's chunk -> the group's source ---> ops.buffer(boundaries) -> buffers
                                         the group's boundaries --/
                                           <- n events counted (count windows)
                                           <- the window's timer ran (time windows; the
                                              timer is restarted when n events close a
                                              window early)
    each non-empty buffer -> one aggregate event (merged origins, reducer)

Ending a group completes its source, so the buffer operator flushes its partial
buffer (RxPY's own completion rule). A group ends when it is released, when the
source completes, and, for timed windows, when one of its windows passes without
an event (the group is idle). The next event of that key opens a new group.
(``group_by`` + ``flat_map`` would route the same way; a dict of per-group sources
does it for a fraction of the cost.) The sources hand the buffer operator's own
callbacks to the chain (no per-group Subject, no auto-detaching wrapper), so an
event costs the chain one call into RxPY. RxPY's count/time buffer operators
(``buffer_with_count`` ...) would cut the same windows but cost more per event.

Events reach the buffer operator in chunks: the chain gathers a group's events in a
list and hands it over, as one item, every :data:`CHUNK` (32) events and whenever
the window is cut or the group ends, always before the boundary; each buffer RxPY
emits (a list of chunks) is flattened back into the window's events. The windows
are exactly those of handing events one by one (``op.chunk = 1`` does that; tests
compare both), at a fraction of the cost: RxPY's per-item path (the window Subject,
two auto-detaching observers) ran about 3.8 us per event on the benchmark machine,
as much as a quarter of a plain echo's whole cost per event.

Semantics
---------
* Empty windows emit nothing. A group's first window opens with its first event
  (that is when its buffer operator subscribes and starts its timer); after that,
  RxPY's buffer operator cuts windows back to back: ``buffer_with_time`` every
  ``seconds`` from the group's first event, ``buffer_with_time_or_count`` restarts
  the period whenever ``n`` events close a window early. A window that passes
  empty ends the group, so an idle group costs at most one more timer, then
  nothing, and the next event opens a new group, aligned to itself. (These are
  the windows RxPY's ``buffer_with_time`` / ``buffer_with_time_or_count`` cut.)
* A window closes when its timer action runs (as with RxPY's): an event handled
  before that, at the same virtual instant (a tie: a hot observable's messages are
  scheduled before the timer) or because the hub was busy and the timer late, still
  joins the closing window.
* Count-only windows have no timer, so their groups live until released or until
  the source completes: with a key per connection, pass ``release`` (below).
* ``key=fn``: one window per group ``fn(event)``; :func:`connection_key` groups
  by originating connection. Aggregates are emitted when they close, so groups
  interleave in the output; within a group, order is kept.
* ``release=observable``: each item names a group to release (a key, or an
  :class:`~rxunix.event.Event` that is mapped through ``key``); its open window is
  flushed at once (the group's source completes, the buffer operator emits its
  partial buffer) and the group forgotten. Feed it the
  connection-closed notices of a server so that per-connection count windows do
  not outlive their connection (e.g. ``release=server.closed`` with
  ``key=connection_key``, where ``closed`` emits an event carrying the closed
  connection's metadata). ``op.live_groups`` counts the groups that currently
  exist (each holds a buffer operator and its open window, possibly still empty).
* Completion flushes every open window (oldest group first), then completes. A
  source error also flushes first (every group's source is completed, so nothing is
  lost), then is passed on.
* A failing reducer never ends the stream: the window becomes an
  :class:`~rxunix.event.ErrorEvent` (``action="reduce"``, the window's values under
  ``"values"``, the merged origins as metadata), emitted in line or, with
  ``errors=observer``, sent there. A failing ``key`` function likewise turns that
  one event into an error event (``action="key"``).
* Time runs on ``scheduler``, else the subscriber's scheduler, else
  ``GEventScheduler(gevent)``; with ``reactivex.testing.TestScheduler`` boundaries
  are exact in virtual time.
* An exception raised by the downstream observer reaches the caller that fed the
  event, after the chain has finished handling it, so it cannot tear the chain down
  (RxPY's auto-detaching observers dispose on exceptions).

Why RxPY's buffer operators need a guard
----------------------------------------
RxPY's ``window_with_count`` / ``window_with_time_or_count`` (under
``buffer_with_count`` / ``buffer_with_time_or_count``) guard their state with
``source.lock``, a ``threading.RLock``, or nothing. Without monkey-patching that lock
belongs to the OS thread, and every greenlet of the hub runs in that one thread, so
it excludes nothing between greenlets. When a window closes, the operator completes
the window's Subject; the aggregate travels downstream and the downstream yields
(a socket write, ``gevent.sleep``). Another greenlet (a reader, the timer greenlet)
then calls ``on_next`` re-entrantly: the item goes into the Subject that was just
completed and is silently dropped (a completed Subject ignores ``on_next``), or,
for ``window_with_count``, finds its window queue empty and raises ``IndexError``
in the producer. A probe with four producer greenlets and a yielding downstream
lost 12% of items with ``buffer_with_time_or_count(0.002, 10)`` and 73% with
``buffer_with_count(10)`` (reactivex 4.1 and 6.1 alike, unpatched; counting
``on_next`` calls into completed Subjects accounted for every lost item).
Monkey-patched, the RLock becomes greenlet-aware and the time-or-count buffer stops
losing, but ``buffer_with_count`` still loses (it has no lock at all). The chain
of per-group sources -> RxPY count/time buffer operators, fed without the guard
(:func:`unguarded`), loses the same way: in that probe (2,000 events, socket write
downstream) 25% with the time-or-count buffer (unpatched) and 22% with the count
buffer, each loss an ``IndexError`` raised into a producer (patched or not);
``tests/test_windows_gevent.py`` asserts both. ``ops.buffer(boundaries)``, which
the chain here is built on, completes its window Subject the same way when a
boundary arrives, so it needs the guard just as much.

A second trap: ``GEventScheduler`` cancels a timer by killing its greenlet
(``kill(block=False)``), and ``window_with_time_or_count`` cancels the timer whose
action is running when it arms the next one (the chain here cancels the running
timer too, when it finds its group idle). Behind a single-owner queue that
timer greenlet may go on to deliver other aggregates; it would be killed at its
next yield, in the middle of a downstream write.

The guard: the chain has a single owner at a time. Every input (item, release,
completion, error, and every timer action RxPY schedules) is appended to one
queue; whoever finds no owner becomes the owner and drains the queue, feeding the
chain; an input that arrives while the owner is blocked downstream is queued and
fed, in order, when the downstream returns, so RxPY's operators are never entered
re-entrantly. Window timers reach the queue through :class:`GuardedScheduler`: it
delegates time to the real scheduler (``GEventScheduler``, a ``TestScheduler``...)
and wraps each action so that it runs through the queue; cancelling a timer that
already fired never kills its greenlet, it only skips the action if it is still
queued. Ownership is a real OS lock that is only ever tried (``acquire(False)``),
never waited on: producers never block, an input from another OS thread is queued
safely, and the common case (no owner, nothing queued) costs one try and one
release.

For plain Rx aggregation (``scan``, ``reduce``, ``group_by``, ``to_list``) use
:func:`aggregated`, which turns lists of events into one aggregate event.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, TypeVar
from weakref import WeakSet

import gevent
from gevent import monkey
from reactivex import Observable, abc, typing
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler.eventloop import GEventScheduler
from reactivex.scheduler.scheduler import Scheduler

from ..core.event import ErrorEvent, Event, error_event
from ..core.origin import CLIENT, SERVER, merge_origins
from .reducers import Reducer

__all__ = [
    "TumblingWindow",
    "GuardedScheduler",
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
_TState = TypeVar("_TState")

_scheduler: GEventScheduler | None = None

#: how many events the chain gathers before it hands them, as one item, to the
#: group's RxPY buffer operator (see "How it is built"); 1 hands each event alone
CHUNK: Final = 32


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
    if rec is not None and (isinstance(rec, _PLAIN_MAPPINGS) or isinstance(rec, Mapping)):
        return (SERVER, rec.get("path"), rec.get("peer"))
    rec = meta.get(CLIENT)
    if rec is not None and (isinstance(rec, _PLAIN_MAPPINGS) or isinstance(rec, Mapping)):
        return (CLIENT, rec.get("peer"))
    return None


# checked before the (slow) ABC check
_PLAIN_MAPPINGS = (dict, MappingProxyType)


def merge_meta(events: list[Event]) -> dict[str, Any]:
    """:func:`rxunix.origin.merge_origins` of ``events``, same result, faster when
    events share metadata objects (a connector gives every event of a connection
    the same mapping): each distinct mapping is merged once."""
    if not events:
        return merge_origins([])
    only = events[0].meta
    for e in events:  # the common case first: one connection, one metadata object
        if e.meta is not only:
            break
    else:
        return merge_origins([only])
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


# ---- timer actions through the guard ------------------------------------------
class _Timer(abc.DisposableBase):
    """The handle of one action scheduled through a :class:`GuardedScheduler`."""

    __slots__ = ("inner", "fired", "cancelled")

    def __init__(self) -> None:
        self.inner: abc.DisposableBase | None = None
        self.fired = False
        self.cancelled = False

    def dispose(self) -> None:
        self.cancelled = True  # a fired action still queued is skipped
        # A fired timer's greenlet may be the one draining right now: GEventScheduler
        # would kill it (at its next yield, in the middle of the downstream).
        if not self.fired and self.inner is not None:
            self.inner.dispose()


class GuardedScheduler(Scheduler):
    """A scheduler that takes its time from ``inner`` and runs every action it is
    given through ``submit`` (the window's single-owner queue) instead of directly.

    ``submit(timer, run)`` must call ``run()`` later, unless ``timer.cancelled``::

        >>> from reactivex.testing import TestScheduler
        >>> queue = []
        >>> vt = TestScheduler()
        >>> s = GuardedScheduler(vt, lambda timer, run: queue.append(run))
        >>> _ = s.schedule_relative(5, lambda sch, st: print("ran at", vt.clock))
        >>> vt.advance_to(5); len(queue)
        1
        >>> queue.pop()()
        ran at 5.0
    """

    def __init__(
        self, inner: abc.SchedulerBase, submit: Callable[[_Timer, Callable[[], None]], None]
    ) -> None:
        super().__init__()
        self.inner = inner
        self._submit = submit

    @property
    def now(self) -> datetime:
        return self.inner.now

    def _guard(
        self,
        action: abc.ScheduledAction[_TState],
        state: _TState | None,
        place: Callable[[abc.ScheduledAction[Any]], abc.DisposableBase],
    ) -> abc.DisposableBase:
        """Schedule, with ``place`` (on the inner scheduler), an action that submits
        ``action`` to the queue when its time comes."""
        timer = _Timer()

        def run() -> None:
            action(self, state)

        def fire(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
            timer.fired = True
            if not timer.cancelled:
                self._submit(timer, run)

        timer.inner = place(fire)
        return timer

    def schedule(
        self, action: abc.ScheduledAction[_TState], state: _TState | None = None
    ) -> abc.DisposableBase:
        return self._guard(action, state, self.inner.schedule)

    def schedule_relative(
        self, duetime: typing.RelativeTime, action: abc.ScheduledAction[_TState], state: _TState | None = None
    ) -> abc.DisposableBase:
        return self._guard(action, state, lambda fire: self.inner.schedule_relative(duetime, fire))

    def schedule_absolute(
        self, duetime: typing.AbsoluteTime, action: abc.ScheduledAction[_TState], state: _TState | None = None
    ) -> abc.DisposableBase:
        return self._guard(action, state, lambda fire: self.inner.schedule_absolute(duetime, fire))


# ---- the RxPY chain -----------------------------------------------------------
class _Group:
    """One group: its key, its buffer operator's inputs (``feed`` a chunk, ``cut``
    a window, ``close`` the source), that operator's subscription, the number of
    events in its open window, the chunk being gathered and its window timer."""

    __slots__ = ("key", "feed", "close", "cut", "source", "subscription", "n", "timer", "chunk")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.chunk: list[Event] = []  # events not yet handed to the buffer operator
        self.feed: Callable[[Any], None] = _noop
        self.close: Callable[[], None] = _noop
        self.cut: Callable[[Any], None] = _noop
        self.source: abc.ObserverBase[Event] | None = None  # (the naive chain's input)
        self.subscription: abc.DisposableBase | None = None
        self.n = 0  # events in the open window
        self.timer: abc.DisposableBase | None = None


def _noop(*_args: Any) -> None:
    return None


#: what ``_Chain.key_of`` answers for an event whose key function failed
_NO_KEY: Final = object()


def _flat(chunks: list[list[Event]]) -> list[Event]:
    return [event for chunk in chunks for event in chunk]


class _Inlet(Observable[Any]):
    """A source that hands its subscriber's callbacks to ``attach(on_next, on_completed)``
    as they are: the chain calls the buffer operator's own callbacks, without the
    auto-detaching observer ``Observable.subscribe`` would wrap them in (it never calls
    them after completing them, and handles what they raise itself)."""

    def __init__(self, attach: Callable[[Callable[[Any], None], Callable[[], None]], None]) -> None:
        super().__init__()
        self._attach_to = attach

    def subscribe(
        self,
        on_next: abc.ObserverBase[Any] | Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_completed: Callable[[], None] | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        if isinstance(on_next, abc.ObserverBase):
            self._attach_to(on_next.on_next, on_next.on_completed)
        else:
            self._attach_to(on_next or _noop, on_completed or _noop)
        return Disposable()


class _Outputs:
    """What every chain does with its buffers: aggregate events, error events,
    completion; and the bookkeeping of its groups."""

    def __init__(self, op: TumblingWindow, observer: abc.ObserverBase[Event]) -> None:
        self.reduce = op.reduce
        self.errors = op.errors
        self.observer = observer
        self.groups: dict[Hashable, _Group] = {}  # the live groups, in creation order
        self.raised: BaseException | None = None  # what the downstream raised
        self.done = False
        self.opening: _Group | None = None

    @property
    def live(self) -> int:
        return len(self.groups)

    def _attach(self, observer: abc.ObserverBase[Event], _scheduler: abc.SchedulerBase | None = None) -> Any:
        assert self.opening is not None
        self.opening.source = observer  # the buffer operator's input for this group
        return Disposable()

    def dispose(self) -> None:
        self.done = True
        self._drop()

    def _drop(self) -> None:
        groups = list(self.groups.values())
        self.groups.clear()
        for group in groups:
            if group.timer is not None:
                group.timer.dispose()
            if group.subscription is not None:
                group.subscription.dispose()

    def _on_window(self, group: _Group, events: list[Event]) -> None:
        if not events:
            return
        meta = MappingProxyType(merge_meta(events))
        values = [e.value for e in events]
        if self.reduce is None:
            self.deliver(Event(values, meta))
            return
        try:
            out = Event(self.reduce(values), meta)
        except Exception as exc:
            self.fail(exc, "reduce", group.key, meta, values)
            return
        self.deliver(out)

    def fail(self, exc: Exception, action: str, key: Hashable, meta: Any, values: list[Any]) -> None:
        err = error_event(exc, connector="window", action=action, stream=key, meta=meta, values=values)
        if self.errors is not None:
            try:
                self.errors.on_next(err)
            except BaseException as raised:
                self.raised = self.raised or raised
        else:
            self.deliver(err)

    def deliver(self, event: Event) -> None:
        try:
            self.observer.on_next(event)
        except BaseException as raised:  # re-raised by the guard once the chain is settled
            self.raised = self.raised or raised

    def _on_error(self, error: Exception) -> None:  # a failure inside RxPY: pass it on
        if not self.done:
            self._drop()
            self._finish(error)

    def _finish(self, error: Exception | None) -> None:
        if self.done:
            return
        self.done = True
        try:
            if error is None:
                self.observer.on_completed()
            else:
                self.observer.on_error(error)
        except BaseException as raised:
            self.raised = self.raised or raised


class _Chain(_Outputs):
    """One RxPY ``ops.buffer(boundaries)`` per group, over a per-group source and a
    per-group boundary source that this chain drives: ``count`` events reached,
    the window's timer ran (through ``scheduler``, the guarded one), or the group
    ended (its source completes: RxPY flushes the partial buffer).

    Not re-entrant: exactly one caller at a time may call ``take``, ``release``,
    ``complete`` and the timer actions (the guard, :class:`_Guard`, makes sure of that).
    """

    def __init__(
        self,
        op: TumblingWindow,
        observer: abc.ObserverBase[Event],
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        super().__init__(op, observer)
        self.count = op.count or 0  # 0: no count limit
        self.seconds = op.seconds
        self.scheduler = scheduler
        self.chunk = op.chunk
        self.key = op.key
        # connection_key depends on the metadata object only, and a connector gives
        # every event of a connection the same one: remember the last answer
        self.meta_key = op.key is connection_key
        self.last_meta: Any = None
        self.last_key: Hashable = None
        if op.seconds is not None:
            assert scheduler is not None
        # built once; each group subscribes to it (a fresh buffer operator per group)
        self.buffered = _Inlet(self._attach_source).pipe(ops.buffer(_Inlet(self._attach_boundary)))

    def _attach_source(self, on_next: Callable[[Event], None], on_completed: Callable[[], None]) -> None:
        assert self.opening is not None
        self.opening.feed, self.opening.close = on_next, on_completed

    def _attach_boundary(self, on_next: Callable[[Any], None], _on_completed: Callable[[], None]) -> None:
        assert self.opening is not None
        self.opening.cut = on_next  # a boundary: the buffer operator emits its buffer

    def _open(self, key: Hashable) -> _Group:
        group = _Group(key)
        self.groups[key] = group

        def on_window(chunks: list[list[Event]]) -> None:
            self._on_window(group, chunks[0] if len(chunks) == 1 else _flat(chunks))

        # the buffer operator subscribes now: its first window (and timer) starts here
        self.opening = group
        group.subscription = self.buffered.subscribe(on_window, self._on_error, scheduler=self.scheduler)
        self.opening = None
        if self.seconds is not None:
            self._arm(group)
        return group

    def _arm(self, group: _Group) -> None:
        assert self.scheduler is not None and self.seconds is not None
        group.timer = self.scheduler.schedule_relative(self.seconds, self._tick, group)

    def _tick(self, _scheduler: abc.SchedulerBase, group: _Group | None) -> None:
        """A window's time is up (run by the guard): cut it, or end the idle group."""
        assert group is not None
        if self.done or self.groups.get(group.key) is not group:
            return
        if group.n == 0:  # the window passed without events: the group ends
            self.release(group.key)
            return
        group.n = 0
        self._arm(group)
        self._hand(group)
        group.cut(None)

    # ---- inputs ----
    def key_of(self, event: Event) -> Any:
        """``key(event)``; a failing key function becomes an error event (the stream
        goes on) and the answer :data:`_NO_KEY`."""
        try:
            if self.meta_key:
                meta = event.meta
                if meta is not self.last_meta:
                    self.last_meta, self.last_key = meta, self.key(event)
                return self.last_key
            return self.key(event)
        except Exception as exc:
            if not self.done:
                self.fail(exc, "key", None, event.meta, [event.value])
            return _NO_KEY

    def take(self, event: Event) -> None:
        """Key the event and add it to its group's open window."""
        if self.done:
            return
        key = self.key_of(event)
        if key is _NO_KEY:
            return
        group = self.groups.get(key)
        if group is None:
            group = self._open(key)
        chunk = group.chunk
        chunk.append(event)
        n = group.n + 1
        if n == self.count:
            self._full(group)
            return
        group.n = n
        if len(chunk) == self.chunk:
            self._hand(group)

    def _hand(self, group: _Group) -> None:
        """Hand the chunk gathered so far to the group's buffer operator."""
        chunk = group.chunk
        if chunk:
            group.chunk = []
            group.feed(chunk)

    def _full(self, group: _Group) -> None:
        """The open window holds ``count`` events: cut it (and restart its period)."""
        group.n = 0
        if group.timer is not None:
            group.timer.dispose()
            self._arm(group)
        self._hand(group)
        group.cut(None)

    def release(self, key: Hashable) -> None:
        group = self.groups.pop(key, None)
        if group is not None and not self.done:
            self._end(group)

    def release_item(self, item: Any) -> None:
        """Release the group an item of ``release`` names: a key, or an event's key."""
        key = self.key_of(item) if isinstance(item, Event) else item
        if key is not _NO_KEY:
            self.release(key)

    def _end(self, group: _Group) -> None:
        if group.timer is not None:
            group.timer.dispose()
        self._hand(group)
        group.close()  # the buffer operator flushes its partial buffer
        if group.subscription is not None:
            group.subscription.dispose()

    def complete(self, error: Exception | None) -> None:
        if self.done:
            return
        groups = list(self.groups.values())
        self.groups.clear()
        for group in groups:  # oldest first
            self._end(group)
        self._finish(error)


class _RxChain(_Outputs):
    """The naive chain: RxPY's own ``buffer_with_count`` / ``buffer_with_time`` /
    ``buffer_with_time_or_count`` per group, on the raw scheduler. Only for
    :func:`unguarded` (the trap it documents); ``settle()`` must follow each input."""

    def __init__(
        self,
        op: TumblingWindow,
        observer: abc.ObserverBase[Event],
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        super().__init__(op, observer)
        self.scheduler = scheduler
        self.idle: list[_Group] = []
        buffer: Callable[[Observable[Event]], Observable[list[Event]]]
        if op.seconds is None:
            assert op.count is not None
            buffer = ops.buffer_with_count(op.count)
        elif op.count is None:
            buffer = ops.buffer_with_time(op.seconds, scheduler=scheduler)
        else:
            buffer = ops.buffer_with_time_or_count(op.seconds, op.count, scheduler=scheduler)
        self.buffered = Observable(self._attach).pipe(buffer)

    def _open(self, key: Hashable) -> _Group:
        group = _Group(key)
        self.groups[key] = group

        def on_window(events: list[Event]) -> None:
            if not events:  # a time window passed without events: forget the group
                self.idle.append(group)
            self._on_window(group, events)

        self.opening = group
        group.subscription = self.buffered.subscribe(on_window, self._on_error, scheduler=self.scheduler)
        self.opening = None
        return group

    def push(self, key: Hashable, event: Event) -> None:
        if self.done:
            return
        group = self.groups.get(key)
        if group is None:
            group = self._open(key)
        group.source.on_next(event)  # type: ignore[union-attr]

    def release(self, key: Hashable) -> None:
        group = self.groups.pop(key, None)
        if group is not None and not self.done:
            group.source.on_completed()  # type: ignore[union-attr]
            if group.subscription is not None:
                group.subscription.dispose()

    def complete(self, error: Exception | None) -> None:
        if self.done:
            return
        for key in list(self.groups):  # oldest first
            self.release(key)
        self._finish(error)

    def settle(self) -> None:
        """End the groups that the last input found idle (an empty time window)."""
        idle, self.idle = self.idle, []
        for group in idle:
            if self.groups.get(group.key) is group:
                self.release(group.key)


# ---- the guard: one owner at a time --------------------------------------------
_ITEM: Final = 0
_ACTION: Final = 1
_RELEASE: Final = 2
_COMPLETE: Final = 3
_ERROR: Final = 4


class _Guard:
    """One subscription: the chain and the single-owner queue in front of it.

    Ownership is a real OS lock taken with ``acquire(False)`` only (nobody ever
    waits on it): whoever gets it owns the chain and drains the queue; whoever
    does not appends its input, then tries again, so an input queued just as the
    owner lets go is not left behind (the owner, after letting go, checks the queue
    and tries again too).
    """

    def __init__(
        self,
        op: TumblingWindow,
        observer: abc.ObserverBase[Event],
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        self.queue: collections.deque[tuple[int, Any]] = collections.deque()
        self.lock = _allocate_lock()
        guarded = None if scheduler is None else GuardedScheduler(scheduler, self.on_action)
        self.chain = _Chain(op, observer, guarded)

    @property
    def live(self) -> int:
        return self.chain.live

    # ---- inputs (any greenlet, any thread) ----
    def on_next(self, event: Event) -> None:
        lock = self.lock
        if not lock.acquire(False):  # owned: queue it
            self._put(_ITEM, event)
            return
        if self.queue:  # leftovers of an owner that raised: keep the order
            self._put(_ITEM, event, owned=True)
            return
        try:  # the common case: this caller owns the chain
            self.chain.take(event)
        finally:
            lock.release()
        if self.queue:  # arrived while the downstream had yielded
            self._resume()
        if self.chain.raised is not None:
            self._reraise()

    def on_action(self, timer: _Timer, run: Callable[[], None]) -> None:
        self._put(_ACTION, (timer, run))

    def on_release(self, item: Any) -> None:
        self._put(_RELEASE, item)

    def on_completed(self) -> None:
        self._put(_COMPLETE, None)

    def on_error(self, error: Exception) -> None:
        self._put(_ERROR, error)

    def _put(self, tag: int, arg: Any, owned: bool = False) -> None:
        """Queue an input; if ``owned`` the caller holds the lock already."""
        self.queue.append((tag, arg))
        if owned or self.lock.acquire(False):
            self._run()

    def _resume(self) -> None:
        if self.lock.acquire(False):
            self._run()

    # ---- the owner ----
    def _run(self) -> None:
        """Drain the queue, holding the lock; let go of it when the queue is empty."""
        lock, queue = self.lock, self.queue
        while True:
            try:
                while queue:
                    tag, arg = queue.popleft()
                    self._handle(tag, arg)
            finally:
                lock.release()
            if not queue or not lock.acquire(False):
                return

    def _item(self, event: Event) -> None:
        """``_handle(_ITEM, event)`` without the dispatch."""
        self.chain.take(event)
        self._reraise()

    def _reraise(self) -> None:
        """The downstream raised: the caller who fed this input gets it."""
        raised = self.chain.raised
        if raised is not None:
            self.chain.raised = None
            raise raised

    def _handle(self, tag: int, arg: Any) -> None:
        chain = self.chain
        if tag == _ITEM:
            self._item(arg)
            return
        if tag == _ACTION:
            timer, run = arg
            if not timer.cancelled and not chain.done:
                run()
        elif tag == _RELEASE:
            chain.release_item(arg)
        else:
            chain.complete(arg if tag == _ERROR else None)
        raised = chain.raised
        if raised is not None:  # the downstream raised: the caller who fed this input gets it
            chain.raised = None
            raise raised

    def dispose(self) -> None:
        self.chain.dispose()


class _Unguarded:
    """The same chain fed directly, with the raw scheduler: what the guard prevents
    (only for tests and the documentation of the trap)."""

    def __init__(
        self, op: TumblingWindow, observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None
    ) -> None:
        self.key = op.key
        self.chain = _RxChain(op, observer, scheduler)

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


class TumblingWindow:
    """A tumbling-window Rx operator (see the module doc); build it with
    :func:`tumbling_count`, :func:`tumbling_time` or :func:`tumbling_count_or_time`.

    Calling it on an observable returns the observable of aggregates; it can be
    subscribed to many times (each subscription has its own windows).
    ``live_groups`` sums the groups of all live subscriptions.
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
        #: events handed to a group's RxPY buffer operator at a time (see the module doc)
        self.chunk = CHUNK
        self._guarded = True
        self._engines: WeakSet[_Guard | _Unguarded] = WeakSet()

    @property
    def live_groups(self) -> int:
        """Groups that exist (each with its buffer operator), over all live subscriptions."""
        return sum(e.live for e in list(self._engines))

    def __call__(self, source: Observable[Event]) -> Observable[Event]:
        def subscribe(
            observer: abc.ObserverBase[Event], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = None
            if self.seconds is not None:
                sched = self.scheduler or scheduler_ or default_scheduler()
            engine: _Guard | _Unguarded
            engine = _Guard(self, observer, sched) if self._guarded else _Unguarded(self, observer, sched)
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


def unguarded(op: TumblingWindow) -> TumblingWindow:
    """``op`` WITHOUT the guard: the naive chain (per-group sources -> RxPY's own
    ``buffer_with_count`` / ``buffer_with_time`` / ``buffer_with_time_or_count``),
    fed directly by the producers and timed by the raw scheduler. It loses items under gevent; it exists to show
    that (tests) and must not be used otherwise."""
    op._guarded = False
    return op


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
