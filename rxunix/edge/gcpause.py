"""A stream read's work (a server's or a client's) runs with CPython's cyclic garbage collector paused.

One 64 KiB read makes about a thousand container objects (decoded values, events,
window lists) that live until its replies are encoded and are then freed by
reference counting. The collector counts allocations, so without a pause it runs
in the middle of most reads: it walks those objects while they are alive and
moves them to older generations, where they soon make a *full* collection due,
which walks every object the process holds (about 30,000 once rxunix, reactivex
and gevent are imported). Paused for the read, the collector runs between reads,
when the read's objects are gone: it finds little to walk and promotes little.
Measured in ``docs/benchmarks-history.md`` ("The collector between reads").

A read shorter than :data:`MIN_BYTES` runs unpaused: it makes too few objects
for the collector to come due inside it, and a pause costs about two
microseconds (the loop callback below), a round trip's worth of reply latency.

:func:`set_gc_pause` turns the pause off (or back on) for the whole process, for a
program that manages the collector itself.

The pause never outlives a pass of the event loop: if the work blocks (a
subscriber waits, so the greenlet switches), the loop's next callback turns the
collector back on. A collector that was off already (the program turned it off)
is left off. A pause nested in another (a read inside a read) leaves the outer
one in charge.

    >>> import gc
    >>> pause = GcPause()
    >>> pause.run(lambda a, data: (a, len(data), gc.isenabled()), 1, bytes(MIN_BYTES))
    (1, 4096, False)
    >>> pause.run(lambda a, data: (a, len(data), gc.isenabled()), 1, b'{"a":1}')
    (1, 7, True)
    >>> gc.isenabled()
    True
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Final, TypeVar

import gevent

__all__ = ["GcPause", "MIN_BYTES", "held", "set_gc_pause"]

A = TypeVar("A")
R = TypeVar("R")

#: reads of at least this many bytes run with the collector paused
MIN_BYTES: Final = 4096

_isenabled, _disable, _enable = gc.isenabled, gc.disable, gc.enable


class _State:
    """The pause of this process (the collector is one per process)."""

    #: reads pause the collector (see :func:`set_gc_pause`)
    enabled = True
    #: this module turned the collector off and has not turned it back on
    held = False
    #: a loop callback that ends a pause is pending
    scheduled = False


class _Due:
    """One container object, made to let the collector run if it is due: CPython checks
    its thresholds when a container is allocated (lists, dicts and tuples often come
    from free lists and skip the check), and a read loop may allocate nothing else
    between two paused reads, so without it the collector could wait indefinitely."""

    __slots__ = ("_",)


def _resume() -> None:
    """End the pause (if there is one): the collector runs again, at once if it is due
    (it then finds the read's objects freed)."""
    if _State.held:
        _State.held = False
        _enable()
        _Due()


def _next_pass() -> None:
    """The loop's callback: a pause still held here outlived the work's synchronous run."""
    _State.scheduled = False
    _resume()


class GcPause:
    """Runs a read's work with the collector paused; one per reader (its hub's loop)."""

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop = gevent.get_hub().loop

    def run(self, fn: Callable[[A, bytes], R], a: A, data: bytes) -> R:
        """``fn(a, data)``, the work of the read ``data``, with the collector paused if
        the read has :data:`MIN_BYTES` or more (see the module doc); returns its result."""
        if len(data) < MIN_BYTES or _State.held or not _State.enabled or not _isenabled():
            return fn(a, data)  # small, nested, pausing turned off, or the collector is off
        _disable()
        _State.held = True
        if not _State.scheduled:  # ends the pause at the next loop pass if fn blocks
            _State.scheduled = True
            self._loop.run_callback(_next_pass)
        try:
            return fn(a, data)
        finally:
            _resume()


def set_gc_pause(enabled: bool) -> None:
    """Pause CPython's cyclic collector during each stream read of 4 KiB or more (the
    default, ``True``), or never (``False``), for every connector of this process; a
    pause in progress ends as usual. Example, for a program that runs the collector on
    its own schedule::

        >>> import rxunix
        >>> rxunix.set_gc_pause(False)
        >>> rxunix.set_gc_pause(True)
    """
    _State.enabled = bool(enabled)


def held() -> bool:
    """True while a pause is held (for tests and diagnostics)."""
    return _State.held

