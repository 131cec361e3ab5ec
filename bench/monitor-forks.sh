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
. "$(dirname "$0")/common.sh"
bench_init

start_monitor() { start_tool monitor '"type":"ready"' "$TRACER" monitor --json -o "$tmp/monitor.jsonl" "$@"; }
stop_monitor() {
    sleep 0.5
    stop_tool
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
