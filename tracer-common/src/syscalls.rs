use crate::event::EventHeader;

/// Syscall numbers at or above this are not traced (x86_64 tops out near 470).
pub const MAX_SYSCALL_NR: usize = 512;
/// Bytes copied from user memory per captured argument (path or buffer).
pub const DATA_CAP: usize = 256;
/// Arguments per syscall that can be captured from user memory.
pub const CAPTURE_SLOTS: usize = 2;

/// `SyscallEvent::status` bits.
pub mod status {
    /// The enter of this call was seen, so `duration_ns` and `args` are from the enter.
    pub const ENTER_SEEN: u32 = 1 << 0;
    /// Capture slot N was cut at `DATA_CAP` bytes (bit 1 + N).
    pub const TRUNCATED_0: u32 = 1 << 1;
    pub const TRUNCATED_1: u32 = 1 << 2;
    /// Capture slot N could not be read (fault) (bit 3 + N).
    pub const FAULT_0: u32 = 1 << 3;
    pub const FAULT_1: u32 = 1 << 4;
    /// The arguments are not known: the call came through a classic exit tracepoint (whose record holds none)
    /// and its enter was not seen. Said explicitly: all-zero arguments are a real call too (`mmap(NULL, 0, ...)`).
    pub const ARGS_UNKNOWN: u32 = 1 << 5;
    /// The call never returned: its thread ended inside it (exit, exit_group, or killed meanwhile). `ret` is 0
    /// and means nothing; shown as strace does, `= ?`.
    pub const NO_RETURN: u32 = 1 << 6;
    /// A path filled its capture slot, and a `SyscallLongEvent` (`kind::SYSCALL_LONG`) holding the whole call
    /// with the path read whole was sent right after this record: this one is not shown. Set only when that
    /// record was reserved, so it always follows (an old decoder, which knows no `SYSCALL_LONG`, shows this one).
    pub const SUPERSEDED: u32 = 1 << 7;
    /// The arguments are known although the enter was not seen: the raw exit read them from the thread's saved
    /// registers (all zeroes is then a real call, `getpid()`, not a missing record).
    pub const ARGS_AT_EXIT: u32 = 1 << 8;
}

/// `SyscallSpec::wanted`: whether a syscall is reported, and how.
pub mod wanted {
    pub const YES: u8 = 1;
    /// A call that returns twice (fork, vfork, clone, clone3): its return of 0 in the new task is not a call of
    /// the new task's own, and is neither reported nor counted (strace shows the parent's call only).
    pub const RETURNS_IN_CHILD: u8 = 2;
}

/// How to capture one argument from user memory, per syscall number.
pub mod capture {
    pub const NONE: u8 = 0;
    /// NUL-terminated string (path, name).
    pub const CSTRING: u8 = 1;
    /// Buffer the caller passes in; its length is argument `len_arg`.
    pub const BUFFER_IN: u8 = 2;
    /// Buffer the kernel fills; its length is the return value.
    pub const BUFFER_OUT: u8 = 3;
    /// A fixed-size struct the caller passes in (timespec): `len_arg` holds its size in bytes (< `DATA_CAP`),
    /// not an argument index. Never cut at `-s`.
    pub const STRUCT_IN: u8 = 4;
    /// A fixed-size struct the kernel fills (stat, `int[2]`), read only when the call succeeded; its size is in
    /// `len_arg`. Never cut at `-s`.
    pub const STRUCT_OUT: u8 = 5;
    /// A struct the caller passes in whose length is argument `len_arg` (sockaddr): cut at `DATA_CAP`, not at `-s`.
    pub const SIZED_IN: u8 = 6;
    /// A struct the kernel fills whose length it writes to the int argument `len_arg` points to (accept's
    /// sockaddr), read only when the call succeeded: cut at `DATA_CAP`, not at `-s`.
    pub const SIZED_OUT: u8 = 7;
    /// A NULL-terminated array of pointers (execve's envp), counted at the call's enter, as a successful exec
    /// replaces the memory it is in: the slot holds the count, a u32 (`len_arg` unused). No count (more than
    /// `MAX_ARRAY_COUNT` entries, a fault, the enter not seen) is a fault.
    pub const ARRAY_COUNT: u8 = 8;
    /// A path the kernel writes (getcwd's buffer), read only when the call succeeded: its length (with the NUL) is
    /// the return value. Cut at `DATA_CAP`, not at `-s`, and read whole when longer, as `CSTRING` is.
    pub const PATH_OUT: u8 = 9;
}

