//! Maps and helpers every probe family shares.

use aya_ebpf::{
    helpers::{bpf_get_current_comm, bpf_ktime_get_ns},
    macros::map,
    maps::{HashMap, PerCpuArray, RingBuf},
};
use tracer_common::{
    EventHeader,
    event::{lost, traced},
};

/// Every record for user space. Its size is set at load time (`--buffer-size`).
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(4 << 20, 0);

/// Records that could not be reserved, per CPU, per probe family (`lost::*`).
#[map]
pub static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(lost::SLOTS, 0);

/// Traced processes (tgid → 1). Written by user space at start and by the fork probe for `-f`.
#[map]
pub static TRACED: HashMap<u32, u32> = HashMap::with_max_entries(32768, 0);

/// Non-zero: every process is of interest, the TRACED map is not consulted.
#[unsafe(no_mangle)]
static TRACE_ALL: u8 = 0;

#[inline(always)]
pub fn global<T: Copy>(value: &T) -> T {
    // Volatile so the compiler cannot fold the value it saw at build time: user space overrides it at load.
    unsafe { core::ptr::read_volatile(value) }
}

#[inline(always)]
pub fn is_traced(tgid: u32) -> bool {
    traced_state(tgid) != 0
}

/// `traced::*` for this process, 0 when it is not traced.
#[inline(always)]
pub fn traced_state(tgid: u32) -> u32 {
    if global(&TRACE_ALL) != 0 {
        return traced::NOW;
    }
    unsafe { TRACED.get(tgid) }.copied().unwrap_or(0)
}

#[inline(always)]
pub fn count_lost(slot: u32) {
    if let Some(counter) = LOST.get_ptr_mut(slot) {
        unsafe { *counter += 1 };
    }
}

#[inline(always)]
pub fn now_ns() -> u64 {
    unsafe { bpf_ktime_get_ns() }
}

/// Fills a header for the current task. Reserved ring-buffer memory is not zeroed: every field is written.
#[inline(always)]
pub fn fill_header(header: &mut EventHeader, kind: u16, pid_tgid: u64, ts_ns: u64) {
    header.kind = kind;
    header.flags = 0;
    header.pid = (pid_tgid >> 32) as u32;
    header.tid = pid_tgid as u32;
    header._pad = 0;
    header.ts_ns = ts_ns;
    header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
}
