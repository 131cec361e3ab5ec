//! End-to-end tests of `tracer signals`: real eBPF programs loaded and attached (run as root), real senders
//! (`/bin/kill`, the workload example) and real targets whose pids the tests know. The machine runs other things,
//! so every assertion is about the tests' own processes.
//!
//! Every test has a global deadline (`Deadline::test()`); children are killed when a test fails.

mod common;

use std::{
    os::unix::process::ExitStatusExt,
    process::{Command, Stdio},
    time::Duration,
};

use common::*;
use serde_json::Value;

/// Waits until tracer reports an object matching `pred` (the last one a test expects), stops it with SIGINT and
/// returns everything it printed.
fn finish(t: Proc, dl: Deadline, what: &str, pred: impl Fn(&Value) -> bool) -> (Output, Vec<Value>) {
    let found = t
        .out()
        .wait_for(dl.within(Duration::from_secs(10)), |l| serde_json::from_str::<Value>(l).is_ok_and(|v| pred(&v)));
    t.signal(libc::SIGINT);
    let out = t.wait(dl);
    assert!(found.is_some(), "tracer never reported {what}\n{}", out.dump());
    ended_cleanly(out)
}

/// Waits for tracer to end by itself (`-p` processes all gone).
fn wait_end(t: Proc, dl: Deadline) -> (Output, Vec<Value>) {
    ended_cleanly(t.wait(dl.within(Duration::from_secs(15))))
}

fn ended_cleanly(out: Output) -> (Output, Vec<Value>) {
    out.expect_no_panic();
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &|| out.dump());
    for e in &events {
        if e["type"] != "ready" && e["type"] != "lost" {
            check_ts(e);
        }
    }
    assert_eq!(of_type(&events, "ready").len(), 1, "one ready object\n{}", out.dump());
    (out, events)
}

fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null())
}

/// `/bin/sleep 30`, a target with every signal's default action; returned once its exec is complete.
fn sleeper() -> Proc {
    let p = Proc::spawn("sleep 30", quiet(Command::new("/bin/sleep").arg("30")));
    // spawn returns when exec has replaced the memory of the child, which gets its new name a little later.
    let dl = Deadline::new(Duration::from_secs(10));
    while std::fs::read_to_string(format!("/proc/{}/comm", p.pid())).ok().as_deref() != Some("sleep\n") {
        assert!(!dl.expired(), "sleep never got its name\n{}", p.dump());
        std::thread::sleep(Duration::from_millis(1));
    }
    p
}

/// Runs a command to its end: its pid and what it left.
fn run(name: &str, cmd: &mut Command, dl: Deadline) -> (u32, Output) {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let p = Proc::spawn(name, cmd);
    let pid = p.pid();
    (pid, p.wait(dl))
}

/// `/bin/kill -SIG PID` to its end; returns kill's pid.
fn kill(sig: &str, target: u32, dl: Deadline) -> u32 {
    let (pid, out) = run(
        &format!("kill -{sig} {target}"),
        Command::new("/bin/kill").arg(format!("-{sig}")).arg(target.to_string()),
        dl,
    );
    out.expect_code(0);
    pid
}

/// The workload example with ACTIONS, its stdout piped; waits until it printed `ready_line` (when given).
fn workload_proc(actions: &[&str], ready_line: Option<&str>, dl: Deadline) -> Proc {
    let mut cmd = Command::new(workload());
    cmd.args(actions).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let w = Proc::spawn(format!("workload {}", actions.join(" ")), &mut cmd);
    if let Some(line) = ready_line {
        wait_line(&w, line, dl);
    }
    w
}

fn wait_line(p: &Proc, line: &str, dl: Deadline) {
    if p.out().wait_for(dl.within(Duration::from_secs(10)), |l| l == line).is_none() {
        panic!("{} never printed {line:?}\n{}", p.name, p.dump());
    }
}

/// Runs the workload with ACTIONS to its end.
fn run_workload(actions: &[&str], dl: Deadline) -> (u32, Output) {
    run(&format!("workload {}", actions.join(" ")), Command::new(workload()).args(actions), dl)
}

fn typed<'a>(events: &'a [Value], ty: &str, pred: impl Fn(&Value) -> bool) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty && pred(e)).collect()
}

/// The single element of `items`.
fn one<'a>(items: Vec<&'a Value>, what: &str, out: &Output) -> &'a Value {
    assert_eq!(items.len(), 1, "expected exactly one {what}: {items:?}\n{}", out.dump());
    items[0]
}

/// Checks the fields every `signal` object has, with their JSON types.
fn check_signal_shape(e: &Value) {
    for key in ["signal", "origin", "result"] {
        str_field(e, key);
    }
    u64_field(e, "signo");
    assert!(field(e, "group").is_boolean(), "{e}");
    for key in ["sender_pid", "sender_tid", "sender_uid", "target_tid", "context_pid"] {
        assert!(field(e, key).is_null() || field(e, key).is_u64(), "{key}: {e}");
    }
    assert!(field(e, "target_pid").is_null() || field(e, "target_pid").is_i64(), "{e}");
    for key in ["code", "sender_comm", "target_comm", "action", "handler", "errno", "syscall", "context_comm"] {
        assert!(field(e, key).is_null() || field(e, key).is_string(), "{key}: {e}");
    }
}

/// The one signal `signo` generated for `target`.
fn signal_to<'a>(events: &'a [Value], target: u32, signo: i32, out: &Output) -> &'a Value {
    let e = one(
        typed(events, "signal", |e| e["target_pid"] == target && e["signo"] == signo),
        &format!("signal {signo} to {target}"),
        out,
    );
    check_signal_shape(e);
    e
}

/// Checks a signal a process sent: sender, target and how the kernel took it.
fn check_sent(e: &Value, sender: u32, sender_comm: &str, target: u32, target_comm: &str) {
    assert_eq!(e["origin"], "process", "{e}");
    assert_eq!(e["sender_pid"], sender, "{e}");
    assert_eq!(e["sender_tid"], sender, "{e}");
    assert_eq!(e["sender_comm"], sender_comm, "{e}");
    assert_eq!(e["sender_uid"], 0, "{e}");
    assert_eq!(e["target_pid"], target, "{e}");
    assert_eq!(e["target_tid"], target, "{e}");
    assert_eq!(e["target_comm"], target_comm, "{e}");
    assert!(e["context_pid"].is_null(), "{e}");
    assert!(e["errno"].is_null() && e["syscall"].is_null(), "{e}");
}

fn exit_of<'a>(events: &'a [Value], pid: u32, out: &Output) -> &'a Value {
    one(typed(events, "exit", |e| e["pid"] == pid), &format!("exit of {pid}"), out)
}

fn deliveries_of(events: &[Value], pid: u32) -> Vec<&Value> {
    typed(events, "delivery", |e| e["pid"] == pid)
}

fn mentions(e: &Value, pid: u32) -> bool {
    ["sender_pid", "target_pid", "pid", "context_pid"].iter().any(|k| e[*k] == pid)
}

// ---------------------------------------------------------------------------------------------------------

