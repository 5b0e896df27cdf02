"""Exit connector (Tremor's ``integration::exit``): the first event asks to exit.

The status comes from the event: an ``int`` value (or a whole ``float``), or
``{"exit": int}``; a number outside 0..255 is 1 (a failure never wraps round
to success, as ``256 & 0xFF`` would); any other value means 0 (the source
document sends the string ``"exit"``). The
connector then calls ``on_exit(status)`` (the flow runner passes its own) and
stops by itself, so code without a runner can simply wait::

    >>> import reactivex as rx
    >>> from reactivex import operators as ops
    >>> replies = rx.of(Event("hello"), Event("exit"))  # e.g. a client's out
    >>> ex = exit_connector().start()
    >>> _ = replies.pipe(ops.filter(lambda e: e.value == "exit")).subscribe(ex.in_)
    >>> ex.join(timeout=5), ex.status
    (True, 0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.event import Event
from .base import Connector
from .runtime import Runtime

__all__ = ["ExitConnector", "exit_connector", "exit_status"]


def exit_status(value: Any) -> int:
    """The exit status an event value asks for.

    >>> exit_status("exit"), exit_status(3), exit_status({"exit": 2}), exit_status(True)
    (0, 3, 2, 0)
    >>> exit_status(256), exit_status(-1), exit_status(3.0), exit_status({"exit": 2.5})
    (1, 1, 3, 0)
    """
    if isinstance(value, Mapping):
        value = value.get("exit", 0)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 255 else 1
    return 0


class ExitConnector(Connector):
    """On its first input event: record ``status``, call ``on_exit(status)``, stop."""

    kind = "exit"

    def __init__(
        self, on_exit: Callable[[int], Any] | None = None, *, runtime: Runtime | None = None,
        metrics_interval_s: float | None = None,
    ) -> None:
        super().__init__(runtime=runtime, metrics_interval_s=metrics_interval_s)
        self.on_exit = on_exit
        self.status: int | None = None

    def _start(self) -> None:
        pass

    def _receive(self, event: Event) -> None:
        if self.status is not None:
            return
        self.status = exit_status(event.value)
        self.stats["in"] += 1
        if self.on_exit is not None:
            self.on_exit(self.status)
        self._finished()

    def _stop(self, timeout: float | None) -> None:
        pass


def exit_connector(on_exit: Callable[[int], Any] | None = None, **options: Any) -> ExitConnector:
    """An :class:`ExitConnector`."""
    return ExitConnector(on_exit, **options)
