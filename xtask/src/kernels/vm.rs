//! One boot of one kernel under qemu TCG, read through its serial console.
//!
//! The guest (`kernels/guest/checks.sh`) prints `TRACER-KERNELS BEGIN/START/ALIVE/RESULT/DETAIL/STAT/END` lines.
//! The host never waits without a limit: the guest must reach BEGIN within [`BOOT_TIMEOUT`], and after that it
//! must print a line at least every check timeout plus [`CHECK_SLACK`]: a result, or the `ALIVE` line its
//! watchdog prints every 10 s while a check runs. The guest's watchdog bounds each check itself (the check
//! timeout, not counting the time tracer spends loading its programs, and the load timeout for each load), so a
//! slow verifier under TCG is waited for while a guest that stops answering (a lock-up) is not; then qemu is
//! killed and the checks without a result fail, naming the check that was running. A kernel panic or lock-up
//! (`panic=-1 softlockup_panic=1` with `-no-reboot`) ends qemu at once. A boot that never reaches BEGIN is tried
//! once more.

use std::{
    fs,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc::{self, RecvTimeoutError},
    thread,
    time::{Duration, Instant},
};

use super::images::Kernel;

/// How long a guest may take from qemu's start to the checks' BEGIN line (about 2-5 s when healthy).
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// Added to the guest's per-check timeout for the longest silence of the guest: the guest's cleanup and printing
/// of details.
const CHECK_SLACK: Duration = Duration::from_secs(30);
/// How long to wait for qemu to power off after END.
const POWEROFF_TIMEOUT: Duration = Duration::from_secs(20);
/// Serial lines kept to explain a boot that died.
const TAIL_LINES: usize = 40;
const MARK: &str = "TRACER-KERNELS ";

/// The guest's PID 1.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// kernels/guest/init, busybox: every check but those needing systemd.
    Busybox,
    /// The host's systemd, starting kernels/guest/systemd/tracer-kernels.service (the initrd has it appended).
    Systemd,
}

#[derive(Clone)]
pub struct BootConfig {
    pub init: Init,
    pub smp: u32,
    /// Run only these checks (all when empty).
    pub only_checks: Vec<String>,
    pub check_timeout: Duration,
    /// How long one tracer may take to load its programs and be ready, inside the guest.
    pub load_timeout: Duration,
    pub log_dir: Option<PathBuf>,
}

/// The result of one check on one kernel.
pub struct CheckResult {
    pub check: String,
    /// `None` for PASS, else the reason (one line).
    pub failure: Option<String>,
    /// The failed check's output as the guest printed it (DETAIL lines), or the serial console's last lines.
    pub details: Vec<String>,
}

/// Verified instructions of one program on one kernel (a `STAT` line).
#[derive(Clone, Debug)]
pub struct Stat {
    pub program: String,
    /// `None`: the kernel could not tell.
    pub insns: Option<u64>,
    /// Counted from the verifier log of a refusal, not printed by tracer.
    pub refused: bool,
}

/// Verified instructions per program of one kernel.
pub type Stats = Vec<Stat>;

pub struct Report {
    pub results: Vec<CheckResult>,
    /// Verified instructions per program (`STAT` lines; `None`: the kernel could not tell).
    pub stats: Stats,
    /// Timings and anything odd, for stderr.
    pub notes: Vec<String>,
}

/// Boots `kernel` and runs the checks; boots a second time if the first boot never reached the checks.
pub fn run_with_retry(cfg: &BootConfig, kernel: &Kernel, initrd: &Path) -> Report {
    let first = boot(cfg, kernel, initrd, 1);
    let Boot::NeverBegan { why, tail, elapsed } = first else {
        return first.into_report();
    };
    let mut notes =
        vec![format!("boot 1 never reached the checks ({why}, after {:.1} s); booting again", elapsed.as_secs_f64())];
    notes.extend(tail.iter().map(|l| format!("  boot 1 | {l}")));
    let mut report = boot(cfg, kernel, initrd, 2).into_report();
    notes.append(&mut report.notes);
    report.notes = notes;
    report
}

