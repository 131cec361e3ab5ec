//! `tracer monitor`: leave it running on a server. Every process's execs and exits, binds/listens/closes of
//! listening sockets, signals, as JSON lines (or text on a terminal); with `--syscall-stats`, syscall counts and
//! errors per syscall and per process aggregated in the kernel and read every `--interval`; with
//! `--metrics-addr`, a Prometheus endpoint; with `--watch PATH`, opens of those paths. Only wiring lives here: the
//! probes are the other commands' (process, signals, net, files) plus `tracer-ebpf/src/monitor.rs`; names and
//! addresses are spelled by `crate::linux`, as every command spells them.
//!
//! A flood of one kind cannot starve the others: each kind has its own per-CPU token bucket in the kernel
//! (`--rate-limit`), and what a bucket refuses is counted per kind and reported as `lost`.

mod config;
mod metrics;
mod sink;

use std::{
    collections::{BTreeMap, HashMap},
    io::IsTerminal as _,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use aya::maps::{MapData, PerCpuArray};
use tracer_common::{
    decode::{Event, c_bytes},
    event::{kind, lost},
    monitor::{CallCount, ProcSyscall, bucket},
    net::{AF_INET, AF_INET6, BindEvent, SockEvent, sock_flags, sock_type, tcp_state, want},
    process::{ProcessEvent, what},
    signals::{SIGCHLD, SignalEvent, flags, signal_bit},
    syscalls::MAX_SYSCALL_NR,
    tcp::ConnEvent,
};

use crate::{
    bpf::{Core, Preflight, Probes},
    causes::{Cause, Causes, OomKills, exit_text},
    cli::{CgroupArgs, OutputArgs, RingArgs},
    escape::{Text, display_name, shell_command},
    linux::{
        errno,
        net::{ip_of, proto_name, show_addr},
        signals::{signal_result_text, signals_left_out},
        users::UserNames,
    },
    output::{Output, OutputClosed, timestamp},
    probes::{
        Family,
        files::{OpenProbes, Opens},
        net::NetProbes,
        process::{ProcessLayout, ProcessProbes},
        signals::{SignalLayout, SignalProbes},
        stats::{StatsProbes, read_comms, read_errors, read_procs, read_syscalls},
        tcp::{TcpFilter, TcpProbes},
    },
    procfs,
    records::{
        Accept, Bind, Close, ConnEnds, Connect, Exec, ExecUser, Exit, Fork, Listen, Lost, ProcessRow, Signal,
        SyscallRow, SyscallStats, TcpClose, exec_argv,
    },
    session::{Handler, Io, Session},
    sockdiag::{
        self, Proto, Which,
        holders::{Attempt, Holder, PortHolders, Refusal},
    },
};
pub use config::apply as apply_config;
use sink::{RotatingFile, SinkControl};

/// Watch the whole machine continuously: process starts and ends, listening sockets, signals, opens of watched
/// paths (--watch); syscall counts aggregated in the kernel (--syscall-stats); a Prometheus endpoint
/// (--metrics-addr).
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  sudo tracer monitor\n  sudo tracer monitor --json -o /var/log/tracer/events.jsonl \
                        --syscall-stats --metrics-addr 127.0.0.1:9464\n  sudo tracer monitor --watch /etc/passwd --watch /etc/ssh/\n  \
                        sudo tracer monitor --config /etc/tracer/monitor.toml",
    mut_arg("json", |a| a.help("JSON lines (the default when stdout is not a terminal, and with --output)")),
    mut_arg("output", |a| a.help("Append events to FILE (rotated by size; reopened on SIGHUP, for logrotate)"))
)]
pub struct MonitorArgs {
    /// Read options from a TOML file (keys are the long option names: `json = true`, `output = "/var/log/..."`,
    /// `rotate_size = 104857600`); options given on the command line win.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// Rotate --output when it would grow past this many bytes (0: never).
    #[arg(long, value_name = "BYTES", default_value_t = 100 << 20)]
    rotate_size: u64,
    /// Rotated files kept (FILE.1 is the newest).
    #[arg(long, value_name = "N", default_value_t = 5)]
    rotate_keep: u32,
    /// Also report every bind() (failed ones included), through the bind and listen syscall tracepoints. Without
    /// it, listening sockets are seen from the kernel's socket state changes only, which cost syscalls nothing;
    /// with it every syscall on the machine pays the slow syscall path (about 60 ns).
    #[arg(long)]
    binds: bool,
    /// Also report TCP connects (with their result), accepts and closes (with duration and bytes), from socket
    /// state changes (and accept()'s exit, for the accepting process); counted per port in the metrics.
    #[arg(long)]
    conns: bool,
    /// Also report SIGCHLD (sent at every child's exit: noisy).
    #[arg(long)]
    sigchld: bool,
    /// Also report every new process (`fork` events: as many as execs and exits, more where processes fork
    /// without exec'ing; rate-limited like the other kinds).
    #[arg(long)]
    forks: bool,
    /// Report every open of PATH, by any process (repeatable; a directory: every file below it; a file that does
    /// not exist yet can be watched). Hooks the open syscalls' tracepoints: every syscall pays the slow path.
    #[arg(long = "watch", value_name = "PATH")]
    watch: Vec<PathBuf>,
    /// Count every syscall of every process in the kernel, per syscall and per process (costs every syscall on the
    /// machine about 150 ns while tracer runs).
    #[arg(long)]
    syscall_stats: bool,
    /// Seconds between two reports of the syscall counts.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86400))]
    interval: u64,
    /// Processes shown in each syscall report (the busiest of the interval).
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// Serve Prometheus metrics at ADDR (e.g. 127.0.0.1:9464); off by default.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Do not turn on the kernel's BPF run-time statistics (tracer_bpf_run_seconds_total) with --metrics-addr.
    #[arg(long)]
    no_bpf_stats: bool,
    /// Events of one kind (exec, exit, signal, net, open) each CPU may send per second; the rest are counted as lost.
    #[arg(long, value_name = "PER_SEC", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    rate_limit: u32,
    // 2 MiB: what a fork storm at the default --rate-limit needs with room to spare (bench/monitor.sh counts its
    // losses: none at 2 MiB as at 8), and a ring costs twice its size in RSS (the kernel maps its pages twice, for
    // records that wrap): 8 MiB alone made 16 of monitor's 27 MiB (issue 18).
    #[command(flatten)]
    ring: RingArgs<{ 2 << 20 }>,
}

