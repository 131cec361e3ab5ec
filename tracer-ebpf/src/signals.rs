//! Signals, end to end:
//! - `signal_generate` (raw tracepoint: its task pointer gives the target's tgid, which the classic record lacks):
//!   every signal the kernel generates, with the current task as the sender when a process sent it. `tracer
//!   syscalls` wants those for traced targets; `tracer signals` (`SIGNALS_COMMAND`) those to or from its `-p`
//!   processes (all of them with `TRACE_ALL`), for the signals in `SIGNAL_SET`.
//! - `signal_deliver` (raw): a thread taking a signal, and what its action is. A fatal signal with the default
//!   action reaches every thread of the group as SIGKILL; the signal that caused it is in `signal->group_exit_code`.
//! - `signal_exit` (`sched_process_exit`): the end of a process killed by a signal, or of one that a reported
//!   signal was sent to (it may have handled SIGTERM and exited), or of a `-p` process.
//! - `signal_send_enter`/`signal_send_exit` (classic `syscalls:sys_{enter,exit}_<kill family>`): sends that
//!   failed never reach `signal_generate`; only attached with `--failed`.
//! - `signal_oom_victim` (classic `oom:mark_victim`): the OOM killer's victim, marked right after the SIGKILL it
//!   was sent, so that user space can say the OOM killer sent it. Classic, not raw: the raw arguments changed
//!   (a pid on 5.10, the task since 6.7); the record's `pid` did not.
//!
//! Kernel struct offsets come from BTF, set at load time.

use aya_ebpf::{
    EbpfContext,
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_uid_gid, generated},
    macros::{map, raw_tracepoint, tracepoint},
    maps::LruHashMap,
    programs::{RawTracePointContext, TracePointContext},
};
use tracer_common::{
    event::kind,
    process::{EXIT_CODE_UNKNOWN, what},
    signals::{
        DEFAULT_IGNORED, OomVictimEvent, SEND_SPECS, SIGCONT, SIGKILL, SendSpec, SignalDeliverEvent, SignalEvent,
        SignalSendFailedEvent, flags, info, result, sent_by_process, signal_bit,
    },
};

use crate::{
    emit::{SIGNAL, SIGNALS, emit},
    kernel::{current_task, is_zero, process_start_of, read, read_checked},
    maps::{TRACE_ALL, global, take, traced_state},
    process::{TASK_PID_OFFSET, TASK_TGID_OFFSET, exit_code, group_dead, send},
};

/// Non-zero for `tracer signals`: match senders too, remember targets, report deliveries and exits.
#[unsafe(no_mangle)]
static SIGNALS_COMMAND: u8 = 0;
/// Signals reported: bit `n - 1` for signal n (`--signal`).
#[unsafe(no_mangle)]
static SIGNAL_SET: u64 = u64::MAX;
/// Non-zero: failed sends of signal 0 (existence probes) are reported too.
#[unsafe(no_mangle)]
static SEND_SIGNAL_ZERO: u8 = 0;
/// The kill-family syscalls and their signal argument (from their format files).
#[unsafe(no_mangle)]
static SEND_SPECS_TABLE: [SendSpec; SEND_SPECS] = [SendSpec { nr: -1, sig_arg: 0 }; SEND_SPECS];

