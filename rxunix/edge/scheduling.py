"""The gevent scheduler that the Rx layer's time-based operators use by default.

:func:`install` hands :func:`gevent_scheduler` to
:func:`rxunix.rx.scheduling.set_default_scheduler`; :mod:`rxunix.edge.runtime` calls
it on import, so ``import rxunix`` wires it::

    >>> import rxunix
    >>> from rxunix.rx.scheduling import default_scheduler
    >>> type(default_scheduler()).__name__
    'GEventScheduler'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent

from ..rx.scheduling import set_default_scheduler

if TYPE_CHECKING:
    from reactivex.scheduler.eventloop import GEventScheduler

__all__ = ["gevent_scheduler", "install"]

_scheduler: GEventScheduler | None = None


def gevent_scheduler() -> GEventScheduler:
    """The process's one ``GEventScheduler(gevent)`` (built on first use)."""
    global _scheduler
    if _scheduler is None:
        from reactivex.scheduler.eventloop import GEventScheduler  # reactivex on first use only

        _scheduler = GEventScheduler(gevent)
    return _scheduler


def install() -> None:
    """Make :func:`gevent_scheduler` the Rx layer's default scheduler."""
    set_default_scheduler(gevent_scheduler)
