//! Everything a process holds, as `lsof -p PID` lists it: working and root directories (`cwd`, `rtd`), program
//! text (`txt`), mapped files (`mem`, one line per file), then every descriptor with its access mode, each with
//! lsof's TYPE, DEVICE, SIZE/OFF, NODE and NAME; and the files held open with no name left (`lsof +L1`).
//!
//! Read from /proc: the fd links and what they lead to (`stat` through the link), `fdinfo` (flags, position),
//! `maps`; sockets named from the kernel's tables of the process's network namespace: TCP and UDP through
//! sock_diag, unix and netlink sockets from its /proc/PID/net files, and any other socket by its protocol's name
//! (`system.sockprotoname`, as lsof's `protocol: NAME`).

use std::{
    collections::{HashMap, HashSet},
    fs,
    net::IpAddr,
    os::unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
    path::{Path, PathBuf},
};

use tracer_common::{
    files::kernel_dev,
    net::{AF_INET, AF_INET6, tcp_state},
};

use super::snapshot::{Slot, fd_info, mode_letter, parse_maps_line, read_maps};
use crate::{
    linux::net::ip_text,
    sockdiag::{self, DiagSocket, Proto, Which, netns},
};

/// A socket's addresses, as the JSON records of `tracer binds` spell them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketEnds {
    /// `tcp`, `udp`, `unix`, `netlink`.
    pub proto: &'static str,
    /// `ipv4`, `ipv6`, `unix`, `netlink`.
    pub family: &'static str,
    /// The local address (a unix socket's path, `@name` when abstract; empty when it has none).
    pub addr: Option<Vec<u8>>,
    pub port: Option<u16>,
    pub peer_addr: Option<String>,
    pub peer_port: Option<u16>,
    /// ss's state names (`LISTEN`, `ESTAB`, `UNCONN`...); `None` when the kernel does not say.
    pub state: Option<&'static str>,
}

/// One line of `lsof -p`.
#[derive(Clone, Debug)]
pub struct Entry {
    pub pid: u32,
    pub slot: Slot,
    /// A mapping whose file is gone or replaced (lsof's `DEL` in the FD column).
    pub mem_deleted: bool,
    /// lsof's TYPE: `REG`, `DIR`, `CHR`, `BLK`, `FIFO`, `LINK`, `IPv4`, `IPv6`, `unix`, `netlink`, `a_inode`,
    /// `sock`, or the mode's type bits in octal when none of these.
    pub file_type: String,
    /// lsof's DEVICE: `major,minor` (a device's own number for CHR and BLK), a socket's inode (IPv4, IPv6), a unix
    /// socket's kernel address as /proc/net/unix shows it.
    pub device: Option<String>,
    /// The file's identity: `st_dev` in the kernel's encoding, and the inode (a socket's for sockets).
    pub dev: u32,
    pub inode: u64,
    /// SIZE/OFF: a size for regular files, directories and anon inodes, the fd's offset for devices, pipes and
    /// sockets (as lsof chooses).
    pub size: Option<u64>,
    pub offset: Option<u64>,
    pub nlink: Option<u64>,
    /// lsof's NODE: the inode, or `TCP`/`UDP` for an IP socket.
    pub node: String,
    /// The link's text, `(deleted)` taken off a deleted file's.
    pub path: Vec<u8>,
    /// lsof's NAME.
    pub name: Vec<u8>,
    pub deleted: bool,
    pub socket: Option<SocketEnds>,
}

impl Entry {
    /// The FD column: `3u`, `cwd`, `mem`, `DEL`.
    pub fn fd_text(&self) -> String {
        if self.mem_deleted { "DEL".into() } else { self.slot.text().trim_end().to_string() }
    }

    /// SIZE/OFF as lsof prints it: a size, or `0t` and the offset in decimal (`0x` and hex past 8 digits).
    pub fn size_off(&self) -> String {
        match (self.size, self.offset) {
            (Some(size), _) => size.to_string(),
            (None, Some(off)) if off < 100_000_000 => format!("0t{off}"),
            (None, Some(off)) => format!("{off:#x}"),
            (None, None) => String::new(),
        }
    }
}

