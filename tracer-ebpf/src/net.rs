//! Binds, listens and sockets leaving LISTEN, for `tracer binds`.
//!
//! - `syscalls:sys_enter_bind` copies the address asked for (it is in the caller's memory, written just before the
//!   call) and filters on family and port; `sys_exit_bind` adds the result and what the socket says: protocol,
//!   the port the kernel picked for port 0, SO_REUSEADDR/SO_REUSEPORT/IPV6_V6ONLY, the inode.
//! - `syscalls:sys_enter_listen`/`sys_exit_listen`: listen() with its result; address and port from the socket.
//! - `sock:inet_sock_set_state`, LISTEN → CLOSE: the port is released (TCP; UDP has no such tracepoint).
//!
//! The socket behind an fd is found by walking task → files → fdtable → file (kernel.rs's walk, shared with the
//! open probes) → socket → sock with offsets from BTF (globals set at load time); a socket whose `file` does not
//! point back at the file is not trusted.
//! Filters (pid set, family, protocol, port) run before anything is reserved.

use aya_ebpf::{
    EbpfContext,
    helpers::{bpf_get_current_pid_tgid, generated},
    macros::{map, tracepoint},
    maps::{Array, LruHashMap},
    programs::TracePointContext,
};
use tracer_common::{
    event::kind,
    net::{
        AF_INET, AF_INET6, AF_UNSPEC, BindEvent, BindInflight, ListenInflight, PORT_SLOTS, SockEvent, family_class,
        protocol_class, sock_flags, tcp_state,
    },
    syscalls::SocketEnds,
};

use crate::{
    emit::{NET, emit},
    kernel::{below, file_of_fd, is_zero, pick, read, read_checked, word},
    maps::{global, is_traced, take},
};

/// Watched ports (non-zero byte = watched), consulted when `NET_PORT_FILTER` is set.
#[map]
static NET_PORTS: Array<u8> = Array::with_max_entries(PORT_SLOTS, 0);

#[map]
static BIND_INFLIGHT: LruHashMap<u32, BindInflight> = LruHashMap::with_max_entries(1024, 0);
#[map]
static LISTEN_INFLIGHT: LruHashMap<u32, ListenInflight> = LruHashMap::with_max_entries(1024, 0);

/// Non-zero: only ports marked in `NET_PORTS` (`--port`).
#[unsafe(no_mangle)]
static NET_PORT_FILTER: u8 = 0;
/// `want::IPV4 | want::IPV6` (`-4`, `-6`).
#[unsafe(no_mangle)]
static NET_FAMILIES: u8 = 0xff;
/// `want::TCP | want::UDP | want::OTHER` (`--tcp`, `--udp`).
#[unsafe(no_mangle)]
static NET_PROTOCOLS: u8 = 0xff;

// Kernel struct offsets, from BTF (the fd table's are kernel.rs's).
#[unsafe(no_mangle)]
static NET_FILE_PRIVATE_DATA_OFFSET: u32 = 0;
/// `socket.type`, `.file`, `.sk`.
#[unsafe(no_mangle)]
static NET_SOCKET_TYPE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SOCKET_FILE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
pub(crate) static NET_SOCKET_SK_OFFSET: u32 = 0;
/// From a `struct socket` to the `i_ino` of the inode allocated with it (`socket_alloc.vfs_inode.i_ino`).
#[unsafe(no_mangle)]
static NET_SOCKET_INO_OFFSET: u32 = 0;
/// `sock.__sk_common.skc_family`, `.skc_num`, `.skc_state`, `.skc_rcv_saddr`, `.skc_v6_rcv_saddr`.
#[unsafe(no_mangle)]
static NET_SK_FAMILY_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_NUM_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_STATE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_RCV_SADDR_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_V6_RCV_SADDR_OFFSET: u32 = 0;
/// `sock.__sk_common.skc_dport`, `.skc_daddr`, `.skc_v6_daddr`: a socket's far end (`-yy`'s `socket_ends`; the
/// net probes do not read them).
#[unsafe(no_mangle)]
static NET_SK_DPORT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_DADDR_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_V6_DADDR_OFFSET: u32 = 0;
/// `sock.sk_protocol` (u16) and `sock.sk_socket`.
#[unsafe(no_mangle)]
static NET_SK_PROTOCOL_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_SOCKET_OFFSET: u32 = 0;
/// `sock.__sk_common.skc_net` (the `struct net *`) and `net.ns.inum`: the socket's network namespace, whose inode
/// user space compares with `/proc/PID/ns/net` to look for conflicting sockets in the right namespace.
#[unsafe(no_mangle)]
static NET_SK_NET_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_NET_NS_INUM_OFFSET: u32 = 0;
/// Bitfields of `sock_common`, packed as `byte offset << 16 | bit shift << 8 | mask`; 0 when unknown.
#[unsafe(no_mangle)]
static NET_SK_REUSE_BITS: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_REUSEPORT_BITS: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_IPV6ONLY_BITS: u32 = 0;

