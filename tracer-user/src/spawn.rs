//! Spawn mode (`tracer ... -- CMD ARGS`): the child is forked before anything else runs (no threads yet, so
//! the fork is safe) and waits on a pipe until its pid is in the kernel's traced set; only then does it exec.
//! Its first instruction after exec is traced, as under strace.

use std::{
    ffi::{CString, OsString},
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use anyhow::{Context as _, bail};

/// The signals ignored when tracer was started, bit N-1 for signal N, recorded before Rust's runtime set SIGPIPE
/// (and, in some releases, SIGXFSZ) to ignored: those dispositions survive exec, and a traced program must start
/// with the ones tracer was given, or `yes | head -1` complains of a broken pipe.
static INHERITED_IGNORED: AtomicU64 = AtomicU64::new(0);

/// Runs from `.init_array`, before `main` and so before the runtime changes any disposition.
extern "C" fn record_inherited_dispositions() {
    let mut ignored = 0u64;
    for signal in 1..=64 {
        // SAFETY: a query only (null new action) into a zeroed sigaction we own.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        if unsafe { libc::sigaction(signal, std::ptr::null(), &mut action) } == 0
            && action.sa_sigaction == libc::SIG_IGN
        {
            ignored |= 1 << (signal - 1);
        }
    }
    INHERITED_IGNORED.store(ignored, Ordering::Relaxed);
}

#[used]
#[unsafe(link_section = ".init_array")]
static RECORD_INHERITED_DISPOSITIONS: extern "C" fn() = record_inherited_dispositions;

/// In the forked child: every signal back to the disposition tracer was started with (ignored, or the default;
/// handlers would not survive exec anyway). Only async-signal-safe calls.
fn restore_inherited_dispositions() {
    let ignored = INHERITED_IGNORED.load(Ordering::Relaxed);
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        let handler = if ignored & (1 << (signal - 1)) != 0 { libc::SIG_IGN } else { libc::SIG_DFL };
        // SAFETY: sigaction is async-signal-safe; signals the kernel reserves fail with EINVAL, which is fine.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

pub struct Spawned {
    pub pid: u32,
    go: Option<OwnedFd>,
}

struct Credentials {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

fn resolve_program(name: &OsString) -> anyhow::Result<PathBuf> {
    let path = Path::new(name);
    if name.as_bytes().contains(&b'/') {
        // Checked here so that a typo gets one clear line, not a traced failing execve.
        let metadata = std::fs::metadata(path).with_context(|| format!("cannot run {}", path.display()))?;
        let c = CString::new(name.as_bytes()).context("command contains a NUL byte")?;
        // SAFETY: valid C string.
        if !metadata.is_file() || unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
            bail!("cannot run {}: not an executable file", path.display());
        }
        return Ok(path.to_path_buf());
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&search) {
        let candidate = dir.join(path);
        let Ok(c) = CString::new(candidate.as_os_str().as_bytes()) else { continue };
        // SAFETY: valid C string.
        if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 && candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("cannot find command '{}' in PATH", path.display())
}

fn credentials(user: &str) -> anyhow::Result<Credentials> {
    let entry = nix::unistd::User::from_name(user)
        .with_context(|| format!("looking up user {user}"))?
        .with_context(|| format!("no such user: {user}"))?;
    let name = CString::new(user)?;
    let groups = nix::unistd::getgrouplist(&name, entry.gid)
        .with_context(|| format!("reading the groups of {user}"))?
        .into_iter()
        .map(|g| g.as_raw())
        .collect();
    Ok(Credentials { uid: entry.uid.as_raw(), gid: entry.gid.as_raw(), groups })
}

impl Spawned {
    /// Forks the command, stopped before its exec. Call before starting any thread.
    pub fn prepare(command: &[OsString], user: Option<&str>) -> anyhow::Result<Spawned> {
        let program = resolve_program(&command[0])?;
        let program_c = CString::new(program.as_os_str().as_bytes()).context("command contains a NUL byte")?;
        let argv_c: Vec<CString> = command
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .context("argument contains a NUL byte")?;
        let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let creds = user.map(credentials).transpose()?;

        let mut fds = [0; 2];
        // SAFETY: fds has room for two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error()).context("creating a pipe for the command");
        }
        // SAFETY: both descriptors were just created and are owned here.
        let (wait_end, go_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

        // SAFETY: single-threaded at this point (called before the runtime starts); the child only makes
        // async-signal-safe calls before exec.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error()).context("fork");
        }
        if pid == 0 {
            drop(go_end);
            let mut byte = 0u8;
            // SAFETY (whole block): raw syscalls on values prepared before the fork.
            unsafe {
                if libc::read(wait_end.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) != 1 {
                    libc::_exit(1); // tracer gave up before starting the command
                }
                if let Some(creds) = &creds
                    && (libc::setgroups(creds.groups.len(), creds.groups.as_ptr()) != 0
                        || libc::setgid(creds.gid) != 0
                        || libc::setuid(creds.uid) != 0)
                {
                    let msg = b"tracer: cannot switch to the requested user\n";
                    libc::write(2, msg.as_ptr().cast(), msg.len());
                    libc::_exit(126);
                }
                restore_inherited_dispositions();
                libc::execv(program_c.as_ptr(), argv.as_ptr());
                let msg = b"tracer: cannot execute the command\n";
                libc::write(2, msg.as_ptr().cast(), msg.len());
                libc::_exit(127);
            }
        }
        drop(wait_end);
        Ok(Spawned { pid: pid as u32, go: Some(go_end) })
    }

    /// Lets the command exec. Its pid must already be in the traced set.
    pub fn release(&mut self) -> anyhow::Result<()> {
        if let Some(go) = self.go.take() {
            let byte = 1u8;
            // SAFETY: writing one byte from a valid buffer to our pipe.
            if unsafe { libc::write(go.as_raw_fd(), (&byte as *const u8).cast(), 1) } != 1 {
                return Err(std::io::Error::last_os_error()).context("starting the command");
            }
        }
        Ok(())
    }
}

/// Waits for a child (already known to have exited) and returns tracer's exit status for it: its exit code,
/// or 128 + the signal that killed it, as shells report.
pub fn reap(pid: u32) -> Option<i32> {
    wait_child(pid, 0)
}

/// Reaps the child if it has exited, without waiting: tracer is its parent, and only the reaping removes a
/// zombie from /proc, whatever the ring buffer said (or lost) of its exit.
pub fn try_reap(pid: u32) -> Option<i32> {
    wait_child(pid, libc::WNOHANG)
}

fn wait_child(pid: u32, flags: libc::c_int) -> Option<i32> {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, flags) };
    if r != pid as libc::pid_t {
        return None;
    }
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}
