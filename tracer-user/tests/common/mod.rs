//! Helpers shared by the end-to-end tests: locating the binaries, spawning processes that are killed when a
//! test fails, reading their output without ever blocking past a deadline, and checking JSON lines.
//!
//! Every wait in these helpers is bounded by a [`Deadline`]; children are wrapped in [`Proc`], which kills them
//! (SIGKILL) when dropped, so a failing or hanging test ends with a panic that shows the output instead of
//! stalling CI.

#![allow(dead_code)]

use std::{
    collections::BTreeMap,
    ffi::OsStr,
    io::{BufRead, BufReader, Read, Write},
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, RecvTimeoutError},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

/// The global time limit of one test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The `tracer` binary under test.
pub fn tracer_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tracer")
}

/// The `workload` example (`tracer-user/examples/workload.rs`), built by `cargo test` next to `deps/`.
pub fn workload() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a directory");
    let path = deps.join("..").join("examples").join("workload");
    assert!(
        path.is_file(),
        "the workload helper is missing at {}: build it first with `cargo build --release -p tracer-user --example \
         workload` (a plain `cargo test --release` builds it; `cargo test --test syscalls` alone does not)",
        path.display()
    );
    path.canonicalize().expect("canonicalize workload path")
}

/// A unique scratch directory for one test (tests run in parallel).
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracer-test-{}-{}", test, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A path that does not exist, unique to one test.
pub fn missing_path(test: &str) -> String {
    let path = format!("/nonexistent-tracer-test-{test}/file");
    assert!(!Path::new(&path).exists(), "{path} must not exist");
    path
}

/// The end of a test's time budget. Every wait takes its remaining time.
#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn new(budget: Duration) -> Deadline {
        Deadline(Instant::now() + budget)
    }

    /// The whole-test guard.
    pub fn test() -> Deadline {
        Deadline::new(TEST_TIMEOUT)
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The earlier of this deadline and `budget` from now.
    pub fn within(&self, budget: Duration) -> Deadline {
        Deadline(self.0.min(Instant::now() + budget))
    }
}

/// Reads a pipe line by line in a thread: every line is kept (raw bytes, without the newline) and also sent
/// to a channel so a test can wait for a particular one.
pub struct Lines {
    all: Arc<Mutex<Vec<Vec<u8>>>>,
    rx: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<()>>,
}

