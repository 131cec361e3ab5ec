//! Syscall enter/exit. Two attachments share one body:
//! - raw tracepoints `sys_enter`/`sys_exit` when many syscalls are wanted (cheapest per call for bystanders);
//! - the classic `syscalls:sys_enter_*`/`sys_exit_*` tracepoints when `-e trace=` names a few, so processes
//!   making other syscalls pay nothing.
//!
//! One record per syscall, written at exit: the enter's clock and number are kept in `INFLIGHT` (by tid) until
//! then, where user space also finds calls that block. Arguments are read from the saved registers at exit (the
//! classic enter, which has them in its record, keeps them too). User memory (paths, buffers) is read at exit,
//! when it is paged in. When no durations are wanted, user space attaches no enter hook at all.

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_user, bpf_probe_read_user_buf,
        bpf_probe_read_user_str_bytes,
    },
    macros::{map, raw_tracepoint, tracepoint},
    maps::{Array, PerCpuArray, ProgramArray},
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    event::{kind, lost, traced},
    syscalls::{
        CAPTURE_SLOTS, DATA_CAP, FD_SLOTS, FdIdentity, FdSources, FdStash, INFLIGHT_SLOTS, Inflight, LONG_PATH_SHOWN,
        MAX_ARRAY_COUNT, MAX_SYSCALL_NR, NOT_COUNTED, SocketEnds, SyscallDataEvent, SyscallDataFdsEvent, SyscallEvent,
        SyscallFdsEvent, SyscallLongEvent, SyscallSpec, SyscallStat, capture, fd_source, fd_state, is_error_return,
        result_filter, returns_slot, status, wanted,
    },
};

use crate::{
    emit::{Follow, SYSCALLS, emit},
    kernel::{
        VFS_DENTRY_INODE, VFS_FILE_DENTRY, VFS_INODE_INO, VFS_INODE_SB, VFS_SB_DEV, current_task, file_of_fd, is_zero,
        pick, read, read_checked, word,
    },
    maps::{count_lost, global, now_ns, traced_state},
    net::socket_ends,
    process::TASK_STACK_OFFSET,
    signals::TASK_BLOCKED_OFFSET,
};

/// Per syscall number: wanted or not, and what to copy from user memory. Set at load time.
#[unsafe(no_mangle)]
static SYSCALL_SPECS: [SyscallSpec; MAX_SYSCALL_NR] = [SyscallSpec {
    wanted: 0,
    _pad: 0,
    kind: [0; CAPTURE_SLOTS],
    arg: [0; CAPTURE_SLOTS],
    len_arg: [0; CAPTURE_SLOTS],
}; MAX_SYSCALL_NR];
/// Non-zero for `-c`: count in `SYSCALL_STATS`, send nothing.
#[unsafe(no_mangle)]
static SUMMARY_ONLY: u8 = 0;
/// `result_filter::*` (`-Z`, `-z`).
#[unsafe(no_mangle)]
static RESULT_FILTER: u8 = 0;
/// Bytes of a data buffer (write, read) to copy, at most `DATA_CAP` (`-s`).
#[unsafe(no_mangle)]
static BUFFER_CAPTURE: u32 = 32;

/// execve and execveat numbers: the only calls reported for a spawned command before its exec.
#[unsafe(no_mangle)]
static EXECVE_NR: u32 = 59;
#[unsafe(no_mangle)]
static EXECVEAT_NR: u32 = 322;
/// rt_sigreturn's number. It returns into the code a signal interrupted, with that code's registers: its own
/// number is gone by its exit (`orig_ax` is -1 then, so that no restart logic runs), and its enter is the only
/// place that still has it.
#[unsafe(no_mangle)]
static RT_SIGRETURN_NR: u32 = 15;
/// exit and exit_group numbers: calls that never return, reported when their thread ends (`report_unreturned`).
#[unsafe(no_mangle)]
static EXIT_NR: u32 = 60;
#[unsafe(no_mangle)]
static EXIT_GROUP_NR: u32 = 231;

/// Non-zero for `-y`: each record carries the identity of the fds its call names (`SYSCALL_*FDS` kinds).
#[unsafe(no_mangle)]
static FD_IDENTITIES: u8 = 0;
/// Per syscall number, which fds to identify (`-y`). Set at load time.
#[unsafe(no_mangle)]
static SYSCALL_FD_SOURCES: [FdSources; MAX_SYSCALL_NR] =
    [FdSources { source: [fd_source::NONE; FD_SLOTS], _pad: 0 }; MAX_SYSCALL_NR];

/// Non-zero for `-yy`: each fd slot that names a socket carries the socket's ends (`FdIdentity::socket`).
#[unsafe(no_mangle)]
static SOCKET_ENDS: u8 = 0;

/// `-y`: the file a close is closing, read at its enter (by the exit it is gone), by `tid % INFLIGHT_SLOTS`.
/// User space sizes it to one entry when `-y` is off.
#[map]
static FD_STASH: Array<FdStash> = Array::with_max_entries(INFLIGHT_SLOTS, 0);
/// `-yy`: the ends of the socket in the same slot of `FD_STASH`, as the call's enter found them. User space sizes
/// it to one entry when `-yy` is off.
#[map]
static SOCKET_STASH: Array<SocketEnds> = Array::with_max_entries(INFLIGHT_SLOTS, 0);

#[map]
pub static INFLIGHT: Array<Inflight> = Array::with_max_entries(INFLIGHT_SLOTS, 0);

/// Without the enter hook: each traced thread's return count (`returns_slot`), by `tid % INFLIGHT_SLOTS`.
#[map]
static RETURNS: Array<u64> = Array::with_max_entries(INFLIGHT_SLOTS, 0);
/// Non-zero when `raw_sys_enter` is attached (user space decides).
#[unsafe(no_mangle)]
static ENTER_HOOKED: u8 = 1;