// `sock:inet_sock_set_state` field offsets, from its format file.
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_SKADDR_OFFSET: u32 = 8;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_OLDSTATE_OFFSET: u32 = 16;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_NEWSTATE_OFFSET: u32 = 20;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_SPORT_OFFSET: u32 = 24;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_FAMILY_OFFSET: u32 = 28;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_PROTOCOL_OFFSET: u32 = 30;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_SADDR_OFFSET: u32 = 32;
#[unsafe(no_mangle)]
pub(crate) static NET_SSS_SADDR_V6_OFFSET: u32 = 40;

const EBADF: i64 = 9;
const ENOTSOCK: i64 = 88;

#[inline(always)]
pub(crate) fn family_wanted(family: u16) -> bool {
    family_class(family) & global(&NET_FAMILIES) != 0
}

#[inline(always)]
fn protocol_wanted(protocol: u16) -> bool {
    protocol_class(protocol) & global(&NET_PROTOCOLS) != 0
}

#[inline(always)]
pub(crate) fn port_wanted(port: u16) -> bool {
    if global(&NET_PORT_FILTER) == 0 {
        return true;
    }
    port != 0 && NET_PORTS.get(port as u32).is_some_and(|&watched| watched != 0)
}

/// A `sock_common` bitfield (see `NET_SK_*_BITS`): 1 when set, 0 when not or unknown.
#[inline(always)]
fn read_bit(sk: u64, packed: &u32) -> u32 {
    let packed = global(packed);
    let byte: u8 = read(sk, packed >> 16);
    let bits = ((byte as u32) >> ((packed >> 8) & 7)) & packed & 0xff;
    (1 ^ is_zero(bits as u64)) as u32
}

/// `sock_flags::REUSEADDR | REUSEPORT | V6ONLY` of a sock.
#[inline(always)]
fn sock_bits(sk: u64) -> u32 {
    (read_bit(sk, &NET_SK_REUSE_BITS) * sock_flags::REUSEADDR)
        | (read_bit(sk, &NET_SK_REUSEPORT_BITS) * sock_flags::REUSEPORT)
        | (read_bit(sk, &NET_SK_IPV6ONLY_BITS) * sock_flags::V6ONLY)
}

/// What the socket behind an fd says; all zeroes (no `SOCKET_KNOWN`) when the fd is no socket.
struct SockInfo {
    family: u16,
    port: u16,
    protocol: u16,
    sock_type: u16,
    state: u8,
    flags: u32,
    addr: [u8; 16],
    inode: u64,
    netns: u32,
}

/// The `struct socket *` behind `fd` in the current task, 0 when it is none.
#[inline(always)]
pub(crate) fn socket_of_fd(fd: i32) -> u64 {
    let file = file_of_fd(fd, false);
    let socket = word(file, global(&NET_FILE_PRIVATE_DATA_OFFSET));
    // Not every file is a socket: a socket's file points back at it.
    let back = word(socket, global(&NET_SOCKET_FILE_OFFSET));
    socket & is_zero(back ^ file).wrapping_neg()
}

/// `-yy`: the ends of the socket behind `file` (a `struct file *`) as the kernel holds them now; all zero when it is
/// not a socket (its `private_data` is a socket only if that socket's `file` points back) or none is readable.
/// One branch, for the calls on files that are no socket (most of them): eight reads fewer.
#[inline(always)]
pub(crate) fn socket_ends(file: u64, out: &mut SocketEnds) {
    let socket = word(file, global(&NET_FILE_PRIVATE_DATA_OFFSET));
    let back = word(socket, global(&NET_SOCKET_FILE_OFFSET));
    let sk = word(socket & is_zero(back ^ file).wrapping_neg(), global(&NET_SOCKET_SK_OFFSET));
    if sk == 0 {
        *out = SocketEnds::default();
        return;
    }
    out.family = read(sk, global(&NET_SK_FAMILY_OFFSET));
    out.protocol = read(sk, global(&NET_SK_PROTOCOL_OFFSET));
    out.local_port = read(sk, global(&NET_SK_NUM_OFFSET));
    out.remote_port_be = read(sk, global(&NET_SK_DPORT_OFFSET));
    out.local_v4 = read(sk, global(&NET_SK_RCV_SADDR_OFFSET));
    out.remote_v4 = read(sk, global(&NET_SK_DADDR_OFFSET));
    out.local_v6 = read(sk, global(&NET_SK_V6_RCV_SADDR_OFFSET));
    out.remote_v6 = read(sk, global(&NET_SK_V6_DADDR_OFFSET));
}

