"""A check of a socket's directory (and, for old imports, the admission operator).

:func:`check_socket_dir` tells whether a socket path lies in a directory that
other users may write to (they could replace or plant files there); it warns
with :class:`InsecureSocketDirWarning`. :func:`allow_uids` and :func:`peer_uid`
live in :mod:`rxunix.rx.admission`.
"""

from __future__ import annotations

import os
import stat
import warnings

from ..core.errors import SocketPathError
from ..rx.admission import allow_uids, peer_uid

__all__ = ["allow_uids", "peer_uid", "check_socket_dir", "InsecureSocketDirWarning"]


class InsecureSocketDirWarning(UserWarning):
    """The directory of a socket path is writable by other users."""


def check_socket_dir(path: str | os.PathLike[str], *, warn: bool = True) -> str | None:
    """A message if ``path``'s directory is writable by group or others, else ``None``.

    Raises :class:`~rxunix.core.errors.SocketPathError` if the directory cannot be read.

    With ``warn`` (default) the message is also issued as an
    :class:`InsecureSocketDirWarning`. Example::

        >>> check_socket_dir("/tmp/x.sock", warn=False)  # doctest: +ELLIPSIS
        "socket path '/tmp/x.sock' is in '/tmp', writable by other users (mode 1777...)..."
    """
    p = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(p))
    try:
        st = os.stat(parent)
    except OSError as exc:
        raise SocketPathError(f"cannot use socket path {p!r}: its directory {parent!r}: {exc.strerror}") from None
    if not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    sticky = ""
    if st.st_mode & stat.S_ISVTX:
        sticky = " (sticky: others cannot remove it, but can plant files beside it)"
    msg = (f"socket path {p!r} is in {parent!r}, writable by other users "
           f"(mode {stat.S_IMODE(st.st_mode):o}){sticky}; prefer a private directory")
    if warn:
        warnings.warn(msg, InsecureSocketDirWarning, stacklevel=2)
    return msg