#[map]
static SYSCALL_STATS: PerCpuArray<SyscallStat> = PerCpuArray::with_max_entries(MAX_SYSCALL_NR as u32, 0);

// x86_64 `struct pt_regs`, a stable arch ABI: syscall arguments live in di, si, dx, r10, r8, r9, all within
// words 7..=15 (r10 at 7 up to orig_ax at 15); one copy of those nine words serves enter and exit.
const FIRST_WORD: usize = 7;
const PT_REGS_WORDS: usize = 9;
const REG_R10: usize = 7 - FIRST_WORD;
const REG_R9: usize = 8 - FIRST_WORD;
const REG_R8: usize = 9 - FIRST_WORD;
const REG_DX: usize = 12 - FIRST_WORD;
const REG_SI: usize = 13 - FIRST_WORD;
const REG_DI: usize = 14 - FIRST_WORD;
const REG_ORIG_AX: usize = 15 - FIRST_WORD;

#[inline(always)]
fn read_regs(regs: *const u64) -> Option<[u64; PT_REGS_WORDS]> {
    unsafe { bpf_probe_read_kernel(regs.wrapping_add(FIRST_WORD) as *const [u64; PT_REGS_WORDS]) }.ok()
}

#[inline(always)]
fn args_from_regs(regs: &[u64; PT_REGS_WORDS]) -> [u64; 6] {
    [regs[REG_DI], regs[REG_SI], regs[REG_DX], regs[REG_R10], regs[REG_R8], regs[REG_R9]]
}

/// Whether this task's calls are reported: traced, and for a spawned command not yet exec'd, only its execve.
#[inline(always)]
fn reports(state: u32, nr: i64) -> bool {
    match state {
        0 => false,
        traced::FROM_EXEC => is_exec(nr),
        _ => true,
    }
}

/// The spec of a wanted syscall: the `wanted` byte alone is read (volatile reads of the whole entry go byte by
/// byte); `global(entry)` copies the rest where it is needed.
#[inline(always)]
fn spec(nr: i64) -> Option<&'static SyscallSpec> {
    // LLVM likes to bound-check one copy of the number (zero-extended) and index with another (sign-extended),
    // which the verifier refuses: `black_box` gives both uses the same register. `get`, not indexing: a failed
    // bounds check would leave a panic call the verifier cannot load.
    let index = core::hint::black_box(nr as u64);
    if index >= MAX_SYSCALL_NR as u64 {
        return None;
    }
    let spec = SYSCALL_SPECS.get(index as usize)?;
    (global(&spec.wanted) != 0).then_some(spec)
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn raw_sys_enter(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let state = traced_state((pid_tgid >> 32) as u32);
    if state == 0 {
        return 0;
    }
    let nr: i64 = ctx.arg(1);
    if !reports(state, nr) {
        return 0;
    }
    let Some(spec) = spec(nr) else { return 0 };
    // Only the clock and the number: the arguments are still in the saved registers at exit, so copying them
    // here would only double the work.
    let Some(slot) = INFLIGHT.get_ptr_mut(pid_tgid as u32 & (INFLIGHT_SLOTS - 1)) else { return 0 };
    if is_exec(nr) || is_exit_call(nr) {
        // A successful exec resets the saved registers, and exit never returns: their arguments are only here.
        let Some(regs) = read_regs(ctx.arg(0)) else { return 0 };
        let args = args_from_regs(&regs);
        let counted = if is_exec(nr) { count_at_enter(&global(spec), &args) } else { NOT_COUNTED };
        unsafe {
            (*slot).args = args;
            (*slot).counted = counted;
        }
    }
    unsafe {
        (*slot).enter_ns = now_ns();
        (*slot).tid = pid_tgid as u32;
        (*slot).nr = nr as i32;
    }
    0
}

/// At an exec's enter, before the exec replaces the memory they are in: the entries of its `ARRAY_COUNT` argument
/// (envp), or `NOT_COUNTED`.
#[inline(always)]
fn count_at_enter(spec: &SyscallSpec, args: &[u64; 6]) -> u32 {
    for slot in 0..CAPTURE_SLOTS {
        if spec.kind[slot] == capture::ARRAY_COUNT {
            // Constant offsets: the verifier refuses a variable-offset read of the stack.
            let array = match spec.arg[slot] {
                0 => args[0],
                1 => args[1],
                2 => args[2],
                3 => args[3],
                4 => args[4],
                5 => args[5],
                _ => return NOT_COUNTED,
            };
            return count_array(array);
        }
    }
    NOT_COUNTED
}

/// The entries of a NULL-terminated array of pointers in user memory, up to `MAX_ARRAY_COUNT`; `NOT_COUNTED` for
/// a NULL array, a fault, or more entries. One pointer per read: a read past the end could fault where the array
/// does not.
#[inline(always)]
fn count_array(array: u64) -> u32 {
    if array == 0 {
        return NOT_COUNTED;
    }
    let base = array as *const u64;
    for i in 0..MAX_ARRAY_COUNT {
        match unsafe { bpf_probe_read_user(base.wrapping_add(i as usize)) } {
            Ok(0) => return i,
            Ok(_) => {}
            Err(_) => return NOT_COUNTED,
        }
    }
    NOT_COUNTED
}

#[inline(always)]
fn is_exit_call(nr: i64) -> bool {
    nr == global(&EXIT_NR) as i64 || nr == global(&EXIT_GROUP_NR) as i64
}

