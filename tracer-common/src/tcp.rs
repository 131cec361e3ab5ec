//! TCP connections for `tracer conns`: connects with their result, accepts, closes with duration and bytes.
//!
//! The kernel side follows each connection from its first state (`SYN_SENT` for a connect, the listener's clone
//! entering `SYN_RECV` for an incoming one) to `CLOSE` in the `CONNS` map, keyed by its `struct sock *`.

use crate::event::EventHeader;

/// `flags` bits of [`ConnState`] and [`ConnEvent`].
pub mod conn_flags {
    /// Opened by connect(): the owner is the process that called it (`SYN_SENT` runs in its context).
    pub const OUTGOING: u32 = 1 << 0;
    /// A listener's connection: the owner is the process whose accept() returned it, when one did.
    pub const INCOMING: u32 = 1 << 1;
    /// `owner_*` name the connection's process; unset for an incoming connection not accepted (yet).
    pub const OWNER_KNOWN: u32 = 1 << 2;
    /// The connection reached ESTABLISHED (`established_ns` is set).
    pub const ESTABLISHED: u32 = 1 << 3;
    /// A RST arrived (`tcp:tcp_receive_reset`).
    pub const RESET_RECEIVED: u32 = 1 << 4;
    /// This end sent a RST (`tcp:tcp_send_reset`: an abortive close, SO_LINGER 0, data left unread).
    pub const RESET_SENT: u32 = 1 << 5;
    /// This end sent its FIN first (ESTABLISHED → FIN_WAIT1).
    pub const CLOSED_LOCALLY: u32 = 1 << 6;
    /// The peer sent its FIN first (ESTABLISHED → CLOSE_WAIT).
    pub const CLOSED_REMOTELY: u32 = 1 << 7;
    /// The peer's FIN arrived (`SOCK_DONE` in `sk_flags` at the close): `rx_bytes` counts it.
    pub const FIN_RECEIVED: u32 = 1 << 8;
}

/// One end of a connection as the state tracepoint gives it: local and remote address and port.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub family: u16,
    /// Host byte order.
    pub lport: u16,
    pub rport: u16,
    pub _pad: u16,
    /// IPv4 in the first 4 bytes, or IPv6; network byte order.
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<Endpoints>() == 40);

/// A connection followed in the `CONNS` map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnState {
    /// `bpf_ktime_get_ns` of the connect's SYN, or of the SYN received for an incoming connection.
    pub start_ns: u64,
    /// When it reached ESTABLISHED, 0 before.
    pub established_ns: u64,
    /// The owner's start time (`EventHeader::start_ns` of the connect or accept that set it), 0 when unknown.
    pub owner_start_ns: u64,
    pub owner_pid: u32,
    pub owner_tid: u32,
    pub owner_comm: [u8; 16],
    /// `conn_flags::*`.
    pub flags: u32,
    /// The inode number of the socket's network namespace (`/proc/PID/ns/net`), read at its first state; 0 when
    /// unknown.
    pub netns: u32,
    pub ends: Endpoints,
}
const _: () = assert!(core::mem::size_of::<ConnState>() == 56 + 40);

/// A connect's result (`kind::TCP_CONNECT`), an accept() that returned a connection (`kind::TCP_ACCEPT`), or a
/// connection's end (`kind::TCP_CLOSE`). The header is the task running when it was written (for a connect's
/// result and a close, often a softirq's interrupted task: the owner fields say whose connection it is).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnEvent {
    pub header: EventHeader,
    pub conn: ConnState,
    /// `tcp_sock.bytes_acked` and `.bytes_received` at the close (0 for the other kinds).
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    /// `sock.sk_err` when a connect failed (ECONNREFUSED, ETIMEDOUT, ...), 0 otherwise.
    pub error: i32,
    /// `tcp_state::*` before and after the change that wrote this record (0 for accept).
    pub oldstate: u8,
    pub newstate: u8,
    pub _pad: u16,
}
const _: () = assert!(core::mem::size_of::<ConnEvent>() == crate::event::HEADER_SIZE + 96 + 24);
