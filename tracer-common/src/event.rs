/// Stable event kind numbers. Never renumber or reuse one: old decoders must reject, not misread, new records.
pub mod kind {
    pub const SYSCALL: u16 = 1;
    pub const SYSCALL_DATA: u16 = 2;
    pub const PROCESS: u16 = 3;
    pub const SIGNAL: u16 = 4;
    // Reserved for the families being built: signals (delivery, failed sends), net (binds), files (opens).
    pub const SIGNAL_DELIVER: u16 = 5;
    pub const SIGNAL_SEND_FAILED: u16 = 6;
    pub const NET_BIND: u16 = 7;
    pub const NET_LISTEN: u16 = 8;
    pub const NET_STATE: u16 = 9;
    pub const FILE_OPEN: u16 = 10;
    pub const TCP_CONNECT: u16 = 11;
    pub const TCP_ACCEPT: u16 = 12;
    pub const TCP_CLOSE: u16 = 13;
    pub const OOM_VICTIM: u16 = 14;
    /// A rename, link or symlink whose new name is a watched path (`files::RenameEvent`).
    pub const FILE_RENAME: u16 = 15;
    /// A syscall record with the identity of each fd it names, read at the call (`-y`): `SyscallFdsEvent`.
    pub const SYSCALL_FDS: u16 = 16;
    /// The same with argument bytes: `SyscallDataFdsEvent`.
    pub const SYSCALL_DATA_FDS: u16 = 17;
    /// A syscall record whose path argument was read whole, replacing the one sent before it:
    /// `SyscallLongEvent`.
    pub const SYSCALL_LONG: u16 = 18;
}

/// First bytes of every ring-buffer record. Describes the task that was running when the probe fired.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHeader {
    pub kind: u16,
    pub flags: u16,
    /// Thread-group id (the process), as user space calls a pid.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The process's pid as its own pid namespace numbers it (`pid->numbers[pid->level].nr` of its group leader),
    /// 0 in the kernel's first pid namespace or when unknown.
    pub ns_pid: u32,
    /// `bpf_ktime_get_ns` (CLOCK_MONOTONIC) when the record was written.
    pub ts_ns: u64,
    pub comm: [u8; 16],
    /// The process's start time: its group leader's `task->start_time` (CLOCK_MONOTONIC ns), read in the kernel
    /// when the record was written; 0 when unknown. With `pid` it names one process across pid reuse.
    pub start_ns: u64,
    /// The cgroup the task was in when the record was written, as the kernel numbers it (the inode number of its
    /// directory in the hierarchy tracer reads: cgroup v2's, or one v1 controller's, `cgroup_mode` below); 0 when
    /// unknown. Read at the event, so a process gone a moment later is still attributed to its container.
    pub cgroup_id: u64,
}
/// `size_of::<EventHeader>()`, which every record's size assertion starts from.
pub const HEADER_SIZE: usize = 56;
const _: () = assert!(core::mem::size_of::<EventHeader>() == HEADER_SIZE);

/// `EventHeader::flags` bits.
pub mod header_flags {
    /// `comm` was not filled in (the syscall hot path leaves it to user space, which knows every exec and
    /// PR_SET_NAME of the threads it traces).
    pub const NO_COMM: u16 = 1 << 0;
}

/// Values of the `CGROUP_MODE` load-time global: how the kernel side reads `EventHeader::cgroup_id`.
pub mod cgroup_mode {
    /// Not read: every `cgroup_id` is 0 (no cgroup hierarchy tracer can name, or BTF lacks the layout).
    pub const NONE: u8 = 0;
    /// cgroup v2 (`/sys/fs/cgroup` is cgroup2): `bpf_get_current_cgroup_id()`.
    pub const V2: u8 = 1;
    /// cgroup v1: `task->cgroups->subsys[ssid]->cgroup->kn->id` for one controller's hierarchy, at offsets from BTF.
    pub const V1: u8 = 2;
}

/// Indexes of the per-CPU lost-event counters (`LOST` map): one per probe family.
pub mod lost {
    pub const SYSCALLS: u32 = 0;
    pub const PROCESS: u32 = 1;
    pub const SIGNALS: u32 = 2;
    pub const NET: u32 = 3;
    pub const FILES: u32 = 4;
    pub const SLOTS: u32 = 8;

    pub const fn probe_name(slot: u32) -> &'static str {
        match slot {
            SYSCALLS => "syscalls",
            PROCESS => "process",
            SIGNALS => "signals",
            NET => "net",
            FILES => "files",
            _ => "unknown",
        }
    }
}

/// Values of the `TRACED` map (tgid → state).
pub mod traced {
    /// Traced from now on.
    pub const NOW: u32 = 1;
    /// A spawned command, traced from its execve on: what it does before that is tracer's own set-up.
    pub const FROM_EXEC: u32 = 2;
}
