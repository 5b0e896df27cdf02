"""Shared pieces of the benchmarks: JSON libraries, CPU time, pinning, statistics, the header.

Every benchmark prints :func:`header` first (machine, versions, exact command), so a
table can always be traced back to where and how it was made.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

#: JSON libraries a row can use (the same one on both sides of a ratio).
JSON_LIBS = ("simplejson", "orjson")
#: Default read sizes (bytes per recv) compared.
READ_SIZES = (8192, 65536)


def now() -> float:
    """Seconds on CLOCK_MONOTONIC: system-wide on Linux, so comparable between processes."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far, all its threads (ns resolution;
    ``os.times()`` counts in 10 ms ticks, too coarse for short runs)."""
    return time.process_time()


def missing(module: str) -> str | None:
    """None if ``module`` imports, else the reason it does not (for a skipped row)."""
    try:
        __import__(module)
    except ImportError as exc:
        return f"{module} not installed ({exc})"
    return None


#: values per join in the hand-written loops' orjson encoder (rxunix's json codec uses the same)
JOIN_CHUNK = 64


def json_funcs(lib: str) -> tuple[Callable[[list[bytes]], list[Any]], Callable[[list[Any]], bytes]]:
    """``(decode_all, encode_all)`` of a hand-written loop using ``lib``.

    ``decode_all([line, ...]) -> [value, ...]``; ``encode_all(values) -> b"v1\\nv2\\n"``
    (one join per batch: the shape a hand-written loop uses)::

        >>> decode_all, encode_all = json_funcs("simplejson")
        >>> encode_all(decode_all([b'{"a":1}', b'[2]']))
        b'{"a":1}\\n[2]\\n'
    """
    if lib == "orjson":
        import orjson

        oloads, odumps = orjson.loads, orjson.dumps

        def decode_orjson(lines: list[bytes]) -> list[Any]:
            return list(map(oloads, lines))

        def encode_orjson(values: list[Any]) -> bytes:
            # joined 64 values at a time, as rxunix's json codec does: one join of a 64 KiB
            # read's ~500 orjson outputs makes glibc trim and refault its heap on every
            # batch (~10x the cost per value; docs/benchmarks.md, "Like for like")
            if len(values) <= JOIN_CHUNK:
                return b"\n".join(map(odumps, values)) + b"\n"
            return b"\n".join([b"\n".join(map(odumps, values[i:i + JOIN_CHUNK]))
                                for i in range(0, len(values), JOIN_CHUNK)]) + b"\n"

        return decode_orjson, encode_orjson
    if lib != "simplejson":
        raise ValueError(f"unknown JSON library {lib!r}; use one of {JSON_LIBS}")
    import simplejson

    dec = simplejson.JSONDecoder().decode
    enc = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def decode_simplejson(lines: list[bytes]) -> list[Any]:
        return [dec(line.decode("utf-8")) for line in lines]

    def encode_simplejson(values: list[Any]) -> bytes:
        return ("\n".join(map(enc, values)) + "\n").encode("utf-8")

    return decode_simplejson, encode_simplejson


def lines_of(data: bytes, carry: bytearray) -> list[bytes]:
    r"""The complete lines of a read (without their newlines), the partial line carried
    from the previous read joined to the first; the partial line at the end goes into
    ``carry`` (the hand-written loops' framing)::

        >>> carry = bytearray()
        >>> lines_of(b"a\nb", carry), lines_of(b"c\n", carry), carry
        ([b'a'], [b'bc'], bytearray(b''))
    """
    parts = data.split(b"\n")
    tail = parts.pop()
    if parts and carry:
        carry += parts[0]
        parts[0] = bytes(carry)
        carry.clear()
    if tail:
        carry += tail
    return parts


def rxunix_codec(lib: str) -> dict[str, Any]:
    """The rxunix codec spec that uses ``lib`` (json codec, ``backend`` option)."""
    return {"name": "json", "config": {"backend": lib}}


def pin(cpu: int | None) -> None:
    """Pin this process to one CPU (``None``: every CPU)."""
    if hasattr(os, "sched_setaffinity"):
        cpus = range(os.cpu_count() or 1) if cpu is None else {cpu}
        os.sched_setaffinity(0, cpus)


def cpu_plan(enabled: bool) -> dict[str, int | None]:
    """CPUs for ``orchestrator``, ``server`` and ``load`` (``None``: not pinned).

    Three or more CPUs: one each. Two: server and load generator get one each, the
    (mostly idle) orchestrator is left free. One, or ``enabled`` False: nothing pinned.
    """
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not enabled or n < 2:
        return {"orchestrator": None, "server": None, "load": None}
    cpus = sorted(os.sched_getaffinity(0))
    if n == 2:
        return {"orchestrator": None, "server": cpus[0], "load": cpus[1]}
    return {"orchestrator": cpus[0], "server": cpus[1], "load": cpus[2]}


def describe_plan(plan: dict[str, int | None], enabled: bool) -> str:
    """``pinning: server CPU 0, load CPU 1, orchestrator not pinned`` (or why nothing is)."""
    if not enabled:
        return "pinning: off (--pin to pin)"
    if all(v is None for v in plan.values()):
        return "pinning: asked for, but there is only one usable CPU"
    parts = [f"{k} {'not pinned' if v is None else f'CPU {v}'}" for k, v in plan.items()]
    return "pinning: " + ", ".join(parts)


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except ImportError:
        return "missing"
    return str(getattr(mod, "__version__", "?"))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _script(path: str) -> str:
    """The script as the command would name it from the current directory."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def header(title: str, extra: Sequence[str] = ()) -> str:
    """Lines naming the benchmark, the machine, the library versions and the exact command."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    versions = ", ".join(f"{m} {_version(m)}" for m in ("gevent", "reactivex", "simplejson", "orjson", "uvloop"))
    lines = [
        f"# {title}",
        f"machine: {cores} CPUs ({usable} usable), {_cpu_model()}, {platform.platform()}",
        f"python {platform.python_version()} ({platform.python_implementation()}), {versions}",
        "command: " + shlex.join(["python", _script(sys.argv[0]), *sys.argv[1:]]),
        *extra,
    ]
    return "\n".join(lines)


class Spread:
    """Median and min-max of a metric over rounds."""

    def __init__(self, values: Sequence[float]) -> None:
        if not values:
            raise ValueError("no values")
        self.values = list(values)
        self.median = statistics.median(values)
        self.lo, self.hi = min(values), max(values)

    def fmt(self, spec: str = ",.0f") -> str:
        """``median [min-max]`` (just the median for one round)."""
        if len(self.values) == 1:
            return format(self.median, spec)
        return f"{self.median:{spec}} [{self.lo:{spec}}-{self.hi:{spec}}]"


def ratio(value: float, base: float) -> str:
    """``value / base`` as ``1.23x`` (``n/a`` if the base is zero)."""
    return f"{value / base:.2f}x" if base else "n/a"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, columns padded so it also reads well in a terminal."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *(line(r) for r in rows)])


def kib(size: int) -> str:
    """``8 KiB`` for 8192."""
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"
