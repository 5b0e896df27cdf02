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


def record_results(monkeypatch: Any, owner: Any, name: str) -> list[Any]:
    """Wrap function ``owner.name`` (for the test: ``monkeypatch`` restores it) so that each
    call's result is recorded; the list of results, in call order. A positive event to wait
    on (a check the code under test has made), where a test would otherwise sleep."""
    results: list[Any] = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(owner, name, recording)
    return results
