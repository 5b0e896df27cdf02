"""``csv``: one RFC 4180 CSV record per frame <-> a list of strings.

As in Tremor, every field decodes to a string and a list encodes to one line
without a trailing newline; strings are written as they are, other values as
their JSON text (``123``, ``true``, ``null``)::

    >>> c = CsvCodec()
    >>> c.decode(b'"some "" field",1234567,other_text')
    ['some " field', '1234567', 'other_text']
    >>> c.encode(["a", "b,c", 123, None])
    b'a,"b,c",123,null'

Beyond Tremor, which silently drops every record after the first, a frame
holding more than one record is a :class:`~rxunix.errors.CodecError` (use the
``separate`` preprocessor to split lines); so are an empty frame, invalid
UTF-8, malformed quoting, and encoding anything but a non-empty list.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from ..config import validate
from ..errors import CodecError
from .base import Codec
from .json_codec import JsonCodec

__all__ = ["CsvCodec"]

_JSON = JsonCodec()


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
        fields = [v if isinstance(v, str) else _JSON.encode(v).decode("utf-8") for v in value]
        out = io.StringIO(newline="")
        try:
            csv.writer(out, _Dialect).writerow(fields)
            return out.getvalue()[:-2].encode("utf-8")
        except (csv.Error, UnicodeEncodeError) as exc:
            raise CodecError(f"csv: cannot encode record: {exc}") from None