/// At a traced thread's end (`sched_process_exit`): the call it entered and never returned from (exit,
/// exit_group; with the enter hooked, also a call it was inside when another thread's exit_group killed it) is
/// reported as strace shows it, `exit_group(0) = ?`. As in strace, such a call is neither counted by `-c` (it has
/// no end) nor shown by `-z`/`-Z` (it neither succeeded nor failed).
#[inline(always)]
pub fn report_unreturned(pid_tgid: u64, state: u32) {
    if global(&SUMMARY_ONLY) != 0 || global(&RESULT_FILTER) != 0 {
        return;
    }
    // Without the enter hook, exit and exit_group are read from the thread's saved registers; `enter_ns` 0 then
    // (no clock is read without the enter hook, so no duration is shown), the arguments are known (ENTER_SEEN).
    // A slot `exec_env_count` filled is no call's (its exec's exit took it unless execve is not traced).
    let (nr, enter_ns, args, counted) = match take_inflight(pid_tgid as u32).filter(|e| e.nr != EXEC_ENV_COUNTED) {
        Some(entered) => (entered.nr, entered.enter_ns, entered.args, entered.counted),
        None if global(&ENTER_HOOKED) == 0 => match exiting_call() {
            Some((nr, args)) => (nr, 0, args, NOT_COUNTED),
            None => return,
        },
        None => return,
    };
    if !reports(state, nr as i64) {
        return;
    }
    let Some(spec) = spec(nr as i64) else { return };
    report_call(pid_tgid, nr, &global(spec), args, counted, Some(enter_ns), 0, status::NO_RETURN);
}

/// x86_64 `THREAD_SIZE` (16 KiB without KASAN) and `sizeof(struct pt_regs)`.
const THREAD_SIZE: u64 = 16 << 10;
const PT_REGS_SIZE: u64 = 21 * 8;
/// User-mode code and stack segment selectors (`__USER_CS`, `__USER_DS`): a saved frame from user space has them.
const USER_CS: u64 = 0x33;
const USER_DS: u64 = 0x2b;

/// At `sched_process_exit`, the exit or exit_group call the current thread is inside, with its arguments, from
/// the registers saved at its syscall entry (`task_pt_regs`: the top of `task->stack`, below the 16 bytes FRED
/// kernels reserve there, so both places are tried). `None` when the thread is not in one of those two calls (a
/// signal killed it, another thread's exit_group did) or the frame is not found where expected (a KASAN kernel's
/// larger stack): the selectors and the syscall number must all match, so a wrong guess reports nothing rather
/// than a wrong call.
#[inline(always)]
fn exiting_call() -> Option<(i32, [u64; 6])> {
    let offset = global(&TASK_STACK_OFFSET);
    if offset == 0 {
        return None;
    }
    let stack = word(current_task(), offset);
    if stack == 0 {
        return None;
    }
    for padding in [0u64, 16] {
        let regs = (stack + THREAD_SIZE - padding - PT_REGS_SIZE) as *const u64;
        let Ok(frame) = (unsafe { bpf_probe_read_kernel(regs.wrapping_add(FIRST_WORD) as *const [u64; 14]) }) else {
            continue;
        };
        let nr = frame[REG_ORIG_AX] as i64;
        // cs at word 17, ss at word 20.
        if frame[17 - FIRST_WORD] == USER_CS && frame[20 - FIRST_WORD] == USER_DS && is_exit_call(nr) {
            let regs: [u64; PT_REGS_WORDS] =
                [frame[0], frame[1], frame[2], frame[3], frame[4], frame[5], frame[6], frame[7], frame[8]];
            return Some((nr as i32, args_from_regs(&regs)));
        }
    }
    None
}

/// The new task's return (0) from fork, vfork, clone or clone3: not a call of its own (`wanted::RETURNS_IN_CHILD`).
#[inline(always)]
fn is_child_return(spec: &SyscallSpec, ret: i64) -> bool {
    ret == 0 && global(&spec.wanted) == wanted::RETURNS_IN_CHILD
}

#[inline(always)]
fn is_exec(nr: i64) -> bool {
    nr == global(&EXECVE_NR) as i64 || nr == global(&EXECVEAT_NR) as i64
}

