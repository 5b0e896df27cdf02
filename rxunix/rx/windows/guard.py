"""The single-owner guard in front of a window chain.

Why a guard
-----------
RxPY's count/time buffer operators guard their state with ``source.lock`` (a
``threading.RLock``) or nothing. Without monkey-patching that lock belongs to the
OS thread, and every greenlet of the hub runs in that one thread, so it excludes
nothing between greenlets. When a window closes, the operator completes the
window's Subject; the aggregate travels downstream and the downstream yields (a
socket write, ``gevent.sleep``). Another greenlet (a reader, a timer) then calls
``on_next`` re-entrantly: the item goes into the Subject that was just completed
and is silently dropped, or (``window_with_count``) finds its window queue empty
and raises ``IndexError`` in the producer. ``ops.buffer(boundaries)``, which the
tumbling chain is built on, completes its window Subject the same way, and the
pure chains (sliding, session, event time) are not re-entrant either.
``tests/test_windows_gevent.py`` shows the unguarded chain losing items.

How it works
------------
The chain has a single owner at a time. Every input (item, release, completion,
error, and every timer action, through :class:`~.timers.GuardedScheduler`) is
appended to one queue; whoever finds no owner becomes the owner and drains the
queue, feeding the chain; an input that arrives while the owner is blocked
downstream is queued and fed, in order, when the downstream returns. Ownership
is a one-token list: taking the token (``list.pop``) and giving it back
(``list.append``) are each atomic, so producers never block, an input from
another OS thread is queued safely, and the common case (no owner, nothing
queued) costs one pop and one append. An exception raised by the downstream
reaches the caller that fed the input, after the chain has settled.

A batch of events (``on_next_batch``, the events of one read handed over by a
connector's ``out``) is fed under one taking of the token; inputs that arrive
while the downstream yields during the batch are fed after it, and the first
exception the downstream raised reaches the caller once the whole batch is in.
A lazy batch (values whose events were not built) goes to the chain as it is
when it is fed at once; a batch that has to wait in the queue is built first.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, Protocol

from reactivex import abc

from ...core.event import Event, built
from .timers import GuardedScheduler, GuardedTimer

__all__ = ["Chain", "ChainFactory", "Engine", "Guard"]


class Chain(Protocol):
    """What a guard drives: a window chain that is never entered re-entrantly.

    ``raised`` holds what the downstream raised (the guard re-raises it to the
    feeder); ``done`` is set once the chain has completed or been disposed.
    """

    done: bool
    raised: BaseException | None

    @property
    def live(self) -> int: ...

    def take(self, event: Event) -> None: ...

    def take_many(self, events: Sequence[Event]) -> None: ...

    def release_item(self, item: Any) -> None: ...

    def release(self, key: Hashable) -> None: ...

    def complete(self, error: Exception | None) -> None: ...

    def dispose(self) -> None: ...


class Engine(Protocol):
    """One subscription of a window operator: the inputs the operator feeds it."""

    @property
    def live(self) -> int: ...

    def on_next(self, event: Event) -> None: ...

    def on_release(self, item: Any) -> None: ...

    def on_completed(self) -> None: ...

    def on_error(self, error: Exception) -> None: ...

    def dispose(self) -> None: ...


#: Builds the chain of one subscription, given the (guarded) scheduler or ``None``.
ChainFactory = Callable[[abc.SchedulerBase | None], Chain]

_ITEM: Final = 0
_ACTION: Final = 1
_RELEASE: Final = 2
_COMPLETE: Final = 3
_ERROR: Final = 4


class Guard:
    """An :class:`Engine`: the chain ``build(scheduler)`` and the single-owner
    queue in front of it (see the module doc). ``scheduler`` (the real one, or
    ``None`` for windows without time) is wrapped in a :class:`GuardedScheduler`."""

    #: a lazy batch (:class:`~rxunix.core.event.EventBatch`) may be handed over unbuilt
    takes_values = True

    def __init__(self, build: ChainFactory, scheduler: abc.SchedulerBase | None) -> None:
        self.queue: collections.deque[tuple[int, Any]] = collections.deque()
        self.token: list[bool] = [True]  # present: nobody owns the chain
        guarded = None if scheduler is None else GuardedScheduler(scheduler, self.on_action)
        self.chain = build(guarded)

    @property
    def live(self) -> int:
        return self.chain.live

    # ---- inputs (any greenlet, any thread) ----
    def on_next(self, event: Event) -> None:
        token = self.token
        try:
            token.pop()
        except IndexError:  # owned: queue it
            self._put(_ITEM, event)
            return
        if self.queue:  # leftovers of an owner that raised: keep the order
            self._put(_ITEM, event, owned=True)
            return
        try:  # the common case: this caller owns the chain
            self.chain.take(event)
        finally:
            token.append(True)
        if self.queue:  # arrived while the downstream had yielded
            self._resume()
        self._reraise()

    def on_next_batch(self, events: Sequence[Event]) -> None:
        """``on_next`` of each event, in order, with one taking of the token (see the module doc)."""
        token = self.token
        try:
            token.pop()
        except IndexError:  # owned: queue them all, then take over if the owner has left meanwhile
            self.queue.extend(_items(events))
            if self._own():
                self._run()
            return
        if self.queue:  # leftovers of an owner that raised: keep the order
            self.queue.extend(_items(events))
            self._run()
            self._reraise()
            return
        try:
            self.chain.take_many(events)
        finally:
            token.append(True)
        if self.queue:  # arrived while the downstream had yielded
            self._resume()
        self._reraise()

    def on_action(self, timer: GuardedTimer, run: Callable[[], None]) -> None:
        self._put(_ACTION, (timer, run))

    def on_release(self, item: Any) -> None:
        self._put(_RELEASE, item)

    def on_completed(self) -> None:
        self._put(_COMPLETE, None)

    def on_error(self, error: Exception) -> None:
        self._put(_ERROR, error)

    def _own(self) -> bool:
        try:
            self.token.pop()
        except IndexError:
            return False
        return True

    def _put(self, tag: int, arg: Any, owned: bool = False) -> None:
        """Queue an input; if ``owned`` the caller holds the token already."""
        self.queue.append((tag, arg))
        if owned or self._own():
            self._run()

    def _resume(self) -> None:
        if self._own():
            self._run()

    # ---- the owner ----
    def _run(self) -> None:
        """Drain the queue, holding the token; give it back when the queue is empty."""
        token, queue = self.token, self.queue
        while True:
            try:
                while queue:
                    tag, arg = queue.popleft()
                    self._handle(tag, arg)
            finally:
                token.append(True)
            if not queue or not self._own():
                return

    def _reraise(self) -> None:
        """The downstream raised: the caller who fed this input gets it."""
        raised = self.chain.raised
        if raised is not None:
            self.chain.raised = None
            raise raised

    def _handle(self, tag: int, arg: Any) -> None:
        chain = self.chain
        if tag == _ITEM:
            chain.take(arg)
        elif tag == _ACTION:
            timer, run = arg
            if not timer.cancelled and not chain.done:
                run()
        elif tag == _RELEASE:
            chain.release_item(arg)
        else:
            chain.complete(arg if tag == _ERROR else None)
        self._reraise()

    def dispose(self) -> None:
        self.chain.dispose()


def _items(events: Sequence[Event]) -> list[tuple[int, Event]]:
    """Queue entries for a batch's events (a lazy batch is built first)."""
    return [(_ITEM, event) for event in built(events)]
