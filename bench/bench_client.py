"""Benchmark: rxunix ``unix_socket_client`` echo round trips against a plain gevent-socket client.

Run by hand (not a test)::

    python bench/bench_client.py            # 300k events streamed, 20k ping-pongs, 3 rounds
    python bench/bench_client.py --quick    # smaller runs

Both clients talk to the same hand-written echo server (a separate process running
this file with ``--serve``: a gevent loop that echoes every complete line it
receives, without decoding, so the client side is what is measured) and do the
same work: ``json`` encode + newline, one write per ~256 KiB batch, ``recv(8192)``,
split at newlines with a carried partial line, ``json`` decode. The plain client
uses simplejson and gevent sockets directly; rxunix goes through ``in_``, its
queue, writer and reader greenlets, ``Event`` objects and the ``out`` subject.

Scenarios, on the ~120-byte JSON values of ``bench/_lines.py``:

* ``stream``: a producer greenlet pushes N events, yielding once per 2048 events (as
  the plain client's writer yields at each ~256 KiB ``sendall``); wait for the N echoes
  (round trips/s, and CPU microseconds per event of the client process);
* ``burst``: the same, but all N events are pushed before anything is sent (nothing
  overlaps: the worst case for rxunix's wall time, CPU per event is what to compare);
* ``ping-pong``: one event in flight, the next one pushed when its echo arrives
  (round trips/s, p50/p99 latency).

Rounds alternate between the two clients; the best round of each is kept. The
client runs on CPU 0 and the server on CPU 1 (when there are two CPUs).
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _lines import sample_value  # noqa: E402

from rxunix.connectors.client import unix_socket_client  # noqa: E402
from rxunix.event import Event  # noqa: E402

BUF = 8192
BATCH = 256 * 1024


# ---- the echo server (subprocess) ------------------------------------------------------------
def serve(path: str, cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)

    def echo(sock: socket.socket, _addr: Any) -> None:
        tail = b""
        recv, sendall = sock.recv, sock.sendall
        while True:
            data = recv(65536)
            if not data:
                break
            data = tail + data
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if cut:
                sendall(data[:cut] if cut < len(data) else data)
        sock.close()

    server = gevent.server.StreamServer(listener, echo)
    server.start()
    print("ready", flush=True)
    server.serve_forever()  # until the benchmark terminates us


class Server:
    def __init__(self, path: str, cpu: int | None) -> None:
        args = [sys.executable, os.path.abspath(__file__), "--serve", path]
        if cpu is not None:
            args += ["--cpu", str(cpu)]
        self.proc = gevent.subprocess.Popen(args, stdout=gevent.subprocess.PIPE)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("echo server did not start")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


# ---- measurements ---------------------------------------------------------------------------
def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Result:
    def __init__(self, n: int, elapsed: float, cpu: float, lat: list[float] | None = None) -> None:
        self.rate = n / elapsed
        self.cpu_us = cpu / n * 1e6
        lat = sorted(lat or [0.0])
        self.p50_us = lat[len(lat) // 2] * 1e6
        self.p99_us = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6


_ENC = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_DEC = simplejson.JSONDecoder().decode


def _connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def plain_stream(path: str, values: list[Any]) -> Result:
    s = _connect(path)
    n = len(values)
    t0, c0 = time.perf_counter(), _cpu()

    def writer() -> None:
        parts: list[bytes] = []
        size = 0
        for v in values:
            b = _ENC(v).encode("utf-8") + b"\n"
            parts.append(b)
            size += len(b)
            if size >= BATCH:
                s.sendall(b"".join(parts))
                parts, size = [], 0
        if parts:
            s.sendall(b"".join(parts))

    w = gevent.spawn(writer)
    got: list[Any] = []
    buf = bytearray()
    while len(got) < n:
        data = s.recv(BUF)
        if not data:
            raise RuntimeError("server closed")
        lines = data.split(b"\n")
        tail = lines.pop()
        if lines and buf:
            buf += lines[0]
            lines[0] = bytes(buf)
            buf.clear()
        got.extend(_DEC(line.decode("utf-8")) for line in lines)
        if tail:
            buf += tail
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    w.join()
    s.close()
    assert got[-1] == values[-1]
    return Result(n, elapsed, cpu)


def plain_pingpong(path: str, values: list[Any]) -> Result:
    s = _connect(path)
    lat: list[float] = []
    t0, c0 = time.perf_counter(), _cpu()
    buf = bytearray()
    for v in values:
        t = time.perf_counter()
        s.sendall(_ENC(v).encode("utf-8") + b"\n")
        while True:
            data = s.recv(BUF)
            if not data:
                raise RuntimeError("server closed")
            buf += data
            if buf.endswith(b"\n"):
                break
        got = _DEC(bytes(buf[:-1]).decode("utf-8"))
        buf.clear()
        lat.append(time.perf_counter() - t)
        assert got == v
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    s.close()
    return Result(len(values), elapsed, cpu, lat)


def _rx_client(path: str) -> Any:
    client = unix_socket_client(config={"path": path, "buf_size": BUF}, codec="json",
                                preprocessors=["separate"], postprocessors=["separate"])
    client.err.subscribe(lambda e: print("rxunix error:", e.value, file=sys.stderr))
    return client


def _start(client: Any) -> None:
    client.start()
    deadline = time.monotonic() + 10
    while not client.connected:
        if time.monotonic() > deadline:
            raise RuntimeError("rxunix client did not connect")
        gevent.sleep(0.001)


def rx_stream(path: str, values: list[Any], burst: bool = False) -> Result:
    client = _rx_client(path)
    n = len(values)
    done = gevent.event.Event()
    state = {"n": 0, "last": None}

    def on_echo(ev: Event) -> None:
        state["n"] += 1
        if state["n"] == n:
            state["last"] = ev.value
            done.set()

    client.out.subscribe(on_echo)
    _start(client)
    t0, c0 = time.perf_counter(), _cpu()
    push = client.in_.on_next

    def produce() -> None:
        # like the plain client's writer, the producer yields once per ~256 KiB of events
        for k, v in enumerate(values):
            push(Event(v))
            if not burst and k % 2048 == 2047:
                gevent.sleep(0)

    producer = gevent.spawn(produce)
    done.wait()
    producer.join()
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    client.stop()
    assert state["last"] == values[-1] and client.written == n
    return Result(n, elapsed, cpu)


def rx_pingpong(path: str, values: list[Any]) -> Result:
    client = _rx_client(path)
    n = len(values)
    done = gevent.event.Event()
    lat: list[float] = []
    state = {"i": 0, "t": 0.0}

    def on_echo(ev: Event) -> None:
        lat.append(time.perf_counter() - state["t"])
        assert ev.value == values[state["i"]]
        state["i"] += 1
        if state["i"] == n:
            done.set()
            return
        state["t"] = time.perf_counter()
        client.in_.on_next(Event(values[state["i"]]))

    client.out.subscribe(on_echo)
    _start(client)
    t0, c0 = time.perf_counter(), _cpu()
    state["t"] = t0
    client.in_.on_next(Event(values[0]))
    done.wait()
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    client.stop()
    return Result(n, elapsed, cpu, lat)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.cpu)
        return
    n = 60_000 if args.quick else 300_000
    m = 5_000 if args.quick else 20_000
    two = (os.cpu_count() or 1) > 1
    if two:
        os.sched_setaffinity(0, {0})
    tmp = tempfile.mkdtemp(prefix="rxb-", dir="/tmp")
    path = os.path.join(tmp, "echo.sock")
    server = Server(path, 1 if two else None)
    try:
        values = [sample_value(i) for i in range(n)]
        scenarios: list[tuple[str, Callable[[str, list[Any]], Result], Callable[[str, list[Any]], Result],
                              list[Any]]] = [
            ("stream", plain_stream, rx_stream, values),
            ("burst", plain_stream, lambda p, v: rx_stream(p, v, burst=True), values),
            ("ping-pong", plain_pingpong, rx_pingpong, values[:m]),
        ]
        print(f"python {sys.version.split()[0]}, gevent {gevent.__version__}, {os.cpu_count()} CPUs; "
              f"stream {n} events, ping-pong {m}; best of {args.rounds}", flush=True)
        for name, plain, rx, vals in scenarios:
            ps: list[Result] = []
            rs: list[Result] = []
            for _ in range(args.rounds):
                ps.append(plain(path, vals))
                rs.append(rx(path, vals))
            p = max(ps, key=lambda r: r.rate)
            r = max(rs, key=lambda r: r.rate)
            pc, rc = min(x.cpu_us for x in ps), min(x.cpu_us for x in rs)
            line = (f"{name:10s} plain {p.rate:9,.0f} rt/s {pc:5.1f} us/ev   rxunix {r.rate:9,.0f} rt/s "
                    f"{rc:5.1f} us/ev   ratio {r.rate / p.rate:4.2f}x (by CPU {pc / rc:4.2f}x)")
            if name == "ping-pong":
                line += (f"   p50 {p.p50_us:5.1f} / {r.p50_us:5.1f} us, "
                         f"p99 {p.p99_us:5.1f} / {r.p99_us:5.1f} us (plain / rxunix)")
            print(line, flush=True)
    finally:
        server.close()
        try:
            os.unlink(path)
            os.rmdir(tmp)
        except OSError:
            pass


if __name__ == "__main__":
    main()
