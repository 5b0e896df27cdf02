"""Workers take turns accepting on a shared socket: the least-loaded one takes each connection.

The workers of ``rxunix run --workers N`` accept on one listening socket bound
by the supervisor. Left alone, whichever worker's loop wakes first takes a new
connection, and a burst lands unevenly (64 clients on 8 workers: from 0 to 19
connections a worker, measured), so a few workers do the work of all. With an
:class:`AcceptTable` (shared memory the supervisor allocates before it forks)
each worker publishes its count of open connections on each socket, and its
accept loop waits in :meth:`AcceptShare.wait_turn` for a connection to arrive,
then takes it (a non-blocking accept) if no worker holds fewer connections
(:func:`rxunix.core.balance.may_accept`), else checks again every
:data:`TURN_POLL` seconds while it waits. A connection is never left
waiting on a worker that does not accept: once one has waited :data:`STALL`
seconds in the backlog, any worker takes it. The supervisor marks a dead
worker absent; its replacement publishes 0 and takes the next connections::

    >>> table = AcceptTable(sockets=1, workers=2)
    >>> one, two = table.share(0, 1), table.share(0, 2)
    >>> one.publish(1); two.publish(0)
    >>> one.may_accept(), two.may_accept()
    (False, True)
    >>> table.retire(2); one.may_accept()   # worker 2 is gone
    True
"""

from __future__ import annotations

import mmap
from time import monotonic
from typing import Final

import gevent
from gevent.socket import wait_read

from ..core.balance import ABSENT, may_accept
from .limits import pending_connection

__all__ = ["AcceptShare", "AcceptTable", "STALL", "TURN_POLL"]

#: Seconds between a waiting worker's checks of the table.
TURN_POLL: Final = 0.005
#: Seconds a connection may wait in the backlog for the least-loaded worker before any worker takes it.
STALL: Final = 0.1
_SLOT: Final = 8  # bytes: one signed 64-bit count (written whole: one writer per slot)


class AcceptTable:
    """Open-connection counts of ``workers`` workers on each of ``sockets`` shared sockets.

    Lives in anonymous shared memory: made before the fork, seen by every worker.
    """

    def __init__(self, sockets: int, workers: int) -> None:
        self.sockets, self.workers = sockets, workers
        self._map = mmap.mmap(-1, max(1, sockets * workers) * _SLOT)
        self._counts = memoryview(self._map).cast("q")
        for i in range(sockets * workers):
            self._counts[i] = ABSENT

    def share(self, socket: int, worker: int) -> AcceptShare:
        """Worker ``worker``'s (1..N) view of socket ``socket``'s row."""
        if not 0 <= socket < self.sockets or not 1 <= worker <= self.workers:
            raise ValueError(f"no slot for socket {socket}, worker {worker}")
        row = self._counts[socket * self.workers:(socket + 1) * self.workers]
        return AcceptShare(row, worker - 1)

    def retire(self, worker: int) -> None:
        """Worker ``worker`` is gone: absent from every row."""
        for socket in range(self.sockets):
            self._counts[socket * self.workers + worker - 1] = ABSENT


class AcceptShare:
    """One worker's slot in one socket's row of an :class:`AcceptTable` (hub thread only)."""

    def __init__(self, row: memoryview, index: int) -> None:
        self._row, self._index = row, index

    def publish(self, count: int) -> None:
        """This worker holds ``count`` open connections on the socket (:data:`ABSENT`: not accepting)."""
        self._row[self._index] = count

    def may_accept(self) -> bool:
        """True unless another worker holds fewer connections than this one."""
        return may_accept(self._row[self._index], self._row.tolist())

    def wait_turn(self, listener_fd: int) -> None:
        """Return when a connection waits on ``listener_fd`` and this worker should take it.

        That is when no worker holds fewer connections, or when the connection
        has waited :data:`STALL` seconds. Another worker may take it first: the
        caller's non-blocking accept then finds none and calls again.
        """
        waiting_since = None
        while True:
            if not pending_connection(listener_fd):
                waiting_since = None
                wait_read(listener_fd)
            if self.may_accept():
                return
            now = monotonic()
            if waiting_since is None:
                waiting_since = now
            elif now - waiting_since >= STALL:
                return
            gevent.sleep(TURN_POLL)
