//! Containers and namespaces, as root, with real runtimes: podman (runc) running a root filesystem built offline
//! from Debian's busybox-static, `unshare --pid`, and a cgroup made by hand. Every event from inside names its
//! container and cgroup exactly, the pid its namespace knows maps to the host's and back, and events from outside
//! name neither. `tracer procs` (every process's forks, execs, exits) is the witness.

mod common;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use common::*;
use serde_json::Value;

/// The name every marker exec has: a link to busybox it has no applet for (it says so and exits 127).
const MARK: &str = "tracer-mark";

/// A root filesystem of busybox-static alone: `/bin/sh`, `/bin/sleep`, and `/bin/tracer-mark`.
fn rootfs(test: &str) -> PathBuf {
    busybox_rootfs(test, &["sh", "sleep", MARK])
}

/// The hierarchy tracer reads cgroups in (as its `cgroups::Hierarchy::detect`): cgroup v2's, or v1's `pids`.
fn hierarchy() -> (PathBuf, Option<&'static str>) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounted = |point: &str, fstype: &str| {
        mountinfo.lines().any(|l| {
            let (head, tail) = l.split_once(" - ").unwrap();
            head.split(' ').nth(4) == Some(point) && tail.starts_with(&format!("{fstype} "))
        })
    };
    if mounted("/sys/fs/cgroup", "cgroup2") {
        (PathBuf::from("/sys/fs/cgroup"), None)
    } else {
        assert!(mounted("/sys/fs/cgroup/pids", "cgroup"), "no cgroup v2 and no v1 pids hierarchy mounted");
        (PathBuf::from("/sys/fs/cgroup/pids"), Some("pids"))
    }
}

/// `pid`'s cgroup path in `hierarchy()`'s hierarchy, from /proc/PID/cgroup (the kernel's own word).
fn cgroup_of(pid: u32) -> String {
    let controller = hierarchy().1;
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let ours = match controller {
                None => controllers.is_empty(),
                Some(c) => controllers.split(',').any(|x| x == c),
            };
            ours.then(|| path.to_string())
        })
        .unwrap()
}

fn execs_of<'a>(events: &'a [Value], comm: &str) -> Vec<&'a Value> {
    of_type(events, "exec").into_iter().filter(|e| e["comm"] == comm).collect()
}

/// Held while a test traces: every test's marker execs have the same name, so two tests tracing at once would
/// count each other's (the harness runs tests on two threads).
static TRACING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `tracer procs --json` around `during`; its JSON lines.
fn traced(dl: Deadline, during: impl FnOnce()) -> Vec<Value> {
    let _alone = TRACING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let tracer = start_json("procs", &["--no-snapshot"], dl);
    during();
    std::thread::sleep(Duration::from_millis(300));
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(dl);
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &|| out.dump());
    events
}