pub async fn run(args: MonitorArgs, preflight: Preflight) -> anyhow::Result<i32> {
    let process_layout = ProcessLayout::read(&preflight.tracefs)?;
    let signal_layout = SignalLayout::read()?;
    let net = NetProbes::new(&preflight.tracefs)?;
    let net = if args.binds { net.with_syscalls() } else { net };
    let signal_set = if args.sigchld { u64::MAX } else { !signal_bit(SIGCHLD) };
    let opens = match args.watch.as_slice() {
        [] => None,
        paths => Some(OpenProbes::new(&preflight.tracefs, paths, false)?),
    };
    let process = ProcessProbes::new(process_layout.clone());
    // Every process is traced: "following" its children only makes the fork probe report them.
    let process = if args.forks { process.with_forks(true) } else { process };
    let signals = SignalProbes::generation(process_layout, signal_layout)
        .only(signal_set)
        .with_oom_victims(&preflight.tracefs)?;
    let oom = OomKills::new(signals.oom_victims_known());
    let stats = if args.syscall_stats { Some(StatsProbes::new()?) } else { None };
    let tcp = match args.conns {
        true => Some(TcpProbes::new(
            &preflight.tracefs,
            TcpFilter { ports: Vec::new(), families: want::IPV4 | want::IPV6 },
        )?),
        false => None,
    };
    // The open probes last.
    let mut families: Vec<&dyn Family> = vec![&process, &signals, &net];
    families.extend(stats.as_ref().map(|s| s as &dyn Family));
    families.extend(tcp.as_ref().map(|t| t as &dyn Family));
    families.extend(opens.as_ref().map(|o| o as &dyn Family));

    let core = Core::new(true).rate_limit(args.rate_limit).cgroup_filter(args.cgroups.resolve()?);
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| {
        for family in &families {
            family.configure(loader);
        }
    })?;
    for family in &families {
        family.attach(&mut probes)?;
    }
    drop(families);
    crate::timing::mark("attached");
    let opens = match opens {
        Some(opens) => Some(opens.handler(Default::default())?.with_text_line(line)),
        None => None,
    };
    // Kernel BPF statistics cost every program run two clock reads: only for the metrics that show them.
    let _bpf_stats = match (&args.metrics_addr, args.no_bpf_stats) {
        (Some(_), false) => match aya::sys::enable_stats(aya::sys::Stats::RunTime) {
            Ok(fd) => Some(fd),
            Err(err) => {
                eprintln!("tracer: BPF run-time statistics unavailable ({err}); tracer_bpf_run_seconds_total stays 0");
                None
            }
        },
        _ => None,
    };

    let control = Arc::new(SinkControl::default());
    let json = args.out.json || args.out.output.is_some() || !std::io::stdout().is_terminal();
    let output = match &args.out.output {
        Some(path) => {
            let file = RotatingFile::open(path, args.rotate_size, args.rotate_keep, control.clone())
                .with_context(|| format!("cannot open output file {}", path.display()))?;
            Output::from_writer(Box::new(file), json, false)
        }
        None => Output::from_writer(Box::new(std::io::stdout()), json, std::io::stdout().is_terminal()),
    };
    let shared = match args.metrics_addr {
        Some(addr) => {
            let shared: metrics::Shared = Arc::new(Mutex::new(metrics::Snapshot::default()));
            let local = metrics::serve(addr, shared.clone()).await?;
            eprintln!("tracer: serving Prometheus metrics at http://{local}/metrics");
            Some(shared)
        }
        None => None,
    };

    let mut session = Session::new(probes, output)?;
    session.hangup_reopens = true;
    session.signals_left_out = Some(signals_left_out(signal_set));
    let mut monitor = Monitor::new(&args, shared, control, opens, oom);
    monitor.refresh(&session.probes);
    monitor.update_metrics(&session.probes);
    let mut what = format!(
        "monitoring execs, exits, {}listening sockets{} and signals of every process{}",
        if args.binds { "binds, " } else { "" },
        if args.conns { ", TCP connections" } else { "" },
        if args.sigchld { "" } else { " (but SIGCHLD: --sigchld shows it)" }
    );
    if let Some(opens) = &monitor.opens {
        what.push_str(&format!("; {}", opens.describe(false)));
    }
    if args.syscall_stats {
        what.push_str(&format!(", and syscall counts every {} s", args.interval));
    }
    let _ = session.io.out.text_only(&format!("{:<15} {:<7} {:<24} DETAILS", "TIME", "EVENT", "PROCESS"));
    if session.ready("monitor", &what).is_ok() {
        session.run(&mut monitor).await?;
        let _ = monitor.release_held(true, &mut session.io);
    }
    // The last counts, so that a stopped monitor's log is complete.
    let _ = monitor.report_dropped(&session.probes, &mut session.io);
    if args.syscall_stats {
        let _ = monitor.report_stats(&session.probes, &mut session.io);
    }
    session.finish();
    Ok(0)
}