/// The inode number of a sock's network namespace, 0 when it cannot be read.
#[inline(always)]
pub(crate) fn sock_netns(sk: u64) -> u32 {
    read(word(sk, global(&NET_SK_NET_OFFSET)), global(&NET_NET_NS_INUM_OFFSET))
}

#[inline(always)]
fn socket_inode(socket: u64) -> u64 {
    read(socket, global(&NET_SOCKET_INO_OFFSET))
}

/// A sock's bound address: IPv6's 16 bytes, or IPv4's 4 then zeroes. Both read, one kept: no branch.
#[inline(always)]
fn sock_addr(sk: u64, family: u16) -> [u8; 16] {
    let v6 = is_zero((family ^ AF_INET6) as u64);
    let at = global(&NET_SK_V6_RCV_SADDR_OFFSET);
    let v4 = read::<u32>(sk, global(&NET_SK_RCV_SADDR_OFFSET)) as u64;
    let low = pick(v6, read::<u64>(sk, at), v4);
    let high = read::<u64>(sk, at + 8) & v6.wrapping_neg();
    let mut addr = [0u8; 16];
    addr[..8].copy_from_slice(&low.to_ne_bytes());
    addr[8..].copy_from_slice(&high.to_ne_bytes());
    addr
}

#[inline(always)]
fn sock_info(fd: i32) -> SockInfo {
    let socket = socket_of_fd(fd);
    let sk = word(socket, global(&NET_SOCKET_SK_OFFSET));
    // No sock (or none readable): nothing is known, the socket's own fields included.
    let (family, known) = read_checked::<u16>(sk, global(&NET_SK_FAMILY_OFFSET));
    let mask = known.wrapping_neg();
    SockInfo {
        family,
        port: read(sk, global(&NET_SK_NUM_OFFSET)),
        protocol: read(sk, global(&NET_SK_PROTOCOL_OFFSET)),
        sock_type: read::<u16>(socket, global(&NET_SOCKET_TYPE_OFFSET)) & mask as u16,
        state: read(sk, global(&NET_SK_STATE_OFFSET)),
        flags: (known as u32 * sock_flags::SOCKET_KNOWN) | sock_bits(sk),
        addr: sock_addr(sk, family),
        inode: socket_inode(socket) & mask,
        netns: sock_netns(sk) & mask as u32,
    }
}

/// `N` bytes of user memory at `at` and 1, or zeroes and 0 when they cannot be read.
#[inline(always)]
fn read_user<const N: usize>(at: u64) -> ([u8; N], u64) {
    let mut buf = [0u8; N];
    let rc = unsafe { generated::bpf_probe_read_user(buf.as_mut_ptr().cast(), N as u32, at as *const _) };
    (buf, 1 ^ ((rc as u64) >> 63))
}

/// Reads the `struct sockaddr` passed to bind() into `inflight`; false when it is not an inet address.
///
/// sockaddr_in: family, port, address (16 bytes with its padding); sockaddr_in6: family, port, flowinfo, address,
/// scope id (28 bytes; 24 from callers of RFC 2133's time). Every part is read and the wanted ones kept by
/// arithmetic: under `if`s, each outcome was a state of its own for the 6.1 verifier, walked through the rest of
/// `net_bind_exit`.
#[inline(always)]
fn read_sockaddr(inflight: &mut BindInflight) -> bool {
    let uaddr = inflight.uaddr;
    let addrlen = inflight.addrlen as u64;
    let (head, head_ok) = read_user::<16>(uaddr);
    if head_ok & (below(addrlen, 2) ^ 1) == 0 {
        inflight.flags |= sock_flags::ADDR_FAULT;
        return true;
    }
    inflight.flags &= !sock_flags::ADDR_FAULT;
    let family = u16::from_ne_bytes([head[0], head[1]]);
    inflight.sa_family = family;
    inflight.port = u16::from_be_bytes([head[2], head[3]]);
    let v6 = is_zero((family ^ AF_INET6) as u64);
    if v6 | is_zero((family ^ AF_INET) as u64) | is_zero((family ^ AF_UNSPEC) as u64) == 0 {
        return false; // AF_UNIX, AF_NETLINK, AF_PACKET, ...
    }
    // IPv6: bytes 8..24 when the caller passed at least 24 of them, the scope id at 24..28 when it passed 28.
    let (middle, middle_ok) = read_user::<8>(uaddr.wrapping_add(16));
    let (scope, scope_ok) = read_user::<4>(uaddr.wrapping_add(24));
    let full = v6 & (below(addrlen, 24) ^ 1) & middle_ok;
    let scoped = full & (below(addrlen, 28) ^ 1) & scope_ok;
    let v4 = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]) as u64;
    let v6_low = u64::from_ne_bytes([head[8], head[9], head[10], head[11], head[12], head[13], head[14], head[15]]);
    let low = pick(v6, v6_low & full.wrapping_neg(), v4);
    let high = u64::from_ne_bytes(middle) & full.wrapping_neg();
    inflight.addr[..8].copy_from_slice(&low.to_ne_bytes());
    inflight.addr[8..].copy_from_slice(&high.to_ne_bytes());
    inflight.scope_id = pick(scoped, u32::from_ne_bytes(scope) as u64, inflight.scope_id as u64) as u32;
    true
}

