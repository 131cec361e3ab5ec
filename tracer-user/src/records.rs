//! One record type per JSON `type` (the contract of ../shared/DESIGN.md as Rust types). Commands build these
//! from events and hand them to `Output::emit`, which writes the JSON line or the command's text rendering:
//! a handler never branches on the output format. A `type` has one shape in every command; what only one
//! command knows (the holders of a port, the cause of an exit) is a group of fields it adds by composition
//! (`#[serde(flatten)] Option<...>`), absent from the others' lines rather than faked as null.

use serde::Serialize;
use tracer_common::{
    decode::c_bytes,
    net::{BindEvent, SockEvent, sock_flags, sock_type, tcp_state},
    process::{ProcessEvent, process_flags},
    signals::{SignalDeliverEvent, SignalEvent, flags},
    tcp::{ConnEvent, Endpoints, conn_flags},
};

use crate::{
    escape::{FieldName, Text, TextShape, push_json_str},
    linux::{
        errno,
        net::{family_name, ip_of, ip_text, proto_name},
        siginfo::SigInfo,
        signals::{
            Action, kernel_reason, si_code_name, signal_display, signal_result, split_exit_code, terminal_cause,
            terminal_name,
        },
    },
    output::Clock,
};

/// The fields that hold names and paths, each with its `_hex` sibling for bytes that are not UTF-8
/// (`escape::Text`): `Text<field::Comm>` is written `"comm": ...` and, when needed, `"comm_hex": ...`.
pub mod field {
    use super::FieldName;

    macro_rules! field_names {
        ($($marker:ident $name:literal),* $(,)?) => {$(
            pub struct $marker;
            impl FieldName for $marker {
                const TEXT: &'static str = $name;
                const HEX: &'static str = concat!($name, "_hex");
            }
        )*};
    }

    field_names!(
        Comm "comm",
        Filename "filename",
        Argv "argv",
        Cwd "cwd",
        SenderComm "sender_comm",
        TargetComm "target_comm",
        ContextComm "context_comm",
        HolderComm "holder_comm",
        Path "path",
        Requested "requested",
        Old "old",
        Watch "watch",
        Name "name",
        Addr "addr",
    );
}

/// A process's or thread's name in a record.
pub type Comm = Text<field::Comm>;
/// A name that may be unknown (null).
pub type MaybeText<K> = Text<K, Option<Vec<u8>>>;

/// Where a record's process was (docs/JSON.md's `*` section): its cgroup, the container, pod and systemd unit its
/// path names, and its pid as its own pid namespace numbers it. Every record about an event or a process carries
/// these fields, null when there is none or tracer cannot know (`Output` adds them: handlers never build them).
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub cgroup: Option<std::sync::Arc<crate::cgroups::Cgroup>>,
    pub ns_pid: Option<u32>,
}

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let cgroup = self.cgroup.as_deref();
        let container = cgroup.and_then(|c| c.meaning.container.as_ref());
        let mut s = serializer.serialize_struct("Origin", 7)?;
        s.serialize_field("cgroup", &cgroup.map(|c| &c.path))?;
        s.serialize_field("container_id", &container.map(|c| &c.id))?;
        s.serialize_field("container_name", &cgroup.and_then(|c| c.container_name.as_ref()))?;
        s.serialize_field("container_runtime", &container.and_then(|c| c.runtime))?;
        s.serialize_field("pod_uid", &cgroup.and_then(|c| c.meaning.pod_uid.as_ref()))?;
        s.serialize_field("unit", &cgroup.and_then(|c| c.meaning.unit.as_ref()))?;
        s.serialize_field("ns_pid", &self.ns_pid)?;
        s.end()
    }
}

impl Origin {
    /// The same cgroup (one `Cgroup` value: a cgroup's meaning and names are read once) and namespace pid.
    pub fn same_as(&self, other: &Origin) -> bool {
        let same_cgroup = match (&self.cgroup, &other.cgroup) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_cgroup && self.ns_pid == other.ns_pid
    }

    /// The text column: ` [ctr web pid 1]` (the container's name, or its short id `1a2b3c4d5e6f` when unknown),
    /// ` [ctr pid 1]` (a pid namespace without a container), ` [unit nginx.service]`; empty when the process is in
    /// no container, unit or pid namespace of its own.
    pub fn text_column(&self) -> String {
        let meaning = self.cgroup.as_deref().map(|c| &c.meaning);
        let container = meaning.and_then(|m| m.container.as_ref());
        let name = self.cgroup.as_deref().and_then(|c| c.container_name.as_deref());
        let mut parts = Vec::new();
        match (container, meaning.and_then(|m| m.unit.as_ref())) {
            (Some(c), _) => parts.push(format!(
                "ctr {}",
                name.map_or_else(
                    || crate::linux::cgroups::short_id(&c.id).to_string(),
                    |n| crate::escape::display_name(n.as_bytes())
                )
            )),
            (None, Some(unit)) => parts.push(format!("unit {unit}")),
            (None, None) => {}
        }
        if let Some(ns_pid) = self.ns_pid {
            if container.is_none() {
                parts.push("ctr".to_string());
            }
            parts.push(format!("pid {ns_pid}"));
        }
        if parts.is_empty() { String::new() } else { format!(" [{}]", parts.join(" ")) }
    }
}

/// `ready`: emitted once, after every probe is attached and any snapshot printed.
#[derive(Serialize)]
#[serde(tag = "type", rename = "ready")]
pub struct Ready<'a> {
    pub command: &'a str,
    /// Signals not reported unless asked for (`tracer signals` and `tracer monitor` leave SIGCHLD out by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signals_left_out: Option<&'a [String]>,
}

/// `lost`: events the kernel could not hand over (the ring buffer was full), or that a rate limit refused.
#[derive(Serialize)]
#[serde(tag = "type", rename = "lost")]
pub struct Lost<'a> {
    pub probe: &'a str,
    pub count: u64,
    /// Why, when it is not a full ring buffer ("rate_limit").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// `exit`: a process ended.
#[derive(Serialize)]
#[serde(tag = "type", rename = "exit")]
pub struct Exit {
    pub ts_ns: u64,
    pub pid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    /// The exit status when it exited, else null.
    pub code: Option<i32>,
    /// The signal that killed it, else null.
    pub signal: Option<String>,
    pub core_dumped: bool,
    /// `tracer signals`, `monitor`, `procs`: the signal behind the exit (`causes::Causes`).
    #[serde(flatten)]
    pub cause: Option<ExitCause>,
    /// `start_ns` and `run_ns`, when the kernel's layout gave the start time.
    #[serde(flatten)]
    pub lifetime: Option<Lifetime>,
}

/// When a process started: `task->start_time` of its group leader, CLOCK_MONOTONIC ns as the kernel keeps it
/// (not wall-clock time). With `pid` it names one process across pid reuse.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Started {
    pub start_ns: u64,
}

impl Started {
    /// None when the kernel's layout did not give the start time.
    pub fn of(start_ns: u64) -> Option<Started> {
        (start_ns != 0).then_some(Started { start_ns })
    }
}

/// A `start_ns` the kernel wrote (`EventHeader::start_ns` and the like): null when it was unknown (0).
pub fn known_start(start_ns: u64) -> Option<u64> {
    (start_ns != 0).then_some(start_ns)
}

/// An exit's `start_ns` and how long the process ran (`run_ns`: from its start to its exit).
#[derive(Serialize, Clone, Copy, Debug)]
pub struct Lifetime {
    pub start_ns: u64,
    pub run_ns: u64,
}

/// The signal behind an exit: the killing one, or the last one sent before a process exited by itself.
#[derive(Serialize, Default)]
pub struct ExitCause {
    pub cause: Option<String>,
    pub origin: Option<&'static str>,
    pub sender_pid: Option<u32>,
    /// The sender's start time (`start_ns` of `sender_pid`), null when unknown.
    pub sender_start_ns: Option<u64>,
    #[serde(flatten)]
    pub sender_comm: MaybeText<field::SenderComm>,
    pub cause_ts_ns: Option<u64>,
}

impl Exit {
    pub fn of(e: &ProcessEvent, clock: &Clock) -> Exit {
        let (code, signo, core_dumped) = split_exit_code(e.exit_code);
        Exit {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            comm: Text::of(c_bytes(&e.header.comm)),
            code,
            signal: signo.map(signal_display),
            core_dumped,
            cause: None,
            lifetime: (e.start_ns != 0)
                .then(|| Lifetime { start_ns: e.start_ns, run_ns: e.header.ts_ns.saturating_sub(e.start_ns) }),
        }
    }

    /// `exited with 3`, `killed by SIGKILL (core dumped)`, `exited`.
    pub fn outcome(&self) -> String {
        match (self.code, &self.signal) {
            (Some(code), _) => format!("exited with {code}"),
            (None, Some(sig)) => format!("killed by {sig}{}", if self.core_dumped { " (core dumped)" } else { "" }),
            (None, None) => "exited".to_string(),
        }
    }
}

