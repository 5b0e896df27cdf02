"""Child processes and their pipes, as the workers' supervisor handles them.

Fork a child, signal it, wait for it, say how it ended, read what its
non-blocking pipes hold. None of these raises for a child or pipe that is
already gone.

Under gevent's monkey patching, gevent's ``SIGCHLD`` handling (installed by a
patched ``subprocess`` or ``os.fork``) reaps every child of the process as it
ends; a child forked with :func:`fork_child` is watched, so that its wait
status is still known (:func:`poll_child`, :func:`wait_blocking`).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import gevent.os
from gevent import monkey

__all__ = ["describe_status", "fork_child", "poll_child", "kill", "wait_blocking", "read_pending", "drain_pipe",
           "flush"]

#: ``os.waitpid`` itself (never gevent's cooperative version).
_waitpid: Callable[[int, int], tuple[int, int]] = monkey.get_original("os", "waitpid")


def fork_child() -> int:
    """Fork (gevent reinitialised in the child); 0 in the child, its pid in the parent.
    Under monkey patching the parent watches the child (``gevent.os.fork_and_watch``)."""
    if monkey.is_module_patched("os"):
        return int(gevent.os.fork_and_watch())
    return int(gevent.os.fork_gevent())


def poll_child(pid: int) -> tuple[bool, int | None]:
    """Without blocking: has child ``pid`` ended, and its wait status (None: reaped
    by someone else, status unknown)."""
    try:
        got, status = gevent.os.waitpid(pid, os.WNOHANG)  # (a watched child's status, else os.waitpid's)
    except ChildProcessError:
        return True, None
    return got == pid, (status if got == pid else None)


def describe_status(status: int | None) -> str:
    """A wait status in words::

    >>> describe_status(0), describe_status(9), describe_status(3 << 8), describe_status(None)
    ('exit status 0', 'killed by SIGKILL', 'exit status 3', 'exit status unknown')
    """
    if status is None:
        return "exit status unknown"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def drain_pipe(fd: int) -> None:
    """Read and drop what a non-blocking pipe holds now."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


def flush(stream: Any) -> None:
    """Flush ``stream``; one that is closed or broken is left as it is."""
    try:
        stream.flush()
    except (OSError, ValueError, AttributeError):
        pass


def kill(pid: int, signum: int) -> None:
    """Send ``signum`` to ``pid``; a process already gone is no error."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def wait_blocking(pid: int) -> int | None:
    """Wait for child ``pid`` to end (blocking the thread: safe in a signal handler);
    its wait status, or None if it was reaped elsewhere and its status is unknown."""
    try:
        return _waitpid(pid, 0)[1]
    except ChildProcessError:  # gevent's SIGCHLD handling took it: its watcher may have the status
        ended, status = poll_child(pid)
        return status if ended else None


def read_pending(fd: int, size: int) -> Iterator[bytes]:
    """The chunks a non-blocking pipe holds now; the last one is ``b""`` at EOF (or a read error)."""
    while True:
        try:
            data = os.read(fd, size)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        yield data
        if not data:
            return
