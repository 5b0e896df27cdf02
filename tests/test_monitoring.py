"""``rxunix run --metrics/--metrics-port/--progress``: a real run, real sockets, a real scrape."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import gevent
import simplejson
from gevent import socket as gsocket
from gevent import subprocess as gsubprocess
from rxunix.cli import build_parser

from rxunix.app.monitoring import wants_progress
from rxunix.core.metrics import increments

from .helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
FLOW = """
def server(ctx):
    srv = ctx.server(preprocessors=["separate"], config={"path": ctx.param("socket")})
    log = ctx.write_file(ctx.path("out.log"))
    srv.out.subscribe(log.in_)

flows = [server]
"""


def _start(tmp: str, *args: str) -> tuple[gsubprocess.Popen, str]:
    flow = os.path.join(tmp, "flow.py")
    with open(flow, "w") as fh:
        fh.write(textwrap.dedent(FLOW))
    sock = os.path.join(tmp, "s.sock")
    proc = gsubprocess.Popen([sys.executable, "-m", "rxunix", "run", flow, "--set", f"socket={sock}",
                              "--set", f"dir={tmp}", *args], env=ENV, cwd=tmp,
                             stdout=gsubprocess.DEVNULL, stderr=gsubprocess.PIPE)
    wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 15, "the socket")
    assert proc.poll() is None, proc.stderr.read()
    return proc, sock


def _send(sock: str, n: int, offset: int = 0) -> bytes:
    payload = b"".join(b'{"i":%d}\n' % i for i in range(offset, offset + n))
    with gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM) as s:
        s.connect(sock)
        s.sendall(payload)
    return payload


def _stop(proc: gsubprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: proc.poll() is not None, 20, "the run to end")
    err = proc.stderr.read().decode()
    assert proc.returncode == 0, err
    return str(err)


def test_metrics_file_totals_are_exact_and_progress_is_printed(short_tmp: str) -> None:
    metrics = os.path.join(short_tmp, "metrics.jsonl")
    proc, sock = _start(short_tmp, "--metrics", metrics, "--metrics-interval", "0.05", "--progress")
    sent = sum(len(_send(sock, n, off)) for n, off in ((1000, 0), (234, 1000), (1, 1234)))
    out_log = os.path.join(short_tmp, "out.log")
    wait_for(lambda: os.path.exists(out_log) and open(out_log).read().count("\n") == 1235, 20, "1235 events")
    wait_for(lambda: os.path.getsize(metrics) > 0, 10, "metrics lines")
    gevent.sleep(2.2)  # the run must last one progress period (2 s) for a progress line
    err = _stop(proc)
    lines = [simplejson.loads(line) for line in open(metrics)]
    assert {tuple(v) for v in lines} == {("fields", "measurement", "tags", "timestamp")}
    server = [v for v in lines if v["tags"]["connector"] == "server/unix_socket_server"]
    inc = increments(server)

    def total(measurement: str, **tags: str) -> int:
        return sum(next(iter(e["fields"].values())) for e in inc if e["measurement"] == measurement
                   and all(e["tags"][k] == t for k, t in tags.items()))

    assert total("connector_events", port="out") == 1235
    assert total("connector_bytes", direction="read") == sent
    assert total("connector_connections", event="opened") == 3
    sink = [v for v in lines if v["tags"]["connector"] == "server/write_file"
            and v["measurement"] == "connector_events" and v["tags"]["port"] == "in"]
    assert sink[-1]["fields"]["count"] == 1235  # Tremor's totals: the last one is exact
    assert re.search(r"^rxunix run: \d+\.\ds \| server/unix_socket_server out=1235", err, re.M), err


def test_prometheus_endpoint_is_scraped(short_tmp: str) -> None:
    proc, sock = _start(short_tmp, "--metrics-port", "0", "--quiet")
    try:
        _send(sock, 321)
        port_line = {}

        def find_port() -> bool:
            line = proc.stderr.readline().decode()
            m = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
            if m:
                port_line["port"] = int(m.group(1))
            return bool(m)

        wait_for(find_port, 15, "the exposition port")
        url = f"http://127.0.0.1:{port_line['port']}/metrics"
        text = ""

        def scraped() -> bool:
            nonlocal text
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            return 'rxunix_connector_events_total{connector="server/unix_socket_server",port="out"} 321.0' in text

        wait_for(scraped, 15, "321 events in the scrape")
        assert "# TYPE rxunix_connector_events_total counter" in text
        assert 'rxunix_connector_connections_open{connector="server/unix_socket_server"}' in text
        assert 'rxunix_connector_events_total{connector="server/write_file",port="in"} 321.0' in text
        assert 'rxunix_connector_paused_seconds_total{connector="server/unix_socket_server"} 0.0' in text
    finally:
        _stop(proc)


def test_progress_only_on_a_terminal_unless_forced() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_progress(False, False, Tty()) and not wants_progress(False, False, io.StringIO())
    assert wants_progress(True, False, io.StringIO()) and not wants_progress(False, True, Tty())
    args = build_parser().parse_args(["demo", "--progress"])
    assert args.progress and not args.quiet


def test_bad_monitoring_options_are_usage_errors(short_tmp: str) -> None:
    flow = os.path.join(short_tmp, "f.py")
    open(flow, "w").write("def flow(ctx):\n    pass\n")
    for bad in (["--metrics-interval", "0"], ["--metrics-interval", "1e-300"], ["--metrics-port", "70000"],
                ["--progress", "--quiet"],
                ["--metrics", os.path.join(short_tmp, "no", "such", "dir.jsonl")]):
        r = gsubprocess.run([sys.executable, "-m", "rxunix", "run", flow, *bad], env=ENV,
                            capture_output=True, timeout=30)
        assert r.returncode == 2, (bad, r.stderr)


def test_demo_progress_lines(short_tmp: str, monkeypatch: Any) -> None:
    import rxunix.demo as demo

    monkeypatch.setattr(demo, "PROGRESS_EVERY", 0.01)
    big = os.path.join(short_tmp, "in.jsonl")
    with open(big, "w") as fh:
        fh.writelines(f'{{"n": {n}, "pad": "{"z" * 100}"}}\n' for n in range(5_000))
    shown, quiet = io.StringIO(), io.StringIO()
    assert demo.run_demo(big, short_tmp, echo=False, log=shown, progress=True) == 0
    assert demo.run_demo(big, short_tmp, echo=False, log=quiet, progress=False) == 0
    assert re.search(r"^rxunix demo: \.\.\. sent \d+, received \d+, errors 0$", shown.getvalue(), re.M)
    assert "... sent" not in quiet.getvalue() and "sent 5001, received 5001" in quiet.getvalue()
