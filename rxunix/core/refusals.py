"""The sans-I/O core of reporting refused datagrams: every refusal counted, reports bounded.

A datagram server with ``allow_uids`` drops each datagram from any other uid
before decoding it. A refused process may send thousands a second, from a new
socket each time, so one report per datagram would flood ``err``; none would
lose them silently. :class:`Refusals` decides when to report, per sender (the
edge keys senders by their credentials, which a new socket does not change):
a sender's first refusal at once, then at most one report per ``interval``
seconds carrying how many of its datagrams were refused since its last
report, with the latest ``detail`` (e.g. the socket address it sent from).
Every refusal is in exactly one report: :meth:`Refusals.due` gives the counts
whose interval has passed (the edge asks on a timer, so a burst that ends is
reported without waiting for the sender to send again), a sender that is
forgotten (more than ``senders`` of them) hands its unreported count over, and
:meth:`Refusals.drain` gives what is left (at stop). The core never sees a
socket or a clock: the edge passes ``now``::

    >>> r = Refusals(interval=1.0, senders=2)
    >>> r.refuse("a", now=0.0, detail="/s1")  # the first refusal of a sender: report it now
    [('a', 1, '/s1')]
    >>> r.refuse("a", 0.2, "/s2"), r.refuse("a", 0.5, "/s3"), r.pending  # counted, not yet reported
    ([], [], True)
    >>> r.due(now=0.9), r.due(now=1.0)  # a second after its last report: the two since
    ([], [('a', 2, '/s3')])
    >>> r.refuse("a", 1.5), r.refuse("b", 1.5)
    ([], [('b', 1, None)])
    >>> r.refuse("c", 1.6)  # a third sender: the least recent ("a") hands over its count
    [('a', 1, None), ('c', 1, None)]
    >>> r.refuse("b", 1.7), r.drain(), r.pending
    ([], [('b', 1, None)], False)
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

__all__ = ["Refusals"]

Report = tuple[Hashable, int, Any]


class Refusals:
    """Refused datagrams per sender, reported at most once per ``interval`` seconds each.

    ``senders`` bounds how many senders are remembered (the least recently
    refused is forgotten first, its unreported count reported then).
    """

    __slots__ = ("interval", "senders", "_seen", "_unreported")

    def __init__(self, interval: float = 1.0, senders: int = 4096) -> None:
        if interval < 0 or senders < 1:
            raise ValueError("interval must be >= 0 and senders >= 1")
        self.interval = interval
        self.senders = senders
        # sender -> [time of its last report, refusals since, latest detail]; the order is recency
        self._seen: dict[Hashable, list[Any]] = {}
        self._unreported = 0

    @property
    def pending(self) -> bool:
        """True while some refusals are not reported yet."""
        return self._unreported > 0

    def refuse(self, sender: Hashable, now: float, detail: Any = None) -> list[Report]:
        """Count one refused datagram of ``sender``; the ``(sender, count, detail)`` reports due now."""
        seen = self._seen
        entry = seen.pop(sender, None)
        due: list[Report] = []
        if entry is None:
            if len(seen) >= self.senders:
                old = next(iter(seen))
                _, count, old_detail = seen.pop(old)
                if count:
                    self._unreported -= count
                    due.append((old, count, old_detail))
            seen[sender] = [now, 0, detail]
            due.append((sender, 1, detail))
            return due
        seen[sender] = entry
        entry[1] += 1
        entry[2] = detail
        self._unreported += 1
        if now - entry[0] >= self.interval:
            due.append(self._report(sender, entry, now))
        return due

    def due(self, now: float) -> list[Report]:
        """The unreported counts of senders whose last report is ``interval`` old."""
        if not self._unreported:
            return []
        return [self._report(sender, entry, now) for sender, entry in self._seen.items()
                if entry[1] and now - entry[0] >= self.interval]

    def drain(self) -> list[Report]:
        """The refusals not yet reported, per sender; everything is forgotten."""
        due = [(sender, entry[1], entry[2]) for sender, entry in self._seen.items() if entry[1]]
        self._seen.clear()
        self._unreported = 0
        return due

    def _report(self, sender: Hashable, entry: list[Any], now: float) -> Report:
        count = entry[1]
        self._unreported -= count
        entry[0], entry[1] = now, 0
        return (sender, count, entry[2])
