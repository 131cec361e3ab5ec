//! End-to-end tests of `tracer syscalls`: real eBPF programs loaded and attached (run as root), a workload with
//! exactly known syscalls (`examples/workload.rs`), and strace as the oracle where one exists.
//!
//! Every test has a global deadline (`Deadline::test()`); children are killed when a test fails.

mod common;

use std::{
    collections::BTreeMap,
    os::unix::{ffi::OsStrExt, fs::PermissionsExt, process::CommandExt, process::ExitStatusExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use serde_json::Value;

// Syscall numbers on x86_64.
const NR_READ: u32 = 0;
const NR_NANOSLEEP: u32 = 35;
const NR_CLOCK_NANOSLEEP: u32 = 230;

/// How many of each call a run of the workload makes; distinct per test so that no count matches by accident.
#[derive(Clone, Copy, Debug)]
struct Counts {
    getppid: usize,
    writes: usize,
    failopen: usize,
}

impl Counts {
    fn actions(&self, path: &str) -> Vec<String> {
        vec![
            "getppid".into(),
            self.getppid.to_string(),
            "writes".into(),
            self.writes.to_string(),
            "failopen".into(),
            self.failopen.to_string(),
            path.into(),
        ]
    }
}

/// `["--json", "--", workload, actions...]`-style argument lists.
fn with_workload(tracer_opts: &[&str], actions: &[String]) -> Vec<String> {
    let mut args: Vec<String> = tracer_opts.iter().map(|s| s.to_string()).collect();
    args.push("--".into());
    args.push(workload().to_string_lossy().into_owned());
    args.extend(actions.iter().cloned());
    args
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// strace's rendering of an argv array with the default `-s 32`.
fn strace_argv(argv: &[String]) -> String {
    let items: Vec<String> =
        argv.iter().map(|a| if a.len() > 32 { format!("\"{}\"...", &a[..32]) } else { quoted(a) }).collect();
    format!("[{}]", items.join(", "))
}

/// Checks the calls the workload's `getppid/writes/failopen` actions make, in process `pid`, against `counts`.
/// `ppid` is what getppid must return.
fn check_workload_calls(events: &[Value], pid: u32, ppid: u32, path: &str, counts: Counts, dump: &dyn Fn() -> String) {
    for e in of_type(events, "syscall") {
        check_syscall_shape(e);
    }
    check_nothing_lost(events, dump);

    let getppid = calls(events, "getppid", Some(pid));
    assert_eq!(getppid.len(), counts.getppid, "number of getppid calls of {pid}\n{}", dump());
    for e in &getppid {
        assert_eq!(e["nr"], 110, "getppid nr: {e}");
        assert_eq!(e["tid"], pid, "getppid tid: {e}");
        assert!(args_of(e).is_empty(), "getppid has no arguments: {e}");
        assert_eq!(i64_field(e, "ret"), ppid as i64, "getppid must return the parent {ppid}: {e}");
        assert!(e["errno"].is_null(), "getppid cannot fail: {e}");
        assert_eq!(str_field(e, "comm"), "workload", "comm: {e}");
    }

    // The workload opens /dev/null once for its writes; the writes must use that descriptor.
    let devnull: Vec<&Value> = calls(events, "openat", Some(pid))
        .into_iter()
        .filter(|e| args_of(e).get(1) == Some(&"\"/dev/null\""))
        .collect();
    assert_eq!(devnull.len(), 1, "one openat of /dev/null\n{}", dump());
    assert_eq!(args_of(devnull[0]), ["AT_FDCWD", "\"/dev/null\"", "O_WRONLY|O_CLOEXEC"], "{}", devnull[0]);
    let fd = i64_field(devnull[0], "ret");
    assert!(fd >= 0, "open of /dev/null failed: {}", devnull[0]);
    let fd = fd.to_string();

    let writes = calls(events, "write", Some(pid));
    assert_eq!(writes.len(), counts.writes, "number of write calls of {pid}\n{}", dump());
    for e in &writes {
        assert_eq!(e["nr"], 1, "write nr: {e}");
        assert_eq!(args_of(e), [fd.as_str(), "\"hello, tracer\\n\"", "14"], "write args: {e}");
        assert_eq!(i64_field(e, "ret"), 14, "write returns 14: {e}");
        assert!(e["errno"].is_null(), "write errno: {e}");
    }

    let qpath = quoted(path);
    let opens: Vec<&Value> =
        calls(events, "openat", Some(pid)).into_iter().filter(|e| args_of(e).get(1) == Some(&qpath.as_str())).collect();
    assert_eq!(opens.len(), counts.failopen, "number of openat of {path}\n{}", dump());
    for e in &opens {
        assert_eq!(e["nr"], 257, "openat nr: {e}");
        assert_eq!(args_of(e), ["AT_FDCWD", qpath.as_str(), "O_RDONLY"], "openat args: {e}");
        assert_eq!(i64_field(e, "ret"), -2, "ret is the raw kernel return, -ENOENT: {e}");
        assert_eq!(e["errno"], "ENOENT", "errno: {e}");
    }
}

/// The single `exit` object of `pid`.
fn exit_event<'a>(events: &'a [Value], pid: u32, dump: &dyn Fn() -> String) -> &'a Value {
    let exits: Vec<&Value> = of_type(events, "exit").into_iter().filter(|e| e["pid"] == pid).collect();
    assert_eq!(exits.len(), 1, "one exit object for {pid}\n{}", dump());
    check_ts(exits[0]);
    exits[0]
}

/// `ready` must come exactly once.
fn check_ready_once(events: &[Value], dump: &dyn Fn() -> String) {
    let ready = of_type(events, "ready");
    assert_eq!(ready.len(), 1, "one ready object\n{}", dump());
    assert_eq!(ready[0]["command"], "syscalls", "{}", ready[0]);
}

/// Starts `workload --wait-stdin ACTIONS...` with stdin/stdout piped and returns it with its pid (read from
/// its `pid=` line).
fn start_waiting_workload(actions: &[String], deadline: Deadline) -> Proc {
    let mut cmd = Command::new(workload());
    cmd.arg("--wait-stdin").args(actions).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let w = Proc::spawn("workload --wait-stdin", &mut cmd);
    let line = w
        .out()
        .wait_for(deadline, |l| l.starts_with("pid="))
        .unwrap_or_else(|| panic!("workload did not print pid=\n{}", w.dump()));
    assert_eq!(line, format!("pid={}", w.pid()), "workload's pid line");
    w
}

/// Starts tracer in JSON mode and waits for its `ready` object.
fn start_tracer_json(args: &[String], deadline: Deadline) -> Proc {
    let t = Proc::spawn(format!("tracer syscalls {}", args.join(" ")), &mut tracer(args));
    if t.out().wait_for(deadline, is_ready_json).is_none() {
        panic!("tracer never printed its ready object\n{}", t.dump());
    }
    t
}

/// Starts tracer in text mode and waits for the stderr line that ends with "ready".
fn start_tracer_text(cmd: &mut Command, what: &str, deadline: Deadline) -> Proc {
    let t = Proc::spawn(what, cmd);
    if t.err().wait_for(deadline, |l| l.trim_end().ends_with("ready")).is_none() {
        panic!("tracer never printed its ready line on stderr\n{}", t.dump());
    }
    t
}

// ---------------------------------------------------------------------------------------------------------
// 1. spawned

#[test]
fn spawned_json_exact_calls() {
    let dl = Deadline::test();
    let path = missing_path("spawned");
    let counts = Counts { getppid: 53, writes: 47, failopen: 41 };
    let actions = counts.actions(&path);
    let args = with_workload(&["--json"], &actions);
    let t = Proc::spawn(format!("tracer syscalls {}", args.join(" ")), &mut tracer(&args));
    let tracer_pid = t.pid();
    let out = t.wait(dl);
    let dump = || out.dump();
    out.expect_code(0);
    out.expect_no_panic();
    let events = out.json();
    check_ready_once(&events, &dump);
    assert_eq!(events[0]["type"], "ready", "ready comes before any event\n{}", dump());

    let syscalls = of_type(&events, "syscall");
    let first = syscalls.first().unwrap_or_else(|| panic!("no syscall events\n{}", dump()));
    assert_eq!(first["name"], "execve", "the first call traced is the command's execve\n{}", dump());
    let pid = u64_field(first, "pid") as u32;
    assert_ne!(pid, tracer_pid, "the command is a child of tracer");
    assert_eq!(i64_field(first, "ret"), 0, "execve succeeded: {first}");
    let wl = workload().to_string_lossy().into_owned();
    let mut argv = vec![wl.clone()];
    argv.extend(actions.iter().cloned());
    let exec_args = args_of(first);
    assert_eq!(exec_args.first(), Some(&quoted(&wl).as_str()), "execve path: {first}");
    // (argv itself is checked by execve_argv_of_a_short_lived_command: it races with the exit here.)
    assert_eq!(exec_args.len(), 3, "execve has 3 args: {first}");

    assert!(syscalls.iter().all(|e| e["pid"] == pid), "only the command's calls are traced\n{}", dump());

    check_workload_calls(&events, pid, tracer_pid, &path, counts, &dump);

    let exit = exit_event(&events, pid, &dump);
    assert_eq!(exit["code"], 0, "exit code: {exit}");
    assert!(exit["signal"].is_null(), "not killed: {exit}");
    assert_eq!(exit["core_dumped"], false, "{exit}");
    assert_eq!(exit["comm"], "workload", "{exit}");
    assert_eq!(events.last().unwrap()["type"], "exit", "the exit is the last event\n{}", dump());
}

/// An attached program: (link type, program name).
type Attached = (String, String);

/// The programs a tracer process has attached, as (link type, program name) from each of its bpf link fds
/// (`link_type` in /proc/PID/fdinfo: `perf` for a classic tracepoint, `raw_tracepoint`), the program named by
/// bpftool (in full, from its BTF). Sorted.
fn attached_programs(pid: u32) -> Vec<Attached> {
    let mut out = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("tracer's fds").flatten() {
        if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:bpf_link") {
            let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy()))
                .expect("link fdinfo");
            let value =
                |key: &str| info.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim().to_string()).expect(key);
            let (link_type, prog_id) = (value("link_type:"), value("prog_id:"));
            let show = Command::new("bpftool").args(["-j", "prog", "show", "id", &prog_id]).output().expect("bpftool");
            let prog: Value = serde_json::from_slice(&show.stdout).expect("bpftool's JSON");
            out.push((link_type, prog["name"].as_str().expect("program name").to_string()));
        }
    }
    out.sort();
    out
}

/// A plain `tracer syscalls` (no enter hook) attaches no classic `syscalls:sys_enter_*` tracepoint: one in use
/// makes the kernel run `perf_syscall_enter` at every syscall of every task on the machine (bench/README.md, issue
/// 15 item 3). exec's environment is counted at `sched_process_exec` instead (`exec_env_count`, a raw tracepoint),
/// only when no enter hook counts it and records are sent (not `-c`). `-y` attaches close's enter (the one
/// classic enter allowed) and `-e trace=` the calls' own: what is looked at does show classic tracepoints.
/// Before: `sys_enter_one` twice (execve's and execveat's) in the plain trace.
#[test]
fn plain_trace_attaches_no_classic_syscall_tracepoint() {
    let dl = Deadline::test();
    let perf = |name: &str| ("perf".to_string(), name.to_string());
    let raw = |name: &str| ("raw_tracepoint".to_string(), name.to_string());
    let cases: [(&[&str], Vec<Attached>); 5] = [
        (&[], vec![raw("exec_env_count"), raw("raw_sys_exit")]),
        (&["-y"], vec![perf("sys_enter_close_fd"), raw("exec_env_count"), raw("raw_sys_exit")]),
        (&["-T"], vec![raw("raw_sys_enter"), raw("raw_sys_exit")]),
        (&["-c"], vec![raw("raw_sys_enter"), raw("raw_sys_exit")]),
        (&["-e", "trace=getppid"], vec![perf("sys_enter_one"), perf("sys_exit_one")]),
    ];
    for (opts, want) in cases {
        let mut args = opts.to_vec();
        args.extend(["-o", "/dev/null", "--", "sleep", "1"]);
        let mut cmd = tracer_command("syscalls", &args);
        let t = start_tracer_text(&mut cmd, "tracer syscalls", dl.within(Duration::from_secs(20)));
        let attached = attached_programs(t.pid());
        // The syscall family's programs (the process and signal families' are the same in every case).
        let syscalls: Vec<Attached> = attached
            .iter()
            .filter(|(_, name)| name.starts_with("sys_") || name.starts_with("raw_sys_") || name == "exec_env_count")
            .cloned()
            .collect();
        assert_eq!(syscalls, want, "{opts:?}: every program attached: {attached:?}\n{}", t.dump());
        t.wait(dl).expect_code(0);
    }
}

