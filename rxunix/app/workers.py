"""Every core: the pre-fork supervisor behind ``rxunix run --workers N`` and ``Runner(workers=N)``.

One rxunix process runs on one gevent hub, so on one CPU core. With workers,
the process that runs the flows becomes a supervisor (the model is gunicorn's
arbiter) and N forked worker processes do the work::

    rxunix run --workers 4 examples/echo_server.py

or in code (the flow functions are deployed as usual; :meth:`Runner.run`
supervises)::

    runner = Runner(workers=4)
    runner.deploy(echo_server)
    status = runner.run()

What the supervisor does
    1. The flows are built once in the supervisor (bad options fail here, exit
       status 1). Every ``unix_socket_server`` socket is bound there, once, by
       :func:`rxunix.edge.listen.listen_socket`: the same path safety, mode,
       stale-socket rule, ``@abstract`` names and ``systemd`` sockets as
       without workers. A datagram server is refused (each datagram would go
       to any worker, so one client's order could not be kept), and so is a
       file source reading stdin (each worker would read parts of its lines).
    2. It forks N workers (numbered 1..N). Each registers the inherited
       listening sockets (:mod:`rxunix.edge.prebound`), deploys the flow
       functions again, starts them (servers accept on the shared socket, each
       new connection taken by a worker holding the fewest:
       :mod:`rxunix.edge.balance`) and reports ``ready``.
       A connection belongs to its worker for its whole life: framing, codecs,
       replies, windows per connection, eviction and metrics work as in one
       process, and its metadata says which worker holds it:
       ``meta["unix_socket_server"]["worker"]``. Flows can read ``ctx.runner.worker``.
    3. A worker that dies (a crash, SIGKILL, the OOM killer) loses its
       connections; the supervisor says so on stderr and starts a new worker
       with the same number (one that lived less than :data:`RESTART_DELAY`
       seconds is restarted that much later). Clients with a reconnect policy
       come back and are served by any worker. A worker that fails before it
       reported ``ready`` (a connector that cannot start) ends the run with
       status 1. A worker whose flow ends the run (``ctx.exit(status)``, an
       exit connector, every connector stopped) ends the whole run with that
       status.
    4. SIGINT/SIGTERM (or :meth:`Runner.exit`): the supervisor closes its copy
       of each listening socket and sends SIGTERM to every worker; each drains
       as a single process does (accepts what waits in the backlog, writes
       pending replies, flushes tails) and exits. A worker still alive
       ``drain_timeout + stop_grace`` seconds later is killed (SIGKILL) and the
       exit status becomes 1. Then the supervisor removes each socket file,
       once (workers never unlink). A second SIGINT/SIGTERM (later than
       :data:`SAME_SIGNAL_S` after the first) kills the workers at once and
       exits with ``128 + signal``.
    5. No orphans: workers ask the kernel for SIGTERM when the supervisor dies
       (``prctl(PR_SET_PDEATHSIG)`` on Linux) and also check their parent
       every second; either way they drain and exit. A worker's SIGTERM handler
       is Python-level and arms an alarm for the drain deadline, so a worker whose
       hub is blocked ends too. SIGINT/SIGTERM are blocked across each fork: a
       stop asked while a worker builds its flows is taken once it has started.

Windows declared with :func:`rxunix.app.across.across_workers` are cut over
the events of all workers by one more supervised process, the aggregator
(logged as ``aggregator``; see :mod:`rxunix.app.across`).

Workers ignore SIGINT (a Ctrl-C in a terminal reaches the whole process
group; the supervisor forwards the stop as SIGTERM). Every other connector of
the flows (clients, file sources and sinks, consoles) runs in every worker:
give files per-worker names with ``ctx.runner.worker``.

A worker's stderr is a pipe to the supervisor, which writes each line to its
own stderr tagged ``[worker N]`` after the runner's name (:mod:`.worker_logs`).
A worker's metrics events go to the supervisor on its message pipe; the
supervisor writes them (``--metrics``), with the sums over the workers, and
serves them (``--metrics-port``): :mod:`.worker_metrics`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, NoReturn

import gevent
import gevent.select

from ..edge.descriptors import close_now
from . import across
from .child_processes import (
    describe_status,
    drain_pipe,
    flush,
    fork_child,
    kill,
    poll_child,
    read_pending,
    wait_blocking,
)
from .signals import SAME_SIGNAL_S, STOP_SIGNALS, StopSignals
from .worker_logs import LogRelay
from .worker_metrics import MESSAGE as METRICS_MESSAGE
from .worker_metrics import SupervisorMetrics
from .worker_process import label, run_worker
from .worker_sockets import WorkerSockets

__all__ = ["Supervisor", "supervise", "RESTART_DELAY", "describe_status"]

#: The most workers a run may ask for.
MAX_WORKERS = 1024
#: A worker that dies sooner than this (seconds) after it started is restarted this much later.
RESTART_DELAY = 1.0


def supervise(runner: Any) -> int:
    """Run ``runner``'s deployed flows in ``runner.workers`` worker processes; return the exit status."""
    return Supervisor(runner).run()


