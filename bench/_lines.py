"""The shared benchmark payload: ~120-byte JSON lines."""

from __future__ import annotations

from typing import Any

import simplejson


def sample_value(i: int) -> dict[str, Any]:
    """One event value; encodes to ~120 bytes of minified JSON."""
    return {"id": i, "name": f"sensor-{i % 97}", "value": 848311734.7466849 + i, "tags": ["a", "b"],
            "ok": True, "n": -42, "unit": "m/s", "loc": "hall-7"}


def sample_lines(count: int) -> list[bytes]:
    """``count`` encoded lines (without separator)."""
    enc = simplejson.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    return [enc.encode(sample_value(i)).encode() for i in range(count)]