/// Without `raw_sys_enter` attached (no durations wanted) every call takes the no-enter path: one hook per
/// syscall instead of two.
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn raw_sys_exit(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let state = traced_state((pid_tgid >> 32) as u32);
    if state == 0 {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    let tid = pid_tgid as u32;
    if global(&ENTER_HOOKED) == 0 {
        // Every return counts, whatever is reported: a count that stands still means a thread inside one call.
        if let Some(slot) = RETURNS.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1)) {
            unsafe { *slot = returns_slot(tid, *slot) };
        }
    }
    // Plain values, not an `Option` of a tuple: LLVM spills the undefined payload of `None`, which the verifier
    // refuses to read.
    let entered = if global(&ENTER_HOOKED) != 0 { take_inflight(tid) } else { None };
    let (entered, nr, enter_ns) = match entered {
        Some(e) => (true, e.nr as i64, e.enter_ns),
        None => (false, -1, 0),
    };
    if entered && nr == global(&RT_SIGRETURN_NR) as i64 {
        return sigreturn_exit(&ctx, enter_ns);
    }
    if global(&SUMMARY_ONLY) != 0 {
        // `-c` needs no arguments: the saved registers are read only for a call entered before we attached.
        let nr = if entered {
            nr
        } else {
            match read_regs(ctx.arg(0)) {
                Some(regs) if regs[REG_ORIG_AX] == u64::MAX => return sigreturn_exit(&ctx, 0),
                Some(regs) => regs[REG_ORIG_AX] as i64,
                None => return 0,
            }
        };
        if reports(state, nr)
            && let Some(spec) = spec(nr)
            && !is_child_return(spec, ret)
        {
            count_call(nr as i32, entered.then_some(enter_ns), ret);
        }
        return 0;
    }
    let Some(regs) = read_regs(ctx.arg(0)) else { return 0 };
    // Entered before we attached, or no enter hook: the number is in the saved registers too.
    if !entered && regs[REG_ORIG_AX] == u64::MAX {
        return sigreturn_exit(&ctx, 0);
    }
    let nr = if entered { nr } else { regs[REG_ORIG_AX] as i64 };
    if !reports(state, nr) {
        return 0;
    }
    let Some(spec) = spec(nr) else { return 0 };
    if is_child_return(spec, ret) {
        return 0;
    }
    let mut args = args_from_regs(&regs);
    let mut counted = NOT_COUNTED;
    let enter_ns = entered.then_some(enter_ns);
    if is_exec(nr) {
        if entered {
            // A successful exec reset the saved registers: the enter kept its arguments.
            if let Some(slot) = INFLIGHT.get(tid & (INFLIGHT_SLOTS - 1)) {
                args = slot.args;
                counted = slot.counted;
            }
        } else {
            // A failed exec kept its memory and registers: its environment is counted as at an enter, by a program
            // of its own (index 0). A successful one asks for index 1, which is past the array: the call returns
            // at once. The index, not a branch on `ret`: a branch splits the states the verifier walks through
            // the record's making (6.1: 7904 instructions against 5490). Only when that program is missing is a
            // failed exec reported here, uncounted.
            let failed = (ret as u64 >> 63) as u32;
            unsafe { FAILED_EXEC_EXIT.tail_call(&ctx, failed ^ 1) };
            if let Some(slot) = take_inflight(tid)
                && slot.nr == EXEC_ENV_COUNTED
            {
                // A successful one's arguments are gone (user space says so); its environment was counted by the
                // exec itself (`exec_env_count`).
                counted = slot.counted;
            }
        }
    }
    report_call(pid_tgid, nr as i32, &global(spec), args, counted, enter_ns, ret, status::ARGS_AT_EXIT);
    0
}

/// `raw_sys_exit_sigreturn`, tail-called by `raw_sys_exit` (set by user space), and its input: the call's enter
/// time, 0 when its enter was not seen.
#[map]
static SIGRETURN_EXIT: ProgramArray = ProgramArray::with_max_entries(1, 0);
#[map]
static SIGRETURN_ENTER_NS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// rt_sigreturn's exit, told by its enter or, without one, by the -1 its restored registers hold for a number
/// (see `RT_SIGRETURN_NR`; a call of number -1 itself, ENOSYS, would look the same): handed to a program of its
/// own. The caller returns at once after this. A branch that went on into the record's making made the verifier
/// walk all of it again with the number known: raw_sys_exit on 5.10 went from 49,521 instructions to 120-150k.
#[inline(always)]
fn sigreturn_exit(ctx: &RawTracePointContext, enter_ns: u64) -> i32 {
    if let Some(slot) = SIGRETURN_ENTER_NS.get_ptr_mut(0) {
        unsafe { *slot = enter_ns };
    }
    unsafe { SIGRETURN_EXIT.tail_call(ctx, 0) };
    // The program is missing: the call is not reported, and says so.
    count_lost(lost::SYSCALLS);
    0
}

/// rt_sigreturn's exit (tail-called by `raw_sys_exit`, never attached). Its registers are the interrupted code's:
/// its one argument as strace shows it (`rt_sigreturn({mask=[INT]})`) is the signal mask it restored, now the
/// thread's. Unknown (no offset, a failed read) is every bit set, SIGKILL's among them, which no restored mask has.
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn raw_sys_exit_sigreturn(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let nr = global(&RT_SIGRETURN_NR) as i64;
    if !reports(traced_state((pid_tgid >> 32) as u32), nr) {
        return 0;
    }
    let Some(spec) = spec(nr) else { return 0 };
    let ret: i64 = ctx.arg(1);
    let enter_ns = SIGRETURN_ENTER_NS.get(0).copied().unwrap_or(0);
    let enter_ns = (enter_ns != 0).then_some(enter_ns);
    if global(&SUMMARY_ONLY) != 0 {
        count_call(nr as i32, enter_ns, ret);
        return 0;
    }
    let (mask, read) = read_checked::<u64>(current_task(), global(&TASK_BLOCKED_OFFSET));
    let known = read & (global(&TASK_BLOCKED_OFFSET) != 0) as u64;
    let args = [mask | (known ^ 1).wrapping_neg(), 0, 0, 0, 0, 0];
    report_call(pid_tgid, nr as i32, &global(spec), args, NOT_COUNTED, enter_ns, ret, status::ARGS_AT_EXIT);
    0
}

/// `linux_binprm.envc` (from BTF): the entries of an exec's environment, as the exec counted them.
#[unsafe(no_mangle)]
static BPRM_ENVC_OFFSET: u32 = 0;

/// The `nr` of an `INFLIGHT` slot that `exec_env_count` filled: no syscall's number (no enter hook ran).
const EXEC_ENV_COUNTED: i32 = -1;

