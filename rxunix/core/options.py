"""The call shapes every connector factory accepts, turned into validated options (pure).

A connector takes Tremor's connector dict whole (``factory({"codec": ..., "config":
{...}})`` or ``factory(**tremor)``), or ``config={...}`` plus keyword options, or
keyword shortcuts for the keys of ``config`` (``path=...``)::

    >>> from rxunix.config import Option, REQUIRED
    >>> top = {"config": Option(dict, None), "codec": Option(str, "json")}
    >>> cfg = {"path": Option(str, REQUIRED), "buf_size": Option(int, 10)}
    >>> parse_options("x", {"codec": "json", "config": {"path": "/s"}}, {}, top, cfg)
    ({'codec': 'json'}, {'path': '/s', 'buf_size': 10})
    >>> parse_options("x", None, {"path": "/s", "buf_size": 3}, top, cfg)
    ({'codec': 'json'}, {'path': '/s', 'buf_size': 3})

Unknown keys, keys given twice and wrong types raise
:class:`~rxunix.core.errors.ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import Option, validate
from .errors import ConfigError

__all__ = ["parse_options"]


def _merge_first(
    owner: str, first: Mapping[str, Any], options: dict[str, Any], top: Mapping[str, Option],
    config_schema: Mapping[str, Option],
) -> None:
    if not isinstance(first, Mapping):
        hint = f" (a path? pass path={first!r})" if isinstance(first, str) or hasattr(first, "__fspath__") else ""
        raise ConfigError(f"{owner}: config must be a dict, got {type(first).__name__}{hint}")
    if any(k in top and k not in config_schema for k in first):  # Tremor's whole connector dict
        unknown = [k for k in first if k not in top]
        if unknown:
            allowed = ", ".join(k for k in top if k not in ("runtime", "rng"))
            raise ConfigError(f"{owner}: unknown option {unknown[0]!r}; allowed: {allowed}")
        for k, v in first.items():
            if k in options:
                raise ConfigError(f"{owner}: {k} given both in the connector dict and as argument")
            options[k] = v
        if "config" not in first and not any(k in options for k in config_schema):
            raise ConfigError(f"{owner}: option 'config' is required (it holds {', '.join(map(repr, config_schema))})")
    else:
        if "config" in options:
            raise ConfigError(f"{owner}: option 'config' given twice")
        options["config"] = first


def parse_options(
    owner: str,
    first: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    top: Mapping[str, Option],
    config_schema: Mapping[str, Option],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(connector options without "config", validated config)`` from every accepted shape.

    ``top`` is the schema of the connector's own keys (it must hold ``config``);
    ``config_schema`` the schema of ``config``'s keys.
    """
    merged = dict(options)
    if first is not None:
        _merge_first(owner, first, merged, top, config_schema)
    schema = dict(top)
    schema.update({k: Option((object, bool), None) for k in config_schema if k not in top})  # keyword shortcuts
    opts = validate(owner, merged, schema)
    cfg = dict(opts.pop("config") or {})
    for key in config_schema:
        if key in top:
            continue
        value = opts.pop(key)
        if value is None:
            continue
        if key in cfg and cfg[key] != value:
            raise ConfigError(f"{owner}: option {key!r} given both as keyword and in config, differently")
        cfg[key] = value
    return opts, validate(f"{owner} config", cfg, config_schema)
