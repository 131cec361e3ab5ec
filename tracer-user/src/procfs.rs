//! /proc readers: threads, the syscall a thread is blocked in, strings and structs from a live process's memory, fd paths.
//! Hand-written because each is a line or two of parsing and the `procfs` crate covers neither
//! `task/TID/syscall` nor reads from `mem`.

use std::{fs, io, os::unix::fs::FileExt, path::PathBuf};

pub fn exists(pid: u32) -> bool {
    fs::metadata(format!("/proc/{pid}")).is_ok()
}

pub fn threads(pid: u32) -> io::Result<Vec<u32>> {
    let mut tids: Vec<u32> = fs::read_dir(format!("/proc/{pid}/task"))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    Ok(tids)
}

pub fn thread_comm(pid: u32, tid: u32) -> Option<Vec<u8>> {
    let mut bytes = fs::read(format!("/proc/{pid}/task/{tid}/comm")).ok()?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Some(bytes)
}

pub fn comm(pid: u32) -> Option<Vec<u8>> {
    let mut bytes = fs::read(format!("/proc/{pid}/comm")).ok()?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Some(bytes)
}

/// A process's start time, in clock ticks since boot (`/proc/PID/stat`'s 22nd field), `None` when it is gone.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    // The comm in parentheses may hold anything, spaces and parentheses included: fields start after the last `)`.
    let after = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    // Field 3 (state) is the first after the comm: the start time is 19 fields later.
    std::str::from_utf8(after).ok()?.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// CLOCK_BOOTTIME less CLOCK_MONOTONIC: the time the machine spent suspended, which /proc's start times (counted
/// from boot) include and the kernel's `task->start_time` (tracer's `start_ns`) does not. Read once: the two clock
/// reads are a few dozen ns apart, and one process must get one `start_ns` however often it is looked up.
pub fn suspended_ns() -> u64 {
    static SUSPENDED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SUSPENDED.get_or_init(read_suspended_ns)
}

fn read_suspended_ns() -> u64 {
    let now = |clock| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: a valid timespec; both clocks always exist.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    };
    let monotonic = now(libc::CLOCK_MONOTONIC);
    now(libc::CLOCK_BOOTTIME).saturating_sub(monotonic)
}

/// A start time in /proc's clock ticks since boot as tracer's `start_ns` (CLOCK_MONOTONIC ns, as the kernel keeps
/// `task->start_time`): exact to the tick only (10 ms at 100 Hz).
pub fn ticks_to_start_ns(ticks: u64, suspended_ns: u64) -> u64 {
    (ticks * (1_000_000_000 / crate::linux::processes::clock_ticks())).saturating_sub(suspended_ns)
}

/// `start_ns` of a process named from /proc (its `stat`'s start time, to the clock tick), `None` when it is gone.
pub fn start_ns(pid: u32) -> Option<u64> {
    start_ticks(pid).map(|ticks| ticks_to_start_ns(ticks, suspended_ns()))
}

/// `start_ticks` of a start time in nanoseconds since boot (the kernel's `start_boottime`).
pub fn boot_ns_to_ticks(ns: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ns / (1_000_000_000 / hz)
}

/// What `/proc/PID/task/TID/syscall` says: the call a thread is inside, with its raw arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskSyscall {
    Running,
    /// Blocked, but not in a syscall (a page fault, stopped).
    NotInSyscall,
    In {
        nr: i32,
        args: [u64; 6],
    },
}

pub fn parse_task_syscall(text: &str) -> Option<TaskSyscall> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if first == "running" {
        return Some(TaskSyscall::Running);
    }
    let nr: i64 = first.parse().ok()?;
    if nr < 0 {
        return Some(TaskSyscall::NotInSyscall);
    }
    let mut args = [0u64; 6];
    for arg in &mut args {
        *arg = u64::from_str_radix(words.next()?.trim_start_matches("0x"), 16).ok()?;
    }
    Some(TaskSyscall::In { nr: nr as i32, args })
}

