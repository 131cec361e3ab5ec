//! The kernel's socket tables through sock_diag netlink (`NETLINK_SOCK_DIAG`, `inet_diag_req_v2`), as `ss` reads
//! them: TCP and UDP, IPv4 and IPv6, with each socket's inode, which /proc/PID/fd links name (`socket:[INODE]`).
//!
//! A dump sees only the network namespace it is asked from: sockets of containers in their own namespaces are
//! listed by a dump run inside each of them (`netns`, `dump_namespaces`). `holders`: who holds a port, for a refused bind.

pub mod holders;
pub mod netns;

use std::{
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd as _,
    time::Duration,
};

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::{
    SockDiagMessage,
    inet::{ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags, nlas::Nla},
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};
use tracer_common::net::{AF_INET, AF_INET6, proto, tcp_state};

#[derive(Debug, thiserror::Error)]
pub enum SockDiagError {
    #[error("cannot open a NETLINK_SOCK_DIAG socket: {0}")]
    Open(io::Error),
    #[error("sending the sock_diag request failed: {0}")]
    Send(io::Error),
    #[error("reading the sock_diag answer failed: {0}")]
    Recv(io::Error),
    #[error("the kernel refused the sock_diag request: {0}")]
    Refused(io::Error),
    #[error("malformed sock_diag answer: {0}")]
    Malformed(String),
}

/// Protocols sock_diag is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    fn ipproto(self) -> u8 {
        match self {
            Proto::Tcp => proto::TCP as u8,
            Proto::Udp => proto::UDP as u8,
        }
    }
}

/// One socket as sock_diag reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagSocket {
    pub proto: Proto,
    /// `AF_INET` or `AF_INET6`.
    pub family: u16,
    /// `tcp_state::*` (UDP: CLOSE when unconnected, ESTABLISHED when connected).
    pub state: u8,
    pub local: IpAddr,
    pub port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// IPv6 scope (interface index) of the local address, 0 when none.
    pub scope_id: u32,
    /// 0 for sockets without one (TIME_WAIT, request sockets, kernel sockets).
    pub inode: u64,
    pub uid: u32,
    /// For IPv6 sockets: `IPV6_V6ONLY`.
    pub v6only: Option<bool>,
    /// `idiag_rqueue`, ss's Recv-Q: for a listener, the connections waiting in its accept queue; otherwise the
    /// bytes received and not yet read.
    pub recv_q: u32,
    /// `idiag_wqueue`, ss's Send-Q: for a listener, its backlog (the accept queue's limit); otherwise the bytes
    /// sent and not yet acknowledged.
    pub send_q: u32,
    /// The network namespace it was listed in (inode number), 0 when not said.
    pub netns: u32,
}

/// Which sockets a dump asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// What holds a port without a connection: TCP LISTEN and bound-only sockets, every UDP socket.
    Bound,
    /// Every state (connections and TIME_WAIT too).
    All,
    /// What serves a port, as `ss -l` lists it: TCP LISTEN, unconnected UDP sockets.
    Listening,
}

const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// All sockets of `proto` and `family` in this network namespace.
pub fn dump(proto: Proto, family: u16, which: Which) -> Result<Vec<DiagSocket>, SockDiagError> {
    let mut out = Vec::new();
    match (proto, which) {
        (Proto::Tcp, Which::Bound) => {
            out.extend(request(proto, family, 1 << tcp_state::LISTEN)?);
            // Bound, neither listening nor connected (Linux 6.5+: older kernels answer with nothing). Asked for
            // alone, as the kernel wants it.
            out.extend(request(proto, family, 1 << tcp_state::BOUND_INACTIVE)?);
        }
        (Proto::Tcp, Which::All) => {
            out.extend(request(proto, family, 0xfff)?);
            out.extend(request(proto, family, 1 << tcp_state::BOUND_INACTIVE)?);
        }
        (Proto::Tcp, Which::Listening) => out.extend(request(proto, family, 1 << tcp_state::LISTEN)?),
        // An unconnected UDP socket is in TCP_CLOSE; an unbound one is not listed at all.
        (Proto::Udp, Which::Listening) => out.extend(request(proto, family, 1 << tcp_state::CLOSE)?),
        (Proto::Udp, _) => out.extend(request(proto, family, 0xfff)?),
    }
    Ok(out)
}

