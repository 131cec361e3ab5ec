//! Who holds a port: the sockets sock_diag lists on it, with the processes holding them from /proc/PID/fd. What
//! explains a bind or listen refused with EADDRINUSE (`tracer binds`, `tracer monitor`): a lookup made when the
//! refusal is reported, in the socket's own network namespace (a container's port is not the host's).

use std::{
    collections::{HashMap, HashSet},
    fs::File,
    net::{IpAddr, Ipv4Addr},
    time::{Duration, Instant},
};

use serde::Serialize;
use tracer_common::net::{AF_INET, AF_INET6, BindEvent, SockEvent, proto, sock_flags, tcp_state};

use super::{DiagSocket, Proto, SockDiagError, Which, netns};
use crate::{
    escape::{Text, display_name},
    linux::{
        net::{family_name, ip_of, show_addr},
        users::UserNames,
    },
    procfs::{self, SocketOwner},
    records::{Conflict, MaybeText, field},
};

/// A process holding a socket, or the socket alone when no process has it open (TIME-WAIT, kernel sockets,
/// processes in another pid namespace).
#[derive(Clone, Debug, Serialize)]
pub struct Holder {
    pub source: &'static str,
    pub pid: Option<u32>,
    /// The process's start time from /proc (to the clock tick); null when unknown or no process holds it.
    pub start_ns: Option<u64>,
    #[serde(flatten)]
    pub comm: MaybeText<field::Comm>,
    pub fd: Option<i32>,
    pub proto: &'static str,
    pub family: &'static str,
    pub addr: String,
    pub port: u16,
    pub state: &'static str,
    #[serde(skip)]
    pub scope_id: u32,
    pub inode: Option<u64>,
    /// The network namespace the socket is in (its inode number); null when not known.
    pub netns: Option<u64>,
    /// The holding process's effective uid (ps's and lsof's USER); the socket's own uid when no process holds it.
    pub uid: u32,
    pub v6only: Option<bool>,
    /// The user named by `uid`; null when it has no name, or for a socket no fd names (TIME-WAIT: no owner).
    pub user: Option<String>,
    /// The socket's uid (sock_diag's, `ss -e`'s): its creator's, root for a server's workers that inherited their
    /// listener from a master started as root, whatever user they run as.
    pub sock_uid: u32,
    /// The far end of a connected socket; null when it has none (listening, bound, unconnected UDP).
    pub peer_addr: Option<String>,
    pub peer_port: Option<u16>,
    /// ss's Recv-Q: for a listener, the connections waiting in its accept queue; else bytes not yet read.
    pub recv_q: u32,
    /// ss's Send-Q: for a listener, its backlog (the accept queue's limit); else bytes not yet acknowledged.
    pub send_q: u32,
    #[serde(skip)]
    pub peer_ip: IpAddr,
}

impl Holder {
    /// One holder per process holding `socket` open (`owners`, by inode), or the socket alone.
    fn from_socket(
        socket: &DiagSocket,
        owners: &HashMap<u64, Vec<SocketOwner>>,
        users: &mut UserNames,
        source: &'static str,
    ) -> Vec<Holder> {
        let connected = socket.remote_port != 0;
        let base = Holder {
            source,
            pid: None,
            start_ns: None,
            comm: Text::default(),
            fd: None,
            proto: socket.proto.name(),
            family: family_name(socket.family),
            addr: socket.local.to_string(),
            port: socket.port,
            state: super::state_name(socket.proto, socket.state),
            scope_id: socket.scope_id,
            inode: (socket.inode != 0).then_some(socket.inode),
            netns: (socket.netns != 0).then_some(u64::from(socket.netns)),
            uid: socket.uid,
            v6only: socket.v6only,
            user: (socket.inode != 0).then(|| users.name(socket.uid)).flatten(),
            sock_uid: socket.uid,
            peer_addr: connected.then(|| socket.remote.to_string()),
            peer_port: connected.then_some(socket.remote_port),
            recv_q: socket.recv_q,
            send_q: socket.send_q,
            peer_ip: socket.remote,
        };
        let holders = procfs::socket_holders(socket.inode, owners);
        if holders.is_empty() {
            return vec![base];
        }
        holders
            .into_iter()
            .map(|holder| {
                // Gone meanwhile: the socket's uid is all that is known.
                let uid = holder.uid.unwrap_or(socket.uid);
                Holder {
                    pid: Some(holder.pid),
                    start_ns: holder.start_ns,
                    comm: Text::new(Some(holder.comm)),
                    fd: Some(holder.fd),
                    uid,
                    user: users.name(uid),
                    ..base.clone()
                }
            })
            .collect()
    }

