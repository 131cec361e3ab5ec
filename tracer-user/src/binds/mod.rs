//! `tracer binds`: who holds this port, who just bound it, and why did my bind fail?
//!
//! A snapshot of the sockets bound now (sock_diag, with the processes holding them from /proc/PID/fd, their users
//! and queues; with -a, connections too, with their far end), then every bind(), listen() and TCP listener closing,
//! live, filtered in the kernel by port, protocol, family and pid.
//! A bind refused with EADDRINUSE is explained by a sock_diag lookup made when it is reported, in the socket's own
//! network namespace (a container's port is not the host's).
//! Only wiring and rendering live here; the kernel side is tracer-ebpf/src/net.rs.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
};

use anyhow::Context as _;
use tracer_common::{
    decode::{Event, c_bytes},
    event::traced,
    net::{AF_INET, AF_INET6, BindEvent, SockEvent, proto, sock_flags, tcp_state, want},
};

use crate::sockdiag::{
    self, DiagSocket, Proto, Which,
    holders::{Attempt, PortHolders},
    netns,
};
use crate::{
    bpf::{Core, Preflight, Probes},
    cgroups::{Hierarchy, Origins},
    cli::{self, CgroupArgs, NetnsArgs, OutputArgs, PidArgs, RingArgs},
    escape::{Text, display_name},
    linux::{
        errno,
        net::{family_name, ip_of, show_addr},
    },
    output::{OutputClosed, timestamp},
    probes::{Family as _, net::NetProbes},
    procfs,
    records::{self, Bind, Close, Listen},
    session::{Handler, Io, Session},
};

/// Who holds a port now, and every bind, listen and listener close from now on (every port without --port).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tracer binds --port 80\n  tracer binds --port 53 --udp -6\n  \
                        tracer binds --json -p \"$(pidof nginx)\"\n  tracer binds -a --port 6379",
    mut_arg("pids", |a| a.help("Only binds and sockets of this process (repeatable; a comma or space separated list as pidof prints)")))]
pub struct BindsArgs {
    /// Only this port, 1-65535 (repeatable, or a comma separated list); every port when not given.
    // Checked by `validate`, after parsing, so that a bad port gets the usage with its error.
    #[arg(short = 'P', long = "port", value_name = "PORT", action = clap::ArgAction::Append, allow_hyphen_values = true)]
    ports: Vec<String>,
    #[command(flatten)]
    pids: PidArgs,
    /// Only TCP sockets (with --udp: both).
    #[arg(long)]
    tcp: bool,
    /// Only UDP sockets (with --tcp: both).
    #[arg(long)]
    udp: bool,
    /// Only IPv4 sockets (with -6: both).
    #[arg(short = '4', long = "ipv4")]
    ipv4: bool,
    /// Only IPv6 sockets (with -4: both).
    #[arg(short = '6', long = "ipv6")]
    ipv6: bool,
    /// Snapshot every socket on the port, connections and TIME-WAIT included, and the port's clients (sockets
    /// whose peer port it is) with their far end (default: what holds it without a connection: listeners, bound
    /// sockets, UDP sockets).
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[command(flatten)]
    netns: NetnsArgs,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    ring: RingArgs<{ 1 << 20 }>,
}

fn parse_ports(text: &str) -> Result<Vec<u16>, String> {
    let ports: Result<Vec<u16>, String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u32>() {
            Ok(port @ 1..=65535) => Ok(port as u16),
            Ok(_) => Err(format!("port {s} is out of range: a port is 1-65535")),
            Err(_) => Err(format!("'{s}' is not a port number (1-65535)")),
        })
        .collect();
    let ports = ports?;
    if ports.is_empty() {
        return Err("no port given".into());
    }
    Ok(ports)
}

impl BindsArgs {
    /// Every `--port`, checked: a usage error otherwise.
    pub fn validate(&self) -> Result<(), String> {
        self.parsed_ports().map(|_| ())
    }

    fn parsed_ports(&self) -> Result<Vec<u16>, String> {
        let mut ports = Vec::new();
        for text in &self.ports {
            ports.extend(parse_ports(text).map_err(|e| format!("invalid value '{text}' for '--port <PORT>': {e}"))?);
        }
        ports.sort_unstable();
        ports.dedup();
        Ok(ports)
    }
}

/// What the options select.
struct Filter {
    ports: Vec<u16>,
    pids: HashSet<u32>,
    protos: Vec<Proto>,
    families: Vec<u16>,
    proto_mask: u8,
    family_mask: u8,
    /// `-a`: the snapshot lists connections too, so a port's clients (sockets whose peer port it is) as well.
    peers: bool,
}