/// Sockets of every family and protocol asked for, in a stable order: protocol, family, port, address.
pub fn dump_all(protos: &[Proto], families: &[u16], which: Which) -> Result<Vec<DiagSocket>, SockDiagError> {
    let mut out = Vec::new();
    for &proto in protos {
        for &family in families {
            out.extend(dump(proto, family, which)?);
        }
    }
    out.sort_by(|a, b| {
        (a.proto, a.family, a.port, a.local, a.state, a.inode)
            .cmp(&(b.proto, b.family, b.port, b.local, b.state, b.inode))
    });
    out.dedup();
    Ok(out)
}

/// `dump_all` in each of `namespaces` (tracer's own directly, the others from a thread that entered them), each
/// socket naming its namespace. A namespace that cannot be entered or read (its last process exited meanwhile)
/// is left out with a warning on stderr; a failure in tracer's own namespace is an error.
pub fn dump_namespaces(
    namespaces: &[netns::Namespace],
    protos: &[Proto],
    families: &[u16],
    which: Which,
) -> Result<Vec<DiagSocket>, SockDiagError> {
    let own = netns::own();
    let mut out = Vec::new();
    for ns in namespaces {
        let dump = || dump_all(protos, families, which);
        let listed = if ns.inode == own {
            dump()?
        } else {
            match netns::run_in(&ns.file, dump) {
                Some(Ok(listed)) => listed,
                Some(Err(err)) => {
                    eprintln!("tracer: warning: the sockets of {} cannot be listed: {err}", netns::label(ns.inode));
                    continue;
                }
                None => {
                    eprintln!(
                        "tracer: warning: {} cannot be entered: its sockets are not listed",
                        netns::label(ns.inode)
                    );
                    continue;
                }
            }
        };
        out.extend(listed.into_iter().map(|socket| DiagSocket { netns: ns.inode, ..socket }));
    }
    Ok(out)
}

fn request(proto: Proto, family: u16, states: u32) -> Result<Vec<DiagSocket>, SockDiagError> {
    let socket_id = if family == AF_INET6 { SocketId::new_v6() } else { SocketId::new_v4() };
    let request = SockDiagMessage::InetRequest(InetRequest {
        family: family as u8,
        protocol: proto.ipproto(),
        extensions: ExtensionFlags::empty(),
        // `from_bits_retain`: the crate's flags stop at CLOSING; the kernel knows more states.
        states: StateFlags::from_bits_retain(states),
        socket_id,
    });
    let mut out = Vec::new();
    exchange(request, |message| {
        if let SockDiagMessage::InetResponse(response) = message
            && let Some(socket) = convert(proto, &response)
        {
            out.push(socket);
        }
    })?;
    Ok(out)
}

fn set_timeout(socket: &Socket) -> Result<(), SockDiagError> {
    let tv = libc::timeval { tv_sec: SEND_TIMEOUT.as_secs() as _, tv_usec: 0 };
    // SAFETY: a valid fd and a timeval of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(SockDiagError::Open(io::Error::last_os_error()));
    }
    Ok(())
}

fn convert(proto: Proto, response: &InetResponse) -> Option<DiagSocket> {
    let header = &response.header;
    let family = u16::from(header.family);
    if family != AF_INET && family != AF_INET6 {
        return None;
    }
    let id = &header.socket_id;
    let v6only = response.nlas.iter().find_map(|nla| match nla {
        Nla::SkV6Only(v) => Some(*v),
        _ => None,
    });
    Some(DiagSocket {
        proto,
        family,
        state: header.state,
        local: id.source_address,
        port: id.source_port,
        remote: id.destination_address,
        remote_port: id.destination_port,
        scope_id: if family == AF_INET6 { id.interface_id } else { 0 },
        inode: u64::from(header.inode),
        uid: header.uid,
        v6only,
        recv_q: header.recv_queue,
        send_q: header.send_queue,
        netns: 0,
    })
}

