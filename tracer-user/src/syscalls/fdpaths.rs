//! `-y`/`-yy`: what each fd named when its call ran. The kernel sends, with each record, the identity of the file
//! behind every fd the call names (device and inode, read at the call: `FdIdentity`); this names that identity from
//! what tracer learnt: the call that made the fd (open, dup, eventfd...), or /proc/PID/fd read when tracing
//! started or when the fd is first seen, kept only when its device and inode are the ones the kernel read. Sockets
//! and pipes are named from the identity alone (`socket:[INODE]`, `pipe:[INODE]`; `-yy`: the socket's ends from
//! sock_diag). An identity nothing matches is shown as unknown (`3<?>`), never as a later owner of the number.

use std::{
    collections::HashMap,
    net::IpAddr,
    os::unix::fs::{FileTypeExt as _, MetadataExt as _},
};

use tracer_common::{
    net::{AF_INET, AF_INET6, proto},
    syscalls::{FdIdentity, SocketEnds, fd_state},
};

use crate::sockdiag::{self, Proto};

/// How an fd is shown: its name, unknown, or no decoration (no file behind the number at the call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdName {
    Named(String),
    Unknown,
    NoFile,
}

impl FdName {
    /// The text between `<` and `>`, `None` for a bare number.
    pub fn text(self) -> Option<String> {
        match self {
            FdName::Named(name) => Some(name),
            FdName::Unknown => Some("?".to_string()),
            FdName::NoFile => None,
        }
    }
}

/// A file's identity as the kernel reads it: `s_dev` (kernel encoding) and inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FileId {
    dev: u32,
    ino: u64,
}

impl FileId {
    /// The same device in `stat`'s encoding.
    fn user_dev(self) -> u64 {
        libc::makedev(self.dev >> 20, self.dev & 0xf_ffff)
    }
}

/// What tracer learnt an fd names, and the identity it was learnt for.
#[derive(Clone, Debug)]
struct Known {
    id: FileId,
    name: String,
    /// `-yy`: a device's `<char M:m>`/`<block M:m>`.
    device: Option<String>,
}

/// The pseudo file systems whose files are named by their identity (`st_dev` of a pipe, a socket and an eventfd
/// tracer makes itself).
#[derive(Default)]
struct PseudoDevs {
    pipefs: Option<u64>,
    sockfs: Option<u64>,
    anon: Option<u64>,
}

impl PseudoDevs {
    fn probe() -> PseudoDevs {
        let dev_of = |fd: i32| -> Option<u64> {
            // SAFETY: a zeroed stat buffer for fstat on an fd this function owns.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: valid fd and buffer.
            (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_dev)
        };
        let mut devs = PseudoDevs::default();
        let mut pipe = [0i32; 2];
        // SAFETY: a two-int array for pipe; the fds are closed below.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } == 0 {
            devs.pipefs = dev_of(pipe[0]);
            // SAFETY: fds this function opened.
            unsafe { (libc::close(pipe[0]), libc::close(pipe[1])) };
        }
        // SAFETY: plain fd-returning calls; each fd is closed right after.
        let socket = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if socket >= 0 {
            devs.sockfs = dev_of(socket);
            // SAFETY: an fd this function opened.
            unsafe { libc::close(socket) };
        }
        // SAFETY: as above.
        let event = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if event >= 0 {
            devs.anon = dev_of(event);
            // SAFETY: an fd this function opened.
            unsafe { libc::close(event) };
        }
        devs
    }
}

/// `-yy`: sockets described as strace does, by inode.
#[derive(Default)]
struct Sockets {
    /// Descriptions that no longer change (a connection's ends, a listener's address).
    settled: HashMap<u64, String>,
    /// What socket() said a socket is (`TCP`, `UDPv6`, `UNIX-STREAM`), for a socket sock_diag does not list.
    kinds: HashMap<u64, &'static str>,
}