enum Boot {
    NeverBegan { why: String, tail: Vec<String>, elapsed: Duration },
    Began { results: Vec<CheckResult>, notes: Vec<String>, stats: Stats },
}

impl Boot {
    fn into_report(self) -> Report {
        match self {
            Boot::Began { results, notes, stats } => Report { results, notes, stats },
            Boot::NeverBegan { why, tail, elapsed } => Report {
                results: vec![CheckResult {
                    check: "boot".into(),
                    failure: Some(format!(
                        "never reached the checks in 2 boots (last: {why}, after {:.1} s)",
                        elapsed.as_secs_f64()
                    )),
                    details: tail,
                }],
                notes: vec!["no check ran".into()],
                stats: Vec::new(),
            },
        }
    }
}

/// What ended the wait for the next line.
enum Stop {
    /// qemu closed the console: it exited (poweroff, panic with panic=-1, or an error).
    Exited,
    /// No expected line within the limit: qemu was killed.
    TimedOut(Duration),
}

fn boot(cfg: &BootConfig, kernel: &Kernel, initrd: &Path, attempt: u32) -> Boot {
    let started = Instant::now();
    let init = if cfg.init == Init::Systemd { ".systemd" } else { "" };
    let log_path = cfg.log_dir.as_ref().map(|d| {
        d.join(if attempt == 1 {
            format!("{}{init}.log", kernel.release)
        } else {
            format!("{}{init}.boot{attempt}.log", kernel.release)
        })
    });
    let mut log = log_path.as_ref().and_then(|p| fs::File::create(p).ok());
    let mut child = match qemu(cfg, kernel, initrd, attempt) {
        Ok(c) => c,
        Err(e) => {
            return Boot::NeverBegan {
                why: format!("cannot start qemu: {e}"),
                tail: Vec::new(),
                elapsed: started.elapsed(),
            };
        }
    };

    // Console lines arrive on a channel so that the wait for each one can have a limit.
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("qemu stdout is piped");
    let reader = thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).replace('\r', "");
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut stderr = child.stderr.take().expect("qemu stderr is piped");
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut tail: Vec<String> = Vec::new();
    // The kernel's own report of trouble (panic, oops, lock-up, WARN), from its first line on.
    let mut trouble: Vec<String> = Vec::new();
    let mut checks: Vec<String> = Vec::new();
    let mut results: Vec<CheckResult> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut stats: Stats = Vec::new();
    let mut began_at: Option<Duration> = None;
    let mut running: Option<(String, Instant)> = None;
    let mut ended = false;
    let mut deadline = started + BOOT_TIMEOUT;
    let stop = loop {
        let now = Instant::now();
        let line = match rx.recv_timeout(deadline.saturating_duration_since(now)) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => break Stop::Exited,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                break Stop::TimedOut(if began_at.is_none() { BOOT_TIMEOUT } else { cfg.check_timeout + CHECK_SLACK });
            }
        };
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        // The guest's lines can share a console line with a kernel message: look for the mark anywhere.
        let Some(at) = line.find(MARK) else {
            if (!trouble.is_empty() || is_trouble(&line)) && trouble.len() < TROUBLE_LINES {
                trouble.push(line.clone());
            }
            tail.push(line);
            if tail.len() > TAIL_LINES {
                tail.remove(0);
            }
            continue;
        };
        let msg = &line[at + MARK.len()..];
        let (kind, rest) = msg.split_once(' ').unwrap_or((msg, ""));
        match kind {
            "BEGIN" => {
                began_at = Some(started.elapsed());
                let (release, names) = rest.split_once(' ').unwrap_or((rest, ""));
                if release != kernel.release {
                    notes.push(format!("the guest says its release is {release}"));
                }
                checks = names.split(',').filter(|s| !s.is_empty()).map(String::from).collect();
                deadline = Instant::now() + cfg.check_timeout + CHECK_SLACK;
            }
            "START" => {
                running = Some((rest.to_string(), Instant::now()));
                deadline = Instant::now() + cfg.check_timeout + CHECK_SLACK;
            }
            "RESULT" => {
                let (name, verdict) = rest.split_once(' ').unwrap_or((rest, ""));
                let failure = match verdict.split_once(' ') {
                    _ if verdict == "PASS" => None,
                    Some(("FAIL", why)) => Some(why.to_string()),
                    _ => Some(format!("unreadable result from the guest: {verdict:?}")),
                };
                results.push(CheckResult { check: name.to_string(), failure, details: Vec::new() });
                running = None;
                deadline = Instant::now() + cfg.check_timeout + CHECK_SLACK;
            }
            "DETAIL" => {
                let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
                if let Some(r) = results.iter_mut().rev().find(|r| r.check == name) {
                    r.details.push(text.to_string());
                }
            }
            "NOTE" => notes.push(rest.to_string()),
            // The guest's watchdog while a check runs (every 10 s, also while tracer loads its programs).
            "ALIVE" => deadline = Instant::now() + cfg.check_timeout + CHECK_SLACK,
            "STAT" => {
                let mut words = rest.split_whitespace();
                let (program, insns) = (words.next().unwrap_or(""), words.next().and_then(|n| n.parse().ok()));
                let stat = Stat { program: program.to_string(), insns, refused: words.next() == Some("refused") };
                match stats.iter_mut().find(|s| s.program == program) {
                    Some(s) => {
                        s.insns = s.insns.max(stat.insns);
                        s.refused &= stat.refused;
                    }
                    None => stats.push(stat),
                }
            }
            "END" => {
                ended = true;
                deadline = Instant::now() + POWEROFF_TIMEOUT;
            }
            _ => {}
        }
    };
    // The reader ends when qemu's stdout closes (qemu exited or was killed).
    let status = child.wait();
    let _ = reader.join();
    let qemu_err = err_reader.join().unwrap_or_default();
    let elapsed = started.elapsed();

    let Some(began) = began_at else {
        let why = match stop {
            Stop::TimedOut(t) => format!("no output from the checks within {} s", t.as_secs()),
            Stop::Exited => format!(
                "qemu exited ({}){}",
                status.map_or_else(|e| e.to_string(), |s| s.to_string()),
                first_line(&qemu_err).map(|l| format!(": {l}")).unwrap_or_default()
            ),
        };
        let tail = if trouble.is_empty() { tail } else { trouble };
        return Boot::NeverBegan { why, tail, elapsed };
    };

    // Checks the guest announced but never finished: name what stopped them.
    let said = trouble.first().map(|l| format!(": {}", strip_timestamp(l))).unwrap_or_default();
    let cause = match (&stop, ended) {
        (_, true) => None,
        (Stop::TimedOut(t), false) => {
            Some(format!("guest stopped answering (silent for {} s; lock-up?){said}", t.as_secs()))
        }
        (Stop::Exited, false) if said.is_empty() => Some("guest died (qemu exited without a kernel message)".into()),
        (Stop::Exited, false) => Some(format!("guest died{said}")),
    };
    let console = if trouble.is_empty() { tail.clone() } else { trouble.clone() };
    if let Some(cause) = cause {
        let current = running.as_ref().map(|(n, _)| n.clone());
        for name in &checks {
            if results.iter().any(|r| &r.check == name) {
                continue;
            }
            let failure = if current.as_deref() == Some(name.as_str()) {
                let secs = running.as_ref().map_or(0.0, |(_, t)| t.elapsed().as_secs_f64());
                format!("{cause}, {secs:.0} s into this check")
            } else {
                format!("not run: {cause}, during {}", current.as_deref().unwrap_or("the runner, between checks"))
            };
            let details = if current.as_deref() == Some(name.as_str()) { console.clone() } else { Vec::new() };
            results.push(CheckResult { check: name.clone(), failure: Some(failure), details });
        }
    }
    if results.is_empty() {
        results.push(CheckResult {
            check: "checks".into(),
            failure: Some("the guest announced no checks".into()),
            details: tail.clone(),
        });
    }
    notes.insert(
        0,
        format!(
            "boot {attempt}: checks began {:.1} s after qemu started, qemu ran {:.1} s",
            began.as_secs_f64(),
            elapsed.as_secs_f64()
        ),
    );
    if let Some(p) = log_path {
        notes.push(format!("serial log {}", p.display()));
    }
    Boot::Began { results, notes, stats }
}

