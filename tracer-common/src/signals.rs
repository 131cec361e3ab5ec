//! Signals: generated (`signal:signal_generate`), taken by their target (`signal:signal_deliver`), and sends by the
//! kill family of syscalls that failed before any signal was generated.

use crate::event::EventHeader;

pub const SIGKILL: i32 = 9;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGURG: i32 = 23;
pub const SIGWINCH: i32 = 28;
/// The highest signal number (`_NSIG`).
pub const MAX_SIGNO: i32 = 64;

/// `si_code` values (include/uapi/asm-generic/siginfo.h).
pub mod code {
    pub const SI_USER: i32 = 0;
    pub const SI_KERNEL: i32 = 0x80;
    pub const SI_QUEUE: i32 = -1;
    pub const SI_MESGQ: i32 = -3;
    pub const SI_TKILL: i32 = -6;
}

/// Bit for signal `signo` in a signal set (bit `signo - 1`, as the kernel's `sigset_t`); 0 out of range.
#[inline(always)]
pub const fn signal_bit(signo: i32) -> u64 {
    if signo >= 1 && signo <= MAX_SIGNO { 1u64 << (signo - 1) } else { 0 }
}

/// Signals whose default action is to do nothing: their targets are not expected to end because of them.
pub const DEFAULT_IGNORED: u64 = signal_bit(SIGCHLD) | signal_bit(SIGCONT) | signal_bit(SIGURG) | signal_bit(SIGWINCH);

/// What the kernel passed as the `kernel_siginfo *` of a signal.
pub mod info {
    /// A real siginfo: `si_code` and `si_errno` come from it.
    pub const REAL: u8 = 0;
    /// `SEND_SIG_NOINFO` (NULL): the kernel sends on behalf of the current task with no siginfo (SIGPIPE, SIGXFSZ);
    /// the target sees SI_USER from the current task. Also how a group's fatal SIGKILL is delivered.
    pub const NONE: u8 = 1;
    /// `SEND_SIG_PRIV` (1): sent by the kernel itself (SI_KERNEL): the terminal, the OOM killer, itimers.
    pub const PRIV: u8 = 2;
}

/// Whether the current task sent the signal (true), or the kernel did, whoever happened to be running (false).
///
/// A process sends with SI_USER (kill), SI_QUEUE (sigqueue), SI_TKILL (tkill, tgkill) or SI_MESGQ (mq_notify) in
/// a real siginfo; SIGCHLD with a CLD_* code comes from the child that changed state, which is the current task.
/// Everything else is the kernel's: faults (codes > 0), SI_KERNEL, timers, I/O, and the siginfo-less sends.
#[inline(always)]
pub const fn sent_by_process(info_kind: u8, signo: i32, si_code: i32) -> bool {
    if info_kind != info::REAL {
        return false;
    }
    match si_code {
        code::SI_USER | code::SI_QUEUE | code::SI_TKILL | code::SI_MESGQ => true,
        1..=6 => signo == SIGCHLD,
        _ => false,
    }
}

/// `SignalEvent::result`: the kernel's `TRACE_SIGNAL_*` (include/trace/events/signal.h).
pub mod result {
    pub const DELIVERED: i32 = 0;
    pub const IGNORED: i32 = 1;
    pub const ALREADY_PENDING: i32 = 2;
    pub const OVERFLOW_FAIL: i32 = 3;
    pub const LOSE_INFO: i32 = 4;
}