/// The argv of the command's execve must be the real one even when the command exits at once (strace reads
/// it at syscall entry; reading /proc/PID/cmdline afterwards races with the exit and shows `[]`).
#[test]
fn execve_argv_of_a_short_lived_command() {
    let dl = Deadline::new(2 * TEST_TIMEOUT);
    let wl = workload().to_string_lossy().into_owned();
    let want = strace_argv(std::slice::from_ref(&wl));
    // The workload with no action exits right after start-up; about one run in four lost its argv here, more
    // when several tracers run at once.
    const RUNS: usize = 30;
    const PARALLEL: usize = 3;
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARALLEL)
            .map(|_| {
                scope.spawn(|| {
                    let mut wrong = Vec::new();
                    for _ in 0..RUNS / PARALLEL {
                        let out = run_tracer(["--json", "--", &wl], dl);
                        out.expect_code(0);
                        let events = out.json();
                        let exec = calls(&events, "execve", None);
                        assert_eq!(exec.len(), 1, "{}", out.dump());
                        let argv = args_of(exec[0])[1].to_string();
                        if argv != want {
                            wrong.push(argv);
                        }
                    }
                    wrong
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(wrong.is_empty(), "execve argv must be {want}; in {} of {RUNS} runs it was: {wrong:?}", wrong.len());
}

// ---------------------------------------------------------------------------------------------------------
// 2. attached

#[test]
fn attached_json_exact_calls() {
    let dl = Deadline::test();
    let path = missing_path("attached");
    let counts = Counts { getppid: 61, writes: 43, failopen: 37 };
    let mut actions = counts.actions(&path);
    actions.extend(["sleep".to_string(), "200".to_string()]);
    let mut w = start_waiting_workload(&actions, dl);
    let pid = w.pid();

    let args: Vec<String> = vec!["--json".into(), "-p".into(), pid.to_string()];
    let t = start_tracer_json(&args, dl.within(Duration::from_secs(15)));
    w.send("\n");
    // tracer must end by itself when the workload exits.
    let out = t.wait(dl.within(Duration::from_secs(15)));
    let status = w.try_wait_until(dl).expect("workload exited");
    let dump = || format!("{}\n{}", out.dump(), w.dump());
    out.expect_code(0);
    out.expect_no_panic();
    assert!(status.success(), "workload failed\n{}", dump());

    let events = out.json();
    check_ready_once(&events, &dump);
    assert!(
        of_type(&events, "syscall").iter().all(|e| e["pid"] == pid),
        "only the attached process is traced\n{}",
        dump()
    );
    assert!(calls(&events, "execve", None).is_empty(), "no execve happened after attach\n{}", dump());
    // The test process is the workload's parent.
    check_workload_calls(&events, pid, std::process::id(), &path, counts, &dump);
    let exit = exit_event(&events, pid, &dump);
    assert_eq!(exit["code"], 0, "{exit}");
    assert!(exit["signal"].is_null(), "{exit}");
}

/// `-p "A B"` (as pidof prints) traces both processes and ends when the last one exits.
#[test]
fn attached_two_processes() {
    let dl = Deadline::test();
    let (na, nb) = (17, 26);
    let mut a = start_waiting_workload(&["getppid".into(), na.to_string()], dl);
    let mut b = start_waiting_workload(&["getppid".into(), nb.to_string(), "sleep".into(), "300".into()], dl);
    let (pa, pb) = (a.pid(), b.pid());
    let args: Vec<String> = vec!["--json".into(), "-p".into(), format!("{pa} {pb}")];
    let t = start_tracer_json(&args, dl.within(Duration::from_secs(15)));
    a.send("\n");
    b.send("\n");
    let out = t.wait(dl.within(Duration::from_secs(15)));
    let dump = || out.dump();
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &dump);
    assert_eq!(calls(&events, "getppid", Some(pa)).len(), na, "{}", dump());
    assert_eq!(calls(&events, "getppid", Some(pb)).len(), nb, "{}", dump());
    assert_eq!(exit_event(&events, pa, &dump)["code"], 0);
    assert_eq!(exit_event(&events, pb, &dump)["code"], 0);
    assert_eq!(events.last().unwrap()["pid"], pb, "tracer ends after the last process exits\n{}", dump());
    assert!(a.try_wait_until(dl).is_some_and(|s| s.success()));
    assert!(b.try_wait_until(dl).is_some_and(|s| s.success()));
}

// ---------------------------------------------------------------------------------------------------------
// 3. blocked

/// The thread of `workload block-read` that blocks in read(2) on a pipe, from its `blocked tid=TID` line.
fn reader_tid(w: &Proc, dl: Deadline) -> u32 {
    let line = w
        .out()
        .wait_for(dl, |l| l.starts_with("blocked tid="))
        .unwrap_or_else(|| panic!("no blocked tid= line\n{}", w.dump()));
    line["blocked tid=".len()..].trim().parse().expect("tid")
}

/// The fd argument of a thread blocked in read, from /proc/PID/task/TID/syscall ("0 0x3 0x7f.. 0x1 ...").
fn fd_from_proc_syscall(line: &str) -> u64 {
    let hex = line.split_whitespace().nth(1).unwrap_or_else(|| panic!("bad /proc syscall line {line:?}"));
    u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn blocked_at_attach_is_reported() {
    let dl = Deadline::test();
    let mut cmd = Command::new(workload());
    cmd.arg("block-read").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut w = Proc::spawn("workload block-read", &mut cmd);
    let pid = w.pid();
    let tid = reader_tid(&w, dl);
    assert_ne!(tid, pid);
    let proc_line = wait_in_syscall(pid, tid, &[NR_READ], dl);
    let pipe_fd = fd_from_proc_syscall(&proc_line);
    // The main thread waits in read(0, ...) for stdin to close.
    wait_in_syscall(pid, pid, &[NR_READ], dl);

    let args: Vec<String> = vec!["--json".into(), "-p".into(), pid.to_string()];
    let t = start_tracer_json(&args, dl.within(Duration::from_secs(15)));
    let before_ready = parse_json_lines(&t.out().bytes()).unwrap_or_else(|e| panic!("{e}\n{}", t.dump()));

    let blocked: Vec<&Value> = of_type(&before_ready, "blocked");
    let reader: Vec<&&Value> = blocked.iter().filter(|b| b["tid"] == tid).collect();
    assert_eq!(reader.len(), 1, "one blocked object for thread {tid}, before ready\n{}", t.dump());
    let b = reader[0];
    assert_eq!(b["pid"], pid, "{b}");
    assert_eq!(b["name"], "read", "{b}");
    assert_eq!(b["nr"], 0, "{b}");
    assert_eq!(b["since"], "attach", "{b}");
    assert_eq!(b["comm"], "workload", "{b}");
    let bargs = args_of(b);
    assert_eq!(bargs.len(), 3, "read has 3 args: {b}");
    assert_eq!(bargs[0], pipe_fd.to_string(), "args[0] is the pipe fd: {b}");
    assert_eq!(bargs[2], "1", "args[2] is the count: {b}");
    assert!(b["wchan"].is_string(), "wchan is shown: {b}");
    check_ts(b);

    let main: Vec<&&Value> = blocked.iter().filter(|b| b["tid"] == pid).collect();
    assert_eq!(main.len(), 1, "the main thread is blocked in read(0, ...) too\n{}", t.dump());
    assert_eq!(main[0]["name"], "read", "{}", main[0]);
    assert_eq!(args_of(main[0])[0], "0", "{}", main[0]);

    // The reader never returns: SIGKILL the workload; tracer must notice and end by itself.
    w.kill();
    let out = t.wait(dl.within(Duration::from_secs(10)));
    let dump = || out.dump();
    out.expect_no_panic();
    let events = out.json();
    let position = |pred: &dyn Fn(&Value) -> bool| events.iter().position(pred);
    let blocked_at = position(&|e| e["type"] == "blocked" && e["tid"] == tid);
    let ready_at = position(&|e| e["type"] == "ready");
    assert!(blocked_at.is_some() && blocked_at < ready_at, "threads blocked at attach come before ready\n{}", dump());
    let exit = exit_event(&events, pid, &dump);
    assert_eq!(exit["signal"], "SIGKILL", "{exit}");
    assert!(exit["code"].is_null(), "killed, so no exit code: {exit}");
    check_nothing_lost(&events, &dump);
}

#[test]
fn blocked_live_is_reported_while_blocking() {
    let dl = Deadline::test();
    let mut w = start_waiting_workload(&["block-read".to_string()], dl);
    let pid = w.pid();
    let args: Vec<String> = vec!["--json".into(), "--blocked-after".into(), "0.5".into(), "-p".into(), pid.to_string()];
    let t = start_tracer_json(&args, dl.within(Duration::from_secs(15)));
    w.send("\n");
    let released = Instant::now();
    let tid = reader_tid(&w, dl);
    let proc_line = wait_in_syscall(pid, tid, &[NR_READ], dl);
    let pipe_fd = fd_from_proc_syscall(&proc_line);

    let found = t.out().wait_for(dl.within(Duration::from_secs(3)), |l| {
        serde_json::from_str::<Value>(l)
            .is_ok_and(|v| v["type"] == "blocked" && v["tid"] == tid && v["since"] == "live")
    });
    let Some(found) = found else {
        panic!("no live blocked object for thread {tid} within 3 s of the release\n{}", t.dump());
    };
    let elapsed = released.elapsed();
    let b: Value = serde_json::from_str(&found).unwrap();
    assert_eq!(b["pid"], pid, "{b}");
    assert_eq!(b["name"], "read", "{b}");
    assert_eq!(b["nr"], 0, "{b}");
    assert_eq!(args_of(&b).first().copied(), Some(pipe_fd.to_string().as_str()), "args[0] is the pipe fd: {b}");
    check_ts(&b);
    let blocked_ns = u64_field(&b, "blocked_ns");
    assert!(
        blocked_ns >= 400_000_000 && (blocked_ns as u128) <= elapsed.as_nanos() + 100_000_000,
        "blocked_ns {blocked_ns} should be about 0.5 s (reported {elapsed:?} after release): {b}"
    );

    w.kill();
    let out = t.wait(dl.within(Duration::from_secs(10)));
    out.expect_no_panic();
    let events = out.json();
    let live: Vec<&Value> =
        of_type(&events, "blocked").into_iter().filter(|b| b["tid"] == tid && b["since"] == "live").collect();
    assert_eq!(live.len(), 1, "the live blocked call is reported once\n{}", out.dump());
}

/// Text without -T/-t attaches no enter hook: a call that starts blocking is found from /proc instead, and
/// reported once, with a lower bound on how long it has blocked.
#[test]
fn blocked_live_without_enter_hook() {
    let dl = Deadline::test();
    let mut w = start_waiting_workload(&["block-read".to_string()], dl);
    let pid = w.pid();
    let args = ["--blocked-after", "0.5", "-p", &pid.to_string()];
    let t = start_tracer_text(&mut tracer(args), "tracer syscalls (text, blocked)", dl.within(Duration::from_secs(15)));
    w.send("\n");
    let tid = reader_tid(&w, dl);
    let proc_line = wait_in_syscall(pid, tid, &[NR_READ], dl);
    let pipe_fd = fd_from_proc_syscall(&proc_line);
    let prefix = format!("[pid {tid:>5}] read({pipe_fd}, ");
    let found = t
        .out()
        .wait_for(dl.within(Duration::from_secs(4)), |l| l.starts_with(&prefix) && l.contains("<blocked"))
        .unwrap_or_else(|| panic!("no blocked line for thread {tid} within 4 s of the release\n{}", t.dump()));
    assert!(found.contains("for at least 0.") || found.contains("for at least 1."), "a lower bound: {found}");
    // Stays blocked: still one line a while later.
    std::thread::sleep(Duration::from_millis(1500));
    w.kill();
    let out = t.wait(dl.within(Duration::from_secs(10)));
    out.expect_no_panic();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix) && l.contains("<blocked")).collect();
    assert_eq!(lines.len(), 1, "the blocked call is reported once\n{}", out.dump());
}

/// The other side of `blocked_live_without_enter_hook`: a thread that sleeps 2 ms at a time, over and over, is
/// always found inside the same nanosleep, but it keeps returning (the kernel counts it), so it is never blocked.
/// Spawned, so that no thread is blocked at attach (those are left alone until they return).
#[test]
fn a_thread_that_keeps_returning_is_not_blocked() {
    let dl = Deadline::test();
    let workload = workload();
    let mut args: Vec<String> = vec!["--blocked-after".into(), "0.3".into(), "--".into()];
    args.push(workload.to_string_lossy().into_owned());
    args.extend(["sleep", "2"].iter().cycle().take(2 * 1200).map(|s| s.to_string()));
    let out = Proc::spawn("tracer syscalls (text, sleeps)", &mut tracer(&args)).wait(dl);
    out.expect_no_panic();
    assert!(out.status.success(), "tracer and the command exit 0\n{}", out.dump());
    let text = String::from_utf8_lossy(&out.stdout);
    let sleeps = text.lines().filter(|l| l.starts_with("clock_nanosleep(") || l.starts_with("nanosleep(")).count();
    assert!(sleeps >= 1200, "{sleeps} sleeps traced, want 1200\n{}", out.dump());
    let blocked: Vec<&str> = text.lines().filter(|l| l.contains("<blocked")).collect();
    assert!(blocked.is_empty(), "a thread returning every 2 ms was reported blocked: {blocked:?}");
}

// ---------------------------------------------------------------------------------------------------------
// 4. follow forks

fn clone_of_child(events: &[Value], parent: u32, child: u32) -> Vec<&Value> {
    of_type(events, "syscall")
        .into_iter()
        .filter(|e| e["pid"] == parent)
        .filter(|e| matches!(e["name"].as_str(), Some("clone" | "clone3" | "fork" | "vfork")))
        .filter(|e| e["ret"] == child)
        .collect()
}

#[test]
fn follow_forks_sees_the_child() {
    let dl = Deadline::test();
    let n = 29;
    let args = with_workload(&["--json", "-f"], &["fork".into(), n.to_string()]);
    let out = run_tracer(&args, dl);
    let dump = || out.dump();
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &dump);
    for e in of_type(&events, "syscall") {
        check_syscall_shape(e);
    }
    let parent = u64_field(of_type(&events, "syscall")[0], "pid") as u32;
    assert_eq!(calls(&events, "getppid", Some(parent)).len(), 0, "the parent makes no getppid\n{}", dump());
    let getppid = calls(&events, "getppid", None);
    assert_eq!(getppid.len(), n, "the child's getppid calls\n{}", dump());
    let child = u64_field(getppid[0], "pid") as u32;
    assert_ne!(child, parent);
    for e in &getppid {
        assert_eq!(e["pid"], child, "all from the one child: {e}");
        assert_eq!(e["tid"], child, "{e}");
        assert_eq!(i64_field(e, "ret"), parent as i64, "the child's parent is the workload: {e}");
    }
    assert_eq!(clone_of_child(&events, parent, child).len(), 1, "the parent's fork returned {child}\n{}", dump());
    assert_eq!(exit_event(&events, child, &dump)["code"], 0);
    assert_eq!(exit_event(&events, parent, &dump)["code"], 0);
}

#[test]
fn without_follow_the_child_is_not_traced() {
    let dl = Deadline::test();
    let n = 31;
    let args = with_workload(&["--json"], &["fork".into(), n.to_string()]);
    let out = run_tracer(&args, dl);
    let dump = || out.dump();
    out.expect_code(0);
    let events = out.json();
    let syscalls = of_type(&events, "syscall");
    let parent = u64_field(syscalls[0], "pid") as u32;
    assert_eq!(calls(&events, "getppid", None).len(), 0, "no getppid at all without -f\n{}", dump());
    assert!(syscalls.iter().all(|e| e["pid"] == parent), "only the parent's calls\n{}", dump());
    let forks: Vec<&Value> = syscalls
        .iter()
        .copied()
        .filter(|e| matches!(e["name"].as_str(), Some("clone" | "clone3" | "fork" | "vfork")))
        .collect();
    assert_eq!(forks.len(), 1, "the parent's fork is traced\n{}", dump());
    let child = i64_field(forks[0], "ret");
    assert!(child > 0, "{}", forks[0]);
    assert!(!events.iter().any(|e| e["pid"] == child), "nothing from the child {child}\n{}", dump());
}

// ---------------------------------------------------------------------------------------------------------
// 5. -c against strace

fn strace_bin() -> &'static str {
    let path = "/usr/bin/strace";
    assert!(Path::new(path).exists(), "strace (the oracle) is not installed: run `cargo xtask setup`");
    path
}

