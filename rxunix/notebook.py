"""rxunix in Jupyter: rich display, thread-safe collectors, live views and plots.

Inside an IPython kernel connectors run on a :class:`~rxunix.runtime.ThreadRuntime`
(chosen automatically): the gevent hub lives in its own OS thread, so servers keep
accepting and windows keep closing while the kernel is idle between cells.

**Which thread runs what.** ``start()``, ``stop()`` and ``in_.on_next`` may be
called from cells (the kernel's main thread); they are handed into the hub thread.
Subscribers of ``out``/``err`` (your callbacks, window operators, the helpers
below) run in the *hub* thread. Their results reach the notebook in two ways:

* :class:`Collector`: an observer that stores events (with their arrival time)
  under a lock; a later cell reads it, or blocks on :meth:`Collector.wait` (the
  hub keeps running meanwhile). Its HTML form is a table of the events.
* :class:`LiveView`: a counter and a plot (ipywidgets + matplotlib, the
  ``notebook`` extra). The hub thread only records numbers; a small refresher
  thread renders the plot to PNG and sets the widgets at most every
  ``refresh`` seconds. The kernel sends widget updates from any thread, so the
  view moves while the kernel is idle.

Display: :class:`~rxunix.event.Event` and connectors have ``_repr_html_`` (value,
origin, counters); :class:`EventList` renders a list of events as a table.
Plots are plain matplotlib :class:`~matplotlib.figure.Figure` objects (no pyplot
state, so they can be built in any thread); show them with :func:`png`::

    >>> from rxunix.event import Event
    >>> ev = Event({"n": 1}, {"unix_socket_server": {"path": "/tmp/s", "peer": 3, "pid": 42}})
    >>> origin_text(ev.meta)
    'server /tmp/s peer 3 (pid 42)'
    >>> c = Collector()
    >>> c.on_next(ev); len(c), c.values
    (1, [{'n': 1}])
    >>> "<table" in c._repr_html_()
    True
"""

from __future__ import annotations

import html
import io
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
from gevent import monkey
from reactivex import abc

from .errors import MissingExtraError
from .event import ErrorEvent, Event
from .origin import CLIENT, SERVER, origin_records
from .runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .connectors.base import Connector

__all__ = [
    "Collector",
    "ConnectionTimeline",
    "EventList",
    "LiveView",
    "connector_html",
    "event_html",
    "events_html",
    "origin_text",
    "plot_timeline",
    "plot_windows",
    "png",
    "png_bytes",
]

_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")
_start_new_thread: Callable[..., int] = monkey.get_original("_thread", "start_new_thread")
_os_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")

_CSS = "font-family:monospace;font-size:12px;border-collapse:collapse"
_TD = "padding:1px 6px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


