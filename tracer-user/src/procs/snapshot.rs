//! The processes running now, as `ps aux | grep PATTERN` lists them (or `ps -ef --forest` with `--tree`), and the
//! followed set they seed in the kernel.

use std::collections::{BTreeMap, HashSet};

use tracer_common::event::traced;

use crate::{
    bpf::Probes,
    cgroups::{Hierarchy, Origins},
    escape::{Text, display_name, shell_command},
    linux::processes::{PF_KTHREAD, clock_ticks, cpu_time, page_size, start_column, stat_letters, tty_name, user_name},
    output::{Clock, Output, OutputClosed},
    procfs::{self, ProcStat},
    records::Process,
};

/// Commands that hold a pattern in their arguments only to look for it: never listed for that (`grep python`
/// in `ps aux | grep python`).
const SEARCHERS: &[&[u8]] =
    &[b"grep", b"egrep", b"fgrep", b"zgrep", b"rg", b"ag", b"ack", b"pgrep", b"pkill", b"pidof", b"tracer"];

/// Which processes `tracer procs` lists and follows: `-p`, `-u` and the patterns, all of which must hold.
pub struct Matcher {
    patterns: Vec<Vec<u8>>,
    uid: Option<u32>,
    pids: HashSet<u32>,
    /// tracer and the processes above it (`sudo`, the shell running `sh -c 'tracer procs x'`): their command
    /// lines hold the pattern because they started tracer.
    own_line: HashSet<u32>,
}

/// How a process matched.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum How {
    Comm,
    Cmdline,
    /// No pattern: `-p` or `-u` alone, or every process.
    Selected,
}

impl Matcher {
    pub fn new(patterns: Vec<Vec<u8>>, uid: Option<u32>, pids: HashSet<u32>) -> Matcher {
        let mut own_line = HashSet::new();
        let mut pid = std::process::id();
        while pid > 1 && own_line.insert(pid) {
            pid = procfs::stat(pid).map_or(0, |s| s.ppid);
        }
        Matcher { patterns, uid, pids, own_line }
    }

    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// Whether this process is one to list and follow, and why.
    pub fn matches(&self, pid: u32, uid: u32, comm: &[u8], argv: &[&[u8]]) -> Option<How> {
        if pid == std::process::id()
            || (!self.pids.is_empty() && !self.pids.contains(&pid))
            || self.uid.is_some_and(|wanted| wanted != uid)
        {
            return None;
        }
        if self.patterns.is_empty() {
            return Some(How::Selected);
        }
        if self.patterns.iter().any(|p| contains(comm, p)) {
            return Some(How::Comm);
        }
        let line = argv.join(&b' ');
        if !self.patterns.iter().any(|p| contains(&line, p)) {
            return None;
        }
        // Found in its arguments only: not a searcher for it, nor what started tracer.
        (!SEARCHERS.contains(&comm) && !self.own_line.contains(&pid)).then_some(How::Cmdline)
    }

