"""The context a flow function receives (``ctx``): it creates connectors and registers them with the runner.

Every connector made with ``ctx`` gets a start order class (:data:`SINK`,
:data:`SERVER`, :data:`CLIENT`, :data:`SOURCE`): the runner starts lower classes
first and stops them last (see :mod:`rxunix.app.flow`, *Lifecycle*).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import gevent

from ..edge.base import Connector
from ..edge.console import Console
from ..edge.exit import ExitConnector
from ..edge.files import FileSink, FileSource

if TYPE_CHECKING:
    from .flow import Runner

__all__ = ["Flow", "FlowFunction", "SINK", "SERVER", "CLIENT", "SOURCE"]

C = TypeVar("C", bound=Connector)
FlowFunction = Callable[["Flow"], Any]

#: Start order classes: lower starts first and stops last.
SINK, SERVER, CLIENT, SOURCE = 0, 10, 20, 30


class Flow:
    """The context a flow function receives: creates and registers connectors, which
    the runner starts, and stops with a drain when the run ends. Example (a flow file
    for ``rxunix run FLOW.py --set socket=/tmp/rx/echo.sock``)::

        def flow(ctx):
            server = ctx.server(path=ctx.param("socket"), codec="json",
                                preprocessors=["separate"], postprocessors=["separate"])
            server.out.subscribe(server.in_)   # echo
    """

    def __init__(self, runner: Runner, name: str) -> None:
        self.runner = runner
        self.name = name
        self.params: Mapping[str, str] = runner.params

    # ---- connectors -------------------------------------------------------
    def add(self, connector: C, *, name: str | None = None, order: int = SERVER, start: bool = True) -> C:
        """Register ``connector``: the runner starts it (unless ``start=False``) and stops it.
        ``name``: its name in metrics and the summary (default: the connector kind);
        ``order``: its start rank (:data:`SINK` < :data:`SERVER` < :data:`CLIENT` <
        :data:`SOURCE`: lower starts first and stops last, servers before clients).

        Adding a registered connector again only changes ``start``.
        """
        return self.runner._add(self, connector, name=name, order=order, start=start)

    def server(self, *, name: str | None = None, **options: Any) -> Any:
        """A ``unix_socket_server`` (same options as in code)."""
        from ..edge.server import unix_socket_server

        options.setdefault("runtime", self.runner.runtime)
        return self.add(unix_socket_server(**options), name=name, order=SERVER)

    def client(self, *, name: str | None = None, **options: Any) -> Any:
        """A ``unix_socket_client`` (same options as in code)."""
        from ..edge.client import unix_socket_client

        options.setdefault("runtime", self.runner.runtime)
        return self.add(unix_socket_client(**options), name=name, order=CLIENT)

    def read_file(self, path: str, *, name: str | None = None, **options: Any) -> FileSource:
        """A file source (``"-"``: stdin); see :class:`~rxunix.edge.files.FileSource`."""
        options.setdefault("runtime", self.runner.runtime)
        return self.add(FileSource(path, **options), name=name, order=SOURCE)

    def write_file(self, path: str, *, name: str | None = None, **options: Any) -> FileSink:
        """A file sink; see :class:`~rxunix.edge.files.FileSink`."""
        options.setdefault("runtime", self.runner.runtime)
        return self.add(FileSink(path, **options), name=name, order=SINK)

    def console(self, *, name: str | None = None, **options: Any) -> Console:
        """JSON lines on stdout; see :class:`~rxunix.edge.console.Console`."""
        options.setdefault("runtime", self.runner.runtime)
        return self.add(Console(**options), name=name, order=SINK)

    def exit_connector(self, *, name: str | None = None) -> ExitConnector:
        """Tremor's ``integration::exit``: its first event ends the run with that status."""
        conn = ExitConnector(
            lambda status: self.exit(status, f"flow {self.name!r}: exit connector, status {status}"),
            runtime=self.runner.runtime,
        )
        return self.add(conn, name=name, order=SINK)

    # ---- control ------------------------------------------------------------
    def exit(self, status: int = 0, reason: str = "") -> None:
        """End the run with ``status`` (safe from any callback; the first request wins)."""
        self.runner.exit(status, reason or f"flow {self.name!r} asked to exit")

    def param(self, name: str, default: str | None = None) -> str | None:
        """A ``--set NAME=VALUE`` parameter, or ``default``."""
        return self.params.get(name, default)

    def path(self, filename: str) -> str:
        """``filename`` inside the ``dir`` parameter (default: the working directory)."""
        return os.path.join(self.params.get("dir", "."), filename)

    def log(self, message: str) -> None:
        """One line on stderr, prefixed with the runner's and the flow's name."""
        self.runner.log(f"[{self.name}] {message}")

    def spawn_later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        """Run ``fn(*args)`` after ``seconds`` on the hub; killed when the run stops (never started once it is).
        An exception it raises is logged (with its traceback) and the run goes on, as a
        subscriber's is reported and the run goes on."""
        if self.runner._stopping:  # nothing new once the run is stopping
            return gevent.Greenlet(fn, *args)
        runner, name = self.runner, f"{self.name}/spawn_later({getattr(fn, '__name__', fn)!s})"

        def call() -> Any:
            try:
                return fn(*args)
            except Exception as exc:
                runner.log(f"{name} failed: {type(exc).__name__}: {exc}\n" + "".join(
                    traceback.format_exception(exc)).rstrip())
                return None

        g = gevent.spawn_later(seconds, call)
        runner._greenlets.append(g)
        return g
