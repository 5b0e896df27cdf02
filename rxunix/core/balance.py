"""Which worker takes the next connection: the rule of :mod:`rxunix.edge.balance`, without I/O.

Each worker of ``rxunix run --workers N`` publishes how many connections it
holds on a shared listening socket (:data:`ABSENT` while it does not accept: not
started yet, stopped, dead). A worker may accept while no present worker holds
fewer connections than it does; ties all may (the kernel gives the connection to
one of them)::

    >>> may_accept(2, [2, 3, ABSENT])   # nobody holds fewer
    True
    >>> may_accept(3, [2, 3, 5])        # worker 1 holds fewer: it takes the next one
    False
    >>> may_accept(4, [ABSENT, 4])      # an absent worker does not count
    True

So connections are spread evenly over the workers whatever order their loops
wake in, and a worker that comes back after a restart (0 connections) takes the
next ones until it has caught up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["ABSENT", "may_accept"]

#: A worker's count while it is not accepting on the socket.
ABSENT: Final = -1


def may_accept(mine: int, counts: Iterable[int]) -> bool:
    """True unless a present worker in ``counts`` holds fewer connections than ``mine``."""
    return all(c >= mine or c == ABSENT for c in counts)
