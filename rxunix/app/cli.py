"""The ``rxunix`` command (also ``python -m rxunix``).

::

    rxunix demo [--input FILE] [--dir DIR] [--socket PATH] [--server-delay S] [--timeout S] [--quiet]
                [--progress]
    rxunix run FLOW.py [--flow NAME]... [--set NAME=VALUE]... [--drain-timeout S] [--workers N] [--monkey-patch]
                       [--metrics FILE|-] [--metrics-interval S] [--metrics-port PORT] [--progress|--quiet]
    rxunix server PATH [--codec SPEC] [--pre SPEC]... [--post SPEC]... [--permissions MODE]
                       [--buf-size N] [--send-buffer-bytes N] [--echo] [--allow-uid UID]... [--meta]
                       [--pretty] [--dgram] [--systemd [NAME]]
    rxunix client PATH [--input FILE] [--codec SPEC] [--pre SPEC]... [--post SPEC]... [--buf-size N]
                       [--send-buffer-bytes N] [--retry-interval-ms N] [--retry-growth X] [--retries N]
                       [--no-reconnect] [--replies N] [--idle S] [--meta] [--pretty] [--dgram]

``PATH`` beginning with ``@`` is a Linux abstract socket name. ``--dgram`` uses
unix datagram sockets (one datagram per event); ``server --systemd`` takes the
socket systemd passed (socket activation; ``NAME`` picks one by
``FileDescriptorName=``) instead of binding PATH.

``server`` and ``client`` print events as JSON lines on stdout (ready for
``jq``) and error events as JSON lines on stderr; ``client`` sends the JSON
lines of its input, each as long as it is (``--pre`` frames the socket only). A ``SPEC`` is a registered
name (``separate``) or a JSON object (``'{"name": "separate", "config":
{"max_length": 100}}'``); ``--pre none`` / ``--post none`` means no processor.
Bad options are usage errors (exit status 2) naming the option.

Exit status: 0 on success and after SIGINT/SIGTERM (``run``, ``server``);
1 when something went wrong (``demo``: an error event, a timeout, the client
giving up; ``client``: any error event, or fewer than ``--replies`` replies
when none came for ``--idle`` seconds); 2 for usage errors; 141 (128 +
SIGPIPE, like other command-line tools) when stdout was closed early
(``rxunix server PATH | head -1``): the run stops quietly, draining as usual.
rxunix's own warnings (an insecure socket directory) are printed as one line,
``rxunix: warning: ...``, on stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from .cli_output import EXIT_PIPE, exit_on_closed_stdout, rxunix_warnings, silence_stdout, unless_closed_pipe
from .cli_parser import NO_PROCESSORS, build_parser

__all__ = ["main", "build_parser"]


def _framing(args: argparse.Namespace) -> dict[str, Any]:
    def chain(specs: list[Any] | None) -> list[Any]:
        if specs is None:
            return ["separate"]
        return [s for s in specs if s != NO_PROCESSORS]

    opts: dict[str, Any] = {
        "codec": args.codec,
        "preprocessors": chain(args.pre),
        "postprocessors": chain(args.post),
    }
    return opts


#: the lines of ``rxunix client``'s input: each as long as it is (``--pre`` frames the socket only)
_INPUT_LINES = {"name": "separate", "config": {"max_length": 0}}

_OPTION_OF_KEY = {
    "permissions": "--permissions",
    "buf_size": "--buf-size",
    "send_buffer_bytes": "--send-buffer-bytes",
    "allow_uids": "--allow-uid",
    "path": "PATH",
    "codec": "--codec",
    "preprocessors": "--pre",
    "postprocessors": "--post",
    "interval_ms": "--retry-interval-ms",
    "growth_rate": "--retry-growth",
    "max_retries": "--retries",
    "systemd": "--systemd",
}


def _socket_connector(ctx: Any, args: argparse.Namespace, role: str, **options: Any) -> Any:
    """The stream connector of ``role`` (``ctx.server``/``ctx.client``), or with ``--dgram`` its datagram twin."""
    if not args.dgram:
        return ctx.server(**options) if role == "server" else ctx.client(**options)
    from ..edge.dgram_client import unix_datagram_client
    from ..edge.dgram_server import unix_datagram_server
    from .flow import CLIENT, SERVER

    options.setdefault("runtime", ctx.runner.runtime)
    if role == "server":
        return ctx.add(unix_datagram_server(**options), order=SERVER)
    return ctx.add(unix_datagram_client(**options), order=CLIENT)


def _usage_error(parser: argparse.ArgumentParser, exc: Exception) -> None:
    """Turn a ConfigError raised while building a connector into a usage error naming the option."""
    message = str(exc)
    if isinstance(exc, OSError):  # SocketPathError: about the socket path
        parser.error(f"argument PATH: {message}")
    for key, option in _OPTION_OF_KEY.items():
        if f"'{key}'" in message:
            parser.error(f"argument {option}: {message}")
    parser.error(message)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(
        args.input,
        args.dir,
        args.socket,
        server_delay=args.server_delay,
        timeout=args.timeout,
        echo=not args.quiet,
        progress=_wants_progress(args),
    )


def _where_in(exc: BaseException, path: str) -> str:
    """`` (at FILE:LINE)``: the last line of the flow file ``path`` that ``exc`` passed, if any."""
    real = os.path.realpath(path)
    here = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename) == real]
    return f" (at {path}:{here[-1].lineno})" if here else ""


def _wants_progress(args: argparse.Namespace) -> bool:
    from .monitoring import wants_progress

    return wants_progress(args.progress, args.quiet)


def _monitor(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    """``rxunix run``'s :class:`~rxunix.app.monitoring.Monitor` (metrics file, Prometheus, progress)."""
    from .monitoring import Monitor

    if args.metrics not in (None, "-"):
        try:
            open(args.metrics, "a", encoding="utf-8").close()
        except OSError as exc:
            parser.error(f"argument --metrics: {exc}")
    if args.metrics_port is not None:
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            parser.error("argument --metrics-port: needs prometheus-client: pip install 'rxunix[metrics]'")
    return Monitor(metrics=args.metrics, interval=args.metrics_interval, port=args.metrics_port,
                   progress=2.0 if _wants_progress(args) else None)


