"""``rxunix demo``: the source document's echo server + client flows in one process.

The server flow listens on a unix socket, logs every event to
``DIR/server_out.log`` and echoes it back; the client flow reads a file of JSON
lines (the built-in :data:`SAMPLE` when none is given), sends every event,
logs the replies to ``DIR/client_out.log`` (all but the ``"exit"`` string,
Tremor's ``out_or_exit`` pipeline) and ends the run with status 0 when
``"exit"`` comes back. Connector configurations are the source document's,
verbatim. Logs are sorted, minified JSON lines::

    >>> logs = tempfile.mkdtemp()
    >>> run_demo(directory=logs, echo=False)  # progress on stderr
    0
    >>> sorted(os.listdir(logs))
    ['client_out.log', 'server_out.log']

The run fails (status 1, message on stderr) on any error event, when the client
gives up reconnecting, or after ``timeout`` seconds. A socket path that cannot
be used (too long, in a missing directory, a live socket, a regular file...)
or a missing input file fails before anything is created: existing logs are
left as they are. ``directory`` is created if missing.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import IO, Any

import gevent

from ..core.errors import SocketPathError
from ..core.event import Event
from ..edge.console import Console
from ..edge.exit import ExitConnector
from ..edge.sockpath import check_path
from .cli_output import EXIT_PIPE, exit_on_closed_stdout
from .flow import SINK, Flow, Runner, client_ready, out_or_exit
from .monitoring import wants_progress

__all__ = ["SAMPLE", "run_demo", "server_flow", "client_flow", "server_config", "client_config"]

#: The built-in input: nested objects and arrays, big floats, negative numbers,
#: non-ASCII text, and the string "exit" last.
SAMPLE = str(importlib.resources.files("rxunix").joinpath("data", "sample.jsonl"))
#: Seconds between progress lines.
PROGRESS_EVERY = 2.0


def server_config(path: str) -> dict[str, Any]:
    """The source document's ``define connector server from unix_socket_server``."""
    return {
        # Server produces/consumes line delimited JSON data
        "preprocessors": ["separate"],
        "postprocessors": ["separate"],
        "codec": "json",
        # UNIX socket specific configuration
        "config": {
            # Path to socket file for this server
            "path": path,
            # Permissions are read/write for the user running the server only
            "permissions": "=600",
            # Use a 1K buffer - this should be tuned based on data value space requirements
            "buf_size": 1024,
        },
    }


def client_config(path: str) -> dict[str, Any]:
    """The source document's ``define connector client from unix_socket_client``."""
    return {
        "postprocessors": ["separate"],
        "preprocessors": ["separate"],
        "codec": "json",
        "config": {
            "path": path,
            "buf_size": 1024,
        },
        # Configure basic reconnection QoS for clients - max 3 retries starting with 100ms
        # reconnect attempt interval
        "reconnect": {
            "retry": {
                "interval_ms": 100,
                "growth_rate": 2,
                "max_retries": 3,
            }
        },
    }


class _Counts:
    def __init__(self) -> None:
        self.server: Any = None
        self.client: Any = None
        self.sent = 0
        self.received = 0
        self.errors = 0
        self.saw_exit_in_input = False


def server_flow(path: str, directory: str, errors: Console, counts: _Counts,
                start_after: float | None = None) -> Callable[[Flow], None]:
    """The source document's ``define flow server`` (errors to ``errors``)."""

    def server(ctx: Flow) -> None:
        srv = counts.server = ctx.server(**server_config(path))
        server_out = ctx.write_file(os.path.join(directory, "server_out.log"))
        # Flow from the server to the file, and echo it back
        srv.out.subscribe(server_out.in_)
        srv.out.subscribe(srv.in_)
        # Debugging
        srv.err.subscribe(_count_into(counts, errors))
        server_out.err.subscribe(_count_into(counts, errors))
        if start_after is not None:  # start late: the client must reconnect
            ctx.add(srv, start=False)

            def start() -> None:
                try:
                    srv.start()
                except Exception as exc:
                    ctx.runner.exit(1, f"server failed to start: {exc}")
                else:
                    ctx.log(f"server started after {start_after}s")

            ctx.spawn_later(start_after, start)

    return server


def client_flow(path: str, directory: str, input_path: str, errors: Console, counts: _Counts,
                echo: bool = True) -> Callable[[Flow], None]:
    """The source document's ``define flow client`` (errors to ``errors``)."""

    def client(ctx: Flow) -> None:
        cli = counts.client = ctx.client(**client_config(path))
        source = ctx.read_file(input_path, ready=client_ready(cli))
        client_out = ctx.write_file(os.path.join(directory, "client_out.log"))
        exit_ = ctx.add(ExitConnector(lambda status: ctx.spawn_later(0, finish, status),
                                      runtime=ctx.runner.runtime), order=SINK)

        def finish(status: int) -> None:
            # stop the client first and let the server see it go before the
            # runner stops the server (a quiet, ordered shutdown)
            cli.stop(5.0)
            server = counts.server
            deadline = time.monotonic() + 2.0
            while server is not None and server.peers and time.monotonic() < deadline:
                gevent.sleep(0.01)
            ctx.runner.exit(status, '"exit" came back')

        # from file to unix domain client
        def send(event: Event) -> None:
            counts.sent += 1
            if event.value == "exit" and isinstance(event.value, str):
                counts.saw_exit_in_input = True
            cli.in_.on_next(event)

        def input_done() -> None:
            if ctx.runner.status is not None:
                return  # completed because the run is stopping, not at end of input
            if not counts.saw_exit_in_input:
                ctx.log('the input has no "exit" line: sending one to end the run')
                send(Event("exit"))

        source.out.subscribe(on_next=send, on_completed=input_done)

        # send out any responses
        def received(event: Event) -> None:
            counts.received += 1

        def client_done() -> None:
            if exit_.status is None:
                ctx.runner.exit(1, 'the client stopped before "exit" came back (see errors above)')

        cli.out.subscribe(on_next=received, on_completed=client_done)
        out, ex = out_or_exit(cli.out)
        out.subscribe(client_out.in_)
        ex.subscribe(exit_.in_)
        if echo:
            out.subscribe(ctx.console().in_)
        # debugging
        for conn in (source, cli, client_out):
            conn.err.subscribe(_count_into(counts, errors))

    return client