    /// At the exec of a process not followed: whether its command line makes it join (`-p` never lets one join).
    pub fn joins_at_exec(&self, pid: u32, uid: u32, comm: &[u8], argv: &[&[u8]]) -> Option<How> {
        if !self.pids.is_empty() {
            return None;
        }
        self.matches(pid, uid, comm, argv)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A process as /proc showed it.
pub struct Listed {
    stat: ProcStat,
    uid: u32,
    locked_kb: u64,
    argv: Vec<Vec<u8>>,
    /// It matched itself; else it is listed as a descendant of one that did.
    matched: bool,
}

fn read_process(pid: u32) -> Option<Listed> {
    let stat = procfs::stat(pid)?;
    let (uid, locked_kb) = procfs::status_uid_locked(pid)?;
    let argv = procfs::cmdline(pid).unwrap_or_default();
    Some(Listed { stat, uid, locked_kb, argv, matched: false })
}

/// Reads /proc, picks the matching processes and their descendants, and (unless every process is followed) adds
/// them to the kernel's followed set. The probes are attached first: a child forked by a listed process after
/// /proc was read is added by the kernel, or found by the second look here.
pub fn take(matcher: &Matcher, probes: &mut Probes, trace_all: bool) -> anyhow::Result<BTreeMap<u32, Listed>> {
    let mut all: BTreeMap<u32, Listed> =
        procfs::pids().into_iter().filter_map(|p| Some((p, read_process(p)?))).collect();
    for (pid, process) in all.iter_mut() {
        let argv: Vec<&[u8]> = process.argv.iter().map(Vec::as_slice).collect();
        process.matched = matcher.matches(*pid, process.uid, &process.stat.comm, &argv).is_some();
    }
    let mut listed: HashSet<u32> = all.iter().filter(|(_, p)| p.matched).map(|(&pid, _)| pid).collect();
    // Descendants: repeat until no listed process has an unlisted child.
    loop {
        let before = listed.len();
        for (&pid, process) in &all {
            if listed.contains(&process.stat.ppid) && pid != std::process::id() {
                listed.insert(pid);
            }
        }
        if listed.len() == before {
            break;
        }
    }
    all.retain(|pid, _| listed.contains(pid));
    if trace_all {
        return Ok(all);
    }
    for &pid in all.keys() {
        probes.trace_pid(pid, traced::NOW)?;
    }
    // Forked before the probes saw their parent followed: a second look at /proc finds them.
    loop {
        let mut found = Vec::new();
        for pid in procfs::pids() {
            if all.contains_key(&pid) {
                continue;
            }
            if let Some(process) = read_process(pid)
                && all.contains_key(&process.stat.ppid)
            {
                found.push((pid, process));
            }
        }
        if found.is_empty() {
            break;
        }
        for (pid, process) in found {
            probes.trace_pid(pid, traced::NOW)?;
            all.insert(pid, process);
        }
    }
    // Gone between the look and the insertion (its exit was not seen): not followed, lest its pid be reused.
    let gone: Vec<u32> = all
        .iter()
        .filter(|(pid, p)| procfs::stat(**pid).is_none_or(|now| now.start_ticks != p.stat.start_ticks))
        .map(|(&pid, _)| pid)
        .collect();
    for pid in gone {
        probes.trace_pid(pid, 0)?;
        all.remove(&pid);
    }
    Ok(all)
}

/// The snapshot: `process` records, as `ps aux` lines in text (children under their parents with `tree`).
pub fn report(listed: &BTreeMap<u32, Listed>, tree: bool, out: &mut Output) -> Result<(), OutputClosed> {
    let written = report_rows(listed, tree, out);
    out.set_origin(None);
    written
}

fn report_rows(listed: &BTreeMap<u32, Listed>, tree: bool, out: &mut Output) -> Result<(), OutputClosed> {
    let order: Vec<(u32, Option<usize>)> = if tree {
        tree_order(listed).into_iter().map(|(pid, depth)| (pid, Some(depth))).collect()
    } else {
        listed.keys().map(|&pid| (pid, None)).collect()
    };
    let now = Now::read();
    out.text_only(&format!(
        "{:<8} {:>7} {:>7} {:>4} {:>6} {:>5} {:>6} {:<4} {:<8} COMMAND",
        "USER", "PID", "PPID", "%CPU", "RSS", "START", "TIME", "STAT", "TTY"
    ))?;
    // Each row names its cgroup, container and namespace pid as /proc says now (no event carries them here).
    let mut origins = Origins::new(Hierarchy::detect());
    for (pid, depth) in order {
        let process = &listed[&pid];
        let record = now.record(process, depth);
        out.set_origin(Some(origins.of_pid(pid)));
        out.emit(&record, |r| {
            let argv: Vec<&[u8]> = process.argv.iter().map(Vec::as_slice).collect();
            let command =
                if argv.is_empty() { format!("[{}]", display_name(&process.stat.comm)) } else { shell_command(&argv) };
            let indent = match r.depth {
                Some(d) if d > 0 => format!("{}\\_ ", "    ".repeat(d - 1) + " "),
                _ => String::new(),
            };
            format!(
                "{:<8} {:>7} {:>7} {:>4.1} {:>6} {:>5} {:>6} {:<4} {:<8} {indent}{command}",
                r.user.clone().unwrap_or_else(|| r.uid.to_string()),
                r.pid,
                r.ppid,
                r.cpu_percent,
                r.rss_kb,
                start_column(r.started_ns, now.wall_ns),
                cpu_time(r.cpu_ns),
                r.stat,
                r.tty.as_deref().unwrap_or("?"),
            )
        })?;
    }
    Ok(())
}

/// Each listed process after its parent, children by pid, with its depth (`ps -ef --forest`).
fn tree_order(listed: &BTreeMap<u32, Listed>) -> Vec<(u32, usize)> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (&pid, process) in listed {
        if listed.contains_key(&process.stat.ppid) && process.stat.ppid != pid {
            children.entry(process.stat.ppid).or_default().push(pid);
        } else {
            roots.push(pid);
        }
    }
    let mut order = Vec::new();
    let mut stack: Vec<(u32, usize)> = roots.into_iter().rev().map(|pid| (pid, 0)).collect();
    while let Some((pid, depth)) = stack.pop() {
        order.push((pid, depth));
        if let Some(kids) = children.get(&pid) {
            stack.extend(kids.iter().rev().map(|&kid| (kid, depth + 1)));
        }
    }
    order
}

/// The clocks a snapshot's columns are computed against.
struct Now {
    uptime_secs: f64,
    wall_ns: u64,
    /// CLOCK_BOOTTIME, in which /proc counts start times, less CLOCK_MONOTONIC, the kernel's `start_time` clock.
    suspended_ns: u64,
    ticks: u64,
    page_kb: u64,
    clock: Clock,
}

impl Now {
    fn read() -> Now {
        let clock = Clock::new();
        let monotonic = clock.monotonic_now();
        Now {
            uptime_secs: procfs::uptime_secs().unwrap_or(0.0),
            wall_ns: clock.wall_ns(monotonic),
            suspended_ns: procfs::suspended_ns(),
            ticks: clock_ticks(),
            page_kb: page_size() / 1024,
            clock,
        }
    }