/// A state as `ss` prints it.
pub fn state_name(proto: Proto, state: u8) -> &'static str {
    match (proto, state) {
        (Proto::Udp, tcp_state::CLOSE) => "UNCONN",
        (_, tcp_state::ESTABLISHED) => "ESTAB",
        (_, tcp_state::SYN_SENT) => "SYN-SENT",
        (_, tcp_state::SYN_RECV) => "SYN-RECV",
        (_, tcp_state::FIN_WAIT1) => "FIN-WAIT-1",
        (_, tcp_state::FIN_WAIT2) => "FIN-WAIT-2",
        (_, tcp_state::TIME_WAIT) => "TIME-WAIT",
        (_, tcp_state::CLOSE) => "UNCONN",
        (_, tcp_state::CLOSE_WAIT) => "CLOSE-WAIT",
        (_, tcp_state::LAST_ACK) => "LAST-ACK",
        (_, tcp_state::LISTEN) => "LISTEN",
        (_, tcp_state::CLOSING) => "CLOSING",
        (_, tcp_state::NEW_SYN_RECV) => "SYN-RECV",
        (_, tcp_state::BOUND_INACTIVE) => "BOUND",
        _ => "UNKNOWN",
    }
}

/// Whether a socket bound to `held` (of family `held_family`, `held_v6only`) would make a bind to `wanted`
/// (of family `wanted_family`) on the same port and protocol fail: the addresses overlap, counting wildcards and
/// IPv4-mapped IPv6 addresses, and a dual-stack `[::]` covering every IPv4 address.
pub fn overlaps(held: IpAddr, held_v6only: bool, wanted: IpAddr, wanted_v6only: bool) -> bool {
    let as_v4 = |ip: IpAddr| -> Option<Ipv4Addr> {
        match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        }
    };
    let is_v6_any = |ip: IpAddr| ip == IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    // The IPv4 side of each: its address, or "any" for a dual-stack [::], or none for an IPv6-only address.
    let v4_side = |ip: IpAddr, v6only: bool| -> Option<Ipv4Addr> {
        if is_v6_any(ip) {
            return (!v6only).then_some(Ipv4Addr::UNSPECIFIED);
        }
        as_v4(ip)
    };
    match (held, wanted) {
        (IpAddr::V6(h), IpAddr::V6(w)) if h.to_ipv4_mapped().is_none() && w.to_ipv4_mapped().is_none() => {
            h.is_unspecified() || w.is_unspecified() || h == w
        }
        _ => {
            if is_v6_any(held) && is_v6_any(wanted) {
                return true;
            }
            match (v4_side(held, held_v6only), v4_side(wanted, wanted_v6only)) {
                (Some(h), Some(w)) => h.is_unspecified() || w.is_unspecified() || h == w,
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn overlapping_addresses() {
        assert!(overlaps(ip("0.0.0.0"), false, ip("127.0.0.1"), false));
        assert!(overlaps(ip("127.0.0.1"), false, ip("0.0.0.0"), false));
        assert!(!overlaps(ip("127.0.0.1"), false, ip("127.0.0.2"), false));
        // A dual-stack [::] holds every IPv4 address; a v6-only one does not.
        assert!(overlaps(ip("::"), false, ip("0.0.0.0"), false));
        assert!(overlaps(ip("::"), false, ip("127.0.0.1"), false));
        assert!(!overlaps(ip("::"), true, ip("0.0.0.0"), false));
        assert!(overlaps(ip("0.0.0.0"), false, ip("::"), false));
        assert!(!overlaps(ip("0.0.0.0"), false, ip("::"), true));
        assert!(overlaps(ip("::"), true, ip("::1"), false));
        assert!(!overlaps(ip("::1"), false, ip("::2"), false));
        assert!(overlaps(ip("::ffff:127.0.0.1"), false, ip("127.0.0.1"), false));
        assert!(!overlaps(ip("::1"), false, ip("127.0.0.1"), false));
    }

    #[test]
    fn state_names_as_ss_prints_them() {
        assert_eq!(state_name(Proto::Tcp, tcp_state::LISTEN), "LISTEN");
        assert_eq!(state_name(Proto::Udp, tcp_state::CLOSE), "UNCONN");
        assert_eq!(state_name(Proto::Udp, tcp_state::ESTABLISHED), "ESTAB");
        assert_eq!(state_name(Proto::Tcp, tcp_state::TIME_WAIT), "TIME-WAIT");
    }

    #[test]
    fn dumps_a_socket_of_this_process() {
        // Needs no privileges: sock_diag lists every socket of the namespace to anyone.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = dump(Proto::Tcp, AF_INET, Which::Bound).unwrap();
        let mine: Vec<_> = sockets.iter().filter(|s| s.port == port).collect();
        assert_eq!(mine.len(), 1, "{sockets:?}");
        assert_eq!(mine[0].state, tcp_state::LISTEN);
        assert_eq!(mine[0].local, ip("127.0.0.1"));
        assert_ne!(mine[0].inode, 0);
        let udp = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        let sockets = dump(Proto::Udp, AF_INET6, Which::Bound).unwrap();
        let mine: Vec<_> = sockets.iter().filter(|s| s.port == port).collect();
        assert_eq!(mine.len(), 1, "{sockets:?}");
        // The kernel sets IPV6_V6ONLY itself on a bind to a specific IPv6 address.
        assert_eq!((mine[0].state, mine[0].local, mine[0].v6only), (tcp_state::CLOSE, ip("::1"), Some(true)));
    }
}

/// One AF_UNIX socket as sock_diag reports it (`unix_diag`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSocket {
    pub inode: u64,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`.
    pub kind: u8,
    /// The connected peer's inode, 0 when none.
    pub peer: u64,
    /// The bound name: a path, or `@name` for the abstract namespace; empty when unbound.
    pub name: String,
}

/// Every AF_UNIX socket of this network namespace, with its peer and name.
pub fn dump_unix() -> Result<Vec<UnixSocket>, SockDiagError> {
    use netlink_packet_sock_diag::unix::{
        ShowFlags, StateFlags as UnixStates, UnixRequest,
        nlas::{Nla as UnixNla, UnixDiagName},
    };
    let request = SockDiagMessage::UnixRequest(UnixRequest {
        state_flags: UnixStates::from_bits_retain(u32::MAX),
        inode: 0,
        show_flags: ShowFlags::NAME | ShowFlags::PEER,
        cookie: [0xff; 8],
    });
    let mut out = Vec::new();
    exchange(request, |message| {
        if let SockDiagMessage::UnixResponse(response) = message {
            let mut socket = UnixSocket {
                inode: u64::from(response.header.inode),
                kind: response.header.kind,
                peer: 0,
                name: String::new(),
            };
            for nla in &response.nlas {
                match nla {
                    UnixNla::Peer(peer) => socket.peer = u64::from(*peer),
                    UnixNla::Name(UnixDiagName::Pathname(path)) => socket.name = path.to_string_lossy().into_owned(),
                    UnixNla::Name(UnixDiagName::Abstract(name)) => {
                        socket.name = format!("@{}", String::from_utf8_lossy(name));
                    }
                    _ => {}
                }
            }
            out.push(socket);
        }
    })?;
    Ok(out)
}

/// Sends one dump request and hands every answer to `each` until the kernel says it is done.
fn exchange(request: SockDiagMessage, mut each: impl FnMut(SockDiagMessage)) -> Result<(), SockDiagError> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(SockDiagError::Open)?;
    socket.bind_auto().map_err(SockDiagError::Open)?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(SockDiagError::Open)?;
    set_timeout(&socket)?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = 1;
    let mut packet = NetlinkMessage::new(header, request.into());
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf);
    socket.send(&buf, 0).map_err(SockDiagError::Send)?;
    let mut recv = vec![0u8; 64 * 1024];
    loop {
        let mut slice = &mut recv[..];
        let size = socket.recv(&mut slice, 0).map_err(SockDiagError::Recv)?;
        if size == 0 {
            return Err(SockDiagError::Malformed("the answer ended without NLMSG_DONE".into()));
        }
        let mut offset = 0;
        while offset < size {
            let message = <NetlinkMessage<SockDiagMessage>>::deserialize(&recv[offset..size])
                .map_err(|e| SockDiagError::Malformed(e.to_string()))?;
            let len = message.header.length as usize;
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(err) => {
                    if let Some(code) = err.code {
                        return Err(SockDiagError::Refused(io::Error::from_raw_os_error(-code.get())));
                    }
                }
                NetlinkPayload::InnerMessage(inner) => each(inner),
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += (len + 3) & !3;
        }
    }
}
