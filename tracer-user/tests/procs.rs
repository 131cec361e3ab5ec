//! End-to-end tests of `tracer procs`: real eBPF programs loaded and attached (run as root), a spawner making a
//! known process tree (the workload's `proc-tree`), and `ps` as the oracle of the snapshot. The machine runs other
//! things, so every assertion is about the tests' own processes.

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    process::{Command, Stdio},
    time::Duration,
};

use common::*;
use serde_json::Value;

fn procs(args: &[&str]) -> Command {
    let mut cmd = Command::new(tracer_bin());
    cmd.arg("procs").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn ready(t: &Proc, dl: &Deadline) {
    let ok = t.err().wait_for(dl.within(Duration::from_secs(20)), |l| l.contains("; ready")).is_some()
        || t.out().wait_for(dl.within(Duration::from_secs(1)), |l| l.contains(r#""type":"ready""#)).is_some();
    assert!(ok, "tracer never got ready\n{}", t.dump());
}

/// The `key=PID` values the workload printed.
fn printed(workload: &Proc, key: &str) -> u64 {
    let prefix = format!("{key}=");
    let line = workload
        .out()
        .wait_for(Deadline::new(Duration::from_secs(10)), |l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("the workload never printed {key}\n{}", workload.dump()));
    line[prefix.len()..].trim().parse().unwrap()
}

/// The workload's known tree, followed with `-p`: exactly its forks, its one exec and its exits, with the pids
/// and codes it printed; tracer ends by itself when the last of them is gone.
#[test]
fn follows_a_known_tree_exactly() {
    let dl = Deadline::test();
    let mut w = Proc::spawn(
        "workload proc-tree",
        Command::new(workload())
            .args(["--wait-stdin", "proc-tree"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let wpid = printed(&w, "pid");
    let t = Proc::spawn("tracer procs -p", &mut procs(&["-p", &wpid.to_string(), "--json"]));
    ready(&t, &dl);
    w.send("go\n");
    let thread = printed(&w, "thread");
    let exit3 = printed(&w, "exit3");
    let exec = printed(&w, "exec");
    let grandchild = printed(&w, "grandchild");
    let daemon = printed(&w, "daemon");
    let killed = printed(&w, "killed");
    w.wait(dl.within(Duration::from_secs(10))).expect_code(0);
    let out = t.wait(dl.within(Duration::from_secs(15)));
    out.expect_no_panic();
    out.expect_code(0);
    let events = out.json();

    let snapshot = of_type(&events, "process");
    assert_eq!(snapshot.len(), 1, "the workload alone\n{}", out.dump());
    assert_eq!((u64_field(snapshot[0], "pid"), &snapshot[0]["matched"]), (wpid, &Value::Bool(true)));

    let forks: BTreeSet<(u64, u64, u64, bool)> = of_type(&events, "fork")
        .iter()
        .map(|f| (u64_field(f, "pid"), u64_field(f, "child_pid"), u64_field(f, "child_tid"), f["thread"] == true))
        .collect();
    let expected: BTreeSet<(u64, u64, u64, bool)> = [
        (wpid, wpid, thread, true),
        (wpid, exit3, exit3, false),
        (wpid, exec, exec, false),
        (wpid, daemon, daemon, false),
        (daemon, grandchild, grandchild, false),
        (wpid, killed, killed, false),
    ]
    .into();
    assert_eq!(forks, expected, "{}", out.dump());
    assert_eq!(of_type(&events, "fork").len(), 6, "each fork once\n{}", out.dump());

    let execs = of_type(&events, "exec");
    assert_eq!(execs.len(), 1, "{}", out.dump());
    assert_eq!(u64_field(execs[0], "pid"), exec);
    assert_eq!(u64_field(execs[0], "ppid"), wpid);
    assert_eq!(str_field(execs[0], "filename"), "/bin/sh");
    assert_eq!(execs[0]["argv"], serde_json::json!(["sh", "-c", "exit 5"]));
    assert_eq!((u64_field(execs[0], "uid"), str_field(execs[0], "user")), (0, "root"));
    assert!(execs[0]["joined"].is_null(), "a descendant, followed already: {}", execs[0]);

    let exits: HashMap<u64, (Value, Value)> = of_type(&events, "exit")
        .iter()
        .map(|e| (u64_field(e, "pid"), (e["code"].clone(), e["signal"].clone())))
        .collect();
    let code = |c: i64| (Value::from(c), Value::Null);
    let expected_exits: HashMap<u64, (Value, Value)> = [
        (exit3, code(3)),
        (exec, code(5)),
        (daemon, code(0)),
        (grandchild, code(0)),
        (killed, (Value::Null, Value::from("SIGKILL"))),
        (wpid, code(0)),
    ]
    .into();
    assert_eq!(exits, expected_exits, "{}", out.dump());
    assert_eq!(of_type(&events, "exit").len(), 6, "each exit once\n{}", out.dump());
    // The SIGKILL's exit names who sent it: the workload.
    let killed_exit = of_type(&events, "exit").into_iter().find(|e| e["pid"] == killed).unwrap();
    assert_eq!(
        (&killed_exit["cause"], &killed_exit["origin"], &killed_exit["sender_pid"], &killed_exit["sender_comm"]),
        (&Value::from("SIGKILL"), &Value::from("process"), &Value::from(wpid), &Value::from("workload")),
        "{killed_exit}"
    );
    assert!(u64_field(killed_exit, "cause_ts_ns") <= u64_field(killed_exit, "ts_ns"), "{killed_exit}");
    // Exits by their own code were sent no fatal signal.
    for e in of_type(&events, "exit").iter().filter(|e| e["pid"] != killed) {
        assert_eq!((&e["cause"], &e["sender_pid"]), (&Value::Null, &Value::Null), "{e}");
    }

    // A process is named by pid and start_ns: the fork's child_start_ns is the exec's and the exit's start_ns.
    for fork in of_type(&events, "fork").iter().filter(|f| f["thread"] == false) {
        let child = u64_field(fork, "child_pid");
        let start = u64_field(fork, "child_start_ns");
        for e in events.iter().filter(|e| (e["type"] == "exit" || e["type"] == "exec") && e["pid"] == child) {
            assert_eq!(u64_field(e, "start_ns"), start, "{e} vs {fork}");
            if e["type"] == "exit" {
                assert!(u64_field(e, "run_ns") < 10_000_000_000, "{e}");
            }
        }
    }
    assert_eq!(of_type(&events, "ready").len(), 1);
}

/// Text reads like execsnoop: the exec's arguments quoted as a shell would need them.
#[test]
fn text_quotes_arguments_like_a_shell() {
    let dl = Deadline::test();
    let mut w = Proc::spawn(
        "workload proc-tree",
        Command::new(workload())
            .args(["--wait-stdin", "proc-tree"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let wpid = printed(&w, "pid");
    let t = Proc::spawn("tracer procs -p (text)", &mut procs(&["-p", &wpid.to_string()]));
    ready(&t, &dl);
    w.send("go\n");
    let exec = printed(&w, "exec");
    let killed = printed(&w, "killed");
    w.wait(dl.within(Duration::from_secs(10))).expect_code(0);
    let out = t.wait(dl.within(Duration::from_secs(15)));
    out.expect_code(0);
    let text = out.stdout_text();
    let exec_line = text
        .lines()
        .find(|l| l.contains(" exec ") && l.contains(&format!(" {exec} ")))
        .unwrap_or_else(|| panic!("no exec line\n{}", out.dump()));
    // The cwd is named from /proc when the exec is reported, if it is still the directory the kernel saw at the exec:
    // `sh -c 'exit 5'` may be gone by then, and then it is unknown (`?`), never another directory.
    let known = format!("ppid={wpid} user=root cwd={} sh -c 'exit 5'", cwd_text());
    let unknown = format!("ppid={wpid} user=root cwd=? sh -c 'exit 5'");
    assert!(exec_line.ends_with(&known) || exec_line.ends_with(&unknown), "{exec_line}");
    assert!(
        text.lines().any(|l| l.contains(&format!(" {killed} "))
            && l.contains(&format!("killed by SIGKILL from {wpid} (workload) after "))),
        "{}",
        out.dump()
    );
    assert!(text.lines().any(|l| l.contains(&format!(" {exec} ")) && l.contains("exited with 5 after ")));
}

fn cwd_text() -> String {
    std::env::current_dir().unwrap().to_string_lossy().into_owned()
}

/// The snapshot lists what `ps -eo user,pid,ppid,stat,tty,args | grep PATTERN` lists, with the same columns: a
/// session leader, a niced process, a threaded one, and the child of one matched (a descendant).
#[test]
fn snapshot_matches_ps() {
    let dl = Deadline::test();
    let marker = format!("procs-snapshot-{}", std::process::id());
    let quiet = |cmd: &mut Command| {
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    };
    let mut leader = Command::new("setsid");
    leader.args(["sh", "-c", &format!("sleep 600; : {marker} leader")]);
    quiet(&mut leader);
    let mut niced = Command::new("nice");
    niced.args(["-n", "5", "sh", "-c", &format!("sleep 600; : {marker} 'niced one'")]);
    quiet(&mut niced);
    let mut threaded = Command::new(workload());
    threaded.args(["block-read", &marker]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let leader = Proc::spawn("setsid sh", &mut leader);
    let niced = Proc::spawn("nice sh", &mut niced);
    let threaded = Proc::spawn("workload block-read", &mut threaded);
    threaded.out().wait_for(dl.within(Duration::from_secs(10)), |l| l.starts_with("blocked"));
    // Both shells have forked their sleep.
    let has_sleep = |ppid: u32| {
        std::fs::read_to_string(format!("/proc/{ppid}/task/{ppid}/children")).is_ok_and(|c| !c.trim().is_empty())
    };
    let wait_until = Deadline::new(Duration::from_secs(10));
    while !(has_sleep(niced.pid()) && pgrep(&marker).len() == 3) {
        assert!(!wait_until.expired(), "the shells never started");
        std::thread::sleep(Duration::from_millis(10));
    }

    let out = Proc::spawn("tracer procs --once", &mut procs(&["--once", "--json", &marker]))
        .wait(dl.within(Duration::from_secs(20)));
    out.expect_code(0);
    let listed = of_type(&out.json(), "process").into_iter().cloned().collect::<Vec<_>>();

    let ps = Command::new("ps").args(["-eo", "user:32,pid,ppid,stat,tty,args"]).output().unwrap();
    let ps = String::from_utf8(ps.stdout).unwrap();
    let ps_rows: HashMap<u64, Vec<String>> = ps
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let pid = cols.get(1)?.parse().ok()?;
            let args = cols[5..].join(" ");
            Some((pid, vec![cols[0].to_string(), cols[2].to_string(), cols[3].to_string(), cols[4].to_string(), args]))
        })
        .collect();
    // What ps|grep finds (not grep, not ps itself), and their children.
    let matched: BTreeSet<u64> = pgrep(&marker).into_iter().collect();
    let mut expected = matched.clone();
    for (pid, row) in &ps_rows {
        if matched.contains(&row[1].parse().unwrap()) {
            expected.insert(*pid);
        }
    }
    let got: BTreeSet<u64> = listed.iter().map(|p| u64_field(p, "pid")).collect();
    assert_eq!(got, expected, "{}\n{ps}", out.dump());
    for p in &listed {
        let pid = u64_field(p, "pid");
        let row = &ps_rows[&pid];
        let argv: Vec<&str> = field(p, "argv").as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let tty = p["tty"].as_str().unwrap_or("?");
        let ours = [str_field(p, "user"), &u64_field(p, "ppid").to_string(), tty, &argv.join(" ")];
        assert_eq!(ours, [row[0].as_str(), &row[1], &row[3], &row[4]], "pid {pid}: {p}");
        assert_eq!(p["matched"], matched.contains(&pid), "{p}");
        // The state letter changes from one look to the next; the others are the process's.
        let (stat, ps_stat) = (str_field(p, "stat"), row[2].as_str());
        assert_eq!(stat[1..], ps_stat[1..], "pid {pid}: {p}");
        // The letters the test made (the others, such as N when the test itself runs under nice, are ps's too).
        let parent = u64_field(p, "ppid") as u32;
        let made = [
            (pid == u64::from(leader.pid()), 's'),
            (pid == u64::from(threaded.pid()), 'l'),
            (pid == u64::from(niced.pid()) || parent == niced.pid(), 'N'),
        ];
        for (expected, letter) in made {
            assert!(!expected || stat[1..].contains(letter), "pid {pid} without {letter}: {p}");
        }
    }
}

/// Processes whose command line holds `pattern`, as `pgrep -f` finds them (itself excluded).
fn pgrep(pattern: &str) -> Vec<u64> {
    let out = Command::new("pgrep").args(["-f", pattern]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect()
}

/// A new process joins at its exec: in the kernel when its command name matches (then its first child is followed
/// from birth), in user space when only its arguments do; a searcher (`grep PATTERN`) never joins.
#[test]
fn new_processes_join_at_exec() {
    let dl = Deadline::test();
    let dir = scratch_dir("procs-join");
    let name = format!("pj{}", std::process::id() % 100_000);
    let shell = dir.join(format!("{name}-sh"));
    let _ = std::fs::remove_file(&shell);
    std::os::unix::fs::symlink("/bin/sh", &shell).unwrap();
    let t = Proc::spawn("tracer procs NAME", &mut procs(&["--json", "--no-snapshot", &name]));
    ready(&t, &dl);

    // Joins by its name ("pjNNNNN-sh"); its child /bin/true is followed from its fork.
    let by_comm = Command::new(&shell).args(["-c", "/bin/true; exit 4"]).status().unwrap();
    assert_eq!(by_comm.code(), Some(4));
    // Joins by its arguments only (in user space: it waits on stdin until tracer has reported its exec, so that
    // its exit comes after it joined).
    let by_args = |code: i32, tag: &str| {
        let mut child = Command::new("/bin/sh")
            .args(["-c", &format!("read x; exit {code}"), &format!("{name}-{tag}")])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let exec = format!(r#""pid":{},"#, child.id());
        let seen = t
            .out()
            .wait_for(dl.within(Duration::from_secs(10)), |l| l.contains(r#""type":"exec""#) && l.contains(&exec));
        assert!(seen.is_some(), "no exec of {exec}\n{}", t.dump());
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(code));
    };
    by_args(6, "args");
    // A searcher for the pattern, never listed.
    let grep = Command::new("grep").args(["-q", &name, "/dev/null"]).status().unwrap();
    assert_eq!(grep.code(), Some(1));
    by_args(9, "last");

    let found = t.out().wait_for(dl.within(Duration::from_secs(10)), |l| l.contains(r#""code":9"#));
    t.signal(libc::SIGINT);
    let out = t.wait(dl);
    assert!(found.is_some(), "{}", out.dump());
    out.expect_code(0);
    let events = out.json();
    let execs = of_type(&events, "exec");
    let shown: Vec<(String, Value)> =
        execs.iter().map(|e| (str_field(e, "filename").to_string(), e["joined"].clone())).collect();
    assert_eq!(
        shown,
        [
            (shell.to_string_lossy().into_owned(), Value::from("comm")),
            ("/bin/true".to_string(), Value::Null),
            ("/bin/sh".to_string(), Value::from("cmdline")),
            ("/bin/sh".to_string(), Value::from("cmdline")),
        ],
        "{}",
        out.dump()
    );
    let sh_pid = &execs[0]["pid"];
    let forks = of_type(&events, "fork");
    assert_eq!(forks.len(), 1, "{}", out.dump());
    assert_eq!((&forks[0]["pid"], &forks[0]["child_pid"]), (sh_pid, &execs[1]["pid"]));
    let codes: Vec<Value> = of_type(&events, "exit").iter().map(|e| e["code"].clone()).collect();
    assert_eq!(codes, [0, 4, 6, 9].map(Value::from), "{}", out.dump());
}

/// A reload of a real pre-forking server (Debian's nginx, master and 2 workers): the snapshot shows the master and
/// its workers; `kill -HUP` shows the master forking 2 new workers and the 2 old ones exiting; the master's exit
/// ends tracer (`-p`).
#[test]
fn a_reload_of_nginx_shows_old_workers_exit_and_new_ones_fork() {
    let dl = Deadline::test();
    let nginx = Nginx::start((20_000 + std::process::id() % 20_000) as u16, 2, 16, dl);
    let master = &nginx.master;
    let mpid = master.pid();
    let workers = || -> BTreeSet<u64> { children(mpid).into_iter().map(u64::from).collect() };
    let old = workers();
    let t = Proc::spawn("tracer procs -p nginx", &mut procs(&["-p", &mpid.to_string(), "--json"]));
    ready(&t, &dl);
    master.signal(libc::SIGHUP);
    let wait_until = Deadline::new(Duration::from_secs(15));
    while workers().len() != 2 || workers() == old || !workers().is_disjoint(&old) {
        assert!(!wait_until.expired(), "nginx never replaced its workers\n{}", master.dump());
        std::thread::sleep(Duration::from_millis(10));
    }
    let new = workers();
    master.signal(libc::SIGQUIT);
    let out = t.wait(dl.within(Duration::from_secs(20)));
    out.expect_code(0);
    let events = out.json();

    let snapshot: BTreeSet<u64> = of_type(&events, "process").iter().map(|p| u64_field(p, "pid")).collect();
    let mut expected: BTreeSet<u64> = old.clone();
    expected.insert(u64::from(mpid));
    assert_eq!(snapshot, expected, "the master and its workers\n{}", out.dump());
    let worker_line = of_type(&events, "process").into_iter().find(|p| p["pid"] == *old.first().unwrap()).unwrap();
    assert_eq!(worker_line["argv"], serde_json::json!(["nginx: worker process"]));

    let forked: BTreeSet<u64> = of_type(&events, "fork")
        .iter()
        .filter(|f| f["pid"] == mpid && f["thread"] == false)
        .map(|f| u64_field(f, "child_pid"))
        .collect();
    assert_eq!(forked, new, "the master forked the new workers\n{}", out.dump());
    let exited = |pids: &BTreeSet<u64>| -> usize {
        of_type(&events, "exit").iter().filter(|e| pids.contains(&u64_field(e, "pid")) && e["code"] == 0).count()
    };
    assert_eq!(exited(&old), 2, "the old workers exited\n{}", out.dump());
    assert_eq!(exited(&new), 2, "the new workers exited at SIGQUIT\n{}", out.dump());
    assert_eq!(exited(&[u64::from(mpid)].into()), 1, "the master exited\n{}", out.dump());
}

/// An exec's cwd is the directory the kernel saw at the exec, or unknown: never a later one. tracer is stopped
/// (SIGSTOP) while the execs happen, so it reads /proc only after each process moved on: those still in their
/// exec's directory are named exactly; the one that changed directory right after its exec, the one whose
/// directory was removed, and the one that exited at once are unknown (null; `?` in text), never the directory
/// they moved to nor another.
#[test]
fn exec_cwd_is_exact_or_unknown() {
    let dl = Deadline::test();
    let base = scratch_dir("procs-cwd");
    let dir = |name: &str| {
        let d = base.join(name);
        let _ = std::fs::remove_dir(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.canonicalize().unwrap()
    };
    let (stays, spaced, from, to) = (dir("stays"), dir("with space"), dir("from"), dir("to"));
    let name = format!("pc{}", std::process::id() % 100_000);
    let shell = base.join(format!("{name}-sh"));
    let _ = std::fs::remove_file(&shell);
    std::os::unix::fs::symlink("/bin/sh", &shell).unwrap();
    for json in [true, false] {
        let mut args = vec!["--no-snapshot", name.as_str()];
        if json {
            args.insert(0, "--json");
        }
        let t = Proc::spawn("tracer procs NAME (cwd)", &mut procs(&args));
        ready(&t, &dl);
        t.signal(libc::SIGSTOP);
        // Each prints `moved` when it is where it stays until stdin says go.
        let start = |cwd: &std::path::Path, script: &str| {
            let mut child = Command::new(&shell)
                .args(["-c", &format!("{script}; echo moved; read x")])
                .current_dir(cwd)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            use std::io::BufRead as _;
            std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
            assert_eq!(line, "moved\n");
            child
        };
        let removed = dir("gone");
        let waiting = [
            (start(&stays, ":"), Some(&stays)),
            (start(&spaced, ":"), Some(&spaced)),
            (start(&from, &format!("cd '{}'", to.display())), None),
            (start(&removed, ":"), None),
        ];
        // Removed while it is its cwd: same identity, but no name leads to it any more.
        std::fs::remove_dir(&removed).unwrap();
        let at_once = Command::new(&shell).args(["-c", "exit 7"]).current_dir(&stays).status().unwrap();
        assert_eq!(at_once.code(), Some(7));
        t.signal(libc::SIGCONT);
        let pids: Vec<u32> = waiting.iter().map(|(c, _)| c.id()).collect();
        for (pid, _) in pids.iter().zip(&waiting) {
            let needle = if json { r#""type":"exec""# } else { " exec " };
            let pid_text = if json { format!(r#""pid":{pid},"#) } else { format!(" {pid} ") };
            let seen =
                t.out().wait_for(dl.within(Duration::from_secs(10)), |l| l.contains(needle) && l.contains(&pid_text));
            assert!(seen.is_some(), "no exec of {pid}\n{}", t.dump());
        }
        let found = t.out().wait_for(dl.within(Duration::from_secs(10)), |l| {
            l.contains(if json { r#""code":7"# } else { "exited with 7" })
        });
        assert!(found.is_some(), "{}", t.dump());
        for (mut child, _) in waiting {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(b"go\n").unwrap();
            assert!(child.wait().unwrap().success());
        }
        t.signal(libc::SIGINT);
        let out = t.wait(dl);
        out.expect_no_panic();
        out.expect_code(0);
        let expected: Vec<(u32, Option<String>)> = pids
            .iter()
            .zip([Some(&stays), Some(&spaced), None, None])
            .map(|(&pid, cwd)| (pid, cwd.map(|c| c.to_string_lossy().into_owned())))
            .collect();
        if json {
            let events = out.json();
            let execs = of_type(&events, "exec");
            assert_eq!(execs.len(), 5, "four waiting, one exited at once\n{}", out.dump());
            let shown: Vec<(u32, Option<String>)> = execs[..4]
                .iter()
                .map(|e| (u64_field(e, "pid") as u32, e["cwd"].as_str().map(str::to_string)))
                .collect();
            assert_eq!(shown, expected, "{}", out.dump());
            assert!(execs[4]["cwd"].is_null(), "exited before tracer looked: {}", execs[4]);
            let known = execs.iter().filter(|e| !e["cwd"].is_null()).count();
            assert_eq!(known, 2, "{}", out.dump());
        } else {
            let text = out.stdout_text();
            let execs: Vec<&str> = text.lines().filter(|l| l.contains(" exec ")).collect();
            assert_eq!(execs.len(), 5, "{}", out.dump());
            for (line, (pid, cwd)) in execs.iter().zip(&expected) {
                assert!(line.contains(&format!(" {pid} ")), "{line}");
                let cwd = cwd
                    .as_deref()
                    .map_or("?".to_string(), |c| if c.contains(' ') { format!("'{c}'") } else { c.to_string() });
                assert!(line.contains(&format!(" cwd={cwd} ")), "{line}");
            }
            assert!(execs[4].contains(" cwd=? "), "{}", execs[4]);
        }
    }
}