pub fn task_syscall(pid: u32, tid: u32) -> Option<TaskSyscall> {
    parse_task_syscall(&fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?)
}

pub fn wchan(pid: u32, tid: u32) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/wchan")).ok()?;
    (!text.is_empty() && text != "0").then_some(text)
}

/// Reads up to `max` bytes of a NUL-terminated string from the process's memory.
pub fn read_cstring(pid: u32, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
    if addr == 0 {
        return None;
    }
    let mem = fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; max];
    let n = mem.read_at(&mut buf, addr).ok()?;
    buf.truncate(n);
    match buf.iter().position(|&b| b == 0) {
        Some(end) => {
            buf.truncate(end);
            Some((buf, false))
        }
        None => Some((buf, true)),
    }
}

/// Reads exactly `len` bytes of the process's memory (a struct); `None` when they cannot all be read.
pub fn read_bytes(pid: u32, addr: u64, len: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mem = fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut buf = vec![0u8; len];
    mem.read_exact_at(&mut buf, addr).ok()?;
    Some(buf)
}

pub fn fd_path(pid: u32, fd: i64) -> Option<String> {
    if fd < 0 {
        return None;
    }
    let target: PathBuf = fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    Some(target.to_string_lossy().into_owned())
}

/// `Tgid:` from /proc/TID/status: the process a thread id belongs to.
pub fn tgid_of(tid: u32) -> Option<u32> {
    let status = status(tid)?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// /proc/PID/status. Its `Name:` line is the process's name as raw bytes, which need not be UTF-8: read as a
/// string, the whole file would fail for such a process (then taken for gone), so that line alone is lossy.
fn status(pid: u32) -> Option<String> {
    Some(String::from_utf8_lossy(&fs::read(format!("/proc/{pid}/status")).ok()?).into_owned())
}

/// The real uid of a process (`Uid:` in /proc/PID/status).
pub fn uid(pid: u32) -> Option<u32> {
    status_uid_locked(pid).map(|(uid, _)| uid)
}

pub fn task_stat(pid: u32, tid: u32) -> Option<ProcStat> {
    parse_stat(&fs::read(format!("/proc/{pid}/task/{tid}/stat")).ok()?)
}

/// A process that has exited but is still listed (a zombie its parent has not reaped): every thread is dead.
/// A leader that exited while other threads run shows `Z` too, and is not gone.
pub fn is_zombie(pid: u32) -> bool {
    if !stat(pid).is_some_and(|s| s.is_dead()) {
        return false;
    }
    threads(pid).is_ok_and(|tids| tids.iter().all(|&tid| task_stat(pid, tid).is_none_or(|s| s.is_dead())))
}

/// Still running: listed in /proc and not a zombie.
pub fn is_alive(pid: u32) -> bool {
    exists(pid) && !is_zombie(pid)
}

/// The inode number of the kernel's first pid namespace (`PROC_PID_INIT_INO`, include/linux/proc_ns.h): fixed.
const INIT_PID_NAMESPACE_INODE: u64 = 0xEFFF_FFFC;

fn pid_namespace_inode(link: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(link).ok().map(|m| m.ino())
}

/// Why the pids tracer knows are not those the kernel's probes see, if they are not: tracer runs in a pid
/// namespace other than the kernel's first (a container: `fork` and `$!` give that namespace's pids), or /proc
/// was mounted in one (it lists that namespace's pids). `None`: they are the kernel's.
pub fn foreign_pid_namespace() -> Option<&'static str> {
    if pid_namespace_inode("/proc/self/ns/pid").is_some_and(|inode| inode != INIT_PID_NAMESPACE_INODE) {
        return Some("tracer runs in a pid namespace other than the kernel's first (a container)");
    }
    if pid_namespace_inode("/proc/1/ns/pid").is_some_and(|inode| inode != INIT_PID_NAMESPACE_INODE) {
        return Some("/proc was mounted in a pid namespace other than the kernel's first (a container's)");
    }
    None
}

