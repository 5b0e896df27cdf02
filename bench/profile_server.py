"""Where rxunix's server spends its time per event, on the ingest and the echo path.

Run by hand (not a test)::

    python bench/profile_server.py                          # simplejson, 64 KiB reads
    python bench/profile_server.py --json orjson --buf 8192
    python bench/profile_server.py --quick                  # smoke run

Two views, both in microseconds per event on the ~124-byte JSON lines of ``_lines.py``:

1. **Stages** (``perf_counter_ns``, each stage timed alone in this process with the
   library's own pieces, best of ``--repeat``): ``read`` (``recv(buf)`` of an already
   filled socket), ``split + decode`` (the connection's decoder), ``event creation``
   (``Event.many``), ``dispatch`` (``out.on_next_batch``: to one per-event subscriber
   for ingest, to one batch observer for echo), ``reply values``, ``encode``
   (``encode_batch`` per read) and ``write`` (one ``send`` of a read's replies); in
   brackets, not added: ``split`` and ``decode`` alone, and ``routing`` (echo's own
   replies skip it). Their sum is set against the CPU per event of a real server in
   this process (no profiler), with the load generator in another process; the
   difference is what the stages leave out (greenlet switches, the hub, glue).
2. **cProfile** of the same real server: the functions with the most own time, as
   calls and microseconds per event. The profiler slows every Python call, so read
   this table for *where* time goes and the stage table for *how much*.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import _harness as h  # noqa: E402
from _common import cpu_seconds, header, kib, rxunix_codec, table  # noqa: E402
from _lines import LINE  # noqa: E402
from rxunix.routing import route  # noqa: E402

import rxunix  # noqa: E402
from rxunix import DecoderFactory, EncoderFactory, Event, create_codec, create_preprocessor  # noqa: E402

PATH = "/tmp/rx-profile.sock"


def chunks(buf: int, events: int) -> list[bytes]:
    """The reads a server sees: ``events`` lines cut every ``buf`` bytes."""
    data = LINE * events
    return [data[i : i + buf] for i in range(0, len(data), buf)]


def best_ns(fn: Callable[[], Any], repeat: int) -> int:
    """The shortest of ``repeat`` timed calls of ``fn`` (nanoseconds)."""
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        dt = time.perf_counter_ns() - t0
        best = dt if best is None else min(best, dt)
    assert best is not None
    return best


def _read_ns(parts: list[bytes], buf: int) -> int:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    total = 0
    try:
        for part in parts:  # the socket holds the bytes before recv is timed
            a.sendall(part)
            t0 = time.perf_counter_ns()
            b.recv(buf)
            total += time.perf_counter_ns() - t0
    finally:
        a.close()
        b.close()
    return total


def _write_ns(payloads: list[bytes]) -> int:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    total = 0
    try:
        for data in payloads:
            t0 = time.perf_counter_ns()
            a.sendall(data)
            total += time.perf_counter_ns() - t0
            left = len(data)
            while left:  # drained untimed
                left -= len(b.recv(1 << 20))
    finally:
        a.close()
        b.close()
    return total


def _dispatcher() -> tuple[Any, Any, str]:
    """The server's own ``out`` (an EventSubject, unstarted): one per-event subscriber,
    and one with a batch observer (what ``server.out.subscribe(server.in_)`` is)."""
    from rxunix.edge.ports import EventSubject

    per_event = EventSubject(owner=None)
    per_event.subscribe(lambda _e: None)

    class Sink:
        def on_next(self, value: Any) -> None: ...
        def on_next_batch(self, values: Any) -> None: ...
        def on_error(self, error: Exception) -> None: ...
        def on_completed(self) -> None: ...

    batched = EventSubject(owner=None)
    batched.subscribe(Sink())
    return per_event, batched, "server.out"


def stage_costs(lib: str, buf: int, events: int, repeat: int) -> dict[str, float]:
    """Microseconds per event of each stage, timed alone, one read's worth at a time.

    The inputs of every stage are built first and frozen out of the garbage collector's
    reach (``gc.freeze``); each stage's results are dropped read by read, as in the server.
    """
    parts = chunks(buf, events)
    dec = DecoderFactory(["separate"], rxunix_codec(lib))()
    values_by_read = [dec.feed(p) for p in parts]
    codec = create_codec(rxunix_codec(lib))
    meta = MappingProxyType({"unix_socket_server": {"path": PATH, "peer": 1, "pid": 1, "uid": 0, "gid": 0}})
    evs_by_read = [[Event(v, meta) for v in vs] for vs in values_by_read]
    n = sum(map(len, values_by_read))
    per_event, batched, out_name = _dispatcher()
    enc = EncoderFactory(rxunix_codec(lib), ["separate"])()
    replies = [enc.encode_batch(vs)[0] for vs in values_by_read]  # one write per read
    decode, live = codec.decode, {1}
    pre = create_preprocessor("separate")
    frames_by_read = [pre.feed(p) for p in parts]  # one preprocessor: lines cut by a read are joined

    def split() -> None:
        pre = create_preprocessor("separate")
        for p in parts:
            pre.feed(p)

    def decode_chain() -> None:
        d = DecoderFactory(["separate"], rxunix_codec(lib))()
        for p in parts:
            d.feed(p)

    def per_read(fn: Callable[[Any], Any], inputs: list[list[Any]]) -> Callable[[], None]:
        def run() -> None:
            for items in inputs:
                [fn(x) for x in items]

        return run

    def per_batch(fn: Callable[[Any], Any], inputs: list[list[Any]]) -> Callable[[], None]:
        def run() -> None:
            for items in inputs:
                fn(items)

        return run

    gc.collect()
    gc.freeze()
    try:
        timings = {
            f"read (recv {kib(buf)})": _read_ns(parts, buf),
            "split (separate)": best_ns(split, repeat),
            f"decode (json, {lib})": best_ns(per_read(decode, frames_by_read), repeat),
            "split + decode (the connection's decoder)": best_ns(decode_chain, repeat),
            "event creation (Event.many, one read at a time)": best_ns(
                per_batch(lambda vs: Event.many(vs, meta), values_by_read), repeat),
            f"dispatch ({out_name}.on_next_batch, 1 per-event subscriber)": best_ns(
                per_batch(per_event.on_next_batch, evs_by_read), repeat),
            f"dispatch ({out_name}.on_next_batch, 1 batch observer)": best_ns(
                per_batch(batched.on_next_batch, evs_by_read), repeat),
            "routing (route(meta, path, live), per event; echo skips it)": best_ns(
                per_read(lambda e: route(e.meta, PATH, live), evs_by_read), repeat),
            "reply values (one list per read)": best_ns(
                per_batch(lambda evs: [e.value for e in evs], evs_by_read), repeat),
            f"encode (json, {lib}, + separate; encode_batch per read)": best_ns(
                per_batch(enc.encode_batch, values_by_read), repeat),
            "write (send of each read's replies)": _write_ns(replies),
        }
    finally:
        gc.unfreeze()
    return {k: v / 1000 / n for k, v in timings.items()}


class InProcess:
    """A real rxunix server in this process; the load generator in another."""

    def __init__(self, lib: str, buf: int) -> None:
        import gevent

        self.gevent = gevent
        self.lib, self.buf = lib, buf
        self.driver = h.Proc("_driver.py", [], "load generator")
        self.dir = tempfile.mkdtemp(prefix="rxp-", dir="/tmp")

    def run(self, mode: str, n: int, profile: cProfile.Profile | None) -> float:
        """Server CPU seconds of one ingest or echo run of ``n`` events."""
        import gevent.event

        path = os.path.join(self.dir, f"{mode}.sock")
        server = rxunix.unix_socket_server(config={"path": path, "buf_size": self.buf}, codec=rxunix_codec(self.lib),
                                           preprocessors=["separate"], postprocessors=["separate"])
        done, count = gevent.event.Event(), [0]

        def on_event(_ev: Any) -> None:
            count[0] += 1
            if count[0] == n:
                done.set()

        server.out.subscribe(server.in_ if mode == "echo" else on_event)
        server.start()
        ask = self.gevent.get_hub().threadpool.apply  # the hub keeps serving while we wait on the pipe
        try:
            c0 = cpu_seconds()
            if profile is not None:
                profile.enable()
            if mode == "echo":
                ask(self.driver.ask, kwds={"op": "echo", "path": path, "n": n})
            else:
                ask(self.driver.ask, kwds={"op": "ingest", "path": path, "n": n})
                if not done.wait(300):
                    raise h.BenchError(f"ingest: {count[0]}/{n} events")
            if profile is not None:
                profile.disable()
            return cpu_seconds() - c0
        finally:
            server.stop()

    def close(self) -> None:
        self.driver.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def profile_rows(prof: cProfile.Profile, n: int, top: int) -> list[list[str]]:
    """The ``top`` functions by own time: calls/event, own and cumulative us/event."""
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    items = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in items:
        where = f"{os.path.basename(os.path.dirname(file))}/{os.path.basename(file)}:{line}" if line else file
        rows.append([f"{func} ({where})", f"{nc / n:.3f}", f"{tt / n * 1e6:.3f}", f"{ct / n * 1e6:.3f}"])
    return rows


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default="simplejson", choices=("simplejson", "orjson"))
    ap.add_argument("--buf", type=int, default=65536, help="read size (rxunix buf_size)")
    ap.add_argument("--events", type=int, help="events per real-server run (default 200,000; --quick 5,000)")
    ap.add_argument("--repeat", type=int, default=5, help="repeats of each stage timing (best kept)")
    ap.add_argument("--top", type=int, default=15, help="cProfile rows per path")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    args.events = args.events or (5_000 if args.quick else 200_000)
    if args.quick:
        args.repeat = min(args.repeat, 2)
    return args


STAGES = {  # which stages each path adds up ("prefix|also in the name")
    "ingest": ("read", "split + decode", "event", "dispatch|per-event"),
    "echo": ("read", "split + decode", "event", "dispatch|batch observer", "reply values", "encode", "write"),
}
#: shown in brackets, not added: split and decode each alone (the connection's decoder does
#: both, in batches), routing (echo's replies go to the reading connection without it)
ASIDE = ("split (", "decode (", "routing")


def _has(path: str, name: str) -> bool:
    for stage in STAGES[path]:
        prefix, _, also = stage.partition("|")
        if name.startswith(prefix) and also in name:
            return True
    return False


def stage_table(stages: dict[str, float], measured: dict[str, float]) -> str:
    rows = []
    for name, us in stages.items():
        if name.startswith(ASIDE):
            cells = [f"({us:.3f})"] * 2
        else:
            cells = [f"{us:.3f}" if _has(p, name) else "-" for p in ("ingest", "echo")]
        rows.append([name, *cells])
    sums = {p: sum(us for name, us in stages.items() if _has(p, name)) for p in ("ingest", "echo")}
    rows.append(["sum of stages", f"{sums['ingest']:.3f}", f"{sums['echo']:.3f}"])
    rows.append(["measured: real server CPU per event", f"{measured['ingest']:.3f}", f"{measured['echo']:.3f}"])
    rows.append(["not in the stages (hub, greenlets, glue)", f"{measured['ingest'] - sums['ingest']:.3f}",
                 f"{measured['echo'] - sums['echo']:.3f}"])
    return table(["stage", "ingest us/event", "echo us/event"], rows)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    print(header("profile_server: where rxunix's server time goes per event",
                 [f"json {args.json}, reads {kib(args.buf)}, {args.events:,} events per real-server run, "
                  f"stage timings best of {args.repeat}"]), flush=True)
    stages = stage_costs(args.json, args.buf, min(args.events, 50_000), args.repeat)
    srv = InProcess(args.json, args.buf)
    try:
        measured = {mode: srv.run(mode, args.events, None) / args.events * 1e6 for mode in ("ingest", "echo")}
        profiles = {}
        for mode in ("ingest", "echo"):
            profiles[mode] = cProfile.Profile()
            srv.run(mode, args.events, profiles[mode])
    finally:
        srv.close()
    print()
    print(stage_table(stages, measured))
    for mode, prof in profiles.items():
        print(f"\ncProfile, {mode} path (inflated by the profiler; top {args.top} by own time)")
        print(table(["function", "calls/event", "own us/event", "cumulative us/event"],
                    profile_rows(prof, args.events, args.top)))


if __name__ == "__main__":
    main()