def _cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if not os.path.isfile(args.flow_file):
        parser.error(f"argument FLOW: {args.flow_file}: no such file")
    if args.monkey_patch:
        from gevent import monkey

        monkey.patch_all()
    from .flow import FlowFileError, Runner, load_flow_file

    params = dict(args.set)
    if "dir" in params:  # where ctx.path() puts files: created like demo --dir
        try:
            os.makedirs(params["dir"], exist_ok=True)
        except OSError as exc:
            parser.error(f"argument --set: dir={params['dir']}: cannot create the directory: {exc}")
    runner = Runner(params=params, drain_timeout=args.drain_timeout, monitor=_monitor(args, parser),
                    workers=args.workers)
    try:
        functions = load_flow_file(args.flow_file, args.flow)
    except FlowFileError as exc:
        runner.log(f"error: {exc}")
        return 1
    except Exception:
        import traceback

        runner.log(f"error: cannot load {args.flow_file}:\n{traceback.format_exc().rstrip()}")
        return 1
    for fn in functions:
        try:
            runner.deploy(fn)
        except Exception as exc:
            runner.log(f"error: flow {getattr(fn, '__name__', fn)!r}: {type(exc).__name__}: {exc}"
                       f"{_where_in(exc, args.flow_file)}")
            return 1
    exit_on_closed_stdout(runner)
    runner.log(f"running {', '.join(f.name for f in runner.flows)} (SIGINT/SIGTERM to stop)")
    return runner.run()


