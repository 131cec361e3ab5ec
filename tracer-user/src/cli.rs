//! The command line every command shares, declared once: output (`--json`, `-o`), process selection (`-p`),
//! ring buffer size (`--buffer-size`), and what tracer's exit status means.
//!
//! Usage errors all exit 2: clap's own, the checks a command makes after parsing (through [`usage_error`], which
//! prints clap's message and usage), and the few only the running kernel can judge (a syscall name it does not
//! have: a [`UsageError`], one `tracer:` line). Runtime failures exit 1; clean stops 0.

use std::path::PathBuf;

use anyhow::bail;

use crate::{output::Output, procfs};

/// `tracer --help`'s last words.
pub const EXIT_STATUS_HELP: &str = "Exit status:\n  \
    0  stopped cleanly: Ctrl-C, SIGTERM, every traced process gone, or the output pipe closed\n  \
    1  a runtime failure: not root, a probe the kernel refused, a -p process that does not exist or has exited\n  \
    2  a usage error: a bad option or value, a config file that is not valid, a syscall name the kernel lacks,\n     \
       a -p naming a kernel thread or tracer itself\n  \
    N  tracer syscalls -- CMD: CMD's own exit status (128 + the signal that killed it)";

/// `--json`, `-o FILE`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write events to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Where events go: FILE (created, truncated) or stdout.
    pub fn open(&self) -> anyhow::Result<Output> {
        Output::open(self.output.as_deref(), self.json)
    }
}

/// `-p PID`, repeatable, or lists as `pidof` prints them.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PidArgs {
    /// Only this process (repeatable; a comma or space separated list as pidof prints).
    #[arg(short = 'p', long = "pid", value_name = "PID", value_parser = parse_pids, action = clap::ArgAction::Append)]
    pids: Vec<Vec<u32>>,
}

impl PidArgs {
    /// No `-p`: every process.
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty()
    }

    /// The processes named, each as its process id (a thread id names its process), sorted, once each. Resolved
    /// before anything is loaded. A pid that does not exist (any more), a zombie, or pids from a /proc that is not
    /// the kernel's (inside a container) are runtime failures; a kernel thread or tracer itself, which can never be
    /// traced, are usage errors. strace refuses the same three.
    pub fn resolve(&self) -> anyhow::Result<Vec<u32>> {
        if !self.pids.is_empty()
            && let Some(why) = procfs::foreign_pid_namespace()
        {
            bail!(
                "-p cannot be used here: {why}, and the kernel's probes know processes by other ids; run tracer in \
                 the host's pid namespace"
            );
        }
        let me = std::process::id();
        let mut tgids = Vec::new();
        for &pid in self.pids.iter().flatten() {
            let Some(tgid) = procfs::tgid_of(pid) else { bail!("no such process: {pid}") };
            let name = procfs::comm(tgid).map_or_else(|| "?".into(), |c| crate::escape::display_name(&c));
            if tgid == me {
                bail!(UsageError(format!("process {pid} is tracer itself, which cannot trace itself")));
            }
            match procfs::stat(tgid) {
                Some(stat) if stat.kernel_thread() => bail!(UsageError(format!(
                    "process {pid} ({name}) is a kernel thread: it makes no system calls of its own, and tracer \
                     cannot trace it"
                ))),
                _ if procfs::is_zombie(tgid) => bail!(
                    "process {pid} ({name}) has exited (a zombie its parent has not reaped): there is nothing to trace"
                ),
                None => bail!("no such process: {pid}"),
                Some(_) => tgids.push(tgid),
            }
        }
        tgids.sort_unstable();
        tgids.dedup();
        Ok(tgids)
    }
}

/// `--cgroup PATH`, `--container ID|NAME`: only processes in that cgroup or below it, filtered in the kernel.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CgroupArgs {
    /// Only processes in this cgroup or below it: its path as /proc/PID/cgroup shows it, or its directory (on a
    /// cgroup v1 host, in the pids controller's hierarchy)
    #[arg(long, value_name = "PATH", conflicts_with = "container")]
    cgroup: Option<String>,
    /// Only processes of this running container (docker, containerd, CRI-O, podman): its full id, else its name
    /// (read from the runtime's state on disk), else at least 4 of its id's leading hex digits
    #[arg(long, value_name = "ID|NAME")]
    container: Option<String>,
}

impl CgroupArgs {
    /// The cgroup to filter by, checked against the running system: a path that is no cgroup, an id or name no
    /// running container has, are usage errors (exit 2).
    pub fn resolve(&self) -> anyhow::Result<Option<crate::cgroups::CgroupFilter>> {
        if self.cgroup.is_none() && self.container.is_none() {
            return Ok(None);
        }
        let usage = |err: crate::cgroups::FilterError| UsageError(err.to_string());
        let hierarchy =
            crate::cgroups::Hierarchy::detect().ok_or_else(|| usage(crate::cgroups::FilterError::NoHierarchy))?;
        let filter = match (&self.cgroup, &self.container) {
            (Some(path), _) => hierarchy.filter_by_path(path),
            (None, Some(id)) => hierarchy.filter_by_container(id),
            (None, None) => return Ok(None),
        };
        Ok(Some(filter.map_err(usage)?))
    }
}