impl Lines {
    pub fn new(pipe: impl Read + Send + 'static) -> Lines {
        let all = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let keep = all.clone();
        let thread = std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        keep.lock().unwrap().push(line.clone());
                        let _ = tx.send(line);
                    }
                }
            }
        });
        Lines { all, rx, thread: Some(thread) }
    }

    /// Everything read so far, as text (lossy), one line per line.
    pub fn text(&self) -> String {
        let all = self.all.lock().unwrap();
        all.iter().map(|l| String::from_utf8_lossy(l).into_owned() + "\n").collect()
    }

    /// Waits for the next line that satisfies `pred`; None when the deadline passes or the pipe ends first.
    pub fn wait_for(&self, deadline: Deadline, mut pred: impl FnMut(&str) -> bool) -> Option<String> {
        loop {
            match self.rx.recv_timeout(deadline.remaining()) {
                Ok(line) => {
                    let line = String::from_utf8_lossy(&line).into_owned();
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Waits for end of file; false if the deadline passed first (someone still holds the pipe open).
    pub fn wait_eof(&mut self, deadline: Deadline) -> bool {
        while let Some(thread) = &self.thread {
            if thread.is_finished() {
                let _ = self.thread.take().unwrap().join();
                return true;
            }
            if deadline.expired() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    pub fn bytes(&self) -> Vec<u8> {
        let all = self.all.lock().unwrap();
        let mut out = Vec::new();
        for line in all.iter() {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out
    }
}

/// A child process that is SIGKILLed when dropped (unless it was already reaped), with its piped stdout and
/// stderr read in the background.
pub struct Proc {
    pub name: String,
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub out: Option<Lines>,
    pub err: Option<Lines>,
    status: Option<ExitStatus>,
}

/// What a finished process left behind.
pub struct Output {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Proc {
    /// Spawns `cmd`; stdout/stderr that are piped are read in threads, a piped stdin is kept.
    pub fn spawn(name: impl Into<String>, cmd: &mut Command) -> Proc {
        let name = name.into();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        let stdin = child.stdin.take();
        let out = child.stdout.take().map(Lines::new);
        let err = child.stderr.take().map(Lines::new);
        Proc { name, child, stdin, out, err, status: None }
    }

    /// Like [`Proc::spawn`] but hands back the raw stdout pipe (which must be piped) instead of reading it.
    pub fn spawn_raw_stdout(name: impl Into<String>, cmd: &mut Command) -> (Proc, std::process::ChildStdout) {
        let name = name.into();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdin = child.stdin.take();
        let err = child.stderr.take().map(Lines::new);
        (Proc { name, child, stdin, out: None, err, status: None }, stdout)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn out(&self) -> &Lines {
        self.out.as_ref().expect("stdout is not piped")
    }

    pub fn err(&self) -> &Lines {
        self.err.as_ref().expect("stderr is not piped")
    }

    /// Writes to the child's stdin.
    pub fn send(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is not piped");
        stdin.write_all(text.as_bytes()).expect("writing to the child's stdin");
        stdin.flush().unwrap();
    }

    /// What it printed so far (for assertion messages).
    pub fn dump(&self) -> String {
        let mut s = format!("--- {} (pid {})", self.name, self.pid());
        if let Some(status) = self.status {
            s += &format!(", {status}");
        }
        s += " ---\n";
        if let Some(out) = &self.out {
            s += &format!("[stdout]\n{}", truncate_lines(&out.text(), 150));
        }
        if let Some(err) = &self.err {
            s += &format!("[stderr]\n{}", truncate_lines(&err.text(), 60));
        }
        s
    }

    /// The exit status if it has exited by `deadline`.
    pub fn try_wait_until(&mut self, deadline: Deadline) -> Option<ExitStatus> {
        if let Some(status) = self.status {
            return Some(status);
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.status = Some(status);
                return Some(status);
            }
            if deadline.expired() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the exit and the end of its output; on timeout kills it and panics with what it printed.
    pub fn wait(mut self, deadline: Deadline) -> Output {
        if self.try_wait_until(deadline).is_none() {
            self.kill();
            panic!("timeout: {} did not exit in time; killed it\n{}", self.name, self.dump());
        }
        self.stdin.take();
        // A grandchild (the traced command) may hold the pipes a little longer than tracer itself.
        let grace = Deadline::new(Duration::from_secs(5)).within(deadline.remaining() + Duration::from_secs(5));
        let mut open = false;
        for lines in [self.out.as_mut(), self.err.as_mut()].into_iter().flatten() {
            open |= !lines.wait_eof(grace);
        }
        if open {
            panic!("{} exited but its output pipe stayed open (a child left behind?)\n{}", self.name, self.dump());
        }
        Output {
            what: self.name.clone(),
            status: self.status.unwrap(),
            stdout: self.out.as_ref().map(Lines::bytes).unwrap_or_default(),
            stderr: self.err.as_ref().map(Lines::bytes).unwrap_or_default(),
        }
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: the child has not been reaped (we hold it), so its pid is still ours.
        if self.status.is_none() {
            unsafe { libc::kill(self.pid() as libc::pid_t, sig) };
        }
    }

    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            if let Ok(status) = self.child.wait() {
                self.status = Some(status);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn truncate_lines(text: &str, keep: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= keep {
        return text.to_string();
    }
    let head = keep / 2;
    let tail = keep - head;
    let mut s: String = lines[..head].iter().map(|l| format!("{l}\n")).collect();
    s += &format!("... ({} lines omitted) ...\n", lines.len() - keep);
    s += &lines[lines.len() - tail..].iter().map(|l| format!("{l}\n")).collect::<String>();
    s
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// For assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "--- {} exited: {} ---\n[stdout]\n{}[stderr]\n{}",
            self.what,
            self.status,
            truncate_lines(&self.stdout_text(), 150),
            truncate_lines(&self.stderr_text(), 60)
        )
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts the exit code.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.status.code(), Some(code), "expected exit code {code}\n{}", self.dump());
        self
    }

    /// stdout parsed as JSON lines (see [`parse_json_lines`]).
    pub fn json(&self) -> Vec<Value> {
        parse_json_lines(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{}", self.dump()))
    }

    /// No panic message and no Rust backtrace on stderr.
    pub fn expect_no_panic(&self) {
        let err = self.stderr_text();
        assert!(!err.contains("panicked"), "tracer panicked\n{}", self.dump());
        assert!(
            self.status.signal() != Some(libc::SIGABRT) && self.status.signal() != Some(libc::SIGSEGV),
            "tracer crashed\n{}",
            self.dump()
        );
    }
}

/// A `tracer syscalls ARGS...` command with stdin null and stdout/stderr piped.
pub fn tracer<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(tracer_bin());
    cmd.arg("syscalls").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Runs `tracer syscalls ARGS...` to completion within `deadline`.
pub fn run_tracer<I, S>(args: I, deadline: Deadline) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let what = format!("tracer syscalls {}", args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    Proc::spawn(what, &mut tracer(&args)).wait(deadline)
}

/// Parses JSON lines: every line must be valid UTF-8, parse as a JSON object, and have `"type"` as its first
/// key. Returns the objects in order.
pub fn parse_json_lines(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() && i == bytes.split(|&b| b == b'\n').count() - 1 {
            continue; // after the final newline
        }
        let text = std::str::from_utf8(line).map_err(|e| format!("line {}: not UTF-8 ({e}): {line:?}", i + 1))?;
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("line {} is not JSON ({e}): {text:?}", i + 1))?;
        if !value.is_object() {
            return Err(format!("line {} is not a JSON object: {text}", i + 1));
        }
        let after_brace = text.strip_prefix('{').unwrap_or("").trim_start();
        if !after_brace.starts_with("\"type\"") {
            return Err(format!("line {}: \"type\" is not the first key: {text}", i + 1));
        }
        if !value["type"].is_string() {
            return Err(format!("line {}: \"type\" is not a string: {text}", i + 1));
        }
        out.push(value);
    }
    Ok(out)
}

/// Field accessors that panic with the object in the message.
pub fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or_else(|| panic!("missing field {key:?} in {v}"))
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    field(v, key).as_str().unwrap_or_else(|| panic!("field {key:?} is not a string in {v}"))
}

pub fn i64_field(v: &Value, key: &str) -> i64 {
    field(v, key).as_i64().unwrap_or_else(|| panic!("field {key:?} is not an integer in {v}"))
}

pub fn u64_field(v: &Value, key: &str) -> u64 {
    field(v, key).as_u64().unwrap_or_else(|| panic!("field {key:?} is not an unsigned integer in {v}"))
}

/// The `args` of a syscall/blocked object as strings.
pub fn args_of(v: &Value) -> Vec<&str> {
    field(v, "args")
        .as_array()
        .unwrap_or_else(|| panic!("args is not an array in {v}"))
        .iter()
        .map(|a| a.as_str().unwrap_or_else(|| panic!("an arg is not a string in {v}")))
        .collect()
}

pub fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// `syscall` objects named `name` (and of process `pid`, when given).
pub fn calls<'a>(events: &'a [Value], name: &str, pid: Option<u32>) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == "syscall" && e["name"] == name)
        .filter(|e| pid.is_none_or(|p| e["pid"] == p))
        .collect()
}

/// Checks the fields every `syscall` object must have, with the right JSON types, and that timestamps are
/// wall-clock nanoseconds near now.
pub fn check_syscall_shape(e: &Value) {
    for key in ["ts_ns", "pid", "tid", "nr"] {
        assert!(field(e, key).is_u64() || field(e, key).is_i64(), "{key} must be an integer: {e}");
    }
    str_field(e, "comm");
    str_field(e, "name");
    args_of(e);
    // exit and exit_group never return: null, as strace's `= ?`.
    let never_returns = matches!(e["name"].as_str(), Some("exit" | "exit_group"));
    assert!(field(e, "ret").is_i64() || never_returns && e["ret"].is_null(), "ret must be an integer: {e}");
    assert!(field(e, "errno").is_null() || field(e, "errno").is_string(), "errno must be a string or null: {e}");
    assert!(
        field(e, "duration_ns").is_null() || field(e, "duration_ns").is_u64(),
        "duration_ns must be an unsigned integer or null: {e}"
    );
    check_ts(e);
}

/// `ts_ns` must be wall-clock time (ns since the epoch) within a minute of now.
pub fn check_ts(e: &Value) {
    let ts = u64_field(e, "ts_ns") as i128;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i128;
    assert!((now - ts).abs() < 60_000_000_000, "ts_ns {ts} is not within a minute of now ({now}): {e}");
}

/// No `lost` objects and, in a summary, `lost` 0.
pub fn check_nothing_lost(events: &[Value], dump: &dyn Fn() -> String) {
    let lost = of_type(events, "lost");
    assert!(lost.is_empty(), "events were lost: {lost:?}\n{}", dump());
    for s in of_type(events, "summary") {
        assert_eq!(s["lost"], 0, "summary reports lost events: {s}\n{}", dump());
    }
}

/// One row of a `strace -c` style table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    pub calls: u64,
    pub errors: u64,
}

/// Parses a `strace -c` table (`% time  seconds  usecs/call  calls  errors syscall`) into name -> row. The
/// `total` row is returned under the name "total". Lines outside the table are ignored.
pub fn parse_summary_table(text: &str) -> Result<BTreeMap<String, SummaryRow>, String> {
    let mut rows = BTreeMap::new();
    let mut in_table = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("% time") {
            let cols: Vec<&str> = trimmed.split_whitespace().collect();
            let want = ["%", "time", "seconds", "usecs/call", "calls", "errors", "syscall"];
            if cols != want {
                return Err(format!("unexpected header {line:?}"));
            }
            in_table = true;
            continue;
        }
        if !in_table || trimmed.is_empty() || trimmed.starts_with("---") {
            continue;
        }
        let cols: Vec<&str> = trimmed.split_whitespace().collect();
        let (calls, errors, name) = match cols.len() {
            6 => (cols[3], cols[4], cols[5]),
            5 => (cols[3], "0", cols[4]),
            _ => return Err(format!("unexpected table row {line:?}")),
        };
        for (i, c) in cols[..3].iter().enumerate() {
            if c.parse::<f64>().is_err() {
                return Err(format!("column {} of {line:?} is not a number", i + 1));
            }
        }
        let row = SummaryRow {
            calls: calls.parse().map_err(|_| format!("bad calls in {line:?}"))?,
            errors: errors.parse().map_err(|_| format!("bad errors in {line:?}"))?,
        };
        if rows.insert(name.to_string(), row).is_some() {
            return Err(format!("syscall {name} appears twice"));
        }
    }
    if !in_table {
        return Err("no table header".into());
    }
    if !rows.contains_key("total") {
        return Err("no total row".into());
    }
    Ok(rows)
}

/// Per-name differences between two summaries, for a readable failure message.
pub fn summary_diff(a: &BTreeMap<String, SummaryRow>, b: &BTreeMap<String, SummaryRow>) -> Vec<String> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| format!("{n}: {:?} vs {:?}", a.get(n), b.get(n)))
        .collect()
}

