"""The Rx layer: operators over event streams, built on reactivex and the pure core.

* framing: :func:`decode` (bytes/chunks -> events) and :func:`encode`
  (events -> chunks), with Tremor's processor and codec names;
* windows (:mod:`rxunix.rx.windows`): :func:`tumbling_count`, :func:`tumbling_time`,
  :func:`tumbling_count_or_time`, :func:`sliding_count`, :func:`sliding_time`,
  :func:`session_window`, with ready :mod:`reducers`;
* values, a read kept whole: :func:`map_values`, :func:`filter_values`;
* aggregation with plain Rx: :func:`aggregated`, :func:`connection_key`;
* admission by peer credentials: :func:`~rxunix.rx.admission.allow_uids`.

Modules here import ``reactivex`` and the pure core only (never gevent or
sockets); the default scheduler of time-based operators is supplied by the
runtime through :func:`rxunix.rx.scheduling.set_default_scheduler`.
"""

from . import reducers
from .codec import Chunk, decode, encode, end_of_stream
from .values import filter_values, map_values
from .windows import (
    TumblingWindow,
    aggregated,
    connection_key,
    session_window,
    sliding_count,
    sliding_time,
    tumbling_count,
    tumbling_count_or_time,
    tumbling_time,
)

__all__ = [
    "Chunk",
    "TumblingWindow",
    "aggregated",
    "connection_key",
    "decode",
    "encode",
    "end_of_stream",
    "filter_values",
    "map_values",
    "reducers",
    "session_window",
    "sliding_count",
    "sliding_time",
    "tumbling_count",
    "tumbling_count_or_time",
    "tumbling_time",
]
