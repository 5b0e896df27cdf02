"""rxunix's own cost per read of an echo server against the hand-written loop, in process.

Run by hand (not a test)::

    python bench/profile_read.py                    # orjson, reads of 1 and 66 lines
    python bench/profile_read.py --json simplejson --lines 1,66,508

One real ``unix_socket_server`` with one connection (``profile_chains.Rig``: a
socketpair whose far end is drained after each read), echoing
(``out.subscribe(in_)``). Each pass hands it ``--reads`` reads of ``--lines`` lines as
its read loop does (the read's work under the collector pause of
``rxunix/edge/gcpause.py``; reads under 4 KiB run unpaused); the hand-written loop of
``bench_server.py`` does the same reads on the same connection with the same JSON
library (split with a carried partial line, decode, one joined encode, ``sendall``).
Both include the drain of the far end. Rounds interleave the two; cells are µs per
read, the best pass of each round, median [min-max] over ``--rounds`` rounds;
``over hand`` is the difference of the medians: what rxunix adds per read.

``--cold`` times reads as a round trip's server finds them: before each read the
caches are disturbed (``--cold-bytes`` of memory touched and ``--cold-objects`` small
dicts walked, the kind of work the load generator's turn on the same CPU does), and
each read is timed on its own; reads alternate between the two rows. Cells: p50,
p90 and p99 of the single reads in µs, and rxunix over hand at p50 and p99. Hot,
the difference is what rxunix's code costs; cold, it also counts how much code and
data a read touches, which is what a round trip pays in ``bench_server.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import JSON_LIBS, Spread, header, json_funcs, lines_of, table  # noqa: E402
from _lines import LINE  # noqa: E402
from profile_chains import Rig  # noqa: E402

from rxunix.edge.gcpause import MIN_BYTES, GcPause  # noqa: E402


def rxunix_pass(rig: Rig, chunk: bytes, reads: int) -> Callable[[], float]:
    take, read, conn = GcPause().run, rig.server._read, rig.conn

    def run() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(reads):
            take(read, conn, chunk)
            rig.drain()
        return (time.perf_counter_ns() - t0) / 1000 / reads

    return run


def hand_pass(rig: Rig, lib: str, chunk: bytes, reads: int) -> Callable[[], float]:
    decode_all, encode_all = json_funcs(lib)
    sendall = rig.conn.raw.sendall

    def run() -> float:
        carry = bytearray()
        t0 = time.perf_counter_ns()
        for _ in range(reads):
            sendall(encode_all(decode_all(lines_of(chunk, carry))))
            rig.drain()
        return (time.perf_counter_ns() - t0) / 1000 / reads

    return run


def as_read_loop(rig: Rig) -> Callable[[bytes], None]:
    """One read handled as the server's read loop handles it (small reads unpaused)."""
    server, conn = rig.server, rig.conn
    take, read, publish, receive = GcPause().run, server._read, server._publish, conn.core.receive

    def handle(data: bytes) -> None:
        if len(data) < MIN_BYTES:
            publish(conn, receive(data, lazy=True))
        else:
            take(read, conn, data)

    return handle


class Disturb:
    """Work that leaves the caches as another process's turn on the CPU would."""

    def __init__(self, nbytes: int, objects: int) -> None:
        self.junk = bytearray(nbytes)
        self.step = bytes(len(self.junk[::64]))
        self.objs = [{"a": i, "b": str(i)} for i in range(objects)]

    def __call__(self) -> int:
        self.junk[::64] = self.step
        return sum(d["a"] for d in self.objs)


