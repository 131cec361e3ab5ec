//! `start_ns` beside every pid, in every command's JSON: the start time the kernel keeps for the process
//! (`task->start_time` of its group leader, CLOCK_MONOTONIC ns), read in the kernel at the event, or from
//! /proc/PID/stat for a process tracer found in /proc (to the clock tick).
//!
//! The oracle is /proc/PID/stat's start time, read by each process itself while it lived (`/proc/self/stat`,
//! written to a file before it acts), or by the test for a process it keeps alive. /proc counts clock ticks since
//! boot (CLOCK_BOOTTIME): a right `start_ns` plus the time the machine spent suspended falls in that tick.
//! Where a pid can be made to come back (`/proc/sys/kernel/ns_last_pid`), two processes with the same pid are
//! told apart by their `start_ns`.

mod common;

use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::*;
use serde_json::Value;

const PYTHON: &str = "/usr/bin/python3";

/// What every actor does first: write its own /proc/self/stat to the file named by its first argument.
const PRELUDE: &str = "import os, sys, socket, signal, threading, time\n\
open(sys.argv[1], 'w').write(open('/proc/self/stat').read())\n";

fn tick_ns() -> u64 {
    // SAFETY: sysconf has no preconditions.
    1_000_000_000 / (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CLOCK_BOOTTIME less CLOCK_MONOTONIC now.
fn suspended_ns() -> u64 {
    let monotonic = clock_ns(libc::CLOCK_MONOTONIC);
    clock_ns(libc::CLOCK_BOOTTIME).saturating_sub(monotonic)
}

/// The start time field (22nd) of a /proc/PID/stat line, in clock ticks since boot.
fn stat_ticks(stat: &str) -> u64 {
    let after = &stat[stat.rfind(')').expect("stat has a comm") + 1..];
    after.split_ascii_whitespace().nth(19).and_then(|f| f.parse().ok()).unwrap_or_else(|| panic!("stat: {stat}"))
}

fn proc_ticks(pid: u32) -> u64 {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process is alive"))
}

/// The pid and start ticks an actor wrote about itself.
fn self_stat(file: &Path) -> (u32, u64) {
    let stat = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    (stat.split_whitespace().next().unwrap().parse().unwrap(), stat_ticks(&stat))
}

/// `record[field]` is the start time /proc gave as `ticks`. The clocks' offset is read by two calls here and in
/// tracer: a µs either side of the tick is allowed for that.
fn assert_start(record: &Value, field: &str, ticks: u64) {
    let start_ns = record[field].as_u64().unwrap_or_else(|| panic!("{field} is not a number: {record}"));
    let boot_ns = start_ns + suspended_ns();
    let tick = tick_ns();
    assert!(
        boot_ns + 1_000 >= ticks * tick && boot_ns < (ticks + 1) * tick + 1_000,
        "{field} {start_ns} (boot {boot_ns}) is not /proc's tick {ticks}: {record}"
    );
}

fn actor(script: &str, stat_file: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(PYTHON);
    cmd.arg("-c")
        .arg(format!("{PRELUDE}{script}"))
        .arg(stat_file)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

fn run(mut cmd: Command) -> u32 {
    let mut child = cmd.spawn().expect("spawn");
    drop(child.stdin.take());
    let status = child.wait().expect("wait");
    assert!(status.success(), "{cmd:?}: {status}");
    child.id()
}

/// Spawns `cmd` as pid `pid` (an exited process's), by setting the pid the kernel hands out next. None when other
/// processes kept taking it first.
fn spawn_as(pid: u32, cmd: &mut Command) -> Option<Child> {
    for _ in 0..100 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).expect("write ns_last_pid (root)");
        let mut child = cmd.spawn().expect("spawn");
        if child.id() == pid {
            return Some(child);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    None
}

fn scratch(test: &str) -> PathBuf {
    scratch_dir(&format!("start-ns-{test}")).canonicalize().expect("canonical scratch dir")
}

/// Waits until `n` JSON records of `tracer` satisfy `pred`; returns them, in order.
fn wait_records(tracer: &Proc, dl: Deadline, n: usize, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let matching = || -> Vec<Value> {
        let text = tracer.out().text();
        text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| pred(v)).collect()
    };
    loop {
        let found = matching();
        if found.len() >= n {
            return found;
        }
        let next = tracer.out().wait_for(dl, |l| serde_json::from_str::<Value>(l).is_ok_and(|v| pred(&v)));
        assert!(next.is_some(), "fewer than {n} records matched\n{}", tracer.dump());
    }
}

#[test]
fn syscalls_start_ns_is_the_process_start_for_every_thread_and_child() {
    let dl = Deadline::test();
    let dir = scratch("syscalls");
    let (parent_stat, child_stat) = (dir.join("parent"), dir.join("child"));
    // A thread's calls, and a forked child's (which writes its own stat).
    let script = "t = threading.Thread(target=os.getppid); t.start(); t.join()\n\
pid = os.fork()\n\
if pid == 0:\n    open(sys.argv[2], 'w').write(open('/proc/self/stat').read()); os._exit(0)\n\
os.waitpid(pid, 0)\n";
    let script = format!("{PRELUDE}{script}");
    let out = run_tracer(
        ["--json", "-f", "--", PYTHON, "-c", &script, parent_stat.to_str().unwrap(), child_stat.to_str().unwrap()],
        dl,
    );
    out.expect_code(0);
    let events = out.json();
    let (parent, parent_ticks) = self_stat(&parent_stat);
    let (child, child_ticks) = self_stat(&child_stat);
    let calls = of_type(&events, "syscall");
    let mut threads = std::collections::BTreeSet::new();
    for (pid, ticks) in [(parent, parent_ticks), (child, child_ticks)] {
        let mine: Vec<&&Value> = calls.iter().filter(|c| u64_field(c, "pid") == u64::from(pid)).collect();
        assert!(mine.len() > 5, "few calls of {pid}\n{}", out.dump());
        for call in &mine {
            assert_start(call, "start_ns", ticks);
            threads.insert(u64_field(call, "tid"));
        }
        assert!(mine.windows(2).all(|w| w[0]["start_ns"] == w[1]["start_ns"]), "one start_ns per process");
    }
    assert!(threads.len() >= 3, "the parent, its thread and the child: {threads:?}");
}

#[test]
fn opens_tell_two_processes_with_the_same_pid_apart() {
    let dl = Deadline::test();
    let dir = scratch("opens");
    let watched = dir.join("watched");
    std::fs::create_dir_all(&watched).unwrap();
    let file = watched.join("x");
    std::fs::write(&file, b"x").unwrap();
    let mut tracer = start_json("opens", &[watched.to_str().unwrap()], dl);
    let open_x = format!("open({:?}).read()\n", file.to_str().unwrap());
    let first = run(actor(&open_x, &dir.join("first"), &[]));
    let mut again = actor(&open_x, &dir.join("second"), &[]);
    let Some(mut second) = spawn_as(first, &mut again) else {
        panic!("pid {first} could not be had again");
    };
    drop(second.stdin.take());
    assert!(second.wait().unwrap().success());
    let (_, first_ticks) = self_stat(&dir.join("first"));
    let (pid, second_ticks) = self_stat(&dir.join("second"));
    assert_eq!(pid, first, "the second process has the first one's pid");
    let opens = wait_records(&tracer, dl, 2, |v| {
        v["type"] == "open" && v["path"] == file.to_str().unwrap() && v["pid"] == u64::from(first)
    });
    tracer.kill();
    assert_eq!(opens.len(), 2, "{opens:?}");
    assert_start(&opens[0], "start_ns", first_ticks);
    assert_start(&opens[1], "start_ns", second_ticks);
    assert_ne!(opens[0]["start_ns"], opens[1]["start_ns"], "same pid, two processes");
}

#[test]
fn signals_name_sender_and_target_by_start_ns() {
    let dl = Deadline::test();
    let dir = scratch("signals");
    let mut target = Command::new("sleep").arg("30").spawn().expect("sleep");
    let target_pid = target.id();
    let target_ticks = proc_ticks(target_pid);
    let mut tracer = start_json("signals", &["-p", &target_pid.to_string()], dl);
    let sender =
        run(actor("os.kill(int(sys.argv[2]), signal.SIGTERM)\n", &dir.join("sender"), &[&target_pid.to_string()]));
    let _ = target.wait();
    let (_, sender_ticks) = self_stat(&dir.join("sender"));
    let signal = wait_records(&tracer, dl, 1, |v| v["type"] == "signal" && v["signal"] == "SIGTERM").remove(0);
    let exit = wait_records(&tracer, dl, 1, |v| v["type"] == "exit" && v["pid"] == u64::from(target_pid)).remove(0);
    tracer.kill();
    assert_eq!(signal["sender_pid"], u64::from(sender), "{signal}");
    assert_start(&signal, "sender_start_ns", sender_ticks);
    assert_eq!(signal["target_pid"], i64::from(target_pid), "{signal}");
    assert_start(&signal, "target_start_ns", target_ticks);
    assert!(signal["context_start_ns"].is_null(), "sent by a process: no context: {signal}");
    assert_start(&exit, "start_ns", target_ticks);
    assert_start(&exit, "sender_start_ns", sender_ticks);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn binds_name_the_caller_and_the_holder_by_start_ns() {
    let dl = Deadline::test();
    let dir = scratch("binds");
    let port = free_port();
    let listen = "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(); print('up', flush=True)\n\
sys.stdin.read()\n";
    let mut holder_cmd = actor(listen, &dir.join("holder"), &[&port.to_string()]);
    holder_cmd.stdout(Stdio::piped());
    let mut holder = holder_cmd.spawn().unwrap();
    let mut up = [0u8; 3];
    holder.stdout.take().unwrap().read_exact(&mut up).unwrap();
    let (holder_pid, holder_ticks) = self_stat(&dir.join("holder"));
    let mut tracer = start_json("binds", &["-P", &port.to_string()], dl);
    let refused = "s = socket.socket()\ntry:\n    s.bind(('127.0.0.1', int(sys.argv[2])))\nexcept OSError:\n    pass\n";
    let caller = run(actor(refused, &dir.join("caller"), &[&port.to_string()]));
    let (_, caller_ticks) = self_stat(&dir.join("caller"));
    let bind = wait_records(&tracer, dl, 1, |v| v["type"] == "bind" && v["pid"] == u64::from(caller)).remove(0);
    tracer.kill();
    holder.stdin.take().unwrap().write_all(b"").unwrap();
    let _ = holder.wait();
    assert_eq!(bind["errno"], "EADDRINUSE", "{bind}");
    assert_start(&bind, "start_ns", caller_ticks);
    assert_eq!(bind["holder_pid"], u64::from(holder_pid), "{bind}");
    assert_start(&bind, "holder_start_ns", holder_ticks);
    // The snapshot's holder, from /proc.
    let events: Vec<Value> = tracer.out().text().lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let snapshot = of_type(&events, "holder");
    let held = snapshot.iter().find(|h| h["pid"] == u64::from(holder_pid)).expect("the holder in the snapshot");
    assert_start(held, "start_ns", holder_ticks);
}

#[test]
fn conns_name_connector_and_acceptor_by_start_ns() {
    let dl = Deadline::test();
    let dir = scratch("conns");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut tracer = start_json("conns", &["-P", &port.to_string(), "--no-snapshot"], dl);
    let connect = "s = socket.create_connection(('127.0.0.1', int(sys.argv[2]))); s.sendall(b'hi'); s.close()\n";
    let mut client = actor(connect, &dir.join("client"), &[&port.to_string()]).spawn().unwrap();
    drop(client.stdin.take());
    let (mut conn, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    conn.read_to_end(&mut got).unwrap();
    drop(conn);
    assert!(client.wait().unwrap().success());
    let (client_pid, client_ticks) = self_stat(&dir.join("client"));
    let me = std::process::id();
    let my_ticks = proc_ticks(me);
    let connects = wait_records(&tracer, dl, 1, |v| v["type"] == "connect" && v["pid"] == u64::from(client_pid));
    let accepts = wait_records(&tracer, dl, 1, |v| v["type"] == "accept" && v["pid"] == u64::from(me));
    let closes = wait_records(&tracer, dl, 2, |v| v["type"] == "tcp_close");
    tracer.kill();
    assert_start(&connects[0], "start_ns", client_ticks);
    assert_start(&accepts[0], "start_ns", my_ticks);
    for close in &closes {
        let ticks = if close["pid"] == u64::from(me) { my_ticks } else { client_ticks };
        assert_start(close, "start_ns", ticks);
    }
}

#[test]
fn monitor_signals_and_exits_carry_start_ns() {
    let dl = Deadline::test();
    let dir = scratch("monitor");
    let mut tracer = start_json("monitor", &[], dl);
    let mut cmd = actor("os.kill(os.getpid(), signal.SIGTERM)\n", &dir.join("self"), &[]);
    let mut child = cmd.spawn().unwrap();
    drop(child.stdin.take());
    let _ = child.wait();
    let (pid, ticks) = self_stat(&dir.join("self"));
    let signal = wait_records(&tracer, dl, 1, |v| v["type"] == "signal" && v["target_pid"] == i64::from(pid)).remove(0);
    let exit = wait_records(&tracer, dl, 1, |v| v["type"] == "exit" && v["pid"] == u64::from(pid)).remove(0);
    let exec = wait_records(&tracer, dl, 1, |v| v["type"] == "exec" && v["pid"] == u64::from(pid)).remove(0);
    tracer.kill();
    assert_start(&signal, "sender_start_ns", ticks);
    assert_start(&signal, "target_start_ns", ticks);
    assert_start(&exit, "start_ns", ticks);
    assert_start(&exit, "sender_start_ns", ticks);
    assert_start(&exec, "start_ns", ticks);
}
