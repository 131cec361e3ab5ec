#!/usr/bin/env bash
# What `tracer signals` costs the processes it does not trace (issue 6). Run as root:
#
#   cargo xtask bench --only signals [--calls N] [--runs R]
#   TRACER=target/release/tracer bash bench/signals.sh [--calls N] [--runs R]
#
# A getppid storm (`workload storm-cpu N`, timed in the storm thread's CPU time, so that other work on the machine
# preempting it is not counted) runs R times in each configuration, interleaved round by round; the table shows the
# median ns per call and the extra over the baseline:
#   baseline        no tracer
#   signals         tracer signals -o /dev/null (raw tracepoints signal_generate/signal_deliver, sched_process_exit)
#   signals-failed  tracer signals --failed -o /dev/null (adds the kill family's sys_enter/sys_exit tracepoints)
#
# Any syscall tracepoint puts every task on the kernel's slow syscall path: if another tool (a tracer, a test suite)
# has one attached while this runs, the baseline pays it too and --failed seems free.

set -euo pipefail

CALLS=3000000
RUNS=9
READY_TIMEOUT=30

die() {
    echo "bench: $*" >&2
    exit 1
}

while (($#)); do
    case $1 in
        --calls) (($# >= 2)) || die "--calls needs a value"; CALLS=$2; shift 2 ;;
        --calls=*) CALLS=${1#*=}; shift ;;
        --runs) (($# >= 2)) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        -h | --help) echo "usage: bash bench/signals.sh [--calls N] [--runs R]"; exit 0 ;;
        # Options of the other scripts `cargo xtask bench` passes along (--strace-calls N ...): not ours.
        *) echo "bench: signals.sh ignores $1" >&2; shift ;;
    esac
done
[[ $CALLS =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ ]] || die "--calls and --runs take positive numbers"

root=$(cd "$(dirname "$0")/.." && pwd)
TRACER=${TRACER:-$root/target/release/tracer}
WORKLOAD=$root/target/release/examples/workload
[[ -x $TRACER ]] || die "no tracer at $TRACER (cargo build --release)"
[[ -x $WORKLOAD ]] || die "no workload at $WORKLOAD (cargo build --release -p tracer-user --example workload)"
[[ $(id -u) == 0 ]] || die "run as root: tracer loads eBPF programs"

tmp=$(mktemp -d)
tracer_pid=
cleanup() {
    [[ -n $tracer_pid ]] && kill -INT "$tracer_pid" 2>/dev/null && wait "$tracer_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

read -r load _ </proc/loadavg
echo "bench: load average $load; $CALLS getppid calls per storm, $RUNS runs per configuration" >&2

storm() {
    local out
    out=$("$WORKLOAD" storm-cpu "$CALLS")
    [[ $out =~ ^ns_per_call=([0-9.]+)$ ]] || die "unexpected workload output: $out"
    echo "${BASH_REMATCH[1]}"
}

# Runs a storm while `tracer ARGS...` is attached; prints the storm's ns per call.
storm_under() {
    "$TRACER" "$@" -o /dev/null 2>"$tmp/err" &
    tracer_pid=$!
    local waited=0
    until grep -q 'ready$' "$tmp/err"; do
        kill -0 "$tracer_pid" 2>/dev/null || die "tracer $* exited: $(cat "$tmp/err")"
        ((waited++ < READY_TIMEOUT * 20)) || die "tracer $* never got ready"
        sleep 0.05
    done
    storm
    kill -INT "$tracer_pid"
    wait "$tracer_pid" || die "tracer $* failed: $(cat "$tmp/err")"
    tracer_pid=
}

# Other processes with programs on the syscall tracepoints put every task on the slow path, the baseline included.
foreign() {
    command -v bpftool >/dev/null || return 0
    bpftool perf list 2>/dev/null | awk '/tracepoint +sys_(enter|exit)/ { print $2 }' | sort -u | tr '\n' ' '
}

declare -a base signals failed
for ((run = 1; run <= RUNS; run++)); do
    others=$(foreign)
    [[ -z $others ]] || echo "bench: warning: pids $others have programs on syscall tracepoints; figures are skewed" >&2
    base+=("$(storm)")
    signals+=("$(storm_under signals)")
    failed+=("$(storm_under signals --failed)")
    echo "bench: run $run: baseline ${base[-1]}, signals ${signals[-1]}, signals --failed ${failed[-1]} ns/call" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
b=$(median "${base[@]}")
printf '%-16s %10s %10s %8s\n' configuration ns/call extra ratio
for name in baseline signals signals-failed; do
    case $name in
        baseline) m=$b ;;
        signals) m=$(median "${signals[@]}") ;;
        signals-failed) m=$(median "${failed[@]}") ;;
    esac
    awk -v n="$name" -v m="$m" -v b="$b" 'BEGIN {printf "%-16s %10.1f %+10.1f %7.2fx\n", n, m, m - b, m / b}'
done
