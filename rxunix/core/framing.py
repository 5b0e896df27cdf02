"""Per-stream decode and encode chains: preprocessors + codec, codec + postprocessors.

These are the pure cores the connectors and the Rx operators share. A
:class:`Decoder` belongs to one stream (one connection)::

    >>> d = DecoderFactory(["separate"], "json")()
    >>> d.feed(b'{"a":1}\\n{"a"'), d.feed(b':2}'), d.finish()
    ([{'a': 1}], [], [{'a': 2}])

Failures come back *in line*, as exception instances standing where the value
would have been, so their position in the stream is kept::

    >>> [type(x).__name__ if isinstance(x, Exception) else x for x in d.feed(b'1\\nnope\\n2\\n')]
    [1, 'CodecError', 2]

An :class:`Encoder` turns values into the bytes to send::

    >>> e = EncoderFactory("json", ["separate"])()
    >>> e.encode({"a": 1})
    b'{"a":1}\\n'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate, repeat
from operator import add
from typing import Any

from .codecs.base import Codec
from .errors import CodecError, FramingError, RxUnixError
from .event import is_failure
from .processors.base import Postprocessor, Preprocessor
from .registry import Spec, codec_factory, spec_list

_BYTES_ONLY = {bytes}

__all__ = ["Decoder", "Encoder", "DecoderFactory", "EncoderFactory", "is_failure"]


def _wrap(exc: Exception, what: str) -> RxUnixError:
    if isinstance(exc, RxUnixError):
        return exc
    return CodecError(f"{what}: {type(exc).__name__}: {exc}")


class Decoder:
    """Preprocessor chain + codec for one stream: ``feed(bytes)`` and ``finish()``."""

    __slots__ = ("_pres", "_codec", "_decode", "_decode_batch", "_split", "_unchecked", "clean", "finite")

    def __init__(self, preprocessors: Sequence[Preprocessor], codec: Codec) -> None:
        #: True when the last ``feed``/``finish`` output holds no failure (only values)
        self.clean = True
        self._pres = list(preprocessors)
        #: a chunk's frames: the one preprocessor's own ``feed`` when there is one (no frame between)
        self._split: Callable[[bytes], list[Any]] = self._pres[0].feed if len(self._pres) == 1 else self._frames
        self._codec = codec
        self._decode = codec.decode
        batch = getattr(codec, "decode_batch", None)
        self._decode_batch: Callable[[list[bytes]], list[Any]] = batch or (lambda fs: [codec.decode(f) for f in fs])
        # frames go to the batch decoder without a look at each one's type when it
        # raises on a failure among them itself (then the frame-by-frame pass places it)
        self._unchecked = batch is not None and getattr(codec, "frames_checked", False) is True
        #: True when a decoded value never holds a NaN or an infinite float (the codec's
        #: :attr:`~rxunix.core.codecs.base.Codec.decodes_finite`)
        self.finite = getattr(codec, "decodes_finite", False) is True

    def _frames(self, data: bytes) -> list[Any]:
        pres = self._pres
        if not pres:
            return [data]
        frames: list[Any] = pres[0].feed(data)
        for pre in pres[1:]:
            nxt: list[Any] = []
            for f in frames:
                if f.__class__ is bytes:
                    nxt.extend(pre.feed(f))
                else:
                    nxt.append(f)
            frames = nxt
        return frames

    def _values(self, frames: list[Any]) -> list[Any]:
        if not frames or self._unchecked or set(map(type, frames)) == _BYTES_ONLY:
            try:  # fast path: every frame decodes (codecs are pure, so a retry is safe)
                values = self._decode_batch(frames)
                self.clean = True
                return values
            except Exception:
                pass
        return self._each(frames)

    def _each(self, frames: list[Any]) -> list[Any]:
        """Frame by frame: each failure in its place."""
        decode = self._decode
        self.clean = False
        out: list[Any] = []
        append = out.append
        for f in frames:
            if isinstance(f, bytes):
                try:
                    append(decode(f))
                except Exception as exc:  # a codec must never kill the stream
                    append(_wrap(exc, "decode"))
            else:
                append(f)
        return out

    def feed(self, data: bytes) -> list[Any]:
        """Decode a received chunk: values, and failures in line."""
        try:
            frames = self._split(data)
        except Exception as exc:  # a buggy processor must not kill the stream
            self.clean = False
            return [_wrap(exc, "preprocess")]
        if not self._unchecked:
            return self._values(frames)
        try:  # (the fast path of _values, without its frame)
            values = self._decode_batch(frames)
        except Exception:
            return self._each(frames)
        self.clean = True
        return values

    def finish(self) -> list[Any]:
        """End of stream: flush every preprocessor in order and decode the rest."""
        frames: list[Any] = []
        for pre in self._pres:
            nxt: list[Any] = []
            try:
                for f in frames:
                    if f.__class__ is bytes:
                        nxt.extend(pre.feed(f))
                    else:
                        nxt.append(f)
                nxt.extend(pre.finish())
            except Exception as exc:
                nxt.append(_wrap(exc, "preprocess"))
            frames = nxt
        return self._values(frames)


class Encoder:
    """Codec + postprocessor chain for one stream.

    ``encode(value) -> bytes`` encodes one value into the bytes to send (possibly
    empty, e.g. ``collect``); it raises :class:`~rxunix.core.errors.CodecError` or
    :class:`~rxunix.core.errors.FramingError`.
    """

    __slots__ = ("_codec", "_encode", "_encode_batch", "_finite_batch", "_posts", "_suffix", "encode")

    def __init__(self, codec: Codec, postprocessors: Sequence[Postprocessor]) -> None:
        self._codec = codec
        self._encode = codec.encode
        self._encode_batch: Callable[[list[Any], bytes], bytes] | None = getattr(codec, "encode_batch", None)
        #: the batch encoder of values without NaN or infinity (see :meth:`encode_batch`)
        self._finite_batch = getattr(codec, "encode_finite_batch", self._encode_batch)
        self._posts = list(postprocessors)
        # the most common chain, codec + one ``separate``: one concatenation
        self._suffix: bytes | None = getattr(self._posts[0], "suffix", None) if len(self._posts) == 1 else None
        self.encode: Callable[[Any], bytes] = self._encode_suffix if self._suffix is not None else self._encode_chain

    @property
    def joins(self) -> bool:
        """True when :meth:`encode_with_ends` can encode a run of values in one call (a
        codec with a batch encoder and one one-byte ``separate``)."""
        return self._encode_batch is not None and self._suffix is not None and len(self._suffix) == 1

    def encode_with_ends(self, values: list[Any]) -> tuple[bytes, list[int]] | None:
        """The bytes of ``values`` (each as :meth:`encode` gives it) in one codec call, and
        the end offset of each; None when a value fails or holds the separator byte
        (then encode one value at a time). Each value's bytes end with the one-byte
        separator, so when it occurs once per value the ends are where it occurs::

            >>> EncoderFactory("json", ["separate"])().encode_with_ends([1, "a", [2]])
            (b'1\\n"a"\\n[2]\\n', [2, 6, 10])
            >>> EncoderFactory("string", ["separate"])().encode_with_ends(["x\\ny"]) is None
            True
        """
        if not values or not self.joins:
            return None
        suffix, batch = self._suffix, self._encode_batch
        assert suffix is not None and batch is not None  # (joins)
        try:
            data = batch(values, suffix)
        except Exception:
            return None
        if data.count(suffix) != len(values):
            return None
        pieces = data.split(suffix)
        pieces.pop()  # (after the last separator)
        return data, list(accumulate(map(add, map(len, pieces), repeat(1))))

    @property
    def splits_datagrams(self) -> bool:
        """True if a postprocessor's frames are datagrams of their own (``gelf-chunking``):
        see :meth:`encode_frames`."""
        return any(getattr(p, "frames_are_datagrams", False) for p in self._posts)

    @property
    def stateless(self) -> bool:
        """True if encoding a value twice gives the same bytes and changes nothing
        (no postprocessors, or only a ``separate``)."""
        return not self._posts or self._suffix is not None

    def _encode_suffix(self, value: Any) -> bytes:
        try:
            return self._encode(value) + self._suffix  # type: ignore[operator]
        except Exception as exc:
            raise _wrap(exc, "encode") from None

    def _post(self, chunks: list[bytes], start: int = 0) -> list[bytes]:
        for post in self._posts[start:]:
            nxt: list[bytes] = []
            for c in chunks:
                nxt.extend(post.process(c))
            chunks = nxt
        return chunks

    def _encode_chain(self, value: Any) -> bytes:
        """Encode one value into the bytes to send (possibly empty, e.g. ``collect``): its frames, joined.

        Raises :class:`~rxunix.core.errors.CodecError` or :class:`~rxunix.core.errors.FramingError`.
        """
        return b"".join(self.encode_frames(value))

    def encode_frames(self, value: Any) -> list[bytes]:
        """Encode one value into the frames its postprocessors make, unjoined (a datagram
        connector sends each as one datagram: ``gelf-chunking`` makes one per chunk)::

            >>> frames = EncoderFactory("string", [{"name": "gelf-chunking", "config": {"chunk_size": 14}}])(
            ...     ).encode_frames("abc")
            >>> [f[-2:] for f in frames]  # two chunks: 12 header bytes each, then "ab", "c"
            [b'ab', b'\\x02c']
        """
        try:
            data = self._encode(value)
        except Exception as exc:
            raise _wrap(exc, "encode") from None
        if self._suffix is not None:
            return [data + self._suffix]
        posts = self._posts
        try:
            return posts[0].process(data) if len(posts) == 1 else self._post([data])
        except Exception as exc:
            raise _postfail(exc) from None

    def encode_batch(self, values: Sequence[Any], slices: tuple[list[Any], list[tuple[int, int]]] | None = None,
                     finite: bool = False) -> tuple[bytes, list[tuple[int, RxUnixError]]]:
        """Encode a batch in one call: the joined bytes, and ``(index, error)`` of the values that failed.

        Equal to encoding each value with :meth:`encode` and joining the results::

            >>> EncoderFactory("json", ["separate"])().encode_batch([1, {"a": 2}])
            (b'1\\n{"a":2}\\n', [])

        ``slices`` ``(elems, spans)`` says that ``values`` are the lists
        ``elems[start:start + n]`` for each ``(start, n)`` of ``spans`` (see
        :class:`~rxunix.core.event.SliceBatch`): the codec may encode each element once.
        ``finite`` says that no value holds a NaN or an infinite float
        (:meth:`~rxunix.core.codecs.base.Codec.encode_finite_batch`).
        """
        suffix = self._suffix
        if slices is not None and suffix is not None:
            try:  # on a failure the passes below redo it value by value
                return self._codec.encode_slices(*slices, suffix), []
            except Exception:
                pass
        if suffix is not None or not self._posts:
            try:  # stateless chain: one pass; on a failure the per-value pass below redoes it
                batch = self._finite_batch if finite else self._encode_batch
                if batch is not None:
                    return batch(values if isinstance(values, list) else list(values), suffix or b""), []
                body = (suffix or b"").join(map(self._encode, values))
                return (body + suffix if suffix is not None and values else body), []
            except Exception:
                pass
        parts: list[bytes] = []
        failed: list[tuple[int, RxUnixError]] = []
        encode = self.encode
        for i, v in enumerate(values):
            try:
                parts.append(encode(v))
            except RxUnixError as exc:
                failed.append((i, exc))
        return b"".join(parts), failed

    def finish(self) -> bytes:
        """End of stream: whatever the postprocessors still hold (e.g. ``collect``)."""
        out: list[bytes] = []
        try:
            for i, post in enumerate(self._posts):
                out.extend(self._post(post.finish(), i + 1))
        except Exception as exc:
            raise _postfail(exc) from None
        return b"".join(out)


def _postfail(exc: Exception) -> RxUnixError:
    if isinstance(exc, RxUnixError):
        return exc
    return FramingError(f"postprocess: {type(exc).__name__}: {exc}")


class DecoderFactory:
    """Validated specs for making one :class:`Decoder` per stream.

    ``DecoderFactory(["separate"], "json")`` checks names and options at once
    and raises :class:`~rxunix.core.errors.ConfigError` on bad ones.
    """

    def __init__(self, preprocessors: Sequence[Spec] | None = None, codec: Spec = "json") -> None:
        self._pres: list[Callable[[], Preprocessor]] = spec_list("preprocessor", preprocessors)
        self._codec: Callable[[], Codec] = codec_factory(codec)

    def __call__(self) -> Decoder:
        return Decoder([p() for p in self._pres], self._codec())

    @property
    def spans_frames(self) -> bool:
        """True if a preprocessor joins pieces of one message from several frames
        (GELF chunks): such a decoder must see every frame of a source, not one each."""
        return any(make().spans_frames for make in self._pres)


class EncoderFactory:
    """Validated specs for making one :class:`Encoder` per stream."""

    def __init__(self, codec: Spec = "json", postprocessors: Sequence[Spec] | None = None) -> None:
        self._codec: Callable[[], Codec] = codec_factory(codec)
        self._posts: list[Callable[[], Postprocessor]] = spec_list("postprocessor", postprocessors)

    def __call__(self) -> Encoder:
        return Encoder(self._codec(), [p() for p in self._posts])