def cold_rows(rig: Rig, lib: str, chunk: bytes, reads: int, disturb: Disturb) -> list[list[str]]:
    """p50/p90/p99 of single reads, each after ``disturb()``, hand and rxunix alternating."""
    decode_all, encode_all = json_funcs(lib)
    sendall, handle, carry = rig.conn.raw.sendall, as_read_loop(rig), bytearray()
    got: dict[str, list[int]] = {"hand": [], "rxunix": []}
    clock = time.perf_counter_ns
    for _ in range(reads):
        disturb()
        t0 = clock()
        sendall(encode_all(decode_all(lines_of(chunk, carry))))
        got["hand"].append(clock() - t0)
        rig.drain()
        disturb()
        t0 = clock()
        handle(chunk)
        got["rxunix"].append(clock() - t0)
        rig.drain()
    cuts = {}
    for name, ns in got.items():
        ns.sort()
        cuts[name] = [ns[int(len(ns) * q)] / 1000 for q in (0.5, 0.9, 0.99)]
    rows = []
    for name, (p50, p90, p99) in cuts.items():
        over = "" if name == "hand" else (f"{p50 - cuts['hand'][0]:+.1f} / {p99 - cuts['hand'][2]:+.1f}"
                                         f" ({p50 / cuts['hand'][0]:.2f}x / {p99 / cuts['hand'][2]:.2f}x)")
        rows.append([str(chunk.count(b"\n")), f"{len(chunk):,} B", lib, name,
                     f"{p50:.1f}", f"{p90:.1f}", f"{p99:.1f}", over])
    return rows


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="orjson", choices=JSON_LIBS)
    ap.add_argument("--lines", default="1,66", help="lines per read, comma separated (66: ~8 KiB)")
    ap.add_argument("--reads", type=int, default=2000, help="reads per pass")
    ap.add_argument("--passes", type=int, default=3, help="passes per round (best kept)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cold", action="store_true", help="each read timed alone after the caches were disturbed")
    ap.add_argument("--cold-bytes", type=int, default=1 << 20, help="--cold: bytes of memory touched before a read")
    ap.add_argument("--cold-objects", type=int, default=10_000, help="--cold: small dicts walked before a read")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 rounds of 1 pass of 20 reads")
    args = ap.parse_args(argv)
    if args.quick:
        args.reads, args.passes, args.rounds = 20, 1, 2
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    sizes = [int(n) for n in args.lines.split(",")]
    if args.cold:
        return main_cold(args, sizes)
    print(header("profile_read: rxunix's own cost per read of an echo, against the hand loop, in process",
                 [f"json {args.json}, {args.reads} reads a pass, best of {args.passes} passes, "
                  f"{args.rounds} rounds, median [min-max], us per read"]))
    rows = []
    with tempfile.TemporaryDirectory(prefix="rxr", dir="/tmp") as tmp:
        for n in sizes:
            rig = Rig("echo", args.json, 1 << 16, os.path.join(tmp, f"{n}.sock"))
            chunk = LINE * n
            passes = {"hand": hand_pass(rig, args.json, chunk, args.reads),
                      "rxunix": rxunix_pass(rig, chunk, args.reads)}
            got: dict[str, list[float]] = {name: [] for name in passes}
            for _ in range(args.rounds):
                for name, fn in passes.items():
                    got[name].append(min(fn() for _ in range(args.passes)))
            hand = Spread(got["hand"])
            for name in passes:
                cell = Spread(got[name])
                over = "" if name == "hand" else f"{cell.median - hand.median:+.1f}"
                rows.append([str(n), f"{len(chunk):,} B", args.json, name, cell.fmt(".1f"), over])
            rig.server.stop()
    print(table(["lines", "read", "json", "impl", "us/read median [min-max]", "over hand"], rows))


def main_cold(args: argparse.Namespace, sizes: list[int]) -> None:
    print(header("profile_read --cold: single reads of an echo after the caches were disturbed, in process",
                 [f"json {args.json}, {args.reads} reads each, {args.cold_bytes:,} bytes touched and "
                  f"{args.cold_objects:,} dicts walked before every read, us per read"]))
    disturb = Disturb(args.cold_bytes, args.cold_objects)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rxr", dir="/tmp") as tmp:
        for n in sizes:
            rig = Rig("echo", args.json, 1 << 16, os.path.join(tmp, f"{n}.sock"))
            rows += cold_rows(rig, args.json, LINE * n, args.reads, disturb)
            rig.server.stop()
    print(table(["lines", "read", "json", "impl", "p50", "p90", "p99", "rxunix over hand: p50 / p99"], rows))


if __name__ == "__main__":
    main()
