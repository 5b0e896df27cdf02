"""Backpressure for a flow's source that feeds a client (``client_ready``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["client_ready"]


def client_ready(client: Any, backlog: int = 1000) -> Callable[[], bool]:
    """Backpressure for a source feeding ``client``: true while it can take another event.

    While connected, the client may hold up to ``backlog`` unsent events; while
    disconnected, no more than its ``queue_size`` (so nothing is refused)::

        src = ctx.read_file("big.jsonl", ready=client_ready(client))
    """

    def ready() -> bool:
        limit = backlog if client.connected else min(backlog, client.queue_size)
        return bool(client.held < limit)

    return ready