def _count_into(counts: _Counts, errors: Console) -> Callable[[Event], None]:
    def on_error(event: Event) -> None:
        counts.errors += 1
        errors.in_.on_next(event)

    return on_error


def _lines(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    except OSError:
        return 0


def _watch(runner: Runner, counts: _Counts, timeout: float, show_progress: bool) -> None:
    """End the run after ``timeout`` seconds; with ``show_progress``, log progress every
    ``PROGRESS_EVERY`` seconds (only long runs show it)."""
    flow = runner.flows[0]

    def timed_out() -> None:
        runner.exit(1, f'timed out after {timeout}s waiting for "exit" to come back '
                       f"(sent {counts.sent}, received {counts.received})")

    def progress() -> None:
        while True:
            gevent.sleep(PROGRESS_EVERY)
            runner.log(f"... sent {counts.sent}, received {counts.received}, errors {counts.errors}")

    flow.spawn_later(timeout, timed_out)
    if show_progress:
        flow.spawn_later(0, progress)


def _summary(runner: Runner, counts: _Counts, status: int, directory: str) -> int:
    """Log the outcome and the figures of a finished run; the final exit status."""
    if status == 0 and runner.reason.startswith("SIG"):
        status = 130
    if status == 0 and counts.errors:
        status = 1
        runner.log(f"failed: {counts.errors} error event(s), shown above")
    elif status != 0:
        runner.log(f"failed: {runner.reason}")
    else:
        runner.log('"exit" came back: done')
    runner.log(f"sent {counts.sent}, received {counts.received}, errors {counts.errors}, "
               f"elapsed {runner.elapsed:.2f}s")
    if counts.client is not None:
        stats = counts.client.stats
        runner.log(f"client connections {stats['connects']}, reconnect retries {stats['retries']}")
    for name in ("server_out.log", "client_out.log"):
        path = os.path.join(directory, name)
        runner.log(f"{path}: {_lines(path)} lines")
    return status


def _input_or_socket_problem(input_path: str, socket_path: str | None) -> str | None:
    """Why the demo cannot run with this input and socket (checked before any log file is opened)."""
    if input_path != "-":  # (a file, or a FIFO whose writer may come later)
        if not os.path.exists(input_path):
            return f"input {input_path}: no such file"
        if os.path.isdir(input_path):
            return f"input {input_path}: is a directory"
    if socket_path is None:  # our own temporary directory
        return None
    try:
        check_path(socket_path)  # too long, live socket, regular file, directory, symlink
    except SocketPathError as exc:
        return f"--socket: {exc}"
    parent = os.path.dirname(os.path.abspath(socket_path))
    if not os.path.isdir(parent):
        return f"--socket: socket path {socket_path!r}: directory {parent!r} does not exist"
    return None


def run_demo(
    input_path: str | None = None,
    directory: str = ".",
    socket_path: str | None = None,
    *,
    server_delay: float | None = None,
    timeout: float = 30.0,
    echo: bool = True,
    log: IO[str] | None = None,
    progress: bool | None = None,
) -> int:
    """Run the echo demo; return the exit status (0: ``"exit"`` came back, no errors).

    ``progress``: a progress line on the log every :data:`PROGRESS_EVERY` seconds
    (None: when the log is a terminal)."""
    log = log if log is not None else sys.stderr
    runner = Runner(name="rxunix demo", log=log, summary=False, drain_timeout=5.0)
    counts = _Counts()
    made_dir: str | None = None
    if socket_path is None:
        made_dir = tempfile.mkdtemp(prefix="rxunix-", dir="/tmp" if os.path.isdir("/tmp") else None)
        socket_path = os.path.join(made_dir, "unix-socket.sock")
    input_path = input_path or SAMPLE
    try:
        problem = _input_or_socket_problem(input_path, None if made_dir else socket_path)
        if problem is not None:
            runner.log(f"error: {problem}")
            return 1
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            runner.log(f"error: --dir {directory}: {exc.strerror or exc}")
            return 1
        errors = Console(stream=log, runtime=runner.runtime)
        try:
            # the client flow first: with --server-delay it starts before the server
            runner.deploy(server_flow(socket_path, directory, errors, counts, start_after=server_delay),
                          name="server")
            runner.deploy(client_flow(socket_path, directory, input_path, errors, counts, echo=echo),
                          name="client")
        except Exception as exc:
            runner.log(f"error: {type(exc).__name__}: {exc}")
            return 1
        exit_on_closed_stdout(runner)
        errors.start()
        shown = "the built-in sample" if input_path == SAMPLE else input_path
        runner.log(f"server on {socket_path}; client sending {shown}; logs in {directory}")
        _watch(runner, counts, timeout, progress if progress is not None else wants_progress(False, False, log))
        status = runner.run()
        errors.stop()
        if status == EXIT_PIPE:
            return status  # stdout closed (| head): quietly
        return _summary(runner, counts, status, directory)
    finally:
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)
        gevent.sleep(0)
