//! `cargo xtask`: orchestrates setup, building, testing, installing and benchmarking tracer.
//!
//! xtask is built with the stable toolchain and only runs other commands; it never depends on
//! aya or builds the eBPF crate itself (tracer-user's build.rs does that through aya-build).
//! Every command it runs is printed to stderr, prefixed with `+`.

mod dist;
mod kernels;

use std::{
    env,
    ffi::{OsStr, OsString},
    fmt, fs,
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{self, Command},
};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", about = "Development tasks for tracer")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install everything the build, tests and benchmarks need (runs scripts/setup.sh).
    Setup,
    /// Run setup, then build the tracer binary (release unless --debug).
    Build {
        /// Build the debug profile instead of release.
        #[arg(long)]
        debug: bool,
    },
    /// Run setup, build, then run tracer with ARGS (e.g. `cargo xtask run -- syscalls -c -- ls /`).
    Run {
        /// Build and run the debug profile instead of release.
        #[arg(long)]
        debug: bool,
        /// Arguments passed to tracer unchanged.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<OsString>,
    },
    /// Run setup, build release, install the binary as /usr/local/bin/tracer.
    Install,
    /// Run setup, then fmt check, clippy (host and eBPF), tests, a short fuzz run, `dist` and its tests, and the
    /// kernel matrix.
    Test,
    /// Run setup, then build into target/dist/: the static musl binary `tracer` (eBPF objects inside), the Debian
    /// package `tracer_VERSION_amd64.deb` and the OCI image `tracer_VERSION_oci.tar` (from scratch, for `monitor`).
    Dist,
    /// Run setup, build release, then the benchmark scripts: bench/syscalls.sh, bench/opens.sh, bench/monitor.sh,
    /// bench/signals.sh, bench/ready.sh (those that exist), or only the one named with --only, passing ARGS to each.
    Bench {
        /// Run only bench/NAME.sh (syscalls, opens, monitor, signals, ready).
        #[arg(long, value_name = "NAME")]
        only: Option<String>,
        /// Arguments passed to the scripts unchanged.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<OsString>,
    },
    /// Run setup, build release tracer and the workload, then boot each kernel of the matrix (Debian 11's 5.10,
    /// Debian 12's 6.1 cloud, 6.12 cloud and 6.1 generic, sid's newest) once under qemu and run every command's
    /// end-to-end checks inside (kernels/README.md). Prints `RELEASE CHECK PASS|FAIL why` per kernel and check.
    Kernels(kernels::Args),
    /// Run setup, build release, then bench/parity.py: strace's own test programs (built from Debian's strace 6.1
    /// source) and real programs under `strace -f` and `tracer syscalls -f`, compared line by line (bench/README.md).
    Parity {
        /// Arguments passed to bench/parity.py unchanged (`--set strace|real`, `--show N`, test names).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
        args: Vec<OsString>,
    },
}

/// A command that ran and failed: xtask exits with the same code.
#[derive(Debug)]
struct Failed {
    what: String,
    code: i32,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed (exit code {})", self.what, self.code)
    }
}

impl std::error::Error for Failed {}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = real_main(cli) {
        eprintln!("xtask: error: {err:#}");
        let code = err.downcast_ref::<Failed>().map_or(1, |f| f.code);
        process::exit(if code == 0 { 1 } else { code });
    }
}

fn real_main(cli: Cli) -> Result<()> {
    let root = workspace_root();
    scrub_cargo_run_env(&root);
    ensure_cargo_bin_on_path();
    match cli.cmd {
        Cmd::Setup => setup(&root),
        Cmd::Build { debug } => {
            setup(&root)?;
            build(&root, debug)
        }
        Cmd::Run { debug, args } => {
            setup(&root)?;
            build(&root, debug)?;
            let bin = tracer_bin(&root, debug);
            let mut cmd = Command::new(&bin);
            cmd.args(&args);
            announce(&cmd, None);
            // Replace this process: tracer gets the terminal and signals directly, and its exit
            // status becomes ours (cargo's `run` execs xtask the same way).
            let err = cmd.exec();
            Err(err).with_context(|| format!("cannot execute {}", bin.display()))
        }
        Cmd::Install => {
            setup(&root)?;
            build(&root, false)?;
            install(&tracer_bin(&root, false), Path::new("/usr/local/bin/tracer"))
        }
        Cmd::Test => test(&root),
        Cmd::Dist => {
            setup(&root)?;
            dist::dist(&root).map(|_| ())
        }
        Cmd::Kernels(args) => kernels::kernels(&root, args),
        Cmd::Parity { args } => {
            setup(&root)?;
            build(&root, false)?;
            let mut cmd = Command::new("python3");
            cmd.arg("bench/parity.py").args(&args).env("TRACER", tracer_bin(&root, false));
            run(&mut cmd, &root)
        }
        Cmd::Bench { only, args } => {
            setup(&root)?;
            build(&root, false)?;
            // The scripts time `target/release/examples/workload` (not built by `cargo build`).
            run(cargo(None).args(["build", "--release", "-p", "tracer-user", "--example", "workload"]), &root)?;
            let names: Vec<String> = match only {
                Some(name) => vec![name],
                None => ["syscalls", "opens", "monitor", "signals", "ready"].map(String::from).to_vec(),
            };
            let mut ran = 0;
            for name in names {
                let script = format!("bench/{name}.sh");
                if !root.join(&script).is_file() {
                    eprintln!("xtask: note: {script} does not exist");
                    continue;
                }
                let mut cmd = Command::new("bash");
                cmd.arg(&script).args(&args).env("TRACER", tracer_bin(&root, false));
                run(&mut cmd, &root)?;
                ran += 1;
            }
            if ran == 0 {
                bail!("no benchmark script found under bench/");
            }
            Ok(())
        }
    }
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().expect("xtask's manifest dir has a parent").to_path_buf()
}

