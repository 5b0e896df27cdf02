"""A stream connection's kernel send buffer: the ``send_buffer_bytes`` config key.

On a unix stream socket the *sender's* send buffer bounds the bytes in flight to
the peer (the peer's receive buffer plays no part, unlike TCP). Bytes the kernel
has not taken stay in the connector's own queue, and a writer that filled the
buffer waits until the peer reads. The default (``net.core.wmem_default``, about
208 KiB on Linux) is smaller than what one read's replies can be when a chain
replies more than it reads (a sliding window replying every window whole writes
each event ten times): the writer then waits on the reader several times per read.
A larger buffer lets a read's replies go to the kernel at once.

Linux doubles the value asked for (room for its bookkeeping, as ``socket(7)``
says) and caps what an unprivileged process may ask at ``net.core.wmem_max``;
:func:`check_send_buffer` refuses a request the kernel would cap, so a
configuration never silently gets less than it says::

    >>> from gevent import socket
    >>> a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    >>> set_send_buffer(a, 65536) >= 65536
    True
    >>> check_send_buffer("unix_socket_server", 2**31 - 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rxunix.ConfigError: unix_socket_server config: 'send_buffer_bytes' (2147483647) is more than the ...
    >>> a.close(); b.close()
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from ..core.errors import ConfigError

__all__ = ["check_send_buffer", "set_send_buffer"]

#: what ``getsockopt(SO_SNDBUF)`` reports per byte asked for (Linux doubles it)
_REPORTED_PER_BYTE = 2 if sys.platform.startswith("linux") else 1


def set_send_buffer(sock: Any, size: int) -> int:
    """Ask the kernel for a send buffer of ``size`` bytes on ``sock``; returns the bytes it
    grants (what ``getsockopt`` reports, divided by Linux's doubling)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)) // _REPORTED_PER_BYTE


def check_send_buffer(kind: str, size: int | None) -> None:
    """Raise :class:`~rxunix.core.errors.ConfigError` if the kernel would grant a stream
    socket less than ``size`` bytes of send buffer (``None``: the kernel's default, nothing
    to check). Tried on a fresh socket, which is closed again."""
    if size is None:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        granted = set_send_buffer(probe, size)
    except OSError as exc:  # e.g. a value the platform refuses outright
        raise ConfigError(f"{kind} config: 'send_buffer_bytes' ({size}) refused by the kernel: {exc}") from None
    finally:
        probe.close()
    if granted < size:
        raise ConfigError(f"{kind} config: 'send_buffer_bytes' ({size}) is more than the kernel allows this "
                          f"process ({granted} bytes; on Linux net.core.wmem_max)")
