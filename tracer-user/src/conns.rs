//! `tracer conns`: which TCP connections exist, and who connects where, who accepts, for how long, how many bytes.
//!
//! A snapshot of the connections now (sock_diag, with the processes holding them from /proc/PID/fd, as
//! `ss -tanp`), then every connect with its result, every accept and every close of an established connection
//! with its duration and bytes, live, from socket state changes (the tcp family). Filters (pid, either port,
//! family) run in the kernel. Only wiring and rendering live here.

use std::collections::HashSet;

use anyhow::Context as _;
use tracer_common::{
    decode::{Event, c_bytes},
    event::{kind, traced},
    net::{AF_INET, AF_INET6, tcp_state, want},
    tcp::ConnEvent,
};

use crate::{
    bpf::{Core, Preflight, Probes},
    cgroups::{Hierarchy, Origins},
    cli::{self, CgroupArgs, NetnsArgs, OutputArgs, PidArgs, RingArgs},
    escape::{Text, display_name},
    linux::net::{family_name, ip_text},
    output::OutputClosed,
    probes::{
        Family as _,
        tcp::{TcpFilter, TcpProbes},
    },
    procfs,
    records::{Accept, ConnEnds, Connect, HeldConnection, Holder, TcpClose},
    session::{Handler, Io, Session},
    sockdiag::{self, DiagSocket, Proto, Which, netns},
};

/// TCP connections now, then every connect, accept and close from now on (every connection without filters).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tracer conns\n  tracer conns --port 6379\n  \
                        tracer conns --json -p \"$(pidof nginx)\"",
    mut_arg("pids", |a| a.help("Only connections of this process: the ones it connected or accepted (repeatable; a comma or space separated list as pidof prints)")))]
pub struct ConnsArgs {
    #[command(flatten)]
    pids: PidArgs,
    /// Only connections with this port at either end (repeatable).
    #[arg(short = 'P', long = "port", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    ports: Vec<u16>,
    /// Only IPv4 connections (with -6: both).
    #[arg(short = '4', long = "ipv4")]
    ipv4: bool,
    /// Only IPv6 connections (with -4: both).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
    /// No snapshot of the connections that exist now: live events only.
    #[arg(long)]
    no_snapshot: bool,
    #[command(flatten)]
    netns: NetnsArgs,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    ring: RingArgs<{ 1 << 20 }>,
}

/// What the options select.
struct Filter {
    ports: Vec<u16>,
    pids: HashSet<u32>,
    families: Vec<u16>,
}

impl Filter {
    fn new(args: &ConnsArgs, pids: HashSet<u32>) -> Filter {
        let (v4, v6) = if args.ipv4 || args.ipv6 { (args.ipv4, args.ipv6) } else { (true, true) };
        let families = [(v4, AF_INET), (v6, AF_INET6)].into_iter().filter(|(on, _)| *on).map(|(_, f)| f).collect();
        let mut ports = args.ports.clone();
        ports.sort_unstable();
        ports.dedup();
        Filter { ports, pids, families }
    }

    fn family_mask(&self) -> u8 {
        self.families.iter().map(|&f| if f == AF_INET { want::IPV4 } else { want::IPV6 }).fold(0, |a, b| a | b)
    }

    fn port_wanted(&self, socket: &DiagSocket) -> bool {
        self.ports.is_empty() || self.ports.contains(&socket.port) || self.ports.contains(&socket.remote_port)
    }

    fn describe(&self) -> String {
        let mut what = "tracing TCP connects, accepts and closes".to_string();
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            what.push_str(&format!(" with port {} at either end", ports.join(",")));
        }
        let families: Vec<&str> = self.families.iter().map(|&f| family_name(f)).collect();
        what.push_str(&format!(" ({})", families.join(", ")));
        if !self.pids.is_empty() {
            let mut pids: Vec<u32> = self.pids.iter().copied().collect();
            pids.sort_unstable();
            let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
            what.push_str(&format!(" of process {}", pids.join(", ")));
        }
        what
    }
}

