"""Small, strict configuration validation shared by processors, codecs and connectors.

Every option dict is checked against a schema of :class:`Option` objects: unknown
keys, wrong types and out-of-range values raise :class:`~rxunix.core.errors.ConfigError`
naming the key and listing what is allowed::

    >>> schema = {"max_length": Option(int, 8192, check=lambda v: v >= 0, expect=">= 0")}
    >>> validate("separate", {"max_length": 10}, schema)
    {'max_length': 10}
    >>> validate("separate", {"max_len": 10}, schema)
    Traceback (most recent call last):
    ...
    rxunix.ConfigError: separate: unknown option 'max_len'; allowed: max_length
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = ["Option", "REQUIRED", "validate", "choice"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Option:
    """One configuration key: accepted type(s), default, and an optional check."""

    types: type | tuple[type, ...]
    default: Any = None
    check: Callable[[Any], bool] | None = None
    expect: str = ""
    convert: Callable[[Any], Any] | None = None


def _type_names(types: type | tuple[type, ...]) -> str:
    seq = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in seq)


def validate(owner: str, config: Mapping[str, Any] | None, schema: Mapping[str, Option]) -> dict[str, Any]:
    """Check ``config`` against ``schema`` and return it with defaults filled in."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"{owner}: config must be a dict, got {type(config).__name__}")
    allowed = ", ".join(schema) or "(no options)"
    for key in config:
        if key not in schema:
            raise ConfigError(f"{owner}: unknown option {key!r}; allowed: {allowed}")
    out: dict[str, Any] = {}
    for key, opt in schema.items():
        if key not in config or (config[key] is None and opt.default is not REQUIRED):
            if opt.default is REQUIRED:
                raise ConfigError(f"{owner}: option {key!r} is required")
            out[key] = opt.default
            continue
        value = config[key]
        # bool is an int subclass: never accept it where an int is meant
        if isinstance(value, bool) and bool not in (opt.types if isinstance(opt.types, tuple) else (opt.types,)):
            raise ConfigError(
                f"{owner}: option {key!r} must be {_type_names(opt.types)}, got bool {value!r}"
            )
        if not isinstance(value, opt.types):
            raise ConfigError(
                f"{owner}: option {key!r} must be {_type_names(opt.types)}, "
                f"got {type(value).__name__} {value!r}"
            )
        if opt.convert is not None:
            try:
                value = opt.convert(value)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{owner}: option {key!r}: {exc}") from None
        if opt.check is not None and not opt.check(value):
            raise ConfigError(f"{owner}: option {key!r} must be {opt.expect}, got {value!r}")
        out[key] = value
    return out


def choice(*allowed: str) -> Option:
    """An option whose value must be one of ``allowed`` (first is the default)."""
    return Option(str, allowed[0], check=lambda v: v in allowed, expect="one of " + ", ".join(allowed))
