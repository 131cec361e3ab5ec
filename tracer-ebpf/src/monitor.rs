//! `tracer monitor --syscall-stats`: every syscall of every process counted in the kernel, nothing sent.
//!
//! One raw tracepoint on `sys_exit` (no enter: the number is in the saved registers' `orig_ax`), four bounded maps:
//! calls and errors per syscall (per-CPU array: the kernel inlines its lookup), failures per (syscall, errno)
//! (per-CPU hash, bounded, touched only by failures), and calls and errors per (process, syscall) (per-CPU LRU
//! hash: a million short-lived processes evict old entries, they do not grow it), fronted by a one-entry per-CPU
//! cache of the last process's counts (`ProcCache`): a storm from one process touches only per-CPU memory and
//! reaches the LRU map (a hash lookup, the expensive part) only when another process makes a syscall on that CPU.
//! User space reads them every `--interval` and adds the caches to the LRU map's counts.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel},
    macros::{map, raw_tracepoint},
    maps::{LruPerCpuHashMap, PerCpuArray, PerCpuHashMap},
    programs::RawTracePointContext,
};
use tracer_common::{
    monitor::{CACHE_SLOTS, CallCount, ERROR_SLOTS, PROC_SLOTS, ProcCache, ProcSyscall, error_key},
    syscalls::{MAX_SYSCALL_NR, is_error_return},
};

#[map]
static MON_SYSCALLS: PerCpuArray<CallCount> = PerCpuArray::with_max_entries(MAX_SYSCALL_NR as u32, 0);
#[map]
static MON_ERRORS: PerCpuHashMap<u32, u64> = PerCpuHashMap::with_max_entries(ERROR_SLOTS, 0);
#[map]
static MON_PROCS: LruPerCpuHashMap<ProcSyscall, CallCount> = LruPerCpuHashMap::with_max_entries(PROC_SLOTS, 0);
#[map]
static MON_CACHE: PerCpuArray<ProcCache> = PerCpuArray::with_max_entries(1, 0);

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
    let Some(cache) = MON_CACHE.get_ptr_mut(0) else {
        flush(tgid, nr, &CallCount { calls: 1, errors: failed as u64 });
        return 0;
    };
    let cache = unsafe { &mut *cache };
    if cache.tgid != tgid {
        for slot in 0..CACHE_SLOTS {
            if cache.counts[slot].calls != 0 {
                flush(cache.tgid, cache.nr[slot], &cache.counts[slot]);
                cache.counts[slot] = CallCount::default();
            }
        }
        cache.tgid = tgid;
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
        flush(tgid, cache.nr[victim], &cache.counts[victim]);
    }
    // A constant mask the verifier (and the bounds check) can see.
    let victim = victim & (CACHE_SLOTS - 1);
    cache.nr[victim] = nr;
    cache.counts[victim] = CallCount { calls: 1, errors: failed as u64 };
    0
}

/// Adds `count` to the LRU map's entry of (tgid, nr).
#[inline(always)]
fn flush(tgid: u32, nr: u32, count: &CallCount) {
    let key = ProcSyscall { tgid, nr };
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
