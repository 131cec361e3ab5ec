//! Binds, listens and sockets leaving LISTEN, for `tracer binds`.
//!
//! - `syscalls:sys_enter_bind` copies the address asked for (it is in the caller's memory, written just before the
//!   call) and filters on family and port; `sys_exit_bind` adds the result and what the socket says: protocol,
//!   the port the kernel picked for port 0, SO_REUSEADDR/SO_REUSEPORT/IPV6_V6ONLY, the inode.
//! - `syscalls:sys_enter_listen`/`sys_exit_listen`: listen() with its result; address and port from the socket.
//! - `sock:inet_sock_set_state`, LISTEN → CLOSE: the port is released (TCP; UDP has no such tracepoint).
//!
//! The socket behind an fd is found by walking task → files → fdtable → file → socket → sock with offsets from BTF
//! (globals set at load time); a socket whose `file` does not point back at the file is not trusted.
//! Filters (pid set, family, protocol, port) run before anything is reserved.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_task, bpf_probe_read_kernel, bpf_probe_read_user},
    macros::{map, tracepoint},
    maps::{Array, LruHashMap},
    programs::TracePointContext,
};
use tracer_common::{
    event::{kind, lost},
    monitor::bucket,
    net::{
        AF_INET, AF_INET6, AF_UNSPEC, BindEvent, BindInflight, ListenInflight, PORT_SLOTS, SockEvent, family_class,
        protocol_class, sock_flags, tcp_state,
    },
};

use crate::maps::{admit, fill_header, global, is_traced, now_ns, reserve, wakeup_flags};

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

// Kernel struct offsets, from BTF.
#[unsafe(no_mangle)]
static NET_TASK_FILES_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_FILES_FDT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_FDT_MAX_FDS_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_FDT_FD_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_FILE_PRIVATE_DATA_OFFSET: u32 = 0;
/// `socket.type`, `.file`, `.sk`.
#[unsafe(no_mangle)]
static NET_SOCKET_TYPE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SOCKET_FILE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SOCKET_SK_OFFSET: u32 = 0;
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
/// `sock.sk_protocol` (u16) and `sock.sk_socket`.
#[unsafe(no_mangle)]
static NET_SK_PROTOCOL_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_SOCKET_OFFSET: u32 = 0;
/// Bitfields of `sock_common`, packed as `byte offset << 16 | bit shift << 8 | mask`; 0 when unknown.
#[unsafe(no_mangle)]
static NET_SK_REUSE_BITS: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_REUSEPORT_BITS: u32 = 0;
#[unsafe(no_mangle)]
static NET_SK_IPV6ONLY_BITS: u32 = 0;

// `sock:inet_sock_set_state` field offsets, from its format file.
#[unsafe(no_mangle)]
static NET_SSS_SKADDR_OFFSET: u32 = 8;
#[unsafe(no_mangle)]
static NET_SSS_OLDSTATE_OFFSET: u32 = 16;
#[unsafe(no_mangle)]
static NET_SSS_NEWSTATE_OFFSET: u32 = 20;
#[unsafe(no_mangle)]
static NET_SSS_SPORT_OFFSET: u32 = 24;
#[unsafe(no_mangle)]
static NET_SSS_FAMILY_OFFSET: u32 = 28;
#[unsafe(no_mangle)]
static NET_SSS_PROTOCOL_OFFSET: u32 = 30;
#[unsafe(no_mangle)]
static NET_SSS_SADDR_OFFSET: u32 = 32;
#[unsafe(no_mangle)]
static NET_SSS_SADDR_V6_OFFSET: u32 = 40;

const EBADF: i64 = 9;
const ENOTSOCK: i64 = 88;

#[inline(always)]
fn family_wanted(family: u16) -> bool {
    family_class(family) & global(&NET_FAMILIES) != 0
}

#[inline(always)]
fn protocol_wanted(protocol: u16) -> bool {
    protocol_class(protocol) & global(&NET_PROTOCOLS) != 0
}

#[inline(always)]
fn port_wanted(port: u16) -> bool {
    if global(&NET_PORT_FILTER) == 0 {
        return true;
    }
    port != 0 && NET_PORTS.get(port as u32).is_some_and(|&watched| watched != 0)
}

#[inline(always)]
fn read_kernel<T>(base: *const u8, offset: &u32) -> Option<T> {
    if base.is_null() {
        return None;
    }
    unsafe { bpf_probe_read_kernel(base.add(global(offset) as usize) as *const T) }.ok()
}

/// A `sock_common` bitfield (see `NET_SK_*_BITS`), false when unknown.
#[inline(always)]
fn read_bit(sk: *const u8, packed: &u32) -> bool {
    let packed = global(packed);
    let mask = (packed & 0xff) as u8;
    if mask == 0 {
        return false;
    }
    let Ok(byte) = (unsafe { bpf_probe_read_kernel(sk.add((packed >> 16) as usize)) }) else { return false };
    let byte: u8 = byte;
    (byte >> ((packed >> 8) & 7)) & mask != 0
}