/// The `type`s of the events monitor reports.
const EVENT_TYPES: [&str; 10] =
    ["exec", "exit", "bind", "listen", "close", "signal", "open", "connect", "accept", "tcp_close"];
/// Ports with a series of their own in `tracer_tcp_connects` and `tracer_tcp_accepts`; the rest are `other`.
const MAX_PORT_SERIES: usize = 100;

/// How often the metrics snapshot is refreshed.
const METRICS_EVERY: Duration = Duration::from_secs(1);

struct Monitor {
    syscall_stats: bool,
    /// `--forks`: fork events are reported (and their rate-limit drops).
    forks: bool,
    interval: Duration,
    top: usize,
    last_stats: Instant,
    last_metrics: Instant,
    shared: Option<metrics::Shared>,
    control: Arc<SinkControl>,
    events: BTreeMap<&'static str, u64>,
    execs: u64,
    signal_counts: metrics::SignalCounts,
    /// Rate-limited drops per bucket, as last reported.
    dropped_seen: [u64; bucket::SLOTS as usize],
    /// Per syscall, totals at the last report (for the interval's deltas).
    syscalls_seen: Vec<CallCount>,
    /// Per (process, syscall), totals at the last report.
    procs_seen: HashMap<ProcSyscall, CallCount>,
    /// With `--watch`: the opens command's handler, which resolves and shows open events.
    opens: Option<Opens>,
    /// With `--conns`: connects by remote port and result, accepts by listening port (bounded).
    tcp_connects: BTreeMap<(String, &'static str), u64>,
    tcp_accepts: BTreeMap<String, u64>,
    /// The signals queued for each process, to say at its exit who killed it.
    causes: Causes,
    /// The kernel's SIGKILLs, held until it is known whether the OOM killer sent them.
    oom: OomKills,
    /// The names of the uids of execs.
    users: UserNames,
    /// Who holds the port of a refused bind or listen.
    port_holders: PortHolders,
    /// The listening sockets could not be listed (said once on stderr).
    listeners_failed: bool,
}

impl Monitor {
    fn new(
        args: &MonitorArgs,
        shared: Option<metrics::Shared>,
        control: Arc<SinkControl>,
        opens: Option<Opens>,
        oom: OomKills,
    ) -> Monitor {
        Monitor {
            syscall_stats: args.syscall_stats,
            forks: args.forks,
            interval: Duration::from_secs(args.interval),
            top: args.top,
            last_stats: Instant::now(),
            last_metrics: Instant::now(),
            shared,
            control,
            // Every type from the start: a counter that appears late looks like a reset to rate().
            events: EVENT_TYPES.iter().map(|&t| (t, 0)).collect(),
            execs: 0,
            signal_counts: metrics::SignalCounts::new(),
            dropped_seen: [0; bucket::SLOTS as usize],
            syscalls_seen: vec![CallCount::default(); MAX_SYSCALL_NR],
            procs_seen: HashMap::new(),
            opens,
            tcp_connects: BTreeMap::new(),
            tcp_accepts: BTreeMap::new(),
            causes: Causes::default(),
            oom,
            users: UserNames::default(),
            port_holders: PortHolders::default(),
            listeners_failed: false,
        }
    }

