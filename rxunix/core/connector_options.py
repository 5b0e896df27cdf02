"""The options of the stream connectors, parsed one way for both (pure).

Both connectors take Tremor's connector dict whole, ``config={...}`` plus
keyword options, or keyword shortcuts for the keys of ``config``; every shape
goes through :func:`rxunix.core.options.parse_options` with the schemas below,
so the same mistake gives the same :class:`~rxunix.core.errors.ConfigError`::

    >>> opts, cfg = parse_client_options({"codec": "json", "config": {"path": "/tmp/s"}}, {})
    >>> opts["codec"], cfg
    ('json', {'path': '/tmp/s', 'buf_size': 8192, 'queue_size': 1000, 'send_buffer_bytes': None})
    >>> parse_server_options(None, {"path": "/tmp/s", "backlog": 0})
    Traceback (most recent call last):
    ...
    rxunix.ConfigError: unix_socket_server config: option 'backlog' must be an int > 0 and below 2**31, got 0
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from typing import Any

from .address import MAX_PATH_BYTES, check_length
from .config import REQUIRED, Option
from .errors import ConfigError, RxUnixError
from .options import parse_options
from .origin import CLIENT, SERVER
from .permissions import check_permissions

__all__ = [
    "CLIENT_CONFIG", "CLIENT_OPTIONS", "DEFAULT_MAX_PENDING", "SERVER_CONFIG", "SERVER_OPTIONS",
    "parse_client_options", "parse_server_options",
]

#: Default bound of unsent reply bytes per server connection.
DEFAULT_MAX_PENDING = 16 * 1024 * 1024


def _fspath(value: Any) -> str:
    path = os.fspath(value)
    if not isinstance(path, str):
        raise ValueError(f"must be a str path, got {type(path).__name__}")
    return path


def _usable(path: str) -> bool:
    try:
        check_length(path)
    except RxUnixError:
        return False
    return not path.endswith("/")  # a directory's path, not a file's


def _permissions(value: Any) -> Any:
    check_permissions(value)
    return value


def _positive(default: int | None) -> Option:
    return Option(int, default, check=lambda v: v > 0, expect="an int > 0")


#: The largest ``buf_size`` (bytes): each read asks for that much memory at once.
MAX_BUF_SIZE = 64 * 1024 * 1024


def buf_size_option(default: int) -> Option:
    """``buf_size``: bytes per read (a datagram connector: the largest datagram), 1 to :data:`MAX_BUF_SIZE`."""
    return Option(int, default, check=lambda v: 0 < v <= MAX_BUF_SIZE,
                  expect=f"an int > 0 and at most {MAX_BUF_SIZE} (64 MiB)")


#: ``send_buffer_bytes``: the kernel's send buffer of each connection (None: its default)
SEND_BUFFER = Option(int, None, check=lambda v: 0 < v < 2**30, expect="an int > 0 and below 2**30 (bytes)")

PATH = Option((str, os.PathLike), REQUIRED, convert=_fspath, check=_usable,
              expect=f"a non-empty path shorter than {MAX_PATH_BYTES + 1} bytes, not ending in '/', "
                     "or an @abstract name")

def _uids(value: Any) -> frozenset[int]:
    return frozenset(value)


#: ``allow_uids``: the uids a server accepts connections from (None: any)
ALLOW_UIDS = Option((list, tuple, set, frozenset), None, convert=_uids,
                    check=lambda v: bool(v) and all(isinstance(u, int) and not isinstance(u, bool)
                                                    and 0 <= u < 2**32 - 1 for u in v),
                    expect="a non-empty list of uids (ints from 0 to 4294967294)")

#: Keys of the server's ``config``.
SERVER_CONFIG: Mapping[str, Option] = {
    "path": PATH,
    "permissions": Option((str, int), None, convert=_permissions),
    "buf_size": buf_size_option(8192),
    "max_pending_bytes": _positive(DEFAULT_MAX_PENDING),
    "pause_reading_bytes": Option(int, 0, check=lambda v: v >= 0, expect="an int >= 0 (0: never pause)"),
    "backlog": Option(int, 1024, check=lambda v: 0 < v < 2**31, expect="an int > 0 and below 2**31"),
    "systemd": Option((bool, str), False),
    "max_connections": _positive(None),
    "send_buffer_bytes": SEND_BUFFER,
    "allow_uids": ALLOW_UIDS,
}

#: Keys of the client's ``config``.
CLIENT_CONFIG: Mapping[str, Option] = {
    "path": PATH,
    "buf_size": buf_size_option(8192),
    "queue_size": Option(int, 1000, check=lambda v: v >= 0, expect="an int >= 0"),
    "send_buffer_bytes": SEND_BUFFER,
}

_SPEC = (str, Mapping, Callable)
_COMMON: Mapping[str, Option] = {
    "codec": Option(_SPEC, "json"),  # type: ignore[arg-type]
    "preprocessors": Option((list, tuple), None),
    "postprocessors": Option((list, tuple), None),
    "config": Option(Mapping, None),
    "runtime": Option(object, None),
    "metrics_interval_s": Option((int, float), None),
}

#: The server's own keys (Tremor's connector dict keys, plus ``runtime`` and ``metrics_interval_s``).
SERVER_OPTIONS: Mapping[str, Option] = dict(_COMMON)

#: The client's own keys: the server's plus ``reconnect`` and ``rng`` (seeds the reconnect jitter).
CLIENT_OPTIONS: Mapping[str, Option] = {
    **_COMMON, "reconnect": Option(object, None), "rng": Option(random.Random, None),
}


def parse_server_options(first: Mapping[str, Any] | None, options: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                                               dict[str, Any]]:
    """``(options, validated config)`` of a ``unix_socket_server`` call. A read pause bound
    at or above ``max_pending_bytes`` could never pause before the connection is evicted,
    so it is refused::

        >>> parse_server_options(None, {"path": "/s", "max_pending_bytes": 1000, "pause_reading_bytes": 1000})
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: unix_socket_server config: 'pause_reading_bytes' (1000) must be below \
'max_pending_bytes' (1000), or 0 to never pause
    """
    opts, cfg = parse_options(SERVER, first, options, SERVER_OPTIONS, SERVER_CONFIG)
    if cfg["pause_reading_bytes"] >= cfg["max_pending_bytes"]:
        raise ConfigError(f"{SERVER} config: 'pause_reading_bytes' ({cfg['pause_reading_bytes']}) must be below "
                          f"'max_pending_bytes' ({cfg['max_pending_bytes']}), or 0 to never pause")
    return opts, cfg


def parse_client_options(first: Mapping[str, Any] | None, options: Mapping[str, Any]) -> tuple[dict[str, Any],
                                                                                               dict[str, Any]]:
    """``(options, validated config)`` of a ``unix_socket_client`` call."""
    return parse_options(CLIENT, first, options, CLIENT_OPTIONS, CLIENT_CONFIG)
