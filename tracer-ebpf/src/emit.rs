//! The one way a record leaves a program: admit (the family's rate bucket, `tracer monitor`), reserve (or count
//! the loss), the envelope (`EventHeader`), the body, submit with one wakeup policy.
//!
//! ```ignore
//! emit::<SockEvent>(NET, kind::NET_LISTEN, pid_tgid, |event, now| { event.port = port; ... });
//! ```

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_CONS_POS, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, BPF_RB_RING_SIZE},
    helpers::generated,
    macros::{map, raw_tracepoint},
    maps::{Array, PerCpuArray, ring_buf::RingBufEntry},
    programs::RawTracePointContext,
};
use tracer_common::{
    EventHeader,
    event::{header_flags, lost},
    files::{OpenEvent, RenameEvent},
    monitor::{RateBucket, TOKEN, bucket},
    net::{BindEvent, SockEvent},
    process::ProcessEvent,
    signals::{OomVictimEvent, SignalDeliverEvent, SignalEvent, SignalSendFailedEvent},
    syscalls::{SyscallDataEvent, SyscallDataFdsEvent, SyscallEvent, SyscallFdsEvent},
    tcp::ConnEvent,
};

use crate::{
    kernel::{
        below, cgroup_is_v1, cgroup_v1_id_of, cgroup_v2_id_of_current, css_set_of, current_task, group_leader_of,
        is_zero, ns_pid_of, pick, start_time_of,
    },
    maps::{EVENTS, cgroup_allowed, count_lost, global, now_ns},
};

/// A record that starts with an `EventHeader`.
pub trait Record: 'static {
    fn header(&mut self) -> &mut EventHeader;
}

macro_rules! records {
    ($($t:ty),*) => {$(
        impl Record for $t {
            #[inline(always)]
            fn header(&mut self) -> &mut EventHeader {
                &mut self.header
            }
        }
    )*};
}
records!(
    SyscallEvent,
    ProcessEvent,
    SignalEvent,
    SignalDeliverEvent,
    SignalSendFailedEvent,
    OomVictimEvent,
    BindEvent,
    SockEvent,
    OpenEvent,
    RenameEvent,
    ConnEvent
);

macro_rules! syscall_records {
    ($($t:ty),*) => {$(
        impl Record for $t {
            #[inline(always)]
            fn header(&mut self) -> &mut EventHeader {
                &mut self.event.header
            }
        }
    )*};
}
syscall_records!(SyscallDataEvent, SyscallFdsEvent, SyscallDataFdsEvent);

/// Where a family's records go: its rate bucket (`bucket::*`; `None`: never limited), its lost counter
/// (`lost::*`), and whether the header carries the current command name.
#[derive(Clone, Copy)]
pub struct Route {
    pub bucket: Option<u32>,
    pub lost: u32,
    pub comm: bool,
}

impl Route {
    pub const fn new(bucket: Option<u32>, lost: u32) -> Route {
        Route { bucket, lost, comm: true }
    }

    /// Without the command name, for the per-syscall hot path where copying it costs as much as the rest of the
    /// record (see `header_flags::NO_COMM`): user space knows every exec and PR_SET_NAME of the threads it traces.
    pub const fn without_comm(self) -> Route {
        Route { comm: false, ..self }
    }
}

pub const SYSCALLS: Route = Route::new(None, lost::SYSCALLS).without_comm();
pub const FORK: Route = Route::new(Some(bucket::FORK), lost::PROCESS);
pub const EXEC: Route = Route::new(Some(bucket::EXEC), lost::PROCESS);
pub const EXIT: Route = Route::new(Some(bucket::EXIT), lost::PROCESS);
pub const SIGNALS: Route = Route::new(None, lost::SIGNALS);
pub const SIGNAL: Route = Route::new(Some(bucket::SIGNAL), lost::SIGNALS);
pub const NET: Route = Route::new(Some(bucket::NET), lost::NET);
pub const OPEN: Route = Route::new(Some(bucket::OPEN), lost::FILES);