/// Lines of the kernel's report of trouble kept from its first line on.
const TROUBLE_LINES: usize = 120;

/// The first line of a kernel report that explains a dead or stuck guest.
fn is_trouble(line: &str) -> bool {
    ["Kernel panic", "BUG:", "Oops:", "WARNING:", "watchdog:", "rcu: INFO", "INFO: task", "general protection fault"]
        .iter()
        .any(|p| line.contains(p))
}

/// `[    2.99] Kernel panic - ...` → `Kernel panic - ...`
fn strip_timestamp(line: &str) -> &str {
    let l = line.trim_start();
    match l.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((_, rest)) => rest.trim_start(),
        None => l,
    }
}

fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

unsafe extern "C" {
    fn prctl(option: i32, ...) -> i32;
}

fn set_pdeathsig() -> std::io::Result<()> {
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGKILL: std::ffi::c_ulong = 9;
    // SAFETY: PR_SET_PDEATHSIG takes one integer argument.
    if unsafe { prctl(PR_SET_PDEATHSIG, SIGKILL) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// qemu with the console on stdout. TCG: KVM does not work on these machines (nested virtualisation fails).
fn qemu(cfg: &BootConfig, kernel: &Kernel, initrd: &Path, attempt: u32) -> std::io::Result<Child> {
    let append = [
        "console=ttyS0",
        match cfg.init {
            Init::Busybox => "rdinit=/init",
            // Its service reads the settings below from /kernels/env instead (with_systemd).
            Init::Systemd => "rdinit=/lib/systemd/systemd",
        },
        // Panics (init dying, a lock-up, an oops that panics) reset the guest at once, and -no-reboot turns a
        // reset into qemu's exit: a dead guest ends the boot without waiting for the host's timeout.
        "panic=-1",
        "softlockup_panic=1",
        "mitigations=off",
        // Passed to /init as environment variables.
        &format!("CHECK_TIMEOUT={}", cfg.check_timeout.as_secs()),
        &format!("LOAD_TIMEOUT={}", cfg.load_timeout.as_secs()),
    ]
    .join(" ");
    let append = if cfg.only_checks.is_empty() {
        append
    } else {
        format!("{append} TRACER_CHECKS={}", cfg.only_checks.join(","))
    };
    // A retry shows the kernel's boot messages, to explain why the first boot never reached the checks.
    let append = if attempt == 1 { format!("{append} quiet") } else { append };
    let mut cmd = Command::new("qemu-system-x86_64");
    // If xtask dies without killing qemu (SIGKILL), qemu must not run on: the kernel kills it when the thread
    // that started it ends (that thread waits for qemu otherwise).
    // SAFETY: set_pdeathsig only makes one system call, which is async-signal-safe.
    unsafe { cmd.pre_exec(set_pdeathsig) };
    cmd.args(["-accel", "tcg,thread=single", "-cpu", "max", "-m", "1024", "-smp"])
        .arg(cfg.smp.to_string())
        .args(["-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio"])
        .arg("-kernel")
        .arg(&kernel.image)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(append)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}