/// The kernel's socket tables, each read once for a snapshot, per network namespace (a container's sockets are
/// looked up from inside its namespace: lsof, reading its own /proc/net, would show them as `sock`).
#[derive(Default)]
pub struct Sockets {
    /// Per network namespace (its inode): TCP and UDP sockets by inode, or why they could not be listed.
    inet: HashMap<u64, Result<HashMap<u64, DiagSocket>, String>>,
    /// Per network namespace: unix and netlink sockets by inode.
    unix: HashMap<u64, HashMap<u64, UnixSocket>>,
    netlink: HashMap<u64, HashMap<u64, u32>>,
}

#[derive(Clone, Debug)]
struct UnixSocket {
    /// `Num` in /proc/net/unix: the kernel's address (hashed), lsof's DEVICE.
    num: String,
    flags: u32,
    ty: u16,
    state: u8,
    path: Option<Vec<u8>>,
}

/// `__SO_ACCEPTCON`: a listening unix socket.
const SO_ACCEPTCON: u32 = 1 << 16;

impl Sockets {
    /// The TCP or UDP socket `inode` of process `pid`'s network namespace (read from inside it when it is not
    /// tracer's); `None` when it is not listed, or the table could not be read (said once on stderr).
    fn inet_of(&mut self, pid: u32, inode: u64) -> Option<&DiagSocket> {
        let ns = Sockets::netns_of(pid);
        let table = self.inet.entry(ns).or_insert_with(|| {
            let dump = || sockdiag::dump_all(&[Proto::Tcp, Proto::Udp], &[AF_INET, AF_INET6], Which::All);
            let list = if ns == u64::from(netns::own()) {
                dump().map_err(|e| e.to_string())
            } else {
                let file = netns::open(ns as u32, Some(pid)).ok_or("its network namespace cannot be entered")?;
                netns::run_in(&file, dump).ok_or("its network namespace cannot be entered")?.map_err(|e| e.to_string())
            };
            let list = list.map(|l| l.into_iter().filter(|s| s.inode != 0).map(|s| (s.inode, s)).collect());
            if let Err(err) = &list {
                eprintln!(
                    "tracer: warning: the TCP and UDP sockets of process {pid} cannot be named ({err}): shown as sock"
                );
            }
            list
        });
        table.as_ref().ok()?.get(&inode)
    }

    fn netns_of(pid: u32) -> u64 {
        fs::metadata(format!("/proc/{pid}/ns/net")).map_or(0, |m| m.ino())
    }

    fn unix_of(&mut self, pid: u32, inode: u64) -> Option<UnixSocket> {
        let ns = Sockets::netns_of(pid);
        let table = self.unix.entry(ns).or_insert_with(|| read_unix(pid));
        table.get(&inode).cloned()
    }

    fn netlink_of(&mut self, pid: u32, inode: u64) -> Option<u32> {
        let ns = Sockets::netns_of(pid);
        let table = self.netlink.entry(ns).or_insert_with(|| read_netlink(pid));
        table.get(&inode).copied()
    }
}

/// /proc/PID/net/unix: `Num: RefCount Protocol Flags Type St Inode Path`.
fn read_unix(pid: u32) -> HashMap<u64, UnixSocket> {
    let Ok(text) = fs::read(format!("/proc/{pid}/net/unix")) else { return HashMap::new() };
    text.split(|&b| b == b'\n').skip(1).filter_map(parse_unix_line).collect()
}

fn parse_unix_line(line: &[u8]) -> Option<(u64, UnixSocket)> {
    let mut rest = line;
    let mut fields = Vec::with_capacity(7);
    for _ in 0..7 {
        let start = rest.iter().position(|&b| b != b' ')?;
        rest = &rest[start..];
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        fields.push(std::str::from_utf8(&rest[..end]).ok()?);
        rest = &rest[end..];
    }
    let path = rest.strip_prefix(b" ").filter(|p| !p.is_empty()).map(<[u8]>::to_vec);
    let num = fields[0].strip_suffix(':')?.to_string();
    let flags = u32::from_str_radix(fields[3], 16).ok()?;
    let ty = u16::from_str_radix(fields[4], 16).ok()?;
    let state = u8::from_str_radix(fields[5], 16).ok()?;
    let inode = fields[6].parse().ok()?;
    Some((inode, UnixSocket { num, flags, ty, state, path }))
}

