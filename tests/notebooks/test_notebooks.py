"""rxunix in a real Jupyter kernel, driven by nbclient.

* Events keep flowing while the kernel is idle between cells (the test process
  sleeps between cells; the kernel does nothing), and, as a control, they do not
  with a hub on the kernel's main thread (why the thread runtime exists).
* Each notebook in ``notebooks/`` runs top to bottom; its cells assert on what they
  show. The notebooks are stored without outputs.

Run by the tox env ``nb`` (``pytest tests/notebooks``); needs nbclient, nbformat
and the ``notebook`` extra.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path
from typing import Any

# Not part of the 'test' extra: these tests run in the tox env 'nb', which installs
# them (the other envs --ignore this folder). A missing package is an error here.
import nbclient  # noqa: E402
import nbformat  # noqa: E402
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK_FILES = ["01_quickstart.ipynb", "02_windows.ipynb", "03_reconnect.ipynb", "04_event_time.ipynb"]

pytestmark = pytest.mark.timeout(300)

#: How long the kernel idles between two cells. The idle time is the scenario itself (what flows
#: while nothing executes in the kernel), not a wait for a condition: nothing may run in it to signal.
IDLE_S = 1.0


def _result(cell: Any) -> Any:
    """The JSON printed by a cell on a line ``RESULT {...}``."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            for line in out["text"].splitlines():
                if line.startswith("RESULT "):
                    return json.loads(line[len("RESULT "):])
    raise AssertionError(f"cell printed no RESULT line: {cell.get('outputs')}")


class Kernel:
    """Execute cells one at a time in one kernel; the test decides what happens between them."""

    def __init__(self, kernel_name: str, cwd: str) -> None:
        self.nb = nbformat.v4.new_notebook()
        self.client = nbclient.NotebookClient(
            self.nb, kernel_name=kernel_name, timeout=60, resources={"metadata": {"path": cwd}}
        )

    def run(self, source: str) -> Any:
        cell = nbformat.v4.new_code_cell(textwrap.dedent(source))
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return cell


START = """
    import gevent, json, os, tempfile, time
    import rxunix
    from rxunix import Event
    from rxunix.notebook import Collector
    from rxunix.runtime import get_runtime, set_runtime, LocalRuntime, ThreadRuntime

    {choose_runtime}
    rt = get_runtime()
    sock = os.path.join(tempfile.mkdtemp(prefix="rxu-", dir="/tmp"), "s.sock")
    server = rxunix.unix_socket_server(config={{"path": sock}},
                                       preprocessors=["separate"], postprocessors=["separate"])
    received = Collector("server")
    server.out.subscribe(received)
    server.out.subscribe(server.in_)          # echo: every event is its own reply
    client = rxunix.unix_socket_client(config={{"path": sock}},
                                       preprocessors=["separate"], postprocessors=["separate"])
    replies = Collector("client")
    client.out.subscribe(replies)
    sent = []                                  # (seq, monotonic time sent)

    def sender():
        seq = 0
        while True:
            sent.append((seq, time.monotonic()))
            client.in_.on_next(Event({{"seq": seq}}))
            seq += 1
            gevent.sleep(0.05)

    server.start(); client.start()
    ticker = rt.call(gevent.spawn, sender) if isinstance(rt, ThreadRuntime) else gevent.spawn(sender)
    print("RESULT", json.dumps({{"runtime": type(rt).__name__}}))
"""

MARK = """
    idle_from = time.monotonic()
    print("RESULT", json.dumps({"sent": len(sent)}))
"""

CHECK = """
    idle_to = time.monotonic()
    in_idle = [seq for seq, t in sent if idle_from <= t < idle_to]
    got_at = dict(zip((e.value["seq"] for e in received.events), received.times))
    server_in_idle = sorted(s for s, t in got_at.items() if idle_from <= t < idle_to)
    print("RESULT", json.dumps({"in_idle": in_idle, "server_in_idle": server_in_idle,
                               "idle": idle_to - idle_from}))
"""

REPLIED = """
    # the replies to everything sent while idle (the last ones may still be in flight)
    last = in_idle[-1]
    replies.wait(until=lambda r: last in {e.value["seq"] for e in r.events}, timeout=5)
    replied = {e.value["seq"] for e in replies.events}
    assert set(in_idle) <= replied, sorted(set(in_idle) - replied)
    print("RESULT", json.dumps({"replied": sorted(replied & set(in_idle))}))
"""

