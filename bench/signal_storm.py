#!/usr/bin/env python3
"""What a traced process's signal costs in the kernel: `signal_generate`'s run time, from BPF run-time statistics.

    python3 bench/signal_storm.py [--kills N] [--runs R] [NAME=BIN ...]

As root. Turns on `kernel.bpf_stats_enabled` (restored at exit), then for each run and each tracer binary (default
target/release/tracer) runs `tracer syscalls -f -e trace=none -o /dev/null -- python3 STORM`, where STORM handles
SIGUSR1 and sends it to itself N times (default 200,000), and reads the run count and run time of tracer's
`signal_generate` from its program fds (/proc/PID/fdinfo) while the storm runs. Prints, per binary, the median over
runs of the mean time of one run (the program's instructions and helpers: every traced signal takes it once) and
the storm's own CPU ns per kill() (Python's loop included: a coarse figure). Binaries alternate within each run.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def die(msg):
    print(f"signal_storm: {msg}", file=sys.stderr)
    sys.exit(1)


def storm_script(kills):
    return (
        "import os, signal, time\n"
        "signal.signal(signal.SIGUSR1, lambda *a: None)\n"
        "pid, kill, start = os.getpid(), os.kill, time.process_time_ns()\n"
        f"for _ in range({kills}): kill(pid, signal.SIGUSR1)\n"
        f"print((time.process_time_ns() - start) / {kills})\n"
    )


def prog_stats(pid):
    """{prog_id: (run_cnt, run_time_ns)} of the program fds pid holds (link fds name a program but count nothing)."""
    stats = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return stats
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:
            continue
        prog, runs, ns = (re.search(rf"^{k}:\s*(\d+)", text, re.M) for k in ("prog_id", "run_cnt", "run_time_ns"))
        if prog and runs and ns:
            stats[prog.group(1)] = (int(runs.group(1)), int(ns.group(1)))
    return stats


def prog_names():
    progs = json.loads(subprocess.check_output(["bpftool", "prog", "show", "-j"]))
    return {str(p["id"]): p.get("name", "") for p in progs}


def one_run(tracer, script):
    """(signal_generate's runs, its run time in ns, the storm's ns per kill)."""
    proc = subprocess.Popen(
        [tracer, "syscalls", "-f", "-e", "trace=none", "-o", "/dev/null", "--", "python3", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    # The highest count seen for each program: tracer closes its fds one by one as it ends.
    seen, names = {}, {}
    while proc.poll() is None:
        for prog, value in prog_stats(proc.pid).items():
            if value[0] >= seen.get(prog, (0, 0))[0]:
                seen[prog] = value
            if prog not in names:
                names.update(prog_names())
        time.sleep(0.02)
    out = proc.stdout.read().split()
    generate = [v for p, v in seen.items() if names.get(p, "").startswith("signal_generat")]
    runs, ns = generate[0] if generate else (0, 0)
    return runs, ns, float(out[-1]) if out else float("nan")


def main():
    kills, runs, binaries = 200_000, 9, {}
    args = sys.argv[1:]
    while args:
        arg = args.pop(0)
        if arg in ("--kills", "--runs") and args:
            value = int(args.pop(0))
            kills, runs = (value, runs) if arg == "--kills" else (kills, value)
        elif "=" in arg:
            name, path = arg.split("=", 1)
            binaries[name] = path
        else:
            die(f"usage: {__doc__.strip().splitlines()[2].strip()}")
    binaries = binaries or {"tracer": os.path.join(ROOT, "target/release/tracer")}
    if os.geteuid() != 0:
        die("run as root: tracer loads eBPF programs")
    with open("/proc/loadavg") as f:
        print(f"signal_storm: load average {f.read().split()[0]}; {kills} kills per storm, {runs} runs", file=sys.stderr)
    with open(STATS) as f:
        old = f.read().strip()
    with open(STATS, "w") as f:
        f.write("1")
    results = {name: ([], []) for name in binaries}
    try:
        for run in range(runs):
            for name, tracer in binaries.items():
                count, ns, per_kill = one_run(tracer, storm_script(kills))
                per_run = ns / count if count else float("nan")
                results[name][0].append(per_run)
                results[name][1].append(per_kill)
                print(f"run {run + 1} {name}: signal_generate {count} runs, {per_run:.0f} ns/run; storm {per_kill:.0f} ns/kill",
                      file=sys.stderr)
    finally:
        with open(STATS, "w") as f:
            f.write(old)
    print(f"{'binary':<16}{'generate ns/run':>16}{'(min-max)':>14}{'storm ns/kill':>15}")
    for name, (per_run, per_kill) in results.items():
        spread = f"{min(per_run):.0f}-{max(per_run):.0f}"
        print(f"{name:<16}{statistics.median(per_run):>16.0f}{spread:>14}{statistics.median(per_kill):>15.0f}")


if __name__ == "__main__":
    main()
