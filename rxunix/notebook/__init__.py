"""rxunix in Jupyter: rich display, thread-safe collectors, live views and plots.

Inside an IPython kernel connectors run on a :class:`~rxunix.edge.runtime.ThreadRuntime`
(chosen automatically): the gevent hub lives in its own OS thread, so servers keep
accepting and windows keep closing while the kernel is idle between cells.

**Which thread runs what.** ``start()``, ``stop()`` and ``in_.on_next`` may be
called from cells (the kernel's main thread); they are handed into the hub thread.
Subscribers of ``out``/``err`` (your callbacks, window operators, the helpers
below) run in the *hub* thread. Their results reach the notebook in two ways:

* :class:`Collector`: an observer that stores events (with their arrival time)
  under a lock; a later cell reads it, or blocks on :meth:`Collector.wait` (the
  hub keeps running meanwhile). Its HTML form is a table of the events.
* :class:`LiveView`: a counter and a plot (ipywidgets + matplotlib, the
  ``notebook`` extra). The hub thread only records numbers; a small refresher
  thread renders the plot to PNG and sets the widgets at most every
  ``refresh`` seconds. The kernel sends widget updates from any thread, so the
  view moves while the kernel is idle.

Display: :class:`~rxunix.core.event.Event` and connectors have ``_repr_html_`` (value,
origin, counters); :class:`EventList` renders a list of events as a table.
Plots are plain matplotlib :class:`~matplotlib.figure.Figure` objects (no pyplot
state, so they can be built in any thread); show them with :func:`png`::

    >>> from rxunix.core.event import Event
    >>> ev = Event({"n": 1}, {"unix_socket_server": {"path": "/tmp/s", "peer": 3, "pid": 42}})
    >>> origin_text(ev.meta)
    'server /tmp/s peer 3 (pid 42)'
    >>> c = Collector()
    >>> c.on_next(ev); len(c), c.values
    (1, [{'n': 1}])
    >>> "<table" in c._repr_html_()
    True
"""

from __future__ import annotations

from .collector import Collector
from .html import EventList, connector_html, event_html, events_html, origin_text, pretty, value_text
from .live import LiveView
from .plots import plot_windows, png, png_bytes, window_rows
from .timeline import ConnectionTimeline, Sample, Timeline, Wait, plot_timeline

__all__ = [
    "Collector",
    "ConnectionTimeline",
    "EventList",
    "LiveView",
    "Sample",
    "Timeline",
    "Wait",
    "connector_html",
    "event_html",
    "events_html",
    "origin_text",
    "plot_timeline",
    "plot_windows",
    "png",
    "png_bytes",
    "pretty",
    "value_text",
    "window_rows",
]
