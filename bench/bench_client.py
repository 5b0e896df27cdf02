"""Benchmark: rxunix ``unix_socket_client`` against hand-written clients, like for like.

Run by hand on a quiet machine (not a test)::

    python bench/bench_client.py --pin      # 300k events streamed, 20k ping-pongs, 3 rounds
    python bench/bench_client.py --quick    # smoke run

Both clients talk to the same echo server (a separate process running this file with
``--serve``: a gevent loop that echoes every complete line it receives, without
decoding, so the client side is what is measured) and do the same work with the
row's JSON library and read size: encode + newline (the hand-written client one
``join`` per ~256 KiB batch, one write each), ``recv(buf)``, split at newlines with a
carried partial line, decode. rxunix uses the json codec with ``backend=`` the same
library and ``buf_size=`` the same read size, and goes through ``in_``, its queue,
writer and reader greenlets, ``Event`` objects and the ``out`` subject. Peer rows:
``asyncio`` and ``uvloop`` clients doing the hand-written client's work on a
``BufferedProtocol`` (``_client_asyncio.py``; uvloop rows are skipped, with the
reason printed, where uvloop is not installed).

Scenarios, on the ~120-byte JSON values of ``bench/_lines.py``:

* ``stream``: a producer greenlet pushes N events, yielding once per 2048 events (as
  the hand-written client's writer yields at each ~256 KiB ``sendall``); wait for the
  N echoes (round trips/s, and CPU microseconds per event of the client process);
* ``burst``: the same, but all N events are pushed before anything is sent (nothing
  overlaps: the worst case for rxunix's wall time, CPU per event is what to compare);
* ``ping-pong``: one event in flight, the next one pushed when its echo arrives
  (round trips/s, p50/p99 latency).

Rounds alternate between the rows; cells show the median over rounds [min-max].
Every ratio divides by the hand-written client with the same JSON library and read
size. With ``--pin`` the client (this process) and the echo server get their own CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.server
import gevent.subprocess
from gevent import socket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import _client_asyncio  # noqa: E402
from _common import (  # noqa: E402
    JSON_LIBS,
    READ_SIZES,
    Spread,
    cpu_plan,
    cpu_seconds,
    header,
    json_funcs,
    kib,
    lines_of,
    missing,
    pin,
    ratio,
    rxunix_codec,
    table,
)
from _lines import sample_value  # noqa: E402

from rxunix import Event, unix_socket_client  # noqa: E402

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
_cpu = cpu_seconds


class Result:
    def __init__(self, n: int, elapsed: float, cpu: float, lat: list[float] | None = None) -> None:
        self.rate = n / elapsed
        self.cpu_us = cpu / n * 1e6
        lat = sorted(lat or [0.0])
        self.p50_us = lat[len(lat) // 2] * 1e6
        self.p99_us = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6


class Row:
    """One JSON library and read size: what the hand-written and the rxunix client share."""

    def __init__(self, lib: str, buf: int) -> None:
        self.lib, self.buf = lib, buf
        self.decode_all, self.encode_all = json_funcs(lib)


def _connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def _batches(values: list[Any], encode_all: Callable[[list[Any]], bytes]) -> list[list[Any]]:
    """Values cut so each batch encodes to about ``BATCH`` bytes."""
    per = max(1, BATCH // max(1, len(encode_all(values[:1]))))
    return [values[i : i + per] for i in range(0, len(values), per)]


def plain_stream(row: Row, path: str, values: list[Any]) -> Result:
    s = _connect(path)
    n = len(values)
    decode_all, encode_all, size = row.decode_all, row.encode_all, row.buf
    batches = _batches(values, encode_all)
    t0, c0 = time.perf_counter(), _cpu()

    def writer() -> None:
        for batch in batches:
            s.sendall(encode_all(batch))

    w = gevent.spawn(writer)
    got: list[Any] = []
    carry = bytearray()
    while len(got) < n:
        data = s.recv(size)
        if not data:
            raise RuntimeError("server closed")
        got.extend(decode_all(lines_of(data, carry)))
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    w.join()
    s.close()
    assert got[-1] == values[-1]
    return Result(n, elapsed, cpu)


def plain_pingpong(row: Row, path: str, values: list[Any]) -> Result:
    s = _connect(path)
    lat: list[float] = []
    decode_all, encode_all, size = row.decode_all, row.encode_all, row.buf
    t0, c0 = time.perf_counter(), _cpu()
    buf = bytearray()
    for v in values:
        t = time.perf_counter()
        s.sendall(encode_all([v]))
        while True:
            data = s.recv(size)
            if not data:
                raise RuntimeError("server closed")
            buf += data
            if buf.endswith(b"\n"):
                break
        got = decode_all([bytes(buf[:-1])])[0]
        buf.clear()
        lat.append(time.perf_counter() - t)
        assert got == v
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    s.close()
    return Result(len(values), elapsed, cpu, lat)


def _rx_client(row: Row, path: str) -> Any:
    client = unix_socket_client(config={"path": path, "buf_size": row.buf}, codec=rxunix_codec(row.lib),
                                preprocessors=["separate"], postprocessors=["separate"])
    client.err.subscribe(lambda e: print("rxunix error:", e.value, file=sys.stderr))
    return client


def _start(client: Any) -> None:
    client.start()
    deadline = time.monotonic() + 10
    while not client.connected:  # a bench, not a test: polling the public flag is enough here
        if time.monotonic() > deadline:
            raise RuntimeError("rxunix client did not connect")
        gevent.sleep(0.001)


def rx_stream(row: Row, path: str, values: list[Any], burst: bool = False) -> Result:
    client = _rx_client(row, path)
    n = len(values)
    done = gevent.event.Event()
    state: dict[str, Any] = {"n": 0, "last": None}

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


def rx_pingpong(row: Row, path: str, values: list[Any]) -> Result:
    client = _rx_client(row, path)
    n = len(values)
    done = gevent.event.Event()
    lat: list[float] = []
    state = {"i": 0, "t": 0.0}

    def on_echo(ev: Event) -> None:
        lat.append(time.perf_counter() - state["t"])
        assert ev.value == values[int(state["i"])]
        state["i"] += 1
        if state["i"] == n:
            done.set()
            return
        state["t"] = time.perf_counter()
        client.in_.on_next(Event(values[int(state["i"])]))

    client.out.subscribe(on_echo)
    _start(client)
    t0, c0 = time.perf_counter(), _cpu()
    state["t"] = t0
    client.in_.on_next(Event(values[0]))
    done.wait()
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    client.stop()
    return Result(n, elapsed, cpu, lat)


def aio_stream(kind: str) -> Callable[[Row, str, list[Any]], Result]:
    def run(row: Row, path: str, values: list[Any]) -> Result:
        elapsed, cpu, last = _client_asyncio.stream(kind, row, path, values, _batches(values, row.encode_all))
        assert last == values[-1]
        return Result(len(values), elapsed, cpu)

    return run


def aio_pingpong(kind: str) -> Callable[[Row, str, list[Any]], Result]:
    def run(row: Row, path: str, values: list[Any]) -> Result:
        elapsed, cpu, lat = _client_asyncio.pingpong(kind, row, path, values)
        return Result(len(values), elapsed, cpu, lat)

    return run


Runner = Callable[[Row, str, list[Any]], Result]
IMPLS = ("hand", "rxunix", "asyncio", "uvloop")
#: scenario -> client -> runner (the peers' burst is their stream: they encode before sending anyway)
SCENARIOS: dict[str, dict[str, Runner]] = {
    "stream": {"hand": plain_stream, "rxunix": rx_stream, "asyncio": aio_stream("asyncio"),
               "uvloop": aio_stream("uvloop")},
    "burst": {"hand": plain_stream, "rxunix": lambda r, p, v: rx_stream(r, p, v, burst=True),
              "asyncio": aio_stream("asyncio"), "uvloop": aio_stream("uvloop")},
    "ping-pong": {"hand": plain_pingpong, "rxunix": rx_pingpong, "asyncio": aio_pingpong("asyncio"),
                  "uvloop": aio_pingpong("uvloop")},
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small runs for a smoke test")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, help="events streamed (default 300,000; --quick 5,000)")
    ap.add_argument("--pingpong", type=int, help="ping-pong round trips (default 20,000; --quick 300)")
    ap.add_argument("--reads", default=",".join(map(str, READ_SIZES)), help="read sizes in bytes")
    ap.add_argument("--json", default=",".join(JSON_LIBS), help="JSON libraries")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--impls", default=",".join(IMPLS), help="clients to run")
    ap.add_argument("--pin", action="store_true", help="pin the client and the echo server to their own CPUs")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.events = args.events or (5_000 if args.quick else 300_000)
    args.pingpong = args.pingpong or (300 if args.quick else 20_000)
    args.reads = [int(x) for x in args.reads.split(",")]
    args.json = args.json.split(",")
    args.scenarios = args.scenarios.split(",")
    args.impls = args.impls.split(",")
    bad = sorted(set(args.json) - set(JSON_LIBS)) + sorted(set(args.scenarios) - set(SCENARIOS))
    bad += sorted(set(args.impls) - set(IMPLS))
    if bad or args.rounds < 1:
        ap.error(f"unknown {bad}" if bad else "--rounds must be >= 1")
    return args


def run_all(args: argparse.Namespace, rows: list[Row], path: str) -> dict[Any, list[Result]]:
    values = [sample_value(i) for i in range(args.events)]
    results: dict[Any, list[Result]] = {}
    for row in rows:  # warm-up, not counted: imports, caches, the first connection
        for impl in args.impls:
            SCENARIOS["stream"][impl](row, path, values[: min(500, len(values))])
    for name in args.scenarios:
        vals = values[: args.pingpong] if name == "ping-pong" else values
        for _ in range(args.rounds):  # rows interleaved
            for row in rows:
                for impl in args.impls:
                    got = SCENARIOS[name][impl](row, path, vals)
                    results.setdefault((name, row.lib, row.buf, impl), []).append(got)
        print(f"  {name}: done", file=sys.stderr, flush=True)
    return results


def result_table(args: argparse.Namespace, rows: list[Row], results: dict[Any, list[Result]]) -> str:
    out: list[list[str]] = []
    for name in args.scenarios:
        for row in rows:
            base = results.get((name, row.lib, row.buf, "hand"), [])
            brate = Spread([r.rate for r in base]).median if base else 0.0
            bcpu = Spread([r.cpu_us for r in base]).median if base else 0.0
            b99 = Spread([r.p99_us for r in base]).median if base else 0.0
            for impl in args.impls:
                got = results[(name, row.lib, row.buf, impl)]
                rate, cpu = Spread([r.rate for r in got]), Spread([r.cpu_us for r in got])
                p99 = Spread([r.p99_us for r in got])
                lat = f"p50 {Spread([r.p50_us for r in got]).fmt('.1f')} / p99 {p99.fmt('.1f')}"
                lat = f"{lat} ({ratio(p99.median, b99)})" if name == "ping-pong" else ""
                out.append([name, kib(row.buf), row.lib, impl, rate.fmt(), ratio(rate.median, brate), cpu.fmt(".2f"),
                            ratio(cpu.median, bcpu), lat])
    head = ["scenario", "read", "json", "client", "round trips/s median [min-max]", "vs hand", "client CPU us/ev",
            "CPU/ev vs hand", "latency us (p99 vs hand)"]
    return table(head, out)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.serve:
        serve(args.serve, args.cpu)
        return
    plan = cpu_plan(args.pin)
    pinning = f"client CPU {plan['server']}, echo server CPU {plan['load']}" if args.pin else "off (--pin to pin)"
    print(header("bench_client: rxunix unix_socket_client vs hand-written gevent, asyncio and uvloop clients "
                 "(same JSON library, same read size)",
                 [f"stream/burst {args.events:,} events, ping-pong {args.pingpong:,}; {args.rounds} rounds, "
                  "median [min-max]",
                  f"pinning: {pinning}"]),
          flush=True)
    if "uvloop" in args.impls and missing("uvloop"):
        print(f"skipped uvloop: {missing('uvloop')}")
        args.impls.remove("uvloop")
    rows = []
    for buf in args.reads:
        for lib in args.json:
            reason = missing(lib)
            if reason:
                print(f"skipped {lib}: {reason}")
            else:
                rows.append(Row(lib, buf))
    pin(plan["server"])
    tmp = tempfile.mkdtemp(prefix="rxb-", dir="/tmp")
    path = os.path.join(tmp, "echo.sock")
    server = Server(path, plan["load"])
    try:
        results = run_all(args, rows, path)
    finally:
        server.close()
        try:
            os.unlink(path)
            os.rmdir(tmp)
        except OSError:
            pass
    print()
    print(result_table(args, rows, results))


if __name__ == "__main__":
    main()
