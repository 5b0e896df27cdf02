"""Orchestrator side of the socket benchmarks: child processes and one measurement each.

The orchestrator (the benchmark's main process) only sends commands and waits: the
server under test runs in its own process (``_serve.py``, one per row, kept for the
whole run) and the load in another (``_driver.py``, shared by every row).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class BenchError(RuntimeError):
    """A child process failed or answered an error: the run stops, loudly."""


class Proc:
    """A child Python process speaking one JSON line per command and answer."""

    def __init__(self, script: str, args: list[str], name: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, ROOT, env.get("PYTHONPATH", "")) if p)
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise BenchError(f"{self.name}: process ended (exit {self.proc.poll()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def end_input(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        res = self.read()
        if "error" in res:
            raise BenchError(f"{self.name}: {cmd['op']}: {res['error']}")
        return res

    def close(self) -> None:
        """Close its stdin (it then ends by itself) and wait for it; kill it after 10 s."""
        self.end_input()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Server(Proc):
    """``_serve.py`` for one row; ``skip`` holds the reason when the row cannot run here."""

    def __init__(self, impl: str, lib: str, buf: int, chain: str = "echo", gap: float = 0.05,
                 send_buffer: int | None = None) -> None:
        args = ["--impl", impl, "--json", lib, "--buf", str(buf), "--chain", chain, "--gap", str(gap)]
        if send_buffer is not None:
            args += ["--send-buffer", str(send_buffer)]
        super().__init__("_serve.py", args, f"{impl}/{lib}/{buf}/{chain}")
        self.skip: str | None = None

    def wait_ready(self) -> None:
        first = self.read()
        self.skip = first.get("skip")
        if self.skip is None and not first.get("ready"):
            raise BenchError(f"{self.name}: did not start: {first}")


class Sockets:
    """Fresh unix socket paths under one short temporary directory."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="rxb-", dir="/tmp")
        self._n = itertools.count()

    def path(self) -> str:
        return os.path.join(self.dir, f"s{next(self._n)}.sock")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _check_errors(server: Server, res: dict[str, Any]) -> None:
    if res.get("errors"):
        raise BenchError(f"{server.name}: {res['errors']} error events during the run")


def ingest(server: Server, driver: Proc, socks: Sockets, n: int, clients: int = 1) -> dict[str, float]:
    """Events/s (first send .. the server decoded the last event) and server CPU us/event."""
    path = socks.path()
    server.ask(op="open", mode="ingest", path=path, target=n)
    try:
        t0 = driver.ask(op="ingest", path=path, n=n, clients=clients)["t0"]
        res = server.ask(op="result", timeout=300)
    finally:
        server.ask(op="close")
    _check_errors(server, res)
    return {"rate": n / (res["t_last"] - t0), "cpu_us": res["cpu_s"] / n * 1e6}


def echo(server: Server, driver: Proc, socks: Sockets, n: int, clients: int = 1,
         until: str = "lines", idle: float = 0.0) -> dict[str, float]:
    """Events/s (first send .. last reply read, client side, less ``idle`` seconds the
    server waits by design, e.g. a session gap), server CPU us/event and the load
    generator's CPU us/event (``client_us``)."""
    path = socks.path()
    server.ask(op="open", mode="echo", path=path)
    try:
        got = driver.ask(op="echo", path=path, n=n, clients=clients, until=until)
        res = server.ask(op="result")
    finally:
        server.ask(op="close")
    _check_errors(server, res)
    if until == "lines" and got["replies"] != n:
        raise BenchError(f"{server.name}: {got['replies']} replies for {n} events")
    return {"rate": n / (got["elapsed"] - idle), "cpu_us": res["cpu_s"] / n * 1e6,
            "client_us": got["cpu_s"] / n * 1e6}


def rtt(server: Server, driver: Proc, socks: Sockets, n: int) -> dict[str, float]:
    """p50 and p99 of one line's round trip, one in flight (microseconds)."""
    path = socks.path()
    server.ask(op="open", mode="echo", path=path)
    try:
        got = driver.ask(op="rtt", path=path, n=n)
        res = server.ask(op="result")
    finally:
        server.ask(op="close")
    _check_errors(server, res)
    return {"p50": got["p50_us"], "p99": got["p99_us"]}


def add_send_buffer(ap: argparse.ArgumentParser) -> None:
    """The ``--send-buffer BYTES`` option: every server row's connections get that kernel
    send buffer (rxunix's ``send_buffer_bytes``, ``SO_SNDBUF`` in the other loops)."""
    ap.add_argument("--send-buffer", type=int, metavar="BYTES",
                    help="every connection's kernel send buffer, every row alike (rxunix: send_buffer_bytes; "
                         "the other loops: SO_SNDBUF); default: the kernel's")


def check_send_buffer(ap: argparse.ArgumentParser, size: int | None) -> None:
    """Refuse a ``--send-buffer`` the kernel would not grant every row alike (it caps
    ``SO_SNDBUF`` silently, rxunix refuses it), before any server starts."""
    from rxunix import ConfigError
    from rxunix.edge.sockbuf import check_send_buffer as check

    if size is None:
        return
    if size <= 0:
        ap.error(f"--send-buffer must be > 0, got {size}")
    try:
        check("--send-buffer", size)
    except ConfigError as exc:
        ap.error(str(exc))


def send_buffer_note(size: int | None) -> str:
    """The header's words for the rows' send buffer."""
    return f"send buffer {size:,} bytes" if size else "send buffer the kernel's default"


def start_servers(keys: list[tuple[str, str, int, str]], gap: float = 0.05,
                  send_buffer: int | None = None) -> dict[tuple[str, str, int, str], Server]:
    """One server process per ``(impl, lib, buf, chain)``, started together; ``send_buffer``:
    every connection's kernel send buffer (``SO_SNDBUF``; None: the kernel's default)."""
    servers = {k: Server(*k, gap=gap, send_buffer=send_buffer) for k in keys}
    for s in servers.values():
        s.wait_ready()
    return servers


def warm_up(servers: dict[Any, Server], driver: Proc, socks: Sockets, n: int = 1000, until: str = "lines") -> None:
    """One small ingest and echo run per server, not counted: imports, caches and the
    first connection's setup happen here instead of in the first round."""
    for srv in servers.values():
        if srv.skip is None:
            ingest(srv, driver, socks, n)
            echo(srv, driver, socks, n, until=until)


def close_all(procs: list[Any]) -> None:
    """End every process: all their inputs first, so that they wind down together."""
    for p in procs:
        p.end_input()
    for p in procs:
        p.close()
