"""A stream connection's kernel send buffer: the ``send_buffer_bytes`` config key.

On a unix stream socket the *sender's* send buffer bounds the bytes in flight to
the peer (the peer's receive buffer plays no part, unlike TCP). Bytes the kernel
has not taken stay in the connector's own queue, and a writer that filled the
buffer waits until the peer reads. The default holds about 228 KB of large writes
on Linux, less than one read's replies when a chain replies much more than it reads
(a sliding window replied whole writes each event ten times: about 620 KB per 64 KiB
read): the writer then waits on the reader several times per read.

Linux reserves twice the value asked for (payload plus its bookkeeping: large writes
fill nearly all of it, many small ones much less) and caps the value at
``net.core.wmem_max`` for every process (212,992 on a stock kernel: raise it with
``sysctl -w net.core.wmem_max=BYTES``); ``getsockopt`` reports the doubled value.
:func:`check_send_buffer` refuses a request the kernel would cap when the connector
is made, and a connection the kernel gave less after all (its limit lowered since)
is reported on ``err`` (the server's action ``accept``, the client's ``connect``, with
the field ``send_buffer_bytes``), so a configuration never silently gets less than
it says::

    >>> from gevent import socket
    >>> a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    >>> set_send_buffer(a, 65536), apply_send_buffer(a, 32768)
    (65536, None)
    >>> check_send_buffer("unix_socket_server", 2**30 - 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rxunix.ConfigError: unix_socket_server config: 'send_buffer_bytes' (1073741823) is more than the ...
    >>> a.close(); b.close()
"""

from __future__ import annotations

import fcntl
import functools
import socket
import struct
import termios
from typing import Any

from ..core.errors import ConfigError

__all__ = ["apply_send_buffer", "check_send_buffer", "set_send_buffer"]

#: a value every kernel grants (Linux's floor is 2,304; stock wmem_max 212,992)
_PROBE = 65536


@functools.cache
def _reported_per_byte() -> int:
    """What ``getsockopt(SO_SNDBUF)`` reports per byte asked for: 2 on Linux, which
    doubles the value, 1 where the value is kept as it is. Measured once on a probe."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _PROBE)
        return max(1, int(probe.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)) // _PROBE)
    finally:
        probe.close()


def set_send_buffer(sock: Any, size: int) -> int:
    """Ask the kernel for a send buffer of ``size`` bytes on ``sock``; returns the value it
    granted (what ``getsockopt`` reports, in the units of ``size``). Raises ``OSError``."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)) // _reported_per_byte()


def apply_send_buffer(sock: Any, size: int) -> str | None:
    """:func:`set_send_buffer` on a connection; None when the kernel granted ``size``,
    else what went wrong, for the connector to report (the connection keeps what the
    kernel gave it)."""
    try:
        granted = set_send_buffer(sock, size)
    except OSError as exc:
        return f"send_buffer_bytes {size}: the kernel refused it: {exc}"
    if granted < size:
        return f"send_buffer_bytes {size}: the kernel granted {granted} (net.core.wmem_max on Linux)"
    return None


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
        raise ConfigError(f"{kind} config: 'send_buffer_bytes' ({size}) is more than the kernel allows "
                          f"({granted} bytes; on Linux net.core.wmem_max, raised with sysctl)")


def send_buffer_full(sock: Any) -> bool:
    """True if ``sock``'s send buffer is full: the kernel takes nothing more from it
    until it drains (Linux sends while what it holds is below ``SO_SNDBUF``). For a
    unix datagram socket, Linux charges a datagram to its sender until the receiver
    reads it, so a full send buffer means replies some receivers have not read yet."""
    try:
        queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        limit = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    except OSError:
        return False
    return bool(queued >= limit)
