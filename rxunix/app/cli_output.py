r"""What the ``rxunix`` command does with its own output: a closed stdout, rxunix's warnings.

* A closed stdout (``rxunix server PATH | head -1``) ends the run quietly with
  :data:`EXIT_PIPE` (128 + SIGPIPE, what a shell reports for a command-line tool
  that a closed pipe ended), draining as usual: :func:`exit_on_closed_stdout`.
* rxunix's own warnings (:class:`~rxunix.edge.security.InsecureSocketDirWarning`) are
  shown as one line, ``rxunix: warning: MESSAGE``; other warnings as usual::

    >>> import io, warnings
    >>> from rxunix.edge.security import InsecureSocketDirWarning
    >>> err = io.StringIO()
    >>> with warnings.catch_warnings(), rxunix_warnings(err):
    ...     warnings.simplefilter("always")
    ...     warnings.warn("socket dir open to others", InsecureSocketDirWarning)
    >>> err.getvalue()
    'rxunix: warning: socket dir open to others\n'
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["EXIT_PIPE", "exit_on_closed_stdout", "unless_closed_pipe", "silence_stdout", "rxunix_warnings"]

#: Exit status when stdout is closed early: 128 + SIGPIPE.
EXIT_PIPE = 141


def _closed_pipe(event: Any) -> bool:
    """True for the error event of a write to a pipe whose reader has gone (``| head``)."""
    value: Any = getattr(event, "value", None)
    return isinstance(value, Mapping) and value.get("kind") == "BrokenPipeError"


def unless_closed_pipe(forward: Callable[[Any], None]) -> Callable[[Any], None]:
    """``forward`` every error event but a closed stdout's (:func:`exit_on_closed_stdout` handles that)."""

    def on_error(event: Any) -> None:
        if not _closed_pipe(event):
            forward(event)

    return on_error


def exit_on_closed_stdout(runner: Any) -> None:
    """End ``runner``'s run quietly with :data:`EXIT_PIPE` once stdout's reader has gone.

    Call it after deploying. When a deployed console prints on stdout, a write
    error on a closed pipe, or (stdout being a pipe) the reader's end closing
    while nothing is written, stops the run (draining as usual), with no summary
    and no error line.
    """
    from ..edge.console import Console

    def closed(event: Any = None) -> None:
        if (event is None or _closed_pipe(event)) and runner.status is None:
            runner.summary = False
            runner.exit(EXIT_PIPE, "stdout closed")

    consoles = [e.connector for e in runner.entries
                if isinstance(e.connector, Console) and e.connector.stream is sys.stdout]
    for conn in consoles:
        conn.err.subscribe(closed)
    if consoles and runner.flows and _is_pipe(sys.stdout):
        runner.flows[0].spawn_later(0, _watch_pipe, sys.stdout.fileno(), closed)


def _is_pipe(stream: TextIO) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _watch_pipe(fd: int, closed: Callable[[], None], every: float = 0.2) -> None:
    """Call ``closed()`` once the reading end of the pipe ``fd`` is closed (POLLERR on the writer)."""
    import select

    import gevent
    from gevent.monkey import get_original

    poller = get_original("select", "poll")()
    poller.register(fd, 0)  # no events asked for: only POLLERR / POLLHUP / POLLNVAL come back
    while not any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0)):
        gevent.sleep(every)  # a non-blocking check a few times a second; killed when the run stops
    closed()


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush into a closed pipe stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (captured in tests): nothing to silence
        pass


@contextmanager
def rxunix_warnings(stream: TextIO | None = None) -> Iterator[None]:
    """Show rxunix's own warnings as one line, ``rxunix: warning: MESSAGE``; others as usual."""
    original = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        if category.__module__.partition(".")[0] != "rxunix":
            original(message, category, filename, lineno, file, line)
            return
        out = stream if stream is not None else sys.stderr
        try:
            out.write(f"rxunix: warning: {message}\n")
            out.flush()
        except (OSError, ValueError):
            pass

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original