impl Sockets {
    /// `ends`: what the kernel read at the call (`-yy`), preferred for a TCP or UDP socket: it is the socket as
    /// the call found it, also when it is closed by now; sock_diag for the others (unix) or when not read.
    fn describe(&mut self, ino: u64, ends: Option<&SocketEnds>) -> String {
        if let Some(text) = ends.and_then(|ends| inet_name(ino, ends)) {
            return text;
        }
        if let Some(text) = self.settled.get(&ino) {
            return text.clone();
        }
        if let Some((label, text, settled)) = look_up_socket(ino) {
            self.kinds.insert(ino, label);
            if settled {
                self.settled.insert(ino, text.clone());
            }
            return text;
        }
        match self.kinds.get(&ino) {
            Some(kind) => format!("{kind}:[{ino}]"),
            None => format!("socket:[{ino}]"),
        }
    }
}

/// strace's label of a TCP or UDP socket.
fn inet_label(protocol: u16, v6: bool) -> Option<&'static str> {
    Some(match (protocol, v6) {
        (proto::TCP, false) => "TCP",
        (proto::TCP, true) => "TCPv6",
        (proto::UDP, false) => "UDP",
        (proto::UDP, true) => "UDPv6",
        _ => return None,
    })
}

/// One end of an inet socket as strace shows it: `127.0.0.1:6379`, `[::1]:6379`.
fn inet_end(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
    }
}

/// strace `-yy`'s name of a TCP or UDP socket from its ends as the kernel read them at the call: both ends when it
/// has a far end (a port or an address, as strace decides), its address alone when not (a listener, an unconnected
/// UDP socket), its inode when it has no port (unbound, or released by a failed connect: sock_diag does not list
/// it, and strace falls back to the inode). `None` for another kind of socket or when the kernel read nothing.
fn inet_name(ino: u64, ends: &SocketEnds) -> Option<String> {
    let v6 = match ends.family {
        AF_INET => false,
        AF_INET6 => true,
        _ => return None,
    };
    let label = inet_label(ends.protocol, v6)?;
    if ends.local_port == 0 {
        return Some(format!("{label}:[{ino}]"));
    }
    let (local, remote) = if v6 {
        (IpAddr::from(ends.local_v6), IpAddr::from(ends.remote_v6))
    } else {
        (IpAddr::from(ends.local_v4), IpAddr::from(ends.remote_v4))
    };
    let remote_port = u16::from_be(ends.remote_port_be);
    let local = inet_end(local, ends.local_port);
    Some(if remote_port != 0 || !remote.is_unspecified() {
        format!("{label}:[{local}->{}]", inet_end(remote, remote_port))
    } else {
        format!("{label}:[{local}]")
    })
}

/// A socket's protocol label and strace `-yy` description from sock_diag, and whether it is settled; `None` when
/// not listed.
fn look_up_socket(ino: u64) -> Option<(&'static str, String, bool)> {
    for proto in [Proto::Tcp, Proto::Udp] {
        for family in [AF_INET, AF_INET6] {
            let Ok(sockets) = sockdiag::dump(proto, family, sockdiag::Which::All) else { continue };
            let Some(socket) = sockets.iter().find(|s| s.inode == ino) else { continue };
            let protocol = if proto == Proto::Tcp { proto::TCP } else { proto::UDP };
            let label = inet_label(protocol, family == AF_INET6)?;
            let local = inet_end(socket.local, socket.port);
            if socket.remote_port != 0 {
                return Some((
                    label,
                    format!("{label}:[{local}->{}]", inet_end(socket.remote, socket.remote_port)),
                    true,
                ));
            }
            let listening = proto == Proto::Tcp && socket.state == tracer_common::net::tcp_state::LISTEN;
            return Some((label, format!("{label}:[{local}]"), listening));
        }
    }
    let unix = sockdiag::dump_unix().ok()?;
    let socket = unix.iter().find(|s| s.inode == ino)?;
    let kind = match i32::from(socket.kind) {
        libc::SOCK_STREAM => "UNIX-STREAM",
        libc::SOCK_DGRAM => "UNIX-DGRAM",
        libc::SOCK_SEQPACKET => "UNIX-SEQPACKET",
        _ => "UNIX",
    };
    let mut text = format!("{kind}:[{ino}");
    if socket.peer != 0 {
        text.push_str(&format!("->{}", socket.peer));
    }
    if !socket.name.is_empty() {
        text.push_str(&format!(",\"{}\"", socket.name));
    }
    text.push(']');
    // A peer or a name, once there, stays for the socket's life.
    Some((kind, text, socket.peer != 0 || !socket.name.is_empty()))
}

