#!/usr/bin/env bash
# A fork storm under `tracer monitor` with fork events off (the default) and on (`--forks`), issue 16 item 3:
#
#   TRACER=target/release/tracer bash bench/monitor-forks.sh [--secs S] [--runs R]
#
# `workload fork-storm S` (children that exit at once, one after another, timed inside) R times per setting,
# interleaved round by round: alone, under `tracer monitor --json -o FILE`, under `tracer monitor --forks --json -o
# FILE`. Prints the forks per second of each run and, for monitor, what it wrote: fork and exit records, and the
# records lost (a full ring) or refused by the per-kind rate limit (`lost` with reason rate_limit).
set -euo pipefail

SECS=10
RUNS=3
while (($#)); do
    case $1 in
    --secs) SECS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "usage: bash bench/monitor-forks.sh [--secs S] [--runs R]" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench/monitor-forks.sh: run as root" >&2; exit 1; }
TRACER=${TRACER:-target/release/tracer}
WORKLOAD=${WORKLOAD:-$(dirname "$TRACER")/examples/workload}
[[ -x $TRACER && -x $WORKLOAD ]] || {
    echo "build first: cargo build --release -p tracer-user --example workload" >&2
    exit 1
}
tmp=$(mktemp -d)
monitor_pid=
cleanup() {
    [[ -z $monitor_pid ]] || kill -INT "$monitor_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

start_monitor() {
    rm -f "$tmp/monitor.jsonl"
    "$TRACER" monitor --json -o "$tmp/monitor.jsonl" "$@" 2>"$tmp/monitor.err" &
    monitor_pid=$!
    for _ in $(seq 600); do
        grep -q '"type":"ready"' "$tmp/monitor.jsonl" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "monitor never got ready: $(cat "$tmp/monitor.err")" >&2
    exit 1
}

stop_monitor() {
    sleep 0.5
    kill -INT "$monitor_pid"
    wait "$monitor_pid" || true
    monitor_pid=
}

storm() { "$WORKLOAD" fork-storm "$SECS" | sed -n 's/.*forks=\([0-9]*\) per_sec=\([0-9]*\).*/\1 \2/p'; }

lines() { (grep -F "$1" "$tmp/monitor.jsonl" || true) | grep -cF "${2:-}" || true; }
lost() {
    (grep -F '"type":"lost"' "$tmp/monitor.jsonl" || true) | grep -F "$1" |
        sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

echo "fork storm of $SECS s, $RUNS rounds ($(nproc) CPUs, $(uname -r))"
for round in $(seq "$RUNS"); do
    read -r forks rate < <(storm)
    echo "round $round alone:            $forks forks, $rate/s"
    for setting in off on; do
        if [[ $setting == on ]]; then start_monitor --forks; else start_monitor; fi
        read -r forks rate < <(storm)
        stop_monitor
        echo "round $round monitor, forks $setting: $forks forks, $rate/s;" \
            "written: $(lines '"type":"fork"' '"comm":"fork-storm"') fork, $(lines '"type":"exit"' '"comm":"fork-storm"') exit;" \
            "lost: $(lost '"reason":"rate_limit"') over the rate limit, $(lost '"probe"' | head -1) in all"
    done
done
