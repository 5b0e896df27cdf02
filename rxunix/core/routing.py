"""Reply routing: the pure decision of which live connections get an event.

SPEC 3 rules: a reply goes to the connection(s) named by its
``meta["unix_socket_server"]`` record(s) (``peer`` an int or a list of ints);
records of another server (another ``path``) are not ours; a peer that is not
live is reported, never waited for::

    >>> meta = {"unix_socket_server": [{"path": "/s", "peer": 1}, {"path": "/s", "peer": 9},
    ...                                 {"path": "/other", "peer": 2}]}
    >>> route(meta, "/s", live={1, 2})
    Route(targets=[1], missing=[9])
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any, NamedTuple

from .origin import SERVER, origin_records

__all__ = ["Route", "route"]


class Route(NamedTuple):
    """``targets``: live peers to write to (each once); ``missing``: named but not live."""

    targets: list[int]
    missing: list[Any]

    @property
    def unroutable(self) -> bool:
        """Nothing to deliver to at all."""
        return not self.targets


def route(meta: Mapping[str, Any], path: str, live: Container[int], key: str = SERVER) -> Route:
    """Decide where an event goes; see the module doc."""
    targets: list[int] = []
    missing: list[Any] = []
    seen: set[Any] = set()
    for rec in origin_records(meta, key):
        rpath = rec.get("path")
        if rpath is not None and rpath != path:
            continue
        peer = rec.get("peer")
        peers = peer if isinstance(peer, (list, tuple)) else [peer]
        for p in peers:
            if isinstance(p, bool) or not isinstance(p, int):
                if p is not None:
                    missing.append(p)
                continue
            if p in seen:
                continue
            seen.add(p)
            (targets if p in live else missing).append(p)
    return Route(targets, missing)
