//! One record type per JSON `type` (the contract of ../shared/DESIGN.md as Rust types). Commands build these
//! from events and hand them to `Output::emit`, which writes the JSON line or the command's text rendering:
//! a handler never branches on the output format. A `type` has one shape in every command; what only one
//! command knows (the holders of a port, the cause of an exit) is a group of fields it adds by composition
//! (`#[serde(flatten)] Option<...>`), absent from the others' lines rather than faked as null.

use serde::Serialize;
use tracer_common::{
    decode::c_bytes,
    net::{BindEvent, SockEvent, sock_flags, sock_type},
    process::ProcessEvent,
    signals::{SignalEvent, flags},
};

use crate::{
    escape::json_text,
    linux::{
        errno,
        net::{family_name, ip_of, proto_name},
        signals::{
            Action, si_code_name, signal_display, signal_result, split_exit_code, terminal_cause, terminal_name,
        },
    },
    output::Clock,
};

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
    pub comm: String,
    /// The exit status when it exited, else null.
    pub code: Option<i32>,
    /// The signal that killed it, else null.
    pub signal: Option<String>,
    pub core_dumped: bool,
    /// `tracer signals`: the signal behind the exit.
    #[serde(flatten)]
    pub cause: Option<ExitCause>,
}

/// The signal behind an exit: the killing one, or the last one sent before a process exited by itself.
#[derive(Serialize, Default)]
pub struct ExitCause {
    pub cause: Option<String>,
    pub origin: Option<&'static str>,
    pub sender_pid: Option<u32>,
    pub sender_comm: Option<String>,
    pub cause_ts_ns: Option<u64>,
}

impl Exit {
    pub fn of(e: &ProcessEvent, clock: &Clock) -> Exit {
        let (code, signo, core_dumped) = split_exit_code(e.exit_code);
        Exit {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            comm: json_text(c_bytes(&e.header.comm)),
            code,
            signal: signo.map(signal_display),
            core_dumped,
            cause: None,
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
    pub comm: String,
    pub filename: String,
    pub argv: Vec<String>,
    pub argv_truncated: bool,
    pub uid: u32,
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
            comm: json_text(c_bytes(&e.header.comm)),
            filename: json_text(filename),
            argv: exec_argv(e).iter().map(|a| json_text(a)).collect(),
            argv_truncated: e.argv_truncated != 0,
            uid: e.uid,
        }
    }
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
    pub comm: Option<String>,
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
    pub holder_comm: Option<&'a str>,
    pub holders: &'a [H],
}

/// Fields no command adds to a record.
pub type NoHolder = ();

/// `bind`: a bind() call, failed or not.
#[derive(Serialize)]
#[serde(tag = "type", rename = "bind")]
pub struct Bind<'a, H = NoHolder> {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    /// null when the fd was not a socket (EBADF, ENOTSOCK).
    pub proto: Option<&'static str>,
    pub family: &'static str,
    /// `?` when the address could not be read from the caller's memory.
    pub addr: String,
    /// The port bound: the one the kernel picked for port 0 when the bind succeeded.
    pub port: u16,
    pub requested_port: u16,
    pub fd: i32,
    pub ret: i32,
    pub errno: Option<&'static str>,
    /// On EADDRINUSE, the process holding the port when it was looked up; else null.
    pub holder_pid: Option<u32>,
    #[serde(flatten)]
    pub conflict: Option<Conflict<'a, H>>,
    /// null when the fd was not a socket.
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub v6only: Option<bool>,
    pub inode: Option<u64>,
}

impl<H> Bind<'_, H> {
    pub fn of(e: &BindEvent, clock: &Clock) -> Self {
        let known = e.flags & sock_flags::SOCKET_KNOWN != 0;
        let fault = e.flags & sock_flags::ADDR_FAULT != 0;
        Bind {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            tid: e.header.tid,
            comm: json_text(c_bytes(&e.header.comm)),
            proto: known.then(|| proto_name(e.protocol, e.sock_type)),
            family: family_name(e.family),
            addr: if fault { "?".to_string() } else { ip_of(e.sa_family, &e.addr).to_string() },
            port: if e.bound_port != 0 { e.bound_port } else { e.port },
            requested_port: e.port,
            fd: e.fd,
            ret: e.ret,
            errno: errno::of_return(e.ret.into()).map(|(name, _)| name),
            holder_pid: None,
            conflict: None,
            reuseaddr: known.then_some(e.flags & sock_flags::REUSEADDR != 0),
            reuseport: known.then_some(e.flags & sock_flags::REUSEPORT != 0),
            v6only: known.then_some(e.flags & sock_flags::V6ONLY != 0),
            inode: (e.inode != 0).then_some(e.inode),
        }
    }
}