/// `exec`: a process ran a new program.
#[derive(Serialize)]
#[serde(tag = "type", rename = "exec")]
pub struct Exec {
    pub ts_ns: u64,
    pub pid: u32,
    /// null when the kernel did not say.
    pub ppid: Option<u32>,
    #[serde(flatten)]
    pub comm: Comm,
    #[serde(flatten)]
    pub filename: Text<field::Filename>,
    #[serde(flatten)]
    pub argv: Text<field::Argv, Vec<Vec<u8>>>,
    pub argv_truncated: bool,
    pub uid: u32,
    #[serde(flatten)]
    pub started: Option<Started>,
    /// `tracer procs` and `monitor`: the name of `uid`.
    #[serde(flatten)]
    pub user: Option<ExecUser>,
    /// `tracer procs`: the working directory, how the process joined.
    #[serde(flatten)]
    pub context: Option<ExecContext>,
}

/// The name of an exec's `uid` (`linux::users::UserNames`).
#[derive(Serialize)]
pub struct ExecUser {
    /// null when the uid has no name.
    pub user: Option<String>,
}

/// What `tracer procs` adds to an exec.
#[derive(Serialize)]
pub struct ExecContext {
    /// The working directory at the exec: the kernel's identity of it, named from /proc/PID/cwd while that is still
    /// it; null when it is not (the process changed directory or exited first) or the kernel could not say.
    #[serde(flatten)]
    pub cwd: MaybeText<field::Cwd>,
    /// How a process not followed before joined at this exec: "comm" (its new command name matched, in the
    /// kernel), "cmdline" (its arguments matched, in user space), "user" (its uid matched); null when it was
    /// followed already (a descendant of a matching process).
    pub joined: Option<&'static str>,
}

/// An exec's arguments as the kernel copied them (possibly cut short: `argv_truncated`).
pub fn exec_argv(e: &ProcessEvent) -> Vec<&[u8]> {
    let argv = &e.argv[..usize::from(e.argv_len).min(e.argv.len())];
    let argv = argv.strip_suffix(&[0]).unwrap_or(argv);
    if argv.is_empty() { Vec::new() } else { argv.split(|&b| b == 0).collect() }
}

impl Exec {
    pub fn of(e: &ProcessEvent, clock: &Clock) -> Exec {
        let filename = &e.filename[..usize::from(e.filename_len).min(e.filename.len())];
        Exec {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            ppid: (e.ppid != 0).then_some(e.ppid),
            comm: Text::of(c_bytes(&e.header.comm)),
            filename: Text::of(filename),
            argv: Text::list(exec_argv(e)),
            argv_truncated: e.argv_truncated != 0,
            uid: e.uid,
            started: Started::of(e.start_ns),
            user: None,
            context: None,
        }
    }
}

/// `fork`: a followed process made a child process, or a thread (`tracer procs`).
#[derive(Serialize)]
#[serde(tag = "type", rename = "fork")]
pub struct Fork {
    pub ts_ns: u64,
    /// The process that called fork/clone, and its thread.
    pub pid: u32,
    pub tid: u32,
    #[serde(flatten)]
    pub started: Option<Started>,
    #[serde(flatten)]
    pub comm: Comm,
    /// The new process (for a thread: the same process as `pid`).
    pub child_pid: u32,
    /// The new task's id (for a process, equal to `child_pid`).
    pub child_tid: u32,
    /// The new task's start time (`start_ns` of a new process).
    pub child_start_ns: Option<u64>,
    /// A thread (`clone(CLONE_THREAD)`) rather than a process.
    pub thread: bool,
    /// The new task's parent process (not the caller under CLONE_PARENT); null when unknown.
    pub ppid: Option<u32>,
}

impl Fork {
    pub fn of(e: &ProcessEvent, clock: &Clock) -> Fork {
        Fork {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            tid: e.header.tid,
            started: Started::of(e.start_ns),
            comm: Text::of(c_bytes(&e.header.comm)),
            child_pid: e.other_pid,
            child_tid: e.child_tid,
            child_start_ns: (e.child_start_ns != 0).then_some(e.child_start_ns),
            thread: e.flags & process_flags::THREAD != 0,
            ppid: (e.ppid != 0).then_some(e.ppid),
        }
    }
}

/// `process` (`tracer procs`): a process running when tracer looked (/proc), as `ps aux` shows it.
#[derive(Serialize)]
#[serde(tag = "type", rename = "process")]
pub struct Process {
    pub pid: u32,
    /// From /proc's start time, which counts clock ticks (10 ms): exact to the tick only.
    pub start_ns: u64,
    pub ppid: u32,
    pub uid: u32,
    /// null when the uid has no name.
    pub user: Option<String>,
    #[serde(flatten)]
    pub comm: Comm,
    /// The command line; empty for a kernel thread (shown `[comm]` in text, as ps does).
    #[serde(flatten)]
    pub argv: Text<field::Argv, Vec<Vec<u8>>>,
    /// ps's %CPU: CPU time over the time since the process started, in percent.
    pub cpu_percent: f64,
    /// User and system CPU time used.
    pub cpu_ns: u64,
    pub rss_kb: u64,
    /// When it started, wall-clock ns since the epoch (to the clock tick).
    pub started_ns: u64,
    /// ps's STAT letters (`Ss`, `R+`, `Sl`, `S<`...).
    pub stat: String,
    /// The controlling terminal as ps names it (`pts/0`); null for none.
    pub tty: Option<String>,
    pub threads: u32,
    /// It matched the pattern, user or pid itself; false: listed as a descendant of one that did.
    pub matched: bool,
    /// `--tree`: how deep under the topmost listed process it is (0 at the top); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
}

/// `syscall_stats` (`tracer monitor --syscall-stats`): syscall counts of one interval.
#[derive(Serialize)]
#[serde(tag = "type", rename = "syscall_stats")]
pub struct SyscallStats {
    pub ts_ns: u64,
    pub interval_ns: u64,
    /// Calls in the interval, per syscall (those called at least once).
    pub syscalls: Vec<SyscallRow>,
    /// The busiest (process, syscall) pairs of the interval.
    pub processes: Vec<ProcessRow>,
}

#[derive(Serialize)]
pub struct SyscallRow {
    pub name: String,
    pub nr: u32,
    pub calls: u64,
    pub errors: u64,
    pub total_calls: u64,
}

#[derive(Serialize)]
pub struct ProcessRow {
    pub pid: u32,
    /// The process's start time, from the kernel's per-process counters; null when unknown.
    pub start_ns: Option<u64>,
    #[serde(flatten)]
    pub comm: MaybeText<field::Comm>,
    pub syscall: String,
    pub calls: u64,
    pub errors: u64,
    /// Since the kernel's entry for this process and syscall was created (at most since tracer started).
    pub total_calls: u64,
    pub total_errors: u64,
}

/// Who else holds the port a bind or listen was refused on (EADDRINUSE): `tracer binds` looks it up.
#[derive(Serialize)]
pub struct Conflict<'a, H> {
    #[serde(flatten)]
    pub holder_comm: MaybeText<field::HolderComm>,
    pub holders: &'a [H],
    /// Why the holders could not be looked up (then `holder_pid` is null: unknown, not "nobody").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_unknown: Option<&'static str>,
}

/// Fields no command adds to a record.
pub type NoHolder = ();

/// What `bind` and `listen` records share after the address: the result, who holds the port on EADDRINUSE,
/// and the socket's options.
#[derive(Serialize)]
pub struct SocketOutcome<'a, H = NoHolder> {
    pub ret: i32,
    pub errno: Option<&'static str>,
    /// On EADDRINUSE, the process holding the port when it was looked up; else null.
    pub holder_pid: Option<u32>,
    /// `holder_pid`'s start time, from /proc (to the clock tick); null when unknown.
    pub holder_start_ns: Option<u64>,
    #[serde(flatten)]
    pub conflict: Option<Conflict<'a, H>>,
    /// null when the fd was not a socket.
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub v6only: Option<bool>,
    pub inode: Option<u64>,
    /// The socket's network namespace (inode number), read in the kernel at the call; null when unknown.
    pub netns: Option<u64>,
}

impl<'a, H> SocketOutcome<'a, H> {
    /// `known`: whether the fd was a socket (its options are null otherwise).
    fn of(ret: i32, flags: u32, inode: u64, netns: u32, known: bool) -> Self {
        SocketOutcome {
            ret,
            errno: errno::of_return(ret.into()).map(|(name, _)| name),
            holder_pid: None,
            holder_start_ns: None,
            conflict: None,
            reuseaddr: known.then_some(flags & sock_flags::REUSEADDR != 0),
            reuseport: known.then_some(flags & sock_flags::REUSEPORT != 0),
            v6only: known.then_some(flags & sock_flags::V6ONLY != 0),
            inode: (inode != 0).then_some(inode),
            netns: (netns != 0).then_some(u64::from(netns)),
        }
    }

    /// Who held the port when a refused call (EADDRINUSE) was looked into.
    pub fn held_by(&mut self, holder_pid: Option<u32>, holder_start_ns: Option<u64>, conflict: Conflict<'a, H>) {
        self.holder_pid = holder_pid;
        self.holder_start_ns = holder_start_ns;
        self.conflict = Some(conflict);
    }
}

