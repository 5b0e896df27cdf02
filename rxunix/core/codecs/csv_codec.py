"""``csv``: one RFC 4180 CSV record per frame <-> a list of strings.

As in Tremor, every field decodes to a string and a list encodes to one line
without a trailing newline; strings are written as they are, numbers, booleans
and null as Tremor displays them (``123``, ``2.5``, ``1`` for ``1.0``, never an
exponent; ``true``, ``null``), lists and maps as their JSON text::

    >>> c = CsvCodec()
    >>> c.decode(b'"some "" field",1234567,other_text')
    ['some " field', '1234567', 'other_text']
    >>> c.encode(["a", "b,c", 123, None, 1.0, 1e-7, 1e21])
    b'a,"b,c",123,null,1,0.0000001,1000000000000000000000'

Beyond Tremor, which silently drops every record after the first, a frame
holding more than one record is a :class:`~rxunix.core.errors.CodecError` (use the
``separate`` preprocessor to split lines); so are an empty frame, invalid
UTF-8, malformed quoting, and encoding anything but a non-empty list.
"""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal
from typing import Any

from ..config import validate
from ..errors import CodecError
from .base import Codec
from .json_codec import JsonCodec

__all__ = ["CsvCodec"]

_JSON = JsonCodec()


def _display(value: float) -> str:
    """A float as Rust's ``Display`` writes it (Tremor's ``to_string``): the shortest
    digits that read back, in plain decimal notation, no ``.0``."""
    if not math.isfinite(value):
        return "NaN" if value != value else ("inf" if value > 0 else "-inf")
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Dialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = True


class CsvCodec(Codec):
    """One CSV record <-> list of strings. No options."""

    name = "csv"

    def __init__(self, **options: Any) -> None:
        validate("csv", options, {})

    def decode(self, data: bytes) -> Any:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"csv: invalid UTF-8 at byte {exc.start}") from None
        if text.endswith("\n"):
            text = text[:-2] if text.endswith("\r\n") else text[:-1]
        if not text:
            raise CodecError("csv: empty frame")
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), _Dialect))
        except csv.Error as exc:
            raise CodecError(f"csv: cannot decode {text[:40]!r}: {exc}") from None
        if len(rows) != 1:
            raise CodecError(f"csv: expected one record per frame, got {len(rows)} in {text[:40]!r}")
        return rows[0]

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, (list, tuple)):
            raise CodecError(f"csv: can only encode a list of fields, got {type(value).__name__}")
        if not value:
            raise CodecError("csv: cannot encode an empty record")
        fields = [v if isinstance(v, str) else _display(v) if isinstance(v, float) else _JSON.encode(v).decode("utf-8")
                  for v in value]
        out = io.StringIO(newline="")
        try:
            csv.writer(out, _Dialect).writerow(fields)
            return out.getvalue()[:-2].encode("utf-8")
        except (csv.Error, UnicodeEncodeError) as exc:
            raise CodecError(f"csv: cannot encode record: {exc}") from None