#[test]
fn podman_container_events_name_the_container_and_its_pids() {
    let dl = Deadline::test();
    let root = rootfs("podman");
    let cidfile = root.parent().unwrap().join("cid");
    let _ = std::fs::remove_file(&cidfile);
    let name = format!("tracer-pids-{}", std::process::id());
    let (host_pid, host_ns_pid) = (std::sync::Mutex::new(0u32), std::sync::Mutex::new(String::new()));
    let mut printed = String::new();
    let events = traced(dl, || {
        // Three children print the pid their namespace gives them and become tracer-mark; then the container's
        // first process (pid 1) becomes sleep, long enough for the host's /proc to be read.
        let script = format!(
            "for i in 1 2 3; do /bin/sh -c 'echo ns $$; exec /bin/{MARK}' 2>/dev/null; done; echo top $$; exec /bin/sleep 2"
        );
        let mut cmd = Command::new("podman");
        cmd.args(["--runtime", "runc", "run", "--rm", "--network", "none", "--name", &name, "--cidfile"]).arg(&cidfile);
        // podman raises RLIMIT_NOFILE/NPROC unless told: without CAP_SYS_RESOURCE here that fails (tests/dist.rs).
        cmd.args(["--ulimit", "nofile=8192:8192", "--ulimit", "nproc=8192:8192", "--rootfs"]).arg(&root);
        cmd.args(["/bin/sh", "-c", &script]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let run = Proc::spawn("podman run", &mut cmd);
        let top = run.out().wait_for(dl, |l| l.starts_with("top ")).unwrap_or_else(|| panic!("{}", run.dump()));
        assert_eq!(top, "top 1", "the container's first process is pid 1 in its namespace");
        // The sleeping pid 1, found from the host: the process whose NSpid ends in 1 in the container's cgroup.
        let cid = std::fs::read_to_string(&cidfile).unwrap().trim().to_string();
        // `top` is printed just before the exec of sleep: looked for until it is there.
        let find = || {
            std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).find(
                |&pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
                        && std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(&cid))
                },
            )
        };
        let sleep_dl = dl.within(Duration::from_millis(1500));
        let sleeper = loop {
            match find() {
                Some(pid) => break pid,
                None if sleep_dl.expired() => panic!("the container's sleep is not visible from the host"),
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let status = std::fs::read_to_string(format!("/proc/{sleeper}/status")).unwrap();
        *host_ns_pid.lock().unwrap() = status.lines().find_map(|l| l.strip_prefix("NSpid:")).unwrap().trim().into();
        *host_pid.lock().unwrap() = sleeper;
        let done = run.wait(dl);
        assert!(done.code() == Some(0), "podman run: {}", done.dump());
        printed = done.stdout_text();
        // Two on the host, outside any container.
        for _ in 0..2 {
            let _ = Command::new(root.join("bin").join(MARK)).stderr(Stdio::null()).status().unwrap();
        }
    });
    let cid = std::fs::read_to_string(&cidfile).unwrap().trim().to_string();
    assert_eq!(cid.len(), 64, "podman's --cidfile: {cid}");

    let marks = execs_of(&events, MARK);
    assert_eq!(marks.len(), 5, "3 in the container, 2 on the host: {marks:#?}");
    let (inside, outside): (Vec<&Value>, Vec<&Value>) =
        marks.into_iter().partition(|e| e["container_id"] == cid.as_str());
    assert_eq!(inside.len(), 3, "{inside:#?}");
    for e in &inside {
        assert_eq!(e["container_runtime"], "podman", "{e}");
        assert_eq!(e["container_name"], name.as_str(), "{e}");
        let cgroup = str_field(e, "cgroup");
        assert!(cgroup.ends_with(&format!("libpod-{cid}")) || cgroup.ends_with(&format!("libpod-{cid}.scope")), "{e}");
        assert_eq!(e["pod_uid"], Value::Null, "{e}");
    }
    // The pids the children printed inside are the ns_pid of their events, one each.
    let mut printed_ns: Vec<u64> =
        printed.lines().filter_map(|l| l.strip_prefix("ns ")).map(|n| n.parse().unwrap()).collect();
    let mut event_ns: Vec<u64> = inside.iter().map(|e| u64_field(e, "ns_pid")).collect();
    printed_ns.sort_unstable();
    event_ns.sort_unstable();
    assert_eq!(printed_ns.len(), 3, "{printed}");
    assert_eq!(event_ns, printed_ns);
    for e in &outside {
        assert_eq!(e["container_id"], Value::Null, "{e}");
        assert_eq!(e["container_name"], Value::Null, "{e}");
        assert_eq!(e["ns_pid"], Value::Null, "{e}");
        assert_eq!(str_field(e, "cgroup"), cgroup_of(std::process::id()), "the host's mark is in the test's cgroup");
    }

    // Both ways: the event of the container's pid 1 (sleep) names the host pid whose /proc says `NSpid: HOST 1`.
    let sleeper = *host_pid.lock().unwrap();
    let sleeps: Vec<&Value> =
        execs_of(&events, "sleep").into_iter().filter(|e| e["container_id"] == cid.as_str()).collect();
    assert_eq!(sleeps.len(), 1, "{sleeps:#?}");
    assert_eq!(u64_field(sleeps[0], "pid"), u64::from(sleeper));
    assert_eq!(u64_field(sleeps[0], "ns_pid"), 1);
    assert_eq!(*host_ns_pid.lock().unwrap(), format!("{sleeper}\t1"));
    // Every exec in the container: the first sh (pid 1), three sh -c, three marks, the sleep; and runc's own
    // init re-exec, which is in the container's cgroup or not yet, as its parent's cgroup join races it (never
    // in the pid namespace: it makes it).
    let all_inside: Vec<String> = of_type(&events, "exec")
        .into_iter()
        .filter(|e| e["container_id"] == cid.as_str())
        .map(|e| format!("{} ns_pid {}", e["comm"], e["ns_pid"]))
        .filter(|e| e != "\"runc\" ns_pid null")
        .collect();
    assert_eq!(all_inside.len(), 8, "{all_inside:#?}");
    assert_eq!(all_inside[0], "\"sh\" ns_pid 1", "{all_inside:#?}");
}