# ---- text and HTML ---------------------------------------------------------------


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def value_text(value: Any, limit: int = 200) -> str:
    """A short one-line text of a value (JSON where possible), cut at ``limit`` chars.

    >>> value_text({"a": [1, 2]}), value_text(b"raw"), value_text([1] * 9, limit=8)
    ('{"a": [1, 2]}', "b'raw'", '[1, 1, …')
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = repr(bytes(value))
    else:
        try:
            text = json.dumps(_plain(value), ensure_ascii=False, default=repr)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def origin_text(meta: Mapping[str, Any]) -> str:
    """Where an event came from, for people: server path/peer(s)/pid, or client socket.

    >>> origin_text({"unix_socket_client": {"peer": "/tmp/s"}})
    'client of /tmp/s'
    >>> origin_text({"unix_socket_server": [{"path": "/s", "peer": 1}, {"path": "/s", "peer": 2}]})
    'server /s peers 1, 2'
    >>> origin_text({})
    ''
    """
    parts: list[str] = []
    recs = origin_records(meta, SERVER)
    if recs:
        paths = sorted({str(r.get("path")) for r in recs})
        peers = ", ".join(str(r.get("peer")) for r in recs)
        text = f"server {', '.join(paths)} peer{'s' if len(recs) > 1 else ''} {peers}"
        if len(recs) == 1 and recs[0].get("pid") is not None:
            text += f" (pid {recs[0]['pid']})"
        parts.append(text)
    crecs = origin_records(meta, CLIENT)
    if crecs:
        parts.append("client of " + ", ".join(sorted({str(r.get("peer")) for r in crecs})))
    return "; ".join(parts)


def _other_meta(meta: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in meta.items() if k not in (SERVER, CLIENT)}
    return value_text(rest, 120) if rest else ""


def event_html(event: Event) -> str:
    """One event as a small HTML table: value, origin, other metadata (errors in red)."""
    if isinstance(event, ErrorEvent):
        v = event.value if isinstance(event.value, Mapping) else {"error": event.value}
        head = (
            f"<b style='color:#b00'>error</b> {html.escape(str(v.get('action', '')))} "
            f"in {html.escape(str(v.get('connector', '')))}: {html.escape(str(v.get('error', '')))}"
        )
        rows = [("stream", value_text(v.get("stream")))]
    else:
        head = "<b>event</b>"
        rows = [("value", value_text(event.value, 500))]
    origin = origin_text(event.meta)
    if origin:
        rows.append(("origin", origin))
    other = _other_meta(event.meta)
    if other:
        rows.append(("meta", other))
    body = "".join(
        f"<tr><th style='{_TD}'>{html.escape(k)}</th><td style='{_TD}'>{html.escape(t)}</td></tr>"
        for k, t in rows
    )
    return f"<div>{head}<table style='{_CSS}'>{body}</table></div>"


def events_html(events: Sequence[Event], limit: int = 50, times: Sequence[float] | None = None) -> str:
    """A list of events as an HTML table (the last ``limit`` rows; a note says how many are hidden).

    ``times`` (seconds, same length as ``events``) adds a time column.
    """
    n = len(events)
    start = max(0, n - limit)
    head = ["#"] + (["t (s)"] if times is not None else []) + ["value", "origin", "meta"]
    rows = []
    for i in range(start, n):
        ev = events[i]
        value = value_text(ev.value)
        style = _TD + (";color:#b00" if isinstance(ev, ErrorEvent) else "")
        cells = [str(i)] + ([f"{times[i]:.3f}"] if times is not None else [])
        cells += [value, origin_text(ev.meta), _other_meta(ev.meta)]
        rows.append("<tr>" + "".join(f"<td style='{style}'>{html.escape(c)}</td>" for c in cells) + "</tr>")
    note = f"<div><i>{start} earlier event(s) not shown</i></div>" if start else ""
    th = "".join(f"<th style='{_TD}'>{h}</th>" for h in head)
    return (
        f"<div><b>{n} event{'s' if n != 1 else ''}</b>{note}"
        f"<table style='{_CSS}'><tr>{th}</tr>{''.join(rows)}</table></div>"
    )


def connector_html(connector: Connector) -> str:
    """A connector as HTML: kind, state, socket path, live peers/connection and counters."""
    c: Any = connector
    facts: list[tuple[str, str]] = [("state", str(c.state))]
    path = getattr(c, "path", None)
    if path is not None:
        facts.append(("path", str(path)))
    for attr in ("peers", "connected", "held"):
        try:
            val = getattr(c, attr)
        except Exception:  # a property that cannot be read right now
            continue
        facts.append((attr, value_text(val)))
    facts += [(k, str(v)) for k, v in sorted(c.stats.items())]
    body = "".join(
        f"<tr><th style='{_TD}'>{html.escape(k)}</th><td style='{_TD}'>{html.escape(v)}</td></tr>"
        for k, v in facts
    )
    return (
        f"<div><b>{html.escape(type(c).__name__)}</b> <code>{html.escape(str(c.kind))}</code>"
        f"<table style='{_CSS}'>{body}</table></div>"
    )


def pretty(obj: Event | Sequence[Event], p: Any, cycle: bool) -> None:
    """``_repr_pretty_`` body for events and lists of events (plain-text front ends)."""
    if cycle:
        p.text("...")
    elif isinstance(obj, Event):
        p.text(repr(obj))
    else:
        p.text(f"{len(obj)} events")
        for i, ev in enumerate(obj):
            p.break_()
            p.text(f"{i}: {value_text(ev.value)}  [{origin_text(ev.meta)}]")


class EventList(list[Event]):
    """A list of events that renders as a table in notebooks."""

    def _repr_html_(self) -> str:
        return events_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        pretty(self, p, cycle)


# ---- collecting from the hub thread --------------------------------------------------


def _pause(runtime: Runtime | None) -> None:
    """Wait a little without starving the hub that delivers events."""
    rt = runtime if runtime is not None else get_runtime()
    if rt.in_hub_thread():
        gevent.sleep(0.005)
    else:
        _os_sleep(0.005)


class Collector(abc.ObserverBase[Event]):
    """A thread-safe observer that keeps events and their arrival times.

    Subscribe it in one cell (``server.out.subscribe(coll)``); it is fed in the hub
    thread; read it in a later cell (``coll.events``, ``coll.values``,
    ``coll.since(t)``) or block until enough arrived (``coll.wait(10)``)::

        >>> c = Collector()
        >>> c.on_next(Event(1)); c.on_next(Event(2))
        >>> c.wait(2, timeout=1).values
        [1, 2]
    """

    def __init__(self, name: str = "", runtime: Runtime | None = None) -> None:
        self.name = name
        self._runtime = runtime
        self._lock = _allocate_lock()
        self._events: list[Event] = []
        self._times: list[float] = []
        self.completed = False
        self.error: Exception | None = None

    # observer side (any thread)
    def on_next(self, value: Event) -> None:
        t = time.monotonic()
        with self._lock:
            self._events.append(value)
            self._times.append(t)

    def on_error(self, error: Exception) -> None:
        self.error = error

    def on_completed(self) -> None:
        self.completed = True

    def __call__(self, value: Event) -> None:
        self.on_next(value)

    # reader side (any thread)
    def __len__(self) -> int:
        return len(self._events)

    @property
    def events(self) -> EventList:
        """A snapshot of the events so far."""
        with self._lock:
            return EventList(self._events)

    @property
    def times(self) -> list[float]:
        """Arrival times (``time.monotonic()``), one per event."""
        with self._lock:
            return list(self._times)

    @property
    def values(self) -> list[Any]:
        """The events' values."""
        return [e.value for e in self.events]

    def since(self, t: float, until: float | None = None) -> EventList:
        """Events that arrived at monotonic time ``t`` or later (and before ``until``)."""
        with self._lock:
            return EventList(
                e for e, at in zip(self._events, self._times, strict=True)
                if at >= t and (until is None or at < until)
            )

    def wait(
        self,
        count: int | None = None,
        timeout: float = 10.0,
        until: Callable[[Collector], object] | None = None,
    ) -> Collector:
        """Block until ``count`` events arrived (or ``until(self)`` holds); raise
        ``TimeoutError`` after ``timeout`` seconds. Safe in a cell: the hub thread
        keeps delivering while this waits. Returns ``self``."""
        deadline = time.monotonic() + timeout

        def done() -> bool:
            if count is not None and len(self) < count:
                return False
            return until is None or bool(until(self))

        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"collector {self.name or ''}: {len(self)} events after {timeout}s"
                    + (f", wanted {count}" if count is not None else "")
                )
            _pause(self._runtime)
        return self

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._times.clear()

    def _repr_html_(self) -> str:
        with self._lock:
            evs, ts = list(self._events), list(self._times)
        t0 = ts[0] if ts else 0.0
        title = f"<div><b>Collector {html.escape(self.name)}</b></div>" if self.name else ""
        return title + events_html(evs, times=[t - t0 for t in ts])

    def __repr__(self) -> str:
        return f"<Collector {self.name!r} {len(self)} events>"


