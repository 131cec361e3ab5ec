//! `tracer monitor --syscall-stats`: every syscall of every process counted in the kernel, nothing sent.
//!
//! One raw tracepoint on `sys_exit` (no enter: the number is in the saved registers' `orig_ax`), three bounded maps:
//! calls and errors per syscall (per-CPU array), failures per (syscall, errno) (per-CPU hash, bounded), and calls
//! and errors per (process, syscall) (per-CPU LRU hash: a million short-lived processes evict old entries, they
//! do not grow it). User space reads them every `--interval`.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_kernel},
    macros::{map, raw_tracepoint},
    maps::{LruPerCpuHashMap, PerCpuArray, PerCpuHashMap},
    programs::RawTracePointContext,
};
use tracer_common::{
    monitor::{CallCount, ERROR_SLOTS, PROC_SLOTS, ProcSyscall, error_key},
    syscalls::{MAX_SYSCALL_NR, is_error_return},
};

#[map]
static MON_SYSCALLS: PerCpuArray<CallCount> = PerCpuArray::with_max_entries(MAX_SYSCALL_NR as u32, 0);
#[map]
static MON_ERRORS: PerCpuHashMap<u32, u64> = PerCpuHashMap::with_max_entries(ERROR_SLOTS, 0);
#[map]
static MON_PROCS: LruPerCpuHashMap<ProcSyscall, CallCount> = LruPerCpuHashMap::with_max_entries(PROC_SLOTS, 0);

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
    let key = ProcSyscall { tgid: (bpf_get_current_pid_tgid() >> 32) as u32, nr };
    match MON_PROCS.get_ptr_mut(key) {
        Some(count) => {
            let count = unsafe { &mut *count };
            count.calls += 1;
            count.errors += failed as u64;
        }
        None => {
            let _ = MON_PROCS.insert(key, CallCount { calls: 1, errors: failed as u64 }, 0);
        }
    }
    0
}