/// /proc/PID/net/netlink: `sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode`, by inode: the protocol.
fn read_netlink(pid: u32) -> HashMap<u64, u32> {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/net/netlink")) else { return HashMap::new() };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some((fields.get(9)?.parse().ok()?, fields.get(1)?.parse().ok()?))
        })
        .collect()
}

/// Netlink protocols as lsof names them (include/uapi/linux/netlink.h).
fn netlink_name(protocol: u32) -> String {
    let name = match protocol {
        0 => "ROUTE",
        1 => "UNUSED",
        2 => "USERSOCK",
        3 => "FIREWALL",
        4 => "INET_DIAG",
        5 => "NFLOG",
        6 => "XFRM",
        7 => "SELINUX",
        8 => "ISCSI",
        9 => "AUDIT",
        10 => "FIB_LOOKUP",
        11 => "CONNECTOR",
        12 => "NETFILTER",
        13 => "IP6_FW",
        14 => "DNRTMSG",
        15 => "KOBJECT_UEVENT",
        16 => "GENERIC",
        18 => "SCSITRANSPORT",
        19 => "ECRYPTFS",
        20 => "RDMA",
        21 => "CRYPTO",
        _ => return protocol.to_string(),
    };
    name.to_string()
}

/// An address as lsof prints it with `-n -P`: `*` for the wildcard, IPv6 in brackets; `*` for port 0.
fn lsof_addr(ip: IpAddr, port: u16) -> String {
    let host = match ip {
        ip if ip.is_unspecified() => "*".to_string(),
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(_) => format!("[{}]", ip_text(ip)),
    };
    if port == 0 { format!("{host}:*") } else { format!("{host}:{port}") }
}

/// TCP states as lsof names them.
fn lsof_tcp_state(state: u8) -> &'static str {
    match state {
        tcp_state::ESTABLISHED => "ESTABLISHED",
        tcp_state::SYN_SENT => "SYN_SENT",
        tcp_state::SYN_RECV | tcp_state::NEW_SYN_RECV => "SYN_RECV",
        tcp_state::FIN_WAIT1 => "FIN_WAIT1",
        tcp_state::FIN_WAIT2 => "FIN_WAIT2",
        tcp_state::TIME_WAIT => "TIME_WAIT",
        tcp_state::CLOSE => "CLOSED",
        tcp_state::CLOSE_WAIT => "CLOSE_WAIT",
        tcp_state::LAST_ACK => "LAST_ACK",
        tcp_state::LISTEN => "LISTEN",
        tcp_state::CLOSING => "CLOSING",
        _ => "UNKNOWN",
    }
}

fn unix_type(ty: u16) -> String {
    match ty {
        1 => "STREAM".into(),
        2 => "DGRAM".into(),
        3 => "RAW".into(),
        4 => "RDM".into(),
        5 => "SEQPACKET".into(),
        other => other.to_string(),
    }
}

/// A unix socket's state: lsof's name and ss's.
fn unix_state(socket: &UnixSocket) -> (&'static str, &'static str) {
    if socket.flags & SO_ACCEPTCON != 0 {
        return ("LISTEN", "LISTEN");
    }
    match socket.state {
        1 => ("UNCONNECTED", "UNCONN"),
        2 => ("CONNECTING", "SYN-SENT"),
        3 => ("CONNECTED", "ESTAB"),
        4 => ("DISCONNECTING", "CLOSING"),
        _ => ("UNKNOWN", "UNKNOWN"),
    }
}

/// `major,minor` of a `stat` device number, lsof's DEVICE.
fn device_text(st_dev: u64) -> String {
    let dev = kernel_dev(st_dev);
    format!("{},{}", dev >> 20, dev & 0xfffff)
}

