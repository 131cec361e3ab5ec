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