// From BTF: task_struct.{comm, blocked, sighand, signal}, sighand_struct.action, sizeof(struct k_sigaction),
// k_sigaction.sa.{sa_handler, sa_flags}, signal_struct.{nr_threads, group_exit_code}, kernel_siginfo.{si_errno,
// si_code, _sifields}.
#[unsafe(no_mangle)]
static TASK_COMM_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
pub static TASK_BLOCKED_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_SIGHAND_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_SIGNAL_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGHAND_ACTION_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static K_SIGACTION_SIZE: u32 = 0;
#[unsafe(no_mangle)]
static SA_HANDLER_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SA_FLAGS_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGNAL_NR_THREADS_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGNAL_GROUP_EXIT_CODE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGINFO_ERRNO_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGINFO_CODE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGINFO_FIELDS_OFFSET: u32 = 0;
// From BTF: signal_struct.{flags, tty, pids[PIDTYPE_PGID]}, tty_struct.{pgrp (ctrl.pgrp on 5.17+), name},
// pid.numbers[0].nr: whether the terminal sent a signal to its foreground group, and whether SIGCONT resumed.
#[unsafe(no_mangle)]
static SIGNAL_FLAGS_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGNAL_TTY_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SIGNAL_PGID_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TTY_PGRP_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TTY_NAME_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static PID_NR_OFFSET: u32 = 0;

/// `oom:mark_victim`'s `pid` field (from its format file).
#[unsafe(no_mangle)]
static OOM_VICTIM_PID_OFFSET: u32 = 8;

/// `signal_struct.flags`: set by prepare_signal() when a SIGCONT found the group stopped (include/linux/sched/signal.h).
const SIGNAL_CLD_CONTINUED: u32 = 0x20;

/// Processes a reported signal was queued for (tgid → set of signals, bit `n - 1`): with `-p SENDER` their
/// deliveries are reported, and their exit is, even a clean one (a handled SIGTERM ends in `exit(0)`).
#[map]
static SIGNAL_TARGETS: LruHashMap<u32, u64> = LruHashMap::with_max_entries(16384, 0);

#[repr(C)]
#[derive(Clone, Copy)]
struct PendingSend {
    nr: i32,
    signo: i32,
    args: [u64; 4],
}

/// Kill-family calls in progress (tid → arguments), until their exit says whether they failed.
#[map]
static SENDS: LruHashMap<u32, PendingSend> = LruHashMap::with_max_entries(4096, 0);

#[inline(always)]
fn wanted(signo: i32) -> bool {
    global(&SIGNAL_SET) & signal_bit(signo) != 0
}

/// (`info::*`, si_code, si_errno, `flags::INFO_*`) of the `kernel_siginfo *` a tracepoint was given: 0 and 1
/// are SEND_SIG_NOINFO and SEND_SIG_PRIV, which the classic tracepoint reports as SI_USER and SI_KERNEL (their
/// reads fail and give 0). Branch-free (see kernel.rs).
#[inline(always)]
fn siginfo(ptr: u64) -> (u8, i32, i32, u32) {
    let none = is_zero(ptr);
    let private = is_zero(ptr ^ 1);
    let kind = none * info::NONE as u64 + private * info::PRIV as u64;
    let code = read::<i32>(ptr, global(&SIGINFO_CODE_OFFSET)) | (private * 0x80) as i32;
    let errno = read::<i32>(ptr, global(&SIGINFO_ERRNO_OFFSET));
    let flags = (none * flags::INFO_NONE as u64) | (private * flags::INFO_PRIV as u64);
    (kind as u8, code, errno, flags as u32)
}

/// Whether a reported signal `signo` was queued for process `tgid`.
#[inline(always)]
fn marked(tgid: u32, signo: i32) -> bool {
    match SIGNAL_TARGETS.get_ptr(tgid) {
        Some(set) => (unsafe { *set }) & signal_bit(signo) != 0,
        None => false,
    }
}

#[inline(always)]
fn mark(tgid: u32, signo: i32) {
    let bit = signal_bit(signo);
    match SIGNAL_TARGETS.get_ptr_mut(tgid) {
        Some(set) => unsafe {
            if *set & bit == 0 {
                *set |= bit;
            }
        },
        None => {
            let _ = SIGNAL_TARGETS.insert(tgid, bit, 0);
        }
    }
}

