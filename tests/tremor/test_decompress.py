"""``decompress`` preprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/decompress.rs``)."""

from __future__ import annotations

import pytest
from rxunix.errors import ConfigError
from rxunix.registry import create_postprocessor, create_preprocessor

ALGORITHMS = ["gzip", "zlib", "xz2", "snappy", "lz4", "zstd", "br"]


def decode_magic(data: bytes, algo: str) -> str:
    """decompress.rs: decode_magic, the format a compressed frame announces."""
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:1] == b"\x78":
        return "zlib"
    if data[:3] == b"\xfd7z":
        return "xz2"
    if data[:6] == b"sNaPpY" or data[:4] == b"\xff\x06\x00\x00":
        return "snappy"
    if data[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return "br" if algo == "br" else "fail/unknown"


def test_name() -> None:
    # decompress.rs: name
    assert create_preprocessor({"name": "decompress", "config": {"algorithm": "gzip"}}).name == "decompress"


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_simple_symmetric(algo: str) -> None:
    # decompress.rs: test_gzip, test_br, test_zlib, test_snappy, test_xz2, test_lz4, test_zstd
    pre = create_preprocessor({"name": "decompress", "config": {"algorithm": algo}})
    post = create_postprocessor({"name": "compress", "config": {"algorithm": algo}})
    ext = post.process(b"snot")[0]
    assert decode_magic(ext, algo) == algo
    assert pre.feed(ext) == [b"snot"]
    assert pre.finish() == []


@pytest.mark.parametrize("algo", [a for a in ALGORITHMS if a != "br"])
def test_fingerprinted_symmetric(algo: str) -> None:
    # decompress.rs: test_gzip_fingerprinted, test_zlib_fingerprinted, test_snappy_fingerprinted,
    # test_xz2_fingerprinted, test_lz4_fingerprinted, test_zstd_fingerprinted
    pre = create_preprocessor({"name": "decompress", "config": {"algorithm": "autodetect"}})
    ext = create_postprocessor({"name": "compress", "config": {"algorithm": algo}}).process(b"snot")[0]
    assert pre.feed(ext) == [b"snot"]
    assert pre.finish() == []


def test_autodetect_is_the_default_and_plain_data_passes() -> None:
    # decompress.rs: from_config (None -> autodetect); Fingerprinted passes unknown data on
    pre = create_preprocessor("decompress")
    assert pre.feed(b'{"plain": true}') == [b'{"plain": true}']


def test_unknown_algorithm() -> None:
    # decompress.rs: from_config (UnknownAlgorithm)
    with pytest.raises(ConfigError):
        create_preprocessor({"name": "decompress", "config": {"algorithm": "snot"}})