/// lsof's TYPE for a mode's type bits.
fn type_of_mode(mode: u32) -> String {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "REG".into(),
        libc::S_IFDIR => "DIR".into(),
        libc::S_IFCHR => "CHR".into(),
        libc::S_IFBLK => "BLK".into(),
        libc::S_IFIFO => "FIFO".into(),
        libc::S_IFLNK => "LINK".into(),
        libc::S_IFSOCK => "sock".into(),
        other => format!("{:04o}", other >> 12),
    }
}

/// The link's text without the ` (deleted)` the kernel appends to a file with no name left (`nlink` 0: a file
/// whose name merely ends so keeps it).
fn strip_deleted(target: &[u8], nlink: Option<u64>) -> (Vec<u8>, bool) {
    match target.strip_suffix(b" (deleted)") {
        Some(name) if nlink == Some(0) => (name.to_vec(), true),
        _ => (target.to_vec(), false),
    }
}

/// A file named by a /proc link (cwd, root, exe, fd/N).
fn file_entry(pid: u32, slot: Slot, link: &str, pos: Option<u64>, sockets: &mut Sockets) -> Option<Entry> {
    let proc_path = PathBuf::from(format!("/proc/{pid}/{link}"));
    let target = fs::read_link(&proc_path).ok()?;
    let target = target.as_os_str().as_bytes();
    // Closed meanwhile: not listed (as lsof would not have seen it either).
    let meta = fs::metadata(&proc_path).ok()?;
    let nlink = Some(meta.nlink());
    let mut entry = Entry {
        pid,
        slot,
        mem_deleted: false,
        file_type: type_of_mode(meta.mode()),
        device: Some(device_text(meta.dev())),
        dev: kernel_dev(meta.dev()),
        inode: meta.ino(),
        size: None,
        offset: None,
        nlink,
        node: meta.ino().to_string(),
        path: target.to_vec(),
        name: target.to_vec(),
        deleted: false,
        socket: None,
    };
    if let Some(inode) = crate::procfs::parse_socket_link(target) {
        entry.offset = pos;
        socket_entry(&mut entry, &proc_path, inode, sockets);
        return Some(entry);
    }
    if let Some(rest) = target.strip_prefix(b"anon_inode:") {
        entry.file_type = "a_inode".into();
        entry.size = Some(meta.size());
        entry.name = rest.to_vec();
        if let Some(info) = link.strip_prefix("fd/").and_then(|fd| fd_info(pid, fd)) {
            entry.name = anon_name(rest, &info).unwrap_or(entry.name);
        }
        return Some(entry);
    }
    if target.starts_with(b"pipe:[") {
        entry.offset = pos;
        entry.name = b"pipe".to_vec();
        return Some(entry);
    }
    match meta.mode() & libc::S_IFMT {
        libc::S_IFCHR | libc::S_IFBLK => {
            entry.device = Some(device_text(meta.rdev()));
            entry.offset = pos;
        }
        libc::S_IFIFO => entry.offset = pos,
        _ => entry.size = Some(meta.size()),
    }
    let (path, deleted) = strip_deleted(target, nlink);
    entry.path = path;
    entry.deleted = deleted;
    Some(entry)
}

/// lsof's mode letter and the position, from /proc/PID/fdinfo/FD.
fn fd_state(pid: u32, fd: i32) -> (char, Option<u64>) {
    let info = fd_info(pid, &fd.to_string());
    let flags = info.as_deref().and_then(|i| info_field(i, "flags")).and_then(|f| u32::from_str_radix(&f, 8).ok());
    let pos = info.as_deref().and_then(|i| info_field(i, "pos")).and_then(|p| p.parse().ok());
    (mode_letter(flags), pos)
}

/// The watched fds lsof lists for an epoll, at most (then `...`).
const EPOLL_MAX_TFDS: usize = 32;

