//! Maps and helpers every probe family shares.

use aya_ebpf::{
    helpers::bpf_ktime_get_ns,
    macros::map,
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use tracer_common::event::{lost, traced};

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

/// Non-zero: every process is of interest, the TRACED map is not consulted.
#[unsafe(no_mangle)]
pub static TRACE_ALL: u8 = 0;

/// tracer's own pid, left out when every process is of interest.
#[unsafe(no_mangle)]
static TRACER_TGID: u32 = 0;

/// `--cgroup`, `--container`: the cgroup ids (`EventHeader::cgroup_id`) whose processes' records are sent: the
/// cgroup named and every cgroup below it, kept current by user space (`bpf::Probes::refresh_cgroup_filter`).
/// Consulted only when `CGROUP_FILTER` is set; one entry otherwise.
#[map]
static CGROUP_ALLOWED: HashMap<u64, u8> = HashMap::with_max_entries(4096, 0);

/// Non-zero: only processes in `CGROUP_ALLOWED`'s cgroups are of interest.
#[unsafe(no_mangle)]
static CGROUP_FILTER: u8 = 0;

/// Whether records of a process in cgroup `id` are wanted (always, without `--cgroup`/`--container`).
#[inline(always)]
pub fn cgroup_allowed(id: u64) -> bool {
    global(&CGROUP_FILTER) == 0 || unsafe { CGROUP_ALLOWED.get(id) }.is_some()
}

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

#[inline(always)]
pub fn now_ns() -> u64 {
    unsafe { bpf_ktime_get_ns() }
}

/// What a thread's call left at its enter (by tid), taken out of `map` at its exit.
#[inline(always)]
pub fn take<V: Copy>(map: &LruHashMap<u32, V>, tid: u32) -> Option<V> {
    let value = unsafe { *map.get_ptr(tid)? };
    let _ = map.remove(tid);
    Some(value)
}
