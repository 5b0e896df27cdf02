"""Ready reducers for windows: a reducer turns a window's list of values into one value.

A ``field`` picks what to reduce from each value: ``None`` (the value itself), a
key or index (``value[field]``) or a callable (``field(value)``)::

    >>> vals = [{"x": 1}, {"x": 4}, {"x": 7}]
    >>> count()(vals), sum_("x")(vals), min_("x")(vals), max_("x")(vals), mean("x")(vals)
    (3, 12, 1, 7, 4.0)
    >>> sum_(lambda v: v["x"] * 2)(vals)
    24

A reducer that fails (a missing field, a value that is not a number) raises; the
window operators turn that into an error event carrying the window's values.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["Reducer", "Field", "collect", "count", "sum_", "min_", "max_", "mean", "field_getter"]

#: A reducer: the window's values (in arrival order) -> the aggregate value.
Reducer = Callable[[list[Any]], Any]
#: What to reduce from each value.
Field = Hashable | Callable[[Any], Any] | None


def field_getter(field: Field) -> Callable[[Any], Any]:
    """A function value -> the selected field (see the module doc)."""
    if field is None:
        return lambda v: v
    if callable(field):
        return field
    return lambda v: v[field]


def _over(field: Field) -> Callable[[Sequence[Any]], list[Any]]:
    get = field_getter(field)
    if field is None:
        return list
    return lambda values: [get(v) for v in values]


def collect() -> Reducer:
    """The values as a list (the default)."""
    return list


def count() -> Reducer:
    """The number of values."""
    return len


def sum_(field: Field = None) -> Reducer:
    """The sum of ``field`` over the window."""
    pick = _over(field)
    return lambda values: builtins.sum(pick(values))


def min_(field: Field = None) -> Reducer:
    """The smallest ``field`` in the window."""
    pick = _over(field)
    return lambda values: builtins.min(pick(values))


def max_(field: Field = None) -> Reducer:
    """The largest ``field`` in the window."""
    pick = _over(field)
    return lambda values: builtins.max(pick(values))


def mean(field: Field = None) -> Reducer:
    """The arithmetic mean of ``field`` (a float)."""
    pick = _over(field)

    def reduce(values: list[Any]) -> float:
        xs = pick(values)
        total: float = builtins.sum(xs)
        return total / len(xs)

    return reduce


# Friendly aliases (``reducers.sum("x")``); the underscore names avoid shadowing builtins inside rxunix.
sum = sum_  # noqa: A001
min = min_  # noqa: A001
max = max_  # noqa: A001
__all__ += ["sum", "min", "max"]