impl Filter {
    fn new(args: &BindsArgs, pids: HashSet<u32>) -> Filter {
        // Checked by `validate` before anything runs.
        let ports = args.parsed_ports().unwrap_or_default();
        let (tcp, udp) = if args.tcp || args.udp { (args.tcp, args.udp) } else { (true, true) };
        let (v4, v6) = if args.ipv4 || args.ipv6 { (args.ipv4, args.ipv6) } else { (true, true) };
        let protos = [(tcp, Proto::Tcp), (udp, Proto::Udp)].into_iter().filter(|(on, _)| *on).map(|(_, p)| p).collect();
        let families = [(v4, AF_INET), (v6, AF_INET6)].into_iter().filter(|(on, _)| *on).map(|(_, f)| f).collect();
        // Other inet protocols (SCTP, ping and raw sockets) only when no protocol was asked for.
        let proto_mask = if args.tcp || args.udp {
            (if tcp { want::TCP } else { 0 }) | (if udp { want::UDP } else { 0 })
        } else {
            want::TCP | want::UDP | want::OTHER
        };
        let family_mask = (if v4 { want::IPV4 } else { 0 }) | (if v6 { want::IPV6 } else { 0 });
        Filter { ports, pids, protos, families, proto_mask, family_mask, peers: args.all }
    }

    fn port_wanted(&self, port: u16) -> bool {
        self.ports.is_empty() || self.ports.contains(&port)
    }

    /// A socket of the snapshot: on a port asked for, or (with -a) connected to one.
    fn socket_wanted(&self, socket: &DiagSocket) -> bool {
        self.port_wanted(socket.port)
            || (self.peers && socket.remote_port != 0 && self.ports.contains(&socket.remote_port))
    }

    fn ports_text(&self) -> String {
        match self.ports.as_slice() {
            [] => "any port".to_string(),
            [one] => format!("port {one}"),
            many => format!("ports {}", many.iter().map(u16::to_string).collect::<Vec<_>>().join(",")),
        }
    }

    fn describe(&self) -> String {
        let ports = if self.ports.is_empty() { "every port".to_string() } else { self.ports_text() };
        let protos: Vec<&str> = self.protos.iter().map(|p| p.name()).collect();
        let families: Vec<&str> = self.families.iter().map(|&f| family_name(f)).collect();
        let mut what =
            format!("tracing binds, listens and closes on {ports} ({}; {})", protos.join(", "), families.join(", "));
        if !self.pids.is_empty() {
            let mut pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
            pids.sort();
            what.push_str(&format!(" of process {}", pids.join(", ")));
        }
        what
    }
}

pub async fn run(args: BindsArgs, preflight: Preflight) -> anyhow::Result<i32> {
    // Resolve the processes before loading anything: a missing pid is a usage problem, not a trace.
    let pids: HashSet<u32> = args.pids.resolve()?.into_iter().collect();
    let filter = Filter::new(&args, pids);
    let named_netns = args.netns.resolve()?;
    let net = NetProbes::new(&preflight.tracefs)?.with_syscalls().filtered(
        &filter.ports,
        filter.family_mask,
        filter.proto_mask,
    );

    let core = Core::new(filter.pids.is_empty()).cgroup_filter(args.cgroups.resolve()?);
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| net.configure(loader))?;
    for &pid in &filter.pids {
        probes.trace_pid(pid, traced::NOW)?;
    }
    net.attach(&mut probes)?;
    crate::timing::mark("attached");

    let output = args.out.open()?;
    let mut session = Session::new(probes, output)?;
    let mut handler = Binds::new(filter);

    // The snapshot is taken once the probes are attached: a bind made meanwhile is in both, none is in neither.
    let which = if args.all { Which::All } else { Which::Bound };
    let namespaces = cli::namespaces(named_netns);
    let sockets = sockdiag::dump_namespaces(&namespaces, &handler.filter.protos, &handler.filter.families, which)
        .context("taking the snapshot of bound sockets")?;
    let closed = handler.snapshot(sockets, &mut session.io).is_err()
        || session.ready("binds", &handler.filter.describe()).is_err();
    if !closed {
        session.run(&mut handler).await?;
    }
    session.finish();
    Ok(0)
}

