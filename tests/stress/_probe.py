"""Process probes for leak checks: open fds, live greenlets, resident memory."""

from __future__ import annotations

import gc
import os

import gevent
import greenlet

_PAGE = os.sysconf("SC_PAGE_SIZE")


def fd_count(pid: int | str = "self") -> int:
    """Open file descriptors of a process (``/proc``)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def greenlet_count() -> int:
    """Greenlets that are started and not dead (the hub and main greenlet included)."""
    gc.collect()
    n = 0
    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet) and not obj.dead:
            if isinstance(obj, gevent.Greenlet) and not obj.started:
                continue
            n += 1
    return n


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, in bytes."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class Snapshot:
    """fds and greenlets now; ``leaks(later)`` counts what grew."""

    def __init__(self) -> None:
        gevent.sleep(0)
        self.fds = fd_count()
        self.greenlets = greenlet_count()

    def leaks(self) -> dict[str, int]:
        gevent.sleep(0)
        return {"fds": max(0, fd_count() - self.fds), "greenlets": max(0, greenlet_count() - self.greenlets)}
