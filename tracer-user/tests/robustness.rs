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
    let out = run_tracer(["-f", "-e", "trace=none", "--", "sh", "-c", "yes | head -1"], dl);
    out.expect_code(0).expect_no_panic();
    assert_eq!(out.stdout_text().lines().next(), Some("y"), "{}", out.dump());
    assert!(!out.stderr_text().contains("Broken pipe"), "the traced yes saw SIGPIPE ignored\n{}", out.dump());
    // yes was killed by the signal, as without tracer. (Not the shell's SIGCHLD line: yes's and head's SIGCHLD
    // race, and the second is dropped while the first is pending, so which one the shell takes varies.)
    assert!(out.stdout_text().contains("+++ killed by SIGPIPE +++"), "{}", out.dump());
}

/// The traced command starts with exactly the dispositions tracer was given: here SIGXFSZ ignored and SIGPIPE
/// at its default, besides what this test was itself given (a shell without job control ignores SIGQUIT in
/// background commands).
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
    // The standard signals only: glibc reserves 32 and 33 for itself.
    let standard = |mask: &str| u64::from_str_radix(mask, 16).unwrap() & 0x7fff_ffff;
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let given = standard(sig_ign_line(&own).unwrap()) & !(1 << (libc::SIGPIPE - 1)) | 1 << (libc::SIGXFSZ - 1);
    let child = sig_ign_line(&out.stdout_text()).map(standard);
    assert_eq!(child.map(|m| format!("{m:#x}")), Some(format!("{given:#x}")), "{}", out.dump());
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
    // The command says it is about to exit by a file (a shell redirection: no more processes), so that the test
    // does not depend on seeing it as a zombie.
    let done = scratch_dir("ring-lost-exit").join("done");
    let script =
        format!("read go; dd if=/dev/zero of=/dev/null bs=1 count=20000 status=none; : > {}; exit 3", done.display());
    let mut cmd = tracer(["--buffer-size", "4096", "--", "sh", "-c", &script]);
    cmd.stdin(Stdio::piped());
    let mut t = Proc::spawn("tracer syscalls --buffer-size 4096 -- sh -c ...", &mut cmd);
    let ready = t.err().wait_for(dl, |l| l.ends_with("; ready")).unwrap_or_else(|| panic!("no ready\n{}", t.dump()));
    let child: u32 = ready
        .strip_prefix("tracer: tracing command ")
        .and_then(|r| r.strip_suffix("; ready"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no command pid in {ready:?}"));
    // tracer lets the command exec just after `ready`: stopped before that, it would hold the command forever.
    while std::fs::read_to_string(format!("/proc/{child}/comm")).ok().as_deref() != Some("sh\n") {
        assert!(!dl.expired(), "the command never started\n{}", t.dump());
        std::thread::sleep(Duration::from_millis(1));
    }
    t.signal(libc::SIGSTOP);
    // Stopped indeed before the command goes on: a tracer still running would reap it and prove nothing.
    while stat_state(t.pid()) != Some('T') {
        assert!(!dl.expired(), "tracer never stopped\n{}", t.dump());
        std::thread::sleep(Duration::from_millis(1));
    }
    t.send("go\n");
    while !done.exists() {
        assert!(
            !dl.expired(),
            "the command never finished: state {:?}, tracer {:?}\n{}\n{}",
            stat_state(child),
            stat_state(t.pid()),
            std::process::Command::new("ps")
                .args(["-o", "pid,ppid,stat,wchan:32,args", "-s", &child.to_string()])
                .output()
                .map_or(String::new(), |o| String::from_utf8_lossy(&o.stdout).into_owned()),
            t.dump()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Then it exits (a zombie, tracer being stopped); a little while at most, so that its exit record is lost.
    let exited = Deadline::new(Duration::from_secs(5));
    while stat_state(child) != Some('Z') && !exited.expired() {
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
        expect_refusal(
            &out,
            1,
            &format!("{link_text}: it is a symbolic link in /tmp, a directory others can write to"),
        );
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

/// `monitor --config /dev/zero` ends at once with one usage error instead of reading without end.
#[test]
fn a_config_file_without_end_is_refused() {
    let dl = Deadline::test();
    let out = run_command("monitor", &["--config", "/dev/zero"], dl);
    out.expect_code(2).expect_no_panic();
    let err = out.stderr_text();
    assert!(
        err.contains("cannot read config file /dev/zero: it is larger than 1024 KiB, too large for a config file"),
        "{}",
        out.dump()
    );
}

fn descriptors_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// This process's CPU time (user + system) in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let fields: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
    fields.iter().sum()
}

/// 1,100 idle connections to the metrics endpoint of a monitor limited to 1,024 descriptors (systemd's default):
/// it holds only a bounded number of them (the rest wait in the kernel's backlog), so it never runs out of
/// descriptors nor retries accept() in a loop; once the flood is gone a scrape is answered. Served on 0.0.0.0,
/// it warns that every interface gets the metrics. Before: every descriptor taken, accept() spinning on EMFILE.
#[test]
fn a_flood_of_idle_metrics_connections_is_bounded() {
    use std::io::{Read as _, Write as _};
    let dl = Deadline::new(Duration::from_secs(90));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("0.0.0.0:{port}");
    let mut cmd = tracer_command("monitor", &["--json", "--metrics-addr", &addr]);
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 1024, rlim_max: 1024 };
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let t = Proc::spawn(format!("tracer monitor --metrics-addr {addr}"), &mut cmd);
    if t.out().wait_for(dl.within(Duration::from_secs(20)), is_ready_json).is_none() {
        panic!("no ready object\n{}", t.dump());
    }
    let warning = format!(
        "tracer: warning: the metrics are served on every network interface (0.0.0.0:{port}); give an address such \
         as 127.0.0.1:{port} to serve them on one"
    );
    // Written before `ready`, on stderr, which the test reads apart from stdout.
    let seen = t.err().wait_for(dl.within(Duration::from_secs(5)), |l| l == warning);
    assert!(seen.is_some(), "no warning for 0.0.0.0\n{}", t.dump());
    let before = descriptors_of(t.pid());

    // This test needs more descriptors than the default soft limit of 1,024 for its own ends.
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointers to an rlimit we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(4096);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    let target: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let flood: Vec<std::net::TcpStream> = (0..1100)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&target, Duration::from_millis(500)).ok())
        .collect();
    // Past the served ones the kernel's backlog takes about 900 more; the rest time out connecting.
    assert!(flood.len() > 500, "only {} connections were made", flood.len());
    let ticks_at_start = cpu_ticks(t.pid());
    std::thread::sleep(Duration::from_secs(2));
    let most = descriptors_of(t.pid());
    let ticks = cpu_ticks(t.pid()) - ticks_at_start;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    eprintln!(
        "{} idle connections: tracer holds {most} descriptors ({before} before), CPU {:.0}% over 2 s",
        flood.len(),
        ticks as f64 / hz / 2.0 * 100.0
    );
    assert!(most <= before + 64 + 8, "tracer holds {most} descriptors, {before} before the flood\n{}", t.dump());
    assert!(!t.err().text().contains("accepting a metrics connection failed"), "{}", t.dump());
    drop(flood);

    // Connections closed unanswered are accepted, read to their end and dropped quickly: a scrape gets through.
    let scraped = loop {
        let answer = std::net::TcpStream::connect(target).ok().and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            write!(s, "GET /metrics HTTP/1.0\r\n\r\n").ok()?;
            let mut text = String::new();
            s.read_to_string(&mut text).ok()?;
            Some(text)
        });
        if let Some(text) = answer.filter(|t| t.starts_with("HTTP/1.1 200 OK")) {
            break text;
        }
        assert!(!dl.expired(), "no scrape answered after the flood\n{}", t.dump());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(scraped.contains("tracer_process_execs_total"), "{scraped}");
    t.signal(libc::SIGINT);
    t.wait(dl).expect_code(0);
}

