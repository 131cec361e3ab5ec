#!/usr/bin/env bash
# A fork+exec+exit storm under `tracer procs` and bpftrace's execsnoop.bt at once (issue 16). Run as root:
#
#   TRACER=target/release/tracer bash bench/procs.sh [--procs N] [--spawners S]
#
# S shells (default 2) each run N/S times a copy of /bin/true (named procs-storm-true, so that nothing else on the
# machine is counted), as fast as they can. The storm runs four times: alone (the baseline), under tracer procs
# -p SHELLS (their forks, execs and exits, followed in the kernel), under execsnoop.bt (execs of every process), and
# under both at once. For the run under both, each tool's count of the storm's processes: tracer's forks, execs
# and exits, and its lost count (never silently missing: seen + lost = N); execsnoop's exec lines (bpftrace counts
# no losses: its perf buffer drops are only a warning on stderr, if any).
set -euo pipefail

PROCS=20000
SPAWNERS=2
while (($#)); do
    case $1 in
    --procs) PROCS=$2; shift 2 ;;
    --spawners) SPAWNERS=$2; shift 2 ;;
    *) echo "usage: bash bench/procs.sh [--procs N] [--spawners S]" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench/procs.sh: run as root" >&2; exit 1; }
TRACER=${TRACER:-target/release/tracer}
[[ -x $TRACER ]] || { echo "build first: cargo build --release -p tracer-user" >&2; exit 1; }
EXECSNOOP=${EXECSNOOP:-$( (ls /usr/sbin/execsnoop.bt /usr/share/bpftrace/tools/execsnoop.bt 2>/dev/null || true) | head -n1)}
command -v bpftrace >/dev/null && [[ -n $EXECSNOOP ]] || {
    echo "bench/procs.sh: needs bpftrace and its execsnoop.bt (apt-get install -y bpftrace)" >&2
    exit 1
}
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
cp /bin/true "$tmp/procs-storm-true"
per=$((PROCS / SPAWNERS))

# spawners: starts SPAWNERS shells waiting on a fifo; sets SHELLS (their pids, comma-separated).
spawners() {
    rm -f "$tmp/go"
    mkfifo "$tmp/go"
    SHELLS=
    shell_pids=()
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
    pids+=("$tracer_pid")
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
    pids+=("$snoop_pid")
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

echo "storm: $PROCS processes from $SPAWNERS shells ($(nproc) CPUs, $(uname -r))"
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
execs=$(count "$tmp/procs.jsonl" '"type":"exec"' procs-storm-true)
exits=$(count "$tmp/procs.jsonl" '"type":"exit"' '"comm":"procs-storm-tru"')
lost=$( (grep -F '"type":"lost"' "$tmp/procs.jsonl" || true) | sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
snooped=$(grep -cF procs-storm-true "$tmp/execsnoop.out" || true)
echo "tracer procs (under both): $forks forks, $execs execs, $exits exits of $PROCS processes; $lost lost"
echo "execsnoop.bt (under both): $snooped execs of $PROCS processes; its stderr: $(tr '\n' ' ' <"$tmp/execsnoop.err" | cut -c1-200)"
