"""``compress`` / ``decompress``: autodetection, errors in line, bounded output, config, extras."""

from __future__ import annotations

import sys
import zlib
from typing import Any

import pytest
from rxunix.errors import ConfigError, FrameTooLarge, FramingError, MissingExtraError
from rxunix.processors.compression import (
    ALGORITHMS,
    CompressPost,
    DecompressPre,
    compress,
    decompress,
    detect,
)
from rxunix.registry import create_postprocessor, create_preprocessor

from .test_proc_conformance import decode_chunks, encode_stream

PAYLOAD = b'{"snot":"badger"}' * 20
DETECTABLE = [a for a in ALGORITHMS if a != "br"]


def show(frames: list[Any]) -> list[Any]:
    return [f if isinstance(f, bytes) else type(f).__name__ for f in frames]


@pytest.mark.parametrize("algorithm", DETECTABLE)
def test_autodetect_each_algorithm(algorithm: str) -> None:
    packed = CompressPost(algorithm=algorithm).process(PAYLOAD)[0]
    assert packed != PAYLOAD
    assert detect(packed) == algorithm
    assert DecompressPre().feed(packed) == [PAYLOAD]
    assert DecompressPre(algorithm="autodetect").feed(packed) == [PAYLOAD]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("payload", [b"", b"x", PAYLOAD, bytes(range(256)) * 300])
def test_named_round_trip(algorithm: str, payload: bytes) -> None:
    packed = CompressPost(algorithm=algorithm).process(payload)[0]
    assert DecompressPre(algorithm=algorithm, max_length=0).feed(packed) == [payload]


@pytest.mark.parametrize("algorithm", DETECTABLE)
def test_empty_payload_is_still_detectable(algorithm: str) -> None:
    assert detect(compress(algorithm, b"")) == algorithm


def test_brotli_has_no_magic_but_is_autodetected_by_decoding() -> None:
    packed = compress("br", PAYLOAD)
    assert detect(packed) is None  # no magic bytes
    assert DecompressPre().feed(packed) == [PAYLOAD]  # Tremor passes it through unchanged
    assert DecompressPre(algorithm="br").feed(packed) == [PAYLOAD]
    # one-byte empty brotli streams ("3", ";", ...) are plain data, not empty frames
    assert DecompressPre().feed(b"3") == [b"3"]
    # truncated brotli cannot be told from plain data: it passes through
    assert DecompressPre().feed(packed[:-3]) == [packed[:-3]]


@pytest.mark.parametrize(
    "data", [b"", b"plain", b'{"a":1}', b"\x1f", b"\xff\x06\x00\x00sNaP", b"\x28\xb5\x2f"]
)
def test_unknown_data_passes_through(data: bytes) -> None:
    assert DecompressPre().feed(data) == [data]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("autodetect", [False, True])
