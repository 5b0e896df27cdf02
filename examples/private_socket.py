"""The examples' default socket path: in a private per-user directory, never straight in /tmp.

``/tmp`` is writable by every user, so a socket there can be replaced or
impersonated (rxunix warns about such directories). The examples default to
``$TMPDIR/rxunix-UID/unix-socket.sock`` instead: the directory is created with
mode 0700 and refused if it is not ours or is open to others. Server and client
examples compute the same path, so they find each other without ``--set socket=``.

    >>> path = default_socket()
    >>> oct(os.stat(os.path.dirname(path)).st_mode & 0o777)
    '0o700'
"""

from __future__ import annotations

import os
import stat
import tempfile


def default_socket(name: str = "unix-socket.sock") -> str:
    """``name`` inside this user's private socket directory (created if missing)."""
    directory = os.path.join(tempfile.gettempdir(), f"rxunix-{os.getuid()}")
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise RuntimeError(f"{directory} is not a private directory of this user (mode "
                           f"{stat.S_IMODE(st.st_mode):o}, uid {st.st_uid}); pass --set socket=PATH")
    return os.path.join(directory, name)
