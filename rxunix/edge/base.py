"""What every connector shares: ``out``/``err`` observables, the ``in_`` observer,
an explicit lifecycle and counters.

A connector is *hot*: subscribe to ``out`` and ``err`` before ``start()``.
``start()`` returns at once; the connector's greenlets run on its runtime's hub
(see :mod:`rxunix.edge.runtime`). ``in_`` may be called from any thread.
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import gevent
import gevent.event
from reactivex import Observable
from reactivex.subject import Subject

from ..core.display import html_of
from ..core.errors import ConfigError, SocketPathError
from ..core.event import ErrorEvent, Event, error_event
from ..core.lifecycle import ConnectorState, advance
from ..core.metrics import MIN_INTERVAL as MIN_METRICS_INTERVAL
from .flowctl import PauseGate, Readiness, auto_link_hook
from .metering import Meter
from .ports import EventSubject, Inlet
from .runtime import Runtime, get_runtime

__all__ = ["Connector", "Inlet", "EventSubject"]


class Connector(ABC):
    """Base class: ``out``, ``err``, ``in_``, ``start()``, ``stop()``, ``with`` support.

    Subclasses implement ``_start``, ``_stop`` and ``_receive`` and run in the hub
    thread; they publish with :meth:`_emit` and :meth:`_report`.

    Flow control and metrics (:mod:`rxunix.edge.flowctl`,
    :mod:`rxunix.core.metrics`): ``ready`` (can ``in_`` take more now),
    ``gate`` (pauses a source), ``metrics`` (every ``metrics_interval_s``
    seconds, Tremor's metrics events), :meth:`metrics_snapshot`.
    """

    kind: str = "connector"
    #: True for sinks whose ``ready`` can turn false (they hold events).
    flow_controlled: bool = False
    #: True for connectors that read events from outside (their ``gate`` pauses them).
    pausable: bool = False
    #: Metrics snapshot key -> ``stats`` key (see :data:`rxunix.core.metrics.MEASUREMENTS`).
    metered: Mapping[str, str] = {"events_in": "in", "events_out": "out", "events_err": "errors"}

    def __init__(self, *, runtime: Runtime | None = None, metrics_interval_s: float | None = None) -> None:
        if runtime is not None and not isinstance(runtime, Runtime):
            raise TypeError(f"{self.kind}: runtime must be a rxunix Runtime, got {type(runtime).__name__}")
        self.runtime: Runtime = runtime or get_runtime()
        self._out: EventSubject = EventSubject(self)
        self._err: Subject[ErrorEvent] = Subject()
        self.in_: Inlet = Inlet(self)
        self.stats: Counter[str] = Counter()
        self.state: ConnectorState = ConnectorState.NEW
        self._stopped = gevent.event.Event()
        self._own_greenlets: weakref.WeakSet[gevent.Greenlet] = weakref.WeakSet()
        self._stop_later: gevent.Greenlet | None = None
        self._draining: Any = None  # the greenlet running the stop
        self._start_asked = False  # start() was called: whether it ran is the hub's to say
        self._starting: gevent.event.Event | None = None  # set once a start in the hub has ended
        #: Name in metrics tags and summaries (a flow runner sets it); default: path or kind.
        self.name: str | None = None
        #: Held by flow-control links while a sink this source feeds is not ready.
        self.gate = PauseGate()
        self._readiness = Readiness()
        self._meter = Meter(self, lambda exc: self._error(exc, "metrics"))
        self.metrics_interval_s = metrics_interval_s

    # ---- public API -------------------------------------------------------
    @property
    def out(self) -> Observable[Event]:
        """Events received."""
        return self._out

    @property
    def ready(self) -> Observable[bool]:
        """Whether ``in_`` can take more events now: the current value on subscribe,
        then every change; completes when the connector has stopped. Always true
        unless :attr:`flow_controlled`. See :func:`rxunix.connect`."""
        return self._readiness.subject

    @property
    def metrics(self) -> Observable[Event]:
        """Every ``metrics_interval_s`` seconds (and once more when stopping), one
        event per measurement in Tremor's metrics shape (:mod:`rxunix.core.metrics`);
        never emits without ``metrics_interval_s``; completes when stopped."""
        return self._meter.subject

    @property
    def metrics_interval_s(self) -> float | None:
        """Seconds between metrics emissions (None: no metrics); settable before ``start()``."""
        return self._meter.interval_s

    @metrics_interval_s.setter
    def metrics_interval_s(self, seconds: float | None) -> None:
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, (int, float))
            or not MIN_METRICS_INTERVAL <= seconds < float("inf")
        ):
            raise ConfigError(f"{self.kind}: option 'metrics_interval_s' must be a number of seconds "
                              f">= {MIN_METRICS_INTERVAL}, got {seconds!r}")
        if self.state != "new":
            raise RuntimeError(f"{self.kind}: metrics_interval_s can only be set before start()")
        self._meter.interval_s = None if seconds is None else float(seconds)

    @property
    def metrics_name(self) -> str:
        """The ``connector`` tag of this connector's metrics: its name, else ``KIND:PATH``
        (a server and a client on one path are told apart), else its kind."""
        if self.name:
            return self.name
        path = getattr(self, "path", None)
        return f"{self.kind}:{path}" if path else self.kind

    def metrics_snapshot(self) -> dict[str, float]:
        """Current totals and gauges, keyed as in :data:`rxunix.core.metrics.MEASUREMENTS`."""
        stats = self.stats
        snap: dict[str, float] = {key: stats[name] for key, name in self.metered.items()}
        snap.update(self._gauges())
        if self.pausable:
            snap["paused_s"] = self.gate.paused_s
        return snap

    def auto_link(self) -> None:
        """Make ``out.subscribe(sink.in_)`` a flow-control link for flow-controlled
        sinks (flow files do this for every connector made with ``ctx``)."""
        self._out.subscribe_hook = auto_link_hook(self)

    @property
    def err(self) -> Observable[ErrorEvent]:
        """Error events: failures of this connector, never exceptions."""
        return self._err

    def start(self) -> Self:
        """Start the connector; returns at once (the connector runs on its hub). A connector
        runs once: ``RuntimeError`` for a second start or a start after ``stop()`` (make a
        new one); a server's path in use is a :class:`~rxunix.core.errors.SocketPathError`."""
        if self.state != "new":
            again = "; a connector runs once: make a new one" if self.state == "stopped" else ""
            raise RuntimeError(f"{self.kind}: start() called in state {str(self.state)!r}{again}")
        self._start_asked = True
        try:
            self.runtime.call(self._start_in_hub)
        except SocketPathError as exc:
            path = getattr(self, "path", None)
            same = [c for c in list(self.runtime.running) if c is not self and getattr(c, "path", None) == path]
            if not same or "in use" not in str(exc):
                raise
            raise SocketPathError(f"{exc}: {same[0]!r} runs on it in this process: stop() it first "
                                  "(e.g. a notebook cell run again)") from None
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop and drain: pending output written, tails flushed, resources released;
        returns once stopped. ``timeout`` bounds the drain (seconds; None: no bound):
        what is not written by then is reported on ``err``.

        Called from this connector's own callbacks (a subscriber of its ``out``,
        ``err`` or ``metrics``, e.g. stopping on an ``"exit"`` event), the stop
        begins as soon as the callback returns and ``stop()`` returns at once: it
        cannot wait for the very greenlet it runs on (:meth:`join` from elsewhere
        waits for it). Called from a callback of the stop itself (an ``err``
        subscriber told of what the stop could not deliver), it returns at once.
        A ``stop()`` from anywhere else while one drains waits for that one.
        """
        if self.state == "stopped":
            return
        if self.state == "new":
            # once start() was asked for, decided in the hub, where it starts: a start()
            # racing from another thread either ran first (this then stops a running
            # connector) or finds it stopped and fails
            here = self.runtime.in_hub_thread() or self.runtime.closed
            if here or not (self._start_asked or self._abandons_in_hub):
                if self._stop_new():
                    return
            elif self.runtime.call(self._stop_new):
                return
        if self.runtime.in_hub_thread():
            current = gevent.getcurrent()
            if current is self._draining:
                return
            # the connector's own greenlets, or the hub itself (callbacks handed in from
            # another thread run there and must not block): stop once they return
            if current in self._own_greenlets or current is self.runtime.hub:
                if self._stop_later is None:
                    self._stop_later = gevent.spawn(self._stop_in_hub, timeout)
                return
        self.runtime.call(self._stop_in_hub, timeout, timeout=None if timeout is None else timeout + 5)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the connector has stopped (by ``stop()`` or by itself): True once
        stopped, False if ``timeout`` seconds passed first."""
        if self.runtime.in_hub_thread():
            return bool(self._stopped.wait(timeout))
        try:
            return bool(self.runtime.call(self._stopped.wait, timeout, timeout=None))
        except TimeoutError:
            return False

    @property
    def running(self) -> bool:
        return self.state == "running"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- for subclasses (hub thread only) ---------------------------------
    def _start_in_hub(self) -> None:
        if self.state != "new":  # a stop() from another thread came first
            raise RuntimeError(f"{self.kind}: stopped before it started; a connector runs once: make a new one")
        self._starting = starting = gevent.event.Event()
        try:
            self._start()
            self.state = advance(self.state, ConnectorState.RUNNING)
            self._meter.start()
            self.runtime.running.add(self)
        finally:
            starting.set()

    def _stop_new(self) -> bool:
        """(hub) Stop a connector that was never started: True; False if it is running
        (a start that was under way is waited for: it is then stopped as running)."""
        starting = self._starting
        if starting is not None and gevent.getcurrent() is not self.runtime.hub:
            starting.wait()
        if self.state != "new":
            return False
        self._abandon()
        return True

    #: Whether :meth:`_abandon` must run in the hub (it reports what the connector holds).
    _abandons_in_hub = False

    def _abandon(self) -> None:
        """The stop of a connector never started (a subclass reports what it holds)."""
        self.state = advance(self.state, ConnectorState.STOPPED)

    def _spawn(self, fn: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        """Spawn one of this connector's own greenlets (reads, writes, timers): its
        subscribers' callbacks run there, so a ``stop()`` from one must not wait for it."""
        g = gevent.spawn(fn, *args)
        self._own_greenlets.add(g)
        return g

    def _stop_in_hub(self, timeout: float | None) -> None:
        if self.state == "stopped":
            return
        if self.state == "stopping":  # another stop drains: wait for it
            if gevent.getcurrent() is not self._draining:
                self._stopped.wait(timeout)
            return
        self.state = advance(self.state, ConnectorState.STOPPING)
        self._draining = gevent.getcurrent()
        try:
            self._stop(timeout)
        finally:
            self._finished()
            self._draining = None

    def _finished(self) -> None:
        """Mark stopped and complete ``out`` and ``err`` (idempotent)."""
        if self.state == "stopped" and self._stopped.is_set():
            return
        self.state = advance(self.state, ConnectorState.STOPPED)
        self._stopped.set()
        self.runtime.running.discard(self)
        self._meter.finish()
        self._readiness.complete()
        self._out.on_completed()
        self._err.on_completed()

    def _complete_out(self) -> None:
        """Complete ``out`` while the connector can still write (a server's stop, once no
        more is read): what its subscribers emit on completion reaches ``in_`` in time,
        e.g. the partial windows of ``server.out.pipe(window).subscribe(server.in_)``.
        A subscriber that raises is reported (action ``emit``)."""
        try:
            self._out.on_completed()
        except Exception as exc:
            self._error(exc, "emit")

    def _set_ready(self, ready: bool) -> None:
        """Publish whether ``in_`` can take more (flow-controlled sinks call this)."""
        self._readiness.set(ready)

    def _gauges(self) -> dict[str, float]:
        """Gauges for :meth:`metrics_snapshot` (subclasses add theirs)."""
        return {}

    # ---- hub-thread entry points of ``in_`` ------------------------------
    def receive(self, event: Event) -> None:
        """Take one event pushed into ``in_`` (hub thread; ``in_`` calls this)."""
        self._receive(event)

    def receive_batch(self, events: Sequence[Event]) -> None:
        """Take a batch pushed into ``in_`` in one call (hub thread); default: one by one."""
        receive = self._receive
        for event in events:
            receive(event)

    def receive_error(self, event: ErrorEvent) -> None:
        """Upstream of ``in_`` failed: report it on ``err`` (hub thread)."""
        self._report(event)

    def input_completed(self) -> None:
        """Upstream of ``in_`` completed (hub thread)."""
        self._input_completed()

    def _emit(self, event: Event) -> None:
        self.stats["out"] += 1
        self._out.on_next(event)

    def _report(self, event: ErrorEvent) -> None:
        self.stats["errors"] += 1
        self._err.on_next(event)

    def _error(
        self,
        error: BaseException | str,
        action: str,
        stream: Any = None,
        meta: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self._report(error_event(error, connector=self.kind, action=action, stream=stream, meta=meta, **extra))

    def _input_completed(self) -> None:  # noqa: B027 - optional hook
        """Upstream of ``in_`` completed; default: nothing (the connector keeps running)."""

    @abstractmethod
    def _start(self) -> None: ...

    @abstractmethod
    def _stop(self, timeout: float | None) -> None: ...

    @abstractmethod
    def _receive(self, event: Event) -> None: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state} {dict(self.stats)}>"

    def _repr_html_(self) -> str | None:
        """Notebook display (state, path, peers, counters), rendered by :mod:`rxunix.notebook`."""
        return html_of(self)
