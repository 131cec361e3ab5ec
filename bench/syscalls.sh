#!/usr/bin/env bash
# Benchmark of `tracer syscalls` on a getppid storm (issue 3, item 6). Run as root:
#
#   cargo xtask bench [--calls N] [--runs R] [--strace-calls M]
#   TRACER=target/release/tracer bash bench/syscalls.sh [--calls N] [--runs R] [--strace-calls M]
#       [--variant NAME=BIN ...] [--variant-configs traced_all,traced_t,bystander_all]
#
# The workload times its own loop of N getppid calls and prints `ns_per_call=X`, so start-up costs of the
# workload and of any tracer are not in the figures. Every configuration runs R times, interleaved round by
# round (so a slow drift of the machine spreads over all of them), and the table shows the median.
#
# Configurations:
#   baseline        no tracer
#   traced, all     tracer syscalls -o /dev/null -p STORM        (every event decoded, written to /dev/null)
#   traced, -c      tracer syscalls -c -o /dev/null -p STORM     (counted in the kernel)
#   bystander, all  tracer syscalls -o /dev/null -p SLEEPER      (storm untraced; what everyone else pays)
#   traced, -T      as "traced, all" with durations: the enter is hooked too (as for -t, --json and -c)
#   traced, json    tracer syscalls --json -p STORM               (JSON lines, filtered to ready/lost: the slowest reader)
#   bystander, -T   as "bystander, all" with the enter hooked too
#   bystander, few  tracer syscalls -e trace=openat -o /dev/null -p SLEEPER
#   floor, few      bpftrace with (never running) programs on sys_enter_openat/sys_exit_openat: what the kernel
#                   charges every syscall once one syscall tracepoint is in use, the floor under "bystander, few"
#   strace -f       strace -f -o /dev/null on the storm (M calls, default N/20: it is ~400x slower)
#   bpftrace count  bpftrace counting the storm's syscalls per id in a map
#   floor, all      bpftrace with an idle program on raw_syscalls:sys_exit (pid == SLEEPER): the floor under
#                   "bystander, all"
#   floor, -T       the same on raw_syscalls:sys_enter and sys_exit: the floor under "bystander, -T"
#
# Beside each tracer row the table prints the bpftrace row it is to beat (issue 22: every traced row against
# bpftrace's count by syscall id, each bystander row against its idle bpftrace floor) and the ratio of the two extra
# costs. --variant NAME=BIN adds rows for another tracer binary (an A/B in the same run, round by round), for the
# configurations named by --variant-configs. Warnings: other BPF users on the machine, runs spread more than 20%.
#
# Tracer and bpftrace attach before the storm starts: the workload is started with --wait-stdin, waits on a
# FIFO, and is released once tracer printed its "ready" line on stderr (bpftrace: "Attaching" on stdout).

set -euo pipefail

CALLS=2000000
RUNS=5
STRACE_CALLS=
VARIANT_NAMES=()
declare -A VARIANT_BIN=()
VARIANT_CONFIGS=traced_all,traced_t,bystander_all
STORM=storm # the workload's action: storm (wall clock) or storm-cpu (--cpu: the thread's CPU time)
SPREAD_LIMIT=20 # percent: (max - min) / median of a row's runs above this is warned about
READY_TIMEOUT=30 # seconds for a tracer/bpftrace to attach
RUN_TIMEOUT=300  # seconds for one storm to finish
EXIT_TIMEOUT=15  # seconds for a tracer to exit after its target did (or after SIGTERM)

usage() {
    cat <<EOF
usage: bash bench/syscalls.sh [--calls N] [--runs R] [--strace-calls M]
  --calls N         getppid calls per storm (default $CALLS)
  --runs R          runs of each configuration; the median is reported (default $RUNS)
  --strace-calls M  calls per storm under strace (default N/20)
  --variant NAME=BIN  also run another tracer binary (repeatable), in the configurations of --variant-configs
  --variant-configs LIST  comma-separated (default $VARIANT_CONFIGS)
  --cpu             time the storm in its thread's CPU time, not the wall clock (steadier on a busy machine)
env: TRACER=path to the tracer binary (default target/release/tracer)
EOF
}

die() {
    echo "bench: $*" >&2
    exit 1
}

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

