"""What makes an observer a *batch observer*: it also takes a whole batch of events in
one call (``on_next_batch``), as a connector's ``in_`` does.

Sources that can hand over batches (a connector's ``out``, a window's aggregates)
keep such an observer as it is instead of wrapping it, so a batch reaches it whole::

    >>> class Sink:
    ...     def on_next(self, e): ...
    ...     def on_next_batch(self, es): ...
    ...     def on_error(self, err): ...
    ...     def on_completed(self): ...
    >>> takes_batches(Sink()), takes_batches(print)
    (True, False)
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

__all__ = ["BatchObservable", "takes_batches"]

_METHODS = ("on_next", "on_next_batch", "on_error", "on_completed")


def takes_batches(observer: Any) -> bool:
    """True for an observer with ``on_next_batch`` beside the three observer methods."""
    return all(callable(getattr(observer, name, None)) for name in _METHODS)


class BatchObservable(Observable[Any]):
    """An ordinary Rx observable, except that an observer which also takes batches
    is subscribed as it is (not wrapped in RxPY's auto-detach observer), so the
    batches its source hands over reach it whole; every other subscriber gets
    ordinary per-event Rx."""

    def subscribe(self, on_next: Any = None, on_error: Any = None, on_completed: Any = None, *,
                  scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        if on_error is None and on_completed is None and takes_batches(on_next):
            return self._subscribe_core(on_next, scheduler)
        return super().subscribe(on_next, on_error, on_completed, scheduler=scheduler)
