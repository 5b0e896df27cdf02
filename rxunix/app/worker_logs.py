"""A worker's stderr, relayed by the supervisor line by line, each line tagged (see :mod:`.workers`).

Under ``rxunix run --workers N`` each worker's file descriptor 2 is a pipe to
the supervisor. The supervisor writes every complete line it reads there to
its own log stream (stderr), so lines of different workers never interleave
or tear, and every line says which worker wrote it: a line that already
starts with the worker's tag (``rxunix run [worker 2]: ``, what the worker's
runner logs) is written as it is, any other line (a traceback, a warning, a
flow's own output on stderr) gets the tag in front::

    >>> import io
    >>> out = io.StringIO()
    >>> relay = LogRelay("rxunix run [worker 2]: ", out)
    >>> relay.feed(b"rxunix run [worker 2]: ready\\nTraceback (most")
    >>> relay.feed(b" recent call last):\\n  File")
    >>> relay.finish()
    >>> print(out.getvalue(), end="")
    rxunix run [worker 2]: ready
    rxunix run [worker 2]: Traceback (most recent call last):
    rxunix run [worker 2]:   File

A worker whose supervisor has died points its descriptor 2 back to the
stderr it inherited (:func:`restore_stderr`), so its drain is still logged.
"""

from __future__ import annotations

import os
from typing import IO

from ..edge.descriptors import close_now

__all__ = ["LogRelay", "redirect_stderr", "restore_stderr"]

#: A partial line longer than this is written (tagged) without waiting for its end.
MAX_LINE = 1 << 20


class LogRelay:
    """Tags and writes the lines of one worker's stderr (supervisor side)."""

    def __init__(self, tag: str, out: IO[str]) -> None:
        self.tag = tag
        self.out = out
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        """Take bytes read from the worker's stderr; write the complete lines."""
        self._buffer += data
        if b"\n" not in self._buffer and len(self._buffer) < MAX_LINE:
            return
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) >= MAX_LINE:
            lines.append(self._buffer)
            self._buffer = b""
        self._write(lines)

    def finish(self) -> None:
        """The worker is gone: write what is left of a last, unterminated line."""
        rest, self._buffer = self._buffer, b""
        if rest:
            self._write([rest])

    def _write(self, lines: list[bytes]) -> None:
        text = []
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            text.append((line if line.startswith(self.tag) else self.tag + line) + "\n")
        try:
            self.out.write("".join(text))
            self.out.flush()
        except (OSError, ValueError):
            pass


def redirect_stderr(write_fd: int) -> int:
    """In a worker: make descriptor 2 the pipe ``write_fd``; returns a copy of the previous stderr."""
    saved = os.dup(2)
    os.dup2(write_fd, 2)
    close_now(write_fd)
    return saved


def restore_stderr(saved: int) -> None:
    """In a worker whose supervisor is gone: descriptor 2 is the inherited stderr again."""
    try:
        os.dup2(saved, 2)
    except OSError:
        pass
