"""What runs inside a forked worker (or the aggregator) of ``rxunix run --workers`` (see :mod:`.workers`).

:func:`run_worker` is called in the child right after the fork: it drops what
belongs to the supervisor (signal handlers, greenlets, pipes), asks the kernel
for SIGTERM when the supervisor dies, registers the inherited listening
sockets (:mod:`rxunix.edge.prebound`), builds a runner and runs it. Worker
``0`` is the aggregator of the windows declared with
:func:`rxunix.app.across.across_workers`; workers ``1..N`` run the flows.
A worker tells the supervisor on its pipe ``ready`` once every connector has
started, ``m JSON`` for each metrics event of its connectors (when the run
writes or serves metrics, :mod:`.worker_metrics`), and ``exit STATUS`` when its
flow (not the supervisor) ended the run. Its stderr (descriptor 2) is a pipe
to the supervisor, which tags and writes each line (:mod:`.worker_logs`);
when the supervisor has died it is the inherited stderr again.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import signal
import stat
import sys
from collections.abc import Callable
from typing import Any

import gevent
import simplejson

from ..core.origin import SERVER as SERVER_KIND
from ..edge import prebound
from ..edge.descriptors import close_now
from . import across
from .monitoring import Monitor
from .worker_logs import redirect_stderr, restore_stderr
from .worker_metrics import MESSAGE as METRICS_MESSAGE

__all__ = ["run_worker", "worker_runner", "label", "PARENT_CHECK", "stop_alarm_seconds"]

#: Seconds between a worker's checks that its supervisor is alive (besides PR_SET_PDEATHSIG).
PARENT_CHECK = 1.0
#: Seconds after its drain deadline at which a worker asked to stop ends itself (SIGALRM),
#: when the supervisor that enforces the deadline is gone.
ALARM_MARGIN_S = 2
_MAX_ALARM = 2**31 - 1
_PR_SET_PDEATHSIG = 1
#: Start order of a worker's link to the aggregator: after sinks (0), before servers (10).
_LINK_ORDER = 5


def label(number: int) -> str:
    """``"worker N"``, or ``"aggregator"`` for 0."""
    return "aggregator" if number == 0 else f"worker {number}"


def _kill_inherited_greenlets() -> None:
    """End, in a freshly forked worker, every greenlet the supervisor had: the flows'
    timers, and the threads a flow's build started when ``threading`` is monkey-patched
    (they are greenlets, and greenlets, unlike threads, live on in a forked child). The
    worker builds its flows again, with their own."""
    me = gevent.getcurrent()
    inherited = [g for g in gc.get_objects() if isinstance(g, gevent.Greenlet) and g is not me and not g.dead]
    gevent.killall(inherited, block=False)


def run_worker(sup: Any, number: int, write_fd: int, err_fd: int) -> int:
    """The body of worker ``number`` forked by supervisor ``sup``; returns its exit status.

    ``write_fd``: the pipe to the supervisor; ``err_fd``: the pipe that becomes its stderr.
    """
    # SIGINT/SIGTERM are blocked since the fork: set this process's handlers, then take them
    # (a SIGTERM from then on, even during the build, is a request to stop; SIGINT, which a
    # terminal sends the whole group, is the supervisor's to handle)
    stop_asked: list[int] = []
    for h in sup._handlers:  # the supervisor's signal handlers, greenlets and files are not ours
        h.cancel()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, _frame: stop_asked.append(signum))
    signal.pthread_sigmask(signal.SIG_SETMASK, sup.child_sigmask)
    _kill_inherited_greenlets()
    sup.metrics.close_copies()
    for fd in [sup._wake_r, sup._wake_w] + [fd for w in sup.workers.values() for fd in (w.pipe, w.errpipe)]:
        close_now(fd)
    inherited_stderr = redirect_stderr(err_fd)
    _parent_death_signal(signal.SIGTERM)
    if os.getppid() != sup.pid:
        return 0  # the supervisor is already gone
    prebound.set_worker(number or None)
    for b in sup.bound:  # the aggregator takes the internal socket only, workers the servers' only
        if (b.path == sup.link_path) == (number == 0):
            share = sup.accepts.share(b.row, number) if b.row is not None else None  # servers: workers only
            prebound.adopt(b.path, b.kind, b.listening.sock.fileno(), share)
        else:
            b.listening.sock.close()  # this process's copy: it must not keep the socket open
    forward = None
    if sup.metrics.wanted:
        def forward(value: dict[str, Any]) -> None:
            _send(write_fd, f"{METRICS_MESSAGE}{simplejson.dumps(value, separators=(',', ':'))}\n".encode())
    runner = _build(sup, number, forward)
    asked: list[str] = []

    def stop(reason: str) -> None:
        if os.getppid() != sup.pid:  # the supervisor is gone: log the drain where it logged
            restore_stderr(inherited_stderr)
        if not asked:
            asked.append(reason)
            runner.exit(0, reason)

    loop = gevent.get_hub().loop
    alarm_s = stop_alarm_seconds(runner.drain_timeout + runner.stop_grace)

    def on_sigterm(_signum: int, _frame: Any) -> None:
        # a Python-level handler: it runs even while the hub is blocked, and the alarm ends
        # the process when the drain the supervisor would enforce is over (it may be gone)
        if not stop_asked:
            stop_asked.append(signal.SIGTERM)
            signal.alarm(alarm_s)
        loop.run_callback(stop, "stop requested (SIGTERM)")

    def started() -> None:
        _send(write_fd, b"ready\n")
        if stop_asked:  # asked before the handler was in place (while the flows were built)
            signal.alarm(alarm_s)
            stop("stop requested (SIGTERM)")

    signal.signal(signal.SIGTERM, on_sigterm)
    watch = gevent.spawn(_watch_parent, sup.pid, stop)
    runner.on_started = started
    try:
        status: int = runner.run()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # ending anyway: a late one must not kill it (143)
        watch.kill(block=False)
    if not asked:  # the flow ended the run: the whole run ends
        _send(write_fd, f"exit {status}\n".encode())
    if number == 0 and os.getppid() != sup.pid:  # the supervisor is gone: nobody else removes these
        _remove_private_socket(sup.link_path)
    return status


def _remove_private_socket(path: str) -> None:
    """The aggregator's socket and the private directory the supervisor made for it, if
    that is still what is there (a directory of this uid, not a symlink planted in its place)."""
    directory = os.path.dirname(path)
    try:
        st = os.lstat(directory)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return
    for remove, what in ((os.unlink, path), (os.rmdir, directory)):
        try:
            remove(what)
        except OSError:
            pass


def stop_alarm_seconds(limit: float) -> int:
    """When a worker asked to stop ends itself (``signal.alarm``): ``ALARM_MARGIN_S`` after the
    drain deadline ``limit``, at which a live supervisor kills it; 0 (no alarm) for no limit::

        >>> stop_alarm_seconds(10.0), stop_alarm_seconds(0.2), stop_alarm_seconds(3e9), stop_alarm_seconds(math.inf)
        (12, 3, 2147483647, 0)
    """
    if not math.isfinite(limit):
        return 0
    return min(max(1, math.ceil(limit)) + ALARM_MARGIN_S, _MAX_ALARM)


def _build(sup: Any, number: int, forward: Callable[[dict[str, Any]], None] | None) -> Any:
    """The runner of worker ``number``: the aggregator's flow for 0, else the deployed flows."""
    if number == 0:
        runner = _runner(sup.runner, "aggregator", forward)
        runner.deploy(across.aggregator_flow(sup.link_path, sup.windows), "across-workers")
        return runner
    link = across.WorkerLink(sup.link_path) if sup.windows else None
    across.reset(link)
    runner = worker_runner(sup.runner, number, forward)
    if link is not None:
        runner.flows[0].add(link.client, name="across-workers link", order=_LINK_ORDER)
        for entry in runner.entries:
            if entry.connector.kind == SERVER_KIND:
                entry.connector.closed.subscribe(link.forget)
    return runner


