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

from rxunix.edge.gcpause import GcPause  # noqa: E402


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


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="orjson", choices=JSON_LIBS)
    ap.add_argument("--lines", default="1,66", help="lines per read, comma separated (66: ~8 KiB)")
    ap.add_argument("--reads", type=int, default=2000, help="reads per pass")
    ap.add_argument("--passes", type=int, default=3, help="passes per round (best kept)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 rounds of 1 pass of 20 reads")
    args = ap.parse_args(argv)
    if args.quick:
        args.reads, args.passes, args.rounds = 20, 1, 2
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    sizes = [int(n) for n in args.lines.split(",")]
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


if __name__ == "__main__":
    main()
