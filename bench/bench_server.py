"""Benchmark: rxunix ``unix_socket_server`` against a hand-written gevent StreamServer loop.

Run by hand (not a test)::

    python bench/bench_server.py            # all scenarios, 3 rounds each, best round kept
    python bench/bench_server.py --quick    # smaller runs

Scenarios, ~120-byte JSON lines, ``separate`` + ``json`` both ways, buf_size 8192:

* ``ingest``: one client floods N lines; the server decodes them (events/s, server side);
* ``echo``: one client sends N lines and reads the N replies (decode, re-encode, reply);
* ``fanin``: 50 concurrent clients share N lines, each reading its own replies;
* ``rtt``: one request in flight; p50/p99 round trip, server and driver pinned to CPU 0;
* ``orjson``: echo and fanin with ``codec={"name": "json", "config": {"backend": "orjson"}}``
  against the same simplejson hand-written loop.

The hand-written baseline does the same work as rxunix's chain: split at newlines
with a carried partial line, ``simplejson`` decode (and encode + newline for
replies), one ``sendall`` per received chunk. One client driver process
(``bench/_driver.py``) serves both servers in the same run. For throughput the
server runs on CPU 0 and the driver on CPU 1 (when there are two CPUs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.server
import gevent.subprocess
import simplejson
from gevent import socket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import rxunix  # noqa: E402

BUF = 8192


class Driver:
    def __init__(self) -> None:
        self.proc = gevent.subprocess.Popen(
            [sys.executable, os.path.join(HERE, "_driver.py")],
            stdin=gevent.subprocess.PIPE, stdout=gevent.subprocess.PIPE,
        )

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("driver died")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


# ---- the hand-written baseline -------------------------------------------------------------
class HandWritten:
    """gevent StreamServer on a unix listener: split + simplejson, one write per read."""

    def __init__(self, path: str, echo: bool) -> None:
        self.count = 0
        self.target = 0
        self.done = gevent.event.Event()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1024)
        self.server = gevent.server.StreamServer(listener, self._echo if echo else self._ingest)

    def _ingest(self, sock: socket.socket, _addr: Any) -> None:
        loads = simplejson.JSONDecoder().decode
        buf = bytearray()
        recv = sock.recv
        while True:
            data = recv(BUF)
            if not data:
                break
            parts = data.split(b"\n")
            tail = parts.pop()
            if parts:
                if buf:
                    buf += parts[0]
                    parts[0] = bytes(buf)
                    buf.clear()
                n = 0
                for p in parts:
                    loads(p.decode("utf-8"))
                    n += 1
                self.count += n
                if self.count >= self.target:
                    self.done.set()
            if tail:
                buf += tail
        sock.close()

    def _echo(self, sock: socket.socket, _addr: Any) -> None:
        loads = simplejson.JSONDecoder().decode
        dumps = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        buf = bytearray()
        recv, sendall = sock.recv, sock.sendall
        while True:
            data = recv(BUF)
            if not data:
                break
            parts = data.split(b"\n")
            tail = parts.pop()
            if parts:
                if buf:
                    buf += parts[0]
                    parts[0] = bytes(buf)
                    buf.clear()
                out = [dumps(loads(p.decode("utf-8"))).encode("utf-8") + b"\n" for p in parts]
                sendall(b"".join(out))
            if tail:
                buf += tail
        sock.close()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


class RxUnix:
    def __init__(self, path: str, echo: bool, codec: Any = "json") -> None:
        self.count = 0
        self.target = 0
        self.done = gevent.event.Event()
        self.server = rxunix.unix_socket_server(
            config={"path": path, "buf_size": BUF}, codec=codec,
            preprocessors=["separate"], postprocessors=["separate"],
        )
        self.errors: list[Any] = []
        self.server.err.subscribe(self.errors.append)
        if echo:
            self.server.out.subscribe(self.server.in_)
        else:
            self.server.out.subscribe(self._count)

    def _count(self, _ev: Any) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        if self.errors:
            print("  rxunix errors:", self.errors[:3], file=sys.stderr)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Result:
    """events/s (wall) and server CPU microseconds per event."""

    def __init__(self, rate: float, cpu_us: float) -> None:
        self.rate, self.cpu_us = rate, cpu_us


def run_ingest(make: Callable[[str], Any], driver: Driver, n: int, clients: int) -> Result:
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        path = os.path.join(d, "b.sock")
        srv = make(path)
        srv.target = n
        srv.start()
        try:
            c0, t0 = _cpu(), time.perf_counter()
            driver.ask(op="ingest", path=path, n=n, clients=clients)
            if not srv.done.wait(120):
                raise RuntimeError(f"only {srv.count}/{n} events")
            return Result(n / (time.perf_counter() - t0), (_cpu() - c0) / n * 1e6)
        finally:
            srv.stop()


def run_echo(make: Callable[[str], Any], driver: Driver, n: int, clients: int) -> Result:
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        path = os.path.join(d, "b.sock")
        srv = make(path)
        srv.start()
        try:
            c0 = _cpu()
            res = driver.ask(op="echo", path=path, n=n, clients=clients)
            assert res["replies"] == n, res
            return Result(n / float(res["elapsed"]), (_cpu() - c0) / n * 1e6)
        finally:
            srv.stop()


def run_rtt(make: Callable[[str], Any], driver: Driver, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        path = os.path.join(d, "b.sock")
        srv = make(path)
        srv.start()
        try:
            return driver.ask(op="rtt", path=path, n=n)
        finally:
            srv.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="ingest,echo,fanin,rtt,orjson")
    args = ap.parse_args()
    n = 60_000 if args.quick else 300_000
    only = set(args.only.split(","))
    cpus = os.cpu_count() or 1
    driver = Driver()
    os.sched_setaffinity(0, {0})
    driver.ask(op="cpu", cpu=1 if cpus > 1 else 0)

    hand_i = lambda p: HandWritten(p, echo=False)  # noqa: E731
    hand_e = lambda p: HandWritten(p, echo=True)  # noqa: E731
    rx_i = lambda p: RxUnix(p, echo=False)  # noqa: E731
    rx_e = lambda p: RxUnix(p, echo=True)  # noqa: E731
    orj = {"name": "json", "config": {"backend": "orjson"}}
    rx_o = lambda p: RxUnix(p, echo=True, codec=orj)  # noqa: E731

    scenarios: list[tuple[str, Callable[[Any], Result], Any, Any]] = []
    if "ingest" in only:
        scenarios.append(("ingest", lambda m: run_ingest(m, driver, n, 1), hand_i, rx_i))
    if "echo" in only:
        scenarios.append(("echo", lambda m: run_echo(m, driver, n, 1), hand_e, rx_e))
    if "fanin" in only:
        scenarios.append(("fanin (50 clients)", lambda m: run_echo(m, driver, n, 50), hand_e, rx_e))
    if "orjson" in only:
        scenarios.append(("echo, rxunix orjson", lambda m: run_echo(m, driver, n, 1), hand_e, rx_o))
        scenarios.append(("fanin, rxunix orjson", lambda m: run_echo(m, driver, n, 50), hand_e, rx_o))
    for name, run, hand, rx in scenarios:
        hs: list[Result] = []
        rs: list[Result] = []
        for _ in range(args.rounds):  # alternate, keep the best of each
            hs.append(run(hand))
            rs.append(run(rx))
        h, r = max(x.rate for x in hs), max(x.rate for x in rs)
        hc, rc = min(x.cpu_us for x in hs), min(x.cpu_us for x in rs)
        print(f"{name:22s} hand {h:8,.0f} ev/s {hc:5.1f} us/ev   rxunix {r:8,.0f} ev/s {rc:5.1f} us/ev"
              f"   ratio ev/s {r / h:4.2f}x  by CPU {hc / rc:4.2f}x", flush=True)

    if "rtt" in only:
        driver.ask(op="cpu", cpu=0)  # both on CPU 0: cross-CPU wake-ups dominate otherwise
        m = 5000 if args.quick else 20000
        hs, rs = [], []
        for _ in range(args.rounds):  # alternate, keep the best of each
            hs.append(run_rtt(hand_e, driver, m))
            rs.append(run_rtt(rx_e, driver, m))
        h99 = min(x["p99_us"] for x in hs)
        r99 = min(x["p99_us"] for x in rs)
        h50 = min(x["p50_us"] for x in hs)
        r50 = min(x["p50_us"] for x in rs)
        print(f"{'rtt (1 in flight, CPU 0)':24s} hand-written p50 {h50:6.1f} us p99 {h99:6.1f} us   "
              f"rxunix p50 {r50:6.1f} us p99 {r99:6.1f} us   p99 ratio {r99 / h99:5.2f}x", flush=True)
    driver.close()


if __name__ == "__main__":
    main()
