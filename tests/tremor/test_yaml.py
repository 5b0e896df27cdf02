"""``yaml`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/yaml.rs``)
and Tremor's output bytes for long strings."""

from __future__ import annotations

from rxunix.registry import create_codec


def test_yaml_codec() -> None:
    # yaml.rs: test_yaml_codec
    codec = create_codec("yaml")
    seed = {"snot": "badger"}
    assert codec.decode(codec.encode(seed)) == seed


def test_long_strings_are_not_folded() -> None:
    # Tremor's serializer (serde_yaml) never folds; PyYAML would at 80 columns by default
    codec = create_codec("yaml")
    long = " ".join(["word"] * 40)
    raw = codec.encode({"about": long, "list": [long]})
    assert raw == f"about: {long}\nlist:\n- {long}\n".encode()
    assert codec.decode(raw) == {"about": long, "list": [long]}