#[test]
fn unshare_pid_namespace_shows_both_pids_in_text_and_json() {
    let dl = Deadline::test();
    let root = rootfs("unshare");
    let mark = root.join("bin").join(MARK);
    for json in [true, false] {
        let args: &[&str] = if json { &["--json", "--no-snapshot"] } else { &["--no-snapshot"] };
        let _alone = TRACING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tracer = Proc::spawn("tracer procs", &mut tracer_command("procs", args));
        let ready = if json {
            tracer.out().wait_for(dl, is_ready_json)
        } else {
            tracer.err().wait_for(dl, |l| l.ends_with("ready"))
        };
        assert!(ready.is_some(), "{}", tracer.dump());
        let script = format!("echo ns $$; exec {}", mark.display());
        let out = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "/bin/sh", "-c", &script])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ns 1\n");
        std::thread::sleep(Duration::from_millis(300));
        tracer.signal(libc::SIGINT);
        let done = tracer.wait(dl);
        done.expect_code(0);
        if json {
            let events = done.json();
            let marks = execs_of(&events, MARK);
            assert_eq!(marks.len(), 1, "{marks:#?}");
            assert_eq!(u64_field(marks[0], "ns_pid"), 1, "{}", marks[0]);
            assert_ne!(u64_field(marks[0], "pid"), 1);
            assert_eq!(marks[0]["container_id"], Value::Null);
            assert_eq!(str_field(marks[0], "cgroup"), cgroup_of(std::process::id()));
        } else {
            let text = done.stdout_text();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| {
                    let words: Vec<&str> = l.split_whitespace().collect();
                    words.get(1) == Some(&"exec") && words.get(3) == Some(&MARK)
                })
                .collect();
            assert_eq!(lines.len(), 1, "{text}");
            assert!(lines[0].ends_with(" [ctr pid 1]"), "{}", lines[0]);
        }
    }
}

#[test]
fn a_cgroup_made_by_hand_names_its_events_exactly() {
    let dl = Deadline::test();
    let root = rootfs("handmade");
    let (hierarchy_root, _) = hierarchy();
    let name = format!("tracer-test-{}", std::process::id());
    let dir = hierarchy_root.join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "echo $$ > {}/cgroup.procs && for i in 1 2 3 4; do {} 2>/dev/null; done",
        dir.display(),
        root.join("bin").join(MARK).display()
    );
    let events = traced(dl, || {
        let status = Command::new("sh").args(["-c", &script]).status().unwrap();
        assert_eq!(status.code(), Some(127), "the last mark's status");
        let _ = Command::new(root.join("bin").join(MARK)).stderr(Stdio::null()).status().unwrap();
    });
    let _ = std::fs::remove_dir(&dir);
    let marks = execs_of(&events, MARK);
    assert_eq!(marks.len(), 5, "{marks:#?}");
    let inside: Vec<&&Value> = marks.iter().filter(|e| e["cgroup"] == format!("/{name}").as_str()).collect();
    assert_eq!(inside.len(), 4, "{marks:#?}");
    for e in &inside {
        assert_eq!(e["container_id"], Value::Null, "{e}");
        assert_eq!(e["unit"], Value::Null, "{e}");
        assert_eq!(e["ns_pid"], Value::Null, "{e}");
    }
    // Their exits too: the cgroup read at the event, by the process that was in it.
    let exits_inside =
        of_type(&events, "exit").into_iter().filter(|e| e["cgroup"] == format!("/{name}").as_str()).count();
    assert_eq!(exits_inside, 5, "four marks and the shell");
}

/// Starts `tracer procs --json --no-snapshot ARGS`, runs `during`, stops it: its JSON lines.
fn traced_with(args: &[&str], dl: Deadline, during: impl FnOnce()) -> Vec<Value> {
    let mut all = vec!["--no-snapshot"];
    all.extend_from_slice(args);
    let _alone = TRACING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let tracer = start_json("procs", &all, dl);
    during();
    std::thread::sleep(Duration::from_millis(300));
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(dl);
    out.expect_code(0);
    out.json()
}

