"""Closing a descriptor now, whether or not gevent has monkey-patched ``os``.

gevent's patched ``os.close`` (gevent >= 25.8.1) closes a pipe or socket
descriptor only on the hub's next turn. A process that forks before that
turn gives the child a copy of the end it meant to close (a worker would
hold another worker's pipe), and a pipe's other end sees no EOF or EPIPE
until the hub happens to run. :func:`close_now` is the operating system's
``close(2)``, in either case::

    >>> import os
    >>> r, w = os.pipe()
    >>> close_now(r)
    >>> try:
    ...     os.write(w, b"x")
    ... except BrokenPipeError:
    ...     print("no reader left")
    no reader left
    >>> close_now(w)

Use it for descriptors no gevent watcher waits on (pipes handed to or kept
from child processes, files); a socket's own ``close()`` is the way to close
a socket.
"""

from __future__ import annotations

from collections.abc import Callable

from gevent import monkey

__all__ = ["close_now"]

#: ``os.close`` itself (never gevent's deferred version).
close_now: Callable[[int], None] = monkey.get_original("os", "close")
