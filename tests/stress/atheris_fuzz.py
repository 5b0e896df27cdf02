"""Coverage-guided fuzzing (atheris/libFuzzer) of every framing x codec chain.

    python tests/stress/atheris_fuzz.py -runs=20000      # optional: pip install atheris

The first input byte picks the chain, the second the chunking; the rest is the
stream. Invariants as in ``test_fuzz_framing``: no exception escapes, every item is
a value or an in-line error, and random chunking decodes exactly like the whole
stream. ``bench/stress_report.py --full`` runs it when atheris is installed.
"""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

with atheris.instrument_imports():
    from rxunix.errors import RxUnixError
    from rxunix.framing import DecoderFactory

    from tests.stress._chains import CODECS, FRAMINGS, normal

    # the registry imports processors and codecs lazily: do it here, instrumented
    CHAINS = [(f, c) for f in sorted(FRAMINGS) for c in CODECS]
    FACTORIES = [DecoderFactory(FRAMINGS[f][0], c) for f, c in CHAINS]


def decode(factory: DecoderFactory, chunks: list[bytes]) -> list[object]:
    d = factory()
    out: list[object] = []
    for c in chunks:
        out.extend(d.feed(c))
    out.extend(d.finish())
    return out


def one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    factory = FACTORIES[data[0] % len(FACTORIES)]
    step = 1 + data[1] % 17
    body = data[2:]
    whole = decode(factory, [body])
    chunked = decode(factory, [body[i:i + step] for i in range(0, len(body), step)])
    for item in whole + chunked:
        if isinstance(item, BaseException) and not isinstance(item, RxUnixError):
            raise AssertionError(f"non-rxunix failure in line: {item!r}")
    if normal(whole) != normal(chunked):
        raise AssertionError(f"chunking changed the outcome: {normal(whole)} != {normal(chunked)}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