/// Without the enter hook (user space attaches it then, and not for `-c`): a successful exec's environment count,
/// for its exit's record, where the old memory that held envp is gone. The exec counted it itself
/// (`bprm->envc`); a raw tracepoint on `sched_process_exec(p, old_pid, bprm)` runs at execs only, where exec's own
/// `syscalls:sys_enter_*` tracepoints made every syscall of every task pay (bench/README.md, issue 15 item 3).
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn exec_env_count(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if traced_state((pid_tgid >> 32) as u32) == 0 {
        return 0;
    }
    let bprm: u64 = ctx.arg(2);
    let (envc, read) = read_checked::<i32>(bprm, global(&BPRM_ENVC_OFFSET));
    let counted = if read != 0 && envc >= 0 { envc as u32 } else { NOT_COUNTED };
    // The exec'ing thread has the process's pid by now (a non-leader's exec took the leader's): so does its exit.
    let tid = pid_tgid as u32;
    if let Some(slot) = INFLIGHT.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1)) {
        unsafe { *slot = Inflight { enter_ns: 0, tid, nr: EXEC_ENV_COUNTED, args: [0; 6], counted, _pad: 0 } };
    }
    0
}

/// `raw_sys_exit_failed_exec`, tail-called by `raw_sys_exit` (set by user space).
#[map]
static FAILED_EXEC_EXIT: ProgramArray = ProgramArray::with_max_entries(1, 0);

/// A failed exec's exit without the enter hook, tail-called from `raw_sys_exit` (never attached): its environment
/// counted from its memory (left as it was), then reported. A program of its own because the count's loop, walked
/// inside `raw_sys_exit` from each of the states that reach it, cost 5.10's verifier six times that program
/// (89353 instructions against 32468 without it).
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn raw_sys_exit_failed_exec(ctx: RawTracePointContext) -> i32 {
    let ret: i64 = ctx.arg(1);
    let Some(regs) = read_regs(ctx.arg(0)) else { return 0 };
    let nr = regs[REG_ORIG_AX] as i64;
    let Some(spec) = spec(nr) else { return 0 };
    let spec = global(spec);
    let args = args_from_regs(&regs);
    let counted = count_at_enter(&spec, &args);
    report_call(bpf_get_current_pid_tgid(), nr as i32, &spec, args, counted, None, ret, status::ARGS_AT_EXIT);
    0
}

/// Reads a field of a classic tracepoint record. One volatile load at a constant offset per field: a single
/// wide read made LLVM emit a modified context pointer, which the verifier refuses.
#[inline(always)]
fn tp_field<T: Copy>(ctx: &TracePointContext, offset: usize) -> T {
    use aya_ebpf::EbpfContext;
    unsafe { core::ptr::read_volatile((ctx.as_ptr() as *const u8).add(offset) as *const T) }
}

// `syscalls:sys_enter_*`: __syscall_nr at 8, the six argument slots from 16 (stable since the format exists).
#[tracepoint]
pub fn sys_enter_one(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let state = traced_state((pid_tgid >> 32) as u32);
    if state == 0 {
        return 0;
    }
    let nr: i32 = tp_field(&ctx, 8);
    if !reports(state, nr as i64) || spec(nr as i64).is_none() {
        return 0;
    }
    // Copied, not loaded: a program that loads context bytes beyond a tracepoint's record cannot be attached
    // to it, and records hold only the syscall's own arguments. Slots past them are ignored by user space.
    let args: [u64; 6] = unsafe { ctx.read_at(16) }.unwrap_or([0; 6]);
    let counted = if is_exec(nr as i64) {
        spec(nr as i64).map_or(NOT_COUNTED, |s| count_at_enter(&global(s), &args))
    } else {
        NOT_COUNTED
    };
    on_enter(pid_tgid, nr, args, counted);
    0
}

#[tracepoint]
pub fn sys_exit_one(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let state = traced_state((pid_tgid >> 32) as u32);
    if state == 0 {
        return 0;
    }
    let nr: i32 = tp_field(&ctx, 8);
    let ret: i64 = tp_field(&ctx, 16);
    // Plain values, not `Option`s (as in raw_sys_exit): LLVM copies the undefined payload of a `None`, which
    // 5.10's verifier refuses to read.
    let (entered, nr, enter_ns, args, counted) = match take_inflight(pid_tgid as u32) {
        Some(e) => (true, e.nr, e.enter_ns, e.args, e.counted),
        None => (false, nr, 0, [0; 6], NOT_COUNTED),
    };
    if !reports(state, nr as i64) {
        return 0;
    }
    let Some(spec) = spec(nr as i64) else { return 0 };
    let enter_ns = entered.then_some(enter_ns);
    if global(&SUMMARY_ONLY) != 0 {
        count_call(nr, enter_ns, ret);
        return 0;
    }
    // No arguments in this record without the enter: report the call without them rather than not at all.
    // No ARGS_UNKNOWN flag here yet: 5.10's verifier refused this program with one (a stack read it could not
    // prove initialised); user space still infers it from all-zero arguments on this path.
    report_call(pid_tgid, nr, &global(spec), args, counted, enter_ns, ret, 0);
    0
}

#[inline(always)]
fn on_enter(pid_tgid: u64, nr: i32, args: [u64; 6], counted: u32) {
    let tid = pid_tgid as u32;
    if let Some(slot) = INFLIGHT.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1)) {
        unsafe { *slot = Inflight { enter_ns: now_ns(), tid, nr, args, counted, _pad: 0 } };
    }
}

/// The call this thread entered, if its slot still holds it (another traced thread may have taken the slot).
/// The slot is freed; the caller reads only the fields it needs (`args` are filled by the classic enter only).
#[inline(always)]
pub fn take_inflight(tid: u32) -> Option<&'static Inflight> {
    let slot = INFLIGHT.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1))?;
    let slot = unsafe { &mut *slot };
    if slot.tid != tid {
        return None;
    }
    slot.tid = 0;
    Some(slot)
}

