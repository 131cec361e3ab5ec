//! The syscall family (tracer-ebpf/src/syscalls.rs), composed by `tracer syscalls`: every call through the raw
//! `sys_enter`/`sys_exit` tracepoints, or a few syscalls through their own tracepoints, and what the programs are
//! told about them (the per-syscall table, result filter, capture size, summary mode). Its layout is the syscall
//! table the command builds from the kernel's format files (`SYSCALL_SPECS`).

use std::collections::HashMap;

use aya::{
    EbpfLoader,
    maps::{Array, MapData, PerCpuArray},
};
use tracer_common::syscalls::{FdSources, INFLIGHT_SLOTS, Inflight, MAX_SYSCALL_NR, SyscallSpec, SyscallStat};

use crate::{
    bpf::{KernelGlobals, Probes, btf_sized_offset},
    btf::kernel_btf,
    probes::{Family, fd_table_globals, socket_ends_globals, vfs_globals},
};

/// Which tracepoints carry the calls.
pub enum Hooks {
    /// The raw `sys_exit` tracepoint, and `sys_enter` when `enter` (the enter hook only measures time).
    Raw { enter: bool },
    /// `sys_enter_NAME` and `sys_exit_NAME` for these kernel event names.
    One(Vec<String>),
}

/// The syscall probes' load-time globals, as the command's options set them.
pub struct Options {
    pub specs: Box<[SyscallSpec; MAX_SYSCALL_NR]>,
    pub summary_only: bool,
    /// `result_filter::*`.
    pub result_filter: u8,
    pub buffer_capture: u32,
    pub execve_nr: u32,
    pub execveat_nr: u32,
    /// exit's and exit_group's numbers: calls reported when their thread ends, as they never return.
    pub exit_nr: u32,
    pub exit_group_nr: u32,
    /// rt_sigreturn's number: what a raw exit's `orig_ax` of -1 stands for.
    pub rt_sigreturn_nr: u32,
    /// An enter hook records each call's start (`ENTER_HOOKED`).
    pub enter_hooked: bool,
    /// `-y`: the fds whose identity each record carries.
    pub fd_identities: Option<FdIdentities>,
}

/// `-y`: per syscall, the fds the kernel identifies at the call, and the kernel layout it reads them with.
pub struct FdIdentities {
    sources: Box<[FdSources; MAX_SYSCALL_NR]>,
    globals: KernelGlobals,
    /// `-yy`: sockets' ends too (`SOCKET_ENDS`).
    socket_ends: u8,
    /// `-yy`: the traced calls among `SOCKET_ENTER_CALLS`, whose enter the stash program hooks.
    socket_enter_calls: Vec<String>,
}

impl FdIdentities {
    /// The fd table walk (`FDT_*`) and file → inode offsets (`VFS_*`) from the kernel's BTF; with `socket_ends`
    /// (`-yy`), file → socket → ends (`NET_*`), and `socket_enter_calls`' fds read at their enter (their sources
    /// say `AT_ENTER`).
    pub fn new(
        sources: Box<[FdSources; MAX_SYSCALL_NR]>,
        socket_ends: bool,
        socket_enter_calls: &[&str],
    ) -> anyhow::Result<FdIdentities> {
        let btf = &*kernel_btf()?;
        let mut globals = fd_table_globals(btf)?.to_vec();
        globals.extend(vfs_globals(btf)?);
        if socket_ends {
            globals.extend(socket_ends_globals(btf)?);
        }
        Ok(FdIdentities {
            sources,
            globals: KernelGlobals::new(globals),
            socket_ends: u8::from(socket_ends),
            socket_enter_calls: socket_enter_calls.iter().map(|name| name.to_string()).collect(),
        })
    }
}

/// The calls whose fd is identified at their enter under `-yy` (besides close, always): they can change the
/// socket's ends (bind; connect; listen and a first send bind a port), and strace shows the socket as the call
/// found it (`connect(3<TCP:[106262]>, ...)`). All have the fd as their first argument.
pub const SOCKET_ENTER_CALLS: [&str; 6] = ["bind", "connect", "listen", "sendto", "sendmsg", "sendmmsg"];

