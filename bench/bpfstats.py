#!/usr/bin/env python3
"""Where a traced getppid's nanoseconds go (issue 22): the kernel's own BPF run-time statistics.

    python3 bench/bpfstats.py [--calls N] [--runs R] [--cpu] [--bpftrace] [NAME=BIN ...] [-- TRACER-ARGS...]

As root, with bpftool. Turns on `kernel.bpf_stats_enabled` (restored at exit), then for each run and each tracer
binary (default target/release/tracer) runs `tracer syscalls TRACER-ARGS -p STORM` (default `-o /dev/null`) on a
`workload storm N` released once tracer is ready, and samples `bpftool prog show -j` every 20 ms while the storm runs.
For each of tracer's programs it prints the runs (run_cnt) and the mean time of one run (run_time_ns / run_cnt) over
the storm, beside the storm's ns per call; with --bpftrace also bpftrace's `@[args->id] = count()` on
raw_syscalls:sys_enter. A program's run time is what the kernel's `bpf_prog_run` wrapper measures: the program's
own instructions and helpers (ring reserve/submit, clock reads, map lookups), not the tracepoint's dispatch nor
the slow syscall path around it (the bystander and floor rows of bench/syscalls.sh show those). Medians over runs.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def die(msg):
    print(f"bpfstats: {msg}", file=sys.stderr)
    sys.exit(1)


def prog_stats(pid):
    """{name: (run_cnt, run_time_ns)} of the programs pid holds, from /proc/PID/fdinfo (bpftool names them)."""
    by_id = {}
    fddir = f"/proc/{pid}/fdinfo"
    try:
        fds = os.listdir(fddir)
    except OSError:
        return {}
    for fd in fds:
        try:
            info = dict(line.split(":", 1) for line in open(os.path.join(fddir, fd)).read().splitlines()
                        if ":" in line)
        except OSError:
            continue
        if "prog_id" in info and "run_cnt" in info:
            by_id[int(info["prog_id"])] = (int(info["run_cnt"]), int(info["run_time_ns"]))
    if not by_id:
        return {}
    names = {p["id"]: p.get("name", str(p["id"]))
             for p in json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True,
                                                text=True).stdout or "[]")}
    stats = {}
    for prog_id, (cnt, ns) in by_id.items():
        name = names.get(prog_id, str(prog_id))
        c, t = stats.get(name, (0, 0))
        stats[name] = (c + cnt, t + ns)
    return {name: v for name, v in stats.items() if v[0] > 0}


def wait_line(path, needle, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path) as f:
                if needle in f.read():
                    return True
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def storm(workload, calls, action):
    fifo_r, fifo_w = os.pipe()
    wl = subprocess.Popen([workload, "--wait-stdin", action, str(calls)], stdin=fifo_r, stdout=subprocess.PIPE,
                          text=True)
    os.close(fifo_r)
    first = wl.stdout.readline()
    if first.strip() != f"pid={wl.pid}":
        die(f"workload printed {first!r}")
    return wl, fifo_w


def run_one(cmd_for_pid, ready, workload, calls, action, tmp):
    wl, release = storm(workload, calls, action)
    err_path = os.path.join(tmp, "err")
    with open(err_path, "w") as err, open(os.path.join(tmp, "out"), "w") as out:
        tracer = subprocess.Popen(cmd_for_pid(wl.pid), stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    watched = out.name if ready == "Attaching" else err_path
    if not wait_line(watched, ready, tracer):
        tracer.kill()
        wl.kill()
        die(f"{cmd_for_pid(wl.pid)} did not get ready: {open(err_path).read()[:500]}")
    if ready == "Attaching":
        time.sleep(0.5)  # bpftrace prints before it attaches
    os.write(release, b"\n")
    os.close(release)
    last = {}
    while wl.poll() is None:
        sample = prog_stats(tracer.pid)
        if sample:
            last = sample
        time.sleep(0.02)
    ns = [line.split("=", 1)[1] for line in wl.stdout.read().splitlines() if line.startswith("ns_per_call=")]
    if ready == "Attaching":
        tracer.send_signal(2)
    try:
        tracer.wait(timeout=15)
    except subprocess.TimeoutExpired:
        tracer.kill()
        tracer.wait()
    lost = [line for line in open(err_path).read().splitlines() if "lost" in line]
    return float(ns[0]) if ns else None, last, lost


def main():
    args = sys.argv[1:]
    calls, runs, action, with_bpftrace, binaries, tracer_args = 2_000_000, 3, "storm", False, [], ["-o", "/dev/null"]
    while args:
        a = args.pop(0)
        if a == "--calls":
            calls = int(args.pop(0))
        elif a == "--runs":
            runs = int(args.pop(0))
        elif a == "--cpu":
            action = "storm-cpu"
        elif a == "--bpftrace":
            with_bpftrace = True
        elif a == "--":
            tracer_args = args
            args = []
        elif "=" in a:
            name, path = a.split("=", 1)
            binaries.append((name, path))
        else:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
    if os.geteuid() != 0:
        die("must run as root")
    if not shutil.which("bpftool"):
        die("bpftool not found (apt-get install bpftool)")
    if not binaries:
        binaries = [("tracer", os.path.join(ROOT, "target/release/tracer"))]
    workload = os.path.join(ROOT, "target/release/examples/workload")
    configs = [(name, (lambda path: lambda pid: [path, "syscalls", *tracer_args, "-p", str(pid)])(path), "ready")
               for name, path in binaries]
    if with_bpftrace:
        configs.append(("bpftrace", lambda pid: ["bpftrace", "-e",
                        f"tracepoint:raw_syscalls:sys_enter /pid == {pid}/ {{ @[args->id] = count(); }}"],
                        "Attaching"))
    old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    results = {name: {"ns": [], "progs": {}, "lost": []} for name, _, _ in configs}
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(runs):
                for name, cmd, ready in configs:
                    ns, progs, lost = run_one(cmd, ready, workload, calls, action, tmp)
                    load = open("/proc/loadavg").read().split()[0]
                    r = results[name]
                    r["ns"].append(ns)
                    r["lost"] += lost
                    for prog, (cnt, t) in progs.items():
                        r["progs"].setdefault(prog, []).append((cnt, t / cnt if cnt else 0))
                    shown = ", ".join(f"{p} {c} runs {t / c:.0f} ns" for p, (c, t) in progs.items())
                    print(f"bpfstats: run {run + 1}/{runs} {name}: {ns} ns/call; {shown} (load {load})",
                          file=sys.stderr)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    print(f"\nBPF run time per program run, medians of {runs} ({calls} getppid calls, {action}; "
          f"tracer args: {' '.join(tracer_args)})")
    print("| configuration | storm ns/call | program | runs (last run) | ns per program run |")
    print("| --- | --- | --- | --- | --- |")
    for name, _, _ in configs:
        r = results[name]
        ns = statistics.median([n for n in r["ns"] if n is not None]) if any(r["ns"]) else None
        for prog, samples in sorted(r["progs"].items()):
            print(f"| {name} | {ns} | {prog} | {samples[-1][0]} | {statistics.median(s[1] for s in samples):.1f} |")
        for line in r["lost"]:
            print(f"| {name} | | lost: {line} | | |")


if __name__ == "__main__":
    main()
