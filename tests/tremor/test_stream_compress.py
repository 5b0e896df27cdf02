"""``stream-compress`` postprocessor: Tremor's module (tremor-rs/tremor-runtime
``tremor-interceptor/src/postprocessor/stream_compress.rs``; its tests are commented out
upstream, so the cases follow its documented contract)."""

from __future__ import annotations

import lzma

import pytest
import zstandard
from rxunix.errors import ConfigError
from rxunix.framing import EncoderFactory
from rxunix.registry import create_postprocessor

DECOMPRESS = {"xz2": lzma.decompress, "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b)}


@pytest.mark.parametrize("algorithm", ["xz2", "zstd"])
def test_events_form_one_stream(algorithm: str) -> None:
    # stream_compress.rs: process feeds one compressor; finish ends the stream
    events = [{"n": i, "pad": "x" * (i * 37 % 500)} for i in range(200)]
    enc = EncoderFactory("json", ["separate", {"name": "stream-compress", "config": {"algorithm": algorithm}}])()
    wire = b"".join(enc.encode(e) for e in events) + enc.finish()
    expected = b"".join(EncoderFactory("json", ["separate"])().encode(e) for e in events)
    assert DECOMPRESS[algorithm](wire) == expected


@pytest.mark.parametrize(("algorithm", "good", "bad"), [("xz2", [0, 3, 9], [-1, 10]), ("zstd", [-7, 0, 22], [-8, 23])])
def test_levels(algorithm: str, good: list[int], bad: list[int]) -> None:
    # stream_compress.rs: Xz2::with_config, Zstd::with_config (level ranges)
    for level in good:
        post = create_postprocessor({"name": "stream-compress", "config": {"algorithm": algorithm, "level": level}})
        assert DECOMPRESS[algorithm](b"".join(post.process(b"snot") + post.finish())) == b"snot"
    for level in bad:
        with pytest.raises(ConfigError, match="levels"):
            create_postprocessor({"name": "stream-compress", "config": {"algorithm": algorithm, "level": level}})


@pytest.mark.parametrize("config", [{}, {"algorithm": "gzip"}, {"algorithm": "snot"}])
def test_algorithm_required_and_known(config: dict[str, str]) -> None:
    # stream_compress.rs: MissingAlgorithm, UnknownAlgorithm (only xz2 and zstd stream)
    with pytest.raises(ConfigError):
        create_postprocessor({"name": "stream-compress", "config": config})


def test_a_new_stream_after_finish() -> None:
    post = create_postprocessor({"name": "stream-compress", "config": {"algorithm": "xz2"}})
    assert post.finish() == []  # no events: nothing to send
    first = b"".join(post.process(b"one") + post.finish())
    second = b"".join(post.process(b"two") + post.finish())
    assert (lzma.decompress(first), lzma.decompress(second)) == (b"one", b"two")