# ---- plots ---------------------------------------------------------------------------


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError("notebook display", module, "notebook") from exc


def _figure(width: float = 7.0, height: float = 3.0, rows: int = 1) -> tuple[Figure, Any]:
    """A pyplot-free figure (safe in any thread) and its axes."""
    _require("matplotlib")
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
    return _require("IPython.display").Image(data=png_bytes(fig, dpi), format="png")


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
    fig, ax = _figure()
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


class LiveView(abc.ObserverBase[Event]):
    """A counter and a plot that update while events arrive.

    ``LiveView(bucket=0.5)`` counts events per ``bucket`` seconds of arrival time;
    ``LiveView(per_window=True)`` treats each item as a window aggregate (value =
    list of the window's values) and plots events per window. Subscribe it to a
    stream (``server.out.subscribe(view)`` or ``aggregates.subscribe(view)``) and
    make it the last expression of a cell (or ``display(view)``)::

        >>> v = LiveView(per_window=True)
        >>> v.on_next(Event([1, 2, 3])); v.on_next(Event([4]))
        >>> v.total, v.counts
        (4, [3, 1])
        >>> v.close()

    ``LiveView(metric="connector_events", tags={"port": "out"})`` plots a
    connector's metrics (``connector.metrics.subscribe(view)``, see
    :mod:`rxunix.metrics`): one bar per metrics tick, the amount of that interval
    (summed over the matching series; gauges: their value)::

        >>> m = LiveView(metric="connector_events", tags={"port": "out"})
        >>> for t, n in enumerate([5, 12, 12]):
        ...     m.on_next(Event({"measurement": "connector_events", "tags": {"connector": "s", "port": "out"},
        ...                      "fields": {"count": n}, "timestamp": t}))
        >>> m.total, m.counts
        (12, [5, 7, 0])
        >>> m.close()

    Threads: ``on_next`` runs in the hub thread and only updates numbers under a
    lock. Widgets (ipywidgets ``HTML`` counter + ``Image`` plot, the ``notebook``
    extra) are created by the first display, and a refresher thread re-renders at
    most every ``refresh`` seconds when something changed; the kernel sends those
    updates even while idle. :meth:`close` stops the refresher (also when the
    stream completes) after a last refresh.
    """

    def __init__(
        self,
        *,
        bucket: float = 1.0,
        per_window: bool = False,
        group: Callable[[Any], Any] | None = None,
        title: str | None = None,
        refresh: float = 0.5,
        max_bars: int = 40,
        metric: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.bucket = bucket
        self.metric = metric
        self.tags = dict(tags or {})
        self._series: dict[tuple[tuple[str, str], ...], float] = {}
        self._stamp: Any = None
        per_window = per_window or metric is not None
        if metric is not None and title is None:
            title = f"{metric} per interval"
        self.per_window = per_window
        self.group = group
        self.title = title or ("events per window" if per_window else f"events per {bucket:g} s")
        self.refresh = refresh
        self.max_bars = max_bars
        self._lock = _allocate_lock()
        self._t0: float | None = None
        self._counts: list[int] = []
        self._windows: list[Event] = []
        self.total = 0
        self.last: Event | None = None
        self.renders = 0  # how many times the widgets were refreshed
        self._version = 0
        self._shown = -1
        self._widgets: Any = None
        self._closed = False
        self._thread_done: Any = None

    # ---- observer (hub thread) ----
    def on_next(self, value: Event) -> None:
        if self.metric is not None:
            self._on_metric(value.value)
            return
        now = time.monotonic()
        with self._lock:
            if self.per_window:
                n = len(value.value) if isinstance(value.value, list) else 1
                self._counts.append(n)
                self._windows.append(value)
            else:
                if self._t0 is None:
                    self._t0 = now
                i = int((now - self._t0) / self.bucket)
                while len(self._counts) <= i:
                    self._counts.append(0)
                self._counts[i] += 1
                n = 1
            self.total += n
            self.last = value
            self._version += 1

    def _on_metric(self, m: Any) -> None:
        """One metrics event: add its series' increment to the bar of its tick."""
        if not isinstance(m, Mapping) or m.get("measurement") != self.metric:
            return
        tags = m.get("tags", {})
        if any(tags.get(k) != v for k, v in self.tags.items()):
            return
        ((field, amount),) = m["fields"].items()
        key = tuple(sorted(tags.items()))
        n = amount if field == "value" else amount - self._series.get(key, 0)
        self._series[key] = amount
        with self._lock:
            if self._counts and m.get("timestamp") == self._stamp:
                self._counts[-1] += n
            else:
                self._counts.append(n)
                self._stamp = m.get("timestamp")
            self.total += n
            self._version += 1

    def on_error(self, error: Exception) -> None:
        self.close()

    def on_completed(self) -> None:
        self.close()

    def __call__(self, value: Event) -> None:
        self.on_next(value)

    @property
    def counts(self) -> list[int]:
        """Events per bucket (or per window), oldest first."""
        with self._lock:
            return list(self._counts)

    # ---- rendering (any thread) ----
    def figure(self) -> Figure:
        """The current plot as a matplotlib figure."""
        with self._lock:
            wins = list(self._windows[-self.max_bars :])
            counts = list(self._counts[-self.max_bars :])
            first = len(self._counts) - len(counts)
        if self.per_window and self.group is not None:
            fig = plot_windows(wins, self.group, title=self.title)
        else:
            fig = plot_windows(counts, title=self.title,
                               xlabel="window" if self.per_window else f"{self.bucket:g} s bucket")
        if first:
            fig.axes[0].set_xticklabels([str(first + i) for i in range(len(counts))])
        return fig

    def summary_html(self) -> str:
        with self._lock:
            total, last, n = self.total, self.last, len(self._counts)
        unit = "windows" if self.per_window else "buckets"
        last_text = html.escape(value_text(last.value, 120)) if last is not None else "-"
        return (
            f"<b>{html.escape(self.title)}</b>: <b>{total}</b> events in {n} {unit}; "
            f"last: <code>{last_text}</code>"
        )

    def render(self) -> None:
        """Refresh the widgets now (if displayed)."""
        w = self._widgets
        if w is None:
            return
        with self._lock:
            version = self._version
        counter, image = w
        counter.value = self.summary_html()
        image.value = png_bytes(self.figure())
        self._shown = version
        self.renders += 1

    def widget(self) -> Any:
        """The ipywidgets box (created on first use; starts the refresher)."""
        if self._widgets is None:
            widgets = _require("ipywidgets")
            counter = widgets.HTML(value="")
            image = widgets.Image(format="png")
            self._widgets = (counter, image)
            self._box = widgets.VBox([counter, image])
            self.render()
            if not self._closed:
                self._start_refresher()
        return self._box

    def _start_refresher(self) -> None:
        done = _allocate_lock()
        done.acquire()
        self._thread_done = done

        def loop() -> None:
            try:
                while not self._closed:
                    _os_sleep(self.refresh)
                    if self._version != self._shown:
                        self.render()
                if self._version != self._shown:
                    self.render()  # the final state
            finally:
                done.release()

        _start_new_thread(loop, ())

    def close(self, timeout: float = 5.0) -> None:
        """Stop refreshing (after a last refresh). Idempotent."""
        self._closed = True
        done = self._thread_done
        if done is not None:
            # not from the refresher itself (it never calls close)
            if done.acquire(True, timeout):
                done.release()

    def _ipython_display_(self) -> None:
        _require("IPython.display").display(self.widget())

    def _repr_html_(self) -> str:
        return self.summary_html()


# ---- connection timeline ---------------------------------------------------------------


@dataclass
class Sample:
    """One observation of a client: time (s since the timeline started) and its counters."""

    t: float
    connected: bool
    held: int
    written: int
    retries: int
    connects: int


@dataclass
class Wait:
    """A reconnect back-off wait: from the failed attempt to the next attempt."""

    start: float
    end: float

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000.0


@dataclass
class Timeline:
    """Samples and labelled marks (pure data, plotted by :func:`plot_timeline`)."""

    samples: list[Sample] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)

    def waits(self) -> list[Wait]:
        """Back-off waits: a wait starts when ``retries`` goes up and ends at the next
        attempt (the next retry, or a successful connect).

        >>> s = [Sample(0, False, 0, 0, 0, 1), Sample(.1, False, 0, 0, 1, 1),
        ...      Sample(.2, False, 0, 0, 2, 1), Sample(.4, True, 0, 0, 2, 2)]
        >>> [(w.start, w.end) for w in Timeline(s).waits()]
        [(0.1, 0.2), (0.2, 0.4)]
        """
        out: list[Wait] = []
        open_at: float | None = None
        prev: Sample | None = None
        for s in self.samples:
            if prev is not None:
                if s.retries > prev.retries:
                    if open_at is not None:
                        out.append(Wait(open_at, s.t))
                    open_at = s.t
                elif s.connects > prev.connects and open_at is not None:
                    out.append(Wait(open_at, s.t))
                    open_at = None
            prev = s
        return out

    def disconnected(self) -> list[tuple[float, float]]:
        """Outages: spans from losing a connection to the next connect (or the
        last sample). The time before the first connect is not an outage.

        >>> s = [Sample(0, False, 0, 0, 0, 0), Sample(.1, True, 0, 0, 0, 1),
        ...      Sample(.2, False, 0, 0, 0, 1), Sample(.5, True, 0, 0, 1, 2)]
        >>> Timeline(s).disconnected()
        [(0.2, 0.5)]
        """
        spans: list[tuple[float, float]] = []
        start: float | None = None
        seen_up = False
        for s in self.samples:
            seen_up = seen_up or s.connected
            if not s.connected and start is None and seen_up:
                start = s.t
            elif s.connected and start is not None:
                spans.append((start, s.t))
                start = None
        if start is not None and self.samples:
            spans.append((start, self.samples[-1].t))
        return spans

    def max_held(self) -> int:
        return max((s.held for s in self.samples), default=0)


