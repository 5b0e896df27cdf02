#!/usr/bin/env bash
# Each benchmark server process's user and system CPU and page faults over a whole run.
#
#   bash bench/proc_cpu.sh OUT.txt python bench/bench_window.py --pin --json orjson --chains echo,sliding
#
# Runs the benchmark command (its output to OUT.txt). Every `_serve.py` process (one
# per row) writes its own /proc/self/stat reading as it ends into a directory this
# script names (RXUNIX_BENCH_PROC_DIR); afterwards the script prints one line per
# process: its arguments, minor page faults, user and system CPU in clock ticks
# (`getconf CLK_TCK`, usually 100 a second). A diagnosis beside the benchmark's own
# table (which gives CPU per event, user and system together), run by hand.
set -u
out=${1:?usage: bench/proc_cpu.sh OUT.txt COMMAND...}
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/rxunix-proc.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
RXUNIX_BENCH_PROC_DIR=$dir "$@" >"$out" 2>&1
rc=$?
cat "$dir"/*.txt 2>/dev/null | sort
exit $rc
