"""The batch paths of codecs and framing equal their one-by-one paths, value for value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rxunix.core.framing import DecoderFactory, EncoderFactory

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
    max_leaves=8,
)
CODECS = [{"name": "json", "config": {"backend": b}} for b in ("simplejson", "orjson")] + ["string", "msgpack"]
SEPARATORS = ["separate", {"name": "separate", "config": {"separator": "|"}},
              {"name": "separate", "config": {"separator": "e"}}]


def _encoded_one_by_one(enc: Any, values: list[Any]) -> tuple[bytes, list[tuple[int, type]]]:
    parts, fails = [], []
    for i, v in enumerate(values):
        try:
            parts.append(enc.encode(v))
        except Exception as exc:
            fails.append((i, type(exc)))
    return b"".join(parts), fails


@pytest.mark.parametrize("codec", CODECS, ids=str)
@settings(max_examples=80, deadline=None)
@given(post=st.sampled_from(SEPARATORS), values=st.lists(JSON, max_size=6))
def test_encode_batch_equals_encoding_each_value(codec: Any, post: Any, values: list[Any]) -> None:
    enc = EncoderFactory(codec, [post])()
    data, failed = enc.encode_batch(values)
    assert (data, [(i, type(e)) for i, e in failed]) == _encoded_one_by_one(enc, values)


@pytest.mark.parametrize("codec", CODECS, ids=str)
@settings(max_examples=80, deadline=None)
@given(post=st.sampled_from(SEPARATORS), mode=st.sampled_from(["unsorted", "sorted"]),
       pool=st.lists(JSON, min_size=1, max_size=8), data=st.data())
def test_lists_sharing_their_elements_encode_as_each_list_alone(codec: Any, post: Any, mode: str,
                                                                 pool: list[Any], data: st.DataObject) -> None:
    """The aggregates of sliding windows share their elements (one object in several
    lists): a batch of them is written exactly as each list encoded alone."""
    if isinstance(codec, dict):
        codec = {"name": "json", "config": {**codec["config"], "mode": mode}}
    picks = st.lists(st.integers(0, len(pool) - 1), max_size=6)
    values = [[pool[i] for i in data.draw(picks)] for _ in range(data.draw(st.integers(2, 6)))]
    enc = EncoderFactory(codec, [post])()
    data_, failed = enc.encode_batch(values)
    assert (data_, [(i, type(e)) for i, e in failed]) == _encoded_one_by_one(enc, values)


@pytest.mark.parametrize("codec", CODECS[:2], ids=str)
@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.one_of(st.binary(max_size=12), JSON.map(lambda v: repr(v).encode())), max_size=8))
def test_decode_batch_equals_decoding_each_frame(codec: Any, lines: list[bytes]) -> None:
    lines = [line.replace(b"\n", b" ") for line in lines]
    whole = DecoderFactory(["separate"], codec)()
    one = DecoderFactory([], codec)()
    got = whole.feed(b"".join(line + b"\n" for line in lines))
    expected = [x for line in lines for x in one.feed(line)]
    assert repr(got) == repr(expected)  # repr: NaN equals itself, failures compare by message


@pytest.mark.parametrize("codec", CODECS[:2], ids=str)
@settings(max_examples=80, deadline=None)
@given(post=st.sampled_from(SEPARATORS), mode=st.sampled_from(["unsorted", "sorted"]),
       pool=st.lists(JSON, min_size=2, max_size=12), data=st.data())
def test_slices_of_one_sequence_encode_as_each_list_alone(codec: Any, post: Any, mode: str,
                                                          pool: list[Any], data: st.DataObject) -> None:
    """Sliding count windows are slices of the event sequence (overlapping, moving on by
    a step); stray slices among them (empty, further back, of a second list holding the
    same elements): each list is written exactly as it encodes alone."""
    codec = {"name": "json", "config": {**codec["config"], "mode": mode}}
    size = data.draw(st.integers(2, len(pool)))
    step = data.draw(st.integers(1, max(1, size // 2)))
    values = [pool[s:s + size] for s in range(0, len(pool), step)]  # the windows, partial ones last
    other = list(pool)  # the same elements in another list: slices of it are new runs
    bounds = st.tuples(st.booleans(), st.integers(0, len(pool)), st.integers(0, len(pool)))
    for first, a, b in data.draw(st.lists(bounds, max_size=3)):  # stray slices anywhere among them
        values.insert(data.draw(st.integers(0, len(values))), (pool if first else other)[min(a, b):max(a, b)])
    if len(values) < 2:
        values.append(pool[-1:])
    enc = EncoderFactory(codec, [post])()
    data_, failed = enc.encode_batch(values)
    assert (data_, [(i, type(e)) for i, e in failed]) == _encoded_one_by_one(enc, values)


@pytest.mark.parametrize("codec", CODECS, ids=str)
@settings(max_examples=80, deadline=None)
@given(post=st.sampled_from(SEPARATORS), pool=st.lists(JSON, max_size=12), data=st.data())
def test_told_slices_encode_as_each_list_alone(codec: Any, post: Any, pool: list[Any], data: st.DataObject) -> None:
    """Told that the values are slices ``(elems, spans)`` (a window's SliceBatch), every
    codec writes exactly what each list encodes to alone, failures included (values the
    codec refuses fall back to the value-by-value pass)."""
    span = st.tuples(st.integers(0, len(pool)), st.integers(0, len(pool))).map(lambda t: (t[0], max(0, t[1] - t[0])))
    spans = data.draw(st.lists(span, max_size=6))
    values = [pool[s:s + n] for s, n in spans]
    enc = EncoderFactory(codec, [post])()
    data_, failed = enc.encode_batch(values, (pool, spans))
    assert (data_, [(i, type(e)) for i, e in failed]) == _encoded_one_by_one(enc, values)


def test_sliding_windows_take_the_slice_path_and_encode_each_element_once() -> None:
    """Windows of 6 moving by 2 over distinct values: each value is encoded once (as an
    element of one of the pieces encoded), the bytes are each window's own encoding."""
    from rxunix.core.codecs.json_codec import JsonCodec

    seen: list[Any] = []
    codec = JsonCodec()
    plain = codec._encode_str
    codec._encode_str = lambda v: (seen.append(v), plain(v))[1]  # type: ignore[method-assign]
    events = [{"i": i, "x": 1e-7 * i, "s": "ü"} for i in range(20)]
    windows = [events[s:s + 6] for s in range(0, 15, 2)]
    out = codec.encode_batch(windows, b"\n")
    assert out == b"".join(JsonCodec().encode(w) + b"\n" for w in windows)
    assert all(piece.__class__ is list and len(piece) == 2 for piece in seen)  # cut every step
    assert [id(v) for piece in seen for v in piece] == list(map(id, events))


def test_orjson_sliding_windows_take_the_slice_path_and_encode_each_element_once() -> None:
    """The orjson backend cuts the sequence the same way: one ``dumps`` per piece, each
    element once, the bytes each window's own encoding (exponents and non-str keys too)."""
    pytest.importorskip("orjson")
    from rxunix.core.codecs.json_codec import JsonCodec

    codec = JsonCodec(backend="orjson")
    dumped: list[Any] = []
    plain = codec._dumps
    codec._dumps = lambda v: (dumped.append(v), plain(v))[1]  # type: ignore[method-assign]
    events = [{"i": i, "x": 1e20 * i, "s": "ü"} for i in range(20)]
    windows = [events[s:s + 6] for s in range(0, 15, 2)]
    out = codec.encode_batch(windows, b"\n")
    assert out == b"".join(JsonCodec(backend="orjson").encode(w) + b"\n" for w in windows)
    assert b"e+" not in out and b"e20" in out
    assert all(piece.__class__ is list and len(piece) == 2 for piece in dumped)  # cut every step
    assert [id(v) for piece in dumped for v in piece] == list(map(id, events))

    keyed = [{**e, 7: None} for e in events]  # an int key: the full options, the same bytes
    windows = [keyed[s:s + 6] for s in range(0, 15, 2)]
    fresh = JsonCodec(backend="orjson")
    assert fresh.encode_batch(windows, b"\n") == b"".join(fresh.encode(w) + b"\n" for w in windows)
    assert fresh._option == fresh._option_all


@pytest.mark.parametrize("codec", CODECS, ids=str)
def test_a_codec_that_says_it_checks_frames_raises_on_a_failure_among_them(codec: Any) -> None:
    """``frames_checked`` lets the decoder skip its look at each frame's type: the batch
    decoder must then raise on a framing failure among the frames (the frame-by-frame
    pass puts it in line), which a read with an oversize line shows end to end."""
    from rxunix.core.errors import FrameTooLarge
    from rxunix.core.registry import create_codec

    made = create_codec(codec)
    if made.frames_checked:
        with pytest.raises(Exception):  # noqa: B017 - whatever the codec's own error is
            made.decode_batch([b"1", FrameTooLarge("too long"), b"2"])
    dec = DecoderFactory([{"name": "separate", "config": {"max_length": 4}}], codec)()
    out = dec.feed(b"1\n" + b"9" * 9 + b"\n2\n")
    assert [type(v).__name__ for v in out][1] == "FrameTooLarge" and len(out) == 3


FINITE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
    max_leaves=8,
)


