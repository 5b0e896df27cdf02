"""Socket addresses in rxunix notation, and back (pure: no sockets).

A path beginning with ``@`` names the Linux *abstract namespace* (as socat and
most tools write it); the kernel's address for it is a NUL byte followed by the
name. :func:`sockaddr` turns a configured path into what ``bind``/``connect``/
``sendto`` take, :func:`peer_name` turns what ``recvfrom``/``getsockname`` return
back into the notation (``None`` for an unbound socket)::

    >>> sockaddr("@rx/log"), peer_name(b"\\0rx/log"), peer_name(None)
    (b'\\x00rx/log', '@rx/log', None)
"""

from __future__ import annotations

import os
from typing import Any

from .errors import SocketPathError

__all__ = ["MAX_PATH_BYTES", "check_length", "is_abstract", "sockaddr", "peer_name"]

#: Longest usable ``sun_path`` on Linux, in bytes (the 108-byte field holds a NUL too).
MAX_PATH_BYTES = 107



def is_abstract(path: str) -> bool:
    """True if ``path`` names the Linux abstract namespace (it begins with ``@``).

    >>> is_abstract("@rxunix/log"), is_abstract("/run/rx.sock")
    (True, False)
    """
    return path.startswith("@")


def sockaddr(path: str) -> str | bytes:
    """The address to pass to ``bind``/``connect``/``sendto`` for ``path``.

    ``@name`` becomes the abstract address ``b"\\0name"``; a filesystem path is
    returned unchanged::

        >>> sockaddr("@rx"), sockaddr("/tmp/x.sock")
        (b'\\x00rx', '/tmp/x.sock')
    """
    if is_abstract(path):
        return b"\0" + os.fsencode(path[1:])
    return path


def peer_name(address: Any) -> str | None:
    """An address as ``recvfrom``/``getsockname`` return it, in rxunix notation.

    ``None`` for an unbound (unnamed) socket; ``"@name"`` for an abstract one
    (autobound ones included); a filesystem path as is. The inverse of
    :func:`sockaddr`::

        >>> peer_name(b"\\0rx"), peer_name("/tmp/x.sock"), peer_name(None), peer_name("")
        ('@rx', '/tmp/x.sock', None, None)
        >>> sockaddr(peer_name(b"\\0\\xff")) == b"\\0\\xff"
        True
    """
    if not address:
        return None
    if isinstance(address, bytes):
        if address.startswith(b"\0"):
            return "@" + os.fsdecode(address[1:])
        return os.fsdecode(address)
    if isinstance(address, str):
        return "@" + address[1:] if address.startswith("\0") else address
    return None


def check_length(path: str) -> None:
    """Raise :class:`~rxunix.core.errors.SocketPathError` if ``path`` cannot be a unix socket path.

    An abstract name (``@name``) may use the whole 107 bytes after its ``@``.
    """
    raw = os.fsencode(path)
    if not raw:
        raise SocketPathError("unix socket path must not be empty")
    if b"\0" in raw:
        raise SocketPathError(f"unix socket path must not contain NUL bytes: {path!r}")
    if is_abstract(path):
        if len(raw) == 1:
            raise SocketPathError("abstract socket name must not be empty: '@' alone names nothing")
        if len(raw) > MAX_PATH_BYTES + 1:
            raise SocketPathError(
                f"abstract socket name is {len(raw) - 1} bytes, over the limit of {MAX_PATH_BYTES} bytes: {path!r}"
            )
        return
    if len(raw) > MAX_PATH_BYTES:
        raise SocketPathError(
            f"unix socket path is {len(raw)} bytes, over the limit of {MAX_PATH_BYTES} bytes "
            f"(sun_path is 108 bytes including the terminating NUL): {path!r}"
        )
