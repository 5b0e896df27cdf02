"""Reconnect policy of the client: a pure, clock-free schedule of waits.

Built from Tremor's ``reconnect`` configuration. With ``randomized`` off, the
source document's configuration waits exactly 100, 200, 400 ms, then gives up::

    >>> p = RetryPolicy.from_config({"retry": {"interval_ms": 100, "growth_rate": 2,
    ...                                        "max_retries": 3, "randomized": False}})
    >>> list(p)
    [100.0, 200.0, 400.0]
    >>> p.next_wait() is None      # retries exhausted: give up
    True
    >>> p.reset(); p.next_wait()   # after a connection that served, start afresh
    100.0

Rules (SPEC section 4):

* the first wait is ``interval_ms``; the nominal wait then multiplies by
  ``growth_rate`` (default 1.5) per retry, capped at ``max_interval_ms``
  (default 30000, **beyond Tremor**);
* ``randomized`` (default true) draws each wait after the first uniformly
  between the previous and the next nominal value (so waits never shrink below
  the previous nominal one and never exceed the cap);
* ``max_retries`` (default: unlimited) is the number of retries after a failed
  attempt: ``next_wait()`` returns ``None`` once they are used up;
* ``reset()`` (after a connection that lasted at least ``interval_ms``, or on
  which the server answered) starts the schedule afresh.

``RetryPolicy.from_config(None)`` (or ``"none"``) returns ``None``: no reconnect.
The random source is injectable (``rng=random.Random(seed)``) for tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from typing import Any

from .config import REQUIRED, Option, validate
from .errors import ConfigError

__all__ = ["RetryPolicy", "RETRY_SCHEMA"]


def _positive(v: Any) -> bool:
    return bool(math.isfinite(v) and v > 0)


#: The options of ``reconnect = {"retry": {...}}``.
RETRY_SCHEMA: dict[str, Option] = {
    "interval_ms": Option((int, float), REQUIRED, check=_positive, expect="a positive number"),
    "growth_rate": Option(
        (int, float), 1.5, check=lambda v: math.isfinite(v) and v >= 1, expect="a number >= 1"
    ),
    "max_retries": Option(int, None, check=lambda v: v >= 0, expect="an int >= 0 (absent: unlimited)"),
    "randomized": Option(bool, True),
    "max_interval_ms": Option((int, float), 30000, check=_positive, expect="a positive number"),
}


class RetryPolicy:
    """Exponential back-off with optional jitter, a cap and a retry budget.

    Iterating yields the waits (in milliseconds) until the budget is spent;
    :meth:`next_wait` is the same one step at a time. Example::

        >>> p = RetryPolicy(interval_ms=100, growth_rate=2, randomized=False, max_interval_ms=500)
        >>> [p.next_wait() for _ in range(5)]
        [100.0, 200.0, 400.0, 500.0, 500.0]
    """

    __slots__ = ("interval_ms", "growth_rate", "max_retries", "randomized", "max_interval_ms",
                 "_rng", "retries", "_nominal")

    def __init__(
        self,
        interval_ms: float,
        growth_rate: float = 1.5,
        max_retries: int | None = None,
        randomized: bool = True,
        max_interval_ms: float = 30000,
        rng: random.Random | None = None,
    ) -> None:
        opts = validate(
            "reconnect.retry",
            {"interval_ms": interval_ms, "growth_rate": growth_rate, "max_retries": max_retries,
             "randomized": randomized, "max_interval_ms": max_interval_ms},
            RETRY_SCHEMA,
        )
        self.interval_ms: float = float(opts["interval_ms"])
        self.growth_rate: float = float(opts["growth_rate"])
        self.max_retries: int | None = opts["max_retries"]
        self.randomized: bool = opts["randomized"]
        self.max_interval_ms: float = float(opts["max_interval_ms"])
        self._rng = rng or random.Random()
        #: retries handed out since the last reset
        self.retries = 0
        self._nominal = 0.0

    @classmethod
    def from_config(cls, reconnect: Any, rng: random.Random | None = None) -> RetryPolicy | None:
        """Build from Tremor's ``reconnect`` value: ``None``/``"none"`` or ``{"retry": {...}}``.

        Raises :class:`~rxunix.core.errors.ConfigError` naming the bad key::

            >>> try:
            ...     RetryPolicy.from_config({"retry": {"interval": 100}})
            ... except ConfigError as exc:
            ...     print(str(exc)[:50])
            reconnect.retry: unknown option 'interval'; allowe
        """
        if reconnect is None or reconnect == "none":
            return None
        if isinstance(reconnect, RetryPolicy):
            return reconnect
        if not isinstance(reconnect, Mapping):
            raise ConfigError(
                f"reconnect: must be None, 'none' or {{'retry': {{...}}}}, got {type(reconnect).__name__}"
            )
        for key in reconnect:
            if key not in ("retry", "none"):
                raise ConfigError(f"reconnect: unknown option {key!r}; allowed: retry, none")
        if "retry" not in reconnect:
            return None
        if "none" in reconnect:
            raise ConfigError("reconnect: give either 'retry' or 'none', not both")
        opts = validate("reconnect.retry", reconnect["retry"], RETRY_SCHEMA)
        return cls(**opts, rng=rng)

    # ---- schedule ---------------------------------------------------------
    @property
    def exhausted(self) -> bool:
        """True when no retry is left."""
        return self.max_retries is not None and self.retries >= self.max_retries

    def next_wait(self) -> float | None:
        """The wait (ms) before the next retry, or ``None``: give up."""
        if self.exhausted:
            return None
        cap = self.max_interval_ms
        if self.retries == 0:
            self._nominal = min(self.interval_ms, cap)
            wait = self._nominal
        else:
            prev = self._nominal
            nxt = min(prev * self.growth_rate, cap)
            self._nominal = nxt
            wait = self._rng.uniform(prev, nxt) if self.randomized and nxt > prev else nxt
        self.retries += 1
        return wait

    def reset(self) -> None:
        """Start the schedule afresh (call after a successful connect)."""
        self.retries = 0
        self._nominal = 0.0

    def __iter__(self) -> Iterator[float]:
        while True:
            wait = self.next_wait()
            if wait is None:
                return
            yield wait

    def copy(self, rng: random.Random | None = None) -> RetryPolicy:
        """A fresh policy with the same settings (schedule at its start)."""
        return RetryPolicy(self.interval_ms, self.growth_rate, self.max_retries, self.randomized,
                           self.max_interval_ms, rng or self._rng)

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(interval_ms={self.interval_ms:g}, growth_rate={self.growth_rate:g}, "
            f"max_retries={self.max_retries}, randomized={self.randomized}, "
            f"max_interval_ms={self.max_interval_ms:g})"
        )
