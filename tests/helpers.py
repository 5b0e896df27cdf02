"""Test helpers: wait on conditions and for bytes with timeouts (never sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent


def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Yield to the gevent hub until ``cond()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        gevent.sleep(0.005)


def recv_exactly(sock: Any, n: int, timeout: float = 60.0) -> bytes:
    """Read ``n`` bytes from a gevent socket; fail if it closes first or after ``timeout`` seconds."""
    got = bytearray()
    with gevent.Timeout(timeout):
        while len(got) < n:
            chunk = sock.recv(min(1 << 16, n - len(got)))
            assert chunk, f"the connection closed after {len(got)} of {n} bytes"
            got += chunk
    return bytes(got)
