"""``csv`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/csv.rs``)."""

from __future__ import annotations

from rxunix.registry import create_codec


def test_can_decode_csv() -> None:
    # csv.rs: test_can_decode_csv
    assert create_codec("csv").decode(b"a,b,c,123") == ["a", "b", "c", "123"]


def test_can_encode_csv() -> None:
    # csv.rs: test_can_encode_csv
    assert create_codec("csv").encode(["a", "b", "c", 123]) == b"a,b,c,123"


def test_module_doc_example() -> None:
    # csv.rs: the module documentation's example (RFC 4180 quoting)
    line = b'"some "" field",1234567,other_text,"2020-01-01 00:00:00"'
    codec = create_codec("csv")
    value = codec.decode(line)
    assert value == ['some " field', "1234567", "other_text", "2020-01-01 00:00:00"]
    assert codec.decode(codec.encode(value)) == value


def test_floats_are_written_as_tremor_displays_them() -> None:
    # codec/csv.rs encodes each value with to_string (Rust's Display: no exponent, no ".0")
    c = create_codec("csv")
    assert c.encode([1.0, 2.5, 1e-7, 1e21, -0.0, True, None]) == b"1,2.5,0.0000001,1000000000000000000000,-0,true,null"