/// `bind`: a bind() call, failed or not.
#[derive(Serialize)]
#[serde(tag = "type", rename = "bind")]
pub struct Bind<'a, H = NoHolder> {
    pub ts_ns: u64,
    pub pid: u32,
    /// The process's start time (`EventHeader::start_ns`); null when unknown.
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    /// null when the fd was not a socket (EBADF, ENOTSOCK).
    pub proto: Option<&'static str>,
    pub family: &'static str,
    /// `?` when the address could not be read from the caller's memory.
    pub addr: String,
    /// The port bound: the one the kernel picked for port 0 when the bind succeeded.
    pub port: u16,
    pub requested_port: u16,
    pub fd: i32,
    #[serde(flatten)]
    pub outcome: SocketOutcome<'a, H>,
}

impl<H> Bind<'_, H> {
    pub fn of(e: &BindEvent, clock: &Clock) -> Self {
        let known = e.flags & sock_flags::SOCKET_KNOWN != 0;
        let fault = e.flags & sock_flags::ADDR_FAULT != 0;
        Bind {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            start_ns: known_start(e.header.start_ns),
            tid: e.header.tid,
            comm: Text::of(c_bytes(&e.header.comm)),
            proto: known.then(|| proto_name(e.protocol, e.sock_type)),
            family: family_name(e.family),
            addr: if fault { "?".to_string() } else { ip_of(e.sa_family, &e.addr).to_string() },
            port: if e.bound_port != 0 { e.bound_port } else { e.port },
            requested_port: e.port,
            fd: e.fd,
            outcome: SocketOutcome::of(e.ret, e.flags, e.inode, e.netns, known),
        }
    }
}

/// `listen`: a socket started listening (by listen(), or by io_uring without it).
#[derive(Serialize)]
#[serde(tag = "type", rename = "listen")]
pub struct Listen<'a, H = NoHolder> {
    pub ts_ns: u64,
    pub pid: u32,
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    pub proto: &'static str,
    pub family: &'static str,
    pub addr: String,
    pub port: u16,
    /// null when the socket started listening outside listen() (io_uring).
    pub fd: Option<i32>,
    pub backlog: Option<i32>,
    #[serde(flatten)]
    pub outcome: SocketOutcome<'a, H>,
}

impl<H> Listen<'_, H> {
    pub fn of(e: &SockEvent, clock: &Clock) -> Self {
        Listen {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            start_ns: known_start(e.header.start_ns),
            tid: e.header.tid,
            comm: Text::of(c_bytes(&e.header.comm)),
            proto: proto_name(e.protocol, sock_type::STREAM),
            family: family_name(e.family),
            addr: ip_of(e.family, &e.addr).to_string(),
            port: e.port,
            fd: (e.fd >= 0).then_some(e.fd),
            backlog: (e.fd >= 0).then_some(e.backlog),
            // A listening socket is a socket: its options are known.
            outcome: SocketOutcome::of(e.ret, e.flags, e.inode, e.netns, true),
        }
    }
}

/// `close`: a listening socket closed, or a bound UDP socket went away; its port is free again.
#[derive(Serialize)]
#[serde(tag = "type", rename = "close")]
pub struct Close {
    pub ts_ns: u64,
    /// null when no process is known (a UDP socket found gone by polling).
    pub pid: Option<u32>,
    /// The process's start time; null when unknown.
    pub start_ns: Option<u64>,
    #[serde(flatten)]
    pub comm: MaybeText<field::Comm>,
    pub proto: &'static str,
    pub family: &'static str,
    pub addr: String,
    pub port: u16,
    pub inode: Option<u64>,
    /// The socket's network namespace (inode number); null when unknown.
    pub netns: Option<u64>,
    /// "kernel": a TCP listener left LISTEN (pid is the task that closed it); "poll": a UDP socket was found
    /// gone by the once-a-second sock_diag check (pid is the process that held it).
    pub source: &'static str,
}

impl Close {
    /// A socket leaving LISTEN (sock:inet_sock_set_state).
    pub fn of(e: &SockEvent, clock: &Clock) -> Close {
        Close {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: Some(e.header.pid),
            start_ns: known_start(e.header.start_ns),
            comm: Text::of_some(Some(c_bytes(&e.header.comm))),
            proto: proto_name(e.protocol, sock_type::STREAM),
            family: family_name(e.family),
            addr: ip_of(e.family, &e.addr).to_string(),
            port: e.port,
            inode: (e.inode != 0).then_some(e.inode),
            netns: (e.netns != 0).then_some(u64::from(e.netns)),
            source: "kernel",
        }
    }
}

/// `signal`: a signal generated for a process (or, in `tracer signals`, a send that failed).
#[derive(Serialize)]
#[serde(tag = "type", rename = "signal")]
pub struct Signal {
    pub ts_ns: u64,
    pub signal: String,
    pub signo: i32,
    /// si_code by name; null for a failed send.
    pub code: Option<String>,
    /// "process" (the sender fields say which), "tty" (the terminal `tty` names, to its foreground process group
    /// `pgid`: Ctrl-C, Ctrl-\\, Ctrl-Z, a resize), "oom" (the OOM killer's SIGKILL) or "kernel".
    pub origin: &'static str,
    /// Origin "kernel": why, where the signal and its code tell (`fault`, `timer`, `POSIX timer`, `broken pipe`,
    /// `CPU time limit`, `file size limit`, `I/O`, `seccomp`: `linux::signals::kernel_reason`); else null.
    pub reason: Option<&'static str>,
    pub sender_pid: Option<u32>,
    /// The sender's start time; null when unknown or not a process.
    pub sender_start_ns: Option<u64>,
    pub sender_tid: Option<u32>,
    #[serde(flatten)]
    pub sender_comm: MaybeText<field::SenderComm>,
    pub sender_uid: Option<u32>,
    /// The target process; for a failed kill, its pid argument as given (0 or negative: a process group).
    pub target_pid: Option<i64>,
    /// The target's start time (read in the kernel at the signal); null when unknown (a failed send).
    pub target_start_ns: Option<u64>,
    pub target_tid: Option<u32>,
    #[serde(flatten)]
    pub target_comm: MaybeText<field::TargetComm>,
    /// Sent to the whole process rather than one thread.
    pub group: bool,
    pub result: &'static str,
    /// What the target will do with it, from its action when the signal was generated.
    pub action: Option<&'static str>,
    pub handler: Option<String>,
    pub errno: Option<&'static str>,
    /// The syscall of a failed send.
    pub syscall: Option<&'static str>,
    /// For a kernel-sent signal, the task that was running: the faulting or writing process for SIGSEGV,
    /// SIGBUS, SIGFPE, SIGPIPE; the allocating task for an OOM kill; whoever was interrupted for a timer.
    pub context_pid: Option<u32>,
    pub context_start_ns: Option<u64>,
    #[serde(flatten)]
    pub context_comm: MaybeText<field::ContextComm>,
    /// Origin "tty": the terminal as ps names it (`pts/3`), else null.
    pub tty: Option<String>,
    /// Origin "tty": the foreground process group the terminal signalled, else null.
    pub pgid: Option<u32>,
    /// The siginfo fields strace prints after `si_code`, by strace's names (`si_pid`, `si_uid`, `si_status`,
    /// `si_addr`...): numbers, addresses as `0x...` strings, `si_errno` by name. Null for a failed send.
    pub siginfo: Option<SigInfo>,
}

impl Signal {
    /// `tty pts/3 (Ctrl-C)` for a signal the terminal sent, as the sender in text.
    pub fn tty_sender(&self) -> Option<String> {
        let tty = self.tty.as_deref()?;
        Some(match terminal_cause(self.signo) {
            Some(cause) => format!("tty {tty} ({cause})"),
            None => format!("tty {tty}"),
        })
    }

    /// The OOM killer's SIGKILL (`causes::OomKills` found its victim's mark).
    pub fn by_oom_killer(self) -> Signal {
        Signal { origin: crate::causes::ORIGIN_OOM, reason: None, ..self }
    }

    /// A generated signal (signal:signal_generate). `from_process`: the current task sent it (else the kernel
    /// did, and the current task is its context).
    pub fn of(e: &SignalEvent, clock: &Clock, from_process: bool) -> Signal {
        let comm = c_bytes(&e.header.comm);
        // The kernel marks any of its own signals to a terminal's foreground group; those a terminal sends are ours.
        let from_tty = !from_process && e.flags & flags::FOREGROUND_TTY != 0 && terminal_cause(e.signo).is_some();
        let tty = from_tty.then(|| terminal_name(&crate::escape::json_text(c_bytes(&e.tty))));
        let action = (e.flags & flags::HANDLER_KNOWN != 0).then(|| Action::of(e.signo, e.handler));
        Signal {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            signal: signal_display(e.signo),
            signo: e.signo,
            code: Some(si_code_name(e.signo, e.code)),
            origin: if from_process {
                "process"
            } else if from_tty {
                "tty"
            } else {
                "kernel"
            },
            reason: (!from_process && !from_tty)
                .then(|| kernel_reason(e.signo, e.code, e.flags & flags::INFO_NONE != 0))
                .flatten(),
            sender_pid: from_process.then_some(e.header.pid),
            sender_start_ns: from_process.then_some(e.header.start_ns).and_then(known_start),
            sender_tid: from_process.then_some(e.header.tid),
            sender_comm: Text::of_some(from_process.then_some(comm)),
            sender_uid: from_process.then_some(e.uid),
            target_pid: Some(i64::from(e.target_pid)),
            target_start_ns: known_start(e.target_start_ns),
            target_tid: Some(e.target_tid),
            target_comm: Text::of_some(Some(c_bytes(&e.target_comm))),
            group: e.group != 0,
            result: signal_result(e.result, e.flags, e.group != 0),
            action: action.map(Action::as_str),
            handler: (action == Some(Action::Handler)).then(|| format!("{:#x}", e.handler)),
            errno: None,
            syscall: None,
            context_pid: (!from_process).then_some(e.header.pid),
            context_start_ns: (!from_process).then_some(e.header.start_ns).and_then(known_start),
            context_comm: Text::of_some((!from_process).then_some(comm)),
            pgid: from_tty.then_some(e.pgid),
            tty,
            siginfo: Some(SigInfo::of(e)),
        }
    }
}