/// `pid` as its own pid namespace numbers it (`NSpid` in /proc/PID/status), `None` when it is in the kernel's first
/// pid namespace (the pid is the one it knows) or is gone. A stat of its namespace link first: most processes are
/// in the first namespace, and that answers without formatting the whole status file.
pub fn ns_pid(pid: u32) -> Option<u32> {
    let inode = pid_namespace_inode(&format!("/proc/{pid}/ns/pid"))?;
    if inode == INIT_PID_NAMESPACE_INODE {
        return None;
    }
    crate::linux::cgroups::ns_pid_of_status(&status(pid)?)
}

/// /proc/PID/cgroup: the process's cgroup in every hierarchy.
pub fn cgroups(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()
}

/// A process holding a socket: the socket's inode is behind one of its fds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketOwner {
    pub pid: u32,
    pub fd: i32,
}

/// The inode of a socket fd's link target, `socket:[12345]`.
pub fn parse_socket_link(target: &[u8]) -> Option<u64> {
    std::str::from_utf8(target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?).ok()?.parse().ok()
}

/// Which processes hold the sockets `wanted` (every socket when `None`), from the `socket:[INODE]` links of
/// /proc/PID/fd, as `ss -p` and lsof find them. Every process sharing a socket is listed (a server's workers);
/// processes that exit meanwhile or that cannot be read are skipped.
pub fn socket_owners(
    wanted: Option<&std::collections::HashSet<u64>>,
) -> std::collections::HashMap<u64, Vec<SocketOwner>> {
    use std::os::unix::ffi::OsStrExt as _;
    let mut owners: std::collections::HashMap<u64, Vec<SocketOwner>> = std::collections::HashMap::new();
    if wanted.is_some_and(|w| w.is_empty()) {
        return owners;
    }
    let Ok(procs) = fs::read_dir("/proc") else { return owners };
    let mut pids: Vec<u32> = procs.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for entry in fds.flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            let Ok(target) = fs::read_link(entry.path()) else { continue };
            let Some(inode) = parse_socket_link(target.as_os_str().as_bytes()) else { continue };
            if wanted.is_none_or(|w| w.contains(&inode)) {
                owners.entry(inode).or_default().push(SocketOwner { pid, fd });
            }
        }
    }
    owners
}

/// A process holding a socket open, as `ss -p` and lsof list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketHolder {
    pub pid: u32,
    pub fd: i32,
    /// Its start time (`start_ns`, to the clock tick); `None` when it has exited meanwhile.
    pub start_ns: Option<u64>,
    /// Empty when the process has exited meanwhile.
    pub comm: Vec<u8>,
    /// The process's effective uid, ps's and lsof's USER (not the socket's uid: the uid of whoever created the
    /// socket, root for a server's workers that inherited its listener); `None` when it has exited meanwhile.
    pub uid: Option<u32>,
}

/// The processes holding socket `inode`, from `socket_owners`' answer: none for inode 0 (TIME-WAIT, request
/// sockets), which no fd names.
pub fn socket_holders(inode: u64, owners: &std::collections::HashMap<u64, Vec<SocketOwner>>) -> Vec<SocketHolder> {
    let Some(list) = owners.get(&inode).filter(|_| inode != 0) else { return Vec::new() };
    list.iter()
        .map(|owner| SocketHolder {
            pid: owner.pid,
            fd: owner.fd,
            start_ns: start_ns(owner.pid),
            comm: comm(owner.pid).unwrap_or_default(),
            uid: effective_uid(owner.pid),
        })
        .collect()
}

/// The effective uid of a process (`/proc/PID/status`'s second `Uid:` field), `None` when it is gone.
pub fn effective_uid(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// What /proc/PID/stat says about a process (proc(5)), as ps reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: Vec<u8>,
    /// `R`, `S`, `D`, `Z`, `T`, `t`, `I`, `X`...
    pub state: u8,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    /// The controlling terminal's device number, 0 for none.
    pub tty_nr: u32,
    /// The terminal's foreground process group, -1 for none.
    pub tpgid: i32,
    /// Kernel `PF_*` flags (`PF_KTHREAD`: a kernel thread).
    pub flags: u32,
    /// User and system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    pub nice: i64,
    pub threads: u32,
    /// Since boot, in clock ticks.
    pub start_ticks: u64,
    /// Resident pages.
    pub rss_pages: u64,
}

