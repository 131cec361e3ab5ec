//! Process lifecycle of traced processes: fork (to follow children with `-f`, and every child and thread for
//! `tracer procs`), exec (and, for `tracer procs`, the exec by which a new process joins), exit.
//! Tracepoint field offsets and kernel struct offsets move between kernels: user space reads them from the
//! tracepoint format files and BTF and sets them as globals at load time.

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_current_uid_gid, bpf_probe_read_kernel,
        bpf_probe_read_kernel_buf, bpf_probe_read_user_buf,
    },
    macros::{raw_tracepoint, tracepoint},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    event::{kind, lost, traced},
    process::{COMM_PATTERNS, EXIT_CODE_UNKNOWN, ProcessEvent, process_flags, what},
};

use crate::{
    emit::{EXEC, EXIT, FORK, Route, emit},
    kernel::{
        VFS_DENTRY_INODE, VFS_FS_PWD_DENTRY, VFS_INODE_INO, VFS_INODE_SB, VFS_SB_DEV, VFS_TASK_FS, current_task,
        is_zero, read, start_time_of, word,
    },
    maps::{count_lost, global, is_traced, set_traced, traced_state},
    syscalls::report_unreturned,
};

/// Non-zero for `-f`: children of traced processes are traced from their first instruction.
#[unsafe(no_mangle)]
static FOLLOW_FORKS: u8 = 0;
/// `task_struct.pid` and `.tgid` (from BTF).
#[unsafe(no_mangle)]
pub static TASK_PID_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
pub static TASK_TGID_OFFSET: u32 = 0;
/// `task_struct.exit_code` (from BTF); 0 when unknown.
#[unsafe(no_mangle)]
pub static TASK_EXIT_CODE_OFFSET: u32 = 0;
/// `task_struct.stack` (from BTF): the exiting thread's saved registers are at the top of that stack.
#[unsafe(no_mangle)]
pub static TASK_STACK_OFFSET: u32 = 0;
/// `sched_process_exit.group_dead`; 0 when this kernel's record has no such field.
#[unsafe(no_mangle)]
pub static EXIT_GROUP_DEAD_OFFSET: u32 = 0;
/// `task_struct.mm`, `mm_struct.arg_start` and `.arg_end` (from BTF).
#[unsafe(no_mangle)]
static TASK_MM_OFFSET: u32 = 0;
/// `task_struct.real_parent` (from BTF); 0 when unknown.
#[unsafe(no_mangle)]
static TASK_REAL_PARENT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static MM_ARG_START_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static MM_ARG_END_OFFSET: u32 = 0;
/// Non-zero (`tracer procs`): a followed process's new threads are reported too.
#[unsafe(no_mangle)]
static FORK_THREADS: u8 = 0;
/// Non-zero (`tracer procs PATTERN`): the execs of processes not followed are reported too (without
/// `process_flags::FOLLOWED`), for user space to match their command lines.
#[unsafe(no_mangle)]
static EXEC_ALL: u8 = 0;
/// Whether a process not followed joins at its exec (`tracer procs`): `join::*`.
#[unsafe(no_mangle)]
static JOIN_AT_EXEC: u8 = 0;
mod join {
    /// Joins when its real uid is `JOIN_UID` (or any uid: `u32::MAX`).
    pub const BY_UID: u8 = 1;
    /// Joins when its uid matches and its new command name holds one of the `JOIN_COMMS` patterns.
    pub const BY_UID_AND_COMM: u8 = 2;
}
#[unsafe(no_mangle)]
static JOIN_UID: u32 = u32::MAX;
/// The command-name patterns as little-endian words (low, high per pattern) and their masks (0xff for each byte
/// of the pattern), `JOIN_COMM_COUNT` of them: a pattern matches at a position when the masked bytes agree.
#[unsafe(no_mangle)]
static JOIN_COMMS: [u64; 2 * COMM_PATTERNS] = [0; 2 * COMM_PATTERNS];
#[unsafe(no_mangle)]
static JOIN_MASKS: [u64; 2 * COMM_PATTERNS] = [0; 2 * COMM_PATTERNS];
#[unsafe(no_mangle)]
static JOIN_COMM_COUNT: u32 = 0;
/// `sched_process_exec.filename` (a `__data_loc`) and `.old_pid`.
#[unsafe(no_mangle)]
static EXEC_FILENAME_OFFSET: u32 = 8;
#[unsafe(no_mangle)]
static EXEC_OLD_PID_OFFSET: u32 = 16;