@dataclass
class _Worker:
    """One live worker process, seen from the supervisor."""

    number: int
    pid: int
    pipe: int  # read end: "ready\n", "exit STATUS\n", "m METRICS\n"; EOF when the worker is gone
    started: float
    errpipe: int  # read end of the worker's stderr
    relay: LogRelay
    ready: bool = False
    eof: bool = False
    err_eof: bool = False  # its stderr closed (it may live on without one)
    buffer: bytes = b""


class Supervisor(WorkerSockets):
    """Binds the servers' sockets, forks and supervises ``runner.workers`` workers (see the module docs)."""

    def __init__(self, runner: Any) -> None:
        workers = runner.workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        self.runner = runner
        self.count: int = workers
        self.bound = []
        self.accepts = None
        self.workers: dict[int, _Worker] = {}
        #: Restarts done (workers that died and were replaced).
        self.restarts = 0
        #: Workers killed because they did not stop in time.
        self.killed = 0
        self._restart_at: dict[int, float] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._handlers: list[Any] = []
        #: In a forked child: the signal mask to restore once its own handlers are set.
        self.child_sigmask: set[int | signal.Signals] = set()
        #: SIGINT/SIGTERM: the first stops with a drain; a second (not a repeat) kills the workers.
        self._on_signal = StopSignals(lambda reason: runner.exit(0, reason), self._abandon,
                                      same_within=SAME_SIGNAL_S)
        self._failed = False
        self._in_child = False
        self.pid = os.getpid()
        #: Windows declared with across_workers() in the supervisor's build (run by the aggregator).
        self.windows = across.take_registered()
        self.link_path = ""
        self._link_dir = None
        #: The workers' metrics, merged, written and served here.
        self.metrics = SupervisorMetrics(runner.monitor, runner.log)
        self._logs = runner._log if runner._log is not None else sys.stderr

    # ---- the supervisor's life ---------------------------------------------
    def run(self) -> int:
        """Bind, fork the workers, supervise until the run ends, drain them; the exit status."""
        runner = self.runner
        runner.started_at = time.monotonic()
        done = runner._state.done
        done.rawlink(self._wake)
        for g in runner._greenlets:  # the flows' timers run in the workers, not here
            g.kill(block=False)
        runner._greenlets.clear()
        try:
            if not self._bind() or not self._begin_metrics():
                return 1
            if runner.handle_signals:
                self._handlers = self._on_signal.install()
            for number in range(0 if self.windows else 1, self.count + 1):
                gevent.sleep(0)  # (a stop asked meanwhile is taken: no more forks)
                if runner.status is not None:
                    break
                self._spawn(number)
            while runner.status is None:
                self._tick(0.5)
            self._shutdown()
        finally:
            for h in self._handlers:
                h.cancel()
            done.unlink(self._wake)
            self.metrics.end()
            self._remove_sockets()
            for fd in (self._wake_r, self._wake_w):
                close_now(fd)
            runner.elapsed = time.monotonic() - runner.started_at
        status = runner.status or 0
        return 1 if self._failed and status == 0 else status

    def _begin_metrics(self) -> bool:
        """Open the metrics file and start the exposition server; False (logged) if that fails."""
        try:
            self.metrics.begin()
        except OSError as exc:
            self.runner.log(f"error: metrics: {exc}")
            return False
        return True

    def _tick(self, timeout: float) -> None:
        """Wait for a message, a worker's end, a signal or ``timeout``; then reap and restart."""
        now = time.monotonic()
        if self._restart_at and self.runner.status is None:
            timeout = max(0.0, min(timeout, min(self._restart_at.values()) - now))
        timeout = min(timeout, self.metrics.wait(now))
        fds = [self._wake_r] + [w.pipe for w in self.workers.values() if not w.eof]
        fds += [w.errpipe for w in self.workers.values() if not w.err_eof]
        poller = gevent.select.poll()  # (not select: descriptors above 1023 are fine)
        for fd in fds:
            poller.register(fd, gevent.select.POLLIN)
        try:
            readable = {fd for fd, _ in poller.poll(timeout * 1000.0)}
        except OSError:
            readable = set()
        if self._wake_r in readable:
            drain_pipe(self._wake_r)
        for w in list(self.workers.values()):
            if w.pipe in readable:
                self._read(w)
            if w.errpipe in readable:
                self._relay(w)
        self._reap()
        self.metrics.tick(time.monotonic())
        if self.runner.status is None:
            self._restart_due()

    def _shutdown(self) -> None:
        """Stop every worker with a drain; kill those still alive after the limit."""
        runner = self.runner
        if runner.summary and runner.reason:
            runner.log(f"stopping: {runner.reason}")
        self._restart_at.clear()
        for b in self.bound:  # the workers' copies keep accepting until each drains
            b.listening.sock.close()
        for w in self.workers.values():
            kill(w.pid, signal.SIGTERM)
        limit = runner.drain_timeout + runner.stop_grace
        deadline = time.monotonic() + limit
        while self.workers and time.monotonic() < deadline:
            self._tick(min(0.5, max(0.0, deadline - time.monotonic())))
        for w in list(self.workers.values()):
            runner.log(f"{label(w.number)} (pid {w.pid}) did not stop within {limit:g}s: killed (SIGKILL)")
            kill(w.pid, signal.SIGKILL)
            self.killed += 1
            self._failed = True
            self._forget(w, wait_blocking(w.pid), killed=True)
        if runner.summary:
            runner.log(f"{self.count} workers: {self.restarts} restarted, {self.killed} killed")

    # ---- signals ------------------------------------------------------------
    def _abandon(self, name: str) -> None:
        """A second signal: kill the workers without draining and remove the sockets (then the process exits)."""
        self.runner.log(f"{name} again: killing the workers without draining")
        for w in self.workers.values():
            kill(w.pid, signal.SIGKILL)
        for w in list(self.workers.values()):
            wait_blocking(w.pid)
        self._remove_sockets()

    def _wake(self, *_: Any) -> None:
        if not self._in_child:
            try:
                os.write(self._wake_w, b"!")
            except OSError:
                pass

    # ---- workers ------------------------------------------------------------
    def _spawn(self, number: int) -> None:
        """Fork worker ``number``; the child never returns from here."""
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            flush(stream)
        # SIGINT/SIGTERM wait (blocked) across the fork: the child sets its own handlers
        # before it takes them, the supervisor takes its own right after
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:  # (the child never leaves _child: only the supervisor comes out of this)
            try:
                read_fd, write_fd = os.pipe()
                err_r, err_w = os.pipe()
                try:
                    pid = fork_child()
                except BaseException:
                    for fd in (read_fd, write_fd, err_r, err_w):
                        close_now(fd)
                    raise
            except OSError as exc:  # out of processes or memory: the run cannot be what was asked
                self.runner.log(f"cannot start {label(number)}: {exc}")
                self.runner.exit(1, f"cannot start {label(number)}")
                return
            if pid == 0:
                self.child_sigmask = mask
                self._child(number, (read_fd, err_r), write_fd, err_w)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in (write_fd, err_w):  # now: the next fork must not inherit them
            close_now(fd)
        for fd in (read_fd, err_r):
            os.set_blocking(fd, False)
        tag = f"{self.runner.name} [{label(number)}]: "
        self.workers[number] = _Worker(number, pid, read_fd, time.monotonic(), err_r, LogRelay(tag, self._logs))
        self.runner.log(f"{label(number)} (pid {pid}) started")

    def _read(self, w: _Worker) -> None:
        """Take what worker ``w`` wrote on its pipe (messages, or EOF once it is gone)."""
        if w.eof:
            return
        for data in read_pending(w.pipe, 4096):
            if not data:
                w.eof = True
                return
            w.buffer += data
            while b"\n" in w.buffer:
                line, _, w.buffer = w.buffer.partition(b"\n")
                self._message(w, line.decode("utf-8", "replace"))

    def _relay(self, w: _Worker) -> None:
        """Write the complete lines worker ``w`` wrote on its stderr, tagged."""
        if w.err_eof:
            return
        for data in read_pending(w.errpipe, 65536):
            if not data:
                w.err_eof = True  # (selecting it again would spin: EOF is always readable)
                return
            w.relay.feed(data)

    def _message(self, w: _Worker, text: str) -> None:
        if text.startswith(METRICS_MESSAGE):
            self.metrics.take(w.number, text[len(METRICS_MESSAGE):])
        elif text == "ready":
            w.ready = True
            self.runner.log(f"{label(w.number)} (pid {w.pid}) ready")
        elif text.startswith("exit "):
            status = int(text[5:]) if text[5:].strip().lstrip("-").isdigit() else 1
            self.runner.exit(status, f"{label(w.number)}: its flow ended the run with status {status}")

    def _reap(self) -> None:
        for w in list(self.workers.values()):
            ended, status = poll_child(w.pid)
            if ended:
                self._forget(w, status)

    def _forget(self, w: _Worker, status: int | None, killed: bool = False) -> None:
        """Worker ``w`` has ended with wait ``status``: report it; restart it if the run goes on."""
        self._read(w)  # a last message ("exit 3", its final metrics) written just before it ended
        self._relay(w)
        w.relay.finish()
        for fd in (w.pipe, w.errpipe):
            close_now(fd)
        self.workers.pop(w.number, None)
        self.metrics.retire(w.number)
        if self.accepts is not None and w.number:
            self.accepts.retire(w.number)
        what = describe_status(status)
        lived = time.monotonic() - w.started
        runner = self.runner
        if runner.status is not None:  # stopping: a clean end is exit 0 (or the flow's own status)
            if status is None or os.waitstatus_to_exitcode(status) not in (0, runner.status):
                if not killed:  # (the kill at the deadline is logged already)
                    runner.log(f"{label(w.number)} (pid {w.pid}) ended: {what}")
                self._failed = True
            return
        if not w.ready:
            runner.log(f"{label(w.number)} (pid {w.pid}) failed to start ({what})")
            runner.exit(1, f"{label(w.number)} failed to start")
            return
        runner.log(f"{label(w.number)} (pid {w.pid}) died ({what}) after {lived:.1f}s: "
                   "its connections are lost; restarting it")
        self._restart_at[w.number] = time.monotonic() + (RESTART_DELAY if lived < RESTART_DELAY else 0.0)

    def _restart_due(self) -> None:
        now = time.monotonic()
        for number, at in sorted(self._restart_at.items()):
            if at <= now:
                del self._restart_at[number]
                self.restarts += 1  # (counted when it happens: a stop may come first)
                self._spawn(number)

    # ---- inside a worker ------------------------------------------------------
    def _child(self, number: int, read_fds: tuple[int, int], write_fd: int, err_fd: int) -> NoReturn:
        """The forked worker: run the flows, exit (never returns into the supervisor's code)."""
        status = 1
        try:
            self._in_child = True
            for fd in read_fds:
                close_now(fd)
            status = run_worker(self, number, write_fd, err_fd)
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                flush(stream)
            os._exit(status)

