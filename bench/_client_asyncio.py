"""The asyncio and uvloop peer clients of ``bench_client.py``.

The same work as the hand-written gevent client: encode ~256 KiB batches with the
row's JSON library (one ``transport.write`` each, yielding to the loop after each
as the gevent client yields at each ``sendall``), read at most ``buf`` bytes at a
time (a ``BufferedProtocol`` whose buffer has the row's read size), split at
newlines with a carried partial line, decode. Each run gets a fresh event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from _common import cpu_seconds


class _Reader(asyncio.BufferedProtocol):
    """Decodes every complete line; ``want`` lines complete ``done``."""

    def __init__(self, decode_all: Callable[[list[bytes]], list[Any]], buf: int) -> None:
        self.decode_all = decode_all
        self.view = memoryview(bytearray(buf))
        self.carry = bytearray()
        self.got: list[Any] = []
        self.want = 0
        self.done: asyncio.Future[None] | None = None
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        lines = self.view[:nbytes].tobytes().split(b"\n")
        tail = lines.pop()
        if lines:
            if self.carry:
                self.carry += lines[0]
                lines[0] = bytes(self.carry)
                self.carry.clear()
            self.got.extend(self.decode_all(lines))
            if len(self.got) >= self.want and self.done is not None and not self.done.done():
                self.done.set_result(None)
        if tail:
            self.carry += tail

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(RuntimeError(f"server closed after {len(self.got)} replies"))


async def _connect(row: Any, path: str) -> tuple[Any, _Reader]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_unix_connection(lambda: _Reader(row.decode_all, row.buf), path)
    return transport, proto


async def _stream(row: Any, path: str, batches: list[list[Any]], n: int) -> tuple[float, float, Any]:
    transport, proto = await _connect(row, path)
    proto.want, proto.done = n, asyncio.get_running_loop().create_future()
    t0, c0 = time.perf_counter(), cpu_seconds()
    for batch in batches:
        transport.write(row.encode_all(batch))
        await asyncio.sleep(0)
    await proto.done
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    transport.close()
    return elapsed, cpu, proto.got[-1]


async def _pingpong(row: Any, path: str, values: list[Any]) -> tuple[float, float, list[float]]:
    transport, proto = await _connect(row, path)
    loop = asyncio.get_running_loop()
    lat: list[float] = []
    t0, c0 = time.perf_counter(), cpu_seconds()
    for k, v in enumerate(values):
        proto.want, proto.done = k + 1, loop.create_future()
        t = time.perf_counter()
        transport.write(row.encode_all([v]))
        await proto.done
        lat.append(time.perf_counter() - t)
        if proto.got[k] != v:
            raise RuntimeError(f"echo {k} differs")
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    transport.close()
    return elapsed, cpu, lat


def run(loop_kind: str, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on a fresh asyncio (``asyncio``) or uvloop (``uvloop``) event loop."""
    if loop_kind == "uvloop":
        import uvloop

        if hasattr(uvloop, "run"):
            return uvloop.run(coro)
        loop = uvloop.new_event_loop()  # older uvloop releases
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()
    return asyncio.run(coro)


def stream(loop_kind: str, row: Any, path: str, values: list[Any],
           batches: list[list[Any]]) -> tuple[float, float, Any]:
    """``(elapsed, cpu, last echo)`` of streaming ``values`` (cut in ``batches``)."""
    return run(loop_kind, _stream(row, path, batches, len(values)))  # type: ignore[no-any-return]


def pingpong(loop_kind: str, row: Any, path: str, values: list[Any]) -> tuple[float, float, list[float]]:
    """``(elapsed, cpu, latencies)`` of one value in flight at a time."""
    return run(loop_kind, _pingpong(row, path, values))  # type: ignore[no-any-return]
