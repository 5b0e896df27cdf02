"""The argument parser of the ``rxunix`` command: subcommands, options and their checks."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, TypeVar

from ..core.metrics import MIN_INTERVAL as MIN_METRICS_INTERVAL
from .workers import MAX_WORKERS

NO_PROCESSORS = "none"


_N = TypeVar("_N", int, float)


def _nonempty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("expected a non-empty name")
    return text


def _spec(kind: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses and validates a processor/codec spec."""

    def parse(text: str) -> Any:
        from ..core.errors import ConfigError
        from ..core.registry import codec_factory, postprocessor_factory, preprocessor_factory

        if kind != "codec" and text == NO_PROCESSORS:
            return NO_PROCESSORS
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
    p.add_argument("--send-buffer-bytes", type=_positive_int, metavar="N",
                   help="the kernel's send buffer of each connection (--dgram: of the server's socket, "
                        "not for a datagram client; default: the kernel's)")


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
    run.add_argument("--metrics-interval", type=_number(float, lambda v: MIN_METRICS_INTERVAL <= v < math.inf,
                                                        f"seconds >= {MIN_METRICS_INTERVAL}"),
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
        description="Run the flows defined in FLOW (see the rxunix.app.flow module docs) until SIGINT/"
        "SIGTERM or until a flow exits with a status; stopping drains.",
    )
    run.add_argument("flow_file", metavar="FLOW", help="a Python file defining flows")
    run.add_argument("--flow", action="append", metavar="NAME", help="deploy only this flow function")
    run.add_argument("--set", type=_assignment, action="append", default=[], metavar="NAME=VALUE",
                     help="a parameter for ctx.param(NAME); --set dir=DIR is where ctx.path() files go, "
                     "created if missing (as demo --dir)")
    run.add_argument("--drain-timeout", type=_seconds, default=5.0, metavar="SECONDS",
                     help="per connector, when stopping (default 5)")
    run.add_argument("--workers", type=_number(int, lambda v: 0 <= v <= MAX_WORKERS,
                                               f"an integer from 0 to {MAX_WORKERS}"), default=0, metavar="N",
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
    server.add_argument("--allow-uid", type=_nonneg_int, action="append", metavar="UID",
                        help="serve only this uid, repeatable: other uids' connections are closed when "
                        "accepted, their datagrams dropped undecoded (--dgram)")
    _add_socket_kind(server)  # issue 17
    server.add_argument("--systemd", nargs="?", const=True, default=False, metavar="NAME", type=_nonempty,
                        help="use the socket passed by systemd (LISTEN_FDS; NAME: from LISTEN_FDNAMES)")
    _add_output(server)

    client = _add_client(sub)
    for p in (demo, run, server, client):
        p.set_defaults(subparser=p)
    return parser
