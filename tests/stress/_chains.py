"""Every framing x codec combination the stress suite throws hostile input at.

A framing is a preprocessor chain plus the postprocessor chain that produces
well-formed frames for it, so hostile streams can mix valid frames with junk.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import msgpack
from rxunix.errors import RxUnixError
from rxunix.framing import EncoderFactory

LP = {"name": "length-prefixed", "config": {"max_length": 4096}}
TLP = {"name": "textual-length-prefixed", "config": {"max_length": 4096}}

#: name -> (preprocessors, postprocessors, one frame per separator-delimited part?)
FRAMINGS: dict[str, tuple[list[Any], list[Any], bool]] = {
    "separate": (["separate"], ["separate"], True),
    "separate(max_length=64)": ([{"name": "separate", "config": {"max_length": 64}}], ["separate"], True),
    "separate+remove-empty": (["separate", "remove-empty"], ["separate"], False),
    "separate+base64": (["separate", "base64"], ["base64", "separate"], True),
    "separate+base64+decompress": (
        ["separate", "base64", {"name": "decompress", "config": {"max_length": 65536}}],
        [{"name": "compress", "config": {"algorithm": "gzip"}}, "base64", "separate"],
        True,
    ),
    "length-prefixed": ([LP], ["length-prefixed"], False),
    "length-prefixed+ingest-ns": ([LP, "ingest-ns"], ["ingest-ns", "length-prefixed"], False),
    "length-prefixed+decompress(zstd)": (
        [LP, {"name": "decompress", "config": {"max_length": 65536}}],
        [{"name": "compress", "config": {"algorithm": "zstd"}}, "length-prefixed"],
        False,
    ),
    "textual-length-prefixed": ([TLP], ["textual-length-prefixed"], False),
}

#: codec -> well-formed payloads (decoded by that codec without error)
SAMPLES: dict[str, list[bytes]] = {
    "json": [b'{"a":1}', b"[1,2.5,null]", b'"s\\u00e9"', b"0"],
    "string": [b"hello", "h\u00e9".encode(), b""],
    "binary": [b"\x00\xff\n", b"x"],
    "msgpack": [msgpack.packb({"a": 1}), msgpack.packb([1, "x", None])],
    "yaml": [b"a: 1", b"- 1\n- two", b"x"],
    "csv": [b"a,b,c", b'"q,1",2'],
    "influx": [b"weather,loc=us temp=82 1465839830100400200", b"m f=1i"],
    "statsd": [b"foo:1|c", b"bar:2.5|ms|@0.5", b"g:-3|g"],
    "syslog": [b"<34>1 2003-10-11T22:14:15.003Z host app - ID47 - hello",
               b"<13>Feb  5 17:32:18 host app: hi"],
}
CODECS = sorted(SAMPLES)

#: bytes an attacker likes: separators, headers, huge lengths, partial UTF-8, NULs, digits
JUNK = [b"\n", b"\n\n", b" ", b"9", b"99999999999999999999 ", b"4 ", b"\x00" * 8,
        struct.pack(">Q", 2**63), struct.pack(">Q", 5), b"\xff\xfe", b"\xe2\x82", b"{", b'"', b"[[[[",
        b"<", b"|", b":", b",", b"=", b"\x1f\x8b", b"(\xb5/\xfd", b"aGk=", b"***", b"\r\n"]


def framed(framing: str, payload: bytes) -> bytes:
    """``payload`` framed as the framing's postprocessors would send it."""
    _, posts, _ = FRAMINGS[framing]
    return EncoderFactory("binary", posts)().encode(payload)


def normal(items: list[Any]) -> list[Any]:
    """Decoder output in a comparable form: values by repr (NaN-safe), failures by kind."""
    out: list[Any] = []
    for x in items:
        if isinstance(x, RxUnixError):
            out.append(("error", type(x).__name__))
        elif isinstance(x, BaseException):
            out.append(("EXCEPTION", type(x).__name__))  # never expected
        elif isinstance(x, float) and math.isnan(x):
            out.append(("value", "nan"))
        elif isinstance(x, dict) and {"measurement", "fields", "timestamp"} <= x.keys():
            # influx without a timestamp takes the decode time: compare the rest
            out.append(("value", repr({k: v for k, v in x.items() if k != "timestamp"})))
        else:
            out.append(("value", repr(x)))
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any order, duplicates allowed)."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]
