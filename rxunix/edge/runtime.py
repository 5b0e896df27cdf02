"""Where the gevent hub runs: in the caller's thread, or in a dedicated OS thread.

Scripts and services use a :class:`LocalRuntime` (the default): connectors'
greenlets run on the hub of the thread that started them, and the program must
let that hub run (``gevent.wait()``, ``connector.join()``, blocking gevent
calls...). RxPY's blocking ``Observable.run()`` waits on an OS lock, which
never lets the hub run: in an unpatched script it hangs; use it with a
:class:`ThreadRuntime` (or a monkey-patched process), or collect with a
subscriber and ``join()``. Notebooks and REPLs use a :class:`ThreadRuntime`: the hub runs in its
own OS thread, so events keep flowing while the interpreter is idle; calls made
from any other thread are handed into the hub thread safely. Inside an IPython
kernel the thread runtime is chosen automatically::

    >>> rt = ThreadRuntime()
    >>> rt.call(lambda: 40 + 2)
    42
    >>> rt.close()

Callbacks of ``out``/``err`` subscribers always run in the hub thread of the
connector's runtime. In a notebook that is not the thread running your cells:
keep callbacks short and non-blocking, and get their results to the notebook
through :class:`rxunix.notebook.Collector` (a thread-safe list a later cell reads
or waits on) or :class:`rxunix.notebook.LiveView` (widgets updated from the hub
thread; the kernel sends the updates even while idle). ``print()`` in a callback
lands in whatever cell output the kernel associates with that thread: do not
rely on it. Subscribe and push (``in_.on_next``) from the notebook's thread
freely: ``in_`` hands events into the hub thread, ``start()``/``stop()`` run
there and return when done; for anything else that must run on the hub (e.g.
spawning a greenlet) use :meth:`Runtime.call` or :meth:`Runtime.call_soon`.
"""

from __future__ import annotations

import sys
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import gevent.event
from gevent import monkey
from gevent.hub import Hub

__all__ = ["Runtime", "LocalRuntime", "ThreadRuntime", "get_runtime", "set_runtime", "in_ipython_kernel",
           "waits_cooperatively"]

T = TypeVar("T")

# Real OS-thread primitives even when the process is monkey-patched.
_get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")
_start_new_thread: Callable[..., int] = monkey.get_original("_thread", "start_new_thread")
_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")


def waits_cooperatively() -> bool:
    """True when ``threading`` is monkey-patched: a thread that waits for another
    thread's hub must then let its own hub run, where the patched "threads" (greenlets)
    that may be feeding the stream live."""
    return bool(monkey.is_module_patched("threading"))


class _Done:
    """Set once in one thread, waited on in another: an OS lock, or (``threading``
    patched) a gevent event, whose waiter lets its own hub run meanwhile."""

    __slots__ = ("_event", "_lock")

    def __init__(self) -> None:
        self._event: gevent.event.Event | None = None
        self._lock: Any = None
        if waits_cooperatively():
            self._event = gevent.event.Event()  # (set from another thread: gevent >= 20.12 wakes this one)
        else:
            self._lock = _allocate_lock()
            self._lock.acquire()

    def set(self) -> None:
        if self._event is not None:
            self._event.set()
        else:
            self._lock.release()

    def wait(self, timeout: float | None) -> bool:
        event = self._event
        if event is None:
            return bool(self._lock.acquire(True, -1 if timeout is None else timeout))
        # (in slices: a wait with a timer keeps this hub's loop alive; waiting without
        # one on a hub with nothing else to do is gevent's LoopExit, whoever sets the event)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if event.wait(max(0.0, left)):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False


