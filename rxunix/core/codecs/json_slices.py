"""Lists that share their elements, encoded once each: the ``json`` codec's batch
encoding of window aggregates.

A sliding count window's aggregates are slices of one sequence (each window the
previous one moved on by a step); windows of several keys interleaved share
their elements in any order. Encoding each element once and writing each list
as ``[`` + its elements' encodings joined by ``,`` + ``]`` gives the bytes the
minified encoder writes for the lists one by one. Elements are matched by
identity, never by equality (``1 == True``, yet they encode differently)::

    >>> a, b, c = {"a": 1}, [2], 3
    >>> shared_runs([[a, b, c], [b, c], [c]])
    ([{'a': 1}, [2], 3], [(0, 3), (1, 2), (2, 1)])
"""

from __future__ import annotations

from itertools import accumulate, chain
from operator import is_
from typing import Any

__all__ = ["overlapping", "shared_runs", "cut_points", "piece_offsets", "join_spans", "shared_elements"]


def overlapping(values: list[Any]) -> bool:
    """A cheap look: ``values`` are at least two lists, the first two sharing an element."""
    if len(values) < 2 or values[0].__class__ is not list:  # (the common case: no generator)
        return False
    if not all(v.__class__ is list for v in values) or not values[0] or not values[1]:
        return False
    return id(values[1][0]) in set(map(id, values[0]))


def shared_runs(values: list[list[Any]]) -> tuple[list[Any], list[tuple[int, int]]] | None:
    """Lists that are slices of one sequence (the aggregates of sliding count windows:
    each window is the previous one moved on by a step): that sequence and, per list,
    ``(start, length)`` in it; None when it would not halve the elements to encode.

    Each list is matched by identity (its first element found by ``id``, the rest
    checked with ``is``), never by equality (``1 == True``, yet they encode
    differently): one whose first element is at or after the previous list's start
    and whose elements continue from there (extending the sequence at its end) is a
    slice; any other starts a new run at the end of the sequence::

        >>> a, b, c = {"a": 1}, [2], 3
        >>> shared_runs([[a, b, c], [b, c], [c]])
        ([{'a': 1}, [2], 3], [(0, 3), (1, 2), (2, 1)])
    """
    first = values[0]
    elems, ids = list(first), list(map(id, first))
    spans, prev = [(0, len(first))], 0
    for v in values[1:]:
        start, n = len(ids), len(v)
        if n:
            try:
                start = ids.index(id(v[0]), prev)
            except ValueError:
                pass
            k = min(n, len(ids) - start)
            if not all(map(is_, v, elems[start:start + k])):  # identity of the k shared elements
                start, k = len(ids), 0
            if k < n:
                ids.extend(map(id, v[k:]))
                elems.extend(v[k:])
            prev = start
        spans.append((start, n))
    return (elems, spans) if len(elems) * 2 <= sum(map(len, values)) else None


def cut_points(size: int, spans: list[tuple[int, int]]) -> list[int]:
    """Where a sequence of ``size`` elements is cut so that every span ``(start, length)``
    is a run of whole pieces."""
    return sorted({0, size, *chain.from_iterable((s, s + n) for s, n in spans)})


def piece_offsets(cuts: list[int], pieces: list[Any]) -> dict[int, int]:
    """Where each cut's piece starts in the pieces joined by ``,`` (for the end: the joined
    length + 1)."""
    return dict(zip(cuts, accumulate(map((1).__add__, map(len, pieces)), initial=0), strict=True))


def join_spans(text: str | bytes, off: dict[int, int], spans: list[tuple[int, int]], sep: bytes) -> bytes:
    """``[`` + ``text[slice]`` + ``]`` + ``sep`` per span ``(start, length)``, where ``text``
    is the sequence's element encodings joined by ``,`` and ``off[i]`` where element ``i``
    starts in it (``len(text) + 1`` for the end): a span is one slice, its commas included.
    ``bytes`` are sliced as they are (offsets in bytes); ``str`` offsets are in characters.
    An empty span is ``[]`` wherever it starts."""
    if isinstance(text, bytes) or text.isascii():  # byte offsets: slice the bytes, no copy until the join
        src = memoryview(text if isinstance(text, bytes) else text.encode("ascii"))
        close = b"]" + sep
        parts: list[Any] = []
        for start, n in spans:
            parts += (b"[", src[off[start]:off[start + n] - 1] if n else b"", close)
        return b"".join(parts)
    sclose = "]" + sep.decode("ascii")
    sparts: list[str] = []
    for start, n in spans:
        sparts += ("[", text[off[start]:off[start + n] - 1] if n else "", sclose)
    return "".join(sparts).encode("utf-8")


def shared_elements(values: list[Any]) -> dict[int, Any] | None:
    """The distinct elements of ``values`` by identity when the lists share most of their
    elements in any order (e.g. windows of several keys interleaved); else None. The
    simplejson backend then encodes each distinct element once and writes every list as
    ``[`` + its elements' encodings joined by ``,`` + ``]``, which is what the minified
    encoder writes for a list."""
    flat = list(chain.from_iterable(values))
    distinct = dict(zip(map(id, flat), flat, strict=True))
    return distinct if len(distinct) * 2 <= len(flat) else None
