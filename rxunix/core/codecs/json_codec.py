"""``json``: minified UTF-8 JSON, via simplejson (default) or orjson.

Output is minified, raw UTF-8 (no ``\\u`` escapes), floats in shortest
round-trip form as Tremor (ryu) writes them (``1e-7``, ``1.5e300``,
``0.00001``); ``mode="sorted"`` sorts object keys::

    >>> JsonCodec(mode="sorted").encode({"b": 1, "a": [0.1, -2, "ü", 1e-7]})
    b'{"a":[0.1,-2,"\\xc3\\xbc",1e-7],"b":1}'
    >>> JsonCodec().decode(b'{"x": 848311734.7466849}')
    {'x': 848311734.7466849}

``backend="orjson"`` (extra ``rxunix[orjson]``) uses orjson's encoder and decoder
(figures in ``docs/benchmarks.md``) and gives the same bytes for ordinary data (both backends write ``bytes`` values as
UTF-8 text, read-only mappings as objects, ``None``/int/bool/float keys as
strings, and refuse NaN and infinities). Known differences, all at the edges:

* integers beyond 64 bits: simplejson encodes and decodes them exactly; orjson
  refuses to encode them (:class:`~rxunix.core.errors.CodecError`) and decodes them
  as (lossy) floats;
* decoding ``1e400`` gives ``inf`` under simplejson, a ``CodecError`` under orjson;
* decoding a lone surrogate escape (``"\\ud800"``) or a leading UTF-8 BOM works
  under simplejson, is a ``CodecError`` under orjson.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from functools import partial
from itertools import repeat
from typing import Any

import simplejson

from ..config import choice, validate
from ..errors import CodecError, MissingExtraError
from .base import Codec
from .json_numbers import EXP_PLUS, EXP_TOKEN, MAYBE_EXP, PLAIN_SEP, drop_plus, has_nonfinite, ryu_float
from .json_slices import cut_points, join_spans, overlapping, piece_offsets, shared_elements, shared_runs

__all__ = ["JsonCodec"]


def _default(obj: Any) -> Any:
    """Types both backends write the same way: bytes as UTF-8 text, mappings as objects."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8")
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# Encoder/decoder objects are immutable once built: share them between streams.
_DECODER = simplejson.JSONDecoder(allow_nan=False)
_SCAN = _DECODER.scan_once
_ENCODERS = {
    sort: simplejson.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, sort_keys=sort, allow_nan=False, default=_default
    )
    for sort in (False, True)
}



def _fast_encoder(sort: bool) -> Callable[[Any], str] | None:
    """simplejson's ``JSONEncoder.encode`` builds its C encoder anew on every call,
    a large part of the cost of encoding a small event. Build it once and reuse it.

    This uses simplejson's C ``make_encoder`` directly; if its signature differs
    in the installed simplejson, or the output differs from the public encoder's
    on a probe value, the public encoder is used instead.
    """
    try:
        from simplejson import _speedups

        memo: dict[Any, Any] = {}
        public = _ENCODERS[sort]
        iterencode = _speedups.make_encoder(
            None, public.default, simplejson.encoder.encode_basestring, None, ":", ",", sort,
            False, False, memo, False, True, True, None, None, "utf-8", False, False,
            decimal.Decimal, False,
        )
        join = "".join

        def encode(value: Any) -> str:
            if isinstance(value, str):  # the C encoder only takes containers and scalars alike
                return public.encode(value)  # type: ignore[no-any-return]
            try:
                return join(iterencode(value, 0))
            finally:
                if len(memo) > 4096:  # key cache: bounded
                    memo.clear()

        probe = {"b": [1, -2.5, "ü\n", None, True, {"x": 1e-7}], "a": "é", "c": 2**70}
        if encode(probe) != public.encode(probe):
            return None
        return encode
    except Exception:  # pragma: no cover - older/other simplejson builds
        return None