    fn count(&mut self, kind: &'static str) {
        *self.events.entry(kind).or_default() += 1;
    }

    /// The first reading: counts from before the monitor started are not reported as the first interval's.
    fn refresh(&mut self, probes: &Probes) {
        if self.syscall_stats {
            if let Ok(totals) = read_syscalls(probes) {
                self.syscalls_seen = totals;
            }
            if let Ok(procs) = read_procs(probes) {
                self.procs_seen = procs.into_iter().collect();
            }
        }
    }

    fn on_fork(&mut self, e: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        self.count("fork");
        let record = Fork::of(e, &io.clock);
        io.out.emit(&record, |r| {
            let details = format!("child={} ppid={}", r.child_pid, r.ppid.map_or("?".to_string(), |p| p.to_string()));
            line(r.ts_ns, "fork", r.pid, c_bytes(&e.header.comm), &details)
        })
    }

    fn on_exec(&mut self, e: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        self.count("exec");
        self.execs += 1;
        let record = Exec { user: Some(ExecUser { user: self.users.name(e.uid) }), ..Exec::of(e, &io.clock) };
        io.out.emit(&record, |r| {
            let more = if r.argv_truncated { " ..." } else { "" };
            let user =
                r.user.as_ref().and_then(|u| u.user.as_deref()).map_or(String::new(), |name| format!("({name})"));
            let details = format!("ppid={} uid={}{user} {}{more}", e.ppid, r.uid, shell_command(&exec_argv(e)));
            line(r.ts_ns, "exec", r.pid, c_bytes(&e.header.comm), &details)
        })
    }

    fn on_exit(&mut self, e: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        self.count("exit");
        let comm = c_bytes(&e.header.comm);
        let cause = self.causes.at_exit(e.header.pid, e.exit_code);
        let record = Exit { cause: Some(Cause::exit_fields(cause.as_ref(), &io.clock)), ..Exit::of(e, &io.clock) };
        // An exit whose status the kernel did not give is neither.
        if record.code.is_some() || record.signal.is_some() {
            self.signal_counts.exit(record.signal.is_some());
        }
        io.out.emit(&record, |r| line(r.ts_ns, "exit", r.pid, comm, &exit_text(r, cause.as_ref())))
    }

