#!/usr/bin/env bash
# Cost of `tracer conns` on a loopback connect/accept/close storm, against bpftrace's tcplife.bt and tcpconnect.bt
# (issue 17). Run as root:
#
#   TRACER=target/release/tracer bash bench/conns.sh [--conns N] [--runs R]
#
# `workload tcp-storm N` times N connections (connect, accept, close; 8 TCP state changes each) from inside: no
# start-up costs. Round by round, interleaved: no tracer; `tracer conns --json`; tcplife.bt; tcpconnect.bt. The
# medians of R runs per configuration, and what each tracer wrote (tracer must report N connects, N accepts and 2N
# closes per run, nothing lost). bpftrace's tools attach kprobes (tcp_set_state, tcp_connect): on a kernel without
# kprobes (CONFIG_KPROBES off) the script says so and runs their ports to sock:inet_sock_set_state in bench/bt/.
set -euo pipefail

CONNS=5000
RUNS=5
while (($#)); do
    case $1 in
    --conns) CONNS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) echo "usage: bash bench/conns.sh [--conns N] [--runs R]" >&2; exit 2 ;;
    esac
done
. "$(dirname "$0")/common.sh"
bench_init
command -v bpftrace >/dev/null || die "bpftrace is missing (apt-get install -y bpftrace)"
here=$(cd "$(dirname "$0")" && pwd)

storm() { "$WORKLOAD" tcp-storm "$CONNS" | sed -n 's/^ns_per_conn=//p'; }

# The installed tool when its kprobe attaches here, else its tracepoint port.
pick_tool() {
    local tool=$1 port=$2
    if timeout 30 bpftrace -e "kprobe:$3 { exit(); } BEGIN { exit(); }" >/dev/null 2>&1; then
        echo "/usr/sbin/$tool"
    else
        echo "bench/conns.sh: kprobe:$3 cannot attach on this kernel: $tool runs as $port" >&2
        echo "$here/bt/$port"
    fi
}
tcplife=$(pick_tool tcplife.bt tcplife-tp.bt tcp_set_state)
tcpconnect=$(pick_tool tcpconnect.bt tcpconnect-tp.bt tcp_connect)

declare -A ns
check_tracer() {
    local out=$tmp/conns.out
    local connects accepts closes lost
    connects=$(grep -c '"type":"connect".*"result":"established"' "$out" || true)
    accepts=$(grep -c '"type":"accept"' "$out" || true)
    closes=$(grep -c '"type":"tcp_close"' "$out" || true)
    lost=$(grep -c '"type":"lost"' "$out" || true)
    echo "  tracer conns run $1: connects=$connects accepts=$accepts tcp_close=$closes lost=$lost (want $CONNS, $CONNS, $((2 * CONNS)), 0)"
}
for round in $(seq "$RUNS"); do
    ns[none]+="$(storm) "
    start_tool conns '"type":"ready"' "$TRACER" conns --json --no-snapshot
    ns[tracer]+="$(storm) "
    sleep 0.5
    stop_tool
    check_tracer "$round"
    start_tool tcplife 'Attaching' bpftrace "$tcplife"
    ns[tcplife]+="$(storm) "
    stop_tool
    echo "  tcplife run $round: $(grep -c workload "$tmp/tcplife.out" || true) lines (want $((2 * CONNS)))"
    start_tool tcpconnect 'Attaching' bpftrace "$tcpconnect"
    ns[tcpconnect]+="$(storm) "
    stop_tool
    echo "  tcpconnect run $round: $(grep -c workload "$tmp/tcpconnect.out" || true) lines (want $CONNS)"
done

base=$(tr ' ' '\n' <<<"${ns[none]}" | grep . | median)
printf '%-12s %14s %14s\n' configuration ns_per_conn overhead_ns
for config in none tracer tcplife tcpconnect; do
    m=$(tr ' ' '\n' <<<"${ns[$config]}" | grep . | median)
    printf '%-12s %14.0f %14.0f\n' "$config" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a - b }')"
done