add_variant() {
    local name=${1%%=*} bin=${1#*=}
    [[ $1 == *=* && $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "--variant wants NAME=BIN (NAME: letters, digits, . _ -), not '$1'"
    [[ -x $bin ]] || die "variant '$name': '$bin' is not an executable"
    [[ -z ${VARIANT_BIN[$name]:-} ]] || die "variant '$name' given twice"
    VARIANT_NAMES+=("$name")
    VARIANT_BIN[$name]=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
}

while (($#)); do
    case $1 in
        --calls) (($# >= 2)) || die "--calls needs a value"; CALLS=$2; shift 2 ;;
        --calls=*) CALLS=${1#*=}; shift ;;
        --runs) (($# >= 2)) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --strace-calls) (($# >= 2)) || die "--strace-calls needs a value"; STRACE_CALLS=$2; shift 2 ;;
        --strace-calls=*) STRACE_CALLS=${1#*=}; shift ;;
        --variant) (($# >= 2)) || die "--variant needs NAME=BIN"; add_variant "$2"; shift 2 ;;
        --variant=*) add_variant "${1#*=}"; shift ;;
        --variant-configs) (($# >= 2)) || die "--variant-configs needs a list"; VARIANT_CONFIGS=$2; shift 2 ;;
        --variant-configs=*) VARIANT_CONFIGS=${1#*=}; shift ;;
        --cpu) STORM=storm-cpu; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
is_count "$CALLS" || die "--calls must be a positive integer, not '$CALLS'"
is_count "$RUNS" || die "--runs must be a positive integer, not '$RUNS'"
if [[ -z $STRACE_CALLS ]]; then
    STRACE_CALLS=$((CALLS / 20))
    ((STRACE_CALLS > 0)) || STRACE_CALLS=1
fi
is_count "$STRACE_CALLS" || die "--strace-calls must be a positive integer, not '$STRACE_CALLS'"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---------------------------------------------------------------------------------------------- checks

(($(id -u) == 0)) || die "must run as root (tracer and bpftrace load eBPF programs); try: sudo cargo xtask bench"

TRACER=${TRACER:-$ROOT/target/release/tracer}
[[ -x $TRACER ]] || die "tracer binary '$TRACER' not found or not executable: run 'cargo xtask bench' (builds it) or set TRACER=path"
STRACE=$(command -v strace) || die "strace not found: run scripts/setup.sh (or: apt-get install strace)"
BPFTRACE=$(command -v bpftrace) || die "bpftrace not found: run scripts/setup.sh (or: apt-get install bpftrace)"
BPFTOOL=$(command -v bpftool || true) # optional: to see when bpftrace attached and whether others are attached
for tool in awk sort mkfifo timeout; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

WORKLOAD=$ROOT/target/release/examples/workload
if [[ ! -x $WORKLOAD ]]; then
    echo "bench: building the workload: cargo build --release -p tracer-user --example workload" >&2
    cargo build --release -p tracer-user --example workload >&2 || die "building the workload failed"
    [[ -x $WORKLOAD ]] || die "$WORKLOAD is still missing after the build"
fi

# --------------------------------------------------------------------------------- processes, cleanup

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tracer-bench.XXXXXX")
# Private copies, so a rebuild of target/ while the benchmark runs cannot change them between runs.
TRACER_SRC=$TRACER
cp "$TRACER_SRC" "$TMP/tracer" && TRACER=$TMP/tracer || { rm -rf "$TMP"; die "cannot copy $TRACER_SRC"; }
cp "$WORKLOAD" "$TMP/workload" && WORKLOAD=$TMP/workload || { rm -rf "$TMP"; die "cannot copy $WORKLOAD"; }
declare -A VARIANT_SRC=()
for name in "${VARIANT_NAMES[@]}"; do
    VARIANT_SRC[$name]=${VARIANT_BIN[$name]}
    cp "${VARIANT_BIN[$name]}" "$TMP/tracer.$name" && VARIANT_BIN[$name]=$TMP/tracer.$name ||
        { rm -rf "$TMP"; die "cannot copy ${VARIANT_BIN[$name]}"; }
done
RUN_TRACER=$TRACER RUN_TRACER_SRC=$TRACER_SRC # the binary of the configuration being run
declare -A LIVE=() # background processes this script started and has not reaped yet (never kill a reaped pid)
FIFO_FD=

cleanup() {
    local pid
    trap - EXIT INT TERM
    if [[ -n $FIFO_FD ]]; then exec {FIFO_FD}>&- || true; fi
    for pid in "${!LIVE[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${!LIVE[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

spawned() { LIVE[$1]=1; }

# Stop whatever a failed run left behind (a workload waiting to be released, a tracer), except the sleeper.
stop_leftovers() {
    local pid
    for pid in "${!LIVE[@]}"; do
        [[ $pid == "$SLEEPER" ]] || stop "$pid" || true
    done
}

# Seconds since the epoch with a fraction, for deadlines.
now() { date +%s.%N; }
before() { awk -v a="$(now)" -v b="$1" 'BEGIN { exit !(a < b) }'; }
deadline() { awk -v a="$(now)" -v s="$1" 'BEGIN { printf "%.3f", a + s }'; }

# wait_for FILE REGEX PID TIMEOUT: wait until FILE has a line matching REGEX; fail if PID exits first or on timeout.
wait_for() {
    local file=$1 regex=$2 pid=$3 until
    until=$(deadline "$4")
    while before "$until"; do
        grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { grep -Eq -- "$regex" "$file" 2>/dev/null && return 0; return 1; }
        sleep 0.02
    done
    return 1
}

# wait_exit PID TIMEOUT: wait for PID (a child) to exit; its status in EXIT_STATUS. Returns 1 on timeout.
EXIT_STATUS=0
wait_exit() {
    local pid=$1 until
    until=$(deadline "$2")
    while kill -0 "$pid" 2>/dev/null; do
        before "$until" || return 1
        sleep 0.02
    done
    EXIT_STATUS=0
    wait "$pid" 2>/dev/null || EXIT_STATUS=$?
    unset "LIVE[$pid]"
    return 0
}

# stop PID: SIGTERM, then SIGKILL if it does not exit in time. Returns 1 if it had to be killed.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    wait_exit "$pid" "$EXIT_TIMEOUT" && return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "LIVE[$pid]"
    return 1
}

# Start the workload waiting on a FIFO: sets WL_PID, WL_OUT. The FIFO is held open read-write by this script
# (FIFO_FD), so opening it does not block and writing one line releases the workload.
start_waiting_storm() {
    local calls=$1 fifo=$TMP/release
    WL_OUT=$TMP/workload.out
    rm -f "$fifo" "$WL_OUT"
    mkfifo "$fifo"
    exec {FIFO_FD}<>"$fifo"
    "$WORKLOAD" --wait-stdin "$STORM" "$calls" <"$fifo" >"$WL_OUT" 2>"$TMP/workload.err" &
    WL_PID=$!
    spawned "$WL_PID"
    wait_for "$WL_OUT" '^pid=' "$WL_PID" 10 || {
        FAIL_MSG="workload did not start: $(cat "$TMP/workload.err")"
        return 1
    }
    [[ $(sed -n 's/^pid=//p' "$WL_OUT") == "$WL_PID" ]] || {
        FAIL_MSG="workload printed $(head -n1 "$WL_OUT"), expected pid=$WL_PID"
        return 1
    }
}

release_storm() {
    echo >&"$FIFO_FD"
    exec {FIFO_FD}>&-
    FIFO_FD=
}

# Wait for the released workload to finish and set NS from its output.
finish_storm() {
    wait_exit "$WL_PID" "$RUN_TIMEOUT" || {
        FAIL_MSG="workload $WL_PID still running after ${RUN_TIMEOUT}s"
        return 1
    }
    ((EXIT_STATUS == 0)) || {
        FAIL_MSG="workload exited with status $EXIT_STATUS: $(cat "$TMP/workload.err")"
        return 1
    }
    parse_ns "$WL_OUT"
}

parse_ns() {
    NS=$(sed -n 's/^ns_per_call=//p' "$1")
    [[ $NS =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
        FAIL_MSG="no ns_per_call in the workload's output: $(tr '\n' ' ' <"$1")"
        return 1
    }
}

# Lost events as tracer reports them at exit ("tracer: N events were lost ..."), 0 when absent.
lost_in() {
    local n
    n=$(sed -n 's/^tracer: \([0-9][0-9]*\) events were lost.*/\1/p' "$1" | tail -n1)
    # JSON lines: the sum of the `lost` lines' counts (a full ring; none here is refused by a rate limit).
    [[ -z $n ]] && n=$(sed -n 's/^{"type":"lost".*"count":\([0-9][0-9]*\).*/\1/p' "$1" | awk '{ s += $1 } END { if (NR) print s }')
    echo "${n:-0}"
}

describe_tracer_failure() {
    FAIL_MSG="$1; command: $2; tracer stderr: $(tr '\n' ' ' <"$3" | cut -c1-500)"
}

# ------------------------------------------------------------------------------------ configurations
# Each run_* function sets NS (ns per call) and LOST (or "-"), or sets FAIL_MSG and returns 1.

run_baseline() {
    LOST=-
    "$WORKLOAD" "$STORM" "$CALLS" >"$TMP/baseline.out" 2>"$TMP/baseline.err" ||
        { FAIL_MSG="workload storm failed: $(cat "$TMP/baseline.err")"; return 1; }
    parse_ns "$TMP/baseline.out"
}

# run_traced ARGS...: tracer syscalls ARGS -p STORM, attached before the storm starts; tracer must exit by itself.
run_traced() {
    local err=$TMP/tracer.err cmd tpid
    start_waiting_storm "$CALLS" || return 1
    cmd="$RUN_TRACER_SRC syscalls $* -p $WL_PID"
    if [[ $1 == --json ]]; then
        # JSON lines carry `ready` and `lost` in the stream: keep those, drop the records (every one is decoded and
        # written all the same).
        "$RUN_TRACER" syscalls "$@" -p "$WL_PID" </dev/null 2>"$err" \
            > >(grep --line-buffered -E '^\{"type":"(ready|lost)"' >>"$err") &
    else
        "$RUN_TRACER" syscalls "$@" -p "$WL_PID" </dev/null >"$TMP/tracer.out" 2>"$err" &
    fi
    tpid=$!
    spawned "$tpid"
    if ! wait_for "$err" 'ready$|^\{"type":"ready"' "$tpid" "$READY_TIMEOUT"; then
        if kill -0 "$tpid" 2>/dev/null; then
            stop "$tpid" || true
            describe_tracer_failure "tracer not ready after ${READY_TIMEOUT}s" "$cmd" "$err"
        else
            wait_exit "$tpid" 1 || true
            describe_tracer_failure "tracer exited with status $EXIT_STATUS before it was ready" "$cmd" "$err"
        fi
        return 1
    fi
    release_storm
    finish_storm || { stop "$tpid" || true; return 1; }
    if ! wait_exit "$tpid" "$EXIT_TIMEOUT"; then
        stop "$tpid" || true
        describe_tracer_failure "tracer did not exit within ${EXIT_TIMEOUT}s of its target's exit" "$cmd" "$err"
        return 1
    fi
    ((EXIT_STATUS == 0)) || { describe_tracer_failure "tracer exited with status $EXIT_STATUS" "$cmd" "$err"; return 1; }
    [[ $1 == --json ]] && sleep 0.2 # the filter's last lines
    LOST=$(lost_in "$err")
}

# The -c summary (written to a file instead of /dev/null: a few lines at exit, same cost) must count every getppid.
check_summary() {
    local counted
    counted=$(awk '$NF == "getppid" { print $4 }' "$TMP/summary")
    if [[ $counted != "$CALLS" ]]; then
        FAIL_MSG="tracer -c counted ${counted:-no} getppid calls, expected $CALLS: $(tr '\n' ' ' <"$TMP/summary" | cut -c1-300)"
        return 1
    fi
}

# run_bystander ARGS...: tracer syscalls ARGS -p SLEEPER while the storm runs untraced; stopped with SIGTERM.
run_bystander() {
    local err=$TMP/tracer.err cmd tpid
    cmd="$RUN_TRACER_SRC syscalls $* -p $SLEEPER"
    "$RUN_TRACER" syscalls "$@" -p "$SLEEPER" </dev/null >"$TMP/tracer.out" 2>"$err" &
    tpid=$!
    spawned "$tpid"
    if ! wait_for "$err" 'ready$' "$tpid" "$READY_TIMEOUT"; then
        if kill -0 "$tpid" 2>/dev/null; then
            stop "$tpid" || true
            describe_tracer_failure "tracer not ready after ${READY_TIMEOUT}s" "$cmd" "$err"
        else
            wait_exit "$tpid" 1 || true
            describe_tracer_failure "tracer exited with status $EXIT_STATUS before it was ready" "$cmd" "$err"
        fi
        return 1
    fi
    if ! "$WORKLOAD" "$STORM" "$CALLS" >"$TMP/storm.out" 2>"$TMP/storm.err"; then
        stop "$tpid" || true
        FAIL_MSG="workload storm failed: $(cat "$TMP/storm.err")"
        return 1
    fi
    if ! kill -0 "$tpid" 2>/dev/null; then
        wait_exit "$tpid" 1 || true
        describe_tracer_failure "tracer exited (status $EXIT_STATUS) during the storm" "$cmd" "$err"
        return 1
    fi
    stop "$tpid" || { describe_tracer_failure "tracer ignored SIGTERM for ${EXIT_TIMEOUT}s" "$cmd" "$err"; return 1; }
    ((EXIT_STATUS == 0)) || { describe_tracer_failure "tracer exited with status $EXIT_STATUS after SIGTERM" "$cmd" "$err"; return 1; }
    parse_ns "$TMP/storm.out"
    LOST=$(lost_in "$err")
}

run_strace() {
    LOST=-
    "$STRACE" -f -o /dev/null "$WORKLOAD" "$STORM" "$STRACE_CALLS" >"$TMP/strace.out" 2>"$TMP/strace.err" ||
        { FAIL_MSG="strace -f -o /dev/null $WORKLOAD storm $STRACE_CALLS failed: $(cat "$TMP/strace.err")"; return 1; }
    parse_ns "$TMP/strace.out"
}

# bpftrace_attached PID [TRACEPOINT]: wait until PID has a program on TRACEPOINT (default sys_enter).
bpftrace_attached() {
    local pid=$1 tracepoint=${2:-sys_enter} until
    if [[ -z $BPFTOOL ]]; then
        sleep 1 # no bpftool to check with: give it time (the count check below catches a late attach)
        return 0
    fi
    until=$(deadline "$READY_TIMEOUT")
    while before "$until"; do
        "$BPFTOOL" perf list 2>/dev/null | grep -Eq "^pid $pid .*tracepoint +$tracepoint\b" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

# Other processes with eBPF programs on the syscall tracepoints (tests running alongside?): they slow every
# syscall on the machine, the baseline included. With bpftool: the processes attached to a syscall tracepoint;
# without: every process holding a BPF program (from /proc/PID/fd), which may be attached elsewhere.
note_foreign_probes() {
    local pids fd what
    if [[ -n $BPFTOOL ]]; then
        pids=$("$BPFTOOL" perf list 2>/dev/null | awk '/tracepoint +sys_(enter|exit)/ { print $2 }' | sort -u | tr '\n' ' ')
        what="have programs on the syscall tracepoints"
    else
        pids=$(for fd in /proc/[0-9]*/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == anon_inode:bpf-prog ]] && { fd=${fd#/proc/}; echo "${fd%%/*}"; }
        done | sort -un | tr '\n' ' ')
        what="hold BPF programs (no bpftool to see where they are attached)"
    fi
    if [[ -n $pids ]]; then
        FOREIGN+="$pids"
        echo "bench: warning: other processes $what (pids $pids); figures are skewed" >&2
    fi
}

# bpftrace counting the storm's syscalls by id; checks that it counted every getppid (x86_64 id 110).
run_bpftrace() {
    local out=$TMP/bpftrace.out err=$TMP/bpftrace.err bpid prog counted
    LOST=-
    start_waiting_storm "$CALLS" || return 1
    prog="tracepoint:raw_syscalls:sys_enter /pid == $WL_PID/ { @[args->id] = count(); }"
    "$BPFTRACE" -e "$prog" </dev/null >"$out" 2>"$err" &
    bpid=$!
    spawned "$bpid"
    # bpftrace prints "Attaching 1 probe..." before it attaches; the attachment itself shows in `bpftool perf list`.
    if ! wait_for "$out" 'Attaching' "$bpid" "$READY_TIMEOUT" || ! bpftrace_attached "$bpid"; then
        stop "$bpid" || true
        FAIL_MSG="bpftrace did not attach; command: bpftrace -e '$prog'; stderr: $(tr '\n' ' ' <"$err" | cut -c1-500)"
        return 1
    fi
    release_storm
    finish_storm || { stop "$bpid" || true; return 1; }
    # bpftrace installs its own SIGINT handler, so this works though background jobs start with SIGINT ignored.
    kill -INT "$bpid" 2>/dev/null || true
    if ! wait_exit "$bpid" "$EXIT_TIMEOUT"; then
        stop "$bpid" || true
        FAIL_MSG="bpftrace did not exit within ${EXIT_TIMEOUT}s of SIGINT"
        return 1
    fi
    counted=$(sed -n 's/^@\[110\]: \([0-9]*\)$/\1/p' "$out")
    if [[ -z $counted ]] || ((counted < CALLS)); then
        FAIL_MSG="bpftrace counted ${counted:-no} getppid calls, expected at least $CALLS"
        return 1
    fi
}

# The floors under the bystander rows: bpftrace with programs that never run during the getppid storm (they filter
# on the sleeper's pid, or hook openat), what the kernel itself charges every syscall once these tracepoints are in
# use (the slow syscall path, the tracepoint callbacks, the program's entry and its pid check).
# run_floor PROG TRACEPOINT: PROG attached (TRACEPOINT as `bpftool perf list` shows the last one) while the storm runs.
run_floor() {
    local out=$TMP/floor.out err=$TMP/floor.err bpid prog=$1
    LOST=-
    "$BPFTRACE" -e "$prog" </dev/null >"$out" 2>"$err" &
    bpid=$!
    spawned "$bpid"
    if ! wait_for "$out" 'Attaching' "$bpid" "$READY_TIMEOUT" || ! bpftrace_attached "$bpid" "$2"; then
        stop "$bpid" || true
        FAIL_MSG="bpftrace did not attach; command: bpftrace -e '$prog'; stderr: $(tr '\n' ' ' <"$err" | cut -c1-500)"
        return 1
    fi
    if ! "$WORKLOAD" "$STORM" "$CALLS" >"$TMP/storm.out" 2>"$TMP/storm.err"; then
        stop "$bpid" || true
        FAIL_MSG="workload storm failed: $(cat "$TMP/storm.err")"
        return 1
    fi
    kill -INT "$bpid" 2>/dev/null || true
    wait_exit "$bpid" "$EXIT_TIMEOUT" || { stop "$bpid" || true; FAIL_MSG="bpftrace did not exit on SIGINT"; return 1; }
    parse_ns "$TMP/storm.out"
}

# ----------------------------------------------------------------------------------------------- run

CONFIGS=(baseline traced_all traced_t traced_json traced_c bystander_all bystander_t bystander_few floor_all floor_t floor_few strace
    bpftrace)
declare -A LABEL=(
    [baseline]="baseline (no tracer)"
    [traced_all]="tracer -p STORM (all events decoded)"
    [traced_t]="tracer -T -p STORM (durations: enter hook too)"
    [traced_json]="tracer --json -p STORM (JSON lines: the slowest reader)"
    [traced_c]="tracer -c -p STORM (kernel counts)"
    [bystander_all]="bystander: tracer -p OTHER"
    [bystander_t]="bystander: tracer -T -p OTHER"
    [bystander_few]="bystander: tracer -e trace=openat -p OTHER"
    [floor_all]="floor: bpftrace on sys_exit, idle"
    [floor_t]="floor: bpftrace on sys_enter+sys_exit, idle"
    [floor_few]="floor: bpftrace on openat enter+exit, idle"
    [strace]="strace -f (${STRACE_CALLS} calls)"
    [bpftrace]="bpftrace count by syscall id"
)
declare -A TARGET=([traced_all]=300 [traced_c]=200 [bystander_all]=130 [bystander_few]=25)
# The bpftrace row each tracer row is to beat (issue 22): the count by syscall id for every traced row, the idle
# floor with the same hooks for each bystander row.
declare -A BEAT=([traced_all]=bpftrace [traced_t]=bpftrace [traced_json]=bpftrace [traced_c]=bpftrace [bystander_all]=floor_all
    [bystander_t]=floor_t [bystander_few]=floor_few)
# Variant rows: CONFIG@NAME runs CONFIG with the variant's binary, right after CONFIG in each round.
IFS=, read -r -a variant_configs <<<"$VARIANT_CONFIGS"
for base in "${variant_configs[@]}"; do
    [[ $base == traced_* || $base == bystander_* ]] && [[ -n ${LABEL[$base]:-} ]] ||
        die "--variant-configs: '$base' is not a tracer configuration (traced_all, traced_t, traced_json, traced_c, bystander_all, bystander_t, bystander_few)"
done
if ((${#VARIANT_NAMES[@]})); then
    all=()
    for config in "${CONFIGS[@]}"; do
        all+=("$config")
        for base in "${variant_configs[@]}"; do
            [[ $base == "$config" ]] || continue
            for name in "${VARIANT_NAMES[@]}"; do
                all+=("$config@$name")
                LABEL[$config@$name]="${LABEL[$config]} [$name]"
                BEAT[$config@$name]=${BEAT[$config]}
            done
        done
    done
    CONFIGS=("${all[@]}")
fi
declare -A SAMPLES=() LOSTS=() FAILS=()

run_config() {
    local name=
    [[ $1 == *@* ]] && name=${1#*@}
    if [[ -n $name ]]; then
        RUN_TRACER=${VARIANT_BIN[$name]} RUN_TRACER_SRC=${VARIANT_SRC[$name]}
    else
        RUN_TRACER=$TRACER RUN_TRACER_SRC=$TRACER_SRC
    fi
    case ${1%@*} in
        baseline) run_baseline ;;
        traced_all) run_traced -o /dev/null ;;
        traced_t) run_traced -T -o /dev/null ;;
        traced_json) run_traced --json ;;
        traced_c) run_traced -c -o "$TMP/summary" && check_summary ;;
        bystander_all) run_bystander -o /dev/null ;;
        bystander_t) run_bystander -T -o /dev/null ;;
        bystander_few) run_bystander -e trace=openat -o /dev/null ;;
        floor_all) run_floor "tracepoint:raw_syscalls:sys_exit /pid == $SLEEPER/ { @x = count(); }" sys_exit ;;
        floor_t) run_floor "tracepoint:raw_syscalls:sys_enter /pid == $SLEEPER/ { @e = count(); }
            tracepoint:raw_syscalls:sys_exit /pid == $SLEEPER/ { @x = count(); }" sys_exit ;;
        floor_few) run_floor "tracepoint:syscalls:sys_enter_openat /pid == $SLEEPER/ { @e = count(); }
            tracepoint:syscalls:sys_exit_openat /pid == $SLEEPER/ { @x = count(); }" sys_exit_openat ;;
        strace) run_strace ;;
        bpftrace) run_bpftrace ;;
    esac
}

