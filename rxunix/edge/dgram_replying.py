"""The reply side of ``unix_datagram_server``: each reply's datagrams to its receivers.

A reply (an event pushed into ``in_``) goes to the sender address(es) in its
metadata (:func:`~rxunix.core.datagram.reply_route`), encoded into one datagram,
or one per frame of a postprocessor such as ``gelf-chunking``
(:class:`~rxunix.core.datagram.DatagramEncoder`). A datagram the receiver's full
queue refuses waits in that receiver's own queue
(:class:`~rxunix.core.dgram_replies.ReplyQueues`), so one receiver that does not
read delays only its own replies; the writer greenlet sends what waits. A reply
that cannot be (wholly) sent to a receiver is reported once, action ``write``,
with its value, and its other datagrams to that receiver are not sent.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from ..core.address import sockaddr
from ..core.datagram import reply_route
from ..core.dgram_replies import ReplyQueues
from ..core.errors import RxUnixError, UnroutableError
from ..core.event import Event
from ..core.lifecycle import ConnectorState
from .sockbuf import send_buffer_full
from .turns import Turns

__all__ = ["DatagramReplies", "UnroutableReply", "reply_path_problem"]


def reply_path_problem(addr: str, uid: int | None) -> str | None:
    """Why a reply may not go to the socket path ``addr`` of a sender whose uid is ``uid``;
    None when it may (an abstract name, or a path that is gone: the send then fails).

    The kernel resolves the path again when the reply is sent, following symlinks, with
    the server's rights and credentials: a sender could unlink the name it sent from and
    plant a symlink to a socket only the server may write to. So the path must still be a
    socket, not a symlink nor a second hard link, owned by the sender's uid (when its
    credentials are known: a datagram queued before the server asked for them has none).
    (A check, then a send: a sender able to swap the name in between could still race
    it; its directory is its own.)
    """
    if addr.startswith("@"):
        return None
    try:
        st = os.lstat(addr)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "the sender's address is a symlink now"
    if not stat.S_ISSOCK(st.st_mode):
        return "the sender's address is not a socket now"
    if st.st_nlink != 1:
        return "the sender's address is a hard link to a socket"
    if uid is not None and st.st_uid != uid:
        return f"the socket at the sender's address is owned by uid {st.st_uid}, not the sender's ({uid})"
    return None


class PendingReply:
    """One reply on its way to one receiver (its datagrams share it: reported once)."""

    __slots__ = ("event", "dropped")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.dropped = False


class UnroutableReply(UnroutableError):
    """A reply names no sender address this server can send to (or could not be sent there)."""


class DatagramReplies:
    """The reply side of a datagram server (a mixin: what it uses of the server is declared here)."""

    path: str
    stats: Any
    state: ConnectorState
    _error: Callable[..., None]
    _datagrams: Callable[[Any], list[bytes]]
    _replies: ReplyQueues
    _given_up: deque[tuple[str, str, PendingReply]]
    _wake: gevent.event.Event
    _raw: Any
    _stopping: bool
    _max_pending: int

    def _receive(self, event: Event) -> None:
        meta = event.meta
        r = reply_route(meta, self.path)
        if r.unbound or not r.targets:
            why = (f"{r.unbound} sender(s) of this reply are unbound (no address to answer)" if r.unbound
                   else "no sender address in meta['unix_datagram_server']")
            self._error(UnroutableReply(f"reply on {self.path}: {why}"), "route", None, meta, delivered=r.targets,
                        value=event.value)
        if not r.targets:
            return
        try:
            frames = self._datagrams(event.value)
        except RxUnixError as exc:
            self._error(exc, "encode", r.targets[0], meta, value=event.value)
            return
        for addr in r.targets:
            problem = reply_path_problem(addr, r.owners.get(addr))
            if problem is not None:  # (a path that is no longer the sender's own socket)
                self._error(UnroutableReply(f"reply to {addr} not sent: {problem}"), "route", addr, meta,
                            value=event.value)
                continue
            reply = PendingReply(event)
            for data in frames:
                if reply.dropped:
                    break  # (its other datagrams are of no use to the receiver)
                self._send(data, addr, reply)

    def _drop_reply(self, reply: PendingReply, addr: str, error: BaseException, **extra: Any) -> None:
        """Report a reply not (wholly) sent to ``addr``: once, however many of its datagrams failed."""
        if not reply.dropped:
            reply.dropped = True
            self._error(error, "write", addr, reply.event.meta, value=reply.event.value, **extra)

    def _send(self, data: bytes, addr: str, reply: PendingReply) -> None:
        if self._raw is None or self.state == "stopped":
            self._drop_reply(reply, addr, UnroutableReply(f"reply to {addr}: server not running"))
            return
        replies = self._replies
        if not replies.waiting(addr) and self._try_send(data, addr, reply):
            return
        if not replies.add(addr, data, reply):
            self._drop_reply(reply, addr, UnroutableReply(
                f"reply to {addr} dropped: {replies.pending} reply bytes already wait "
                f"> max_pending_bytes {self._max_pending}"), dropped_bytes=len(data))
            return
        self._wake.set()

    def _try_send(self, data: bytes, addr: str, reply: PendingReply) -> bool:
        """Send now without waiting: True if done (sent, or failed and reported), False if it would block."""
        try:
            self._raw.sendto(data, sockaddr(addr))
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ENOBUFS):
                return False
            self._drop_reply(reply, addr, exc, dropped_bytes=len(data))  # gone, too large
            return True
        self.stats["replies"] += 1
        self.stats["bytes_written"] += len(data)
        return True

    def _write_loop(self) -> None:
        """Send what waits, each receiver's replies in order; a receiver whose queue
        stays full holds up only its own replies (see :mod:`rxunix.core.dgram_replies`)."""
        replies = self._replies
        turns = Turns()
        pause = 0.001
        while True:
            if not replies:
                if self._stopping:
                    return
                self._wake.clear()
                self._wake.wait()
                pause = 0.001
                continue
            sent = 0
            for addr in replies.receivers():
                sent += self._send_waiting(addr, turns)
            if sent:
                pause = 0.001
            else:  # every receiver with replies waiting refuses them: give them time to read
                gevent.sleep(pause)
                pause = min(pause * 2, 0.05)

    def _report_given_up(self) -> None:
        """Report the replies given up, one at a time: a writer killed while an ``err``
        subscriber yields in a report leaves the rest for :meth:`_stop` (none twice, none missed)."""
        given_up = self._given_up
        while given_up:
            addr, why, dropped = given_up.popleft()
            self._drop_reply(dropped, addr, UnroutableReply(f"reply to {addr} dropped: {why}"))

    def _send_waiting(self, addr: str, turns: Turns) -> int:
        """Send ``addr``'s waiting replies until it refuses one; how many went."""
        replies, count = self._replies, 0
        while replies.waiting(addr):
            data, reply = replies.head(addr)
            if reply.dropped:  # another of its datagrams failed: this one is of no use
                replies.sent(addr)
                continue
            if not self._try_send(data, addr, reply):
                given_up = replies.refused(addr, time.monotonic())
                if given_up:
                    why = (f"the server's send buffer stayed full for {replies.block_timeout}s of replies that "
                           "their receivers have not read" if send_buffer_full(self._raw) else
                           f"its receive queue stayed full for {replies.block_timeout}s")
                    self._given_up.extend((addr, why, dropped) for _, dropped in given_up)
                    self._report_given_up()
                break
            replies.sent(addr)  # sent, or failed and reported
            count += 1
            turns.took_turn()
        return count
