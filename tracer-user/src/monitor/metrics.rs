//! The Prometheus endpoint (`--metrics-addr`): a snapshot the monitor refreshes every second, encoded in the
//! Prometheus text format by the `prometheus-client` crate when scraped, served by a small HTTP/1.1 loop on tokio.
//! Labels are bounded: syscall names, errno names, event types, probe and program names; never pids.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

/// What a scrape shows; counters are totals since tracer started.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// (syscall, calls) for syscalls called at least once; empty without `--syscall-stats`.
    pub syscalls: Vec<(String, u64)>,
    /// (syscall, errno, count).
    pub syscall_errors: Vec<(String, String, u64)>,
    pub events: BTreeMap<&'static str, u64>,
    pub lost: BTreeMap<&'static str, u64>,
    pub execs: u64,
    /// (program, run time in seconds, runs), from the kernel's BPF statistics.
    pub bpf_programs: Vec<(String, f64, u64)>,
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub output_errors: u64,
    /// (remote port or `other`, result, count) of connects (`--conns`).
    pub tcp_connects: Vec<(String, &'static str, u64)>,
    /// (listening port or `other`, count) of accepts (`--conns`).
    pub tcp_accepts: Vec<(String, u64)>,
    /// Signals reported, by what tracer says of them.
    pub signals: SignalCounts,
    /// (protocol, port, sockets listening on it now), from sock_diag.
    pub listeners: Vec<(&'static str, u16, u64)>,
}

/// Signals by (name, origin) and exits by how (`code`, `signal`): bounded by the 64 signals, the four origins
/// (process, tty, oom, kernel) and the two ways a process ends.
#[derive(Debug, Default, Clone)]
pub struct SignalCounts {
    pub by_signal: BTreeMap<(String, &'static str), u64>,
    pub exits: BTreeMap<&'static str, u64>,
}

impl SignalCounts {
    pub fn signal(&mut self, name: &str, origin: &'static str) {
        match self.by_signal.get_mut(&(name.to_string(), origin)) {
            Some(count) => *count += 1,
            None => {
                self.by_signal.insert((name.to_string(), origin), 1);
            }
        }
    }

    /// An exit with a status (`code`) or by a signal (`signal`).
    pub fn exit(&mut self, by_signal: bool) {
        *self.exits.entry(if by_signal { "signal" } else { "code" }).or_default() += 1;
    }

    /// Every exit kind from the start: a counter that appears late looks like a reset to rate().
    pub fn new() -> SignalCounts {
        SignalCounts { by_signal: BTreeMap::new(), exits: [("code", 0), ("signal", 0)].into_iter().collect() }
    }
}

/// `tracer_signals_total{signal,origin}` and `tracer_exits_total{how}`.
fn encode_signal_counts(encoder: &mut DescriptorEncoder, counts: &SignalCounts) -> Result<(), std::fmt::Error> {
    counter_family(
        encoder,
        "tracer_signals",
        "Signals generated, by name and origin (process, tty, oom, kernel); SIGCHLD only with --sigchld.",
        counts.by_signal.iter().map(|((signal, origin), count)| {
            (vec![("signal", signal.clone()), ("origin", origin.to_string())], *count)
        }),
    )?;
    counter_family(
        encoder,
        "tracer_exits",
        "Processes that ended, by how: with an exit status (code) or killed by a signal (signal).",
        counts.exits.iter().map(|(how, count)| (vec![("how", how.to_string())], *count)),
    )
}

pub type Shared = Arc<Mutex<Snapshot>>;

#[derive(Debug)]
struct SnapshotCollector(Shared);

fn counter_family<L: prometheus_client::encoding::EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (L, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.0.lock().map(|s| s.clone()).unwrap_or_default();
        counter_family(
            &mut encoder,
            "tracer_syscalls",
            "Syscalls made on this machine, counted in the kernel (--syscall-stats).",
            snap.syscalls.iter().map(|(name, calls)| (vec![("syscall", name.clone())], *calls)),
        )?;
        counter_family(
            &mut encoder,
            "tracer_syscall_errors",
            "Syscalls that failed, by errno, counted in the kernel (--syscall-stats).",
            snap.syscall_errors
                .iter()
                .map(|(name, errno, count)| (vec![("syscall", name.clone()), ("errno", errno.clone())], *count)),
        )?;
        counter_family(
            &mut encoder,
            "tracer_events",
            "Events reported, by type.",
            snap.events.iter().map(|(kind, count)| (vec![("type", kind.to_string())], *count)),
        )?;
        counter_family(
            &mut encoder,
            "tracer_tcp_connects",
            "TCP connects by remote port and result (--conns; at most 100 ports, the rest as other).",
            snap.tcp_connects
                .iter()
                .map(|(port, result, n)| (vec![("port", port.clone()), ("result", result.to_string())], *n)),
        )?;
        counter_family(
            &mut encoder,
            "tracer_tcp_accepts",
            "TCP connections accepted, by listening port (--conns; at most 100 ports, the rest as other).",
            snap.tcp_accepts.iter().map(|(port, n)| (vec![("port", port.clone())], *n)),
        )?;
        counter_family(
            &mut encoder,
            "tracer_events_lost",
            "Events the kernel could not hand over (ring buffer full) or that a per-kind rate limit refused.",
            snap.lost.iter().map(|(probe, count)| (vec![("probe", probe.to_string())], *count)),
        )?;
        let mut metric = encoder.encode_descriptor(
            "tracer_process_execs",
            "Successful execve calls seen on this machine.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(snap.execs).encode(metric.encode_family(&Vec::<(&str, String)>::new())?)?;
        let mut metric = encoder.encode_descriptor(
            "tracer_bpf_run_seconds",
            "CPU time spent in tracer's BPF programs (kernel BPF run-time statistics).",
            None,
            MetricType::Counter,
        )?;
        for (program, seconds, _) in &snap.bpf_programs {
            ConstCounter::new(*seconds).encode(metric.encode_family(&vec![("program", program.clone())])?)?;
        }
        counter_family(
            &mut encoder,
            "tracer_bpf_runs",
            "Runs of tracer's BPF programs (kernel BPF run-time statistics).",
            snap.bpf_programs.iter().map(|(program, _, runs)| (vec![("program", program.clone())], *runs)),
        )?;
        let mut metric = encoder.encode_descriptor(
            "tracer_process_cpu_seconds",
            "User and system CPU time of the tracer process.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(snap.cpu_seconds).encode(metric.encode_family(&Vec::<(&str, String)>::new())?)?;
        let mut metric = encoder.encode_descriptor(
            "tracer_process_resident_memory_bytes",
            "Resident memory of the tracer process.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(snap.resident_bytes as i64).encode(metric.encode_family(&Vec::<(&str, String)>::new())?)?;
        encode_signal_counts(&mut encoder, &snap.signals)?;
        let mut metric = encoder.encode_descriptor(
            "tracer_listeners",
            "Sockets listening now in tracer's network namespace, by protocol and port (TCP LISTEN, unconnected UDP), \
             from sock_diag every second.",
            None,
            MetricType::Gauge,
        )?;
        for (proto, port, count) in &snap.listeners {
            ConstGauge::new(*count as i64)
                .encode(metric.encode_family(&vec![("proto", proto.to_string()), ("port", port.to_string())])?)?;
        }
        counter_family(
            &mut encoder,
            "tracer_output_write_errors",
            "Writes to the output file that failed (full disk, removed directory).",
            std::iter::once((Vec::<(&str, String)>::new(), snap.output_errors)),
        )
    }
}

/// Connections served at once: Prometheus makes one per scrape. More wait in the kernel's listen backlog, so a
/// flood of idle connections cannot take the file descriptors tracer needs (systemd's default limit is 1,024).
const MAX_CONNECTIONS: usize = 64;
/// A connection that has not sent its request by then is closed; a scrape takes milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole exchange, request and answer.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed accept (out of file descriptors: EMFILE, ENFILE), wait this long before the next, instead of
/// retrying at once on a connection that keeps failing (100% of a CPU).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(200);

/// Binds `addr` now (so that a port in use is an error at start), then serves scrapes in the background.
pub async fn serve(addr: SocketAddr, shared: Shared) -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for --metrics-addr"))?;
    let local = listener.local_addr()?;
    if local.ip().is_unspecified() {
        eprintln!(
            "tracer: warning: the metrics are served on every network interface ({local}); give an address such as \
             127.0.0.1:{} to serve them on one",
            local.port()
        );
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(shared)));
    let registry = Arc::new(registry);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            // A slot first: while all are taken nothing is accepted, and no descriptor is spent.
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    failing = false;
                    stream
                }
                Err(err) => {
                    if !failing {
                        eprintln!("tracer: accepting a metrics connection failed: {err}; retrying");
                    }
                    failing = true;
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let registry = registry.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(CONNECTION_TIMEOUT, answer(stream, &registry)).await;
                drop(slot);
            });
        }
    });
    Ok(local)
}

async fn answer(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    // Read the request head (bounded); only the request line matters.
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = tokio::time::timeout(REQUEST_TIMEOUT, stream.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let mut text = String::new();
            match prometheus_client::encoding::prometheus_text::encode(&mut text, registry) {
                Ok(()) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", text),
                Err(_) => ("500 Internal Server Error", "text/plain", "encoding failed\n".to_string()),
            }
        }
        ("GET" | "HEAD", "/") => (
            "200 OK",
            "text/html; charset=utf-8",
            "<html><body><a href=\"/metrics\">tracer metrics</a></body></html>\n".to_string(),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain", "method not allowed\n".to_string()),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&response).await?;
    stream.shutdown().await
}

/// This process's CPU seconds (user + system) and resident bytes, from /proc/self/stat.
pub fn own_usage() -> (f64, u64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return (0.0, 0) };
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return (0.0, 0) };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    // utime is field 14, stime 15, rss 24 (1-based): indexes 11, 12, 21 from state.
    ((num(11) + num(12)) as f64 / ticks, num(21) * page)
}