    /// The holding process's name as bytes (empty for a socket alone).
    pub fn comm_bytes(&self) -> &[u8] {
        self.comm.value.as_deref().unwrap_or_default()
    }

    /// The far end as ss prints it: `127.0.0.1:6379`, or `0.0.0.0:*` / `[::]:*` when there is none.
    pub fn peer(&self) -> String {
        match self.peer_port {
            Some(port) => show_addr(self.peer_ip, port, 0, None),
            None => match self.peer_ip {
                IpAddr::V4(v4) => format!("{v4}:*"),
                IpAddr::V6(v6) => format!("[{v6}]:*"),
            },
        }
    }

    fn ip(&self) -> IpAddr {
        self.addr.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// `0.0.0.0:80`, `[::]:80`, as `show_addr` spells addresses.
    pub fn address(&self) -> String {
        show_addr(self.ip(), self.port, self.scope_id, self.v6only)
    }

    /// `pid 1234 (nginx) fd=6`, or `no process` for a socket nobody holds open.
    fn who(&self) -> String {
        match (self.pid, self.fd) {
            (Some(pid), Some(fd)) => format!("{pid} ({}) fd={fd}", display_name(self.comm_bytes())),
            _ => "no process".to_string(),
        }
    }
}

/// How long an EADDRINUSE lookup answers for the same port (a process retrying in a loop costs one lookup).
const LOOKUP_TTL: Duration = Duration::from_millis(500);
const EADDRINUSE: i32 = 98;

/// Why the sockets holding a port could not be looked up (the `holder_unknown` of a refused bind or listen).
const NETNS_UNKNOWN: &str = "the socket's network namespace is unknown";
const NETNS_GONE: &str = "no process is left in the socket's network namespace";
const LOOKUP_FAILED: &str = "sock_diag failed";

/// A sock_diag lookup of one port, both families, with the processes holding its sockets.
struct Lookup {
    at: Instant,
    /// The sockets, or why they are unknown.
    sockets: Result<Vec<DiagSocket>, &'static str>,
    owners: HashMap<u64, Vec<SocketOwner>>,
}

/// What refused a bind or listen, looked up once per port and namespace for `LOOKUP_TTL`.
pub struct PortHolders {
    /// Per (protocol, port, network namespace).
    lookups: HashMap<(Proto, u16, u32), Lookup>,
    /// tracer's own network namespace (inode number).
    own_netns: u32,
    /// Other network namespaces kept open between lookups (`keep_namespaces`).
    namespaces: HashMap<u32, File>,
    /// The holders' user names.
    users: UserNames,
}

/// The holders of a refused call's port, and why they are unknown when they are.
#[derive(Default)]
pub struct Refusal {
    pub holders: Vec<Holder>,
    pub unknown: Option<&'static str>,
}

impl Refusal {
    /// The `holder_pid`, its `holder_start_ns` and the rest of the record's conflict fields: the first holder with
    /// a process.
    pub fn conflict(&self) -> (Option<u32>, Option<u64>, Conflict<'_, Holder>) {
        let holder = self.holders.iter().find(|h| h.pid.is_some());
        let conflict = Conflict {
            holder_comm: Text::of_some(holder.map(Holder::comm_bytes)),
            holders: &self.holders,
            holder_unknown: self.unknown,
        };
        (holder.and_then(|h| h.pid), holder.and_then(|h| h.start_ns), conflict)
    }

