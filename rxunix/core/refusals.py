"""The sans-I/O core of reporting refused datagrams: every refusal counted, reports bounded.

A datagram server with ``allow_uids`` drops each datagram from any other uid
before decoding it. A refused sender may send thousands a second, so one
report per datagram would flood ``err``; none would lose them silently.
:class:`Refusals` decides when to report: a sender's first refusal at once,
then at most one report per ``interval`` seconds carrying how many of its
datagrams were refused since its last report. Every refusal is in exactly one
report: a sender that is forgotten (more than ``senders`` of them) hands its
unreported count over, and :meth:`Refusals.drain` gives what is left (at
stop). The core never sees a socket or a clock: the edge passes ``now``::

    >>> r = Refusals(interval=1.0, senders=2)
    >>> r.refuse("a", now=0.0)  # the first refusal of a sender: report it now
    [('a', 1)]
    >>> r.refuse("a", now=0.2), r.refuse("a", now=0.5)  # counted, not yet reported
    ([], [])
    >>> r.refuse("a", now=1.1)  # a second after its last report: the three since
    [('a', 3)]
    >>> r.refuse("a", now=1.5), r.refuse("b", now=1.5)
    ([], [('b', 1)])
    >>> r.refuse("c", now=1.6)  # a third sender: the least recent ("a") hands over its count
    [('a', 1), ('c', 1)]
    >>> r.refuse("b", now=1.7), r.drain()
    ([], [('b', 1)])
"""

from __future__ import annotations

from collections.abc import Hashable

__all__ = ["Refusals"]


class Refusals:
    """Refused datagrams per sender, reported at most once per ``interval`` seconds each.

    ``senders`` bounds how many senders are remembered (the least recently
    refused is forgotten first, its unreported count reported then).
    """

    __slots__ = ("interval", "senders", "_seen")

    def __init__(self, interval: float = 1.0, senders: int = 4096) -> None:
        if interval < 0 or senders < 1:
            raise ValueError("interval must be >= 0 and senders >= 1")
        self.interval = interval
        self.senders = senders
        # sender -> [time of its last report, refusals since]; the order is recency
        self._seen: dict[Hashable, list[float]] = {}

    def refuse(self, sender: Hashable, now: float) -> list[tuple[Hashable, int]]:
        """Count one refused datagram of ``sender``; the ``(sender, count)`` reports due now."""
        seen = self._seen
        entry = seen.pop(sender, None)
        due: list[tuple[Hashable, int]] = []
        if entry is None:
            if len(seen) >= self.senders:
                old = next(iter(seen))
                count = int(seen.pop(old)[1])
                if count:
                    due.append((old, count))
            seen[sender] = [now, 0.0]
            due.append((sender, 1))
            return due
        seen[sender] = entry
        entry[1] += 1
        if now - entry[0] >= self.interval:
            due.append((sender, int(entry[1])))
            entry[0], entry[1] = now, 0.0
        return due

    def drain(self) -> list[tuple[Hashable, int]]:
        """The refusals not yet reported, per sender; everything is forgotten."""
        due = [(sender, int(entry[1])) for sender, entry in self._seen.items() if entry[1]]
        self._seen.clear()
        return due
