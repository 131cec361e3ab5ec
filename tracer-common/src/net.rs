//! Network events for `tracer binds`: bind() and listen() results, and TCP sockets leaving LISTEN.

use crate::event::EventHeader;

pub const AF_UNSPEC: u16 = 0;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// `IPPROTO_*` values found in `sk_protocol` and in `inet_sock_set_state`.
pub mod proto {
    pub const ICMP: u16 = 1;
    pub const TCP: u16 = 6;
    pub const UDP: u16 = 17;
    pub const ICMPV6: u16 = 58;
    pub const SCTP: u16 = 132;
    pub const UDPLITE: u16 = 136;
    pub const RAW: u16 = 255;
    pub const MPTCP: u16 = 262;
}

/// `SOCK_*` socket types (`struct socket.type`).
pub mod sock_type {
    pub const STREAM: u16 = 1;
    pub const DGRAM: u16 = 2;
    pub const RAW: u16 = 3;
}

/// TCP states (include/net/tcp_states.h); UDP sockets use CLOSE (unconnected) and ESTABLISHED (connected).
pub mod tcp_state {
    pub const ESTABLISHED: u8 = 1;
    pub const SYN_SENT: u8 = 2;
    pub const SYN_RECV: u8 = 3;
    pub const FIN_WAIT1: u8 = 4;
    pub const FIN_WAIT2: u8 = 5;
    pub const TIME_WAIT: u8 = 6;
    pub const CLOSE: u8 = 7;
    pub const CLOSE_WAIT: u8 = 8;
    pub const LAST_ACK: u8 = 9;
    pub const LISTEN: u8 = 10;
    pub const CLOSING: u8 = 11;
    pub const NEW_SYN_RECV: u8 = 12;
    /// Pseudo-state of sock_diag (Linux 6.5+): a TCP socket bound but neither listening nor connected.
    pub const BOUND_INACTIVE: u8 = 13;
}

/// `flags` bits of [`BindEvent`] and [`SockEvent`].
pub mod sock_flags {
    /// The socket behind the fd was found: `protocol`, `sock_type`, `bound_port`, `inode` and the option bits
    /// below are valid.
    pub const SOCKET_KNOWN: u32 = 1 << 0;
    /// `SO_REUSEADDR` was set on the socket at the time of the call.
    pub const REUSEADDR: u32 = 1 << 1;
    /// `SO_REUSEPORT` was set.
    pub const REUSEPORT: u32 = 1 << 2;
    /// `IPV6_V6ONLY` was set (an IPv6 wildcard bind then leaves the IPv4 port free).
    pub const V6ONLY: u32 = 1 << 3;
    /// The address passed to bind() could not be read from the caller's memory.
    pub const ADDR_FAULT: u32 = 1 << 4;
}

/// Bits of the `NET_FAMILIES` and `NET_PROTOCOLS` globals: which sockets are reported.
pub mod want {
    pub const IPV4: u8 = 1 << 0;
    pub const IPV6: u8 = 1 << 1;
    /// TCP and MPTCP.
    pub const TCP: u8 = 1 << 0;
    /// UDP and UDP-Lite.
    pub const UDP: u8 = 1 << 1;
    /// Any other inet socket (SCTP, ICMP "ping" sockets, raw sockets).
    pub const OTHER: u8 = 1 << 2;
}

/// Entries of the `NET_PORTS` array (one byte per port).
pub const PORT_SLOTS: u32 = 1 << 16;

/// A bind() in progress, keyed by thread id between `sys_enter_bind` and `sys_exit_bind`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BindInflight {
    /// The caller's `struct sockaddr *`, to read it again at exit when it faulted at entry.
    pub uaddr: u64,
    pub addrlen: u32,
    pub fd: i32,
    /// `sa_family` of the address passed.
    pub sa_family: u16,
    /// Port asked for, host byte order.
    pub port: u16,
    pub scope_id: u32,
    /// IPv4 in the first 4 bytes, or IPv6, network byte order.
    pub addr: [u8; 16],
    /// `sock_flags::ADDR_FAULT` when the address could not be read yet.
    pub flags: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<BindInflight>() == 48);