/// `kill -HUP` from a known pid to a known child: both pids, delivered; the kernel ends the child with SIGKILL
/// for the whole group, reported as the HUP it is; the exit names the sender; the child's SIGCHLD reaches us.
#[test]
fn kill_hup_from_a_known_sender() {
    let dl = Deadline::test();
    let t = start_json("signals", &["--sigchld"], dl);
    let mut target = sleeper();
    let tpid = target.pid();
    let kpid = kill("HUP", tpid, dl);
    let status = target.try_wait_until(dl).expect("sleep ends");
    assert_eq!(status.signal(), Some(libc::SIGHUP));
    let me = std::process::id();
    let (out, events) =
        finish(t, dl, "the SIGCHLD of the killed sleep", |e| e["signo"] == libc::SIGCHLD && e["sender_pid"] == tpid);

    let sig = signal_to(&events, tpid, libc::SIGHUP, &out);
    check_sent(sig, kpid, "kill", tpid, "sleep");
    assert_eq!(sig["signal"], "SIGHUP", "{sig}");
    assert_eq!(sig["code"], "SI_USER", "{sig}");
    assert_eq!(sig["result"], "delivered", "{sig}");
    assert_eq!(sig["action"], "terminate", "{sig}");
    assert_eq!(sig["group"], true, "{sig}");
    assert!(sig["handler"].is_null(), "{sig}");

    let delivery = one(deliveries_of(&events, tpid), "delivery", &out);
    assert_eq!(delivery["signal"], "SIGHUP", "the HUP that ended it is a HUP: {delivery}");
    assert_eq!(delivery["signo"], libc::SIGHUP, "{delivery}");
    assert_eq!(delivery["kernel_signal"], "SIGKILL", "{delivery}");
    assert_eq!(delivery["action"], "terminate", "{delivery}");
    assert_eq!(delivery["tid"], tpid, "{delivery}");
    assert_eq!(delivery["comm"], "sleep", "{delivery}");

    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["signal"], "SIGHUP", "{exit}");
    assert!(exit["code"].is_null(), "{exit}");
    assert_eq!(exit["core_dumped"], false, "{exit}");
    assert_eq!(exit["cause"], "SIGHUP", "{exit}");
    assert_eq!(exit["origin"], "process", "{exit}");
    assert_eq!(exit["sender_pid"], kpid, "who killed it: {exit}");
    assert_eq!(exit["sender_comm"], "kill", "{exit}");
    assert_eq!(exit["cause_ts_ns"], sig["ts_ns"], "{exit}");
    assert_eq!(exit["comm"], "sleep", "{exit}");

    // SIGCHLD is reported too: from the child that died, to us, who leave it at its default (ignore).
    let chld = one(
        typed(&events, "signal", |e| e["signo"] == libc::SIGCHLD && e["sender_pid"] == tpid),
        "SIGCHLD from the sleep",
        &out,
    );
    assert_eq!(chld["target_pid"], me, "{chld}");
    assert_eq!(chld["code"], "CLD_KILLED", "{chld}");
    assert_eq!(chld["origin"], "process", "{chld}");
    assert_eq!(chld["action"], "ignore", "{chld}");
    // Ignored, unless a thread of ours blocked signals then (glibc's posix_spawn does while it clones, and other
    // tests spawn in parallel): then queued, or merged with a SIGCHLD already pending.
    assert!(["ignored", "delivered", "already_pending"].contains(&str_field(chld, "result")), "{chld}");
}

#[test]
fn kill_9_and_the_exit_by_sigkill() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let mut target = sleeper();
    let tpid = target.pid();
    let kpid = kill("9", tpid, dl);
    assert_eq!(target.try_wait_until(dl).expect("sleep ends").signal(), Some(libc::SIGKILL));
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == tpid);

    let sig = signal_to(&events, tpid, libc::SIGKILL, &out);
    check_sent(sig, kpid, "kill", tpid, "sleep");
    assert_eq!(sig["signal"], "SIGKILL", "{sig}");
    assert_eq!(sig["result"], "delivered", "{sig}");
    assert_eq!(sig["action"], "terminate", "{sig}");
    let delivery = one(deliveries_of(&events, tpid), "delivery", &out);
    assert_eq!(delivery["signal"], "SIGKILL", "{delivery}");
    assert_eq!(delivery["action"], "terminate", "{delivery}");
    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["signal"], "SIGKILL", "{exit}");
    assert!(exit["code"].is_null(), "{exit}");
    assert_eq!(exit["sender_pid"], kpid, "{exit}");
    assert_eq!(exit["sender_comm"], "kill", "{exit}");
}

/// Every thread of a process ended by a fatal signal takes the kernel's SIGKILL: one delivery is reported, as the
/// signal that caused it.
#[test]
fn a_multithreaded_process_ends_once_by_the_signal_sent() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let mut target = workload_proc(&["block-read"], None, dl);
    let tpid = target.pid();
    let line = target.out().wait_for(dl.within(Duration::from_secs(10)), |l| l.starts_with("blocked tid="));
    let tid: u32 = line.and_then(|l| l["blocked tid=".len()..].parse().ok()).expect("the second thread's tid");
    assert_ne!(tid, tpid);
    let kpid = kill("HUP", tpid, dl);
    assert_eq!(target.try_wait_until(dl).expect("workload ends").signal(), Some(libc::SIGHUP));
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == tpid);

    let sig = signal_to(&events, tpid, libc::SIGHUP, &out);
    check_sent(sig, kpid, "kill", tpid, "workload");
    let delivery = one(deliveries_of(&events, tpid), "delivery for the whole process", &out);
    assert_eq!(delivery["signal"], "SIGHUP", "{delivery}");
    assert_eq!(delivery["kernel_signal"], "SIGKILL", "{delivery}");
    assert!(delivery["tid"] == tpid || delivery["tid"] == tid, "{delivery}");
    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["signal"], "SIGHUP", "{exit}");
    assert_eq!(exit["sender_pid"], kpid, "{exit}");
}

#[test]
fn segv_from_a_null_dereference_comes_from_the_kernel() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let (wpid, wout) = run_workload(&["segv"], dl);
    assert_eq!(wout.status.signal(), Some(libc::SIGSEGV), "{}", wout.dump());
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == wpid);

    let sig = signal_to(&events, wpid, libc::SIGSEGV, &out);
    assert_eq!(sig["signal"], "SIGSEGV", "{sig}");
    assert_eq!(sig["origin"], "kernel", "{sig}");
    assert!(sig["sender_pid"].is_null() && sig["sender_comm"].is_null() && sig["sender_uid"].is_null(), "{sig}");
    assert_eq!(sig["code"], "SEGV_MAPERR", "{sig}");
    assert_eq!(sig["reason"], "fault", "{sig}");
    assert_eq!(sig["context_pid"], wpid, "the faulting process was running: {sig}");
    assert_eq!(sig["context_comm"], "workload", "{sig}");
    assert_eq!(sig["target_tid"], wpid, "{sig}");
    assert_eq!(sig["group"], false, "a fault is for the faulting thread: {sig}");
    assert_eq!(sig["result"], "delivered", "{sig}");
    assert_eq!(sig["action"], "core", "{sig}");
    let delivery = one(deliveries_of(&events, wpid), "delivery", &out);
    assert_eq!(delivery["signal"], "SIGSEGV", "{delivery}");
    assert_eq!(delivery["code"], "SEGV_MAPERR", "{delivery}");
    assert_eq!(delivery["action"], "core", "{delivery}");
    assert!(delivery["kernel_signal"].is_null(), "{delivery}");
    let exit = exit_of(&events, wpid, &out);
    assert_eq!(exit["signal"], "SIGSEGV", "{exit}");
    assert_eq!(exit["core_dumped"], false, "RLIMIT_CORE is 0: {exit}");
    assert_eq!(exit["origin"], "kernel", "{exit}");
    assert!(exit["sender_pid"].is_null(), "{exit}");
}

