#!/usr/bin/env python3
"""Line-for-line parity of `tracer syscalls -f` with `strace -f` (issue 15).

Runs each of strace's own test programs (built from the source of the strace Debian ships, 6.1) and a set of real
programs twice: under `strace -f -o A` and under `tracer syscalls -f -o B`, with default options. Both traces are
normalised for what changes from run to run only (pids, addresses, inode numbers, clock readings, strace's column
padding), then compared line by line (longest common subsequence). A test's figure is

    identical lines / max(strace's lines, tracer's lines)

so that a missing line and an invented line both count against tracer. The figure reported is the mean over all
tests of a set (every chosen test counts, none is hand-picked out), with the worst lines shown per test on request.

`--self` compares strace with a second run of strace: what the normalisation leaves of run-to-run noise.

The strace source is downloaded from Debian's archive (checked against the .dsc's SHA-256), configured and its
test programs built once, under /var/cache/tracer-parity (override with --cache).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

STRACE_VERSION = "6.1"
ORIG = f"strace_{STRACE_VERSION}.orig.tar.xz"
ORIG_URL = f"http://deb.debian.org/debian/pool/main/s/strace/{ORIG}"
# From strace_6.1-0.1.dsc (Debian 12's strace), Checksums-Sha256.
ORIG_SHA256 = "2579e9cec37dbb786f6ea0bebd15f40dd561ef2bde2a2a2ecdce5963b01859fd"

HERE = Path(__file__).resolve().parent
TESTS_LIST = HERE / "parity" / "strace-tests.txt"
REAL_LIST = HERE / "parity" / "real-programs.txt"
RUN_DIR = Path("/tmp/tracer-parity-run")
TIMEOUT_S = 60


def log(msg: str) -> None:
    print(f"parity: {msg}", file=sys.stderr, flush=True)


def read_list(path: Path) -> list[str]:
    """The words of a list file, without `#` comments."""
    return [word for line in path.read_text().splitlines() for word in line.split("#", 1)[0].split()]


def read_commands(path: Path) -> list[tuple[str, str]]:
    """`NAME: shell command` lines of a list file, without `#` comment lines."""
    commands = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            commands.append((name.strip(), command.strip()))
    return commands


def prepare_strace_tests(cache: Path, names: list[str]) -> tuple[Path, list[str]]:
    """Download, verify, configure strace and build the named test programs; returns the tests dir and the names
    that failed to build (reported, and counted as 0% so that a build failure never raises the figure)."""
    src = cache / f"strace-{STRACE_VERSION}"
    tests = src / "tests"
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / ORIG
    if not tarball.exists() or hashlib.sha256(tarball.read_bytes()).hexdigest() != ORIG_SHA256:
        log(f"downloading {ORIG_URL}")
        tmp = cache / (ORIG + ".part")
        with urllib.request.urlopen(ORIG_URL, timeout=120) as resp, open(tmp, "wb") as out:
            shutil.copyfileobj(resp, out)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        if digest != ORIG_SHA256:
            tmp.unlink()
            raise SystemExit(f"parity: {ORIG} has SHA-256 {digest}, expected {ORIG_SHA256}")
        tmp.rename(tarball)
        shutil.rmtree(src, ignore_errors=True)
    if not (src / "configure").exists():
        subprocess.run(["tar", "xf", str(tarball), "-C", str(cache)], check=True)
    if not (src / "src" / "config.h").exists():
        log("configuring strace's source (once)")
        subprocess.run(["./configure", "--enable-mpers=no", "-q"], cwd=src, check=True, stdout=subprocess.DEVNULL)
    if not (src / "src" / "scno.h").exists():
        subprocess.run(["make", "-s", "-C", "src", "scno.h"], cwd=src, check=True, stdout=subprocess.DEVNULL)
    if not (tests / "libtests.a").exists():
        log("building strace's libtests.a (once)")
        subprocess.run(["make", "-s", "-j2", "libtests.a"], cwd=tests, check=True, stdout=subprocess.DEVNULL)
    missing = [n for n in names if not (tests / n).exists()]
    failed = []
    if missing:
        log(f"building {len(missing)} test programs")
        for name in missing:
            r = subprocess.run(["make", "-s", name], cwd=tests, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode != 0:
                failed.append(name)
    return tests, failed


PID_PREFIX = re.compile(r"^(?:\[pid\s+(\d+)\]|(\d+))\s+")
PADDING = re.compile(r"\)\s+= ")
HEX = re.compile(r"0x[0-9a-f]{5,}")
INODE = re.compile(r"(socket|pipe|anon_inode:\[?\w*\]?|st_ino=|inode=|ino=)(:\[)?(\d+)")
BRACKETED_INODE = re.compile(r"(socket|pipe|net|mnt|pid|user|uts|ipc|cgroup|time):\[(\d+)\]")
CLOCK_FIELDS = re.compile(
    r"\b(tv_sec|tv_nsec|tv_usec|st_atime|st_mtime|st_ctime|st_atime_nsec|st_mtime_nsec|st_ctime_nsec|"
    r"stx_atime|stx_btime|stx_ctime|stx_mtime|ru_utime|ru_stime|si_utime|si_stime|uptime|"
    r"tms_utime|tms_stime|tms_cutime|tms_cstime|freeram|bufferram|sharedram|freeswap|procs)=(\{[^}]*\}|-?\d+)"
)
LARGE_NUMBER = re.compile(r"\b\d{9,}\b")
# A successful exec's environment pointer: strace reads it at the call's enter; tracer's plain trace (no enter
# hook) cannot know it once the exec replaced the memory and registers, and shows `?` with the count. Addresses are
# normalised away anyway, so the unknown one is too; the count is still compared.
UNKNOWN_ENV_POINTER = re.compile(r"(?<=, )\?(?= /\* \d+ vars? \*/)")
# getrandom's bytes differ every run; their quoting (strace: all hex) does not.
RANDOM_BYTES = re.compile(r'^getrandom\("(?:\\x[0-9a-f]{2})+"')


UNFINISHED = " <unfinished ...>"
RESUMED = re.compile(r"^<\.\.\. [\w]+ resumed>\s?")


def by_task(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Each task's lines, tasks in creation order. Ids grow with creation (tids are handed out in order), so the
    n-th task of one trace is paired with the n-th of the other whatever the interleaving of concurrent tasks; a
    call split by strace into `<unfinished ...>` and `<... resumed>` because another task wrote in between is
    joined back into one line."""
    tasks: dict[int, list[str]] = {}
    held: dict[int, str] = {}
    first = None
    for line in lines:
        m = PID_PREFIX.match(line)
        if m:
            tid = int(m.group(1) or m.group(2))
            line = line[m.end() :]
        else:
            tid = first if first is not None else 0
        if first is None:
            first = tid
        line = line.rstrip()
        if line.endswith(UNFINISHED):
            held[tid] = line[: -len(UNFINISHED)]
            continue
        r = RESUMED.match(line)
        if r and tid in held:
            line = held.pop(tid) + line[r.end() :]
        tasks.setdefault(tid, []).append(line)
    for tid, line in held.items():
        tasks.setdefault(tid, []).append(line + UNFINISHED)
    return sorted(tasks.items())


