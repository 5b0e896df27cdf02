"""A live view: counters and a plot in widgets, refreshed from a small thread."""


from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gevent import monkey
from reactivex import abc

from ..core.event import Event
from .html import value_text
from .plots import plot_windows, png_bytes, require_extra

if TYPE_CHECKING:
    from matplotlib.figure import Figure


_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")
_start_new_thread: Callable[..., int] = monkey.get_original("_thread", "start_new_thread")
_os_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")

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
    :mod:`rxunix.core.metrics`): one bar per metrics tick, the amount of that interval
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
    updates even while idle. :meth:`close` stops the refresher after a last
    refresh and waits for it; the stream's completion stops it too, without
    waiting (the hub thread never blocks on the view).
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
        self.render_errors = 0  # refreshes that failed (said in the counter)
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
        self._closed = True  # the refresher makes its last refresh; the hub never waits for it

    def on_completed(self) -> None:
        self._closed = True

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
        unit = "ticks" if self.metric is not None else "windows" if self.per_window else "buckets"
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

    def _render_or_say(self) -> None:
        """The refresher's render: a failure (a ``group`` or ``value`` function that raises
        on some event) is shown in the counter, with the last good plot kept, and the
        view goes on refreshing (it would freeze silently otherwise)."""
        try:
            self.render()
        except Exception as exc:
            self.render_errors += 1
            self._shown = self._version  # (not again until something changes)
            w = self._widgets
            if w is not None:
                w[0].value = html.escape(f"LiveView cannot render: {type(exc).__name__}: {exc}")

    def widget(self) -> Any:
        """The ipywidgets box (created on first use; starts the refresher)."""
        if self._widgets is None:
            widgets = require_extra("ipywidgets")
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
                        self._render_or_say()
                if self._version != self._shown:
                    self._render_or_say()  # the final state
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
        require_extra("IPython.display").display(self.widget())

    def _repr_html_(self) -> str:
        return self.summary_html()


# ---- connection timeline ---------------------------------------------------------------


