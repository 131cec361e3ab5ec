//! Loading and attaching, written once for every command: preflight checks (privileges, tracefs, kernel
//! features), the kernel layout (tracepoint field offsets from format files, struct offsets from BTF) handed
//! to the programs as load-time globals, and typed access to the shared maps.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    thread::JoinHandle,
};

use anyhow::{Context as _, bail};
use aya::{
    Ebpf, EbpfLoader, VerifierLogLevel,
    maps::{Array, MapData, PerCpuArray, ProgramArray},
    programs::{Program, ProgramError, ProgramType, RawTracePoint, TracePoint},
};
use tracer_common::event::lost;

use crate::{btf::Btf, drain::EventReader, tracefs};

static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer"));

/// Everything checked before touching aya (it caches the tracefs path the first time it looks).
pub struct Preflight {
    pub tracefs: PathBuf,
}

pub fn preflight(command: &str) -> anyhow::Result<Preflight> {
    check_privileges(command)?;
    let tracefs = tracefs::ensure_mounted().context("tracefs is needed to attach tracepoints")?;
    let ring_ok = aya::sys::is_map_supported(aya::maps::MapType::RingBuf).unwrap_or(false);
    if !ring_ok {
        bail!("this kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+), which `tracer {command}` needs");
    }
    for (program, what) in [(ProgramType::TracePoint, "tracepoint"), (ProgramType::RawTracePoint, "raw tracepoint")] {
        if !aya::sys::is_program_supported(program).unwrap_or(false) {
            bail!("this kernel cannot run BPF {what} programs, which `tracer {command}` needs");
        }
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        bail!(
            "this kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF), which `tracer {command}` needs"
        );
    }
    prepare_loader();
    Ok(Preflight { tracefs })
}

/// aya's loader, made on another thread while the command reads the kernel's layout (`Probes::load` takes it).
static LOADER: Mutex<Option<JoinHandle<EbpfLoader<'static>>>> = Mutex::new(None);

/// Starts making aya's loader in the background. `EbpfLoader::new` parses the whole kernel BTF with aya's own
/// parser (25 ms here, a third of start-up; tracer's programs have no CO-RE relocations, but aya offers no loader
/// without it), and the first load probes the kernel's BPF features (a score of small BPF syscalls): neither
/// depends on what the command reads meanwhile (format files, the offsets from tracer's own BTF reader), so on a
/// machine with two CPUs both run beside it.
fn prepare_loader() {
    let handle = std::thread::Builder::new().name("aya-loader".into()).spawn(|| {
        let loader = EbpfLoader::new();
        let _ = aya::features();
        loader
    });
    // No thread (resources exhausted): `Probes::load` makes the loader itself.
    if let Ok(handle) = handle {
        *LOADER.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
    }
}