/// What the socket behind an fd says.
#[derive(Default)]
struct SockInfo {
    family: u16,
    port: u16,
    protocol: u16,
    sock_type: u16,
    state: u8,
    flags: u32,
    addr: [u8; 16],
    inode: u64,
}

/// The `struct socket` behind `fd` in the current task, if it is one.
#[inline(always)]
fn socket_of_fd(fd: i32) -> Option<*const u8> {
    if fd < 0 {
        return None;
    }
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let files: u64 = read_kernel(task, &NET_TASK_FILES_OFFSET)?;
    let fdt: u64 = read_kernel(files as *const u8, &NET_FILES_FDT_OFFSET)?;
    let fdt = fdt as *const u8;
    let max_fds: u32 = read_kernel(fdt, &NET_FDT_MAX_FDS_OFFSET)?;
    if fd as u32 >= max_fds {
        return None;
    }
    let fd_array: u64 = read_kernel(fdt, &NET_FDT_FD_OFFSET)?;
    if fd_array == 0 {
        return None;
    }
    let file: u64 = unsafe { bpf_probe_read_kernel((fd_array as *const u64).wrapping_add(fd as usize)) }.ok()?;
    let socket: u64 = read_kernel(file as *const u8, &NET_FILE_PRIVATE_DATA_OFFSET)?;
    // Not every file is a socket: a socket's file points back at it.
    let back: u64 = read_kernel(socket as *const u8, &NET_SOCKET_FILE_OFFSET)?;
    if back != file {
        return None;
    }
    Some(socket as *const u8)
}

#[inline(always)]
fn socket_inode(socket: *const u8) -> u64 {
    read_kernel(socket, &NET_SOCKET_INO_OFFSET).unwrap_or(0)
}

#[inline(always)]
fn sock_info(fd: i32) -> Option<SockInfo> {
    let socket = socket_of_fd(fd)?;
    let sk: u64 = read_kernel(socket, &NET_SOCKET_SK_OFFSET)?;
    let sk = sk as *const u8;
    if sk.is_null() {
        return None;
    }
    let mut info = SockInfo {
        family: read_kernel(sk, &NET_SK_FAMILY_OFFSET)?,
        port: read_kernel(sk, &NET_SK_NUM_OFFSET).unwrap_or(0),
        protocol: read_kernel(sk, &NET_SK_PROTOCOL_OFFSET).unwrap_or(0),
        sock_type: read_kernel(socket, &NET_SOCKET_TYPE_OFFSET).unwrap_or(0),
        state: read_kernel(sk, &NET_SK_STATE_OFFSET).unwrap_or(0),
        flags: sock_flags::SOCKET_KNOWN,
        addr: [0; 16],
        inode: socket_inode(socket),
    };
    if read_bit(sk, &NET_SK_REUSE_BITS) {
        info.flags |= sock_flags::REUSEADDR;
    }
    if read_bit(sk, &NET_SK_REUSEPORT_BITS) {
        info.flags |= sock_flags::REUSEPORT;
    }
    if read_bit(sk, &NET_SK_IPV6ONLY_BITS) {
        info.flags |= sock_flags::V6ONLY;
    }
    if info.family == AF_INET6 {
        info.addr = read_kernel(sk, &NET_SK_V6_RCV_SADDR_OFFSET).unwrap_or([0; 16]);
    } else {
        let v4: [u8; 4] = read_kernel(sk, &NET_SK_RCV_SADDR_OFFSET).unwrap_or([0; 4]);
        info.addr[..4].copy_from_slice(&v4);
    }
    Some(info)
}