    fn on_bind(&mut self, e: &BindEvent, io: &mut Io) -> Result<(), OutputClosed> {
        self.count("bind");
        let addr = ip_of(e.sa_family, &e.addr);
        let mut record: Bind<Holder> = Bind::of(e, &io.clock);
        let refusal = self.port_holders.refusal(&Attempt::of_bind(e));
        // Only a refused call has holders: the fields are left out of the others.
        if let Some(refusal) = &refusal {
            let (holder_pid, holder_start_ns, conflict) = refusal.conflict();
            record.outcome.held_by(holder_pid, holder_start_ns, conflict);
        }
        io.out.emit(&record, |r| {
            let mut details =
                format!("{} {}", r.proto.unwrap_or("?"), show_addr(addr, r.port, e.scope_id, r.outcome.v6only));
            if let Some(name) = r.outcome.errno {
                details.push_str(&format!(" failed: {name}{}", refusal.as_ref().map_or(String::new(), Refusal::text)));
            }
            line(r.ts_ns, "bind", r.pid, c_bytes(&e.header.comm), &details)
        })
    }

    fn on_sock(&mut self, e: &SockEvent, listen: bool, io: &mut Io) -> Result<(), OutputClosed> {
        let kind = if listen { "listen" } else { "close" };
        self.count(kind);
        let v6only = e.flags & sock_flags::V6ONLY != 0;
        let refusal = match listen {
            true => self.port_holders.refusal(&Attempt::of_listen(e)),
            false => None,
        };
        let text = |ts_ns: u64| {
            let proto = proto_name(e.protocol, sock_type::STREAM);
            let mut details = format!("{proto} {}", show_addr(ip_of(e.family, &e.addr), e.port, 0, Some(v6only)));
            if let Some((name, _)) = errno::of_return(e.ret.into()) {
                details.push_str(&format!(" failed: {name}{}", refusal.as_ref().map_or(String::new(), Refusal::text)));
            }
            line(ts_ns, kind, e.header.pid, c_bytes(&e.header.comm), &details)
        };
        if listen {
            let mut record: Listen<Holder> = Listen::of(e, &io.clock);
            if let Some(refusal) = &refusal {
                let (holder_pid, holder_start_ns, conflict) = refusal.conflict();
                record.outcome.held_by(holder_pid, holder_start_ns, conflict);
            }
            io.out.emit(&record, |r| text(r.ts_ns))
        } else {
            io.out.emit(&Close::of(e, &io.clock), |r| text(r.ts_ns))
        }
    }

    fn on_conn(&mut self, e: &ConnEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let comm = c_bytes(&e.conn.owner_comm);
        let ends = |r: &ConnEnds| format!("{} -> {}", show_end(&r.addr, r.port), show_end(&r.raddr, r.rport));
        match e.header.kind {
            kind::TCP_CONNECT => {
                self.count("connect");
                let record = Connect::of(e, &io.clock);
                let port = port_series(self.tcp_connects.keys().map(|(p, _)| p), record.ends.rport);
                *self.tcp_connects.entry((port, record.result)).or_default() += 1;
                io.out.emit(&record, |r| {
                    line(r.ts_ns, "connect", r.pid, comm, &format!("tcp {} {}", ends(&r.ends), r.note()))
                })
            }
            kind::TCP_ACCEPT => {
                self.count("accept");
                let record = Accept::of(e, &io.clock);
                let port = port_series(self.tcp_accepts.keys(), record.ends.port);
                *self.tcp_accepts.entry(port).or_default() += 1;
                io.out.emit(&record, |r| line(r.ts_ns, "accept", r.pid, comm, &format!("tcp {}", ends(&r.ends))))
            }
            kind::TCP_CLOSE => {
                self.count("tcp_close");
                io.out.emit(&TcpClose::of(e, &io.clock), |r| {
                    let details = format!(
                        "tcp {} {} tx={} rx={} {}ms {}",
                        ends(&r.ends),
                        r.direction,
                        r.tx_bytes,
                        r.rx_bytes,
                        r.duration_ns / 1_000_000,
                        r.note()
                    );
                    // An incoming connection no accept() returned has no process: 0 and `?`.
                    line(r.ts_ns, "tcp_close", r.pid.unwrap_or(0), if r.pid.is_some() { comm } else { b"?" }, &details)
                })
            }
            _ => Ok(()),
        }
    }

    /// The held kernel SIGKILLs whose wait for an OOM mark is over (every one when `all`), as the kernel's.
    fn release_held(&mut self, all: bool, io: &mut Io) -> Result<(), OutputClosed> {
        for event in self.oom.due(all) {
            self.on_signal(&event, false, io)?;
        }
        Ok(())
    }

