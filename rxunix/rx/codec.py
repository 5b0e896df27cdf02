"""Rx operators that run the framing chains on any observable of byte chunks.

The same registry names as the connectors use, so a chain can be tried on a
file, a list or a socket alike. Input items are :class:`Chunk` (bytes tagged with
a stream id and that stream's metadata) or plain ``bytes`` (one anonymous
stream). State is kept per stream and flushed at the stream's end (a
``Chunk(stream, None)``) or when the source completes::

    >>> import reactivex as rx
    >>> out = []
    >>> rx.of(b'{"a":1}\\n{"a"', b':2}\\nbad\\n', b'3').pipe(
    ...     decode(["separate"], "json")).subscribe(out.append)  # doctest: +ELLIPSIS
    <...>
    >>> [e.value if not e.is_error else e.value["kind"] for e in out]
    [{'a': 1}, {'a': 2}, 'CodecError', 3]

Failures never end the stream: they are ``ErrorEvent``s, emitted in line or,
with ``errors=observer``, sent there.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import reactivex
from reactivex import Observable, abc

from ..core.event import ErrorEvent, Event, error_event, is_failure
from ..core.framing import Decoder, DecoderFactory, Encoder, EncoderFactory
from ..core.registry import Spec

__all__ = ["Chunk", "decode", "encode", "end_of_stream"]

_NO_META: Mapping[str, Any] = MappingProxyType({})


class Chunk(NamedTuple):
    """Bytes of one stream. ``data=None`` marks the end of that stream."""

    stream: Hashable
    data: bytes | None
    meta: Mapping[str, Any] = _NO_META


_chunk = tuple.__new__  # builds a Chunk without NamedTuple's Python-level __new__


def end_of_stream(stream: Hashable, meta: Mapping[str, Any] = _NO_META) -> Chunk:
    """The marker that flushes and forgets one stream's state."""
    return Chunk(stream, None, meta)


ErrorSink = abc.ObserverBase[ErrorEvent] | Callable[[ErrorEvent], None] | None


def _error_sink(errors: ErrorSink, inline: Callable[[Any], None]) -> Callable[[ErrorEvent], None]:
    if errors is None:
        return inline
    if isinstance(errors, abc.ObserverBase):
        return errors.on_next
    if not callable(errors):
        raise TypeError(f"errors must be an observer, a callable or None, got {errors!r}")
    return errors


def _subscribe_flushing(
    source: Observable[Any],
    observer: abc.ObserverBase[Any],
    on_next: Callable[[Any], None],
    flush_all: Callable[[], None],
    scheduler: abc.SchedulerBase | None,
) -> abc.DisposableBase:
    """Subscribe ``on_next`` to ``source``; at completion or error, flush every
    stream's state first (nothing held is lost), then pass the end on."""

    def on_error(exc: Exception) -> None:
        flush_all()
        observer.on_error(exc)

    def on_completed() -> None:
        flush_all()
        observer.on_completed()

    return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)


def decode(
    preprocessors: Sequence[Spec] | None = None,
    codec: Spec = "json",
    *,
    errors: ErrorSink = None,
) -> Callable[[Observable[Any]], Observable[Event]]:
    """Bytes/:class:`Chunk` -> :class:`~rxunix.core.event.Event`, per-stream state.

    Names and options are validated at once (``ConfigError``). The events'
    metadata is the metadata of their stream's chunks.
    """
    make = DecoderFactory(preprocessors, codec)
    _error_sink(errors, print)  # validate now

    def operator(source: Observable[Any]) -> Observable[Event]:
        def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> Any:
            streams: dict[Hashable, tuple[Decoder, Mapping[str, Any]]] = {}
            emit = observer.on_next
            report = _error_sink(errors, emit)

            def publish(stream: Hashable, items: list[Any], meta: Mapping[str, Any]) -> None:
                for item in items:
                    if is_failure(item):
                        report(error_event(item, connector="decode", action="decode", stream=stream, meta=meta))
                    else:
                        emit(Event(item, meta))

            def on_next(item: Any) -> None:
                if isinstance(item, Chunk):
                    stream, data, meta = item
                else:
                    stream, data, meta = None, item, _NO_META
                state = streams.get(stream)
                if data is None:
                    if state is not None:
                        del streams[stream]
                        publish(stream, state[0].finish(), state[1])
                    return
                if state is None:
                    frozen = meta if isinstance(meta, MappingProxyType) else MappingProxyType(dict(meta))
                    state = streams[stream] = (make(), frozen)
                publish(stream, state[0].feed(bytes(data)), state[1])

            def flush_all() -> None:
                while streams:
                    stream, (dec, meta) = next(iter(streams.items()))
                    del streams[stream]
                    publish(stream, dec.finish(), meta)

            return _subscribe_flushing(source, observer, on_next, flush_all, scheduler)

        return reactivex.create(subscribe)

    return operator


def encode(
    codec: Spec = "json",
    postprocessors: Sequence[Spec] | None = None,
    *,
    stream: Callable[[Event], Hashable] | None = None,
    errors: ErrorSink = None,
) -> Callable[[Observable[Any]], Observable[Any]]:
    """:class:`~rxunix.core.event.Event` (or plain values) -> :class:`Chunk` of bytes to send.

    ``stream(event)`` picks the stream (default: one stream, ``None``); each
    stream has its own postprocessor state, flushed when the source completes.
    Encoding failures are error events (in line, or to ``errors``)::

        >>> import reactivex as rx
        >>> got = []
        >>> _ = rx.of({"a": 1}, {"b": 2}).pipe(encode("json", ["separate"])).subscribe(got.append)
        >>> b"".join(c.data for c in got)
        b'{"a":1}\\n{"b":2}\\n'
    """
    make = EncoderFactory(codec, postprocessors)
    _error_sink(errors, print)  # validate now

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None) -> Any:
            on_next, flush_all = _encoding(make, stream, observer.on_next, _error_sink(errors, observer.on_next))
            return _subscribe_flushing(source, observer, on_next, flush_all, scheduler)

        return reactivex.create(subscribe)

    return operator


def _encoding(
    make: EncoderFactory, stream: Callable[[Event], Hashable] | None, emit: Callable[[Any], None],
    report: Callable[[ErrorEvent], None],
) -> tuple[Callable[[Any], None], Callable[[], None]]:
    """``(on_next, flush_all)`` of one subscription of :func:`encode`: one encoder per stream."""
    encoders: dict[Hashable, Encoder] = {}

    def on_next(item: Any) -> None:
        ev = item if isinstance(item, Event) else Event(item)
        if isinstance(ev, ErrorEvent):
            report(ev)
            return
        key = stream(ev) if stream is not None else None
        enc = encoders.get(key)
        if enc is None:
            enc = encoders[key] = make()
        try:
            data = enc.encode(ev.value)
        except Exception as exc:
            report(error_event(exc, connector="encode", action="encode", stream=key, meta=ev.meta))
            return
        if data:
            emit(_chunk(Chunk, (key, data, ev.meta)))

    def flush_all() -> None:
        for key, enc in list(encoders.items()):
            try:
                data = enc.finish()
            except Exception as exc:
                report(error_event(exc, connector="encode", action="encode", stream=key))
                continue
            if data:
                emit(Chunk(key, data))
        encoders.clear()

    return on_next, flush_all