/// What socket(domain, type) makes, as strace names it.
fn socket_kind(domain: i32, kind: i32) -> Option<&'static str> {
    let kind = kind & 0xf;
    Some(match (domain, kind) {
        (libc::AF_INET, libc::SOCK_STREAM) => "TCP",
        (libc::AF_INET, libc::SOCK_DGRAM) => "UDP",
        (libc::AF_INET6, libc::SOCK_STREAM) => "TCPv6",
        (libc::AF_INET6, libc::SOCK_DGRAM) => "UDPv6",
        (libc::AF_UNIX, libc::SOCK_STREAM) => "UNIX-STREAM",
        (libc::AF_UNIX, libc::SOCK_DGRAM) => "UNIX-DGRAM",
        (libc::AF_UNIX, libc::SOCK_SEQPACKET) => "UNIX-SEQPACKET",
        _ => return None,
    })
}

/// The anonymous-inode files a call makes, by the call's name (all share one inode: only the call tells them
/// apart).
fn anon_name(call: &str) -> Option<&'static str> {
    Some(match call {
        "eventfd" | "eventfd2" => "anon_inode:[eventfd]",
        "epoll_create" | "epoll_create1" => "anon_inode:[eventpoll]",
        "signalfd" | "signalfd4" => "anon_inode:[signalfd]",
        "timerfd_create" => "anon_inode:[timerfd]",
        "inotify_init" | "inotify_init1" => "anon_inode:inotify",
        "fanotify_init" => "anon_inode:[fanotify]",
        "perf_event_open" => "anon_inode:[perf_event]",
        "userfaultfd" => "anon_inode:[userfaultfd]",
        "io_uring_setup" => "anon_inode:[io_uring]",
        _ => return None,
    })
}

pub struct FdPaths {
    /// `-yy`: sockets' ends, devices' numbers.
    detail: bool,
    known: HashMap<(u32, i32), Known>,
    pseudo: PseudoDevs,
    sockets: Sockets,
}

impl FdPaths {
    pub fn new(detail: bool) -> FdPaths {
        FdPaths { detail, known: HashMap::new(), pseudo: PseudoDevs::probe(), sockets: Sockets::default() }
    }

