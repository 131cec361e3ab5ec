//! End-to-end tests of what a hostile or unusual environment does to tracer (issue 21): a traced program's signal
//! dispositions, exit records the ring lost, zombies, kernel threads, tracer itself, symlinks planted in /tmp,
//! a flood of idle metrics connections, unreadable tracefs, directories created after start, pid namespaces.
//! Each case runs the real thing (a real zombie, a real kernel thread, a real symlink, a real namespace).

mod common;

use std::{os::unix::process::CommandExt, process::Stdio, time::Duration};

use common::*;

/// `SigIgn:` of /proc/PID/status, as the kernel prints it (a hex mask, bit N-1 for signal N).
fn sig_ign_line(status: &str) -> Option<&str> {
    status.lines().find_map(|l| l.strip_prefix("SigIgn:")).map(str::trim)
}

/// Rust's runtime ignores SIGPIPE in tracer; a command tracer runs must not inherit that: `yes | head -1` ends
/// with `yes` killed by SIGPIPE, quietly, as it does outside tracer.
#[test]
fn a_traced_pipeline_ends_without_broken_pipe() {
    let dl = Deadline::test();
    let out = run_tracer(["-e", "trace=none", "--", "sh", "-c", "yes | head -1"], dl);
    out.expect_code(0).expect_no_panic();
    assert_eq!(out.stdout_text().lines().next(), Some("y"), "{}", out.dump());
    assert!(!out.stderr_text().contains("Broken pipe"), "the traced yes saw SIGPIPE ignored\n{}", out.dump());
    // The kernel saw yes killed by the signal, as without tracer.
    assert!(out.stderr_text().contains("si_code=CLD_KILLED"), "{}", out.dump());
}

/// The traced command starts with exactly the dispositions tracer was given: here SIGXFSZ ignored and SIGPIPE
/// at its default, so its SigIgn is SIGXFSZ's bit alone.
#[test]
fn a_traced_command_starts_with_the_dispositions_tracer_was_given() {
    let dl = Deadline::test();
    let mut cmd = tracer(["-e", "trace=none", "--", "cat", "/proc/self/status"]);
    // SAFETY: only signal(2) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            Ok(())
        });
    }
    let out = Proc::spawn("tracer syscalls -- cat /proc/self/status", &mut cmd).wait(dl);
    out.expect_code(0).expect_no_panic();
    let expected = format!("{:016x}", 1u64 << (libc::SIGXFSZ - 1));
    assert_eq!(sig_ign_line(&out.stdout_text()), Some(expected.as_str()), "{}", out.dump());
}

/// The commands that take `-p`, each with the arguments it needs besides.
const PID_COMMANDS: [&str; 4] = ["syscalls", "signals", "opens", "binds"];

fn stat_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

/// One `tracer: ...` line on stderr, nothing on stdout, the exit code given.
fn expect_refusal(out: &Output, code: i32, says: &str) {
    out.expect_code(code).expect_no_panic();
    let err = out.stderr_text();
    assert_eq!(err.lines().count(), 1, "one line expected\n{}", out.dump());
    assert!(err.starts_with("tracer: ") && err.contains(says), "expected {says:?}\n{}", out.dump());
    assert!(out.stdout.is_empty(), "{}", out.dump());
}

fn run_command(subcommand: &str, args: &[&str], dl: Deadline) -> Output {
    Proc::spawn(format!("tracer {subcommand} {}", args.join(" ")), &mut tracer_command(subcommand, args)).wait(dl)
}

/// `-p 2` (kthreadd, a kernel thread) is refused by every command, as strace refuses it (strace cannot attach):
/// a kernel thread makes no system calls of its own. Before: an invented `read(0, NULL, 0)`, then forever.
#[test]
fn a_kernel_thread_is_refused() {
    let dl = Deadline::test();
    assert_eq!(std::fs::read_to_string("/proc/2/comm").unwrap().trim(), "kthreadd");
    for command in PID_COMMANDS {
        let out = run_command(command, &["-p", "2"], dl);
        expect_refusal(&out, 2, "process 2 (kthreadd) is a kernel thread");
    }
}

/// A real zombie (a child this test has not reaped) is refused by every command: it has exited.
#[test]
fn a_zombie_is_refused() {
    let dl = Deadline::test();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    while stat_state(pid) != Some('Z') {
        assert!(!dl.expired(), "true never became a zombie");
        std::thread::sleep(Duration::from_millis(5));
    }
    for command in PID_COMMANDS {
        let out = run_command(command, &["-p", &pid.to_string()], dl);
        expect_refusal(&out, 1, &format!("process {pid} (true) has exited (a zombie"));
    }
    assert!(child.wait().unwrap().success());
}

/// tracer cannot trace itself: `sh -c 'exec tracer ... -p $$'` names tracer's own pid.
#[test]
fn tracer_itself_is_refused() {
    let dl = Deadline::test();
    for command in PID_COMMANDS {
        let script = format!("exec {} {command} -p $$", tracer_bin());
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &script]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = Proc::spawn(format!("tracer {command} -p (itself)"), &mut cmd).wait(dl);
        expect_refusal(&out, 2, "is tracer itself, which cannot trace itself");
    }
}

