# Sourced by the benchmarks (bench/*.sh): what every one of them sets up the same way. After `bench_init`:
# TRACER and WORKLOAD are executables (defaults: the release build beside this folder; WORKLOAD beside TRACER),
# $tmp is a fresh directory, and at exit the tool `start_tool` started is stopped, every other job killed and $tmp
# removed.

BENCH_NAME=bench/$(basename "$0")

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}

bench_init() {
    ((EUID == 0)) || die "run as root (tracer and bpftrace load eBPF programs)"
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    TRACER=${TRACER:-$root/target/release/tracer}
    WORKLOAD=${WORKLOAD:-$(dirname "$TRACER")/examples/workload}
    [[ -x $TRACER && -x $WORKLOAD ]] ||
        die "no $TRACER or $WORKLOAD: build first (cargo build --release -p tracer-user --bin tracer --example workload)"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracer-bench.XXXXXX")
    tool_pid=
    trap bench_cleanup EXIT
}

bench_cleanup() {
    [[ -n $tool_pid ]] && kill -INT "$tool_pid" 2>/dev/null && wait "$tool_pid" 2>/dev/null
    jobs -p | xargs -r kill 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}

# start_tool TAG READY-REGEX CMD...: starts CMD (a tracer, bpftrace) with its stdout in $tmp/TAG.out and its stderr
# in $tmp/TAG.err, and returns once READY-REGEX shows in one of the files $tmp/TAG.* (its ready line: CMD may also
# write its own, say `-o $tmp/TAG.jsonl`); dies if CMD exits first or is not ready within 60 s.
start_tool() {
    local tag=$1 ready=$2
    shift 2
    rm -f "$tmp/$tag".*
    "$@" >"$tmp/$tag.out" 2>"$tmp/$tag.err" &
    tool_pid=$!
    for _ in $(seq 600); do
        grep -qE "$ready" "$tmp/$tag".* 2>/dev/null && return 0
        kill -0 "$tool_pid" 2>/dev/null || die "$tag exited before it was ready: $(tail -3 "$tmp/$tag.err")"
        sleep 0.1
    done
    die "$tag was not ready within 60 s: $(tail -3 "$tmp/$tag.err")"
}

# stop_tool: Ctrl-C to the tool start_tool started, as an operator stops it; waits until it has exited.
stop_tool() {
    kill -INT "$tool_pid"
    wait "$tool_pid" || true
    tool_pid=
}

# median: the median of the numbers on stdin, one a line (the mean of the middle two for an even count).
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