/// Runs `strace -o DIR/NAME STRACE_OPTS PROGRAM ARGS` with stdin/stdout/stderr on /dev/null and returns the
/// file's contents.
fn run_strace(dir: &Path, name: &str, opts: &[&str], program: &Path, args: &[String], dl: Deadline) -> String {
    let file = dir.join(name);
    let mut cmd = Command::new(strace_bin());
    cmd.arg("-o").arg(&file).args(opts).arg(program).args(args);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let out = Proc::spawn(format!("strace {opts:?}"), &mut cmd).wait(dl);
    assert!(out.status.success(), "strace failed: {}", out.status);
    std::fs::read_to_string(&file).expect("strace output")
}

/// Per-name call counts of a strace (or tracer) text trace. Lines may start with a pid (strace -f -o).
fn count_text_calls(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let mut rest = line.trim_start();
        if let Some((first, tail)) = rest.split_once(char::is_whitespace)
            && first.chars().all(|c| c.is_ascii_digit())
        {
            rest = tail.trim_start();
        }
        if let Some(tail) = rest.strip_prefix("[pid ") {
            rest = tail.split_once("] ").map_or(rest, |(_, t)| t);
        }
        if rest.starts_with("+++") || rest.starts_with("---") || rest.starts_with('<') {
            continue;
        }
        let name = rest.split('(').next().unwrap();
        *counts.entry(name.to_string()).or_default() += 1;
    }
    counts
}

fn count_json_calls(events: &[Value]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for e in of_type(events, "syscall") {
        *counts.entry(str_field(e, "name").to_string()).or_default() += 1;
    }
    counts
}

fn count_diff(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> Vec<String> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| format!("{n}: {:?} vs {:?}", a.get(n), b.get(n)))
        .collect()
}

#[test]
fn summary_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("summary");
    let path = missing_path("summary");
    let counts = Counts { getppid: 71, writes: 67, failopen: 59 };
    let actions = counts.actions(&path);
    let wl = workload();

    let strace_text = run_strace(&dir, "strace.txt", &["-f", "-c"], &wl, &actions, dl);
    let oracle = parse_summary_table(&strace_text).unwrap_or_else(|e| panic!("strace table: {e}\n{strace_text}"));
    assert_eq!(oracle["getppid"], SummaryRow { calls: counts.getppid as u64, errors: 0 }, "strace itself");

    // tracer -c -o FILE, every standard stream on /dev/null except stderr (a file, for diagnostics).
    let table = dir.join("tracer.txt");
    let errfile = dir.join("tracer.err");
    let mut cmd = Command::new(tracer_bin());
    cmd.arg("syscalls").arg("-c").arg("-o").arg(&table).arg("--").arg(&wl).args(&actions);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(std::fs::File::create(&errfile).unwrap());
    let out = Proc::spawn("tracer syscalls -c -o FILE", &mut cmd).wait(dl);
    let tracer_text = std::fs::read_to_string(&table).unwrap_or_default();
    let err_text = std::fs::read_to_string(&errfile).unwrap_or_default();
    let dump = || {
        format!(
            "tracer exited {}\n[tracer -c]\n{tracer_text}[stderr]\n{err_text}[strace -c]\n{strace_text}",
            out.status
        )
    };
    assert_eq!(out.status.code(), Some(0), "{}", dump());
    let mine = parse_summary_table(&tracer_text).unwrap_or_else(|e| panic!("tracer table: {e}\n{}", dump()));
    let diff = summary_diff(&mine, &oracle);
    assert!(
        diff.is_empty(),
        "calls/errors differ from strace -c -f (tracer vs strace):\n{}\n{}",
        diff.join("\n"),
        dump()
    );

    // -c --json: the summary object carries the same numbers.
    let args = with_workload(&["-c", "--json"], &actions);
    let out = run_tracer(&args, dl);
    let dump = || format!("{}\n[strace -c]\n{strace_text}", out.dump());
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &dump);
    assert!(of_type(&events, "syscall").is_empty(), "-c prints no per-call events\n{}", dump());
    let summaries = of_type(&events, "summary");
    assert_eq!(summaries.len(), 1, "one summary object\n{}", dump());
    let rows = field(summaries[0], "rows").as_array().unwrap_or_else(|| panic!("rows is not an array\n{}", dump()));
    let mut json_rows = BTreeMap::new();
    for row in rows {
        let name = str_field(row, "name").to_string();
        u64_field(row, "total_ns");
        let r = SummaryRow { calls: u64_field(row, "calls"), errors: u64_field(row, "errors") };
        assert!(json_rows.insert(name.clone(), r).is_none(), "{name} appears twice\n{}", dump());
    }
    assert_eq!(json_rows.get("getppid"), Some(&SummaryRow { calls: counts.getppid as u64, errors: 0 }), "{}", dump());
    assert_eq!(json_rows.get("write"), Some(&SummaryRow { calls: counts.writes as u64, errors: 0 }), "{}", dump());
    assert_eq!(json_rows.get("openat"), oracle.get("openat"), "openat as strace counts it\n{}", dump());
    assert!(json_rows["openat"].errors >= counts.failopen as u64, "{}", dump());
    let mut oracle_rows = oracle.clone();
    oracle_rows.remove("total");
    let diff = summary_diff(&json_rows, &oracle_rows);
    assert!(diff.is_empty(), "JSON summary differs from strace -c -f:\n{}\n{}", diff.join("\n"), dump());
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------------------
// 6. filters

fn filter_counts() -> Counts {
    Counts { getppid: 31, writes: 23, failopen: 19 }
}

fn run_filtered(opts: &[&str], path: &str, dl: Deadline) -> (Output, Vec<Value>) {
    let args = with_workload(&[&["--json"], opts].concat(), &filter_counts().actions(path));
    let out = run_tracer(&args, dl);
    out.expect_code(0);
    out.expect_no_panic();
    let events = out.json();
    check_nothing_lost(&events, &|| out.dump());
    (out, events)
}

#[test]
fn filter_by_name() {
    let dl = Deadline::test();
    let path = missing_path("filter-name");
    let (out, events) = run_filtered(&["-e", "trace=getppid"], &path, dl);
    let syscalls = of_type(&events, "syscall");
    assert!(syscalls.iter().all(|e| e["name"] == "getppid"), "only getppid\n{}", out.dump());
    assert_eq!(syscalls.len(), filter_counts().getppid, "exactly N getppid\n{}", out.dump());
}

#[test]
fn filter_by_several_names() {
    let dl = Deadline::test();
    let path = missing_path("filter-names");
    let (out, events) = run_filtered(&["-e", "trace=write,getppid"], &path, dl);
    let counts = count_json_calls(&events);
    let want = BTreeMap::from([
        ("getppid".to_string(), filter_counts().getppid as u64),
        ("write".to_string(), filter_counts().writes as u64),
    ]);
    assert_eq!(counts, want, "{}", out.dump());
}

