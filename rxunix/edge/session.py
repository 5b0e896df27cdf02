"""The edge side of one client connection: its socket, its decoder, its two greenlets.

Every decision about what is written is the client's
:class:`~rxunix.core.outbox.Outbox`'s; a :class:`Session` only holds what the
gevent edge needs while one connection is up.
"""

from __future__ import annotations

import gevent
import gevent.event
from gevent import socket as gsocket

from ..core.address import sockaddr
from ..core.framing import Decoder

__all__ = ["CONNECT_TIMEOUT", "Session", "connect_stream"]

#: Seconds one connect attempt may take (a listener whose backlog is full).
CONNECT_TIMEOUT = 10.0


def connect_stream(path: str, timeout: float = CONNECT_TIMEOUT) -> gsocket.socket:
    """A connected stream socket to ``path`` (``@name``: abstract); raises ``OSError``."""
    sock = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr(path))
        sock.settimeout(None)
    except BaseException:  # a failed connect, or killed by stop(): do not leak the socket
        sock.close()
        raise
    return sock


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
