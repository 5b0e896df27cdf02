"""Matplotlib figures (no pyplot state) of windows, and their PNG rendering."""


from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.errors import MissingExtraError
from ..core.event import Event

if TYPE_CHECKING:
    from matplotlib.figure import Figure



def require_extra(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError("notebook display", module, "notebook") from exc


def new_figure(width: float = 7.0, height: float = 3.0, rows: int = 1) -> tuple[Figure, Any]:
    """A pyplot-free figure (safe in any thread) and its axes."""
    require_extra("matplotlib")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=True) if rows > 1 else fig.add_subplot(1, 1, 1)
    return fig, axes


def png_bytes(fig: Figure, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes (Agg, no GUI, any thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def png(fig: Figure, dpi: int = 80) -> Any:
    """An ``IPython.display.Image`` of a figure: ``display(png(fig))`` in a cell."""
    return require_extra("IPython.display").Image(data=png_bytes(fig, dpi), format="png")


def window_rows(
    windows: Iterable[Event], group: Callable[[Any], Any] | None = None
) -> list[dict[Any, int]]:
    """Per window (an aggregate whose value is the list of the window's values),
    how many events each group had (``group(value)``; one group ``None`` without it).

    >>> window_rows([Event([{"c": 1}, {"c": 2}, {"c": 1}]), Event([{"c": 2}])], lambda v: v["c"])
    [{1: 2, 2: 1}, {2: 1}]
    """
    rows: list[dict[Any, int]] = []
    for w in windows:
        vals = w.value if isinstance(w.value, list) else [w.value]
        row: dict[Any, int] = {}
        for v in vals:
            k = group(v) if group is not None else None
            row[k] = row.get(k, 0) + 1
        rows.append(row)
    return rows


def plot_windows(
    windows: Sequence[Event] | Sequence[int],
    group: Callable[[Any], Any] | None = None,
    title: str = "events per window",
    xlabel: str = "window",
) -> Figure:
    """A bar chart of events per window, stacked by ``group`` (e.g. the sending client).

    ``windows`` are aggregate events (value = the window's values) or plain counts.
    Each bar is labelled with its total; the legend names the groups.
    """
    fig, ax = new_figure()
    if windows and not isinstance(windows[0], Event):
        rows: list[dict[Any, int]] = [{None: int(n)} for n in windows]  # type: ignore[arg-type]
    else:
        rows = window_rows(windows, group)  # type: ignore[arg-type]
    keys = sorted({k for r in rows for k in r}, key=repr)
    xs = list(range(len(rows)))
    bottom = [0] * len(rows)
    for k in keys:
        hs = [r.get(k, 0) for r in rows]
        ax.bar(xs, hs, bottom=bottom, label=None if k is None else str(k))
        bottom = [b + h for b, h in zip(bottom, hs, strict=True)]
    for x, total in zip(xs, bottom, strict=True):
        ax.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("events")
    if rows:
        ax.set_xticks(xs)
        ax.set_ylim(0, max(bottom) * 1.15 + 1)
    if any(k is not None for k in keys):
        ax.legend(fontsize=8, loc="upper right")
    return fig


# ---- live view -----------------------------------------------------------------------


