"""Benchmark: ``rxunix run --workers N``, fan-in echo, events/s for N = 1, 2, 4, 8 workers.

Run by hand on a quiet machine with at least 8 free cores (not a test)::

    python bench/bench_workers.py                  # 64 clients x 5,000 events, N = 1 2 4 8
    python bench/bench_workers.py --work-us 20     # with ~20 us of CPU work per event
    python bench/bench_workers.py --global-window 100   # one global window across workers
    python bench/bench_workers.py --quick          # smoke run (numbers mean nothing)

The server is ``rxunix run --workers N`` on an echo flow (``separate`` + ``json``,
every event replied to its connection, optionally after ``--work-us`` microseconds
of busy CPU work per event; with ``--global-window K`` instead every event goes to
one ``across_workers(tumbling_count(K))`` whose aggregates, ``{client: events}``,
are replied to their contributors, and a client is done once the aggregates it
got count all its events). The load comes from ``--loaders`` separate processes
(default: half the usable CPUs, at most 8), each driving its share of the
``--clients`` connections with non-blocking sockets: every client writes its
events as fast as the socket takes them and counts the reply lines. events/s =
all replies / (first send .. last reply), on CLOCK_MONOTONIC shared by the
processes. The ratio column is events/s over the one-worker row of the same run.

On a machine with fewer free cores than workers + loaders the workers only share
the same cores, and the ratio says nothing about scaling: the header prints the
usable CPU count; read the table with it.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from _common import Spread, header, now, ratio, table  # noqa: E402

FLOW = '''
import time

def flow(ctx):
    work = float(ctx.param("work_us", "0")) / 1e6
    s = ctx.server(codec="json", preprocessors=["separate"], postprocessors=["separate"],
                   config={"path": ctx.param("socket")})
    size = int(ctx.param("global_window", "0"))
    if size:  # one global window: each aggregate counts the events per client, replied to contributors
        from collections import Counter
        from rxunix.app.across import across_workers
        from rxunix.rx.windows import tumbling_count

        def per_client(values):
            return {str(c): n for c, n in Counter(v["c"] for v in values).items()}

        s.out.pipe(across_workers(tumbling_count(size, reduce=per_client))).subscribe(s.in_)
    elif work:
        def busy(e):
            end = time.perf_counter() + work
            while time.perf_counter() < end:
                pass
            return e
        from reactivex import operators as ops
        s.out.pipe(ops.map(busy)).subscribe(s.in_)
    else:
        s.out.subscribe(s.in_)
'''


def loader(path: str, clients: int, events: int, first: int, counted: bool) -> None:
    """One load process: ``clients`` connections (ids from ``first``), ``events`` each; prints
    ``start end replies``. ``counted``: replies are global aggregates ``{client: events}``."""
    ids = range(first, first + clients)
    payloads = [b"".join(b'{"c":%d,"i":%d}\n' % (c, i) for i in range(events)) for c in ids]
    socks = []
    for _ in range(clients):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.setblocking(False)
        socks.append(s)
    print("connected", flush=True)
    sys.stdin.readline()  # "go"
    sel = selectors.DefaultSelector()
    state = {}
    for s, data, c in zip(socks, payloads, ids, strict=True):
        state[s.fileno()] = [s, memoryview(data), 0, str(c), b""]
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    start, left = now(), clients
    while left:
        for key, mask in sel.select(30):
            st = state[key.fd]
            s = st[0]
            if mask & selectors.EVENT_WRITE and st[1]:
                try:
                    sent = s.send(st[1][:262144])
                except BlockingIOError:
                    sent = 0
                st[1] = st[1][sent:]
                if not st[1]:
                    sel.modify(s, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                chunk = s.recv(262144)
                if not chunk:
                    raise SystemExit(f"server closed a connection after {st[2]} replies")
                if counted:
                    lines = (st[4] + chunk).split(b"\n")
                    st[4] = lines.pop()
                    st[2] += sum(json.loads(line).get(st[3], 0) for line in lines)
                else:
                    st[2] += chunk.count(b"\n")
                if st[2] >= events:
                    sel.unregister(s)
                    left -= 1
    end = now()
    print(f"{start} {end} {sum(st[2] for st in state.values())}", flush=True)


def wait_ready(proc: subprocess.Popen[str], workers: int, timeout: float = 60.0) -> None:
    assert proc.stderr is not None
    deadline, ready = time.monotonic() + timeout, 0
    while ready < workers:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"rxunix run --workers {workers} did not get ready")
        line = proc.stderr.readline()
        ready += ") ready" in line


def one_run(workers: int, args: argparse.Namespace, flow: str, tmp: str) -> float:
    """events/s of one run with ``workers`` workers."""
    path = os.path.join(tmp, f"w{workers}.sock")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    server = subprocess.Popen(
        [sys.executable, "-m", "rxunix", "run", "--workers", str(workers), flow, "--quiet",
         "--set", f"socket={path}", "--set", f"work_us={args.work_us}",
         "--set", f"global_window={args.global_window}"],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        wait_ready(server, workers)
        shares = [args.clients // args.loaders + (i < args.clients % args.loaders) for i in range(args.loaders)]
        firsts = [sum(shares[:i]) for i in range(len(shares))]
        loads = [subprocess.Popen([sys.executable, __file__, "--loader", path, str(n), str(args.events),
                                   str(first), str(int(bool(args.global_window)))],
                                  env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for n, first in zip(shares, firsts, strict=True) if n]
        for p in loads:
            assert p.stdout is not None and p.stdout.readline().strip() == "connected"
        for p in loads:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in loads:
            out, _ = p.communicate(timeout=600)
            if p.returncode:
                raise SystemExit(f"a load process failed ({p.returncode})")
            results.append([float(x) for x in out.split()])
        replies = sum(int(r[2]) for r in results)
        if replies != args.clients * args.events:
            raise SystemExit(f"{replies} replies, expected {args.clients * args.events}")
        return replies / (max(r[1] for r in results) - min(r[0] for r in results))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", default="1,2,4,8", help="worker counts, comma separated (default 1,2,4,8)")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--events", type=int, default=5000, help="events per client")
    p.add_argument("--loaders", type=int, default=0, help="load processes (default: usable CPUs / 2, 1..8)")
    p.add_argument("--work-us", type=float, default=0.0, help="busy CPU microseconds per event in the flow")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="1 and 2 workers, 8 clients x 200 events")
    p.add_argument("--global-window", type=int, default=0, metavar="K",
                   help="instead of echo: one global tumbling_count(K) across workers (across_workers)")
    p.add_argument("--loader", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.loader:
        loader(args.loader[0], int(args.loader[1]), int(args.loader[2]), int(args.loader[3]), args.loader[4] == "1")
        return 0
    if args.quick:
        args.workers, args.clients, args.events = "1,2", 8, 200
    if args.global_window and (args.clients * args.events) % args.global_window:
        p.error("--global-window: clients x events must be a multiple of K (every window closes)")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    args.loaders = args.loaders or max(1, min(8, usable // 2))
    counts = [int(x) for x in args.workers.split(",")]
    print(header("rxunix run --workers N: fan-in echo", [
        f"clients {args.clients} x {args.events} events, {args.loaders} load processes, "
        f"work {args.work_us:g} us/event, {args.rounds} round(s)"
        + (f", one global tumbling_count({args.global_window}) instead of echo" if args.global_window else ""),
        f"note: {usable} usable CPUs; scaling needs at least N + {args.loaders} free cores"]))
    with tempfile.TemporaryDirectory(prefix="rx-bw-", dir="/tmp") as tmp:
        flow = os.path.join(tmp, "flow.py")
        with open(flow, "w", encoding="utf-8") as f:
            f.write(FLOW)
        rates: dict[int, list[float]] = {n: [] for n in counts}
        for _ in range(args.rounds):
            for n in counts:
                rates[n].append(one_run(n, args, flow, tmp))
    base = Spread(rates[counts[0]]).median
    rows = [[str(n), Spread(rates[n]).fmt(), ratio(Spread(rates[n]).median, base), f"{n:.2f}x"] for n in counts]
    print(table(["workers", "events/s", f"ratio to {counts[0]}", "ideal"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