#[test]
fn cgroup_filter_keeps_that_cgroup_and_those_below_it_only() {
    let dl = Deadline::test();
    let root = rootfs("cgroup-filter");
    let (hierarchy_root, _) = hierarchy();
    let name = format!("tracer-filter-{}", std::process::id());
    let dir = hierarchy_root.join(&name);
    std::fs::create_dir_all(dir.join("below")).unwrap();
    let mark = root.join("bin").join(MARK);
    let join_and_mark = |cgroup: &Path, times: u32| {
        let script = format!(
            "echo $$ > {}/cgroup.procs && for i in $(seq {times}); do {} 2>/dev/null; done; exit 0",
            cgroup.display(),
            mark.display()
        );
        assert!(Command::new("sh").args(["-c", &script]).status().unwrap().success());
    };
    // The path as /proc/PID/cgroup shows it; the directory's form is the same cgroup.
    let path = format!("/{name}");
    for given in [path.clone(), dir.display().to_string()] {
        let events = traced_with(&["--cgroup", &given], dl, || {
            join_and_mark(&dir, 3);
            join_and_mark(&dir.join("below"), 2);
            // Outside: the test's own cgroup.
            let _ = Command::new(&mark).stderr(Stdio::null()).status().unwrap();
        });
        let marks = execs_of(&events, MARK);
        assert_eq!(marks.len(), 5, "3 in the cgroup, 2 below it, none outside ({given}): {marks:#?}");
        let below = format!("{path}/below");
        assert_eq!(marks.iter().filter(|e| e["cgroup"] == path.as_str()).count(), 3);
        assert_eq!(marks.iter().filter(|e| e["cgroup"] == below.as_str()).count(), 2);
        // Nothing at all from elsewhere (the shells that joined wrote nothing before they did: they were outside).
        for e in &events {
            if e["type"] != "ready" {
                let cgroup = str_field(e, "cgroup");
                assert!(cgroup == path || cgroup == below, "{e}");
            }
        }
    }
    // The snapshot lists the cgroup's processes only: a sleep put below it, and nothing else.
    let script = format!("echo $$ > {}/cgroup.procs && exec sleep 30", dir.join("below").display());
    let mut sleeper = Command::new("sh").args(["-c", &script]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = tracer_command("procs", &["--json", "--once", "--cgroup", &path]).output().unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let rows = parse_json_lines(&out.stdout).unwrap();
    let rows: Vec<&Value> = rows.iter().filter(|r| r["type"] == "process").collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(u64_field(rows[0], "pid"), u64::from(sleeper.id()));
    assert_eq!(rows[0]["cgroup"], format!("{path}/below").as_str());
    std::thread::sleep(Duration::from_millis(100));
    let _ = std::fs::remove_dir(dir.join("below"));
    let _ = std::fs::remove_dir(&dir);
}

/// `podman exec`s the marker in `ctr` (busybox has no such applet: exit 127).
fn exec_mark(ctr: &Container) {
    let out = Command::new("podman").args(["exec", &ctr.name, &format!("/bin/{MARK}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn container_filter_shows_that_container_only_by_id_or_name_and_bad_ones_are_usage_errors() {
    let dl = Deadline::test();
    let root = rootfs("container-filter");
    let ours = Container::run("filter", &root, &["/bin/sleep", "30"]);
    let other = Container::run("other", &root, &["/bin/sleep", "30"]);
    // By a short id, and by the name podman was given: the same container, and its name on every record.
    for given in [&ours.id[..12], ours.name.as_str()] {
        let events = traced_with(&["--container", given], dl, || {
            exec_mark(&ours);
            exec_mark(&other);
            exec_mark(&ours);
            let _ = Command::new(root.join("bin").join(MARK)).stderr(Stdio::null()).status().unwrap();
        });
        let marks = execs_of(&events, MARK);
        assert_eq!(marks.len(), 2, "the two podman exec in {given}, not the other's nor the host's: {marks:#?}");
        for e in events.iter().filter(|e| e["type"] != "ready") {
            assert_eq!(e["container_id"], ours.id.as_str(), "{e}");
            assert_eq!(e["container_name"], ours.name.as_str(), "{e}");
        }
    }
    // Unfiltered: each container's marks name their own container; the host's none.
    let events = traced_with(&[], dl, || {
        exec_mark(&ours);
        exec_mark(&other);
        let _ = Command::new(root.join("bin").join(MARK)).stderr(Stdio::null()).status().unwrap();
    });
    let mut named: Vec<(String, String)> = execs_of(&events, MARK)
        .into_iter()
        .map(|e| (e["container_id"].to_string(), e["container_name"].to_string()))
        .collect();
    named.sort();
    let mut expected = vec![
        (format!("\"{}\"", ours.id), format!("\"{}\"", ours.name)),
        (format!("\"{}\"", other.id), format!("\"{}\"", other.name)),
        ("null".to_string(), "null".to_string()),
    ];
    expected.sort();
    assert_eq!(named, expected);
    // Text shows the name where it would show the short id: the snapshot's row of the container's sleep.
    let out = tracer_command("procs", &["--once", "--container", &ours.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].ends_with(&format!(" /bin/sleep 30 [ctr {} pid 1]", ours.name)), "{}", rows[0]);
    drop(other);
    drop(ours);
    // Usage errors: one line on stderr, exit 2.
    for (bad, says) in [
        ("0000000000000000", "no running container has that id or name"),
        ("xyz", "no running container has that name"),
        ("abc", "an id needs at least 4 of its leading hex digits"),
    ] {
        let out = tracer_command("procs", &["--container", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
    let out = tracer_command("procs", &["--cgroup", "/no/such/cgroup/here"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such cgroup"), "{out:?}");
}

/// A thread moved to another cgroup by someone else, between two of its calls on the same CPU, has the new cgroup
/// from its very next call: the envelope's per-thread cache (`emit::ORIGINS`) is stale after any move.
#[test]
fn a_thread_moved_by_another_process_names_its_new_cgroup_at_its_next_call() {
    let dl = Deadline::test();
    let (hierarchy_root, _) = hierarchy();
    let name = format!("tracer-move-{}", std::process::id());
    let dir = hierarchy_root.join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = std::env::temp_dir().join(format!("{name}.fifo"));
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // One shell, pinned to one CPU so that both calls meet the same per-CPU slot; each line it reads is one read
    // and one write of its own, no fork.
    let script = format!("exec 3<>{}; while read -r line <&3; do echo \"$line\" >/dev/null; done", fifo.display());
    let mut shell = Command::new("taskset").args(["-c", "0", "sh", "-c", &script]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = shell.id();
    let before = cgroup_of(pid);
    let _alone = TRACING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let tracer = start_json("syscalls", &["-p", &pid.to_string()], dl);
    let send = |line: &str| {
        std::fs::OpenOptions::new().write(true).open(&fifo).unwrap().write_all(format!("{line}\n").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    };
    send("before-move");
    std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap();
    send("after-move");
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(dl);
    let _ = shell.kill();
    let _ = shell.wait();
    let _ = std::fs::remove_file(&fifo);
    std::thread::sleep(Duration::from_millis(100));
    let _ = std::fs::remove_dir(&dir);
    out.expect_code(0);
    let events = out.json();
    let write_of = |text: &str| -> Value {
        let writes: Vec<&Value> = of_type(&events, "syscall")
            .into_iter()
            .filter(|e| e["name"] == "write" && e["args"][1].as_str().is_some_and(|a| a.contains(text)))
            .collect();
        assert_eq!(writes.len(), 1, "{text}: {}", out.dump());
        writes[0].clone()
    };
    assert_eq!(write_of("before-move")["cgroup"], before.as_str());
    assert_eq!(write_of("after-move")["cgroup"], format!("/{name}").as_str());
}

#[test]
fn opens_snapshots_name_the_container_of_a_holder_and_filter_by_it() {
    let dl = Deadline::test();
    let root = rootfs("opens-holder");
    let held = root.join("tmp").join("held");
    std::fs::write(&held, b"held by a container").unwrap();
    // The container's pid 1 holds /tmp/held (the host's `held`) on fd 3, then sleeps.
    let ctr = Container::run("holder", &root, &["/bin/sh", "-c", "exec 3</tmp/held; exec /bin/sleep 30"]);
    let pid = ctr.pid();
    let until = dl.within(Duration::from_secs(3));
    while std::fs::read_link(format!("/proc/{pid}/fd/3")).is_err()
        || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim() != "sleep"
    {
        assert!(!until.expired(), "the container's sleep never held fd 3");
        std::thread::sleep(Duration::from_millis(20));
    }
    let is_ours = |row: &Value| {
        assert_eq!(row["container_id"], ctr.id.as_str(), "{row}");
        assert_eq!(row["container_name"], ctr.name.as_str(), "{row}");
        assert_eq!(row["container_runtime"], "podman", "{row}");
        assert_eq!(u64_field(row, "ns_pid"), 1, "{row}");
        assert!(str_field(row, "cgroup").contains(&format!("libpod-{}", ctr.id)), "{row}");
    };
    let snapshot = |args: &[String]| -> Vec<Value> {
        let (tracer, before) = start_json_snapshot("opens", args, dl);
        tracer.signal(libc::SIGINT);
        tracer.wait(dl).expect_code(0);
        before.into_iter().filter(|v| v["type"] == "holder").collect()
    };

    // A process on the host holds it too (fd 3 as well).
    let mut host = Command::new("sh")
        .args(["-c", &format!("exec 3<{}; exec sleep 30", held.display())])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let host_pid = host.id();
    while std::fs::read_link(format!("/proc/{host_pid}/fd/3")).is_err()
        || std::fs::read_to_string(format!("/proc/{host_pid}/comm")).unwrap_or_default().trim() != "sleep"
    {
        assert!(!until.expired(), "the host's sleep never held fd 3");
        std::thread::sleep(Duration::from_millis(20));
    }

    // `opens PATH` (as `lsof PATH`): both holders on fd 3, as lsof sees them; the container's names its container,
    // the host's none.
    let rows = snapshot(&[held.display().to_string()]);
    let lsof = Command::new("lsof").args(["-F", "pf"]).arg(&held).output().expect("lsof runs");
    let mut theirs: Vec<String> = String::from_utf8_lossy(&lsof.stdout)
        .split('p')
        .filter(|p| !p.is_empty())
        .map(|p| p.replace('\n', " ").trim().to_string())
        .collect();
    theirs.sort();
    let mut ours: Vec<String> = rows.iter().map(|r| format!("{} f{}", u64_field(r, "pid"), r["fd"])).collect();
    ours.sort();
    assert_eq!(ours, theirs, "tracer vs lsof -F pf {}", held.display());
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for row in &rows {
        if u64_field(row, "pid") == u64::from(pid) {
            is_ours(row);
        } else {
            assert_eq!(u64_field(row, "pid"), u64::from(host_pid), "{row}");
            assert_eq!((&row["container_id"], &row["container_name"]), (&Value::Null, &Value::Null), "{row}");
        }
    }
    // With --container NAME: the container's holder only.
    let rows = snapshot(&[held.display().to_string(), "--container".into(), ctr.name.clone()]);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!((u64_field(&rows[0], "pid"), &rows[0]["fd"]), (u64::from(pid), &Value::from(3)), "{}", rows[0]);
    is_ours(&rows[0]);
    let _ = host.kill();
    let _ = host.wait();

    // `opens -p PID` (as `lsof -p PID`): every row the process's, each naming its container.
    let rows = snapshot(&["-p".to_string(), pid.to_string()]);
    assert!(rows.len() >= 5, "cwd, rtd, txt, fds 0-3: {rows:#?}");
    for row in &rows {
        assert_eq!(u64_field(row, "pid"), u64::from(pid), "{row}");
        is_ours(row);
    }
    assert_eq!(rows.iter().filter(|r| r["fd"] == 3).count(), 1, "{rows:#?}");

    // Text: every row of the table ends with the container's column, as live events' lines do.
    let tracer = Proc::spawn("tracer opens -p (text)", &mut tracer_command("opens", &["-p", &pid.to_string()]));
    assert!(tracer.err().wait_for(dl, |l| l.contains("ready")).is_some(), "{}", tracer.dump());
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(dl);
    out.expect_code(0);
    let text = out.stdout_text();
    let table: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(table.len(), rows.len(), "{text}");
    let column = format!(" [ctr {} pid 1]", ctr.name);
    for line in &table {
        assert!(line.ends_with(&column), "{line}");
    }
    drop(ctr);
}