/// `-e trace=` with nothing after it is a usage error (strace: "invalid system call ''"), not a silent
/// trace of everything or nothing.
#[test]
fn an_empty_trace_expression_is_a_usage_error() {
    let dl = Deadline::test();
    for expr in ["trace=", "trace=!"] {
        let out = run_tracer(["-e", expr, "--", "true"], dl);
        expect_refusal(&out, 2, &format!("-e {expr} names no system call"));
    }
}

/// Not root but with CAP_BPF and CAP_PERFMON (setpriv, util-linux): tracefs is mounted (mode 0700), and tracer
/// says it cannot read it, instead of "not mounted".
#[test]
fn an_unreadable_tracefs_is_not_called_unmounted() {
    use std::os::unix::fs::PermissionsExt as _;
    let dl = Deadline::test();
    let mode = std::fs::metadata("/sys/kernel/tracing").unwrap().permissions().mode();
    assert_eq!(mode & 0o005, 0, "this test needs tracefs closed to others (it is 0700 on recent kernels)");
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=+bpf,+perfmon",
        "--ambient-caps=+bpf,+perfmon",
        tracer_bin(),
        "syscalls",
        "--",
        "true",
    ])
    .current_dir("/")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let out = Proc::spawn("setpriv (CAP_BPF, CAP_PERFMON) tracer syscalls -- true", &mut cmd).wait(dl);
    expect_refusal(&out, 1, "tracefs is mounted at /sys/kernel/tracing but tracer cannot read it (Permission denied");
    assert!(!out.stderr_text().contains("not mounted"), "{}", out.dump());
}