/// `signal_generate(sig, info, task, group, result)`, in the context of whoever generated it.
#[raw_tracepoint(tracepoint = "signal_generate")]
pub fn signal_generate(ctx: RawTracePointContext) -> i32 {
    let signo: i32 = ctx.arg(0);
    if !wanted(signo) {
        return 0;
    }
    let task: u64 = ctx.arg(2);
    let target_tid: u32 = read(task, global(&TASK_PID_OFFSET));
    // Without the tgid, the thread id stands in (and says so).
    let (tgid, tgid_known) = read_checked::<u32>(task, global(&TASK_TGID_OFFSET));
    let target_pid = tgid | (target_tid & (tgid_known as u32 ^ 1).wrapping_neg());
    let (info_kind, code, errno, info_flags) = siginfo(ctx.arg(1));
    let from_process = sent_by_process(info_kind, signo, code);
    let pid_tgid = bpf_get_current_pid_tgid();
    let command = global(&SIGNALS_COMMAND) != 0;
    if traced_state(target_pid) == 0 && !(command && from_process && traced_state((pid_tgid >> 32) as u32) != 0) {
        return 0;
    }
    let group: i32 = ctx.arg(3);
    let outcome: i32 = ctx.arg(4);

    // Every flag by arithmetic: under `if`s, each combination was a state of its own for the 6.1 verifier.
    let bit = (signo as u64).wrapping_sub(1) & 63;
    let blocked: u64 = read(task, global(&TASK_BLOCKED_OFFSET));
    let signal = read::<u64>(task, global(&TASK_SIGNAL_OFFSET));
    let threads = read::<i32>(signal, global(&SIGNAL_NR_THREADS_OFFSET)) as i64;
    // The target's action for this signal: sighand->action[signo - 1].sa.sa_handler.
    let sighand = read::<u64>(task, global(&TASK_SIGHAND_OFFSET));
    let slot = global(&SIGHAND_ACTION_OFFSET) as u64
        + bit * global(&K_SIGACTION_SIZE) as u64
        + global(&SA_HANDLER_OFFSET) as u64;
    let (handler, handler_known) = read_checked::<u64>(sighand.wrapping_add(slot), 0);
    // A SIGCONT that resumed a stopped group: prepare_signal() ran before the tracepoint and left its mark.
    let group_flags = read::<u32>(signal, global(&SIGNAL_FLAGS_OFFSET));
    let continued = is_zero(signo as u64 ^ SIGCONT as u64) as u32 & (group_flags / SIGNAL_CLD_CONTINUED) & 1;
    // The terminal's signals (n_tty's isig(), a resize) are kill_pgrp(tty->pgrp, sig, 1): SEND_SIG_PRIV to the
    // foreground group of the terminal, from whatever context ran the line discipline (a kworker for a pty).
    let tty = read::<u64>(signal, global(&SIGNAL_TTY_OFFSET));
    let pgrp = read::<u64>(signal, global(&SIGNAL_PGID_OFFSET));
    let tty_pgrp = read::<u64>(tty, global(&TTY_PGRP_OFFSET));
    let foreground = ((info_flags / flags::INFO_PRIV) & 1) as u64 & (1 ^ is_zero(tty)) & is_zero(tty_pgrp ^ pgrp);
    let pgid = read::<u32>(pgrp, global(&PID_NR_OFFSET));
    // Null unless foreground: the read fails and leaves zeroes.
    let tty_name = tty.wrapping_add(global(&TTY_NAME_OFFSET) as u64) & foreground.wrapping_neg();
    let event_flags = info_flags
        | (continued * flags::CONTINUED)
        | (foreground as u32 * flags::FOREGROUND_TTY)
        | ((tgid_known as u32 ^ 1) * flags::TGID_UNKNOWN)
        | (from_process as u32 * flags::FROM_PROCESS)
        | (((blocked >> bit) & 1) as u32 * flags::TARGET_BLOCKS)
        | (((1 - threads) as u64 >> 63) as u32 * flags::MULTI_THREADED)
        | (handler_known as u32 * flags::HANDLER_KNOWN);

    // The siginfo's union (pids, status, address, value...). SEND_SIG_NOINFO and SEND_SIG_PRIV (0 and 1) are no
    // pointers: the read of address 16 or 17 fails and leaves zeroes, as for the codes above.
    let sifields = ctx.arg::<u64>(1).wrapping_add(global(&SIGINFO_FIELDS_OFFSET) as u64);

    let sent = emit::<SignalEvent>(SIGNAL, kind::SIGNAL, pid_tgid, |event, _| {
        unsafe {
            generated::bpf_probe_read_kernel(
                event.sifields.as_mut_ptr().cast(),
                event.sifields.len() as u32,
                sifields as *const _,
            )
        };
        event.signo = signo;
        event.code = code;
        event.target_pid = target_pid;
        event.target_tid = target_tid;
        event.result = outcome;
        event.group = group;
        // Zero-filled by the helper when it fails.
        let comm = (task as *const u8).wrapping_add(global(&TASK_COMM_OFFSET) as usize);
        unsafe { generated::bpf_probe_read_kernel(event.target_comm.as_mut_ptr().cast(), 16, comm.cast()) };
        event.errno = errno;
        event.flags = event_flags;
        event.handler = handler;
        event.uid = bpf_get_current_uid_gid() as u32;
        event.pgid = pgid;
        unsafe { generated::bpf_probe_read_kernel(event.tty.as_mut_ptr().cast(), 16, tty_name as *const _) };
        event.target_start_ns = process_start_of(task);
    });
    if sent && command && outcome == result::DELIVERED {
        mark(target_pid, signo);
    }
    0
}

