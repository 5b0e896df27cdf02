"""``bench/stress_report.py`` fails loudly, with no table, when nothing was measured."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "stress_report.py")


def test_without_the_test_extras_it_says_what_is_missing_and_prints_no_table() -> None:
    # -S: no site-packages, so neither pytest nor the other test extras can be imported
    proc = subprocess.run([sys.executable, "-S", SCRIPT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "lacks pytest, pytest-timeout, hypothesis" in proc.stderr
    assert "pip install -e '.[test]'" in proc.stderr
    assert "no table (nothing was measured)" in proc.stderr
    assert "lost" not in proc.stdout and "|" not in proc.stdout


def test_no_scenario_run_is_a_failure_not_an_empty_table() -> None:
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, SCRIPT, "--", "-k", "no_scenario_has_this_name"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 2
    assert "no scenario reported a row (pytest exit status 5)" in proc.stderr
    assert "|" not in proc.stdout and "events lost" not in proc.stdout