/// The loader `prepare_loader` started, or a new one.
fn take_loader<'a>() -> EbpfLoader<'a> {
    let handle = LOADER.lock().unwrap_or_else(|e| e.into_inner()).take();
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

fn check_privileges(command: &str) -> anyhow::Result<()> {
    // CAP_SYS_ADMIN (21), or CAP_BPF (39) with CAP_PERFMON (38) for tracing programs.
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & (1u64 << cap) != 0;
    if !(has(21) || has(39) && has(38)) {
        bail!("`tracer {command}` needs root (or CAP_BPF and CAP_PERFMON) to load eBPF programs: run it with sudo");
    }
    Ok(())
}

/// The core's load-time globals (tracer-ebpf/src/maps.rs), which every family's programs read: tracer's own
/// pid, whether every process is traced or only those in `TRACED`, and the monitor's rate limit.
pub struct Core {
    /// tracer's own pid (as the kernel numbers it in the initial pid namespace, where tracer runs).
    tracer_tgid: u32,
    trace_all: u8,
    /// Events of one kind each CPU may send per second (`RATE_LIMIT`, and as many at once: `RATE_BURST`).
    rate_limit: Option<u32>,
    /// `task_struct.group_leader` and `.start_time`, with which every record's envelope says its process's start
    /// time (`EventHeader::start_ns`); zeroes (every `start_ns` unknown) when BTF does not give them.
    start_time: StartTimeOffsets,
    /// How every record's envelope reads its cgroup (`EventHeader::cgroup_id`).
    cgroups: crate::cgroups::CgroupGlobals,
    /// How it reads the process's namespace pid (`EventHeader::ns_pid`): `PID_*` of tracer-ebpf/src/kernel.rs.
    ns_pid: [(&'static str, u32); 5],
    /// `--cgroup`/`--container`: only this cgroup's processes and its descendants' (`CGROUP_FILTER`).
    cgroup_filter: Option<crate::cgroups::CgroupFilter>,
}

/// Where a task's process start time is (tracer-ebpf/src/kernel.rs: `process_start_of`).
struct StartTimeOffsets {
    group_leader: u32,
    start_time: u32,
}

impl StartTimeOffsets {
    fn read() -> StartTimeOffsets {
        let offsets = || -> anyhow::Result<StartTimeOffsets> {
            let btf = crate::btf::kernel_btf()?;
            Ok(StartTimeOffsets {
                group_leader: btf_offset(&btf, "task_struct", "group_leader")?,
                // Read as 8 bytes by the programs: unknown rather than misread if a kernel changed its size.
                start_time: btf_sized_offset(&btf, "task_struct", "start_time", 8)?,
            })
        };
        offsets().unwrap_or(StartTimeOffsets { group_leader: 0, start_time: 0 })
    }
}

impl Core {
    /// `trace_all`: every process but tracer; else only the processes in `TRACED` (`Probes::trace_pid`).
    pub fn new(trace_all: bool) -> Core {
        Core {
            tracer_tgid: std::process::id(),
            trace_all: u8::from(trace_all),
            rate_limit: None,
            start_time: StartTimeOffsets::read(),
            cgroups: crate::btf::kernel_btf()
                .map(|btf| crate::cgroups::CgroupGlobals::of(crate::cgroups::Hierarchy::detect().as_ref(), &btf))
                .unwrap_or_default(),
            ns_pid: ns_pid_globals(),
            cgroup_filter: None,
        }
    }

    /// Only processes in `filter`'s cgroup or below it (`None`: every process `trace_all` or the traced set says).
    pub fn cgroup_filter(mut self, filter: Option<crate::cgroups::CgroupFilter>) -> Core {
        self.cgroup_filter = filter;
        self
    }

    pub fn rate_limit(mut self, per_sec: u32) -> Core {
        self.rate_limit = Some(per_sec);
        self
    }

    fn apply<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        loader.override_global("TRACER_TGID", &self.tracer_tgid, true).override_global(
            "TRACE_ALL",
            &self.trace_all,
            true,
        );
        loader.override_global("TASK_GROUP_LEADER_OFFSET", &self.start_time.group_leader, true).override_global(
            "TASK_START_TIME_OFFSET",
            &self.start_time.start_time,
            true,
        );
        for (name, value) in &self.ns_pid {
            loader.override_global(name, value, true);
        }
        let cgroups = &self.cgroups;
        loader.override_global("CGROUP_MODE", &cgroups.mode, true);
        if self.cgroup_filter.is_some() {
            loader.override_global("CGROUP_FILTER", &1u8, true);
        } else {
            loader.map_max_entries("CGROUP_ALLOWED", 1);
        }
        for (name, value) in [
            ("CGROUP_TASK_CSS_SET", &cgroups.task_css_set),
            ("CGROUP_CSS_SET_SUBSYS", &cgroups.css_set_subsys),
            ("CGROUP_CSS_CGROUP", &cgroups.css_cgroup),
            ("CGROUP_CGROUP_KN", &cgroups.cgroup_kn),
            ("CGROUP_KN_ID", &cgroups.kn_id),
        ] {
            loader.override_global(name, value, true);
        }
        if let Some(rate) = &self.rate_limit {
            loader.override_global("RATE_LIMIT", rate, true).override_global("RATE_BURST", rate, true);
        }
    }
}

/// `task->thread_pid->numbers[level].nr`'s layout, for the envelope's `ns_pid`; zeroes (every `ns_pid` unknown)
/// when BTF does not give it.
fn ns_pid_globals() -> [(&'static str, u32); 5] {
    let offsets = || -> anyhow::Result<[(&'static str, u32); 5]> {
        let btf = crate::btf::kernel_btf()?;
        Ok([
            ("PID_TASK_THREAD_PID", btf_sized_offset(&btf, "task_struct", "thread_pid", 8)?),
            ("PID_LEVEL", btf_sized_offset(&btf, "pid", "level", 4)?),
            ("PID_NUMBERS", btf_offset(&btf, "pid", "numbers")?),
            ("PID_UPID_SIZE", btf.struct_size("upid").context("BTF: struct upid")?),
            ("PID_UPID_NR", btf_sized_offset(&btf, "upid", "nr", 4)?),
        ])
    };
    offsets().unwrap_or([
        ("PID_TASK_THREAD_PID", 0),
        ("PID_LEVEL", 0),
        ("PID_NUMBERS", 0),
        ("PID_UPID_SIZE", 0),
        ("PID_UPID_NR", 0),
    ])
}

/// `st.member`'s byte offset, from BTF.
pub fn btf_offset(btf: &Btf, st: &str, member: &str) -> anyhow::Result<u32> {
    btf.member_offset(st, member).with_context(|| format!("BTF: {st}.{member}"))
}

/// `st.member`'s byte offset, from BTF, for a member the programs read as `size` bytes: an error when it has
/// another size on this kernel.
pub fn btf_sized_offset(btf: &Btf, st: &str, member: &str, size: u32) -> anyhow::Result<u32> {
    let m = btf.member(st, member).with_context(|| format!("BTF: {st}.{member}"))?;
    if m.size != size {
        bail!("BTF: {st}.{member} is {} bytes on this kernel, expected {size}", m.size);
    }
    Ok(m.offset)
}

/// How the open and the net probes find the `struct file` behind an fd of the current task:
/// `task->files->fdt`, then `fdt->fd[fd]` for an fd below `fdt->max_fds`: the one walk of tracer-ebpf/src/kernel.rs,
/// whose `FDT_*` globals the families that use it (files, net) set from `probes::fd_table_globals`.
pub struct FdTableOffsets {
    /// `task_struct.files`.
    pub task_files: u32,
    /// `files_struct.fdt`.
    pub files_fdt: u32,
    /// `fdtable.max_fds`.
    pub fdt_max_fds: u32,
    /// `fdtable.fd`.
    pub fdt_fd: u32,
    /// 1 when `files_struct.fdtab` follows `files_struct.fdt` and starts with `max_fds` then `fd` at 8: one read
    /// of three words at `fdt` then gives the embedded table's array too (the kernel side's `fd_array_of`).
    pub embedded_follows: u32,
}

impl FdTableOffsets {
    pub fn read(btf: &Btf) -> anyhow::Result<FdTableOffsets> {
        let files_fdt = btf_sized_offset(btf, "files_struct", "fdt", 8)?;
        let fdt_max_fds = btf_sized_offset(btf, "fdtable", "max_fds", 4)?;
        let fdt_fd = btf_sized_offset(btf, "fdtable", "fd", 8)?;
        // Without it (another layout, or no `fdtab` member) the programs read the table's fields one by one.
        let embedded_follows = btf_offset(btf, "files_struct", "fdtab")
            .is_ok_and(|fdtab| fdtab == files_fdt + 8 && fdt_max_fds == 0 && fdt_fd == 8);
        Ok(FdTableOffsets {
            task_files: btf_sized_offset(btf, "task_struct", "files", 8)?,
            files_fdt,
            fdt_max_fds,
            fdt_fd,
            embedded_follows: u32::from(embedded_follows),
        })
    }
}

/// Environment variable: when set (non-empty, not `0`), every program loaded prints
/// `tracer: verifier: PROGRAM INSNS` on stderr, the instructions the kernel's verifier walked to accept it (`?` on
/// kernels before 5.16 when the count cannot be had otherwise; see `verifier_stats`; `reload` forces that way).
/// `cargo xtask kernels` collects them to keep every program cheap to
/// verify on every kernel of its matrix.
pub const VERIFIER_STATS_ENV: &str = "TRACER_VERIFIER_STATS";

/// The outcome of loading `program`: a refusal as one error naming the program and the verifier's last lines;
/// on success, the verifier's count when [`VERIFIER_STATS_ENV`] asks for it.
fn loaded(
    program: &str,
    result: Result<(), ProgramError>,
    info: Result<aya::programs::ProgramInfo, ProgramError>,
) -> anyhow::Result<()> {
    if let Err(err) = result {
        return Err(refused(program, err));
    }
    let stats = std::env::var_os(VERIFIER_STATS_ENV).unwrap_or_default();
    if !stats.is_empty() && stats != "0" {
        // `reload` takes the way of kernels before 5.16 on any kernel, to compare both.
        let reported =
            |info: &aya::programs::ProgramInfo| info.verified_instruction_count().filter(|_| stats != "reload");
        let count = match info {
            Ok(info) => match reported(&info) {
                Some(n) => Ok(n),
                // Before Linux 5.16: a second load with the statistics log.
                None => crate::verifier_stats::count_by_reload(OBJECT, program, &info),
            },
            Err(err) => Err(err.into()),
        };
        match count {
            Ok(n) => eprintln!("tracer: verifier: {program} {n}"),
            Err(err) => eprintln!("tracer: verifier: {program} ? ({err:#})"),
        }
    }
    Ok(())
}

/// A load error in one line: the program, the kernel's errno, the verifier's complaint (its last line before the
/// statistics) and how many instructions it walked, without the instruction dump.
fn refused(program: &str, err: ProgramError) -> anyhow::Error {
    match err {
        ProgramError::LoadError { io_error, verifier_log } => {
            let log = verifier_log.to_string();
            anyhow::anyhow!("the kernel refused program {program} ({io_error}); verifier: {}", verifier_summary(&log))
        }
        other => anyhow::Error::new(other).context(format!("the kernel refused program {program}")),
    }
}

/// The verifier's complaint and its `processed N insns` figure, from a log written at the statistics level.
fn verifier_summary(log: &str) -> String {
    let lines: Vec<&str> = log.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let is_stats =
        |l: &&str| l.starts_with("verification time") || l.starts_with("stack depth") || l.starts_with("processed ");
    let complaint = lines.iter().rev().find(|l| !is_stats(l)).copied();
    let processed = lines.iter().find(|l| l.starts_with("processed ")).map(|l| {
        // `processed 723201 insns (limit 1000000) max_states_per_insn ...`: the count and the limit.
        l.split(" max_states_per_insn").next().unwrap_or(l)
    });
    match (complaint, processed) {
        (Some(c), Some(p)) => format!("{c} ({p})"),
        (Some(c), None) => c.to_string(),
        (None, Some(p)) => p.to_string(),
        (None, None) => "no log".to_string(),
    }
}

/// Gives back to the kernel the memory start-up used and freed: aya's parse of the kernel BTF (on its loader
/// thread, in a malloc arena of its own), the ELF object's sections, tracer's own BTF index. glibc keeps freed
/// memory resident unless it sits at the top of an arena; `malloc_trim` returns every free page of every arena.
/// Called once, when the probes are attached: `tracer monitor` stays far below what it peaked at while loading.
/// musl (the static build) has no `malloc_trim`: its allocator unmaps freed large blocks itself.
pub fn release_start_up_memory() {
    // SAFETY: no arguments beyond the padding to keep; glibc takes its arena locks itself.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0)
    };
}

/// Every pid is below this (the size of the traced-set array).
fn pid_max() -> anyhow::Result<u32> {
    let text = std::fs::read_to_string("/proc/sys/kernel/pid_max").context("reading /proc/sys/kernel/pid_max")?;
    text.trim().parse().context("parsing /proc/sys/kernel/pid_max")
}

/// Named `u32` load-time globals read from the running kernel (struct and tracepoint field offsets): what a
/// probe family needs to find things in this kernel, set on the loader in one go.
#[derive(Clone)]
pub struct KernelGlobals(Vec<(&'static str, u32)>);

impl KernelGlobals {
    pub fn new(globals: Vec<(&'static str, u32)>) -> Self {
        KernelGlobals(globals)
    }

    pub fn apply<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        for (name, value) in &self.0 {
            loader.override_global(name, value, true);
        }
    }

    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<u32> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// The loaded object. Dropping it detaches every program.
pub struct Probes {
    ebpf: Ebpf,
    /// `--cgroup`/`--container`, whose sub-cgroups made since start are added every tick.
    cgroup_filter: Option<crate::cgroups::CgroupFilter>,
}

impl Probes {
    /// `core`'s globals are set here; `configure` sets the families' (`probes::Family::configure`).
    pub fn load<'a>(
        core: &'a Core,
        ring_bytes: u32,
        configure: impl FnOnce(&mut EbpfLoader<'a>),
    ) -> anyhow::Result<Probes> {
        crate::timing::mark("layouts read");
        let mut loader = take_loader();
        crate::timing::mark("aya's loader (kernel BTF parsed by aya)");
        // Statistics only: a refused program's log is then the verifier's complaint and its totals, a few hundred
        // bytes. aya's default (every instruction walked, with states) makes it retry a refused load with a log ten
        // times larger each time, re-verifying up to a million instructions per try: minutes before the reason.
        loader.verifier_log_level(VerifierLogLevel::STATS);
        core.apply(&mut loader);
        loader.map_max_entries("EVENTS", ring_bytes);
        loader.map_max_entries("TRACED", pid_max()?);
        crate::probes::stats::shrink_unused(&mut loader);
        configure(&mut loader);
        let ebpf = loader.load(OBJECT).context("loading the eBPF object")?;
        crate::timing::mark("object loaded (maps created)");
        // Every layout was read before the load (`configure` set the offsets): nothing reads the BTF again.
        crate::btf::release_kernel_btf();
        let mut probes = Probes { ebpf, cgroup_filter: core.cgroup_filter.clone() };
        if core.cgroups.mode == tracer_common::event::cgroup_mode::V1 {
            // The envelope caches each thread's v1 cgroup (`emit::ORIGINS`): every move makes the cache stale.
            for tracepoint in ["cgroup_attach_task", "cgroup_transfer_tasks"] {
                probes.attach_raw_tracepoint("cgroup_moved", tracepoint).context(
                    "this kernel has no cgroup move tracepoints: on cgroup v1, records could not name their cgroup",
                )?;
            }
        }
        probes.refresh_cgroup_filter().context("filling the cgroup filter")?;
        Ok(probes)
    }

    /// `program`, loaded into the kernel on first use (a program is loaded once, then attached to as many
    /// tracepoints as wanted).
    fn load_once(&mut self, program: &str) -> anyhow::Result<&mut Program> {
        let prog =
            self.ebpf.program_mut(program).with_context(|| format!("program {program} missing from the object"))?;
        if prog.fd().is_err() {
            let result = match prog {
                Program::TracePoint(p) => p.load(),
                Program::RawTracePoint(p) => p.load(),
                other => bail!("program {program} is a {:?} program, not a tracepoint", other.prog_type()),
            };
            loaded(program, result, prog.info())?;
        }
        Ok(prog)
    }

    pub fn attach_raw_tracepoint(&mut self, program: &str, tracepoint: &str) -> anyhow::Result<()> {
        let prog: &mut RawTracePoint = self.load_once(program)?.try_into()?;
        prog.attach(tracepoint).with_context(|| format!("attaching to raw tracepoint {tracepoint}"))?;
        Ok(())
    }

    pub fn attach_tracepoint(&mut self, program: &str, category: &str, name: &str) -> anyhow::Result<()> {
        let prog: &mut TracePoint = self.load_once(program)?.try_into()?;
        prog.attach(category, name).with_context(|| format!("attaching to tracepoint {category}:{name}"))?;
        Ok(())
    }

    /// Loads `programs` (not attached: they run by tail call from another program) and puts each at its index in
    /// the program array `map`, which keeps them loaded while the object lives.
    pub fn set_tail_calls(&mut self, map: &str, programs: &[&str]) -> anyhow::Result<()> {
        let mut fds = Vec::with_capacity(programs.len());
        for &program in programs {
            let fd = self.load_once(program)?.fd()?;
            fds.push(fd.try_clone().with_context(|| format!("duplicating the fd of program {program}"))?);
        }
        let mut array: ProgramArray<&mut MapData> =
            ProgramArray::try_from(self.ebpf.map_mut(map).with_context(|| format!("{map} map missing"))?)?;
        for (index, (fd, program)) in fds.iter().zip(programs).enumerate() {
            array.set(index as u32, fd, 0).with_context(|| format!("setting {program} in {map}"))?;
        }
        Ok(())
    }

    pub fn events(&mut self) -> anyhow::Result<EventReader> {
        let map = self.ebpf.take_map("EVENTS").context("EVENTS map missing")?;
        EventReader::new(map).context("mapping the EVENTS ring buffer")
    }

    /// Takes a command's own map out of the object (the programs keep using it), to update it while events are
    /// read.
    pub fn take_map(&mut self, name: &str) -> anyhow::Result<aya::maps::Map> {
        self.ebpf.take_map(name).with_context(|| format!("{name} map missing"))
    }

    /// Puts the ids of the filtered cgroup and of every cgroup below it now in `CGROUP_ALLOWED` (ids already there
    /// stay: the kernel never reuses a live cgroup's id, and a removed one's holds no process).
    pub fn refresh_cgroup_filter(&mut self) -> anyhow::Result<()> {
        let Some(filter) = &self.cgroup_filter else { return Ok(()) };
        let ids = filter.ids();
        let mut allowed: aya::maps::HashMap<&mut MapData, u64, u8> =
            aya::maps::HashMap::try_from(self.ebpf.map_mut("CGROUP_ALLOWED").context("CGROUP_ALLOWED map missing")?)?;
        for id in ids {
            if allowed.get(&id, 0).is_err() {
                allowed.insert(id, 1, 0).with_context(|| format!("adding cgroup {id} to the filter"))?;
            }
        }
        Ok(())
    }

    pub fn trace_pid(&mut self, pid: u32, state: u32) -> anyhow::Result<()> {
        let mut traced: Array<&mut MapData, u8> =
            Array::try_from(self.ebpf.map_mut("TRACED").context("TRACED map missing")?)?;
        traced.set(pid, state as u8, 0).with_context(|| format!("adding pid {pid} to the traced set"))
    }

    /// A map still in the object, to read it.
    pub fn map(&self, name: &str) -> anyhow::Result<&aya::maps::Map> {
        self.ebpf.map(name).with_context(|| format!("{name} map missing"))
    }

    /// A map still in the object, to fill it (a family's filter maps, before it attaches).
    pub fn map_mut(&mut self, name: &str) -> anyhow::Result<&mut aya::maps::Map> {
        self.ebpf.map_mut(name).with_context(|| format!("{name} map missing"))
    }

    /// Each loaded program's name and kernel info (run time and count when BPF statistics are on).
    pub fn program_infos(&self) -> Vec<(String, aya::programs::ProgramInfo)> {
        self.ebpf
            .programs()
            .filter_map(|(name, program)| program.info().ok().map(|info| (name.to_string(), info)))
            .collect()
    }

    /// Per-probe-family totals of records the kernel could not reserve, summed over CPUs.
    pub fn lost_counts(&self) -> anyhow::Result<[u64; lost::SLOTS as usize]> {
        let map: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(self.ebpf.map("LOST").context("LOST map missing")?)?;
        let mut totals = [0u64; lost::SLOTS as usize];
        for (slot, total) in totals.iter_mut().enumerate() {
            *total = map.get(&(slot as u32), 0)?.iter().sum();
        }
        Ok(totals)
    }
}

#[cfg(test)]
mod tests {
    use super::verifier_summary;

    /// Linux 5.10's log (statistics level) for a refused program: the complaint and the count, nothing else.
    #[test]
    fn summarises_a_refusal() {
        let log = "invalid read from stack R10 off=-176 size=8\nverification time 26064333 usec\nstack depth 192+0\n\
                   processed 723201 insns (limit 1000000) max_states_per_insn 23 total_states 22731 peak_states 1992 \
                   mark_read 76\n";
        assert_eq!(
            verifier_summary(log),
            "invalid read from stack R10 off=-176 size=8 (processed 723201 insns (limit 1000000))"
        );
        assert_eq!(verifier_summary(""), "no log");
        assert_eq!(verifier_summary("R1 type=scalar expected=fp\n"), "R1 type=scalar expected=fp");
    }
}