// `syscalls:sys_enter_bind`: fd @16, umyaddr @24, addrlen @32 (syscall arguments, 8 bytes each from 16).
#[tracepoint]
pub fn net_bind_enter(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let fd: u64 = unsafe { ctx.read_at(16) }.unwrap_or(u64::MAX);
    let uaddr: u64 = unsafe { ctx.read_at(24) }.unwrap_or(0);
    let addrlen: u64 = unsafe { ctx.read_at(32) }.unwrap_or(0);
    let mut inflight = BindInflight {
        uaddr,
        addrlen: addrlen as u32,
        fd: fd as i32,
        sa_family: 0,
        port: 0,
        scope_id: 0,
        addr: [0; 16],
        flags: 0,
        _pad: 0,
    };
    if !read_sockaddr(&mut inflight) {
        return 0; // AF_UNIX, AF_NETLINK, AF_PACKET, ...
    }
    // What can be decided now is decided now: most binds on a busy machine are not the ones asked for.
    if inflight.flags & sock_flags::ADDR_FAULT == 0 {
        if inflight.sa_family != AF_UNSPEC && !family_wanted(inflight.sa_family) {
            return 0;
        }
        if inflight.port != 0 && !port_wanted(inflight.port) {
            return 0;
        }
    }
    let _ = BIND_INFLIGHT.insert(pid_tgid as u32, inflight, 0);
    0
}

#[tracepoint]
pub fn net_bind_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(mut inflight) = take(&BIND_INFLIGHT, tid) else { return 0 };
    let ret: i64 = unsafe { ctx.read_at(16) }.unwrap_or(0);

    if inflight.flags & sock_flags::ADDR_FAULT != 0 && !read_sockaddr(&mut inflight) {
        return 0;
    }
    // EBADF, ENOTSOCK: the fd is no socket to ask (-1 is no fd).
    let no_socket = is_zero((ret + EBADF) as u64) | is_zero((ret + ENOTSOCK) as u64);
    let info = sock_info((inflight.fd as u32 | (no_socket as u32).wrapping_neg()) as i32);
    let known = (info.flags >> sock_flags::SOCKET_KNOWN.trailing_zeros()) as u64 & 1;
    let family = pick(known, info.family as u64, inflight.sa_family as u64) as u16;
    if !family_wanted(family) {
        return 0;
    }
    if known != 0 && !protocol_wanted(info.protocol) {
        return 0;
    }
    let bound_port = info.port * is_zero(ret as u64) as u16;
    let port = pick(is_zero(inflight.port as u64), bound_port as u64, inflight.port as u64) as u16;
    if !port_wanted(port) {
        return 0;
    }

    emit::<BindEvent>(NET, kind::NET_BIND, pid_tgid, |event, _| {
        event.ret = ret as i32;
        event.fd = inflight.fd;
        event.family = family;
        event.sa_family = inflight.sa_family;
        event.port = inflight.port;
        event.bound_port = bound_port;
        event.protocol = info.protocol;
        event.sock_type = info.sock_type;
        event.flags = info.flags | (inflight.flags & sock_flags::ADDR_FAULT);
        event.scope_id = inflight.scope_id;
        event.netns = info.netns;
        event.addr = inflight.addr;
        event.inode = info.inode;
    });
    0
}

