//! `TRACER_VERIFIER_STATS`: the verifier's instruction count of every program, as the kernel reports it (5.16+)
//! and as tracer measures it on older kernels (a second load with the statistics log), compared on this kernel.
//! The budget the kernel matrix enforces (200,000 per program) holds here too.

mod common;

use std::{collections::BTreeMap, process::Command};

use common::*;

/// Every program each command loads, with its count, as `tracer: verifier: PROGRAM N` lines say.
fn counts(stats: &str, command: &[&str]) -> BTreeMap<String, u64> {
    let dl = Deadline::test();
    let mut cmd = Command::new(tracer_bin());
    cmd.args(command)
        .arg("--json")
        .env("TRACER_VERIFIER_STATS", stats)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let proc = Proc::spawn(format!("TRACER_VERIFIER_STATS={stats} tracer {}", command.join(" ")), &mut cmd);
    let ready = proc.out().wait_for(dl, |l| l.contains("\"type\":\"ready\""));
    assert!(ready.is_some(), "no ready line\n{}", proc.dump());
    proc.signal(libc::SIGINT);
    let out = proc.wait(dl);
    out.expect_code(0);
    let mut counts = BTreeMap::new();
    for line in out.stderr_text().lines() {
        let Some(rest) = line.strip_prefix("tracer: verifier: ") else { continue };
        let (program, count) = rest.split_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        let count: u64 = count.parse().unwrap_or_else(|_| panic!("no count in {line:?}\n{}", out.dump()));
        counts.insert(program.to_string(), count);
    }
    counts
}

#[test]
fn reload_counts_what_the_kernel_reports_and_every_program_is_cheap() {
    let dir = scratch_dir("verifier");
    let dir = dir.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["monitor", "--binds", "--syscall-stats", "--watch", dir],
        &["syscalls", "-p", "1"],
        &["signals"],
        &["opens", "--no-snapshot", dir],
    ];
    let mut seen = 0;
    for command in commands {
        let reported = counts("1", command);
        let reloaded = counts("reload", command);
        assert!(!reported.is_empty(), "tracer {command:?} printed no verifier statistics");
        assert_eq!(reported, reloaded, "tracer {command:?}: the kernel's counts and the reload's differ");
        for (program, &count) in &reported {
            assert!(count > 0 && count <= 200_000, "{program}: {count} verified instructions (budget 200,000)");
        }
        seen += reported.len();
    }
    // The open exit's stages are loaded for the tail calls even though nothing attaches them.
    assert!(seen >= 25, "{seen} programs");
}
