"""Config validation: strict keys, types, checks, conversions, defaults."""

from __future__ import annotations

import pytest
from rxunix.config import REQUIRED, Option, choice, validate
from rxunix.errors import ConfigError

SCHEMA = {
    "path": Option(str, REQUIRED),
    "buf_size": Option(int, 8192, check=lambda v: v > 0, expect="an int > 0"),
    "ratio": Option((int, float), 1.5),
    "flag": Option(bool, True),
    "sep": Option((str, bytes), b"\n", convert=lambda v: v.encode() if isinstance(v, str) else v),
    "mode": choice("a", "b"),
}


def test_defaults_filled() -> None:
    assert validate("x", {"path": "/p"}, SCHEMA) == {
        "path": "/p",
        "buf_size": 8192,
        "ratio": 1.5,
        "flag": True,
        "sep": b"\n",
        "mode": "a",
    }


def test_none_means_default_except_required() -> None:
    assert validate("x", {"path": "/p", "buf_size": None}, SCHEMA)["buf_size"] == 8192
    with pytest.raises(ConfigError, match="x: option 'path' must be str, got NoneType"):
        validate("x", {"path": None}, SCHEMA)
    with pytest.raises(ConfigError, match="option 'path' is required"):
        validate("x", None, SCHEMA)


def test_unknown_key_lists_allowed() -> None:
    with pytest.raises(
        ConfigError, match="x: unknown option 'bufsize'; allowed: path, buf_size, ratio, flag, sep, mode"
    ):
        validate("x", {"path": "/p", "bufsize": 1}, SCHEMA)
    with pytest.raises(ConfigError, match=r"allowed: \(no options\)"):
        validate("y", {"a": 1}, {})


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("buf_size", "1", "'buf_size' must be int, got str '1'"),
        ("buf_size", 0, "'buf_size' must be an int > 0"),
        ("buf_size", True, "'buf_size' must be int, got bool"),
        ("ratio", "x", "'ratio' must be int or float"),
        ("mode", "c", "'mode' must be one of a, b"),
        ("flag", 1, "'flag' must be bool"),
    ],
)
def test_bad_values_name_the_key(key: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate("x", {"path": "/p", key: value}, SCHEMA)


def test_conversion_and_bool_where_allowed() -> None:
    out = validate("x", {"path": "/p", "sep": "|", "flag": False, "ratio": 2}, SCHEMA)
    assert out["sep"] == b"|" and out["flag"] is False and out["ratio"] == 2


def test_conversion_errors_are_config_errors() -> None:
    def bad(_: object) -> object:
        raise ValueError("must be one byte")

    with pytest.raises(ConfigError, match="x: option 's': must be one byte"):
        validate("x", {"s": "ab"}, {"s": Option(str, "a", convert=bad)})


def test_config_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="config must be a dict, got list"):
        validate("x", [("path", "/p")], SCHEMA)  # type: ignore[arg-type]


def test_config_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        validate("x", {"zzz": 1}, SCHEMA)


def test_a_path_given_as_the_config_is_named_as_such() -> None:
    import rxunix

    for make in (rxunix.unix_socket_server, rxunix.unix_socket_client, rxunix.unix_datagram_server,
                 rxunix.unix_datagram_client):
        with pytest.raises(ConfigError, match=r"config must be a dict, got str \(a path\? pass path='/tmp/x.sock'\)"):
            make("/tmp/x.sock")