/// `opens /X/b/file` and `opens /Y/` (trailing slash) before their directories exist: once `mkdir -p` made them,
/// opens in them are reported, as the start-up warnings say. Before: never, although the warning promised it.
#[test]
fn watched_paths_whose_directory_is_created_later_are_seen() {
    let dl = Deadline::test();
    let base = scratch_dir("late-dirs");
    let file = base.join("a/b/file");
    let dir = base.join("c");
    let dir_arg = format!("{}/", dir.display());
    let t = start_json("opens", &[file.to_str().unwrap(), &dir_arg], dl);
    let err = t.err().text();
    assert!(err.contains("only failed opens of it can be seen until its directory is created"), "{}", t.dump());
    assert!(err.contains("does not exist yet: opens below it are seen from at most 100 ms"), "{}", t.dump());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    // The promise is "from at most 100 ms after": wait well past it.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&file, "x").unwrap();
    std::fs::write(dir.join("inside"), "y").unwrap();
    let paths = [file.display().to_string(), dir.join("inside").display().to_string()];
    for path in &paths {
        let seen = t.out().wait_for(dl.within(Duration::from_secs(10)), |l| {
            serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v["type"] == "open" && v["path"] == **path)
        });
        assert!(seen.is_some(), "no open of {path} reported\n{}", t.dump());
    }
    t.signal(libc::SIGINT);
    let out = t.wait(dl);
    out.expect_code(0);
    let opens: Vec<_> = out.json().into_iter().filter(|v| v["type"] == "open").collect();
    assert_eq!(opens.len(), 2, "exactly the two opens\n{}", out.dump());
    let _ = std::fs::remove_dir_all(&base);
}

// ---------------------------------------------------------------------------------------------------------
// Names in JSON: an invalid byte and its escape spelled out are told apart, and round-trip to their bytes.

/// A name with a byte that is not UTF-8, the same escape spelled out (JSON once wrote both `rt\\xff`), and a
/// bidi override ("Trojan Source").
const HOSTILE_NAMES: [&[u8]; 3] = [b"rt\xff", b"rt\\xff", "rt\u{202e}x".as_bytes()];

/// A name as JSON shows it: UTF-8 as is, each byte that is not as `\xNN`.
fn lossy(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        chunk.invalid().iter().for_each(|b| out.push_str(&format!("\\x{b:02x}")));
    }
    out
}

/// The bytes of a JSON name given its `_hex` sibling, if any (`argv_hex` is an array).
fn bytes_of(text: &serde_json::Value, hex_sibling: Option<&serde_json::Value>) -> Vec<u8> {
    match hex_sibling.and_then(|h| h.as_str()) {
        Some(h) => unhex(h),
        None => text.as_str().unwrap_or_else(|| panic!("not a string: {text}")).as_bytes().to_vec(),
    }
}

