"""What an operator chain between ``server.out`` and ``server.in_`` costs per event, in process.

Run by hand (not a test)::

    python bench/profile_chains.py                       # orjson, 64 KiB reads
    python bench/profile_chains.py --json simplejson --chains echo,map,sliding

One real ``unix_socket_server`` in this process with one connection (a socketpair
whose far end is drained between reads, untimed). Each row times the server's
handling of whole reads of ~124-byte JSON lines, from the decoded chunk to the
replies handed to the kernel: the events emitted on ``out``, the chain, the replies
taken by ``in_``, encoded and sent (all of them: the socket's send buffer holds a
read's replies). No load generator, no greenlet switches, no
socket waits: what is left is the chain's own work, so the rows differ only by the
chain. Cells: us per event, the best of ``--repeat`` passes in each of ``--rounds``
interleaved rounds, median [min-max] over rounds; ``vs echo`` is the difference to
the ``echo`` row of the same round (median over rounds).

Chains: ``echo`` (``server.out.subscribe(server.in_)``: each read's events handed to
``in_`` as one batch), ``map`` (``ops.map(lambda ev: ev)`` in between: each event on
its own through the operator into ``in_``), ``tumbling`` (``tumbling_count(100,
key=connection_key)``), ``sliding`` (``sliding_count(100, 10, key=connection_key)``:
every event in 10 windows, each window replied whole), ``sliding_mean`` (the same
windows, a small reducer), ``map_values`` (``rxunix.operators.map_values(lambda v:
v)``: the same map, a read kept one batch). Two lines split the ``map`` row: a read's
events built alone (``Event.many``, what ``out`` does for any subscriber that is not a
batch observer) and each event handed to ``in_`` on its own without an operator
(``server.out.subscribe(server.in_.on_next)``, events built included); the rest of the
``map`` row is RxPY's operator. The last lines split the ``sliding`` row: the window
alone (aggregates to a no-op subscriber) and the encoding of its replies alone; one
more gives the cost of RxPY's ``ops.buffer`` alone, which tumbling windows with a
duration are built on (fed as their chain feeds it: chunks of 32 events, a boundary
per window; the ``tumbling`` row, count only, runs the count core instead).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import Spread, header, kib, rxunix_codec, table  # noqa: E402
from _lines import LINE  # noqa: E402
from _serve_gevent import _chain  # noqa: E402

import rxunix  # noqa: E402
from rxunix.edge.gcpause import GcPause  # noqa: E402

CHAINS = ("echo", "map", "map_values", "tumbling", "sliding", "sliding_mean")


class Rig:
    """A server with one connection whose reads are fed by hand."""

    def __init__(self, chain: str, lib: str, buf: int, path: str) -> None:
        import gevent.socket

        self.server = rxunix.unix_socket_server(
            config={"path": path, "buf_size": buf, "max_pending_bytes": 1 << 30}, codec=rxunix_codec(lib),
            preprocessors=["separate"], postprocessors=["separate"])
        self.count = 0
        if chain == "per_event":  # each event on its own into in_, no operator (the map row without map)
            self.server.out.subscribe(self.server.in_.on_next)
        elif chain == "window":  # the sliding window alone: its aggregates go nowhere
            _chain("sliding", 0.05)(self.server.out).subscribe(lambda _agg: None)
        elif chain == "ingest":  # no replies: one counting function subscribed to out
            self.server.out.subscribe(self.on_event)
        else:
            _chain(chain, 0.05)(self.server.out).subscribe(self.server.in_)
        near, self.far = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        near.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)  # a read's replies fit at once
        near.setblocking(False)
        self.far.setblocking(False)
        self.server._open(gevent.socket.socket(fileno=near.detach()))
        self.conn = next(iter(self.server._conns.values()))
        self.conn.reader.kill()  # reads are fed by hand

    def on_event(self, _event: object) -> None:
        self.count += 1

    def drain(self) -> None:
        try:
            while self.far.recv(1 << 20):
                pass
        except BlockingIOError:
            pass

    def per_event_us(self, chunk: bytes, events: int, reads: int) -> float:
        """us per event of ``reads`` reads: decode (untimed), then the server's handling (timed)."""
        core, publish, send, total = self.conn.core, self.server._publish, self.server._try_send, 0
        take = GcPause().run  # as the server's read loop: the collector paused for the read

        def emit(conn: Any, _chunk: bytes) -> None:
            publish(conn, batch)

        for _ in range(reads):
            batch = core.receive(chunk, lazy=True)  # as the server reads
            t0 = time.perf_counter_ns()
            take(emit, self.conn, chunk)
            while core.pending:  # what the writer greenlet would send
                send(self.conn)
            total += time.perf_counter_ns() - t0
            self.drain()
        return total / 1000 / (reads * events)