STOP = """
    rt.call(ticker.kill) if isinstance(rt, ThreadRuntime) else ticker.kill()
    client.stop(); server.stop()
    assert not os.path.exists(sock)
    os.rmdir(os.path.dirname(sock))
"""


def _idle_run(kernel_name: str, tmp: str, choose_runtime: str) -> tuple[dict[str, Any], dict[str, Any]]:
    k = Kernel(kernel_name, tmp)
    with k.client.setup_kernel():
        start = _result(k.run(START.format(choose_runtime=choose_runtime)))
        k.run(MARK)
        time.sleep(IDLE_S)  # the kernel is idle: nothing executes in it meanwhile
        check = _result(k.run(CHECK))
        if check["in_idle"]:
            check.update(_result(k.run(REPLIED)))
        k.run(STOP)
    return start, check


def test_events_flow_while_the_kernel_is_idle(kernel_name: str, short_tmp: str) -> None:
    """A server and a client started in one cell; while the kernel idles for 1 s the
    client sends every 50 ms, the server receives each event at once and replies."""
    start, check = _idle_run(kernel_name, short_tmp, "")
    assert start["runtime"] == "ThreadRuntime"  # chosen automatically in a kernel
    assert check["idle"] >= IDLE_S
    in_idle = check["in_idle"]
    assert len(in_idle) >= 15, f"only {len(in_idle)} events sent in {check['idle']:.2f}s of idle time"
    assert in_idle == list(range(in_idle[0], in_idle[0] + len(in_idle)))  # a steady 50 ms ticker
    # received by the server during the idle time itself (not caught up at the next cell)
    assert len(set(in_idle) & set(check["server_in_idle"])) >= len(in_idle) - 2
    assert check["replied"] == in_idle


def test_control_a_main_thread_hub_stalls_while_idle(kernel_name: str, short_tmp: str) -> None:
    """Why the thread runtime exists: with the hub on the kernel's main thread,
    nothing runs between cells (so the test above can fail)."""
    start, check = _idle_run(kernel_name, short_tmp, "set_runtime(LocalRuntime())")
    assert start["runtime"] == "LocalRuntime"
    assert check["idle"] >= IDLE_S
    assert len(check["in_idle"]) <= 1, check


