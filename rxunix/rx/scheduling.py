"""The default scheduler of the Rx layer's time-based operators, supplied from outside.

The Rx layer never builds a gevent (or any other I/O) scheduler itself: the
runtime installs a factory when :mod:`rxunix` is imported, and operators that
need time call :func:`default_scheduler` when they are subscribed without one::

    >>> from reactivex.testing import TestScheduler
    >>> previous = installed()
    >>> vt = TestScheduler()
    >>> set_default_scheduler(lambda: vt)
    >>> default_scheduler() is vt
    True
    >>> set_default_scheduler(previous)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reactivex import abc

__all__ = ["SchedulerFactory", "set_default_scheduler", "default_scheduler", "installed"]

#: A function returning the scheduler to use (called at each subscription that needs one).
SchedulerFactory = Callable[[], "abc.SchedulerBase"]

_factory: SchedulerFactory | None = None


def set_default_scheduler(factory: SchedulerFactory | None) -> None:
    """Install ``factory`` as the source of the default scheduler (``None`` removes it)."""
    global _factory
    if factory is not None and not callable(factory):
        raise TypeError(f"factory must be a callable returning a scheduler, got {factory!r}")
    _factory = factory


def installed() -> SchedulerFactory | None:
    """The factory installed now, or ``None``."""
    return _factory


def default_scheduler() -> abc.SchedulerBase:
    """The scheduler time-based operators use when given none.

    Raises ``RuntimeError`` when no factory is installed (``import rxunix``
    installs the gevent one; pass ``scheduler=`` to an operator otherwise).
    """
    if _factory is None:
        raise RuntimeError(
            "no default scheduler installed: import rxunix (it installs the gevent one) "
            "or pass scheduler= to the operator"
        )
    return _factory()