#[test]
fn sigpipe_on_a_write_to_a_closed_pipe() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let (wpid, wout) = run_workload(&["sigpipe"], dl);
    assert_eq!(wout.status.signal(), Some(libc::SIGPIPE), "{}", wout.dump());
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == wpid);

    let sig = signal_to(&events, wpid, libc::SIGPIPE, &out);
    // The kernel sends it without a siginfo on behalf of the writer: it looks self-sent, it is the kernel's.
    assert_eq!(sig["signal"], "SIGPIPE", "{sig}");
    assert_eq!(sig["origin"], "kernel", "{sig}");
    assert_eq!(sig["reason"], "broken pipe", "{sig}");
    assert!(sig["sender_pid"].is_null(), "{sig}");
    assert_eq!(sig["context_pid"], wpid, "{sig}");
    assert_eq!(sig["result"], "delivered", "{sig}");
    assert_eq!(sig["action"], "terminate", "{sig}");
    let delivery = one(deliveries_of(&events, wpid), "delivery", &out);
    assert_eq!(delivery["signal"], "SIGPIPE", "{delivery}");
    assert_eq!(delivery["kernel_signal"], "SIGKILL", "{delivery}");
    let exit = exit_of(&events, wpid, &out);
    assert_eq!(exit["signal"], "SIGPIPE", "{exit}");
    assert_eq!(exit["origin"], "kernel", "{exit}");
}

/// A timer's SIGALRM is the kernel's, and says which timer: `setitimer`/`alarm` (`SI_KERNEL`, reason `timer`) and
/// `timer_create` (`SI_TIMER`, reason `POSIX timer`), in JSON and in text (`kernel (timer)`, also as the exit's
/// sender). Whoever was running when the timer fired is only its context, never its sender. Before: both were
/// plain `kernel`, the itimer's with nothing but `[SI_KERNEL]` to tell it from a terminal hangup.
#[test]
fn a_timers_sigalrm_is_the_kernels_and_names_the_timer() {
    let dl = Deadline::test();
    let dir = scratch_dir("signals-timers");
    let text_file = dir.join("signals.txt");
    let t = start_json("signals", &[], dl);
    let mut text_cmd = tracer_command("signals", &["-o", text_file.to_str().unwrap()]);
    let text = Proc::spawn("tracer signals -o", &mut text_cmd);
    if text.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.trim_end().ends_with("ready")).is_none() {
        panic!("tracer never printed its ready line on stderr\n{}", text.dump());
    }
    let (itimer, itimer_out) = run_workload(&["itimer", "30"], dl);
    let (posix, posix_out) = run_workload(&["posix-timer", "30"], dl);
    for out in [&itimer_out, &posix_out] {
        assert_eq!(out.status.signal(), Some(libc::SIGALRM), "{}", out.dump());
    }
    let (out, events) = finish(t, dl, "both exits", |e| e["type"] == "exit" && e["pid"] == posix);
    text.signal(libc::SIGINT);
    let text_out = text.wait(dl);
    text_out.expect_code(0);

    for (pid, code, reason) in [(itimer, "SI_KERNEL", "timer"), (posix, "SI_TIMER", "POSIX timer")] {
        let sig = signal_to(&events, pid, libc::SIGALRM, &out);
        check_signal_shape(sig);
        assert_eq!(sig["origin"], "kernel", "{sig}");
        assert_eq!(sig["reason"], reason, "{sig}");
        assert_eq!(sig["code"], code, "{sig}");
        assert!(sig["sender_pid"].is_null() && sig["sender_comm"].is_null() && sig["sender_uid"].is_null(), "{sig}");
        assert_eq!(sig["result"], "delivered", "{sig}");
        assert_eq!(sig["action"], "terminate", "{sig}");
        assert_eq!(sig["group"], true, "a timer signals the whole process: {sig}");
        let exit = exit_of(&events, pid, &out);
        assert_eq!(exit["signal"], "SIGALRM", "{exit}");
        assert_eq!(exit["origin"], "kernel", "{exit}");
        assert!(exit["sender_pid"].is_null(), "{exit}");
    }
    let lines = read_lines(&text_file);
    let show = || lines.join("\n");
    for (pid, reason, code) in [(itimer, "timer", "SI_KERNEL"), (posix, "POSIX timer", "SI_TIMER")] {
        let to = format!("{pid} (workload)");
        let from = format!("kernel ({reason})");
        let signal = format!("signal   SIGALRM   {from:<24} {to:<24} delivered (default: terminate) [{code}]");
        assert!(lines.iter().any(|l| l.get(16..) == Some(signal.as_str())), "{signal:?} in\n{}", show());
        let exit = format!("exit     SIGALRM   {from:<24} {to:<24} killed by SIGALRM");
        assert!(lines.iter().any(|l| l.get(16..) == Some(exit.as_str())), "{exit:?} in\n{}", show());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An nginx reload and stop as the operator makes them (Debian's nginx, 2 workers): `kill -HUP` of the master is
/// handled; the master tells its old workers to quit over its channel to them (a socketpair), not by a signal, so
/// no signal to a worker is reported (tracer invents none), and the master's own SIGIO from that channel is the
/// kernel's, for `I/O`. Then `kill -QUIT` of the master (a graceful stop) is handled, and the master's exit with 0
/// names that SIGQUIT and its sender.
#[test]
fn an_nginx_reload_and_graceful_stop_as_signals_sees_them() {
    let dl = Deadline::test();
    let nginx = Nginx::start((20_000 + (std::process::id() + 7) % 20_000) as u16, 2, 16, dl);
    let mpid = nginx.master.pid();
    let t = start_json("signals", &[], dl);
    let hup_sender = kill("HUP", mpid, dl);
    let new = nginx.reloaded(dl);
    let quit_sender = kill("QUIT", mpid, dl);
    let (out, events) = finish(t, dl, "the master's exit", |e| e["type"] == "exit" && e["pid"] == mpid);

    let hup = signal_to(&events, mpid, libc::SIGHUP, &out);
    check_sent(hup, hup_sender, "kill", mpid, "nginx");
    assert_eq!((&hup["result"], &hup["action"]), (&"delivered".into(), &"handler".into()), "{hup}");
    let quit = signal_to(&events, mpid, libc::SIGQUIT, &out);
    check_sent(quit, quit_sender, "kill", mpid, "nginx");
    assert_eq!((&quit["result"], &quit["action"]), (&"delivered".into(), &"handler".into()), "{quit}");
    for worker in nginx.workers.iter().chain(&new) {
        let to_worker = typed(&events, "signal", |e| e["target_pid"] == *worker && e["origin"] == "process");
        assert!(to_worker.is_empty(), "no process signalled worker {worker}: {to_worker:?}\n{}", out.dump());
    }
    let sigio = typed(&events, "signal", |e| e["target_pid"] == mpid && e["signo"] == libc::SIGIO);
    assert!(!sigio.is_empty(), "the master's channel raised SIGIO\n{}", out.dump());
    for io in sigio {
        assert_eq!((&io["origin"], &io["reason"], &io["code"]), (&"kernel".into(), &"I/O".into(), &"SI_KERNEL".into()));
    }
    let exit = exit_of(&events, mpid, &out);
    assert_eq!(exit["code"], 0, "a graceful stop: {exit}");
    assert_eq!(exit["cause"], "SIGQUIT", "{exit}");
    assert_eq!(exit["origin"], "process", "{exit}");
    assert_eq!(exit["sender_pid"], quit_sender, "{exit}");
    assert_eq!(exit["sender_comm"], "kill", "{exit}");
}

#[test]
fn a_signal_the_target_ignores_shows_as_ignored() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let mut target = workload_proc(&["ignore-signal", "10", "sleep", "30000"], Some("ignoring 10"), dl);
    let tpid = target.pid();
    let k1 = kill("USR1", tpid, dl);
    let k2 = kill("TERM", tpid, dl);
    assert_eq!(target.try_wait_until(dl).expect("workload ends").signal(), Some(libc::SIGTERM));
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == tpid);

    let usr1 = signal_to(&events, tpid, libc::SIGUSR1, &out);
    check_sent(usr1, k1, "kill", tpid, "workload");
    assert_eq!(usr1["result"], "ignored", "{usr1}");
    assert_eq!(usr1["action"], "ignore", "{usr1}");
    assert!(
        deliveries_of(&events, tpid).iter().all(|d| d["signo"] != libc::SIGUSR1),
        "an ignored signal is never delivered\n{}",
        out.dump()
    );
    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["signal"], "SIGTERM", "{exit}");
    assert_eq!(exit["sender_pid"], k2, "{exit}");
}