# The bystanders' traced process: makes no syscalls while it sleeps.
sleep 100000 </dev/null >/dev/null 2>&1 &
SLEEPER=$!
spawned "$SLEEPER"

FAILED=0
FOREIGN=
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
START=$(date +%s)
echo "bench: $RUNS runs of ${#CONFIGS[@]} configurations, $CALLS getppid calls each ($STRACE_CALLS under strace)" >&2
for ((run = 1; run <= RUNS; run++)); do
    for config in "${CONFIGS[@]}"; do
        NS= LOST=- FAIL_MSG=
        note_foreign_probes
        if run_config "$config"; then
            SAMPLES[$config]+="$NS "
            LOSTS[$config]+="$LOST,"
            printf 'bench: run %d/%d %-20s %10s ns/call  lost %s  (load %s)\n' "$run" "$RUNS" "$config" "$NS" "$LOST" \
                "$(cut -d' ' -f1 /proc/loadavg)" >&2
        else
            FAILED=1
            FAILS[$config]=$((${FAILS[$config]:-0} + 1))
            LOSTS[$config]+="err,"
            echo "bench: run $run/$RUNS $config FAILED: ${FAIL_MSG:-unknown error}" >&2
        fi
        if [[ -n $FIFO_FD ]]; then exec {FIFO_FD}>&-; FIFO_FD=; fi
        stop_leftovers
    done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------------------------------------- table