/// The syscall probes.
pub struct SyscallProbes {
    specs: Box<[SyscallSpec; MAX_SYSCALL_NR]>,
    summary_only: u8,
    result_filter: u8,
    buffer_capture: u32,
    execve_nr: u32,
    execveat_nr: u32,
    exit_nr: u32,
    exit_group_nr: u32,
    rt_sigreturn_nr: u32,
    /// `task_struct.blocked`: the mask rt_sigreturn restored (0: unknown, its argument is shown unavailable).
    task_blocked_offset: u32,
    enter_hooked: u8,
    fd_identities: Option<FdIdentities>,
    fd_switch: u8,
    hooks: Hooks,
    /// `linux_binprm.envc`, when `exec_env_count` is attached (`exec_env_counted`).
    bprm_envc_offset: u32,
}

impl SyscallProbes {
    /// Reads the kernel's exec layout (BTF) when the exit alone reports execs (`exec_env_counted`).
    pub fn new(options: Options, hooks: Hooks) -> anyhow::Result<SyscallProbes> {
        let bprm_envc_offset = if exec_env_counted(&hooks, options.summary_only) {
            btf_sized_offset(&*kernel_btf()?, "linux_binprm", "envc", 4)?
        } else {
            0
        };
        // sigset_t is one word on x86_64. Not having it costs rt_sigreturn its argument, not the trace.
        let task_blocked_offset = btf_sized_offset(&*kernel_btf()?, "task_struct", "blocked", 8).unwrap_or(0);
        Ok(SyscallProbes {
            specs: options.specs,
            summary_only: u8::from(options.summary_only),
            result_filter: options.result_filter,
            buffer_capture: options.buffer_capture,
            execve_nr: options.execve_nr,
            execveat_nr: options.execveat_nr,
            exit_nr: options.exit_nr,
            exit_group_nr: options.exit_group_nr,
            rt_sigreturn_nr: options.rt_sigreturn_nr,
            task_blocked_offset,
            enter_hooked: u8::from(options.enter_hooked),
            fd_switch: u8::from(options.fd_identities.is_some()),
            fd_identities: options.fd_identities,
            hooks,
            bprm_envc_offset,
        })
    }

    /// The per-syscall table the programs were given.
    pub fn specs(&self) -> &[SyscallSpec; MAX_SYSCALL_NR] {
        &self.specs
    }
}

impl Family for SyscallProbes {
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        loader
            .override_global("SYSCALL_SPECS", &*self.specs, true)
            .override_global("SUMMARY_ONLY", &self.summary_only, true)
            .override_global("RESULT_FILTER", &self.result_filter, true)
            .override_global("BUFFER_CAPTURE", &self.buffer_capture, true)
            .override_global("EXECVE_NR", &self.execve_nr, true)
            .override_global("EXECVEAT_NR", &self.execveat_nr, true)
            .override_global("EXIT_NR", &self.exit_nr, true)
            .override_global("EXIT_GROUP_NR", &self.exit_group_nr, true)
            .override_global("RT_SIGRETURN_NR", &self.rt_sigreturn_nr, true)
            .override_global("TASK_BLOCKED_OFFSET", &self.task_blocked_offset, true)
            .override_global("ENTER_HOOKED", &self.enter_hooked, true)
            // Timestamps, durations and JSON all hook the enter; without it no line shows a record's time, and
            // the clock read is a quarter of a record's cost (bench/README.md, issue 22).
            .override_global("RECORD_CLOCK", &self.enter_hooked, true)
            .override_global("FD_IDENTITIES", &self.fd_switch, true)
            .override_global("BPRM_ENVC_OFFSET", &self.bprm_envc_offset, true);
        match &self.fd_identities {
            Some(fds) => {
                loader.override_global("SYSCALL_FD_SOURCES", &*fds.sources, true);
                loader.override_global("SOCKET_ENDS", &fds.socket_ends, true);
                fds.globals.apply(loader);
                // Without -yy no socket's ends are stashed: one entry instead of 3 MiB.
                if fds.socket_ends == 0 {
                    loader.map_max_entries("SOCKET_STASH", 1);
                }
            }
            // Without -y no close is stashed: one entry instead of 1.5 MiB.
            None => {
                loader.map_max_entries("FD_STASH", 1);
                loader.map_max_entries("SOCKET_STASH", 1);
            }
        }
    }

    /// Each syscall's enter, then its exit.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        match &self.hooks {
            Hooks::One(names) => {
                for name in names {
                    probes.attach_tracepoint("sys_enter_one", "syscalls", &format!("sys_enter_{name}"))?;
                    probes.attach_tracepoint("sys_exit_one", "syscalls", &format!("sys_exit_{name}"))?;
                }
            }
            Hooks::Raw { enter } => {
                // exit and exit_group never return, so the exit hook never sees them: without the enter hook the
                // thread's end reads them from its saved registers (no classic hook, which would cost every
                // syscall of every task: bench/README.md, issue 22).
                if *enter {
                    probes.attach_raw_tracepoint("raw_sys_enter", "sys_enter")?;
                } else if exec_env_counted(&self.hooks, self.summary_only != 0) {
                    // A successful exec's environment is gone from user memory by its exit: the exec's own count
                    // of it, from `sched_process_exec`. Not exec's own enter tracepoints: any classic
                    // `syscalls:sys_enter_*` in use makes every syscall of every task pay (issue 15 item 3).
                    probes.attach_raw_tracepoint("exec_env_count", "sched_process_exec")?;
                    // A failed exec's environment is counted at its exit, by a program of its own.
                    probes.set_tail_calls("FAILED_EXEC_EXIT", &["raw_sys_exit_failed_exec"])?;
                }
                // rt_sigreturn's exit, by a program of its own (its registers are the interrupted code's).
                probes.set_tail_calls("SIGRETURN_EXIT", &["raw_sys_exit_sigreturn"])?;
                probes.attach_raw_tracepoint("raw_sys_exit", "sys_exit")?;
            }
        }
        // -y: a close's fd is gone by its exit; its enter reads what it closes. Only close's own tracepoint, so
        // no other call pays for it.
        if let Some(fds) = &self.fd_identities {
            probes.attach_tracepoint("sys_enter_close_fd", "syscalls", "sys_enter_close")?;
            for name in &fds.socket_enter_calls {
                probes.attach_tracepoint("sys_enter_close_fd", "syscalls", &format!("sys_enter_{name}"))?;
            }
        }
        Ok(())
    }
}