    /// `; held by 1234 (nginx) fd=6 tcp LISTEN 0.0.0.0:80 (also: ...)`, `; holder unknown: why`, or nothing.
    pub fn text(&self) -> String {
        if let Some(why) = self.unknown {
            return format!("; holder unknown: {why}");
        }
        let Some(first) = self.holders.first() else { return String::new() };
        let mut text = format!("; held by {} {} {} {}", first.who(), first.proto, first.state, first.address());
        if self.holders.len() > 1 {
            let others: Vec<String> =
                self.holders[1..].iter().take(8).map(|h| format!("{} {}", h.who(), h.state)).collect();
            text.push_str(&format!(
                " (also: {}{})",
                others.join(", "),
                if self.holders.len() > 9 { ", ..." } else { "" }
            ));
        }
        text
    }
}

/// A bind or listen as the kernel reported it: what is needed to look into its refusal.
pub struct Attempt {
    /// The kernel's protocol number (`tracer_common::net::proto`).
    pub protocol: u16,
    pub ret: i32,
    pub addr: IpAddr,
    pub port: u16,
    pub v6only: bool,
    /// The refused socket's own inode (not a holder of the port), 0 when unknown.
    pub inode: u64,
    /// Its network namespace's inode number, 0 when unknown.
    pub netns: u32,
    /// The process that made the call: the way into its namespace.
    pub pid: u32,
}

impl Attempt {
    /// A bind() as the kernel reported it (the port the kernel picked for port 0, when it did).
    pub fn of_bind(e: &BindEvent) -> Attempt {
        let known = e.flags & sock_flags::SOCKET_KNOWN != 0;
        Attempt {
            protocol: e.protocol,
            ret: e.ret,
            addr: ip_of(e.sa_family, &e.addr),
            port: if e.bound_port != 0 { e.bound_port } else { e.port },
            v6only: known && e.flags & sock_flags::V6ONLY != 0,
            inode: e.inode,
            netns: e.netns,
            pid: e.header.pid,
        }
    }

    /// A socket that started listening, or was refused.
    pub fn of_listen(e: &SockEvent) -> Attempt {
        Attempt {
            protocol: e.protocol,
            ret: e.ret,
            addr: ip_of(e.family, &e.addr),
            port: e.port,
            v6only: e.flags & sock_flags::V6ONLY != 0,
            inode: e.inode,
            netns: e.netns,
            pid: e.header.pid,
        }
    }
}

impl Default for PortHolders {
    fn default() -> Self {
        PortHolders {
            lookups: HashMap::new(),
            own_netns: netns::own(),
            namespaces: HashMap::new(),
            users: UserNames::default(),
        }
    }
}

impl PortHolders {
    /// The holders of `socket` (one per process holding it open, from `owners`), users named from this cache.
    pub fn holders_of(
        &mut self,
        socket: &DiagSocket,
        owners: &HashMap<u64, Vec<SocketOwner>>,
        source: &'static str,
    ) -> Vec<Holder> {
        Holder::from_socket(socket, owners, &mut self.users, source)
    }

    /// Keeps the network namespaces `wanted` (inode number → a process in it, if known) open between lookups,
    /// and closes the others.
    pub fn keep_namespaces(&mut self, wanted: &HashMap<u32, Option<u32>>) {
        self.namespaces.retain(|ns, _| wanted.contains_key(ns));
        for (&ns, &hint) in wanted {
            if ns != self.own_netns
                && !self.namespaces.contains_key(&ns)
                && let Some(file) = netns::open(ns, hint)
            {
                self.namespaces.insert(ns, file);
            }
        }
    }