    /// `oom`: the OOM killer sent it (its victim's mark came).
    fn on_signal(&mut self, e: &SignalEvent, oom: bool, io: &mut Io) -> Result<(), OutputClosed> {
        self.count("signal");
        let from_process = e.flags & flags::FROM_PROCESS != 0;
        let record = Signal::of(e, &io.clock, from_process);
        let record = if oom { record.by_oom_killer() } else { record };
        self.signal_counts.signal(&record.signal, record.origin);
        let from = self.causes.on_signal(e, &record).text();
        io.out.emit(&record, |r| {
            let mut details = format!("{} from {from}: {}", r.signal, signal_result_text(r.result, r.action));
            if let Some(pgid) = r.pgid {
                details.push_str(&format!(" [foreground group {pgid}]"));
            }
            line(r.ts_ns, "signal", e.target_pid, c_bytes(&e.target_comm), &details)
        })
    }

    /// Events refused by the per-kind rate limits since the last report.
    fn report_dropped(&mut self, probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        let Ok(dropped) = read_percpu_u64(probes, "RATE_DROPPED", bucket::SLOTS) else { return Ok(()) };
        for (slot, &total) in dropped.iter().enumerate() {
            let new = total.saturating_sub(self.dropped_seen[slot]);
            if new == 0 {
                continue;
            }
            self.dropped_seen[slot] = total;
            let probe = bucket::name(slot as u32);
            io.out.emit(&Lost { probe, count: new, reason: Some("rate_limit") }, |_| {
                format!("--- {new} {probe} events dropped: more than --rate-limit per second ---")
            })?;
        }
        Ok(())
    }

    fn report_stats(&mut self, probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        let interval_ns = self.last_stats.elapsed().as_nanos() as u64;
        self.last_stats = Instant::now();
        let Ok(totals) = read_syscalls(probes) else { return Ok(()) };
        let mut syscalls = Vec::new();
        for (nr, (now, seen)) in totals.iter().zip(&self.syscalls_seen).enumerate() {
            let calls = now.calls.saturating_sub(seen.calls);
            if calls == 0 {
                continue;
            }
            syscalls.push(SyscallRow {
                name: syscall_name(nr as u32),
                nr: nr as u32,
                calls,
                errors: now.errors.saturating_sub(seen.errors),
                total_calls: now.calls,
            });
        }
        syscalls.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.nr.cmp(&b.nr)));
        self.syscalls_seen = totals;

