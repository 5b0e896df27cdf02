"""Windows over events, lossless under gevent; their aggregates reply to every
contributing connection. Full reference: ``docs/windows.md``.

Each factory returns an ordinary Rx operator (``Observable[Event] ->
Observable[Event]``, usable in ``pipe``):

* :func:`tumbling_count` ``(n)``: a window closes after ``n`` events
  (like ``ops.buffer_with_count``);
* :func:`tumbling_time` ``(seconds)``: a window closes ``seconds`` after its first
  event (like ``ops.buffer_with_time``);
* :func:`tumbling_count_or_time` ``(n, seconds)``: whichever comes first
  (like ``ops.buffer_with_time_or_count``).

Each closed window becomes ONE event: its value is the list of the window's values
(or ``reduce(values)``), its metadata is :func:`rxunix.core.origin.merge_origins` of the
window's events, so pushed into a server's ``in_`` it reaches each contributing
connection exactly once::

    >>> import reactivex as rx
    >>> from rxunix.core.event import Event
    >>> evs = [Event(i, {"unix_socket_server": {"path": "/s", "peer": i % 2}}) for i in range(5)]
    >>> out = []
    >>> _ = rx.from_iterable(evs).pipe(tumbling_count(2)).subscribe(out.append)
    >>> [(e.value, [r["peer"] for r in e.meta["unix_socket_server"]]) for e in out]
    [([0, 1], [0, 1]), ([2, 3], [0, 1]), ([4], [0])]

Semantics
---------
* Empty windows emit nothing. A tumbling group's first window opens with its first
  event; after that windows are cut back to back (``buffer_with_time`` every
  ``seconds``; ``buffer_with_time_or_count`` restarts the period whenever ``n``
  events close a window early). A window that passes empty ends the group; the
  next event opens a new group, aligned to itself.
* A window closes when its timer action runs: an event handled before that, at the
  same virtual instant or because the hub was busy and the timer late, still joins
  the closing window.
* Count-only windows have no timer, so their groups live until released or until
  the source completes: with a key per connection, pass ``release``.
* ``key=fn``: one window per group ``fn(event)``; :func:`connection_key` groups by
  originating connection. Aggregates are emitted when they close, so groups
  interleave in the output; within a group, order is kept.
* ``release=observable``: each item names a group to release (a key, or an
  :class:`~rxunix.core.event.Event` mapped through ``key``); its open window is flushed
  at once and the group forgotten (e.g. ``release=server.closed`` with
  ``key=connection_key``). ``op.live_groups`` counts the groups that exist.
* Completion flushes every open window (oldest group first), then completes. A
  source error also flushes first (nothing is lost), then is passed on.
* A failing reducer or key function never ends the stream: it becomes an
  :class:`~rxunix.core.event.ErrorEvent` (``action="reduce"`` / ``"key"``), emitted in
  line or, with ``errors=observer`` (or a callable), sent there.
* Time runs on ``scheduler``, else the subscriber's scheduler, else the default
  one that the runtime installs (:func:`set_default_scheduler`; ``import rxunix``
  installs gevent's); with ``reactivex.testing.TestScheduler`` boundaries are
  exact in virtual time.
* An exception raised by the downstream observer reaches the caller that fed the
  event, after the chain has finished handling it.

Every chain runs behind the single-owner guard of :mod:`.guard` (why RxPY's
buffer operators need it is explained there); timers reach it through
:class:`GuardedScheduler`.
"""

from ..scheduling import default_scheduler, set_default_scheduler
from .aggregated import aggregated
from .clock import EventTime
from .factories import (
    session_window,
    sliding_count,
    sliding_time,
    tumbling_count,
    tumbling_count_or_time,
    tumbling_time,
)
from .guard import Chain, Engine, Guard
from .keys import ErrorSink, EventSink, KeyFn, Reducer, Seconds, connection_key
from .kinds import ClockedWindow, GridWindow, SessionWindow, SlidingCountWindow
from .operator import EngineFactory, TumblingWindow, Window, guarded
from .outputs import MANY_GROUPS, ManyGroupsWarning, Outputs
from .timers import GuardedScheduler, GuardedTimer
from .tumbling import CHUNK

__all__ = [
    "CHUNK",
    "Chain",
    "ClockedWindow",
    "Engine",
    "EngineFactory",
    "ErrorSink",
    "EventSink",
    "EventTime",
    "GridWindow",
    "Guard",
    "GuardedScheduler",
    "GuardedTimer",
    "KeyFn",
    "MANY_GROUPS",
    "ManyGroupsWarning",
    "Outputs",
    "Reducer",
    "Seconds",
    "SessionWindow",
    "SlidingCountWindow",
    "TumblingWindow",
    "Window",
    "aggregated",
    "connection_key",
    "default_scheduler",
    "guarded",
    "session_window",
    "set_default_scheduler",
    "sliding_count",
    "sliding_time",
    "tumbling_count",
    "tumbling_count_or_time",
    "tumbling_time",
]
