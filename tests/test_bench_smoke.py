"""Smoke test of the benchmarks: each runs in its tiniest mode and prints its tables.

Nothing here is timed or compared: the numbers of a run this small mean nothing. What
is checked is that every benchmark runs to the end over real sockets and real
processes, names the machine and the command, and prints every row with its
like-for-like ratio.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATIO = re.compile(r"\| \d+\.\d\dx +\|")


def run_bench(script: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", script), *args],
        capture_output=True, text=True, timeout=100, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    assert "machine:" in out and f"command: python bench/{script}" in out, out
    return out


def rows(out: str, first_cell: str) -> list[list[str]]:
    """Table rows whose first cell is ``first_cell``, split into cells."""
    found = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            found.append(cells)
    return found


@pytest.mark.timeout(120)
def test_bench_server_prints_like_for_like_rows() -> None:
    out = run_bench("bench_server.py", "--quick", "--rounds", "1", "--events", "300", "--rtt", "20",
                    "--clients", "3", "--reads", "8192")
    for scenario in ("ingest", "echo", "fanin", "rtt"):
        got = rows(out, scenario)
        impls = {(r[2], r[3]) for r in got}
        for lib in ("simplejson", "orjson"):
            assert (lib, "hand") in impls and (lib, "rxunix") in impls, (scenario, out)
            uvloop_ran = (lib, "uvloop") in impls
            assert uvloop_ran or "skipped uvloop" in out, out  # ran, or said why not
        assert all(RATIO.search("| " + " | ".join(r) + " |") for r in got), out
        assert all(r[1] == "8 KiB" for r in got)


@pytest.mark.timeout(120)
def test_bench_window_prints_every_chain() -> None:
    out = run_bench("bench_window.py", "--quick", "--rounds", "1", "--events", "200", "--clients", "1",
                    "--reads", "8192", "--json", "simplejson", "--gap", "0.02")
    chains = {r[3] for r in rows(out, "1")}
    assert {"echo", "map", "map_values", "tumbling"} <= chains, out
    for chain in ("sliding", "sliding_mean", "session"):
        assert chain in chains or f"{chain}: not available" in out, out
    assert re.search(r"map .*us/ev", out) and "in process, map alone" in out, out
    assert RATIO.search(out), out


@pytest.mark.timeout(120)
def test_bench_window_gives_every_row_the_same_send_buffer() -> None:
    out = run_bench("bench_window.py", "--quick", "--rounds", "1", "--events", "200", "--clients", "1",
                    "--reads", "8192", "--json", "simplejson", "--chains", "echo,sliding", "--send-buffer", "131072")
    assert "send buffer 131,072 bytes" in out, out
    assert {r[3] for r in rows(out, "1")} >= {"echo", "sliding", "echo (hand-written loop)"}, out


@pytest.mark.timeout(120)
def test_bench_client_prints_like_for_like_rows() -> None:
    out = run_bench("bench_client.py", "--quick", "--rounds", "1", "--events", "300", "--pingpong", "20",
                    "--reads", "8192")
    for scenario in ("stream", "burst", "ping-pong"):
        got = rows(out, scenario)
        clients = {(r[2], r[3]) for r in got}
        for lib in ("simplejson", "orjson"):
            assert {(lib, "hand"), (lib, "rxunix"), (lib, "asyncio")} <= clients, out
            assert (lib, "uvloop") in clients or "skipped uvloop" in out, out
        assert all(RATIO.search("| " + " | ".join(r) + " |") for r in got), out


@pytest.mark.timeout(120)
def test_profile_server_prints_breakdown() -> None:
    out = run_bench("profile_server.py", "--quick", "--events", "300", "--top", "3")
    for stage in ("read (recv", "split (separate)", "decode (json", "event creation", "dispatch", "routing",
                  "encode (json", "write", "sum of stages", "measured: real server CPU per event"):
        assert f"| {stage}" in out, (stage, out)
    assert out.count("cProfile, ") == 2, out


@pytest.mark.timeout(120)
def test_profile_chains_prints_every_chain_and_the_sliding_split() -> None:
    out = run_bench("profile_chains.py", "--json", "simplejson", "--buf", "8192", "--reads", "2", "--repeat", "1",
                    "--rounds", "1")
    for chain in ("echo", "map", "map_values", "tumbling", "sliding", "sliding_mean"):
        cells = rows(out, chain)
        assert len(cells) == 1 and float(cells[0][1]) > 0, out
    assert rows(out, "map")[0][2].startswith(("+", "-")), out
    assert "events built alone (Event.many)" in out and "each event into in_ alone" in out, out
    assert "the window alone" in out and "encoding its replies alone" in out and "ops.buffer alone" in out, out


@pytest.mark.timeout(120)
def test_profile_floor_prints_hand_floor_and_rxunix_rows() -> None:
    out = run_bench("profile_floor.py", "--quick", "--json", "simplejson", "--reads", "8192")
    ingest, echo = rows(out, "ingest"), rows(out, "echo")
    assert [r[3] for r in ingest] == ["hand", "floor", "rxunix"] and [r[3] for r in echo] == ["hand", "rxunix"], out
    for r in ingest + echo:
        assert float(r[4].split()[0]) > 0 and RATIO.search(f"| {r[5]} |"), out
    assert ingest[2][6].startswith(("+", "-")), out  # rxunix over the floor


@pytest.mark.timeout(120)
def test_profile_read_prints_hand_and_rxunix_per_read() -> None:
    out = run_bench("profile_read.py", "--quick", "--json", "simplejson", "--lines", "1,40")
    for lines in ("1", "40"):
        got = rows(out, lines)
        assert [r[3] for r in got] == ["hand", "rxunix"], out
        assert got[1][5].startswith(("+", "-")), out  # rxunix's cost over the hand loop


@pytest.mark.timeout(120)
def test_profile_read_cold_prints_percentiles_of_single_reads() -> None:
    out = run_bench("profile_read.py", "--quick", "--cold", "--json", "simplejson", "--lines", "1,40",
                    "--cold-bytes", "65536", "--cold-objects", "100")
    for lines in ("1", "40"):
        got = rows(out, lines)
        assert [r[3] for r in got] == ["hand", "rxunix"], out
        for r in got:
            p50, p90, p99 = map(float, r[4:7])
            assert 0 < p50 <= p90 <= p99, out
        assert re.fullmatch(r"[+-]\S+ / [+-]\S+ \(\d+\.\d\dx / \d+\.\d\dx\)", got[1][7]), out  # over hand, as ratios


def test_proc_cpu_reports_each_server_process(tmp_path: object) -> None:
    """``bench/proc_cpu.sh`` runs a benchmark and prints each server process's faults and
    CPU (a real ``_serve.py`` process per row: here one rxunix echo row)."""
    out = os.path.join(str(tmp_path), "bench.txt")
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        ["bash", os.path.join(ROOT, "bench", "proc_cpu.sh"), out, sys.executable, "bench/bench_window.py",
         "--quick", "--chains", "echo", "--json", "simplejson", "--reads", "8192", "--clients", "1"],
        capture_output=True, text=True, timeout=100, env=env, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "--impl rxunix" in line and "--chain echo" in line]
    assert len(lines) == 1, proc.stdout
    assert re.search(r"\| minflt=\d+ utime=\d+ stime=\d+$", lines[0]), lines[0]
    with open(out) as f:
        assert "| echo " in f.read()  # the benchmark's own table went to its file


@pytest.mark.timeout(120)
def test_profile_decompress_prints_each_algorithm_and_frame() -> None:
    out = run_bench("profile_decompress.py", "--quick")
    for alg in ("gzip", "zstd", "lz4"):
        assert [line.split()[0] for line in out.splitlines() if line.startswith(alg + " ")] == [alg] * 3, out
