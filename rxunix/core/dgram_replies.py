"""The sans-I/O core of a datagram server's replies: one queue per receiver.

A datagram reply goes to one receiver's address. When that receiver's socket
queue is full the kernel refuses it (``EAGAIN``) until the receiver reads, so
the server keeps the reply and tries again. :class:`ReplyQueues` keeps those
replies **per receiver**: a receiver that stops reading holds up its own
replies only, never anyone else's, and each receiver's replies are sent in the
order they were queued.

A receiver whose first waiting reply has been refused for ``block_timeout``
seconds is taken as not reading: every reply waiting for it is handed back to
be reported (:meth:`ReplyQueues.refused`), and its next reply starts afresh.
``pending`` (the bytes waiting) never exceeds ``max_pending``: :meth:`add`
refuses a reply that would exceed it. The core never sees a socket or a clock:
the edge passes ``now``::

    >>> q = ReplyQueues(max_pending=100, block_timeout=2.0)
    >>> q.add("/a", b"1", None), q.add("/a", b"2", None), q.add("/b", b"3", None)
    (True, True, True)
    >>> q.waiting("/a"), q.waiting("/c"), q.pending, len(q)
    (True, False, 3, 3)
    >>> q.receivers(), q.head("/a")  # receivers with replies waiting; /a's first one
    (['/a', '/b'], (b'1', None))
    >>> q.refused("/a", now=10.0)  # /a's queue is full: its replies wait
    []
    >>> q.sent("/b"); q.refused("/a", now=12.0)  # 2 s later /a still refuses
    [(b'1', None), (b'2', None)]
    >>> len(q), q.pending, q.add("/a", b"x" * 101, None)
    (0, 0, False)
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["ReplyQueues"]


class ReplyQueues:
    """Replies waiting for their receivers, a FIFO per receiver, bounded in bytes.

    ``max_pending`` bounds the bytes of all waiting replies; ``block_timeout``
    is how long (seconds) a receiver may refuse its first waiting reply before
    all its waiting replies are given up.
    """

    __slots__ = ("max_pending", "block_timeout", "pending", "_queues", "_refused_since", "_count")

    def __init__(self, max_pending: int, block_timeout: float) -> None:
        if max_pending <= 0 or block_timeout < 0:
            raise ValueError("max_pending must be > 0 and block_timeout >= 0")
        self.max_pending = max_pending
        self.block_timeout = block_timeout
        #: bytes of the replies waiting
        self.pending = 0
        self._queues: dict[str, deque[tuple[bytes, Any]]] = {}
        self._refused_since: dict[str, float] = {}
        self._count = 0

    def __len__(self) -> int:
        """How many replies wait, for all receivers together."""
        return self._count

    def waiting(self, receiver: str) -> bool:
        """True if replies wait for ``receiver``: a new one must queue behind them."""
        return receiver in self._queues

    def add(self, receiver: str, data: bytes, tag: Any) -> bool:
        """Queue ``data`` for ``receiver`` (``tag`` travels with it); False, and
        nothing queued, if it would take ``pending`` above ``max_pending``."""
        if self.pending + len(data) > self.max_pending:
            return False
        q = self._queues.get(receiver)
        if q is None:
            q = self._queues[receiver] = deque()
        q.append((data, tag))
        self.pending += len(data)
        self._count += 1
        return True

    def receivers(self) -> list[str]:
        """The receivers with replies waiting, in the order they began waiting."""
        return list(self._queues)

    def head(self, receiver: str) -> tuple[bytes, Any]:
        """``receiver``'s first waiting reply and its tag (KeyError if none waits)."""
        return self._queues[receiver][0]

    def sent(self, receiver: str) -> None:
        """``receiver``'s first waiting reply is done with (the kernel took it, or
        its failure was reported): drop it; the receiver is reading again."""
        q = self._queues[receiver]
        data, _ = q.popleft()
        self.pending -= len(data)
        self._count -= 1
        self._refused_since.pop(receiver, None)
        if not q:
            del self._queues[receiver]

    def refused(self, receiver: str, now: float) -> list[tuple[bytes, Any]]:
        """The kernel refused ``receiver``'s first waiting reply at ``now``. Returns
        ``[]`` while it has refused for less than ``block_timeout``; after that,
        every reply waiting for ``receiver``, removed (the edge reports them)."""
        since = self._refused_since.setdefault(receiver, now)
        if now - since < self.block_timeout:
            return []
        return self._give_up(receiver)

    def clear(self) -> list[tuple[str, bytes, Any]]:
        """Remove and return every waiting reply (at stop: the edge reports them)."""
        left = [(r, data, tag) for r, q in self._queues.items() for data, tag in q]
        self._queues.clear()
        self._refused_since.clear()
        self.pending = self._count = 0
        return left

    def _give_up(self, receiver: str) -> list[tuple[bytes, Any]]:
        q = self._queues.pop(receiver)
        self._refused_since.pop(receiver, None)
        self.pending -= sum(len(data) for data, _ in q)
        self._count -= len(q)
        return list(q)