median() { tr ' ' '\n' | awk NF | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { tr ' ' '\n' | awk NF | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.0f-%.0f", lo, hi }'; }
# Percent (max - min) / median of the runs.
spread_pct() { tr ' ' '\n' | awk NF | sort -g | awk '{ v[NR] = $1 } END { if (NR < 2) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; if (m > 0) printf "%.0f", 100 * (v[NR] - v[1]) / m }'; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
rev=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
echo
if [[ $STORM == storm-cpu ]]; then clock="the storm thread's CPU time"; else clock="the wall clock"; fi
echo "tracer syscalls benchmark: getppid storm, median of $RUNS runs, ns per call timed inside the workload ($clock)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel:  $(uname -r) ($(uname -m))"
echo "cpu:     ${cpu:-unknown} ($(nproc) online CPUs)"
echo "tracer:  $TRACER_SRC (tree $rev)"
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
echo "load:    $LOAD_START at the start, $LOAD_END at the end (1 min load average; the benchmark itself adds about 1)"
if awk -v a="$LOAD_START" -v b="$LOAD_END" -v n="$(nproc)" 'BEGIN { exit !(a > n / 2 || b > n / 2 + 1) }'; then
    echo "WARNING: the machine was busy with other work: expect noisy figures (see runs min-max); rerun when it is quiet"
fi
echo "tools:   $("$STRACE" -V | head -n1); $("$BPFTRACE" --version | head -n1)"
echo "calls:   $CALLS per storm ($STRACE_CALLS under strace); took ${ELAPSED}s"
if [[ -n $FOREIGN ]]; then
    echo "WARNING: other processes had eBPF programs on the syscall tracepoints during the run (pids:" \
        "$(tr ' ' '\n' <<<"$FOREIGN" | awk NF | sort -un | tr '\n' ' '| sed 's/ $//')): every syscall paid for them; rerun on a quiet machine"
elif [[ -z $BPFTOOL ]]; then
    echo "note:    bpftool not found: could not check for other eBPF programs on the syscall tracepoints"
fi
echo

base=$(printf '%s' "${SAMPLES[baseline]:-}" | median)
declare -A EXTRA=() SHORT=([bpftrace]="bpftrace count" [floor_all]="idle sys_exit" [floor_t]="idle enter+exit"
    [floor_few]="idle openat")
for config in "${CONFIGS[@]}"; do
    med=$(printf '%s' "${SAMPLES[$config]:-}" | median)
    [[ -n $med && -n $base ]] && EXTRA[$config]=$(awk -v m="$med" -v b="$base" 'BEGIN { printf "%.1f", m - b }')
done
SPREAD_WARN=()
fmt='| %-48s | %10s | %9s | %7s | %6s | %-6s | %-22s | %-12s | %-17s | %-14s |\n'
printf "$fmt" configuration "ns/call" "extra ns" ratio target result "to beat (bpftrace)" "extra / its" "runs min-max" \
    "lost per run"
printf "$fmt" "$(printf -- '-%.0s' {1..48})" ---------- --------- ------- ------ ------ ---------------------- \
    ------------ ----------------- --------------
for config in "${CONFIGS[@]}"; do
    med=$(printf '%s' "${SAMPLES[$config]:-}" | median)
    range=$(printf '%s' "${SAMPLES[$config]:-}" | spread)
    pct=$(printf '%s' "${SAMPLES[$config]:-}" | spread_pct)
    lost=${LOSTS[$config]%,}
    [[ $lost =~ ^(-,)*-$ ]] && lost=-
    target=- result=- extra=- ratio=- beat=- versus=-
    if [[ -n $med && -n $base ]]; then
        extra=$(awk -v e="${EXTRA[$config]}" 'BEGIN { printf "%+.0f", e }')
        ratio=$(awk -v m="$med" -v b="$base" 'BEGIN { printf "%.2fx", m / b }')
    fi
    [[ $config == baseline ]] && extra=0
    if [[ -n ${TARGET[$config]:-} ]]; then
        target="+${TARGET[$config]}"
        if [[ -z $med || -z $base ]]; then
            result=ERROR
        elif awk -v e="${EXTRA[$config]}" -v t="${TARGET[$config]}" 'BEGIN { exit !(e <= t) }'; then
            result=PASS
        else
            result=MISS
        fi
        # Zero lost events is part of the target.
        if [[ $result == PASS && $lost =~ (^|,)([1-9][0-9]*)(,|$) ]]; then result=MISS; fi
    fi
    rival=${BEAT[$config]:-}
    if [[ -n $rival ]]; then
        beat="${SHORT[$rival]}"
        if [[ -n ${EXTRA[$rival]:-} ]]; then
            beat=$(awk -v e="${EXTRA[$rival]}" -v l="${SHORT[$rival]}" 'BEGIN { printf "%+.0f %s", e, l }')
            if [[ -n ${EXTRA[$config]:-} ]]; then
                versus=$(awk -v e="${EXTRA[$config]}" -v r="${EXTRA[$rival]}" \
                    'BEGIN { if (r <= 0) print "-"; else printf "%.2fx %s", e / r, (e < r) ? "beats" : "LOSES" }')
            fi
        fi
    fi
    if [[ -n $pct ]] && ((pct > SPREAD_LIMIT)); then
        range="$range !$pct%"
        SPREAD_WARN+=("$config ($pct%)")
    fi
    [[ -n ${FAILS[$config]:-} ]] && range="${range:+$range, }${FAILS[$config]} failed"
    printf "$fmt" "${LABEL[$config]}" "${med:--}" "$extra" "$ratio" "$target" "$result" "$beat" "$versus" "${range:--}" "$lost"
done
echo
echo "extra ns = median minus the baseline's median; ratio = median / baseline median. A target is met (PASS) when"
echo "the extra cost is at most the target and no run lost events. 'err' in lost per run: that run failed (see stderr)."
echo "to beat: the bpftrace row this row is to cost less than (issue 22), its extra ns; extra / its: this row's extra"
echo "over that one's (below 1: tracer beats it)."
# -T against the plain trace (issue 22: at most 1.3x), for the main binary and each variant.
for suffix in "" "${VARIANT_NAMES[@]/#/@}"; do
    plain=${EXTRA[traced_all$suffix]:-} durations=${EXTRA[traced_t$suffix]:-}
    [[ -n $plain && -n $durations ]] || continue
    awk -v t="$durations" -v p="$plain" -v s="${suffix#@}" 'BEGIN { if (p > 0) printf "-T / plain extra%s: %.2fx (%s; at most 1.30x wanted)\n",
        (s == "" ? "" : " [" s "]"), t / p, (t / p <= 1.3) ? "PASS" : "MISS" }'
done
if ((${#SPREAD_WARN[@]})); then
    echo "WARNING: runs spread more than ${SPREAD_LIMIT}% of their median (max - min) in: ${SPREAD_WARN[*]}; the medians" \
        "of these rows are not to be trusted to better than that: rerun with more --runs on a quieter machine"
fi

if ((FAILED)); then
    echo "bench: some runs failed; see the messages above" >&2
    exit 1
fi