#[test]
fn a_blocked_signal_shows_as_blocked() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let mut target = workload_proc(&["block-signal", "10", "sleep", "30000"], Some("blocking 10"), dl);
    let tpid = target.pid();
    let k1 = kill("USR1", tpid, dl);
    let (out, events) =
        finish(t, dl, "the USR1", |e| e["type"] == "signal" && e["target_pid"] == tpid && e["signo"] == 10);
    target.kill();

    let usr1 = signal_to(&events, tpid, libc::SIGUSR1, &out);
    check_sent(usr1, k1, "kill", tpid, "workload");
    assert_eq!(usr1["result"], "blocked", "{usr1}");
    assert_eq!(usr1["action"], "terminate", "what it will do once unblocked: {usr1}");
    assert!(deliveries_of(&events, tpid).is_empty(), "a blocked signal is not delivered\n{}", out.dump());
}

#[test]
fn sigqueue_and_pidfd_send_signal_are_seen() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let target = workload_proc(&["handle", "10", "handle", "12", "sleep", "30000"], Some("handling 12"), dl);
    let tpid = target.pid();
    let (q, qout) = run_workload(&["sigqueue", &tpid.to_string(), "10"], dl);
    qout.expect_code(0);
    wait_line(&target, "caught 10", dl);
    let (p, pout) = run_workload(&["pidfd-kill", &tpid.to_string(), "12"], dl);
    pout.expect_code(0);
    wait_line(&target, "caught 12", dl);
    let (out, events) = finish(t, dl, "the delivery of SIGUSR2", |e| {
        e["type"] == "delivery" && e["pid"] == tpid && e["signo"] == libc::SIGUSR2
    });
    drop(target);

    let queued = signal_to(&events, tpid, libc::SIGUSR1, &out);
    check_sent(queued, q, "workload", tpid, "workload");
    assert_eq!(queued["code"], "SI_QUEUE", "{queued}");
    assert_eq!(queued["result"], "delivered", "{queued}");
    assert_eq!(queued["action"], "handler", "{queued}");
    let handler = str_field(queued, "handler");
    assert!(handler.starts_with("0x") && handler != "0x0" && handler != "0x1", "{queued}");

    let pidfd = signal_to(&events, tpid, libc::SIGUSR2, &out);
    check_sent(pidfd, p, "workload", tpid, "workload");
    assert_eq!(pidfd["code"], "SI_USER", "{pidfd}");
    assert_eq!(pidfd["action"], "handler", "{pidfd}");
    assert_eq!(pidfd["handler"], queued["handler"], "one handler for both: {pidfd}");

    for signo in [libc::SIGUSR1, libc::SIGUSR2] {
        let d = one(typed(&events, "delivery", |e| e["pid"] == tpid && e["signo"] == signo), "delivery", &out);
        assert_eq!(d["action"], "handler", "{d}");
        assert_eq!(d["handler"], queued["handler"], "{d}");
        assert_eq!(d["tid"], tpid, "{d}");
    }
    assert_eq!(typed(&events, "delivery", |e| e["pid"] == tpid && e["signo"] == libc::SIGUSR1)[0]["code"], "SI_QUEUE");
}

#[test]
fn failed_sends_are_reported_with_failed() {
    let dl = Deadline::test();
    let t = start_json("signals", &["--failed"], dl);
    let missing = unused_pid();
    // A `kill -0` existence probe that fails is not reported unless asked for (--signal 0).
    let (probe, probe_out) = run_workload(&["kill", &missing.to_string(), "0"], dl);
    assert_eq!(probe_out.stdout_text(), "kill=-1 errno=3\n");
    let (esrch, esrch_out) = run_workload(&["kill", &missing.to_string(), "1"], dl);
    assert_eq!(esrch_out.stdout_text(), "kill=-1 errno=3\n", "{}", esrch_out.dump());
    let target = sleeper();
    let tpid = target.pid();
    let (eperm, eperm_out) = run_workload(&["drop-privileges", "kill", &tpid.to_string(), "1"], dl);
    assert_eq!(eperm_out.stdout_text(), "kill=-1 errno=1\n", "{}", eperm_out.dump());
    let (out, events) = finish(t, dl, "the EPERM", |e| e["sender_pid"] == eperm && e["result"] == "error");
    drop(target);

    assert!(
        !events.iter().any(|e| e["sender_pid"] == probe && e["result"] == "error"),
        "a failed kill -0 is not reported by default\n{}",
        out.dump()
    );
    let e = one(
        typed(&events, "signal", |e| e["sender_pid"] == esrch && e["result"] == "error"),
        "failed send (ESRCH)",
        &out,
    );
    check_signal_shape(e);
    assert_eq!(e["result"], "error", "{e}");
    assert_eq!(e["errno"], "ESRCH", "{e}");
    assert_eq!(e["syscall"], "kill", "{e}");
    assert_eq!(e["signal"], "SIGHUP", "{e}");
    assert_eq!(e["target_pid"], missing, "{e}");
    assert!(e["target_comm"].is_null(), "{e}");
    assert_eq!(e["sender_comm"], "workload", "{e}");
    assert_eq!(e["sender_uid"], 0, "{e}");
    assert!(e["code"].is_null() && e["action"].is_null(), "{e}");

    let e = one(
        typed(&events, "signal", |e| e["sender_pid"] == eperm && e["result"] == "error"),
        "failed send (EPERM)",
        &out,
    );
    check_signal_shape(e);
    assert_eq!(e["result"], "error", "{e}");
    assert_eq!(e["errno"], "EPERM", "{e}");
    assert_eq!(e["target_pid"], tpid, "{e}");
    assert_eq!(e["target_comm"], "sleep", "{e}");
    assert_eq!(e["sender_uid"], 65534, "sent as nobody: {e}");
    assert!(
        typed(&events, "signal", |e| e["target_pid"] == tpid && e["result"] != "error").is_empty(),
        "no signal reached the target\n{}",
        out.dump()
    );
}

#[test]
fn failed_sends_are_not_hooked_without_failed() {
    let dl = Deadline::test();
    let t = start_json("signals", &["--sigchld"], dl);
    let (esrch, esrch_out) = run_workload(&["kill", &unused_pid().to_string(), "1"], dl);
    assert_eq!(esrch_out.stdout_text(), "kill=-1 errno=3\n");
    let mut target = sleeper();
    let tpid = target.pid();
    kill("TERM", tpid, dl);
    target.try_wait_until(dl).expect("sleep ends");
    let (out, events) = finish(t, dl, "the marker's exit", |e| e["type"] == "exit" && e["pid"] == tpid);
    assert!(!events.iter().any(|e| e["result"] == "error"), "no failed send without --failed\n{}", out.dump());
    // The sender itself shows up only through its SIGCHLD to us.
    for e in events.iter().filter(|e| mentions(e, esrch)) {
        assert_eq!(e["signo"], libc::SIGCHLD, "{e}");
    }
}