/// `record[field]` shows `want` as JSON must (lossy), carries `field_hex` exactly when `want` is not UTF-8, and
/// gives back `want` byte for byte.
fn check_name(record: &serde_json::Value, field: &str, want: &[u8]) {
    let hex_field = format!("{field}_hex");
    assert_eq!(record[field], lossy(want).as_str(), "{field} of {record}");
    assert_eq!(record.get(&hex_field).is_some(), std::str::from_utf8(want).is_err(), "{hex_field} of {record}");
    assert_eq!(name_bytes(record, field), want, "{field} round trip of {record}");
}

/// `record[field]` ends with `tail` (a path or argument list) and its bytes end with it.
fn check_path_tail(record: &serde_json::Value, field: &str, tail: &[u8]) {
    let bytes = name_bytes(record, field);
    assert!(bytes.ends_with(tail), "{field} round trip of {record}: {bytes:?}");
    assert_eq!(record.get(format!("{field}_hex")).is_some(), std::str::from_utf8(&bytes).is_err(), "{record}");
}

/// `argv[i]` of a record (and `argv_hex[i]`, null for an argument that is UTF-8).
fn check_arg(record: &serde_json::Value, i: usize, want: &[u8]) {
    assert_eq!(record["argv"][i], lossy(want).as_str(), "argv[{i}] of {record}");
    let hex_sibling = record.get("argv_hex").map(|h| &h[i]).filter(|h| !h.is_null());
    assert_eq!(hex_sibling.is_some(), std::str::from_utf8(want).is_err(), "argv_hex[{i}] of {record}");
    assert_eq!(bytes_of(&record["argv"][i], hex_sibling), want, "argv[{i}] round trip of {record}");
}

/// A program named `name` (a symlink to python3: the kernel takes the comm from the name exec'd), run in a
/// directory named `name` + `d`, with `name` its argument 3 (`LINK actor.py TAG NAME PORT`): it creates a file named `name`, listens on
/// `port`, has a second bind of it refused (EADDRINUSE, held by itself), connects to itself, sends itself
/// SIGUSR1, prints `done`, and exits when its stdin closes.
fn hostile_actor(base: &std::path::Path, name: &[u8], port: u16, tag: &str) -> Proc {
    use std::os::unix::ffi::OsStrExt;
    let link = base.join(std::ffi::OsStr::from_bytes(name));
    std::os::unix::fs::symlink("/usr/bin/python3", &link).expect("symlink");
    let cwd = base.join(std::ffi::OsStr::from_bytes(&[name, b"d"].concat()));
    std::fs::create_dir(&cwd).unwrap();
    let script = r#"
import os, signal, socket, sys
name, port = os.fsencode(sys.argv[2]), int(sys.argv[3])
os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644))
listener = socket.socket()
listener.bind(("127.0.0.1", port))
listener.listen()
try:
    socket.socket().bind(("127.0.0.1", port))
    sys.exit("the second bind was not refused")
except OSError:
    pass
client = socket.create_connection(("127.0.0.1", port))
accepted, _ = listener.accept()
client.close()
accepted.close()
signal.signal(signal.SIGUSR1, lambda *_: None)
os.kill(os.getpid(), signal.SIGUSR1)
print("done", flush=True)
sys.stdin.read()
"#;
    // A file rather than `-c`: the kernel side copies the first arguments only, and the tag must be among them.
    let script_file = base.join("actor.py");
    std::fs::write(&script_file, script).unwrap();
    let mut cmd = std::process::Command::new(&link);
    cmd.arg(&script_file).arg(tag).arg(std::ffi::OsStr::from_bytes(name)).arg(port.to_string());
    cmd.current_dir(&cwd).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    Proc::spawn(format!("hostile actor {}", lossy(name)), &mut cmd)
}

