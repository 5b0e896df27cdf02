"""A client's connection timeline: connects, back-off waits and held events, and its plot."""


from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
from gevent import monkey

from .plots import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")

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
    fig, (ax1, ax2) = new_figure(8.0, 4.5, rows=2)
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