#[test]
fn signal_filter_excludes_other_signals() {
    let dl = Deadline::test();
    let t = start_json("signals", &["--signal", "usr1,KILL"], dl);
    let mut target = workload_proc(&["handle", "10", "handle", "12", "sleep", "30000"], Some("handling 12"), dl);
    let tpid = target.pid();
    let decoy = kill("USR2", tpid, dl);
    wait_line(&target, "caught 12", dl);
    let k1 = kill("USR1", tpid, dl);
    wait_line(&target, "caught 10", dl);
    let k9 = kill("KILL", tpid, dl);
    target.try_wait_until(dl).expect("workload ends");
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == tpid);

    let usr1 = signal_to(&events, tpid, libc::SIGUSR1, &out);
    check_sent(usr1, k1, "kill", tpid, "workload");
    one(typed(&events, "delivery", |e| e["pid"] == tpid && e["signo"] == libc::SIGUSR1), "USR1 delivery", &out);
    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["signal"], "SIGKILL", "{exit}");
    assert_eq!(exit["sender_pid"], k9, "{exit}");
    assert!(!events.iter().any(|e| e["signo"] == libc::SIGUSR2), "the USR2 decoy is filtered out\n{}", out.dump());
    assert!(!events.iter().any(|e| mentions(e, decoy)), "{}", out.dump());
    assert!(!events.iter().any(|e| e["signo"] == libc::SIGCHLD), "SIGCHLD is not in the set\n{}", out.dump());
    for e in of_type(&events, "signal").into_iter().chain(of_type(&events, "delivery")) {
        assert!(e["signo"] == libc::SIGUSR1 || e["signo"] == libc::SIGKILL, "only USR1 and KILL: {e}");
    }
}

#[test]
fn pid_filter_matches_the_target_and_excludes_others() {
    let dl = Deadline::test();
    let mut target = sleeper();
    let mut decoy = sleeper();
    let (tpid, dpid) = (target.pid(), decoy.pid());
    let t = start_json("signals", &["--sigchld", "-p", &tpid.to_string()], dl);
    let decoy_sender = kill("HUP", dpid, dl);
    decoy.try_wait_until(dl).expect("decoy ends");
    let sender = kill("HUP", tpid, dl);
    target.try_wait_until(dl).expect("target ends");
    // Its only -p process is gone: tracer ends by itself.
    let (out, events) = wait_end(t, dl);

    let sig = signal_to(&events, tpid, libc::SIGHUP, &out);
    check_sent(sig, sender, "kill", tpid, "sleep");
    one(deliveries_of(&events, tpid), "delivery", &out);
    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["sender_pid"], sender, "{exit}");
    for pid in [dpid, decoy_sender] {
        assert!(!events.iter().any(|e| mentions(e, pid)), "nothing about decoy {pid}\n{}", out.dump());
    }
    // The target's SIGCHLD to us is from the target: it is reported.
    let chld = one(typed(&events, "signal", |e| e["signo"] == libc::SIGCHLD), "SIGCHLD", &out);
    assert_eq!(chld["sender_pid"], tpid, "{chld}");
}

#[test]
fn pid_filter_matches_the_sender_and_what_its_signal_did() {
    let dl = Deadline::test();
    let mut target = sleeper();
    let mut decoy = sleeper();
    let (tpid, dpid) = (target.pid(), decoy.pid());
    let mut sender = workload_proc(&["--wait-stdin", "kill", &tpid.to_string(), "15"], None, dl);
    let spid = sender.pid();
    wait_line(&sender, &format!("pid={spid}"), dl);
    let t = start_json("signals", &["-p", &spid.to_string()], dl);
    let decoy_sender = kill("TERM", dpid, dl);
    decoy.try_wait_until(dl).expect("decoy ends");
    sender.send("\n");
    wait_line(&sender, "kill=0 errno=0", dl);
    target.try_wait_until(dl).expect("target ends");
    sender.try_wait_until(dl).expect("sender ends");
    let (out, events) = wait_end(t, dl);

    let sig = signal_to(&events, tpid, libc::SIGTERM, &out);
    check_sent(sig, spid, "workload", tpid, "sleep");
    let delivery = one(deliveries_of(&events, tpid), "delivery of the sender's signal", &out);
    assert_eq!(delivery["signal"], "SIGTERM", "{delivery}");
    let exit = exit_of(&events, tpid, &out);
    assert_eq!(exit["signal"], "SIGTERM", "{exit}");
    assert_eq!(exit["sender_pid"], spid, "{exit}");
    let own = exit_of(&events, spid, &out);
    assert_eq!(own["code"], 0, "the -p process's own exit: {own}");
    for pid in [dpid, decoy_sender] {
        assert!(!events.iter().any(|e| mentions(e, pid)), "nothing about decoy {pid}\n{}", out.dump());
    }
}

/// A process that handles SIGTERM and then exits by itself: its exit still names the SIGTERM and its sender.
#[test]
fn a_handled_signal_is_the_cause_of_the_exit_that_follows() {
    let dl = Deadline::test();
    let t = start_json("signals", &[], dl);
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut sh = Proc::spawn("sh trap", &mut cmd);
    wait_line(&sh, "ready", dl);
    let shpid = sh.pid();
    let k = kill("TERM", shpid, dl);
    assert_eq!(sh.try_wait_until(dl).expect("sh ends").code(), Some(3));
    let (out, events) = finish(t, dl, "the exit", |e| e["type"] == "exit" && e["pid"] == shpid);

    let sig = signal_to(&events, shpid, libc::SIGTERM, &out);
    assert_eq!(sig["action"], "handler", "{sig}");
    let exit = exit_of(&events, shpid, &out);
    assert_eq!(exit["code"], 3, "{exit}");
    assert!(exit["signal"].is_null(), "{exit}");
    assert_eq!(exit["cause"], "SIGTERM", "{exit}");
    assert_eq!(exit["sender_pid"], k, "{exit}");
    assert_eq!(exit["sender_comm"], "kill", "{exit}");
}

