//! The process family (tracer-ebpf/src/process.rs): forks, execs and exits, composed by `tracer syscalls` (with
//! forks, to follow children) and `tracer monitor`. Its layout (task and mm offsets from BTF, the sched
//! tracepoints' fields from their format files) is also what the signal probes read tasks with.

use std::path::Path;

use anyhow::Context as _;
use aya::EbpfLoader;

use crate::{
    bpf::{KernelGlobals, Probes, btf_offset},
    btf::kernel_btf,
    probes::Family,
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
        let btf = kernel_btf()?;
        crate::timing::mark("kernel BTF parsed");
        let task = |member: &str| btf_offset(btf, "task_struct", member);
        let exit = tracefs::read_format(tracefs, "sched", "sched_process_exit")?;
        let exec = tracefs::read_format(tracefs, "sched", "sched_process_exec")?;
        let globals = vec![
            ("TASK_PID_OFFSET", task("pid")?),
            ("TASK_TGID_OFFSET", task("tgid")?),
            ("TASK_EXIT_CODE_OFFSET", task("exit_code")?),
            ("TASK_MM_OFFSET", task("mm")?),
            ("TASK_REAL_PARENT_OFFSET", task("real_parent")?),
            ("MM_ARG_START_OFFSET", btf.member_offset("mm_struct", "arg_start").context("BTF: mm_struct.arg_start")?),
            ("MM_ARG_END_OFFSET", btf.member_offset("mm_struct", "arg_end").context("BTF: mm_struct.arg_end")?),
            // Older kernels have no group_dead field: the programs then treat the leader's exit as the group's.
            ("EXIT_GROUP_DEAD_OFFSET", exit.field("group_dead").map_or(0, |f| f.offset)),
            ("EXEC_FILENAME_OFFSET", exec.offset_of("filename")?),
            ("EXEC_OLD_PID_OFFSET", exec.offset_of("old_pid")?),
        ];
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
}

impl ProcessProbes {
    /// Exits and execs.
    pub fn new(layout: ProcessLayout) -> ProcessProbes {
        ProcessProbes { layout, forks: false, follow_forks: 0 }
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
