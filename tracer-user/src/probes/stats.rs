//! The syscall statistics family (tracer-ebpf/src/monitor.rs), composed by `tracer monitor --syscall-stats`: one
//! raw `sys_exit` hook counting calls and errors per syscall, per errno and per process, and the readers of those
//! counts.

use std::collections::HashMap;

use aya::{
    EbpfLoader,
    maps::{HashMap as BpfHashMap, MapData, PerCpuArray, PerCpuHashMap},
};
use tracer_common::{
    monitor::{CallCount, ERROR_SLOTS, PROC_SLOTS, ProcCache, ProcIdentity, ProcSyscall},
    syscalls::MAX_SYSCALL_NR,
};

use crate::{
    bpf::{KernelGlobals, Probes, btf_offset, btf_sized_offset},
    btf::kernel_btf,
    probes::Family,
};

/// The family's hash maps. aya creates every map of the object whichever programs a command loads, and these are
/// per-CPU hash maps the kernel preallocates: 8-20 ms to create at full size. With one entry they cost nothing
/// (`shrink_unused`, for every command); `StatsProbes` gives them their size.
const MAPS: [(&str, u32); 3] = [("MON_PROCS", PROC_SLOTS), ("MON_ERRORS", ERROR_SLOTS), ("MON_COMMS", PROC_SLOTS)];

/// Makes the family's maps as small as can be, for a command that does not load its program.
pub(crate) fn shrink_unused(loader: &mut EbpfLoader<'_>) {
    for (name, _) in MAPS {
        loader.map_max_entries(name, 1);
    }
}

/// The syscall statistics probe, with where it finds a process's group leader and start time in this kernel.
pub struct StatsProbes {
    globals: KernelGlobals,
}

impl StatsProbes {
    pub fn new() -> anyhow::Result<StatsProbes> {
        let btf = &*kernel_btf()?;
        Ok(StatsProbes {
            globals: KernelGlobals::new(vec![
                ("MON_TASK_GROUP_LEADER_OFFSET", btf_offset(btf, "task_struct", "group_leader")?),
                ("MON_TASK_START_BOOTTIME_OFFSET", btf_sized_offset(btf, "task_struct", "start_boottime", 8)?),
                ("MON_TASK_COMM_OFFSET", btf_sized_offset(btf, "task_struct", "comm", 16)?),
            ]),
        })
    }
}

impl Family for StatsProbes {
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.globals.apply(loader);
        for (name, entries) in MAPS {
            loader.map_max_entries(name, entries);
        }
    }

    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        probes.attach_raw_tracepoint("monitor_sys_exit", "sys_exit")
    }
}

/// Per syscall number, calls and errors summed over CPUs.
pub fn read_syscalls(probes: &Probes) -> anyhow::Result<Vec<CallCount>> {
    let map: PerCpuArray<&MapData, CallCount> = PerCpuArray::try_from(probes.map("MON_SYSCALLS")?)?;
    (0..MAX_SYSCALL_NR as u32)
        .map(|nr| {
            Ok(map.get(&nr, 0)?.iter().fold(CallCount::default(), |sum, c| CallCount {
                calls: sum.calls + c.calls,
                errors: sum.errors + c.errors,
            }))
        })
        .collect()
}

/// (syscall << 16 | errno, failures) summed over CPUs.
pub fn read_errors(probes: &Probes) -> anyhow::Result<Vec<(u32, u64)>> {
    let map: PerCpuHashMap<&MapData, u32, u64> = PerCpuHashMap::try_from(probes.map("MON_ERRORS")?)?;
    Ok(map.iter().filter_map(Result::ok).map(|(key, values)| (key, values.iter().sum())).collect())
}

/// Per (process, syscall), calls and errors summed over CPUs: the LRU map's counts plus what each CPU's cache
/// (`MON_CACHE`) holds and has not yet moved there. The map is read first, then the caches: a move racing the read
/// can only leave a count out of this reading (the next one has it), never count it twice.
pub fn read_procs(probes: &Probes) -> anyhow::Result<Vec<(ProcSyscall, CallCount)>> {
    let map: PerCpuHashMap<&MapData, ProcSyscall, CallCount> = PerCpuHashMap::try_from(probes.map("MON_PROCS")?)?;
    let mut procs: HashMap<ProcSyscall, CallCount> = map
        .iter()
        .filter_map(Result::ok)
        .map(|(key, values)| (key, values.iter().fold(CallCount::default(), add)))
        .collect();
    let caches: PerCpuArray<&MapData, ProcCache> = PerCpuArray::try_from(probes.map("MON_CACHE")?)?;
    for cache in caches.get(&0, 0)?.iter() {
        for (nr, count) in cache.nr.iter().zip(&cache.counts) {
            if count.calls != 0 {
                let key = ProcSyscall { tgid: cache.tgid, nr: *nr, start_ns: cache.start_ns };
                let entry = procs.entry(key).or_default();
                *entry = add(*entry, count);
            }
        }
    }
    Ok(procs.into_iter().collect())
}

/// Each counted process's name as the kernel saw it when counting its calls.
pub fn read_comms(probes: &Probes) -> anyhow::Result<HashMap<ProcIdentity, Vec<u8>>> {
    let map: BpfHashMap<&MapData, ProcIdentity, [u8; 16]> = BpfHashMap::try_from(probes.map("MON_COMMS")?)?;
    Ok(map
        .iter()
        .filter_map(Result::ok)
        .map(|(key, comm)| (key, tracer_common::decode::c_bytes(&comm).to_vec()))
        .collect())
}

fn add(sum: CallCount, c: &CallCount) -> CallCount {
    CallCount { calls: sum.calls + c.calls, errors: sum.errors + c.errors }
}
