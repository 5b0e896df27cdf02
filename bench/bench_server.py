"""Benchmark: rxunix ``unix_socket_server`` against hand-written loops, like for like.

Run by hand on a quiet machine (not a test)::

    python bench/bench_server.py --pin          # full run: 3 rounds, 8 KiB and 64 KiB reads
    python bench/bench_server.py --quick        # smoke run, well under a minute on 2 cores

Every row is one server process: an implementation (``hand``: a hand-written gevent
StreamServer loop; ``rxunix``; ``asyncio`` and ``uvloop``: a BufferedProtocol loop) x a
JSON library (``simplejson``, or ``orjson``: rxunix's json codec with
``backend="orjson"``) x a read size (rxunix's ``buf_size``; the loops' ``recv`` size).
Each does the same work on ~124-byte JSON lines: split at newlines with a carried
partial line, decode every line; echo re-encodes every value and writes each read's
replies at once. The load generator (``_driver.py``) is another process.

Scenarios: ``ingest`` (1 client floods N events, the server writes nothing; events/s
from the first send until the server decoded the last event), ``echo`` (1 client sends
N events and reads N replies), ``fanin`` (50 clients share N events, each reads its
replies), ``rtt`` (one event in flight: p50/p99 round trip; with ``--pin`` the load
generator moves onto the server's CPU). Rounds interleave the rows; each cell shows
the median over rounds and [min-max]. Server CPU per event comes from ``os.times()``
in the server process. Every ratio divides by the hand-written gevent loop with the
same JSON library and the same read size, never by another library or size.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _harness as h  # noqa: E402
from _common import JSON_LIBS, READ_SIZES, Spread, cpu_plan, describe_plan, header, kib, pin, ratio, table  # noqa: E402

IMPLS = ("hand", "rxunix", "asyncio", "uvloop")
SCENARIOS = ("ingest", "echo", "fanin", "rtt")
#: issue #13's targets for rxunix, per JSON library (events/s vs hand) and for the p99 round trip
TARGET = {"simplejson": 1.0, "orjson": 0.85}
P99_TARGET = 1.1
Key = tuple[str, str, int, str]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small runs for a smoke test")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, help="events per ingest/echo/fanin run "
                    "(default 1,000,000 ingest and 200,000 echo/fanin; --quick 10,000/5,000)")
    ap.add_argument("--rtt", type=int, help="round trips per rtt run (default 20,000; --quick 300)")
    ap.add_argument("--clients", type=int, default=50, help="fanin clients")
    ap.add_argument("--reads", default=",".join(map(str, READ_SIZES)), help="read sizes in bytes")
    ap.add_argument("--json", default=",".join(JSON_LIBS), help="JSON libraries")
    ap.add_argument("--impls", default=",".join(IMPLS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--pin", action="store_true", help="pin server and load generator to their own CPUs")
    h.add_send_buffer(ap)
    args = ap.parse_args(argv)
    ingest_n, echo_n = (10_000, 5_000) if args.quick else (1_000_000, 200_000)
    args.sizes = {"ingest": args.events or ingest_n, "echo": args.events or echo_n,
                  "fanin": args.events or echo_n, "rtt": args.rtt or (300 if args.quick else 20_000)}
    args.reads = [int(x) for x in args.reads.split(",")]
    for name, allowed in (("json", JSON_LIBS), ("impls", IMPLS), ("scenarios", SCENARIOS)):
        chosen = getattr(args, name).split(",")
        bad = sorted(set(chosen) - set(allowed))
        if bad:
            ap.error(f"--{name}: unknown {bad}; choose from {','.join(allowed)}")
        setattr(args, name, chosen)
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    h.check_send_buffer(ap, args.send_buffer)
    return args


def measure(scenario: str, srv: h.Server, driver: h.Proc, socks: h.Sockets, args: argparse.Namespace,
            plan: dict[str, int | None]) -> dict[str, float]:
    n = args.sizes[scenario]
    if scenario == "ingest":
        return h.ingest(srv, driver, socks, n)
    if scenario == "echo":
        return h.echo(srv, driver, socks, n)
    if scenario == "fanin":
        return h.echo(srv, driver, socks, n, clients=args.clients)
    if plan["server"] is not None:  # rtt: client and server on the same CPU
        driver.ask(op="cpu", cpu=plan["server"])
    try:
        return h.rtt(srv, driver, socks, n)
    finally:
        if plan["load"] is not None:
            driver.ask(op="cpu", cpu=plan["load"])


def run_all(args: argparse.Namespace, servers: dict[Key, h.Server], driver: h.Proc,
            plan: dict[str, int | None]) -> dict[tuple[str, Key], list[dict[str, float]]]:
    socks = h.Sockets()
    results: dict[tuple[str, Key], list[dict[str, float]]] = {}
    try:
        h.warm_up(servers, driver, socks, n=min(1000, args.sizes["echo"]))
        for scenario in args.scenarios:
            for _ in range(args.rounds):  # rows interleaved: each round sees the same machine state
                for key, srv in servers.items():
                    if srv.skip is None:
                        results.setdefault((scenario, key), []).append(
                            measure(scenario, srv, driver, socks, args, plan))
            print(f"  {scenario}: done", file=sys.stderr, flush=True)
    finally:
        socks.remove()
    return results


def _target_note(impl: str, r: float, goal: float) -> str:
    if impl != "rxunix":
        return ""
    return f">= {goal:.2f}: {'met' if r >= goal else 'NOT met'}"


def throughput_table(args: argparse.Namespace, keys: list[Key], results: dict[Any, list[dict[str, float]]]) -> str:
    rows: list[list[str]] = []
    for scenario in (s for s in args.scenarios if s != "rtt"):
        for impl, lib, buf, chain in keys:
            got = results.get((scenario, (impl, lib, buf, chain)))
            if not got:
                continue
            base = results.get((scenario, ("hand", lib, buf, chain)))
            rate, cpu = Spread([g["rate"] for g in got]), Spread([g["cpu_us"] for g in got])
            brate = Spread([g["rate"] for g in base]).median if base else 0.0
            bcpu = Spread([g["cpu_us"] for g in base]).median if base else 0.0
            r = rate.median / brate if brate else 0.0
            rows.append([scenario, kib(buf), lib, impl, rate.fmt(), ratio(rate.median, brate), cpu.fmt(".2f"),
                         ratio(cpu.median, bcpu), _target_note(impl, r, TARGET[lib])])
    head = ["scenario", "read", "json", "impl", "events/s median [min-max]", "ev/s vs hand",
            "server CPU us/ev", "CPU/ev vs hand", "target (rxunix)"]
    return table(head, rows)


def rtt_table(keys: list[Key], results: dict[Any, list[dict[str, float]]]) -> str:
    rows: list[list[str]] = []
    for impl, lib, buf, chain in keys:
        got = results.get(("rtt", (impl, lib, buf, chain)))
        if not got:
            continue
        base = results.get(("rtt", ("hand", lib, buf, chain)))
        p50, p99 = Spread([g["p50"] for g in got]), Spread([g["p99"] for g in got])
        b99 = Spread([g["p99"] for g in base]).median if base else 0.0
        r = p99.median / b99 if b99 else float("inf")
        note = f"<= {P99_TARGET:.2f}: {'met' if r <= P99_TARGET else 'NOT met'}" if impl == "rxunix" else ""
        rows.append(["rtt", kib(buf), lib, impl, p50.fmt(".1f"), p99.fmt(".1f"), ratio(p99.median, b99), note])
    head = ["scenario", "read", "json", "impl", "p50 us median [min-max]", "p99 us median [min-max]",
            "p99 vs hand", "target (rxunix)"]
    return table(head, rows)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    plan = cpu_plan(args.pin)
    sizes = ", ".join(f"{k} {v:,}" for k, v in args.sizes.items() if k in args.scenarios)
    print(header("bench_server: rxunix unix_socket_server vs hand-written loops (same JSON library, same read size)",
                 [f"events: {sizes}; fanin clients {args.clients}; {args.rounds} rounds, median [min-max]; "
                  + h.send_buffer_note(args.send_buffer),
                  describe_plan(plan, args.pin) + ("; rtt: load generator on the server's CPU" if args.pin else "")]),
          flush=True)
    pin(plan["orchestrator"])
    keys: list[Key] = [(i, lib, buf, "echo") for buf in args.reads for lib in args.json for i in args.impls]
    driver = h.Proc("_driver.py", [], "load generator")
    servers = h.start_servers(keys, send_buffer=args.send_buffer)
    try:
        for srv in servers.values():
            if srv.skip is not None:
                print(f"skipped {srv.name}: {srv.skip}", flush=True)
            elif plan["server"] is not None:
                srv.ask(op="cpu", cpu=plan["server"])
        if plan["load"] is not None:
            driver.ask(op="cpu", cpu=plan["load"])
        results = run_all(args, servers, driver, plan)
    finally:
        h.close_all([driver, *servers.values()])
    print()
    if any(s != "rtt" for s in args.scenarios):
        print(throughput_table(args, keys, results))
        print()
    if "rtt" in args.scenarios:
        print(rtt_table(keys, results))


if __name__ == "__main__":
    main()
