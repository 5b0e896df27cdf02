"""The shared benchmark payload: ~120-byte JSON lines.

``LINE`` is the line the socket benchmarks send (124 bytes with its newline);
``END_LINE`` is the same line with a marker a client can look for in replies (the
last line of a connection in ``bench_window.py``, whose replies are aggregates).
"""

from __future__ import annotations

from typing import Any

import simplejson

LINE = (
    b'{"id":123456,"ts":1700000000.123456,"host":"web-01.example.com","level":"info",'
    b'"msg":"request served in 12 ms","tags":["a","b"]}\n'
)
END_MARK = b"END-OF-STREAM"
END_LINE = LINE.replace(b"request served in 12 ms", END_MARK.decode().ljust(23, "-").encode())
assert len(END_LINE) == len(LINE)


def payload(count: int, marked: bool = False) -> bytes:
    """``count`` lines; with ``marked`` the last one is ``END_LINE``."""
    if count <= 0:
        return b""
    if not marked:
        return LINE * count
    return LINE * (count - 1) + END_LINE


def sample_value(i: int) -> dict[str, Any]:
    """One event value; encodes to ~120 bytes of minified JSON."""
    return {"id": i, "name": f"sensor-{i % 97}", "value": 848311734.7466849 + i, "tags": ["a", "b"],
            "ok": True, "n": -42, "unit": "m/s", "loc": "hall-7"}


def sample_lines(count: int) -> list[bytes]:
    """``count`` encoded lines (without separator)."""
    enc = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    return [enc.encode(sample_value(i)).encode() for i in range(count)]