/// Entries of an `ARRAY_COUNT` array counted at most (strace shows the count however large; beyond this, none).
pub const MAX_ARRAY_COUNT: u32 = 1024;
/// `Inflight::counted` when nothing was counted.
pub const NOT_COUNTED: u32 = u32::MAX;

/// Per syscall number: which syscalls to report and which arguments to copy. A load-time global array.
/// Aligned so that the kernel side reads an entry in one load.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallSpec {
    /// Non-zero when this syscall is wanted (`-e trace=`): a `wanted::*` value.
    pub wanted: u8,
    pub _pad: u8,
    /// `capture::*` per slot.
    pub kind: [u8; CAPTURE_SLOTS],
    /// Argument index (0-5) per slot.
    pub arg: [u8; CAPTURE_SLOTS],
    /// For `BUFFER_IN` and `SIZED_IN`: index of the argument holding the length; for `SIZED_OUT`: of the argument
    /// pointing to it; for `STRUCT_*`: the size.
    pub len_arg: [u8; CAPTURE_SLOTS],
}
const _: () = assert!(core::mem::size_of::<SyscallSpec>() == 8);

/// One finished (or interrupted) syscall, written at syscall exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallEvent {
    pub header: EventHeader,
    pub nr: i32,
    /// `status::*` bits.
    pub status: u32,
    pub duration_ns: u64,
    pub ret: i64,
    pub args: [u64; 6],
    /// Bytes valid in each capture slot of a `SyscallDataEvent`.
    pub data_len: [u16; CAPTURE_SLOTS],
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<SyscallEvent>() == crate::event::HEADER_SIZE + 80);

/// A `SyscallEvent` followed by the arguments copied from user memory (`kind::SYSCALL_DATA`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallDataEvent {
    pub event: SyscallEvent,
    pub data: [[u8; DATA_CAP]; CAPTURE_SLOTS],
}
const _: () = assert!(core::mem::size_of::<SyscallDataEvent>() == crate::event::HEADER_SIZE + 80 + 2 * DATA_CAP);

/// Bytes of a path read whole (`SyscallLongEvent`): `PATH_MAX`, the kernel's limit with its NUL. A longer path
/// is told from one of 4095 bytes by the byte after them (strace reads as far, and shows 4095 and `...`).
pub const LONG_PATH_CAP: usize = 4096;
/// Characters of a path strace shows at most (`PATH_MAX - 1`); a longer one is cut there and marked truncated.
pub const LONG_PATH_SHOWN: usize = 4095;

/// A syscall whose path argument (`capture::CSTRING`, `PATH_OUT`) did not fit its capture slot, read again whole (`kind::SYSCALL_LONG`): sent
/// right after the ordinary record of the call, which it replaces (`status::SUPERSEDED`). Only a call whose path
/// filled its slot pays for it: the ordinary path costs one test of its status bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallLongEvent {
    /// The call, as in the record it replaces; `data_len[long_slot]` is the length of `long`.
    pub event: SyscallEvent,
    /// `-y`: as in the record it replaces, when `has_fds` is non-zero.
    pub fds: [FdIdentity; FD_SLOTS],
    /// The capture slot read whole (0 or 1).
    pub long_slot: u16,
    /// Non-zero when the record replaced was a `SyscallDataFdsEvent` (`fds` holds its identities).
    pub has_fds: u16,
    pub _pad: u32,
    /// The other capture slot's bytes, as in the record it replaces.
    pub other: [u8; DATA_CAP],
    /// The path, up to `LONG_PATH_SHOWN` bytes (no NUL).
    pub long: [u8; LONG_PATH_CAP],
}
const _: () = assert!(
    core::mem::size_of::<SyscallLongEvent>()
        == crate::event::HEADER_SIZE
            + 80
            + core::mem::size_of::<FdIdentity>() * FD_SLOTS
            + 8
            + DATA_CAP
            + LONG_PATH_CAP
);