/// Sends one `T`: `fill` writes the body (every field: reserved memory is not zeroed) and gets the record's
/// timestamp. False when the record was refused by the bucket or lost (and counted).
#[inline(always)]
pub fn emit<T: Record>(route: Route, kind: u16, pid_tgid: u64, fill: impl FnOnce(&mut T, u64)) -> bool {
    // Before the bucket and the ring: a process outside `--cgroup`/`--container` costs neither a token nor a slot.
    // The slot index is masked into the array, so the lookup cannot fail; unknown (zeroes) if it ever did.
    let origin = match ORIGINS.get_ptr_mut(pid_tgid as u32 & (ORIGIN_SLOTS - 1)) {
        Some(slot) => origin_of_current(unsafe { &mut *slot }),
        None => ThreadOrigin::UNKNOWN,
    };
    let cgroup_id = if cgroup_is_v1() { origin.cgroup_id } else { cgroup_v2_id_of_current() };
    if !cgroup_allowed(cgroup_id) {
        return false;
    }
    if let Some(slot) = route.bucket
        && !admit(slot)
    {
        return false;
    }
    // 0 when the records need no time (`RECORD_CLOCK`): the clock read is the dearest helper of a record.
    let now = if global(&RECORD_CLOCK) != 0 { now_ns() } else { 0 };
    let Some(mut entry) = EVENTS.reserve::<T>(0) else {
        count_lost(route.lost);
        return false;
    };
    let event = unsafe { &mut *entry.as_mut_ptr() };
    let header = event.header();
    header.kind = kind;
    header.pid = (pid_tgid >> 32) as u32;
    header.tid = pid_tgid as u32;
    header.ts_ns = now;
    header.start_ns = origin.start_ns;
    header.ns_pid = origin.ns_pid;
    header.cgroup_id = cgroup_id;
    if route.comm {
        header.flags = 0;
        // Straight into the record: the safe wrapper's zeroed stack copy costs a byte loop per event. The helper
        // NUL-pads what it writes and zero-fills the buffer when it fails.
        unsafe { generated::bpf_get_current_comm(header.comm.as_mut_ptr().cast(), header.comm.len() as u32) };
    } else {
        header.flags = header_flags::NO_COMM;
        // Two stores: a plain `[0; 16]` becomes a call to a byte-loop `memset` subprogram at every record.
        let comm = header.comm.as_mut_ptr().cast::<u64>();
        unsafe {
            comm.write_volatile(0);
            comm.add(1).write_volatile(0);
        }
    }
    fill(event, now);
    entry.submit(wakeup_flags(now));
    true
}

/// A `T` that completes the record being written (reserved by `emit`, not yet submitted), written from inside
/// that record's `fill`: no admission (that record was admitted, and this one stands for it), no envelope of its own
/// (the writer copies that record's), no wakeup (submitting that record, after this one, wakes the reader: it reads
/// records in the order they were reserved). Lighter than a second `emit` for the verifier, which walks it once per
/// way into it; no closure, whose captures the compiler may keep on the stack, which the programs' calls share.
pub struct Follow<T: 'static>(RingBufEntry<T>);

impl<T: 'static> Follow<T> {
    /// `None` when the ring has no room; nothing is counted lost, as the record being written is still sent.
    #[inline(always)]
    pub fn reserve() -> Option<Follow<T>> {
        EVENTS.reserve::<T>(0).map(Follow)
    }

    /// The reserved record, not zeroed: the writer sets every field.
    #[inline(always)]
    pub fn record(&mut self) -> &mut T {
        unsafe { &mut *self.0.as_mut_ptr() }
    }

    #[inline(always)]
    pub fn send(self) {
        self.0.submit(BPF_RB_NO_WAKEUP as u64);
    }
}

/// What the envelope says of the current thread that costs reads to learn: its process's start time and pid in
/// its own namespace, and on cgroup v1 its cgroup (cgroup v2's is one helper call, read at every record). Read
/// once per thread per CPU rather than at every record: ten dependent kernel reads cost a traced call as much as
/// the ring's reservation and commit.
#[repr(C)]
#[derive(Clone, Copy)]
struct ThreadOrigin {
    /// The thread (`task_struct *`) and its own start time: together they tell it from a later thread at that
    /// address. A thread that becomes its process's leader at exec takes the leader's start time: a miss too.
    task: u64,
    thread_start_ns: u64,
    /// `CGROUP_MOVES` when `cgroup_id` was read (v1): any move since stamps another value.
    cgroup_moves: u64,
    start_ns: u64,
    cgroup_id: u64,
    ns_pid: u32,
    _pad: u32,
}

impl ThreadOrigin {
    const UNKNOWN: ThreadOrigin =
        ThreadOrigin { task: 0, thread_start_ns: 0, cgroup_moves: 0, start_ns: 0, cgroup_id: 0, ns_pid: 0, _pad: 0 };
}

