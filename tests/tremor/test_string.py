"""``string`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/string.rs``)."""

from __future__ import annotations

import pytest
from rxunix.errors import CodecError
from rxunix.registry import create_codec


def test_string_codec() -> None:
    # string.rs: test_string_codec
    codec = create_codec("string")
    assert codec.decode(codec.encode("snot badger")) == "snot badger"


def test_string_codec2() -> None:
    # string.rs: test_string_codec2 (a non-string value is written as its JSON text)
    assert create_codec("string").encode(["snot badger"]) == b'["snot badger"]'


def test_invalid_utf8() -> None:
    # string.rs: "If the data is not valid UTF-8 marshalling will fail"
    with pytest.raises(CodecError):
        create_codec("string").decode(b"\xff")
