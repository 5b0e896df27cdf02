"""Test helpers: wait on conditions with timeouts (never sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent


def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Yield to the gevent hub until ``cond()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        gevent.sleep(0.005)
