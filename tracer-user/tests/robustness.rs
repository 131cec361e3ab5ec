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