/// `holder`: who holds a watched file or a port now (`source` "snapshot"), with the fields of what is held
/// (fd and path for files; proto, family, addr, port, state for sockets) from the command that looked.
#[derive(Serialize)]
#[serde(tag = "type", rename = "holder")]
pub struct Holder<'a, H> {
    #[serde(flatten)]
    pub held: &'a H,
}

/// What a `holder` of a watched file holds (`tracer opens` and `tracer monitor` with paths).
#[derive(Serialize)]
pub struct HeldFile {
    pub source: &'static str,
    pub pid: u32,
    /// From /proc (to the clock tick); null when unknown.
    pub start_ns: Option<u64>,
    #[serde(flatten)]
    pub comm: Comm,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// A descriptor number, or lsof's `cwd`, `rtd`, `txt`, `mem`.
    pub fd: FdField,
    /// `r`, `w`, `u` for descriptors, null otherwise.
    pub mode: Option<String>,
    #[serde(flatten)]
    pub path: Text<field::Path>,
    pub dev: String,
    pub inode: u64,
    /// lsof's columns, for the rows of `tracer opens -p` and `--deleted` (absent from a watched path's holders).
    #[serde(flatten)]
    pub details: Option<FileDetails>,
}

/// What `lsof -p` shows of a held file beyond its path: the `holder` fields `tracer opens -p PID` and
/// `tracer opens --deleted` add.
#[derive(Serialize)]
pub struct FileDetails {
    /// lsof's TYPE: `REG`, `DIR`, `CHR`, `BLK`, `FIFO`, `IPv4`, `IPv6`, `unix`, `netlink`, `a_inode`, `sock`.
    pub file_type: String,
    /// lsof's DEVICE: `major,minor`, an IP socket's inode, a unix socket's kernel address; null when none.
    pub device: Option<String>,
    /// The size (regular files, directories, anon inodes), or null.
    pub size: Option<u64>,
    /// The descriptor's offset (devices, pipes, sockets), or null.
    pub offset: Option<u64>,
    /// The link count, null when unknown; 0 for a file with no name left.
    pub nlink: Option<u64>,
    /// lsof's NAME: the path (with ` (deleted)`), `pipe`, `TCP`'s `127.0.0.1:44252->127.0.0.1:6379 (ESTABLISHED)`.
    #[serde(flatten)]
    pub name: Text<field::Name>,
    /// Held open with no name left (`path` is the name it had).
    pub deleted: bool,
    /// Sockets: `tcp`, `udp`, `unix`, `netlink`; null for other files.
    pub proto: Option<&'static str>,
    /// Sockets: `ipv4`, `ipv6`, `unix`, `netlink`.
    pub family: Option<&'static str>,
    /// Sockets: the local address (a unix socket's path, `@name` when abstract), or null.
    #[serde(flatten)]
    pub addr: MaybeText<field::Addr>,
    pub port: Option<u16>,
    /// A connected IP socket's far end, or null.
    pub peer_addr: Option<String>,
    pub peer_port: Option<u16>,
    /// Sockets: the state as ss names it (`LISTEN`, `ESTAB`, `UNCONN`...), or null.
    pub state: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum FdField {
    Number(i32),
    Name(&'static str),
}

/// `open`: an open of a file (open, openat, openat2, creat), failed or not.
#[derive(Serialize)]
#[serde(tag = "type", rename = "open")]
pub struct Open<'a> {
    pub ts_ns: u64,
    pub pid: u32,
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    pub uid: u32,
    /// The name of `uid`; null when it has none.
    pub user: Option<&'a str>,
    pub call: &'static str,
    /// Absolute and resolved when `path_resolved`, else the name as the process passed it. `path_hex` and
    /// `requested_hex` beside them when they are not UTF-8 (`escape::Text`).
    #[serde(flatten)]
    pub path: Text<field::Path>,
    pub path_resolved: bool,
    /// The path was checked against the kernel's identity of the opened file.
    pub path_verified: bool,
    /// The name as the process passed it.
    #[serde(flatten)]
    pub requested: Text<field::Requested>,
    /// `requested` is only the first 255 bytes of a longer name (the kernel's capture); `path` is then not built
    /// from it. Only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requested_truncated: bool,
    pub flags: &'a str,
    pub mode: Option<String>,
    pub fd: Option<i64>,
    pub errno: Option<&'a str>,
    pub ret: i64,
    pub duration_ns: Option<u64>,
    /// The watched path (as given) that this open matched; null without a path filter.
    #[serde(flatten)]
    pub watch: MaybeText<field::Watch>,
    pub dev: Option<String>,
    pub inode: Option<u64>,
}

/// `rename` (`tracer opens PATH`, `monitor --watch`): a watched path replaced by a rename, or created by a link or a
/// symlink.
#[derive(Serialize)]
#[serde(tag = "type", rename = "rename")]
pub struct Rename<'a> {
    pub ts_ns: u64,
    pub pid: u32,
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    pub uid: u32,
    /// The name of `uid`; null when it has none.
    pub user: Option<&'a str>,
    /// The syscall: `rename`, `renameat`, `renameat2`, `link`, `linkat`, `symlink`, `symlinkat`.
    pub call: &'static str,
    /// What it made of the watched path: `rename` (the old name moved over it), `link` (a second name of the old
    /// file), `symlink` (a symbolic link to `old`).
    pub op: &'static str,
    /// The old name (a symlink's target) as the process passed it.
    #[serde(flatten)]
    pub old: Text<field::Old>,
    /// The new name: absolute and resolved when `path_resolved`, else as the process passed it.
    #[serde(flatten)]
    pub path: Text<field::Path>,
    pub path_resolved: bool,
    /// The new name as the process passed it.
    #[serde(flatten)]
    pub requested: Text<field::Requested>,
    /// The watched path (as given) that the new name is or lies below.
    #[serde(flatten)]
    pub watch: Text<field::Watch>,
}

/// `delivery` (`tracer signals`): a signal taken by a thread, and the action that ran.
#[derive(Serialize)]
#[serde(tag = "type", rename = "delivery")]
pub struct Delivery {
    pub ts_ns: u64,
    /// The signal in the user's terms: the one that caused a group's fatal SIGKILL.
    pub signal: String,
    pub signo: i32,
    pub pid: u32,
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    pub action: &'static str,
    pub handler: Option<String>,
    /// si_code by name; null for a group's fatal SIGKILL, which has no siginfo.
    pub code: Option<String>,
    /// "SIGKILL" when the kernel delivered the fatal signal as SIGKILL to every thread; null otherwise.
    pub kernel_signal: Option<&'static str>,
    /// The siginfo fields strace prints after `si_code` (as in `signal`), as the thread took them; null for a
    /// group's fatal SIGKILL, which has no siginfo.
    pub siginfo: Option<SigInfo>,
}

impl Delivery {
    /// A thread taking a signal (signal:signal_deliver). A group's end (`flags::GROUP_EXIT`: the kernel delivers
    /// SIGKILL to every thread) is shown as the signal that caused it, by its default action.
    pub fn of(e: &SignalDeliverEvent, clock: &Clock) -> Delivery {
        let group_exit = e.flags & flags::GROUP_EXIT != 0;
        let signo = e.orig_signo;
        let action = if group_exit {
            if e.flags & flags::CORE_DUMP != 0 { Action::Core } else { Action::default_for(signo) }
        } else {
            Action::of(signo, e.handler)
        };
        Delivery {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            signal: signal_display(signo),
            signo,
            pid: e.header.pid,
            start_ns: known_start(e.header.start_ns),
            tid: e.header.tid,
            comm: Text::of(c_bytes(&e.header.comm)),
            action: action.as_str(),
            handler: (action == Action::Handler).then(|| format!("{:#x}", e.handler)),
            code: (!group_exit).then(|| si_code_name(signo, e.code)),
            kernel_signal: group_exit.then_some("SIGKILL"),
            siginfo: (!group_exit).then(|| SigInfo::decode(e.signo, e.code, e.errno, &e.sifields)),
        }
    }
}

