"""Safe handling of a listening socket's path: checks, atomic publication, removal.

SPEC 3 "Path" and "Permissions", beyond Tremor:

* a *stale* socket file (nobody accepts on it) is replaced; a *live* socket,
  a regular file, a directory, a symlink or anything else at the path is a
  :class:`~rxunix.core.errors.SocketPathError` and is left untouched;
* the path length limit (107 bytes + NUL on Linux) is a clear error;
* the socket never exists at ``path`` with a more open mode than requested:
  :func:`bind_secure` binds inside a fresh private (0700) directory next to
  ``path``, chmods the socket there, starts listening, and only then publishes
  it at ``path`` with ``link`` (atomic, never replaces anything) or, over a
  stale socket, ``rename`` (atomic replacement, after re-checking that the
  same stale inode is still there);
* :func:`remove_if_ours` unlinks the path on shutdown only if it is still the
  inode we published;
* a path beginning with ``@`` names the Linux *abstract namespace* (no file:
  nothing to check, chmod or unlink); :func:`is_abstract`, :func:`sockaddr` and
  :func:`peer_name` are the pure helpers of :mod:`rxunix.core.address`, re-exported;
* ``bind_secure`` works for stream (listens) and datagram sockets.

Example::

    >>> import socket, tempfile, os
    >>> d = tempfile.mkdtemp(dir="/tmp")
    >>> s = socket.socket(socket.AF_UNIX)
    >>> ident = bind_secure(s, d + "/x.sock", 0o600)
    >>> oct(os.stat(d + "/x.sock").st_mode & 0o777)
    '0o600'
    >>> remove_if_ours(d + "/x.sock", ident), s.close(), os.rmdir(d)
    (True, None, None)
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from typing import Any, NamedTuple

from gevent import socket as gsocket

from ..core.address import MAX_PATH_BYTES, check_length, is_abstract, peer_name, sockaddr
from ..core.errors import SocketPathError
from .descriptors import close_now

__all__ = [
    "MAX_PATH_BYTES",
    "SocketIdentity",
    "check_length",
    "check_path",
    "probe_live",
    "bind_secure",
    "remove_if_ours",
    "describe_connect_error",
    "is_abstract",
    "sockaddr",
    "peer_name",
]


_REFUSED = (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK)
_STREAM: int = gsocket.SOCK_STREAM


class SocketIdentity(NamedTuple):
    """``(st_dev, st_ino)`` of a published socket file."""

    dev: int
    ino: int


def probe_live(path: str, timeout: float = 1.0, kind: int = _STREAM) -> bool:
    """True if some process accepts connections on (or receives at) the socket at ``path``.

    Connects once with a socket of type ``kind`` (a stream peer sees a connection
    that closes at once; a datagram peer sees nothing). A live socket of the other
    type counts as live.
    """
    probe = gsocket.socket(gsocket.AF_UNIX, kind)
    probe.settimeout(timeout)
    try:
        probe.connect(path)
    except OSError as exc:
        if exc.errno in _REFUSED:
            return False
        if exc.errno == errno.EPROTOTYPE:
            return True  # a live socket of the other type
        if exc.errno == errno.EAGAIN or isinstance(exc, TimeoutError):
            return True  # backlog full: somebody listens but does not keep up
        raise SocketPathError(f"cannot tell whether the socket at {path!r} is in use: {exc}") from exc
    finally:
        probe.close()
    return True


def check_path(path: str, kind: int = _STREAM) -> os.stat_result | None:
    """What is at ``path``: ``None`` (nothing) or the ``lstat`` of a stale socket.

    Raises :class:`SocketPathError` for a live socket, a regular file, a directory,
    a symlink or any other kind of file. ``kind`` is the socket type to probe with.
    """
    check_length(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SocketPathError(f"cannot use socket path {path!r}: {exc}") from exc
    mode = st.st_mode
    if stat.S_ISSOCK(mode):
        if probe_live(path, kind=kind):
            raise SocketPathError(f"socket path {path!r} is in use: a live socket (this process or another) "
                                  "accepts connections on it")
        return st
    raise SocketPathError(f"socket path {path!r} exists and is {_kind(mode)}; refusing to replace it")


def _kind(mode: int) -> str:
    """What a non-socket file is, in words."""
    return (
        "a symlink" if stat.S_ISLNK(mode)
        else "a directory" if stat.S_ISDIR(mode)
        else "a regular file" if stat.S_ISREG(mode)
        else "not a socket"
    )


def describe_connect_error(path: str, error: BaseException) -> str:
    """Why connecting to ``path`` failed, in words a user can act on.

    A path that exists but is no socket says what it is (the kernel only says
    "Connection refused"); anything else is ``"ErrorType: message"``::

        >>> d = tempfile.mkdtemp(dir="/tmp"); open(d + "/f", "w").close()
        >>> describe_connect_error(d + "/f", ConnectionRefusedError(111, "Connection refused"))  # doctest: +ELLIPSIS
        "'/tmp/.../f' is not a socket (a regular file)"
        >>> describe_connect_error(d + "/none", FileNotFoundError(2, "No such file or directory"))
        'FileNotFoundError: [Errno 2] No such file or directory'
        >>> describe_connect_error(d + "/s", OSError(errno.EPROTOTYPE, "Protocol wrong type for socket"))
        'OSError: [Errno 91] Protocol wrong type for socket: the socket is of the other type (stream or datagram)'
        >>> shutil.rmtree(d)
    """
    if isinstance(error, OSError) and error.errno == errno.EPROTOTYPE:
        return f"{type(error).__name__}: {error}: the socket is of the other type (stream or datagram)"
    if isinstance(error, OSError) and error.errno in (errno.ECONNREFUSED, errno.ENOTSOCK):
        try:
            st = os.stat(path)  # through symlinks: what a connect reaches
        except OSError:
            st = None
        if st is not None and not stat.S_ISSOCK(st.st_mode):
            return f"{path!r} is not a socket ({_kind(st.st_mode)})"
    return f"{type(error).__name__}: {error}"


def _bind_address(tmpdir: str, dirfd: int) -> str:
    direct = os.path.join(tmpdir, "s")
    if len(os.fsencode(direct)) <= MAX_PATH_BYTES:
        return direct
    via_proc = f"/proc/self/fd/{dirfd}/s"  # short alias of the same directory (Linux)
    if os.path.isdir(f"/proc/self/fd/{dirfd}"):
        return via_proc
    raise SocketPathError(f"socket path {tmpdir!r} leaves no room for a private bind directory")


def bind_secure(
    sock: Any, path: str, mode: int | None, backlog: int = 128
) -> SocketIdentity:
    """Bind ``sock`` (AF_UNIX; a stream socket also listens), then publish it at ``path``.

    ``mode`` (``None``: leave the umask default) is in force before ``path``
    exists (a datagram socket is bound at ``path`` directly, see
    :func:`_bind_in_place`). Returns the identity to pass to :func:`remove_if_ours`.
    """
    kind = getattr(sock, "type", _STREAM)
    stale = check_path(path, kind)
    if kind != _STREAM:
        return _bind_in_place(sock, path, mode, stale)
    parent = os.path.dirname(os.path.abspath(path))
    try:
        tmpdir = tempfile.mkdtemp(prefix=".rxu-", dir=parent)  # mode 0700, ours alone
    except OSError as exc:
        raise SocketPathError(f"cannot create the socket in {parent!r}: {exc}") from exc
    dirfd = os.open(tmpdir, os.O_RDONLY | os.O_DIRECTORY)
    tmp = os.path.join(tmpdir, "s")
    try:
        sock.bind(_bind_address(tmpdir, dirfd))
        if mode is not None:
            os.chmod(tmp, mode)
        if kind == _STREAM:
            sock.listen(backlog)
        st = os.lstat(tmp)
        ident = SocketIdentity(st.st_dev, st.st_ino)
        _publish(tmp, path, stale, kind)
        return ident
    except OSError as exc:
        if isinstance(exc, SocketPathError):
            raise
        raise SocketPathError(f"cannot bind unix socket at {path!r}: {exc}") from exc
    finally:
        close_now(dirfd)
        shutil.rmtree(tmpdir, ignore_errors=True)


def _bind_in_place(sock: Any, path: str, mode: int | None, stale: os.stat_result | None) -> SocketIdentity:
    """Bind a datagram socket at ``path`` itself: the address a datagram's receiver sees
    is the name given to ``bind``, so replies need the final path, not a private one.

    The socket inode's own mode (``fchmod`` before ``bind``) restricts the file from
    its creation on; a mode wider than the umask allows is set afterwards through an
    ``O_PATH`` descriptor of the file we just checked (never through a symlink).
    """
    try:
        if mode is not None:
            os.fchmod(sock.fileno(), mode & 0o777)
        if stale is not None:
            current = check_path(path, sock.type)
            if current is not None and (current.st_dev, current.st_ino) == (stale.st_dev, stale.st_ino):
                os.unlink(path)
        sock.bind(path)
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW)
    except OSError as exc:
        if isinstance(exc, SocketPathError):
            raise
        if exc.errno == errno.EADDRINUSE:
            raise SocketPathError(f"socket path {path!r} keeps changing; giving up") from exc
        raise SocketPathError(f"cannot bind unix socket at {path!r}: {exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISSOCK(st.st_mode):
            raise SocketPathError(f"socket path {path!r} was replaced right after bind; giving up")
        if mode is not None and stat.S_IMODE(st.st_mode) != mode:
            os.chmod(f"/proc/self/fd/{fd}", mode)
        return SocketIdentity(st.st_dev, st.st_ino)
    finally:
        close_now(fd)


def _publish(tmp: str, path: str, stale: os.stat_result | None, kind: int) -> None:
    for _ in range(3):
        if stale is None:
            try:
                os.link(tmp, path)  # atomic and never replaces anything
                return
            except FileExistsError:
                stale = check_path(path, kind)  # something appeared meanwhile: judge it
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                # no hard links on this filesystem: rename (replaces only if raced)
                os.rename(tmp, path)
                return
        current = check_path(path, kind)
        if current is None or (current.st_dev, current.st_ino) != (stale.st_dev, stale.st_ino):
            stale = current
            continue
        os.rename(tmp, path)  # atomically replaces the stale socket
        return
    raise SocketPathError(f"socket path {path!r} keeps changing; giving up")


def remove_if_ours(path: str, ident: SocketIdentity) -> bool:
    """Unlink ``path`` if it is still the socket we published; True if removed."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if (st.st_dev, st.st_ino) != tuple(ident):
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