/// `SignalEvent::flags` and `SignalDeliverEvent::flags`.
pub mod flags {
    /// The kernel passed `SEND_SIG_NOINFO` (see [`super::info::NONE`]).
    pub const INFO_NONE: u32 = 1 << 0;
    /// The kernel passed `SEND_SIG_PRIV` (see [`super::info::PRIV`]).
    pub const INFO_PRIV: u32 = 1 << 1;
    /// Sent by the current task (see [`super::sent_by_process`]); otherwise by the kernel.
    pub const FROM_PROCESS: u32 = 1 << 2;
    /// The target thread blocks the signal: it stays pending until unblocked.
    pub const TARGET_BLOCKS: u32 = 1 << 3;
    /// The target process has more than one thread (another one may take a process-wide signal).
    pub const MULTI_THREADED: u32 = 1 << 4;
    /// `handler` holds the target's `sa_handler` for this signal.
    pub const HANDLER_KNOWN: u32 = 1 << 5;
    /// `target_pid` could not be read from the task (it holds the thread id).
    pub const TGID_UNKNOWN: u32 = 1 << 6;
    /// Delivery: the kernel's SIGKILL that ends every thread of a group, for `orig_signo`.
    pub const GROUP_EXIT: u32 = 1 << 7;
    /// Delivery: the group's exit is a core dump.
    pub const CORE_DUMP: u32 = 1 << 8;
    /// Generation of SIGCONT: the target's group was stopped and this resumed it (the kernel set
    /// `SIGNAL_CLD_CONTINUED` in `signal->flags` before the tracepoint).
    pub const CONTINUED: u32 = 1 << 9;
    /// Generation: sent by the kernel itself (`SEND_SIG_PRIV`) to a process in the foreground process group of
    /// its controlling terminal (`signal->pids[PIDTYPE_PGID] == signal->tty->pgrp`): the terminal's `Ctrl-C`,
    /// `Ctrl-\`, `Ctrl-Z` or a resize, for those signals. `tty` and `pgid` name them.
    pub const FOREGROUND_TTY: u32 = 1 << 10;
}

/// `sa_handler` values that are not addresses.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// A signal generated for a target (`signal:signal_generate`, raw). The header is the current task: the sender
/// when `flags` has `FROM_PROCESS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalEvent {
    pub header: EventHeader,
    pub signo: i32,
    /// `si_code` (SI_USER = 0, SI_KERNEL = 0x80, SI_TKILL = -6, fault codes > 0).
    pub code: i32,
    /// The target's process (tgid).
    pub target_pid: u32,
    /// The target thread (for a process-wide signal, the task the sender named, usually the leader).
    pub target_tid: u32,
    /// `result::*`.
    pub result: i32,
    /// Non-zero when sent to the whole thread group.
    pub group: i32,
    pub target_comm: [u8; 16],
    /// `si_errno`.
    pub errno: i32,
    /// `flags::*`.
    pub flags: u32,
    /// The target's `sa_handler` for this signal when it was generated (`SIG_DFL`, `SIG_IGN` or an address).
    pub handler: u64,
    /// The current task's real uid.
    pub uid: u32,
    /// The target's process group (in the initial pid namespace); 0 when unknown.
    pub pgid: u32,
    /// With `flags::FOREGROUND_TTY`: the terminal's `tty->name` (`pts3`, `tty1`, `ttyS0`), else zeroes.
    pub tty: [u8; 16],
    /// The target process's start time (its group leader's `start_time`), 0 when unknown.
    pub target_start_ns: u64,
    /// The siginfo's `_sifields` union as the kernel filled it (see [`sifields`]); zeroes without a real siginfo
    /// (`flags::INFO_NONE`, `flags::INFO_PRIV`): the kernel fills the target's copy then, user space knows how.
    pub sifields: [u8; sifields::SIZE],
}
const _: () =
    assert!(core::mem::size_of::<SignalEvent>() == crate::event::HEADER_SIZE + 24 + 16 + 24 + 16 + 8 + sifields::SIZE);

/// `kernel_siginfo._sifields`, after `si_signo`, `si_errno`, `si_code` (offset 16 on 64-bit): a union whose member
/// the signal and its code select (include/uapi/asm-generic/siginfo.h, a stable user-space layout). Its first 32
/// bytes hold every member strace prints; byte offsets into it, for 64-bit little-endian.
pub mod sifields {
    pub const SIZE: usize = 32;
    /// `_kill`, `_rt`, `_sigchld`: the sender's (or the child's) pid and uid.
    pub const PID: usize = 0;
    pub const UID: usize = 4;
    /// `_rt`, `_timer`: the `sigval` (`si_int` is its low half, `si_ptr` the whole).
    pub const VALUE: usize = 8;
    /// `_timer`: the timer id and its overrun count.
    pub const TIMER_ID: usize = 0;
    pub const OVERRUN: usize = 4;
    /// `_sigchld`: the exit status or signal, then user and system time in clock ticks.
    pub const STATUS: usize = 8;
    pub const UTIME: usize = 16;
    pub const STIME: usize = 24;
    /// `_sigfault`: the faulting address; then, by code, `si_addr_lsb` (a short), the bounds (`si_lower`,
    /// `si_upper`) or the protection key (`si_pkey`).
    pub const ADDR: usize = 0;
    pub const ADDR_LSB: usize = 8;
    pub const LOWER: usize = 16;
    pub const UPPER: usize = 24;
    pub const PKEY: usize = 16;
    /// `_sigpoll`: the band (a long) and the fd.
    pub const BAND: usize = 0;
    pub const FD: usize = 8;
    /// `_sigsys`: the calling instruction, the syscall number and its `AUDIT_ARCH_*`.
    pub const CALL_ADDR: usize = 0;
    pub const SYSCALL: usize = 8;
    pub const ARCH: usize = 12;
}

