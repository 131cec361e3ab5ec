//! `cargo xtask kernels`: tracer's end-to-end checks on other kernels, each booted once under qemu.
//!
//! For each kernel of the matrix ([`SPECS`]: Debian's newest 5.10 cloud image from bullseye, 6.1 cloud, 6.12
//! cloud and 6.1 generic from the host's Debian 12, and sid's newest cloud image), the host resolves and caches
//! the image ([`images`]), boots it with a small initramfs ([`initramfs`]: busybox, tracer, the workload, their
//! libraries and `kernels/guest/`) under qemu TCG ([`vm`]), and the guest runs every check of
//! `kernels/guest/checks.sh` in that one boot. The output is one line per kernel and check, `RELEASE CHECK PASS`
//! or `RELEASE CHECK FAIL why`, on stdout, plus `RELEASE verifier-budget PASS|FAIL` from the verified instruction
//! counts; progress, timings, the output of failed checks (tracer's stderr, verifier logs, kernel messages) and
//! the table of verified instructions per program and kernel go to stderr. See kernels/README.md.

mod images;
mod initramfs;
mod vm;

use std::{
    collections::VecDeque,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::{cargo, run, setup};

/// One kernel of the matrix: the newest `linux-image-<series>.*-<flavour>` package of a Debian suite.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// What `--kernel` selects it by (besides its series and release).
    pub name: &'static str,
    /// The Debian suite whose packages are searched, through apt with a private sources list (`bullseye`,
    /// `sid`); `None`: the host's own apt sources (Debian 12).
    pub suite: Option<&'static str>,
    /// `6.1`, `6.12`: the package's version starts with `<series>.`; `None`: the newest series the suite has.
    pub series: Option<&'static str>,
    /// The package name's suffix after the version: `cloud-amd64`, `amd64` (generic).
    pub flavour: &'static str,
}

impl Spec {
    /// `6.1.*-cloud-amd64`, `*-cloud-amd64`: the packages it picks from, for messages.
    pub fn pattern(&self) -> String {
        match self.series {
            Some(series) => format!("{series}.*-{}", self.flavour),
            None => format!("*-{}", self.flavour),
        }
    }
}

/// The slowest kernels first (their verifiers take longest; 5.10's and 6.1's opens loads take minutes under
/// TCG), so that the parallel boots end together.
pub const SPECS: &[Spec] = &[
    Spec { name: "5.10-cloud", suite: Some("bullseye"), series: Some("5.10"), flavour: "cloud-amd64" },
    Spec { name: "6.1-cloud", suite: None, series: Some("6.1"), flavour: "cloud-amd64" },
    Spec { name: "6.1-generic", suite: None, series: Some("6.1"), flavour: "amd64" },
    Spec { name: "6.12-cloud", suite: None, series: Some("6.12"), flavour: "cloud-amd64" },
    Spec { name: "newest-cloud", suite: Some("sid"), series: None, flavour: "cloud-amd64" },
];

#[derive(clap::Args)]
pub struct Args {
    /// Only these kernels (repeatable or comma separated): a series (`5.10`, `6.1`, `6.12`; another series, such
    /// as `7.2`, is looked for in sid), a name (`5.10-cloud`, `6.1-cloud`, `6.12-cloud`, `6.1-generic`,
    /// `newest-cloud`, or `sid`) or a kernel release (`6.12.117+deb12-cloud-amd64`).
    #[arg(long = "kernel", value_name = "KERNEL", value_delimiter = ',')]
    kernels: Vec<String>,
    /// Keep the serial console output of each kernel as DIR/RELEASE.log (of a second boot, if the first never
    /// reached the checks, as DIR/RELEASE.boot2.log).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// How many guests run at once [default: the number of CPUs].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// vCPUs of each guest (qemu TCG runs one host thread per vCPU).
    #[arg(long, value_name = "N", default_value_t = 2)]
    smp: u32,
    /// Only these checks (repeatable or comma separated), e.g. `syscalls-attach`; see kernels/guest/checks.sh.
    #[arg(long = "check", value_name = "CHECK", value_delimiter = ',')]
    checks: Vec<String>,
    /// Seconds one check may take inside the guest before it is killed and fails, not counting the time tracer
    /// spends loading its programs (from its start to its `ready`).
    #[arg(long, value_name = "SECS", default_value_t = 40)]
    check_timeout: u64,
    /// Seconds one tracer may take to load its programs and be ready inside the guest (the verifier under TCG
    /// takes 1-60 s for programs that load, about 100 s to refuse one at the 1,000,000-instruction limit).
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    load_timeout: u64,
    /// Run the checks of the systemd boot (systemd-unit) on every selected kernel; by default they run on one:
    /// 6.1-cloud (the host's kernel) when it is selected, else the first selected.
    #[arg(long)]
    systemd_everywhere: bool,
    /// Do not run setup and build: use the target/release/tracer and workload that exist.
    #[arg(long)]
    no_build: bool,
}