/// A system call and the thread that made it: what `syscall` and `blocked` records share, each field written once.
#[derive(Serialize)]
#[serde(bound(serialize = "C: TextShape"))]
pub struct Call<'a, C = Vec<u8>> {
    pub ts_ns: u64,
    pub pid: u32,
    /// The process's start time (in the kernel for a `syscall`, from /proc to the clock tick for `blocked`); null
    /// when unknown.
    pub start_ns: Option<u64>,
    pub tid: u32,
    /// The thread's name: its bytes, or (on the syscall hot path) a name looked up only when a JSON line is
    /// written.
    #[serde(flatten)]
    pub comm: Text<field::Comm, C>,
    pub name: &'a str,
    pub nr: i32,
    /// As the text line shows them.
    pub args: &'a [String],
}

/// `syscall` (`tracer syscalls`): a call that returned.
#[derive(Serialize)]
#[serde(tag = "type", rename = "syscall", bound(serialize = "C: TextShape"))]
pub struct Syscall<'a, C = Vec<u8>> {
    #[serde(flatten)]
    pub call: Call<'a, C>,
    /// null when the call never returned (exit, exit_group: text `= ?`).
    pub ret: Option<i64>,
    pub errno: Option<&'a str>,
    /// null when the call's entry was not seen (no enter hook, or it began before tracing).
    pub duration_ns: Option<u64>,
}