class ConnectionTimeline:
    """Record a client's connection state, back-off and held events over time.

    A sampler greenlet on the client's hub reads its public counters
    (``connected``, ``held``, ``written``, ``stats["retries"]``,
    ``stats["connects"]``) every ``interval`` seconds; :meth:`mark` adds a
    labelled moment (e.g. "server stopped") from any thread. :meth:`stop` ends
    sampling and returns the :class:`Timeline`; :meth:`figure` plots it.
    """

    def __init__(self, client: Any, interval: float = 0.005) -> None:
        self.client = client
        self.interval = interval
        self.t0 = time.monotonic()
        self.timeline = Timeline()
        self._lock = _allocate_lock()
        self._greenlet: gevent.Greenlet | None = client.runtime.call(gevent.spawn, self._run)

    def _sample(self) -> None:
        c = self.client
        s = Sample(time.monotonic() - self.t0, bool(c.connected), int(c.held), int(c.written),
                   int(c.stats["retries"]), int(c.stats["connects"]))
        with self._lock:
            self.timeline.samples.append(s)

    def _run(self) -> None:
        while True:
            self._sample()
            gevent.sleep(self.interval)

    def mark(self, label: str) -> float:
        """Record a labelled moment now; returns its time (s since start)."""
        t = time.monotonic() - self.t0
        with self._lock:
            self.timeline.marks.append((t, label))
        return t

    def stop(self) -> Timeline:
        """Stop sampling (after one last sample) and return the timeline."""
        g = self._greenlet
        if g is not None:
            self._greenlet = None
            self.client.runtime.call(g.kill)
            self.client.runtime.call(self._sample)
        return self.snapshot()

    def snapshot(self) -> Timeline:
        with self._lock:
            return Timeline(list(self.timeline.samples), list(self.timeline.marks))

    def figure(self) -> Figure:
        return plot_timeline(self.snapshot())


