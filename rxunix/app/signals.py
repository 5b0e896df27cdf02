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

__all__ = ["StopSignals", "STOP_SIGNALS", "SAME_SIGNAL_S"]

#: The signals that stop a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: A signal repeated within this many seconds is the same one delivered twice (``timeout``
#: sends it to its child, then to the group), not a second one.
SAME_SIGNAL_S = 0.25


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
        self._take(signum, self.stop)

    def _take(self, signum: int, stop: Callable[[str], None]) -> None:
        name, now = signal.Signals(signum).name, time.monotonic()
        if self.received and now - self._first < self.same_within:
            return
        self.received += 1
        if self.received == 1:
            self._first = now
        elif not self.drained:
            try:
                self.abandon(name)
            finally:
                os._exit(128 + signum)
        stop(f"{name} received")

    def install(self) -> list[Any]:
        """Handle :data:`STOP_SIGNALS` (from the main thread); cancel the handlers returned to stop.

        The handlers are Python-level (``signal.signal``): Python runs them between
        two bytecodes of whatever the main thread is doing, and gevent checks for
        them while its hub waits. So a second signal ends the process at once even
        while a callback keeps the hub busy; the stop a first one asks for is handed
        to the hub (a callback of its loop), which runs it as soon as it can. Off
        the main thread, gevent's signal watchers are used instead.
        """
        loop = gevent.get_hub().loop

        def stop_on_hub(reason: str) -> None:
            loop.run_callback(self.stop, reason)

        def handler(signum: int, _frame: Any) -> None:
            self._take(signum, stop_on_hub)

        installed: list[Any] = []
        for signum in STOP_SIGNALS:
            try:
                installed.append(_Installed(signum, signal.signal(signum, handler)))
            except ValueError:  # not the main thread
                installed.append(gevent.signal_handler(signum, self, signum))
        return installed


class _Installed:
    """One installed handler; :meth:`cancel` puts the previous one back."""

    def __init__(self, signum: int, previous: Any) -> None:
        self.signum, self.previous = signum, previous

    def cancel(self) -> None:
        signal.signal(self.signum, self.previous if self.previous is not None else signal.SIG_DFL)
