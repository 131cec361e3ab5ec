//! `-y`: the path behind a file descriptor. /proc/PID/fd answers for fds still open; an fd closed by the time its
//! event is printed (or a process already gone) is answered from what tracer saw opening it.

use std::collections::HashMap;

use crate::procfs;

#[derive(Default)]
pub struct FdPaths {
    known: HashMap<(u32, i64), String>,
}

impl FdPaths {
    pub fn lookup(&self, pid: u32, fd: i64) -> Option<String> {
        self.known.get(&(pid, fd)).cloned().or_else(|| procfs::fd_path(pid, fd))
    }

    /// Learns from a finished call: opens add an fd, dups copy one. (A close is `forget`, after it is printed.)
    pub fn observe(&mut self, pid: u32, name: &str, args: &[u64; 6], ret: i64, path_arg: Option<&[u8]>) {
        if ret < 0 {
            return;
        }
        match name {
            "open" | "creat" | "openat" | "openat2" => {
                // The kernel's own spelling while the fd is open; otherwise what was asked, made absolute.
                let path = procfs::fd_path(pid, ret).or_else(|| {
                    let asked = String::from_utf8_lossy(path_arg?).into_owned();
                    if asked.starts_with('/') {
                        return Some(asked);
                    }
                    let dirfd = if name.starts_with("openat") { args[0] as u32 as i32 } else { libc::AT_FDCWD };
                    let base = if dirfd == libc::AT_FDCWD {
                        std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?.to_string_lossy().into_owned()
                    } else {
                        self.lookup(pid, i64::from(dirfd))?
                    };
                    Some(format!("{}/{asked}", base.trim_end_matches('/')))
                });
                if let Some(path) = path {
                    self.known.insert((pid, ret), path);
                }
            }
            "dup" | "dup2" | "dup3" | "fcntl" => {
                if name == "fcntl" && !matches!(args[1] as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) {
                    return;
                }
                if let Some(path) = self.lookup(pid, args[0] as u32 as i32 as i64) {
                    self.known.insert((pid, ret), path);
                }
            }
            _ => {}
        }
    }

    pub fn forget(&mut self, pid: u32, fd: i64) {
        self.known.remove(&(pid, fd));
    }

    pub fn forget_process(&mut self, pid: u32) {
        self.known.retain(|&(p, _), _| p != pid);
    }
}
