"""rxunix.operators.codec: decode/encode as Rx operators over tagged byte chunks."""

from __future__ import annotations

import pytest
import reactivex as rx
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.subject import Subject
from rxunix.errors import ConfigError
from rxunix.event import Event
from rxunix.operators.codec import Chunk, decode, encode, end_of_stream


def run(source: rx.Observable, op) -> tuple[list, list, bool]:
    items: list = []
    errors: list = []
    done = []
    source.pipe(op).subscribe(items.append, errors.append, lambda: done.append(True))
    return items, errors, bool(done)


def test_streams_are_kept_apart_and_flushed_at_their_end():
    src = rx.of(
        Chunk("a", b'{"x":', {"who": "a"}),
        Chunk("b", b'{"y":', {"who": "b"}),
        Chunk("a", b"1}\n{\"x\":2}"),
        Chunk("b", b"3}\n"),
        end_of_stream("a"),
        Chunk("b", b'{"y":4}'),
    )
    items, errors, done = run(src, decode(["separate"], "json"))
    assert errors == [] and done
    assert [(e.value, e.meta["who"]) for e in items] == [
        ({"x": 1}, "a"),
        ({"y": 3}, "b"),
        ({"x": 2}, "a"),  # flushed by end_of_stream("a")
        ({"y": 4}, "b"),  # flushed by completion
    ]


def test_decode_failures_are_error_events_not_on_error():
    sink: list = []
    items, errors, done = run(rx.of(b"1\nnope\n\n2\n"), decode(["separate"], "json", errors=sink.append))
    assert [e.value for e in items] == [1, 2]
    assert errors == [] and done
    assert [e.value["kind"] for e in sink] == ["CodecError", "CodecError"]
    assert all(e.is_error and e.value["action"] == "decode" for e in sink)


def test_decode_inline_errors_keep_position():
    items, _, _ = run(rx.of(b"1\nx\n2\n"), decode(["separate"], "json"))
    assert [("err" if e.is_error else e.value) for e in items] == [1, "err", 2]


def test_bad_config_fails_at_construction():
    with pytest.raises(ConfigError, match="allowed"):
        decode(["seperate"], "json")
    with pytest.raises(ConfigError, match="max_length"):
        decode([{"name": "separate", "config": {"max_length": -1}}])
    with pytest.raises(ConfigError, match="codec"):
        encode("jsn")
    with pytest.raises(TypeError, match="errors"):
        decode(["separate"], errors=[])  # type: ignore[arg-type]


def test_upstream_error_flushes_then_propagates():
    subj: Subject = Subject()
    items: list = []
    errs: list = []
    subj.pipe(decode(["separate"], "json")).subscribe(items.append, errs.append)
    subj.on_next(b"1\n2")
    subj.on_error(RuntimeError("boom"))
    assert [e.value for e in items] == [1, 2]
    assert len(errs) == 1


def test_encode_per_stream_postprocessor_state():
    evs = [Event({"n": i}, {"s": i % 2}) for i in range(4)]
    items, _, done = run(
        rx.from_iterable(evs),
        encode("json", [{"name": "collect", "config": {"max_bytes": 1000}}], stream=lambda e: e.meta["s"]),
    )
    assert done
    # collect holds everything until completion, then flushes each stream separately
    by_stream = {c.stream: c.data for c in items}
    assert by_stream == {0: b'{"n":0}{"n":2}', 1: b'{"n":1}{"n":3}'}


def test_encode_errors_are_events():
    sink: list = []
    source = rx.of({"a": 1}, {"b": object()}, {"c": 3})
    items, errs, done = run(source, encode("json", ["separate"], errors=sink.append))
    assert b"".join(c.data for c in items) == b'{"a":1}\n{"c":3}\n'
    assert errs == [] and done
    assert len(sink) == 1 and sink[0].value["action"] == "encode"


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(values, max_size=20), st.data())
def test_encode_then_decode_round_trips_in_random_chunks(vals, data):
    encoded = b"".join(c.data for c in run(rx.from_iterable(vals), encode("json", ["separate"]))[0])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(encoded)), max_size=10)))
    pieces = [encoded[i:j] for i, j in zip([0, *cuts], [*cuts, len(encoded)], strict=True)]
    items, _, _ = run(rx.from_iterable(pieces), decode(["separate"], "json"))
    assert [e.value for e in items] == vals