/// `--netns PATH|PID`: the snapshot looks in this one network namespace instead of every one.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NetnsArgs {
    /// Snapshot only this network namespace: a process's (its PID), or a namespace file (/proc/PID/ns/net,
    /// /run/netns/NAME, or a NAME `ip netns` made); default: every network namespace some process is in
    #[arg(long, value_name = "PATH|PID")]
    netns: Option<String>,
}

impl NetnsArgs {
    /// The namespace named, checked against the running system before anything is loaded (a pid that does not
    /// exist, a file that is no network namespace: a usage error, exit 2); `None`: every one (`namespaces`).
    pub fn resolve(&self) -> anyhow::Result<Option<crate::sockdiag::netns::Namespace>> {
        let Some(given) = &self.netns else { return Ok(None) };
        Ok(Some(crate::sockdiag::netns::named(given).map_err(|err| UsageError(err.to_string()))?))
    }
}

/// The namespaces a snapshot looks in: the one `--netns` named, or every one there is now.
pub fn namespaces(named: Option<crate::sockdiag::netns::Namespace>) -> Vec<crate::sockdiag::netns::Namespace> {
    named.map_or_else(crate::sockdiag::netns::every, |ns| vec![ns])
}

/// `--buffer-size BYTES`, with each command's default.
#[derive(clap::Args, Debug, Clone)]
pub struct RingArgs<const DEFAULT: u32> {
    /// Kernel ring buffer size in bytes (a power of two, at least one page).
    // Not `default_value_t`: clap keeps its text in a static that every `DEFAULT` would share.
    #[arg(long, value_name = "BYTES", default_value = ring_size_text(DEFAULT), value_parser = parse_ring_size)]
    pub buffer_size: u32,
}

/// The text of a default size, for `--help` and clap's parser (the defaults in use are spelled once each).
fn ring_size_text(size: u32) -> &'static str {
    match size {
        0x10_0000 => "1048576",
        0x20_0000 => "2097152",
        0x40_0000 => "4194304",
        0x80_0000 => "8388608",
        _ => Box::leak(size.to_string().into_boxed_str()),
    }
}

/// A usage error only the running system can find (a syscall name this kernel does not have): exit status 2,
/// printed as one `tracer: ...` line like any other error.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exits with clap's usage error for `subcommand`: its message, the subcommand's usage, status 2.
pub fn usage_error(mut cli: clap::Command, subcommand: &str, kind: clap::error::ErrorKind, msg: String) -> ! {
    cli.build();
    let sub = cli.find_subcommand_mut(subcommand).expect("subcommand exists");
    sub.error(kind, msg).exit()
}

/// `-p` values: one pid, or a list separated by commas or spaces, as `pidof` prints it.
pub fn parse_pids(text: &str) -> Result<Vec<u32>, String> {
    let pids = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u32>() {
            Ok(0) | Err(_) => Err(format!("'{s}' is not a process id")),
            Ok(pid) => Ok(pid),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if pids.is_empty() {
        return Err("no process id given".into());
    }
    Ok(pids)
}

/// `--buffer-size`: the kernel wants a power of two of at least a page.
pub fn parse_ring_size(text: &str) -> Result<u32, String> {
    let size: u32 = text.parse().map_err(|_| format!("'{text}' is not a size in bytes"))?;
    if !size.is_power_of_two() || size < 4096 {
        return Err("the ring buffer size must be a power of two of at least 4096".into());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pid_lists_as_pidof_prints_them() {
        assert_eq!(parse_pids("12 34"), Ok(vec![12, 34]));
        assert_eq!(parse_pids("12,34"), Ok(vec![12, 34]));
        assert!(parse_pids("0").is_err());
        assert!(parse_pids("abc").is_err());
        assert!(parse_pids("").is_err());
    }

    #[test]
    fn each_command_has_its_own_default_ring_size() {
        use clap::{CommandFactory as _, Parser as _};
        #[derive(clap::Parser)]
        struct Small {
            #[command(flatten)]
            ring: RingArgs<{ 1 << 20 }>,
        }
        #[derive(clap::Parser)]
        struct Large {
            #[command(flatten)]
            ring: RingArgs<{ 8 << 20 }>,
        }
        Small::command().debug_assert();
        assert_eq!(Large::parse_from(["t"]).ring.buffer_size, 8 << 20);
        assert_eq!(Small::parse_from(["t"]).ring.buffer_size, 1 << 20);
        assert_eq!(Small::parse_from(["t", "--buffer-size", "65536"]).ring.buffer_size, 65536);
        assert_eq!(ring_size_text(4 << 20), "4194304");
    }

    #[test]
    fn ring_sizes_are_powers_of_two() {
        assert_eq!(parse_ring_size("8388608"), Ok(8 << 20));
        assert_eq!(parse_ring_size("65536"), Ok(65536));
        assert!(parse_ring_size("1000").is_err());
        assert!(parse_ring_size("2048").is_err());
    }
}