/// Parses /proc/PID/stat: the command name is in parentheses and may hold spaces and `)`, so the fields are
/// counted from the last `)`.
pub fn parse_stat(text: &[u8]) -> Option<ProcStat> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let pid = std::str::from_utf8(&text[..open]).ok()?.trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_vec();
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let field = |n: usize| fields.get(n - 3).copied();
    let num = |n: usize| field(n)?.parse::<u64>().ok();
    Some(ProcStat {
        pid,
        comm,
        state: *field(3)?.as_bytes().first()?,
        ppid: num(4)? as u32,
        pgrp: num(5)? as u32,
        session: num(6)? as u32,
        tty_nr: num(7)? as u32,
        tpgid: field(8)?.parse().ok()?,
        flags: num(9)? as u32,
        cpu_ticks: num(14)? + num(15)?,
        nice: field(19)?.parse().ok()?,
        threads: num(20)? as u32,
        start_ticks: num(22)?,
        rss_pages: num(24)?,
    })
}

pub fn stat(pid: u32) -> Option<ProcStat> {
    parse_stat(&fs::read(format!("/proc/{pid}/stat")).ok()?)
}

impl ProcStat {
    /// Exited, waiting for its parent to reap it (`Z`), or being reaped (`X`).
    pub fn is_dead(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }

    pub fn kernel_thread(&self) -> bool {
        self.flags & crate::linux::processes::PF_KTHREAD != 0
    }
}

/// The process's arguments (/proc/PID/cmdline split at NULs); empty for a kernel thread or a zombie. Trailing NULs
/// are padding, not empty arguments: a process that retitles itself (nginx's `nginx: worker process`) overwrites its
/// arguments and pads the rest with NULs; ps drops them too.
pub fn cmdline(pid: u32) -> Option<Vec<Vec<u8>>> {
    let bytes = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
    let bytes = &bytes[..end];
    Some(if bytes.is_empty() { Vec::new() } else { bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect() })
}

/// `Uid:` (real) and `VmLck:` (kB of locked memory) from /proc/PID/status.
pub fn status_uid_locked(pid: u32) -> Option<(u32, u64)> {
    let status = status(pid)?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.parse().ok()?;
    let locked = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Some((uid, locked))
}

/// The process's working directory, when it is still the directory the kernel identified at an exec (`dev` in the
/// kernel's encoding, `ino`); `None` when it is not (it changed directory since), the process is gone, the
/// directory was removed, or the kernel could not say (`ino` 0): unknown rather than another directory's name.
pub fn cwd_if_still(pid: u32, dev: u32, ino: u64) -> Option<Vec<u8>> {
    use std::os::unix::{
        ffi::OsStringExt as _,
        fs::{MetadataExt as _, OpenOptionsExt as _},
        io::AsRawFd as _,
    };
    if ino == 0 {
        return None;
    }
    // One open of the link: the identity and the name below are of that one directory, however fast the process
    // moves on.
    let dir = fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(format!("/proc/{pid}/cwd"))
        .ok()?;
    let meta = dir.metadata().ok()?;
    if tracer_common::files::kernel_dev(meta.dev()) != dev || meta.ino() != ino {
        return None;
    }
    let name = fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()?.into_os_string().into_vec();
    // A removed directory keeps its identity but its name no longer leads to it.
    (!name.ends_with(b" (deleted)")).then_some(name)
}

/// Every process id in /proc, sorted.
pub fn pids() -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let mut pids: Vec<u32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    pids.sort_unstable();
    pids
}

