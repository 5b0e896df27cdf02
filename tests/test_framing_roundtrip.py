"""Every framing pair round-trips (whole, byte by byte, random chunks) via the conformance check."""

from __future__ import annotations

import pytest
from hypothesis import settings
from rxunix.processors.compression import ALGORITHMS
from rxunix.registry import Spec

from .test_proc_conformance import SETTINGS, check_framing_pair

M = 64  # max_length used for the maximal frames


def _cfg(name: str, **config: object) -> Spec:
    return {"name": name, "config": config}


def test_separate() -> None:
    check_framing_pair([_cfg("separate", max_length=M)], ["separate"], max_length=M, alphabet=b"ab{}\r\0 ")


def test_separate_other_separator() -> None:
    check_framing_pair(
        [_cfg("separate", separator="|", max_length=M)],
        [_cfg("separate", separator=b"|")],
        max_length=M,
        alphabet=b"ab\n\0",
    )


def test_separate_unlimited() -> None:
    check_framing_pair([_cfg("separate", max_length=0)], ["separate"], max_length=150, alphabet=b"xy")


def test_base64_over_separate() -> None:
    # 48 raw bytes are exactly 64 base64 bytes: the maximal frame of separate(max_length=64)
    check_framing_pair([_cfg("separate", max_length=M), "base64"], ["base64", "separate"], max_length=48)


@pytest.mark.parametrize("name", ["length-prefixed", "textual-length-prefixed"])
def test_length_prefixed(name: str) -> None:
    check_framing_pair([_cfg(name, max_length=M)], [name], max_length=M)


@pytest.mark.parametrize("name", ["length-prefixed", "textual-length-prefixed"])
def test_length_prefixed_default_max(name: str) -> None:
    check_framing_pair([name], [name], max_length=200)


_LEVEL = {"xz2": 0}  # preset 0: same format, much faster to set up


# brotli has no magic bytes, so it is only decompressed when named (see test_compression)
@pytest.mark.parametrize(
    ("algorithm", "pre_algo"),
    # br under autodetect: an empty payload stays plain (see test_compression)
    [(a, a) for a in ALGORITHMS] + [(a, "autodetect") for a in ALGORITHMS if a != "br"],
)
def test_compress_decompress(algorithm: str, pre_algo: str) -> None:
    post: dict[str, object] = {"algorithm": algorithm}
    if algorithm in _LEVEL:
        post["level"] = _LEVEL[algorithm]
    check_framing_pair(
        ["length-prefixed", _cfg("decompress", algorithm=pre_algo, max_length=M)],
        [{"name": "compress", "config": post}, "length-prefixed"],
        max_length=M,
        max_frames=4,
        settings_=settings(SETTINGS, max_examples=60),  # 13 algorithm runs: keep the file fast
    )


def test_compress_over_textual_and_base64_separate() -> None:
    check_framing_pair(
        ["separate", "base64", "decompress"],
        [_cfg("compress", algorithm="zlib"), "base64", "separate"],
        max_length=M,
    )


def test_ingest_ns() -> None:
    check_framing_pair(["length-prefixed", "ingest-ns"], ["ingest-ns", "length-prefixed"], max_length=M)


def test_ingest_ns_textual() -> None:
    check_framing_pair(
        ["textual-length-prefixed", "ingest-ns"], ["ingest-ns", "textual-length-prefixed"], max_length=M
    )


def test_chunk_keeps_the_stream() -> None:
    # chunk never splits an event: max_bytes covers the largest framed event (M + separator)
    check_framing_pair(
        [_cfg("separate", max_length=M)],
        ["separate", _cfg("chunk", max_bytes=M + 1)],
        max_length=M,
        alphabet=b"ab",
    )


def test_collect_keeps_the_stream() -> None:
    check_framing_pair(["length-prefixed"], ["length-prefixed", _cfg("collect", max_bytes=20)], max_length=M)


def test_collect_then_chunk_keeps_the_stream() -> None:
    check_framing_pair(
        ["textual-length-prefixed"],
        ["textual-length-prefixed", _cfg("collect", max_bytes=30), _cfg("chunk", max_bytes=M + 3)],
        max_length=M,
    )
