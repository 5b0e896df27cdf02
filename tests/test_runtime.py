"""The runtime: a hub in a dedicated OS thread, thread-safe hand-off into it.

Runs unpatched and monkey-patched: "another OS thread" is always a real one
(``monkey.get_original``), never a greenlet posing as a thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from gevent import monkey
from rxunix.connectors.base import Connector
from rxunix.event import Event
from rxunix.runtime import (
    LocalRuntime,
    ThreadRuntime,
    get_runtime,
    in_ipython_kernel,
    set_runtime,
)

from .helpers import wait_for

_get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")
_start_new_thread: Callable[..., int] = monkey.get_original("_thread", "start_new_thread")
_allocate_lock: Callable[[], Any] = monkey.get_original("_thread", "allocate_lock")
_os_sleep: Callable[[float], None] = monkey.get_original("time", "sleep")


def os_thread(fn: Callable[[], None]) -> Callable[[float], None]:
    """Run ``fn`` in a new real OS thread; return a ``join(timeout)`` that re-raises its error."""
    done = _allocate_lock()
    done.acquire()
    box: dict[str, BaseException] = {}

    def main() -> None:
        try:
            fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.release()

    _start_new_thread(main, ())

    def join(timeout: float = 10.0) -> None:
        assert done.acquire(True, timeout), "OS thread did not finish"
        if "error" in box:
            raise box["error"]

    return join


_get_native_id: Callable[[], int] = monkey.get_original("_thread", "get_native_id")


def task_alive(native_id: int) -> bool:
    """True while the OS thread with this native id exists in this process."""
    return os.path.exists(f"/proc/self/task/{native_id}")


class Recorder(Connector):
    """A connector that records what reaches ``_receive`` and in which thread, and echoes it."""

    kind = "recorder"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.got: list[Event] = []
        self.threads: set[int] = set()
        self.started_in: int | None = None

    def _start(self) -> None:
        self.started_in = _get_ident()

    def _stop(self, timeout: float | None) -> None:
        pass

    def _receive(self, event: Event) -> None:
        self.threads.add(_get_ident())
        self.got.append(event)
        self._emit(event)


@pytest.fixture
def rt() -> Iterator[ThreadRuntime]:
    runtime = ThreadRuntime()
    try:
        yield runtime
    finally:
        runtime.close()


# ---- ThreadRuntime ----------------------------------------------------------


def test_call_runs_in_the_hub_thread_and_returns(rt: ThreadRuntime) -> None:
    assert not rt.in_hub_thread()
    tid = rt.call(_get_ident)
    assert tid == rt.thread_id != _get_ident()
    assert rt.call(lambda a, b: a + b, 40, 2) == 42
    assert rt.call(rt.in_hub_thread) is True


def test_call_propagates_errors(rt: ThreadRuntime) -> None:
    def boom() -> None:
        raise ValueError("boom in hub")

    with pytest.raises(ValueError, match="boom in hub"):
        rt.call(boom)
    assert rt.call(lambda: "still works") == "still works"


def test_call_may_block_on_gevent_and_times_out(rt: ThreadRuntime) -> None:
    assert rt.call(lambda: (gevent.sleep(0.05), "slept")[1]) == "slept"
    with pytest.raises(TimeoutError):
        rt.call(gevent.sleep, 2, timeout=0.1)


def test_call_soon_runs_later_in_hub_thread(rt: ThreadRuntime) -> None:
    done = _allocate_lock()
    done.acquire()
    seen: list[tuple[int, int]] = []

    def cb(x: int) -> None:
        seen.append((x, _get_ident()))
        done.release()

    rt.call_soon(cb, 7)
    assert done.acquire(True, 5)
    assert seen == [(7, rt.thread_id)]


def test_call_soon_from_hub_thread_is_deferred(rt: ThreadRuntime) -> None:
    order: list[str] = []

    def in_hub() -> list[str]:
        rt.call_soon(order.append, "soon")
        order.append("now")
        gevent.sleep(0)
        gevent.sleep(0)
        return list(order)

    assert rt.call(in_hub) == ["now", "soon"]


def test_greenlets_run_while_the_caller_thread_is_blocked(rt: ThreadRuntime) -> None:
    ticks: list[int] = []

    def ticker() -> None:
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    g = rt.call(gevent.spawn, ticker)
    _os_sleep(0.3)  # a real OS-level block of this thread (what an idle kernel does)
    n = len(ticks)
    rt.call(g.kill)
    assert n >= 10, f"only {n} ticks in 0.3 s while the caller was blocked"


def test_close_ends_the_thread_and_refuses_work() -> None:
    rt = ThreadRuntime()
    tid = rt.call(_get_native_id)
    assert rt.alive and task_alive(tid) and tid != _get_native_id()
    rt.close()
    assert rt.closed and not rt.alive
    wait_for(lambda: not task_alive(tid), 5, "the hub OS thread to exit")
    rt.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        rt.call(lambda: 1)
    with pytest.raises(RuntimeError, match="closed"):
        rt.call_soon(lambda: None)


def test_no_threads_leak_over_many_runtimes() -> None:
    tids = []
    for _ in range(10):
        rt = ThreadRuntime()
        tids.append(rt.call(_get_native_id))
        rt.close()
    wait_for(lambda: not any(map(task_alive, tids)), 5, "all hub OS threads to exit")


def test_close_from_inside_the_hub_thread() -> None:
    rt = ThreadRuntime()
    tid = rt.call(_get_native_id)
    rt.call_soon(rt.close)
    wait_for(lambda: not rt.alive, 5, "the hub thread to end after close() from inside it")
    assert rt.closed
    wait_for(lambda: not task_alive(tid), 5, "the hub OS thread to exit")


# ---- Inlet: in_.on_next from other threads ------------------------------------


def test_on_next_from_another_os_thread_threadruntime(rt: ThreadRuntime) -> None:
    c = Recorder(runtime=rt)
    out: list[Event] = []
    c.out.subscribe(out.append)
    c.start()
    assert c.running and c.started_in == rt.thread_id
    os_thread(lambda: c.in_.on_next(Event("from a thread", {"k": 1})))()
    c.in_.on_next(Event("from the test thread"))
    wait_for(lambda: len(c.got) == 2, 5, "both events in the hub thread")
    assert [e.value for e in c.got] == ["from a thread", "from the test thread"] or {
        e.value for e in c.got
    } == {"from a thread", "from the test thread"}
    assert c.got[0].meta.get("k") == 1 or c.got[1].meta.get("k") == 1
    assert c.threads == {rt.thread_id}
    assert len(out) == 2  # subscribers are called (in the hub thread) too
    c.stop()
    assert c.state == "stopped"


def test_on_next_from_another_os_thread_localruntime() -> None:
    """The hub of the test's own thread receives events pushed from a real OS thread."""
    c = Recorder(runtime=LocalRuntime())
    c.start()
    os_thread(lambda: c.in_.on_next(Event(1)))()
    wait_for(lambda: len(c.got) == 1, 5, "the event handed into this thread's hub")
    assert c.got == [Event(1)]
    assert c.threads == {_get_ident()}
    c.stop()


