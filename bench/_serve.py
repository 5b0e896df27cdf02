"""Server process of the socket benchmarks: one implementation, one JSON library, one read size.

Run as ``python bench/_serve.py --impl hand|rxunix|asyncio|uvloop --json simplejson|orjson
--buf BYTES [--chain echo|map|tumbling|sliding|sliding_mean|session] [--gap SECONDS]
[--send-buffer BYTES]``. It prints one JSON
line, ``{"ready": true}`` or ``{"skip": reason}`` (a library is missing: the row is skipped
with that reason), then takes commands on stdin, one JSON line each, answering one line:

* ``{"op": "open", "mode": "ingest"|"echo", "path": p, "target": N}``: a fresh server
  instance listens on ``p``; the CPU clock of this process starts;
* ``{"op": "result", "timeout": s}``: ``ingest`` waits until ``target`` events were
  decoded; answers ``{"cpu_s", "count", "t_last", "errors"}`` (``t_last``: CLOCK_MONOTONIC
  time the target was reached, ingest only; ``errors``: rxunix error events);
* ``{"op": "close"}``: the instance stops; ``{"op": "cpu", "cpu": k}``: pin this process.

Every implementation does the same work: split at newlines with a carried partial
line, decode every line with the row's JSON library; ``echo`` re-encodes every value
and writes each read's replies back at once. ``ingest`` counts the decoded events.
The hand-written gevent loop and rxunix live in ``_serve_gevent.py``, the asyncio and
uvloop loops in ``_serve_asyncio.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import cpu_seconds, missing, pin  # noqa: E402

IMPLS = ("hand", "rxunix", "asyncio", "uvloop")
CHAINS = ("echo", "map", "map_values", "tumbling", "sliding", "sliding_mean", "session")
#: the chains each hand-written loop serves (rxunix serves every chain)
LOOP_CHAINS = {"hand": ("echo", "sliding"), "asyncio": ("echo",), "uvloop": ("echo",)}


class Control:
    """The command protocol, shared by the gevent and the asyncio control loops.

    ``make(mode, path, target)`` builds a server instance with ``start()``,
    ``stop()``, ``count``, ``t_last``, ``errors`` and ``wait(timeout) -> bool``.
    """

    def __init__(self, make: Any) -> None:
        self.make = make
        self.inst: Any = None
        self.mode = ""
        self.cpu0 = 0.0

    def open(self, cmd: dict[str, Any]) -> dict[str, Any]:
        self.mode = cmd["mode"]
        self.inst = self.make(self.mode, cmd["path"], cmd.get("target", 0))
        self.inst.start()
        self.cpu0 = cpu_seconds()
        return {"ok": True}

    def finish_result(self, waited: bool) -> dict[str, Any]:
        inst = self.inst
        res = {"cpu_s": cpu_seconds() - self.cpu0, "count": inst.count, "t_last": inst.t_last,
               "errors": inst.errors}
        if not waited:
            res["error"] = f"timed out: {inst.count}/{inst.target} events"
        return res

    def simple(self, cmd: dict[str, Any]) -> dict[str, Any] | None:
        """Answer the commands that need no waiting (None: not one of them)."""
        op = cmd["op"]
        if op == "open":
            return self.open(cmd)
        if op == "close":
            if self.inst is not None:
                self.inst.stop()
                self.inst = None
            return {"ok": True}
        if op == "cpu":
            pin(cmd["cpu"])
            return {"ok": True}
        if op != "result":
            return {"error": f"unknown op {op!r}"}
        return None


def reply(res: dict[str, Any]) -> None:
    """One answer line on stdout."""
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()


def skip_reason(args: argparse.Namespace) -> str | None:
    """Why this row cannot run here (a missing library or operator), or None."""
    if args.json == "orjson" and missing("orjson"):
        return missing("orjson")
    if args.impl == "uvloop" and missing("uvloop"):
        return missing("uvloop")
    if args.chain not in LOOP_CHAINS.get(args.impl, CHAINS):
        return f"no {args.impl} loop for chain {args.chain}"
    if args.impl == "rxunix" and args.chain in ("sliding", "sliding_mean", "session"):
        import rxunix.operators as ops

        name = {"sliding": "sliding_count", "sliding_mean": "sliding_count", "session": "session_window"}[args.chain]
        if not hasattr(ops, name):
            return f"rxunix.operators.{name} not available"
    return None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=IMPLS, required=True)
    ap.add_argument("--json", choices=("simplejson", "orjson"), required=True)
    ap.add_argument("--buf", type=int, required=True)
    ap.add_argument("--chain", choices=CHAINS, default="echo")
    ap.add_argument("--gap", type=float, default=0.05)
    ap.add_argument("--send-buffer", type=int, help="SO_SNDBUF of every connection (rxunix: send_buffer_bytes)")
    return ap.parse_args(argv)


#: where ``bench/proc_cpu.sh`` collects each server process's own last reading
PROC_DIR_ENV = "RXUNIX_BENCH_PROC_DIR"


def write_proc_stat(directory: str) -> None:
    """Write this process's arguments and its ``/proc/self/stat`` minor faults, user and
    system CPU (clock ticks) as it ends, one line to ``directory/PID.txt``."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    minflt, utime, stime = fields[7], fields[11], fields[12]  # stat(5) fields 10, 14, 15
    with open(os.path.join(directory, f"{os.getpid()}.txt"), "w") as f:
        f.write(f"{' '.join(sys.argv[1:])} | minflt={minflt} utime={utime} stime={stime}\n")


def main() -> None:
    args = parse()
    reason = skip_reason(args)
    if reason is not None:
        reply({"skip": reason})
        return
    try:
        if args.impl in ("asyncio", "uvloop"):
            import _serve_asyncio

            _serve_asyncio.main(args, Control, reply)
        else:
            import _serve_gevent

            _serve_gevent.main(args, Control, reply)
    finally:
        if os.environ.get(PROC_DIR_ENV):
            write_proc_stat(os.environ[PROC_DIR_ENV])


if __name__ == "__main__":
    main()
