//! `tracer monitor --syscall-stats`: every syscall of every process counted in the kernel, nothing sent.
//!
//! One raw tracepoint on `sys_exit` (no enter: the number is in the saved registers' `orig_ax`), four bounded maps:
//! calls and errors per syscall (per-CPU array: the kernel inlines its lookup), failures per (syscall, errno)
//! (per-CPU hash, bounded, touched only by failures), and calls and errors per (process, syscall) (per-CPU LRU
//! hash: a million short-lived processes evict old entries, they do not grow it), fronted by a one-entry per-CPU
//! cache of the last process's counts (`ProcCache`): a storm from one process touches only per-CPU memory and
//! reaches the LRU map (a hash lookup, the expensive part) only when another process makes a syscall on that CPU.
//! User space reads them every `--interval` and adds the caches to the LRU map's counts. A process is its pid and
//! its start time (a pid reused by a later process counts apart), and its name is taken here, when its calls are
//! counted (`MON_COMMS`, when it comes into a CPU's cache and after the calls that rename: exec, prctl): what /proc
//! says at report time may be another process's.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel},
    macros::{map, raw_tracepoint},
    maps::{LruHashMap, LruPerCpuHashMap, PerCpuArray, PerCpuHashMap},
    programs::RawTracePointContext,
};
use tracer_common::{
    monitor::{CACHE_SLOTS, CallCount, ERROR_SLOTS, PROC_SLOTS, ProcCache, ProcIdentity, ProcSyscall, error_key},
    syscalls::{MAX_SYSCALL_NR, is_error_return},
};

use crate::{
    kernel::{current_task, read, word},
    maps::global,
};

/// `task_struct.group_leader`, `.start_boottime` and `.comm`, from BTF (set by user space's `probes::stats`).
#[unsafe(no_mangle)]
static MON_TASK_GROUP_LEADER_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static MON_TASK_START_BOOTTIME_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static MON_TASK_COMM_OFFSET: u32 = 0;

/// The x86_64 syscalls after which a process can have another name: execve, execveat, prctl (PR_SET_NAME).
const NR_EXECVE: u32 = 59;
const NR_EXECVEAT: u32 = 322;
const NR_PRCTL: u32 = 157;

#[map]
static MON_SYSCALLS: PerCpuArray<CallCount> = PerCpuArray::with_max_entries(MAX_SYSCALL_NR as u32, 0);
#[map]
static MON_ERRORS: PerCpuHashMap<u32, u64> = PerCpuHashMap::with_max_entries(ERROR_SLOTS, 0);
#[map]
static MON_PROCS: LruPerCpuHashMap<ProcSyscall, CallCount> = LruPerCpuHashMap::with_max_entries(PROC_SLOTS, 0);
#[map]
static MON_CACHE: PerCpuArray<ProcCache> = PerCpuArray::with_max_entries(1, 0);
/// Each counted process's name when its calls were counted.
#[map]
static MON_COMMS: LruHashMap<ProcIdentity, [u8; 16]> = LruHashMap::with_max_entries(PROC_SLOTS, 0);

/// `struct pt_regs` word of `orig_ax` on x86_64 (the syscall number), a stable arch ABI.
const REG_ORIG_AX: usize = 15;

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn monitor_sys_exit(ctx: RawTracePointContext) -> i32 {
    let regs: *const u64 = ctx.arg(0);
    let ret: i64 = ctx.arg(1);
    let Ok(nr) = (unsafe { bpf_probe_read_kernel(regs.wrapping_add(REG_ORIG_AX) as *const i64) }) else { return 0 };
    // One register for the check and the index (see `spec()` in syscalls.rs).
    let index = core::hint::black_box(nr as u64);
    if index >= MAX_SYSCALL_NR as u64 {
        return 0;
    }
    let nr = index as u32;
    let failed = is_error_return(ret);
    if let Some(count) = MON_SYSCALLS.get_ptr_mut(nr) {
        let count = unsafe { &mut *count };
        count.calls += 1;
        count.errors += failed as u64;
    }
    if failed {
        let key = error_key(nr, (-ret) as u32);
        match MON_ERRORS.get_ptr_mut(key) {
            Some(count) => unsafe { *count += 1 },
            // Full: the failure is still in MON_SYSCALLS' errors.
            None => {
                let _ = MON_ERRORS.insert(key, 1, 0);
            }
        }
    }
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let leader = word(current_task(), global(&MON_TASK_GROUP_LEADER_OFFSET));
    let Some(cache) = MON_CACHE.get_ptr_mut(0) else {
        let start_ns = read(leader, global(&MON_TASK_START_BOOTTIME_OFFSET));
        flush(tgid, start_ns, nr, &CallCount { calls: 1, errors: failed as u64 });
        return 0;
    };
    let cache = unsafe { &mut *cache };
    // Another process: by pid, or by task (the pid reused by a process that started since).
    if cache.tgid != tgid || cache.leader != leader {
        for slot in 0..CACHE_SLOTS {
            if cache.counts[slot].calls != 0 {
                flush(cache.tgid, cache.start_ns, cache.nr[slot], &cache.counts[slot]);
                cache.counts[slot] = CallCount::default();
            }
        }
        cache.tgid = tgid;
        cache.leader = leader;
        cache.start_ns = read(leader, global(&MON_TASK_START_BOOTTIME_OFFSET));
        record_comm(tgid, cache.start_ns, leader);
    } else if nr == NR_EXECVE || nr == NR_EXECVEAT || nr == NR_PRCTL {
        record_comm(tgid, cache.start_ns, leader);
    }
    // A hit: the common case of a storm.
    for slot in 0..CACHE_SLOTS {
        if cache.nr[slot] == nr && cache.counts[slot].calls != 0 {
            cache.counts[slot].calls += 1;
            cache.counts[slot].errors += failed as u64;
            return 0;
        }
    }
    // A miss: an empty slot, or the next one in turn, flushed first.
    let mut victim = CACHE_SLOTS;
    for slot in 0..CACHE_SLOTS {
        if victim == CACHE_SLOTS && cache.counts[slot].calls == 0 {
            victim = slot;
        }
    }
    if victim == CACHE_SLOTS {
        victim = cache.next as usize & (CACHE_SLOTS - 1);
        cache.next = ((victim + 1) & (CACHE_SLOTS - 1)) as u32;
        flush(tgid, cache.start_ns, cache.nr[victim], &cache.counts[victim]);
    }
    // A constant mask the verifier (and the bounds check) can see.
    let victim = victim & (CACHE_SLOTS - 1);
    cache.nr[victim] = nr;
    cache.counts[victim] = CallCount { calls: 1, errors: failed as u64 };
    0
}

/// Records the process's name as `/proc/PID/comm` shows it now (its group leader's, not the calling thread's).
#[inline(always)]
fn record_comm(tgid: u32, start_ns: u64, leader: u64) {
    let comm: [u8; 16] = read(leader, global(&MON_TASK_COMM_OFFSET));
    let _ = MON_COMMS.insert(ProcIdentity { tgid, _pad: 0, start_ns }, comm, 0);
}

/// Adds `count` to the LRU map's entry of (tgid, start, nr).
#[inline(always)]
fn flush(tgid: u32, start_ns: u64, nr: u32, count: &CallCount) {
    let key = ProcSyscall { tgid, nr, start_ns };
    match MON_PROCS.get_ptr_mut(key) {
        Some(entry) => {
            let entry = unsafe { &mut *entry };
            entry.calls += count.calls;
            entry.errors += count.errors;
        }
        None => {
            let _ = MON_PROCS.insert(key, *count, 0);
        }
    }
}
