"""The pure state of tumbling windows: no Rx, no gevent, no clock of its own.

A :class:`WindowCore` holds the open windows, one per group key. It is driven by
four inputs and answers with what closed; the caller (``windows.py``) owns the
timers, the clock and the emission::

    >>> core = WindowCore(count=2, span=10)
    >>> core.add("a", 1, now=0)      # opens window 1 of group "a": arm its timer
    (1, None, None)
    >>> core.add("a", 2, now=3)      # count reached: closed
    (None, None, [1, 2])
    >>> core.add("a", 3, now=4), core.expire("a", 1)   # a stale timer closes nothing
    ((2, None, None), None)
    >>> core.add("a", 4, now=14)     # at the deadline (4 + 10): the old window is over
    (3, [3], None)
    >>> core.expire("a", 3), core.live
    ([4], 0)

A window exists only while it holds at least one item, so empty windows never
exist, an idle group costs nothing, and ``live`` is the number of groups with an
open window. A timed window covers ``[now of its first item, that + span)``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

__all__ = ["WindowCore"]

T = TypeVar("T")


class _Open(Generic[T]):
    __slots__ = ("items", "gen", "deadline")

    def __init__(self, gen: int, first: T, deadline: Any) -> None:
        self.gen = gen
        self.items: list[T] = [first]
        self.deadline = deadline


class WindowCore(Generic[T]):
    """Open tumbling windows per key; ``count=None`` means no count limit,
    ``span=None`` no time limit (``span`` is added to the ``now`` given to :meth:`add`).
    """

    __slots__ = ("count", "span", "_open", "_gen")

    def __init__(self, count: int | None = None, span: Any = None) -> None:
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        self.count = count
        self.span = span
        self._open: dict[Hashable, _Open[T]] = {}
        self._gen = 0

    @property
    def live(self) -> int:
        """Number of groups with an open (non-empty) window."""
        return len(self._open)

    def add(
        self, key: Hashable, item: T, now: Any = None
    ) -> tuple[int | None, list[T] | None, list[T] | None]:
        """Add ``item``, arrived at ``now``, to ``key``'s window.

        Returns ``(arm, expired, closed)``: ``arm`` is the generation of a newly
        opened timed window (the caller schedules ``expire(key, arm)`` after
        ``span``); ``expired`` the items of the previous window if its deadline had
        passed before its timer ran; ``closed`` the items of the window this item
        filled up. When ``expired`` or ``closed`` is set, the caller cancels the
        key's old timer.
        """
        expired = None
        w = self._open.get(key)
        if w is not None and w.deadline is not None and now is not None and now >= w.deadline:
            del self._open[key]
            expired = w.items
            w = None
        if w is None:
            if self.count == 1:
                return None, expired, [item]
            self._gen += 1
            timed = self.span is not None
            deadline = now + self.span if timed and now is not None else None
            self._open[key] = _Open(self._gen, item, deadline)
            return (self._gen if timed else None), expired, None
        w.items.append(item)
        if self.count is not None and len(w.items) >= self.count:
            del self._open[key]
            return None, None, w.items
        return None, None, None

    def expire(self, key: Hashable, gen: int) -> list[T] | None:
        """The timer of window ``gen`` of ``key`` fired: its items, or None if stale."""
        w = self._open.get(key)
        if w is None or w.gen != gen:
            return None
        del self._open[key]
        return w.items

    def release(self, key: Hashable) -> list[T] | None:
        """Forget ``key``: the items of its open window (to flush), if any."""
        w = self._open.pop(key, None)
        return None if w is None else w.items

    def flush(self) -> list[tuple[Hashable, list[T]]]:
        """Close every open window, oldest first."""
        out = [(k, w.items) for k, w in self._open.items()]
        self._open.clear()
        return out
