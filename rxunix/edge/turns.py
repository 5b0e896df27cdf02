"""Readers take turns on the hub: a reader that keeps finding data yields.

gevent's ``recv()`` returns at once, without entering the event loop, while data is
pending, so a reader fed by a flooding peer would starve every other greenlet of
its hub (other connections, timers, signal handlers). After each read a reader
calls :meth:`Turns.took_turn`: once it has been reading for :data:`SLICE` seconds
without the event loop running in between, it waits for the loop's next pass (a
due timer: the loop polls without blocking and runs whatever became ready, then
this reader again). A reader whose reads wait for data rarely fills a slice and
pays nothing; a flooded one yields about every millisecond.

Why a due timer: ``gevent.sleep(0)`` may run the same greenlet again before the
loop polls for I/O (gevent's docs), so it does not give other connections a
turn; ``gevent.idle()`` after every read costs every round trip one more loop
pass, and an idle watcher only fires when the loop has nothing else to do, so a
busy hub could starve the reader. A due timer makes the loop poll without
blocking and run whatever became ready before this reader reads again.
Figures from a probe: ``docs/benchmarks-history.md`` ("Readers taking turns").

    >>> import time, gevent
    >>> turns = Turns()
    >>> turns.took_turn()  # the first read of a slice
    False
    >>> time.sleep(SLICE); turns.took_turn()  # a slice of reads without the loop
    True
    >>> gevent.sleep(0.001); turns.took_turn()  # the loop ran since: a new slice
    False
"""

from __future__ import annotations

from time import monotonic
from typing import Final

import gevent

__all__ = ["SLICE", "OncePerPass", "Turns"]

#: seconds a reader may keep reading without the event loop running
SLICE: Final = 0.001


def _next_pass() -> None:
    """Wait for the event loop's next pass: it polls without blocking (a timer is
    due), then runs this greenlet with whatever else became ready, however busy
    the loop is (an idle watcher would wait for the loop to have nothing else to do)."""
    hub = gevent.get_hub()
    hub.wait(hub.loop.timer(0.0))


class Turns:
    """One per reader greenlet (it belongs to that thread's hub). On a loop
    without an iteration count, every read yields."""

    __slots__ = ("_loop", "_seen", "_since")

    def __init__(self) -> None:
        loop = gevent.get_hub().loop
        self._loop = loop if hasattr(loop, "iteration") else None
        self._seen = -1
        self._since = 0.0

    def took_turn(self) -> bool:
        """Call after each read; yields to the hub at the end of a slice; True if it did."""
        loop = self._loop
        if loop is None:
            _next_pass()
            return True
        iteration = loop.iteration
        if iteration != self._seen:  # the loop ran since: a new slice
            self._seen = iteration
            self._since = monotonic()
            return False
        if monotonic() - self._since < SLICE:
            return False
        _next_pass()
        self._seen = loop.iteration
        self._since = monotonic()
        return True


class OncePerPass:
    """``first()`` is True for the first call in each pass of the calling thread's event
    loop (and always on a loop that does not count its passes); one per user.

        >>> once = OncePerPass()
        >>> once.first(), once.first()
        (True, False)
        >>> gevent.sleep(0.001); once.first()
        True
    """

    __slots__ = ("_loop", "_seen")

    def __init__(self) -> None:
        self._loop: object = None
        self._seen = -1

    def first(self) -> bool:
        loop = self._loop
        if loop is None:
            loop = self._loop = gevent.get_hub().loop
        iteration = getattr(loop, "iteration", None)
        if iteration is None:
            return True
        if iteration == self._seen:
            return False
        self._seen = iteration
        return True
