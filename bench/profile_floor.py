"""How close rxunix's server is to the floor of its contract, in process, like for like.

Run by hand (not a test)::

    python bench/profile_floor.py                        # orjson, 8 KiB and 64 KiB reads
    python bench/profile_floor.py --json simplejson --reads 65536

One real ``unix_socket_server`` in this process with one connection (a socketpair
whose far end is drained between reads, untimed), and the hand-written loop of
``bench_server.py`` doing the same work on the same reads with the same JSON
library (``_common.json_funcs``), timed read by read with ``perf_counter_ns``: no
load generator, no hub, no greenlet switches, so the rows differ only by the code.
Rounds interleave the rows; cells are the best of ``--repeat`` passes per round,
median [min-max] over ``--rounds`` rounds, in us per event.

Rows per scenario:

* ``hand``: split at newlines (carrying the partial line), decode every line;
  echo: encode the read's replies (one join) and ``sendall`` them;
* ``floor`` (ingest only): ``hand`` plus what the Rx contract of ``out`` cannot do
  without: one :class:`~rxunix.Event` per value (``Event.many``) and one call of the
  subscriber per event (a plain ``for`` loop calling a counting function);
* ``rxunix``: the server's own path for a read (``ServerConn.receive``, then
  ``_publish``: events on ``out``, replies gathered, encoded, written). Ingest
  subscribes one counting function to ``out``; echo is ``out.subscribe(in_)``.

``vs hand`` divides the hand row's median by the row's (events/s as a ratio);
``over floor`` is the rxunix row's us per event above the floor row's.
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

from _common import JSON_LIBS, READ_SIZES, Spread, header, json_funcs, kib, lines_of, table  # noqa: E402
from _lines import LINE  # noqa: E402
from profile_chains import Rig  # noqa: E402

from rxunix import Event  # noqa: E402
from rxunix.edge.gcpause import GcPause  # noqa: E402

READS_PER_PASS = 40


def rxunix_pass(rig: Rig, chunks: list[bytes]) -> float:
    """us per event of the server's handling of ``chunks`` (receive, publish, write)."""
    core, send, conn, total, events = rig.conn.core, rig.server._try_send, rig.conn, 0, 0
    take, read = GcPause().run, rig.server._read  # as the server's read loop: the collector paused
    before = rig.server.stats["out"]
    for chunk in chunks:
        t0 = time.perf_counter_ns()
        take(read, conn, chunk)
        while core.pending:
            send(conn)
        total += time.perf_counter_ns() - t0
        rig.drain()
    events = rig.server.stats["out"] - before
    return total / 1000 / events


def hand_pass(lib: str, echo: bool, floor: bool, rig: Rig) -> Callable[[list[bytes]], float]:
    """The hand-written loop's handling of ``chunks`` (``floor``: plus events and a call each)."""
    decode_all, encode_all = json_funcs(lib)
    many, meta = Event.many, rig.conn.core.meta
    sendall = rig.conn.raw.sendall
    seen = [0]

    def on_event(_event: Event) -> None:
        seen[0] += 1

    def run(chunks: list[bytes]) -> float:
        carry, total, events = bytearray(), 0, 0
        for chunk in chunks:
            t0 = time.perf_counter_ns()
            parts = lines_of(chunk, carry)
            if parts:
                values = decode_all(parts)
                if echo:
                    sendall(encode_all(values))
                elif floor:
                    for event in many(values, meta):
                        on_event(event)
                events += len(parts)
            total += time.perf_counter_ns() - t0
            rig.drain()
        return total / 1000 / events

    return run


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="orjson", choices=JSON_LIBS)
    ap.add_argument("--reads", default=",".join(map(str, READ_SIZES)), help="read sizes in bytes")
    ap.add_argument("--repeat", type=int, default=3, help="passes per round (best kept)")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 rounds of 1 pass")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.repeat = 2, 1
    args.reads = [int(r) for r in args.reads.split(",") if r]
    return args


def measure(args: argparse.Namespace, tmp: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for buf in args.reads:
        data = LINE * (buf // len(LINE) * READS_PER_PASS)
        chunks = [data[i:i + buf] for i in range(0, len(data), buf)]
        for scenario in ("ingest", "echo"):
            rig = Rig(scenario, args.json, buf, os.path.join(tmp, f"{scenario}-{buf}.sock"))
            echo = scenario == "echo"
            impls: dict[str, Callable[[list[bytes]], float]] = {"hand": hand_pass(args.json, echo, False, rig)}
            if scenario == "ingest":
                impls["floor"] = hand_pass(args.json, False, True, rig)
            impls["rxunix"] = lambda c, r=rig: rxunix_pass(r, c)  # type: ignore[misc]
            got: dict[str, list[float]] = {name: [] for name in impls}
            for _ in range(args.rounds):
                for name, fn in impls.items():
                    got[name].append(min(fn(chunks) for _ in range(args.repeat)))
            hand = Spread(got["hand"]).median
            for name, values in got.items():
                cells = Spread(values)
                over = ""
                if name == "rxunix" and "floor" in got:
                    over = f"{Spread([a - b for a, b in zip(values, got['floor'], strict=True)]).median:+.3f}"
                vs_hand = f"{hand / cells.median:.2f}x"
                rows.append([scenario, kib(buf), args.json, name, cells.fmt(".3f"), vs_hand, over])
    return rows


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    print(header("profile_floor: rxunix's server against the hand loop and the contract's floor, in process",
                 [f"json {args.json}, reads {', '.join(kib(r) for r in args.reads)}, {READS_PER_PASS} reads a pass, "
                  f"best of {args.repeat} passes, {args.rounds} rounds, median [min-max]"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="rxf-", dir="/tmp") as tmp:
        rows = measure(args, tmp)
    print(table(["scenario", "read", "json", "row", "us/event median [min-max]", "vs hand", "over floor us/ev"], rows))


if __name__ == "__main__":
    main()
