//! TCP connections for `tracer conns`, from socket state changes: nothing runs on the syscall path but accept().
//!
//! - `sock:inet_sock_set_state` follows each connection in `CONNS` (keyed by its `struct sock *`) from its first
//!   state to CLOSE. CLOSE → SYN_SENT runs in the context of the process calling connect(): it is the owner.
//!   LISTEN → SYN_RECV is a listener's clone for an incoming connection, made in softirq context: whoever runs
//!   then is not its process, so the owner stays unknown until accept() returns it. SYN_SENT → ESTABLISHED or
//!   CLOSE is a connect's result (`kind::TCP_CONNECT`, `sk_err` says why it failed); any state → CLOSE after
//!   ESTABLISHED is the end (`kind::TCP_CLOSE`, with `tcp_sock.bytes_acked`/`bytes_received`).
//! - `syscalls:sys_exit_accept4`/`sys_exit_accept`: the fd accept() returned → its sock → the owner of an
//!   incoming connection (`kind::TCP_ACCEPT`, from the accepting process, so `-p` filters it in the kernel).
//! - `tcp:tcp_receive_reset` and `tcp:tcp_send_reset` mark a connection reset. A reset this end sends when it
//!   aborts (SO_LINGER 0, data left unread) comes after the state already went to CLOSE: that close is recognised
//!   by its old state (ESTABLISHED, CLOSE_WAIT, FIN_WAIT1 or SYN_RECV straight to CLOSE, with no RST received and
//!   no error), which the kernel always answers with a RST.
//!
//! Filters (family, either port, pid) run before anything is reserved; the pid filter applies to the owner.

use aya_ebpf::{
    helpers::{bpf_get_current_comm, bpf_get_current_pid_tgid},
    macros::{map, tracepoint},
    maps::LruHashMap,
    programs::TracePointContext,
};
use tracer_common::{
    event::kind,
    net::{AF_INET6, proto, tcp_state},
    tcp::{ConnEvent, ConnState, Endpoints, conn_flags},
};

use crate::{
    emit::{NET, emit},
    kernel::{current_task, process_start_of, read, word},
    maps::{global, is_traced, now_ns},
    net::{
        NET_SOCKET_SK_OFFSET, NET_SSS_FAMILY_OFFSET, NET_SSS_NEWSTATE_OFFSET, NET_SSS_OLDSTATE_OFFSET,
        NET_SSS_PROTOCOL_OFFSET, NET_SSS_SADDR_OFFSET, NET_SSS_SADDR_V6_OFFSET, NET_SSS_SKADDR_OFFSET,
        NET_SSS_SPORT_OFFSET, family_wanted, field, port_wanted, sock_netns, socket_of_fd,
    },
};

/// Connections followed from their first state to CLOSE. LRU: a connection whose CLOSE was missed (tracer
/// started after it) cannot fill the map.
#[map]
static CONNS: LruHashMap<u64, ConnState> = LruHashMap::with_max_entries(16384, 0);

// `sock:inet_sock_set_state`'s remote end (the rest is net.rs's), from its format file.
#[unsafe(no_mangle)]
static TCP_SSS_DPORT_OFFSET: u32 = 26;
#[unsafe(no_mangle)]
static TCP_SSS_DADDR_OFFSET: u32 = 36;
#[unsafe(no_mangle)]
static TCP_SSS_DADDR_V6_OFFSET: u32 = 56;
/// `skaddr` of `tcp:tcp_receive_reset` and `tcp:tcp_send_reset` (8 before Linux 6.10's skbaddr came first).
#[unsafe(no_mangle)]
static TCP_RECEIVE_RESET_SKADDR_OFFSET: u32 = 8;
#[unsafe(no_mangle)]
static TCP_SEND_RESET_SKADDR_OFFSET: u32 = 8;
/// `sock.sk_err` (int), `tcp_sock.bytes_acked` and `.bytes_received` (u64), from BTF.
#[unsafe(no_mangle)]
static TCP_SK_ERR_OFFSET: u32 = 0;
/// `sock.sk_flags` (`__sk_common.skc_flags`, unsigned long), whose bit `SOCK_DONE` (1, `enum sock_flags`' second since 2.6) tcp_fin() sets.
#[unsafe(no_mangle)]
static TCP_SK_FLAGS_OFFSET: u32 = 0;
const SOCK_DONE: u64 = 1 << 1;
#[unsafe(no_mangle)]
static TCP_BYTES_ACKED_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TCP_BYTES_RECEIVED_OFFSET: u32 = 0;