/// `-c`: one more call in this CPU's totals.
#[inline(always)]
fn count_call(nr: i32, enter_ns: Option<u64>, ret: i64) {
    let Some(stat) = SYSCALL_STATS.get_ptr_mut(nr as u32) else { return };
    let stat = unsafe { &mut *stat };
    stat.calls += 1;
    stat.errors += is_error_return(ret) as u64;
    if let Some(enter_ns) = enter_ns {
        stat.total_ns += now_ns().saturating_sub(enter_ns);
    }
}

/// Sends the record of a finished call.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the record's fields, each from its own source; inlined
fn report_call(
    pid_tgid: u64,
    nr: i32,
    spec: &SyscallSpec,
    args: [u64; 6],
    counted: u32,
    enter_ns: Option<u64>,
    ret: i64,
    extra_status: u32,
) {
    let failed = is_error_return(ret);
    match global(&RESULT_FILTER) {
        result_filter::FAILED if !failed => return,
        result_filter::SUCCESSFUL if failed => return,
        _ => {}
    }
    let status = extra_status | if enter_ns.is_some() { status::ENTER_SEEN } else { 0 };
    let duration = |now: u64| enter_ns.map_or(0, |t| now.saturating_sub(t));
    // A load-time constant: the verifier walks one of the two halves only, and the plain path pays nothing.
    // A call that names no fd (getppid) sends the plain record.
    if global(&FD_IDENTITIES) != 0
        && let Some(sources) = fd_sources(nr)
        && sources.source[0] != fd_source::NONE
    {
        if spec.kind[0] == capture::NONE {
            emit::<SyscallFdsEvent>(SYSCALLS, kind::SYSCALL_FDS, pid_tgid, |full, now| {
                fill_event(&mut full.event, nr, status, duration(now), ret, args);
                fill_fds(&mut full.fds, sources, &args, ret, pid_tgid as u32);
            });
            return;
        }
        emit::<SyscallDataFdsEvent>(SYSCALLS, kind::SYSCALL_DATA_FDS, pid_tgid, |full, now| {
            fill_event(&mut full.event, nr, status, duration(now), ret, args);
            fill_fds(&mut full.fds, sources, &args, ret, pid_tgid as u32);
            full.event.status |= capture_slots(spec, &args, counted, ret, &mut full.event.data_len, &mut full.data);
            full.event.status |= send_long(spec, &args, &full.event, true, &full.data);
        });
        return;
    }
    if spec.kind[0] == capture::NONE {
        emit::<SyscallEvent>(SYSCALLS, kind::SYSCALL, pid_tgid, |event, now| {
            fill_event(event, nr, status, duration(now), ret, args);
        });
        return;
    }
    emit::<SyscallDataEvent>(SYSCALLS, kind::SYSCALL_DATA, pid_tgid, |full, now| {
        fill_event(&mut full.event, nr, status, duration(now), ret, args);
        full.event.status |= capture_slots(spec, &args, counted, ret, &mut full.event.data_len, &mut full.data);
        full.event.status |= send_long(spec, &args, &full.event, false, &full.data);
    });
}

/// A path that filled its capture slot (the record being written, `event`, says so) is read again whole, into a
/// `SyscallLongEvent` holding the whole call, sent after it; returns `status::SUPERSEDED` for the record being
/// written when that one was reserved. Only the first such slot is read whole. The ordinary path pays one test.
/// `with_fds`: the record being written is a `SyscallDataFdsEvent` (else a `SyscallDataEvent`).
///
/// The verifier walks this once per way into it (every combination of fd kinds and capture kinds before it), so
/// it is kept short: the copies from the record being written are helper calls, not a load and a store per word.
#[inline(always)]
fn send_long(
    spec: &SyscallSpec,
    args: &[u64; 6],
    event: &SyscallEvent,
    with_fds: bool,
    data: &[[u8; DATA_CAP]; CAPTURE_SLOTS],
) -> u32 {
    let cut = event.status & (status::TRUNCATED_0 | status::TRUNCATED_1);
    if cut == 0 {
        return 0;
    }
    let is_path = |kind: u8| kind == capture::CSTRING || kind == capture::PATH_OUT;
    let long_slot = if cut & status::TRUNCATED_0 != 0 && is_path(spec.kind[0]) {
        0
    } else if cut & status::TRUNCATED_1 != 0 && is_path(spec.kind[1]) {
        1
    } else {
        return 0;
    };
    // Picked without a variable stack offset, which 5.10 refuses.
    let ptr = fd_value(spec.arg.get(long_slot).map_or(6, |&a| a) as u64, args, 0) as *const u8;
    let Some(mut follow) = Follow::<SyscallLongEvent>::reserve() else { return 0 };
    let long = follow.record();
    // The call as the record being written holds it (its envelope too), then its fds when it has them: both
    // records start alike.
    let head = if with_fds {
        size_of::<SyscallEvent>() + size_of::<[FdIdentity; FD_SLOTS]>()
    } else {
        size_of::<SyscallEvent>()
    };
    copy_kernel((long as *mut SyscallLongEvent).cast(), (event as *const SyscallEvent).cast(), head);
    long.event.header.kind = kind::SYSCALL_LONG;
    long.long_slot = long_slot as u16;
    long._pad = 0;
    if with_fds {
        long.has_fds = 1;
    } else {
        long.has_fds = 0;
        long.fds = [FdIdentity::default(); FD_SLOTS];
    }
    // The other slot, as the record being written holds it.
    let other = if long_slot == 0 { &data[1] } else { &data[0] };
    copy_kernel(long.other.as_mut_ptr(), other.as_ptr(), DATA_CAP);
    let truncated = status::TRUNCATED_0 << long_slot;
    let fault = status::FAULT_0 << long_slot;
    // strace shows `PATH_MAX - 1` bytes, and `...` after a longer path; it reads no further than one byte
    // past them (a path that ends at the end of a mapping is not a fault).
    let len = match unsafe { bpf_probe_read_user_str_bytes(ptr, &mut long.long) } {
        Ok(bytes) if bytes.len() < LONG_PATH_SHOWN => {
            long.event.status &= !truncated;
            bytes.len()
        }
        // The byte after, read into the record over the NUL the helper wrote there (beyond what is shown): a
        // stack byte would grow the program's frame past the 512 bytes the calls it makes may share.
        Ok(_) => match unsafe { read_user_byte(ptr.wrapping_add(LONG_PATH_SHOWN), &mut long.long[LONG_PATH_SHOWN]) } {
            Some(0) => {
                long.event.status &= !truncated;
                LONG_PATH_SHOWN
            }
            Some(_) => LONG_PATH_SHOWN,
            None => {
                long.event.status |= fault;
                0
            }
        },
        Err(_) => {
            long.event.status |= fault;
            0
        }
    };
    // `get_mut`, not indexing: a bounds check LLVM cannot drop would leave a panic call the verifier refuses.
    if let Some(slot_len) = long.event.data_len.get_mut(long_slot) {
        *slot_len = len as u16;
    }
    follow.send();
    status::SUPERSEDED
}

