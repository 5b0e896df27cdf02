"""Session windows: one window per burst of a group's events.

Events sorted by time form sessions: a session goes on while the next event comes
less than ``gap`` seconds after the previous one and less than ``max_duration``
seconds after the session's first event; otherwise that event starts the next
session. A session closes when the watermark reaches
``min(last + gap, first + max_duration)``: no later event can join it then::

    >>> from rxunix.core.event import Event
    >>> g, out = SessionGroup("k", gap=5, max_duration=None), []
    >>> for t in (0, 3, 7, 20):
    ...     g.add(float(t), Event(t))
    >>> g.close(12.0, lambda evs: out.append([e.value for e in evs])); out, g.due
    ([[0, 3, 7]], 25.0)
"""

from __future__ import annotations

from collections.abc import Hashable

from ...core.event import Event
from .clock import INF
from .clocked import Emit, GroupBase

__all__ = ["SessionGroup"]


class SessionGroup(GroupBase):
    """One group's pending events; ``end`` is the index of the first session's last event."""

    __slots__ = ("gap", "max_duration", "end")

    def __init__(self, key: Hashable, gap: float, max_duration: float | None) -> None:
        super().__init__(key)
        self.gap = gap
        self.max_duration = INF if max_duration is None else max_duration
        self.end = -1

    def _joins(self, first: float, previous: float, t: float) -> bool:
        return t - previous < self.gap and t - first < self.max_duration

    def add(self, t: float, event: Event) -> None:
        ts = self.ts
        whole = self.end == len(ts) - 1  # the first session holds every pending event
        if self.insert(t, event) and len(ts) > 1:
            if whole and self._joins(ts[0], ts[-2], t):
                self.end += 1
                self.due = min(t + self.gap, ts[0] + self.max_duration)
            return  # appended after the first session: it is unchanged
        self._sweep()

    def _sweep(self) -> None:
        """Find the first session's end and due."""
        ts = self.ts
        if not ts:
            self.end, self.due = -1, INF
            return
        j = 0
        while j + 1 < len(ts) and self._joins(ts[0], ts[j], ts[j + 1]):
            j += 1
        self.end = j
        self.due = min(ts[j] + self.gap, ts[0] + self.max_duration)

    def close(self, watermark: float, emit: Emit) -> None:
        while self.ts and self.due <= watermark:
            n = self.end + 1
            emit(self.evs[:n])
            self.drop(n)
            self._sweep()
