"""Rx operators on event streams: windows and aggregation (codecs: ``rxunix.operators.codec``)."""

from . import reducers
from .windows import (
    TumblingWindow,
    aggregated,
    connection_key,
    tumbling_count,
    tumbling_count_or_time,
    tumbling_time,
)

__all__ = [
    "TumblingWindow",
    "aggregated",
    "connection_key",
    "reducers",
    "tumbling_count",
    "tumbling_count_or_time",
    "tumbling_time",
]
