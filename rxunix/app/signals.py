"""SIGINT and SIGTERM during a run: the first stops it with a drain, a second ends the process at once.

The rule of :class:`~rxunix.app.flow.Runner` and of the workers' supervisor
(:mod:`.workers`), each giving its own ``stop`` and ``abandon``::

    >>> said = []
    >>> signals = StopSignals(said.append, lambda name: said.append(f"{name} again"))
    >>> signals(signal.SIGTERM); said
    ['SIGTERM received']
    >>> signals.drained = True  # after the drain, a signal asks for the stop already asked for
    >>> signals(signal.SIGINT); said, signals.received
    (['SIGTERM received', 'SIGINT received'], 2)
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import gevent

__all__ = ["StopSignals", "STOP_SIGNALS"]

#: The signals that stop a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Called with each SIGINT/SIGTERM a run receives (install it with :meth:`install`).

    * The first calls ``stop(f"{NAME} received")``: the run stops with a drain.
    * A later one, while :attr:`drained` is false, calls ``abandon(NAME)`` (the
      caller's last words: a log line, killing its children), then ends the
      process at once with ``os._exit(128 + signal)``.
    * Once :attr:`drained` is set, a later one calls ``stop`` again, which
      changes nothing: the first request to stop has won.
    * A repeat within ``same_within`` seconds of the first is that signal
      delivered twice (``timeout`` sends it to its child, then to the group):
      ignored, not counted.
    """

    def __init__(self, stop: Callable[[str], None], abandon: Callable[[str], None], *,
                 same_within: float = 0.0) -> None:
        self.stop = stop
        self.abandon = abandon
        self.same_within = same_within
        #: Signals counted so far (repeats within ``same_within`` not included).
        self.received = 0
        #: Set by the caller once its drain is over: later signals change nothing.
        self.drained = False
        self._first = 0.0

    def __call__(self, signum: int) -> None:
        name, now = signal.Signals(signum).name, time.monotonic()
        if self.received and now - self._first < self.same_within:
            return
        self.received += 1
        if self.received == 1:
            self._first = now
        elif not self.drained:
            self.abandon(name)
            os._exit(128 + signum)
        self.stop(f"{name} received")

    def install(self) -> list[Any]:
        """Handle :data:`STOP_SIGNALS` on the calling thread's hub; cancel the handlers returned to stop."""
        return [gevent.signal_handler(signum, self, signum) for signum in STOP_SIGNALS]
