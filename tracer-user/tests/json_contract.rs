//! The JSON contract, checked on what the commands really write: every command runs against real workloads, and
//! every line must (1) carry the minimum fields ../shared/DESIGN.md fixes for its type (users rely on them: add,
//! rename none) and (2) carry no field docs/JSON.md does not list for its type (the documentation is complete).

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use common::*;
use serde_json::Value;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

/// docs/JSON.md: `## \`type\`` headings, each followed by a table whose first column names the fields.
fn documented_fields() -> BTreeMap<String, BTreeSet<String>> {
    let path = repo_file("docs/JSON.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut types: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            current = Some(heading.trim().trim_matches('`').to_string());
            types.entry(current.clone().unwrap()).or_default();
        } else if let (Some(ty), Some(row)) = (&current, line.strip_prefix("| `")) {
            let first_cell = row.split(" |").next().unwrap();
            let names =
                format!("`{first_cell}").split(',').map(|n| n.trim().trim_matches('`').to_string()).collect::<Vec<_>>();
            types.get_mut(ty).unwrap().extend(names);
        }
    }
    types
}

/// The minimum fields of each type, as ../shared/DESIGN.md's table lists them (checked against the file itself, so
/// that this list cannot drift from the contract). `holder` has two shapes: files and sockets.
const DESIGN_MINIMUM: &[(&str, &[&str])] = &[
    ("syscall", &["ts_ns", "pid", "tid", "comm", "name", "nr", "args", "ret", "errno", "duration_ns"]),
    ("blocked", &["pid", "tid", "comm", "name", "args"]),
    ("open", &["ts_ns", "pid", "tid", "comm", "path", "flags", "fd", "errno"]),
    ("bind", &["ts_ns", "pid", "comm", "proto", "family", "addr", "port", "errno", "holder_pid"]),
    ("listen", &["ts_ns", "pid", "comm", "proto", "family", "addr", "port"]),
    ("close", &["ts_ns", "pid", "comm", "proto", "family", "addr", "port"]),
    (
        "signal",
        &["ts_ns", "signal", "signo", "sender_pid", "sender_comm", "target_pid", "target_tid", "target_comm", "result"],
    ),
    ("exec", &["ts_ns", "pid", "ppid", "comm", "argv", "uid"]),
    ("exit", &["ts_ns", "pid", "comm", "code", "signal", "core_dumped"]),
    ("holder", &["source", "pid", "comm"]),
    ("lost", &["probe", "count"]),
    ("ready", &[]),
];
const HOLDER_OF_A_FILE: &[&str] = &["fd", "path"];
const HOLDER_OF_A_SOCKET: &[&str] = &["proto", "family", "addr", "port", "state"];

fn design_rows() -> BTreeMap<String, String> {
    let path = repo_file("../shared/DESIGN.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {} (the contract, beside the repository): {e}", path.display()));
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        // `| \`type\` | fields |`: the fields may hold a `|` of their own (`O_RDONLY|O_CLOEXEC`).
        let Some((types, fields)) = line.strip_prefix("| `").and_then(|rest| rest.split_once(" | ")) else {
            continue;
        };
        for ty in types.split('/') {
            rows.insert(ty.trim().trim_matches('`').to_string(), fields.to_string());
        }
    }
    rows
}

#[test]
fn the_minimum_fields_here_are_designs_own() {
    let rows = design_rows();
    for (ty, fields) in DESIGN_MINIMUM {
        let row = rows.get(*ty).unwrap_or_else(|| panic!("DESIGN.md has no row for `{ty}`: {rows:?}"));
        for field in fields.iter().chain(if *ty == "holder" { HOLDER_OF_A_FILE } else { &[] }) {
            let words: BTreeSet<&str> = row.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
            assert!(words.contains(field), "DESIGN.md's `{ty}` row does not name `{field}`: {row}");
        }
    }
    let documented = documented_fields();
    for (ty, fields) in DESIGN_MINIMUM {
        let doc = documented.get(*ty).unwrap_or_else(|| panic!("docs/JSON.md has no section for `{ty}`"));
        for field in fields.iter().chain(HOLDER_OF_A_FILE.iter().chain(HOLDER_OF_A_SOCKET).filter(|_| *ty == "holder"))
        {
            assert!(doc.contains(*field), "docs/JSON.md's `{ty}` does not list DESIGN.md's `{field}`");
        }
    }
}