/// A UDP socket known to be bound, watched for its release (UDP has no state-change tracepoint).
struct KnownUdp {
    /// The socket's network namespace (inode number): where sock_diag can see it.
    netns: u32,
    pid: Option<u32>,
    start_ns: Option<u64>,
    comm: Vec<u8>,
    family: u16,
    addr: IpAddr,
    port: u16,
    v6only: Option<bool>,
}

/// UDP sockets are checked for release every this many ticks of the session (100 ms).
const UDP_POLL_TICKS: u32 = 10;

struct Binds {
    filter: Filter,
    udp_known: HashMap<u64, KnownUdp>,
    ticks: u32,
    /// tracer's own network namespace (inode number): the others are named on the lines of their events.
    own_netns: u32,
    /// What holds the port of a refused call; the network namespaces of known UDP sockets.
    port_holders: PortHolders,
    /// Traced processes still alive (with --pid): tracing ends when none is left.
    live: HashSet<u32>,
}

impl Binds {
    fn new(filter: Filter) -> Binds {
        let live = filter.pids.clone();
        Binds {
            filter,
            udp_known: HashMap::new(),
            ticks: 0,
            own_netns: netns::own(),
            port_holders: PortHolders::default(),
            live,
        }
    }

    /// ` in net:[4026532281]` for a socket of another network namespace than tracer's; nothing for its own or
    /// when the kernel could not read it.
    fn netns_text(&self, ns: u32) -> String {
        if ns == 0 || ns == self.own_netns { String::new() } else { format!(" in {}", netns::label(ns)) }
    }

    fn snapshot(&mut self, sockets: Vec<DiagSocket>, io: &mut Io) -> Result<(), OutputClosed> {
        let sockets: Vec<DiagSocket> = sockets.into_iter().filter(|s| self.filter.socket_wanted(s)).collect();
        let inodes: HashSet<u64> = sockets.iter().map(|s| s.inode).filter(|&i| i != 0).collect();
        let owners = procfs::socket_owners(Some(&inodes));
        let mut holders = Vec::new();
        for socket in &sockets {
            let mine = self.port_holders.holders_of(socket, &owners, "snapshot");
            if !self.filter.pids.is_empty()
                && !mine.iter().any(|h| h.pid.is_some_and(|p| self.filter.pids.contains(&p)))
            {
                continue;
            }
            if socket.proto == Proto::Udp
                && socket.inode != 0
                && let Some(first) = mine.first()
            {
                self.udp_known.insert(
                    socket.inode,
                    KnownUdp {
                        netns: socket.netns,
                        pid: first.pid,
                        start_ns: first.start_ns,
                        comm: first.comm_bytes().to_vec(),
                        family: socket.family,
                        addr: socket.local,
                        port: socket.port,
                        v6only: socket.v6only,
                    },
                );
            }
            holders.extend(
                mine.into_iter()
                    .filter(|h| self.filter.pids.is_empty() || h.pid.is_some_and(|p| self.filter.pids.contains(&p))),
            );
        }
        io.out.text_only(&format!(
            "{:<5} {:<10} {:>6} {:>6} {:<30} {:<30} {:<10} {:>7} {:<16} {:>4} {:>10} {}",
            "PROTO",
            "STATE",
            "RECV-Q",
            "SEND-Q",
            "LOCAL ADDRESS",
            "PEER ADDRESS",
            "USER",
            "PID",
            "COMMAND",
            "FD",
            "INODE",
            "NETNS"
        ))?;
        // Each row names its holder's cgroup, container and namespace pid as /proc says now.
        let mut origins = Origins::new(Hierarchy::detect());
        for h in &holders {
            io.out.set_origin(h.pid.map(|pid| origins.of_pid(pid)));
            io.out.emit(&records::Holder { held: h }, |_| {
                let pid = h.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
                let fd = h.fd.map_or_else(|| "-".to_string(), |f| f.to_string());
                let inode = h.inode.map_or_else(|| "-".to_string(), |i| i.to_string());
                let comm = if h.pid.is_some() { display_name(h.comm_bytes()) } else { "-".to_string() };
                let user = h.user.as_deref().map_or_else(|| "-".to_string(), |u| display_name(u.as_bytes()));
                let netns = h.netns.map_or_else(|| "?".to_string(), |n| netns::label(n as u32));
                format!(
                    "{:<5} {:<10} {:>6} {:>6} {:<30} {:<30} {user:<10} {pid:>7} {comm:<16} {fd:>4} {inode:>10} {netns}",
                    h.proto,
                    h.state,
                    h.recv_q,
                    h.send_q,
                    h.address(),
                    h.peer()
                )
            })?;
        }
        io.out.set_origin(None);
        if holders.is_empty() {
            io.out.text_only(&format!("(no socket on {})", self.filter.ports_text()))?;
        }
        io.out.flush()
    }

