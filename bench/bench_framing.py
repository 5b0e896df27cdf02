"""Foundation benchmark: decode (separate + json) and encode (json + separate)
through rxunix's Rx operators against a hand-written ``bytes.split`` + simplejson
loop, on the same ~120-byte JSON lines, in one run.

    python bench/bench_framing.py [--events 200000] [--chunk 65536] [--repeat 5]

Prints events/s for each and the ratio rxunix / hand-written (best of
``--repeat`` runs each, interleaved so both see the same machine state).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import reactivex as rx
import simplejson

sys.path.insert(0, os.path.dirname(__file__))
from _lines import sample_lines, sample_value  # noqa: E402
from rxunix.event import Event  # noqa: E402
from rxunix.operators.codec import decode, encode  # noqa: E402


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def hand_decode(chunks: list[bytes]) -> int:
    """The hand-written loop: carry the partial line, split, simplejson.loads each."""
    loads = simplejson.loads
    out: list[object] = []
    tail = b""
    for chunk in chunks:
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for line in lines:
            out.append(loads(line))
    if tail:
        out.append(loads(tail))
    return len(out)


def rx_decode(chunks: list[bytes]) -> int:
    out: list[Event] = []
    pushed(chunks).pipe(decode(["separate"], "json")).subscribe(out.append)
    return len(out)


def hand_encode(values: list[object]) -> int:
    dumps = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    out = [dumps(v).encode() + b"\n" for v in values]
    return len(out)


def pushed(items: list[object]) -> rx.Observable[object]:
    """The cheapest push source: on_next in a loop (no per-item scheduling, unlike
    ``rx.from_iterable``, and no Subject locking), so the cost measured is the
    operator's."""

    def subscribe(observer: object, scheduler: object = None) -> None:
        on_next = observer.on_next  # type: ignore[attr-defined]
        for item in items:
            on_next(item)
        observer.on_completed()  # type: ignore[attr-defined]

    return rx.create(subscribe)  # type: ignore[arg-type]


def rx_encode(values: list[object]) -> int:
    out: list[object] = []
    pushed(values).pipe(encode("json", ["separate"])).subscribe(out.append)
    return len(out)


def best_rate(fn: Callable[[], int], events: int) -> float:
    t0 = time.perf_counter()
    n = fn()
    dt = time.perf_counter() - t0
    assert n == events, (n, events)
    return events / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--chunk", type=int, default=65536)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    lines = sample_lines(args.events)
    payload = b"\n".join(lines) + b"\n"
    chunks = chunks_of(payload, args.chunk)
    values = [Event(sample_value(i)) for i in range(args.events)]
    plain_values = [sample_value(i) for i in range(args.events)]
    rates: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in (
            ("decode hand", lambda: hand_decode(chunks)),
            ("decode rxunix", lambda: rx_decode(chunks)),
            ("encode hand", lambda: hand_encode(plain_values)),
            ("encode rxunix", lambda: rx_encode(values)),
        ):
            rates[name] = max(rates.get(name, 0.0), best_rate(fn, args.events))
    avg = len(payload) / args.events
    print(f"{args.events} events of ~{avg:.0f} bytes, {args.chunk}-byte chunks, best of {args.repeat}")
    print(f"{'scenario':<16}{'events/s':>12}")
    for name, rate in rates.items():
        print(f"{name:<16}{rate:>12,.0f}")
    for what in ("decode", "encode"):
        print(f"{what} ratio rxunix/hand: {rates[what + ' rxunix'] / rates[what + ' hand']:.2f}x")


if __name__ == "__main__":
    main()
