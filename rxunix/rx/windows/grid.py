"""Windows on a fixed time grid: sliding (``size``, ``step``) and tumbling (``step == size``).

Window ``k`` covers ``[k * step, k * step + size)`` (half-open) on the chain's
clock. In processing time that is seconds since the subscription and ``k >= 0``
(RxPY's ``buffer_with_time(timespan, timeshift)`` grid: no window starts before
the subscription); in event time it is the event time's own zero, any ``k``. An
event belongs to every window that covers it; with ``size`` a multiple of
``step`` (and, in processing time, past the first ``size`` seconds) that is
exactly ``size / step`` windows::

    >>> grid = Grid(size=10, step=5)
    >>> grid.first(12.0), grid.bounds(1), grid.bounds(2)
    (1, (5.0, 15.0), (10.0, 20.0))
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable

from ...core.event import Event
from .clock import INF
from .clocked import Emit, GroupBase

__all__ = ["Grid", "GridGroup"]


class Grid:
    """The window grid: ``size`` and ``step`` in seconds (``0 < step <= size``);
    ``lowest``: the first window index, if any.

    When ``size`` is a whole number ``n`` of steps, window ``k`` ends exactly where
    window ``k + n`` starts (both are ``(k + n) * step``): ``k * step + size`` would
    round differently (``5 * 0.1 + 0.1 != 6 * 0.1``), and an event on such a
    boundary would fall into no tumbling window, or into ``n + 1`` sliding ones::

        >>> Grid(0.1, 0.1).bounds(5)[1] == Grid(0.1, 0.1).bounds(6)[0]
        True
    """

    __slots__ = ("size", "step", "lowest", "_steps")

    def __init__(self, size: float, step: float, lowest: int | None = None) -> None:
        self.size = float(size)
        self.step = float(step)
        self.lowest = lowest
        n = round(self.size / self.step)
        #: ``size`` in steps when it is a whole number of them (else None)
        self._steps: int | None = n if n >= 1 and math.isclose(n * self.step, self.size, rel_tol=1e-9) else None

    def bounds(self, k: int) -> tuple[float, float]:
        start = k * self.step
        steps = self._steps
        return start, (k + steps) * self.step if steps is not None else start + self.size

    def first(self, t: float) -> int:
        """The index of the first (earliest) window that covers ``t``."""
        k = math.floor((t - self.size) / self.step) + 1
        while self.bounds(k)[1] <= t:  # guard against rounding
            k += 1
        while self.bounds(k - 1)[1] > t:
            k -= 1
        return k if self.lowest is None else max(k, self.lowest)


class GridGroup(GroupBase):
    """One group's pending events; ``k`` is the next window to close."""

    __slots__ = ("grid", "k")

    def __init__(self, key: Hashable, grid: Grid) -> None:
        super().__init__(key)
        self.grid = grid
        self.k = 0

    def add(self, t: float, event: Event) -> None:
        k = self.grid.first(t)
        if not self.ts or k < self.k:
            self.k = k
            self.due = self.grid.bounds(k)[1]
        self.insert(t, event)

    def close(self, watermark: float, emit: Emit) -> None:
        grid, ts = self.grid, self.ts
        while ts:
            start, end = grid.bounds(self.k)
            if end > watermark:
                break
            lo, hi = bisect.bisect_left(ts, start), bisect.bisect_left(ts, end)
            if hi > lo:
                emit(self.evs[lo:hi])
            self.k += 1
            self.drop(bisect.bisect_left(ts, grid.bounds(self.k)[0]))  # in no later window
            if ts:
                self.k = max(self.k, grid.first(ts[0]))
        self.due = grid.bounds(self.k)[1] if ts else INF