impl<C: TextShape> crate::output::WriteJson for Syscall<'_, C> {
    /// What serde writes for it (the fields of `Call` flattened after `type`), keys as literal bytes.
    fn write_json(&self, out: &mut Vec<u8>) {
        let call = &self.call;
        let mut number = itoa::Buffer::new();
        out.extend_from_slice(br#"{"type":"syscall","ts_ns":"#);
        out.extend_from_slice(number.format(call.ts_ns).as_bytes());
        out.extend_from_slice(br#","pid":"#);
        out.extend_from_slice(number.format(call.pid).as_bytes());
        out.extend_from_slice(br#","start_ns":"#);
        push_json_option(out, call.start_ns);
        out.extend_from_slice(br#","tid":"#);
        out.extend_from_slice(number.format(call.tid).as_bytes());
        out.push(b',');
        call.comm.push_json(out);
        out.extend_from_slice(br#","name":"#);
        push_json_str(out, call.name);
        out.extend_from_slice(br#","nr":"#);
        out.extend_from_slice(number.format(call.nr).as_bytes());
        out.extend_from_slice(br#","args":["#);
        for (i, arg) in call.args.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, arg);
        }
        out.extend_from_slice(br#"],"ret":"#);
        push_json_option(out, self.ret);
        out.extend_from_slice(br#","errno":"#);
        match self.errno {
            Some(errno) => push_json_str(out, errno),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","duration_ns":"#);
        push_json_option(out, self.duration_ns);
        out.push(b'}');
    }
}

/// A number, or null, as serde writes it.
fn push_json_option<N: itoa::Integer>(out: &mut Vec<u8>, value: Option<N>) {
    match value {
        Some(value) => out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// `blocked` (`tracer syscalls`): a thread found waiting inside a syscall.
#[derive(Serialize)]
#[serde(tag = "type", rename = "blocked")]
pub struct Blocked<'a> {
    #[serde(flatten)]
    pub call: Call<'a>,
    pub wchan: Option<String>,
    /// "attach": it was already inside the call when tracing began; "live": it entered after.
    pub since: &'static str,
    pub blocked_ns: Option<u64>,
}

/// `summary`: a command's totals when it stops (`tracer syscalls -c`: one row per syscall, {name, calls, errors,
/// total_ns}), and the events lost meanwhile.
#[derive(Serialize)]
#[serde(tag = "type", rename = "summary")]
pub struct Summary<'a, R> {
    pub rows: &'a [R],
    pub lost: u64,
    /// Records that could not be written to the output (write errors: a full disk); only when some were.
    #[serde(skip_serializing_if = "is_zero")]
    pub output_dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Both ends of a TCP connection (or a connected UDP socket), as `connect`, `accept`, `tcp_close` and the
/// `holder` records of `tracer conns` write them: the local end in `addr`/`port` as in `bind` and `listen`.
#[derive(Clone, Debug, Serialize)]
pub struct ConnEnds {
    pub family: &'static str,
    pub addr: String,
    pub port: u16,
    pub raddr: String,
    pub rport: u16,
}

/// What a `holder` of `tracer conns` holds: a connection in the snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct HeldConnection {
    pub source: &'static str,
    /// null for a socket no process has open (TIME-WAIT, orphaned after close, another pid namespace).
    pub pid: Option<u32>,
    /// From /proc (to the clock tick); null when unknown.
    pub start_ns: Option<u64>,
    #[serde(flatten)]
    pub comm: MaybeText<field::Comm>,
    pub fd: Option<i32>,
    pub proto: &'static str,
    #[serde(flatten)]
    pub ends: ConnEnds,
    /// As ss prints it: `ESTAB`, `TIME-WAIT`, ...
    pub state: &'static str,
    pub inode: Option<u64>,
    /// The network namespace the connection is in (its inode number); null when not known.
    pub netns: Option<u64>,
    pub uid: u32,
}

/// `connect`: the result of a TCP connect, when the handshake ended.
#[derive(Serialize)]
#[serde(tag = "type", rename = "connect")]
pub struct Connect {
    pub ts_ns: u64,
    /// The process that called connect().
    pub pid: u32,
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    #[serde(flatten)]
    pub ends: ConnEnds,
    /// The socket's network namespace (inode number), read in the kernel; null when unknown.
    pub netns: Option<u64>,
    /// "established", "refused", "timed_out", "reset", "aborted" (closed before an answer), or "error".
    pub result: &'static str,
    /// The error the connect failed with (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`, ...), else null.
    pub errno: Option<&'static str>,
    /// From the SYN sent to the result.
    pub latency_ns: u64,
}

/// `accept`: an incoming TCP connection that accept() returned; `port` is the listening port.
#[derive(Serialize)]
#[serde(tag = "type", rename = "accept")]
pub struct Accept {
    pub ts_ns: u64,
    /// The process whose accept() returned it.
    pub pid: u32,
    pub start_ns: Option<u64>,
    pub tid: u32,
    #[serde(flatten)]
    pub comm: Comm,
    #[serde(flatten)]
    pub ends: ConnEnds,
    /// The socket's network namespace (inode number), read in the kernel; null when unknown.
    pub netns: Option<u64>,
    /// From the handshake's end to accept(): the time it waited in the listener's queue.
    pub queued_ns: u64,
}

/// `tcp_close`: the end of a TCP connection that was established, with its duration and bytes.
#[derive(Serialize)]
#[serde(tag = "type", rename = "tcp_close")]
pub struct TcpClose {
    pub ts_ns: u64,
    /// The connection's process: the caller of connect(), or of the accept() that returned it; null for an
    /// incoming connection no accept() returned while tracer watched.
    pub pid: Option<u32>,
    pub start_ns: Option<u64>,
    pub tid: Option<u32>,
    #[serde(flatten)]
    pub comm: MaybeText<field::Comm>,
    /// "outgoing" (connect) or "incoming" (accepted from a listener).
    pub direction: &'static str,
    #[serde(flatten)]
    pub ends: ConnEnds,
    /// The socket's network namespace (inode number), read in the kernel; null when unknown.
    pub netns: Option<u64>,
    /// From the connect's SYN (outgoing) or the handshake's last step (incoming) to the close.
    pub duration_ns: u64,
    /// Bytes sent and acknowledged by the peer (`tcp_sock.bytes_acked`), and bytes received.
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    /// "local" (this end sent its FIN first), "remote", or null (a reset, an error).
    pub closed_by: Option<&'static str>,
    /// "sent" or "received" when the connection ended with a RST, else null.
    pub reset: Option<&'static str>,
    /// The connection's error at the end (`ETIMEDOUT`, `ECONNRESET`, ...), else null.
    pub errno: Option<&'static str>,
}

impl ConnEnds {
    pub fn of(e: &Endpoints) -> ConnEnds {
        ConnEnds {
            family: family_name(e.family),
            addr: ip_text(ip_of(e.family, &e.laddr)),
            port: e.lport,
            raddr: ip_text(ip_of(e.family, &e.raddr)),
            rport: e.rport,
        }
    }
}

fn errno_of(error: i32) -> Option<&'static str> {
    (error != 0).then(|| errno::name(error))
}

const ECONNRESET: i32 = 104;
const ETIMEDOUT: i32 = 110;
const ECONNREFUSED: i32 = 111;

impl Connect {
    /// A connect's result (`kind::TCP_CONNECT`): the state it reached, and the socket's error when it failed.
    pub fn of(e: &ConnEvent, clock: &Clock) -> Connect {
        let c = &e.conn;
        let result = match (e.newstate, e.error) {
            (tcp_state::ESTABLISHED, _) => "established",
            (_, ECONNREFUSED) => "refused",
            (_, ETIMEDOUT) => "timed_out",
            (_, ECONNRESET) => "reset",
            (_, 0) => "aborted",
            _ => "error",
        };
        Connect {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: c.owner_pid,
            start_ns: known_start(c.owner_start_ns),
            tid: c.owner_tid,
            comm: Text::of(c_bytes(&c.owner_comm)),
            ends: ConnEnds::of(&c.ends),
            netns: (c.netns != 0).then_some(u64::from(c.netns)),
            result,
            errno: errno_of(e.error),
            latency_ns: e.header.ts_ns.saturating_sub(c.start_ns),
        }
    }

    /// `established`, `refused (ECONNREFUSED)`.
    pub fn note(&self) -> String {
        match self.errno {
            Some(name) => format!("{} ({name})", self.result),
            None => self.result.to_string(),
        }
    }
}

impl Accept {
    pub fn of(e: &ConnEvent, clock: &Clock) -> Accept {
        let c = &e.conn;
        Accept {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: c.owner_pid,
            start_ns: known_start(c.owner_start_ns),
            tid: c.owner_tid,
            comm: Text::of(c_bytes(&c.owner_comm)),
            ends: ConnEnds::of(&c.ends),
            netns: (c.netns != 0).then_some(u64::from(c.netns)),
            queued_ns: e.header.ts_ns.saturating_sub(c.established_ns),
        }
    }
}

/// Data bytes sent (and acknowledged) and received, from the kernel's counters, which count sequence numbers:
/// `bytes_acked` includes a connect's SYN (its `snd_una` starts at the ISN; a listener's clone starts after it)
/// and this end's FIN once acknowledged (the state before CLOSE says so: FIN_WAIT2, or CLOSING or LAST_ACK left
/// without a reset or an error); `bytes_received` includes the peer's FIN.
fn tcp_data_bytes(e: &ConnEvent) -> (u64, u64) {
    let flags = e.conn.flags;
    let syn = u64::from(flags & conn_flags::OUTGOING != 0);
    let clean = flags & (conn_flags::RESET_RECEIVED | conn_flags::RESET_SENT) == 0 && e.error == 0;
    let fin_acked =
        e.oldstate == tcp_state::FIN_WAIT2 || (clean && matches!(e.oldstate, tcp_state::CLOSING | tcp_state::LAST_ACK));
    let fin_received = u64::from(flags & conn_flags::FIN_RECEIVED != 0);
    (e.tx_bytes.saturating_sub(syn + u64::from(fin_acked)), e.rx_bytes.saturating_sub(fin_received))
}

impl TcpClose {
    /// A connection's end (`kind::TCP_CLOSE`).
    pub fn of(e: &ConnEvent, clock: &Clock) -> TcpClose {
        let c = &e.conn;
        let owner_known = c.flags & conn_flags::OWNER_KNOWN != 0;
        let reset = if c.flags & conn_flags::RESET_RECEIVED != 0 {
            Some("received")
        } else if c.flags & conn_flags::RESET_SENT != 0 {
            Some("sent")
        } else {
            None
        };
        let closed_by = match (reset, e.error) {
            (None, 0) if c.flags & conn_flags::CLOSED_LOCALLY != 0 => Some("local"),
            (None, 0) if c.flags & conn_flags::CLOSED_REMOTELY != 0 => Some("remote"),
            _ => None,
        };
        let (tx_bytes, rx_bytes) = tcp_data_bytes(e);
        TcpClose {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: owner_known.then_some(c.owner_pid),
            start_ns: owner_known.then_some(c.owner_start_ns).and_then(known_start),
            tid: owner_known.then_some(c.owner_tid),
            comm: Text::of_some(owner_known.then(|| c_bytes(&c.owner_comm))),
            direction: if c.flags & conn_flags::OUTGOING != 0 { "outgoing" } else { "incoming" },
            ends: ConnEnds::of(&c.ends),
            netns: (c.netns != 0).then_some(u64::from(c.netns)),
            duration_ns: e.header.ts_ns.saturating_sub(c.start_ns),
            tx_bytes,
            rx_bytes,
            closed_by,
            reset,
            errno: errno_of(e.error),
        }
    }

    /// `closed by local`, `reset sent`, `reset received (ECONNRESET)`.
    pub fn note(&self) -> String {
        let how = match (self.reset, self.closed_by) {
            (Some(how), _) => format!("reset {how}"),
            (None, Some(by)) => format!("closed by {by}"),
            (None, None) => String::new(),
        };
        match self.errno {
            Some(name) if how.is_empty() => format!("({name})"),
            Some(name) => format!("{how} ({name})"),
            None => how,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_type_comes_first() {
        let line = serde_json::to_string(&Lost { probe: "syscalls", count: 3, reason: None }).unwrap();
        assert_eq!(line, r#"{"type":"lost","probe":"syscalls","count":3}"#);
        let line = serde_json::to_string(&Lost { probe: "exec", count: 3, reason: Some("rate_limit") }).unwrap();
        assert_eq!(line, r#"{"type":"lost","probe":"exec","count":3,"reason":"rate_limit"}"#);
        assert_eq!(
            serde_json::to_string(&Ready { command: "binds", signals_left_out: None }).unwrap(),
            r#"{"type":"ready","command":"binds"}"#
        );
    }

    fn exit() -> Exit {
        Exit {
            ts_ns: 1,
            pid: 2,
            comm: Text::of(b"sh"),
            code: None,
            signal: Some("SIGKILL".into()),
            core_dumped: false,
            cause: None,
            lifetime: None,
        }
    }

    #[test]
    fn exit_has_one_shape_and_signals_adds_the_cause() {
        let line = serde_json::to_string(&exit()).unwrap();
        assert_eq!(
            line,
            r#"{"type":"exit","ts_ns":1,"pid":2,"comm":"sh","code":null,"signal":"SIGKILL","core_dumped":false}"#
        );
        let with_cause = Exit { cause: Some(ExitCause::default()), ..exit() };
        assert_eq!(
            serde_json::to_string(&with_cause).unwrap(),
            r#"{"type":"exit","ts_ns":1,"pid":2,"comm":"sh","code":null,"signal":"SIGKILL","core_dumped":false,"cause":null,"origin":null,"sender_pid":null,"sender_start_ns":null,"sender_comm":null,"cause_ts_ns":null}"#
        );
        assert_eq!(exit().outcome(), "killed by SIGKILL");
    }

    fn bind<'a, H>() -> Bind<'a, H> {
        Bind {
            ts_ns: 1,
            pid: 2,
            start_ns: None,
            tid: 3,
            comm: Text::of(b"nc"),
            proto: Some("tcp"),
            family: "ipv4",
            addr: "0.0.0.0".into(),
            port: 80,
            requested_port: 80,
            fd: 3,
            outcome: SocketOutcome::of(-98, 0, 0, 0, false),
        }
    }

    #[test]
    fn bind_conflict_sits_between_holder_pid_and_the_options() {
        let plain: Bind = bind();
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"type":"bind","ts_ns":1,"pid":2,"start_ns":null,"tid":3,"comm":"nc","proto":"tcp","family":"ipv4","addr":"0.0.0.0","port":80,"requested_port":80,"fd":3,"ret":-98,"errno":"EADDRINUSE","holder_pid":null,"holder_start_ns":null,"reuseaddr":null,"reuseport":null,"v6only":null,"inode":null,"netns":null}"#
        );
        let holders = [7u32];
        let mut looked_up = bind();
        looked_up.outcome.held_by(
            Some(7),
            Some(5),
            Conflict { holder_comm: Text::default(), holders: &holders, holder_unknown: None },
        );
        assert_eq!(
            serde_json::to_string(&looked_up).unwrap(),
            r#"{"type":"bind","ts_ns":1,"pid":2,"start_ns":null,"tid":3,"comm":"nc","proto":"tcp","family":"ipv4","addr":"0.0.0.0","port":80,"requested_port":80,"fd":3,"ret":-98,"errno":"EADDRINUSE","holder_pid":7,"holder_start_ns":5,"holder_comm":null,"holders":[7],"reuseaddr":null,"reuseport":null,"v6only":null,"inode":null,"netns":null}"#
        );
    }

    #[test]
    fn listen_shares_the_outcome_with_bind() {
        let listen = |holders| {
            let mut record = Listen {
                ts_ns: 1,
                pid: 2,
                start_ns: None,
                tid: 3,
                comm: Text::of(b"nc"),
                proto: "tcp",
                family: "ipv6",
                addr: "::".into(),
                port: 80,
                fd: None,
                backlog: None,
                outcome: SocketOutcome::of(-98, sock_flags::REUSEADDR | sock_flags::V6ONLY, 9, 4026531840, true),
            };
            if let Some(holders) = holders {
                record.outcome.held_by(
                    None,
                    None,
                    Conflict { holder_comm: Text::of_some(Some(&b"sshd"[..])), holders, holder_unknown: None },
                );
            }
            serde_json::to_string(&record).unwrap()
        };
        assert_eq!(
            listen(None::<&[u32]>),
            r#"{"type":"listen","ts_ns":1,"pid":2,"start_ns":null,"tid":3,"comm":"nc","proto":"tcp","family":"ipv6","addr":"::","port":80,"fd":null,"backlog":null,"ret":-98,"errno":"EADDRINUSE","holder_pid":null,"holder_start_ns":null,"reuseaddr":true,"reuseport":false,"v6only":true,"inode":9,"netns":4026531840}"#
        );
        assert_eq!(
            listen(Some(&[] as &[u32])),
            r#"{"type":"listen","ts_ns":1,"pid":2,"start_ns":null,"tid":3,"comm":"nc","proto":"tcp","family":"ipv6","addr":"::","port":80,"fd":null,"backlog":null,"ret":-98,"errno":"EADDRINUSE","holder_pid":null,"holder_start_ns":null,"holder_comm":"sshd","holders":[],"reuseaddr":true,"reuseport":false,"v6only":true,"inode":9,"netns":4026531840}"#
        );
    }

    fn same<A: Serialize, B: Serialize>(before: &A, now: &B) {
        let (before, now) = (serde_json::to_string(before).unwrap(), serde_json::to_string(now).unwrap());
        assert_eq!(now, before);
    }

    /// monitor's own records before they moved here, as they were.
    mod monitor_before {
        use serde::Serialize;

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Record<'a> {
            Exec {
                ts_ns: u64,
                pid: u32,
                ppid: Option<u32>,
                comm: &'a str,
                filename: &'a str,
                argv: Vec<String>,
                argv_truncated: bool,
                uid: u32,
            },
            SyscallStats {
                ts_ns: u64,
                interval_ns: u64,
                syscalls: Vec<super::SyscallRow>,
                processes: Vec<super::ProcessRow>,
            },
        }
    }

    #[test]
    fn exec_and_syscall_stats_print_as_before() {
        use monitor_before::Record as R;
        let argv = vec!["ls".to_string(), "-l\\u0001".to_string()];
        same(
            &R::Exec {
                ts_ns: 1,
                pid: 2,
                ppid: None,
                comm: "ls",
                filename: "/bin/ls",
                argv: argv.clone(),
                argv_truncated: true,
                uid: 0,
            },
            &Exec {
                ts_ns: 1,
                pid: 2,
                ppid: None,
                comm: Text::of(b"ls"),
                filename: Text::of(b"/bin/ls"),
                argv: Text::list([&b"ls"[..], b"-l\\u0001"]),
                argv_truncated: true,
                uid: 0,
                started: None,
                user: None,
                context: None,
            },
        );
        let rows = || {
            (
                vec![SyscallRow { name: "read".into(), nr: 0, calls: 3, errors: 1, total_calls: 9 }],
                vec![ProcessRow {
                    pid: 5,
                    start_ns: None,
                    comm: Text::default(),
                    syscall: "read".into(),
                    calls: 3,
                    errors: 1,
                    total_calls: 9,
                    total_errors: 2,
                }],
            )
        };
        let (syscalls, processes) = rows();
        let before = R::SyscallStats { ts_ns: 1, interval_ns: 2, syscalls, processes };
        let (syscalls, processes) = rows();
        same(&before, &SyscallStats { ts_ns: 1, interval_ns: 2, syscalls, processes });
    }

    /// signals' own record before it moved here, as it was.
    mod signals_before {
        use serde::Serialize;

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Record<'a> {
            Delivery {
                ts_ns: u64,
                signal: &'a str,
                signo: i32,
                pid: u32,
                start_ns: Option<u64>,
                tid: u32,
                comm: &'a str,
                action: &'a str,
                handler: Option<String>,
                code: Option<&'a str>,
                kernel_signal: Option<&'a str>,
                /// Added since (null here: a test record with no siginfo).
                siginfo: Option<&'a str>,
            },
        }
    }

    #[test]
    fn delivery_prints_as_before() {
        use signals_before::Record as R;
        for group in [false, true] {
            same(
                &R::Delivery {
                    ts_ns: 1,
                    signal: "SIGTERM",
                    signo: 15,
                    pid: 2,
                    start_ns: None,
                    tid: 3,
                    comm: "sh",
                    action: "handler",
                    handler: Some("0x10".into()),
                    code: (!group).then_some("SI_USER"),
                    kernel_signal: group.then_some("SIGKILL"),
                    siginfo: None,
                },
                &Delivery {
                    ts_ns: 1,
                    signal: "SIGTERM".into(),
                    signo: 15,
                    pid: 2,
                    start_ns: None,
                    tid: 3,
                    comm: Text::of(b"sh"),
                    action: "handler",
                    handler: Some("0x10".into()),
                    code: (!group).then(|| "SI_USER".into()),
                    kernel_signal: group.then_some("SIGKILL"),
                    siginfo: None,
                },
            );
        }
    }

    /// The files family's records and binds' holder wrapper before they moved here, as they were.
    mod files_before {
        use serde::Serialize;

        #[derive(Serialize)]
        #[serde(untagged)]
        pub enum FdField {
            Number(i32),
        }

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Record<'a> {
            Holder {
                source: &'static str,
                pid: u32,
                start_ns: Option<u64>,
                comm: &'a str,
                uid: Option<u32>,
                user: Option<&'a str>,
                fd: FdField,
                mode: Option<String>,
                path: &'a str,
                dev: String,
                inode: u64,
            },
            Open {
                ts_ns: u64,
                pid: u32,
                start_ns: Option<u64>,
                tid: u32,
                comm: &'a str,
                uid: u32,
                user: &'a str,
                call: &'static str,
                path: &'a str,
                path_resolved: bool,
                path_verified: bool,
                requested: &'a str,
                flags: &'a str,
                mode: Option<String>,
                fd: Option<i64>,
                errno: Option<&'a str>,
                ret: i64,
                duration_ns: Option<u64>,
                watch: Option<&'a str>,
                dev: Option<String>,
                inode: Option<u64>,
            },
        }

        /// binds' snapshot row, as `Record::Holder(&Holder)` wrapped it.
        #[derive(Serialize)]
        pub struct Socket {
            pub source: &'static str,
            pub pid: Option<u32>,
            pub comm: Option<String>,
            pub port: u16,
            pub inode: Option<u64>,
            pub v6only: Option<bool>,
        }

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum SocketRecord<'a> {
            Holder(&'a Socket),
        }
    }

    #[test]
    fn holders_and_opens_print_as_before() {
        use files_before::Record as R;
        same(
            &R::Holder {
                source: "snapshot",
                pid: 2,
                start_ns: None,
                comm: "cat",
                uid: Some(0),
                user: Some("root"),
                fd: files_before::FdField::Number(3),
                mode: Some("r".into()),
                path: "/tmp/x",
                dev: "0:5".into(),
                inode: 7,
            },
            &Holder {
                held: &HeldFile {
                    source: "snapshot",
                    pid: 2,
                    start_ns: None,
                    comm: Text::of(b"cat"),
                    uid: Some(0),
                    user: Some("root".into()),
                    fd: FdField::Number(3),
                    mode: Some("r".into()),
                    path: Text::of(b"/tmp/x"),
                    dev: "0:5".into(),
                    inode: 7,
                    details: None,
                },
            },
        );
        let cwd = HeldFile {
            source: "snapshot",
            pid: 2,
            start_ns: Some(5),
            comm: Text::of(b"cat"),
            uid: None,
            user: None,
            fd: FdField::Name("cwd"),
            mode: None,
            path: Text::of(b"/"),
            dev: "0:5".into(),
            inode: 7,
            details: None,
        };
        assert_eq!(
            serde_json::to_string(&Holder { held: &cwd }).unwrap(),
            r#"{"type":"holder","source":"snapshot","pid":2,"start_ns":5,"comm":"cat","uid":null,"user":null,"fd":"cwd","mode":null,"path":"/","dev":"0:5","inode":7}"#
        );
        let socket =
            files_before::Socket { source: "snapshot", pid: None, comm: None, port: 80, inode: Some(9), v6only: None };
        same(&files_before::SocketRecord::Holder(&socket), &Holder { held: &socket });
        for (ret, watch) in [(3, Some("/tmp")), (-2, None)] {
            same(
                &R::Open {
                    ts_ns: 1,
                    pid: 2,
                    start_ns: None,
                    tid: 3,
                    comm: "cat",
                    uid: 0,
                    user: "root",
                    call: "openat",
                    path: "/tmp/x",
                    path_resolved: true,
                    path_verified: false,
                    requested: "x",
                    flags: "O_RDONLY",
                    mode: None,
                    fd: (ret >= 0).then_some(ret),
                    errno: (ret < 0).then_some("ENOENT"),
                    ret,
                    duration_ns: Some(5),
                    watch,
                    dev: None,
                    inode: Some(4),
                },
                &Open {
                    ts_ns: 1,
                    pid: 2,
                    start_ns: None,
                    tid: 3,
                    comm: Text::of(b"cat"),
                    uid: 0,
                    user: Some("root"),
                    call: "openat",
                    path: Text::of(b"/tmp/x"),
                    path_resolved: true,
                    path_verified: false,
                    requested: Text::of(b"x"),
                    requested_truncated: false,
                    flags: "O_RDONLY",
                    mode: None,
                    fd: (ret >= 0).then_some(ret),
                    errno: (ret < 0).then_some("ENOENT"),
                    ret,
                    duration_ns: Some(5),
                    watch: Text::of_some(watch.map(str::as_bytes)),
                    dev: None,
                    inode: Some(4),
                },
            );
        }
    }

    /// syscalls' `-c` record before it moved here, as it was.
    mod syscalls_before {
        use serde::Serialize;

        #[derive(Serialize)]
        pub struct Row {
            pub name: String,
            pub calls: u64,
            pub errors: u64,
            pub total_ns: u64,
        }

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Record<'a> {
            Summary { rows: &'a [Row], lost: u64 },
        }
    }

    #[test]
    fn summary_prints_as_before() {
        use syscalls_before::{Record as R, Row};
        let rows = [
            Row { name: "read".into(), calls: 3, errors: 1, total_ns: 9 },
            Row { name: "openat".into(), calls: 1, errors: 0, total_ns: 2 },
        ];
        same(&R::Summary { rows: &rows, lost: 4 }, &Summary { rows: &rows, lost: 4, output_dropped: 0 });
        same(&R::Summary { rows: &[], lost: 0 }, &Summary::<Row> { rows: &[], lost: 0, output_dropped: 0 });
    }

    /// syscalls' `blocked` record before it moved here, as it was.
    mod blocked_before {
        use serde::Serialize;

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Record<'a> {
            Blocked {
                ts_ns: u64,
                pid: u32,
                start_ns: Option<u64>,
                tid: u32,
                comm: &'a str,
                name: &'a str,
                nr: i32,
                args: &'a [String],
                wchan: Option<&'a str>,
                since: &'a str,
                blocked_ns: Option<u64>,
            },
        }
    }

    #[test]
    fn blocked_prints_as_before() {
        use blocked_before::Record as R;
        let args = ["0".to_string(), "\"x\"".to_string()];
        for (wchan, blocked_ns) in [(Some("pipe_read"), None), (None, Some(5))] {
            let since = if blocked_ns.is_some() { "live" } else { "attach" };
            same(
                &R::Blocked {
                    ts_ns: 1,
                    pid: 2,
                    start_ns: None,
                    tid: 3,
                    comm: "cat",
                    name: "read",
                    nr: 0,
                    args: &args,
                    wchan,
                    since,
                    blocked_ns,
                },
                &Blocked {
                    call: Call {
                        ts_ns: 1,
                        pid: 2,
                        start_ns: None,
                        tid: 3,
                        comm: Text::of(b"cat"),
                        name: "read",
                        nr: 0,
                        args: &args,
                    },
                    wchan: wchan.map(String::from),
                    since,
                    blocked_ns,
                },
            );
        }
    }

    /// syscalls' `syscall` record before it moved here, as it was, with the `comm_hex` added since.
    mod syscall_before {
        use serde::Serialize;

        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Record<'a> {
            Syscall {
                ts_ns: u64,
                pid: u32,
                start_ns: Option<u64>,
                tid: u32,
                comm: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                comm_hex: Option<&'a str>,
                name: &'a str,
                nr: i32,
                args: &'a [String],
                ret: i64,
                errno: Option<&'a str>,
                duration_ns: Option<u64>,
            },
        }
    }

    #[test]
    fn syscall_prints_as_before() {
        use crate::escape::json_text;
        use syscall_before::Record as R;
        let args = ["3".to_string(), "\"a\\x\"...".to_string()];
        // Names with a quote, a control character, a backslash, and bytes that are not UTF-8.
        let comms: [(&[u8], _); 2] = [(b"w\"k\x01\xff\xfe", Some("77226b01fffe")), ("w\u{f6}rk\"\\".as_bytes(), None)];
        for ((comm, comm_hex), (ret, errno, duration_ns)) in
            comms.into_iter().zip([(5, None, Some(7)), (-2, Some("ENOENT"), None)])
        {
            let before = R::Syscall {
                ts_ns: 1,
                pid: 2,
                start_ns: None,
                tid: 3,
                comm: &json_text(comm),
                comm_hex,
                name: "read",
                nr: 0,
                args: &args,
                ret,
                errno,
                duration_ns,
            };
            let call = Call {
                ts_ns: 1,
                pid: 2,
                start_ns: None,
                tid: 3,
                comm: Text::of(comm),
                name: "read",
                nr: 0,
                args: &args,
            };
            same(&before, &Syscall { call, ret: Some(ret), errno, duration_ns });
        }
    }

    /// `Syscall`'s own JSON writer (`WriteJson`), against serde's line for the same record.
    pub(crate) fn assert_written_as_serde<C: TextShape>(record: &Syscall<'_, C>) {
        use crate::output::WriteJson as _;
        let mut direct = Vec::new();
        record.write_json(&mut direct);
        assert_eq!(String::from_utf8(direct).unwrap(), serde_json::to_string(record).unwrap());
    }

    #[test]
    fn syscall_written_directly_as_serde_writes_it() {
        let arg_lists: [&[String]; 4] = [
            &[],
            &["3".to_string(), "\"a\\x\"...".to_string(), "0x7ffe79c0b0f8".to_string(), "NULL".to_string()],
            // A path shown with its non-ASCII kept (`-y`), control bytes, an empty argument.
            &[
                "\"\\t\\1\"".to_string(),
                "3</tmp/caf\u{e9}\u{1f600}>".to_string(),
                "\u{1}\n\u{1f}\u{7f}".to_string(),
                String::new(),
            ],
            &["[{fd=3, events=POLLIN}]".to_string()],
        ];
        let comms: [&[u8]; 4] = [b"workload", b"w\"k\x01\\", "w\u{f6}rk".as_bytes(), b"bad\xff\xfe"];
        // (ret, errno): returned, failed, never returned (exit).
        let results = [(Some(0), None), (Some(-2), Some("ENOENT")), (None, None), (Some(i64::MIN), Some("E\"\n"))];
        let mut checked = 0;
        for (i, args) in arg_lists.into_iter().enumerate() {
            for (j, comm) in comms.into_iter().enumerate() {
                for (k, (ret, errno)) in results.into_iter().enumerate() {
                    let set = (i + j + k) % 2 == 0;
                    let call = Call {
                        ts_ns: if set { u64::MAX } else { 1_796_325_099_753_785_591 },
                        pid: if set { u32::MAX } else { 24204 },
                        start_ns: set.then_some(10_957_628_546_537),
                        tid: 0,
                        comm: Text::of(comm),
                        name: if set { "sigaltstack" } else { "syscall_\"999" },
                        nr: if set { i32::MIN } else { 131 },
                        args,
                    };
                    let duration_ns = (!set).then_some(520);
                    assert_written_as_serde(&Syscall { call, ret, errno, duration_ns });
                    // A name that may be unknown: null.
                    let call = Call {
                        ts_ns: 1,
                        pid: 2,
                        start_ns: None,
                        tid: 3,
                        comm: Text::<field::Comm, Option<Vec<u8>>>::new(None),
                        name: "read",
                        nr: 0,
                        args,
                    };
                    assert_written_as_serde(&Syscall { call, ret, errno, duration_ns });
                    checked += 2;
                }
            }
        }
        assert_eq!(checked, 128);
    }

    fn conn_event(flags: u32, oldstate: u8, newstate: u8, error: i32, tx: u64, rx: u64) -> ConnEvent {
        ConnEvent {
            conn: tracer_common::tcp::ConnState { flags, ..Default::default() },
            tx_bytes: tx,
            rx_bytes: rx,
            error,
            oldstate,
            newstate,
            ..ConnEvent::default()
        }
    }

    #[test]
    fn tcp_data_bytes_leave_out_syn_and_fins() {
        use conn_flags::*;
        // A client that sent its FIN first (acked: FIN_WAIT2) and got the server's: SYN, FIN, FIN out.
        let e = conn_event(OUTGOING | FIN_RECEIVED, tcp_state::FIN_WAIT2, tcp_state::CLOSE, 0, 5002, 3001);
        assert_eq!(tcp_data_bytes(&e), (5000, 3000));
        // The server closing second (LAST_ACK acked): its FIN and the client's.
        let e = conn_event(INCOMING | FIN_RECEIVED, tcp_state::LAST_ACK, tcp_state::CLOSE, 0, 3001, 5001);
        assert_eq!(tcp_data_bytes(&e), (3000, 5000));
        // Reset received while established: only the SYN.
        let e = conn_event(OUTGOING | RESET_RECEIVED, tcp_state::ESTABLISHED, tcp_state::CLOSE, 104, 101, 0);
        assert_eq!(tcp_data_bytes(&e), (100, 0));
        // LAST_ACK left by a timeout: the FIN was not acknowledged.
        let e = conn_event(INCOMING | FIN_RECEIVED, tcp_state::LAST_ACK, tcp_state::CLOSE, 110, 7, 1);
        assert_eq!(tcp_data_bytes(&e), (7, 0));
    }

    #[test]
    fn connect_results_in_words() {
        let clock = Clock::new();
        let result = |newstate, error| Connect::of(&conn_event(0, tcp_state::SYN_SENT, newstate, error, 0, 0), &clock);
        assert_eq!(result(tcp_state::ESTABLISHED, 0).note(), "established");
        assert_eq!(result(tcp_state::CLOSE, 111).note(), "refused (ECONNREFUSED)");
        assert_eq!(result(tcp_state::CLOSE, 110).result, "timed_out");
        assert_eq!(result(tcp_state::CLOSE, 113).result, "error");
        assert_eq!(result(tcp_state::CLOSE, 0).result, "aborted");
    }
}