/// `cargo run` (through the `cargo xtask` alias) gives xtask variables meant for xtask alone:
/// its package metadata, and an LD_LIBRARY_PATH with target/ and the stable toolchain's library
/// directories in front. Remove them so that the commands xtask runs see the caller's
/// environment; this matters most for `run`, where a command traced by tracer would otherwise
/// have ld.so search those directories too.
fn scrub_cargo_run_env(root: &Path) {
    let per_package = |k: &str| {
        matches!(
            k,
            "CARGO"
                | "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        ) || k.starts_with("CARGO_PKG_")
    };
    let keys: Vec<OsString> = env::vars_os().map(|(k, _)| k).filter(|k| k.to_str().is_some_and(per_package)).collect();
    let toolchains = env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".rustup")))
        .map(|h| h.join("toolchains"));
    let target = root.join("target");
    let ld_path = env::var_os("LD_LIBRARY_PATH").map(|v| {
        env::split_paths(&v)
            .filter(|p| !p.starts_with(&target) && !toolchains.as_ref().is_some_and(|t| p.starts_with(t)))
            .collect::<Vec<_>>()
    });
    // SAFETY: called at start-up, before xtask starts any thread.
    unsafe {
        for k in keys {
            env::remove_var(k);
        }
        match ld_path {
            Some(paths) if !paths.is_empty() => {
                env::set_var("LD_LIBRARY_PATH", env::join_paths(paths).expect("entries came from split_paths"))
            }
            Some(_) => env::remove_var("LD_LIBRARY_PATH"),
            None => {}
        }
    }
}

/// Tools installed by `cargo install` (bpf-linker, cargo-fuzz) live in `$CARGO_HOME/bin`; the
/// eBPF build finds bpf-linker on PATH. Make sure that directory is on it for every child.
fn ensure_cargo_bin_on_path() {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(bin) = cargo_home.map(|h| h.join("bin")) else {
        return;
    };
    let path = env::var_os("PATH").unwrap_or_default();
    if env::split_paths(&path).any(|p| p == bin) {
        return;
    }
    let joined = env::join_paths(std::iter::once(bin).chain(env::split_paths(&path)))
        .expect("PATH entries contain no separator");
    // SAFETY: called at start-up, before xtask starts any thread.
    unsafe { env::set_var("PATH", joined) };
}

fn tracer_bin(root: &Path, debug: bool) -> PathBuf {
    root.join("target").join(if debug { "debug" } else { "release" }).join("tracer")
}

pub(crate) fn setup(root: &Path) -> Result<()> {
    run(Command::new("bash").arg("scripts/setup.sh"), root)
}

fn build(root: &Path, debug: bool) -> Result<()> {
    let mut cmd = cargo(None);
    cmd.arg("build");
    if !debug {
        cmd.arg("--release");
    }
    cmd.args(["-p", "tracer-user"]);
    run(&mut cmd, root)
}