@pytest.mark.parametrize("name", NOTEBOOK_FILES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for c in code:
        assert c.outputs == [] and c.execution_count is None, f"{name}: a cell has stored outputs"
    # every notebook checks what it shows
    assert sum("assert " in c.source for c in code) >= 3, f"{name}: too few asserting cells"


@pytest.mark.parametrize("name", NOTEBOOK_FILES)
def test_notebook_runs_top_to_bottom(kernel_name: str, name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()  # raises CellExecutionError (with the traceback) if any cell fails
    finally:
        if os.environ.get("RXUNIX_NB_DUMP"):  # keep the executed notebook to look at its pictures
            out = Path(os.environ["RXUNIX_NB_DUMP"])
            out.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out / name)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


# ---- the display helpers, without a kernel ---------------------------------------------


def test_html_of_events_connectors_and_collectors() -> None:
    from rxunix.event import Event, error_event

    from rxunix.notebook import Collector, EventList

    ev = Event({"n": 1, "s": "<b>"}, {"unix_socket_server": {"path": "/s", "peer": 3, "pid": 9}, "k": 2})
    h = ev._repr_html_()
    assert "&lt;b&gt;" in h and "<b>" not in h.replace("<b>event</b>", "")  # values are escaped
    assert "server /s peer 3 (pid 9)" in h and "&quot;k&quot;: 2" in h
    err = error_event(ValueError("bad json"), connector="unix_socket_server", action="decode", stream=3)
    assert "bad json" in err._repr_html_() and "decode" in err._repr_html_()
    many = EventList(Event(i) for i in range(60))
    assert "60 events" in many._repr_html_() and "10 earlier event(s) not shown" in many._repr_html_()
    c = Collector("c")
    for e in many:
        c.on_next(e)
    assert len(c) == 60 and c.values == list(range(60)) and "t (s)" in c._repr_html_()
    with pytest.raises(TimeoutError):
        c.wait(61, timeout=0.05)


def test_connector_html_shows_state_and_counters() -> None:
    from rxunix.connectors.base import Connector
    from rxunix.runtime import LocalRuntime

    class Dummy(Connector):
        kind = "dummy"
        path = "/tmp/x.sock"

        def _start(self) -> None: ...
        def _stop(self, timeout: float | None) -> None: ...
        def _receive(self, event: Any) -> None: ...

    d = Dummy(runtime=LocalRuntime())
    d.stats["out"] = 5
    h = d._repr_html_()
    assert "Dummy" in h and "new" in h and "/tmp/x.sock" in h and ">out<" in h and ">5<" in h


def test_plots_render_to_png() -> None:
    from rxunix.event import Event

    from rxunix.notebook import LiveView, Sample, Timeline, plot_timeline, plot_windows, png_bytes

    wins = [Event([{"c": 0}, {"c": 1}, {"c": 0}]), Event([{"c": 1}])]
    fig = plot_windows(wins, group=lambda v: v["c"])
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [2, 0, 1, 1]  # group 0 per window, then group 1 per window
    assert png_bytes(fig).startswith(b"\x89PNG")
    samples = [Sample(0.0, True, 0, 0, 0, 1), Sample(0.1, False, 2, 0, 0, 1),
               Sample(0.2, False, 2, 0, 1, 1), Sample(0.3, False, 2, 0, 2, 1), Sample(0.5, True, 0, 2, 2, 2)]
    tl = Timeline(samples, [(0.05, "server stopped")])
    assert [(w.start, w.end) for w in tl.waits()] == [(0.2, 0.3), (0.3, 0.5)]
    assert tl.disconnected() == [(0.1, 0.5)] and tl.max_held() == 2
    assert png_bytes(plot_timeline(tl)).startswith(b"\x89PNG")
    v = LiveView(bucket=0.5)
    v.on_next(Event(1))
    v.on_next(Event(2))
    assert v.total == 2 and v.counts == [2] and "2</b> events" in v.summary_html()
    assert png_bytes(v.figure()).startswith(b"\x89PNG")


def test_a_live_views_stream_completing_never_waits_for_its_refresher() -> None:
    import time

    from rxunix.event import Event

    from rxunix.notebook import LiveView

    v = LiveView(bucket=0.5, refresh=3.0)
    v.widget()  # displayed: its refresher thread sleeps 3 s between refreshes
    v.on_next(Event(1))
    t0 = time.monotonic()
    v.on_completed()  # on the hub thread: must not wait out the refresher's sleep
    assert time.monotonic() - t0 < 1.0
    v.close()  # an explicit close waits for the last refresh
    assert "1</b> events" in v._widgets[0].value  # type: ignore[index]
    m = LiveView(metric="connector_events")
    m.on_next(Event({"measurement": "connector_events", "tags": {}, "fields": {"count": 4}, "timestamp": 1}))
    assert "4</b> events in 1 ticks" in m.summary_html()


def test_a_live_view_that_cannot_render_says_so_and_goes_on() -> None:
    import time

    from rxunix.event import Event

    from rxunix.notebook import LiveView

    v = LiveView(per_window=True, group=lambda value: value["c"], refresh=0.05)
    v.widget()  # displayed: the refresher thread runs
    v.on_next(Event([{"c": 1}]))
    deadline = time.monotonic() + 10
    while v.renders < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    v.on_next(Event([{"no_c": 1}]))  # its group function raises on this one
    while not v.render_errors and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "cannot render: KeyError" in v._widgets[0].value  # type: ignore[index]
    v.close()


def test_a_collector_wait_ends_at_once_when_its_stream_has_ended() -> None:
    import time

    import reactivex
    from rxunix.event import Event

    from rxunix.notebook import Collector

    done = Collector("done")
    reactivex.from_([Event(1), Event(2)]).subscribe(done)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="2 events, wanted 5; the stream completed"):
        done.wait(5, timeout=30)
    failed = Collector("failed")
    reactivex.throw(ValueError("upstream broke")).subscribe(failed)
    with pytest.raises(TimeoutError, match="the stream failed: ValueError"):
        failed.wait(1, timeout=30)
    assert time.monotonic() - t0 < 5  # not the timeouts
    assert done.wait(2) is done  # what arrived is enough