#: values per join when orjson encodes a batch. orjson writes each value into a buffer of
#: at least 1 KiB from the C allocator and then shrinks it; holding a 64 KiB read's 500
#: outputs at once grows the C heap by half a megabyte, which glibc hands back to the
#: system after the join and faults in again on the next batch: ~3 us a value instead of
#: ~0.3 (``bench/profile_chains.py``; ``MALLOC_TRIM_THRESHOLD_`` hides it). Joining 64 at
#: a time keeps the heap under glibc's trim threshold (128 KiB).
_JOIN_CHUNK = 64


def _dumps_joined(dumps: Callable[[Any, Any, int], bytes], values: list[Any], sep: bytes, option: int) -> bytes:
    """``dumps(value, _default, option)`` of each value, each followed by ``sep``, joined
    ``_JOIN_CHUNK`` values at a time (``map`` passes the arguments: no Python frame per value)::

        >>> _dumps_joined(lambda v, _d, _o: str(v).encode(), list(range(130)), b",", 0)[-12:]
        b'127,128,129,'
    """
    if len(values) <= _JOIN_CHUNK:
        parts = list(map(dumps, values, repeat(_default), repeat(option)))
    else:
        parts = [sep.join(map(dumps, values[i:i + _JOIN_CHUNK], repeat(_default), repeat(option)))
                 for i in range(0, len(values), _JOIN_CHUNK)]
    parts.append(b"")  # the separator after the last value
    return sep.join(parts)


