#!/usr/bin/env bash
# The tables of docs/benchmarks.md that need a quiet machine with many cores.
#
#   bash bench/quiet_machine.sh OUTDIR [PART...]   # needs >= 16 usable CPUs; writes OUTDIR/*.txt
#        PART: workers, side-by-side, floor (the default: all three), window-alone
#        (bench_window.py on three CPUs with nothing else running)
#   QUICK=1 bash bench/quiet_machine.sh OUTDIR    # every run --quick, on any machine (a dry run)
#
# 1. bench_workers.py alone on the whole machine (workers + load processes need the
#    cores): fan-in echo with 20 us of CPU work per event, plain echo, and one
#    global window across the workers.
# 2. Then five benchmarks side by side, each confined with taskset to its own three
#    CPUs (inside them --pin gives the orchestrator, the server and the load
#    generator one CPU each): bench_server.py with simplejson, the same with orjson,
#    bench_window.py, bench_client.py, and bench_window.py's echo and sliding rows
#    with a 2 MiB send buffer per connection (--send-buffer, capped at what the
#    kernel allows). No two share a core; they share the caches and memory of one
#    machine, as any two processes do.
# 3. The in-process tables, one CPU each, side by side: profile_floor.py (the server
#    against the hand loop and the Rx contract's floor), profile_chains.py (each
#    chain's own cost) and profile_read.py (rxunix's cost per read of an echo, hot and
#    --cold), with orjson and with simplejson.
set -u
out=${1:?usage: bench/quiet_machine.sh OUTDIR [workers] [side-by-side] [floor] [window-alone]}
shift
parts=" ${*:-workers side-by-side floor} "
mkdir -p "$out"
cd "$(dirname "$0")/.." || exit 1
py=${PYTHON:-python3}
ncpu=$($py -c 'import os; print(len(os.sched_getaffinity(0)))')
quick=${QUICK:-}
if [ -z "$quick" ] && [ "$ncpu" -lt 16 ]; then
    echo "bench/quiet_machine.sh: $ncpu usable CPUs; it needs 16" >&2
    exit 2
fi
export PYTHONUNBUFFERED=1

run() {  # run NAME SECONDS CPUS COMMAND...: one benchmark, its output to OUTDIR/NAME.txt
    local name=$1 limit=$2 cpus=$3
    shift 3
    if [ -n "$quick" ]; then cpus=0-$((ncpu - 1)); set -- "$@" --quick; fi
    echo "== $name: taskset -c $cpus $*" >"$out/$name.txt"
    timeout "$limit" taskset -c "$cpus" "$py" "$@" >>"$out/$name.txt" 2>&1
    echo "== $name: exit $?" >>"$out/$name.txt"
}

start=$(date +%s)
sizes=(--events 300000 --rtt 10000)
wsizes=(--events 100000)
csizes=(--events 200000 --pingpong 10000)
if [ -n "$quick" ]; then sizes=(); wsizes=(); csizes=(); fi

if [[ $parts == *" workers "* ]]; then
run workers 240 0-15 bench/bench_workers.py --work-us 20 --loaders 6 --rounds 3
run workers_echo 90 0-15 bench/bench_workers.py --loaders 7 --rounds 1
run workers_global 90 0-15 bench/bench_workers.py --global-window 64 --loaders 6 --rounds 1
echo "workers done after $(( $(date +%s) - start )) s"
fi

if [[ $parts == *" side-by-side "* ]]; then
run server_simplejson 300 1-3 bench/bench_server.py --pin --rounds 3 "${sizes[@]}" --json simplejson &
run server_orjson 300 4-6 bench/bench_server.py --pin --rounds 3 "${sizes[@]}" --json orjson &
run window 300 7-9 bench/bench_window.py --pin --rounds 5 "${wsizes[@]}" --reads 65536 &
run client 300 10-12 bench/bench_client.py --pin --rounds 3 "${csizes[@]}" &
# echo and sliding with every connection's send buffer at 2 MiB (or what the kernel allows)
sndbuf=$(( $(cat /proc/sys/net/core/wmem_max 2>/dev/null || echo 2097152) ))
(( sndbuf > 2097152 )) && sndbuf=2097152
run window_sndbuf 300 13-15 bench/bench_window.py --pin --rounds 5 "${wsizes[@]}" --reads 65536 \
    --json orjson,simplejson --chains echo,sliding --send-buffer "$sndbuf" &
wait
fi

if [[ $parts == *" floor "* ]]; then
run floor_orjson 300 1 bench/profile_floor.py --json orjson &
run floor_simplejson 300 2 bench/profile_floor.py --json simplejson &
run chains_orjson 300 3 bench/profile_chains.py --json orjson &
run chains_simplejson 300 4 bench/profile_chains.py --json simplejson &
run read_orjson 300 5 bench/profile_read.py --json orjson --lines 1,66,508 &
run read_simplejson 300 6 bench/profile_read.py --json simplejson --lines 1,66,508 &
run read_cold_orjson 300 7 bench/profile_read.py --cold --json orjson --lines 1,66 --reads 5000 &
run read_cold_simplejson 300 8 bench/profile_read.py --cold --json simplejson --lines 1,66 --reads 5000 &
wait
fi

if [[ $parts == *" window-alone "* ]]; then
run window_alone 300 1-3 bench/bench_window.py --pin --rounds 5 "${wsizes[@]}" --reads 65536
fi
echo "all done after $(( $(date +%s) - start )) s"