/// Fd slots of a `SyscallFdsEvent`: no call names more than two fds and returns a third (accept4, dup3, splice).
pub const FD_SLOTS: usize = 3;

/// `FdSources::source` values: where a slot's fd number comes from.
pub mod fd_source {
    /// Argument 0..=5 (the value itself).
    pub const ARG_LAST: u8 = 5;
    /// The call's return value (an fd-returning call: open, socket, accept, dup).
    pub const RETURN: u8 = 6;
    /// Flag: the identity was read at the call's enter, as the call itself removes the fd (close) or, under
    /// `-yy`, changes the socket's ends (bind, connect, listen: strace shows the socket as the call found it): the
    /// argument index is in the low bits.
    pub const AT_ENTER: u8 = 0x10;
    /// Flag, with `AT_ENTER`: when the enter was not seen (the call began before tracing did), the identity at the
    /// exit, as the fd is still there (bind, connect...; never close's, whose number may name another file by then).
    pub const EXIT_FALLBACK: u8 = 0x20;
    /// The flags above, to compare a source's argument or `RETURN` alone.
    pub const FLAGS: u8 = AT_ENTER | EXIT_FALLBACK;
    /// The slot is unused.
    pub const NONE: u8 = 0xff;
}

/// `FdIdentity::state` values.
pub mod fd_state {
    /// The slot is unused (`fd_source::NONE`).
    pub const UNUSED: u8 = 0;
    /// `dev` and `ino` are the file's behind `fd` at the call.
    pub const OPEN: u8 = 1;
    /// No file behind `fd` at the call (EBADF, a negative fd, a failed fd-returning call).
    pub const NO_FILE: u8 = 2;
    /// The identity could not be read (the enter of a close was not seen, a kernel read failed).
    pub const UNKNOWN: u8 = 3;
}

/// Per syscall number, the fds whose identity the kernel reads (`-y`): a load-time global array.
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdSources {
    /// `fd_source::*` per slot, used slots first.
    pub source: [u8; FD_SLOTS],
    pub _pad: u8,
}
const _: () = assert!(core::mem::size_of::<FdSources>() == 4);

impl Default for FdSources {
    fn default() -> FdSources {
        FdSources { source: [fd_source::NONE; FD_SLOTS], _pad: 0 }
    }
}

/// `-yy`: a socket's ends as the kernel held them at the call (`sock.__sk_common`, reached through
/// `file->private_data->sk`), so that a socket closed before user space could ask sock_diag is still named as strace
/// names it. All zero when not read: no `-yy`, or the fd is not a socket.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketEnds {
    /// `skc_family` (`net::AF_INET`, `AF_INET6`, `AF_UNIX`...); 0 when not read.
    pub family: u16,
    /// `sk_protocol` (`net::proto::TCP`, `UDP`...).
    pub protocol: u16,
    /// `skc_num`: the local port in host order; 0 while the socket has none (unbound, or released by a failed
    /// connect), when sock_diag does not list it either.
    pub local_port: u16,
    /// `skc_dport`: the remote port in network order, as the kernel keeps it.
    pub remote_port_be: u16,
    /// `skc_rcv_saddr` and `skc_daddr`, network order (an `AF_INET` socket's addresses).
    pub local_v4: [u8; 4],
    pub remote_v4: [u8; 4],
    /// `skc_v6_rcv_saddr` and `skc_v6_daddr` (an `AF_INET6` socket's addresses).
    pub local_v6: [u8; 16],
    pub remote_v6: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<SocketEnds>() == 48);

/// What an fd named at the call: the file's inode number and its superblock's device (the kernel's `dev_t`
/// encoding, `MAJOR << 20 | MINOR`), as read from `task->files->fdt->fd[fd]->f_path.dentry->d_inode`, and with
/// `-yy`, a socket's ends.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdIdentity {
    pub ino: u64,
    pub dev: u32,
    pub fd: i32,
    /// `fd_source::*`.
    pub source: u8,
    /// `fd_state::*`.
    pub state: u8,
    pub _pad: [u8; 6],
    /// `-yy` and a socket: its ends at the call.
    pub socket: SocketEnds,
}
const _: () = assert!(core::mem::size_of::<FdIdentity>() == 72);

