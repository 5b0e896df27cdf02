"""The pure interfaces of pre- and postprocessors.

A preprocessor turns the received byte chunks of *one* stream into frames; it
keeps its own state between chunks and knows nothing of sockets::

    >>> from rxunix.core.processors.separate import SeparatePre
    >>> p = SeparatePre()
    >>> p.feed(b'{"a":1}\\n{"b"'), p.feed(b':2}\\n'), p.finish()
    ([b'{"a":1}'], [b'{"b":2}'], [])

Errors are returned *in line* as :class:`~rxunix.core.errors.FramingError`
instances, in stream order, so that good frames around a bad one are never lost.
A postprocessor turns one encoded event into zero or more byte chunks to send.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..errors import FramingError

__all__ = ["Frame", "Preprocessor", "Postprocessor"]

#: A preprocessor output item: a frame, or an error standing where a frame would.
Frame = bytes | FramingError


class Preprocessor(ABC):
    """Stateful, per-stream transform of received bytes into frames."""

    name: str = ""
    #: True for a preprocessor whose frames are pieces of messages spread over several
    #: frames (GELF chunks): a datagram server keeps one for all its datagrams instead
    #: of one per datagram.
    spans_frames: bool = False

    @abstractmethod
    def feed(self, data: bytes) -> list[Frame]:
        """Consume a chunk, return the frames (and errors) it completes, in order."""

    def finish(self) -> list[Frame]:
        """The stream ended: return whatever is still held (default: nothing)."""
        return []


class Postprocessor(ABC):
    """Stateful, per-stream transform of encoded events into bytes to send."""

    name: str = ""
    #: True if each frame it makes is a message of its own on a datagram socket
    #: (GELF chunks); otherwise a datagram connector joins an event's frames into one datagram.
    frames_are_datagrams: bool = False

    @abstractmethod
    def process(self, data: bytes) -> list[bytes]:
        """Transform one encoded event; may raise :class:`FramingError`."""

    def finish(self) -> list[bytes]:
        """The stream ends: return whatever is still held (default: nothing)."""
        return []