/// Whether a successful exec's environment is counted at `sched_process_exec` (`exec_env_count`): when the exit
/// alone reports calls (an enter hook counts it at the call's enter) and records are sent (not `-c`).
fn exec_env_counted(hooks: &Hooks, summary_only: bool) -> bool {
    matches!(hooks, Hooks::Raw { enter: false }) && !summary_only
}

/// The syscall family's maps, read from the loaded object (`use SyscallMaps as _` and call them on `Probes`).
pub trait SyscallMaps {
    /// The calls these threads are inside, where the kernel recorded their enter.
    fn inflight(&self, tids: impl IntoIterator<Item = u32>) -> anyhow::Result<Vec<Inflight>>;
    /// How many calls each of these threads has returned from, where the kernel counted them (no enter hook):
    /// absent for a thread with no return counted yet, or whose slot another thread took.
    fn thread_returns(&self, tids: impl IntoIterator<Item = u32>) -> anyhow::Result<HashMap<u32, u32>>;
    /// `-c` totals per syscall number, summed over CPUs.
    fn syscall_stats(&self) -> anyhow::Result<Vec<SyscallStat>>;
}

impl SyscallMaps for Probes {
    fn inflight(&self, tids: impl IntoIterator<Item = u32>) -> anyhow::Result<Vec<Inflight>> {
        let map: Array<&MapData, Inflight> = Array::try_from(self.map("INFLIGHT")?)?;
        Ok(tids
            .into_iter()
            .filter_map(|tid| map.get(&(tid & (INFLIGHT_SLOTS - 1)), 0).ok().filter(|slot| slot.tid == tid))
            .collect())
    }

    fn thread_returns(&self, tids: impl IntoIterator<Item = u32>) -> anyhow::Result<HashMap<u32, u32>> {
        let map: Array<&MapData, u64> = Array::try_from(self.map("RETURNS")?)?;
        Ok(tids
            .into_iter()
            .filter_map(|tid| {
                let slot = map.get(&(tid & (INFLIGHT_SLOTS - 1)), 0).ok()?;
                ((slot >> 32) as u32 == tid).then_some((tid, slot as u32))
            })
            .collect())
    }

    fn syscall_stats(&self) -> anyhow::Result<Vec<SyscallStat>> {
        let map: PerCpuArray<&MapData, SyscallStat> = PerCpuArray::try_from(self.map("SYSCALL_STATS")?)?;
        let mut totals = vec![SyscallStat::default(); MAX_SYSCALL_NR];
        for (nr, total) in totals.iter_mut().enumerate() {
            for cpu in map.get(&(nr as u32), 0)?.iter() {
                total.calls += cpu.calls;
                total.errors += cpu.errors;
                total.total_ns += cpu.total_ns;
            }
        }
        Ok(totals)
    }
}
