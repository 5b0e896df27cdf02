"""Option helpers shared by the processors."""

from __future__ import annotations

from typing import Any

from ..config import Option


def _one_byte(value: Any) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if len(raw) != 1:
        raise ValueError(f"must be exactly one byte, got {value!r}")
    return raw


#: ``separator``: one byte given as str or bytes, default ``b"\n"``.
SEPARATOR = Option((str, bytes), b"\n", convert=_one_byte)
#: ``max_length``: non-negative int, 0 means unlimited.
MAX_LENGTH = Option(int, 8192, check=lambda v: v >= 0, expect="an int >= 0 (0 = unlimited)")


def positive_int(default: int) -> Option:
    """An int option that must be > 0."""
    return Option(int, default, check=lambda v: v > 0, expect="an int > 0")


def max_length(default: int) -> Option:
    """A ``max_length`` option (bytes, 0 = unlimited) with its own default."""
    return Option(int, default, check=lambda v: v >= 0, expect="an int >= 0 (0 = unlimited)")


#: Default ``max_length`` of the binary-safe framings (length prefixes, decompressed size): 16 MiB.
BIG_MAX_LENGTH = 16 * 1024 * 1024