#[inline(always)]
fn read_task_u32(task: *const u8, offset: u32) -> Option<u32> {
    unsafe { bpf_probe_read_kernel(task.add(offset as usize) as *const u32) }.ok()
}

/// The new image's argument strings, from `mm->arg_start..arg_end` (set by the time exec's tracepoint fires): read
/// here because a short-lived process is gone before user space could read /proc/PID/cmdline.
#[inline(always)]
fn read_argv(out: &mut [u8; 256]) -> (u16, bool) {
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let Ok(mm) = (unsafe { bpf_probe_read_kernel(task.add(global(&TASK_MM_OFFSET) as usize) as *const u64) }) else {
        return (0, false);
    };
    let mm = mm as *const u8;
    let read = |offset: &u32| unsafe { bpf_probe_read_kernel(mm.add(global(offset) as usize) as *const u64) }.ok();
    let (Some(start), Some(end)) = (read(&MM_ARG_START_OFFSET), read(&MM_ARG_END_OFFSET)) else {
        return (0, false);
    };
    let wanted = end.saturating_sub(start);
    let len = if wanted > 256 { 256 } else { wanted as usize };
    if len == 0 || unsafe { bpf_probe_read_user_buf(start as *const u8, &mut out[..len]) }.is_err() {
        return (0, false);
    }
    (len as u16, wanted > 256)
}

/// The current task's working directory as (inode number, device), read at the exec: user space names it from
/// /proc/PID/cwd only while that is still this directory (the process may chdir or exit before it looks).
/// Zeroes when a read fails (a null pointer's included): unknown.
#[inline(always)]
fn cwd_identity() -> (u64, u32) {
    let fs = word(current_task(), global(&VFS_TASK_FS));
    let dentry = word(fs, global(&VFS_FS_PWD_DENTRY));
    let inode = word(dentry, global(&VFS_DENTRY_INODE));
    let sb = word(inode, global(&VFS_INODE_SB));
    (read::<u64>(inode, global(&VFS_INODE_INO)), read::<u32>(sb, global(&VFS_SB_DEV)))
}

/// The current task's parent process (`real_parent->tgid`), 0 when unknown.
#[inline(always)]
fn parent_tgid() -> u32 {
    let offset = global(&TASK_REAL_PARENT_OFFSET);
    if offset == 0 {
        return 0;
    }
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let Ok(parent) = (unsafe { bpf_probe_read_kernel(task.add(offset as usize) as *const u64) }) else { return 0 };
    if parent == 0 {
        return 0;
    }
    read_task_u32(parent as *const u8, global(&TASK_TGID_OFFSET)).unwrap_or(0)
}

/// A fork or an exit record of the current task.
#[inline(always)]
pub fn send(route: Route, what: u32, other_pid: u32, exit_code: i32) {
    emit::<ProcessEvent>(route, kind::PROCESS, bpf_get_current_pid_tgid(), |event, _| {
        event.what = what;
        event.other_pid = other_pid;
        event.exit_code = exit_code;
        event.filename_len = 0;
        event.argv_len = 0;
        event.argv_truncated = 0;
        event._pad = [0; 7];
        event.ppid = 0;
        event.uid = 0;
        event.start_ns = event.header.start_ns;
        event.child_start_ns = 0;
        event.child_tid = 0;
        event.flags = 0;
        event.cwd_ino = 0;
        event.cwd_dev = 0;
        event._pad2 = 0;
    });
}

