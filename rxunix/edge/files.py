"""Files as event sources and sinks (Tremor's ``integration::read_file`` / ``write_file``).

:func:`write_file` writes every event pushed into ``in_`` to a file, by default
as sorted, minified JSON lines (Tremor's ``json-sorted`` codec with the
``separate`` postprocessor); ``mode="truncate"`` (default) or ``"append"``.
Encode and write failures go to ``err``; ``stop()`` flushes and closes::

    >>> import reactivex as rx, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "events.jsonl")
    >>> sink = write_file(path).start()                 # e.g. server.out.subscribe(sink.in_)
    >>> _ = rx.of(Event({"b": 2, "a": 1}), Event([1, "x"])).subscribe(sink.in_)
    >>> sink.stop()
    >>> with open(path) as f:
    ...     print(f.read(), end="")
    {"a":1,"b":2}
    [1,"x"]

:func:`read_file` reads a file (or ``"-"`` for standard input) through
preprocessors and a codec and emits one event per decoded value on ``out``;
decode failures go to ``err`` in stream order. At end of file the last frame is
flushed and the connector completes by itself::

    >>> src = read_file(path)                           # separate + json
    >>> _ = src.out.subscribe(lambda e: print(e.value))
    >>> _ = src.start(); src.join(timeout=5)
    {'a': 1, 'b': 2}
    [1, 'x']
    True

Both read/write regular files directly (the kernel does not block on them for
long); a pipe or terminal source is read without blocking the gevent hub.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

import gevent
import gevent.os
from gevent import socket as gsocket

from ..core.config import Option, choice, validate
from ..core.errors import ConfigError, RxUnixError
from ..core.event import Event
from ..core.framing import Decoder, DecoderFactory, Encoder, EncoderFactory, is_failure
from ..core.registry import Spec
from .base import Connector
from .descriptors import close_now
from .runtime import Runtime

__all__ = ["FileSource", "FileSink", "read_file", "write_file", "SORTED_JSON"]

#: The codec spec of Tremor's ``json-sorted``: minified JSON with sorted keys.
SORTED_JSON: dict[str, Any] = {"name": "json", "config": {"mode": "sorted"}}

_SOURCE_SCHEMA = {
    "path": Option(str, None),
    "buf_size": Option(int, 65536, check=lambda v: v > 0, expect="a positive int"),
}
_SINK_SCHEMA = {
    "path": Option(str, None),
    "file": Option(str, None),
    "mode": choice("truncate", "append"),
}


class FileSource(Connector):
    """Read a file (``"-"``: standard input) as events; completes at end of file.

    Options: ``preprocessors`` (default ``["separate"]``), ``codec`` (default
    ``"json"``), ``buf_size`` (read size, default 64 KiB), ``ready`` (backpressure:
    a callable checked before each event; while it returns false, reading pauses,
    e.g. :func:`rxunix.app.flow.client_ready`), ``metrics_interval_s``. The ``stats``
    counter has ``out`` (events), ``errors`` and ``bytes``. Its ``gate`` pauses
    reading (:func:`rxunix.connect`).
    """

    kind = "read_file"
    pausable = True
    metered = {"events_in": "in", "events_out": "out", "events_err": "errors", "bytes_read": "bytes"}

    def __init__(
        self,
        path: str | None = None,
        *,
        config: dict[str, Any] | None = None,
        preprocessors: Sequence[Spec] | None = ("separate",),
        codec: Spec = "json",
        buf_size: int | None = None,
        ready: Callable[[], bool] | None = None,
        runtime: Runtime | None = None,
        metrics_interval_s: float | None = None,
    ) -> None:
        opts = validate(self.kind, {**(config or {}), **_given(path=path, buf_size=buf_size)}, _SOURCE_SCHEMA)
        if opts["path"] is None:
            raise ConfigError(f"{self.kind}: option 'path' is required")
        super().__init__(runtime=runtime, metrics_interval_s=metrics_interval_s)
        self.path: str = opts["path"]
        self.buf_size: int = opts["buf_size"]
        self._decoders = DecoderFactory(list(preprocessors or []), codec)
        self._greenlet: gevent.Greenlet | None = None
        self._ready_fn = ready

    def _start(self) -> None:
        # open now so that a missing file is an error of start(), not a silent end
        fifo = False
        if self.path == "-":
            fd, self._close_fd = sys.stdin.fileno(), False
        else:  # (without waiting: a FIFO's reader waits for a writer on the hub)
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            fifo = stat.S_ISFIFO(os.fstat(fd).st_mode)
            self._close_fd = True
        self._fd = fd
        self._greenlet = self._spawn(self._run, fd, fifo)

    def _run(self, fd: int, fifo: bool = False) -> None:
        decoder = self._decoders()
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        writer_came = not fifo  # a FIFO opened before any writer reads as ended until one comes
        was_blocking = True
        if not regular:
            was_blocking = os.get_blocking(fd)
            os.set_blocking(fd, False)
        gate = self.gate
        try:
            while True:
                gate.wait()  # flow control: paused while a sink it feeds is not ready
                try:
                    chunk = os.read(fd, self.buf_size) if regular else gevent.os.nb_read(fd, self.buf_size)
                except OSError as exc:
                    self._error(exc, "read", stream=self.path)
                    break
                if not chunk and not writer_came:
                    gsocket.wait_read(fd)  # until a writer comes (and writes, or goes)
                    writer_came = True
                    continue
                if not chunk or self.state != "running":
                    break
                self.stats["bytes"] += len(chunk)
                self._publish(decoder, decoder.feed(chunk))
                gevent.sleep(0)  # let consumers run between chunks
            if self.state == "running":
                self._publish(decoder, decoder.finish())
        finally:
            if not regular:
                try:
                    os.set_blocking(fd, was_blocking)
                except OSError:
                    pass
            self._close()
            self._greenlet = None
            self._finished()

    def _publish(self, decoder: Decoder, items: list[Any]) -> None:
        ready = self._ready_fn
        gate = self.gate
        for item in items:
            if not gate.open:
                gate.wait()
                if self.state != "running":
                    return
            if ready is not None and not ready():
                while not ready() and self.state == "running":  # backpressure: the consumer is full
                    gevent.sleep(0.005)
                if self.state != "running":
                    return
            if is_failure(item):
                self._error(item, "decode", stream=self.path)
            else:
                self._emit(Event(item))

    def _close(self) -> None:
        fd, self._fd = getattr(self, "_fd", -1), -1
        if fd >= 0 and self._close_fd:  # now: a FIFO's writer sees EPIPE at once, patched or not
            close_now(fd)

    def _stop(self, timeout: float | None) -> None:
        g = self._greenlet
        if g is not None and g is not gevent.getcurrent():
            g.kill(block=True, timeout=timeout)
        self._close()

    def _receive(self, event: Event) -> None:
        self._error("read_file has no input", "input")


class FileSink(Connector):
    """Write events to a file: sorted, minified JSON lines by default.

    ``mode``: ``"truncate"`` (default) or ``"append"``. ``codec`` and
    ``postprocessors`` change the format (defaults: :data:`SORTED_JSON`,
    ``["separate"]``). Writes are flushed once per hub loop iteration and on
    ``stop()``. The ``stats`` counter has ``in`` (events written) and ``errors``.
    """

    kind = "write_file"
    metered = {"events_in": "in", "events_err": "errors"}

    def __init__(
        self,
        path: str | None = None,
        *,
        config: dict[str, Any] | None = None,
        mode: str | None = None,
        codec: Spec = SORTED_JSON,
        postprocessors: Sequence[Spec] | None = ("separate",),
        runtime: Runtime | None = None,
        metrics_interval_s: float | None = None,
    ) -> None:
        opts = validate(self.kind, {**(config or {}), **_given(path=path, mode=mode)}, _SINK_SCHEMA)
        target = opts["path"] or opts["file"]
        if target is None:
            raise ConfigError(f"{self.kind}: option 'path' (or Tremor's 'file') is required")
        super().__init__(runtime=runtime, metrics_interval_s=metrics_interval_s)
        self.path: str = target
        self.mode: str = opts["mode"]
        self._encoder: Encoder = EncoderFactory(codec, list(postprocessors or []))()
        self._fh: IO[bytes] | None = None
        self._flush_pending = False
        self._early: list[Event] = []

    def _start(self) -> None:
        self._fh = open(self.path, "ab" if self.mode == "append" else "wb")  # noqa: SIM115
        early, self._early = self._early, []
        for ev in early:
            self._receive(ev)

    def _receive(self, event: Event) -> None:
        fh = self._fh
        if fh is None:
            if self.state == "new":  # pushed before start(): keep, write at start
                self._early.append(event)
            else:
                self.stats["dropped"] += 1
                self._error("write_file is stopped", "write", stream=self.path, meta=event.meta)
            return
        try:
            data = self._encoder.encode(event.value)
        except RxUnixError as exc:
            self._error(exc, "encode", stream=self.path, meta=event.meta, value=event.value)
            return
        try:
            fh.write(data)
        except (OSError, ValueError) as exc:
            self._error(exc, "write", stream=self.path, meta=event.meta)
            return
        self.stats["in"] += 1
        if not self._flush_pending:
            self._flush_pending = True
            self.runtime.hub.loop.run_callback(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        fh = self._fh
        if fh is not None:
            try:
                fh.flush()
            except OSError as exc:
                self._error(exc, "write", stream=self.path)

    def _stop(self, timeout: float | None) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            tail = self._encoder.finish()
            if tail:
                fh.write(tail)
            fh.flush()
        except (OSError, RxUnixError) as exc:
            self._error(exc, "write", stream=self.path)
        finally:
            fh.close()


def _given(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def read_file(path: str | None = None, **options: Any) -> FileSource:
    """A :class:`FileSource`: ``read_file("in.jsonl")`` or ``read_file(config={"path": ...})``."""
    return FileSource(path, **options)


def write_file(path: str | None = None, **options: Any) -> FileSink:
    """A :class:`FileSink`; Tremor's ``write_file`` config ``{"file": "out.log"}`` works too."""
    return FileSink(path, **options)
