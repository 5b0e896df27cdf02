"""The ``rxunix`` command (also ``python -m rxunix``).

::

    rxunix demo [--input FILE] [--dir DIR] [--socket PATH] [--server-delay S] [--timeout S] [--quiet]
                [--progress]
    rxunix run FLOW.py [--flow NAME]... [--set NAME=VALUE]... [--drain-timeout S] [--workers N] [--monkey-patch]
                       [--metrics FILE|-] [--metrics-interval S] [--metrics-port PORT] [--progress|--quiet]
    rxunix server PATH [--codec SPEC] [--pre SPEC]... [--post SPEC]... [--permissions MODE]
                       [--buf-size N] [--echo] [--meta] [--pretty] [--dgram] [--systemd [NAME]]
    rxunix client PATH [--input FILE] [--codec SPEC] [--pre SPEC]... [--post SPEC]... [--buf-size N]
                       [--retry-interval-ms N] [--retry-growth X] [--retries N] [--no-reconnect]
                       [--replies N] [--idle S] [--meta] [--pretty] [--dgram]

``PATH`` beginning with ``@`` is a Linux abstract socket name. ``--dgram`` uses
unix datagram sockets (one datagram per event); ``server --systemd`` takes the
socket systemd passed (socket activation; ``NAME`` picks one by
``FileDescriptorName=``) instead of binding PATH.

``server`` and ``client`` print events as JSON lines on stdout (ready for
``jq``) and error events as JSON lines on stderr. A ``SPEC`` is a registered
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
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .cli_output import EXIT_PIPE, exit_on_closed_stdout, rxunix_warnings, silence_stdout, unless_closed_pipe

__all__ = ["main", "build_parser"]

_NONE = "none"


_N = TypeVar("_N", int, float)


def _spec(kind: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses and validates a processor/codec spec."""

    def parse(text: str) -> Any:
        from ..core.errors import ConfigError
        from ..core.registry import codec_factory, postprocessor_factory, preprocessor_factory

        if kind != "codec" and text == _NONE:
            return _NONE
        spec: Any = text
        if text.lstrip().startswith("{"):
            import simplejson

            try:
                spec = simplejson.loads(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
        factory = {"codec": codec_factory, "pre": preprocessor_factory, "post": postprocessor_factory}[kind]
        try:
            factory(spec)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return spec

    parse.__name__ = {"codec": "codec", "pre": "preprocessor", "post": "postprocessor"}[kind]
    return parse


def _number(convert: Callable[[str], _N], ok: Callable[[_N], bool], expected: str) -> Callable[[str], _N]:
    """An argparse type: ``convert(text)``, refused unless ``ok``; errors say ``expected``."""

    def parse(text: str) -> _N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # argparse names the type in its messages
    return parse


_positive_int = _number(int, lambda v: v > 0, "a positive integer")
_nonneg_int = _number(int, lambda v: v >= 0, "an integer >= 0")
_seconds = _number(float, lambda v: 0 <= v < math.inf, "seconds >= 0")
_growth = _number(float, lambda v: 1 <= v < math.inf, "a number >= 1")


def _assignment(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _add_framing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--codec", type=_spec("codec"), default="json", metavar="SPEC",
                   help="codec on the socket (default: json)")
    p.add_argument("--pre", type=_spec("pre"), action="append", metavar="SPEC",
                   help="preprocessor, repeatable, in order (default: separate; 'none' for none)")
    p.add_argument("--post", type=_spec("post"), action="append", metavar="SPEC",
                   help="postprocessor, repeatable, in order (default: separate; 'none' for none)")
    p.add_argument("--buf-size", type=_positive_int, metavar="N",
                   help="receive buffer in bytes (default 8192; --dgram: largest datagram, default 65536)")


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--meta", action="store_true", help='print {"value": ..., "meta": {...}} per event')
    p.add_argument("--pretty", action="store_true", help="indented JSON for humans")


def _add_client(sub: Any) -> argparse.ArgumentParser:
    """The ``client`` subcommand's parser."""
    client: argparse.ArgumentParser = sub.add_parser(
        "client",
        help="send JSON lines to a unix socket, print the replies",
        description="Send the JSON lines of --input (default: stdin) and print the replies as JSON "
        "lines; after the input ends, exit once --replies replies arrived or none came for --idle "
        "seconds.",
    )
    client.add_argument("path", metavar="PATH", help="socket path")
    client.add_argument("--input", default="-", metavar="FILE", help="JSON lines to send (default: stdin)")
    _add_framing(client)
    client.add_argument("--retry-interval-ms", type=_positive_int, default=100, metavar="N",
                        help="first reconnect wait (default 100)")
    client.add_argument("--retry-growth", type=_growth, default=2.0, metavar="X",
                        help="reconnect wait growth rate (default 2)")
    client.add_argument("--retries", type=_nonneg_int, default=3, metavar="N",
                        help="reconnect attempts (default 3)")
    client.add_argument("--no-reconnect", action="store_true", help="a failed connect is final")
    _add_socket_kind(client)
    client.add_argument("--replies", type=_nonneg_int, metavar="N",
                        help="exit once N replies arrived; fewer when --idle runs out is an error (status 1)")
    client.add_argument("--idle", type=_seconds, default=1.0, metavar="SECONDS",
                        help="after the input ends, exit when no reply came for this long (default 1), "
                        "also with --replies")
    _add_output(client)
    return client


def _add_socket_kind(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dgram", action="store_true",
                   help="unix datagram socket (SOCK_DGRAM): one datagram per event")


def _add_monitoring(run: argparse.ArgumentParser) -> None:
    """``rxunix run``'s metrics and progress options (see :mod:`rxunix.app.monitoring`)."""
    run.add_argument("--metrics", metavar="FILE",
                     help="write every connector's metrics events as JSON lines to FILE ('-': stdout)")
    run.add_argument("--metrics-interval", type=_number(float, lambda v: 0 < v < math.inf, "seconds > 0"),
                     default=5.0, metavar="SECONDS",
                     help="metrics interval of connectors without metrics_interval_s (default 5)")
    run.add_argument("--metrics-port", type=_number(int, lambda v: 0 <= v < 65536, "a port number"),
                     metavar="PORT", help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics "
                     "(needs the 'metrics' extra)")
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true",
                       help="a progress line on stderr every few seconds (default: when stderr is a terminal)")
    shown.add_argument("--quiet", action="store_true", help="no progress line")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rxunix`` command."""
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="rxunix",
        description="Reactive stream processing over UNIX domain sockets.",
    )
    parser.add_argument("--version", action="version", version=f"rxunix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser(
        "demo",
        help="the source document's echo server + client flows, end to end",
        description="Server echoes and logs each event to DIR/server_out.log; the client sends the "
        "input's JSON lines, logs the replies to DIR/client_out.log and exits 0 once \"exit\" "
        "comes back. Progress and a summary on stderr.",
    )
    demo.add_argument("--input", metavar="FILE", help="JSON lines to send (default: a built-in sample)")
    demo.add_argument("--dir", default=".", metavar="DIR", help="where the logs go (default: .)")
    demo.add_argument("--socket", metavar="PATH", help="socket path (default: in a new temporary directory)")
    demo.add_argument("--server-delay", type=_seconds, metavar="SECONDS",
                      help="start the server this long after the client (exercises reconnect)")
    demo.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                      help="give up after this long (default 30)")
    demo.add_argument("--quiet", action="store_true", help="do not print the replies or progress lines")
    demo.add_argument("--progress", action="store_true",
                      help="a progress line on stderr every few seconds even when it is not a terminal")

    run = sub.add_parser(
        "run",
        help="run the flows of a Python file as a service",
        description="Run the flows defined in FLOW (see the rxunix.flow module docs) until SIGINT/"
        "SIGTERM or until a flow exits with a status; stopping drains.",
    )
    run.add_argument("flow_file", metavar="FLOW", help="a Python file defining flows")
    run.add_argument("--flow", action="append", metavar="NAME", help="deploy only this flow function")
    run.add_argument("--set", type=_assignment, action="append", default=[], metavar="NAME=VALUE",
                     help="a parameter for ctx.param(NAME); --set dir=DIR is where ctx.path() files go, "
                     "created if missing (as demo --dir)")
    run.add_argument("--drain-timeout", type=_seconds, default=5.0, metavar="SECONDS",
                     help="per connector, when stopping (default 5)")
    run.add_argument("--workers", type=_nonneg_int, default=0, metavar="N",
                     help="N worker processes sharing each server's socket (docs/workers.md; default 0: one process)")
    run.add_argument("--monkey-patch", action="store_true",
                     help="gevent.monkey.patch_all() before loading the flow file")
    _add_monitoring(run)

    server = sub.add_parser(
        "server",
        help="listen on a unix socket, print events as JSON lines",
        description="Print every received event as one JSON line on stdout; errors as JSON lines on "
        "stderr. Runs until SIGINT/SIGTERM.",
    )
    server.add_argument("path", metavar="PATH", help="socket path")
    _add_framing(server)
    server.add_argument("--permissions", metavar="MODE", help='socket file mode, chmod style ("=600", "u=rw,go=")')
    server.add_argument("--echo", action="store_true", help="send every event back to where it came from")
    _add_socket_kind(server)  # issue 17
    server.add_argument("--systemd", nargs="?", const=True, default=False, metavar="NAME",
                        help="use the socket passed by systemd (LISTEN_FDS; NAME: from LISTEN_FDNAMES)")
    _add_output(server)

    client = _add_client(sub)
    for p in (demo, run, server, client):
        p.set_defaults(subparser=p)
    return parser


def _framing(args: argparse.Namespace) -> dict[str, Any]:
    def chain(specs: list[Any] | None) -> list[Any]:
        if specs is None:
            return ["separate"]
        return [s for s in specs if s != _NONE]

    opts: dict[str, Any] = {
        "codec": args.codec,
        "preprocessors": chain(args.pre),
        "postprocessors": chain(args.post),
    }
    return opts


_OPTION_OF_KEY = {
    "permissions": "--permissions",
    "buf_size": "--buf-size",
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
    if args.workers and args.metrics_port is not None:
        parser.error("argument --metrics-port: not available with --workers (each worker would serve it)")
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
            runner.log(f"error: flow {getattr(fn, '__name__', fn)!r}: {type(exc).__name__}: {exc}")
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
        source = ctx.read_file(args.input, ready=client_ready(cli))
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
