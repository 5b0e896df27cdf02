#!/usr/bin/env bash
# Each benchmark server process's user and system CPU and page faults over a whole run.
#
#   bash bench/proc_cpu.sh OUT.txt python bench/bench_window.py --pin --json orjson --chains echo,sliding
#
# Runs the benchmark command (its output to OUT.txt) and, every half second while it
# runs, reads /proc/PID/stat of every `_serve.py` process (one per row); prints the
# last reading of each: minor page faults, user and system CPU in clock ticks
# (`getconf CLK_TCK`, usually 100 a second). A diagnosis beside the benchmark's own
# table (which gives CPU per event, user and system together), run by hand.
set -u
out=${1:?usage: bench/proc_cpu.sh OUT.txt COMMAND...}
shift
"$@" >"$out" 2>&1 &
bench=$!
declare -A last
while kill -0 "$bench" 2>/dev/null; do
    for pid in $(pgrep -f "_serve.py"); do
        args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | sed 's/.*_serve.py//')
        stat=$(awk '{print "minflt=" $10, "utime=" $14, "stime=" $15}' "/proc/$pid/stat" 2>/dev/null)
        [ -n "$stat" ] && last[$pid]="$args| $stat"
    done
    sleep 0.5
done
wait "$bench"
rc=$?
for pid in "${!last[@]}"; do echo "${last[$pid]}"; done | sort
exit $rc