/// Both ends as the state change reports them (the local port of a connect is 0 until its SYN is sent).
#[inline(always)]
fn endpoints(ctx: &TracePointContext) -> Endpoints {
    let family: u16 = field(ctx, &NET_SSS_FAMILY_OFFSET);
    let mut ends = Endpoints {
        family,
        lport: field(ctx, &NET_SSS_SPORT_OFFSET),
        rport: field(ctx, &TCP_SSS_DPORT_OFFSET),
        _pad: 0,
        laddr: [0; 16],
        raddr: [0; 16],
    };
    if family == AF_INET6 {
        ends.laddr = field(ctx, &NET_SSS_SADDR_V6_OFFSET);
        ends.raddr = field(ctx, &TCP_SSS_DADDR_V6_OFFSET);
    } else {
        let local: [u8; 4] = field(ctx, &NET_SSS_SADDR_OFFSET);
        let remote: [u8; 4] = field(ctx, &TCP_SSS_DADDR_OFFSET);
        ends.laddr[..4].copy_from_slice(&local);
        ends.raddr[..4].copy_from_slice(&remote);
    }
    ends
}

#[inline(always)]
fn wanted(ends: &Endpoints) -> bool {
    family_wanted(ends.family) && (port_wanted(ends.lport) || port_wanted(ends.rport))
}

/// The current task as a connection's owner.
#[inline(always)]
fn own(conn: &mut ConnState, pid_tgid: u64) {
    conn.owner_pid = (pid_tgid >> 32) as u32;
    conn.owner_tid = pid_tgid as u32;
    conn.owner_start_ns = process_start_of(current_task());
    conn.owner_comm = bpf_get_current_comm().unwrap_or([0; 16]);
    conn.flags |= conn_flags::OWNER_KNOWN;
}

#[inline(always)]
fn send(kind: u16, conn: &ConnState, oldstate: u8, newstate: u8, error: i32, tx: u64, rx: u64) {
    emit::<ConnEvent>(NET, kind, bpf_get_current_pid_tgid(), |event, _| {
        event.conn = *conn;
        event.tx_bytes = tx;
        event.rx_bytes = rx;
        event.error = error;
        event.oldstate = oldstate;
        event.newstate = newstate;
        event._pad = 0;
    });
}

