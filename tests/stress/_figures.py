"""The stress suite's figures: one row per scenario, printed as a table.

Two variants share the same tests:

* ``ci`` (default): small sizes, part of the normal test run (well under a minute);
* ``full``: ``RXUNIX_STRESS=full`` (or ``python bench/stress_report.py --full``):
  10,000 churn cycles, 100 MB lines, a five-minute soak, longer fuzzing.

Every test records its row *before* asserting, so a failure shows in the table.
If ``RXUNIX_STRESS_REPORT`` names a file, the rows are also appended to it as
JSON lines (``bench/stress_report.py`` reads them back).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

LEVEL = os.environ.get("RXUNIX_STRESS", "ci").strip().lower() or "ci"
if LEVEL not in ("ci", "full"):
    raise RuntimeError(f"RXUNIX_STRESS must be 'ci' or 'full', got {LEVEL!r}")
FULL = LEVEL == "full"


def scale(ci: int | float, full: int | float) -> int | float:
    """The CI-sized or the full-sized figure, by variant."""
    return full if FULL else ci


@dataclass
class Row:
    area: str
    scenario: str
    load: str = ""
    faults: int = 0
    bad_inputs: int = 0
    lost: int = 0
    leaks: int = 0
    seconds: float = 0.0
    note: str = ""
    patched: bool = field(default=False)


ROWS: list[Row] = []


def _patched() -> bool:
    try:
        from gevent import monkey

        return bool(monkey.is_module_patched("socket"))
    except Exception:  # pragma: no cover
        return False


def record(area: str, scenario: str, *, started: float | None = None, **figures: object) -> Row:
    """Add one row to the table (call it before asserting on the figures)."""
    row = Row(area, scenario, **figures)  # type: ignore[arg-type]
    if started is not None:
        row.seconds = round(time.monotonic() - started, 2)
    row.patched = _patched()
    ROWS.append(row)
    path = os.environ.get("RXUNIX_STRESS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(row)) + "\n")
    return row


COLUMNS = ("area", "scenario", "load", "faults", "bad_inputs", "lost", "leaks", "seconds")
HEADERS = ("area", "scenario", "load held", "faults survived", "bad inputs tried", "events lost",
           "leaks", "s")


def table(rows: list[Row] | None = None, title: str | None = None) -> str:
    """The rows as a Markdown table with a totals line."""
    rows = ROWS if rows is None else rows
    cells = [[str(getattr(r, c)) for c in COLUMNS] for r in rows]
    total = ["**total**", f"{len(rows)} scenarios", "",
             str(sum(r.faults for r in rows)), str(sum(r.bad_inputs for r in rows)),
             str(sum(r.lost for r in rows)), str(sum(r.leaks for r in rows)),
             str(round(sum(r.seconds for r in rows), 1))]
    cells.append(total)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]

    def line(vals: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)) + " |"

    out = []
    if title:
        out.append(title)
    out.append(line(HEADERS))
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out.extend(line(c) for c in cells)
    notes = [f"- {r.scenario}: {r.note}" for r in rows if r.note]
    if notes:
        out.append("")
        out.extend(notes)
    return "\n".join(out)