def _cmd_server(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..core.errors import ConfigError, SocketPathError
    from ..edge.console import Console
    from .flow import Flow, Runner

    runner = Runner(name="rxunix server", summary=False, drain_timeout=5.0)
    config: dict[str, Any] = {"path": args.path}
    if args.permissions is not None:
        config["permissions"] = args.permissions
    if args.buf_size is not None:
        config["buf_size"] = args.buf_size
    if args.send_buffer_bytes is not None:
        config["send_buffer_bytes"] = args.send_buffer_bytes
    if args.allow_uid:
        config["allow_uids"] = args.allow_uid
    if args.systemd:
        config["systemd"] = args.systemd

    def server(ctx: Flow) -> None:
        srv = _socket_connector(ctx, args, "server", config=config, **_framing(args))  # issue 17: --dgram
        stdout = ctx.console(pretty=args.pretty, meta=args.meta)
        stderr = ctx.add(Console(stream=sys.stderr, meta=args.meta, runtime=runner.runtime), order=0)
        srv.out.subscribe(stdout.in_)
        if args.echo:
            srv.out.subscribe(srv.in_)
        srv.err.subscribe(stderr.in_)
        stdout.err.subscribe(unless_closed_pipe(stderr.in_.on_next))

    try:
        runner.deploy(server)
    except (ConfigError, SocketPathError) as exc:
        _usage_error(parser, exc)
    exit_on_closed_stdout(runner)
    return runner.run()


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``unix_socket_client`` options of ``rxunix client``'s arguments."""
    config: dict[str, Any] = {"path": args.path}
    if args.buf_size is not None:
        config["buf_size"] = args.buf_size
    if args.send_buffer_bytes is not None:
        config["send_buffer_bytes"] = args.send_buffer_bytes
    options: dict[str, Any] = {"config": config, **_framing(args)}
    if not args.no_reconnect:
        options["reconnect"] = {
            "retry": {
                "interval_ms": args.retry_interval_ms,
                "growth_rate": args.retry_growth,
                "max_retries": args.retries,
            }
        }
    return options


def _watch_idle(ctx: Any, cli: Any, args: argparse.Namespace, state: dict[str, Any]) -> None:
    """After the input ended: end the run once no reply came for ``--idle`` seconds.

    Status 0, or 1 with a message when ``--replies N`` is given and fewer came.
    """
    import gevent

    while True:
        if cli.held:  # still sending: not idle yet
            state["last"] = time.monotonic()
        quiet = time.monotonic() - float(state["last"])
        if quiet >= args.idle:
            break
        gevent.sleep(min(0.05, args.idle - quiet + 0.001))
    if ctx.runner.status is not None:
        return  # already ending (all replies came, or stdout closed)
    if args.replies is None or state["replies"] >= args.replies:
        ctx.exit(0, f"no reply for {args.idle}s after the input ended")
        return
    ctx.runner.log(f"error: {state['replies']} of {args.replies} replies, then none for "
                   f"{args.idle:g}s (--idle) after the input ended")
    ctx.exit(1, "too few replies")


def _cmd_client(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..core.errors import ConfigError, SocketPathError
    from ..core.event import Event
    from ..edge.console import Console
    from .flow import Flow, Runner, client_ready

    runner = Runner(name="rxunix client", summary=False, drain_timeout=5.0)
    options = _client_options(args)
    state = {"replies": 0, "errors": 0, "input_done": False, "last": time.monotonic()}

    def client(ctx: Flow) -> None:
        cli = _socket_connector(ctx, args, "client", **options)  # issue 17: --dgram
        source = ctx.read_file(args.input, ready=client_ready(cli), preprocessors=[_INPUT_LINES])
        stdout = ctx.console(pretty=args.pretty, meta=args.meta)
        stderr = ctx.add(Console(stream=sys.stderr, meta=args.meta, runtime=runner.runtime), order=0)

        def reply(event: Event) -> None:
            state["replies"] += 1
            state["last"] = time.monotonic()
            stdout.in_.on_next(event)
            if args.replies is not None and state["replies"] >= args.replies:
                ctx.exit(0, f"{state['replies']} replies received")

        def error(event: Event) -> None:
            state["errors"] += 1
            stderr.in_.on_next(event)

        def input_done() -> None:
            if runner.status is not None:
                return  # completed because the run is stopping
            state["input_done"] = True
            state["last"] = time.monotonic()
            ctx.spawn_later(0, _watch_idle, ctx, cli, args, state)

        def client_done() -> None:
            ctx.exit(1, "the client stopped (see errors above)")

        source.out.subscribe(on_next=cli.in_.on_next, on_completed=input_done)
        cli.out.subscribe(on_next=reply, on_completed=client_done)
        for conn in (source, cli):
            conn.err.subscribe(error)
        stdout.err.subscribe(unless_closed_pipe(error))

    try:
        runner.deploy(client)
    except (ConfigError, SocketPathError) as exc:
        _usage_error(parser, exc)
    exit_on_closed_stdout(runner)
    status = runner.run()
    if status == 0 and state["errors"]:
        status = 1
    return status


def entry() -> None:
    """The ``rxunix`` console script and ``python -m rxunix``: :func:`main`, then exit with
    its status. The run's own signal handlers are gone by then; a SIGINT/SIGTERM that
    arrives while the process exits (``timeout`` sends one to the child and another to its
    group) is ignored instead of killing the process with a status it did not choose."""
    open_closed_std_streams()
    status = main()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sys.exit(status)


def open_closed_std_streams() -> None:
    """A standard stream closed when the process started (``>&-``, ``2>&-``, ``<&-``) is
    ``/dev/null``: stdin reads nothing, what goes to stdout or stderr is dropped. (Left
    closed, the descriptor would go to the next socket opened, and output into it.)"""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)  # the lowest free: fd
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if getattr(sys, name) is None:
                setattr(sys, name, open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False))  # noqa: SIM115


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rxunix`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sub: argparse.ArgumentParser = args.subparser
    try:
        with rxunix_warnings():
            status = _dispatch(args, sub)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        status = EXIT_PIPE
    if status == EXIT_PIPE:
        silence_stdout()
    return status


def _dispatch(args: argparse.Namespace, sub: argparse.ArgumentParser) -> int:
    if args.command == "demo":
        return _cmd_demo(args)
    if args.command == "run":
        return _cmd_run(args, sub)
    if args.command == "server":
        return _cmd_server(args, sub)
    return _cmd_client(args, sub)