        let procs = read_procs(probes).unwrap_or_default();
        let mut busy: Vec<(ProcSyscall, CallCount, u64, u64)> = procs
            .iter()
            .filter_map(|(key, now)| {
                let seen = self.procs_seen.get(key).copied().unwrap_or_default();
                let calls = now.calls.saturating_sub(seen.calls);
                (calls > 0).then(|| (*key, *now, calls, now.errors.saturating_sub(seen.errors)))
            })
            .collect();
        busy.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        busy.truncate(self.top);
        // Replaced, not merged: as bounded as the kernel's LRU map.
        self.procs_seen = procs.into_iter().collect();
        // Named as the kernel saw the process when counting it; else as /proc shows the pid if it is still the same
        // process (same start time); else unknown: a pid reused since is another process.
        let comms = read_comms(probes).unwrap_or_default();
        let suspended_ns = procfs::suspended_ns();
        let processes: Vec<ProcessRow> = busy
            .into_iter()
            .map(|(key, total, calls, errors)| {
                let comm = comms.get(&key.process()).cloned().or_else(|| {
                    (procfs::start_ticks(key.tgid) == Some(procfs::boot_ns_to_ticks(key.start_ns)))
                        .then(|| procfs::comm(key.tgid))
                        .flatten()
                });
                ProcessRow {
                    pid: key.tgid,
                    // The kernel counts by `start_boottime`: the same instant as `start_ns`, on the boot clock.
                    start_ns: (key.start_ns != 0).then(|| key.start_ns.saturating_sub(suspended_ns)),
                    comm: Text::new(comm),
                    syscall: syscall_name(key.nr),
                    calls,
                    errors,
                    total_calls: total.calls,
                    total_errors: total.errors,
                }
            })
            .collect();
        let ts_ns = io.clock.wall_ns(io.clock.monotonic_now());
        let record = SyscallStats { ts_ns, interval_ns, syscalls, processes };
        io.out.emit(&record, |r| {
            let total: u64 = r.syscalls.iter().map(|row| row.calls).sum();
            let errors: u64 = r.syscalls.iter().map(|row| row.errors).sum();
            let mut text = format!(
                "{} syscalls: {total} calls, {errors} failed in {:.1} s; busiest:",
                timestamp(r.ts_ns, 2),
                r.interval_ns as f64 / 1e9
            );
            for row in r.syscalls.iter().take(5) {
                text.push_str(&format!(" {} {}", row.name, row.calls));
            }
            for row in &r.processes {
                text.push_str(&format!(
                    "\n    {:>8} {:<16} {:<20} {:>10} calls {:>8} failed",
                    row.pid,
                    row.comm.value.as_deref().map_or_else(|| "?".to_string(), display_name),
                    row.syscall,
                    row.calls,
                    row.errors
                ));
            }
            text
        })
    }

    /// (protocol, port, sockets) listening now: `tracer_listeners`, bounded by ports, not by processes.
    fn listeners(&mut self) -> Vec<(&'static str, u16, u64)> {
        let sockets = match sockdiag::dump_all(&[Proto::Tcp, Proto::Udp], &[AF_INET, AF_INET6], Which::Listening) {
            Ok(sockets) => sockets,
            Err(err) => {
                if !std::mem::replace(&mut self.listeners_failed, true) {
                    eprintln!("tracer: listing listening sockets failed ({err}): tracer_listeners is left out");
                }
                return Vec::new();
            }
        };
        let mut counts: BTreeMap<(&'static str, u16), u64> = BTreeMap::new();
        for socket in sockets {
            *counts.entry((socket.proto.name(), socket.port)).or_default() += 1;
        }
        counts.into_iter().map(|((proto, port), n)| (proto, port, n)).collect()
    }

    /// Refreshes what `/metrics` shows.
    fn update_metrics(&mut self, probes: &Probes) {
        if self.shared.is_none() {
            return;
        }
        let listeners = self.listeners();
        let Some(shared) = &self.shared else { return };
        let mut snap = metrics::Snapshot {
            events: self.events.clone(),
            execs: self.execs,
            tcp_connects: self.tcp_connects.iter().map(|((port, result), &n)| (port.clone(), *result, n)).collect(),
            tcp_accepts: self.tcp_accepts.iter().map(|(port, &n)| (port.clone(), n)).collect(),
            signals: self.signal_counts.clone(),
            listeners,
            ..Default::default()
        };
        if self.syscall_stats {
            if let Ok(totals) = read_syscalls(probes) {
                snap.syscalls = totals
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.calls > 0)
                    .map(|(nr, c)| (syscall_name(nr as u32), c.calls))
                    .collect();
            }
            if let Ok(errors) = read_errors(probes) {
                snap.syscall_errors = errors
                    .into_iter()
                    .map(|(key, count)| (syscall_name(key >> 16), errno_label(key & 0xffff), count))
                    .collect();
                snap.syscall_errors.sort();
            }
        }
        for probe in [lost::PROCESS, lost::SIGNALS, lost::NET].map(lost::probe_name) {
            snap.lost.insert(probe, 0);
        }
        for probe in [bucket::EXEC, bucket::EXIT, bucket::SIGNAL, bucket::NET].map(bucket::name) {
            snap.lost.insert(probe, 0);
        }
        if self.forks {
            snap.lost.insert(bucket::name(bucket::FORK), 0);
        }
        if self.opens.is_some() {
            snap.lost.insert(lost::probe_name(lost::FILES), 0);
            snap.lost.insert(bucket::name(bucket::OPEN), 0);
        }
        if let Ok(ring) = probes.lost_counts() {
            for (slot, &count) in ring.iter().enumerate() {
                if count > 0 {
                    *snap.lost.entry(lost::probe_name(slot as u32)).or_default() += count;
                }
            }
        }
        for (slot, &count) in self.dropped_seen.iter().enumerate() {
            if count > 0 {
                *snap.lost.entry(bucket::name(slot as u32)).or_default() += count;
            }
        }
        snap.bpf_programs = probes
            .program_infos()
            .into_iter()
            .map(|(name, info)| (name, info.run_time().as_secs_f64(), info.run_count()))
            .collect();
        (snap.cpu_seconds, snap.resident_bytes) = metrics::own_usage();
        snap.output_errors = self.control.write_errors.load(std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut current) = shared.lock() {
            *current = snap;
        }
    }
}