pub async fn run(args: ConnsArgs, preflight: Preflight) -> anyhow::Result<i32> {
    let pids: HashSet<u32> = args.pids.resolve()?.into_iter().collect();
    let filter = Filter::new(&args, pids);
    let named_netns = args.netns.resolve()?;
    let tcp =
        TcpProbes::new(&preflight.tracefs, TcpFilter { ports: filter.ports.clone(), families: filter.family_mask() })?;

    let core = Core::new(filter.pids.is_empty()).cgroup_filter(args.cgroups.resolve()?);
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| tcp.configure(loader))?;
    for &pid in &filter.pids {
        probes.trace_pid(pid, traced::NOW)?;
    }
    tcp.attach(&mut probes)?;
    crate::timing::mark("attached");

    let output = args.out.open()?;
    let mut session = Session::new(probes, output)?;
    let mut handler = Conns::new(filter);

    // Once the probes are attached: a connection made meanwhile is in the snapshot or in the events.
    let mut closed = false;
    if !args.no_snapshot {
        let namespaces = cli::namespaces(named_netns);
        let sockets =
            sockdiag::dump_namespaces(&namespaces, &[Proto::Tcp, Proto::Udp], &handler.filter.families, Which::All)
                .context("taking the snapshot of connections")?;
        closed = handler.snapshot(sockets, &mut session.io).is_err();
    }
    closed = closed || handler.heading(&mut session.io).is_err();
    closed = closed || session.ready("conns", &handler.filter.describe()).is_err();
    if !closed {
        session.run(&mut handler).await?;
    }
    session.finish();
    Ok(0)
}

/// A connection: TCP in any state but LISTEN and bound-only, UDP when connected.
fn is_connection(socket: &DiagSocket) -> bool {
    match socket.proto {
        Proto::Tcp => !matches!(socket.state, tcp_state::LISTEN | tcp_state::BOUND_INACTIVE | tcp_state::CLOSE),
        Proto::Udp => socket.state == tcp_state::ESTABLISHED,
    }
}

/// `[::1]:80` or `127.0.0.1:80`, as ss prints an end.
fn end_text(family: &str, addr: &str, port: u16) -> String {
    if family == "ipv6" { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") }
}

struct Conns {
    filter: Filter,
    /// tracer's own network namespace (inode number): events of the others name theirs.
    own_netns: u32,
    /// Traced processes still alive (with --pid): tracing ends when none is left.
    live: HashSet<u32>,
}

/// The text layout, after tcplife's: `PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB MS`, with the event first and
/// what happened last.
const HEADING: [&str; 11] =
    ["EVENT", "PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB", "MS", "NOTE"];

#[allow(clippy::too_many_arguments)]
fn row(event: &str, pid: &str, comm: &str, ends: &ConnEnds, tx: &str, rx: &str, ms: &str, note: &str) -> String {
    format!(
        "{event:<9} {pid:>7} {comm:<16} {:<15} {:>5} {:<15} {:>5} {tx:>6} {rx:>6} {ms:>9} {note}",
        ends.addr, ends.port, ends.raddr, ends.rport
    )
}

fn millis(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1e6)
}

impl Conns {
    fn new(filter: Filter) -> Conns {
        let live = filter.pids.clone();
        Conns { filter, own_netns: netns::own(), live }
    }