/// `listen`: a socket started listening (by listen(), or by io_uring without it).
#[derive(Serialize)]
#[serde(tag = "type", rename = "listen")]
pub struct Listen<'a, H = NoHolder> {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub proto: &'static str,
    pub family: &'static str,
    pub addr: String,
    pub port: u16,
    /// null when the socket started listening outside listen() (io_uring).
    pub fd: Option<i32>,
    pub backlog: Option<i32>,
    pub ret: i32,
    pub errno: Option<&'static str>,
    pub holder_pid: Option<u32>,
    #[serde(flatten)]
    pub conflict: Option<Conflict<'a, H>>,
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub v6only: Option<bool>,
    pub inode: Option<u64>,
}

impl<H> Listen<'_, H> {
    pub fn of(e: &SockEvent, clock: &Clock) -> Self {
        Listen {
            ts_ns: clock.wall_ns(e.header.ts_ns),
            pid: e.header.pid,
            tid: e.header.tid,
            comm: json_text(c_bytes(&e.header.comm)),
            proto: proto_name(e.protocol, sock_type::STREAM),
            family: family_name(e.family),
            addr: ip_of(e.family, &e.addr).to_string(),
            port: e.port,
            fd: (e.fd >= 0).then_some(e.fd),
            backlog: (e.fd >= 0).then_some(e.backlog),
            ret: e.ret,
            errno: errno::of_return(e.ret.into()).map(|(name, _)| name),
            holder_pid: None,
            conflict: None,
            reuseaddr: Some(e.flags & sock_flags::REUSEADDR != 0),
            reuseport: Some(e.flags & sock_flags::REUSEPORT != 0),
            v6only: Some(e.flags & sock_flags::V6ONLY != 0),
            inode: (e.inode != 0).then_some(e.inode),
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
    pub comm: Option<String>,
    pub proto: &'static str,
    pub family: &'static str,
    pub addr: String,
    pub port: u16,
    pub inode: Option<u64>,
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
            comm: Some(json_text(c_bytes(&e.header.comm))),
            proto: proto_name(e.protocol, sock_type::STREAM),
            family: family_name(e.family),
            addr: ip_of(e.family, &e.addr).to_string(),
            port: e.port,
            inode: (e.inode != 0).then_some(e.inode),
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
    /// `pgid`: Ctrl-C, Ctrl-\\, Ctrl-Z, a resize) or "kernel".
    pub origin: &'static str,
    pub sender_pid: Option<u32>,
    pub sender_tid: Option<u32>,
    pub sender_comm: Option<String>,
    pub sender_uid: Option<u32>,
    /// The target process; for a failed kill, its pid argument as given (0 or negative: a process group).
    pub target_pid: Option<i64>,
    pub target_tid: Option<u32>,
    pub target_comm: Option<String>,
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
    pub context_comm: Option<String>,
    /// Origin "tty": the terminal as ps names it (`pts/3`), else null.
    pub tty: Option<String>,
    /// Origin "tty": the foreground process group the terminal signalled, else null.
    pub pgid: Option<u32>,
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

    /// A generated signal (signal:signal_generate). `from_process`: the current task sent it (else the kernel
    /// did, and the current task is its context).
    pub fn of(e: &SignalEvent, clock: &Clock, from_process: bool) -> Signal {
        let comm = json_text(c_bytes(&e.header.comm));
        // The kernel marks any of its own signals to a terminal's foreground group; those a terminal sends are ours.
        let from_tty = !from_process && e.flags & flags::FOREGROUND_TTY != 0 && terminal_cause(e.signo).is_some();
        let tty = from_tty.then(|| terminal_name(&json_text(c_bytes(&e.tty))));
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
            sender_pid: from_process.then_some(e.header.pid),
            sender_tid: from_process.then_some(e.header.tid),
            sender_comm: from_process.then(|| comm.clone()),
            sender_uid: from_process.then_some(e.uid),
            target_pid: Some(i64::from(e.target_pid)),
            target_tid: Some(e.target_tid),
            target_comm: Some(json_text(c_bytes(&e.target_comm))),
            group: e.group != 0,
            result: signal_result(e.result, e.flags, e.group != 0),
            action: action.map(Action::as_str),
            handler: (action == Some(Action::Handler)).then(|| format!("{:#x}", e.handler)),
            errno: None,
            syscall: None,
            context_pid: (!from_process).then_some(e.header.pid),
            context_comm: (!from_process).then_some(comm),
            pgid: from_tty.then_some(e.pgid),
            tty,
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
    pub comm: String,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// A descriptor number, or lsof's `cwd`, `rtd`, `txt`, `mem`.
    pub fd: FdField,
    /// `r`, `w`, `u` for descriptors, null otherwise.
    pub mode: Option<String>,
    pub path: String,
    pub dev: String,
    pub inode: u64,
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
    pub tid: u32,
    pub comm: String,
    pub uid: u32,
    pub user: &'a str,
    pub call: &'static str,
    /// Absolute and resolved when `path_resolved`, else the name as the process passed it.
    pub path: String,
    pub path_resolved: bool,
    /// The path was checked against the kernel's identity of the opened file.
    pub path_verified: bool,
    /// The name as the process passed it.
    pub requested: String,
    pub flags: &'a str,
    pub mode: Option<String>,
    pub fd: Option<i64>,
    pub errno: Option<&'a str>,
    pub ret: i64,
    pub duration_ns: Option<u64>,
    /// The watched path (as given) that this open matched; null without a path filter.
    pub watch: Option<String>,
    pub dev: Option<String>,
    pub inode: Option<u64>,
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
    pub tid: u32,
    pub comm: String,
    pub action: &'static str,
    pub handler: Option<String>,
    /// si_code by name; null for a group's fatal SIGKILL, which has no siginfo.
    pub code: Option<String>,
    /// "SIGKILL" when the kernel delivered the fatal signal as SIGKILL to every thread; null otherwise.
    pub kernel_signal: Option<&'static str>,
}

/// `blocked` (`tracer syscalls`): a thread found waiting inside a syscall.
#[derive(Serialize)]
#[serde(tag = "type", rename = "blocked")]
pub struct Blocked<'a> {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub name: &'a str,
    pub nr: i32,
    /// As the text line shows them.
    pub args: &'a [String],
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
            comm: "sh".into(),
            code: None,
            signal: Some("SIGKILL".into()),
            core_dumped: false,
            cause: None,
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
            r#"{"type":"exit","ts_ns":1,"pid":2,"comm":"sh","code":null,"signal":"SIGKILL","core_dumped":false,"cause":null,"origin":null,"sender_pid":null,"sender_comm":null,"cause_ts_ns":null}"#
        );
        assert_eq!(exit().outcome(), "killed by SIGKILL");
    }

    fn bind<'a, H>() -> Bind<'a, H> {
        Bind {
            ts_ns: 1,
            pid: 2,
            tid: 3,
            comm: "nc".into(),
            proto: Some("tcp"),
            family: "ipv4",
            addr: "0.0.0.0".into(),
            port: 80,
            requested_port: 80,
            fd: 3,
            ret: -98,
            errno: Some("EADDRINUSE"),
            holder_pid: None,
            conflict: None,
            reuseaddr: None,
            reuseport: None,
            v6only: None,
            inode: None,
        }
    }

    #[test]
    fn bind_conflict_sits_between_holder_pid_and_the_options() {
        let plain: Bind = bind();
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"type":"bind","ts_ns":1,"pid":2,"tid":3,"comm":"nc","proto":"tcp","family":"ipv4","addr":"0.0.0.0","port":80,"requested_port":80,"fd":3,"ret":-98,"errno":"EADDRINUSE","holder_pid":null,"reuseaddr":null,"reuseport":null,"v6only":null,"inode":null}"#
        );
        let holders = [7u32];
        let looked_up =
            Bind { holder_pid: Some(7), conflict: Some(Conflict { holder_comm: None, holders: &holders }), ..bind() };
        assert_eq!(
            serde_json::to_string(&looked_up).unwrap(),
            r#"{"type":"bind","ts_ns":1,"pid":2,"tid":3,"comm":"nc","proto":"tcp","family":"ipv4","addr":"0.0.0.0","port":80,"requested_port":80,"fd":3,"ret":-98,"errno":"EADDRINUSE","holder_pid":7,"holder_comm":null,"holders":[7],"reuseaddr":null,"reuseport":null,"v6only":null,"inode":null}"#
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
                comm: "ls".into(),
                filename: "/bin/ls".into(),
                argv,
                argv_truncated: true,
                uid: 0,
            },
        );
        let rows = || {
            (
                vec![SyscallRow { name: "read".into(), nr: 0, calls: 3, errors: 1, total_calls: 9 }],
                vec![ProcessRow {
                    pid: 5,
                    comm: None,
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
                tid: u32,
                comm: &'a str,
                action: &'a str,
                handler: Option<String>,
                code: Option<&'a str>,
                kernel_signal: Option<&'a str>,
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
                    tid: 3,
                    comm: "sh",
                    action: "handler",
                    handler: Some("0x10".into()),
                    code: (!group).then_some("SI_USER"),
                    kernel_signal: group.then_some("SIGKILL"),
                },
                &Delivery {
                    ts_ns: 1,
                    signal: "SIGTERM".into(),
                    signo: 15,
                    pid: 2,
                    tid: 3,
                    comm: "sh".into(),
                    action: "handler",
                    handler: Some("0x10".into()),
                    code: (!group).then(|| "SI_USER".into()),
                    kernel_signal: group.then_some("SIGKILL"),
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
                    comm: "cat".into(),
                    uid: Some(0),
                    user: Some("root".into()),
                    fd: FdField::Number(3),
                    mode: Some("r".into()),
                    path: "/tmp/x".into(),
                    dev: "0:5".into(),
                    inode: 7,
                },
            },
        );
        let cwd = HeldFile {
            source: "snapshot",
            pid: 2,
            comm: "cat".into(),
            uid: None,
            user: None,
            fd: FdField::Name("cwd"),
            mode: None,
            path: "/".into(),
            dev: "0:5".into(),
            inode: 7,
        };
        assert_eq!(
            serde_json::to_string(&Holder { held: &cwd }).unwrap(),
            r#"{"type":"holder","source":"snapshot","pid":2,"comm":"cat","uid":null,"user":null,"fd":"cwd","mode":null,"path":"/","dev":"0:5","inode":7}"#
        );
        let socket =
            files_before::Socket { source: "snapshot", pid: None, comm: None, port: 80, inode: Some(9), v6only: None };
        same(&files_before::SocketRecord::Holder(&socket), &Holder { held: &socket });
        for (ret, watch) in [(3, Some("/tmp")), (-2, None)] {
            same(
                &R::Open {
                    ts_ns: 1,
                    pid: 2,
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
                    tid: 3,
                    comm: "cat".into(),
                    uid: 0,
                    user: "root",
                    call: "openat",
                    path: "/tmp/x".into(),
                    path_resolved: true,
                    path_verified: false,
                    requested: "x".into(),
                    flags: "O_RDONLY",
                    mode: None,
                    fd: (ret >= 0).then_some(ret),
                    errno: (ret < 0).then_some("ENOENT"),
                    ret,
                    duration_ns: Some(5),
                    watch: watch.map(String::from),
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
        same(&R::Summary { rows: &rows, lost: 4 }, &Summary { rows: &rows, lost: 4 });
        same(&R::Summary { rows: &[], lost: 0 }, &Summary::<Row> { rows: &[], lost: 0 });
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
                    ts_ns: 1,
                    pid: 2,
                    tid: 3,
                    comm: "cat".into(),
                    name: "read",
                    nr: 0,
                    args: &args,
                    wchan: wchan.map(String::from),
                    since,
                    blocked_ns,
                },
            );
        }
    }
}