    fn on_bind(&mut self, e: &BindEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let ns_text = self.netns_text(e.netns);
        let known = e.flags & sock_flags::SOCKET_KNOWN != 0;
        let addr = ip_of(e.sa_family, &e.addr);
        let port = if e.bound_port != 0 { e.bound_port } else { e.port };
        let v6only = known.then_some(e.flags & sock_flags::V6ONLY != 0);
        // The address could not be read from the caller's memory (it faulted at entry and at exit).
        let fault = e.flags & sock_flags::ADDR_FAULT != 0;
        let refusal = self.port_holders.refusal(&Attempt::of_bind(e)).unwrap_or_default();
        if e.ret == 0 && e.protocol == proto::UDP && e.inode != 0 && self.filter.protos.contains(&Proto::Udp) {
            self.udp_known.insert(
                e.inode,
                KnownUdp {
                    netns: e.netns,
                    pid: Some(e.header.pid),
                    start_ns: records::known_start(e.header.start_ns),
                    comm: c_bytes(&e.header.comm).to_vec(),
                    family: e.family,
                    addr,
                    port,
                    v6only,
                },
            );
        }
        let errno = errno::of_return(e.ret.into());
        let mut record = Bind::of(e, &io.clock);
        let (holder_pid, holder_start_ns, conflict) = refusal.conflict();
        record.outcome.held_by(holder_pid, holder_start_ns, conflict);
        io.out.emit(&record, |r| {
            let mut line = format!(
                "{} bind   {:<5} {:<24} {} ({}) fd={}",
                timestamp(r.ts_ns, 2),
                r.proto.unwrap_or("?"),
                if fault { format!("?:{port}") } else { show_addr(addr, port, e.scope_id, v6only) },
                e.header.pid,
                display_name(c_bytes(&e.header.comm)),
                e.fd
            );
            if e.port == 0 && e.bound_port != 0 {
                line.push_str(" (port 0: kernel picked)");
            }
            line.push_str(&options_text(e.flags));
            line.push_str(&ns_text);
            line.push_str(&result_text(e.ret, errno));
            line.push_str(&refusal.text());
            line
        })
    }

    fn on_listen(&mut self, e: &SockEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let ns_text = self.netns_text(e.netns);
        let addr = ip_of(e.family, &e.addr);
        let v6only = e.flags & sock_flags::V6ONLY != 0;
        // A socket that entered LISTEN outside the listen() syscall (reported from inet_sock_set_state).
        let from_syscall = e.fd >= 0;
        let refusal = self.port_holders.refusal(&Attempt::of_listen(e)).unwrap_or_default();
        let errno = errno::of_return(e.ret.into());
        let mut record = Listen::of(e, &io.clock);
        let (holder_pid, holder_start_ns, conflict) = refusal.conflict();
        record.outcome.held_by(holder_pid, holder_start_ns, conflict);
        io.out.emit(&record, |r| {
            let mut line = format!(
                "{} listen {:<5} {:<24} {} ({})",
                timestamp(r.ts_ns, 2),
                r.proto,
                show_addr(addr, e.port, 0, Some(v6only)),
                e.header.pid,
                display_name(c_bytes(&e.header.comm)),
            );
            if from_syscall {
                line.push_str(&format!(" fd={} backlog={}", e.fd, e.backlog));
            } else {
                line.push_str(" (not by listen(): io_uring)");
            }
            line.push_str(&options_text(e.flags));
            line.push_str(&ns_text);
            line.push_str(&result_text(e.ret, errno));
            line.push_str(&refusal.text());
            line
        })
    }

    fn on_state(&mut self, e: &SockEvent, io: &mut Io) -> Result<(), OutputClosed> {
        if e.newstate == tcp_state::LISTEN {
            return self.on_listen(e, io); // without listen(): an io_uring IORING_OP_LISTEN
        }
        if e.oldstate != tcp_state::LISTEN {
            return Ok(());
        }
        io.out.emit(&Close::of(e, &io.clock), |r| {
            format!(
                "{} close  {:<5} {:<24} {} ({}): no longer listening, port released",
                timestamp(r.ts_ns, 2),
                r.proto,
                show_addr(ip_of(e.family, &e.addr), e.port, 0, Some(e.flags & sock_flags::V6ONLY != 0)),
                e.header.pid,
                display_name(c_bytes(&e.header.comm)),
            )
        })
    }

