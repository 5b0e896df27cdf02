"""``ingest-ns`` pre- and postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/ingest_ns.rs``, ``.../postprocessor/ingest_ns.rs``, ``.../preprocessor.rs``).

rxunix events carry no ingest time, so the postprocessor writes the time it
sends (Tremor writes the event's ingest time) and the preprocessor keeps the
extracted time in ``last_ingest_ns`` (Tremor sets the event's ingest time).
"""

from __future__ import annotations

import time

from rxunix.processors.ingest_ns import IngestNsPost, IngestNsPre
from rxunix.registry import create_postprocessor, create_preprocessor

from ._util import show


def test_names() -> None:
    # ingest_ns.rs (pre and post): name (Tremor names them ingest-ts / attach-ingress-ts internally)
    assert create_preprocessor("ingest-ns").name == "ingest-ns"
    assert create_postprocessor("ingest-ns").name == "ingest-ns"


def test_extract_ingest_ts() -> None:
    # preprocessor/ingest_ns.rs: test_extract_ingest_ts
    pre = IngestNsPre()
    assert pre.feed(bytes([0, 0, 0, 0, 0, 0, 0, 42]) + b"89") == [b"89"]
    assert pre.last_ingest_ns == 42


def test_extract_ingest_ts_too_small() -> None:
    # preprocessor/ingest_ns.rs: test_extract_ingest_ts_too_small (an error in line here)
    assert show(IngestNsPre().feed(bytes(7))) == ["FramingError"]


def test_ingest_ts() -> None:
    # postprocessor/ingest_ns.rs and preprocessor.rs: ingest_ts
    post, pre = IngestNsPost(), IngestNsPre()
    before = time.time_ns()
    encoded = post.process(b"\x01\x02\x03")[0]
    after = time.time_ns()
    assert pre.feed(encoded) == [b"\x01\x02\x03"]
    assert pre.finish() == []
    assert pre.last_ingest_ns is not None and before <= pre.last_ingest_ns <= after
    assert show(pre.feed(b"\x00")) == ["FramingError"]  # data too short