/// The syscall a thread is in according to /proc (the first field of /proc/PID/task/TID/syscall), with the
/// whole line.
pub fn proc_syscall(pid: u32, tid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok().map(|s| s.trim().to_string())
}

/// Waits until a thread is inside syscall `nr` (per /proc); returns the /proc line.
pub fn wait_in_syscall(pid: u32, tid: u32, nrs: &[u32], deadline: Deadline) -> String {
    loop {
        if let Some(line) = proc_syscall(pid, tid)
            && let Some(first) = line.split_whitespace().next()
            && nrs.iter().any(|nr| first == nr.to_string())
        {
            return line;
        }
        if deadline.expired() {
            panic!("thread {tid} of {pid} never entered syscall {nrs:?}; /proc says {:?}", proc_syscall(pid, tid));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A pid that no process has: from above the kernel's pid_max, checked against /proc anyway.
pub fn unused_pid() -> u32 {
    let pid = 999_999_999;
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    pid
}

/// Lines of a text file (panics if it cannot be read).
pub fn read_lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).lines().map(str::to_string).collect()
}

/// `tracer SUBCOMMAND ARGS...` with stdin null and stdout/stderr piped.
pub fn tracer_command(subcommand: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(tracer_bin());
    cmd.arg(subcommand)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

pub fn is_ready_json(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v["type"] == "ready")
}

/// Starts `tracer SUBCOMMAND --json ARGS...` and waits for its ready object.
pub fn start_json(subcommand: &str, args: &[&str], dl: Deadline) -> Proc {
    start_json_snapshot(subcommand, args, dl.within(std::time::Duration::from_secs(20))).0
}

/// Starts `tracer SUBCOMMAND --json ARGS...` and waits for its ready object; returns it with the objects printed
/// before `ready` (the command's snapshot), each checked to be JSON.
pub fn start_json_snapshot<S: AsRef<str>>(subcommand: &str, args: &[S], dl: Deadline) -> (Proc, Vec<Value>) {
    let mut all = vec!["--json"];
    all.extend(args.iter().map(AsRef::as_ref));
    let tracer = Proc::spawn(format!("tracer {subcommand} {}", all.join(" ")), &mut tracer_command(subcommand, &all));
    let mut before = Vec::new();
    let ready = tracer.out().wait_for(dl, |line| {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if value["type"] == "ready" {
            return true;
        }
        before.push(value);
        false
    });
    assert!(ready.is_some(), "tracer never printed its ready object\n{}", tracer.dump());
    (tracer, before)
}

/// python3 allocating 256 MiB in a memory cgroup of its own (cgroup v1, `/sys/fs/cgroup/memory`) limited to 32
/// MiB, without swap here: the OOM killer kills it. Its pid, and the cgroup's `oom_kill` count from
/// `memory.oom_control` (the kernel's own count: the oracle).
#[allow(dead_code)]
pub fn oom_killed_python(test: &str, dl: Deadline) -> (u32, u64) {
    let cgroup = PathBuf::from(format!("/sys/fs/cgroup/memory/tracer-test-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir(&cgroup);
    std::fs::create_dir(&cgroup)
        .unwrap_or_else(|e| panic!("{}: {e} (a cgroup v1 memory hierarchy?)", cgroup.display()));
    std::fs::write(cgroup.join("memory.limit_in_bytes"), (32u64 << 20).to_string()).expect("memory.limit_in_bytes");
    let script =
        format!("echo $$ > {}/cgroup.procs && exec /usr/bin/python3 -c 'a = b\"x\" * (256 << 20)'", cgroup.display());
    let mut child = Command::new("sh").args(["-c", &script]).stderr(Stdio::null()).spawn().expect("sh");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "python3 past its cgroup's limit: {status}");
    let control = std::fs::read_to_string(cgroup.join("memory.oom_control")).expect("memory.oom_control");
    let kills = control
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no oom_kill in memory.oom_control:\n{control}"));
    // Empty once the killed process is reaped (just done), but the kernel may take a moment to uncharge it.
    while std::fs::remove_dir(&cgroup).is_err() && !dl.expired() {
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.id(), kills)
}

/// Debian's `redis-server` on 127.0.0.1:`port`, in the foreground, no persistence; waits until it accepts.
pub fn start_redis(port: u16, deadline: Deadline) -> Proc {
    start_redis_in(port, &scratch_dir("redis"), deadline)
}

/// `start_redis` with its working directory (where SAVE and BGSAVE write `dump.rdb`) in `dir`.
pub fn start_redis_in(port: u16, dir: &Path, deadline: Deadline) -> Proc {
    let mut cmd = Command::new("redis-server");
    cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--dir", dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let redis = Proc::spawn(format!("redis-server --port {port}"), &mut cmd);
    let ready = redis.out().wait_for(deadline, |l| l.contains("Ready to accept connections"));
    assert!(ready.is_some(), "redis-server did not start\n{}", redis.dump());
    redis
}

/// The children of a single-threaded process (its main thread's, from /proc/PID/task/PID/children).
pub fn children(pid: u32) -> std::collections::BTreeSet<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// The uid of user `name`, from /etc/passwd.
pub fn user_uid(name: &str) -> u32 {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.split(':').next() == Some(name));
    let line = line.unwrap_or_else(|| panic!("no user {name} in /etc/passwd"));
    line.split(':').nth(2).unwrap().parse().unwrap()
}

/// Debian's nginx (nginx-light) serving 127.0.0.1:`port` as it is run in production: a master as root and
/// `workers` workers as www-data sharing its listener (of backlog `backlog`). Stopped, workers too, when dropped.
pub struct Nginx {
    pub master: Proc,
    pub workers: std::collections::BTreeSet<u32>,
}

impl Nginx {
    pub fn start(port: u16, workers: usize, backlog: u32, deadline: Deadline) -> Nginx {
        assert!(
            Path::new("/usr/sbin/nginx").exists(),
            "this test needs Debian's nginx (apt-get install nginx-light; cargo xtask setup installs it)"
        );
        let dir = scratch_dir(&format!("nginx-{port}"));
        let d = dir.display();
        std::fs::write(
            dir.join("nginx.conf"),
            format!(
                "user www-data;\nworker_processes {workers};\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};\n\
                 server {{ listen 127.0.0.1:{port} backlog={backlog}; return 200; }} }}\n"
            ),
        )
        .unwrap();
        let master = Proc::spawn(
            format!("nginx on port {port}"),
            Command::new("/usr/sbin/nginx")
                .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let mpid = master.pid();
        // Workers as www-data: forked, then switched to www-data (every uid: real, effective, saved, fs).
        let uid = user_uid("www-data").to_string();
        let www_data = |pid: &u32| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .is_ok_and(|s| s.lines().any(|l| l.split_whitespace().eq(["Uid:", &uid, &uid, &uid, &uid])))
        };
        loop {
            let children = children(mpid);
            if children.len() == workers && children.iter().all(www_data) {
                return Nginx { master, workers: children };
            }
            assert!(!deadline.expired(), "nginx never started {workers} workers as www-data\n{}", master.dump());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Nginx {
    /// The new workers once a reload (SIGHUP to the master, sent by the caller) replaced them all: as many as
    /// before, none of the old ones, and every old one gone.
    pub fn reloaded(&self, deadline: Deadline) -> std::collections::BTreeSet<u32> {
        let mpid = self.master.pid();
        let wait_until = deadline.within(Duration::from_secs(15));
        loop {
            let now = children(mpid);
            let old_gone = self.workers.iter().all(|w| !Path::new(&format!("/proc/{w}")).exists());
            if now.len() == self.workers.len() && now.is_disjoint(&self.workers) && old_gone {
                return now;
            }
            assert!(!wait_until.expired(), "nginx never replaced its workers\n{}", self.master.dump());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers (killed alone, it would leave them holding the port).
        self.master.signal(libc::SIGTERM);
        self.master.try_wait_until(Deadline::new(Duration::from_secs(5)));
    }
}

/// The bytes a JSON name stands for: its `<field>_hex` sibling when there is one (the bytes were not UTF-8, and
/// the string shows them lossily), else the string itself.
pub fn name_bytes(record: &serde_json::Value, field: &str) -> Vec<u8> {
    match record.get(format!("{field}_hex")).and_then(|h| h.as_str()) {
        Some(hex) => unhex(hex),
        None => {
            record[field].as_str().unwrap_or_else(|| panic!("{field} is not a string: {record}")).as_bytes().to_vec()
        }
    }
}

/// `636f6cff` as bytes.
pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

/// A root filesystem of Debian's busybox-static alone, with a link to busybox for each of `applets` in /bin
/// (podman runs it with `--rootfs`: no image, no registry).
#[allow(dead_code)]
pub fn busybox_rootfs(test: &str, applets: &[&str]) -> PathBuf {
    let root = scratch_dir(test).join("rootfs");
    for dir in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let busybox = Path::new("/bin/busybox");
    let file = Command::new("file").arg("-L").arg(busybox).output().expect("file(1) runs (scripts/setup.sh)");
    assert!(
        String::from_utf8_lossy(&file.stdout).contains("statically linked"),
        "/bin/busybox must be Debian's busybox-static (scripts/setup.sh installs it)"
    );
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for link in applets {
        let _ = std::fs::remove_file(root.join("bin").join(link));
        std::os::unix::fs::symlink("busybox", root.join("bin").join(link)).unwrap();
    }
    root
}

/// A network namespace `ip netns add` made (loopback up), deleted when dropped, even by a failed test.
#[allow(dead_code)]
pub struct NamedNetns {
    pub name: String,
}

#[allow(dead_code)]
impl NamedNetns {
    pub fn add(test: &str) -> NamedNetns {
        let name = format!("tracer-{test}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "delete", &name]).stderr(Stdio::null()).status();
        let added = Command::new("ip").args(["netns", "add", &name]).status().expect("ip netns add (iproute2)");
        assert!(added.success(), "ip netns add {name}");
        let ns = NamedNetns { name };
        let up = Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]).status().unwrap();
        assert!(up.success(), "ip -n {} link set lo up", ns.name);
        ns
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// Its inode number, as /proc/PID/ns/net links name it (`net:[INODE]`).
    pub fn inode(&self) -> u64 {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(self.path()).unwrap().ino()
    }

    /// `ip netns exec NAME PROGRAM ARGS...`: the program runs in it (ip execs it: same pid).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.name]).status();
    }
}

/// A podman container running detached from a busybox root filesystem, in a network namespace of its own
/// (`--network none`: loopback only); removed when dropped, even by a failed test.
#[allow(dead_code)]
pub struct Container {
    pub name: String,
    /// Its full id, as podman prints it.
    pub id: String,
}

#[allow(dead_code)]
impl Container {
    pub fn run(test: &str, root: &Path, command: &[&str]) -> Container {
        let name = format!("tracer-{test}-{}", std::process::id());
        let _ = Command::new("podman").args(["rm", "-f", "-t", "0", &name]).stdout(Stdio::null()).status();
        let mut cmd = Command::new("podman");
        cmd.args(["--runtime", "runc", "run", "--rm", "-d", "--network", "none", "--name", &name]);
        // podman raises RLIMIT_NOFILE/NPROC unless told: without CAP_SYS_RESOURCE here that fails (tests/dist.rs).
        cmd.args(["--ulimit", "nofile=8192:8192", "--ulimit", "nproc=8192:8192", "--rootfs"]).arg(root);
        cmd.args(command);
        let started = cmd.output().expect("podman (apt-get install podman)");
        assert!(started.status.success(), "podman run -d: {}", String::from_utf8_lossy(&started.stderr));
        let id = String::from_utf8_lossy(&started.stdout).trim().to_string();
        Container { name, id }
    }

    /// The host pid of its first process.
    pub fn pid(&self) -> u32 {
        let out = Command::new("podman").args(["inspect", "-f", "{{.State.Pid}}", &self.name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("podman inspect: {out:?}"))
    }

    /// `nsenter -t PID -n PROGRAM`: the program runs in the container's network namespace (the host's tools).
    pub fn netns_command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.pid().to_string(), "-n", program]);
        cmd
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rm", "-f", "-t", "0", &self.name]).stdout(Stdio::null()).status();
    }
}
