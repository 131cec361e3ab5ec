//! `tracer monitor`: per-kind rate limits that keep a flood of one kind of event from starving the others, and
//! the syscall aggregates counted in the kernel (`--syscall-stats`).

/// Token buckets of the per-kind rate limit (`RATE_BUCKETS`, `RATE_DROPPED`): one per kind of event.
pub mod bucket {
    pub const EXEC: u32 = 0;
    pub const EXIT: u32 = 1;
    pub const SIGNAL: u32 = 2;
    /// bind, listen, and listeners closing.
    pub const NET: u32 = 3;
    pub const OPEN: u32 = 4;
    /// New processes (`tracer monitor --forks`).
    pub const FORK: u32 = 5;
    pub const SLOTS: u32 = 8;

    /// The `probe` of a `lost` record for events this bucket refused.
    pub const fn name(slot: u32) -> &'static str {
        match slot {
            EXEC => "exec",
            EXIT => "exit",
            SIGNAL => "signal",
            NET => "net",
            OPEN => "open",
            FORK => "fork",
            _ => "unknown",
        }
    }
}

/// Token units per event: a bucket refills `rate` events per second as `rate * elapsed_ns` units.
pub const TOKEN: u64 = 1_000_000_000;

/// One CPU's bucket for one kind of event.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateBucket {
    /// Available tokens, in `TOKEN` units.
    pub tokens: u64,
    /// `bpf_ktime_get_ns` of the last refill; 0 before the first event.
    pub last_ns: u64,
}
const _: () = assert!(core::mem::size_of::<RateBucket>() == 16);

/// Calls and failed calls, per CPU (summed by user space).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCount {
    pub calls: u64,
    pub errors: u64,
}
const _: () = assert!(core::mem::size_of::<CallCount>() == 16);

/// A process, told apart from a later one that reuses its pid by its start time: the group leader's
/// `start_boottime` (ns since boot; `/proc/PID/stat`'s start time, in clock ticks).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcIdentity {
    pub tgid: u32,
    pub _pad: u32,
    pub start_ns: u64,
}
const _: () = assert!(core::mem::size_of::<ProcIdentity>() == 16);

/// Key of the per-process counts (`MON_PROCS`, an LRU map: bounded whatever the number of processes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcSyscall {
    pub tgid: u32,
    pub nr: u32,
    /// The process's start time (`ProcIdentity::start_ns`): a reused pid counts apart.
    pub start_ns: u64,
}
const _: () = assert!(core::mem::size_of::<ProcSyscall>() == 16);

impl ProcSyscall {
    pub const fn process(&self) -> ProcIdentity {
        ProcIdentity { tgid: self.tgid, _pad: 0, start_ns: self.start_ns }
    }
}

/// Syscalls of one process a CPU's cache holds (`MON_CACHE`); a power of two.
pub const CACHE_SLOTS: usize = 4;

/// One CPU's cache in front of `MON_PROCS`: the counts of the last process that made a syscall on this CPU, for up
/// to `CACHE_SLOTS` syscalls. A storm from one process touches only this per-CPU memory; the counts move to the LRU
/// map when another process runs a syscall on this CPU (or the slot is needed for another syscall). User space
/// adds the slots in when it reads `MON_PROCS` (read the map first, then the caches: a flush racing the read can
/// only make one reading low, never count a call twice).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcCache {
    pub tgid: u32,
    /// The slot the next miss evicts when none is empty.
    pub next: u32,
    /// The process's group leader (`task_struct *`): with `tgid`, tells a process from a later one with its pid.
    pub leader: u64,
    /// The process's start time (`ProcIdentity::start_ns`).
    pub start_ns: u64,
    /// Syscall number of each slot; a slot whose `calls` is 0 is empty.
    pub nr: [u32; CACHE_SLOTS],
    pub counts: [CallCount; CACHE_SLOTS],
}
const _: () = assert!(CACHE_SLOTS.is_power_of_two());
const _: () = assert!(core::mem::size_of::<ProcCache>() == 24 + 4 * CACHE_SLOTS + 16 * CACHE_SLOTS);

/// Entries of the per-process LRU map.
pub const PROC_SLOTS: u32 = 16384;
/// Entries of the (syscall, errno) error map; beyond it new pairs are counted in `errors` only.
pub const ERROR_SLOTS: u32 = 4096;

/// Key of the error map: syscall number in the high half, errno in the low half.
#[inline(always)]
pub const fn error_key(nr: u32, errno: u32) -> u32 {
    (nr << 16) | (errno & 0xffff)
}