/// `sched_process_fork(parent, child)`: runs in the parent before the child's first instruction, so a child
/// added here misses none of its calls, however short its life.
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn process_fork(ctx: RawTracePointContext) -> i32 {
    if global(&FOLLOW_FORKS) == 0 {
        return 0;
    }
    let parent_tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if !is_traced(parent_tgid) {
        return 0;
    }
    let child: *const u8 = ctx.arg(1);
    let (Some(child_pid), Some(child_tgid)) =
        (read_task_u32(child, global(&TASK_PID_OFFSET)), read_task_u32(child, global(&TASK_TGID_OFFSET)))
    else {
        return 0;
    };
    let thread = child_pid != child_tgid;
    if thread && global(&FORK_THREADS) == 0 {
        return 0; // a new thread of a traced process: already covered by its tgid
    }
    if !thread && !set_traced(child_tgid, traced::NOW) {
        count_lost(lost::PROCESS); // beyond pid_max: cannot happen, but never silently
        return 0;
    }
    let child = child as u64;
    emit::<ProcessEvent>(FORK, kind::PROCESS, bpf_get_current_pid_tgid(), |event, _| {
        event.what = what::FORK;
        event.other_pid = child_tgid;
        event.exit_code = 0;
        event.filename_len = 0;
        event.argv_len = 0;
        event.argv_truncated = 0;
        event._pad = [0; 7];
        let real_parent = match global(&TASK_REAL_PARENT_OFFSET) {
            0 => 0,
            offset => word(child, offset),
        };
        event.ppid = match real_parent {
            0 => 0,
            parent => read::<u32>(parent, global(&TASK_TGID_OFFSET)),
        };
        event.uid = 0;
        event.start_ns = event.header.start_ns;
        event.child_start_ns = start_time_of(child);
        event.child_tid = child_pid;
        event.flags = if thread { process_flags::THREAD } else { 0 };
        event.cwd_ino = 0;
        event.cwd_dev = 0;
        event._pad2 = 0;
    });
    0
}

#[tracepoint]
pub fn process_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let state = traced_state(tgid);
    if state == 0 {
        return 0;
    }
    // A thread that dies inside a call (exit, exit_group, execve of another thread) never returns from it.
    report_unreturned(pid_tgid, state);
    if !group_dead(&ctx, pid_tgid) {
        return 0;
    }
    let exit_code = exit_code();
    set_traced(tgid, 0);
    send(EXIT, what::EXIT, 0, exit_code);
    0
}

/// At `sched_process_exit`: whether the exiting thread is the last of its process (`group_dead` where the
/// tracepoint has it, else whether it is the leader).
#[inline(always)]
pub fn group_dead(ctx: &TracePointContext, pid_tgid: u64) -> bool {
    match global(&EXIT_GROUP_DEAD_OFFSET) {
        0 => pid_tgid as u32 == (pid_tgid >> 32) as u32,
        // Offsets known only at load time: the verifier refuses variable context offsets, so copy instead.
        offset => unsafe { ctx.read_at::<u8>(offset as usize) }.unwrap_or(0) != 0,
    }
}

/// The current task's `exit_code` (wait(2) status), `EXIT_CODE_UNKNOWN` when it cannot be read.
#[inline(always)]
pub fn exit_code() -> i32 {
    match global(&TASK_EXIT_CODE_OFFSET) {
        0 => EXIT_CODE_UNKNOWN,
        offset => {
            let task = unsafe { bpf_get_current_task() } as *const u8;
            read_task_u32(task, offset).map_or(EXIT_CODE_UNKNOWN, |code| code as i32)
        }
    }
}

/// One byte-window of a command name (as two little-endian words) starting at byte `at`.
#[inline(always)]
fn comm_window(low: u64, high: u64, at: u32) -> (u64, u64) {
    match at {
        0 => (low, high),
        1..=7 => ((low >> (8 * at)) | (high << (64 - 8 * at)), high >> (8 * at)),
        8 => (high, 0),
        _ => (high >> (8 * (at - 8)), 0),
    }
}