#[test]
fn filter_by_class_file_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("filter-file");
    let path = missing_path("filter-file");
    let (out, events) = run_filtered(&["-e", "trace=%file"], &path, dl);
    let qpath = quoted(&path);
    let opens =
        calls(&events, "openat", None).into_iter().filter(|e| args_of(e).get(1) == Some(&qpath.as_str())).count();
    assert_eq!(opens, filter_counts().failopen, "the failing openat are file calls\n{}", out.dump());
    assert!(calls(&events, "getppid", None).is_empty(), "getppid is not a file call\n{}", out.dump());
    assert!(calls(&events, "write", None).is_empty(), "write is not a file call\n{}", out.dump());
    let strace =
        run_strace(&dir, "strace.txt", &["-f", "-e", "trace=%file"], &workload(), &filter_counts().actions(&path), dl);
    let diff = count_diff(&count_json_calls(&events), &count_text_calls(&strace));
    assert!(
        diff.is_empty(),
        "-e trace=%file differs from strace (tracer vs strace):\n{}\n{}\n[strace]\n{strace}",
        diff.join("\n"),
        out.dump()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn filter_negated() {
    let dl = Deadline::test();
    let path = missing_path("filter-neg");
    let (out, events) = run_filtered(&["-e", "trace=!getppid"], &path, dl);
    assert!(calls(&events, "getppid", None).is_empty(), "no getppid\n{}", out.dump());
    assert_eq!(calls(&events, "write", None).len(), filter_counts().writes, "{}", out.dump());
    let qpath = quoted(&path);
    let opens =
        calls(&events, "openat", None).into_iter().filter(|e| args_of(e).get(1) == Some(&qpath.as_str())).count();
    assert_eq!(opens, filter_counts().failopen, "{}", out.dump());
    assert_eq!(of_type(&events, "syscall")[0]["name"], "execve", "{}", out.dump());
}

#[test]
fn filter_failed_only_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("filter-failed");
    let path = missing_path("filter-failed");
    let (out, events) = run_filtered(&["-Z"], &path, dl);
    for e in of_type(&events, "syscall") {
        assert!(e["errno"].is_string(), "-Z shows failed calls only: {e}\n{}", out.dump());
        assert!(i64_field(e, "ret") < 0, "{e}");
    }
    let qpath = quoted(&path);
    let opens: Vec<&Value> =
        calls(&events, "openat", None).into_iter().filter(|e| args_of(e).get(1) == Some(&qpath.as_str())).collect();
    assert_eq!(opens.len(), filter_counts().failopen, "{}", out.dump());
    assert!(opens.iter().all(|e| e["errno"] == "ENOENT"));
    let strace = run_strace(&dir, "strace.txt", &["-f", "-Z"], &workload(), &filter_counts().actions(&path), dl);
    let diff = count_diff(&count_json_calls(&events), &count_text_calls(&strace));
    assert!(
        diff.is_empty(),
        "-Z differs from strace -Z (tracer vs strace):\n{}\n{}\n[strace]\n{strace}",
        diff.join("\n"),
        out.dump()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn filter_successful_only_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("filter-ok");
    let path = missing_path("filter-ok");
    let (out, events) = run_filtered(&["-z"], &path, dl);
    for e in of_type(&events, "syscall") {
        assert!(e["errno"].is_null(), "-z shows successful calls only: {e}\n{}", out.dump());
    }
    let qpath = quoted(&path);
    assert!(
        !calls(&events, "openat", None).iter().any(|e| args_of(e).get(1) == Some(&qpath.as_str())),
        "no failing openat\n{}",
        out.dump()
    );
    assert_eq!(calls(&events, "getppid", None).len(), filter_counts().getppid, "{}", out.dump());
    assert_eq!(calls(&events, "write", None).len(), filter_counts().writes, "{}", out.dump());
    let strace = run_strace(&dir, "strace.txt", &["-f", "-z"], &workload(), &filter_counts().actions(&path), dl);
    let diff = count_diff(&count_json_calls(&events), &count_text_calls(&strace));
    assert!(
        diff.is_empty(),
        "-z differs from strace -z (tracer vs strace):\n{}\n{}\n[strace]\n{strace}",
        diff.join("\n"),
        out.dump()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn filter_unknown_syscall_is_a_usage_error() {
    let dl = Deadline::test();
    let args = with_workload(&["-e", "trace=nosuchcall"], &["getppid".into(), "1".into()]);
    let out = run_tracer(&args, dl);
    out.expect_code(2);
    let err = out.stderr_text();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr\n{}", out.dump());
    assert!(lines[0].starts_with("tracer: "), "{}", out.dump());
    assert!(lines[0].contains("nosuchcall"), "names the bad syscall\n{}", out.dump());
    assert!(out.stdout.is_empty(), "nothing traced\n{}", out.dump());
}

// ---------------------------------------------------------------------------------------------------------
// 7. text mode

/// Runs tracer in text mode with `-o FILE`; returns the file's lines and the process output.
fn run_text(dir: &Path, name: &str, opts: &[&str], actions: &[String], dl: Deadline) -> (Vec<String>, Output) {
    let file = dir.join(name);
    let mut args: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    args.extend(["-o".to_string(), file.to_string_lossy().into_owned()]);
    let out = run_tracer(with_workload(&args.iter().map(String::as_str).collect::<Vec<_>>(), actions), dl);
    out.expect_no_panic();
    let lines = read_lines(&file);
    (lines, out)
}

fn show(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn text_output_like_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("text");
    let path = missing_path("text");
    let actions = vec!["failopen".to_string(), "3".to_string(), path.clone()];
    let expected = format!("openat(AT_FDCWD, \"{path}\", O_RDONLY) = -1 ENOENT (No such file or directory)");

    let (lines, out) = run_text(&dir, "plain.txt", &[], &actions, dl);
    out.expect_code(0);
    assert!(out.stdout.is_empty(), "events go to the -o file, not stdout\n{}", out.dump());
    let err = out.stderr_text();
    assert!(
        err.lines().any(|l| l.starts_with("tracer: ") && l.ends_with("ready")),
        "text mode says ready on stderr\n{}",
        out.dump()
    );
    let matching: Vec<&String> = lines.iter().filter(|l| l.contains(&path)).collect();
    assert_eq!(matching.len(), 3, "three openat lines\n{}", show(&lines));
    assert!(matching.iter().all(|l| **l == expected), "openat lines must be exactly {expected:?}\n{}", show(&lines));
    assert_eq!(lines.last().map(String::as_str), Some("+++ exited with 0 +++"), "{}", show(&lines));
    assert!(lines[0].starts_with("execve("), "the first line is the execve\n{}", show(&lines));
    assert!(!lines.iter().any(|l| l.starts_with("[pid")), "one process: no [pid N] prefixes\n{}", show(&lines));

    // -T: durations.
    let (lines, out) = run_text(&dir, "durations.txt", &["-T"], &actions, dl);
    out.expect_code(0);
    let matching: Vec<&String> = lines.iter().filter(|l| l.contains(&path)).collect();
    assert_eq!(matching.len(), 3, "{}", show(&lines));
    for l in &matching {
        let rest = l.strip_prefix(&format!("{expected} <")).unwrap_or_else(|| panic!("-T line {l:?}"));
        let secs = rest.strip_suffix('>').unwrap_or_else(|| panic!("-T line {l:?} must end in >"));
        let (whole, frac) = secs.split_once('.').unwrap_or_else(|| panic!("-T {secs:?}"));
        assert!(!whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()), "-T line {l:?}");
        assert!(frac.len() == 6 && frac.bytes().all(|b| b.is_ascii_digit()), "-T line {l:?}: 6 decimals");
        assert!(secs.parse::<f64>().unwrap() < 1.0, "a failing open takes well under a second: {l:?}");
    }

    // -tt: time of day with microseconds.
    let (lines, out) = run_text(&dir, "tt.txt", &["-tt"], &actions, dl);
    out.expect_code(0);
    let matching: Vec<&String> = lines.iter().filter(|l| l.contains(&path)).collect();
    assert_eq!(matching.len(), 3, "{}", show(&lines));
    for l in lines.iter().filter(|l| !l.starts_with("+++")) {
        let (stamp, rest) = l.split_once(' ').unwrap_or_else(|| panic!("-tt line {l:?}"));
        let b = stamp.as_bytes();
        let ok = b.len() == 15
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b'.'
            && [0, 1, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14].iter().all(|&i| b[i].is_ascii_digit());
        assert!(ok, "-tt prefix must be HH:MM:SS.micros: {l:?}");
        if l.contains(&path) {
            assert_eq!(rest, expected, "{l:?}");
        }
    }

    // -ttt: seconds since the epoch, near now.
    let (lines, out) = run_text(&dir, "ttt.txt", &["-ttt"], &actions, dl);
    out.expect_code(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let matching: Vec<&String> = lines.iter().filter(|l| l.contains(&path)).collect();
    assert_eq!(matching.len(), 3, "{}", show(&lines));
    for l in matching {
        let (stamp, rest) = l.split_once(' ').unwrap();
        assert_eq!(stamp.split_once('.').map(|(_, f)| f.len()), Some(6), "-ttt has microseconds: {l:?}");
        let t: f64 = stamp.parse().unwrap_or_else(|_| panic!("-ttt stamp {stamp:?}"));
        assert!((now - t).abs() < 60.0, "-ttt stamp {t} is not near now {now}");
        assert_eq!(rest, expected);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// rt_sigreturn, which returns into the code its signal interrupted with that code's registers (its own number
/// gone by its exit), shown as strace shows it with the mask it restored, in the raw path (plain, `-T`) and when
/// `-e trace=` names it (which takes the raw path too: its classic exit never fires).
#[test]
fn sigreturn_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("sigreturn");
    // SIGINT blocked, then two SIGUSR1 handled: each handler returns by rt_sigreturn, restoring the mask [INT].
    let actions: Vec<String> =
        ["block-signal", "2", "handle", "10", "raise", "10", "raise", "10"].map(String::from).into();
    let strace = run_strace(&dir, "strace.txt", &[], &workload(), &actions, dl);
    let expected = lines_of(&strace, "rt_sigreturn");
    assert_eq!(expected, vec!["rt_sigreturn({mask=[INT]}) = 0"; 2], "strace, the oracle:\n{strace}");
    for opts in [&[][..], &["-T"], &["-e", "trace=rt_sigreturn,tgkill"]] {
        let (lines, out) = run_text(&dir, "tracer.txt", opts, &actions, dl);
        out.expect_code(0);
        let got: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("rt_sigreturn("))
            .map(|l| l.split(" <").next().unwrap().to_string())
            .collect();
        assert_eq!(got, expected, "tracer {opts:?}\n{}", show(&lines));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A signal's line comes where strace puts it: when the target takes it, after the line of the call it
/// interrupted (here the kill that sent it to itself), before the handler's rt_sigreturn.
#[test]
fn signal_line_follows_the_call_it_interrupts_as_in_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("signal-order");
    let actions: Vec<String> = ["handle", "10", "kill", "self", "10"].map(String::from).into();
    let keep = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("kill(") || l.starts_with("--- SIGUSR1") || l.starts_with("rt_sigreturn("))
            .map(|l| l.split(" {").next().unwrap().split('(').next().unwrap().to_string())
            .collect()
    };
    let strace = run_strace(&dir, "strace.txt", &[], &workload(), &actions, dl);
    let expected = keep(&strace);
    assert_eq!(expected, ["kill", "--- SIGUSR1", "rt_sigreturn"], "strace, the oracle:\n{strace}");
    let (lines, out) = run_text(&dir, "tracer.txt", &[], &actions, dl);
    out.expect_code(0);
    assert_eq!(keep(&show(&lines)), expected, "{}", show(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A call whose argument registers are all zero is a call like any other (`getpid()`), not a record whose
/// arguments were lost.
#[test]
fn zeroed_argument_registers_are_a_real_call() {
    let dl = Deadline::test();
    let dir = scratch_dir("zeroed-registers");
    let actions = vec!["getpid-zeroed-registers".to_string()];
    let strace = run_strace(&dir, "strace.txt", &[], &workload(), &actions, dl);
    let expected: Vec<String> =
        lines_of(&strace, "getpid").iter().map(|l| l.split(" = ").next().unwrap().to_string()).collect();
    assert_eq!(expected, vec!["getpid()"], "strace, the oracle:\n{strace}");
    let (lines, out) = run_text(&dir, "tracer.txt", &[], &actions, dl);
    out.expect_code(0);
    let got: Vec<&str> =
        lines.iter().filter(|l| l.starts_with("getpid(")).map(|l| l.split(" = ").next().unwrap()).collect();
    assert_eq!(got, expected, "{}", show(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines of a trace for one syscall name, with strace's alignment padding before ` = ` removed.
fn lines_of(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}(")))
        .map(|l| match l.rsplit_once(" = ") {
            Some((call, ret)) => format!("{} = {ret}", call.trim_end()),
            None => l.to_string(),
        })
        .collect()
}

#[test]
fn text_string_limit_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("text-s");
    let n = 13;
    let actions = vec!["writes".to_string(), n.to_string()];
    for opts in [&["-s", "5"][..], &["-s", "0"][..], &["-s", "100"][..]] {
        let (lines, out) = run_text(&dir, "tracer.txt", opts, &actions, dl);
        out.expect_code(0);
        let strace_text = run_strace(&dir, "strace.txt", opts, &workload(), &actions, dl);
        let oracle = lines_of(&strace_text, "write");
        let mine = lines_of(&show(&lines), "write");
        assert_eq!(oracle.len(), n, "strace itself: {oracle:?}");
        assert_eq!(mine, oracle, "write lines with {opts:?} (tracer vs strace)\n{}", show(&lines));
    }
    // And the exact form the issue names.
    let (lines, _) = run_text(&dir, "tracer.txt", &["-s", "5"], &actions, dl);
    let writes = lines_of(&show(&lines), "write");
    assert_eq!(writes.len(), n);
    assert!(writes.iter().all(|l| l.ends_with(", \"hello\"..., 14) = 14")), "{}", show(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-y` on a short-lived fd: the workload opens /dev/null, writes and closes it at once. strace shows
/// `write(3</dev/null>, ...)` and `close(3</dev/null>)`; tracer saw the openat itself, so it knows the path.
#[test]
fn text_fd_paths_match_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("text-y");
    let n = 11;
    let actions = vec!["writes".to_string(), n.to_string()];
    let (lines, out) = run_text(&dir, "tracer.txt", &["-y"], &actions, dl);
    out.expect_code(0);
    let strace = run_strace(&dir, "strace.txt", &["-y"], &workload(), &actions, dl);
    let oracle = lines_of(&strace, "write");
    assert_eq!(oracle.len(), n, "strace itself: {oracle:?}");
    assert_eq!(lines_of(&show(&lines), "write"), oracle, "-y write lines (tracer vs strace)\n{}", show(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A buffer in a page the process never touched, written to /dev/null (which never reads it): the page is not
/// mapped, a probe cannot fault it in, so the buffer is shown by its address, never as made-up bytes; once the
/// process has read the page, the same write shows the string. strace (which reads through the page tables' owner)
/// shows the string both times: the one line where tracer says less, and says so.
#[test]
fn untouched_buffer_shown_by_address() {
    let dl = Deadline::test();
    let dir = scratch_dir("text-untouched");
    let data = dir.join("page");
    std::fs::write(&data, b"hello, mapped\n and more").unwrap();
    let actions = vec!["write-untouched".to_string(), data.to_string_lossy().into_owned()];
    let (lines, out) = run_text(&dir, "tracer.txt", &["-e", "trace=write"], &actions, dl);
    out.expect_code(0);
    let writes = lines_of(&show(&lines), "write");
    assert_eq!(writes.len(), 2, "{}", show(&lines));
    let (fd, rest) = writes[0].strip_prefix("write(").unwrap().split_once(", ").unwrap();
    let address = rest.strip_suffix(", 14) = 14").unwrap_or_else(|| panic!("first write: {}", writes[0]));
    assert!(address.starts_with("0x") && u64::from_str_radix(&address[2..], 16).is_ok(), "{}", writes[0]);
    assert_eq!(writes[1], format!("write({fd}, \"hello, mapped\\n\", 14) = 14"));

    let strace_text = run_strace(&dir, "strace.txt", &["-e", "trace=write"], &workload(), &actions, dl);
    let strace = lines_of(&strace_text, "write");
    assert_eq!(strace, vec![writes[1].clone(), writes[1].clone()], "strace reads the page itself");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines from the workload's `getppid` marker on, with strace's alignment padding before ` = ` removed.
fn lines_after_marker(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().rposition(|l| l.starts_with("getppid(")).map_or(lines.len(), |i| i + 1);
    lines[start..]
        .iter()
        .map(|l| match l.rsplit_once(" = ") {
            Some((call, ret)) => format!("{} = {ret}", call.trim_end()),
            None => l.to_string(),
        })
        .collect()
}

/// `-x`, `-xx`, `-v` against strace's own on the same workload: a file whose name holds UTF-8 and a control byte,
/// with binary contents, read, fstat'd, stat'd and statx'd; /dev/null stat'd (a device's st_rdev); text, UTF-8 and
/// binary writes. Every line after the workload's marker must be strace's, and the forms each option makes must be
/// there (a path in hex under -x, a plain path and text kept under -x and hexed under -xx, stat and statx whole).
#[test]
fn hex_strings_and_verbose_structs_match_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("text-xv");
    let path = dir.join("caf\u{e9}\u{1}.bin");
    let contents: Vec<u8> = (0u8..48).map(|i| if i % 3 == 0 { b'a' + i % 26 } else { i.wrapping_mul(37) }).collect();
    std::fs::write(&path, &contents).unwrap();
    // Times fixed before either run: a modification time in the past, an access time after it and within a day,
    // so that relatime leaves it as it is when the workload reads the file (both runs stat the same times).
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    let past = std::time::UNIX_EPOCH + Duration::from_secs(1_492_358_706);
    file.set_times(std::fs::FileTimes::new().set_modified(past).set_accessed(std::time::SystemTime::now())).unwrap();
    drop(file);
    let actions = vec!["bytes-stats".to_string(), path.to_string_lossy().into_owned()];
    let expected_lines = 13; // openat read newfstatat close newfstatat statx newfstatat openat write*3 close +++
    let mut compared = 0;
    // The calls of the workload's action (the runtime's own exit calls left out).
    let calls = "-e trace=getppid,openat,read,write,close,newfstatat,statx";
    // With -yy, the calls on fds compared: strace names AT_FDCWD's directory too (`AT_FDCWD</tmp>`), which tracer
    // does not, so openat is traced (tracer names an fd from the open it saw) but its lines are left out.
    let fd_calls = "-e trace=getppid,openat,read,write,close";
    let cases: [(&[&str], &str, usize); 5] = [
        (&["-x"], calls, expected_lines),
        (&["-xx"], calls, expected_lines),
        (&["-v"], calls, expected_lines),
        (&["-v", "-xx"], calls, expected_lines),
        (&["-yy", "-xx"], fd_calls, 7), // read close write*3 close +++
    ];
    for (opts, trace, expected_lines) in cases {
        let opts: Vec<&str> = opts.iter().copied().chain(trace.split(' ')).collect();
        let opts = &opts[..];
        let (lines, out) = run_text(&dir, "tracer.txt", opts, &actions, dl);
        out.expect_code(0);
        let strace = run_strace(&dir, "strace.txt", opts, &workload(), &actions, dl);
        let fd_lines_only = |lines: Vec<String>| match trace == fd_calls {
            true => lines.into_iter().filter(|l| !l.starts_with("openat(")).collect(),
            false => lines,
        };
        let oracle = fd_lines_only(lines_after_marker(&strace));
        assert_eq!(oracle.len(), expected_lines, "strace {opts:?} itself:\n{strace}");
        let mine = fd_lines_only(lines_after_marker(&show(&lines)));
        for (i, (m, o)) in mine.iter().zip(&oracle).enumerate() {
            assert_eq!(m, o, "line {i} with {opts:?} (tracer vs strace)\n{}", show(&lines));
        }
        assert_eq!(mine.len(), oracle.len(), "lines with {opts:?}\n{}[strace]\n{strace}", show(&lines));
        compared += mine.len();

        let joined = mine.join("\n");
        let hex_path = r#""\x2f"#; // a path starting with `/`, in hex
        let in_hex = |needle: &[u8]| needle.iter().map(|b| format!("\\x{b:02x}")).collect::<String>();
        match opts[..opts.len() - 2] {
            ["-x"] => {
                assert!(mine[0].starts_with(&format!("openat(AT_FDCWD, {hex_path}")), "{joined}");
                assert!(joined.contains("openat(AT_FDCWD, \"/dev/null\", O_WRONLY|O_CLOEXEC)"), "{joined}");
                assert!(joined.contains(r#"write(3, "plain\ttext \"q\" \\ end\n", 21)"#), "{joined}");
                assert!(joined.contains(&in_hex("caf\u{e9}".as_bytes())), "UTF-8 text in hex: {joined}");
                assert!(joined.contains(", ...}"), "structs abbreviated without -v: {joined}");
            }
            ["-yy", "-xx"] => {
                let null = format!("3<{}<char 1:3>>", in_hex(b"/dev/null"));
                assert!(joined.contains(&format!("write({null}, ")), "the path in hex, not -yy's text: {joined}");
            }
            ["-xx"] => {
                assert!(joined.contains(&in_hex(b"/dev/null")), "every path in hex: {joined}");
                assert!(joined.contains(&in_hex(b"plain\ttext")), "every string in hex: {joined}");
            }
            _ => {
                assert!(!joined.contains(", ...}"), "-v: no struct abbreviated: {joined}");
                assert!(joined.contains("st_rdev=makedev(0x1, 0x3), st_atime="), "{joined}");
                assert!(joined.contains("st_mtime=1492358706 /* "), "{joined}");
                assert!(joined.contains(", stx_mtime={tv_sec=1492358706, tv_nsec=0} /* "), "{joined}");
            }
        }
    }
    assert_eq!(compared, 4 * expected_lines + 7);

    // JSON keeps one form: the options change the text line only.
    let out = run_tracer(with_workload(&["--json", "-xx", "-v", "-e", "trace=statx,write"], &actions), dl);
    out.expect_code(0);
    let events = parse_json_lines(&out.stdout).unwrap();
    let calls = of_type(&events, "syscall");
    let statx: Vec<_> = calls.iter().filter(|c| c["name"] == "statx").collect();
    assert_eq!(statx.len(), 1, "{}", out.dump());
    assert_eq!(
        args_of(statx[0])[1],
        format!("\"{}\"", path.display()).replace('\u{1}', "\\1").replace('\u{e9}', "\\303\\251"),
        "{}",
        out.dump()
    );
    assert!(args_of(statx[0])[4].ends_with(", stx_size=48, ...}"), "{}", out.dump());
    let writes: Vec<_> = calls.iter().filter(|c| c["name"] == "write").map(|c| args_of(c)[1]).collect();
    assert_eq!(
        writes,
        [
            r#""plain\ttext \"q\" \\ end\n""#,
            r#""caf\303\251 \346\227\245\346\234\254""#,
            r#""\177ELF\2\1\0\0\377\3761""#
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-y` on descriptors that stay open: the blocked reads of an attached process show `N<pipe:[INODE]>`.
#[test]
fn fd_paths_of_open_fds() {
    let dl = Deadline::test();
    let mut cmd = Command::new(workload());
    cmd.arg("block-read").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let w = Proc::spawn("workload block-read", &mut cmd);
    let pid = w.pid();
    let tid = reader_tid(&w, dl);
    let fd = fd_from_proc_syscall(&wait_in_syscall(pid, tid, &[NR_READ], dl));
    let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
    let want = format!("{fd}<{}>", target.display());
    assert!(want.contains("pipe:["), "{want}");
    let args: Vec<String> = vec!["--json".into(), "-y".into(), "-p".into(), pid.to_string()];
    let t = start_tracer_json(&args, dl.within(Duration::from_secs(15)));
    let events = parse_json_lines(&t.out().bytes()).unwrap();
    let b = of_type(&events, "blocked")
        .into_iter()
        .find(|b| b["tid"] == tid)
        .unwrap_or_else(|| panic!("no blocked object for {tid}\n{}", t.dump()));
    assert_eq!(args_of(b)[0], want, "-y shows the pipe: {b}");
    drop(w);
    t.wait(dl.within(Duration::from_secs(10))).expect_no_panic();
}

// ---------------------------------------------------------------------------------------------------------
// 8. bad input

/// stderr lines that start with "tracer: ", without the text-mode ready line.
fn tracer_error_lines(out: &Output) -> Vec<String> {
    out.stderr_text()
        .lines()
        .filter(|l| l.starts_with("tracer: ") && !l.ends_with("ready"))
        .map(str::to_string)
        .collect()
}

#[test]
fn bad_input_no_such_pid() {
    let dl = Deadline::test();
    // A pid above pid_max, and a pid that just existed (a reaped child).
    let mut gone = Command::new("/bin/true").spawn().expect("spawn true");
    let reaped = gone.id();
    gone.wait().unwrap();
    for pid in [unused_pid(), reaped] {
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue; // reused already
        }
        let out = run_tracer(["-p", &pid.to_string()], dl);
        out.expect_code(1);
        let err = out.stderr_text();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr\n{}", out.dump());
        assert!(lines[0].starts_with("tracer: "), "{}", out.dump());
        assert!(lines[0].contains(&pid.to_string()), "mentions the pid\n{}", out.dump());
        assert!(out.stdout.is_empty(), "{}", out.dump());
    }
}

#[test]
fn bad_input_usage_errors() {
    let dl = Deadline::test();
    let out = run_tracer(Vec::<&str>::new(), dl);
    out.expect_code(2);
    assert!(!out.stderr.is_empty(), "says why\n{}", out.dump());
    let out = run_tracer(["-p", "abc"], dl);
    out.expect_code(2);
    assert!(out.stderr_text().contains("abc"), "names the bad pid\n{}", out.dump());
    let out = run_tracer(["--json", "-p", "abc"], dl);
    out.expect_code(2);
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_missing_command() {
    let dl = Deadline::test();
    for cmd in ["/nonexistent/cmd", "no-such-command-tracer-test"] {
        let out = run_tracer(["--", cmd], dl);
        out.expect_no_panic();
        assert!(!out.status.success(), "a missing command is an error\n{}", out.dump());
        let errors = tracer_error_lines(&out);
        assert_eq!(errors.len(), 1, "one tracer: line on stderr\n{}", out.dump());
        assert!(errors[0].contains(cmd), "the line names the command {cmd:?}\n{}", out.dump());
    }
}

// ---------------------------------------------------------------------------------------------------------
// 9. exit status

#[test]
fn exit_status_is_passed_through() {
    let dl = Deadline::test();
    let args = with_workload(&["--json"], &["getppid".into(), "2".into(), "exit".into(), "7".into()]);
    let out = run_tracer(&args, dl);
    let dump = || out.dump();
    out.expect_code(7);
    let events = out.json();
    let pid = u64_field(of_type(&events, "syscall")[0], "pid") as u32;
    let exit = exit_event(&events, pid, &dump);
    assert_eq!(exit["code"], 7, "{exit}");
    assert!(exit["signal"].is_null(), "{exit}");

    let dir = scratch_dir("exit");
    let (lines, out) = run_text(&dir, "t.txt", &[], &["exit".into(), "7".into()], dl);
    out.expect_code(7);
    assert_eq!(lines.last().map(String::as_str), Some("+++ exited with 7 +++"), "{}", show(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_command_is_reported() {
    let dl = Deadline::test();
    let dir = scratch_dir("killed");
    let file = dir.join("t.txt");
    let out = run_tracer(["-o", file.to_str().unwrap(), "--", "/bin/sh", "-c", "kill -KILL $$"], dl);
    out.expect_no_panic();
    // strace re-raises the signal; a shell reports 128+9. Either is the command's status.
    assert!(
        out.status.code() == Some(137) || out.status.signal() == Some(libc::SIGKILL),
        "tracer's status reflects SIGKILL\n{}",
        out.dump()
    );
    let lines = read_lines(&file);
    assert_eq!(lines.last().map(String::as_str), Some("+++ killed by SIGKILL +++"), "{}", show(&lines));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------------------
// 10. hostile names

/// The first argument of strace's execve line for `exe ARGS` (the path, quoted and escaped by strace).
fn strace_exec_path(dir: &Path, exe: &Path, args: &[&str], dl: Deadline) -> String {
    let file = dir.join("strace.txt");
    let mut cmd = Command::new(strace_bin());
    cmd.arg("-o").arg(&file).arg(exe).args(args);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    assert!(Proc::spawn("strace", &mut cmd).wait(dl).status.success());
    let text = String::from_utf8(std::fs::read(&file).unwrap()).expect("strace escapes everything");
    let first = text.lines().next().unwrap().to_string();
    first
        .strip_prefix("execve(")
        .and_then(|r| r.split_once(", [").map(|(p, _)| p.to_string()))
        .unwrap_or_else(|| panic!("strace execve line {first:?}"))
}

/// Copies `src` to `dir/name`, runs it under tracer (JSON, then text with -f) and checks that every JSON line
/// is valid, that the comm is `expect_comm` (when given), and that the execve path is escaped as strace
/// escapes it, with no raw control byte in the text output.
fn check_hostile_name(dir: &Path, src: &Path, name: &[u8], args: &[&str], expect_comm: Option<&[u8]>, dl: Deadline) {
    let exe: PathBuf = dir.join(std::ffi::OsStr::from_bytes(name));
    std::fs::copy(src, &exe).expect("copy executable");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let strace_path = strace_exec_path(dir, &exe, args, dl);

    let mut targs: Vec<std::ffi::OsString> = vec!["--json".into(), "--".into(), exe.clone().into()];
    targs.extend(args.iter().map(Into::into));
    let out = run_tracer(&targs, dl);
    let dump = || out.dump();
    out.expect_code(0);
    out.expect_no_panic();
    let events = out.json(); // every line valid UTF-8 JSON with "type" first
    let syscalls = of_type(&events, "syscall");
    assert_eq!(syscalls[0]["name"], "execve", "{}", dump());
    let pid = u64_field(syscalls[0], "pid") as u32;
    assert_eq!(args_of(syscalls[0])[0], strace_path, "execve path arg as strace shows it\n{}", dump());
    let comms: Vec<(Vec<u8>, String)> = syscalls
        .iter()
        .skip(1)
        .chain(of_type(&events, "exit").iter())
        .filter(|e| e["pid"] == pid)
        .map(|e| (name_bytes(e, "comm"), e.to_string()))
        .collect();

    let file = dir.join("t.txt");
    let mut targs: Vec<std::ffi::OsString> =
        vec!["-f".into(), "-o".into(), file.clone().into(), "--".into(), exe.into()];
    targs.extend(args.iter().map(Into::into));
    let out = run_tracer(&targs, dl);
    out.expect_code(0);
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes.iter().any(|&b| b >= 0x7f || (b < 0x20 && b != b'\n')),
        "raw control or non-ASCII bytes in text output:\n{}",
        String::from_utf8_lossy(&bytes)
    );
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().next().unwrap();
    let first = match first.split_once("] ") {
        Some((p, rest)) if p.starts_with("[pid") => rest,
        _ => first,
    };
    assert!(
        first.starts_with(&format!("execve({strace_path}, [")),
        "text execve line {first:?} must start like strace's: execve({strace_path}, [..."
    );
    // Last, so that the escaping checks above run whatever this says.
    if let Some(want) = expect_comm {
        assert!(!comms.is_empty());
        for (comm, e) in comms {
            assert_eq!(comm, want, "JSON comm (with comm_hex) must give the raw name back: {e}");
        }
    }
}

#[test]
fn hostile_name_with_control_characters() {
    let dl = Deadline::test();
    let dir = scratch_dir("hostile-ctl");
    // A newline and an escape: valid UTF-8, 10 bytes, so the comm is the whole name.
    let name = "evil\nname\x1b";
    check_hostile_name(&dir, &workload(), name.as_bytes(), &["getppid", "3"], Some(name.as_bytes()), dl);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bidi override (U+202E, "Trojan Source") in the program's name: octal in the text's execve path, as strace
/// shows it, never raw; JSON has the name itself.
#[test]
fn hostile_name_with_a_bidi_override() {
    let dl = Deadline::test();
    let dir = scratch_dir("hostile-bidi");
    let name = "evil\u{202e}gpj.exe";
    check_hostile_name(&dir, &workload(), name.as_bytes(), &["getppid", "3"], Some(name.as_bytes()), dl);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_name_with_invalid_utf8() {
    let dl = Deadline::test();
    let dir = scratch_dir("hostile-utf8");
    // A copy of /bin/true: the workload's std::env::args refuses a non-UTF-8 argv[0]. JSON's `comm` shows the
    // byte as `\xff` (as a name could spell it); `comm_hex` gives it back.
    let name = b"bad\xffname\n\x1b[2J";
    check_hostile_name(&dir, Path::new("/bin/true"), name, &[], Some(name), dl);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------------------
// 11. closed stdout

#[test]
fn closed_stdout_ends_quietly() {
    for json in [false, true] {
        let dl = Deadline::test();
        let mut opts = vec![];
        if json {
            opts.push("--json");
        }
        let args = with_workload(&opts, &["getppid".into(), "200000".into()]);
        let (mut t, stdout) = Proc::spawn_raw_stdout("tracer | head -1", &mut tracer(&args));
        // `head -1`: read one line, then close the pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // reader (the pipe) dropped here
        });
        let line = rx.recv_timeout(dl.remaining()).unwrap_or_else(|_| panic!("no first line\n{}", t.dump()));
        assert!(!line.is_empty(), "tracer printed nothing\n{}", t.dump());
        let Some(status) = t.try_wait_until(dl.within(Duration::from_secs(10))) else {
            panic!("tracer kept running after its stdout closed (json={json})\n{}", t.dump());
        };
        let err = t.err().text();
        assert!(!err.contains("panicked"), "tracer panicked (json={json})\n{}", t.dump());
        assert!(status.success(), "ends quietly with status 0 (json={json}): {status}\n{}", t.dump());
        assert!(
            !err.lines().any(|l| l.starts_with("tracer: ") && !l.ends_with("ready")),
            "a closed stdout is not an error to report (json={json})\n{}",
            t.dump()
        );
    }
}

/// A real full disk: `-o` on a 1 MiB tmpfs filled to the last page. Tracing goes on while writes fail; the
/// records that could not be written are counted (one line on stderr per streak of failures, not per record),
/// and writing resumes once space is freed: the records written plus those counted as dropped are exactly the
/// calls made. Before the fix: one line on stderr, exit 0, the probes gone, nothing after the failure.
#[test]
fn full_disk_drops_and_counts_records_and_resumes() {
    for json in [false, true] {
        let dl = Deadline::test();
        let dir = scratch_dir(&format!("full-disk-{json}"));
        let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tracer-test"]).arg(&dir).status();
        assert!(mounted.is_ok_and(|s| s.success()), "mount a 1 MiB tmpfs on {}", dir.display());
        let filler = dir.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let page = [0u8; 4096];
        let full = loop {
            if let Err(err) = std::io::Write::write_all(&mut file, &page) {
                break err;
            }
        };
        assert_eq!(full.raw_os_error(), Some(libc::ENOSPC), "the tmpfs is full: {full}");
        drop(file);
        let out_path = dir.join("trace");
        let mut opts = vec!["-e", "trace=getppid", "-o", out_path.to_str().unwrap()];
        if json {
            opts.push("--json");
        }
        // `storm` prints when its 5000 getppid calls are done (to tracer's stdout, which it inherits).
        let actions: Vec<String> = ["storm", "5000", "sleep", "3000", "getppid", "7"].map(String::from).to_vec();
        let t = Proc::spawn("tracer -o FULL", &mut tracer(with_workload(&opts, &actions)));
        let failed = t.err().wait_for(dl, |l| l.starts_with("tracer: writing events failed: No space left on device"));
        assert!(failed.is_some(), "no write error reported\n{}", t.dump());
        assert!(t.out().wait_for(dl, |l| l.starts_with("ns_per_call=")).is_some(), "{}", t.dump());
        // Space is freed once tracer has had the storm's records (more than its 64 KiB buffer holds) to write:
        // some are dropped. The workload sleeps 3 s before its last 7 calls, written once space is back.
        std::thread::sleep(Duration::from_millis(1000));
        std::fs::remove_file(&filler).unwrap();
        let out = t.wait(dl);
        let written = std::fs::read(&out_path).unwrap();
        let _ = Command::new("umount").arg(&dir).status();
        let _ = std::fs::remove_dir_all(&dir);
        out.expect_no_panic();
        out.expect_code(0);
        let err = out.stderr_text();
        let count = |prefix: &str| err.lines().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(count("tracer: writing events failed"), 1, "once per streak (json={json})\n{}", out.dump());
        let resumed: Vec<&str> = err.lines().filter(|l| l.starts_with("tracer: writing events works again")).collect();
        assert_eq!(resumed.len(), 1, "json={json}\n{}", out.dump());
        let dropped: u64 = resumed[0].split("; ").nth(1).and_then(|w| w.split(' ').next()).unwrap().parse().unwrap();
        assert!(dropped > 0, "{}", out.dump());
        assert!(
            err.contains(&format!("tracer: {dropped} records could not be written to the output")),
            "the total at the end (json={json})\n{}",
            out.dump()
        );
        let text = String::from_utf8(written).unwrap();
        assert!(text.ends_with('\n'), "whole lines only (json={json})");
        let lines: Vec<&str> = text.lines().collect();
        let calls = if json {
            let values: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
            assert_eq!(values.last().unwrap()["type"], "exit", "tracing went on to the exit");
            values.iter().filter(|v| v["type"] == "syscall" && v["name"] == "getppid").count()
        } else {
            assert_eq!(lines.last(), Some(&"+++ exited with 0 +++"), "tracing went on to the exit");
            let calls = lines.iter().filter(|l| l.starts_with("getppid() = ")).count();
            assert_eq!(calls + 1, lines.len(), "only whole getppid lines and the exit: {lines:?}");
            calls
        };
        assert_eq!(calls as u64 + dropped, 5007, "written + dropped = calls made (json={json})");
    }
}

// ---------------------------------------------------------------------------------------------------------
// 12. SIGINT / SIGTERM

fn signal_stops_with_summary(sig: libc::c_int, ignore_sigint: bool) {
    let dl = Deadline::test();
    let n = 37;
    let mut w = start_waiting_workload(&["getppid".into(), n.to_string(), "sleep".into(), "100000".into()], dl);
    let pid = w.pid();
    let mut cmd = tracer(["-c", "-p", &pid.to_string()]);
    if ignore_sigint {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    let t = start_tracer_text(&mut cmd, "tracer syscalls -c -p", dl.within(Duration::from_secs(15)));
    w.send("\n");
    // Wait until the getppid calls are done and the workload sleeps.
    wait_in_syscall(pid, pid, &[NR_NANOSLEEP, NR_CLOCK_NANOSLEEP], dl);
    std::thread::sleep(Duration::from_millis(100));
    t.signal(sig);
    let out = t.wait(dl.within(Duration::from_secs(10)));
    out.expect_no_panic();
    out.expect_code(0);
    let table =
        parse_summary_table(&out.stdout_text()).unwrap_or_else(|e| panic!("summary table: {e}\n{}", out.dump()));
    assert_eq!(table.get("getppid"), Some(&SummaryRow { calls: n as u64, errors: 0 }), "{}", out.dump());
    // Detached, not killed: the workload still sleeps.
    assert!(w.try_wait_until(Deadline::new(Duration::from_millis(200))).is_none(), "tracer took the workload down");
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let state = state.rsplit_once(") ").unwrap().1.chars().next().unwrap();
    assert!(state == 'S', "the workload is sleeping, not stopped: state {state}");
    w.kill();
}

#[test]
fn sigint_prints_summary() {
    signal_stops_with_summary(libc::SIGINT, false);
}

#[test]
fn sigterm_prints_summary() {
    signal_stops_with_summary(libc::SIGTERM, false);
}

#[test]
fn sigint_works_even_when_ignored_at_start() {
    signal_stops_with_summary(libc::SIGINT, true);
}

// ---------------------------------------------------------------------------------------------------------
// 11. named constants in arguments, against strace

/// `name` and the top-level arguments of a text trace line (`[pid N] ` or `N ` prefix allowed), and what follows
/// ` = `. Commas inside strings, arrays and structs do not split.
fn split_call(line: &str) -> Option<(String, Vec<String>, String)> {
    let line = line.strip_prefix("[pid").map_or(line, |r| r.split_once("] ").map_or(r, |(_, rest)| rest));
    let line = line.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
    let (name, rest) = line.split_once('(')?;
    let (args, ret) = rest.rsplit_once(" = ")?;
    let args = args.trim_end().strip_suffix(')')?;
    let (mut out, mut current, mut depth, mut quoted, mut escaped) = (Vec::new(), String::new(), 0, false, false);
    for c in args.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' | '{' | '(' if !quoted => depth += 1,
            ']' | '}' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut current).trim().to_string());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    Some((name.to_string(), out, ret.trim().to_string()))
}

fn first_call(text: &str, name: &str) -> Option<(Vec<String>, String)> {
    text.lines()
        .filter(|l| !l.contains("<unfinished") && !l.contains("resumed>"))
        .filter_map(split_call)
        .find(|(n, _, _)| n == name)
        .map(|(_, args, ret)| (args, ret))
}

#[test]
fn named_constants_match_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("constants");
    let python = "/usr/bin/python3";
    let script = "import socket,time,os; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
                  os.pipe2(os.O_CLOEXEC); time.sleep(0.01)";
    let mine_file = dir.join("tracer.txt");
    let file = mine_file.to_string_lossy();
    let out = run_tracer(["-f", "-o", &file, "--", python, "-c", script], dl);
    out.expect_no_panic();
    out.expect_code(0);
    let mine = std::fs::read_to_string(&mine_file).expect("tracer output");
    let strace_file = dir.join("strace.txt");
    let mut cmd = Command::new(strace_bin());
    cmd.arg("-f").arg("-o").arg(&strace_file).arg(python).arg("-c").arg(script);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    assert!(Proc::spawn("strace python3", &mut cmd).wait(dl).status.success());
    let strace = std::fs::read_to_string(&strace_file).expect("strace output");
    let _ = std::fs::remove_dir_all(&dir);

    let calls =
        ["socket", "setsockopt", "pipe2", "fcntl", "lseek", "prlimit64", "arch_prctl", "clock_nanosleep", "ioctl"];
    for name in calls {
        let (Some((my_args, my_ret)), Some((their_args, their_ret))) =
            (first_call(&mine, name), first_call(&strace, name))
        else {
            panic!("{name} missing from a trace\n--- tracer\n{mine}\n--- strace\n{strace}");
        };
        assert_eq!(my_args.len(), their_args.len(), "{name}: {my_args:?} vs strace {their_args:?}");
        let mut named = 0;
        for (a, b) in my_args.iter().zip(&their_args) {
            // Structs and arrays behind pointers ({tv_sec=...}, [4, 5]) are compared in `structs_match_strace`.
            if b.starts_with(['{', '[']) || a.starts_with("0x") && b.starts_with("0x") {
                continue;
            }
            assert_eq!(a, b, "{name}: {my_args:?} vs strace {their_args:?}");
            named += usize::from(a.contains(|c: char| c.is_ascii_uppercase()));
        }
        assert!(named > 0, "{name}: no named constant compared: {my_args:?} vs strace {their_args:?}");
        if matches!(name, "ioctl" | "fcntl") {
            assert_eq!(my_ret, their_ret, "{name}'s result (ioctl: an errno and its text; fcntl: FD_CLOEXEC)");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// 12. structs behind pointers, against strace

/// The arguments of the first `name` call whose arguments mention `needle`.
fn call_mentioning(text: &str, name: &str, needle: &str) -> Option<Vec<String>> {
    text.lines()
        .filter(|l| !l.contains("<unfinished") && !l.contains("resumed>"))
        .filter_map(split_call)
        .find(|(n, args, _)| n == name && args.iter().any(|a| a.contains(needle)))
        .map(|(_, args, _)| args)
}

/// Each run of digits replaced by one `N`: for values that differ between two runs (absolute clocks, ephemeral
/// ports).
fn without_digits(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('N') {
            out.push('N');
        }
    }
    out
}

#[test]
fn structs_match_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("structs");
    let data = dir.join("data.txt");
    std::fs::write(&data, "x".repeat(37203)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o640)).unwrap();
    let python = "/usr/bin/python3";
    let script = format!(
        "import os,time,socket,resource; os.pipe2(os.O_CLOEXEC); time.sleep(0.01); os.stat({:?}); \
         s=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); c=socket.socket(); c.connect(s.getsockname()); s.accept(); \
         resource.getrlimit(resource.RLIMIT_NOFILE)",
        data.to_str().unwrap()
    );
    let mine_file = dir.join("tracer.txt");
    let file = mine_file.to_string_lossy();
    let out = run_tracer(["-f", "-o", &file, "--", python, "-c", &script], dl);
    out.expect_no_panic();
    out.expect_code(0);
    let mine = std::fs::read_to_string(&mine_file).expect("tracer output");
    let strace_file = dir.join("strace.txt");
    let mut cmd = Command::new(strace_bin());
    cmd.arg("-f").arg("-o").arg(&strace_file).arg(python).arg("-c").arg(&script);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    assert!(Proc::spawn("strace python3", &mut cmd).wait(dl).status.success());
    let strace = std::fs::read_to_string(&strace_file).expect("strace output");
    let path = data.to_string_lossy().into_owned();
    let _ = std::fs::remove_dir_all(&dir);

    // (call, a string its arguments contain, which argument, whether it differs between runs)
    let checks = [
        ("pipe2", "O_CLOEXEC", 0, false),
        ("clock_nanosleep", "tv_nsec", 2, true),
        ("newfstatat", path.as_str(), 2, false),
        ("bind", "AF_INET", 1, false),
        ("connect", "AF_INET", 1, true),
        ("accept4", "AF_INET", 1, true),
        ("getsockname", "AF_INET", 1, true),
        ("prlimit64", "RLIMIT_NOFILE", 3, false),
    ];
    for (name, needle, arg, varies) in checks {
        let (Some(my_args), Some(their_args)) =
            (call_mentioning(&mine, name, needle), call_mentioning(&strace, name, needle))
        else {
            panic!("{name} with {needle:?} missing from a trace\n--- tracer\n{mine}\n--- strace\n{strace}");
        };
        let (a, b) = (&my_args[arg], &their_args[arg]);
        assert!(b.starts_with(['{', '[']), "{name}: strace shows a struct: {their_args:?}");
        if varies {
            assert_eq!(without_digits(a), without_digits(b), "{name}: {my_args:?} vs strace {their_args:?}");
        } else {
            assert_eq!(a, b, "{name}: {my_args:?} vs strace {their_args:?}");
        }
    }
    assert!(
        call_mentioning(&mine, "newfstatat", &path)
            .is_some_and(|a| a[2] == "{st_mode=S_IFREG|0640, st_size=37203, ...}"),
        "the exact stat text\n{mine}"
    );
}

// ---------------------------------------------------------------------------------------------------------
// 13. strace's own test programs found these (issue 15): each fails without its fix

/// Traces `python3 -c SCRIPT` with `-f` under tracer (with `extra` options) and under strace; both texts.
fn python_under_both(name: &str, script: &str, extra: &[&str], dl: Deadline) -> (String, String) {
    let dir = scratch_dir(name);
    let python = "/usr/bin/python3";
    let mine_file = dir.join("tracer.txt");
    let file = mine_file.to_string_lossy().into_owned();
    let mut args: Vec<&str> = vec!["-f", "-o", &file];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", python, "-c", script]);
    let out = run_tracer(&args, dl);
    out.expect_no_panic();
    out.expect_code(0);
    let mine = std::fs::read_to_string(&mine_file).expect("tracer output");
    let strace_file = dir.join("strace.txt");
    let mut cmd = Command::new(strace_bin());
    cmd.arg("-f").arg("-o").arg(&strace_file).args(extra).arg(python).arg("-c").arg(script);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    assert!(Proc::spawn("strace python3", &mut cmd).wait(dl).status.success());
    let strace = std::fs::read_to_string(&strace_file).expect("strace output");
    let _ = std::fs::remove_dir_all(&dir);
    (mine, strace)
}

/// The lines of `text` that hold `needle`, without the pid prefix and strace's column padding.
fn lines_with(text: &str, needle: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(|l| {
            let l = l.strip_prefix("[pid").map_or(l, |r| r.split_once("] ").map_or(r, |(_, rest)| rest));
            let l = l.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
            match l.rsplit_once(" = ") {
                Some((call, ret)) => format!("{} = {ret}", call.trim_end()),
                None => l.to_string(),
            }
        })
        .collect()
}

/// exit_group and exit are shown (they never return: `= ?`), a fork's child does not show the parent's clone a
/// second time (`clone() = 0`), 32-bit arguments are read from the lower half of their register (umask's
/// mode_t, chown's `-1`), getrandom's bytes in hex, and all-zero arguments are arguments (`mmap(NULL, 0, ...)`),
/// each line as strace prints it.
#[test]
fn strace_test_suite_findings_match_strace() {
    let dl = Deadline::test();
    let script = "import ctypes, os\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        libc.syscall(95, ctypes.c_long(0x7fffffff00000012))\n\
        libc.syscall(95, ctypes.c_long(0o22))\n\
        open('/tmp/tracer-issue15-chown', 'w').close()\n\
        os.chown('/tmp/tracer-issue15-chown', -1, 0)\n\
        os.unlink('/tmp/tracer-issue15-chown')\n\
        os.getrandom(4)\n\
        libc.syscall(9, *[ctypes.c_long(0)] * 6)\n\
        pid = os.fork()\n\
        if pid == 0:\n    os._exit(3)\n\
        os.waitpid(pid, 0)\n";
    let (mine, strace) = python_under_both("issue15", script, &[], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    for needle in ["umask(", "chown(\"/tmp/tracer-issue15-chown\"", "exit_group(3)", "exit_group(0)"] {
        let (a, b) = (lines_with(&mine, needle), lines_with(&strace, needle));
        assert!(!b.is_empty(), "strace shows {needle}\n{}", dump());
        assert_eq!(a, b, "{needle}\n{}", dump());
    }
    // The bytes differ run to run; their quoting does not.
    let random = |text: &str| {
        lines_with(text, "getrandom(")
            .into_iter()
            .filter(|l| l.ends_with(", 4, 0) = 4"))
            .map(|l| (l.len(), l.matches("\\x").count()))
            .collect::<Vec<_>>()
    };
    assert_eq!(random(&mine), vec![(39, 4)], "getrandom in hex\n{}", dump());
    assert_eq!(random(&mine), random(&strace), "{}", dump());
    let clones = |text: &str| lines_with(text, "clone(").len();
    assert_eq!((clones(&mine), clones(&strace)), (1, 1), "one clone, the parent's\n{}", dump());

    // `-e trace=`: calls through their own tracepoints, whose exit records hold no arguments; an all-zero
    // argument list is a call's own, not a sign that its enter was missed.
    let (mine, strace) = python_under_both("issue15-one", script, &["-e", "trace=mmap,exit_group"], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    // Known gap (issue 15, noted): the all-zero mmap through sys_exit_one still shows `<unavailable>` here, as the
    // kernel's flag for it was refused by 5.10's verifier; exit_group through its own tracepoint is exact.
    assert_eq!(lines_with(&mine, "exit_group(3)"), lines_with(&strace, "exit_group(3)"), "{}", dump());

    // `-c` counts the clone once; exit_group, which never returns, not at all (as strace -c).
    let out = run_tracer(["-c", "-f", "--json", "--", "/usr/bin/python3", "-c", script], dl);
    out.expect_code(0);
    let events = parse_json_lines(&out.stdout).expect("JSON");
    let summary = events.iter().find(|e| e["type"] == "summary").expect("summary");
    let calls = |name: &str| {
        summary["rows"].as_array().unwrap().iter().find(|r| r["name"] == name).map(|r| r["calls"].as_u64().unwrap())
    };
    assert_eq!((calls("clone"), calls("exit_group")), (Some(1), None), "{summary}");
}

/// Signal sets, sigactions and wait statuses are shown as strace shows them, line for line (addresses aside,
/// which differ run to run): `rt_sigprocmask(SIG_BLOCK, [USR1 TERM], [], 8)`, `~[KILL STOP RTMIN RT_1]`,
/// `rt_sigaction(SIGUSR1, {sa_handler=0x..., sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_SIGINFO, ...}, ...)`,
/// `wait4(PID, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL)`, `[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]`.
/// Before: every one of these was an address.
#[test]
fn signal_sets_sigactions_and_wait_statuses_match_strace() {
    let dl = Deadline::test();
    let script = "import os, signal, time\n\
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})\n\
        signal.pthread_sigmask(signal.SIG_SETMASK, set(signal.valid_signals()) - {signal.SIGHUP})\n\
        signal.pthread_sigmask(signal.SIG_SETMASK, set())\n\
        signal.sigpending()\n\
        signal.signal(signal.SIGUSR1, lambda *a: None)\n\
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)\n\
        signal.signal(signal.SIGUSR2, signal.SIG_DFL)\n\
        pid = os.fork()\n\
        if pid == 0:\n    os._exit(3)\n\
        time.sleep(0.3)\n\
        os.waitpid(pid, 0)\n\
        pid = os.fork()\n\
        if pid == 0:\n    os.kill(os.getpid(), signal.SIGKILL)\n\
        time.sleep(0.3)\n\
        os.waitpid(pid, 0)\n";
    let extra = ["-e", "trace=rt_sigprocmask,rt_sigaction,rt_sigpending,wait4"];
    let (mine, strace) = python_under_both("sigsets", script, &extra, dl);
    // Addresses (handlers, restorers, stack buffers) and child pids differ between the two runs.
    let normal = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                let out = without_addresses(&l);
                match out.split_once("wait4(") {
                    Some((head, tail)) => {
                        let tail = tail.split_once(", ").map_or(tail, |(_, t)| t);
                        let tail = tail.rsplit_once(" = ").map_or(tail.to_string(), |(t, _)| format!("{t} = PID"));
                        format!("{head}wait4(PID, {tail}")
                    }
                    None => out,
                }
            })
            .collect()
    };
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    for needle in [
        "rt_sigprocmask(SIG_BLOCK, [USR1 TERM]",
        "rt_sigprocmask(SIG_SETMASK",
        "rt_sigpending(",
        "rt_sigaction(SIGUSR",
        "wait4(",
    ] {
        let (a, b) = (normal(lines_with(&mine, needle)), normal(lines_with(&strace, needle)));
        assert!(!b.is_empty(), "strace shows {needle}\n{}", dump());
        assert_eq!(a, b, "{needle}\n{}", dump());
    }
    let waits = normal(lines_with(&mine, "wait4("));
    assert_eq!(
        waits,
        [
            "wait4(PID, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = PID",
            "wait4(PID, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = PID"
        ],
        "{}",
        dump()
    );
    assert!(
        mine.contains("~[HUP]") || mine.contains("~[HUP "),
        "a set of all but a few is their complement\n{}",
        dump()
    );
}

/// The `--- SIG... ---` lines are strace's, field for field and line for line: the siginfo's union is read in the
/// kernel at the signal. A shell's `kill -HUP $$` (SI_USER: si_pid, si_uid); a child's exit (CLD_EXITED: si_status
/// and times), a child killed by SIGKILL (CLD_KILLED, si_status=SIGKILL: the SIGKILL itself is no line, strace
/// never sees it), sigqueue's value from a process that became nobody (SI_QUEUE: si_uid=65534, si_int, si_ptr), a
/// write through a null pointer (SEGV_MAPERR, si_addr=NULL) and the shell's SIGCHLD for it (si_status=SIGSEGV);
/// a broken pipe's SIGPIPE (no siginfo: SI_USER from the writer), a POSIX timer's (SI_TIMER) and an itimer's
/// (SI_KERNEL) SIGALRM; seccomp's SIGSYS (si_errno, si_call_addr, si_syscall, si_arch).
/// The workload ignores SIGCHLD (its default): strace still sees those, as the kernel keeps ignored signals for a
/// traced task. Only pids, CPU times and the trapped call's address differ between the runs. Before:
/// `{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N}`, no SIGCHLD the workload ignored, and a `--- SIGKILL` line.
#[test]
fn signal_lines_match_strace_field_for_field() {
    let dl = Deadline::test();
    let dir = scratch_dir("siginfo");
    let script = format!(
        "trap 'echo got' HUP; kill -HUP $$; {wl} fork 1 fork-killed drop-privileges handle 10 sigqueue self 10 \
         segv-write-null; {wl} sigpipe; {wl} posix-timer 20; {wl} itimer 20; {wl} seccomp-trap; exit 0",
        wl = workload().display()
    );
    let mine_file = dir.join("tracer.txt");
    let file = mine_file.to_string_lossy().into_owned();
    let out = run_tracer(["-f", "-o", &file, "-e", "trace=none", "--", "/bin/bash", "-c", &script], dl);
    out.expect_no_panic();
    out.expect_code(0);
    let mine = std::fs::read_to_string(&mine_file).expect("tracer output");
    let args = ["-c".to_string(), script.clone()];
    let strace = run_strace(&dir, "strace.txt", &["-f", "-e", "trace=none"], Path::new("/bin/bash"), &args, dl);
    let _ = std::fs::remove_dir_all(&dir);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");

    // The sender and child pids are real: the shell's own, the workload's, and each child that ended.
    let mut ended = Vec::new();
    for line in mine.lines() {
        let Some((pid, rest)) = line.strip_prefix("[pid").and_then(|l| l.split_once("] ")) else { continue };
        let pid: u32 = pid.trim().parse().unwrap();
        if rest.starts_with("+++") {
            ended.push(pid);
        }
        if let Some(si_pid) = field_of(rest, "si_pid") {
            let si_pid: u32 = si_pid.parse().unwrap();
            let own = rest.contains("SI_USER") || rest.contains("SI_QUEUE");
            assert!(if own { si_pid == pid } else { ended.contains(&si_pid) }, "{line}\n{}", dump());
        }
    }
    let normal = |text: &str| -> Vec<String> {
        lines_with(text, "--- SIG")
            .iter()
            .map(|l| {
                let mut l = l.clone();
                for (name, by) in [("si_pid", "PID"), ("si_utime", "T"), ("si_stime", "T"), ("si_call_addr", "ADDR")] {
                    if let Some(value) = field_of(&l, name) {
                        l = l.replacen(&format!("{name}={value}"), &format!("{name}={by}"), 1);
                    }
                }
                l
            })
            .collect()
    };
    let expected = [
        "--- SIGHUP {si_signo=SIGHUP, si_code=SI_USER, si_pid=PID, si_uid=0} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=PID, si_uid=0, si_status=0, si_utime=T, si_stime=T} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=PID, si_uid=0, si_status=SIGKILL, si_utime=T, si_stime=T} ---",
        "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_QUEUE, si_pid=PID, si_uid=65534, si_int=42, si_ptr=0x2a} ---",
        "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=PID, si_uid=65534, si_status=SIGSEGV, si_utime=T, si_stime=T} ---",
        // Without a siginfo (SEND_SIG_NOINFO): the writer's own pid and uid, as the kernel fills them.
        "--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=PID, si_uid=0} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=PID, si_uid=0, si_status=SIGPIPE, si_utime=T, si_stime=T} ---",
        "--- SIGALRM {si_signo=SIGALRM, si_code=SI_TIMER, si_timerid=0, si_overrun=0, si_int=0, si_ptr=NULL} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=PID, si_uid=0, si_status=SIGALRM, si_utime=T, si_stime=T} ---",
        // The kernel's own (SEND_SIG_PRIV): nothing but the code.
        "--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=PID, si_uid=0, si_status=SIGALRM, si_utime=T, si_stime=T} ---",
        // seccomp's SIGSYS: si_errno from the filter's data, the trapped call and its arch.
        "--- SIGSYS {si_signo=SIGSYS, si_code=SYS_SECCOMP, si_errno=EPERM, si_call_addr=ADDR, si_syscall=__NR_getppid, si_arch=AUDIT_ARCH_X86_64} ---",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=PID, si_uid=0, si_status=SIGSYS, si_utime=T, si_stime=T} ---",
    ];
    assert_eq!(normal(&strace), expected, "strace, the oracle\n{}", dump());
    assert_eq!(normal(&mine), expected, "{}", dump());
}

/// The value of `name=` in a strace-style line, up to the next `, ` or `}`.
fn field_of<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = &line[line.find(&format!("{name}="))? + name.len() + 1..];
    Some(&rest[..rest.find([',', '}']).unwrap_or(rest.len())])
}

/// `l` with every address (`0x` and 8 hex digits or more) as `0xADDR`.
fn without_addresses(l: &str) -> String {
    let mut out = String::new();
    let mut rest = l;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at]);
        let hex = rest[at + 2..].bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(if hex >= 8 { "0xADDR" } else { &rest[at..at + 2 + hex] });
        rest = &rest[at + 2 + hex..];
    }
    out.push_str(rest);
    out
}

/// clone's arguments are named as strace names them (`child_stack=NULL, flags=...|SIGCHLD, child_tidptr=0x...`),
/// clone3's struct is shown with what the kernel wrote back (`=> {parent_tid=[TID]}`), and the child's own
/// return (0) is never a line, through the raw tracepoints and through the calls' own (`-e trace=`) alike.
/// Before: `clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, 0, NULL, 0x7f..., 0)`, `clone3(0x7ffe..., 88)`,
/// and `clone(<unavailable>) = 0` in the child under `-e trace=clone`.
#[test]
fn clone_and_clone3_are_named_as_strace_names_them() {
    let dl = Deadline::test();
    let script = "import os, threading, time\n\
        pid = os.fork()\n\
        if pid == 0:\n    os._exit(0)\n\
        time.sleep(0.3)\n\
        os.waitpid(pid, 0)\n\
        t = threading.Thread(target=lambda: None)\n\
        t.start()\n\
        t.join()\n";
    for extra in [&[][..], &["-e", "trace=clone,clone3"][..]] {
        let (mine, strace) = python_under_both("clones", script, extra, dl);
        let dump = || format!("--- tracer {extra:?}\n{mine}\n--- strace\n{strace}");
        // The returned tids differ between the runs; strace splits a call a new task interrupts.
        let normal = |text: &str, needle: &str| -> Vec<String> {
            lines_with(text, needle)
                .iter()
                .map(|l| {
                    let l = without_addresses(l);
                    let l = match l.split_once(" => {parent_tid=[") {
                        Some((head, tail)) => {
                            format!("{head} => {{parent_tid=[TID{}", &tail[tail.find(']').unwrap()..])
                        }
                        None => l,
                    };
                    match l.rsplit_once(" = ") {
                        Some((call, ret)) if ret.parse::<u32>().is_ok() => format!("{call} = TID"),
                        _ => l,
                    }
                })
                .collect()
        };
        let mine_clones = normal(&mine, "clone(");
        assert_eq!(
            mine_clones,
            [
                "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0xADDR) = TID"
            ],
            "{}",
            dump()
        );
        let strace_clone = strace_call(&strace, "clone");
        assert!(without_addresses(&strace_clone).contains(mine_clones[0].split(") = ").next().unwrap()), "{}", dump());
        let mine_clone3 = normal(&mine, "clone3(");
        assert_eq!(mine_clone3.len(), 1, "{}", dump());
        let strace_clone3 = strace_call(&strace, "clone3");
        let head = mine_clone3[0].split(" => ").next().unwrap();
        assert!(without_addresses(&strace_clone3).contains(head), "{head:?} in strace's\n{}", dump());
        assert!(mine_clone3[0].ends_with(" => {parent_tid=[TID]}, 88) = TID"), "{:?}\n{}", mine_clone3, dump());
    }
}

/// strace's first line of call `name`, joined back when strace split it because another task ran in between
/// (`clone(... <unfinished ...>` then `<... clone resumed>, ...) = 5`).
fn strace_call(strace: &str, name: &str) -> String {
    let lines: Vec<&str> = strace.lines().collect();
    let start = lines.iter().position(|l| l.contains(&format!(" {name}(")) || l.starts_with(&format!("{name}(")));
    let line = lines[start.unwrap_or_else(|| panic!("strace shows no {name}\n{strace}"))];
    let Some(head) = line.strip_suffix(" <unfinished ...>") else { return line.to_string() };
    let resumed = format!("<... {name} resumed>");
    let tail = lines.iter().find_map(|l| l.split_once(&resumed).map(|(_, tail)| tail));
    format!("{head}{}", tail.unwrap_or_else(|| panic!("strace never resumed {name}\n{strace}")))
}

/// futex as strace shows it: whole ops by strace's names (`FUTEX_FD|FUTEX_PRIVATE_FLAG`, `0x101 /* FUTEX_??? */`
/// for a clock flag on a wake), the waits' timeout struct (`{tv_sec=0, tv_nsec=1000000}`) and the requeues' count
/// in the same argument. Before: the timeout was an address and the ops were named piece by piece.
#[test]
fn futex_ops_and_timeouts_match_strace() {
    let dl = Deadline::test();
    let script = "import ctypes\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        L = ctypes.c_long\n\
        word = ctypes.c_uint(5)\n\
        other = ctypes.c_uint(0)\n\
        ts = (L * 2)(0, 1000000)\n\
        w = ctypes.addressof(word)\n\
        libc.syscall(L(202), L(w), L(0), L(6), ts, L(0), L(0))\n\
        libc.syscall(L(202), L(w), L(128), L(5), ts, L(0), L(0))\n\
        libc.syscall(L(202), L(w), L(393), L(5), ts, L(0), L(0xffffffff))\n\
        libc.syscall(L(202), L(w), L(0x101), L(1), L(0), L(0), L(0))\n\
        libc.syscall(L(202), L(w), L(130), L(1), L(0), L(0), L(0))\n\
        libc.syscall(L(202), L(w), L(3), L(1), L(7), L(ctypes.addressof(other)), L(0))\n\
        libc.syscall(L(202), L(w), L(5), L(1), L(0), L(ctypes.addressof(other)), L(0x5adbaee4))\n";
    let (mine, strace) = python_under_both("futex", script, &[], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    let normal = |lines: Vec<String>| lines.iter().map(|l| without_addresses(l)).collect::<Vec<_>>();
    for needle in [
        "FUTEX_WAIT, 6, {",
        "FUTEX_WAIT_PRIVATE, 5, {",
        "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 5",
        "0x101 /* FUTEX_??? */",
        "FUTEX_FD|FUTEX_PRIVATE_FLAG",
        "FUTEX_REQUEUE, 1, 7",
        "FUTEX_WAKE_OP, 1, 0",
    ] {
        let (a, b) = (normal(lines_with(&mine, needle)), normal(lines_with(&strace, needle)));
        assert_eq!(b.len(), 1, "strace shows {needle} once\n{}", dump());
        assert_eq!(a, b, "{needle}\n{}", dump());
    }
    assert!(mine.contains("{tv_sec=0, tv_nsec=1000000}) = -1 ETIMEDOUT"), "{}", dump());
}

/// exec's environment as strace shows it, `/* 38 vars */`, for the traced command's own exec, a child's execve
/// and execveat (`os.execve(fd, ...)`: fexecve), and a failed one: the same counts as strace. A successful exec's
/// environment pointer is gone with the old memory by its exit (the plain trace hooks no enter): `? /* 38 vars */`,
/// the count from the exec itself (`sched_process_exec`'s `bprm->envc`); a failed exec's is read at its exit,
/// `0x7ffd... /* 2 vars */` as strace shows it. Before: exec's own enter tracepoints kept the pointer, at a cost to
/// every syscall of every task (issue 15 item 3); before those, `...` for a successful exec.
#[test]
fn execve_environment_counted_as_strace_counts_it() {
    let dl = Deadline::test();
    let script = "import os\n\
        os.spawnv(os.P_WAIT, '/bin/true', ['true'])\n\
        pid = os.fork()\n\
        if pid == 0:\n    os.execve(os.open('/bin/true', os.O_RDONLY), ['true'], {'C': '3'})\n\
        os.waitpid(pid, 0)\n\
        try:\n    os.execve('/nonexistent-tracer-test', ['x'], {'A': '1', 'B': '2'})\n\
        except OSError:\n    pass\n";
    let (mine, strace) = python_under_both("execve-env", script, &[], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    // Each exec's environment and result, in order (strace's `<unfinished ...>` and `resumed` joined).
    let envs = |text: &str| {
        let mut held = BTreeMap::new();
        let mut out = Vec::new();
        for line in text.lines() {
            let (tid, rest) = match line.strip_prefix("[pid ") {
                Some(r) => r.split_once("] ").map_or((line, r), |(t, rest)| (t.trim(), rest)),
                None => line.split_once(' ').unwrap_or(("", line)),
            };
            // strace pads short pids (`3049  execve(`), tracer too (`[pid  3049] `).
            let rest = rest.trim_start();
            let line = match rest.strip_prefix("<... execve resumed>").or(rest.strip_prefix("<... execveat resumed>")) {
                Some(resumed) => held.remove(tid).unwrap_or_default() + resumed,
                None if rest.starts_with("execve") && rest.ends_with(" <unfinished ...>") => {
                    held.insert(tid, rest.trim_end_matches(" <unfinished ...>").to_string());
                    continue;
                }
                None if rest.starts_with("execve") => rest.to_string(),
                None => continue,
            };
            let line = without_addresses(&line);
            let (call, ret) = line.rsplit_once(" = ").unwrap_or((&line, ""));
            let call = call.trim_end().strip_suffix(')').unwrap_or(call);
            let env = call.split(", ").find(|a| a.contains(" var")).unwrap_or("no env").to_string();
            out.push((env, format!("= {}", ret.trim())));
        }
        out
    };
    let (a, b) = (envs(&mine), envs(&strace));
    assert_eq!(b.len(), 4, "python's, true's, the fexecve and the failed exec\n{}", dump());
    assert_eq!(a.len(), 4, "python's, true's, the fexecve and the failed exec\n{}", dump());
    let count = |env: &str| env.split_once(" /* ").map(|(_, c)| c.to_string());
    for (i, ((mine_env, mine_ret), (strace_env, strace_ret))) in a.iter().zip(&b).enumerate() {
        assert_eq!(mine_ret, strace_ret, "exec {i}\n{}", dump());
        assert_eq!(count(mine_env), count(strace_env), "exec {i}: the count\n{}", dump());
        assert!(count(mine_env).is_some_and(|c| c.ends_with(" */")), "exec {i}\n{}", dump());
    }
    // The pointers: unknown after a successful exec, the address (as strace's) after a failed one.
    for (env, _) in &a[..3] {
        assert!(env.starts_with("? /* "), "{a:?}\n{}", dump());
    }
    assert_eq!(a[3], ("0xADDR /* 2 vars */".to_string(), "= -1 ENOENT (No such file or directory)".to_string()));
    assert_eq!(a[3], b[3], "the failed exec's environment as strace shows it\n{}", dump());
    // strace's singular for one entry.
    assert_eq!(count(&a[2].0).as_deref(), Some("1 var */"), "the fexecve's {{'C': '3'}}\n{}", dump());
}

/// prctl, personality and kcmp as strace shows them: prctl's options by name with the arguments each takes
/// (`prctl(PR_SET_NAME, "tracer-x")`, `prctl(PR_GET_DUMPABLE) = 1 (SUID_DUMP_USER)`, an unknown one all in hex),
/// personality's domain and flags both ways (`= 0x40000 (PER_LINUX|ADDR_NO_RANDOMIZE)`), kcmp's types and the
/// indexes each takes. Before: every one of these was numbers.
#[test]
fn prctl_personality_and_kcmp_match_strace() {
    let dl = Deadline::test();
    let script = "import ctypes, os\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        L = ctypes.c_long\n\
        buf = ctypes.create_string_buffer(16)\n\
        libc.syscall(L(157), L(15), ctypes.c_char_p(b'tracer-x'), L(0), L(0), L(0))\n\
        libc.syscall(L(157), L(16), buf, L(0), L(0), L(0))\n\
        libc.syscall(L(157), L(3), L(0), L(0), L(0), L(0))\n\
        libc.syscall(L(157), L(1), L(9), L(0), L(0), L(0))\n\
        libc.syscall(L(157), L(0xdead), L(1), L(2), L(3), L(4))\n\
        libc.syscall(L(135), L(0xffffffff))\n\
        libc.syscall(L(135), L(0x0040000))\n\
        libc.syscall(L(135), L(0))\n\
        pid = os.getpid()\n\
        libc.syscall(L(312), L(pid), L(pid), L(0), L(2), L(2))\n\
        libc.syscall(L(312), L(pid), L(pid), L(1), L(0), L(0))\n\
        libc.syscall(L(312), L(pid), L(pid), L(9), L(0), L(0x1234))\n";
    let (mine, strace) = python_under_both("prctl", script, &[], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    // kcmp's pids differ between the two runs.
    let normal = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| match l.strip_prefix("kcmp(") {
                Some(rest) => {
                    let rest = rest.splitn(3, ", ").nth(2).unwrap_or("");
                    format!("kcmp(PID, PID, {rest}")
                }
                None => l,
            })
            .collect()
    };
    for (needle, count) in [("prctl(PR_", 4), ("prctl(0xdead", 1), ("personality(", 3), ("kcmp(", 3)] {
        let (a, b) = (normal(lines_with(&mine, needle)), normal(lines_with(&strace, needle)));
        assert_eq!(b.len(), count, "strace shows {needle} {count} times\n{}", dump());
        assert_eq!(a, b, "{needle}\n{}", dump());
    }
}

/// utimensat's times as strace shows them: the two timespecs with the local time each names, `UTIME_NOW` and
/// `UTIME_OMIT` by name, NULL for "now". Before: an address.
#[test]
fn utimensat_times_match_strace() {
    let dl = Deadline::test();
    let script = "import os\n\
        p = '/tmp/tracer-utimensat-test'\n\
        open(p, 'w').close()\n\
        os.utime(p, ns=(1492358706123456789, 1492356468000000000))\n\
        os.utime(p)\n\
        os.unlink(p)\n";
    let (mine, strace) = python_under_both("utimensat", script, &[], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    let (a, b) = (lines_with(&mine, "utimensat("), lines_with(&strace, "utimensat("));
    assert_eq!(b.len(), 2, "strace shows two utimensat\n{}", dump());
    assert_eq!(a, b, "{}", dump());
    assert!(a[0].contains("{tv_sec=1492358706, tv_nsec=123456789} /* 2017-04-16T"), "{}", dump());
}

/// System V IPC as strace shows it: keys (`IPC_PRIVATE`, hex), flags and modes (`IPC_CREAT|IPC_EXCL|0644`,
/// shmget's `21<<SHM_HUGE_SHIFT`), and the control commands by name (`msgctl(ID, IPC_RMID, NULL)`). Before: every
/// one of these was a decimal number.
#[test]
fn ipc_keys_flags_and_commands_match_strace() {
    let dl = Deadline::test();
    let script = "import ctypes\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        L = ctypes.c_long\n\
        m = libc.syscall(L(68), L(0), L(0o600))\n\
        libc.syscall(L(71), L(m), L(0), L(0))\n\
        s = libc.syscall(L(64), L(0), L(1), L(0o1000 | 0o600))\n\
        libc.syscall(L(66), L(s), L(0), L(0), L(0))\n\
        libc.syscall(L(29), L(0x7ace0123), L(4096), L(0o1000 | 0o2000 | 0o4000 | (21 << 26) | 0o644))\n\
        h = libc.syscall(L(29), L(0), L(1), L(0o600))\n\
        libc.syscall(L(31), L(h), L(0), L(0))\n";
    let (mine, strace) = python_under_both("ipc", script, &[], dl);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    // Identifiers differ between the two runs: a get's result and a ctl's first argument.
    let normal = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                if l.contains("ctl(") {
                    let (name, rest) = l.split_once('(').unwrap();
                    format!("{name}(ID, {}", rest.split_once(", ").map_or("", |(_, r)| r))
                } else {
                    match l.rsplit_once(" = ") {
                        Some((call, ret)) if !ret.starts_with('-') => format!("{call} = ID"),
                        _ => l,
                    }
                }
            })
            .collect()
    };
    for (needle, count) in
        [("msgget(", 1), ("msgctl(", 1), ("semget(", 1), ("semctl(", 1), ("shmget(", 2), ("shmctl(", 1)]
    {
        let (a, b) = (normal(lines_with(&mine, needle)), normal(lines_with(&strace, needle)));
        assert_eq!(b.len(), count, "strace shows {needle} {count} times\n{}", dump());
        assert_eq!(a, b, "{needle}\n{}", dump());
    }
    assert!(
        mine.contains("shmget(0x7ace0123, 4096, IPC_CREAT|IPC_EXCL|SHM_HUGETLB|21<<SHM_HUGE_SHIFT|0644)"),
        "{}",
        dump()
    );
}

/// statx's struct as strace abbreviates it (`{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0,
/// stx_mode=S_IFREG|0644, stx_size=3, ...}`), line for line with strace on `ls -la` of a file and a device.
/// Before: an address.
#[test]
fn statx_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("statx");
    let file = dir.join("data");
    std::fs::write(&file, "abc").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let file = file.to_string_lossy().into_owned();
    let mine_file = dir.join("tracer.txt");
    let out = run_tracer(["-o", &mine_file.to_string_lossy(), "--", "/bin/ls", "-la", &file, "/dev/null"], dl);
    out.expect_code(0);
    let mine = std::fs::read_to_string(&mine_file).expect("tracer output");
    let strace_file = dir.join("strace.txt");
    let mut cmd = Command::new(strace_bin());
    cmd.arg("-o").arg(&strace_file).args(["/bin/ls", "-la", &file, "/dev/null"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    assert!(Proc::spawn("strace ls", &mut cmd).wait(dl).status.success());
    let strace = std::fs::read_to_string(&strace_file).expect("strace output");
    let _ = std::fs::remove_dir_all(&dir);
    let dump = || format!("--- tracer\n{mine}\n--- strace\n{strace}");
    let (a, b) = (lines_with(&mine, "statx("), lines_with(&strace, "statx("));
    assert!(b.len() >= 2, "strace shows statx\n{}", dump());
    assert_eq!(a, b, "{}", dump());
    assert!(a.iter().any(|l| l.contains("stx_mode=S_IFREG|0640, stx_size=3, ...}")), "{}", dump());
}

/// Paths longer than the 255 bytes a capture slot holds are shown whole, as strace shows them: up to 4095 bytes
/// (`PATH_MAX - 1`) and `...` after a longer one. Failing opens of a missing file behind 300 and 4095 bytes of
/// slashes, and of 4096 and 5000 bytes (ENAMETOOLONG); with and without `-y` (another record kind), through the raw
/// tracepoints and through the call's own (`-e trace=`). strace is the oracle, line by line.
#[test]
fn long_paths_match_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("long-paths");
    let missing = missing_path("long-paths");
    let pad = |len: usize| format!("{}{missing}", "/".repeat(len - missing.len()));
    let mut actions = Vec::new();
    for len in [300, 4095, 4096, 5000] {
        actions.extend(["failopen".to_string(), "1".to_string(), pad(len)]);
    }
    for opts in [&[][..], &["-y", "-e", "trace=openat"][..]] {
        let (lines, out) = run_text(&dir, "tracer.txt", opts, &actions, dl);
        out.expect_code(0);
        let strace_text = run_strace(&dir, "strace.txt", opts, &workload(), &actions, dl);
        // From the path on: how `-y` shows AT_FDCWD is not this test's subject.
        let paths = |lines: Vec<String>| -> Vec<String> {
            lines.iter().filter_map(|l| l.split_once(", \"////").map(|(_, rest)| rest.to_string())).collect()
        };
        let oracle = paths(lines_of(&strace_text, "openat"));
        let mine = paths(lines_of(&show(&lines), "openat"));
        assert_eq!(oracle.len(), 4, "strace itself: {oracle:?}");
        assert!(oracle[1].len() > 4000 && oracle[3].contains("\"...,"), "strace's forms: {oracle:?}");
        assert_eq!(mine, oracle, "openat lines with {opts:?} (tracer vs strace)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// getcwd's buffer is a path to strace: shown whole (not cut at `-s`), without the NUL the kernel counts in its
/// return value, and read whole past the 255 bytes of a capture slot. A directory 40 bytes deep and one 600 bytes
/// deep; strace is the oracle, line by line.
#[test]
fn getcwd_matches_strace() {
    let dl = Deadline::test();
    let dir = scratch_dir("getcwd");
    let shallow = dir.join("cwd");
    let mut deep = dir.clone();
    for c in ['a', 'b', 'c'] {
        deep.push(c.to_string().repeat(200));
    }
    std::fs::create_dir_all(&shallow).unwrap();
    std::fs::create_dir_all(&deep).unwrap();
    let mut actions = Vec::new();
    for d in [&shallow, &deep] {
        actions.extend(["getcwd".to_string(), d.to_string_lossy().into_owned()]);
    }
    let (lines, out) = run_text(&dir, "tracer.txt", &[], &actions, dl);
    out.expect_code(0);
    let strace_text = run_strace(&dir, "strace.txt", &[], &workload(), &actions, dl);
    let oracle = lines_of(&strace_text, "getcwd");
    assert_eq!(oracle.len(), 2, "strace itself: {oracle:?}");
    assert!(oracle[1].contains(&"c".repeat(200)), "strace shows the deep one whole: {oracle:?}");
    assert_eq!(lines_of(&show(&lines), "getcwd"), oracle, "getcwd lines (tracer vs strace)");
    let _ = std::fs::remove_dir_all(&dir);
}