/// Checks every line of a run; returns the types seen.
fn check_lines(what: &str, lines: &[Value]) -> BTreeSet<String> {
    let documented = documented_fields();
    let minimum: BTreeMap<&str, &[&str]> = DESIGN_MINIMUM.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for line in lines {
        let object = line.as_object().unwrap_or_else(|| panic!("{what}: not an object: {line}"));
        let ty = object.get("type").and_then(Value::as_str).unwrap_or_else(|| panic!("{what}: no type: {line}"));
        let doc = documented.get(ty).unwrap_or_else(|| panic!("{what}: type `{ty}` is not in docs/JSON.md: {line}"));
        // `## \`*\``: the fields any record about a process may carry (its cgroup, container, namespace pid).
        let every = documented.get("*").expect("docs/JSON.md has a `*` section");
        for key in object.keys().filter(|k| *k != "type") {
            let base = key.strip_suffix("_hex").unwrap_or(key);
            let listed = |doc: &BTreeSet<String>| doc.contains(key) || doc.contains(base);
            assert!(listed(doc) || listed(every), "{what}: `{ty}`.`{key}` is not in docs/JSON.md: {line}");
        }
        // Where the process was is written whole or not at all: a record with one of `*`'s fields has every one.
        if every.iter().any(|f| object.contains_key(f)) {
            for field in every {
                assert!(
                    object.contains_key(field),
                    "{what}: `{ty}` has some of `*`'s fields but not `{field}`: {line}"
                );
            }
        }
        let mut required: Vec<&str> = minimum.get(ty).map(|m| m.to_vec()).unwrap_or_default();
        if ty == "holder" {
            required.extend(if object.contains_key("fd") && object.contains_key("path") {
                HOLDER_OF_A_FILE
            } else {
                HOLDER_OF_A_SOCKET
            });
        }
        for field in required {
            assert!(object.contains_key(field), "{what}: `{ty}` lacks DESIGN.md's `{field}`: {line}");
        }
        seen.insert(ty.to_string());
    }
    seen
}

/// Runs `tracer SUBCOMMAND --json ARGS...` until ready, then `during`, then SIGINT; returns its JSON lines.
fn run_json(subcommand: &str, args: &[&str], dl: Deadline, during: impl FnOnce(&Proc)) -> Vec<Value> {
    let tracer = start_json(subcommand, args, dl);
    during(&tracer);
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(dl);
    out.expect_code(0);
    out.json()
}

/// A python process holding one of everything: a listener with an established connection to itself, a file in
/// `dir`, a deleted file, a SIGUSR1 handler; it prints `ready PORT` and waits for stdin to close.
const HOLDER_PY: &str = r#"
import os, signal, socket, sys
d = sys.argv[1]
signal.signal(signal.SIGUSR1, lambda *a: None)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
f = open(d + "/held.txt", "w")
g = open(d + "/gone.txt", "w"); g.write("x" * 100); g.flush(); os.unlink(d + "/gone.txt")
print("ready", srv.getsockname()[1], flush=True)
sys.stdin.read()
"#;

struct Holder {
    proc: Proc,
    port: u16,
    dir: PathBuf,
}