/// Reads the `struct sockaddr` passed to bind() into `inflight`; false when it is not an inet address.
#[inline(always)]
fn read_sockaddr(inflight: &mut BindInflight) -> bool {
    let uaddr = inflight.uaddr as *const u8;
    if uaddr.is_null() || inflight.addrlen < 2 {
        inflight.flags |= sock_flags::ADDR_FAULT;
        return true;
    }
    // sockaddr_in: family, port, address (16 bytes with its padding); sockaddr_in6: family, port, flowinfo,
    // address, scope id (28 bytes; 24 from callers of RFC 2133's time).
    let Ok(head) = (unsafe { bpf_probe_read_user(uaddr as *const [u8; 16]) }) else {
        inflight.flags |= sock_flags::ADDR_FAULT;
        return true;
    };
    let head: [u8; 16] = head;
    inflight.flags &= !sock_flags::ADDR_FAULT;
    inflight.sa_family = u16::from_ne_bytes([head[0], head[1]]);
    inflight.port = u16::from_be_bytes([head[2], head[3]]);
    match inflight.sa_family {
        AF_INET | AF_UNSPEC => {
            inflight.addr = [0; 16];
            inflight.addr[..4].copy_from_slice(&head[4..8]);
            true
        }
        AF_INET6 => {
            if inflight.addrlen >= 28 {
                if let Ok(full) = unsafe { bpf_probe_read_user(uaddr as *const [u8; 28]) } {
                    let full: [u8; 28] = full;
                    inflight.addr.copy_from_slice(&full[8..24]);
                    inflight.scope_id = u32::from_ne_bytes([full[24], full[25], full[26], full[27]]);
                }
            } else if inflight.addrlen >= 24
                && let Ok(full) = unsafe { bpf_probe_read_user(uaddr as *const [u8; 24]) }
            {
                let full: [u8; 24] = full;
                inflight.addr.copy_from_slice(&full[8..24]);
            }
            true
        }
        _ => false,
    }
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
    let Some(inflight) = BIND_INFLIGHT.get_ptr(tid) else { return 0 };
    let mut inflight = unsafe { *inflight };
    let _ = BIND_INFLIGHT.remove(tid);
    let ret: i64 = unsafe { ctx.read_at(16) }.unwrap_or(0);

    if inflight.flags & sock_flags::ADDR_FAULT != 0 && !read_sockaddr(&mut inflight) {
        return 0;
    }
    let info = if ret == -EBADF || ret == -ENOTSOCK { None } else { sock_info(inflight.fd) };
    let info = info.unwrap_or_default();
    let known = info.flags & sock_flags::SOCKET_KNOWN != 0;
    let family = if known { info.family } else { inflight.sa_family };
    if !family_wanted(family) {
        return 0;
    }
    if known && !protocol_wanted(info.protocol) {
        return 0;
    }
    let bound_port = if ret == 0 { info.port } else { 0 };
    let port = if inflight.port != 0 { inflight.port } else { bound_port };
    if !port_wanted(port) {
        return 0;
    }

    let now = now_ns();
    if !admit(bucket::NET) {
        return 0;
    }
    let Some(mut entry) = reserve::<BindEvent>(lost::NET) else {
        return 0;
    };
    let event = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut event.header, kind::NET_BIND, pid_tgid, now);
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
    event._pad = 0;
    event.addr = inflight.addr;
    event.inode = info.inode;
    entry.submit(wakeup_flags(now));
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
    let Some(inflight) = LISTEN_INFLIGHT.get_ptr(tid) else { return 0 };
    let inflight = unsafe { *inflight };
    let _ = LISTEN_INFLIGHT.remove(tid);
    let ret: i64 = unsafe { ctx.read_at(16) }.unwrap_or(0);
    if ret == -EBADF || ret == -ENOTSOCK {
        return 0;
    }
    let Some(info) = sock_info(inflight.fd) else { return 0 };
    if !family_wanted(info.family) || !protocol_wanted(info.protocol) || !port_wanted(info.port) {
        return 0;
    }
    let now = now_ns();
    if !admit(bucket::NET) {
        return 0;
    }
    let Some(mut entry) = reserve::<SockEvent>(lost::NET) else {
        return 0;
    };
    let event = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut event.header, kind::NET_LISTEN, pid_tgid, now);
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
    entry.submit(wakeup_flags(now));
    0
}

#[inline(always)]
fn field<T: Copy + Default>(ctx: &TracePointContext, offset: &u32) -> T {
    unsafe { ctx.read_at(global(offset) as usize) }.unwrap_or_default()
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
    let sk = sk as *const u8;
    // The socket still hangs off the sock while it is being closed; gone when the kernel itself closes it.
    let inode = read_kernel::<u64>(sk, &NET_SK_SOCKET_OFFSET)
        .filter(|&socket| socket != 0)
        .map_or(0, |socket| socket_inode(socket as *const u8));
    let mut flags = 0;
    if !sk.is_null() {
        for (bits, flag) in [
            (&NET_SK_REUSE_BITS, sock_flags::REUSEADDR),
            (&NET_SK_REUSEPORT_BITS, sock_flags::REUSEPORT),
            (&NET_SK_IPV6ONLY_BITS, sock_flags::V6ONLY),
        ] {
            if read_bit(sk, bits) {
                flags |= flag;
            }
        }
    }
    let mut addr = [0u8; 16];
    if family == AF_INET6 {
        addr = field(&ctx, &NET_SSS_SADDR_V6_OFFSET);
    } else {
        let v4: [u8; 4] = field(&ctx, &NET_SSS_SADDR_OFFSET);
        addr[..4].copy_from_slice(&v4);
    }

    let now = now_ns();
    if !admit(bucket::NET) {
        return 0;
    }
    let Some(mut entry) = reserve::<SockEvent>(lost::NET) else {
        return 0;
    };
    let event = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(&mut event.header, kind::NET_STATE, pid_tgid, now);
    event.ret = 0;
    event.fd = -1;
    event.backlog = 0;
    event.family = family;
    event.port = port;
    event.protocol = protocol;
    event.oldstate = oldstate as u8;
    event.newstate = newstate as u8;
    event.flags = flags;
    event.addr = addr;
    event.inode = inode;
    entry.submit(wakeup_flags(now));
    0
}