    /// Every fd a process has, from /proc: when tracing starts (`anon`: anonymous inodes too, whose kind is only
    /// known from here or from the call that makes them), or at an exec (then not: the process runs on, and an
    /// anonymous inode's identity cannot tell an eventfd read now from an epoll that had the number at a call).
    pub fn snapshot(&mut self, pid: u32, anon: bool) {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return };
        for entry in entries.flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            if let Some(known) = from_proc(pid, fd, None)
                && (anon || Some(known.id.user_dev()) != self.pseudo.anon)
            {
                self.known.insert((pid, fd), known);
            }
        }
    }

    /// A fork copies its parent's fd table as it is.
    pub fn inherit(&mut self, parent: u32, child: u32) {
        let copied: Vec<((u32, i32), Known)> = self
            .known
            .iter()
            .filter(|((pid, _), _)| *pid == parent)
            .map(|(&(_, fd), known)| ((child, fd), known.clone()))
            .collect();
        self.known.extend(copied);
    }

    /// The name of `fd` of `pid` as the kernel identified it at the call.
    pub fn name(&mut self, pid: u32, identity: &FdIdentity) -> FdName {
        match identity.state {
            fd_state::OPEN => {}
            fd_state::NO_FILE => return FdName::NoFile,
            _ => return FdName::Unknown,
        }
        let id = FileId { dev: identity.dev, ino: identity.ino };
        let dev = Some(id.user_dev());
        if dev == self.pseudo.pipefs {
            return FdName::Named(format!("pipe:[{}]", id.ino));
        }
        if dev == self.pseudo.sockfs {
            return FdName::Named(if self.detail {
                self.sockets.describe(id.ino, Some(&identity.socket))
            } else {
                format!("socket:[{}]", id.ino)
            });
        }
        let fd = identity.fd;
        if let Some(known) = self.known.get(&(pid, fd))
            && known.id == id
        {
            return FdName::Named(self.shown(known));
        }
        // An anonymous inode's identity is the same for every kind (eventfd, epoll...): /proc read now could name
        // a later file of another kind.
        if dev == self.pseudo.anon {
            return FdName::Unknown;
        }
        match from_proc(pid, fd, Some(id)) {
            Some(known) => {
                let name = self.shown(&known);
                self.known.insert((pid, fd), known);
                FdName::Named(name)
            }
            None => FdName::Unknown,
        }
    }

    fn shown(&self, known: &Known) -> String {
        match (&known.device, self.detail) {
            (Some(device), true) => format!("{}<{device}>", known.name),
            _ => known.name.clone(),
        }
    }

    /// Learns from a finished call, before it is shown: the fd it returned (`returned`: the kernel's identity
    /// of it) names what was opened, duplicated or made. `source`: for a dup, the identity of the fd copied.
    pub fn observe(
        &mut self,
        pid: u32,
        call: &str,
        args: &[u64; 6],
        returned: Option<&FdIdentity>,
        source: Option<&FdIdentity>,
        path_arg: Option<&[u8]>,
    ) {
        let Some(returned) = returned.filter(|r| r.state == fd_state::OPEN) else { return };
        let id = FileId { dev: returned.dev, ino: returned.ino };
        let fd = returned.fd;
        match call {
            "socket" | "socketpair" => {
                if let Some(kind) = socket_kind(args[0] as i32, args[1] as i32) {
                    self.sockets.kinds.insert(id.ino, kind);
                }
            }
            // A connection accepted is of its listener's kind.
            "accept" | "accept4" => {
                // A listener known from /proc only: sock_diag says what it is.
                if self.detail
                    && let Some(listener) = source.filter(|s| s.state == fd_state::OPEN)
                    && !self.sockets.kinds.contains_key(&listener.ino)
                {
                    self.sockets.describe(listener.ino, None);
                }
                if let Some(kind) = source.and_then(|s| self.sockets.kinds.get(&s.ino)).copied() {
                    self.sockets.kinds.insert(id.ino, kind);
                }
            }
            "open" | "creat" | "openat" | "openat2" => {
                // The kernel's own spelling while the fd still names this file; otherwise what was asked, made
                // absolute and resolved (symbolic links, `..`), if that still is the file the kernel identified.
                let known = from_proc(pid, fd, Some(id)).or_else(|| {
                    let asked = String::from_utf8_lossy(path_arg?).into_owned();
                    let name = if asked.starts_with('/') {
                        asked
                    } else {
                        let dirfd = if call.starts_with("openat") { args[0] as u32 as i32 } else { libc::AT_FDCWD };
                        let base = if dirfd == libc::AT_FDCWD {
                            std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?.to_string_lossy().into_owned()
                        } else {
                            self.known.get(&(pid, dirfd))?.name.clone()
                        };
                        format!("{}/{asked}", base.trim_end_matches('/'))
                    };
                    // /proc/self is the process that resolves it: the traced one's, not tracer's.
                    let name = match name.strip_prefix("/proc/self/") {
                        Some(rest) => format!("/proc/{pid}/{rest}"),
                        None => name,
                    };
                    let name = std::fs::canonicalize(&name).ok()?;
                    let meta = std::fs::metadata(&name).ok()?;
                    (identity_of(&meta) == id).then(|| Known {
                        id,
                        name: name.to_string_lossy().into_owned(),
                        device: device_of(&meta),
                    })
                });
                if let Some(known) = known {
                    self.known.insert((pid, fd), known);
                }
            }
            "dup" | "dup2" | "dup3" | "fcntl" => {
                if call == "fcntl" && !matches!(args[1] as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) {
                    return;
                }
                let copied = source
                    .and_then(|s| self.known.get(&(pid, s.fd)).filter(|k| k.id == FileId { dev: s.dev, ino: s.ino }))
                    .filter(|k| k.id == id)
                    .cloned();
                match copied {
                    Some(known) => self.known.insert((pid, fd), known),
                    None => self.known.remove(&(pid, fd)),
                };
            }
            _ => match anon_name(call) {
                Some(name) => {
                    self.known.insert((pid, fd), Known { id, name: name.to_string(), device: None });
                }
                // Anything else that makes an fd replaces what the number named.
                None => {
                    self.known.remove(&(pid, fd));
                }
            },
        }
    }

    pub fn forget(&mut self, pid: u32, fd: i32) {
        self.known.remove(&(pid, fd));
    }

    /// An exec closed the close-on-exec fds without a call: names that identities cannot check (anonymous
    /// inodes) are dropped.
    pub fn forget_unverifiable(&mut self, pid: u32) {
        let anon = self.pseudo.anon;
        self.known.retain(|&(p, _), known| p != pid || Some(known.id.user_dev()) != anon);
    }

    pub fn forget_process(&mut self, pid: u32) {
        self.known.retain(|&(p, _), _| p != pid);
    }
}

