"""Flows and the service runner behind ``rxunix run`` (and ``rxunix demo``).

Flow files
==========

A flow file is an ordinary Python file that defines *flow functions*. A flow
function takes one argument, a :class:`Flow` context ``ctx``, creates
connectors with it and wires them together with Rx; it does not start
anything. This is the source document's ``define flow server``::

    # examples/echo_server.py
    def server(ctx):
        server = ctx.server(
            preprocessors=["separate"],          # line delimited JSON
            postprocessors=["separate"],
            codec="json",
            config={
                "path": ctx.param("socket", "/tmp/unix-socket.sock"),
                "permissions": "=600",
                "buf_size": 1024,
            },
        )
        server_out = ctx.write_file(ctx.path("server_out.log"))
        stdio = ctx.console()
        server.out.subscribe(server_out.in_)     # log to file
        server.out.subscribe(server.in_)         # echo it back
        server.err.subscribe(stdio.in_)          # debugging

    flows = [server]

Run it with ``rxunix run examples/echo_server.py`` (``--set socket=/tmp/x.sock
--set dir=/tmp/logs`` fill :meth:`Flow.param`; ``--flow NAME`` deploys only the
named functions, like Tremor's ``deploy flow NAME``).

Which functions are deployed
    The module-level list ``flows`` if the file defines one, otherwise the
    function named ``flow``. Several flows deployed together share one process
    and one gevent hub (see ``examples/echo.py``: server and client together).

What ``ctx`` offers
    ``ctx.server(**options)`` / ``ctx.client(**options)``: the
    ``unix_socket_server`` / ``unix_socket_client`` connectors, options exactly
    as in code (Tremor's dicts: ``config={...}``, ``reconnect={"retry": {...}}``);
    ``ctx.read_file(path, ...)``, ``ctx.write_file(path, ...)`` (sorted,
    minified JSON lines; ``mode="append"``), ``ctx.console(pretty=, meta=)``
    (JSON lines on stdout), ``ctx.exit_connector()`` (Tremor's
    ``integration::exit``: the first event ends the run, status from the event);
    ``ctx.add(connector)`` for any other :class:`~rxunix.edge.base.Connector`;
    ``ctx.exit(status)`` to end the run from any callback; ``ctx.param(name,
    default)``; ``ctx.path(name)`` (``name`` inside ``--set dir=DIR``, default the
    working directory); ``ctx.log(message)`` (stderr); ``ctx.spawn_later(seconds,
    fn)`` (cancelled at stop). :func:`out_or_exit` splits a stream like the
    source document's ``integration::out_or_exit`` pipeline;
    ``ctx.read_file(path, ready=client_ready(client))`` reads a file no faster
    than the client can hold the events (backpressure; see
    ``examples/echo_client.py``).

Flow control
    Between connectors made with ``ctx``, ``source.out.subscribe(sink.in_)``
    (or ``subscribe(sink.in_.on_next)``) pauses the source while the sink
    cannot take more: a server stops reading its connections and a file
    reader stops reading while the client it feeds holds its limit of unsent
    events (see :mod:`rxunix.edge.flowctl`); nothing is dropped or
    reordered. In code the same is ``rxunix.connect(source, sink)``.

Metrics
    Connectors made with ``ctx`` are named ``FLOW/KIND`` (or ``name=``) in
    metrics and summaries; ``metrics_interval_s=`` on any of them, or ``rxunix
    run --metrics FILE``, emits Tremor-shaped metrics events
    (:mod:`rxunix.core.metrics`); ``--metrics-port PORT`` serves them to
    Prometheus; ``--progress`` prints a progress line every few seconds.

Lifecycle
    1. Every deployed flow function is called (build). A failure (bad option,
       exception) is printed and the run exits with status 1 before anything
       starts.
    2. Connectors start in an order that never loses an event: sinks (files,
       console, exit) first, then servers, clients, and file sources last.
       A connector that cannot start (a live socket at the path, a missing
       input file...) ends the run with status 1 after stopping the others.
    3. The run lasts until SIGINT or SIGTERM (exit status 0), until a flow calls
       ``ctx.exit(status)`` or its exit connector receives an event (that
       status), or until every connector has stopped by itself (0).
    4. Stopping drains: file sources stop reading; servers flush preprocessor tails
       (into the clients they feed), write pending replies and remove their socket
       file; clients write what they hold; sinks flush and close their files.
       Each connector gets ``--drain-timeout`` seconds (default 5); one still
       not stopped 5 s later is abandoned and the status becomes 1. Another
       SIGINT/SIGTERM during the drain exits at once with ``128 + signal`` (one
       within 0.25 s of the first is that signal delivered twice, as ``timeout``
       does: ignored); after it, none changes the status. A one-line count per connector goes to stderr.

Flow callbacks run on the gevent hub of the main thread: inside them use
gevent's cooperative calls (``gevent.sleep``, ``gevent.spawn``), not blocking
ones, or start the run with ``rxunix run --monkey-patch``.

In code the same runner is available::

    >>> runner = Runner(handle_signals=False)
    >>> flow = runner.deploy(lambda ctx: ctx.exit(3), name="quits")
    >>> runner.run()
    3
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import gevent
import gevent.event
from reactivex import Observable
from reactivex import operators as ops

from ..core.event import Event
from ..edge.base import Connector
from ..edge.runtime import LocalRuntime, Runtime, get_runtime
from .flow_context import CLIENT, SERVER, SINK, SOURCE, C, Flow, FlowFunction
from .flow_files import FlowFileError, load_flow_file
from .monitoring import Monitor, log_unheard_errors
from .ready import client_ready
from .signals import SAME_SIGNAL_S, StopSignals
from .workers import MAX_WORKERS, supervise

__all__ = ["Flow", "Runner", "FlowFileError", "load_flow_file", "out_or_exit", "client_ready",
           "SINK", "SERVER", "CLIENT", "SOURCE"]


def out_or_exit(events: Observable[Event], exit_value: Any = "exit") -> tuple[Observable[Event], Observable[Event]]:
    """Split ``events`` into ``(out, exit)``: the source document's ``out_or_exit`` pipeline.

    Events whose value equals ``exit_value`` go to ``exit``; all others to ``out``::

        >>> from reactivex.subject import Subject
        >>> s = Subject(); seen = []
        >>> out, ex = out_or_exit(s)
        >>> _ = out.subscribe(lambda e: seen.append(("out", e.value)))
        >>> _ = ex.subscribe(lambda e: seen.append(("exit", e.value)))
        >>> s.on_next(Event(1)); s.on_next(Event("exit"))
        >>> seen
        [('out', 1), ('exit', 'exit')]
    """

    def is_exit(e: Event) -> bool:
        return bool(e.value == exit_value and type(e.value) is type(exit_value))

    def is_out(e: Event) -> bool:
        return not is_exit(e)

    return events.pipe(ops.filter(is_out)), events.pipe(ops.filter(is_exit))


@dataclass
class _Entry:
    connector: Connector
    name: str
    order: int
    start: bool
    flow: str


@dataclass
class _State:
    status: int | None = None
    reason: str = ""
    done: gevent.event.Event = field(default_factory=gevent.event.Event)


class Runner:
    """Deploys flows, starts their connectors, waits, stops them with a drain.

    The runner runs on the gevent hub of the thread that creates it (a
    :class:`~rxunix.edge.runtime.LocalRuntime`, or ``runtime``), and its flows'
    connectors too. ``handle_signals`` installs SIGINT/SIGTERM handlers on that hub
    for the duration of :meth:`run` (the runner must then run in the main thread).
    ``params``: what ``ctx.param(name)`` returns; ``drain_timeout``: seconds each
    connector's stop may drain; ``name``: the prefix of its stderr lines (``log``: another
    stream); ``summary``: a count per connector at the end; ``monitor``: metrics file,
    Prometheus and progress; ``workers``: N worker processes (0: this one; ``ValueError``
    outside 0..1024). Example::

        runner = Runner(params={"socket": "/tmp/rx/echo.sock"})
        runner.deploy(flow)        # flow(ctx) builds connectors with ctx.server(...), ...
        sys.exit(runner.run())     # the status: 0, or what ended the run
    """

    on_started: Callable[[], None] | None = None  #: called once every connector has started
    worker: int | None = None  #: this runner's number inside a worker process

    def __init__(
        self,
        *,
        params: Mapping[str, str] | None = None,
        drain_timeout: float = 5.0,
        handle_signals: bool = True,
        name: str = "rxunix run",
        log: IO[str] | None = None,
        runtime: Runtime | None = None,
        summary: bool = True,
        monitor: Monitor | None = None,
        workers: int = 0,
    ) -> None:
        self.params: Mapping[str, str] = dict(params or {})
        self.drain_timeout = drain_timeout
        self.handle_signals = handle_signals
        self.name = name
        self._log = log
        self.runtime = runtime or _local_runtime()
        self.summary = summary
        #: Seconds beyond ``drain_timeout`` after which a connector's stop() is abandoned.
        self.stop_grace = 5.0
        self.entries: list[_Entry] = []
        self.flows: list[Flow] = []
        self._state = _State()
        self._greenlets: list[gevent.Greenlet] = []
        self._stopping = False
        #: SIGINT/SIGTERM (``handle_signals``): the first stops with a drain; another during it exits at once.
        self._on_signal = StopSignals(lambda reason: self.exit(0, reason),
                                      lambda name: self.log(f"{name} again: exiting without draining"),
                                      same_within=SAME_SIGNAL_S)
        self.started_at: float | None = None
        self.elapsed: float = 0.0
        #: Metrics file, Prometheus and progress options (``rxunix run``).
        self.monitor = monitor or Monitor()
        if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be an int from 0 to {MAX_WORKERS}, got {workers!r}")
        self.workers = workers  # 0: run here
        self._deployed: list[tuple[FlowFunction, str]] = []  # what a worker deploys again

    # ---- building -----------------------------------------------------------
    def deploy(self, fn: FlowFunction, name: str | None = None) -> Flow:
        """Call flow function ``fn`` with a new :class:`Flow` context (builds, starts nothing)."""
        flow = Flow(self, name or str(getattr(fn, "__name__", "flow")))
        self.flows.append(flow)
        self._deployed.append((fn, flow.name))
        fn(flow)
        return flow

    def _add(self, flow: Flow, connector: C, *, name: str | None, order: int, start: bool) -> C:
        if not isinstance(connector, Connector):
            raise TypeError(f"flow {flow.name!r}: ctx.add() needs a Connector, got {connector!r}")
        for e in self.entries:
            if e.connector is connector:  # registered already: update how it is started
                e.start = start
                return connector
        count = sum(1 for e in self.entries if e.flow == flow.name and e.connector.kind == connector.kind)
        label = name or (connector.kind if not count else f"{connector.kind}#{count + 1}")
        self.entries.append(_Entry(connector, f"{flow.name}/{label}", order, start, flow.name))
        if connector.name is None:
            connector.name = f"{flow.name}/{label}"
        connector.auto_link()  # flow control between ctx connectors
        return connector

    # ---- control ------------------------------------------------------------
    def log(self, message: str) -> None:
        """One line on stderr (or the ``log`` stream)."""
        stream = self._log if self._log is not None else sys.stderr
        try:
            stream.write(f"{self.name}: {message}\n")
            stream.flush()
        except (OSError, ValueError):
            pass

    def exit(self, status: int, reason: str = "") -> None:
        """Ask the run to end with ``status`` (the first request wins)."""
        st = self._state
        if st.status is None:
            st.status, st.reason = status, reason
        if self.runtime.in_hub_thread():
            st.done.set()
        else:
            self.runtime.call_soon(st.done.set)

    @property
    def status(self) -> int | None:
        """The exit status asked for so far (None: nothing has asked the run to end)."""
        return self._state.status

    @property
    def reason(self) -> str:
        """Why the run ends (the first request's reason; empty while it goes on)."""
        return self._state.reason

    # ---- running ------------------------------------------------------------
    def _ordered(self) -> list[_Entry]:
        return sorted(self.entries, key=lambda e: e.order)  # stable: registration order within a class

    def run(self) -> int:
        """Start everything (``workers=N``: N worker processes), wait for the end, drain; return the status."""
        # nothing made, nothing started, no status: said, as the run waits for a signal
        if not self.entries and not self._greenlets and not self._state.done.is_set():
            self.log("warning: the flows made no connectors: the run waits for ctx.exit() or SIGINT/SIGTERM")
        if self.workers:
            return supervise(self)
        handlers = self._on_signal.install() if self.handle_signals else []
        self.started_at = time.monotonic()
        started: list[_Entry] = []
        try:
            try:
                self.monitor.begin(self)
                log_unheard_errors(self.entries, self.log)
            except OSError as exc:  # --metrics-port in use, --metrics FILE not writable: nothing started
                self.log(f"error: metrics: {exc}")
                return 1
            for entry in self._ordered():
                if self._state.done.is_set():
                    break
                if not entry.start:
                    started.append(entry)
                    continue
                try:
                    entry.connector.start()
                except Exception as exc:
                    self.log(f"{entry.name}: cannot start: {exc}")
                    self.exit(1, f"{entry.name} failed to start")
                    break
                started.append(entry)
            if self.on_started is not None and not self._state.done.is_set():
                self.on_started()
            self._wait(started)
            self._stop_all(started)
            self._on_signal.drained = True
        finally:
            self.monitor.end()
            for h in handlers:
                h.cancel()
            self.elapsed = time.monotonic() - self.started_at
        status = self._state.status
        return 0 if status is None else status

    def _wait(self, started: Sequence[_Entry]) -> None:
        done = self._state.done
        while not done.wait(0.2):
            if started and all(e.connector.state == "stopped" for e in started):
                self.exit(0, "every connector has stopped")

    def _stop_all(self, started: Iterable[_Entry]) -> None:
        self._stopping = True
        for g in self._greenlets:
            g.kill(block=False)
        self._greenlets.clear()
        if self.summary and self._state.reason:
            self.log(f"stopping: {self._state.reason}")
        for entry in sorted(reversed(list(started)), key=_stop_rank):
            limit = self.drain_timeout + self.stop_grace  # a connector that ignores its drain timeout
            try:
                with gevent.Timeout(limit, TimeoutError(f"did not stop within {limit}s")):
                    entry.connector.stop(self.drain_timeout)
            except Exception as exc:  # keep stopping the others
                self.log(f"{entry.name}: stop failed: {type(exc).__name__}: {exc}")
                if not self._state.status:
                    self._state.status = 1
        if self.summary:
            for entry in self._ordered():
                counts = ", ".join(f"{k}={v}" for k, v in sorted(entry.connector.stats.items()))
                self.log(f"{entry.name}: {counts or 'no events'}")


def _stop_rank(entry: _Entry) -> int:
    """Reverse start order, except servers before clients: what a server read drains into the clients it feeds."""
    return -(CLIENT + 5 if entry.order == SERVER else entry.order)


def _local_runtime() -> Runtime:
    """The calling thread's hub: a runner waits on it, so it must be local."""
    rt = get_runtime()
    return rt if isinstance(rt, LocalRuntime) and rt.in_hub_thread() else LocalRuntime()