/// `signal_deliver(sig, info, ka)`, in the context of the thread taking the signal.
#[raw_tracepoint(tracepoint = "signal_deliver")]
pub fn signal_deliver(ctx: RawTracePointContext) -> i32 {
    let signo: i32 = ctx.arg(0);
    let info_ptr: u64 = ctx.arg(1);
    let action: u64 = ctx.arg(2);
    let mut event_flags = 0;
    let mut orig_signo = signo;
    if signo == SIGKILL && info_ptr == 0 {
        // The group is dying: complete_signal() turned a fatal signal into SIGKILL for every thread and kept the
        // signal in group_exit_code. Without a signal there, another thread called exit_group or exec.
        let signal: u64 = read(current_task(), global(&TASK_SIGNAL_OFFSET));
        let exit_code: i32 = read(signal, global(&SIGNAL_GROUP_EXIT_CODE_OFFSET));
        if exit_code & 0x7f == 0 {
            return 0;
        }
        orig_signo = exit_code & 0x7f;
        event_flags |= flags::GROUP_EXIT;
        if exit_code & 0x80 != 0 {
            event_flags |= flags::CORE_DUMP;
        }
    }
    if !wanted(orig_signo) {
        return 0;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if traced_state(tgid) == 0 && !marked(tgid, orig_signo) {
        return 0;
    }
    let (_, code, errno, info_flags) = siginfo(info_ptr);
    let handler: u64 = read(action, global(&SA_HANDLER_OFFSET));
    let sa_flags: u64 = read(action, global(&SA_FLAGS_OFFSET));
    let sifields = info_ptr.wrapping_add(global(&SIGINFO_FIELDS_OFFSET) as u64);
    emit::<SignalDeliverEvent>(SIGNALS, kind::SIGNAL_DELIVER, pid_tgid, |event, _| {
        // First in the fill, as in `signal_generate` (cheaper for the verifier). Zero-filled by the helper when
        // it fails (no siginfo: a group's fatal SIGKILL).
        unsafe {
            generated::bpf_probe_read_kernel(
                event.sifields.as_mut_ptr().cast(),
                event.sifields.len() as u32,
                sifields as *const _,
            )
        };
        event.signo = signo;
        event.orig_signo = orig_signo;
        event.code = code;
        event.errno = errno;
        event.flags = event_flags | info_flags;
        event._pad = 0;
        event.handler = handler;
        event.sa_flags = sa_flags;
    });
    0
}

/// `sched_process_exit`, for `tracer signals`: see the module comment for which exits are reported.
#[tracepoint]
pub fn signal_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !group_dead(&ctx, pid_tgid) {
        return 0;
    }
    let marks = match SIGNAL_TARGETS.get_ptr(tgid) {
        Some(set) => {
            let set = unsafe { *set };
            let _ = SIGNAL_TARGETS.remove(tgid);
            set
        }
        None => 0,
    };
    let exit_code = exit_code();
    let killed_by = if exit_code == EXIT_CODE_UNKNOWN { 0 } else { exit_code & 0x7f };
    let all = global(&TRACE_ALL) != 0;
    let named = !all && traced_state(tgid) != 0;
    let report = named
        || (killed_by != 0 && wanted(killed_by) && (all || marks != 0))
        || marks & !DEFAULT_IGNORED & global(&SIGNAL_SET) != 0;
    if !report {
        return 0;
    }
    // `named` stays in TRACED: its SIGCHLD to its parent comes after this (exit_notify), and is from a `-p`
    // process. A pid is reused only after the whole pid space went round.
    send(SIGNALS, what::EXIT, 0, exit_code);
    0
}