@pytest.mark.parametrize("codec", CODECS, ids=str)
@settings(max_examples=80, deadline=None)
@given(post=st.sampled_from(SEPARATORS), values=st.lists(FINITE_JSON, max_size=6))
def test_finite_values_encode_the_same_told_or_not(codec: Any, post: Any, values: list[Any]) -> None:
    """Told that no value holds a NaN or an infinity (an echo of what the connection
    decoded), every codec writes the same bytes, failures included."""
    enc = EncoderFactory(codec, [post])()
    told, failed = enc.encode_batch(values, None, True)
    assert (told, [(i, type(e)) for i, e in failed]) == _encoded_one_by_one(enc, values)


NUMBERS = st.one_of(
    st.floats().map(repr), st.integers().map(str),
    st.sampled_from(["1e400", "-1e400", "1e309", "1.7976931348623157e309", "NaN", "-Infinity", "Infinity",
                     "1e308", "-0.0", "5e-324", "2e-400"]),
).map(lambda text: text.replace("inf", "Infinity").replace("nan", "NaN"))


@pytest.mark.parametrize("codec", CODECS, ids=str)
@settings(max_examples=150, deadline=None)
@given(numbers=st.lists(NUMBERS, min_size=1, max_size=5))
def test_a_codec_that_decodes_finite_never_gives_a_nan_or_an_infinity(codec: Any, numbers: list[str]) -> None:
    """``decodes_finite`` (orjson: it refuses NaN, Infinity and numbers beyond a double)
    lets an echo skip the encoder's search for them: each frame decodes to finite
    numbers or fails."""
    import math

    from rxunix.core.registry import create_codec

    made = create_codec(codec)
    frames = [f'{{"x":{n},"y":[{n}]}}'.encode() for n in numbers]
    dec = DecoderFactory(["separate"], codec)()
    values = dec.feed(b"".join(f + b"\n" for f in frames))
    assert dec.finite is made.decodes_finite
    floats = [v for value in values if isinstance(value, dict) for v in (value["x"], *value["y"])
              if isinstance(v, float)]
    if made.decodes_finite:
        assert all(map(math.isfinite, floats)), (numbers, values)
