"""json codec: fixed bytes, both backends identical on shared vectors, errors."""

from __future__ import annotations

import math
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.codecs.json_codec import JsonCodec
from rxunix.errors import CodecError, ConfigError

BACKENDS = ["simplejson", "orjson"]

NESTED = {
    "z": [848311734.7466849, 0.1, 1e-7, 1.5e300, -2.5e-5, 1e16, 1e15, 100.0],
    "a": {"neg": -42, "negf": -0.5, "text": "grüße, 東京 ✓", "nil": None, "t": True, "f": False},
    "m": [{"b": 2, "a": 1}, [], {}],
}
NESTED_SORTED = (
    '{"a":{"f":false,"neg":-42,"negf":-0.5,"nil":null,"t":true,"text":"grüße, 東京 ✓"},'
    '"m":[{"a":1,"b":2},[],{}],'
    '"z":[848311734.7466849,0.1,1e-7,1.5e300,-0.000025,1e16,1000000000000000.0,100.0]}'
).encode()

# (value, expected bytes with mode="sorted"): shared by both backends
VECTORS = [
    (NESTED, NESTED_SORTED),
    ({"b": 1, "a": [0.1, -2, "ü"]}, '{"a":[0.1,-2,"ü"],"b":1}'.encode()),
    (
        [1e-5, 1e-6, 0.0001, 5e-324, 1.7976931348623157e308, -0.0],
        b"[0.00001,1e-6,0.0001,5e-324,1.7976931348623157e308,-0.0]",
    ),
    ({"s": '1e+05 "1e-05"', "n": 1e5}, b'{"n":100000.0,"s":"1e+05 \\"1e-05\\""}'),
    ('\u2028\x00\x1f"\\', b'"\xe2\x80\xa8\\u0000\\u001f\\"\\\\"'),
    ({1: "int key", None: "none key"}, b'{"1":"int key","null":"none key"}'),
    (MappingProxyType({"m": (1, 2)}), b'{"m":[1,2]}'),
    (b"raw bytes", b'"raw bytes"'),
    (2**63 - 1, b"9223372036854775807"),
    (-(2**63), b"-9223372036854775808"),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("value,expected", VECTORS)
def test_sorted_vectors_identical_on_both_backends(backend: str, value: object, expected: bytes) -> None:
    assert JsonCodec(mode="sorted", backend=backend).encode(value) == expected


def test_unsorted_keeps_insertion_order(backend: str) -> None:
    assert JsonCodec(backend=backend).encode({"b": 1, "a": 2}) == b'{"b":1,"a":2}'


def test_decode_nested_round_trip(backend: str) -> None:
    c = JsonCodec(mode="sorted", backend=backend)
    assert c.decode(NESTED_SORTED) == c.decode(c.encode(c.decode(NESTED_SORTED)))
    assert c.decode(NESTED_SORTED)["z"][0] == 848311734.7466849


@pytest.mark.parametrize(
    "data",
    [b"", b" ", b"{", b"[1,]", b"1 2", b"NaN", b"\xff", b'"\xed\xa0\x80"', b"{'a':1}", b"[" * 100_000],
)
def test_malformed_is_codec_error(backend: str, data: bytes) -> None:
    with pytest.raises(CodecError, match="json: cannot decode"):
        JsonCodec(backend=backend).decode(data)


@pytest.mark.parametrize(
    "value", [float("nan"), [float("inf")], {"a": -math.inf}, object(), {1, 2}, "\ud800", b"\xff"]
)
def test_unencodable_is_codec_error(backend: str, value: object) -> None:
    with pytest.raises(CodecError, match="json: cannot encode"):
        JsonCodec(backend=backend).encode(value)


def test_deep_nesting_encode_is_codec_error(backend: str) -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(CodecError):
        JsonCodec(backend=backend).encode(deep)


def test_documented_difference_big_ints() -> None:
    big = 2**64
    assert JsonCodec().encode(big) == b"18446744073709551616"
    assert JsonCodec().decode(b"18446744073709551616") == big
    with pytest.raises(CodecError, match="64-bit"):
        JsonCodec(backend="orjson").encode(big)


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="'mode'.*one of unsorted, sorted"):
        JsonCodec(mode="pretty")
    with pytest.raises(ConfigError, match="'backend'"):
        JsonCodec(backend="ujson")
    with pytest.raises(ConfigError, match="unknown option 'indent'"):
        JsonCodec(indent=2)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=8), children, max_size=5
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from(["sorted", "unsorted"]))
def test_backends_agree_and_round_trip(value: object, mode: str) -> None:
    s = JsonCodec(mode=mode)
    o = JsonCodec(mode=mode, backend="orjson")
    out = s.encode(value)
    assert out == o.encode(value)
    assert s.decode(out) == value
    assert o.decode(out) == value


@pytest.mark.parametrize("mode", ["unsorted", "sorted"])
def test_non_str_keys_after_str_keys_one_by_one_and_in_batches(backend: str, mode: str) -> None:
    """A codec that has only seen str keys still writes int/None keys, in every path,
    as simplejson does; a value no option can encode changes nothing for the next ones."""
    c, ref = JsonCodec(mode=mode, backend=backend), JsonCodec(mode=mode, backend="simplejson")
    values: list[object] = [{"a": 1}, {2: "b", None: [{3: 4.5e300}]}, {"c": {1: 1}}]
    assert c.encode_batch(values[:1], b"\n") == b'{"a":1}\n'
    with pytest.raises(CodecError):
        c.encode({"x": object()})
    with pytest.raises(TypeError):  # the Encoder above it reports each value (see framing)
        c.encode_batch([{"x": object()}], b"\n")
    assert c.encode_batch(values, b"\n") == ref.encode_batch(values, b"\n")
    fresh = JsonCodec(mode=mode, backend=backend)
    assert [fresh.encode(v) for v in values] == [ref.encode(v) for v in values]
    if mode == "unsorted":
        assert fresh.encode(values[1]) == b'{"2":"b","null":[{"3":4.5e300}]}'


@pytest.mark.timeout(30)  # linear: milliseconds; the exponent rewrite once rescanned every digit run (minutes)
def test_long_integers_beside_an_exponent_float_encode_in_linear_time() -> None:
    value = [int("9" * 4000)] * 15 + [1e-7]
    assert JsonCodec().encode(value).endswith(b"9999,1e-7]")