// `syscalls:sys_enter_listen`: fd @16, backlog @24.
#[tracepoint]
pub fn net_listen_enter(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let fd: u64 = unsafe { ctx.read_at(16) }.unwrap_or(u64::MAX);
    let backlog: u64 = unsafe { ctx.read_at(24) }.unwrap_or(0);
    let _ = LISTEN_INFLIGHT.insert(pid_tgid as u32, ListenInflight { fd: fd as i32, backlog: backlog as i32 }, 0);
    0
}

#[tracepoint]
pub fn net_listen_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(inflight) = take(&LISTEN_INFLIGHT, tid) else { return 0 };
    let ret: i64 = unsafe { ctx.read_at(16) }.unwrap_or(0);
    if ret == -EBADF || ret == -ENOTSOCK {
        return 0;
    }
    let info = sock_info(inflight.fd);
    if info.flags & sock_flags::SOCKET_KNOWN == 0 {
        return 0;
    }
    if !family_wanted(info.family) || !protocol_wanted(info.protocol) || !port_wanted(info.port) {
        return 0;
    }
    emit::<SockEvent>(NET, kind::NET_LISTEN, pid_tgid, |event, _| {
        event.ret = ret as i32;
        event.fd = inflight.fd;
        event.backlog = inflight.backlog;
        event.family = info.family;
        event.port = info.port;
        event.protocol = info.protocol;
        event.oldstate = 0;
        event.newstate = info.state;
        event.flags = info.flags;
        event.addr = info.addr;
        event.inode = info.inode;
        event.netns = info.netns;
        event._pad = 0;
    });
    0
}

#[inline(always)]
pub(crate) fn field<T: Copy>(ctx: &TracePointContext, offset: &u32) -> T {
    // Copied (the offset is known at load time only: the verifier refuses variable context offsets), zeroes when
    // the copy fails.
    read(ctx.as_ptr() as u64, global(offset))
}

/// `sock:inet_sock_set_state`: TCP sockets leaving LISTEN (the port is free again), and entering it outside the
/// listen() syscall (io_uring's IORING_OP_LISTEN): inside listen(), `sys_exit_listen` reports it, with its result.
#[tracepoint]
pub fn net_sock_state(ctx: TracePointContext) -> u32 {
    let oldstate: i32 = field(&ctx, &NET_SSS_OLDSTATE_OFFSET);
    let newstate: i32 = field(&ctx, &NET_SSS_NEWSTATE_OFFSET);
    let listen = tcp_state::LISTEN as i32;
    if oldstate != listen && newstate != listen {
        return 0;
    }
    // A connection accepted from a listener starts as its clone (LISTEN → SYN_RECV): not the listener closing.
    if oldstate == listen && newstate != tcp_state::CLOSE as i32 {
        return 0;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    if newstate == listen && LISTEN_INFLIGHT.get_ptr(pid_tgid as u32).is_some() {
        return 0;
    }
    let family: u16 = field(&ctx, &NET_SSS_FAMILY_OFFSET);
    let protocol: u16 = field(&ctx, &NET_SSS_PROTOCOL_OFFSET);
    let port: u16 = field(&ctx, &NET_SSS_SPORT_OFFSET);
    if !family_wanted(family) || !protocol_wanted(protocol) || !port_wanted(port) {
        return 0;
    }
    let sk: u64 = field(&ctx, &NET_SSS_SKADDR_OFFSET);
    // The socket still hangs off the sock while it is being closed; gone (0, whose read fails) when the kernel
    // itself closes it.
    let inode = socket_inode(word(sk, global(&NET_SK_SOCKET_OFFSET)));
    let flags = sock_bits(sk);
    let v6 = is_zero((family ^ AF_INET6) as u64);
    let low = pick(v6, field::<u64>(&ctx, &NET_SSS_SADDR_V6_OFFSET), field::<u32>(&ctx, &NET_SSS_SADDR_OFFSET) as u64);
    let high = read::<u64>(ctx.as_ptr() as u64, global(&NET_SSS_SADDR_V6_OFFSET) + 8) & v6.wrapping_neg();

    emit::<SockEvent>(NET, kind::NET_STATE, pid_tgid, |event, _| {
        event.ret = 0;
        event.fd = -1;
        event.backlog = 0;
        event.family = family;
        event.port = port;
        event.protocol = protocol;
        event.oldstate = oldstate as u8;
        event.newstate = newstate as u8;
        event.flags = flags;
        event.addr[..8].copy_from_slice(&low.to_ne_bytes());
        event.addr[8..].copy_from_slice(&high.to_ne_bytes());
        event.inode = inode;
        event.netns = sock_netns(sk);
        event._pad = 0;
    });
    0
}
