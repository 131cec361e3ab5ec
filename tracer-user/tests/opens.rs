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
    let mut cmd = Command::new(tracer_bin());
    cmd.arg("opens").arg("--json").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let tracer = Proc::spawn(format!("tracer opens --json {}", args.join(" ")), &mut cmd);
    let mut before = Vec::new();
    let ready = tracer.out().wait_for(deadline, |line| {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if value["type"] == "ready" {
            return true;
        }
        before.push(value);
        false
    });
    assert!(ready.is_some(), "tracer never became ready\n{}", tracer.dump());
    (tracer, before)
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
    for e in &live {
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
    for key in ["comm", "user", "path", "requested", "flags", "call"] {
        str_field(e, key);
    }
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
        ],
        "{live:#?}"
    );
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
