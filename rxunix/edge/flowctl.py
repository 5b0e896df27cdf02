"""Flow control: a source pauses while the sink it feeds cannot take more events.

Every connector has ``ready``, an observable of booleans: it emits whether the
connector can take more events on ``in_`` now (the current value on subscribe,
then every change; it completes when the connector has stopped). Only sinks
that hold events can become not ready: a ``unix_socket_client`` or
``unix_datagram_client`` holding its limit of unsent events
(:data:`READY_BACKLOG` while connected, at most its ``queue_size`` while
disconnected); the others stay ready.

Every source (server connections, client replies, file reader) has a
:class:`PauseGate`: while something holds it, the source reads nothing more
(a server's peers then block in ``send()`` once the kernel buffers are full).

One line wires a source to a sink with pausing::

    link = rxunix.connect(server, client)      # or connect(server.out, client.in_)
    ...
    link.dispose()                             # unwire (nothing held is dropped)

The link forwards every event in order. Events the source had already read
when the sink turned not ready (at most one read chunk per connection) wait in
the link and go on, in order, once the sink is ready again: nothing is
dropped, reordered or refused, and the hub never blocks. Flow files get the
same automatically: there ``source.out.subscribe(sink.in_)`` between
connectors made with ``ctx`` makes such a link when the sink can become not
ready (see :mod:`rxunix.app.flow`).

Source and sink must run on the same runtime (the default one, or the same
notebook runtime).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, cast

import gevent
import gevent.event
from reactivex import Observable, abc
from reactivex.subject import BehaviorSubject

from ..core.event import Event
from .ports import EventSubject, Inlet

if TYPE_CHECKING:
    from .base import Connector

__all__ = ["READY_BACKLOG", "PauseGate", "Readiness", "Link", "connect"]

#: Events a connected client may hold unsent before it says it is not ready.
READY_BACKLOG: Final = 1000


class PauseGate:
    """Pauses one source while any holder holds it (hub thread only).

    Readers check :attr:`open` before each read and call :meth:`wait` when it
    is false::

        >>> g = PauseGate()
        >>> g.hold("a"); g.hold("b"); g.release("a"); g.open
        False
        >>> g.release("b"); g.open
        True
    """

    __slots__ = ("open", "_holders", "_opened", "_since", "_paused")

    def __init__(self) -> None:
        #: True while nothing holds the gate (the source may read).
        self.open = True
        self._holders: set[int] = set()
        self._opened = gevent.event.Event()
        self._opened.set()
        self._since = 0.0
        self._paused = 0.0

    def hold(self, holder: object) -> None:
        """Pause the source until ``holder`` releases it (idempotent per holder)."""
        if not self._holders:
            self.open = False
            self._opened.clear()
            self._since = time.monotonic()
        self._holders.add(id(holder))

    def release(self, holder: object) -> None:
        """Drop ``holder``'s hold; the source resumes when no hold is left."""
        self._holders.discard(id(holder))
        if not self._holders and not self.open:
            self._paused += time.monotonic() - self._since
            self.open = True
            self._opened.set()

    def wait(self, *interrupts: gevent.event.Event) -> None:
        """Block this greenlet until the gate opens or one of ``interrupts`` is set."""
        if self.open:
            return
        gevent.wait([self._opened, *interrupts], count=1)

    @property
    def paused_s(self) -> float:
        """Total seconds this gate has been held (including now)."""
        now = 0.0 if self.open else time.monotonic() - self._since
        return self._paused + now


class Readiness:
    """A connector's ``ready`` observable: current value on subscribe, then changes."""

    def __init__(self) -> None:
        self.value = True
        self.subject: BehaviorSubject[bool] = BehaviorSubject(True)

    def track(self, held: int, limit: int) -> None:
        """A sink holding ``held`` events: not ready at ``limit``, ready again at half of it."""
        if held >= limit:
            self.set(False)
        elif held <= limit // 2:
            self.set(True)

    def set(self, value: bool) -> None:
        """Publish ``value`` if it differs from the current one."""
        if value != self.value:
            self.value = value
            self.subject.on_next(value)

    def complete(self) -> None:
        self.subject.on_completed()