def plot_timeline(tl: Timeline, title: str = "client connection, back-off and held events") -> Figure:
    """Two panels over time: connection state with back-off waits (labelled in ms)
    and marks; events held by the client and events written."""
    fig, (ax1, ax2) = _figure(8.0, 4.5, rows=2)
    ts = [s.t for s in tl.samples]
    ax1.step(ts, [1 if s.connected else 0 for s in tl.samples], where="post", color="tab:green",
             label="connected")
    for i, w in enumerate(tl.waits()):
        ax1.axvspan(w.start, w.end, ymin=0.05, ymax=0.45, color="tab:orange", alpha=0.35,
                    label="back-off wait" if i == 0 else None)
        ax1.annotate(f"{w.ms:.0f} ms", ((w.start + w.end) / 2, 0.3), ha="center", fontsize=7)
    for i, (t, label) in enumerate(tl.marks):
        for ax in (ax1, ax2):
            ax.axvline(t, color="tab:red", linestyle="--", linewidth=1)
        # alternate heights so that marks close in time do not overwrite each other
        ax1.annotate(" " + label, (t, 1.08 + 0.14 * (i % 2)), fontsize=7, color="tab:red")
    ax1.set_ylim(-0.1, 1.45)
    ax1.set_yticks([0, 1], ["down", "up"])
    ax1.set_title(title)
    ax1.legend(fontsize=7, loc="center right")
    ax2.step(ts, [s.held for s in tl.samples], where="post", color="tab:purple", label="held")
    ax2.step(ts, [s.written for s in tl.samples], where="post", color="tab:blue", label="written")
    ax2.set_xlabel("seconds")
    ax2.set_ylabel("events")
    ax2.legend(fontsize=7, loc="upper left")
    return fig
