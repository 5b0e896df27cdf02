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


PLAIN_SCALARS = [  # serde_yaml 0.9 (src/de.rs: visit_untagged_str, parse_bool, parse_*_int, parse_f64,
    # digits_but_not_number): YAML 1.2 plain scalars, not PyYAML's YAML 1.1 ones
    ("~", None), ("null", None), ("NULL", None), ("", None),
    ("true", True), ("False", False), ("TRUE", True), ("on", "on"), ("yes", "yes"), ("n", "n"),
    ("0", 0), ("-17", -17), ("+5", 5), ("0x1F", 31), ("-0x10", -16), ("0o17", 15), ("0b101", 5),
    ("0123", "0123"), ("00", "00"), ("1_000", "1_000"), ("1:20", "1:20"), ("0X1F", "0X1F"),
    ("1e5", 100000.0), ("1.0e5", 100000.0), (".5", 0.5), ("-2.", -2.0), ("+0.5e-3", 0.0005),
    ("1e999", "1e999"), (".inf", float("inf")), ("-.Inf", float("-inf")), ("-.nan", "-.nan"),
    ("2001-12-14", "2001-12-14"), ("=", "="),
]


def test_plain_scalars_read_as_serde_yaml_reads_them() -> None:
    codec = create_codec("yaml")
    for text, value in PLAIN_SCALARS:
        assert codec.decode(f"a: {text}\n".encode()) == {"a": value}, text
    assert codec.decode(b"a: .nan\n")["a"] != codec.decode(b"a: .nan\n")["a"]  # NaN
    assert codec.decode(b"<<: {b: 1}\nc: 2\n") == {"<<": {"b": 1}, "c": 2}  # no merge keys


def test_strings_that_would_read_as_something_else_are_quoted() -> None:
    codec = create_codec("yaml")
    strings = [text for text, value in PLAIN_SCALARS if isinstance(value, (int, float)) or value is None
               or isinstance(value, bool)] + ["on", "0123"]
    assert codec.decode(codec.encode(strings)) == strings