class Link(abc.DisposableBase):
    """Forwards a source's events to an observer, pausing gates while ``ready`` is false.

    Built by :func:`connect` (and automatically in flow files). Completion and
    errors of the source are forwarded after every held event.
    """

    def __init__(
        self,
        source: Observable[Event],
        observer: abc.ObserverBase[Event],
        ready: Observable[bool],
        gates: Iterable[PauseGate],
    ) -> None:
        self._observer = observer
        self._gates = list(gates)
        self._held: deque[Event] = deque()
        self._open = True  # sink ready and nothing held: forward at once
        self._sink_ready = True
        self._ended = False  # the sink stopped: everything goes on (it reports what it cannot take)
        self._end: Callable[[], None] | None = None  # the source's completion/error, once held events are out
        self._draining = False
        self._disposed = False
        self._ready_sub = ready.subscribe(self._on_ready, on_completed=self._on_sink_ended)
        self._source_sub = source.subscribe(self._on_next, self._on_error, self._on_completed)

    @property
    def held(self) -> int:
        """Events waiting for the sink to be ready."""
        return len(self._held)

    # ---- source side ----
    def _on_next(self, event: Event) -> None:
        if self._open:
            self._observer.on_next(event)
        else:
            self._held.append(event)

    def _on_completed(self) -> None:
        self._finish(self._observer.on_completed)

    def _on_error(self, error: Exception) -> None:
        self._finish(lambda: self._observer.on_error(error))

    def _finish(self, end: Callable[[], None]) -> None:
        if self._held:
            self._end = end
        else:
            end()

    # ---- sink side ----
    def _on_ready(self, ready: bool) -> None:
        self._sink_ready = ready
        if self._ended:
            return
        if not ready:
            self._open = False
            for g in self._gates:
                g.hold(self)
        elif self._held:
            if not self._draining:
                self._draining = True
                gevent.spawn(self._drain)  # not inside the sink's own call
        else:
            self._resume()

    def _resume(self) -> None:
        self._open = True
        for g in self._gates:
            g.release(self)

    def _drain(self) -> None:
        try:
            held = self._held
            while held and (self._sink_ready or self._ended):
                self._observer.on_next(held.popleft())
        finally:
            self._draining = False
        if held:
            return  # the sink turned not ready again: the next ready resumes the drain
        if not self._ended and not self._disposed:
            self._resume()
        end, self._end = self._end, None
        if end is not None:
            end()

    def _on_sink_ended(self) -> None:
        """The sink stopped (or gave up reconnecting): from now on it gets every event at
        once, what the link holds first (it counts what it cannot take as reported), and
        the link no longer pauses the source: a source that pauses for a sink that will
        never be ready again would never end, nor serve its other subscribers."""
        self._ended = True
        self._open = True
        for g in self._gates:
            g.release(self)
        if self._held and not self._draining:
            self._draining = True
            self._drain()

    def dispose(self) -> None:
        """Unwire: held events go to the sink now (it reports what it cannot take)."""
        if self._disposed:
            return
        self._disposed = True
        self._source_sub.dispose()
        self._ready_sub.dispose()
        while self._held:
            self._observer.on_next(self._held.popleft())
        for g in self._gates:
            g.release(self)


def _owner(port: Any) -> Connector | None:
    """The connector behind ``port``: a connector, its ``out``, its ``in_`` or ``in_.on_next``."""
    if isinstance(port, EventSubject):
        return port.owner  # type: ignore[no-any-return]
    if isinstance(port, Inlet):
        return port.connector  # type: ignore[return-value]
    inlet = getattr(port, "in_", None)
    if isinstance(inlet, Inlet):
        return port  # type: ignore[no-any-return]
    bound = getattr(port, "__self__", None)  # client.in_.on_next
    return bound.connector if isinstance(bound, Inlet) else None  # type: ignore[return-value]


def connect(source: Any, sink: Any, *, pause: Any = None) -> abc.DisposableBase:
    """Forward ``source``'s events to ``sink``; pause the source while the sink is not ready.

    ``source``: a connector (its ``out``), its ``out``, or any observable of
    events together with ``pause=`` (the connector to pause, or its ``out``, or a
    list of them; anything else is a ``TypeError``). ``sink``: a
    connector, its ``in_`` or ``in_.on_next``. Returns a disposable that
    unwires. ``ValueError`` if the connectors run on different runtimes or
    ``pause`` is an empty list. A sink that is always ready gets a plain subscription::

        link = rxunix.connect(server, client)                  # relay with pausing
        link = rxunix.connect(src.out.pipe(ops.map(f)), client, pause=src)
    """
    target = _owner(sink)
    if target is None:
        raise TypeError(f"connect(): sink must be a connector or its in_, got {sink!r}")
    if not isinstance(source, Observable) and _owner(source) is not source:  # (an in_ is no source)
        raise TypeError(f"connect(): source must be a connector, its out or an observable of events, got {source!r}")
    pauses = _pauses(source, pause)
    owner = _owner(source)
    observable: Observable[Event] = owner.out if owner is not None and owner is source else cast(Any, source)
    for p in pauses:
        if p.runtime is not target.runtime:
            raise ValueError(f"connect(): {p.kind} and {target.kind} run on different runtimes")
    if not target.flow_controlled:
        return observable.subscribe(target.in_)
    gates = [p.gate for p in pauses]
    # built on the hub: the sink's ready may pause the source at once
    return target.runtime.call(lambda: Link(observable, target.in_, target.ready, gates))


def _pauses(source: Any, pause: Any) -> list[Connector]:
    """The connectors ``connect()`` pauses: ``pause`` (a connector, its ``out``, or a
    list or tuple of them), else the connector behind ``source``."""
    if pause is None:
        found = _owner(source)
        if found is None:
            raise TypeError("connect(): pass pause=<source connector> when source is not a connector's out")
        return [found]
    given = list(pause) if isinstance(pause, (list, tuple)) else [pause]  # (an Observable is iterable, endlessly)
    pauses = []
    for p in given:
        found = _owner(p)
        if found is None or isinstance(p, Inlet):
            raise TypeError(f"connect(): pause must be a connector (or its out), or a list of them, got {p!r}")
        pauses.append(found)
    if not pauses:
        raise ValueError("connect(): pause=[] pauses nothing; name the connector(s) whose reads feed source")
    return pauses


def auto_link_hook(connector: Connector) -> Callable[[Any], abc.DisposableBase | None]:
    """For ``connector.out``: subscribing a flow-controlled sink's ``in_``
    (``source.out.subscribe(client.in_)``) makes a :class:`Link` (flow files)."""

    def hook(observer: Any) -> abc.DisposableBase | None:
        sink: Any = observer.connector if isinstance(observer, Inlet) else None
        if sink is not None and sink is not connector and sink.flow_controlled and sink.runtime is connector.runtime:
            return Link(connector.out, observer, sink.ready, [connector.gate])
        return None

    return hook
