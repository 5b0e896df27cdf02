"""Timers through the window's single-owner queue: :class:`GuardedScheduler`.

A window's timers must not run its chain directly (another input may own it, see
:mod:`.guard`), and a timer must never be cancelled by killing the greenlet
that runs it: ``GEventScheduler`` cancels by ``kill(block=False)``, and a fired
timer may be the one draining the queue, in the middle of a downstream write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from reactivex import abc, typing
from reactivex.scheduler.scheduler import Scheduler

__all__ = ["GuardedScheduler", "GuardedTimer", "Submit"]

_TState = TypeVar("_TState")


class GuardedTimer(abc.DisposableBase):
    """The handle of one action scheduled through a :class:`GuardedScheduler`.

    ``cancelled`` is set by :meth:`dispose`; a fired action still queued is then
    skipped. A timer that has fired is never cancelled on the inner scheduler.
    """

    __slots__ = ("inner", "fired", "cancelled")

    def __init__(self) -> None:
        self.inner: abc.DisposableBase | None = None
        self.fired = False
        self.cancelled = False

    def dispose(self) -> None:
        self.cancelled = True
        if not self.fired and self.inner is not None:
            self.inner.dispose()


#: ``submit(timer, run)``: queue ``run``; the queue calls it later unless ``timer.cancelled``.
Submit = Callable[[GuardedTimer, Callable[[], None]], None]


class GuardedScheduler(Scheduler):
    """A scheduler that takes its time from ``inner`` and runs every action it is
    given through ``submit`` (the window's single-owner queue) instead of directly::

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

    def __init__(self, inner: abc.SchedulerBase, submit: Submit) -> None:
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
        timer = GuardedTimer()

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
