#!/usr/bin/env bash
# Cost and footprint of `tracer monitor` (issue 7). Run as root on a quiet machine:
#
#   TRACER=target/release/tracer bash bench/monitor.sh [--calls N] [--runs R] [--soak SECS]
#
# 1. What a getppid storm pays per call (`workload storm N` times its own loop: no start-up costs), median of R
#    runs, interleaved round by round: no tracer; default monitor; monitor --syscall-stats; monitor --syscall-stats
#    with --metrics-addr (which also turns on the kernel's BPF run-time statistics).
# 2. A soak of SECS seconds (default 150) of monitor --syscall-stats --interval 1 --metrics-addr under a
#    continuous getppid storm plus an exec loop: tracer's RSS sampled every 10 s (it must stay flat), its CPU
#    time, and the events it wrote.
# 3. Memory (issue 18 item 5: at most 20 MiB RSS with the default options): `tracer monitor`'s RSS itemised from
#    /proc/PID/smaps once it is ready (rings, BTF, heap, stacks, text), then sampled every 10 s over a fork storm
#    of STORM seconds (default 180: two loops of `workload fork-storm`, each child exiting at once), with the
#    events the storm cost (ring full: `lost`; over --rate-limit: `lost` with reason rate_limit). --buffer-size
#    BYTES runs that part with another ring, to compare losses; --memory-only runs only that part.
set -euo pipefail

CALLS=2000000
RUNS=5
SOAK=150
STORM=180
MEMORY_ONLY=
RING=()
while (($#)); do
    case $1 in
    --calls) CALLS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --soak) SOAK=$2; shift 2 ;;
    --storm) STORM=$2; shift 2 ;;
    --buffer-size) RING=(--buffer-size "$2"); shift 2 ;;
    --memory-only) MEMORY_ONLY=1; shift ;;
    *) echo "usage: bash bench/monitor.sh [--calls N] [--runs R] [--soak SECS] [--storm SECS] [--buffer-size BYTES] [--memory-only]" >&2; exit 2 ;;
    esac
done
. "$(dirname "$0")/common.sh"
bench_init
port=$((20000 + RANDOM % 20000))

# start_monitor ARGS...: starts tracer monitor writing JSON lines to $tmp/events.jsonl, waits for its ready line.
start_monitor() { start_tool events '"type":"ready"' "$TRACER" monitor --json -o "$tmp/events.jsonl" "$@"; }
stop_monitor() {
    stop_tool
    rm -f "$tmp/events.jsonl"
}
storm() { "$WORKLOAD" storm "$CALLS" | sed -n 's/^ns_per_call=//p'; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$tool_pid/status"; }

# itemise PID: its resident memory by what holds it, from smaps (KiB). An anonymous mapping just above a
# PROT_NONE one is a thread's stack (glibc puts the guard page below it); one just below is a malloc arena.
itemise() {
    awk '
        /^[0-9a-f]+-[0-9a-f]+ / {
            split($1, range, "-"); perms = $2; name = $6
            guard_below = (prev_perms == "---p" && prev_name == "" && prev_end == range[1])
            prev_end = range[2]; prev_perms = perms; prev_name = name
            if (name ~ /anon_inode:bpf-map/) cur = "rings"
            else if (name ~ /btf/) cur = "btf"
            else if (name ~ /\/tracer$/) cur = "text"
            else if (name ~ /\.so/) cur = "libs"
            else if (name == "[heap]") cur = "heap"
            else if (name == "[stack]") cur = "stacks"
            else if (name == "" && perms == "rw-p") cur = guard_below ? "stacks" : "heap"
            else cur = "other"
        }
        /^Rss:/ { kib[cur] += $2; total += $2 }
        END {
            printf "| %d | %d | %d | %d | %d | %d | %d | %d |\n", total, kib["rings"], kib["btf"], kib["heap"],
                kib["stacks"], kib["text"], kib["libs"], kib["other"]
        }' "/proc/$1/smaps"
}

memory() {
    echo
    echo "## memory: tracer monitor ${RING[*]:-(default options)}, then a fork storm of $STORM s"
    start_monitor "${RING[@]}"
    sleep 2
    echo "| RSS (KiB) | rings | BTF | heap (malloc) | stacks | tracer text+data | libraries | other |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    itemise "$tool_pid"
    echo
    echo "peak RSS during start-up (VmHWM: BTF parsed, programs loaded): $(awk '/^VmHWM/ {print $2}' "/proc/$tool_pid/status") KiB;" \
        "threads: $(awk '/^Threads/ {print $2}' "/proc/$tool_pid/status")"
    echo
    "$WORKLOAD" fork-storm "$STORM" >"$tmp/storm1" &
    local s1=$!
    "$WORKLOAD" fork-storm "$STORM" >"$tmp/storm2" &
    local s2=$!
    echo "| seconds | tracer RSS (KiB) | events written |"
    echo "| --- | --- | --- |"
    for ((s = 0; s <= STORM; s += 10)); do
        echo "| $s | $(rss) | $(cat "$tmp"/events.jsonl* | wc -l) |"
        ((s + 10 <= STORM)) && sleep 10
    done
    wait "$s1" "$s2"
    echo
    echo "storm: $(cat "$tmp/storm1") and $(cat "$tmp/storm2")"
    echo "after the storm:"
    echo "| RSS (KiB) | rings | BTF | heap (malloc) | stacks | tracer text+data | libraries | other |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    itemise "$tool_pid"
    kill -INT "$tool_pid"
    wait "$tool_pid" || true
    tool_pid=
    echo
    # --output rotates at 100 MiB: the storm's events may span several files.
    cat "$tmp"/events.jsonl.* "$tmp/events.jsonl" 2>/dev/null >"$tmp/all.jsonl" || true
    grep '"type":"lost"' "$tmp/all.jsonl" >"$tmp/lost.jsonl" || true
    echo "exits reported: $(grep -c '"type":"exit"' "$tmp/all.jsonl");" \
        "lost, ring buffer full: $(jq -s '[.[] | select(.reason == null) | .count] | add // 0' "$tmp/lost.jsonl");" \
        "dropped over --rate-limit: $(jq -s '[.[] | select(.reason == "rate_limit") | .count] | add // 0' "$tmp/lost.jsonl")"
    rm -f "$tmp"/events.jsonl* "$tmp/all.jsonl" "$tmp/lost.jsonl"
}
if [[ -n $MEMORY_ONLY ]]; then
    memory
    exit 0
fi

configs=("baseline" "monitor" "monitor --syscall-stats" "monitor --syscall-stats --metrics-addr")
declare -A results
for ((r = 1; r <= RUNS; r++)); do
    for c in "${configs[@]}"; do
        case $c in
        baseline) ns=$(storm) ;;
        monitor) start_monitor; ns=$(storm); stop_monitor ;;
        "monitor --syscall-stats") start_monitor --syscall-stats; ns=$(storm); stop_monitor ;;
        *) start_monitor --syscall-stats --metrics-addr "127.0.0.1:$port"; ns=$(storm); stop_monitor ;;
        esac
        results[$c]+="$ns "
        echo "run $r: $c: $ns ns/call" >&2
    done
