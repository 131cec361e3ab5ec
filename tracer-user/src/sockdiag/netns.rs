//! Network namespaces: sock_diag only lists the sockets of the namespace it is asked from, so a socket of a
//! container is looked up from inside its namespace (the kernel side reports the namespace's inode number with
//! every bind and listen). A thread of our own enters it with setns(2) for the time of one dump: the rest of
//! tracer stays where it is.

use std::{
    fs::{self, File},
    os::{fd::AsRawFd as _, unix::fs::MetadataExt as _},
    path::Path,
};

/// The inode number of tracer's own network namespace, 0 when /proc does not say.
pub fn own() -> u32 {
    fs::metadata("/proc/self/ns/net").map_or(0, |m| m.ino() as u32)
}

/// An open handle on the network namespace whose inode number is `ino`: through `/proc/HINT/ns/net` first (the
/// process that made the socket), else any process's, else a name `ip netns` gave it. Checked on the open file, so
/// a pid reused meanwhile cannot hand over another namespace. `None` when no process and no name keeps it.
pub fn open(ino: u32, hint: Option<u32>) -> Option<File> {
    let matches = |path: &Path| -> Option<File> {
        let file = File::open(path).ok()?;
        (file.metadata().ok()?.ino() == u64::from(ino)).then_some(file)
    };
    if let Some(file) = hint.and_then(|pid| matches(Path::new(&format!("/proc/{pid}/ns/net")))) {
        return Some(file);
    }
    let procs = fs::read_dir("/proc").ok()?.flatten().filter(|e| e.file_name().as_encoded_bytes()[0].is_ascii_digit());
    let named = fs::read_dir("/run/netns").into_iter().flatten().flatten().map(|e| e.path());
    procs
        .map(|e| e.path().join("ns/net"))
        // A cheap stat first: opening every process's namespace would be slower.
        .filter(|path| fs::metadata(path).is_ok_and(|m| m.ino() == u64::from(ino)))
        .chain(named)
        .find_map(|path| matches(&path))
}

/// Runs `work` in a thread that entered the network namespace `ns`; `None` when it could not enter it.
pub fn run_in<R: Send>(ns: &File, work: impl FnOnce() -> R + Send) -> Option<R> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: a valid fd of a network namespace; setns changes only this thread's namespace, and the
                // thread ends with the work.
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return None;
                }
                Some(work())
            })
            .join()
            .ok()
            .flatten()
    })
}

/// A network namespace a snapshot looks in.
#[derive(Debug)]
pub struct Namespace {
    /// Its inode number (`/proc/PID/ns/net` links to `net:[INODE]`).
    pub inode: u32,
    pub file: File,
}

/// `ioctl(fd, NS_GET_NSTYPE)` (linux/nsfs.h): the type of a namespace file, `CLONE_NEWNET` for a network one.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Every network namespace some process is in, and those `ip netns` keeps by name with no process in them,
/// tracer's own first. A process that exits meanwhile is skipped; its namespace is found through another one.
pub fn every() -> Vec<Namespace> {
    let own = own();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let procs = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes().first().is_some_and(u8::is_ascii_digit));
    let named = fs::read_dir("/run/netns").into_iter().flatten().flatten().map(|e| e.path());
    let candidates =
        std::iter::once(Path::new("/proc/self/ns/net").to_path_buf()).chain(procs.map(|e| e.path().join("ns/net")));
    for path in candidates.chain(named) {
        // A cheap stat first: only a namespace not seen yet is opened.
        let Ok(meta) = fs::metadata(&path) else { continue };
        let inode = meta.ino() as u32;
        if seen.contains(&inode) {
            continue;
        }
        let Ok(file) = File::open(&path) else { continue };
        // Checked on the open file: the process may have exited, or a name been reused, meanwhile.
        if file.metadata().ok().map(|m| m.ino() as u32) != Some(inode) || !is_network(&file) {
            continue;
        }
        seen.insert(inode);
        out.push(Namespace { inode, file });
    }
    out.sort_by_key(|ns| (ns.inode != own, ns.inode));
    out
}

/// Why `--netns` names no network namespace.
#[derive(Debug, thiserror::Error)]
pub enum NamedError {
    #[error("--netns {0}: no process {0} (the namespace of a process is named by its pid)")]
    NoProcess(String),
    #[error("--netns {0}: {1}")]
    Open(String, std::io::Error),
    #[error("--netns {0}: not a network namespace (a PID, /proc/PID/ns/net, or a name or path `ip netns` made)")]
    NotNetwork(String),
}

/// The network namespace `--netns` names: a pid (its process's), a path to a namespace file (`/proc/PID/ns/net`,
/// `/run/netns/NAME`), or a name `ip netns add` gave.
pub fn named(given: &str) -> Result<Namespace, NamedError> {
    let path = if !given.is_empty() && given.bytes().all(|b| b.is_ascii_digit()) {
        if !Path::new(&format!("/proc/{given}")).exists() {
            return Err(NamedError::NoProcess(given.to_string()));
        }
        format!("/proc/{given}/ns/net")
    } else if !given.contains('/') && !Path::new(given).exists() {
        format!("/run/netns/{given}")
    } else {
        given.to_string()
    };
    let file = File::open(&path).map_err(|e| NamedError::Open(given.to_string(), e))?;
    if !is_network(&file) {
        return Err(NamedError::NotNetwork(given.to_string()));
    }
    let inode = file.metadata().map_err(|e| NamedError::Open(given.to_string(), e))?.ino() as u32;
    Ok(Namespace { inode, file })
}

fn is_network(file: &File) -> bool {
    // SAFETY: an ioctl without argument on a valid fd; any file but a namespace's answers an error.
    unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) == libc::CLONE_NEWNET }
}

/// `net:[4026531840]`, as /proc/PID/ns/net links name a namespace.
pub fn label(inode: u32) -> String {
    format!("net:[{inode}]")
}
