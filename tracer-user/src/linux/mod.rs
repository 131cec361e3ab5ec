//! Linux's own vocabulary, owned by no command: every command speaks it, none defines it.
//!
//! - `errno`: errno names and glibc's texts, the kernel-internal restart codes, one fallback for unknown numbers;
//! - `signals`: signal names and numbers (`kill -l`), `si_code` names, default actions, wait(2)-style exit status;
//! - `siginfo`: a signal's siginfo fields as strace prints them (`si_pid`, `si_status`, `si_addr`...);
//! - `net`: address families and protocols, socket addresses as ss prints them, interface names;
//! - `files`: open flags and file modes as strace prints them;
//! - `processes`: what ps shows of a process (STAT letters, terminal names, START and TIME), user names;
//! - `users`: user names by uid, looked up once each;
//! - `cgroups`: cgroup hierarchies, subsystem ids, and the container runtimes' cgroup path conventions;
//! - `runtimes`: where the container runtimes keep containers' names on disk, and their files' formats;
//! - `constants`: strace's tables of constant names (`F_GETFD`, `SOCK_STREAM`, `FUTEX_WAKE`...).

pub mod cgroups;
pub mod constants;
pub mod errno;
pub mod files;
pub mod net;
pub mod processes;
pub mod runtimes;
pub mod siginfo;
pub mod signals;
pub mod users;