/// Slots per CPU, by thread id: a colliding thread only costs the reads again.
const ORIGIN_SLOTS: u32 = 256;

/// Per CPU: a program runs to its end on one CPU, so a slot is never written by two at once.
#[map]
static ORIGINS: PerCpuArray<ThreadOrigin> = PerCpuArray::with_max_entries(ORIGIN_SLOTS, 0);

/// When a task last moved between cgroups, anywhere (`cgroup_moved`; cgroup v1 only): a slot read before it is
/// stale. A stamp rather than the `css_set` pointer compared, because a freed `css_set`'s address is reused by the
/// next container's, and a task's cgroup can change twice between two of its records on this CPU. The clock, not a
/// counter: BPF has no atomic add here, and two moves at once on two CPUs each still store a value no slot holds.
#[map]
static CGROUP_MOVES: Array<u64> = Array::with_max_entries(1, 0);

#[inline(always)]
fn cgroup_moves() -> u64 {
    match CGROUP_MOVES.get_ptr(0) {
        Some(moves) => unsafe { core::ptr::read_volatile(moves) },
        None => 0,
    }
}

/// `cgroup:cgroup_attach_task` (a write to `cgroup.procs`/`tasks`, clone into a cgroup's tasks by runc and
/// systemd) and `cgroup:cgroup_transfer_tasks` (cpuset emptied by hotplug): every slot of `ORIGINS` is stale.
/// Attached on cgroup v1 hosts only (`bpf::Probes::load`); moves are rare next to records.
#[raw_tracepoint]
pub fn cgroup_moved(_ctx: RawTracePointContext) -> i32 {
    if let Some(moved) = CGROUP_MOVES.get_ptr_mut(0) {
        unsafe { core::ptr::write_volatile(moved, now_ns()) };
    }
    0
}

/// The current thread's origin from its slot, read into it first when the slot holds another thread or a task
/// has moved between cgroups since. Two reads and two array lookups when it is there.
#[inline(always)]
fn origin_of_current(slot: &mut ThreadOrigin) -> ThreadOrigin {
    let task = current_task();
    let thread_start_ns = start_time_of(task);
    // Read before the cgroup: a move after it stamps again, so the next record reads anew.
    let moves = if cgroup_is_v1() { cgroup_moves() } else { 0 };
    if slot.task != task || slot.thread_start_ns != thread_start_ns || slot.cgroup_moves != moves {
        let leader = group_leader_of(task);
        slot.task = task;
        slot.thread_start_ns = thread_start_ns;
        slot.cgroup_moves = moves;
        slot.start_ns = start_time_of(leader);
        slot.ns_pid = ns_pid_of(leader);
        slot.cgroup_id = if cgroup_is_v1() { cgroup_v1_id_of(css_set_of(task)) } else { 0 };
    }
    *slot
}

/// Zero: no record of this object needs its time (`tracer syscalls` without timestamps, durations or JSON: its
/// lines show none), so `ts_ns` is 0 and no clock is read. Set at load time.
#[unsafe(no_mangle)]
static RECORD_CLOCK: u8 = 1;

/// This CPU's wakeup bookkeeping (`wakeup_flags`).
#[repr(C)]
#[derive(Clone, Copy)]
struct WakeupState {
    /// Last time this CPU woke the reader: ktime ns, or jiffies without `RECORD_CLOCK`.
    last: u64,
    /// Records sent without a wakeup since the ring's fill was last looked at (jiffies only).
    unchecked: u64,
    /// The reader's position at that look.
    consumer: u64,
    /// The reader's position when this CPU last woke it for a filling ring: a reader woken but not yet run is
    /// not woken again.
    woken_at: u64,
    /// Non-zero while the ring was more than half full at the last look: the reader is behind.
    behind: u64,
}

#[map]
static WAKEUP_STATE: PerCpuArray<WakeupState> = PerCpuArray::with_max_entries(1, 0);

/// A CPU wakes the reader at most once per this many ns (at 2 M events/s that is every 256 KiB of a ring of
/// megabytes). The reader also drains on its own timer (every 100 ms), so a quiet tail is never stranded.
const WAKEUP_INTERVAL_NS: u64 = 1_000_000;

/// Without a clock, how many records a CPU sends between two looks at the ring. A look reads the consumer
/// position, a cache line the reader writes on another CPU: at every record it was a miss at every traced call.
/// 256 syscall records are about 36 KiB, far below the quarter of the commands' default rings (1-8 MiB); a ring
/// under 256 KiB (`--buffer-size`) can fill between two looks of a flood and then waits for the next tick's wakeup.
const RECORDS_PER_LOOK: u64 = 256;

