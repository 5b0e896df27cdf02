"""Benchmark: what an operator between ``server.out`` and ``server.in_`` costs, like for like.

Run by hand on a quiet machine (not a test)::

    python bench/bench_window.py --pin        # 200,000 events, 1 and 10 clients, 3 rounds
    python bench/bench_window.py --quick      # smoke run

Rows (rxunix ``unix_socket_server``, ``separate`` + ``json``; compared only with the
``echo`` row of the same implementation, JSON library and read size):

* ``echo``: ``server.out.subscribe(server.in_)``: every event is replied;
* ``map``: one ``ops.map(lambda ev: ev)`` added; its cost is reported in us per event
  (server CPU difference to ``echo``, and in process: ``Subject -> map`` vs a bare
  ``Subject``, which is free of socket noise);
* ``map_values``: one ``rxunix.operators.map_values(lambda v: v)`` instead (the same
  map on values, a read kept one batch); its cost as for ``map``;
* ``tumbling``: ``tumbling_count(100, key=connection_key)``: one aggregate (the list of
  100 values) per 100 events of a connection;
* ``sliding``: ``sliding_count(100, 10, key=connection_key)`` replying every window
  whole (each event is in 10 windows: ten times echo's reply values);
* ``sliding_mean`` (an extra row, not a target): the same windows with a small
  ``reduce=`` (the mean ``id`` and the last ``msg``), one small reply per window;
* ``session``: ``session_window(gap, key=connection_key)`` (events/s exclude the final
  ``gap`` the last session waits before it closes).

With ``sliding`` among the chains, two hand-written gevent loops run beside them (``--no-hand``
leaves them out): ``echo`` and ``sliding`` by hand (``_serve_gevent.HandServer``: the same
windows, replied whole, each block of 10 values encoded once and each window joined from its
blocks: the least work these replies take). Their ratio is what ten times echo's reply bytes
leave of echo's events/s to a loop that does nothing else. Hand rows are compared with the
hand-written echo; the last column of the rxunix ``echo`` and ``sliding`` rows also gives
their events/s against the hand-written loop's.

The sliding and session rows print "not available" if ``rxunix.operators`` lacks them.

Each client's last line carries a marker; events/s = N / (first send .. the reply
holding the last marker read). Each connection gets a multiple of 100 events, so its
last window is complete. Server CPU per event: ``os.times``-style process CPU of the
server process; client CPU per event: the load generator's (it reads every reply, so
a chain that replies more costs it more). Rounds interleave the rows; cells show
median [min-max].
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import _harness as h  # noqa: E402
from _common import JSON_LIBS, READ_SIZES, Spread, cpu_plan, describe_plan, header, kib, pin, ratio, table  # noqa: E402

CHAINS = ("echo", "map", "map_values", "tumbling", "sliding", "sliding_mean", "session")
#: targets: issue #13 (map <= 0.2 us/event, tumbling >= 0.85x of echo), issue #18 (sliding >= 0.7x)
TARGETS = {"tumbling": 0.85, "sliding": 0.7}
MAP_TARGET_US = 0.2
Key = tuple[str, str, int, str]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small runs for a smoke test")
    ap.add_argument("--events", type=int, help="events per run (default 200,000; --quick 5,000)")
    ap.add_argument("--clients", default="1,10", help="client counts, comma separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reads", default=",".join(map(str, READ_SIZES)), help="read sizes in bytes")
    ap.add_argument("--json", default=",".join(JSON_LIBS), help="JSON libraries")
    ap.add_argument("--chains", default=",".join(CHAINS))
    ap.add_argument("--gap", type=float, default=0.05, help="session window gap (s)")
    ap.add_argument("--pin", action="store_true", help="pin server and load generator to their own CPUs")
    ap.add_argument("--no-hand", action="store_true", help="leave out the hand-written echo and sliding loops")
    h.add_send_buffer(ap)
    args = ap.parse_args(argv)
    args.events = args.events or (5_000 if args.quick else 200_000)
    args.clients = [int(c) for c in args.clients.split(",")]
    args.reads = [int(x) for x in args.reads.split(",")]
    args.json = args.json.split(",")
    args.chains = args.chains.split(",")
    if "echo" not in args.chains:
        args.chains.insert(0, "echo")  # the base of every ratio
    bad = sorted(set(args.chains) - set(CHAINS)) + sorted(set(args.json) - set(JSON_LIBS))
    if bad or args.rounds < 1:
        ap.error(f"unknown {bad}" if bad else "--rounds must be >= 1")
    h.check_send_buffer(ap, args.send_buffer)
    return args


def events_for(n: int, clients: int) -> int:
    """``n`` rounded so every client sends a multiple of 100 events (at least 100)."""
    unit = 100 * clients
    return max(unit, n // unit * unit)


def run_all(args: argparse.Namespace, servers: dict[Key, h.Server], driver: h.Proc) -> dict[Any, list[dict[str, Any]]]:
    socks = h.Sockets()
    results: dict[Any, list[dict[str, Any]]] = {}
    try:
        h.warm_up(servers, driver, socks, n=events_for(min(1000, args.events), 1), until="mark")
        for clients in args.clients:
            n = events_for(args.events, clients)
            for _ in range(args.rounds):
                for key, srv in servers.items():
                    if srv.skip is not None:
                        continue
                    if key[3] == "session":  # the last session closes `gap` after the last event
                        got = h.echo(srv, driver, socks, n, clients, until="mark", idle=args.gap)
                    else:
                        got = h.echo(srv, driver, socks, n, clients, until="mark")
                    results.setdefault((clients, key), []).append(got)
            print(f"  {clients} clients: done", file=sys.stderr, flush=True)
    finally:
        socks.remove()
    return results


def _note(impl: str, chain: str, r: float, extra_us: float, vs_hand: float | None) -> str:
    if impl == "hand":
        return ""
    if chain in ("map", "map_values"):
        return f"{extra_us:+.2f} us/ev (<= {MAP_TARGET_US}: {'met' if extra_us <= MAP_TARGET_US else 'NOT met'})"
    goal = TARGETS.get(chain)
    notes = [] if goal is None else [f">= {goal:.2f}: {'met' if r >= goal else 'NOT met'}"]
    if vs_hand is not None:
        notes.append(f"{vs_hand:.2f}x of the hand loop's events/s")
    return "; ".join(notes)


def result_table(args: argparse.Namespace, keys: list[Key], servers: dict[Key, h.Server],
                 results: dict[Any, list[dict[str, Any]]]) -> str:
    rows: list[list[str]] = []
    for clients in args.clients:
        for key in keys:
            impl, lib, buf, chain = key
            if servers[key].skip is not None:
                continue
            got, base = results[(clients, key)], results[(clients, (impl, lib, buf, "echo"))]
            rate, cpu = Spread([g["rate"] for g in got]), Spread([g["cpu_us"] for g in got])
            client = Spread([g["client_us"] for g in got])
            brate, bcpu = Spread([g["rate"] for g in base]).median, Spread([g["cpu_us"] for g in base]).median
            hand = results.get((clients, ("hand", lib, buf, chain))) if impl == "rxunix" else None
            vs_hand = None if not hand else rate.median / Spread([g["rate"] for g in hand]).median
            label = chain if impl == "rxunix" else f"{chain} (hand-written loop)"
            rows.append([str(clients), kib(buf), lib, label, rate.fmt(), ratio(rate.median, brate), cpu.fmt(".2f"),
                         ratio(cpu.median, bcpu), f"{client.median:.2f}",
                         _note(impl, chain, rate.median / brate, cpu.median - bcpu, vs_hand)])
    head = ["clients", "read", "json", "chain", "events/s median [min-max]", "vs echo", "server CPU us/ev",
            "CPU/ev vs echo", "client CPU us/ev", "target / cost"]
    return table(head, rows)


def operator_cost_us(pipe: Callable[[Any], Any], n: int = 50_000, repeat: int = 5) -> Spread:
    """Extra us per event of ``pipe(subject)`` over a bare Subject, in process (rounds interleaved)."""
    from types import MappingProxyType

    from reactivex.subject import Subject

    from rxunix import Event

    meta = MappingProxyType({"unix_socket_server": {"path": "/s", "peer": 1, "pid": 1, "uid": 0, "gid": 0}})
    events = [Event({"id": i}, meta) for i in range(n)]

    def once(piped: bool) -> float:
        s: Subject[Any] = Subject()
        (pipe(s) if piped else s).subscribe(lambda _e: None)
        t0 = time.perf_counter()
        for ev in events:
            s.on_next(ev)
        return (time.perf_counter() - t0) / n * 1e6

    diffs = []
    gc.collect()
    gc.freeze()  # the prepared events are not the collector's work
    try:
        for _ in range(repeat):
            bare = once(False)
            diffs.append(once(True) - bare)
    finally:
        gc.unfreeze()
    return Spread(diffs)


def in_process_costs(chains: list[str], n: int, repeat: int) -> list[str]:
    """One line per operator: its own cost per event, measured in this process."""
    import rxunix.operators as rops
    from reactivex import operators as ops

    pipes: dict[str, Callable[[Any], Any]] = {
        "map": lambda s: s.pipe(ops.map(lambda ev: ev)),
        "tumbling": lambda s: s.pipe(rops.tumbling_count(100, key=rops.connection_key)),
    }
    if hasattr(rops, "sliding_count"):
        pipes["sliding"] = lambda s: s.pipe(rops.sliding_count(100, 10, key=rops.connection_key))
    lines = []
    for name in (c for c in chains if c in pipes):
        cost = operator_cost_us(pipes[name], n, repeat)
        lines.append(f"in process, {name} alone: +{cost.fmt('.3f')} us/event over a bare Subject (median [min-max])")
    return lines


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    plan = cpu_plan(args.pin)
    print(header("bench_window: rxunix echo vs echo through operators (same JSON library, same read size)",
                 [f"events {args.events:,} (rounded to whole windows per client), clients {args.clients}, "
                  f"{args.rounds} rounds, median [min-max]; session gap {args.gap}s; "
                  + h.send_buffer_note(args.send_buffer),
                  describe_plan(plan, args.pin)]), flush=True)
    pin(plan["orchestrator"])
    hand = () if args.no_hand or "sliding" not in args.chains else ("echo", "sliding")
    keys: list[Key] = [(impl, lib, buf, c) for buf in args.reads for lib in args.json
                       for impl, chains in (("rxunix", args.chains), ("hand", hand)) for c in chains]
    driver = h.Proc("_driver.py", [], "load generator")
    servers = h.start_servers(keys, gap=args.gap, send_buffer=args.send_buffer)
    try:
        for srv in servers.values():
            if srv.skip is None and plan["server"] is not None:
                srv.ask(op="cpu", cpu=plan["server"])
        if plan["load"] is not None:
            driver.ask(op="cpu", cpu=plan["load"])
        results = run_all(args, servers, driver)
    finally:
        h.close_all([driver, *servers.values()])
    print()
    for chain in args.chains:
        skipped = {s.skip for k, s in servers.items() if k[3] == chain and s.skip is not None}
        for reason in sorted(skipped):
            print(f"{chain}: not available ({reason})")
    print(result_table(args, keys, servers, results))
    print()
    for line in in_process_costs(args.chains, *((5_000, 3) if args.quick else (50_000, 5))):
        print(line)


if __name__ == "__main__":
    main()