def test_many_threads_push_concurrently_nothing_lost_order_kept(rt: ThreadRuntime) -> None:
    c = Recorder(runtime=rt).start()
    n, per = 4, 250

    def pusher(t: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(per):
                c.in_.on_next(Event((t, i)))

        return run

    joins = [os_thread(pusher(t)) for t in range(n)]
    for j in joins:
        j()
    wait_for(lambda: len(c.got) == n * per, 10, "all pushed events")
    for t in range(n):
        assert [e.value[1] for e in c.got if e.value[0] == t] == list(range(per))
    c.stop()


def test_on_error_and_on_completed_from_another_thread(rt: ThreadRuntime) -> None:
    c = Recorder(runtime=rt)
    errs: list[Event] = []
    c.err.subscribe(errs.append)
    c.start()
    os_thread(lambda: (c.in_.on_error(ValueError("upstream broke")), c.in_.on_completed()))()
    wait_for(lambda: len(errs) == 1, 5, "the error event")
    assert errs[0].value["error"] == "upstream broke" and errs[0].value["action"] == "input"
    c.in_.on_next(Event("still open"))  # in_ is never terminated by upstream
    wait_for(lambda: len(c.got) == 1, 5, "an event after upstream error/completion")
    c.stop()


def test_join_from_the_caller_thread(rt: ThreadRuntime) -> None:
    c = Recorder(runtime=rt).start()
    assert c.join(0.05) is False
    os_thread(c.stop)()
    assert c.join(5) is True


# ---- choosing a runtime -------------------------------------------------------------


def test_default_outside_a_kernel_is_a_local_runtime_per_thread() -> None:
    assert not in_ipython_kernel()
    a = get_runtime()
    assert isinstance(a, LocalRuntime) and a is get_runtime() and a.in_hub_thread()
    box: dict[str, Any] = {}
    os_thread(lambda: box.setdefault("rt", get_runtime()))()
    assert isinstance(box["rt"], LocalRuntime) and box["rt"] is not a


def test_set_runtime_and_closed_runtime_is_replaced() -> None:
    rt = ThreadRuntime()
    set_runtime(rt)
    assert get_runtime() is rt
    assert Recorder().runtime is rt
    rt.close()
    assert get_runtime() is not rt
    set_runtime(None)
    assert isinstance(get_runtime(), LocalRuntime)


def test_a_path_in_use_by_a_connector_of_this_process_says_which(sock_path: str) -> None:
    from rxunix.errors import SocketPathError

    import rxunix

    first = rxunix.unix_socket_server(path=sock_path).start()  # e.g. a notebook cell run twice
    try:
        again = rxunix.unix_socket_server(path=sock_path)
        with pytest.raises(SocketPathError, match=r"in use.*runs on it in this process: stop\(\) it first"):
            again.start()
    finally:
        first.stop()
    with pytest.raises(RuntimeError, match="a connector runs once: make a new one"):
        first.start()


def test_closing_a_thread_runtime_stops_the_connectors_still_running_on_it(sock_path: str) -> None:
    from rxunix.runtime import ThreadRuntime

    import rxunix

    rt = ThreadRuntime()
    server = rxunix.unix_socket_server(path=sock_path, runtime=rt).start()
    assert os.path.exists(sock_path)
    rt.close()
    assert server.state == "stopped" and not os.path.exists(sock_path)  # its socket closed, the path free
    rxunix.unix_socket_server(path=sock_path).start().stop()


# ---- a monkey-patched caller ----------------------------------------------------------
PATCHED_CALLER = r'''
import json, os, sys, tempfile, threading, time
import gevent
import rxunix
from rxunix.notebook import Collector
from rxunix.runtime import ThreadRuntime
rt = ThreadRuntime()
path = os.path.join(tempfile.mkdtemp(dir=sys.argv[1]), "s.sock")
framing = dict(codec="json", preprocessors=["separate"], postprocessors=["separate"], runtime=rt)
server = rxunix.unix_socket_server(config={"path": path}, **framing)
server.out.subscribe(server.in_)
client = rxunix.unix_socket_client(config={"path": path}, **framing)
coll = Collector(runtime=rt)
client.out.subscribe(coll)
server.start(); client.start()

def producer():  # a patched thread: a greenlet of this (the main) thread's hub
    for i in range(20):
        client.in_.on_next(rxunix.Event({"i": i}))
        time.sleep(0.01)

threading.Thread(target=producer, daemon=True).start()
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(1) or gevent.sleep(0.01) for _ in range(20)])
rt.call(gevent.sleep, 0.3)  # the caller waits on the runtime's thread; its own greenlets run meanwhile
during_call = len(ticks)
coll.wait(20, timeout=10)
stopper = threading.Thread(target=lambda: (time.sleep(0.1), client.stop()))
stopper.start()
joined = client.join(10)
server.stop(); rt.close()
print(json.dumps({"values": coll.values, "during_call": during_call, "joined": joined}))
'''


def test_a_monkey_patched_caller_keeps_its_own_threads_running_while_it_waits(short_tmp: str) -> None:
    """``python -m gevent.monkey``: a patched thread is a greenlet of the caller's hub;
    waiting on a :class:`ThreadRuntime` (``call``, ``Collector.wait``, ``join``) lets it run."""
    import json
    import subprocess
    import sys

    script = os.path.join(short_tmp, "patched_caller.py")
    with open(script, "w") as f:
        f.write(PATCHED_CALLER)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", "gevent.monkey", script, short_tmp], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["values"] == [{"i": i} for i in range(20)]
    assert out["during_call"] >= 10  # ~30 ticks fit in the 0.3 s call
    assert out["joined"] is True


# ---- a stop racing a start ------------------------------------------------------------
def _waiting_in_call(*names: str) -> bool:
    """True while some thread waits inside :meth:`Runtime.call` for a function named in
    ``names`` (the work is queued for the hub). Under monkey patching the caller waits in
    a greenlet of its thread's hub: its frames are looked for among the greenlets too."""
    import gc
    import sys

    from greenlet import greenlet

    tops = list(sys._current_frames().values())
    tops += [g.gr_frame for g in gc.get_objects() if isinstance(g, greenlet) and g.gr_frame is not None]
    for frame in tops:
        waiting = False
        while frame is not None:
            code = frame.f_code
            if code.co_name == "wait":
                waiting = True
            elif code.co_name == "call" and code.co_filename.endswith("runtime.py"):
                fn = frame.f_locals.get("fn")
                if waiting and getattr(fn, "__name__", None) in names:
                    return True
            frame = frame.f_back
    return False


@pytest.mark.parametrize("kind", ["server", "client"])
def test_a_stop_queued_right_behind_a_start_stops_what_the_start_made(kind: str, short_tmp: str) -> None:
    """``start()`` in one thread, ``stop()`` in another while the start waits for the hub:
    the stop is decided in the hub after the start, so it stops a running connector;
    never a "stopped" connector still listening or connected."""
    import socket

    import rxunix

    rt = ThreadRuntime()
    path = os.path.join(short_tmp, "s.sock")
    listener = None
    try:
        if kind == "server":
            conn: Any = rxunix.unix_socket_server(path=path, runtime=rt)
        else:  # a plain listener the client connects to
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(8)
            conn = rxunix.unix_socket_client(path=path, runtime=rt)
        hold = _allocate_lock()
        hold.acquire()
        rt.call_soon(hold.acquire)  # the hub waits (a real lock) until both calls are queued behind it
        done: dict[str, bool] = {}

        def in_thread(name: str, fn: Callable[[], Any]) -> Callable[[float], None]:
            def run() -> None:
                try:
                    fn()
                except RuntimeError:  # a start that came too late may say so
                    pass
                finally:
                    done[name] = True
            return os_thread(run)

        join_start = in_thread("start", conn.start)
        wait_for(lambda: _waiting_in_call("_start_in_hub"), 10, "the start queued")
        join_stop = in_thread("stop", lambda: conn.stop(5))
        wait_for(lambda: done.get("stop") or _waiting_in_call("_stop_new", "_abandon", "_stop_in_hub"), 10,
                 "the stop queued (or done)")
        hold.release()
        join_start(10)
        join_stop(10)
        assert conn.state == "stopped" and conn not in rt.running
        if listener is None:
            assert not os.path.exists(path), "a stopped server still listens"
        else:
            listener.settimeout(0.5)
            peer, _ = listener.accept()  # it had connected (the start ran first) ...
            peer.settimeout(5)
            assert peer.recv(1) == b"", "a stopped client still connected"  # ... and the stop closed it
            peer.close()
    finally:
        if listener is not None:
            listener.close()
        rt.close()


def test_stopping_a_never_started_server_from_another_thread_needs_no_hub(sock_path: str) -> None:
    """Nothing to decide in the hub when start() was never asked for: the stop returns at
    once, even while the hub of the server's runtime does not run (this thread blocks)."""
    import rxunix

    server = rxunix.unix_socket_server(path=sock_path, runtime=LocalRuntime())
    done = _allocate_lock()
    done.acquire()
    join = os_thread(lambda: (server.stop(1), done.release()))
    assert done.acquire(True, 10), "stop() waited for a hub that does not run"  # (a real lock: no hub runs)
    join(10)
    assert server.state == "stopped"