/// A listen() in progress, keyed by thread id.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenInflight {
    pub fd: i32,
    pub backlog: i32,
}
const _: () = assert!(core::mem::size_of::<ListenInflight>() == 8);

/// A bind() that returned (`kind::NET_BIND`), written at `sys_exit_bind` by the calling thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BindEvent {
    pub header: EventHeader,
    /// 0, or a negated errno.
    pub ret: i32,
    pub fd: i32,
    /// The socket's family (`AF_INET`/`AF_INET6`) when the socket was found, else `sa_family`.
    pub family: u16,
    /// `sa_family` of the address passed.
    pub sa_family: u16,
    /// Port asked for (0: the kernel picks one), host byte order.
    pub port: u16,
    /// The socket's local port after the call (the picked one for port 0), 0 when unbound or unknown.
    pub bound_port: u16,
    /// `sk_protocol` (`proto::*`), 0 when unknown.
    pub protocol: u16,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, ..., 0 when unknown.
    pub sock_type: u16,
    /// `sock_flags::*`.
    pub flags: u32,
    /// IPv6 scope (interface index) passed, 0 otherwise.
    pub scope_id: u32,
    /// The inode number of the socket's network namespace (`/proc/PID/ns/net`), 0 when unknown.
    pub netns: u32,
    /// The address passed: IPv4 in the first 4 bytes, or IPv6; network byte order.
    pub addr: [u8; 16],
    /// The socket's inode number (as in /proc/PID/fd and sock_diag), 0 when unknown.
    pub inode: u64,
}
const _: () = assert!(core::mem::size_of::<BindEvent>() == crate::event::HEADER_SIZE + 56);

/// A listen() that returned (`kind::NET_LISTEN`, from `sys_exit_listen`), or a TCP socket that left LISTEN
/// (`kind::NET_STATE`, from `sock:inet_sock_set_state`). The header is the current task: the caller of listen(),
/// or the task whose close (or exit) released the socket.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockEvent {
    pub header: EventHeader,
    /// listen()'s result (0 or a negated errno); 0 for state changes.
    pub ret: i32,
    /// listen()'s fd; -1 for state changes.
    pub fd: i32,
    /// listen()'s backlog; 0 for state changes.
    pub backlog: i32,
    pub family: u16,
    /// Local port, host byte order (0 when unknown).
    pub port: u16,
    /// `proto::*`, 0 when unknown.
    pub protocol: u16,
    /// `tcp_state::*` before and after (for listen(): 0, and the socket's state after the call).
    pub oldstate: u8,
    pub newstate: u8,
    /// `sock_flags::*`.
    pub flags: u32,
    /// Local address: IPv4 in the first 4 bytes, or IPv6; network byte order.
    pub addr: [u8; 16],
    /// The socket's inode number, 0 when unknown.
    pub inode: u64,
    /// The inode number of the socket's network namespace (`/proc/PID/ns/net`), 0 when unknown.
    pub netns: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<SockEvent>() == crate::event::HEADER_SIZE + 56);

/// Which of `want::TCP`, `want::UDP`, `want::OTHER` a socket is.
#[inline(always)]
pub const fn protocol_class(protocol: u16) -> u8 {
    match protocol {
        proto::TCP | proto::MPTCP => want::TCP,
        proto::UDP | proto::UDPLITE => want::UDP,
        _ => want::OTHER,
    }
}

/// Which of `want::IPV4`, `want::IPV6` a family is (0 for others).
#[inline(always)]
pub const fn family_class(family: u16) -> u8 {
    match family {
        AF_INET => want::IPV4,
        AF_INET6 => want::IPV6,
        _ => 0,
    }
}
