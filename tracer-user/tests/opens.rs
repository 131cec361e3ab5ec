//! End-to-end tests of `tracer opens`: real eBPF programs loaded and attached (run as root), real opens made by the
//! `workload` example, and `lsof` as the oracle for the snapshot.
//!
//! Tests run in parallel, each in its own scratch directory. Each watches a sentinel file besides what it tests
//! and opens it last: the ring buffer keeps the order of the opens, so once the sentinel is seen every earlier
//! open has been reported, and counts can be exact.

mod common;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use common::*;
use serde_json::Value;

fn scratch(test: &str) -> PathBuf {
    scratch_dir(&format!("opens-{test}")).canonicalize().expect("canonical scratch dir")
}

fn s(path: &Path) -> String {
    path.to_str().expect("UTF-8 test path").to_string()
}

/// `tracer opens --json ARGS...`, started and ready; returns it with the objects printed before `ready`.
fn start(args: &[String], deadline: Deadline) -> (Proc, Vec<Value>) {
    start_json_snapshot("opens", args, deadline)
}

/// Runs `workload ARGS...` to completion; returns its pid and what it printed.
fn workload_run(args: &[&str], deadline: Deadline) -> (u32, String) {
    let mut cmd = Command::new(workload());
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let proc = Proc::spawn(format!("workload {}", args.join(" ")), &mut cmd);
    let pid = proc.pid();
    let out = proc.wait(deadline);
    out.expect_code(0);
    (pid, out.stdout_text())
}

/// Opens the sentinel, waits for its event, stops the tracer; returns every object printed after `ready`.
fn finish(tracer: Proc, sentinel: &Path, deadline: Deadline) -> Vec<Value> {
    workload_run(&["open", &s(sentinel)], deadline);
    let want = s(sentinel);
    let seen = tracer.out().wait_for(deadline, |line| {
        serde_json::from_str::<Value>(line).is_ok_and(|v| v["type"] == "open" && v["path"] == want.as_str())
    });
    assert!(seen.is_some(), "the sentinel open was not reported\n{}", tracer.dump());
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(deadline);
    out.expect_no_panic();
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &|| out.dump());
    let ready = events.iter().position(|e| e["type"] == "ready").expect("ready");
    let live: Vec<Value> = events[ready + 1..].iter().filter(|e| e["path"] != want.as_str()).cloned().collect();
    for e in live.iter().filter(|e| e["type"] != "rename") {
        check_open_shape(e);
    }
    live
}

fn check_open_shape(e: &Value) {
    assert_eq!(e["type"], "open", "{e}");
    check_ts(e);
    for key in ["pid", "tid", "uid"] {
        u64_field(e, key);
    }
    for key in ["comm", "path", "requested", "flags", "call"] {
        str_field(e, key);
    }
    assert!(e["user"].is_null() || e["user"].is_string(), "user: a name or null (none): {e}");
    assert!(e["fd"].is_null() || e["fd"].is_i64(), "{e}");
    assert!(e["errno"].is_null() || e["errno"].is_string(), "{e}");
    assert!(e["fd"].is_null() != e["errno"].is_null(), "exactly one of fd and errno: {e}");
    assert!(e["path_resolved"].is_boolean() && e["path_verified"].is_boolean(), "{e}");
}

