"""Rich display hooks: the notebook layer tells the core how to render its objects.

The core never imports the notebook layer; :mod:`rxunix.notebook` registers a
renderer per class, and ``_repr_html_`` of core and edge objects asks here::

    >>> class Thing: pass
    >>> register_html(Thing, lambda t: "<b>thing</b>")
    >>> html_of(Thing()), html_of(object())
    ('<b>thing</b>', None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_html", "html_of"]

_RENDERERS: dict[type, Callable[[Any], str]] = {}


def register_html(cls: type, render: Callable[[Any], str]) -> None:
    """Render instances of ``cls`` (and its subclasses) with ``render`` in notebooks."""
    _RENDERERS[cls] = render


def html_of(obj: Any) -> str | None:
    """The HTML of ``obj`` from the renderer of its nearest registered class, or None."""
    for cls in type(obj).__mro__:
        render = _RENDERERS.get(cls)
        if render is not None:
            return render(obj)
    return None
