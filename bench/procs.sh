#!/usr/bin/env bash
# A fork+exec+exit storm under `tracer procs` and bpftrace's execsnoop.bt at once (issue 16). Run as root:
#
#   TRACER=target/release/tracer bash bench/procs.sh [--procs N] [--spawners S] [--threads T]
#
# S shells (default 2) each run N/S times a copy of /bin/true (named procs-storm-true, so that nothing else on the
# machine is counted), as fast as they can. With --threads T, the spawner is instead one process of T threads
# (`workload spawn-threads`, WORKLOAD=target/release/examples/workload), each forking and exec'ing the copy N/T
# times: forks from several threads of one process at once. The storm runs four times: alone (the baseline), under tracer procs
# -p SHELLS (their forks, execs and exits, followed in the kernel), under execsnoop.bt (execs of every process), and
# under both at once. For the run under both, each tool's count of the storm's processes: tracer's forks, execs
# and exits, and its lost count (never silently missing: seen + lost = N); execsnoop's exec lines (bpftrace counts
# no losses: its perf buffer drops are only a warning on stderr, if any).
set -euo pipefail

PROCS=20000
SPAWNERS=2
THREADS=0
while (($#)); do
    case $1 in
    --procs) PROCS=$2; shift 2 ;;
    --spawners) SPAWNERS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    *) echo "usage: bash bench/procs.sh [--procs N] [--spawners S] [--threads T]" >&2; exit 2 ;;
    esac
done
. "$(dirname "$0")/common.sh"
bench_init
EXECSNOOP=${EXECSNOOP:-$( (ls /usr/sbin/execsnoop.bt /usr/share/bpftrace/tools/execsnoop.bt 2>/dev/null || true) | head -n1)}
command -v bpftrace >/dev/null && [[ -n $EXECSNOOP ]] || die "needs bpftrace and its execsnoop.bt (apt-get install -y bpftrace)"
cp /bin/true "$tmp/procs-storm-true"
per=$((PROCS / SPAWNERS))
if ((THREADS > 0)); then
    SPAWNERS=1
    PROCS=$((PROCS / THREADS * THREADS))
fi

# spawners: starts SPAWNERS shells waiting on a fifo; sets SHELLS (their pids, comma-separated).
spawners() {
    rm -f "$tmp/go"
    mkfifo "$tmp/go"
    SHELLS=
    shell_pids=()
    if ((THREADS > 0)); then
        # Blocked opening the fifo until the storm, then exec'd as the workload (same pid).
        "$WORKLOAD" --wait-stdin spawn-threads "$THREADS" "$PROCS" "$tmp/procs-storm-true" <"$tmp/go" >"$tmp/spawner.out" &
        shell_pids+=($!)
        SHELLS=$!
        return
    fi
    for _ in $(seq "$SPAWNERS"); do
        bash -c 'read -r _ <"$1"; for ((i = 0; i < $2; i++)); do "$3"; done' storm "$tmp/go" "$per" \
            "$tmp/procs-storm-true" &
        shell_pids+=($!)
        SHELLS+=${SHELLS:+,}$!
    done
}

# storm: releases the shells, waits for them (in this shell: they are its children); sets SECS, the wall time.
storm() {
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$SPAWNERS"); do echo go; done >"$tmp/go"
    wait "${shell_pids[@]}"
    end=$(date +%s%N)
    SECS=$(echo "scale=3; ($end - $start) / 1000000000" | bc)
}

start_tracer() {
    "$TRACER" procs --no-snapshot --json -o "$tmp/procs.jsonl" -p "$SHELLS" 2>"$tmp/procs.err" &
    tracer_pid=$!
    for _ in $(seq 600); do
        grep -q '"type":"ready"' "$tmp/procs.jsonl" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "tracer never got ready: $(cat "$tmp/procs.err")" >&2
    exit 1
}

start_execsnoop() {
    bpftrace "$EXECSNOOP" >"$tmp/execsnoop.out" 2>"$tmp/execsnoop.err" &
    snoop_pid=$!
    for _ in $(seq 600); do
        grep -q 'PID' "$tmp/execsnoop.out" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "execsnoop never started: $(cat "$tmp/execsnoop.err")" >&2
    exit 1
}

stop() {
    kill -INT "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

if ((THREADS > 0)); then
    echo "storm: $PROCS processes from $THREADS threads of one process ($(nproc) CPUs, $(uname -r))"
else
    echo "storm: $PROCS processes from $SPAWNERS shells ($(nproc) CPUs, $(uname -r))"
fi
spawners
storm
echo "alone:               $SECS s ($((PROCS * 1000 / ${SECS/./})) processes/s)"

spawners
start_tracer
storm
echo "under tracer procs:  $SECS s ($((PROCS * 1000 / ${SECS/./})) processes/s)"
stop "$tracer_pid"

spawners
start_execsnoop
storm
echo "under execsnoop.bt:  $SECS s ($((PROCS * 1000 / ${SECS/./})) processes/s)"
stop "$snoop_pid"

spawners
start_tracer
start_execsnoop
storm
echo "under both:          $SECS s ($((PROCS * 1000 / ${SECS/./})) processes/s)"
sleep 1
stop "$tracer_pid"
stop "$snoop_pid"

count() { (grep -F "$2" "$1" || true) | grep -cF "${3:-}" || true; }
forks=$(count "$tmp/procs.jsonl" '"type":"fork"' '"thread":false')
execs=$(count "$tmp/procs.jsonl" '"type":"exec"' '"comm":"procs-storm-tru"')
exits=$(count "$tmp/procs.jsonl" '"type":"exit"' '"comm":"procs-storm-tru"')
lost=$( (grep -F '"type":"lost"' "$tmp/procs.jsonl" || true) | sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
# The storm's execs: occurrences of the copy's name, not lines (execsnoop's printf and join() are separate messages,
# which bpftrace prints interleaved across CPUs: a line may hold two prefixes, another the bare arguments), the
# spawner's own exec (its argv names the copy) left out.
snooped=$( (grep -F procs-storm-true "$tmp/execsnoop.out" || true) | (grep -vF spawn-threads || true) |
    grep -oF procs-storm-true | wc -l)
garbled=$(awk 'NR > 1 && NF != 3 && !/spawn-threads/' "$tmp/execsnoop.out" | wc -l)
# execsnoop's lines by pid (its second column), for the pids of the storm's execs as tracer saw them: a line whose
# arguments bpftrace could not read from the process's memory names no program.
(grep -F '"type":"exec"' "$tmp/procs.jsonl" || true) | grep -F '"comm":"procs-storm-tru"' |
    sed -n 's/.*"pid":\([0-9]*\),.*/\1/p' >"$tmp/storm.pids"
by_pid=$(awk 'NR == FNR { p[$1]; next } ($2 in p)' "$tmp/storm.pids" "$tmp/execsnoop.out" | wc -l)
echo "tracer procs (under both): $forks forks, $execs execs, $exits exits of $PROCS processes; $lost lost"
echo "execsnoop.bt (under both): $snooped execs of $PROCS processes ($by_pid lines start with a storm pid; $garbled lines garbled); its stderr: $(tr '\n' ' ' <"$tmp/execsnoop.err" | cut -c1-200)"
