"""The edge side of one client connection: its socket, its decoder, its two greenlets.

Every decision about what is written is the client's
:class:`~rxunix.core.outbox.Outbox`'s; a :class:`Session` only holds what the
gevent edge needs while one connection is up.
"""

from __future__ import annotations

import errno
import os
import socket
import time

import gevent
import gevent.event
from gevent import socket as gsocket

from ..core.address import sockaddr
from ..core.framing import Decoder

__all__ = ["CONNECT_TIMEOUT", "Session", "connect_stream"]

#: Seconds one connect attempt may take (a listener whose backlog is full).
CONNECT_TIMEOUT = 10.0


#: Seconds between two tries while the listener's backlog is full: a unix socket's
#: connect then fails at once (``EAGAIN``), and its socket is always writable, so
#: waiting for "writable" would try again at once, a whole CPU for the whole wait.
_FULL_BACKLOG_WAITS = (0.005, 0.01, 0.02, 0.05, 0.1)


def connect_stream(path: str, timeout: float = CONNECT_TIMEOUT) -> gsocket.socket:
    """A connected stream socket to ``path`` (``@name``: abstract); raises ``OSError``
    (``TimeoutError`` when a full backlog did not make room within ``timeout``)."""
    sock = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    try:
        _connect(getattr(sock, "_sock", sock), sockaddr(path), timeout)
    except BaseException:  # a failed connect, or killed by stop(): do not leak the socket
        sock.close()
        raise
    return sock


def _connect(raw: socket.socket, address: str | bytes, timeout: float) -> None:
    """Connect the non-blocking socket ``raw``, trying again a little later while the
    listener's backlog is full."""
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        err = raw.connect_ex(address)
        if err in (0, errno.EISCONN):
            return
        if err not in (errno.EAGAIN, errno.EINPROGRESS, errno.EALREADY):
            raise OSError(err, os.strerror(err))
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        gevent.sleep(min(_FULL_BACKLOG_WAITS[min(tries, len(_FULL_BACKLOG_WAITS) - 1)], left))
        tries += 1


class Session:
    """One live connection: its socket, its decoder and its two greenlets."""

    __slots__ = ("sock", "raw", "decoder", "lost", "closing", "eof", "reader", "writer", "writing")

    def __init__(self, sock: gsocket.socket, decoder: Decoder) -> None:
        self.sock = sock
        self.raw = getattr(sock, "_sock", sock)  # the non-blocking stdlib socket under gevent's
        self.decoder = decoder
        self.lost = gevent.event.Event()  # the connection is over (or being closed)
        self.closing = False  # we are closing it: errors are expected, not reported
        self.eof = False  # the peer's end of stream was read
        self.reader: gevent.Greenlet | None = None
        self.writer: gevent.Greenlet | None = None
        self.writing = False  # the writer greenlet is inside a blocking send