/// One byte of user memory, read into `out`; `None` on a fault.
#[inline(always)]
unsafe fn read_user_byte(src: *const u8, out: &mut u8) -> Option<u8> {
    let err = unsafe { aya_ebpf::helpers::generated::bpf_probe_read_user((out as *mut u8).cast(), 1, src.cast()) };
    if err == 0 { Some(*out) } else { None }
}

/// Copies `len` bytes between two records in the ring: one helper call, where an assignment is a load and a store
/// per word that the verifier walks each time. Both are the program's own reserved memory, so it cannot fail.
#[inline(always)]
fn copy_kernel(dst: *mut u8, src: *const u8, len: usize) {
    unsafe { aya_ebpf::helpers::generated::bpf_probe_read_kernel(dst.cast(), len as u32, src.cast()) };
}

/// Copies every capture slot; returns their status bits.
#[inline(always)]
fn capture_slots(
    spec: &SyscallSpec,
    args: &[u64; 6],
    counted: u32,
    ret: i64,
    lens: &mut [u16; CAPTURE_SLOTS],
    data: &mut [[u8; DATA_CAP]; CAPTURE_SLOTS],
) -> u32 {
    let mut extra = 0;
    for slot in 0..CAPTURE_SLOTS {
        let (len, flags) = capture_slot(spec, slot, args, counted, ret, &mut data[slot]);
        lens[slot] = len;
        extra |= flags << slot;
    }
    extra
}

/// The fds a syscall names (`-y`), `None` for a number outside the table.
#[inline(always)]
fn fd_sources(nr: i32) -> Option<FdSources> {
    let index = core::hint::black_box(nr as u32 as u64);
    if index >= MAX_SYSCALL_NR as u64 {
        return None;
    }
    SYSCALL_FD_SOURCES.get(index as usize).map(global)
}

/// The fd number a source names: an argument or the return value, chosen without a branch (an argument index
/// into a stack array is a variable stack offset, which 5.10 refuses).
#[inline(always)]
fn fd_value(index: u64, args: &[u64; 6], ret: i64) -> u64 {
    let mut value = ret as u64;
    for (i, arg) in args.iter().enumerate() {
        value = pick(is_zero(index ^ i as u64), *arg, value);
    }
    value
}

/// The identity of the file behind `file` (a `struct file *`, 0 for none): its inode number and device.
#[inline(always)]
fn identify(file: u64, fd: i32, out: &mut FdIdentity) {
    let inode = word(word(file, global(&VFS_FILE_DENTRY)), global(&VFS_DENTRY_INODE));
    out.ino = word(inode, global(&VFS_INODE_INO));
    out.dev = read::<u32>(word(inode, global(&VFS_INODE_SB)), global(&VFS_SB_DEV));
    out.fd = fd;
    out.state = if file == 0 {
        fd_state::NO_FILE
    } else if inode == 0 {
        fd_state::UNKNOWN
    } else {
        fd_state::OPEN
    };
}

/// Fills every fd slot (`-y`): each named fd's identity now, at the call's exit, or, for a close, as its enter
/// found it.
#[inline(always)]
fn fill_fds(fds: &mut [FdIdentity; FD_SLOTS], sources: FdSources, args: &[u64; 6], ret: i64, tid: u32) {
    for (out, &source) in fds.iter_mut().zip(&sources.source) {
        out.source = source;
        out._pad = [0; 6];
        out.ino = 0;
        out.dev = 0;
        out.fd = -1;
        out.state = fd_state::UNUSED;
        out.socket = SocketEnds::default();
        if source == fd_source::NONE {
            continue;
        }
        let fd = fd_value((source & 7) as u64, args, ret) as i32;
        if source & fd_source::AT_ENTER != 0 {
            out.fd = fd;
            out.state = fd_state::UNKNOWN;
            let mut stashed = false;
            if let Some(stash) = FD_STASH.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1)) {
                let stash = unsafe { &mut *stash };
                if stash.tid == tid && stash.fd == fd {
                    stashed = true;
                    out.ino = stash.ino;
                    out.dev = stash.dev;
                    out.state = stash.state as u8;
                    if global(&SOCKET_ENDS) != 0
                        && let Some(ends) = SOCKET_STASH.get(tid & (INFLIGHT_SLOTS - 1))
                    {
                        out.socket = *ends;
                    }
                }
                stash.tid = 0;
            }
            if stashed || source & fd_source::EXIT_FALLBACK == 0 {
                continue;
            }
        }
        if source == fd_source::RETURN && ret < 0 {
            out.fd = fd;
            out.state = fd_state::NO_FILE;
            continue;
        }
        let file = file_of_fd(fd, false);
        identify(file, fd, out);
        if global(&SOCKET_ENDS) != 0 {
            socket_ends(file, &mut out.socket);
        }
    }
}