def _runner(parent: Any, tag: str, forward: Callable[[dict[str, Any]], None] | None) -> Any:
    mon = parent.monitor  # logs go to stderr, which the supervisor relays to its own log
    runner = type(parent)(params=parent.params, drain_timeout=parent.drain_timeout, handle_signals=False,
                          name=f"{parent.name} [{tag}]", summary=parent.summary,
                          monitor=Monitor(interval=mon.interval, progress=mon.progress, forward=forward))
    runner.stop_grace = parent.stop_grace
    return runner


def worker_runner(parent: Any, number: int, forward: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """A runner for worker ``number``: ``parent``'s options, its flow functions deployed anew.

    ``forward``: called with each metrics event's value of its connectors (None: metrics off).
    """
    runner = _runner(parent, f"worker {number}", forward)
    runner.worker = number
    for fn, name in parent._deployed:
        runner.deploy(fn, name)
    for entry in runner.entries:  # metrics lines name the worker: connector "flow/kind@workerN"
        entry.connector.name = f"{entry.name}@worker{number}"
    return runner


def _watch_parent(parent: int, stop: Callable[[str], None]) -> None:
    while os.getppid() == parent:
        gevent.sleep(PARENT_CHECK)
    stop("the supervisor has gone")


def _parent_death_signal(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _send(fd: int, data: bytes) -> None:
    """Write all of ``data`` (a blocking pipe; lines up to PIPE_BUF bytes are written whole)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:  # the supervisor has gone
        pass