def events_only_us(lib: str, events: int, reads: int) -> float:
    """us per event of building a read's events (``Event.many``: what ``out`` does before
    a subscriber that is not a batch observer sees them) and dropping them."""
    from rxunix import EncoderFactory, Event

    codec = EncoderFactory(rxunix_codec(lib), ["separate"])()._codec  # type: ignore[attr-defined]
    values = [codec.decode(LINE[:-1]) for _ in range(events)]
    meta = {"unix_socket_server": {"path": "/s", "peer": 1}}
    t0 = time.perf_counter_ns()
    for _ in range(reads):
        Event.many(values, meta)
    return (time.perf_counter_ns() - t0) / 1000 / (reads * events)


def encode_only_us(lib: str, events: int, reads: int) -> float:
    """us per event of encoding the ``sliding`` row's replies (10 windows of 100 per 100
    events), told that they are slices of one sequence, as the window tells ``in_``."""
    from rxunix import EncoderFactory

    enc = EncoderFactory(rxunix_codec(lib), ["separate"])()
    decoded = [enc._codec.decode(LINE[:-1]) for _ in range(events + 100)]  # type: ignore[attr-defined]
    spans = [(s, 100) for s in range(0, events, 10)]
    windows = [decoded[s:s + n] for s, n in spans]
    t0 = time.perf_counter_ns()
    for _ in range(reads):
        enc.encode_batch(windows, (decoded, spans))
    return (time.perf_counter_ns() - t0) / 1000 / (reads * events)


def rx_buffer_only_us(events: int, reads: int) -> float:
    """us per event of RxPY's ``ops.buffer`` alone, fed as the timed tumbling chain feeds it:
    chunks of 32 items (32, 32, 32, 4) and a boundary per 100 items."""
    from reactivex import operators as ops
    from reactivex.subject import Subject

    items, bounds, windows = Subject(), Subject(), []
    items.pipe(ops.buffer(bounds)).subscribe(windows.append)
    chunks = [list(range(32))] * 3 + [list(range(4))]
    cuts = reads * events // 100
    t0 = time.perf_counter_ns()
    for _ in range(cuts):
        for chunk in chunks:
            items.on_next(chunk)
        bounds.on_next(None)
    return (time.perf_counter_ns() - t0) / 1000 / (cuts * 100)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="orjson", choices=("simplejson", "orjson"))
    ap.add_argument("--buf", type=int, default=65536, help="bytes per read")
    ap.add_argument("--chains", default=",".join(CHAINS))
    ap.add_argument("--reads", type=int, default=20, help="reads per pass")
    ap.add_argument("--repeat", type=int, default=3, help="passes per round (best kept)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 pass of 2 reads")
    args = ap.parse_args(argv)
    if args.quick:
        args.reads, args.repeat, args.rounds = 2, 1, 1
    args.chains = [c for c in args.chains.split(",") if c]
    if "echo" not in args.chains:
        args.chains.insert(0, "echo")
    if set(args.chains) - set(CHAINS):
        ap.error(f"unknown chains {sorted(set(args.chains) - set(CHAINS))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    per_read = args.buf // len(LINE)
    chunk = LINE * per_read
    print(header("profile_chains: per-event cost of a chain between server.out and server.in_, in process",
                 [f"json {args.json}, reads of {kib(args.buf)} ({per_read} events), {args.reads} reads a pass, "
                  f"best of {args.repeat} passes, {args.rounds} rounds, median [min-max]"]), flush=True)
    names = [*args.chains, *(["events", "per_event"] if "map" in args.chains else []),
             *(["window", "encode"] if "sliding" in args.chains else []),
             *(["buffer"] if "tumbling" in args.chains else [])]
    got: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="rxc-", dir="/tmp") as tmp:
        alone: dict[str, Callable[[], float]] = {
            "events": lambda: events_only_us(args.json, per_read, args.reads),
            "encode": lambda: encode_only_us(args.json, per_read, args.reads),
            "buffer": lambda: rx_buffer_only_us(per_read, args.reads)}
        rigs = {n: Rig(n, args.json, args.buf, os.path.join(tmp, f"{n}.sock")) for n in names if n not in alone}
        for _ in range(args.rounds):
            for name in names:
                fn: Callable[[], float] = alone.get(name) or (
                    lambda r=rigs[name]: r.per_event_us(chunk, per_read, args.reads))  # type: ignore[misc]
                got[name].append(min(fn() for _ in range(args.repeat)))
    rows = []
    for name in names:
        cells = Spread(got[name])
        extra = Spread([a - b for a, b in zip(got[name], got["echo"], strict=True)])
        label = {"events": "map: a read's events built alone (Event.many)",
                 "per_event": "map: each event into in_ alone (out.subscribe(in_.on_next))",
                 "window": "sliding: the window alone (no replies)",
                 "encode": "sliding: encoding its replies alone (as slices)",
                 "buffer": "RxPY's ops.buffer alone (timed tumbling), 100 a window"}.get(name, name)
        plain = name in ("echo", "window", *alone)  # (per_event: its cost over echo, like the chains)
        rows.append([label, cells.fmt(".3f"), "" if plain else f"{extra.median:+.3f}"])
    print(table(["chain", "us/event median [min-max]", "vs echo"], rows))


if __name__ == "__main__":
    main()
