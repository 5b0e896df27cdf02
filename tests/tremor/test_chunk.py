"""``chunk`` postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/postprocessor/chunk.rs``, ``.../postprocessor.rs``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.errors import ConfigError, FrameTooLarge
from rxunix.processors.chunking import ChunkPost
from rxunix.registry import create_postprocessor


def test_name_and_lookup() -> None:
    # chunk.rs: name; postprocessor.rs: test_lookup_chunk
    assert create_postprocessor({"name": "chunk", "config": {"max_bytes": 42}}).name == "chunk"


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "chunk", "config": {"max_bytes": 0}},
        {"name": "chunk", "config": []},  # not a map
        {"name": "chunk", "config": "snot"},
        {"name": "chunk", "config": {"max_bytes": 100, "another_field": [True]}},
        {"name": "chunk"},  # no config: max_bytes is required
        "chunk",
    ],
)
def test_from_config_errors(spec: object) -> None:
    # chunk.rs: from_config
    with pytest.raises(ConfigError):
        create_postprocessor(spec)  # type: ignore[arg-type]


def test_from_config_ok() -> None:
    # chunk.rs: from_config
    c = create_postprocessor({"name": "chunk", "config": {"max_bytes": 1432}})
    assert c.process(b"x" * 1432) == [b"x" * 1432]


def test_emit_on_exact_max_bytes() -> None:
    # chunk.rs: emit_on_exact_max_bytes
    assert ChunkPost(max_bytes=100).process(bytes(100)) == [bytes(100)]


def test_discard_too_big() -> None:
    # chunk.rs: discard_too_big. Tremor returns nothing and logs; rxunix sends nothing too and
    # raises FrameTooLarge so the event fails visibly (Beyond Tremor); nothing is left held.
    pp = ChunkPost(max_bytes=100)
    with pytest.raises(FrameTooLarge):
        pp.process(bytes(101))
    assert pp.finish() == []


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.binary(max_size=150), max_size=60))
def test_chunk(events: list[bytes]) -> None:
    # chunk.rs: test_chunk (property): no empty chunk, none above max_bytes, emitted exactly when
    # the next event would not fit or the chunk is full; and (beyond Tremor's test) the bytes of
    # every event that fits come out, whole and in order
    max_bytes, acc = 100, 0
    pp = ChunkPost(max_bytes=max_bytes)
    sent: list[bytes] = []
    for ev in events:
        if len(ev) > max_bytes:
            with pytest.raises(FrameTooLarge):
                pp.process(ev)
            continue
        res = pp.process(ev)
        assert all(0 < len(c) <= max_bytes for c in res)
        if acc + len(ev) > max_bytes:
            assert len(res) == 1
            acc = len(ev)
        elif acc + len(ev) == max_bytes:
            assert len(res) == 1 and len(res[0]) == max_bytes
            acc = 0
        else:
            assert res == []
            acc += len(ev)
        sent += res
    rest = pp.finish()
    assert all(0 < len(c) <= max_bytes for c in rest)
    assert bool(rest) == (acc > 0)
    assert b"".join(sent + rest) == b"".join(e for e in events if len(e) <= max_bytes)