    fn record(&self, p: &Listed, depth: Option<usize>) -> Process {
        let s = &p.stat;
        let start_ns = procfs::ticks_to_start_ns(s.start_ticks, self.suspended_ns);
        let cpu_secs = s.cpu_ticks as f64 / self.ticks as f64;
        let alive_secs = self.uptime_secs - s.start_ticks as f64 / self.ticks as f64;
        // ps's %CPU: tenths of a percent, rounded down.
        let cpu_percent =
            if alive_secs > 0.0 { (cpu_secs * 1000.0 / alive_secs).floor().min(9999.0) / 10.0 } else { 0.0 };
        Process {
            pid: s.pid,
            start_ns,
            ppid: s.ppid,
            uid: p.uid,
            user: user_name(p.uid),
            comm: Text::of(&s.comm),
            argv: Text::new(p.argv.clone()),
            cpu_percent,
            cpu_ns: s.cpu_ticks * (1_000_000_000 / self.ticks),
            rss_kb: if s.flags & PF_KTHREAD != 0 { 0 } else { s.rss_pages * self.page_kb },
            started_ns: self.clock.wall_ns(start_ns),
            stat: stat_letters(s, p.locked_kb),
            tty: tty_name(s.tty_nr),
            threads: s.threads,
            matched: p.matched,
            depth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_ps_aux_piped_to_grep() {
        let m = Matcher::new(vec![b"python".to_vec()], None, HashSet::new());
        assert_eq!(m.matches(100, 0, b"python3", &[b"python3", b"app.py"]), Some(How::Comm));
        assert_eq!(m.matches(101, 0, b"gunicorn", &[b"/usr/bin/python3", b"gunicorn"]), Some(How::Cmdline));
        assert_eq!(m.matches(102, 0, b"grep", &[b"grep", b"python"]), None, "the searcher itself");
        assert_eq!(m.matches(103, 0, b"bash", &[b"bash"]), None);
        assert_eq!(m.matches(std::process::id(), 0, b"python", &[b"python"]), None, "tracer itself");
        let m = Matcher::new(vec![], Some(33), HashSet::new());
        assert_eq!(m.matches(104, 33, b"nginx", &[]), Some(How::Selected));
        assert_eq!(m.matches(105, 0, b"nginx", &[]), None);
        let m = Matcher::new(vec![], None, [7].into_iter().collect());
        assert_eq!(m.matches(7, 0, b"x", &[]), Some(How::Selected));
        assert_eq!(m.joins_at_exec(8, 0, b"x", &[]), None, "-p: no process joins");
    }
}
