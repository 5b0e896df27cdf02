"""What every connector shares: ``out``/``err`` observables, the ``in_`` observer,
an explicit lifecycle and counters.

A connector is *hot*: subscribe to ``out`` and ``err`` before ``start()``.
``start()`` returns at once; the connector's greenlets run on its runtime's hub
(see :mod:`rxunix.runtime`). ``in_`` may be called from any thread.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import gevent.event
from reactivex import Observable, abc
from reactivex.subject import Subject

from ..core.display import html_of
from ..core.event import ErrorEvent, Event, error_event
from .runtime import Runtime, get_runtime

__all__ = ["Connector", "Inlet"]


class Inlet(abc.ObserverBase[Event]):
    """The ``in_`` observer of a connector: thread-safe, never terminated by upstream errors."""

    def __init__(self, connector: Connector) -> None:
        self._c = connector

    def on_next(self, value: Event) -> None:
        c = self._c
        if c.runtime.in_hub_thread():
            c._receive(value)
        else:
            c.runtime.call_soon(c._receive, value)

    def on_error(self, error: Exception) -> None:
        c = self._c
        ev = error_event(error, connector=c.kind, action="input")
        if c.runtime.in_hub_thread():
            c._report(ev)
        else:
            c.runtime.call_soon(c._report, ev)

    def on_completed(self) -> None:
        c = self._c
        if c.runtime.in_hub_thread():
            c._input_completed()
        else:
            c.runtime.call_soon(c._input_completed)

    def __call__(self, value: Event) -> None:
        self.on_next(value)


class Connector(ABC):
    """Base class: ``out``, ``err``, ``in_``, ``start()``, ``stop()``, ``with`` support.

    Subclasses implement ``_start``, ``_stop`` and ``_receive`` and run in the hub
    thread; they publish with :meth:`_emit` and :meth:`_report`.
    """

    kind: str = "connector"

    def __init__(self, *, runtime: Runtime | None = None) -> None:
        self.runtime: Runtime = runtime or get_runtime()
        self._out: Subject[Event] = Subject()
        self._err: Subject[ErrorEvent] = Subject()
        self.in_: Inlet = Inlet(self)
        self.stats: Counter[str] = Counter()
        self.state = "new"
        self._stopped = gevent.event.Event()

    # ---- public API -------------------------------------------------------
    @property
    def out(self) -> Observable[Event]:
        """Events received."""
        return self._out

    @property
    def err(self) -> Observable[ErrorEvent]:
        """Error events: failures of this connector, never exceptions."""
        return self._err

    def start(self) -> Self:
        """Start the connector; returns at once (the connector runs on its hub)."""
        if self.state != "new":
            raise RuntimeError(f"{self.kind}: start() called in state {self.state!r}")
        self.runtime.call(self._start_in_hub)
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop and drain: pending output written, tails flushed, resources released."""
        if self.state in ("new", "stopped"):
            self.state = "stopped"
            return
        self.runtime.call(self._stop_in_hub, timeout, timeout=None if timeout is None else timeout + 5)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the connector has stopped (by ``stop()`` or by itself)."""
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
        self._start()
        self.state = "running"

    def _stop_in_hub(self, timeout: float | None) -> None:
        if self.state == "stopped":
            return
        self.state = "stopping"
        try:
            self._stop(timeout)
        finally:
            self._finished()

    def _finished(self) -> None:
        """Mark stopped and complete ``out`` and ``err`` (idempotent)."""
        if self.state == "stopped" and self._stopped.is_set():
            return
        self.state = "stopped"
        self._stopped.set()
        self._out.on_completed()
        self._err.on_completed()

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
