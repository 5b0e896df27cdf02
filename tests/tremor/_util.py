"""Small helpers shared by the ported Tremor tests."""

from __future__ import annotations

import calendar
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from rxunix.errors import FramingError


def ns(y: int, mo: int, d: int, hh: int = 0, mi: int = 0, ss: int = 0, frac_ns: int = 0) -> int:
    """Nanoseconds since the epoch of a UTC date."""
    return calendar.timegm((y, mo, d, hh, mi, ss)) * 1_000_000_000 + frac_ns


def show(frames: list[Any]) -> list[Any]:
    """Frames as they are, errors as their class name (for compact assertions)."""
    return [type(f).__name__ if isinstance(f, FramingError) else f for f in frames]


def _upstream_dir() -> Path:
    """``RXUNIX_UPSTREAM_DATA``, else ``shared/data/upstream`` beside the checkout."""
    if "RXUNIX_UPSTREAM_DATA" in os.environ:
        return Path(os.environ["RXUNIX_UPSTREAM_DATA"])
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "upstream"
    return beside if beside.is_dir() else Path("/work/shared/data/upstream")


#: Where the upstream data modules live (override with RXUNIX_UPSTREAM_DATA).
UPSTREAM = _upstream_dir()


def upstream(module: str) -> ModuleType:
    """One of the upstream data modules in ``UPSTREAM`` (Python literals naming their source)."""
    spec = importlib.util.spec_from_file_location(module, UPSTREAM / f"{module}.py")
    assert spec is not None and spec.loader is not None, f"no upstream data module {module!r} in {UPSTREAM}"
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def decode_encode_decode(codec: Any, data: bytes) -> tuple[Any, Any] | None:
    """``None`` if ``data`` does not decode (a CodecError); else (value, value decoded from its encoding)."""
    from rxunix.errors import CodecError

    try:
        value = codec.decode(data)
    except CodecError:
        return None
    return value, codec.decode(codec.encode(value))
