"""``json`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/json.rs``)."""

from __future__ import annotations

import pytest
from rxunix.errors import ConfigError
from rxunix.registry import create_codec


def test_decode() -> None:
    # json.rs: decode (a second, cloned codec decodes the same)
    codec = create_codec("json")
    assert codec.decode(b'{ "snot": "badger" }') == {"snot": "badger"}
    assert create_codec("json").decode(b'{ "snot": "badger" }') == {"snot": "badger"}


@pytest.mark.parametrize("mode", ["unsorted", "sorted"])
def test_json_codec(mode: str) -> None:
    # json.rs: test_json_codec, test_json_codec_sorted
    codec = create_codec({"name": "json", "config": {"mode": mode}})
    assert codec.decode(codec.encode({"snot": "badger"})) == {"snot": "badger"}


@pytest.mark.parametrize("mode", ["unsorted", "sorted"])
def test_duplicate_keys(mode: str) -> None:
    # json.rs: duplicate_keys_unsorted, duplicate_keys_sorted, duplicate_keys_into_static (last key wins)
    codec = create_codec({"name": "json", "config": {"mode": mode}})
    value = codec.decode(b'{"key": 1, "key":2}')
    assert value == {"key": 2}
    assert codec.encode(value) == b'{"key":2}'


def test_unknown_mode() -> None:
    # json.rs: from_config ("Unknown json codec mode")
    with pytest.raises(ConfigError, match="mode"):
        create_codec({"name": "json", "config": {"mode": "snot"}})


def test_sorted_sorts_and_minifies() -> None:
    codec = create_codec({"name": "json", "config": {"mode": "sorted"}})
    assert codec.encode({"b": [1, {"d": 1, "c": 2}], "a": "é"}) == '{"a":"é","b":[1,{"c":2,"d":1}]}'.encode()