    /// `dump` run in the network namespace `ns` (0: unknown), reached through the process `hint` if it is still
    /// there; tracer's own namespace directly.
    pub fn dump_in<R: Send>(
        &self,
        ns: u32,
        hint: Option<u32>,
        dump: impl FnOnce() -> Result<R, SockDiagError> + Send,
    ) -> Result<R, &'static str> {
        if ns == 0 {
            return Err(NETNS_UNKNOWN);
        }
        let result = if ns == self.own_netns {
            dump()
        } else {
            let opened;
            let file = match self.namespaces.get(&ns) {
                Some(file) => file,
                None => {
                    opened = netns::open(ns, hint).ok_or(NETNS_GONE)?;
                    &opened
                }
            };
            netns::run_in(file, dump).ok_or(NETNS_GONE)?
        };
        result.map_err(|err| {
            eprintln!("tracer: sock_diag: {err}");
            LOOKUP_FAILED
        })
    }

    /// Who holds the port of a call refused with EADDRINUSE; `None` for any other result (or a protocol
    /// sock_diag is not asked about, or port 0).
    pub fn refusal(&mut self, attempt: &Attempt) -> Option<Refusal> {
        let proto = match attempt.protocol {
            proto::TCP => Proto::Tcp,
            proto::UDP => Proto::Udp,
            _ => return None,
        };
        if attempt.ret != -EADDRINUSE || attempt.port == 0 {
            return None;
        }
        Some(match self.conflicts(proto, attempt) {
            Ok(holders) => Refusal { holders, unknown: None },
            Err(why) => Refusal { holders: Vec::new(), unknown: Some(why) },
        })
    }

    /// The sockets that make a bind to `addr:port` fail (overlapping address, both families), in the socket's
    /// network namespace (reached through the caller), with the processes holding them: listeners first, then
    /// bound sockets, then connections and TIME-WAIT. Why they are unknown when they cannot be looked up.
    fn conflicts(&mut self, proto: Proto, attempt: &Attempt) -> Result<Vec<Holder>, &'static str> {
        let Attempt { addr, port, v6only, inode: own_inode, netns, pid: binder, .. } = *attempt;
        let now = Instant::now();
        self.lookups.retain(|_, lookup| now.duration_since(lookup.at) < LOOKUP_TTL);
        if !self.lookups.contains_key(&(proto, port, netns)) {
            let sockets = self
                .dump_in(netns, Some(binder), || super::dump_all(&[proto], &[AF_INET, AF_INET6], Which::All))
                .map(|all| {
                    all.into_iter().filter(|s| s.port == port).map(|s| DiagSocket { netns, ..s }).collect::<Vec<_>>()
                });
            // Socket inodes are unique across namespaces: /proc/PID/fd names them the same from anywhere.
            let inodes: HashSet<u64> = sockets.iter().flatten().map(|s| s.inode).filter(|&i| i != 0).collect();
            let owners = procfs::socket_owners(Some(&inodes));
            self.lookups.insert((proto, port, netns), Lookup { at: now, sockets, owners });
        }
        let Lookup { sockets, owners, .. } = &self.lookups[&(proto, port, netns)];
        let sockets = sockets.as_ref().map_err(|why| *why)?;
        let mut matching: Vec<&DiagSocket> = sockets
            .iter()
            .filter(|s| s.inode != own_inode || own_inode == 0)
            .filter(|s| super::overlaps(s.local, s.v6only.unwrap_or(false), addr, v6only))
            .collect();
        let rank = |s: &DiagSocket| match s.state {
            tcp_state::LISTEN => 0,
            tcp_state::CLOSE | tcp_state::BOUND_INACTIVE => 1,
            _ => 2,
        };
        matching.sort_by_key(|s| (rank(s), s.inode == 0));
        let users = &mut self.users;
        let mut holders: Vec<Holder> =
            matching.iter().flat_map(|s| Holder::from_socket(s, owners, users, "lookup")).collect();
        // Within a rank, holders with a process first (stable: the socket order above is kept).
        holders.sort_by_key(|h| (rank_state(h.state), h.pid.is_none()));
        Ok(holders)
    }
}

fn rank_state(state: &str) -> u8 {
    match state {
        "LISTEN" => 0,
        "UNCONN" | "BOUND" => 1,
        _ => 2,
    }
}