def normalise(lines: list[str]) -> list[list[str]]:
    """What changes from run to run, and only that, made equal; one list of lines per task."""
    tasks = by_task(lines)
    ordinal = {str(tid): f"PID{i}" for i, (tid, _) in enumerate(tasks)}
    pid_re = re.compile(r"\b(" + "|".join(sorted(ordinal, key=len, reverse=True)) + r")\b") if ordinal else None
    out = []
    for _, task_lines in tasks:
        norm = []
        for line in task_lines:
            line = PADDING.sub(") = ", line)
            if pid_re:
                line = pid_re.sub(lambda m: ordinal[m.group(1)], line)
            line = HEX.sub("0xADDR", line)
            line = UNKNOWN_ENV_POINTER.sub("0xADDR", line)
            line = BRACKETED_INODE.sub(lambda m: f"{m.group(1)}:[INO]", line)
            line = INODE.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}INO", line)
            line = CLOCK_FIELDS.sub(lambda m: f"{m.group(1)}=T", line)
            line = LARGE_NUMBER.sub("N", line)
            line = RANDOM_BYTES.sub(lambda _: 'getrandom("\\xRANDOM"', line)
            norm.append(line)
        out.append(norm)
    return out


def trace(cmd: list[str], argv: list[str], out: Path, cwd: Path) -> list[str]:
    if out.exists():
        out.unlink()
    try:
        subprocess.run(
            cmd + ["-f", "-o", str(out), "--"] + argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        log(f"timed out: {' '.join(cmd[:2])} {' '.join(argv)}")
    if not out.exists():
        return []
    return out.read_text(errors="surrogateescape").splitlines()


def fresh_dir() -> Path:
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    return RUN_DIR


def line_diff(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """The lines only in `a` and only in `b` by GNU diff (Myers: fast on traces of thousands of mostly different
    lines, where difflib is quadratic)."""
    if a == b:
        return [], []
    with tempfile.TemporaryDirectory() as tmp:
        fa, fb = Path(tmp, "a"), Path(tmp, "b")
        fa.write_text("".join(line + "\n" for line in a), errors="surrogateescape")
        fb.write_text("".join(line + "\n" for line in b), errors="surrogateescape")
        out = subprocess.run(["diff", str(fa), str(fb)], stdout=subprocess.PIPE, check=False).stdout
    text = out.decode(errors="surrogateescape").splitlines()
    return [x[2:] for x in text if x.startswith("< ")], [x[2:] for x in text if x.startswith("> ")]


def compare(ref: list[str], got: list[str]) -> dict:
    ref_tasks, got_tasks = normalise(ref), normalise(got)
    same = lines_a = lines_b = 0
    diff = []
    for i in range(max(len(ref_tasks), len(got_tasks))):
        a = ref_tasks[i] if i < len(ref_tasks) else []
        b = got_tasks[i] if i < len(got_tasks) else []
        lines_a += len(a)
        lines_b += len(b)
        removed, added = line_diff(a, b)
        same += len(a) - len(removed)
        diff.extend(f"- [task {i}] {line}" for line in removed)
        diff.extend(f"+ [task {i}] {line}" for line in added)
    denominator = max(lines_a, lines_b)
    return {
        "strace_lines": lines_a,
        "tracer_lines": lines_b,
        "identical": same,
        "missing": lines_a - same,
        "invented": lines_b - same,
        "percent": 100.0 * same / denominator if denominator else 0.0,
        "diff": diff,
    }


def run_set(label: str, cases: list[tuple[str, list[str]]], other: list[str], failed: list[str], args) -> dict:
    strace = ["strace"]
    results = {}
    for name in failed:
        results[name] = {"percent": 0.0, "error": "did not build"}
    for name, argv in cases:
        if args.only and name not in args.only:
            continue
        ref = trace(strace, argv, Path("/tmp/tracer-parity-strace.txt"), fresh_dir())
        got = trace(other, argv, Path("/tmp/tracer-parity-other.txt"), fresh_dir())
        if not ref:
            results[name] = {"percent": 0.0, "error": "strace wrote nothing"}
            continue
        results[name] = compare(ref, got)
        r = results[name]
        print(
            f"{label:6} {name:28} {r['percent']:6.1f}%  strace {r['strace_lines']:5}  other {r['tracer_lines']:5}"
            f"  missing {r['missing']:5}  invented {r['invented']:5}",
            flush=True,
        )
        if args.show:
            for line in r["diff"][: args.show]:
                print(f"        {line}")
    scored = [r["percent"] for r in results.values()]
    total_ref = sum(r.get("strace_lines", 0) for r in results.values())
    total_same = sum(r.get("identical", 0) for r in results.values())
    summary = {
        "tests": len(scored),
        "mean_percent": sum(scored) / len(scored) if scored else 0.0,
        "at_100": sum(1 for p in scored if p >= 99.999),
        "lines_strace": total_ref,
        "lines_identical": total_same,
        "failed_to_build": failed,
    }
    print(
        f"{label}: {summary['tests']} tests, mean {summary['mean_percent']:.1f}% identical per test, "
        f"{summary['at_100']} at 100%, {total_same}/{total_ref} strace lines matched"
        + (f", {len(failed)} did not build: {' '.join(failed)}" if failed else ""),
        flush=True,
    )
    return {"summary": summary, "results": {k: {x: y for x, y in v.items() if x != "diff"} for k, v in results.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracer", default=os.environ.get("TRACER", "target/release/tracer"))
    parser.add_argument("--cache", type=Path, default=Path("/var/cache/tracer-parity"))
    parser.add_argument("--set", choices=["strace", "real", "all"], default="all")
    parser.add_argument("--self", dest="self_check", action="store_true", help="compare strace with strace")
    parser.add_argument("--show", type=int, default=0, metavar="N", help="print the first N differing lines")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("only", nargs="*", help="run only these tests")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("parity: run as root (tracer loads BPF programs)", file=sys.stderr)
        return 2
    other = ["strace"] if args.self_check else [str(Path(args.tracer).resolve()), "syscalls"]
    report = {}
    if args.set in ("strace", "all"):
        names = read_list(TESTS_LIST)
        tests, failed = prepare_strace_tests(args.cache, names)
        cases = [(n, [str(tests / n)]) for n in names if n not in failed]
        report["strace"] = run_set("strace", cases, other, failed, args)
    if args.set in ("real", "all"):
        cases = []
        for name, command in read_commands(REAL_LIST):
            cases.append((name, ["/bin/sh", "-c", command]))
        report["real"] = run_set("real", cases, other, [], args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
