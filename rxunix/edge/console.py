"""Console sink (Tremor's ``connectors::console``): events as JSON lines on stdout.

Each event pushed into ``in_`` is printed as one minified JSON line (ready for
``jq``); ``pretty=True`` indents for humans, ``meta=True`` prints
``{"value": ..., "meta": {...}}`` instead of the bare value::

    >>> import reactivex as rx
    >>> c = console().start()
    >>> _ = rx.of(Event({"b": 1, "a": [1, "x"]}), Event("done")).subscribe(c.in_)
    {"b":1,"a":[1,"x"]}
    "done"
    >>> c.stop()

(with a server: ``server.out.subscribe(c.in_)``.)

Bytes values are shown as text (invalid UTF-8 escaped). Output is flushed once
per hub loop iteration and on ``stop()``. A closed pipe (``| head``) is reported
once on ``err`` and later events are counted as ``dropped``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO, Any

import simplejson

from ..core.codecs.json_codec import JsonCodec
from ..core.errors import CodecError
from ..core.event import Event
from .base import Connector
from .runtime import Runtime

__all__ = ["Console", "console", "to_json_line"]


def _default(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    return repr(obj)


_COMMON: dict[str, Any] = {"ensure_ascii": False, "default": _default, "ignore_nan": True, "encoding": None}
_CODEC = JsonCodec()
_MINI = simplejson.JSONEncoder(separators=(",", ":"), **_COMMON)
_PRETTY = simplejson.JSONEncoder(indent=2, **_COMMON)


def to_json_line(event: Event, *, pretty: bool = False, meta: bool = False) -> str:
    """The console form of an event (without the newline).

    >>> to_json_line(Event({"a": [1, "é"]}, {"k": 1}))
    '{"a":[1,"é"]}'
    >>> to_json_line(Event(b"hi", {"k": 1}), meta=True)
    '{"value":"hi","meta":{"k":1}}'
    """
    obj = event.to_dict() if meta else event.value
    if not pretty:
        try:  # the same bytes as the json codec (floats like Tremor's: 1e-7)
            return _CODEC.encode(obj).decode("utf-8")
        except CodecError:
            pass  # bytes, NaN, odd types: shown anyway
    return str((_PRETTY if pretty else _MINI).encode(obj))


class Console(Connector):
    """Print events as JSON lines on a text stream (default ``sys.stdout``)."""

    kind = "console"

    def __init__(
        self,
        *,
        stream: IO[str] | None = None,
        pretty: bool = False,
        meta: bool = False,
        runtime: Runtime | None = None,
        metrics_interval_s: float | None = None,
    ) -> None:
        super().__init__(runtime=runtime, metrics_interval_s=metrics_interval_s)
        self._stream = stream
        self.pretty = pretty
        self.meta = meta
        self._flush_pending = False
        self._broken = False

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stdout

    def _start(self) -> None:
        pass

    def _receive(self, event: Event) -> None:
        if self._broken or self.state == "stopped":
            self.stats["dropped"] += 1
            return
        try:
            line = to_json_line(event, pretty=self.pretty, meta=self.meta)
        except (TypeError, ValueError) as exc:
            self._error(exc, "encode", meta=event.meta, value=event.value)
            return
        try:
            self.stream.write(line + "\n")
        except (OSError, ValueError) as exc:
            self._broken = True
            self._error(exc, "write")
            return
        self.stats["in"] += 1
        if not self._flush_pending:
            self._flush_pending = True
            self.runtime.hub.loop.run_callback(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        if self._broken:
            return
        try:
            self.stream.flush()
        except (OSError, ValueError) as exc:
            self._broken = True
            self._error(exc, "write")

    def _stop(self, timeout: float | None) -> None:
        self._flush()


def console(**options: Any) -> Console:
    """A :class:`Console` sink (``pretty=``, ``meta=``, ``stream=``)."""
    return Console(**options)