/// Where downloaded kernel images are kept, one directory per release.
const CACHE: &str = "/var/cache/tracer-kernels";

/// Checks that need systemd as the guest's PID 1: they run in a boot of their own (kernels/guest/systemd/), on
/// [`SYSTEMD_KERNEL`] only unless `--systemd-everywhere`.
const SYSTEMD_CHECKS: &[&str] = &["systemd-unit"];
/// The kernel of the systemd boot by default: the host's own series and flavour (one boot of ~30 s more).
const SYSTEMD_KERNEL: &str = "6.1-cloud";

pub fn kernels(root: &Path, args: Args) -> Result<()> {
    let started = Instant::now();
    let specs = select(&args.kernels)?;
    let (busybox_checks, systemd_checks) = split_checks(&args.checks);
    let busybox_boots = args.checks.is_empty() || !busybox_checks.is_empty();
    ensure_host_tools(!systemd_checks.is_empty())?;
    if !args.no_build {
        setup(root)?;
        run(
            cargo(None).args(["build", "--release", "-p", "tracer-user", "--bin", "tracer", "--example", "workload"]),
            root,
        )?;
    }
    let release_dir = root.join("target/release");
    let tracer = release_dir.join("tracer");
    let workload = release_dir.join("examples/workload");
    for f in [&tracer, &workload] {
        if !f.is_file() {
            bail!("{} does not exist (build it, or drop --no-build)", f.display());
        }
    }

    let t = Instant::now();
    let mut apt = images::Apt::default();
    let mut kernels: Vec<images::Kernel> = Vec::new();
    let mut spec_names: Vec<&str> = Vec::new();
    for (spec, release) in &specs {
        let kernel = apt.resolve(spec, release.as_deref(), Path::new(CACHE))?;
        // `--kernel 6.1 --kernel 6.1.0-56-amd64` names one kernel twice: boot it once.
        if !kernels.iter().any(|k| k.release == kernel.release) {
            kernels.push(kernel);
            spec_names.push(spec.name);
        }
    }
    let systemd_on: Vec<bool> = if systemd_checks.is_empty() {
        vec![false; kernels.len()]
    } else if args.systemd_everywhere {
        vec![true; kernels.len()]
    } else {
        let one = spec_names.iter().position(|n| *n == SYSTEMD_KERNEL).unwrap_or(0);
        (0..kernels.len()).map(|i| i == one).collect()
    };
    eprintln!(
        "xtask: kernels ready in {:.1} s: {}",
        secs(t.elapsed()),
        kernels.iter().map(|k| k.release.as_str()).collect::<Vec<_>>().join(", ")
    );

    let work = root.join("target/kernels");
    fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let initrd = work.join("initramfs.cpio");
    let t = Instant::now();
    initramfs::build(&initrd, &tracer, &workload, &root.join("kernels/guest"))?;
    eprintln!(
        "xtask: initramfs {} ({} KiB) in {:.1} s",
        initrd.display(),
        fs::metadata(&initrd)?.len() / 1024,
        secs(t.elapsed())
    );
    let boot = vm::BootConfig {
        init: vm::Init::Busybox,
        smp: args.smp,
        only_checks: guest_checks(&busybox_checks),
        check_timeout: Duration::from_secs(args.check_timeout),
        load_timeout: Duration::from_secs(args.load_timeout),
        log_dir: args.log.clone(),
    };
    // The systemd boots last: they are short (one check), the slow verifiers' boots start first.
    let mut boots = Vec::new();
    let mut systemd_boots = Vec::new();
    for (k, systemd) in kernels.iter().zip(&systemd_on) {
        let dest = work.join(format!("{}.initrd", k.release));
        initramfs::for_kernel(&initrd, &k.modules, &dest)?;
        if *systemd {
            let with = work.join(format!("{}.systemd.initrd", k.release));
            let env = format!(
                "CHECK_TIMEOUT={}\nLOAD_TIMEOUT={}\nTRACER_CHECKS={}\n",
                args.check_timeout,
                args.load_timeout,
                systemd_checks.join(",")
            );
            initramfs::with_systemd(&dest, &root.join("kernels/guest/systemd"), &env, &with)?;
            let cfg = vm::BootConfig { init: vm::Init::Systemd, only_checks: systemd_checks.clone(), ..boot.clone() };
            systemd_boots.push((k.clone(), with, cfg));
        }
        if busybox_boots {
            boots.push((k.clone(), dest, boot.clone()));
        }
    }
    boots.append(&mut systemd_boots);
    let booted_kernels = if busybox_boots { kernels.len() } else { systemd_on.iter().filter(|s| **s).count() };
    let boot_count = boots.len();
    if let Some(dir) = &args.log {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let jobs = args.jobs.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let workers_wanted = jobs.min(boots.len());
    let queue = Arc::new(Mutex::new(boots.into_iter().collect::<VecDeque<_>>()));
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::new();
    for _ in 0..workers_wanted {
        let queue = Arc::clone(&queue);
        let tx = tx.clone();
        workers.push(thread::spawn(move || {
            loop {
                let Some((kernel, initrd, boot)) = queue.lock().unwrap().pop_front() else { break };
                let report = vm::run_with_retry(&boot, &kernel, &initrd);
                if tx.send((kernel, boot.init, report)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);

    let mut failed = 0;
    let mut total = 0;
    let mut lines = Vec::new();
    let mut stats: Vec<(String, vm::Stats)> = Vec::new();
    for (kernel, init, mut report) in rx {
        let systemd = init == vm::Init::Systemd;
        if !systemd {
            report.results.extend(budget(&report.stats));
        }
        let boot_name = if systemd { format!("{} (systemd boot)", kernel.release) } else { kernel.release.clone() };
        // Details first (stderr), then the kernel's result lines (stdout) in one piece.
        for r in report.results.iter().filter(|r| r.failure.is_some()) {
            if !r.details.is_empty() {
                eprintln!("xtask: ---- {} {}: output of the failed check", kernel.release, r.check);
                let shown = r.details.len().min(DETAIL_LINES);
                for l in &r.details[..shown] {
                    eprintln!("  {l}");
                }
                if r.details.len() > shown {
                    eprintln!("  ... {} more lines{}", r.details.len() - shown, log_hint(args.log.as_deref()));
                }
            }
        }
        for note in &report.notes {
            eprintln!("xtask: {boot_name}: {note}");
        }
        let mut out = std::io::stdout().lock();
        for r in &report.results {
            total += 1;
            let line = match &r.failure {
                None => format!("{} {} PASS", kernel.release, r.check),
                Some(why) => {
                    failed += 1;
                    format!("{} {} FAIL {why}", kernel.release, r.check)
                }
            };
            writeln!(out, "{line}")?;
            lines.push(line);
        }
        out.flush()?;
        if !systemd {
            stats.push((kernel.release.clone(), report.stats));
        }
    }
    for w in workers {
        w.join().expect("a kernel worker panicked");
    }
    // In the order of the matrix, not of the boots' ends.
    stats.sort_by_key(|(release, _)| kernels.iter().position(|k| &k.release == release));
    print_stats(&stats);
    eprintln!(
        "xtask: kernel matrix: {} checks on {} kernels ({} boots), {failed} failed, in {:.1} s",
        total,
        booted_kernels,
        boot_count,
        secs(started.elapsed())
    );
    if failed > 0 {
        bail!("kernel matrix: {failed} of {total} checks failed");
    }
    Ok(())
}

/// Verified instructions allowed per program: the kernel's limit is 1,000,000 per program, and 6.1's verifier
/// under TCG takes about 50 s for 900,000. A program above this is one change away from being refused.
pub const VERIFIER_BUDGET: u64 = 200_000;

/// `--check` split into the checks of the busybox boots and those of the systemd boot; nothing asked: every
/// busybox check (an empty list) and every systemd check.
fn split_checks(asked: &[String]) -> (Vec<String>, Vec<String>) {
    if asked.is_empty() {
        return (Vec::new(), SYSTEMD_CHECKS.iter().map(|c| c.to_string()).collect());
    }
    asked.iter().cloned().partition(|c| !SYSTEMD_CHECKS.contains(&c.as_str()))
}

/// The checks the guest runs for `--check`: `verifier-budget` is the host's (from the guest's `verifier-stats`
/// counts), so it is asked of the guest as `verifier-stats`, never by its own name (the guest has no such check).
fn guest_checks(asked: &[String]) -> Vec<String> {
    let mut guest: Vec<String> = asked.iter().filter(|c| *c != "verifier-budget").cloned().collect();
    if guest.len() < asked.len() && !guest.iter().any(|c| c == "verifier-stats") {
        guest.push("verifier-stats".into());
    }
    guest
}

/// The `verifier-budget` lines of one kernel: a FAIL per program above [`VERIFIER_BUDGET`], else one PASS if
/// tracer printed statistics; nothing without them (the `verifier-stats` check says why).
fn budget(stats: &[vm::Stat]) -> Vec<vm::CheckResult> {
    let over: Vec<vm::CheckResult> = stats
        .iter()
        .filter_map(|s| {
            let n = s.insns?;
            let refused = if s.refused { " (refused)" } else { "" };
            (n > VERIFIER_BUDGET).then(|| vm::CheckResult {
                check: "verifier-budget".into(),
                failure: Some(format!("{} {n} > {VERIFIER_BUDGET}{refused}", s.program)),
                details: Vec::new(),
            })
        })
        .collect();
    if over.is_empty() && stats.iter().any(|s| !s.refused) {
        vec![vm::CheckResult { check: "verifier-budget".into(), failure: None, details: Vec::new() }]
    } else {
        over
    }
}

/// The table of verified instructions, program × kernel, on stderr: `N!` above the budget, `N*` counted from a
/// refusal's verifier log, `?` where the kernel could not tell, `-` where the program was not loaded (or tracer
/// printed nothing).
fn print_stats(stats: &[(String, vm::Stats)]) {
    let mut programs: Vec<&str> = stats.iter().flat_map(|(_, s)| s.iter().map(|s| s.program.as_str())).collect();
    programs.sort();
    programs.dedup();
    if programs.is_empty() {
        eprintln!("xtask: verified instructions: no kernel reported any (see the verifier-stats check)");
        return;
    }
    let width = programs.iter().map(|p| p.len()).max().unwrap_or(0).max("program".len());
    let mut out = format!(
        "xtask: verified instructions per program (budget {VERIFIER_BUDGET}; ! above it, * from a refusal's log, \
         ? unknown, - not loaded):\n{:width$}",
        "program"
    );
    for (release, _) in stats {
        out += &format!("  {release:>w$}", w = release.len().max(8));
    }
    out += "\n";
    for p in &programs {
        out += &format!("{p:width$}");
        for (release, s) in stats {
            let cell = match s.iter().find(|s| s.program == *p) {
                None => "-".to_string(),
                Some(s) => {
                    let n = s.insns.map_or("?".to_string(), |n| n.to_string());
                    let over = if s.insns.is_some_and(|n| n > VERIFIER_BUDGET) { "!" } else { "" };
                    let refused = if s.refused { "*" } else { "" };
                    format!("{n}{over}{refused}")
                }
            };
            out += &format!("  {cell:>w$}", w = release.len().max(8));
        }
        out += "\n";
    }
    eprint!("{out}");
}

/// Lines of a failed check's output shown on stderr (the serial log kept with --log has them all).
const DETAIL_LINES: usize = 120;

fn log_hint(log: Option<&Path>) -> String {
    match log {
        Some(dir) => format!(" (all of them in {})", dir.display()),
        None => " (re-run with --log DIR to keep the whole serial log)".into(),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The kernels `--kernel` selects (all of [`SPECS`] without it), each with the exact release asked for, if one
/// was: a series or a name means the newest release of the spec. A series that no spec has (`7.2`) selects the
/// newest of that series in the suite of the spec without a series (sid).
fn select(filters: &[String]) -> Result<Vec<(Spec, Option<String>)>> {
    if filters.is_empty() {
        return Ok(SPECS.iter().map(|s| (*s, None)).collect());
    }
    let mut chosen: Vec<(Spec, Option<String>)> = Vec::new();
    let is_series = |f: &str| {
        let mut parts = f.split('.');
        let num = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        num(parts.next()) && num(parts.next()) && parts.next().is_none()
    };
    for f in filters {
        let f = f.trim();
        let mut picks: Vec<(Spec, Option<String>)> = Vec::new();
        for s in SPECS {
            if f == s.name || s.series == Some(f) || s.suite.is_some_and(|suite| suite == f && s.series.is_none()) {
                picks.push((*s, None));
            } else if images::parse_release(s, f).is_some() {
                picks.push((*s, Some(f.to_string())));
            }
        }
        // A release of a series that has its own spec is that spec's, not also the newest's.
        if picks.iter().any(|(s, _)| s.series.is_some()) {
            picks.retain(|(s, _)| s.series.is_some());
        }
        if picks.is_empty() && is_series(f) {
            picks.extend(
                SPECS.iter().filter(|s| s.series.is_none()).map(|s| (Spec { series: Some(leak(f)), ..*s }, None)),
            );
        }
        if picks.is_empty() {
            let names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
            bail!(
                "--kernel {f:?} matches no kernel of the matrix: give a series (5.10, 6.1, 6.12, 7.2), a name ({}) or \
                 a release such as 6.1.0-56-cloud-amd64",
                names.join(", ")
            );
        }
        for pick in picks {
            if !chosen.iter().any(|c| c.0.name == pick.0.name && c.0.series == pick.0.series && c.1 == pick.1) {
                chosen.push(pick);
            }
        }
    }
    Ok(chosen)
}

/// A `--kernel` series kept for the whole run (a [`Spec`] holds `&'static str`).
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// qemu, a static busybox and (for a systemd boot) systemd, from Debian, when missing. A fresh Debian 12 server
/// has systemd; a container image of Debian does not.
fn ensure_host_tools(systemd: bool) -> Result<()> {
    let mut missing = Vec::new();
    if systemd && !initramfs::systemd_present() {
        missing.push("systemd");
    }
    if !Command::new("qemu-system-x86_64").arg("--version").output().is_ok_and(|o| o.status.success()) {
        missing.push("qemu-system-x86");
    }
    if !initramfs::static_busybox_present() {
        missing.push("busybox-static");
    }
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let install = |cmd: &mut Command| cmd.env("DEBIAN_FRONTEND", "noninteractive").status();
    let mut apt = Command::new("apt-get");
    apt.args(["install", "-y", "-qq", "--no-install-recommends"]).args(&missing);
    if !install(&mut apt).is_ok_and(|s| s.success()) {
        run(Command::new("apt-get").args(["update", "-qq"]), Path::new("/"))?;
        let mut apt = Command::new("apt-get");
        apt.args(["install", "-y", "-qq", "--no-install-recommends"]).args(&missing);
        run(apt.env("DEBIAN_FRONTEND", "noninteractive"), Path::new("/"))?;
    }
    if !initramfs::static_busybox_present() {
        bail!("/bin/busybox is still not a static binary after installing busybox-static");
    }
    if systemd && !initramfs::systemd_present() {
        bail!("{} is still missing after installing systemd", initramfs::SYSTEMD);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(program: &str, insns: Option<u64>, refused: bool) -> vm::Stat {
        vm::Stat { program: program.into(), insns, refused }
    }

    #[test]
    fn verifier_budget_lines() {
        assert!(budget(&[]).is_empty());
        // Only a refusal's count: no PASS can be claimed, and a refusal below the budget is no budget failure.
        assert!(budget(&[stat("files_open_exit", Some(4000), true)]).is_empty());
        let r = budget(&[stat("raw_sys_exit", Some(1200), false), stat("files_open_exit", None, false)]);
        assert_eq!(r.len(), 1);
        assert!(r[0].failure.is_none());
        let r = budget(&[stat("raw_sys_exit", Some(1200), false), stat("files_open_exit", Some(1_000_001), true)]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, "verifier-budget");
        assert_eq!(r[0].failure.as_deref(), Some("files_open_exit 1000001 > 200000 (refused)"));
    }

    #[test]
    fn verifier_budget_is_asked_of_the_guest_as_its_statistics() {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(guest_checks(&owned(&["verifier-budget"])), owned(&["verifier-stats"]));
        assert_eq!(
            guest_checks(&owned(&["verifier-stats", "verifier-budget", "opens-watch"])),
            owned(&["verifier-stats", "opens-watch"])
        );
        assert_eq!(guest_checks(&owned(&["opens-watch"])), owned(&["opens-watch"]));
        assert!(guest_checks(&[]).is_empty());
    }

    #[test]
    fn systemd_checks_get_a_boot_of_their_own() {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(split_checks(&[]), (owned(&[]), owned(&["systemd-unit"])));
        assert_eq!(split_checks(&owned(&["systemd-unit"])), (owned(&[]), owned(&["systemd-unit"])));
        assert_eq!(
            split_checks(&owned(&["opens-dirfd", "systemd-unit", "procs-tree"])),
            (owned(&["opens-dirfd", "procs-tree"]), owned(&["systemd-unit"]))
        );
        assert_eq!(split_checks(&owned(&["opens-dirfd"])), (owned(&["opens-dirfd"]), owned(&[])));
    }

    #[test]
    fn kernel_filters() {
        let names = |f: &[&str]| -> Vec<String> {
            let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            select(&f)
                .unwrap()
                .iter()
                .map(|(s, r)| format!("{}/{}/{}", s.name, s.series.unwrap_or("*"), r.as_deref().unwrap_or("newest")))
                .collect()
        };
        assert_eq!(names(&[]).len(), SPECS.len());
        assert_eq!(names(&["5.10"]), ["5.10-cloud/5.10/newest"]);
        assert_eq!(names(&["6.1"]), ["6.1-cloud/6.1/newest", "6.1-generic/6.1/newest"]);
        assert_eq!(names(&["sid"]), ["newest-cloud/*/newest"]);
        assert_eq!(names(&["7.2"]), ["newest-cloud/7.2/newest"]);
        assert_eq!(names(&["6.1.0-56-cloud-amd64"]), ["6.1-cloud/6.1/6.1.0-56-cloud-amd64"]);
        assert_eq!(names(&["7.2.13+deb14-cloud-amd64"]), ["newest-cloud/*/7.2.13+deb14-cloud-amd64"]);
        assert!(select(&["7.2.13+deb14-rt-amd64".to_string()]).is_err());
    }
}