#[test]
fn holder_and_every_spelling_of_the_path_and_not_the_decoys() {
    let deadline = Deadline::test();
    let dir = scratch("spellings");
    let target = dir.join("target");
    let sentinel = dir.join("sentinel");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join("other")).unwrap();
    for f in [&target, &sentinel, &dir.join("decoy"), &dir.join("other/target")] {
        std::fs::write(f, b"x").unwrap();
    }
    // Holds the file before the tracer starts.
    let mut cmd = Command::new(workload());
    cmd.args(["hold", &s(&target)]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut holder = Proc::spawn("workload hold", &mut cmd);
    let line = holder.out().wait_for(deadline, |l| l.starts_with("holding fd=")).expect("holder started");
    let held_fd: i64 = line["holding fd=".len()..].parse().unwrap();

    let (tracer, before) = start(&[s(&target), s(&sentinel)], deadline);
    let holders: Vec<&Value> = before.iter().filter(|v| v["type"] == "holder").collect();
    assert_eq!(holders.len(), 1, "one holder: {before:?}\n{}", tracer.dump());
    let h = holders[0];
    assert_eq!(h["source"], "snapshot", "{h}");
    assert_eq!(h["pid"], holder.pid(), "{h}");
    assert_eq!(h["fd"], held_fd, "{h}");
    assert_eq!(h["mode"], "r", "{h}");
    assert_eq!(h["path"], s(&target), "{h}");
    assert_eq!(h["comm"], "workload", "{h}");
    assert_eq!(h["user"], "root", "{h}");

    let d = s(&dir);
    let mut expected = Vec::new();
    for (args, requested) in [
        (vec!["open", &s(&target)][..].to_vec(), s(&target)),
        (vec!["chdir-open", &d, "target"], "target".to_string()),
        (vec!["openat-dirfd", &d, "target"], "target".to_string()),
        (vec!["chdir-open", &s(&dir.join("sub")), "../target"], "../target".to_string()),
        (vec!["chdir-open", &s(&dir.join("sub")), "./.././sub/../target"], "./.././sub/../target".to_string()),
    ] {
        let (pid, out) = workload_run(&args, deadline);
        assert!(out.starts_with("open=") && !out.starts_with("open=-1"), "{args:?}: {out}");
        expected.push((pid, requested));
    }
    // Decoys: another file in the same directory, a file of the same name elsewhere (absolute and relative).
    workload_run(&["open", &s(&dir.join("decoy"))], deadline);
    workload_run(&["open", &s(&dir.join("other/target"))], deadline);
    workload_run(&["chdir-open", &s(&dir.join("other")), "target"], deadline);
    workload_run(&["chdir-open", &d, "sub/../other/target"], deadline);

    let live = finish(tracer, &sentinel, deadline);
    let opens: Vec<&Value> = live.iter().filter(|e| e["type"] == "open").collect();
    assert_eq!(opens.len(), expected.len(), "exactly the opens of the target: {opens:#?}");
    for (e, (pid, requested)) in opens.iter().zip(&expected) {
        assert_eq!(e["pid"], *pid, "{e}");
        assert_eq!(e["path"], s(&target), "resolved absolute path: {e}");
        assert_eq!(e["requested"], requested.as_str(), "{e}");
        assert_eq!(e["path_resolved"], true, "{e}");
        assert_eq!(e["path_verified"], true, "{e}");
        assert_eq!(e["errno"], Value::Null, "{e}");
        assert_eq!(e["flags"], "O_RDONLY|O_CLOEXEC", "{e}");
        assert_eq!(e["comm"], "workload", "{e}");
        assert_eq!(e["watch"], s(&target), "{e}");
        assert!(e["fd"].as_i64().is_some_and(|fd| fd >= 3), "{e}");
        assert!(e["duration_ns"].is_u64(), "{e}");
    }
    holder.send("done\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_opens_show_their_errno_and_a_created_file_is_caught() {
    let deadline = Deadline::test();
    let dir = scratch("failed");
    let new = dir.join("new");
    let secret = dir.join("secret");
    let sentinel = dir.join("sentinel");
    std::fs::write(&sentinel, b"x").unwrap();
    std::fs::write(&secret, b"x").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let (tracer, _) = start(&[s(&new), s(&secret), s(&sentinel)], deadline);
    let (enoent_abs, _) = workload_run(&["open", &s(&new)], deadline);
    let (enoent_rel, _) = workload_run(&["chdir-open", &s(&dir), "new"], deadline);
    let (eacces, out) = workload_run(&["drop-privileges", "open", &s(&secret)], deadline);
    assert_eq!(out.trim(), "open=-1 errno=13", "nobody cannot read the secret");
    let (created, _) = workload_run(&["create", &s(&new)], deadline);
    let (reopened, _) = workload_run(&["open", &s(&new)], deadline);
    // A uid with no name in /etc/passwd: `user` is null, never the number dressed as a name.
    let nameless = Command::new("setpriv")
        .args(["--reuid=4000012", "--regid=4000012", "--clear-groups", "cat"])
        .arg(&new)
        .spawn()
        .expect("setpriv runs");
    let nameless_pid = nameless.id();
    assert!(nameless.wait_with_output().unwrap().status.success());
    // A same-named missing file elsewhere is not the watched one.
    workload_run(&["open", "/nonexistent-tracer-opens-test/new"], deadline);

    let live = finish(tracer, &sentinel, deadline);
    let summary: Vec<(u64, &str, Value)> =
        live.iter().map(|e| (u64_field(e, "pid"), str_field(e, "path"), e["errno"].clone())).collect();
    let new_s = s(&new);
    let secret_s = s(&secret);
    assert_eq!(
        summary,
        vec![
            (enoent_abs as u64, new_s.as_str(), Value::from("ENOENT")),
            (enoent_rel as u64, new_s.as_str(), Value::from("ENOENT")),
            (eacces as u64, secret_s.as_str(), Value::from("EACCES")),
            (created as u64, new_s.as_str(), Value::Null),
            (reopened as u64, new_s.as_str(), Value::Null),
            (nameless_pid as u64, new_s.as_str(), Value::Null),
        ],
        "{live:#?}"
    );
    assert_eq!((live[5]["uid"].as_u64(), &live[5]["user"]), (Some(4_000_012), &Value::Null), "{}", live[5]);
    assert_eq!(live[2]["uid"], 65534, "{}", live[2]);
    assert_eq!(live[2]["user"], "nobody", "{}", live[2]);
    assert_eq!(live[3]["flags"], "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC", "{}", live[3]);
    assert_eq!(live[3]["mode"], "0644", "{}", live[3]);
    assert!(live.iter().all(|e| e["path_resolved"] == true), "{live:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_directory_argument_catches_files_below_it() {
    let deadline = Deadline::test();
    let dir = scratch("directory");
    let watched = dir.join("watched");
    std::fs::create_dir_all(watched.join("deep/er")).unwrap();
    std::fs::create_dir_all(dir.join("watchedx")).unwrap();
    let sentinel = dir.join("sentinel");
    std::fs::write(&sentinel, b"x").unwrap();
    std::fs::write(dir.join("watchedx/file"), b"x").unwrap();

    let (tracer, _) = start(&[format!("{}/", s(&watched)), s(&sentinel)], deadline);
    let created = watched.join("deep/er/newfile");
    let (c, _) = workload_run(&["create", &s(&created)], deadline);
    let (r, _) = workload_run(&["chdir-open", &s(&watched.join("deep")), "er/newfile"], deadline);
    let (m, _) = workload_run(&["open", &s(&watched.join("missing"))], deadline);
    let (mr, _) = workload_run(&["chdir-open", &s(&watched.join("deep")), "missing-too"], deadline);
    // A sibling whose name starts with the watched directory's, and the directory's parent: not below it.
    workload_run(&["open", &s(&dir.join("watchedx/file"))], deadline);
    workload_run(&["chdir-open", &s(&watched), "../watchedx/file"], deadline);

    let live = finish(tracer, &sentinel, deadline);
    let summary: Vec<(u64, String, Value)> =
        live.iter().map(|e| (u64_field(e, "pid"), str_field(e, "path").to_string(), e["errno"].clone())).collect();
    assert_eq!(
        summary,
        vec![
            (c as u64, s(&created), Value::Null),
            (r as u64, s(&created), Value::Null),
            (m as u64, s(&watched.join("missing")), Value::from("ENOENT")),
            (mr as u64, s(&watched.join("deep/missing-too")), Value::from("ENOENT")),
        ],
        "{live:#?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A process with more fds than the table inside its `files_struct` holds (64) has them in a table the kernel
/// allocated: the exit follows that one for the fd an open returns (not the embedded table it reads with `fdt` in
/// one helper call), and so does the walk from the dirfd a failed relative open starts at.
#[test]
fn opens_of_a_process_with_a_grown_fd_table_are_seen() {
    let deadline = Deadline::test();
    let dir = scratch("grown");
    let watched = dir.join("watched");
    let watched_dir = dir.join("dir");
    let sentinel = dir.join("sentinel");
    std::fs::create_dir_all(&watched_dir).unwrap();
    std::fs::write(&watched, b"x").unwrap();
    std::fs::write(&sentinel, b"x").unwrap();

    let (tracer, _) = start(&[s(&watched), format!("{}/", s(&watched_dir)), s(&sentinel)], deadline);
    let (opener, out) = workload_run(&["grow-fds", "100", "open", &s(&watched)], deadline);
    let fd: i64 = out.lines().find_map(|l| l.strip_prefix("open=")?.strip_suffix(" errno=0")?.parse().ok()).unwrap();
    assert!(fd > 100, "the watched file's fd is past the first 64: {out}");
    let (relative, out) = workload_run(&["grow-fds", "100", "openat-dirfd", &s(&watched_dir), "missing"], deadline);
    assert!(out.contains("open=-1 errno=2"), "{out}");

    let live = finish(tracer, &sentinel, deadline);
    let summary: Vec<(u64, &str, Value, Value)> =
        live.iter().map(|e| (u64_field(e, "pid"), str_field(e, "path"), e["fd"].clone(), e["errno"].clone())).collect();
    let missing = s(&watched_dir.join("missing"));
    // The second workload's dirfd: the watched directory itself, opened right after its copies of stdin.
    let dirfd = Value::from(fd);
    assert_eq!(
        summary,
        vec![
            (opener as u64, s(&watched).as_str(), Value::from(fd), Value::Null),
            (relative as u64, s(&watched_dir).as_str(), dirfd, Value::Null),
            (relative as u64, missing.as_str(), Value::Null, Value::from("ENOENT")),
        ],
        "{live:#?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn snapshot_agrees_with_lsof() {
    let deadline = Deadline::test();
    let dir = scratch("lsof");
    let shared = dir.join("shared");
    std::fs::write(&shared, b"x").unwrap();
    let mut holders = Vec::new();
    for i in 0..3 {
        let mut cmd = Command::new(workload());
        cmd.args(["hold", &s(&shared)]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let h = Proc::spawn(format!("holder {i}"), &mut cmd);
        h.out().wait_for(deadline, |l| l.starts_with("holding fd=")).expect("holder started");
        holders.push(h);
    }
    let (tracer, before) = start(&[s(&shared)], deadline);
    tracer.signal(libc::SIGINT);
    tracer.wait(deadline).expect_code(0);
    let ours: BTreeSet<(u64, String)> = before
        .iter()
        .filter(|v| v["type"] == "holder")
        .map(|v| {
            let fd = match &v["fd"] {
                Value::Number(n) => n.to_string(),
                other => other.as_str().unwrap_or("?").to_string(),
            };
            (u64_field(v, "pid"), fd)
        })
        .collect();

    let lsof = Command::new("lsof").args(["-F", "pf", &s(&shared)]).output().expect("lsof runs");
    let mut theirs = BTreeSet::new();
    let mut pid = 0u64;
    for line in String::from_utf8_lossy(&lsof.stdout).lines() {
        match line.split_at(1) {
            ("p", rest) => pid = rest.parse().unwrap(),
            ("f", rest) => {
                theirs.insert((pid, rest.to_string()));
            }
            _ => {}
        }
    }
    assert_eq!(theirs.len(), 3, "lsof sees the three holders: {theirs:?}");
    assert_eq!(ours, theirs, "snapshot vs lsof -F pf {}", shared.display());
    for mut h in holders {
        h.send("done\n");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn text_output_escapes_hostile_names() {
    let deadline = Deadline::test();
    let dir = scratch("text");
    let evil = dir.join("evil\x1b[2Jname");
    std::fs::write(&evil, b"x").unwrap();
    let mut cmd = Command::new(tracer_bin());
    cmd.arg("opens").arg(&evil).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let tracer = Proc::spawn("tracer opens (text)", &mut cmd);
    assert!(tracer.err().wait_for(deadline, |l| l.ends_with("; ready")).is_some(), "{}", tracer.dump());
    workload_run(&["open", &s(&evil)], deadline);
    let line = tracer.out().wait_for(deadline, |l| l.contains("workload")).expect("an open line");
    assert!(line.contains("evil\\x1b[2Jname"), "escaped: {line:?}");
    assert!(!line.contains('\x1b'), "no raw escape: {line:?}");
    assert!(line.contains("O_RDONLY|O_CLOEXEC"), "{line}");
    tracer.signal(libc::SIGINT);
    tracer.wait(deadline).expect_code(0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Opens of hostile names by a Python helper (it can pass any bytes): an invalid byte and the same escape spelled
/// out literally, a bidi override (U+202E, "Trojan Source"), and a name longer than the kernel's 255-byte capture.
/// The long name is relative to the watched directory (its cwd), so the kernel side can tell it is below it.
fn open_hostile_names(dir: &Path, long: &str, deadline: Deadline) -> u32 {
    let script = r#"
import os, sys
d = os.fsencode(sys.argv[1])
for name in (b"col\xff", b"col\\xff", "evil\u202egpj.exe".encode()):
    os.close(os.open(d + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644))
os.chdir(d)
try:
    os.open(sys.argv[2], os.O_RDONLY)
except FileNotFoundError:
    pass
"#;
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.args(["-c", script]).arg(dir).arg(long).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let proc = Proc::spawn("python3 hostile opens", &mut cmd);
    let pid = proc.pid();
    proc.wait(deadline).expect_code(0);
    pid
}

/// Two different files, `col<0xff>` and `col\xff` spelled out, are told apart in JSON (`path_hex` beside the
/// lossy `path`); a bidi override never reaches the terminal raw; a name cut by the kernel's capture is marked
/// (`requested_truncated`, `...` in text) and not reported resolved. Before the fix: both files were
/// `.../col\\xff` and nothing else, U+202E was printed as is, and the cut name was `path_resolved: true`.
#[test]
fn hostile_and_overlong_names_are_unambiguous_and_marked() {
    let deadline = Deadline::test();
    let dir = scratch("hostile");
    let long = format!("{}/{}/{}", "a".repeat(100), "b".repeat(100), "c".repeat(100));
    let sentinel = dir.join("sentinel");
    std::fs::write(&sentinel, b"x").unwrap();
    let (tracer, _) = start(&[format!("{}/", s(&dir))], deadline);
    let pid = open_hostile_names(&dir, &long, deadline);
    let events: Vec<Value> = finish(tracer, &sentinel, deadline).into_iter().filter(|e| e["pid"] == pid).collect();
    let invalid = format!("{}/col\\xff", s(&dir));
    let cols: Vec<&Value> = events.iter().filter(|e| e["path"] == invalid.as_str()).collect();
    assert_eq!(cols.len(), 2, "both files show the same lossy path: {events:?}");
    let hex_of = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut raw = s(&dir).into_bytes();
    raw.extend_from_slice(b"/col\xff");
    assert_eq!(cols[0]["path_hex"], hex_of(&raw), "the invalid byte's file has its bytes: {}", cols[0]);
    assert!(cols[1].get("path_hex").is_none(), "the literal backslash's file is valid UTF-8: {}", cols[1]);
    let cut: Vec<&Value> = events.iter().filter(|e| e["errno"] == "ENOENT").collect();
    assert_eq!(cut.len(), 1, "{events:?}");
    assert_eq!(cut[0]["requested_truncated"], true, "{}", cut[0]);
    assert_eq!(cut[0]["path_resolved"], false, "a cut name names another file: {}", cut[0]);
    assert_eq!(str_field(cut[0], "requested").len(), 255, "{}", cut[0]);
    assert!(long.starts_with(str_field(cut[0], "requested")), "{}", cut[0]);

    let mut cmd = Command::new(tracer_bin());
    cmd.arg("opens").arg(format!("{}/", s(&dir))).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let tracer = Proc::spawn("tracer opens (text)", &mut cmd);
    assert!(tracer.err().wait_for(deadline, |l| l.ends_with("; ready")).is_some(), "{}", tracer.dump());
    let pid = open_hostile_names(&dir, &long, deadline);
    let last = tracer.out().wait_for(deadline, |l| l.contains(" ENOENT ") && l.contains(&format!(" {pid} ")));
    let last = last.unwrap_or_else(|| panic!("no line of the cut name\n{}", tracer.dump()));
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(deadline);
    out.expect_code(0);
    let text = out.stdout_text();
    assert!(!text.contains('\u{202e}'), "a raw bidi override reached the terminal:\n{text}");
    assert!(text.contains("evil\\u202egpj.exe"), "escaped as \\u202e:\n{text}");
    assert!(last.contains("c... (unresolved: longer than the 255 bytes captured)"), "{last}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A python3 holding one of each kind of file lsof names: a regular file at an offset, a deleted file, a pipe, a
/// TCP listener and both ends of a connection to it (IPv4 and IPv6), an IPv6 UDP socket, a connected IPv4 UDP socket,
/// a listening unix socket, a unix socket pair, an abstract unix datagram socket, an eventfd, a pidfd, netlink
/// sockets bound and not, a directory, and a file with a name that is not UTF-8.
const HOLDER_PY: &str = r#"
import os, socket, sys, time
d = sys.argv[1]
f = open(d + "/reg.txt", "w+"); f.write("hello world"); f.flush(); f.seek(5)
g = open(d + "/gone.txt", "w"); g.write("x" * 1234); g.flush(); os.unlink(d + "/gone.txt")
r, w = os.pipe()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::", 0))
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(("127.0.0.1", 0)); u4.connect(("127.0.0.1", 9))
us = socket.socket(socket.AF_UNIX); us.bind(d + "/s.sock"); us.listen()
pair = socket.socketpair()
ev = os.eventfd(0)
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
route = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); route.bind((0, 0))
ab = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); ab.bind(b"\0tracer-test-" + str(os.getpid()).encode())
s6 = socket.socket(socket.AF_INET6); s6.bind(("::1", 0)); s6.listen()
c6 = socket.create_connection(("::1", s6.getsockname()[1])); a6, _ = s6.accept()
dirfd = os.open(d, os.O_RDONLY)
pidfd = os.pidfd_open(os.getpid())
null = os.open("/dev/null", os.O_WRONLY)
odd = os.open(os.fsencode(d) + b"/odd\xff\nname", os.O_RDONLY | os.O_CREAT)
print("ready", srv.getsockname()[1], odd, flush=True)
sys.stdin.read()
"#;

/// One row of lsof's table from `-n -P -p PID` (without COMMAND, which lsof cuts to 9 bytes): PID, USER, FD,
/// TYPE, DEVICE, SIZE/OFF, NODE, NAME. Every row of the processes tested has all columns.
type Row = [String; 8];

fn lsof_rows(args: &[&str]) -> Vec<Row> {
    let out = Command::new("lsof").args(args).output().expect("lsof runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().skip(1).map(|line| split_row(line, 9)).collect()
}

/// Splits a table line: `fields - 1` words, then the NAME (the rest, spaces inside kept, trailing ones not); the
/// first word (COMMAND) is dropped.
fn split_row(line: &str, fields: usize) -> Row {
    split_words(line, fields).try_into().unwrap()
}

fn split_words(line: &str, fields: usize) -> Vec<String> {
    // Blank columns: SIZE/OFF of a mapping of a deleted file (`DEL`), DEVICE of a netlink socket.
    let blank = match line.split_whitespace().nth(3) {
        Some("DEL") => Some(5),
        _ if line.split_whitespace().nth(4) == Some("netlink") => Some(4),
        _ => None,
    };
    match blank {
        Some(at) => {
            let mut words = split_some(line, fields - 1);
            words.insert(at, String::new());
            words
        }
        None => split_some(line, fields),
    }
}

fn split_some(line: &str, fields: usize) -> Vec<String> {
    let mut rest = line.trim_start();
    let mut words = Vec::new();
    for _ in 0..fields - 1 {
        let end = rest.find(' ').unwrap_or_else(|| panic!("short row: {line}"));
        words.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    words.push(rest.trim_end().to_string());
    words.remove(0);
    words
}

/// A `holder` record as lsof's row.
fn json_row(v: &Value) -> Row {
    let fd = match &v["fd"] {
        Value::Number(n) => format!("{n}{}", v["mode"].as_str().unwrap_or("")),
        Value::String(s) if s == "mem" && v["deleted"] == true => "DEL".to_string(),
        Value::String(s) => s.clone(),
        other => panic!("fd {other} in {v}"),
    };
    let size_off = match (&v["size"], &v["offset"]) {
        (Value::Number(n), _) => n.to_string(),
        (Value::Null, Value::Number(n)) => format!("0t{n}"),
        _ => String::new(),
    };
    let node = match v["file_type"].as_str() {
        Some("IPv4" | "IPv6") => v["proto"].as_str().unwrap().to_uppercase(),
        _ => u64_field(v, "inode").to_string(),
    };
    [
        u64_field(v, "pid").to_string(),
        str_field(v, "user").to_string(),
        fd,
        str_field(v, "file_type").to_string(),
        v["device"].as_str().unwrap_or("").to_string(),
        size_off,
        node,
        str_field(v, "name").to_string(),
    ]
}

/// Runs `tracer opens ARGS...` to completion.
fn run_opens<const N: usize>(args: [&str; N], deadline: Deadline) -> common::Output {
    Proc::spawn(format!("tracer opens {}", args.join(" ")), &mut tracer_command("opens", &args)).wait(deadline)
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

/// `tracer opens -p PID...`'s table in JSON and in text, each checked against `lsof -n -P -a -p PID...` row by row;
/// returns the JSON rows.
fn table_against_lsof(pids: &[u32], skip_name: &dyn Fn(&str) -> bool, deadline: Deadline) -> Vec<Value> {
    let list = pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let (tracer, before) = start(&["-p".into(), list.clone()], deadline);
    tracer.signal(libc::SIGINT);
    tracer.wait(deadline).expect_code(0);
    let lsof = sorted(lsof_rows(&["-n", "-P", "-a", "-p", &list]).into_iter().filter(|r| !skip_name(&r[7])).collect());
    assert!(lsof.len() > 10, "lsof lists the processes: {lsof:?}");
    let rows: Vec<&Value> = before.iter().filter(|v| v["type"] == "holder").collect();
    assert_eq!(rows.len(), before.len(), "only holder records before ready: {before:?}");
    for v in &rows {
        assert_eq!(v["source"], "snapshot", "{v}");
    }
    let ours = sorted(rows.iter().map(|v| json_row(v)).filter(|r| !skip_name(&r[7])).collect());
    for (a, b) in ours.iter().zip(&lsof) {
        assert_eq!(a, b, "first differing row: tracer (JSON) vs lsof");
    }
    assert_eq!(ours.len(), lsof.len(), "tracer (JSON) vs lsof:\n{ours:#?}\n{lsof:#?}");

    let mut cmd = Command::new(tracer_bin());
    cmd.args(["opens", "-p", &list]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let tracer = Proc::spawn("tracer opens -p (text)", &mut cmd);
    tracer.err().wait_for(deadline, |l| l.contains("ready")).expect("text tracer ready");
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(deadline);
    out.expect_code(0);
    let stdout = out.stdout_text();
    let mut lines = stdout.lines();
    let head = lines.next().unwrap();
    assert!(head.split_whitespace().eq(["COMMAND", "PID", "USER", "FD", "TYPE", "DEVICE", "SIZE/OFF", "NODE", "NAME"]));
    let text_rows: Vec<Row> =
        lines.take_while(|l| !l.is_empty()).map(|l| split_row(l, 9)).filter(|r| !skip_name(&r[7])).collect();
    assert_eq!(sorted(text_rows), lsof, "tracer (text) vs lsof");
    rows.into_iter().cloned().collect()
}

#[test]
fn pid_table_agrees_with_lsof_row_by_row() {
    let deadline = Deadline::test();
    let dir = scratch("table");
    let mut cmd = Command::new("python3");
    cmd.args(["-c", HOLDER_PY, &s(&dir)]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut holder = Proc::spawn("python3 holder", &mut cmd);
    let ready = holder.out().wait_for(deadline, |l| l.starts_with("ready")).expect("python3 holder ready");
    let words: Vec<&str> = ready.split_whitespace().collect();
    let (port, odd_fd): (u16, i64) = (words[1].parse().unwrap(), words[2].parse().unwrap());
    let pid = holder.pid();
    // lsof prints the non-UTF-8 name its own way: that row is checked below, against the bytes.
    let rows = table_against_lsof(&[pid], &|name| name.contains("odd"), deadline);

    let by_fd = |fd: i64| rows.iter().find(|v| v["fd"] == fd).unwrap_or_else(|| panic!("no fd {fd}: {rows:?}"));
    let odd = by_fd(odd_fd);
    let mut want = dir.as_os_str().as_encoded_bytes().to_vec();
    want.extend_from_slice(b"/odd\xff\nname");
    assert_eq!(name_bytes(odd, "path"), want);
    assert_eq!(name_bytes(odd, "name"), want);
    assert!(odd["path_hex"].is_string() && odd["name_hex"].is_string(), "{odd}");
    // What each kind became, spelled out (lsof agreed with all of it above). The CHR row is the holder's own
    // /dev/null: CI's harness passes no terminal down.
    let kinds: BTreeSet<&str> = rows.iter().filter_map(|v| v["file_type"].as_str()).collect();
    for kind in ["DIR", "REG", "CHR", "FIFO", "IPv4", "IPv6", "unix", "a_inode", "sock", "netlink"] {
        assert!(kinds.contains(kind), "no {kind} row: {kinds:?}");
    }
    let gone = rows.iter().find(|v| v["deleted"] == true && v["fd"].is_number()).expect("the deleted file");
    assert_eq!((gone["size"].as_u64(), gone["nlink"].as_u64()), (Some(1234), Some(0)), "{gone}");
    assert_eq!(gone["path"], s(&dir.join("gone.txt")), "{gone}");
    assert_eq!(gone["name"], format!("{} (deleted)", s(&dir.join("gone.txt"))), "{gone}");
    let listen = rows.iter().find(|v| v["state"] == "LISTEN" && v["proto"] == "tcp").expect("the listener");
    assert_eq!(listen["name"], format!("127.0.0.1:{port} (LISTEN)"));
    let names: BTreeSet<&str> = rows.iter().filter_map(|v| v["name"].as_str()).collect();
    let pidfd = format!("[pidfd:{pid}]");
    let abstract_unix = format!("@tracer-test-{pid} type=DGRAM (UNCONNECTED)");
    for name in ["ROUTE", "protocol: NETLINK", &pidfd, &abstract_unix] {
        assert!(names.contains(name), "no {name}: {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("[eventpoll") || n.starts_with("[eventfd:")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("[::1]:") && n.ends_with("(ESTABLISHED)")), "{names:?}");
    let clients: Vec<&Value> = rows.iter().filter(|v| v["peer_port"] == port).collect();
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!((clients[0]["state"].as_str(), clients[0]["peer_addr"].as_str()), (Some("ESTAB"), Some("127.0.0.1")));
    holder.send("done\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pid_table_of_redis_and_nginx_agrees_with_lsof() {
    let deadline = Deadline::test();
    let redis = start_redis(16391, deadline);
    // A client: redis holds an ESTABLISHED socket to it.
    let client = std::net::TcpStream::connect("127.0.0.1:16391").expect("connecting to redis");
    let rows = table_against_lsof(&[redis.pid()], &|_| false, deadline);
    let local = client.local_addr().unwrap().port();
    let name = format!("TCP 127.0.0.1:16391->127.0.0.1:{local} (ESTABLISHED)");
    assert!(
        rows.iter().any(|v| format!("TCP {}", v["name"].as_str().unwrap()) == name),
        "redis's side of the client connection: {name}"
    );
    drop(client);
    drop(redis);

    let nginx = Nginx::start(16392, 2, 64, deadline);
    let mut pids = vec![nginx.master.pid()];
    pids.extend(nginx.workers.iter().copied());
    let rows = table_against_lsof(&pids, &|_| false, deadline);
    let users: BTreeSet<(u64, &str)> = rows.iter().map(|v| (u64_field(v, "pid"), str_field(v, "user"))).collect();
    assert_eq!(users.len(), 3, "{users:?}");
    for &w in &nginx.workers {
        assert!(users.contains(&(u64::from(w), "www-data")), "{users:?}");
    }
}

#[test]
fn deleted_files_agree_with_lsof_plus_l1() {
    let deadline = Deadline::test();
    let dir = scratch("deleted");
    let mut cmd = Command::new("python3");
    cmd.args(["-c", HOLDER_PY, &s(&dir)]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut holder = Proc::spawn("python3 holder", &mut cmd);
    holder.out().wait_for(deadline, |l| l.starts_with("ready")).expect("python3 holder ready");
    let pid = holder.pid().to_string();

    // Every process: the holder's rows are among them, exactly.
    let all = run_opens(["--deleted", "--json"], deadline);
    all.expect_code(0);
    let all = all.json();
    assert!(all.iter().all(|v| v["type"] == "holder" && v["deleted"] == true && v["nlink"] == 0), "{all:?}");
    let of_holder: Vec<Row> = all.iter().filter(|v| v["pid"] == holder.pid()).map(json_row).collect();
    let lsof: Vec<Row> = {
        let out = Command::new("lsof").args(["-n", "-P", "+L1", "-a", "-p", &pid]).output().expect("lsof runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .skip(1)
            .map(|l| {
                // PID USER FD TYPE DEVICE SIZE/OFF NLINK NODE NAME: NLINK checked (0), then dropped.
                let mut r = split_words(l, 10);
                assert_eq!(r[6], "0", "{l}");
                r.remove(6);
                r.try_into().unwrap()
            })
            .collect()
    };
    assert_eq!(lsof.len(), 1, "lsof +L1 sees the deleted file: {lsof:?}");
    assert_eq!(sorted(of_holder.clone()), sorted(lsof), "tracer opens --deleted vs lsof +L1");

    // -p: the same rows alone.
    let one = run_opens(["--deleted", "--json", "-p", &pid], deadline);
    one.expect_code(0);
    assert_eq!(one.json().iter().map(json_row).collect::<Vec<_>>(), of_holder);
    // Text: lsof +L1's columns.
    let text = run_opens(["--deleted", "-p", &pid], deadline);
    text.expect_code(0);
    let stdout = text.stdout_text();
    let head = stdout.lines().next().unwrap();
    assert!(
        head.split_whitespace()
            .eq(["COMMAND", "PID", "USER", "FD", "TYPE", "DEVICE", "SIZE/OFF", "NLINK", "NODE", "NAME"])
    );
    assert!(stdout.contains(&format!("{} (deleted)", s(&dir.join("gone.txt")))), "{stdout}");
    holder.send("done\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sockets_of_a_process_in_another_network_namespace_are_named_from_it() {
    let deadline = Deadline::test();
    // python3 in a network namespace of its own (lsof, reading its own /proc/net, shows these as `sock`).
    let script = "import socket, sys\ns = socket.socket(); s.bind(('127.0.0.1', 7777)); s.listen()\n\
                  c = socket.create_connection(('127.0.0.1', 7777)); a, _ = s.accept()\n\
                  print('ready', c.getsockname()[1], flush=True); sys.stdin.read()\n";
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "sh", "-c", "ip link set lo up && exec python3 -c \"$0\"", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let holder = Proc::spawn("python3 in its own network namespace", &mut cmd);
    let ready = holder.out().wait_for(deadline, |l| l.starts_with("ready")).expect("python3 ready");
    let client_port: u16 = ready.split_whitespace().nth(1).unwrap().parse().unwrap();
    let pid = holder.pid().to_string();
    let (tracer, before) = start(&["-p".into(), pid.clone()], deadline);
    tracer.signal(libc::SIGINT);
    tracer.wait(deadline).expect_code(0);
    let mut ours: Vec<(String, String)> = before
        .iter()
        .filter(|v| v["proto"] == "tcp")
        .map(|v| (str_field(v, "name").to_string(), v["inode"].to_string()))
        .collect();
    ours.sort();
    // ss inside that namespace: the oracle for addresses, states and inodes.
    let ss = Command::new("nsenter").args(["-t", &pid, "-n", "ss", "-Htane"]).output().expect("nsenter ss");
    let ss = String::from_utf8_lossy(&ss.stdout).into_owned();
    let mut theirs: Vec<(String, String)> = ss
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let state = match w[0] {
                "LISTEN" => "LISTEN",
                "ESTAB" => "ESTABLISHED",
                other => panic!("unexpected state {other}: {l}"),
            };
            let inode = w.iter().find_map(|f| f.strip_prefix("ino:")).expect("ino: in ss -e");
            let name =
                if w[0] == "LISTEN" { format!("{} ({state})", w[3]) } else { format!("{}->{} ({state})", w[3], w[4]) };
            (name, inode.to_string())
        })
        .collect();
    theirs.sort();
    assert_eq!(theirs.len(), 3, "{ss}");
    assert_eq!(ours, theirs, "tracer opens -p vs ss -tane in the process's namespace");
    assert!(ours.iter().any(|(n, _)| *n == format!("127.0.0.1:{client_port}->127.0.0.1:7777 (ESTABLISHED)")));
}

/// The renames, links and symlinks a Python script makes onto and away from a watched `dump.rdb` (every call of
/// the family, relative, absolute, through a dirfd and through `sub/..`, plus a failed one and decoys with the same
/// base name elsewhere), against strace's record of the same run: exactly the successful calls whose new name is
/// the watched path are reported, in order, with the same call, old name and new name.
const RENAMES: &str = r#"
import ctypes, os
W = "dump.rdb"
D = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
libc = ctypes.CDLL(None, use_errno=True)
def mk(name):
    with open(name, "w") as f:
        f.write(name)
mk("a1"); os.rename("a1", W)
mk("a2"); os.rename("a2", os.path.abspath(W))
mk("a3"); os.rename("a3", W, src_dir_fd=D, dst_dir_fd=D)
# glibc's renameat2 with no flags calls renameat: the syscall itself (x86_64's number).
mk("a4"); assert libc.syscall(316, D, b"a4", D, W.encode(), 0) == 0
os.rename(W, "away1")
mk("a5"); os.link("a5", W)
os.unlink(W)
mk("a6"); os.link("a6", W, src_dir_fd=D, dst_dir_fd=D)
os.rename(W, "away2", src_dir_fd=D, dst_dir_fd=D)
os.symlink("away1", W)
os.unlink(W)
os.symlink("away2", W, dir_fd=D)
os.link(W, "away3", follow_symlinks=False)
try:
    os.rename("missing", W)
except FileNotFoundError:
    pass
os.mkdir("sub")
mk("a7"); os.rename("a7", "sub/../" + W)
mk("a8"); os.rename("a8", "sub/" + W)
mk("b1"); os.rename("b1", "other")
os.symlink("away1", "sub/link")
"#;

/// (pid, call, old name, new name as passed) of the rename family's successful calls in strace's output.
fn strace_renames(text: &str) -> Vec<(u64, String, String, String)> {
    let mut calls = Vec::new();
    for line in text.lines() {
        let (pid, rest) = line.split_once(' ').unwrap();
        let Some((call, args)) = rest.split_once('(') else { continue };
        if !args.trim_end().ends_with("= 0") {
            continue;
        }
        let quoted: Vec<&str> = args.split('"').skip(1).step_by(2).collect();
        assert_eq!(quoted.len(), 2, "{line}");
        calls.push((pid.parse().unwrap(), call.trim().to_string(), quoted[0].to_string(), quoted[1].to_string()));
    }
    calls
}

#[test]
fn renames_and_links_onto_a_watched_path_agree_with_strace() {
    let deadline = Deadline::test();
    let dir = scratch("renames");
    let watched = dir.join("dump.rdb");
    let sentinel = dir.join("sentinel");
    let (tracer, _) = start(&[s(&watched), s(&sentinel)], deadline);
    let trace = dir.join("strace.out");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o", &s(&trace), "-e", "trace=rename,renameat,renameat2,link,linkat,symlink,symlinkat"])
        .args(["python3", "-c", RENAMES])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    // A uid with no name in /etc/passwd renames onto it too: `user` is null, as for an open.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(dir.join("n1"), "n1").unwrap();
    let nameless = Command::new("setpriv")
        .args(["--reuid=4000013", "--regid=4000013", "--clear-groups", "mv"])
        .args([dir.join("n1"), watched.clone()])
        .spawn()
        .expect("setpriv runs");
    let nameless_pid = u64::from(nameless.id());
    assert!(nameless.wait_with_output().unwrap().status.success());
    let mut events = finish(tracer, &sentinel, deadline);
    let by_nameless: Vec<Value> = events.iter().filter(|e| e["pid"] == nameless_pid).cloned().collect();
    events.retain(|e| e["pid"] != nameless_pid);
    let renamed: Vec<&Value> = by_nameless.iter().filter(|e| e["type"] == "rename").collect();
    assert_eq!(renamed.len(), 1, "{by_nameless:#?}");
    let e = renamed[0];
    assert_eq!((u64_field(e, "uid"), &e["user"], str_field(e, "comm")), (4000013, &Value::Null, "mv"), "{e}");
    assert_eq!((str_field(e, "old"), str_field(e, "path")), (s(&dir.join("n1")).as_str(), s(&watched).as_str()));
    let oracle = strace_renames(&std::fs::read_to_string(&trace).unwrap());
    // Every dirfd of the script is its cwd, `dir`: a new name is the watched path when it resolves to it.
    let onto = |new: &str| {
        let path = if new.starts_with('/') { PathBuf::from(new) } else { dir.join(new) };
        let parent = path.parent().unwrap().canonicalize().unwrap();
        parent.join(path.file_name().unwrap()) == watched
    };
    let expected: Vec<(u64, String, String, String)> = oracle.iter().filter(|c| onto(&c.3)).cloned().collect();
    assert_eq!(expected.len(), 9, "the script's renames onto the watched path: {oracle:?}");
    let calls: BTreeSet<&str> = expected.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(calls.len(), 7, "every call of the family: {expected:?}");
    let renames: Vec<&Value> = events.iter().filter(|e| e["type"] == "rename").collect();
    let shown: Vec<(u64, String, String, String)> = renames
        .iter()
        .map(|e| {
            assert_eq!(str_field(e, "path"), s(&watched), "{e}");
            assert_eq!((&e["path_resolved"], &e["watch"]), (&Value::Bool(true), &Value::from(s(&watched))), "{e}");
            assert_eq!((str_field(e, "comm"), u64_field(e, "uid"), str_field(e, "user")), ("python3", 0, "root"));
            let op = match str_field(e, "call") {
                "rename" | "renameat" | "renameat2" => "rename",
                "link" | "linkat" => "link",
                _ => "symlink",
            };
            assert_eq!(str_field(e, "op"), op, "{e}");
            let field = |k: &str| str_field(e, k).to_string();
            (u64_field(e, "pid"), field("call"), field("old"), field("requested"))
        })
        .collect();
    assert_eq!(shown, expected, "tracer vs strace\n{events:#?}");
}

/// Debian's redis-server saving into a watched dump.rdb: SAVE (by the server) and BGSAVE (by its child, whose pid
/// names the temporary file) each write `temp-PID.rdb` and rename it over dump.rdb: exactly one rename each.
#[test]
fn redis_save_and_bgsave_each_rename_once_over_the_watched_dump() {
    let deadline = Deadline::test();
    let dir = scratch("redis-rename");
    let watched = dir.join("dump.rdb");
    let sentinel = dir.join("sentinel");
    let port = 16393; // Not 16391 or 16392: the suite's redis and nginx tests run beside this one.
    let redis = start_redis_in(port, &dir, deadline);
    let (tracer, _) = start(&[s(&watched), s(&sentinel)], deadline);
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli").args(["-p", &port.to_string()]).args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(cli(&["SET", "k", "v"]), "OK");
    assert_eq!(cli(&["SAVE"]), "OK");
    assert_eq!(cli(&["BGSAVE"]), "Background saving started");
    // Done when the server has reaped its child (which renamed before it exited): two snapshots made.
    let mut saved = false;
    while !deadline.expired() && !saved {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let info = cli(&["INFO", "persistence"]);
        saved = info.lines().any(|l| l.trim() == "rdb_bgsave_in_progress:0")
            && info.lines().any(|l| l.trim() == "rdb_saves:2");
    }
    assert!(saved, "BGSAVE never finished\n{}", redis.dump());
    let events = finish(tracer, &sentinel, deadline);
    let renames: Vec<&Value> = events.iter().filter(|e| e["type"] == "rename").collect();
    assert_eq!(renames.len(), 2, "{events:#?}");
    let rpid = u64::from(redis.pid());
    for (e, by_server) in renames.iter().zip([true, false]) {
        let pid = u64_field(e, "pid");
        assert_eq!(by_server, pid == rpid, "SAVE by the server, BGSAVE by its child: {e}");
        assert_eq!(str_field(e, "old"), format!("temp-{pid}.rdb"), "{e}");
        assert_eq!((str_field(e, "requested"), str_field(e, "path")), ("dump.rdb", s(&watched).as_str()), "{e}");
        assert_eq!((str_field(e, "call"), str_field(e, "op")), ("rename", "rename"), "{e}");
        assert_eq!((u64_field(e, "uid"), str_field(e, "user")), (0, "root"), "{e}");
    }
    assert_eq!(str_field(renames[0], "comm"), "redis-server");
}