/// A `SyscallEvent` with the identity of the fds it names (`kind::SYSCALL_FDS`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallFdsEvent {
    pub event: SyscallEvent,
    pub fds: [FdIdentity; FD_SLOTS],
}
const _: () = assert!(core::mem::size_of::<SyscallFdsEvent>() == crate::event::HEADER_SIZE + 80 + 72 * FD_SLOTS);

/// A `SyscallDataEvent` with the identity of the fds it names (`kind::SYSCALL_DATA_FDS`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallDataFdsEvent {
    pub event: SyscallEvent,
    pub fds: [FdIdentity; FD_SLOTS],
    pub data: [[u8; DATA_CAP]; CAPTURE_SLOTS],
}
const _: () = assert!(
    core::mem::size_of::<SyscallDataFdsEvent>() == crate::event::HEADER_SIZE + 80 + 72 * FD_SLOTS + 2 * DATA_CAP
);

/// The identity of an fd a close is about to close, kept from its enter to its exit in slot
/// `tid % INFLIGHT_SLOTS` of the `FD_STASH` array (`-y`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdStash {
    /// The thread in the close; 0 when the slot is free.
    pub tid: u32,
    pub fd: i32,
    pub ino: u64,
    pub dev: u32,
    /// `fd_state::OPEN` or `NO_FILE`.
    pub state: u32,
}
const _: () = assert!(core::mem::size_of::<FdStash>() == 24);

/// Slots of the `INFLIGHT` array (a power of two): a thread uses slot `tid % INFLIGHT_SLOTS`.
pub const INFLIGHT_SLOTS: u32 = 1 << 16;

/// A syscall in progress, in slot `tid % INFLIGHT_SLOTS` of the `INFLIGHT` array. User space reads it to report
/// blocked calls. An array, not a hash: its lookups are inlined by the verifier and take no lock. Two traced
/// threads whose tids share a slot overwrite each other; `tid` says whose entry it is, and the loser's call is
/// reported without duration.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inflight {
    pub enter_ns: u64,
    /// The thread in the call; 0 when the slot is free.
    pub tid: u32,
    pub nr: i32,
    pub args: [u64; 6],
    /// The entries of the call's `ARRAY_COUNT` argument, counted at its enter; `NOT_COUNTED` otherwise.
    pub counted: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<Inflight>() == 72);

/// A `RETURNS` slot (`tid % INFLIGHT_SLOTS`): the thread in the high half, how many calls it has returned from
/// (wrapping) in the low half. Counted when no enter hook is attached, so that user space can tell a thread that
/// stays in one call from one that keeps returning.
pub const fn returns_slot(tid: u32, previous: u64) -> u64 {
    let count = if (previous >> 32) as u32 == tid { (previous as u32).wrapping_add(1) } else { 1 };
    (tid as u64) << 32 | count as u64
}

/// Per-syscall totals counted in the kernel for `-c` (per CPU, summed by user space).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallStat {
    pub calls: u64,
    pub errors: u64,
    pub total_ns: u64,
}
const _: () = assert!(core::mem::size_of::<SyscallStat>() == 24);

/// `STATUS_FILTER` global values (`-Z` / `-z`).
pub mod result_filter {
    pub const ALL: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const SUCCESSFUL: u8 = 2;
}

/// A return value in `-4095..=-1` is a negated errno.
pub const fn is_error_return(ret: i64) -> bool {
    ret < 0 && ret >= -4095
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_slots_count_per_thread() {
        let first = returns_slot(42, 0);
        assert_eq!(first, 42 << 32 | 1);
        assert_eq!(returns_slot(42, first), 42 << 32 | 2);
        assert_eq!(returns_slot(43, first), 43 << 32 | 1, "another thread takes the slot over");
        assert_eq!(returns_slot(42, 42 << 32 | 0xffff_ffff), 42 << 32, "the count wraps within its half");
    }
}
