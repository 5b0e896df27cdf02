"""The listening socket of a server: bound safely, bound in the abstract namespace, or
inherited from systemd. Shared by the stream and datagram servers.

:func:`check_listen_config` validates ``path``, ``permissions`` and ``systemd``
together at construction; :func:`listen_socket` makes the socket at start::

    >>> import tempfile, os
    >>> from gevent import socket
    >>> d = tempfile.mkdtemp(prefix="rx-", dir="/tmp")
    >>> ls = listen_socket(d + "/s.sock", socket.SOCK_DGRAM, "=600")
    >>> oct(os.stat(d + "/s.sock").st_mode & 0o777), ls.ident is not None
    ('0o600', True)
    >>> close_listening(d + "/s.sock", ls), os.listdir(d), os.rmdir(d)
    (None, [], None)

* a filesystem path goes through :func:`rxunix.edge.sockpath.bind_secure` (stale
  socket replaced, anything else refused, mode set before the path exists) and
  is unlinked on close if it is still ours;
* ``@name`` binds in the Linux abstract namespace: no file, no mode, nothing to
  unlink; a name in use is a :class:`~rxunix.core.errors.SocketPathError`;
* ``systemd`` (``True`` or a ``LISTEN_FDNAMES`` name) takes the socket systemd
  passed (see :mod:`rxunix.core.activation`) after checking it is an AF_UNIX socket
  of the right type (and, for streams, listening); it is closed on stop, never
  unlinked (systemd owns it).
"""

from __future__ import annotations

import errno
import os
from typing import Any, NamedTuple

from gevent import socket as gsocket

from ..core.activation import ActivationError, check_option, listen_fds, select_fd
from ..core.address import is_abstract, sockaddr
from ..core.errors import SocketPathError
from ..core.permissions import check_socket_permissions, parse_permissions
from .prebound import take as take_prebound
from .prebound import worker_meta
from .security import check_socket_dir
from .sockpath import SocketIdentity, bind_secure, check_length, remove_if_ours

__all__ = ["Listening", "check_listen_config", "listen_socket", "inherited_socket", "close_listening", "worker_meta"]

_TYPE_NAMES = {gsocket.SOCK_STREAM: "stream", gsocket.SOCK_DGRAM: "datagram"}
_UNIT_KEYS = {gsocket.SOCK_STREAM: "ListenStream=", gsocket.SOCK_DGRAM: "ListenDatagram="}
#: Inherited fds taken by a server of this process (each may serve one server only).
_CLAIMED: set[int] = set()


class Listening(NamedTuple):
    """A server's socket and, when it published a file, that file's identity."""

    sock: Any
    ident: SocketIdentity | None


def check_listen_config(path: str, permissions: Any, systemd: Any) -> bool | str:
    """Validate a server's ``path``, ``permissions`` and ``systemd``; returns the ``systemd`` value.

    Raises :class:`~rxunix.core.errors.SocketPathError` for an unusable path and
    :class:`~rxunix.core.errors.ConfigError` for permissions on an abstract name or
    with systemd.
    """
    check_length(path)
    check_socket_permissions(path, permissions)
    return check_option(systemd, permissions, path)


def _mode(permissions: Any) -> int | None:
    if permissions is None:
        return None
    return permissions if isinstance(permissions, int) else parse_permissions(permissions)


#: ``socket.SO_PASSCRED`` (Linux), also where the socket module does not name it.
SO_PASSCRED: int = getattr(gsocket, "SO_PASSCRED", 16)


def listen_socket(
    path: str, kind: int, permissions: Any = None, *, backlog: int = 1024, systemd: bool | str = False,
    passcred: bool = False,
) -> Listening:
    """A gevent AF_UNIX socket of type ``kind``, bound at ``path`` (listening, for streams).

    ``passcred``: ``SO_PASSCRED`` on (a datagram receiver that reads its senders'
    credentials), set before the bind, so that no datagram arrives without them (on a
    socket bound elsewhere, as soon as it is taken: what was queued before has none).
    See the module documentation for the three ways. Raises
    :class:`~rxunix.core.errors.SocketPathError` or
    :class:`~rxunix.core.activation.ActivationError`.
    """
    prebound = take_prebound(path, kind)  # a worker's socket, bound by its supervisor
    if prebound is not None:
        sock = gsocket.socket(fileno=prebound)
    elif systemd:
        sock = inherited_socket(systemd, kind)
    else:
        sock = gsocket.socket(gsocket.AF_UNIX, kind)
    try:
        if passcred:
            sock.setsockopt(gsocket.SOL_SOCKET, SO_PASSCRED, 1)
        if prebound is not None or systemd:
            return Listening(sock, None)
        if is_abstract(path):
            try:
                sock.bind(sockaddr(path))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise SocketPathError(f"abstract socket name {path!r} is in use by another socket") from exc
                raise SocketPathError(f"cannot bind abstract socket name {path!r}: {exc}") from exc
            if kind == gsocket.SOCK_STREAM:
                sock.listen(backlog)
            return Listening(sock, None)
        check_socket_dir(path)  # allowed, but said: others may plant files beside the socket
        return Listening(sock, bind_secure(sock, path, _mode(permissions), backlog))
    except BaseException:
        sock.close()
        raise


def inherited_socket(want: bool | str, kind: int) -> Any:
    """The socket systemd passed that ``want`` names, checked to be AF_UNIX of type ``kind``."""
    chosen = select_fd(listen_fds(), want)
    if chosen.fd in _CLAIMED:
        raise ActivationError(f"systemd: fd {chosen.fd} {chosen.name!r} is already used by another server")
    try:
        sock = gsocket.socket(fileno=chosen.fd)
    except OSError as exc:
        raise ActivationError(f"systemd: fd {chosen.fd} {chosen.name!r} is not a usable socket: {exc}") from None
    problem = _check_inherited(sock, kind)
    if problem is not None:
        sock.detach()  # not ours to close
        raise ActivationError(f"systemd: fd {chosen.fd} {chosen.name!r} {problem}")
    os.set_inheritable(chosen.fd, False)  # children of this process must not hold it
    _CLAIMED.add(chosen.fd)
    return sock


def _check_inherited(sock: Any, kind: int) -> str | None:
    if sock.family != gsocket.AF_UNIX:
        return f"is not a unix socket (family {sock.family!r}); this server needs an AF_UNIX socket"
    if sock.type != kind:
        got = _TYPE_NAMES.get(sock.type, f"type {sock.type!r}")
        return (f"is a {got} socket, but this is a {_TYPE_NAMES[kind]} server: "
                f"use {_UNIT_KEYS[kind]} in the .socket unit")
    if kind == gsocket.SOCK_STREAM and not sock.getsockopt(gsocket.SOL_SOCKET, gsocket.SO_ACCEPTCONN):
        return "is a stream socket that is not listening"
    return None


def close_listening(path: str, listening: Listening) -> None:
    """Close the socket; unlink ``path`` only if it is still the file we published."""
    listening.sock.close()
    if listening.ident is not None:
        remove_if_ours(path, listening.ident)
