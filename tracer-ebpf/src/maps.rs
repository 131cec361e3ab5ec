//! Maps and helpers every probe family shares.

use aya_ebpf::{
    bindings::{BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{bpf_ktime_get_ns, generated},
    macros::map,
    maps::{Array, PerCpuArray, RingBuf, ring_buf::RingBufEntry},
};
use tracer_common::{
    EventHeader,
    event::{header_flags, lost, traced},
    monitor::{RateBucket, TOKEN, bucket},
};

/// Every record for user space. Its size is set at load time (`--buffer-size`).
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(4 << 20, 0);

/// Records that could not be reserved, per CPU, per probe family (`lost::*`).
#[map]
pub static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(lost::SLOTS, 0);

/// Traced processes: `traced::*` by tgid, sized to the kernel's pid_max at load time. An array, so that the
/// check every task on the machine pays at every syscall is an inlined load, not a hash lookup.
#[map]
pub static TRACED: Array<u8> = Array::with_max_entries(1 << 22, 0);

/// Last time (ktime ns) this CPU woke the reader, to batch wakeups under load.
#[map]
static LAST_WAKEUP: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// A CPU wakes the reader at most once per this many ns (at 2 M events/s that is every 256 KiB of a ring of
/// megabytes). The reader also drains on its own timer, so a quiet tail is never stranded.
const WAKEUP_INTERVAL_NS: u64 = 1_000_000;

/// Flags for `submit`: a wakeup per record costs the traced task an interrupt and the reader a context switch at
/// every event; under a flood, one per millisecond per CPU is plenty.
#[inline(always)]
pub fn wakeup_flags(now: u64) -> u64 {
    let Some(last) = LAST_WAKEUP.get_ptr_mut(0) else { return 0 };
    let last = unsafe { &mut *last };
    if now.wrapping_sub(*last) >= WAKEUP_INTERVAL_NS {
        *last = now;
        return BPF_RB_FORCE_WAKEUP as u64;
    }
    BPF_RB_NO_WAKEUP as u64
}

/// Non-zero: every process is of interest, the TRACED map is not consulted.
#[unsafe(no_mangle)]
pub static TRACE_ALL: u8 = 0;

/// tracer's own pid, left out when every process is of interest.
#[unsafe(no_mangle)]
static TRACER_TGID: u32 = 0;

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
        // Every process but tracer itself: its own reads of /proc and of watched directories are not news.
        return if tgid == global(&TRACER_TGID) { 0 } else { traced::NOW };
    }
    TRACED.get(tgid).copied().unwrap_or(0) as u32
}

#[inline(always)]
pub fn set_traced(tgid: u32, state: u32) -> bool {
    match TRACED.get_ptr_mut(tgid) {
        Some(slot) => {
            unsafe { *slot = state as u8 };
            true
        }
        None => false,
    }
}

#[inline(always)]
pub fn count_lost(slot: u32) {
    if let Some(counter) = LOST.get_ptr_mut(slot) {
        unsafe { *counter += 1 };
    }
}

/// A record of type `T` in `EVENTS`; when the ring buffer is full, counts the loss in `LOST[lost_slot]` and gives
/// `None`.
#[inline(always)]
pub fn reserve<T: 'static>(lost_slot: u32) -> Option<RingBufEntry<T>> {
    let entry = EVENTS.reserve::<T>(0);
    if entry.is_none() {
        count_lost(lost_slot);
    }
    entry
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
    // Straight into the record: the safe wrapper's zeroed stack copy costs a byte loop per event. The helper
    // NUL-pads what it writes and zero-fills the buffer when it fails.
    unsafe { generated::bpf_get_current_comm(header.comm.as_mut_ptr().cast(), header.comm.len() as u32) };
}

/// `fill_header` without the command name, for the per-syscall hot path where copying it costs as much as the
/// rest of the record (see `header_flags::NO_COMM`).
#[inline(always)]
pub fn fill_header_no_comm(header: &mut EventHeader, kind: u16, pid_tgid: u64, ts_ns: u64) {
    header.kind = kind;
    header.flags = header_flags::NO_COMM;
    header.pid = (pid_tgid >> 32) as u32;
    header.tid = pid_tgid as u32;
    header._pad = 0;
    header.ts_ns = ts_ns;
    header.comm = [0; 16];
}

/// Per-CPU token bucket per kind of event (`tracer monitor`): a flood of one kind cannot fill the ring buffer and
/// starve the others. Refused events are counted in `RATE_DROPPED`.
#[map]
static RATE_BUCKETS: PerCpuArray<RateBucket> = PerCpuArray::with_max_entries(bucket::SLOTS, 0);
#[map]
static RATE_DROPPED: PerCpuArray<u64> = PerCpuArray::with_max_entries(bucket::SLOTS, 0);

/// Events per second each CPU may send of each kind; 0: unlimited (every command but `monitor`).
#[unsafe(no_mangle)]
static RATE_LIMIT: u32 = 0;
/// Events a bucket can save up for a burst.
#[unsafe(no_mangle)]
static RATE_BURST: u32 = 0;

/// Whether an event of this kind may be sent now (takes a token); counts it in `RATE_DROPPED` when not.
#[inline(always)]
pub fn admit(slot: u32) -> bool {
    let rate = global(&RATE_LIMIT) as u64;
    if rate == 0 {
        return true;
    }
    let Some(state) = RATE_BUCKETS.get_ptr_mut(slot) else { return true };
    let state = unsafe { &mut *state };
    let now = now_ns();
    let cap = global(&RATE_BURST) as u64 * TOKEN;
    // At most 10 s of refill at once: the product stays far below u64::MAX for any rate a u32 holds.
    let mut elapsed = now.wrapping_sub(state.last_ns);
    if elapsed > 10 * TOKEN || state.last_ns == 0 {
        elapsed = 10 * TOKEN;
    }
    state.last_ns = now;
    let mut tokens = state.tokens + elapsed * rate;
    if tokens > cap {
        tokens = cap;
    }
    if tokens >= TOKEN {
        state.tokens = tokens - TOKEN;
        return true;
    }
    state.tokens = tokens;
    if let Some(dropped) = RATE_DROPPED.get_ptr_mut(slot) {
        unsafe { *dropped += 1 };
    }
    false
}