/// Whether the current command name holds one of the `JOIN_COMMS` patterns (as `grep` would find it). Compares
/// words under masks rather than bytes in branches: a few hundred instructions the verifier walks once.
#[inline(always)]
fn comm_matches_pattern() -> bool {
    let comm = aya_ebpf::helpers::bpf_get_current_comm().unwrap_or([0; 16]);
    let mut low_bytes = [0u8; 8];
    let mut high_bytes = [0u8; 8];
    low_bytes.copy_from_slice(&comm[..8]);
    high_bytes.copy_from_slice(&comm[8..]);
    let (low, high) = (u64::from_le_bytes(low_bytes), u64::from_le_bytes(high_bytes));
    let patterns = global(&JOIN_COMMS);
    let masks = global(&JOIN_MASKS);
    let count = global(&JOIN_COMM_COUNT) as usize;
    let mut matched = 0u64;
    for p in 0..COMM_PATTERNS {
        let used = (p < count) as u64;
        for at in 0..16u32 {
            let (w_low, w_high) = comm_window(low, high, at);
            let diff = ((w_low ^ patterns[2 * p]) & masks[2 * p]) | ((w_high ^ patterns[2 * p + 1]) & masks[2 * p + 1]);
            matched |= is_zero(diff) & used;
        }
    }
    matched != 0
}

/// Whether the current process, not followed, joins at this exec (`tracer procs`: `JOIN_AT_EXEC`).
#[inline(always)]
fn joins_at_exec() -> bool {
    let rule = global(&JOIN_AT_EXEC);
    if rule == 0 {
        return false;
    }
    let uid = global(&JOIN_UID);
    if uid != u32::MAX && bpf_get_current_uid_gid() as u32 != uid {
        return false;
    }
    rule == join::BY_UID || (rule == join::BY_UID_AND_COMM && comm_matches_pattern())
}

#[tracepoint]
pub fn process_exec(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let mut flags = process_flags::FOLLOWED;
    match traced_state(tgid) {
        0 if joins_at_exec() => {
            // Before it can fork: its children are followed from their birth.
            if set_traced(tgid, traced::NOW) {
                flags |= process_flags::JOINED;
            } else {
                count_lost(lost::PROCESS);
                flags = 0;
            }
        }
        0 if global(&EXEC_ALL) != 0 => flags = 0,
        0 => return 0,
        // The spawned command is now itself: trace everything from here (its execve's exit included).
        traced::FROM_EXEC => {
            set_traced(tgid, traced::NOW);
        }
        _ => {}
    }
    let base = ctx.as_ptr() as *const u8;
    let data_loc: u32 = unsafe { ctx.read_at(global(&EXEC_FILENAME_OFFSET) as usize) }.unwrap_or(0);
    let old_pid: u32 = unsafe { ctx.read_at(global(&EXEC_OLD_PID_OFFSET) as usize) }.unwrap_or(0);
    emit::<ProcessEvent>(EXEC, kind::PROCESS, pid_tgid, |event, _| {
        event.what = what::EXEC;
        event.other_pid = old_pid;
        event.exit_code = 0;
        // __data_loc: low 16 bits offset from the record start, high 16 bits length (NUL included).
        let offset = (data_loc & 0xffff) as usize;
        let mut len = (data_loc >> 16) as usize;
        if len > event.filename.len() {
            len = event.filename.len();
        }
        let copied =
            len > 0 && unsafe { bpf_probe_read_kernel_buf(base.add(offset), &mut event.filename[..len]) }.is_ok();
        event.filename_len = if copied { len.saturating_sub(1) as u16 } else { 0 };
        let (argv_len, truncated) = read_argv(&mut event.argv);
        event.argv_len = argv_len;
        event.argv_truncated = truncated as u8;
        event._pad = [0; 7];
        event.ppid = parent_tgid();
        event.uid = bpf_get_current_uid_gid() as u32;
        event.start_ns = event.header.start_ns;
        event.child_start_ns = 0;
        event.child_tid = 0;
        event.flags = flags;
        let (cwd_ino, cwd_dev) = cwd_identity();
        event.cwd_ino = cwd_ino;
        event.cwd_dev = cwd_dev;
        event._pad2 = 0;
    });
    0
}