/// `-y`: a close's enter (`syscalls:sys_enter_close`): the file it is about to close, for its exit's record.
/// `-yy`: also the enter of the calls that can change a socket's ends (bind, connect, listen, sendto, sendmsg,
/// sendmmsg), with the ends before the call changes them (strace shows them so: `connect(3<TCP:[106262]>, ...)`).
/// Every one has its fd in its first argument.
#[tracepoint]
pub fn sys_enter_close_fd(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if traced_state((pid_tgid >> 32) as u32) == 0 {
        return 0;
    }
    let fd: u64 = tp_field(&ctx, 16);
    let tid = pid_tgid as u32;
    let Some(stash) = FD_STASH.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1)) else { return 0 };
    let mut identity = FdIdentity::default();
    let file = file_of_fd(fd as i32, false);
    identify(file, fd as i32, &mut identity);
    if global(&SOCKET_ENDS) != 0
        && let Some(ends) = SOCKET_STASH.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1))
    {
        socket_ends(file, unsafe { &mut *ends });
    }
    unsafe {
        *stash = FdStash { tid, fd: fd as i32, ino: identity.ino, dev: identity.dev, state: identity.state as u32 };
    }
    0
}

/// The body of a syscall record (the envelope is `emit`'s).
#[inline(always)]
fn fill_event(event: &mut SyscallEvent, nr: i32, status: u32, duration_ns: u64, ret: i64, args: [u64; 6]) {
    event.nr = nr;
    event.status = status;
    event.duration_ns = duration_ns;
    event.ret = ret;
    event.args = args;
    // One 4-byte store for both slots' lengths: `[0; CAPTURE_SLOTS]` became a call to a byte-loop `memset`
    // subprogram at every record.
    const _: () = assert!(core::mem::size_of::<[u16; CAPTURE_SLOTS]>() == 4);
    unsafe { event.data_len.as_mut_ptr().cast::<u32>().write_volatile(0) };
    event._pad = 0;
}

/// Copies one argument from user memory. Returns the bytes copied and `TRUNCATED_0`/`FAULT_0` status bits
/// (the caller shifts them to the slot).
#[inline(always)]
fn capture_slot(
    spec: &SyscallSpec,
    slot: usize,
    args: &[u64; 6],
    counted: u32,
    ret: i64,
    out: &mut [u8; DATA_CAP],
) -> (u16, u32) {
    let arg = spec.arg[slot] as usize;
    if arg >= 6 {
        return (0, 0);
    }
    let ptr = args[arg] as *const u8;
    let wanted = match spec.kind[slot] {
        capture::ARRAY_COUNT => {
            if counted == NOT_COUNTED {
                return (0, status::FAULT_0);
            }
            let bytes = counted.to_ne_bytes();
            out[0] = bytes[0];
            out[1] = bytes[1];
            out[2] = bytes[2];
            out[3] = bytes[3];
            return (4, 0);
        }
        capture::CSTRING => {
            if ptr.is_null() {
                return (0, status::FAULT_0);
            }
            return match unsafe { bpf_probe_read_user_str_bytes(ptr, out) } {
                // The copy stops one short of the buffer when the string did not fit.
                Ok(bytes) if bytes.len() >= DATA_CAP - 1 => (bytes.len() as u16, status::TRUNCATED_0),
                Ok(bytes) => (bytes.len() as u16, 0),
                Err(_) => (0, status::FAULT_0),
            };
        }
        capture::BUFFER_IN | capture::SIZED_IN => {
            let len_arg = spec.len_arg[slot] as usize;
            if len_arg >= 6 {
                return (0, 0);
            }
            args[len_arg]
        }
        capture::BUFFER_OUT | capture::PATH_OUT if ret > 0 => ret as u64,
        // The size rides in `len_arg`; an output struct holds nothing when the call failed.
        capture::STRUCT_IN => spec.len_arg[slot] as u64,
        capture::STRUCT_OUT if !is_error_return(ret) => spec.len_arg[slot] as u64,
        capture::SIZED_OUT if !is_error_return(ret) => {
            let len_arg = spec.len_arg[slot] as usize;
            if len_arg >= 6 {
                return (0, 0);
            }
            let len_ptr = args[len_arg] as *const u32;
            if len_ptr.is_null() {
                return (0, 0);
            }
            match unsafe { bpf_probe_read_user(len_ptr) } {
                Ok(len) => len as u64,
                Err(_) => return (0, status::FAULT_0),
            }
        }
        _ => return (0, 0),
    };
    // Structs are never cut at `-s`, only at the slot's size.
    let limit = match spec.kind[slot] {
        capture::BUFFER_IN | capture::BUFFER_OUT => global(&BUFFER_CAPTURE) as u64,
        _ => DATA_CAP as u64,
    };
    let mut len = if wanted < limit { wanted } else { limit };
    if len > DATA_CAP as u64 {
        len = DATA_CAP as u64;
    }
    let len = len as usize;
    if len == 0 || ptr.is_null() {
        return (0, if wanted > 0 { status::TRUNCATED_0 } else { 0 });
    }
    let truncated = if (len as u64) < wanted { status::TRUNCATED_0 } else { 0 };
    match unsafe { bpf_probe_read_user_buf(ptr, &mut out[..len]) } {
        Ok(()) => (len as u16, truncated),
        Err(_) => (0, status::FAULT_0),
    }
}
