"""Load generator process of the socket benchmarks (gevent; one process serves every row of a run).

Reads commands from stdin, one JSON object a line, and answers one JSON line each:

* ``{"op": "ingest", "path": p, "n": N, "clients": C}``: C connections (connected
  first) send N lines in total, then close; answers ``{"t0": start}``, the
  CLOCK_MONOTONIC time just before the first send (the server side stops the clock).
* ``{"op": "echo", "path": p, "n": N, "clients": C, "until": "lines"|"mark"}``: C
  connections send N lines in total and read replies until each got as many lines
  as it sent (``lines``) or saw ``END_MARK`` (``mark``: its last line carries it);
  answers ``{"elapsed": seconds, "replies": lines received, "cpu_s": this process's CPU
  seconds meanwhile}``.
* ``{"op": "rtt", "path": p, "n": N}``: one line in flight, N times after a warm-up;
  answers ``{"p50_us", "p99_us"}``.
* ``{"op": "cpu", "cpu": k}``: pin this process to CPU k (``null``: every CPU).

Errors answer ``{"error": text}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import gevent
from _common import cpu_seconds, now, pin
from _lines import END_MARK, LINE, payload
from gevent import socket

CHUNK = 64 * 1024
WARMUP = 200


def _connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def _send(s: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    for i in range(0, len(data), CHUNK):
        s.sendall(view[i : i + CHUNK])


def _read_lines(s: socket.socket, expected: int) -> int:
    got = 0
    while got < expected:
        d = s.recv(CHUNK)
        if not d:
            raise RuntimeError(f"server closed after {got}/{expected} replies")
        got += d.count(b"\n")
    return got


def _read_until_mark(s: socket.socket) -> int:
    got, tail = 0, b""
    keep = len(END_MARK) - 1
    while True:
        d = s.recv(CHUNK)
        if not d:
            raise RuntimeError(f"server closed after {got} reply lines, before the end mark")
        got += d.count(b"\n")
        if END_MARK in tail + d[: keep * 2] or END_MARK in d:
            return got
        tail = d[-keep:]


def _shares(n: int, clients: int) -> list[int]:
    base, extra = divmod(n, clients)
    return [base + (1 if i < extra else 0) for i in range(clients)]


def ingest(path: str, n: int, clients: int) -> dict[str, Any]:
    socks = [_connect(path) for _ in range(clients)]
    datas = [payload(k) for k in _shares(n, clients)]

    def one(s: socket.socket, data: bytes) -> None:
        _send(s, data)
        s.close()

    t0 = now()
    gevent.joinall([gevent.spawn(one, s, d) for s, d in zip(socks, datas, strict=True)], raise_error=True)
    return {"t0": t0}


def echo(path: str, n: int, clients: int, until: str) -> dict[str, Any]:
    shares = _shares(n, clients)
    socks = [_connect(path) for _ in range(clients)]
    datas = [payload(k, marked=until == "mark") for k in shares]
    counts: list[int] = []

    def one(s: socket.socket, data: bytes, k: int) -> None:
        w = gevent.spawn(_send, s, data)
        counts.append(_read_until_mark(s) if until == "mark" else _read_lines(s, k))
        w.join()
        s.close()

    t0, c0 = time.perf_counter(), cpu_seconds()
    jobs = [gevent.spawn(one, s, d, k) for s, d, k in zip(socks, datas, shares, strict=True)]
    gevent.joinall(jobs, raise_error=True)
    return {"elapsed": time.perf_counter() - t0, "replies": sum(counts), "cpu_s": cpu_seconds() - c0}


def rtt(path: str, n: int) -> dict[str, Any]:
    s = _connect(path)
    lat: list[float] = []
    for i in range(n + WARMUP):
        t0 = time.perf_counter()
        s.sendall(LINE)
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(CHUNK)
            if not d:
                raise RuntimeError("server closed")
            buf += d
        if i >= WARMUP:
            lat.append(time.perf_counter() - t0)
    s.close()
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6

    return {"p50_us": pct(0.50), "p99_us": pct(0.99)}


def handle(cmd: dict[str, Any]) -> dict[str, Any]:
    op = cmd["op"]
    if op == "cpu":
        pin(cmd["cpu"])
        return {"ok": True}
    if op == "ingest":
        return ingest(cmd["path"], cmd["n"], cmd.get("clients", 1))
    if op == "echo":
        return echo(cmd["path"], cmd["n"], cmd.get("clients", 1), cmd.get("until", "lines"))
    if op == "rtt":
        return rtt(cmd["path"], cmd["n"])
    return {"error": f"unknown op {op!r}"}


def main() -> None:
    for line in sys.stdin:
        try:
            res = handle(json.loads(line))
        except Exception as exc:  # reported to the orchestrator, which fails the row loudly
            res = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
