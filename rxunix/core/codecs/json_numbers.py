"""Numbers in JSON text as Tremor (ryu) writes them, for the ``json`` codec's encoders.

Python's ``repr`` writes ``1e-07`` / ``1.5e+300`` / ``1e-05`` where Tremor's ryu
(and orjson) write ``1e-7`` / ``1.5e300`` / ``0.00001``; orjson 3.9 and newer
write ``1e+16`` where Tremor writes ``1e16``. The patterns here rewrite such
numbers in encoded text, never inside strings, in one linear scan::

    >>> EXP_TOKEN.sub(ryu_float, '[1e-07,"1e-07",1.5e+300,1e-05]')
    '[1e-7,"1e-07",1.5e300,0.00001]'
    >>> EXP_PLUS.sub(drop_plus, b'[1e+16,"1e+16"]')
    b'[1e16,"1e+16"]'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MAYBE_EXP", "EXP_TOKEN", "PLAIN_SEP", "EXP_PLUS", "drop_plus", "ryu_float", "ryu_text", "has_nonfinite"]

# Python's repr writes 1e-07 / 1.5e+300 / 1e-05; Tremor (ryu) and orjson write
# 1e-7 / 1.5e300 / 0.00001. Rewrite exponent floats outside of strings.
MAYBE_EXP = re.compile(r"\de[+-]")
# (a number starts after no digit or dot: a match tried inside a long digit run would
# make the scan quadratic)
EXP_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\d.])(-?\d+(?:\.\d+)?)e([+-]\d+)')


# separators the batch encoder may join text with (no digit, sign, "e", quote or backslash)
PLAIN_SEP = re.compile(rb"[\n\r\t ,;|]+")

# orjson >= 3.9 writes 1e+16 / 1.5e+300 where older releases (and Tremor) write
# 1e16 / 1.5e300: drop the "+" of exponents outside of strings.
EXP_PLUS = re.compile(rb'"(?:[^"\\]|\\.)*"|(\d)e\+')


def drop_plus(m: re.Match[bytes]) -> bytes:
    digit = m.group(1)
    return m.group(0) if digit is None else digit + b"e"


def ryu_float(m: re.Match[str]) -> str:
    mantissa = m.group(1)
    if mantissa is None:  # a string: leave it alone
        return m.group(0)
    exp = int(m.group(2))
    if exp == -5:  # ryu writes decimals down to 1e-5
        sign = "-" if mantissa[0] == "-" else ""
        return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"
    return f"{mantissa}e{exp}"


def ryu_text(value: float) -> str:
    """A finite float as Tremor's ryu writes it (``1e-7``, ``0.00001``, ``1.5e300``)::

        >>> ryu_text(1.5e-07), ryu_text(1e-05), ryu_text(0.25)
        ('1.5e-7', '0.00001', '0.25')
    """
    return EXP_TOKEN.sub(ryu_float, repr(value))


def has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(has_nonfinite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_nonfinite(v) for v in value)
    return False
