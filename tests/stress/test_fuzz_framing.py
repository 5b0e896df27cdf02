"""Hostile input, pure layer: every framing x codec chain of :mod:`_chains` fed random
byte streams (valid frames mixed with attacker bytes) in random chunks.

Properties: no exception escapes ``feed``/``finish``; every output item is a value
or an in-line :class:`~rxunix.errors.RxUnixError`; the outcome does not depend on
how the stream was chunked (a frame never merges with or loses part of a
neighbour); for separator framings, every frame ends as exactly one value or one
error (nothing dropped).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rxunix.errors import RxUnixError
from rxunix.framing import DecoderFactory

from ._chains import CODECS, FRAMINGS, JUNK, SAMPLES, framed, normal, split
from ._figures import record, scale

EXAMPLES = int(scale(8, 300))
TRIED: dict[str, int] = {}
STARTED: list[float] = []


def stream(framing: str, codec: str) -> st.SearchStrategy[bytes]:
    good = [framed(framing, p) for c in (codec, "json") for p in SAMPLES[c]]
    piece = st.one_of(st.sampled_from(good), st.sampled_from(JUNK), st.binary(max_size=80))
    return st.lists(piece, max_size=30).map(b"".join)


def decode_all(factory: DecoderFactory, chunks: list[bytes]) -> list[object]:
    d = factory()
    out: list[object] = []
    for c in chunks:
        out.extend(d.feed(c))
    out.extend(d.finish())
    return out


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_chain_survives_hostile_streams(framing: str, codec: str) -> None:
    pres, _posts, one_per_part = FRAMINGS[framing]
    factory = DecoderFactory(pres, codec)
    STARTED.append(STARTED[0] if STARTED else time.monotonic())
    key = f"{framing}|{codec}"
    TRIED[key] = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=stream(framing, codec), cuts=st.lists(st.integers(0, 10_000), max_size=12))
    def check(data: bytes, cuts: list[int]) -> None:
        TRIED[key] += 1
        whole = decode_all(factory, [data])
        chunked = decode_all(factory, split(data, cuts))
        small = data[:256]
        bytewise = decode_all(factory, [small[i:i + 1] for i in range(len(small))])
        for item in whole + chunked:
            assert not isinstance(item, BaseException) or isinstance(item, RxUnixError), item
        assert normal(chunked) == normal(whole)
        assert normal(bytewise) == normal(decode_all(factory, [small]))
        if one_per_part:
            frames = data.split(b"\n")
            expected = len(frames) - (1 if frames[-1] == b"" else 0)
            assert len(whole) == expected, (len(whole), expected)

    check()


def test_zz_fuzz_framing_figures() -> None:
    """Summary row (runs after the parametrized fuzz tests of this module)."""
    chains = len(TRIED)
    tried = sum(TRIED.values())
    row = record("hostile input", "pure fuzz: every framing x codec, random chunks",
                 started=STARTED[0] if STARTED else None,
                 load=f"{chains} chains x {EXAMPLES} streams", bad_inputs=tried * 3,
                 note="whole, random chunks, byte by byte")
    assert chains == len(FRAMINGS) * len(CODECS)
    assert row.lost == 0
