"""Brute-force models of the windows, straight from their definitions (for property tests).

Each returns, per group key, the list of windows (each a list of values), in the
order the group's windows close.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

Timed = tuple[float, Hashable, Any]  # (time, key, value)


def sliding_count_model(items: Sequence[tuple[Hashable, Any]], n: int, step: int) -> dict[Hashable, list[list[Any]]]:
    """buffer_with_count(n, step) per key: windows start at every step-th event of the key."""
    per: dict[Hashable, list[Any]] = {}
    for key, value in items:
        per.setdefault(key, []).append(value)
    return {k: [vs[s : s + n] for s in range(0, len(vs), step)] for k, vs in per.items()}


def grid_model(items: Sequence[Timed], size: float, step: float, lowest: int | None) -> dict[Hashable, list[list[Any]]]:
    """Window k = [k*step, k*step+size): every non-empty window, by k; values in time order."""
    per: dict[Hashable, dict[int, list[tuple[float, Any]]]] = {}
    for t, key, value in items:
        k = lowest if lowest is not None else int(t // step) - int(size // step) - 2
        while k * step <= t:
            if t < k * step + size:
                per.setdefault(key, {}).setdefault(k, []).append((t, value))
            k += 1
    return {
        key: [[v for _, v in sorted(ws[k], key=lambda tv: tv[0])] for k in sorted(ws)] for key, ws in per.items()
    }


def session_model(
    items: Sequence[Timed], gap: float, max_duration: float | None
) -> dict[Hashable, list[list[Any]]]:
    """Per key, events sorted by time; a session goes on while the next event is less
    than gap after the previous one and less than max_duration after the first."""
    per: dict[Hashable, list[tuple[float, Any]]] = {}
    for t, key, value in items:
        per.setdefault(key, []).append((t, value))
    out: dict[Hashable, list[list[Any]]] = {}
    for key, tvs in per.items():
        tvs.sort(key=lambda tv: tv[0])
        sessions: list[list[tuple[float, Any]]] = []
        for t, v in tvs:
            cur = sessions[-1] if sessions else None
            if cur and t - cur[-1][0] < gap and (max_duration is None or t - cur[0][0] < max_duration):
                cur.append((t, v))
            else:
                sessions.append([(t, v)])
        out[key] = [[v for _, v in s] for s in sessions]
    return out
