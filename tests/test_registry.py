"""Registry: Tremor-style specs, errors naming keys, user registration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rxunix.codecs.base import Codec
from rxunix.errors import CodecError, ConfigError
from rxunix.framing import DecoderFactory, EncoderFactory
from rxunix.processors.base import Postprocessor, Preprocessor
from rxunix.registry import (
    codec_factory,
    create_codec,
    create_preprocessor,
    names,
    register_codec,
    register_postprocessor,
    register_preprocessor,
    spec_list,
)

from rxunix import registry


@pytest.fixture(autouse=True)
def _restore_registry() -> Iterator[None]:
    saved = {k: dict(v) for k, v in registry._REGISTRY.items()}
    yield
    for k, v in saved.items():
        registry._REGISTRY[k].clear()
        registry._REGISTRY[k].update(v)


def test_source_document_specs_are_accepted() -> None:
    # as in the Tremor source document: codec by name, preprocessors/postprocessors as names
    dec = DecoderFactory(["separate"], "json")()
    assert dec.feed(b'{"a":1}\n') == [{"a": 1}]
    enc = EncoderFactory("json", ["separate"])()
    assert enc.encode({"a": 1}) == b'{"a":1}\n'
    # and as {"name", "config"} dicts
    dec2 = DecoderFactory(
        [{"name": "separate", "config": {"separator": "|", "max_length": 10}}],
        {"name": "json", "config": {"mode": "sorted"}},
    )()
    assert dec2.feed(b"1|2|") == [1, 2]
    assert (
        create_codec({"name": "json", "config": {"mode": "sorted"}}).encode({"b": 1, "a": 2})
        == b'{"a":2,"b":1}'
    )
    assert create_codec({"name": "json"}).decode(b"[]") == []
    assert create_codec({"name": "json", "config": None}).decode(b"1") == 1


def test_unknown_name_lists_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        create_codec("jsn")
    msg = str(info.value)
    assert "unknown name 'jsn'" in msg
    for name in ("binary", "csv", "influx", "json", "msgpack", "statsd", "string", "syslog", "yaml"):
        assert name in msg
    with pytest.raises(ConfigError, match="preprocessor: unknown name 'lines'; allowed: .*separate"):
        DecoderFactory(["lines"], "json")
    with pytest.raises(ConfigError, match="postprocessor: unknown name 'nope'"):
        EncoderFactory("json", ["nope"])


def test_bad_option_names_the_key() -> None:
    with pytest.raises(ConfigError, match="json: unknown option 'sorted'; allowed: mode, backend"):
        create_codec({"name": "json", "config": {"sorted": True}})
    with pytest.raises(ConfigError, match="'mode'"):
        codec_factory({"name": "json", "config": {"mode": 1}})
    with pytest.raises(ConfigError, match="'max_length'"):
        create_preprocessor({"name": "separate", "config": {"max_length": -1}})


@pytest.mark.parametrize(
    "spec,match",
    [
        ({"name": "json", "cfg": {}}, "takes keys 'name'"),
        ({"config": {}}, "takes keys 'name'"),
        ({"name": 3}, "'name' must be a string"),
        ({"name": "json", "config": [1]}, "'config' must be a dict"),
        (42, "expected a name"),
    ],
)
def test_malformed_spec_dicts(spec: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        create_codec(spec)


def test_spec_list_rejects_non_lists() -> None:
    assert spec_list("preprocessor", None) == []
    with pytest.raises(ConfigError, match="expected a list"):
        spec_list("preprocessor", "separate")


class Upper(Codec):
    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix

    def decode(self, data: bytes) -> Any:
        return data.decode().upper() + self.suffix

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise CodecError("upper: str only")
        return value.lower().encode()


class Reverse(Preprocessor):
    def feed(self, data: bytes) -> list[Any]:
        return [data[::-1]]


class Bang(Postprocessor):
    def __init__(self, mark: str = "!") -> None:
        self.mark = mark.encode()

    def process(self, data: bytes) -> list[bytes]:
        return [data + self.mark]


def test_user_registration_works_with_framing() -> None:
    register_codec("upper", Upper)
    register_preprocessor("reverse", Reverse)
    register_postprocessor("bang", Bang)
    assert (
        "upper" in names("codec") and "reverse" in names("preprocessor") and "bang" in names("postprocessor")
    )
    dec = DecoderFactory(["separate", "reverse"], {"name": "upper", "config": {"suffix": "?"}})()
    assert dec.feed(b"ab\ncd\n") == ["BA?", "DC?"]
    enc = EncoderFactory("upper", [{"name": "bang", "config": {"mark": "#"}}, "separate"])()
    assert enc.encode("HI") == b"hi#\n"
    with pytest.raises(CodecError):
        enc.encode(1)


def test_duplicate_name_rejected_unless_replace() -> None:
    register_codec("upper", Upper)
    with pytest.raises(ConfigError, match="already registered.*replace=True"):
        register_codec("upper", Upper)
    with pytest.raises(ConfigError, match="already registered"):
        register_codec("json", Upper)
    register_codec("json", Upper, replace=True)
    assert create_codec("json").decode(b"x") == "X"
    with pytest.raises(ConfigError, match="already registered"):
        register_preprocessor("separate", Reverse)
    with pytest.raises(ConfigError, match="already registered"):
        register_postprocessor("separate", Bang)


def test_bad_registrations() -> None:
    with pytest.raises(ConfigError, match="non-empty string"):
        register_codec("", Upper)
    with pytest.raises(ConfigError, match="must be callable"):
        register_codec("x", 3)  # type: ignore[arg-type]


def test_user_factory_type_error_is_config_error() -> None:
    register_codec("upper", Upper)
    with pytest.raises(ConfigError, match="codec 'upper': bad config .*'nope'"):
        DecoderFactory([], {"name": "upper", "config": {"nope": 1}})

    def broken(**_: Any) -> Codec:
        raise TypeError("boom")

    register_postprocessor("broken", broken)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="postprocessor 'broken'.*boom"):
        EncoderFactory("json", ["broken"])


def test_factory_must_return_the_right_kind() -> None:
    register_codec("notacodec", lambda: object())
    with pytest.raises(ConfigError, match="not a codec"):
        create_codec("notacodec")


def test_callable_spec_and_fresh_instances() -> None:
    make = codec_factory(Upper)
    assert make() is not make()
    assert make().decode(b"a") == "A"