#[tracepoint]
pub fn tcp_state(ctx: TracePointContext) -> u32 {
    let protocol: u16 = field(&ctx, &NET_SSS_PROTOCOL_OFFSET);
    if protocol != proto::TCP {
        return 0;
    }
    let oldstate = field::<i32>(&ctx, &NET_SSS_OLDSTATE_OFFSET) as u8;
    let newstate = field::<i32>(&ctx, &NET_SSS_NEWSTATE_OFFSET) as u8;
    let sk: u64 = field(&ctx, &NET_SSS_SKADDR_OFFSET);

    if oldstate == tcp_state::CLOSE && newstate == tcp_state::SYN_SENT {
        // connect(), in its caller's context. The ports are checked at its result: the local one is not picked yet.
        let pid_tgid = bpf_get_current_pid_tgid();
        let family: u16 = field(&ctx, &NET_SSS_FAMILY_OFFSET);
        if !is_traced((pid_tgid >> 32) as u32) || !family_wanted(family) {
            return 0;
        }
        let mut conn = ConnState {
            start_ns: now_ns(),
            flags: conn_flags::OUTGOING,
            netns: sock_netns(sk),
            ..ConnState::default()
        };
        own(&mut conn, pid_tgid);
        let _ = CONNS.insert(sk, conn, 0);
        return 0;
    }
    if oldstate == tcp_state::LISTEN && newstate == tcp_state::SYN_RECV {
        // A listener's new connection, in softirq context: its process is known when accept() returns it.
        let ends = endpoints(&ctx);
        if !wanted(&ends) {
            return 0;
        }
        let conn = ConnState {
            start_ns: now_ns(),
            flags: conn_flags::INCOMING,
            netns: sock_netns(sk),
            ends,
            ..ConnState::default()
        };
        let _ = CONNS.insert(sk, conn, 0);
        return 0;
    }
    let Some(conn) = CONNS.get_ptr_mut(sk) else { return 0 };
    let conn = unsafe { &mut *conn };

    if oldstate == tcp_state::SYN_SENT && (newstate == tcp_state::ESTABLISHED || newstate == tcp_state::CLOSE) {
        conn.ends = endpoints(&ctx);
        if !wanted(&conn.ends) {
            let _ = CONNS.remove(sk);
            return 0;
        }
        let mut error = 0;
        if newstate == tcp_state::ESTABLISHED {
            conn.established_ns = now_ns();
            conn.flags |= conn_flags::ESTABLISHED;
        } else {
            error = read::<i32>(sk, global(&TCP_SK_ERR_OFFSET));
        }
        send(kind::TCP_CONNECT, conn, oldstate, newstate, error, 0, 0);
        if newstate == tcp_state::CLOSE {
            let _ = CONNS.remove(sk);
        }
        return 0;
    }
    match newstate {
        tcp_state::ESTABLISHED => {
            conn.established_ns = now_ns();
            conn.flags |= conn_flags::ESTABLISHED;
        }
        tcp_state::FIN_WAIT1 if conn.flags & conn_flags::CLOSED_REMOTELY == 0 => {
            conn.flags |= conn_flags::CLOSED_LOCALLY;
        }
        tcp_state::CLOSE_WAIT if conn.flags & conn_flags::CLOSED_LOCALLY == 0 => {
            conn.flags |= conn_flags::CLOSED_REMOTELY;
        }
        tcp_state::CLOSE => {
            // The pid filter applies to the owner (0, never traced, when an incoming one was never accepted).
            if conn.flags & conn_flags::ESTABLISHED != 0 && is_traced(conn.owner_pid) {
                let error = read::<i32>(sk, global(&TCP_SK_ERR_OFFSET));
                let aborted = matches!(
                    oldstate,
                    tcp_state::ESTABLISHED | tcp_state::CLOSE_WAIT | tcp_state::FIN_WAIT1 | tcp_state::SYN_RECV
                );
                if aborted && error == 0 && conn.flags & conn_flags::RESET_RECEIVED == 0 {
                    conn.flags |= conn_flags::RESET_SENT;
                }
                if read::<u64>(sk, global(&TCP_SK_FLAGS_OFFSET)) & SOCK_DONE != 0 {
                    conn.flags |= conn_flags::FIN_RECEIVED;
                }
                let tx = read::<u64>(sk, global(&TCP_BYTES_ACKED_OFFSET));
                let rx = read::<u64>(sk, global(&TCP_BYTES_RECEIVED_OFFSET));
                send(kind::TCP_CLOSE, conn, oldstate, newstate, error, tx, rx);
            }
            let _ = CONNS.remove(sk);
        }
        _ => {}
    }
    0
}

/// `syscalls:sys_exit_accept4` and `sys_exit_accept`: ret @16 (the new fd).
#[tracepoint]
pub fn tcp_accept_exit(ctx: TracePointContext) -> u32 {
    let ret: i64 = unsafe { ctx.read_at(16) }.unwrap_or(-1);
    if ret < 0 {
        return 0;
    }
    let sk = word(socket_of_fd(ret as i32), global(&NET_SOCKET_SK_OFFSET));
    let Some(conn) = CONNS.get_ptr_mut(sk) else { return 0 };
    let conn = unsafe { &mut *conn };
    if conn.flags & conn_flags::INCOMING == 0 {
        return 0;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        // Another process's connection (or tracer's own: monitor's metrics endpoint): nothing of it is shown.
        let _ = CONNS.remove(sk);
        return 0;
    }
    own(conn, pid_tgid);
    send(kind::TCP_ACCEPT, conn, 0, 0, 0, 0, 0);
    0
}

#[inline(always)]
fn mark_reset(ctx: &TracePointContext, offset: &u32, bit: u32) {
    let sk: u64 = field(ctx, offset);
    if let Some(conn) = CONNS.get_ptr_mut(sk) {
        unsafe { (*conn).flags |= bit };
    }
}

#[tracepoint]
pub fn tcp_reset_received(ctx: TracePointContext) -> u32 {
    mark_reset(&ctx, &TCP_RECEIVE_RESET_SKADDR_OFFSET, conn_flags::RESET_RECEIVED);
    0
}

#[tracepoint]
pub fn tcp_reset_sent(ctx: TracePointContext) -> u32 {
    mark_reset(&ctx, &TCP_SEND_RESET_SKADDR_OFFSET, conn_flags::RESET_SENT);
    0
}