/// Flags for `submit`: a wakeup is an interrupt on the traced task's CPU (in a VM, an exit to the hypervisor:
/// microseconds) and a context switch for the reader; under a flood, one per tick per CPU is plenty.
///
/// Without a clock read (`now` 0) the time is the jiffies count (a load, 1-10 ms a tick): a CPU wakes the reader at
/// its first record of each tick, and also, looking every `RECORDS_PER_LOOK` records, when the ring is more than a
/// quarter full and the reader has not moved since the last look (asleep: an awake reader needs no wakeup, and
/// waking it again at every look was an interrupt every few dozen traced calls) nor been woken at that position,
/// so that a tick of a flood cannot fill the ring before the reader is told. A ring found more than half full means
/// a reader slower than the calls: then every record wakes it until a look finds the ring below half, and the
/// interrupt each costs the traced call paces it to the reader rather than losing its records (what the kernel's
/// own per-record wakeup did to every traced call).
///
/// With a clock (`-T`, `-t`, `--json`) there is no such pacing, on purpose: tried (bench/README.md, "2026-12-03
/// evening"), it held a `--json` storm to its reader (~550 ns of CPU a record) but, whenever the reader ran on the
/// storm's CPU, turned each wakeup into a context switch: 3,150 ns a call (runs 500-6,900) against 490 ns and
/// 0-145k records lost of 1M without it. Lost records are counted and shown; a slower target is not.
#[inline(always)]
fn wakeup_flags(now: u64) -> u64 {
    let Some(state) = WAKEUP_STATE.get_ptr_mut(0) else { return 0 };
    let state = unsafe { &mut *state };
    if now != 0 {
        if now.wrapping_sub(state.last) >= WAKEUP_INTERVAL_NS {
            state.last = now;
            return BPF_RB_FORCE_WAKEUP as u64;
        }
        return BPF_RB_NO_WAKEUP as u64;
    }
    let tick = unsafe { generated::bpf_jiffies64() };
    if tick != state.last {
        state.last = tick;
        state.unchecked = 0;
        return BPF_RB_FORCE_WAKEUP as u64;
    }
    state.unchecked += 1;
    if state.unchecked < RECORDS_PER_LOOK {
        return if state.behind != 0 { BPF_RB_FORCE_WAKEUP } else { BPF_RB_NO_WAKEUP } as u64;
    }
    state.unchecked = 0;
    let consumer = EVENTS.query(BPF_RB_CONS_POS as u64);
    let asleep = consumer == state.consumer && consumer != state.woken_at;
    state.consumer = consumer;
    let avail = EVENTS.query(BPF_RB_AVAIL_DATA as u64);
    let size = EVENTS.query(BPF_RB_RING_SIZE as u64);
    state.behind = (avail > size / 2) as u64;
    if state.behind != 0 || (asleep && avail > size / 4) {
        state.woken_at = consumer;
        return BPF_RB_FORCE_WAKEUP as u64;
    }
    BPF_RB_NO_WAKEUP as u64
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
/// Arithmetic rather than branches between the lookups (see kernel.rs): the verifier walks the rest of the
/// program once per way out of here.
#[inline(always)]
fn admit(slot: u32) -> bool {
    let rate = global(&RATE_LIMIT) as u64;
    if rate == 0 {
        return true;
    }
    let Some(state) = RATE_BUCKETS.get_ptr_mut(slot) else { return true };
    let state = unsafe { &mut *state };
    let now = now_ns();
    let cap = global(&RATE_BURST) as u64 * TOKEN;
    // At most 10 s of refill at once (and that on the first event): the product stays far below u64::MAX for any
    // rate a u32 holds.
    let elapsed = now.wrapping_sub(state.last_ns);
    let clamp = below(10 * TOKEN, elapsed) | is_zero(state.last_ns);
    let elapsed = pick(clamp, 10 * TOKEN, elapsed);
    state.last_ns = now;
    let tokens = state.tokens + elapsed * rate;
    let tokens = pick(below(cap, tokens), cap, tokens);
    let refused = below(tokens, TOKEN);
    state.tokens = tokens - (refused ^ 1) * TOKEN;
    if refused != 0
        && let Some(dropped) = RATE_DROPPED.get_ptr_mut(slot)
    {
        unsafe { *dropped += 1 };
    }
    refused == 0
}
