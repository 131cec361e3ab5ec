//! The process family (tracer-ebpf/src/process.rs): forks, execs and exits, composed by `tracer syscalls` (with
//! forks, to follow children) and `tracer monitor`. Its layout (task and mm offsets from BTF, the sched
//! tracepoints' fields from their format files) is also what the signal probes read tasks with.

use std::path::Path;

use anyhow::Context as _;
use aya::EbpfLoader;

use tracer_common::process::COMM_PATTERNS;

use crate::{
    bpf::{KernelGlobals, Probes, btf_offset},
    btf::kernel_btf,
    probes::{Family, vfs_globals},
    tracefs,
};

/// Where the process probes (and the signal probes, which share their task reads) find things in the running
/// kernel.
#[derive(Clone)]
pub struct ProcessLayout {
    globals: KernelGlobals,
}

impl ProcessLayout {
    pub fn read(tracefs: &Path) -> anyhow::Result<ProcessLayout> {
        let btf = &*kernel_btf()?;
        crate::timing::mark("kernel BTF parsed");
        let task = |member: &str| btf_offset(btf, "task_struct", member);
        let exit = tracefs::read_format(tracefs, "sched", "sched_process_exit")?;
        let exec = tracefs::read_format(tracefs, "sched", "sched_process_exec")?;
        let mut globals = vec![
            ("TASK_PID_OFFSET", task("pid")?),
            ("TASK_TGID_OFFSET", task("tgid")?),
            ("TASK_EXIT_CODE_OFFSET", task("exit_code")?),
            // Where an exiting thread's saved registers are (exit and exit_group without an enter hook).
            ("TASK_STACK_OFFSET", task("stack")?),
            ("TASK_MM_OFFSET", task("mm")?),
            ("TASK_REAL_PARENT_OFFSET", task("real_parent")?),
            ("MM_ARG_START_OFFSET", btf.member_offset("mm_struct", "arg_start").context("BTF: mm_struct.arg_start")?),
            ("MM_ARG_END_OFFSET", btf.member_offset("mm_struct", "arg_end").context("BTF: mm_struct.arg_end")?),
            // Older kernels have no group_dead field: the programs then treat the leader's exit as the group's.
            ("EXIT_GROUP_DEAD_OFFSET", exit.field("group_dead").map_or(0, |f| f.offset)),
            ("EXEC_FILENAME_OFFSET", exec.offset_of("filename")?),
            ("EXEC_OLD_PID_OFFSET", exec.offset_of("old_pid")?),
        ];
        // The exec's working directory (its dev and inode, for user space to name it only while it still is).
        globals.extend(vfs_globals(btf)?);
        Ok(ProcessLayout { globals: KernelGlobals::new(globals) })
    }

    pub fn apply<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.globals.apply(loader);
    }
}

/// The process probes: exits and execs, and forks when `forks` (`tracer syscalls`, which follows children).
pub struct ProcessProbes {
    layout: ProcessLayout,
    forks: bool,
    follow_forks: u8,
    joins: Option<JoinGlobals>,
}

/// Which processes not yet followed join the followed set at their exec, in the kernel (`tracer procs`), and
/// whether the others' execs are reported too (for user space to match their command lines).
pub struct ExecJoins {
    /// Only processes of this real uid join (any uid: `None`).
    pub uid: Option<u32>,
    /// Join when the new command name contains one of these (substrings, as grep finds them); none: every exec
    /// (of `uid`) joins. Patterns the kernel cannot match (longer than a command name, or beyond
    /// `COMM_PATTERNS`) are user space's: `report_all_execs`.
    pub comm_patterns: Vec<Vec<u8>>,
    /// Every exec is reported, followed or not (`process_flags::FOLLOWED` says which).
    pub report_all_execs: bool,
    /// No process joins at its exec (`-p`: only those processes and their descendants).
    pub never: bool,
}

/// `ExecJoins` as the globals of tracer-ebpf/src/process.rs.
struct JoinGlobals {
    rule: u8,
    uid: u32,
    exec_all: u8,
    comms: [u64; 2 * COMM_PATTERNS],
    masks: [u64; 2 * COMM_PATTERNS],
    count: u32,
}

/// Longest pattern the kernel matches against a command name (`TASK_COMM_LEN` less its NUL).
pub const COMM_PATTERN_MAX: usize = 15;

