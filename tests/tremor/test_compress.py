"""``compress`` postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/postprocessor/compress.rs``, ``.../postprocessor.rs``)."""

from __future__ import annotations

import pytest
from rxunix.errors import ConfigError
from rxunix.processors.base import Postprocessor
from rxunix.registry import create_postprocessor, create_preprocessor


def compress(algorithm: str, **config: object) -> Postprocessor:
    return create_postprocessor({"name": "compress", "config": {"algorithm": algorithm, **config}})


@pytest.mark.parametrize("algo", ["gzip", "zlib", "xz2", "snappy", "lz4", "zstd", "br"])
def test_name_and_lookup(algo: str) -> None:
    # compress.rs: name; postprocessor.rs: test_lookup_compression
    assert compress(algo).name == "compress"


@pytest.mark.parametrize("bad", ["gzi", "xz", "snapp", "zli", "zst", "snot"])
def test_str_to_algorithm(bad: str) -> None:
    # compress.rs: test_str_to_algorithm; postprocessor.rs: test_lookup_compression ("snot")
    with pytest.raises(ConfigError):
        compress(bad)


def test_missing_algorithm() -> None:
    # compress.rs: from_config (MissingAlgorithm)
    with pytest.raises(ConfigError, match="algorithm"):
        create_postprocessor("compress")


@pytest.mark.parametrize(
    ("algo", "low", "high"),
    [("xz2", 0, 9), ("zstd", -7, 22)],
)
def test_levels(algo: str, low: int, high: int) -> None:
    # compress.rs: test_test_xz2, test_test_zstd (every level in range works, just outside fails)
    for level in (low - 1, high + 1):
        with pytest.raises(ConfigError):
            compress(algo, level=level)
    pre = create_preprocessor({"name": "decompress", "config": {"algorithm": algo}})
    for level in range(low, high + 1):
        assert pre.feed(compress(algo, level=level).process(b"snot" * 10)[0]) == [b"snot" * 10]


def test_lz4_negative_level() -> None:
    # compress.rs: test_test_lz4
    with pytest.raises(ConfigError):
        compress("lz4", level=-1)