fn start_holder(test: &str, dl: Deadline) -> Holder {
    let dir = scratch_dir(test);
    let mut cmd = Command::new("python3");
    cmd.args(["-c", HOLDER_PY]).arg(&dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let proc = Proc::spawn("python3 holder", &mut cmd);
    let ready = proc.out().wait_for(dl, |l| l.starts_with("ready")).expect("the python holder is ready");
    let port = ready.split_whitespace().nth(1).unwrap().parse().unwrap();
    Holder { proc, port, dir }
}

fn sh(script: &str) {
    let status = Command::new("sh").args(["-c", script]).status().expect("sh runs");
    assert!(status.code().is_some(), "{script}: {status}");
}

#[test]
fn every_line_of_monitor_is_in_the_contract_and_documented() {
    let dl = Deadline::test();
    let dir = scratch_dir("json-monitor");
    let watched = dir.to_string_lossy().into_owned();
    let mut lines = vec![];
    let args =
        ["--binds", "--conns", "--forks", "--sigchld", "--syscall-stats", "--interval", "1", "--watch", &watched];
    lines.extend(run_json("monitor", &args, dl, |tracer| {
        sh(&format!(
            "python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); \
             c = socket.create_connection(s.getsockname()); a, _ = s.accept(); c.send(b\"x\"); a.recv(1); \
             c.close(); a.close(); s.close()'; \
             echo x > {watched}/file; mv {watched}/file {watched}/moved; sleep 30 & kill -HUP $!; sh -c 'exit 3'"
        ));
        let stats = tracer.out().wait_for(dl.within(Duration::from_secs(10)), |l| l.contains("\"syscall_stats\""));
        assert!(stats.is_some(), "no syscall_stats line\n{}", tracer.dump());
        // The close of the listener and the connection's end reach the ring before this returns.
        tracer.out().wait_for(dl.within(Duration::from_secs(5)), |l| l.contains("\"tcp_close\""));
    }));
    let seen = check_lines("tracer monitor", &lines);
    for ty in ["ready", "exec", "exit", "fork", "bind", "listen", "close", "connect", "accept", "tcp_close", "open"] {
        assert!(seen.contains(ty), "monitor wrote no `{ty}` line: {seen:?}");
    }
    for ty in ["signal", "syscall_stats", "rename"] {
        assert!(seen.contains(ty), "monitor wrote no `{ty}` line: {seen:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_line_of_syscalls_is_in_the_contract_and_documented() {
    let dl = Deadline::test();
    let summary =
        Proc::spawn("tracer syscalls -c", &mut tracer_command("syscalls", &["--json", "-c", "--", "/bin/true"]));
    let summary = summary.wait(dl);
    summary.expect_code(0);
    let summary = summary.json();
    let seen = check_lines("tracer syscalls -c", &summary);
    assert!(seen.contains("summary"), "{seen:?}");
    let rows = summary.iter().find(|v| v["type"] == "summary").unwrap();
    for row in rows["rows"].as_array().expect("syscalls -c's summary has rows") {
        let keys: BTreeSet<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["name", "calls", "errors", "total_ns"]), "DESIGN.md's summary row: {row}");
    }

    let calls = Proc::spawn("tracer syscalls", &mut tracer_command("syscalls", &["--json", "--", "/bin/true"]));
    let calls = calls.wait(dl);
    calls.expect_code(0);
    assert!(check_lines("tracer syscalls", &calls.json()).contains("syscall"));

    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = sleeper.id().to_string();
    wait_in_syscall(sleeper.id(), sleeper.id(), &[libc::SYS_clock_nanosleep as u32, libc::SYS_nanosleep as u32], dl);
    let lines = run_json("syscalls", &["-p", &pid], dl, |_| {});
    assert!(check_lines("tracer syscalls -p", &lines).contains("blocked"), "{lines:?}");
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
fn every_line_of_opens_binds_conns_procs_and_signals_is_in_the_contract_and_documented() {
    let dl = Deadline::test();
    let holder = start_holder("json-holders", dl);
    let pid = holder.proc.pid().to_string();
    let port = holder.port.to_string();
    let held = holder.dir.join("held.txt").to_string_lossy().into_owned();

    let table = run_json("opens", &["-p", &pid], dl, |_| {});
    assert!(check_lines("tracer opens -p", &table).contains("holder"));
    let watched = run_json("opens", &[&held], dl, |tracer| {
        sh(&format!("cat {held}; cp {held} {held}.new; mv {held}.new {held}"));
        tracer.out().wait_for(dl.within(Duration::from_secs(5)), |l| l.contains(r#""type":"rename""#));
    });
    let seen = check_lines("tracer opens PATH", &watched);
    assert!(seen.contains("holder") && seen.contains("open") && seen.contains("rename"), "{seen:?}");
    // `--deleted` is a listing, as `lsof +L1`: it ends by itself.
    let deleted =
        Proc::spawn("tracer opens --deleted", &mut tracer_command("opens", &["--json", "--deleted", "-p", &pid]));
    let deleted = deleted.wait(dl);
    deleted.expect_code(0);
    let deleted = deleted.json();
    assert!(check_lines("tracer opens --deleted", &deleted).contains("holder"));

    let sockets = run_json("binds", &["-a", "-p", &pid], dl, |_| {});
    assert!(check_lines("tracer binds -a", &sockets).contains("holder"));
    let bound = run_json("binds", &["--port", &port], dl, |_| {
        sh(&format!("python3 -c 'import socket; socket.socket().bind((\"127.0.0.1\", {port}))' 2>/dev/null"))
    });
    assert!(check_lines("tracer binds --port", &bound).contains("bind"), "{bound:?}");
    let conns = run_json("conns", &["-p", &pid], dl, |_| {});
    assert!(check_lines("tracer conns", &conns).contains("holder"), "{conns:?}");

    let procs = run_json("procs", &["-p", &pid], dl, |_| {});
    assert!(check_lines("tracer procs", &procs).contains("process"));

    let signals = run_json("signals", &["-p", &pid], dl, |tracer| {
        holder.proc.signal(libc::SIGUSR1);
        tracer.out().wait_for(dl.within(Duration::from_secs(10)), |l| l.contains("\"delivery\""));
    });
    let seen = check_lines("tracer signals", &signals);
    assert!(seen.contains("signal") && seen.contains("delivery"), "{seen:?}");

    drop(holder.proc);
    std::fs::remove_dir_all(&holder.dir).unwrap();
}
