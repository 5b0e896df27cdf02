"""``collect`` postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/postprocessor/collect.rs``, ``.../postprocessor.rs``).

Tremor's ``finish(data)`` takes the last event along; here that event is
processed first, then ``finish()`` is called.
"""

from __future__ import annotations

from rxunix.processors.chunking import CollectPost
from rxunix.registry import create_postprocessor


def test_name() -> None:
    # collect.rs: name; postprocessor.rs: test_lookup_collect (no config needed)
    assert create_postprocessor("collect").name == "collect"


def test_collect_all() -> None:
    # collect.rs: collect_all
    c = create_postprocessor({"name": "collect", "config": {}})
    assert c.process(b"") == []
    assert c.process(b"snot") == []
    assert c.process(b"badger") == []
    assert c.process(b"wobble") + c.finish() == [b"snotbadgerwobble"]


def test_no_final() -> None:
    # collect.rs: no_final
    c = CollectPost()
    assert c.process(b"") == [] and c.process(b"snot") == [] and c.process(b"badger") == []
    assert c.finish() == [b"snotbadger"]


def test_with_max() -> None:
    # collect.rs: with_max (an event that does not fit flushes what is held and is held itself)
    c = CollectPost(max_bytes=5)
    assert c.process(b"") == []
    assert c.process(b"snot") == []
    assert c.process(b"badger") == [b"snot"]
    assert c.process(b"wobble") + c.finish() == [b"badger", b"wobble"]


def test_never_an_empty_chunk() -> None:
    # Tremor emits an empty chunk when the first event already overflows, and at the end of an
    # empty stream; rxunix never does (Beyond Tremor)
    c = CollectPost(max_bytes=2)
    assert c.process(b"big") == []
    assert c.finish() == [b"big"]
    assert c.finish() == []