/// A thread taking a signal (`signal:signal_deliver`, raw). The header is the target thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalDeliverEvent {
    pub header: EventHeader,
    /// The signal the kernel delivered: SIGKILL when a fatal signal ends the whole group.
    pub signo: i32,
    /// The signal in the user's terms: for a group's fatal SIGKILL (`flags::GROUP_EXIT`), the signal that caused it.
    pub orig_signo: i32,
    pub code: i32,
    pub errno: i32,
    /// `flags::*`.
    pub flags: u32,
    pub _pad: u32,
    /// `sa_handler` of the action taken (`SIG_DFL`, `SIG_IGN` or the handler's address).
    pub handler: u64,
    pub sa_flags: u64,
    /// The siginfo's `_sifields` union as the thread takes it (see [`sifields`]): complete here (a timer's
    /// overruns are added at delivery); zeroes without a siginfo (a group's fatal SIGKILL).
    pub sifields: [u8; sifields::SIZE],
}
const _: () = assert!(core::mem::size_of::<SignalDeliverEvent>() == crate::event::HEADER_SIZE + 40 + sifields::SIZE);

/// A kill-family syscall (kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal) that
/// failed: no signal was generated. The header is the caller.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSendFailedEvent {
    pub header: EventHeader,
    /// The syscall number.
    pub nr: i32,
    /// The signal argument.
    pub signo: i32,
    /// The negative errno the call returned.
    pub ret: i64,
    /// The call's first four arguments.
    pub args: [u64; 4],
    /// The caller's real uid.
    pub uid: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<SignalSendFailedEvent>() == crate::event::HEADER_SIZE + 16 + 32 + 8);

/// The OOM killer marked its victim (`oom:mark_victim`), right after sending it SIGKILL (`__oom_kill_process`:
/// `do_send_sig_info(SIGKILL, SEND_SIG_PRIV, victim)`, then `mark_oom_victim(victim)`). The header is the task
/// that ran the OOM killer: the one whose allocation or charge failed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OomVictimEvent {
    pub header: EventHeader,
    /// The victim task's pid (a thread id: the thread of the victim that still had the memory map), as the
    /// SIGKILL's `target_tid`.
    pub victim_tid: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<OomVictimEvent>() == crate::event::HEADER_SIZE + 8);

/// Kill-family syscalls watched for failures: the syscall number and which argument is the signal. Set at load
/// time; unused slots have `nr` -1.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendSpec {
    pub nr: i32,
    pub sig_arg: u32,
}
pub const SEND_SPECS: usize = 6;
const _: () = assert!(core::mem::size_of::<SendSpec>() == 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_sent_it() {
        assert!(sent_by_process(info::REAL, 1, code::SI_USER));
        assert!(sent_by_process(info::REAL, 10, code::SI_QUEUE));
        assert!(sent_by_process(info::REAL, 10, code::SI_TKILL));
        assert!(sent_by_process(info::REAL, SIGCHLD, 1)); // CLD_EXITED: the child
        assert!(!sent_by_process(info::REAL, 11, 1)); // SEGV_MAPERR
        assert!(!sent_by_process(info::REAL, 9, code::SI_KERNEL));
        assert!(!sent_by_process(info::REAL, 14, -2)); // SI_TIMER
        assert!(!sent_by_process(info::NONE, 13, code::SI_USER)); // SIGPIPE
        assert!(!sent_by_process(info::PRIV, 2, code::SI_KERNEL)); // Ctrl-C
    }

    #[test]
    fn signal_sets() {
        assert_eq!(signal_bit(1), 1);
        assert_eq!(signal_bit(64), 1 << 63);
        assert_eq!(signal_bit(0), 0);
        assert_eq!(signal_bit(65), 0);
        assert_eq!(DEFAULT_IGNORED.count_ones(), 4);
    }
}