class Runtime(ABC):
    """Owns one gevent hub and hands work into its thread."""

    hub: Hub
    thread_id: int

    def in_hub_thread(self) -> bool:
        """True when called from the thread that runs this runtime's hub."""
        return _get_ident() == self.thread_id

    #: True once :meth:`close` has been called; hand-offs are refused from then on.
    closed: bool = False

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"{type(self).__name__} is closed")

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in the hub thread soon; safe from any thread.

        An exception raised by ``fn`` is reported by the hub (printed), not
        raised here: use :meth:`call` to get results and errors back.
        """
        self._check_open()
        if self.in_hub_thread():
            self.hub.loop.run_callback(fn, *args)
        else:
            self.hub.loop.run_callback_threadsafe(fn, *args)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = 30.0) -> T:
        """Run ``fn(*args)`` in the hub thread and return its result (or raise its error).

        From the hub thread itself this is a plain call. From another thread it waits up
        to ``timeout`` seconds (None: no limit; then ``TimeoutError``); a closed runtime
        is a ``RuntimeError`` (as for :meth:`call_soon`).
        """
        if self.in_hub_thread():
            return fn(*args)
        self._check_open()
        done = _Done()
        box: dict[str, Any] = {}

        def run() -> None:
            def body() -> None:
                try:
                    box["value"] = fn(*args)
                except BaseException as exc:  # handed back to the caller
                    box["error"] = exc
                finally:
                    done.set()

            gevent.spawn(body)

        self.hub.loop.run_callback_threadsafe(run)
        if not done.wait(timeout):
            raise TimeoutError(f"runtime call {fn!r} did not finish in {timeout}s")
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    #: The connectors started on this runtime and not stopped yet.
    running: weakref.WeakSet[Any]

    @abstractmethod
    def close(self) -> None:
        """Release the runtime (stop its thread, if it has one)."""


class LocalRuntime(Runtime):
    """The hub of the thread that creates it (default in scripts and services)."""

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self.thread_id = _get_ident()
        self.running = weakref.WeakSet()

    def close(self) -> None:
        pass


class ThreadRuntime(Runtime):
    """A gevent hub running in a dedicated daemon OS thread (default in notebooks).

    The thread is a real OS thread even in a monkey-patched process. Greenlets
    spawned in it (connectors, window timers, ``call`` bodies) keep running
    while the creating thread is idle or blocked. :meth:`close` stops the
    connectors still running on it (from another thread), then ends the thread
    (and destroys its hub); other greenlets still alive then are abandoned.
    ``name`` names the thread. Example::

        >>> rt = ThreadRuntime()
        >>> rt.in_hub_thread(), rt.call(rt.in_hub_thread)
        (False, True)
        >>> rt.close(); rt.alive
        False
    """

    def __init__(self, name: str = "rxunix-hub") -> None:
        ready = _allocate_lock()
        ready.acquire()
        self._exited = _allocate_lock()
        self._exited.acquire()
        self._stop: gevent.event.Event | None = None
        self.name = name
        self.running = weakref.WeakSet()

        def main() -> None:
            try:
                self.hub = gevent.get_hub()
                self.thread_id = _get_ident()
                self._stop = gevent.event.Event()
                # a referenced async watcher keeps the loop alive while idle
                self._keepalive = self.hub.loop.async_()
                self._keepalive.start(lambda: None)
                ready.release()
                try:
                    self._stop.wait()
                finally:
                    self._keepalive.stop()
                    self._keepalive.close()
                    self.hub.destroy(destroy_loop=True)
            finally:
                self._exited.release()

        _start_new_thread(main, ())
        ready.acquire()

    @property
    def alive(self) -> bool:
        """True while the hub thread runs."""
        if self._exited.acquire(False):
            self._exited.release()
            return False
        return True

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the hub thread; from another thread, first stop the connectors still
        running on it (with their drain: left running, their sockets could not be closed
        any more), then wait up to ``timeout`` until the thread has ended
        (``TimeoutError`` if it has not).

        Idempotent. Called from the hub thread itself it only asks the thread to end
        (stop the connectors first).
        """
        if self.closed:
            return
        if not self.in_hub_thread():
            for connector in list(self.running):
                connector.stop()
        self.closed = True
        if self._stop is None:
            return
        if self.in_hub_thread():
            self.hub.loop.run_callback(self._stop.set)
            return
        self.hub.loop.run_callback_threadsafe(self._stop.set)
        if self._exited.acquire(True, -1 if timeout is None else timeout):
            self._exited.release()
        else:
            raise TimeoutError(f"{self.name}: hub thread did not end within {timeout}s")


_default: Runtime | None = None
_local_by_thread: dict[int, LocalRuntime] = {}


def in_ipython_kernel() -> bool:
    """True when running inside a Jupyter/IPython kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def set_runtime(runtime: Runtime | None) -> None:
    """Choose the runtime new connectors use (``None``: back to automatic)."""
    global _default
    _default = runtime


def get_runtime() -> Runtime:
    """The runtime new connectors use: the one set, else a thread runtime in a
    kernel, else the calling thread's local runtime."""
    global _default
    if _default is not None and _default.closed:
        _default = None  # a closed runtime is never handed out again
    if _default is not None:
        return _default
    if in_ipython_kernel():
        _default = ThreadRuntime()
        return _default
    tid = _get_ident()
    rt = _local_by_thread.get(tid)
    if rt is None:
        rt = _local_by_thread[tid] = LocalRuntime()
    return rt


# The Rx layer's time-based operators (rxunix.rx) get their default scheduler from
# the edge: importing the runtime (as ``import rxunix`` does) installs the gevent one.
from . import scheduling as _scheduling  # noqa: E402

_scheduling.install()