/// A TCP port on 127.0.0.1 that nothing holds now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Every command that writes names (procs, monitor, signals, opens, binds, conns, syscalls) writes them so that
/// an invalid byte (`rt<0xff>`) and the same escape spelled out (`rt\xff`) differ in JSON: the same lossy text,
/// and `<field>_hex` with the exact bytes only for the first; each field gives its bytes back. Text output
/// escapes both differently (`rt\xff`, `rt\\xff`) and a bidi override as `\u202e`. Before: `"comm": "rt\\xff"`
/// for both, in every command but `open`'s path.
#[test]
fn names_in_every_command_round_trip_to_their_bytes() {
    let dl = Deadline::new(Duration::from_secs(120));
    let base = scratch_dir("name-round-trip");
    let tag = format!("rtjson{}", std::process::id());
    let base_arg = format!("{}/", base.display());
    let text_file = base.join("opens.txt");
    let mut tracers = vec![
        ("procs", start_json("procs", &["--no-snapshot", &tag], dl)),
        ("monitor", start_json("monitor", &["--binds", "--conns"], dl)),
        ("signals", start_json("signals", &[], dl)),
        ("opens", start_json("opens", &[&base_arg], dl)),
    ];
    let signals_file = base.join("signals.txt");
    let text: Vec<Proc> = [
        ("opens", vec!["-o", text_file.to_str().unwrap(), &base_arg]),
        ("signals", vec!["-o", signals_file.to_str().unwrap()]),
    ]
    .into_iter()
    .map(|(command, args)| {
        let t = Proc::spawn(format!("tracer {command} (text)"), &mut tracer_command(command, &args));
        assert!(t.err().wait_for(dl, |l| l.ends_with("ready")).is_some(), "{}", t.dump());
        t
    })
    .collect();
    let ports: Vec<u16> = HOSTILE_NAMES.iter().map(|_| free_port()).collect();
    let port_list = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    tracers.push(("binds", start_json("binds", &["--port", &port_list], dl)));
    let mut conns_args = vec!["--no-snapshot"];
    for port in &ports {
        conns_args.extend(["--port", port.to_string().leak()]);
    }
    tracers.push(("conns", start_json("conns", &conns_args, dl)));

    let mut actors = Vec::new();
    for (name, &port) in HOSTILE_NAMES.iter().zip(&ports) {
        let actor = hostile_actor(&base, name, port, &tag);
        assert!(actor.out().wait_for(dl, |l| l == "done").is_some(), "{}", actor.dump());
        actors.push(actor);
    }
    // The snapshot of procs, and syscalls attached to each: the read of stdin it is blocked in, then its end.
    let snapshot =
        Proc::spawn("tracer procs --once", &mut tracer_command("procs", &["--once", "--json", &tag])).wait(dl);
    snapshot.expect_code(0);
    let syscalls: Vec<Proc> = actors
        .iter()
        .map(|a| start_json("syscalls", &["-p", &a.pid().to_string(), "-e", "trace=read,exit_group"], dl))
        .collect();
    let pids: Vec<u32> = actors.iter().map(Proc::pid).collect();
    for mut actor in actors {
        actor.stdin.take();
        actor.wait(dl).expect_code(0);
    }
    let syscalls: Vec<Vec<serde_json::Value>> =
        syscalls.into_iter().map(|t| t.wait(dl).expect_code(0).json()).collect();
    // Give the machine-wide tracers time to read the last events, then stop them.
    std::thread::sleep(Duration::from_millis(500));
    let mut by_command = std::collections::BTreeMap::new();
    for (command, t) in tracers {
        t.signal(libc::SIGINT);
        let out = t.wait(dl);
        out.expect_code(0);
        by_command.insert(command, out.json());
    }
    for t in text {
        t.signal(libc::SIGINT);
        t.wait(dl).expect_code(0);
    }

    let of = |events: &[serde_json::Value], ty: &str, key: &str, pid: u32| -> Vec<serde_json::Value> {
        events.iter().filter(|e| e["type"] == ty && e[key] == pid).cloned().collect()
    };
    let one = |events: Vec<serde_json::Value>, what: &str| -> serde_json::Value {
        events.into_iter().next().unwrap_or_else(|| panic!("no {what}"))
    };
    for (i, (name, pid)) in HOSTILE_NAMES.iter().zip(&pids).enumerate() {
        let pid = *pid;
        let cwd: Vec<u8> = [base.as_os_str().as_encoded_bytes(), b"/", name, b"d"].concat();
        let file: Vec<u8> = [&cwd[..], b"/", name].concat();
        let procs = &by_command["procs"];
        let exec = one(of(procs, "exec", "pid", pid), &format!("procs exec of {pid}: {procs:?}"));
        check_name(&exec, "comm", name);
        check_path_tail(&exec, "filename", &[b"/", *name].concat());
        check_arg(&exec, 3, name);
        check_name(&exec, "cwd", &cwd);
        check_name(&one(of(procs, "exit", "pid", pid), "procs exit"), "comm", name);
        let process = one(of(&snapshot.json(), "process", "pid", pid), "process in the snapshot");
        check_name(&process, "comm", name);
        check_arg(&process, 3, name);

        let monitor = &by_command["monitor"];
        let exec = one(of(monitor, "exec", "pid", pid), "monitor exec");
        check_name(&exec, "comm", name);
        check_arg(&exec, 3, name);
        check_name(&one(of(monitor, "listen", "pid", pid), "monitor listen"), "comm", name);
        check_name(&one(of(monitor, "connect", "pid", pid), "monitor connect"), "comm", name);
        let signal = one(of(monitor, "signal", "sender_pid", pid), "monitor signal");
        check_name(&signal, "sender_comm", name);
        check_name(&signal, "target_comm", name);

        let signals = &by_command["signals"];
        let signal = one(of(signals, "signal", "sender_pid", pid), "signal");
        check_name(&signal, "sender_comm", name);
        check_name(&signal, "target_comm", name);
        check_name(&one(of(signals, "delivery", "pid", pid), "delivery"), "comm", name);

        // (Python also looks for files beside its executable, in the same directory.)
        let opens = of(&by_command["opens"], "open", "pid", pid);
        let open = one(opens.into_iter().filter(|o| o["path"] == lossy(&file).as_str()).collect(), "open");
        check_name(&open, "comm", name);
        check_name(&open, "path", &file);

        let binds = &by_command["binds"];
        let refused: Vec<_> =
            of(binds, "bind", "pid", pid).into_iter().filter(|b| b["errno"] == "EADDRINUSE").collect();
        let refused = one(refused, "refused bind");
        check_name(&refused, "comm", name);
        assert_eq!(refused["holder_pid"], pid, "{refused}");
        check_name(&refused, "holder_comm", name);

        let conns = &by_command["conns"];
        check_name(&one(of(conns, "connect", "pid", pid), "connect"), "comm", name);
        check_name(&one(of(conns, "accept", "pid", pid), "accept"), "comm", name);

        let blocked = one(of(&syscalls[i], "blocked", "pid", pid), "blocked read");
        check_name(&blocked, "comm", name);
        let read = one(of(&syscalls[i], "syscall", "pid", pid), "syscall");
        check_name(&read, "comm", name);
    }
    // The first two differ only in their `_hex`.
    let exit_comm = |pid: u32| one(of(&by_command["signals"], "exit", "pid", pid), "exit")["comm"].clone();
    assert_eq!(exit_comm(pids[0]), exit_comm(pids[1]), "the same lossy text");

    let shown = std::fs::read(&text_file).unwrap();
    assert!(!shown.windows(3).any(|w| w == "\u{202e}".as_bytes()), "a raw bidi override in text");
    let shown = String::from_utf8(shown).expect("text output is UTF-8");
    for (pid, escaped) in pids.iter().zip([r"rt\xff", r"rt\\xff", r"rt\u202ex"]) {
        let ours = |l: &&str| l.contains(&format!(" {pid} ")) && l.contains("d/");
        let line = shown.lines().find(ours).unwrap_or_else(|| panic!("{shown}"));
        assert!(line.contains(&format!("{escaped} ")), "comm shown as {escaped}: {line}");
        assert!(line.contains(&format!("{escaped}d/{escaped}")), "path shown with {escaped}: {line}");
    }
    let shown = std::fs::read(&signals_file).unwrap();
    assert!(!shown.windows(3).any(|w| w == "\u{202e}".as_bytes()), "a raw bidi override in text");
    let shown = String::from_utf8(shown).expect("text output is UTF-8");
    for (pid, escaped) in pids.iter().zip([r"rt\xff", r"rt\\xff", r"rt\u202ex"]) {
        let sent = format!("{pid} ({escaped})");
        let from_and_to = |l: &str| l.contains("SIGUSR1") && l.matches(&sent).count() == 2;
        assert!(shown.lines().any(from_and_to), "SIGUSR1 from and to {sent}:\n{shown}");
    }
    let _ = std::fs::remove_dir_all(&base);
}
