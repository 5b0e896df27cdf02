"""A thread-safe collector of events that notebook cells read or wait on."""


from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
from gevent import monkey
from reactivex import abc

from ..core.event import Event
from ..edge.runtime import Runtime, get_runtime, waits_cooperatively
from .html import EventList, events_html

if TYPE_CHECKING:

    pass

_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")
_os_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")

def _pause(runtime: Runtime | None) -> None:
    """Wait a little without starving the hub that delivers events, nor (``threading``
    patched) the caller's own greenlets."""
    rt = runtime if runtime is not None else get_runtime()
    if rt.in_hub_thread() or waits_cooperatively():
        gevent.sleep(0.005)
    else:
        _os_sleep(0.005)


class Collector(abc.ObserverBase[Event]):
    """A thread-safe observer that keeps events and their arrival times.

    Subscribe it in one cell (``server.out.subscribe(coll)``); it is fed in the hub
    thread; read it in a later cell (``coll.events``, ``coll.values``,
    ``coll.since(t)``) or block until enough arrived (``coll.wait(10)``). ``name``
    titles its display and its ``TimeoutError``; ``runtime``: the runtime whose hub
    feeds it (default: the current one)::

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
        ``TimeoutError`` after ``timeout`` seconds, or at once if the stream ended
        (completed or failed: no more can come) without it. Safe in a cell: the hub
        thread keeps delivering while this waits. Returns ``self``."""
        deadline = time.monotonic() + timeout

        def done() -> bool:
            if count is not None and len(self) < count:
                return False
            return until is None or bool(until(self))

        while not done():
            ended = ("failed: " + repr(self.error)) if self.error is not None else (
                "completed" if self.completed else None)
            if ended is not None or time.monotonic() > deadline:
                raise TimeoutError(
                    f"collector {self.name or ''}: {len(self)} events"
                    + (f", wanted {count}" if count is not None else "")
                    + (f"; the stream {ended}" if ended is not None else f" after {timeout}s")
                )
            _pause(self._runtime)
        return self

    def clear(self) -> None:
        """Forget the events kept so far (completion and error stay as they are)."""
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