impl JoinGlobals {
    fn of(joins: &ExecJoins) -> JoinGlobals {
        let mut globals = JoinGlobals {
            rule: 0,
            uid: joins.uid.unwrap_or(u32::MAX),
            exec_all: u8::from(joins.report_all_execs),
            comms: [0; 2 * COMM_PATTERNS],
            masks: [0; 2 * COMM_PATTERNS],
            count: 0,
        };
        let kernel_patterns: Vec<&Vec<u8>> = joins
            .comm_patterns
            .iter()
            .filter(|p| !p.is_empty() && p.len() <= COMM_PATTERN_MAX && !p.contains(&0))
            .take(COMM_PATTERNS)
            .collect();
        for (i, pattern) in kernel_patterns.iter().enumerate() {
            let mut bytes = [0u8; 16];
            let mut mask = [0u8; 16];
            bytes[..pattern.len()].copy_from_slice(pattern);
            mask[..pattern.len()].fill(0xff);
            let word = |b: &[u8; 16], half: usize| u64::from_le_bytes(b[8 * half..8 * half + 8].try_into().unwrap());
            globals.comms[2 * i] = word(&bytes, 0);
            globals.comms[2 * i + 1] = word(&bytes, 1);
            globals.masks[2 * i] = word(&mask, 0);
            globals.masks[2 * i + 1] = word(&mask, 1);
        }
        globals.count = kernel_patterns.len() as u32;
        globals.rule = match (joins.never, joins.comm_patterns.is_empty(), kernel_patterns.is_empty()) {
            (true, _, _) => 0,
            (false, true, _) => JOIN_BY_UID,
            // Only patterns the kernel cannot match: user space joins them (`report_all_execs`).
            (false, false, true) => 0,
            (false, false, false) => JOIN_BY_UID_AND_COMM,
        };
        globals
    }
}

/// tracer-ebpf/src/process.rs's `join::*`.
const JOIN_BY_UID: u8 = 1;
const JOIN_BY_UID_AND_COMM: u8 = 2;

impl ProcessProbes {
    /// Exits and execs.
    pub fn new(layout: ProcessLayout) -> ProcessProbes {
        ProcessProbes { layout, forks: false, follow_forks: 0, joins: None }
    }

    /// `tracer procs`: every fork and new thread of a followed process (its children followed from their birth),
    /// and the joins at exec that `joins` describes.
    pub fn following(layout: ProcessLayout, joins: &ExecJoins) -> ProcessProbes {
        ProcessProbes { layout, forks: true, follow_forks: 1, joins: Some(JoinGlobals::of(joins)) }
    }

    /// Forks too; `follow`: a traced process's children are traced from their birth (`FOLLOW_FORKS`).
    pub fn with_forks(mut self, follow: bool) -> ProcessProbes {
        self.forks = true;
        self.follow_forks = u8::from(follow);
        self
    }
}

impl Family for ProcessProbes {
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.layout.apply(loader);
        if self.forks {
            loader.override_global("FOLLOW_FORKS", &self.follow_forks, true);
        }
        if let Some(joins) = &self.joins {
            loader
                .override_global("FORK_THREADS", &1u8, true)
                .override_global("EXEC_ALL", &joins.exec_all, true)
                .override_global("JOIN_AT_EXEC", &joins.rule, true)
                .override_global("JOIN_UID", &joins.uid, true)
                .override_global("JOIN_COMMS", &joins.comms, true)
                .override_global("JOIN_MASKS", &joins.masks, true)
                .override_global("JOIN_COMM_COUNT", &joins.count, true);
        }
    }

    /// Forks, then exits before execs: no process seen starting is missed ending.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        if self.forks {
            probes.attach_raw_tracepoint("process_fork", "sched_process_fork")?;
        }
        probes.attach_tracepoint("process_exit", "sched", "sched_process_exit")?;
        probes.attach_tracepoint("process_exec", "sched", "sched_process_exec")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_kernel() {
        let tracefs = tracefs::ensure_mounted().expect("tracefs (tests run as root)");
        let layout = ProcessLayout::read(&tracefs).unwrap();
        assert!(layout.globals.get("TASK_TGID_OFFSET").is_some_and(|offset| offset > 0));
        assert_ne!(layout.globals.get("EXEC_FILENAME_OFFSET"), Some(0));
    }
}