/// Text: one line per event, hostile names escaped; `-o` writes the file.
#[test]
fn text_lines_a_killsnoop_user_reads() {
    let dl = Deadline::test();
    let dir = scratch_dir("signals-text");
    let file = dir.join("signals.txt");
    let evil = "evil\x1b[2Jname";
    let mut target = workload_proc(&["comm", evil, "handle", "10", "sleep", "30000"], Some("handling 10"), dl);
    let tpid = target.pid();
    let mut cmd = tracer_command("signals", &["-o", file.to_str().unwrap(), "-p", &tpid.to_string()]);
    let t = Proc::spawn("tracer signals -o -p", &mut cmd);
    if t.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.trim_end().ends_with("ready")).is_none() {
        panic!("tracer never printed its ready line on stderr\n{}", t.dump());
    }
    let k1 = kill("USR1", tpid, dl);
    wait_line(&target, "caught 10", dl);
    let k9 = kill("KILL", tpid, dl);
    target.try_wait_until(dl).expect("workload ends");
    let out = t.wait(dl.within(Duration::from_secs(15)));
    out.expect_no_panic();
    out.expect_code(0);
    assert!(out.stdout.is_empty(), "events go to the file\n{}", out.dump());

    let bytes = std::fs::read(&file).unwrap();
    assert!(!bytes.contains(&0x1b), "a raw escape character reached the output");
    let lines = read_lines(&file);
    let show = || lines.join("\n");
    assert_eq!(lines[0], format!("{:<15} {:<8} {:<9} {:<24} {:<24} RESULT", "TIME", "EVENT", "SIGNAL", "FROM", "TO"));
    let shown = format!("{tpid} (evil\\x1b[2Jname)");
    let row = |event: &str, signal: &str, from: &str, result: &str| {
        format!("{event:<8} {signal:<9} {from:<24} {shown:<24} {result}")
    };
    // After the time (HH:MM:SS.micros and a space).
    let rest: Vec<&str> = lines[1..].iter().map(|l| l.get(16..).unwrap_or("")).collect();
    for l in &lines[1..] {
        assert!(l.as_bytes()[2] == b':' && l.as_bytes()[8] == b'.', "time first: {l}\n{}", show());
    }
    let expected_signal = row("signal", "SIGUSR1", &format!("{k1} (kill)"), "delivered (handler)");
    assert!(rest.contains(&expected_signal.as_str()), "{expected_signal:?} in\n{}", show());
    let deliver = rest.iter().find(|l| l.starts_with("deliver  SIGUSR1")).unwrap_or_else(|| panic!("{}", show()));
    assert!(deliver.starts_with(&row("deliver", "SIGUSR1", "-", "runs handler 0x")), "{deliver}");
    let expected_kill = row("signal", "SIGKILL", &format!("{k9} (kill)"), "delivered (default: terminate)");
    assert!(rest.contains(&expected_kill.as_str()), "{expected_kill:?} in\n{}", show());
    let expected_exit = row("exit", "SIGKILL", &format!("{k9} (kill)"), "killed by SIGKILL");
    assert!(rest.contains(&expected_exit.as_str()), "{expected_exit:?} in\n{}", show());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors() {
    let dl = Deadline::test();
    for (args, needle) in [
        (vec!["--signal", "NOPE"], "unknown signal"),
        (vec!["--signal", "65"], "out of range"),
        (vec!["--signal", "HUP,!CHLD"], "negates the whole list"),
        (vec!["--signal", "!0"], "not a signal to leave out"),
        (vec!["-p", "abc"], "not a process id"),
        (vec!["--buffer-size", "1000"], "power of two"),
    ] {
        let (_, out) = run("tracer signals (bad)", &mut tracer_command("signals", &args), dl);
        assert_eq!(out.code(), Some(2), "{args:?} is a usage error\n{}", out.dump());
        assert!(out.stderr_text().contains(needle), "{args:?}: {needle:?}\n{}", out.dump());
    }
    let missing = unused_pid().to_string();
    let (_, out) = run("tracer signals -p missing", &mut tracer_command("signals", &["-p", &missing]), dl);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(out.stderr_text().contains(&format!("no such process: {missing}")), "{}", out.dump());
}

/// The ready object's `signals_left_out`.
fn left_out(events: &[Value]) -> Vec<String> {
    let ready = of_type(events, "ready")[0];
    ready["signals_left_out"].as_array().unwrap_or_else(|| panic!("{ready}")).iter().map(|v| v.to_string()).collect()
}

/// SIGCHLD is left out by default, and the ready line says so; `--sigchld` brings it back; `!` lists leave out.
#[test]
fn sigchld_is_left_out_by_default_and_negated_lists_leave_signals_out() {
    let dl = Deadline::test();
    let me = std::process::id();
    // Default: the HUP and its exit, never the SIGCHLD the sleep's death sends us.
    let t = start_json("signals", &[], dl);
    let mut target = sleeper();
    let tpid = target.pid();
    let k = kill("HUP", tpid, dl);
    target.try_wait_until(dl).expect("sleep ends");
    let (out, events) = finish(t, dl, "the sleep's exit", |e| e["type"] == "exit" && e["pid"] == tpid);
    check_sent(signal_to(&events, tpid, libc::SIGHUP, &out), k, "kill", tpid, "sleep");
    assert!(!events.iter().any(|e| e["signo"] == libc::SIGCHLD), "no SIGCHLD by default\n{}", out.dump());
    assert_eq!(left_out(&events), ["\"SIGCHLD\""], "{}", out.dump());

    // `!USR2,TERM` with --sigchld: the USR1 and the KILL, not the TERM nor the USR2; the SIGCHLD of its death.
    let t = start_json("signals", &["--sigchld", "--signal", "!USR2,TERM"], dl);
    let mut target =
        workload_proc(&["handle", "10", "handle", "12", "handle", "15", "sleep", "30000"], Some("handling 15"), dl);
    let tpid = target.pid();
    let decoys = [kill("USR2", tpid, dl), kill("TERM", tpid, dl)];
    wait_line(&target, "caught 12", dl);
    wait_line(&target, "caught 15", dl);
    let k1 = kill("USR1", tpid, dl);
    wait_line(&target, "caught 10", dl);
    let k9 = kill("KILL", tpid, dl);
    target.try_wait_until(dl).expect("workload ends");
    let (out, events) = finish(t, dl, "the workload's SIGCHLD", |e| {
        e["type"] == "signal" && e["signo"] == libc::SIGCHLD && e["sender_pid"] == tpid && e["target_pid"] == me
    });
    check_sent(signal_to(&events, tpid, libc::SIGUSR1, &out), k1, "kill", tpid, "workload");
    check_sent(signal_to(&events, tpid, libc::SIGKILL, &out), k9, "kill", tpid, "workload");
    for decoy in decoys {
        // Its SIGCHLD to us at its exit is in the set.
        let about = |e: &&Value| mentions(e, decoy) && e["signo"] != libc::SIGCHLD;
        assert!(!events.iter().any(|e| about(&e)), "USR2 and TERM are left out\n{}", out.dump());
    }
    assert!(!events.iter().any(|e| e["signo"] == libc::SIGUSR2 || e["signo"] == libc::SIGTERM), "{}", out.dump());
    assert_eq!(left_out(&events), ["\"SIGUSR2\"", "\"SIGTERM\""], "{}", out.dump());

    // Text: the ready line on stderr says what is left out and how to bring it back.
    let mut cmd = tracer_command("signals", &["-p", &std::process::id().to_string()]);
    let t = Proc::spawn("tracer signals (text)", &mut cmd);
    let ready = t.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.trim_end().ends_with("ready"));
    t.signal(libc::SIGINT);
    let out = t.wait(dl);
    out.expect_code(0);
    let ready = ready.unwrap_or_else(|| panic!("no ready line\n{}", out.dump()));
    assert!(ready.starts_with("tracer: tracing signals but SIGCHLD (--sigchld shows it) to and from"), "{ready}");
}

/// State letter of a process in /proc/PID/stat.
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
}