    /// UDP sockets have no state tracepoint: the ones known to be bound are looked for in sock_diag, each in its
    /// own network namespace, and those gone are reported as closed. A socket whose namespace cannot be looked in
    /// is not called closed.
    fn poll_udp(&mut self, io: &mut Io) -> Result<(), OutputClosed> {
        if self.udp_known.is_empty() {
            return Ok(());
        }
        let mut namespaces: HashMap<u32, Option<u32>> = HashMap::new();
        for k in self.udp_known.values() {
            namespaces.entry(k.netns).or_insert(k.pid);
        }
        self.port_holders.keep_namespaces(&namespaces);
        let mut present = HashSet::new();
        let mut looked_in = HashSet::new();
        for &ns in namespaces.keys() {
            let dump = || -> Result<Vec<DiagSocket>, sockdiag::SockDiagError> {
                let mut all = sockdiag::dump(Proto::Udp, AF_INET, Which::All)?;
                all.extend(sockdiag::dump(Proto::Udp, AF_INET6, Which::All)?);
                Ok(all)
            };
            // Not looked in (gone, or failed): tried again at the next poll.
            if let Ok(sockets) = self.port_holders.dump_in(ns, None, dump) {
                present.extend(sockets.iter().map(|s| s.inode));
                looked_in.insert(ns);
            }
        }
        let gone: Vec<u64> = self
            .udp_known
            .iter()
            .filter(|(inode, k)| looked_in.contains(&k.netns) && !present.contains(inode))
            .map(|(&inode, _)| inode)
            .collect();
        let ts_ns = io.clock.wall_ns(io.clock.monotonic_now());
        for inode in gone {
            let Some(k) = self.udp_known.remove(&inode) else { continue };
            let record = Close {
                ts_ns,
                pid: k.pid,
                start_ns: k.start_ns,
                comm: Text::of_some(k.pid.map(|_| k.comm.as_slice())),
                proto: "udp",
                family: family_name(k.family),
                addr: k.addr.to_string(),
                port: k.port,
                inode: Some(inode),
                netns: (k.netns != 0).then_some(u64::from(k.netns)),
                source: "poll",
            };
            io.out.emit(&record, |r| {
                let who =
                    k.pid.map_or_else(|| "no process".to_string(), |p| format!("{p} ({})", display_name(&k.comm)));
                format!(
                    "{} close  udp   {:<24} {who}: socket gone, port released (seen by polling)",
                    timestamp(r.ts_ns, 2),
                    show_addr(k.addr, k.port, 0, k.v6only),
                )
            })?;
        }
        Ok(())
    }
}

impl Handler for Binds {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Bind(e) => self.on_bind(e, io),
            Event::Listen(e) => self.on_listen(e, io),
            Event::SockState(e) => self.on_state(e, io),
            _ => Ok(()),
        }
    }

    fn tick(&mut self, _probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        self.ticks = self.ticks.wrapping_add(1);
        self.live.retain(|&pid| procfs::exists(pid));
        if self.ticks.is_multiple_of(UDP_POLL_TICKS) { self.poll_udp(io) } else { Ok(()) }
    }

    fn finished(&self) -> bool {
        !self.filter.pids.is_empty() && self.live.is_empty()
    }
}

fn options_text(flags: u32) -> String {
    let mut out = String::new();
    for (bit, name) in [
        (sock_flags::REUSEADDR, "SO_REUSEADDR"),
        (sock_flags::REUSEPORT, "SO_REUSEPORT"),
        (sock_flags::V6ONLY, "IPV6_V6ONLY"),
    ] {
        if flags & bit != 0 {
            out.push(' ');
            out.push_str(name);
        }
    }
    out
}

fn result_text(ret: i32, errno: Option<(&str, &str)>) -> String {
    match errno {
        Some((name, text)) => format!(" = -1 {name} ({text})"),
        None => format!(" = {ret}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ports() {
        assert_eq!(parse_ports("80"), Ok(vec![80]));
        assert_eq!(parse_ports("80,443"), Ok(vec![80, 443]));
        assert_eq!(parse_ports("65535"), Ok(vec![65535]));
        assert!(parse_ports("0").unwrap_err().contains("1-65535"));
        assert!(parse_ports("70000").unwrap_err().contains("1-65535"));
        assert!(parse_ports("abc").unwrap_err().contains("not a port"));
        assert!(parse_ports("").is_err());
    }
}