/// What /proc/PID/fd/FD names now, with its identity; when `expected` is given, only if it is still that file.
fn from_proc(pid: u32, fd: i32, expected: Option<FileId>) -> Option<Known> {
    let link = format!("/proc/{pid}/fd/{fd}");
    let name = std::fs::read_link(&link).ok()?.to_string_lossy().into_owned();
    let meta = std::fs::metadata(&link).ok()?;
    let id = identity_of(&meta);
    if expected.is_some_and(|e| e != id) {
        return None;
    }
    // The link may have changed between the two reads: read it again.
    if std::fs::read_link(&link).ok()?.to_string_lossy() != name {
        return None;
    }
    let device = device_of(&meta);
    Some(Known { id, name, device })
}

/// A file's identity in the kernel's encoding of the device, to compare with the identity the kernel read.
fn identity_of(meta: &std::fs::Metadata) -> FileId {
    FileId { dev: libc::major(meta.dev()) << 20 | libc::minor(meta.dev()), ino: meta.ino() }
}

/// `-yy`'s `char M:m` or `block M:m` for a device file.
fn device_of(meta: &std::fs::Metadata) -> Option<String> {
    let file_type = meta.file_type();
    let rdev = meta.rdev();
    if file_type.is_char_device() {
        Some(format!("char {}:{}", libc::major(rdev), libc::minor(rdev)))
    } else if file_type.is_block_device() {
        Some(format!("block {}:{}", libc::major(rdev), libc::minor(rdev)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(fd: i32, dev: u64, ino: u64) -> FdIdentity {
        let dev = libc::major(dev) << 20 | libc::minor(dev);
        FdIdentity { ino, dev, fd, source: 0, state: fd_state::OPEN, _pad: [0; 6], socket: Default::default() }
    }

    #[test]
    fn names_only_the_file_the_kernel_identified() {
        let pid = std::process::id();
        let file = std::fs::File::open("/etc/hostname").unwrap();
        let meta = file.metadata().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let mut fds = FdPaths::new(false);
        assert_eq!(fds.name(pid, &identity(fd, meta.dev(), meta.ino())), FdName::Named("/etc/hostname".into()));
        // Another file's identity at the same number: unknown, not /etc/hostname.
        assert_eq!(fds.name(pid, &identity(fd, meta.dev(), meta.ino() + 1)), FdName::Unknown);
        let none = FdIdentity { fd, state: fd_state::NO_FILE, ..Default::default() };
        assert_eq!(fds.name(pid, &none), FdName::NoFile);
    }

    fn v4(local: ([u8; 4], u16), remote: ([u8; 4], u16), protocol: u16) -> SocketEnds {
        SocketEnds {
            family: AF_INET,
            protocol,
            local_port: local.1,
            remote_port_be: remote.1.to_be(),
            local_v4: local.0,
            remote_v4: remote.0,
            ..Default::default()
        }
    }

    #[test]
    fn names_inet_sockets_from_their_ends_as_strace_does() {
        let lo = [127, 0, 0, 1];
        let name = |ends: SocketEnds| inet_name(106262, &ends);
        assert_eq!(
            name(v4((lo, 44252), (lo, 6379), proto::TCP)).as_deref(),
            Some("TCP:[127.0.0.1:44252->127.0.0.1:6379]")
        );
        assert_eq!(name(v4((lo, 6379), ([0; 4], 0), proto::TCP)).as_deref(), Some("TCP:[127.0.0.1:6379]"));
        assert_eq!(name(v4(([0; 4], 5353), ([0; 4], 0), proto::UDP)).as_deref(), Some("UDP:[0.0.0.0:5353]"));
        // No port: unbound, or released by a failed connect (its far end may linger); strace shows the inode.
        assert_eq!(name(v4(([0; 4], 0), (lo, 1), proto::TCP)).as_deref(), Some("TCP:[106262]"));
        let mut v6 = SocketEnds { family: AF_INET6, protocol: proto::TCP, local_port: 80, ..Default::default() };
        v6.local_v6[15] = 1;
        v6.remote_v6[15] = 1;
        v6.remote_port_be = 5000u16.to_be();
        assert_eq!(name(v6).as_deref(), Some("TCPv6:[[::1]:80->[::1]:5000]"));
        v6.protocol = proto::UDP;
        assert_eq!(name(v6).as_deref(), Some("UDPv6:[[::1]:80->[::1]:5000]"));
        // Not read (no -yy, a read failed), a unix socket, another protocol: sock_diag's to name.
        assert_eq!(name(SocketEnds::default()), None);
        assert_eq!(name(SocketEnds { family: 1, ..Default::default() }), None);
        assert_eq!(name(v4((lo, 1), ([0; 4], 0), proto::SCTP)), None);
    }

    #[test]
    fn names_a_closed_socket_from_the_ends_read_at_the_call() {
        let mut fds = FdPaths::new(true);
        let Some(sockfs) = fds.pseudo.sockfs else { panic!("no sockfs device") };
        // An inode no socket has now: sock_diag cannot know it, the kernel's read at the call does.
        let mut identity = identity(5, sockfs, u64::from(u32::MAX) + 12345);
        identity.socket = v4(([127, 0, 0, 1], 44252), ([127, 0, 0, 1], 6379), proto::TCP);
        assert_eq!(fds.name(1, &identity), FdName::Named("TCP:[127.0.0.1:44252->127.0.0.1:6379]".into()));
        identity.socket = SocketEnds::default();
        assert_eq!(fds.name(1, &identity), FdName::Named(format!("socket:[{}]", identity.ino)));
    }

    #[test]
    fn names_pipes_and_sockets_by_identity() {
        let (reader, _writer) = std::io::pipe().unwrap();
        let meta = std::fs::metadata(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&reader))).unwrap();
        let mut fds = FdPaths::new(false);
        // Whatever fd number: the identity alone names a pipe.
        assert_eq!(fds.name(1, &identity(77, meta.dev(), meta.ino())), FdName::Named(format!("pipe:[{}]", meta.ino())));
    }
}
