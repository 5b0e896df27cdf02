"""Benchmark: echo through a count-100 tumbling window against plain echo, same run.

Run by hand (not a test)::

    python bench/bench_window.py                 # 200k events, 1 and 10 clients, best of 3
    python bench/bench_window.py --events 50000 --repeat 2

Server (this process, gevent hub, ``separate`` + ``json`` both ways):

* ``echo``:   ``server.out.subscribe(server.in_)``: every event is replied;
* ``window``: ``server.out.pipe(tumbling_count(100, key=connection_key)).subscribe(server.in_)``:
  every 100 events of a connection become one aggregate (a JSON list of the 100
  values) replied to that connection;

The end-to-end ratio (the issue's measure: the window may cost at most 15% of plain
echo's events/s, i.e. ratio >= 0.85) mixes the window's cost with the savings of
writing one reply instead of 100, so the window's own cost is also measured in
process, for information: the same events pushed through
``Subject -> tumbling_count(100, key=connection_key)`` against a bare ``Subject``; the
difference per event, times echo's events/s, is the share of echo's CPU per event
that the window operator itself takes (``window operator's CPU``).

Clients run in a separate process (this file with ``--client``): C connections
share N ~120-byte JSON lines, send them and read until every expected reply line
arrived. events/s = N / (first send .. last reply). The ratio window/echo is
printed; the target is >= 0.85 (the window costs at most 15%). Rounds are
interleaved so both see the same machine state; the best round of each is kept.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

WINDOW = 100


def client_main(path: str, n: int, clients: int, per_window: int) -> None:
    """Client process: send shares of n lines over `clients` connections, read all replies."""
    import gevent
    from _lines import sample_lines  # type: ignore[import-not-found]
    from gevent import socket

    lines = sample_lines(n)
    shares = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    socks = []
    for _ in range(clients):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        socks.append(s)
    payloads, start = [], 0
    for k in shares:
        payloads.append(b"\n".join(lines[start : start + k]) + b"\n")
        start += k

    def one(s: socket.socket, data: bytes, expected: int) -> None:
        sender = gevent.spawn(s.sendall, data)
        got = 0
        while got < expected:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise RuntimeError(f"server closed after {got}/{expected} replies")
            got += chunk.count(b"\n")
        sender.join()
        s.close()

    t0 = time.perf_counter()
    gevent.joinall(
        [gevent.spawn(one, s, p, -(-k // per_window)) for s, p, k in zip(socks, payloads, shares, strict=True)],
        raise_error=True,
    )
    print(time.perf_counter() - t0, flush=True)


def run_round(mode: str, n: int, clients: int) -> float:
    import gevent.subprocess

    import rxunix
    from rxunix.operators import connection_key, tumbling_count

    d = tempfile.mkdtemp(prefix="rxw-", dir="/tmp")
    path = os.path.join(d, "s.sock")
    server = rxunix.unix_socket_server(
        config={"path": path}, codec="json", preprocessors=["separate"], postprocessors=["separate"]
    )
    errors: list[object] = []
    server.err.subscribe(errors.append)
    if mode == "echo":
        server.out.subscribe(server.in_)
        per_window = 1
    else:
        server.out.pipe(tumbling_count(WINDOW, key=connection_key)).subscribe(server.in_)
        per_window = WINDOW
    server.start()
    try:
        proc = gevent.subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--client", path, str(n), str(clients), str(per_window)],
            stdout=gevent.subprocess.PIPE,
        )
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"client failed ({proc.returncode})")
        elapsed = float(out.decode().strip().splitlines()[-1])
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)
    if errors:
        raise RuntimeError(f"{mode}: {len(errors)} error events, first {errors[0]!r}")
    return n / elapsed


def window_overhead_us(n: int = 100_000, repeat: int = 5) -> float:
    """Extra microseconds per event of the window operator alone (best of ``repeat``)."""
    from types import MappingProxyType

    from reactivex.subject import Subject

    from rxunix.event import Event
    from rxunix.operators import connection_key, tumbling_count

    meta = MappingProxyType({"unix_socket_server": {"path": "/s", "peer": 1, "pid": 1, "uid": 0, "gid": 0}})
    events = [Event({"id": i}, meta) for i in range(n)]

    def once(windowed: bool) -> float:
        s: Subject[Event] = Subject()
        src = s.pipe(tumbling_count(WINDOW, key=connection_key)) if windowed else s
        src.subscribe(lambda _e: None)
        t0 = time.perf_counter()
        for ev in events:
            s.on_next(ev)
        return (time.perf_counter() - t0) / n * 1e6

    bare, windowed = [], []
    for _ in range(repeat):  # interleaved, best of each
        bare.append(once(False))
        windowed.append(once(True))
    return min(windowed) - min(bare)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--clients", type=int, nargs="*", default=[1, 10])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--client", nargs=4, metavar=("PATH", "N", "CLIENTS", "PER_WINDOW"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        sys.path.insert(0, HERE)
        p, n, c, w = args.client
        client_main(p, int(n), int(c), int(w))
        return
    print(f"{args.events} events, ~120-byte JSON lines, window = tumbling_count({WINDOW}, key=connection_key)")
    overhead = window_overhead_us()
    print(f"window operator alone: +{overhead:.2f} us/event over a bare Subject")
    for clients in args.clients:
        modes = ("echo", "window")
        best = dict.fromkeys(modes, 0.0)
        for _ in range(args.repeat):
            for mode in modes:
                best[mode] = max(best[mode], run_round(mode, args.events, clients))
        for mode in modes[1:]:
            ratio = best[mode] / best["echo"]
            print(
                f"clients={clients:3d}  echo {best['echo']:10,.0f} ev/s   {mode:13s} {best[mode]:10,.0f} ev/s"
                f"   ratio = {ratio:.2f}  (target >= 0.85: {'met' if ratio >= 0.85 else 'NOT met'})"
            )
        share = overhead * best["echo"] / 1e6
        print(f"clients={clients:3d}  window operator's CPU = {share:.1%} of echo's CPU per event")


if __name__ == "__main__":
    main()
