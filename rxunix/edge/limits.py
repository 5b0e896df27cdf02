"""``max_connections``: a server at its limit stops accepting until a connection closes.

Connections that arrive meanwhile wait in the listen backlog (their
``connect()`` has returned; the server reads them once accepted). The server
reports one notice on ``err`` (action ``"limit"``) each time it is at the limit
while a connection waits, not one per waiting connection::

    limit = ConnectionLimit(3)
    # accept loop:   limit.wait_for_room(lambda: len(conns), listener.fileno(), notice)
    # on close:      limit.freed()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import gevent.event
from gevent import monkey

__all__ = ["ConnectionLimit", "PENDING_POLL", "pending_connection"]

_poll = monkey.get_original("select", "poll")
_POLLIN: Final = 0x001
#: Seconds between checks whether a connection waits while the server is at its limit.
PENDING_POLL: Final = 0.05


def pending_connection(fd: int) -> bool:
    """True if a connection waits in the backlog of listening socket ``fd``."""
    p = _poll()
    try:
        p.register(fd, _POLLIN)
        return bool(p.poll(0))
    except (OSError, ValueError):
        return False


class ConnectionLimit:
    """Holds an accept loop while ``count()`` is at ``limit`` (None: unlimited). Hub thread only."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        #: How many times the server paused with a connection waiting.
        self.pauses = 0
        self._freed = gevent.event.Event()

    def wait_for_room(self, count: Callable[[], int], listener_fd: int, notice: Callable[[int], None]) -> None:
        """Return once ``count() < limit``; call ``notice(limit)`` once if a connection waits meanwhile."""
        limit = self.limit
        if limit is None or count() < limit:
            return
        noticed = False
        while count() >= limit:
            if not noticed and pending_connection(listener_fd):
                noticed = True
                self.pauses += 1
                notice(limit)
            self._freed.clear()
            self._freed.wait(None if noticed else PENDING_POLL)

    def freed(self) -> None:
        """A connection closed: wake a waiting accept loop."""
        self._freed.set()
