"""The asyncio and uvloop servers of ``_serve.py`` (see there).

A ``BufferedProtocol`` whose ``get_buffer`` hands out ``buf`` bytes, so every read is
at most the row's read size, like ``recv(buf)`` in the gevent loops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from _common import cpu_seconds, json_funcs, now


class _State:
    def __init__(self, target: int) -> None:
        self.count = 0
        self.target = target
        self.t_last: float | None = None
        self.errors = 0
        self.done = asyncio.Event()


class _Proto(asyncio.BufferedProtocol):
    def __init__(self, state: _State, echo: bool, lib: str, buf: int, send_buffer: int | None = None) -> None:
        self.state = state
        self.send_buffer = send_buffer
        self.echo = echo
        self.decode_all, self.encode_all = json_funcs(lib)
        self.buf = bytearray(buf)
        self.view = memoryview(self.buf)
        self.carry = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        if self.send_buffer is not None:
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        parts = self.view[:nbytes].tobytes().split(b"\n")
        tail = parts.pop()
        carry = self.carry
        if parts:
            if carry:
                carry += parts[0]
                parts[0] = bytes(carry)
                carry.clear()
            if self.echo:
                self.transport.write(self.encode_all(self.decode_all(parts)))
            else:
                self.decode_all(parts)
                st = self.state
                st.count += len(parts)
                if st.count >= st.target and st.t_last is None:
                    st.t_last = now()
                    st.done.set()
        if tail:
            carry += tail

    def eof_received(self) -> bool:
        return False  # close


class AsyncServer:
    """One listener; ``start``/``stop`` are coroutines here (the control loop awaits them)."""

    def __init__(self, mode: str, path: str, target: int, lib: str, buf: int, send_buffer: int | None = None) -> None:
        self.state = _State(target)
        self.path = path
        self.factory = lambda: _Proto(self.state, mode == "echo", lib, buf, send_buffer)
        self.server: Any = None

    def __getattr__(self, name: str) -> Any:  # count, target, t_last, errors
        return getattr(self.state, name)

    async def start(self) -> None:
        self.server = await asyncio.get_running_loop().create_unix_server(self.factory, self.path, backlog=1024)

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.state.done.wait(), timeout)
        except TimeoutError:
            return False
        return True


async def _serve(args: argparse.Namespace, control: Any, reply: Callable[[dict[str, Any]], None]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    ctl = control(None)  # open and close are coroutines here: handled below
    reply({"ready": True})
    while line := await reader.readline():
        cmd = json.loads(line)
        try:
            if cmd["op"] == "open":
                ctl.inst = AsyncServer(cmd["mode"], cmd["path"], cmd.get("target", 0), args.json, args.buf,
                                       args.send_buffer)
                ctl.mode = cmd["mode"]
                await ctl.inst.start()
                ctl.cpu0 = cpu_seconds()
                res: dict[str, Any] | None = {"ok": True}
            elif cmd["op"] == "close":
                if ctl.inst is not None:
                    await ctl.inst.stop()
                    ctl.inst = None
                res = {"ok": True}
            else:
                res = ctl.simple(cmd)
            if res is None:  # result
                waited = ctl.mode != "ingest" or await ctl.inst.wait(cmd.get("timeout", 120))
                res = ctl.finish_result(waited)
        except Exception as exc:  # reported to the orchestrator, which fails the row loudly
            res = {"error": f"{type(exc).__name__}: {exc}"}
        reply(res)


def main(args: argparse.Namespace, control: Any, reply: Callable[[dict[str, Any]], None]) -> None:
    """Serve commands from stdin until it closes, on asyncio's loop or uvloop's."""
    if args.impl == "uvloop":
        import uvloop

        if hasattr(uvloop, "run"):
            uvloop.run(_serve(args, control, reply))
            return
        uvloop.install()  # older uvloop releases
    asyncio.run(_serve(args, control, reply))