class JsonCodec(Codec):
    """JSON codec; options ``mode`` (``unsorted``/``sorted``), ``backend`` (``simplejson``/``orjson``).

    Example::

        >>> JsonCodec(backend="orjson").encode({"a": 1.5e300})
        b'{"a":1.5e300}'
    """

    name = "json"
    SCHEMA = {"mode": choice("unsorted", "sorted"), "backend": choice("simplejson", "orjson")}
    #: ``decode_batch`` raises on a frame that is not bytes (orjson: TypeError, simplejson: no ``decode``)
    frames_checked = True

    def __init__(self, **options: Any) -> None:
        opts = validate("json", options, self.SCHEMA)
        self.sorted = opts["mode"] == "sorted"
        self.backend = opts["backend"]
        if self.backend == "orjson":
            try:
                import orjson
            except ImportError:
                raise MissingExtraError("json backend 'orjson'", "orjson", "orjson") from None
            self._orjson = orjson
            self._option_all = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if self.sorted else 0)
            # str keys only (about twice as fast); the first value with another key switches
            # this codec to the full options for good (the output of str keys is the same).
            # orjson is called with positional arguments: keywords cost a dict per call.
            self._option = self._option_all & ~orjson.OPT_NON_STR_KEYS
            self.decode = self._decode_orjson  # type: ignore[method-assign]
            self.encode = self._encode_orjson  # type: ignore[method-assign]
            # (no Python frame between the encoder and the orjson pass)
            self.encode_finite_batch = partial(self._encode_batch_orjson, nonfinite=False)  # type: ignore[method-assign]
            self.decodes_finite = True  # orjson refuses NaN, Infinity and overflowing numbers
        else:
            self._encode_str = _fast_encoder(self.sorted) or _ENCODERS[self.sorted].encode

    def decode(self, data: bytes) -> Any:
        # Fast path: one C scan of the whole frame (simplejson's decode() adds two
        # regex matches and Python frames around the same scan). Anything unusual
        # (surrounding whitespace, errors) takes the full decoder below, so values
        # and error messages are exactly simplejson's.
        try:
            text = data.decode("utf-8")
            value, end = _SCAN(text, 0)
            if end == len(text):
                return value
        except (StopIteration, ValueError, RecursionError):
            pass
        try:
            return _DECODER.decode(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise CodecError(f"json: cannot decode {_preview(data)}: {exc}") from None

    def encode(self, value: Any) -> bytes:
        try:
            text: str = self._encode_str(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise CodecError(f"json: cannot encode {type(value).__name__}: {exc}") from None
        if ("e-" in text or "e+" in text) and MAYBE_EXP.search(text):
            text = EXP_TOKEN.sub(ryu_float, text)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CodecError(f"json: cannot encode {type(value).__name__}: {exc}") from None

    def decode_batch(self, frames: list[bytes]) -> list[Any]:
        """Many frames in one loop (no Python call per frame); raises on the first failure."""
        if self.backend == "orjson":
            if len(frames) == 1:  # (a round trip's read)
                return [self._orjson.loads(frames[0])]
            return list(map(self._orjson.loads, frames))
        scan = _SCAN
        out: list[Any] = []
        append = out.append
        for frame in frames:
            text = frame.decode("utf-8")
            value, end = scan(text, 0)
            if end != len(text):
                raise ValueError("trailing data")
            append(value)
        return out

    def encode_batch(self, values: list[Any], sep: bytes) -> bytes:
        """Many values in one joined pass; raises on the first failure (see :class:`Codec`)."""
        if not values:
            return b""
        if self.backend == "orjson":
            return self._encode_batch_orjson(values, sep)
        if not PLAIN_SEP.fullmatch(sep):  # the exponent rewrite must not see into separators
            return super().encode_batch(values, sep)
        if overlapping(values):
            runs = shared_runs(values)
            if runs is not None:
                return self._encode_runs(*runs, sep)
            shared = shared_elements(values)
            if shared is not None:
                return self._encode_shared(values, shared, sep)
        texts = list(map(self._encode_str, values))
        texts.append("")  # the separator after the last value
        text = sep.decode("ascii").join(texts)
        if ("e-" in text or "e+" in text) and MAYBE_EXP.search(text):
            text = EXP_TOKEN.sub(ryu_float, text)
        return text.encode("utf-8")

    def encode_finite_batch(self, values: list[Any], sep: bytes) -> bytes:
        """:meth:`encode_batch` of values without NaN or infinite floats. With orjson the
        codec binds this name to its orjson pass without the search for ``null`` (orjson
        writes NaN and infinity as ``null``, so other batches are searched: about a third
        of the cost of encoding a read of typical lines); simplejson refuses them as it
        encodes, so here it is :meth:`encode_batch`."""
        return self.encode_batch(values, sep)

    def _encode_batch_orjson(self, values: list[Any], sep: bytes, nonfinite: bool = True) -> bytes:
        """:meth:`encode_batch` with orjson; ``nonfinite``: values may hold NaN or infinity."""
        if len(values) > 1 and values[0].__class__ is list and overlapping(values):
            runs = shared_runs(values)
            if runs is not None:
                return self._encode_runs_orjson(*runs, sep)
        try:
            if len(values) == 1:  # (a round trip's read: no map, no list)
                out = self._orjson.dumps(values[0], _default, self._option) + sep
            else:
                out = _dumps_joined(self._orjson.dumps, values, sep, self._option)
        except TypeError:  # orjson.JSONEncodeError: maybe a non-str key
            if self._option == self._option_all:
                raise
            out = _dumps_joined(self._orjson.dumps, values, sep, self._option_all)
            self._option = self._option_all  # it was a non-str key: keep the full options
        if b"+" in out and b"e+" in out:  # the one-byte search is a memchr
            out = EXP_PLUS.sub(drop_plus, out)
        if nonfinite and b"null" in out and any(map(has_nonfinite, values)):
            raise CodecError("json: cannot encode a NaN or infinite float")
        return out

    def encode_slices(self, elems: list[Any], spans: list[tuple[int, int]], sep: bytes) -> bytes:
        """Slices of one sequence (see :class:`Codec`): each element encoded once."""
        if not spans:
            return b""
        if self.backend == "orjson":
            return self._encode_runs_orjson(elems, spans, sep)
        if not PLAIN_SEP.fullmatch(sep):
            return super().encode_slices(elems, spans, sep)
        return self._encode_runs(elems, spans, sep)

    def _encode_runs(self, elems: list[Any], spans: list[tuple[int, int]], sep: bytes) -> bytes:
        """Slices of one sequence (see :func:`shared_runs`). The sequence is cut where a
        slice starts or ends (every ``step`` elements for sliding windows); each piece is
        encoded as one list in one call (``[`` + its elements joined by ``,`` + ``]``: the
        minified encoder's list) and its exponents rewritten, so each element is encoded
        once; each slice is then one substring of the joined pieces, as the encoder writes
        the list alone."""
        cuts = cut_points(len(elems), spans)
        texts = [t[1:-1] for t in map(self._encode_str, map(elems.__getitem__, map(slice, cuts, cuts[1:])))]
        text = ",".join(texts)
        if ("e-" in text or "e+" in text) and MAYBE_EXP.search(text):
            texts = [EXP_TOKEN.sub(ryu_float, t) for t in texts]  # per piece: whole values, never across two
            text = ",".join(texts)
        return join_spans(text, piece_offsets(cuts, texts), spans, sep)

    def _encode_runs_orjson(self, elems: list[Any], spans: list[tuple[int, int]], sep: bytes) -> bytes:
        """:meth:`_encode_runs` with orjson: each piece one ``dumps`` of a list (the bytes
        between its brackets), each slice a cut of the joined bytes."""
        cuts = cut_points(len(elems), spans)
        try:
            pieces = [self._dumps(p)[1:-1] for p in map(elems.__getitem__, map(slice, cuts, cuts[1:]))]
        except TypeError:  # orjson.JSONEncodeError: maybe a non-str key
            if self._option == self._option_all:
                raise
            self._option = self._option_all  # keep the full options, as the other paths do
            return self._encode_runs_orjson(elems, spans, sep)
        text = b",".join(pieces)
        if b"+" in text and b"e+" in text:  # per piece: whole values, strings never cut
            pieces = [EXP_PLUS.sub(drop_plus, p) for p in pieces]
            text = b",".join(pieces)
        if b"null" in text and any(map(has_nonfinite, elems)):
            raise CodecError("json: cannot encode a NaN or infinite float")
        return join_spans(text, piece_offsets(cuts, pieces), spans, sep)

    def _encode_shared(self, values: list[list[Any]], shared: dict[int, Any], sep: bytes) -> bytes:
        """Lists sharing their elements (see :func:`shared_elements`): each distinct
        element encoded and its exponents rewritten once (a rewrite never spans two
        elements: they are whole JSON values, joined by ``,``, brackets and ``sep``)."""
        texts = list(map(self._encode_str, shared.values()))
        probe = "\n".join(texts)
        if ("e-" in probe or "e+" in probe) and MAYBE_EXP.search(probe):
            texts = [EXP_TOKEN.sub(ryu_float, t) for t in texts]
        get = dict(zip(shared, texts, strict=True)).__getitem__
        parts = ["[" + ",".join(map(get, map(id, v))) + "]" for v in values]
        parts.append("")
        return sep.decode("ascii").join(parts).encode("utf-8")

    def _decode_orjson(self, data: bytes) -> Any:
        try:
            return self._orjson.loads(data)
        except (self._orjson.JSONDecodeError, RecursionError) as exc:
            raise CodecError(f"json: cannot decode {_preview(data)}: {exc}") from None

    def _encode_orjson(self, value: Any) -> bytes:
        try:
            out: bytes = self._dumps(value)
        except TypeError:  # orjson.JSONEncodeError: maybe a non-str key
            out = self._encode_orjson_all(value)
        except (ValueError, RecursionError) as exc:
            raise CodecError(f"json: cannot encode {type(value).__name__}: {exc}") from None
        if b"+" in out and b"e+" in out:
            out = EXP_PLUS.sub(drop_plus, out)
        # orjson writes NaN/inf as null: refuse them like simplejson does
        if b"null" in out and has_nonfinite(value):
            raise CodecError(f"json: cannot encode {type(value).__name__}: NaN or infinite float")
        return out

    def _dumps(self, value: Any) -> bytes:
        """orjson's bytes of ``value`` with the codec's current options."""
        out: bytes = self._orjson.dumps(value, _default, self._option)
        return out

    def _encode_orjson_all(self, value: Any) -> bytes:
        """``value`` with every option (non-str keys too); if that works, the codec keeps them."""
        try:
            out: bytes = self._orjson.dumps(value, _default, self._option_all)
        except (TypeError, ValueError, RecursionError) as exc:
            raise CodecError(f"json: cannot encode {type(value).__name__}: {exc}") from None
        self._option = self._option_all
        return out


def _preview(data: bytes, limit: int = 40) -> str:
    shown = data[:limit]
    return repr(shown) + ("..." if len(data) > limit else "") + f" ({len(data)} bytes)"
