"""Run the rxunix stress and fault suite and print its figures table.

    python bench/stress_report.py                 # CI variant (the one the stress tox env runs)
    python bench/stress_report.py --full          # full variant, about 12 minutes: 10,000 churn
                                                  # cycles, 100 MB lines, 5-minute soak, longer
                                                  # fuzzing, 100,000 atheris runs
    python bench/stress_report.py --patched       # the same under gevent monkey-patching
    python bench/stress_report.py -- -k faults    # extra pytest arguments after --

The table (Markdown, ready for the README) has one row per scenario: load held,
faults survived, bad inputs tried, events lost (must be 0), leaks (must be 0).
Without pytest and the other test extras, or when no scenario ran, it fails
(exit status 2) saying why and prints no table. Equivalent without this
script: ``RXUNIX_STRESS=full python -m pytest tests/stress`` (the table is
printed in pytest's terminal summary).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: what the suite imports besides rxunix's own dependencies (the ``test`` extra)
NEEDED = {"pytest": "pytest", "pytest_timeout": "pytest-timeout", "hypothesis": "hypothesis",
          "gevent": "gevent", "reactivex": "reactivex", "simplejson": "simplejson"}


def missing_modules() -> list[str]:
    """The distributions the suite needs that this interpreter cannot import."""
    return [dist for module, dist in NEEDED.items() if importlib.util.find_spec(module) is None]


def fail(message: str) -> int:
    """A run that produced no figures: say why on stderr, print no table, exit 2."""
    print(f"stress_report: error: {message}; no table (nothing was measured)", file=sys.stderr)
    return 2


def run_atheris(runs: int, report: str) -> int:
    """The optional coverage-guided fuzz run; adds its row to the report."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris not installed: coverage-guided fuzzing skipped (pip install atheris)")
        return 0
    started = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "stress", "atheris_fuzz.py"),
                           f"-runs={runs}"], cwd=ROOT, capture_output=True, text=True)
    done = re.search(r"Done (\d+) runs", proc.stderr)
    cov = re.findall(r"cov: (\d+)", proc.stderr)
    row = {"area": "hostile input", "scenario": "atheris: every framing x codec (coverage-guided)",
           "load": f"cov {cov[-1] if cov else '?'} edges", "faults": 0,
           "bad_inputs": int(done.group(1)) if done else 0, "lost": 0 if proc.returncode == 0 else 1,
           "leaks": 0, "seconds": round(time.monotonic() - started, 2),
           "note": "libFuzzer via atheris" if proc.returncode == 0 else proc.stderr[-2000:]}
    with open(report, "a") as f:
        f.write(json.dumps(row) + "\n")
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
    return proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the full variant (about 12 minutes)")
    ap.add_argument("--patched", action="store_true", help="run under python -m gevent.monkey")
    ap.add_argument("--atheris-runs", type=int, default=None,
                    help="atheris runs (default: 100000 with --full, 0 otherwise)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args()
    missing = missing_modules()
    if missing:
        return fail(f"{sys.executable} lacks {', '.join(missing)}: install the test extra "
                    "(python -m pip install -e '.[test]')")

    from tests.stress._figures import Row, table

    fd, report = tempfile.mkstemp(prefix="rxunix-stress-", suffix=".jsonl")
    os.close(fd)
    env = dict(os.environ, RXUNIX_STRESS="full" if args.full else "ci", RXUNIX_STRESS_REPORT=report)
    runner = [sys.executable, "-m", "gevent.monkey", "--module", "pytest"] if args.patched \
        else [sys.executable, "-m", "pytest"]
    cmd = runner + ["-q", "-p", "no:cacheprovider", "tests/stress"] + args.pytest_args
    if args.full:
        cmd += ["-o", "timeout=900"]
    started = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    runs = args.atheris_runs if args.atheris_runs is not None else (100_000 if args.full else 0)
    if runs:
        rc = rc or run_atheris(runs, report)
    with open(report) as f:
        rows = [Row(**json.loads(line)) for line in f if line.strip()]
    os.unlink(report)
    if not rows:
        return fail(f"no scenario reported a row (pytest exit status {rc})")
    mode = "monkey-patched" if args.patched else "unpatched"
    title = (f"rxunix stress suite, {'full' if args.full else 'CI'} variant, {mode}, "
             f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
             f"{time.monotonic() - started:.0f} s wall")
    print()
    print(table(rows, title=title))
    lost, leaks = sum(r.lost for r in rows), sum(r.leaks for r in rows)
    print(f"\npytest exit status {rc}; events lost {lost}; leaks {leaks}")
    return rc or int(lost > 0 or leaks > 0)


if __name__ == "__main__":
    sys.exit(main())