done
base=$(tr ' ' '\n' <<<"${results[baseline]}" | grep . | median)
echo "## getppid storm: $CALLS calls, median of $RUNS runs"
echo "| configuration | ns per call | extra ns per call | target |"
echo "| --- | --- | --- | --- |"
for c in "${configs[@]}"; do
    m=$(tr ' ' '\n' <<<"${results[$c]}" | grep . | median)
    extra=$(awk -v a="$m" -v b="$base" 'BEGIN {printf "%+.1f", a - b}')
    target=
    [[ $c == monitor ]] && target="+30 ns"
    [[ $c == "monitor --syscall-stats" ]] && target="+150 ns"
    echo "| $c | $m | $extra | $target |"
done

# --- mixed storm: open+close pairs of a file nobody watches (two syscalls a pair, path lookups, fd churn) ---
MIXED=$((CALLS / 10))
mixed() { "$WORKLOAD" storm-open "$MIXED" /etc/hostname | sed -n 's/^ns_per_call=//p'; }
declare -A mixed_results
for ((r = 1; r <= RUNS; r++)); do
    for c in baseline monitor "monitor --syscall-stats"; do
        case $c in
        baseline) ns=$(mixed) ;;
        monitor) start_monitor; ns=$(mixed); stop_monitor ;;
        *) start_monitor --syscall-stats; ns=$(mixed); stop_monitor ;;
        esac
        mixed_results[$c]+="$ns "
        echo "run $r: mixed: $c: $ns ns/pair" >&2
    done
done
mbase=$(tr ' ' '\n' <<<"${mixed_results[baseline]}" | grep . | median)
echo
echo "## mixed storm: $MIXED open+close pairs of /etc/hostname, median of $RUNS runs"
echo "| configuration | ns per pair | extra ns per pair |"
echo "| --- | --- | --- |"
for c in baseline monitor "monitor --syscall-stats"; do
    m=$(tr ' ' '\n' <<<"${mixed_results[$c]}" | grep . | median)
    echo "| $c | $m | $(awk -v a="$m" -v b="$mbase" 'BEGIN {printf "%+.1f", a - b}') |"
done

# --- soak ---
echo
echo "## soak: $SOAK s of monitor --syscall-stats --interval 1 --metrics-addr under a getppid storm and an exec loop"
start_monitor --syscall-stats --interval 1 --metrics-addr "127.0.0.1:$port"
(while :; do "$WORKLOAD" getppid 5000000 >/dev/null; done) &
storm_loop=$!
(while :; do /bin/true; sleep 0.01; done) &
exec_loop=$!
clk=$(getconf CLK_TCK)
cpu() { awk -v t="$clk" '{print ($14 + $15) / t}' "/proc/$tool_pid/stat"; }
cpu0=$(cpu)
echo "| seconds | tracer RSS (KiB) | tracer CPU (s) | output bytes |"
echo "| --- | --- | --- | --- |"
for ((s = 0; s <= SOAK; s += 10)); do
    echo "| $s | $(rss) | $(awk -v a="$(cpu)" -v b="$cpu0" 'BEGIN {printf "%.2f", a - b}') | $(stat -c %s "$tmp/events.jsonl") |"
    ((s + 10 <= SOAK)) && sleep 10
done
kill "$storm_loop" "$exec_loop" 2>/dev/null || true
wait "$storm_loop" "$exec_loop" 2>/dev/null || true
scrape=$(curl -s "http://127.0.0.1:$port/metrics" || true)
echo
echo "tracer CPU over the soak: $(awk -v a="$(cpu)" -v b="$cpu0" -v s="$SOAK" 'BEGIN {printf "%.2f s (%.2f%% of one CPU)", a - b, 100 * (a - b) / s}')"
echo "BPF program time (kernel statistics):"
grep '^tracer_bpf_run_seconds_total' <<<"$scrape" | sed 's/^/  /' || true
grep '^tracer_events_lost_total' <<<"$scrape" | grep -v ' 0$' | sed 's/^/  lost: /' || true
stop_monitor
memory
