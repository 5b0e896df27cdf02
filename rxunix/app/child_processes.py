"""Child processes and their pipes, as the workers' supervisor handles them.

Signal a child, wait for it (with the real ``os.waitpid`` even under gevent's
monkey patching), say how it ended, read what its non-blocking pipes hold.
None of these raises for a child or pipe that is already gone.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

from gevent import monkey

__all__ = ["describe_status", "waitpid", "kill", "wait_blocking", "read_pending", "drain_pipe", "flush"]

#: ``os.waitpid`` itself (never gevent's cooperative version).
waitpid: Callable[[int, int], tuple[int, int]] = monkey.get_original("os", "waitpid")


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
    """Wait for child ``pid`` to end; its wait status, or None if it was reaped elsewhere."""
    try:
        return waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


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
