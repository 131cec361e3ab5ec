//! End-to-end tests of what a hostile or unusual environment does to tracer (issue 21): a traced program's signal
//! dispositions, exit records the ring lost, zombies, kernel threads, tracer itself, symlinks planted in /tmp,
//! a flood of idle metrics connections, unreadable tracefs, directories created after start, pid namespaces.
//! Each case runs the real thing (a real zombie, a real kernel thread, a real symlink, a real namespace).

mod common;

use std::os::unix::process::CommandExt;

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