/// A field of a classic tracepoint record at a constant offset: one volatile load (see syscalls.rs).
#[inline(always)]
fn record_field<T: Copy>(ctx: &TracePointContext, offset: usize) -> T {
    unsafe { core::ptr::read_volatile((ctx.as_ptr() as *const u8).add(offset) as *const T) }
}

/// `syscalls:sys_enter_<kill family>`: `__syscall_nr` at 8, arguments from 16 (the layout of every syscall record).
#[tracepoint]
pub fn signal_send_enter(ctx: TracePointContext) -> u32 {
    let nr: i32 = record_field(&ctx, 8);
    let mut sig_arg = None;
    for spec in global(&SEND_SPECS_TABLE) {
        if spec.nr == nr {
            sig_arg = Some(spec.sig_arg);
        }
    }
    let Some(sig_arg) = sig_arg else { return 0 };
    // Copied, not loaded: records hold only the call's own arguments, and kill has two.
    let args: [u64; 4] = unsafe { ctx.read_at(16) }.unwrap_or([0; 4]);
    let signo = match sig_arg {
        0 => args[0],
        1 => args[1],
        2 => args[2],
        _ => args[3],
    } as i32;
    if !(wanted(signo) || (signo == 0 && global(&SEND_SIGNAL_ZERO) != 0)) {
        return 0;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = SENDS.insert(tid, PendingSend { nr, signo, args }, 0);
    0
}

/// `syscalls:sys_exit_<kill family>`: `ret` at 16.
#[tracepoint]
pub fn signal_send_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(pending) = take(&SENDS, tid) else { return 0 };
    let ret: i64 = record_field(&ctx, 16);
    if ret >= 0 {
        return 0;
    }
    emit::<SignalSendFailedEvent>(SIGNALS, kind::SIGNAL_SEND_FAILED, pid_tgid, |event, _| {
        event.nr = pending.nr;
        event.signo = pending.signo;
        event.ret = ret;
        event.args = pending.args;
        event.uid = bpf_get_current_uid_gid() as u32;
        event._pad = 0;
    });
    0
}

/// `oom:mark_victim`: the OOM killer chose this task and has just sent it SIGKILL. Never rate-limited: rare, and
/// what it explains matters.
#[tracepoint]
pub fn signal_oom_victim(ctx: TracePointContext) -> u32 {
    let victim: i32 = unsafe { ctx.read_at(global(&OOM_VICTIM_PID_OFFSET) as usize) }.unwrap_or(0);
    emit::<OomVictimEvent>(SIGNALS, kind::OOM_VICTIM, bpf_get_current_pid_tgid(), |event, _| {
        event.victim_tid = victim as u32;
        event._pad = 0;
    });
    0
}