/// Seconds since boot (/proc/uptime).
pub fn uptime_secs() -> Option<f64> {
    fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_of_a_socket_of_this_process() {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::MetadataExt as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = listener.as_raw_fd();
        let inode = fs::metadata(format!("/proc/self/fd/{fd}")).unwrap().ino();
        let owners = socket_owners(Some(&[inode].into_iter().collect()));
        let me = std::process::id();
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            socket_holders(inode, &owners),
            [SocketHolder { pid: me, fd, start_ns: start_ns(me), comm: comm(me).unwrap(), uid: Some(euid) }]
        );
        assert!(socket_holders(0, &owners).is_empty());
    }

    #[test]
    fn parses_stat_with_a_hostile_name() {
        let line = b"42 (a) b (c) S 1 42 42 34816 42 4194560 0 0 0 0 7 3 0 0 20 -5 2 0 12345 100 25 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!((stat.pid, stat.comm.as_slice(), stat.state, stat.ppid), (42, &b"a) b (c"[..], b'S', 1));
        assert_eq!((stat.tty_nr, stat.tpgid, stat.cpu_ticks, stat.nice, stat.threads), (34816, 42, 10, -5, 2));
        assert_eq!((stat.start_ticks, stat.rss_pages), (12345, 25));
        let me = stat_of_self();
        assert_eq!(me.pid, std::process::id());
    }

    fn stat_of_self() -> ProcStat {
        stat(std::process::id()).unwrap()
    }

    #[test]
    fn parses_task_syscall() {
        assert_eq!(parse_task_syscall("running\n"), Some(TaskSyscall::Running));
        assert_eq!(parse_task_syscall("-1 0x7ffd 0x4011\n"), Some(TaskSyscall::NotInSyscall));
        assert_eq!(
            parse_task_syscall("0 0x3 0x7ffd1000 0x1 0x0 0x0 0x0 0x7ffd0ff8 0x7f00\n"),
            Some(TaskSyscall::In { nr: 0, args: [3, 0x7ffd1000, 1, 0, 0, 0] })
        );
        assert_eq!(parse_task_syscall("0 0x3"), None);
    }

    #[test]
    fn parses_stat_lines() {
        let kthreadd = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 8 0 0 0 0";
        let k = parse_stat(kthreadd).unwrap();
        assert_eq!((k.state, k.ppid, k.kernel_thread(), k.is_dead()), (b'S', 0, true, false));
        let odd_name = b"77 (a) b (c)) Z 12 77 77 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0 0 0";
        let z = parse_stat(odd_name).unwrap();
        assert_eq!(
            (z.comm.as_slice(), z.state, z.ppid, z.kernel_thread(), z.is_dead()),
            (&b"a) b (c)"[..], b'Z', 12, false, true)
        );
        assert_eq!(parse_stat(b"77 (x) S"), None);
        assert!(!stat(std::process::id()).unwrap().kernel_thread());
        assert!(is_alive(std::process::id()));
    }

    #[test]
    fn reads_own_threads_and_memory() {
        let me = std::process::id();
        assert!(threads(me).unwrap().contains(&me));
        let text = c"hello";
        let (bytes, cut) = read_cstring(me, text.as_ptr() as u64, 64).unwrap();
        assert_eq!((bytes.as_slice(), cut), (&b"hello"[..], false));
        assert_eq!(tgid_of(me), Some(me));
    }

    #[test]
    fn finds_the_owner_of_a_socket() {
        use std::os::fd::AsRawFd as _;
        assert_eq!(parse_socket_link(b"socket:[4242]"), Some(4242));
        assert_eq!(parse_socket_link(b"pipe:[4242]"), None);
        assert_eq!(parse_socket_link(b"socket:[x]"), None);
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let fd = socket.as_raw_fd();
        let link = fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let inode = parse_socket_link(link.to_string_lossy().as_bytes()).unwrap();
        let owners = socket_owners(Some(&[inode].into_iter().collect()));
        assert_eq!(owners.get(&inode), Some(&vec![SocketOwner { pid: std::process::id(), fd }]));
    }
}
