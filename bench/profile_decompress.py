"""``decompress`` cost per frame, this tree against another version of the module, in one run.

    python bench/profile_decompress.py [--quick] [OLD_COMPRESSION_PY]

Without an argument, only this tree's rows. Frames: one member of ~110 KB (gzip, zstd,
lz4; zstd is fed in small slices under the default 16 MiB limit), one small member, and
a hostile frame of 4,000 tiny members. Best of 5 rounds, microseconds per frame.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import timeit
from types import ModuleType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import header  # noqa: E402

from rxunix.core.processors import compression  # noqa: E402


def _load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("old_compression", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "rxunix.core.processors"
    spec.loader.exec_module(module)
    return module


def main() -> None:
    args = sys.argv[1:]
    quick = "--quick" in args
    paths = [a for a in args if a != "--quick"]
    print(header("profile_decompress: decompress per frame, this tree and another version"))
    versions = [("this tree", compression)] + [("other", _load(p)) for p in paths[:1]]
    rnd = random.Random(1)
    big = bytes(rnd.choice(b"abcdefghij \n{}") for _ in range(200_000))
    small = b'{"snot":"badger","n":12345}' * 10
    print(f"{'algorithm':9} {'frame':>16} " + " ".join(f"{name:>12}" for name, _ in versions))
    for alg in ("gzip", "zstd", "lz4"):
        frames = [("1 member, big", compression.compress(alg, big)),
                  ("1 member, small", compression.compress(alg, small)),
                  ("4000 members", compression.compress(alg, b"ab") * 4000)]
        for label, frame in frames:
            number = 1 if quick else 20 if len(frame) > 10_000 else 2000
            cells = []
            for _, module in versions:
                fn = getattr(module, "_" + alg)
                rounds = timeit.repeat(lambda fn=fn, frame=frame: fn(frame, 1 << 24), number=number,
                                       repeat=1 if quick else 5)
                t = min(rounds) / number
                cells.append(f"{t * 1e6:10.1f}us")
            print(f"{alg:9} {label:>16} " + " ".join(cells))


if __name__ == "__main__":
    main()