def test_truncated_is_an_error_in_line_and_neighbours_survive(algorithm: str, autodetect: bool) -> None:
    if autodetect and algorithm == "br":
        autodetect = False  # brotli is only decompressed when named
    good = compress(algorithm, PAYLOAD)
    bad = good[: len(good) - 3]
    pre = {"name": "decompress", "config": {"algorithm": "autodetect" if autodetect else algorithm}}
    stream = encode_stream(["length-prefixed"], [good, bad, good])
    for chunks in ([stream], [stream[i : i + 1] for i in range(len(stream))]):
        out = decode_chunks(["length-prefixed", pre], chunks)
        assert show(out) == [PAYLOAD, "FramingError", PAYLOAD]
        assert "truncated" in str(out[1]) or "corrupt" in str(out[1])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_corrupt_and_trailing_junk_are_errors(algorithm: str) -> None:
    good = bytearray(compress(algorithm, PAYLOAD))
    p = DecompressPre(algorithm=algorithm)
    [junk] = p.feed(bytes(good) + b"junk!")
    assert isinstance(junk, FramingError)
    good[len(good) // 2] ^= 0xFF
    good[len(good) // 2 + 1] ^= 0x5A
    [out] = p.feed(bytes(good))
    assert isinstance(out, FramingError) or out == PAYLOAD  # a flip may hit a don't-care bit...
    # ...but never both kept and wrong
    assert not isinstance(out, bytes) or out == PAYLOAD


@pytest.mark.parametrize("algorithm", ["gzip", "xz2", "lz4", "zstd"])
def test_concatenated_members(algorithm: str) -> None:
    data = compress(algorithm, b"ab") + compress(algorithm, b"cd")
    assert DecompressPre(algorithm=algorithm).feed(data) == [b"abcd"]


class _Counting:
    """A decompressor that records how many input bytes each call is given."""

    def __init__(self, real: Any, fed: list[int]) -> None:
        self._real, self._fed = real, fed

    def decompress(self, data: Any, *args: Any) -> Any:
        self._fed.append(len(data))
        return self._real.decompress(data, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.parametrize("algorithm", ["gzip", "zstd"])  # (the two decoding loops: zlib/lzma/lz4's and zstd's)
def test_many_members_cost_about_their_own_length(algorithm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile frame of thousands of tiny members: each input byte reaches the
    decompressors about once (not the whole rest of the frame once per member, which
    made a 5 MB frame cost 16 s of CPU)."""
    import types

    from rxunix.core.processors import compression

    members = 4000
    frame = compress(algorithm, b"ab") * members
    fed: list[int] = []
    if algorithm == "gzip":
        monkeypatch.setattr(compression, "zlib", types.SimpleNamespace(
            decompressobj=lambda wbits: _Counting(zlib.decompressobj(wbits), fed)))
    else:
        zstd = pytest.importorskip("zstandard")

        class Zstd:
            def ZstdDecompressor(self) -> Any:  # noqa: N802 - the library's name
                real = zstd.ZstdDecompressor()
                return types.SimpleNamespace(decompressobj=lambda: _Counting(real.decompressobj(), fed))

        monkeypatch.setattr(compression, "_module", lambda *_: Zstd())
    assert DecompressPre(algorithm=algorithm).feed(frame) == [b"ab" * members]
    assert sum(fed) <= len(frame) + members * 512, (sum(fed), len(frame))  # (a few hundred bytes a member)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_decompression_bomb_is_one_error(algorithm: str) -> None:
    bomb = compress(algorithm, b"\0" * 2_000_000)
    assert len(bomb) < 200_000
    pre = DecompressPre(algorithm=algorithm, max_length=100_000)
    [err] = pre.feed(bomb)
    assert isinstance(err, FrameTooLarge)
    assert pre.feed(compress(algorithm, b"ok")) == [b"ok"]  # and the next frame is fine
    exact = compress(algorithm, b"z" * 100_000)
    assert pre.feed(exact) == [b"z" * 100_000]
    assert isinstance(pre.feed(compress(algorithm, b"z" * 100_001))[0], FrameTooLarge)


def test_brotli_output_is_taken_a_piece_at_a_time() -> None:
    pytest.importorskip("brotli")  # (a test extra: always installed by the test envs)
    payload = bytes(range(256)) * 14_000  # 3.4 MiB: several of the decoder's output pieces
    packed = compress("br", payload)
    pre = DecompressPre(algorithm="br", max_length=len(payload))
    assert pre.feed(packed) == [payload]
    assert isinstance(DecompressPre(algorithm="br", max_length=len(payload) - 1).feed(packed)[0], FrameTooLarge)
    [err] = pre.feed(packed[:-3])
    assert isinstance(err, FramingError) and not isinstance(err, FrameTooLarge)


BOMB_PEAK = """
import resource, sys
import brotli
from rxunix.processors.compression import DecompressPre
c = brotli.Compressor(quality=0)
zeros = bytes(16 << 20)
bomb = b"".join([c.process(zeros) for _ in range(32)] + [c.finish()])  # 512 MiB of zeros
del zeros
pre = DecompressPre(algorithm="br", max_length=32 << 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
[err] = pre.feed(bomb)
print(type(err).__name__, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_brotli_bomb_costs_about_max_length() -> None:
    pytest.importorskip("brotli")
    import subprocess

    out = subprocess.run([sys.executable, "-c", BOMB_PEAK], capture_output=True, text=True, timeout=120, check=True)
    kind, peak_mib = out.stdout.split()
    assert kind == "FrameTooLarge"
    assert int(peak_mib) < 48  # max_length 32 MiB, the decoder's window and a piece (was ~4.5x max_length)


def test_max_length_zero_is_unlimited() -> None:
    assert DecompressPre(max_length=0).feed(compress("gzip", b"\0" * 17_000_000)) == [b"\0" * 17_000_000]


def test_default_max_length_is_16_mib() -> None:
    limit = 16 * 1024 * 1024
    assert DecompressPre().feed(compress("zlib", b"\0" * limit)) == [b"\0" * limit]
    assert isinstance(DecompressPre().feed(compress("zlib", b"\0" * (limit + 1)))[0], FrameTooLarge)


def test_weak_zlib_magic_is_detected_like_tremor() -> None:
    # documented: an uncompressed frame starting with "x^" is taken for zlib and fails
    assert detect(b"x^ not compressed") == "zlib"
    assert isinstance(DecompressPre().feed(b"x^ not compressed")[0], FramingError)
    assert detect(b"xylophone") is None


def test_snappy_rejects_bad_chunks() -> None:
    sid = b"\xff\x06\x00\x00sNaPpY"
    assert decompress("snappy", sid) == b""
    for bad in (
        b"sNaPpY",  # no identifier chunk
        sid + b"\x02\x00\x00\x00",  # reserved unskippable chunk
        sid + b"\x01\x05\x00\x00abcd",  # uncompressed chunk shorter than its CRC
        sid + b"\x01\x09\x00\x00\x00\x00\x00\x00hello",  # bad CRC
        sid + b"\x00\x09\x00",  # truncated header
    ):
        with pytest.raises(FramingError):
            decompress("snappy", bad)
    # skippable chunks are skipped
    assert decompress("snappy", sid + b"\xfe\x02\x00\x00\0\0") == b""


def test_decompress_function_limits() -> None:
    with pytest.raises(FrameTooLarge):
        decompress("zlib", zlib.compress(b"a" * 11), limit=10)
    assert decompress("zlib", zlib.compress(b"a" * 10), limit=10) == b"a" * 10


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"algorithm": "lzo"}, "algorithm"),
        ({"algorithm": 1}, "algorithm"),
        ({"max_length": -5}, "max_length"),
        ({"max_length": 1.5}, "max_length"),
        ({"level": 3}, "level"),
    ],
)
def test_decompress_bad_options(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        create_preprocessor({"name": "decompress", "config": options})


def test_decompress_error_lists_allowed_algorithms() -> None:
    with pytest.raises(ConfigError, match="autodetect, gzip, zlib, xz2, lz4, zstd, snappy, br"):
        DecompressPre(algorithm="bz2")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "'algorithm' is required"),
        ({"algorithm": "autodetect"}, "one of gzip"),
        ({"algorithm": "gzip", "level": 10}, "0..9"),
        ({"algorithm": "br", "level": 12}, "0..11"),
        ({"algorithm": "zstd", "level": 23}, "-7..22"),
        ({"algorithm": "lz4", "level": -1}, "0..16"),
        ({"algorithm": "snappy", "level": 1}, "not supported"),
        ({"algorithm": "gzip", "level": "9"}, "level"),
        ({"algorithm": "gzip", "level": True}, "level"),
        ({"algorithm": "gzip", "max_length": 1}, "allowed: algorithm, level"),
    ],
)
def test_compress_bad_options(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        create_postprocessor({"name": "compress", "config": options})


@pytest.mark.parametrize("algorithm", ["gzip", "zlib", "xz2", "lz4", "zstd", "br"])
def test_compress_levels(algorithm: str) -> None:
    from rxunix.processors.compression import LEVELS

    for level in LEVELS[algorithm]:
        packed = CompressPost(algorithm=algorithm, level=level).process(PAYLOAD)[0]
        assert DecompressPre(algorithm=algorithm).feed(packed) == [PAYLOAD]


# --- optional extras ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "modules", "extra"),
    [
        ("lz4", ["lz4", "lz4.frame"], "lz4"),
        ("zstd", ["zstandard"], "zstd"),
        ("snappy", ["snappy"], "snappy"),
        ("br", ["brotli"], "brotli"),
    ],
)
def test_missing_extra(
    monkeypatch: pytest.MonkeyPatch, algorithm: str, modules: list[str], extra: str
) -> None:
    packed = compress(algorithm, PAYLOAD)
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # makes "import m" fail
    with pytest.raises(MissingExtraError) as info:
        DecompressPre(algorithm=algorithm)
    assert info.value.extra == extra
    assert f"rxunix[{extra}]" in str(info.value)
    with pytest.raises(MissingExtraError):
        CompressPost(algorithm=algorithm)
    # autodetect meeting such data: an error in line, not an exception
    [out] = DecompressPre().feed(packed)
    if algorithm == "br":
        assert out == packed
    else:
        assert isinstance(out, FramingError)
        assert f"rxunix[{extra}]" in str(out)
    assert DecompressPre().feed(compress("gzip", b"ok")) == [b"ok"]