fn wait_state(pid: u32, state: char, dl: Deadline) {
    while state_of(pid) != Some(state) {
        assert!(!dl.expired(), "{pid} never reached state {state}: {:?}", state_of(pid));
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A SIGCONT that resumes a stopped process is `continued` (the kernel calls it ignored: the default action),
/// one to a running process is `ignored`; the text says the same.
#[test]
fn a_sigcont_that_resumes_is_continued() {
    let dl = Deadline::test();
    let mut target = sleeper();
    let tpid = target.pid();
    let json = start_json("signals", &["-p", &tpid.to_string()], dl);
    let text = Proc::spawn("tracer signals (text)", &mut tracer_command("signals", &["-p", &tpid.to_string()]));
    assert!(text.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.ends_with("ready")).is_some());
    let stop = kill("STOP", tpid, dl);
    wait_state(tpid, 'T', dl);
    let resume = kill("CONT", tpid, dl);
    wait_state(tpid, 'S', dl);
    let again = kill("CONT", tpid, dl);
    kill("TERM", tpid, dl);
    target.try_wait_until(dl).expect("sleep ends");
    let (out, events) = wait_end(json, dl);
    let conts: Vec<&Value> = typed(&events, "signal", |e| e["signo"] == libc::SIGCONT);
    assert_eq!(conts.len(), 2, "{}", out.dump());
    check_sent(conts[0], resume, "kill", tpid, "sleep");
    assert_eq!(conts[0]["result"], "continued", "{}", conts[0]);
    assert_eq!(conts[0]["action"], "continue", "{}", conts[0]);
    check_sent(conts[1], again, "kill", tpid, "sleep");
    assert_eq!(conts[1]["result"], "ignored", "{}", conts[1]);
    assert_eq!(signal_to(&events, tpid, libc::SIGSTOP, &out)["sender_pid"], stop);

    let out = text.wait(dl.within(Duration::from_secs(15)));
    out.expect_code(0);
    let lines = out.stdout_text();
    let row = |from: u32, result: &str| {
        format!("signal   SIGCONT   {:<24} {:<24} {result}", format!("{from} (kill)"), format!("{tpid} (sleep)"))
    };
    assert!(lines.contains(&row(resume, "continued (it was stopped)")), "{lines}");
    assert!(lines.contains(&row(again, "ignored")), "{lines}");
}

/// A pane's foreground process of tmux, its terminal (`pts/N`), and a way to type into it.
struct Pane {
    socket: String,
    pid: u32,
    tty: String,
}

impl Pane {
    fn tmux(socket: &str, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(socket).args(args).output().expect("tmux (apt-get install tmux)");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `command` run by `sh -c` in a new detached session, `exec`ed so that it is the pane's process.
    fn start(name: &str, command: &str) -> Pane {
        let socket = format!("tracer-test-{name}-{}", std::process::id());
        Pane::tmux(&socket, &["new-session", "-d", "-x", "80", "-y", "24", command]);
        let pid = Pane::tmux(&socket, &["display-message", "-p", "#{pane_pid}"]).parse().unwrap();
        let tty = Pane::tmux(&socket, &["display-message", "-p", "#{pane_tty}"]);
        Pane { tty: tty.trim_start_matches("/dev/").to_string(), pid, socket }
    }

    fn keys(&self, keys: &str) {
        Pane::tmux(&self.socket, &["send-keys", keys]);
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

fn wait_gone(pid: u32, dl: Deadline) {
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(!dl.expired(), "{pid} never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The first child of `pid` (from /proc/PID/task/PID/children), once it runs `comm`.
fn child_named(pid: u32, comm: &str, dl: Deadline) -> u32 {
    loop {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let found = children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
            .find(|c| std::fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|n| n.trim_end() == comm));
        if let Some(child) = found {
            return child;
        }
        assert!(!dl.expired(), "{pid} never had a child {comm}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Ctrl-Z, Ctrl-\ and Ctrl-C typed into real terminals (tmux panes): each signal's origin is the terminal, named
/// as ps names it, with the foreground process group it hit; the exit names the terminal too.
#[test]
fn terminal_keys_are_attributed_to_the_terminal() {
    let dl = Deadline::test();
    // Ctrl-Z stops only a group that is not orphaned: a job-control shell's foreground job, whose parent (the shell,
    // running its next job: an `exec` would end the stopped one) stays in the session.
    let tstp = Pane::start("tstp", "bash -c 'set -m; /bin/sleep 300; /bin/sleep 301'");
    let stopped = child_named(tstp.pid, "sleep", dl);
    // `exec`: the pane's process is the sleep, its own foreground group; no core file from Ctrl-\.
    let quit = Pane::start("quit", "ulimit -c 0; exec /bin/sleep 300");
    let int = Pane::start("int", "exec /bin/sleep 300");
    for pid in [stopped, quit.pid, int.pid] {
        wait_state(pid, 'S', dl);
    }
    let pids = format!("{stopped},{},{}", quit.pid, int.pid);
    let t = start_json("signals", &["-p", &pids], dl);
    let text = Proc::spawn("tracer signals (text)", &mut tracer_command("signals", &["-p", &pids]));
    assert!(text.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.ends_with("ready")).is_some());
    tstp.keys("C-z");
    wait_state(stopped, 'T', dl);
    quit.keys("C-\\");
    int.keys("C-c");
    wait_gone(quit.pid, dl);
    wait_gone(int.pid, dl);
    unsafe { libc::kill(stopped as i32, libc::SIGKILL) };
    let (out, events) = wait_end(t, dl);
    for (pid, tty, signo, key) in [
        (stopped, &tstp.tty, libc::SIGTSTP, "Ctrl-Z"),
        (quit.pid, &quit.tty, libc::SIGQUIT, "Ctrl-\\"),
        (int.pid, &int.tty, libc::SIGINT, "Ctrl-C"),
    ] {
        let sig = signal_to(&events, pid, signo, &out);
        assert_eq!(sig["origin"], "tty", "{key}: {sig}");
        assert_eq!(sig["tty"], tty.as_str(), "{key}: {sig}");
        assert_eq!(sig["pgid"], pid, "{key}: the foreground group is the sleep's own: {sig}");
        assert_eq!(sig["code"], "SI_KERNEL", "{sig}");
        assert!(sig["sender_pid"].is_null(), "{sig}");
    }
    for (pid, signal) in [(quit.pid, "SIGQUIT"), (int.pid, "SIGINT")] {
        let exit = exit_of(&events, pid, &out);
        assert_eq!(exit["signal"], signal, "{exit}");
        assert_eq!(exit["cause"], signal, "{exit}");
        assert_eq!(exit["origin"], "tty", "{exit}");
    }
    let out = text.wait(dl.within(Duration::from_secs(15)));
    out.expect_code(0);
    let lines = out.stdout_text();
    let row = |signal: &str, from: String, pid: u32, result: &str| {
        format!("signal   {signal:<9} {from:<24} {:<24} {result} [foreground group {pid}]", format!("{pid} (sleep)"))
    };
    let expected = [
        row("SIGINT", format!("tty {} (Ctrl-C)", int.tty), int.pid, "delivered (default: terminate)"),
        row("SIGQUIT", format!("tty {} (Ctrl-\\)", quit.tty), quit.pid, "delivered (default: core)"),
        row("SIGTSTP", format!("tty {} (Ctrl-Z)", tstp.tty), stopped, "delivered (default: stop)"),
    ];
    for row in expected {
        assert!(lines.contains(&row), "{row:?} in\n{lines}");
    }
}

/// How a run of the ready race starts tracer: as a shell's `&` job or `nohup` do (SIGINT ignored), or from a
/// parent that blocks it (the mask is inherited across exec).
#[derive(Clone, Copy, Debug)]
enum Inherited {
    Default,
    Ignored,
    Blocked,
}

/// Starts `tracer COMMAND --json ARGS` (`args`: the command, then its arguments), sends SIGINT as soon as its ready
/// line is read, and returns its exit status and output.
fn interrupt_at_ready(args: &[&str], inherited: Inherited) -> (Option<i32>, String, String) {
    use std::{
        io::{BufRead, BufReader, Read},
        os::unix::process::CommandExt,
    };
    let mut cmd = Command::new(tracer_bin());
    cmd.arg(args[0]).arg("--json").args(&args[1..]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            match inherited {
                Inherited::Default => {}
                Inherited::Ignored => {
                    libc::signal(libc::SIGINT, libc::SIG_IGN);
                }
                Inherited::Blocked => {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGINT);
                    libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                }
            }
            Ok(())
        })
    };
    let mut child = cmd.spawn().expect("tracer starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.contains(r#""type":"ready""#) {
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            break;
        }
        line.clear();
    }
    let _ = stdout.read_to_string(&mut seen);
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    // Bounded: a tracer that lost the SIGINT would hang here, so it is killed after a while and reported.
    let dl = Deadline::new(Duration::from_secs(10));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if dl.expired() {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status.code(), seen, stderr)
}

/// How many times each command runs the ready race: 200 (TRACER_READY_RACE_RUNS=N overrides).
fn ready_race_runs() -> usize {
    std::env::var("TRACER_READY_RACE_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

/// Runs of one command in flight at once: a run spends most of its time in the kernel (loading, then detaching
/// probes, where each tracepoint waits for an RCU grace period), so three overlap well even on two CPUs, and the
/// load they add only widens the window between `ready` and the handlers that the race probes.
const READY_RACE_IN_FLIGHT: usize = 3;

/// A SIGINT sent the moment `ready` is read always stops the command cleanly (exit 0, and the summary where one is
/// due), also when tracer inherited SIGINT ignored or blocked (runs alternate between the three). The handlers are
/// installed by the one `Session::new` every command goes through, before `ready`: each command's test runs the
/// race `ready_race_runs()` times, a third of them each way.
fn ready_race(args: &[&str], summary: Option<&str>) {
    let runs = ready_race_runs();
    let start = std::time::Instant::now();
    std::thread::scope(|scope| {
        for first in 0..READY_RACE_IN_FLIGHT {
            scope.spawn(move || {
                for i in (first..runs).step_by(READY_RACE_IN_FLIGHT) {
                    let inherited = [Inherited::Default, Inherited::Ignored, Inherited::Blocked][i % 3];
                    let (code, stdout, stderr) = interrupt_at_ready(args, inherited);
                    let show =
                        || format!("tracer {args:?} run {i} ({inherited:?})\n[stdout]\n{stdout}\n[stderr]\n{stderr}");
                    assert_eq!(code, Some(0), "{}", show());
                    assert!(stdout.contains(r#""type":"ready""#), "{}", show());
                    if let Some(summary) = summary {
                        assert!(stdout.contains(summary), "no summary: {}", show());
                    }
                }
            });
        }
    });
    eprintln!("tracer {args:?}: {runs} runs stopped cleanly in {:.1} s", start.elapsed().as_secs_f64());
}

/// A process for `syscalls -p` that outlives every run (a `sleep 30` would be a zombie by the time a late run
/// starts, which tracer refuses).
fn race_target() -> Proc {
    Proc::spawn("sleep 600", quiet(Command::new("/bin/sleep").arg("600")))
}

#[test]
fn sigint_right_after_ready_stops_signals_cleanly() {
    ready_race(&["signals"], None);
}

#[test]
fn sigint_right_after_ready_stops_monitor_cleanly() {
    ready_race(&["monitor"], None);
}

#[test]
fn sigint_right_after_ready_stops_opens_cleanly() {
    ready_race(&["opens", "/etc/hostname"], None);
}

#[test]
fn sigint_right_after_ready_stops_binds_cleanly() {
    ready_race(&["binds"], None);
}

#[test]
fn sigint_right_after_ready_stops_procs_cleanly() {
    ready_race(&["procs"], None);
}

#[test]
fn sigint_right_after_ready_stops_conns_cleanly() {
    ready_race(&["conns"], None);
}

#[test]
fn sigint_right_after_ready_stops_syscalls_of_a_pid_cleanly() {
    let target = race_target();
    ready_race(&["syscalls", "-p", &target.pid().to_string()], None);
}

#[test]
fn sigint_right_after_ready_stops_a_syscall_summary_cleanly() {
    let target = race_target();
    ready_race(&["syscalls", "-c", "-p", &target.pid().to_string()], Some(r#""type":"summary""#));
}

/// `syscalls -- CMD`: the command is released just after `ready` and outlives the SIGINT (tracer detaches and
/// leaves it running untraced); its output goes elsewhere, or reading tracer's to its end would wait for it.
#[test]
fn sigint_right_after_ready_stops_syscalls_of_a_command_cleanly() {
    ready_race(&["syscalls", "--", "/bin/sh", "-c", "exec sleep 1 >/dev/null 2>&1"], None);
}

/// A SIGKILL from the OOM killer (a real one: python3 past its memory cgroup's limit) is the OOM killer's:
/// `origin: "oom"`, text `kernel (OOM kill)`, and so is the cause of its exit. A SIGKILL the kernel sends for another
/// reason (RLIMIT_CPU's hard limit) stays `kernel`. The cgroup's oom_kill count is the oracle. Before: both
/// `kernel [SI_KERNEL]`.
#[test]
fn an_oom_kill_is_the_oom_killers_and_another_kernel_sigkill_is_not() {
    let dl = Deadline::test();
    let dir = scratch_dir("signals-oom");
    let file = dir.join("signals.txt");
    let t = start_json("signals", &["--signal", "KILL"], dl);
    let mut cmd = tracer_command("signals", &["--signal", "KILL", "-o", file.to_str().unwrap()]);
    let text = Proc::spawn("tracer signals -o", &mut cmd);
    if text.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.trim_end().ends_with("ready")).is_none() {
        panic!("tracer never printed its ready line on stderr\n{}", text.dump());
    }
    let (victim, oom_kills) = oom_killed_python("signals", dl);
    assert_eq!(oom_kills, 1, "the kernel counts one OOM kill in the cgroup");
    // At RLIMIT_CPU's hard limit the kernel sends SIGKILL itself (SEND_SIG_PRIV), as the OOM killer does.
    let mut hog = Command::new("sh");
    hog.args(["-c", "ulimit -t 1; exec /usr/bin/python3 -c 'while True: pass'"]);
    let (hog, hog_out) = run("cpu hog", &mut hog, dl);
    assert_eq!(hog_out.status.signal(), Some(libc::SIGKILL), "{}", hog_out.dump());
    let (out, events) = finish(t, dl, "the hog's exit", |v| v["type"] == "exit" && v["pid"] == hog);
    text.signal(libc::SIGINT);
    let text_out = text.wait(dl);
    text_out.expect_code(0);

    let kill = signal_to(&events, victim, 9, &out);
    assert_eq!((&kill["origin"], &kill["code"]), (&"oom".into(), &"SI_KERNEL".into()), "{kill}");
    assert_eq!(kill["sender_pid"], Value::Null, "{kill}");
    let exit = exit_of(&events, victim, &out);
    assert_eq!(
        (&exit["signal"], &exit["cause"], &exit["origin"]),
        (&"SIGKILL".into(), &"SIGKILL".into(), &"oom".into()),
        "{exit}"
    );
    assert_eq!(exit["cause_ts_ns"], kill["ts_ns"], "{exit}");
    let hog_kill = signal_to(&events, hog, 9, &out);
    assert_eq!((&hog_kill["origin"], &hog_kill["code"]), (&"kernel".into(), &"SI_KERNEL".into()), "{hog_kill}");
    assert_eq!(exit_of(&events, hog, &out)["origin"], "kernel");

    let lines = read_lines(&file);
    let victim_lines: Vec<&String> = lines.iter().filter(|l| l.contains(&format!(" {victim} (python3) "))).collect();
    let from = format!("{:<24}", "kernel (OOM kill)");
    assert!(victim_lines.iter().any(|l| l.contains(&format!("signal   SIGKILL   {from}"))), "{victim_lines:?}");
    assert!(victim_lines.iter().any(|l| l.contains(&format!("exit     SIGKILL   {from}"))), "{victim_lines:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