/// The ring loses the command's exit record (tracer is stopped while the command floods a one-page ring, then
/// exits): tracer, its parent, still reaps it and ends with its exit status. Before: tracer waited forever
/// with the command `<defunct>`.
#[test]
fn a_command_whose_exit_the_ring_lost_still_ends_tracer() {
    let dl = Deadline::test();
    let script = "read go; dd if=/dev/zero of=/dev/null bs=1 count=20000 status=none; exit 3";
    let mut cmd = tracer(["--buffer-size", "4096", "--", "sh", "-c", script]);
    cmd.stdin(Stdio::piped());
    let mut t = Proc::spawn("tracer syscalls --buffer-size 4096 -- sh -c ...", &mut cmd);
    let ready = t.err().wait_for(dl, |l| l.ends_with("; ready")).unwrap_or_else(|| panic!("no ready\n{}", t.dump()));
    let child: u32 = ready
        .strip_prefix("tracer: tracing command ")
        .and_then(|r| r.strip_suffix("; ready"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no command pid in {ready:?}"));
    t.signal(libc::SIGSTOP);
    t.send("go\n");
    while stat_state(child) != Some('Z') {
        assert!(!dl.expired(), "the command never exited\n{}", t.dump());
        std::thread::sleep(Duration::from_millis(10));
    }
    t.signal(libc::SIGCONT);
    let out = t.wait(dl);
    out.expect_code(3).expect_no_panic();
    // The exit record was lost indeed (else this test would prove nothing), and the loss was reported.
    assert!(!out.stdout_text().contains("+++ exited with 3 +++"), "{}", out.dump());
    assert!(out.stderr_text().contains("events were lost"), "{}", out.dump());
}

/// Inside a real pid namespace with its own /proc, `-p` would name the namespace's pids, which the kernel's
/// probes never see: refused with one line. So is a command tracer would fork there (its pid is the
/// namespace's too). Before: `-p` traced nothing until killed, and `-- CMD` ran untraced, exit 0.
#[test]
fn a_pid_namespace_is_refused() {
    let dl = Deadline::test();
    let script = format!("sleep 20 & exec {} syscalls -p $!", tracer_bin());
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = Proc::spawn("unshare -pf --mount-proc tracer syscalls -p $!", &mut cmd).wait(dl);
    expect_refusal(&out, 1, "-p cannot be used here: tracer runs in a pid namespace other than the kernel's first");

    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", tracer_bin(), "syscalls", "--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = Proc::spawn("unshare -pf --mount-proc tracer syscalls -- true", &mut cmd).wait(dl);
    expect_refusal(&out, 1, "cannot trace a command here: tracer runs in a pid namespace other than");
}

/// A symlink planted in /tmp (sticky, world-writable) pointing at a root-owned file: `-o LINK` of every command
/// refuses it with one line and leaves the target untouched. Before: root truncated (or appended to) the target.
#[test]
fn an_output_symlink_in_tmp_is_not_followed() {
    use std::os::unix::fs::PermissionsExt as _;
    let dl = Deadline::test();
    let dir = scratch_dir("symlink-target");
    let target = dir.join("precious");
    std::fs::write(&target, "precious\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let tmp = std::fs::metadata("/tmp").unwrap();
    assert!(tmp.permissions().mode() & 0o1002 == 0o1002, "/tmp must be sticky and world-writable");
    let link = std::path::PathBuf::from(format!("/tmp/tracer-test-planted-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let link_text = link.to_str().unwrap();
    let runs: [(&str, Vec<&str>); 5] = [
        ("syscalls", vec!["-o", link_text, "--", "true"]),
        ("signals", vec!["-o", link_text, "-p", "1"]),
        ("opens", vec!["-o", link_text, "/etc/hostname"]),
        ("binds", vec!["-o", link_text]),
        ("monitor", vec!["-o", link_text]),
    ];
    for (command, args) in runs {
        let out = run_command(command, &args, dl);
        expect_refusal(&out, 1, &format!("{link_text}: it is a symbolic link in /tmp, a directory others can write to"));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n", "tracer {command} wrote through it");
    }
    std::fs::remove_file(&link).unwrap();
}

/// A new output file is created 0600 (events name other users' files and arguments); an existing one keeps its
/// mode; a symlink outside a shared directory is still followed (`-o /dev/stdout`).
#[test]
fn output_files_are_created_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dl = Deadline::test();
    let dir = scratch_dir("output-mode");
    let new = dir.join("new.txt");
    let out = run_tracer(["-o", new.to_str().unwrap(), "--", "true"], dl);
    out.expect_code(0);
    assert_eq!(std::fs::metadata(&new).unwrap().permissions().mode() & 0o7777, 0o600);
    assert!(std::fs::read_to_string(&new).unwrap().contains("+++ exited with 0 +++"));

    let existing = dir.join("existing.txt");
    std::fs::write(&existing, "old\n").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).unwrap();
    run_tracer(["-o", existing.to_str().unwrap(), "--", "true"], dl).expect_code(0);
    assert_eq!(std::fs::metadata(&existing).unwrap().permissions().mode() & 0o7777, 0o640);
    assert!(!std::fs::read_to_string(&existing).unwrap().contains("old"));

    let out = run_tracer(["-o", "/dev/stdout", "--", "true"], dl);
    out.expect_code(0);
    assert!(out.stdout_text().contains("+++ exited with 0 +++"), "{}", out.dump());
}