    fn snapshot(&mut self, sockets: Vec<DiagSocket>, io: &mut Io) -> Result<(), OutputClosed> {
        let sockets: Vec<DiagSocket> =
            sockets.into_iter().filter(|s| is_connection(s) && self.filter.port_wanted(s)).collect();
        let inodes: HashSet<u64> = sockets.iter().map(|s| s.inode).filter(|&i| i != 0).collect();
        let owners = procfs::socket_owners(Some(&inodes));
        io.out.text_only(&format!(
            "{:<6} {:<11} {:<42} {:<42} {:>7} {:<16} {:>4} {}",
            "PROTO", "STATE", "LOCAL ADDRESS", "PEER ADDRESS", "PID", "COMMAND", "FD", "NETNS"
        ))?;
        let mut shown = 0;
        // Each row names its holder's cgroup, container and namespace pid as /proc says now.
        let mut origins = Origins::new(Hierarchy::detect());
        for socket in &sockets {
            let ends = ConnEnds {
                family: family_name(socket.family),
                addr: ip_text(socket.local),
                port: socket.port,
                raddr: ip_text(socket.remote),
                rport: socket.remote_port,
            };
            let base = HeldConnection {
                source: "snapshot",
                pid: None,
                start_ns: None,
                comm: Text::default(),
                fd: None,
                proto: socket.proto.name(),
                ends,
                state: sockdiag::state_name(socket.proto, socket.state),
                inode: (socket.inode != 0).then_some(socket.inode),
                netns: (socket.netns != 0).then_some(u64::from(socket.netns)),
                uid: socket.uid,
            };
            let holders = procfs::socket_holders(socket.inode, &owners);
            let mut held: Vec<(HeldConnection, Vec<u8>)> = if holders.is_empty() {
                vec![(base, Vec::new())]
            } else {
                holders
                    .into_iter()
                    .map(|holder| {
                        let held = HeldConnection {
                            pid: Some(holder.pid),
                            start_ns: holder.start_ns,
                            comm: Text::of_some(Some(&holder.comm)),
                            fd: Some(holder.fd),
                            ..base.clone()
                        };
                        (held, holder.comm)
                    })
                    .collect()
            };
            if !self.filter.pids.is_empty() {
                held.retain(|(h, _)| h.pid.is_some_and(|p| self.filter.pids.contains(&p)));
            }
            for (h, comm) in &held {
                shown += 1;
                io.out.set_origin(h.pid.map(|pid| origins.of_pid(pid)));
                io.out.emit(&Holder { held: h }, |_| {
                    let pid = h.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
                    let fd = h.fd.map_or_else(|| "-".to_string(), |f| f.to_string());
                    let comm = if h.pid.is_some() { display_name(comm) } else { "-".to_string() };
                    let netns = h.netns.map_or_else(|| "?".to_string(), |n| netns::label(n as u32));
                    format!(
                        "{:<6} {:<11} {:<42} {:<42} {pid:>7} {comm:<16} {fd:>4} {netns}",
                        h.proto,
                        h.state,
                        end_text(h.ends.family, &h.ends.addr, h.ends.port),
                        end_text(h.ends.family, &h.ends.raddr, h.ends.rport),
                    )
                })?;
            }
        }
        io.out.set_origin(None);
        if shown == 0 {
            io.out.text_only("(no connection)")?;
        }
        io.out.flush()
    }

    fn heading(&mut self, io: &mut Io) -> Result<(), OutputClosed> {
        let [event, pid, comm, laddr, lport, raddr, rport, tx, rx, ms, note] = HEADING;
        io.out.text_only(&format!(
            "{event:<9} {pid:>7} {comm:<16} {laddr:<15} {lport:>5} {raddr:<15} {rport:>5} {tx:>6} {rx:>6} {ms:>9} {note}"
        ))
    }

    fn on_conn(&mut self, e: &ConnEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let owner_comm = c_bytes(&e.conn.owner_comm);
        // ` in net:[N]` after the note, for a connection of another network namespace than tracer's.
        let ns = e.conn.netns;
        let ns_text = if ns == 0 || ns == self.own_netns { String::new() } else { format!(" in {}", netns::label(ns)) };
        match e.header.kind {
            kind::TCP_CONNECT => io.out.emit(&Connect::of(e, &io.clock), |r| {
                let (pid, comm) = (r.pid.to_string(), display_name(owner_comm));
                row("connect", &pid, &comm, &r.ends, "-", "-", &millis(r.latency_ns), &(r.note() + &ns_text))
            }),
            kind::TCP_ACCEPT => io.out.emit(&Accept::of(e, &io.clock), |r| {
                let (pid, comm) = (r.pid.to_string(), display_name(owner_comm));
                row("accept", &pid, &comm, &r.ends, "-", "-", "-", &format!("listening port {}{ns_text}", r.ends.port))
            }),
            kind::TCP_CLOSE => io.out.emit(&TcpClose::of(e, &io.clock), |r| {
                let pid = r.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
                let comm = if r.pid.is_some() { display_name(owner_comm) } else { "?".to_string() };
                let (tx, rx) = ((r.tx_bytes / 1024).to_string(), (r.rx_bytes / 1024).to_string());
                row("close", &pid, &comm, &r.ends, &tx, &rx, &millis(r.duration_ns), &(r.note() + &ns_text))
            }),
            _ => Ok(()),
        }
    }
}

impl Handler for Conns {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Conn(e) => self.on_conn(e, io),
            _ => Ok(()),
        }
    }

    fn tick(&mut self, _probes: &Probes, _io: &mut Io) -> Result<(), OutputClosed> {
        self.live.retain(|&pid| procfs::exists(pid));
        Ok(())
    }

    fn finished(&self) -> bool {
        !self.filter.pids.is_empty() && self.live.is_empty()
    }
}