/// What lsof adds to an anon inode's kind from its fdinfo: an epoll's watched fds (`[eventpoll:3,6,7]`, in
/// order), an eventfd's id (`[eventfd:3]`), a pidfd's process (`[pidfd:1234]`).
fn anon_name(kind: &[u8], info: &str) -> Option<Vec<u8>> {
    let text = match kind {
        b"[eventpoll]" => {
            let mut fds: Vec<i64> = info
                .lines()
                .filter_map(|l| l.strip_prefix("tfd:")?.split_whitespace().next()?.parse().ok())
                .take(EPOLL_MAX_TFDS)
                .collect();
            if fds.is_empty() {
                return None;
            }
            fds.sort_unstable();
            let list: Vec<String> = fds.iter().map(i64::to_string).collect();
            let more = if fds.len() == EPOLL_MAX_TFDS { "..." } else { "" };
            format!("[eventpoll:{}{more}]", list.join(","))
        }
        b"[eventfd]" => format!("[eventfd:{}]", info_field(info, "eventfd-id")?),
        b"[pidfd]" => format!("[pidfd:{}]", info_field(info, "Pid")?),
        _ => return None,
    };
    Some(text.into_bytes())
}

fn info_field(info: &str, key: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).map(|v| v.trim().to_string())
}

/// Names a socket as lsof does.
fn socket_entry(entry: &mut Entry, proc_path: &Path, inode: u64, sockets: &mut Sockets) {
    entry.inode = inode;
    if let Some(s) = sockets.inet_of(entry.pid, inode) {
        let v6 = s.family == AF_INET6;
        entry.file_type = if v6 { "IPv6" } else { "IPv4" }.into();
        entry.device = Some(inode.to_string());
        entry.node = if s.proto == Proto::Tcp { "TCP" } else { "UDP" }.into();
        let connected = s.remote_port != 0;
        let mut name = lsof_addr(s.local, s.port);
        if connected {
            name.push_str(&format!("->{}", lsof_addr(s.remote, s.remote_port)));
        }
        if s.proto == Proto::Tcp {
            name.push_str(&format!(" ({})", lsof_tcp_state(s.state)));
        }
        entry.name = name.into_bytes();
        entry.socket = Some(SocketEnds {
            proto: s.proto.name(),
            family: if v6 { "ipv6" } else { "ipv4" },
            addr: Some(ip_text(s.local).into_bytes()),
            port: Some(s.port),
            peer_addr: connected.then(|| ip_text(s.remote)),
            peer_port: connected.then_some(s.remote_port),
            state: Some(sockdiag::state_name(s.proto, s.state)),
        });
        return;
    }
    let protocol = socket_protocol(proto_path_cstr(proc_path).as_deref());
    let pid = entry.pid;
    if protocol.as_deref().is_some_and(|p| p.starts_with("UNIX"))
        && let Some(u) = sockets.unix_of(pid, inode)
    {
        let (lsof_state, ss_state) = unix_state(&u);
        entry.file_type = "unix".into();
        entry.device = Some(format!("0x{}", u.num));
        let mut name = Vec::new();
        if let Some(path) = &u.path {
            name.extend_from_slice(path);
            name.push(b' ');
        }
        name.extend_from_slice(format!("type={} ({lsof_state})", unix_type(u.ty)).as_bytes());
        entry.name = name;
        entry.socket = Some(SocketEnds {
            proto: "unix",
            family: "unix",
            addr: u.path.clone(),
            port: None,
            peer_addr: None,
            peer_port: None,
            state: Some(ss_state),
        });
        return;
    }
    if protocol.as_deref() == Some("NETLINK")
        && let Some(p) = sockets.netlink_of(pid, inode)
    {
        entry.file_type = "netlink".into();
        entry.device = None;
        entry.name = netlink_name(p).into_bytes();
        entry.socket = Some(SocketEnds {
            proto: "netlink",
            family: "netlink",
            addr: None,
            port: None,
            peer_addr: None,
            peer_port: None,
            state: None,
        });
        return;
    }
    // Unknown to the tables read (another network namespace, unbound): its protocol, as lsof says it.
    entry.file_type = "sock".into();
    entry.name = match protocol {
        Some(p) => format!("protocol: {p}").into_bytes(),
        None => b"can't identify protocol".to_vec(),
    };
}

fn proto_path_cstr(path: &Path) -> Option<std::ffi::CString> {
    std::ffi::CString::new(path.as_os_str().as_bytes()).ok()
}