fn test(root: &Path) -> Result<()> {
    setup(root)?;
    let nightly = ebpf_toolchain(root)?;
    run(cargo(None).args(["fmt", "--all", "--", "--check"]), root)?;
    run(
        cargo(None).args([
            "clippy",
            "--workspace",
            "--exclude",
            "tracer-ebpf",
            "--all-targets",
            // `test = false` keeps dist's tests out of --all-targets.
            "--test",
            "dist",
            "--",
            "-D",
            "warnings",
        ]),
        root,
    )?;
    run(
        cargo(Some(&nightly)).args([
            "clippy",
            "-p",
            "tracer-ebpf",
            "--target",
            "bpfel-unknown-none",
            "-Z",
            "build-std=core",
            "--",
            "-D",
            "warnings",
        ]),
        root,
    )?;
    run(
        cargo(None).args(["test", "--workspace", "--exclude", "tracer-ebpf", "--release", "--", "--test-threads=2"]),
        root,
    )?;
    let fuzz_dir = root.join("tracer-user/fuzz");
    if fuzz_dir.join("Cargo.toml").is_file() {
        // New inputs go to the first (git-ignored) corpus folder; the tracked seeds are read, never written.
        std::fs::create_dir_all(fuzz_dir.join("corpus/decode"))?;
        run(
            cargo(Some(&nightly)).args([
                "fuzz",
                "run",
                "decode",
                "corpus/decode",
                "seeds/decode",
                "--",
                "-max_total_time=20",
            ]),
            &fuzz_dir,
        )?;
    } else {
        eprintln!("xtask: note: {} does not exist; skipping the fuzz run", fuzz_dir.join("Cargo.toml").display());
    }
    // What an operator installs: built, then installed, run and removed (tracer-user/tests/dist.rs).
    let started = std::time::Instant::now();
    dist::dist(root)?;
    run(
        cargo(None).args(["test", "--release", "-p", "tracer-user", "--test", "dist", "--", "--test-threads=1"]),
        root,
    )?;
    eprintln!("xtask: dist and its tests took {:.0} s", started.elapsed().as_secs_f64());
    // The end-to-end checks of every command again, on the other kernels users run (kernels/README.md).
    run(Command::new(std::env::current_exe()?).arg("kernels").arg("--no-build"), root)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// Copies `src` next to `dest` under a temporary name, then renames it over `dest`, so that a
/// running or concurrently started `dest` never sees a half-written file.
fn install(src: &Path, dest: &Path) -> Result<()> {
    let dir = dest.parent().context("destination has no parent directory")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file_name = dest.file_name().context("destination has no file name")?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp.{}", process::id()));
    let tmp = dir.join(tmp_name);
    eprintln!("+ cp {} {}", src.display(), tmp.display());
    let result = (|| -> Result<()> {
        fs::copy(src, &tmp).with_context(|| format!("cannot copy {} to {}", src.display(), tmp.display()))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot chmod {}", tmp.display()))?;
        eprintln!("+ mv {} {}", tmp.display(), dest.display());
        fs::rename(&tmp, dest).with_context(|| format!("cannot rename {} to {}", tmp.display(), dest.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    println!("installed {}", dest.display());
    Ok(())
}

/// `cargo`, through the rustup proxy on PATH, optionally with a `+toolchain`.
/// The pinned nightly that builds and lints the eBPF crate and runs the fuzzer (`EBPF_TOOLCHAIN` in
/// scripts/toolchain.env, which setup.sh installs and tracer-user/build.rs uses too).
fn ebpf_toolchain(root: &Path) -> Result<String> {
    toolchain_env(root, "EBPF_TOOLCHAIN")
}

/// `KEY`'s value in scripts/toolchain.env (`KEY=VALUE` lines).
pub(crate) fn toolchain_env(root: &Path, key: &str) -> Result<String> {
    let file = root.join("scripts/toolchain.env");
    let text = fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("{} sets no {key}", file.display()))
}

pub(crate) fn cargo(toolchain: Option<&str>) -> Command {
    let mut cmd = Command::new("cargo");
    if let Some(toolchain) = toolchain {
        cmd.arg(format!("+{toolchain}"));
    }
    cmd
}

/// Prints `cmd`, runs it in `dir` and fails if it does not exit with status 0.
pub(crate) fn run(cmd: &mut Command, dir: &Path) -> Result<()> {
    cmd.current_dir(dir);
    let shown = announce(cmd, Some(dir));
    let status = cmd.status().with_context(|| format!("cannot start `{shown}`"))?;
    if status.success() {
        return Ok(());
    }
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt as _;
        128 + status.signal().unwrap_or(0)
    });
    Err(Failed { what: shown, code }.into())
}

/// Prints the command line as `+ cmd args` (with `(in DIR)` when DIR is not the workspace root)
/// and returns it.
pub(crate) fn announce(cmd: &Command, dir: Option<&Path>) -> String {
    let envs = cmd.get_envs().filter_map(|(k, v)| {
        let mut kv = k.to_os_string();
        kv.push("=");
        kv.push(v?);
        Some(shell_quote(&kv))
    });
    let argv = std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(shell_quote);
    let shown = envs.chain(argv).collect::<Vec<_>>().join(" ");
    match dir {
        Some(dir) if dir != workspace_root() => {
            eprintln!("+ (cd {} && {shown})", shell_quote(dir.as_os_str()))
        }
        _ => eprintln!("+ {shown}"),
    }
    shown
}

fn shell_quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=+:,@%".contains(c));
    if plain { s.into_owned() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}
