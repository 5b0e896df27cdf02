"""Client driver process for bench/bench_server.py (one process shared by every server under test).

Reads commands from stdin, one JSON object a line, and answers one JSON line each:

* ``{"op": "ingest", "path": p, "n": N, "clients": C}``: C connections send N lines in total,
  then close; answers ``{"sent": N}`` (the server side measures).
* ``{"op": "echo", "path": p, "n": N, "clients": C}``: C connections send N lines in total and
  read every reply; answers ``{"elapsed": seconds, "replies": N}``.
* ``{"op": "rtt", "path": p, "n": N}``: one request in flight, N times; answers latency
  percentiles in microseconds.
* ``{"op": "cpu", "cpu": k}``: pin this process to CPU k (``null``: all CPUs).
"""

from __future__ import annotations

import json
import os
import sys
import time

import gevent
from gevent import socket

LINE = (
    b'{"id":123456,"ts":1700000000.123456,"host":"web-01.example.com","level":"info",'
    b'"msg":"request served in 12 ms","tags":["a","b"]}\n'
)
CHUNK = 64 * 1024


def _payload(n: int) -> bytes:
    return LINE * n


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
            break
        got += d.count(b"\n")
    return got


def _shares(n: int, clients: int) -> list[int]:
    base, extra = divmod(n, clients)
    return [base + (1 if i < extra else 0) for i in range(clients)]


def ingest(path: str, n: int, clients: int) -> dict[str, object]:
    socks = [_connect(path) for _ in range(clients)]

    def one(s: socket.socket, k: int) -> None:
        _send(s, _payload(k))
        s.close()

    gevent.joinall([gevent.spawn(one, s, k) for s, k in zip(socks, _shares(n, clients), strict=True)], raise_error=True)
    return {"sent": n}


def echo(path: str, n: int, clients: int) -> dict[str, object]:
    socks = [_connect(path) for _ in range(clients)]
    counts: list[int] = []

    def one(s: socket.socket, k: int) -> None:
        w = gevent.spawn(_send, s, _payload(k))
        counts.append(_read_lines(s, k))
        w.join()
        s.close()

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(one, s, k) for s, k in zip(socks, _shares(n, clients), strict=True)], raise_error=True)
    return {"elapsed": time.perf_counter() - t0, "replies": sum(counts)}


def rtt(path: str, n: int) -> dict[str, object]:
    s = _connect(path)
    lat: list[float] = []
    for i in range(n + 200):
        t0 = time.perf_counter()
        s.sendall(LINE)
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(CHUNK)
            if not d:
                raise RuntimeError("server closed")
            buf += d
        if i >= 200:  # warm-up
            lat.append(time.perf_counter() - t0)
    s.close()
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6

    return {"p50_us": pct(0.50), "p99_us": pct(0.99), "n": n}


def main() -> None:
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "cpu":
            cpu = cmd["cpu"]
            os.sched_setaffinity(0, range(os.cpu_count() or 1) if cpu is None else {cpu})
            res: dict[str, object] = {"ok": True}
        elif op == "ingest":
            res = ingest(cmd["path"], cmd["n"], cmd.get("clients", 1))
        elif op == "echo":
            res = echo(cmd["path"], cmd["n"], cmd.get("clients", 1))
        elif op == "rtt":
            res = rtt(cmd["path"], cmd["n"])
        else:
            res = {"error": f"unknown op {op}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