/// `system.sockprotoname` of a socket (`TCP`, `UDPv6`, `UNIX-STREAM`, `NETLINK`...), through its /proc link.
fn socket_protocol(path: Option<&std::ffi::CStr>) -> Option<String> {
    let path = path?;
    let mut buf = [0u8; 64];
    // SAFETY: a NUL-terminated path, a name literal, and a buffer of the length given.
    let n =
        unsafe { libc::getxattr(path.as_ptr(), c"system.sockprotoname".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return None;
    }
    let bytes = &buf[..n as usize];
    let bytes = bytes.iter().position(|&b| b == 0).map_or(bytes, |end| &bytes[..end]);
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// `lsof -p PID`'s lines for one process: cwd, rtd, txt, mem (each mapped file once, the program text excluded),
/// then each descriptor in order. Empty when the process is gone.
pub fn process(pid: u32, sockets: &mut Sockets) -> Vec<Entry> {
    let mut out = Vec::new();
    for (link, slot) in [("cwd", Slot::Cwd), ("root", Slot::Root), ("exe", Slot::Text)] {
        out.extend(file_entry(pid, slot, link, None, sockets));
    }
    let text = out.iter().find(|e| e.slot == Slot::Text).map(|e| (e.dev, e.inode));
    if let Some(maps) = read_maps(pid) {
        let mut seen: HashSet<(u32, u64)> = text.into_iter().collect();
        for line in maps.split(|&b| b == b'\n') {
            let Some((ident, path)) = parse_maps_line(line) else { continue };
            if !seen.insert((ident.dev, ident.ino)) {
                continue;
            }
            out.push(mem_entry(pid, line, ident.dev, ident.ino, path));
        }
    }
    if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) {
        let mut fds: Vec<i32> = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        fds.sort_unstable();
        for fd in fds {
            let (mode, pos) = fd_state(pid, fd);
            out.extend(file_entry(pid, Slot::Fd(fd, mode), &format!("fd/{fd}"), pos, sockets));
        }
    }
    out
}

/// A mapped file: its size when the path still names the mapped file, `DEL` when the mapping says it is deleted.
fn mem_entry(pid: u32, line: &[u8], dev: u32, ino: u64, path: PathBuf) -> Entry {
    let mem_deleted = line.ends_with(b" (deleted)");
    let meta = (!mem_deleted).then(|| fs::metadata(&path).ok()).flatten();
    let meta = meta.filter(|m| kernel_dev(m.dev()) == dev && m.ino() == ino);
    Entry {
        pid,
        slot: Slot::Mem,
        mem_deleted,
        file_type: meta.as_ref().map_or_else(|| "REG".into(), |m| type_of_mode(m.mode())),
        device: Some(format!("{},{}", dev >> 20, dev & 0xfffff)),
        dev,
        inode: ino,
        size: meta.as_ref().map(|m| m.size()),
        offset: None,
        nlink: meta.as_ref().map(|m| m.nlink()),
        node: ino.to_string(),
        path: path.as_os_str().as_bytes().to_vec(),
        name: path.as_os_str().as_bytes().to_vec(),
        deleted: mem_deleted,
        socket: None,
    }
}

/// Files held open with no name left (`lsof +L1`): descriptors, program text and directories whose link count is
/// 0, process by process (every process, or `pids`).
pub fn deleted(pids: Option<&HashSet<u32>>) -> Vec<Entry> {
    let mut sockets = Sockets::default();
    let mut out = Vec::new();
    for pid in crate::procfs::pids().into_iter().filter(|p| pids.is_none_or(|w| w.contains(p))) {
        for (link, slot) in [("cwd", Slot::Cwd), ("root", Slot::Root), ("exe", Slot::Text)] {
            out.extend(file_entry(pid, slot, link, None, &mut sockets).filter(is_unlinked));
        }
        let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        let mut fds: Vec<i32> = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        fds.sort_unstable();
        for fd in fds {
            // The link count first: the fd's details are read only for a file without a name.
            let link = format!("/proc/{pid}/fd/{fd}");
            if !fs::metadata(&link).is_ok_and(|m| m.nlink() == 0 && m.file_type().is_file()) {
                continue;
            }
            let (mode, pos) = fd_state(pid, fd);
            out.extend(file_entry(pid, Slot::Fd(fd, mode), &format!("fd/{fd}"), pos, &mut sockets).filter(is_unlinked));
        }
    }
    out
}

/// A file (not a socket, pipe or anon inode, which never had a name) whose last name is gone.
fn is_unlinked(entry: &Entry) -> bool {
    entry.nlink == Some(0)
        && entry.socket.is_none()
        && matches!(entry.file_type.as_str(), "REG" | "DIR" | "CHR" | "BLK" | "FIFO" | "LINK")
        && !entry.path.starts_with(b"pipe:[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_lines() {
        let (inode, s) =
            parse_unix_line(b"00000000694f4838: 00000002 00000000 00010000 0001 01 23302 /tmp/a b.sock").unwrap();
        assert_eq!((inode, s.num.as_str(), s.ty, s.state), (23302, "00000000694f4838", 1, 1));
        assert_eq!(s.path.as_deref(), Some(&b"/tmp/a b.sock"[..]));
        assert_eq!(unix_state(&s), ("LISTEN", "LISTEN"));
        let (_, s) = parse_unix_line(b"000000009f19524e: 00000003 00000000 00000000 0001 03 23303").unwrap();
        assert_eq!((s.path.as_deref(), unix_state(&s)), (None, ("CONNECTED", "ESTAB")));
    }

    #[test]
    fn names_anon_inodes_as_lsof() {
        let epoll = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1030\ntfd:        7 events:       19 data: 7  pos:0 ino:1 \
                     sdev:f\ntfd:        3 events:       19 data: 3  pos:0 ino:2 sdev:f\n";
        assert_eq!(anon_name(b"[eventpoll]", epoll).as_deref(), Some(&b"[eventpoll:3,7]"[..]));
        assert_eq!(anon_name(b"[eventpoll]", "pos:\t0\n"), None);
        assert_eq!(anon_name(b"[eventfd]", "eventfd-count: 0\neventfd-id: 4\n").as_deref(), Some(&b"[eventfd:4]"[..]));
        assert_eq!(anon_name(b"[pidfd]", "Pid:\t42\nNSpid:\t42\n").as_deref(), Some(&b"[pidfd:42]"[..]));
        assert_eq!(anon_name(b"inotify", ""), None);
    }

    #[test]
    fn addresses_as_lsof_prints_them() {
        assert_eq!(lsof_addr("0.0.0.0".parse().unwrap(), 80), "*:80");
        assert_eq!(lsof_addr("::".parse().unwrap(), 5353), "*:5353");
        assert_eq!(lsof_addr("::1".parse().unwrap(), 22), "[::1]:22");
        assert_eq!(lsof_addr("127.0.0.1".parse().unwrap(), 0), "127.0.0.1:*");
    }

    #[test]
    fn own_descriptors() {
        use std::os::fd::AsRawFd as _;
        let dir = std::env::temp_dir().join(format!("tracer-table-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gone");
        let mut file = fs::File::create(&path).unwrap();
        std::io::Write::write_all(&mut file, b"12345").unwrap();
        fs::remove_file(&path).unwrap();
        let me = std::process::id();
        let entries = process(me, &mut Sockets::default());
        let e = entries.iter().find(|e| e.slot == Slot::Fd(file.as_raw_fd(), 'w')).unwrap();
        assert_eq!((e.file_type.as_str(), e.size, e.deleted, e.nlink), ("REG", Some(5), true, Some(0)));
        assert_eq!(e.path, path.as_os_str().as_bytes());
        assert_eq!(e.name, [path.as_os_str().as_bytes(), b" (deleted)"].concat());
        assert!(deleted(Some(&[me].into_iter().collect())).iter().any(|d| d.slot == e.slot));
        assert_eq!(entries.first().map(|e| e.slot.clone()), Some(Slot::Cwd));
        fs::remove_dir_all(&dir).unwrap();
    }
}
