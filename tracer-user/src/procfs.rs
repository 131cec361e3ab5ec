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
    let status = fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// What /proc/PID/stat says of a task: its state letter and whether it is a kernel thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskStat {
    pub state: char,
    pub ppid: u32,
    pub kernel_thread: bool,
}

impl TaskStat {
    /// Exited, waiting for its parent to reap it (`Z`), or being reaped (`X`).
    pub fn is_dead(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// `PF_KTHREAD` in the task's flags (include/linux/sched.h).
const PF_KTHREAD: u64 = 0x0020_0000;

/// Parses a stat line: `PID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS ...`; COMM may hold spaces and ')'.
pub fn parse_stat(text: &str) -> Option<TaskStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let flags: u64 = fields.get(6)?.parse().ok()?;
    Some(TaskStat { state, ppid, kernel_thread: flags & PF_KTHREAD != 0 })
}

pub fn task_stat(pid: u32, tid: u32) -> Option<TaskStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?)
}

pub fn stat(pid: u32) -> Option<TaskStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let kthreadd = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 8 0 0";
        assert_eq!(parse_stat(kthreadd), Some(TaskStat { state: 'S', ppid: 0, kernel_thread: true }));
        let odd_name = "77 (a) b (c)) Z 12 77 77 0 -1 4194564 0";
        assert_eq!(parse_stat(odd_name), Some(TaskStat { state: 'Z', ppid: 12, kernel_thread: false }));
        assert_eq!(parse_stat("77 (x) S"), None);
        assert!(!stat(std::process::id()).unwrap().kernel_thread);
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