impl Handler for Monitor {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Process(e) if e.what == what::FORK => self.on_fork(e, io),
            Event::Process(e) if e.what == what::EXEC => self.on_exec(e, io),
            Event::Process(e) if e.what == what::EXIT => {
                for held in self.oom.before_event_of(e.header.pid) {
                    self.on_signal(&held, false, io)?;
                }
                self.on_exit(e, io)
            }
            Event::Signal(e) if self.oom.hold(e) => Ok(()),
            Event::Signal(e) => self.on_signal(e, false, io),
            Event::OomVictim(victim) => match self.oom.marked(victim.victim_tid) {
                Some(e) => self.on_signal(&e, true, io),
                None => Ok(()),
            },
            Event::Bind(e) => self.on_bind(e, io),
            Event::Listen(e) => self.on_sock(e, true, io),
            Event::SockState(e) if e.newstate == tcp_state::LISTEN => self.on_sock(e, true, io),
            Event::SockState(e) if e.oldstate == tcp_state::LISTEN => self.on_sock(e, false, io),
            Event::Conn(e) => self.on_conn(e, io),
            Event::Open(e) => {
                let Some(opens) = &mut self.opens else { return Ok(()) };
                if opens.on_open(e, io)? {
                    self.count("open");
                }
                Ok(())
            }
            Event::Rename(e) => {
                let Some(opens) = &mut self.opens else { return Ok(()) };
                if opens.on_rename(e, io)? {
                    self.count("rename");
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn tick(&mut self, probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        self.causes.tick();
        self.release_held(false, io)?;
        self.report_dropped(probes, io)?;
        if let Some(opens) = &mut self.opens {
            opens.watch_new_dirs();
        }
        if self.syscall_stats && self.last_stats.elapsed() >= self.interval {
            self.report_stats(probes, io)?;
        }
        if self.last_metrics.elapsed() >= METRICS_EVERY {
            self.last_metrics = Instant::now();
            self.update_metrics(probes);
        }
        Ok(())
    }

    fn hangup(&mut self, io: &mut Io) -> Result<(), OutputClosed> {
        // What is buffered belongs to the old file; the next write goes to the new one.
        io.out.flush()?;
        self.control.reopen.store(true, std::sync::atomic::Ordering::Relaxed);
        io.out.flush()
    }
}

/// `127.0.0.1:80`, `[::1]:80`.
fn show_end(addr: &str, port: u16) -> String {
    if addr.contains(':') { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") }
}

/// A port's label in the per-port series: the port, or `other` once `MAX_PORT_SERIES` ports have one.
fn port_series<'a>(known: impl Iterator<Item = &'a String>, port: u16) -> String {
    let label = port.to_string();
    let mut distinct: Vec<&String> = known.filter(|p| p.as_str() != "other").collect();
    distinct.dedup();
    if distinct.len() < MAX_PORT_SERIES || distinct.contains(&&label) { label } else { "other".to_string() }
}

fn line(ts_ns: u64, event: &str, pid: u32, comm: &[u8], details: &str) -> String {
    let who = format!("{pid} ({})", display_name(comm));
    format!("{:<15} {event:<7} {who:<24} {details}", timestamp(ts_ns, 2))
}

fn syscall_name(nr: u32) -> String {
    ::syscalls::Sysno::new(nr as usize).map_or_else(|| format!("syscall_{nr}"), |s| s.name().to_string())
}

/// An errno as a label: its name, the kernel-internal restart codes by theirs (a signal interrupted the call).
fn errno_label(errno: u32) -> String {
    errno::name(i32::try_from(errno).unwrap_or(i32::MAX)).to_string()
}

fn read_percpu_u64(probes: &Probes, name: &str, slots: u32) -> anyhow::Result<Vec<u64>> {
    let map: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(probes.map(name)?)?;
    (0..slots).map(|slot| Ok(map.get(&slot, 0)?.iter().sum())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_syscalls_and_errnos() {
        assert_eq!(syscall_name(110), "getppid");
        assert_eq!(syscall_name(511), "syscall_511");
        assert_eq!(errno_label(2), "ENOENT");
        assert_eq!(errno_label(512), "ERESTARTSYS");
        assert_eq!(errno_label(4000), "E4000");
    }
}
