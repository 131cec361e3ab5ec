//! `tracer syscalls`: what is this process doing, and where is it stuck? strace's answers, from tracepoints.
//! Only wiring lives here: which probes, which filters, which sink.

pub(crate) mod comms;
pub(crate) mod decode;
mod fdpaths;
mod filter;
pub(crate) mod structs;
mod summary;

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    ffi::OsString,
    fmt::Write as _,
};

use anyhow::{Context as _, bail};
use tracer_common::{
    decode::{Event, SyscallRecord, c_bytes},
    event::{header_flags, traced},
    process::{ProcessEvent, what},
    signals::{SIGKILL, SignalDeliverEvent, SignalEvent, flags, result},
    syscalls::{
        CAPTURE_SLOTS, DATA_CAP, FdIdentity, FdSources, Inflight, MAX_SYSCALL_NR, SyscallEvent, capture, fd_source,
        fd_state, is_error_return, result_filter, status,
    },
};

use crate::{
    bpf::{Core, Preflight, Probes},
    cli::{CgroupArgs, OutputArgs, PidArgs, RingArgs, UsageError},
    escape::{StringStyle, Text, display_name, quote},
    linux::siginfo::SigInfo,
    output::{Clock, OutputClosed, push_duration, push_timestamp, timestamp},
    probes::{
        Family as _,
        process::{ProcessLayout, ProcessProbes},
        signals::{SignalLayout, SignalProbes},
        syscalls::{
            FdIdentities, Hooks, Options as SyscallOptions, SOCKET_ENTER_CALLS, SyscallMaps as _, SyscallProbes,
        },
    },
    procfs,
    records::{Blocked, Call, Delivery, Exit, Signal, Summary, Syscall, known_start},
    session::{Handler, Io, Session, Stop},
    spawn::{Spawned, reap, try_reap},
    tracefs,
};
use comms::{Comms, ThreadName};
use decode::{ArgKind, CallTexts, FormatOptions, SyscallTable};
use fdpaths::{FdName, FdPaths};
use filter::SyscallFilter;

/// Trace the system calls of running processes (-p) or of a command (-- CMD), like strace.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tracer syscalls -p 1234\n  tracer syscalls -f -e trace=%file -- make\n  \
                        tracer syscalls -c -p \"$(pidof nginx)\"",
    mut_arg("pids", |a| a.help("Trace this process, every thread of it (repeatable; a comma or space separated list as pidof prints)")))]
pub struct SyscallsArgs {
    #[command(flatten)]
    pids: PidArgs,
    /// Follow children forked after tracing started, from their first instruction.
    #[arg(short = 'f', long = "follow-forks")]
    follow: bool,
    /// Run the command as this user (it is started by root).
    #[arg(short = 'u', long = "user", value_name = "USER", requires = "command")]
    user: Option<String>,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// Prefix lines with the time of day; -tt adds microseconds, -ttt prints seconds since the epoch.
    #[arg(short = 't', action = clap::ArgAction::Count)]
    timestamps: u8,
    /// Show the time spent in each call.
    #[arg(short = 'T')]
    durations: bool,
    /// Which calls: names, classes (%file %network %signal %process %memory %desc), `!` negates: -e trace=!write.
    #[arg(short = 'e', long = "trace", value_name = "EXPR")]
    expr: Vec<String>,
    /// Only calls that failed.
    #[arg(short = 'Z', long = "failed", conflicts_with = "successful")]
    failed: bool,
    /// Only calls that succeeded.
    #[arg(short = 'z', long = "successful")]
    successful: bool,
    /// Count calls, errors and time per syscall in the kernel; print the table at the end.
    #[arg(short = 'c', long = "summary-only")]
    summary: bool,
    /// Bytes of data buffers to show (paths are always whole, up to 255 bytes).
    #[arg(short = 's', long = "string-limit", value_name = "N", default_value_t = 32)]
    string_limit: usize,
    /// Show what each file descriptor named when its call ran: its path, `socket:[INODE]`, `pipe:[INODE]`
    /// (`-yy`: a socket's protocol and ends, a device's numbers, as strace shows them); `N<?>` when unknown.
    #[arg(short = 'y', long = "decode-fds", action = clap::ArgAction::Count)]
    fd_paths: u8,
    /// Strings in hex: `-x` a string holding bytes that are not printable ASCII, `-xx` every string (as strace;
    /// text output only).
    #[arg(short = 'x', action = clap::ArgAction::Count)]
    hex_strings: u8,
    /// Structs whole (stat, statx), where strace abbreviates them with `...` (as strace -v; text output only).
    #[arg(short = 'v', long = "no-abbrev")]
    verbose: bool,
    /// Report a call still blocked after this many seconds (and threads blocked at attach).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    blocked_after: f64,
    #[command(flatten)]
    ring: RingArgs<{ 8 << 20 }>,
    /// The command to run and trace.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

impl SyscallsArgs {
    pub fn validate(&self) -> Result<(), String> {
        if self.pids.is_empty() && self.command.is_empty() {
            return Err("give processes to trace with -p PID, or a command after --".into());
        }
        Ok(())
    }

    /// Forks the command (before any thread exists), if there is one.
    pub fn spawn(&self) -> anyhow::Result<Option<Spawned>> {
        if self.command.is_empty() {
            return Ok(None);
        }
        if let Some(why) = procfs::foreign_pid_namespace() {
            bail!(
                "cannot trace a command here: {why}, and the kernel's probes would not know the command by the id \
                 fork gives it; run tracer in the host's pid namespace"
            );
        }
        Spawned::prepare(&self.command, self.user.as_deref()).map(Some)
    }
}

pub async fn run(args: SyscallsArgs, preflight: Preflight, mut spawned: Option<Spawned>) -> anyhow::Result<i32> {
    // Several hundred format files (10 ms) on another thread, while this one reads the kernel's BTF. Errors are
    // reported in the same order as when one was read after the other.
    let formats = {
        let tracefs = preflight.tracefs.clone();
        std::thread::spawn(move || tracefs::syscall_formats(&tracefs))
    };
    let layouts = ProcessLayout::read(&preflight.tracefs).and_then(|process| Ok((process, SignalLayout::read()?)));
    let formats = formats
        .join()
        .map_err(|_| anyhow::anyhow!("reading the kernel's syscall formats: the thread panicked"))?
        .context("reading the kernel's syscall formats")?;
    crate::timing::mark("syscall formats read");
    let table = SyscallTable::new(&formats);
    // Which names are syscalls only the running kernel says: a bad one is a usage error all the same.
    let filter = SyscallFilter::parse(&args.expr, &table).map_err(|err| UsageError(err.to_string()))?;
    let (process_layout, signal_layout) = layouts?;

    // Resolve the processes before loading anything: a missing pid is a usage problem, not a trace.
    let initial = args.pids.resolve()?;

    // -x, -xx and -v shape the text line; JSON's `args` keep one form whatever the options (docs/JSON.md).
    let (strings, verbose) = match args.out.json {
        true => (StringStyle::Escaped, false),
        false => (StringStyle::from_count(args.hex_strings), args.verbose),
    };
    let specs = table.specs(|info| filter.wants(info), verbose);
    let specs: Box<[tracer_common::syscalls::SyscallSpec; tracer_common::syscalls::MAX_SYSCALL_NR]> =
        specs.into_boxed_slice().try_into().map_err(|_| anyhow::anyhow!("syscall table has the wrong size"))?;
    let result_filter = if args.failed {
        result_filter::FAILED
    } else if args.successful {
        result_filter::SUCCESSFUL
    } else {
        result_filter::ALL
    };
    let rt_sigreturn_nr = table.by_name("rt_sigreturn").map_or(15, |i| i.nr);
    // A few calls get their own tracepoints, but not rt_sigreturn: its classic exit never fires (the kernel has
    // reset the call's number by then, see tracer-ebpf's RT_SIGRETURN_NR), so a set that holds it goes raw.
    let few = filter.few().filter(|numbers| !numbers.contains(&rt_sigreturn_nr));
    let enter_hook = args.summary || args.durations || args.timestamps > 0 || args.out.json || few.is_some();
    // -yy: the traced calls that change a socket's ends, whose fd the kernel identifies at their enter.
    let socket_enter_calls: Vec<&str> = SOCKET_ENTER_CALLS
        .into_iter()
        .filter(|name| args.fd_paths > 1 && table.by_name(name).is_some_and(|info| filter.wants(info)))
        .collect();
    let options = SyscallOptions {
        specs,
        summary_only: args.summary,
        result_filter,
        buffer_capture: args.string_limit.saturating_add(1).min(DATA_CAP) as u32,
        execve_nr: table.by_name("execve").map_or(59, |i| i.nr as u32),
        execveat_nr: table.by_name("execveat").map_or(322, |i| i.nr as u32),
        exit_nr: table.by_name("exit").map_or(60, |i| i.nr as u32),
        exit_group_nr: table.by_name("exit_group").map_or(231, |i| i.nr as u32),
        rt_sigreturn_nr: rt_sigreturn_nr as u32,
        enter_hooked: enter_hook,
        fd_identities: if args.fd_paths > 0 && !args.summary {
            let sources: Box<[FdSources; MAX_SYSCALL_NR]> = table
                .fd_sources(&socket_enter_calls)
                .into_boxed_slice()
                .try_into()
                .map_err(|_| anyhow::anyhow!("fd table has the wrong size"))?;
            Some(
                FdIdentities::new(sources, args.fd_paths > 1, &socket_enter_calls)
                    .context("reading the kernel's file layout for -y")?,
            )
        } else {
            None
        },
    };
    let hooks = match few {
        Some(numbers) => Hooks::One(numbers.iter().map(|&nr| kernel_event_name(&table.name(nr)).to_string()).collect()),
        // The enter hook only measures time: without durations, timestamps or JSON (whose records carry
        // duration_ns) every traced call costs one hook instead of two, and every other task too.
        None => Hooks::Raw { enter: enter_hook },
    };
    let syscalls = SyscallProbes::new(options, hooks).context("reading the kernel's exec layout")?;
    let process = ProcessProbes::new(process_layout.clone()).with_forks(args.follow);
    // The signal behind an interrupted call.
    let signals = (!args.summary).then(|| SignalProbes::generation(process_layout, signal_layout).with_deliveries());

    let core = Core::new(false).cgroup_filter(args.cgroups.resolve()?);
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| {
        process.configure(loader);
        if let Some(signals) = &signals {
            signals.configure(loader);
        }
        syscalls.configure(loader);
    })?;
    for &pid in &initial {
        probes.trace_pid(pid, traced::NOW)?;
    }
    if let Some(child) = &spawned {
        probes.trace_pid(child.pid, traced::FROM_EXEC)?;
    }
    // Lifecycle first, so no fork or exit falls between attaching the syscall probes and these.
    process.attach(&mut probes)?;
    if let Some(signals) = &signals {
        signals.attach(&mut probes)?;
    }
    syscalls.attach(&mut probes)?;
    crate::timing::mark("attached");
    let specs = syscalls.specs();
    let output = args.out.open()?;
    let mut session = Session::new(probes, output)?;
    let roles = CallRoles::new(&table);
    let mut tracer = Tracer {
        table,
        opts: FormatOptions { string_limit: args.string_limit, show_fd_paths: args.fd_paths > 0, strings, verbose },
        timestamps: args.timestamps,
        durations: args.durations,
        summary: args.summary,
        show_pid: args.follow
            || initial.len() > 1
            || initial.iter().any(|&p| procfs::threads(p).is_ok_and(|t| t.len() > 1)),
        live: initial.iter().copied().collect(),
        execs: HashMap::new(),
        comms: RefCell::default(),
        fds: FdPaths::new(args.fd_paths > 1),
        reported_blocked: HashSet::new(),
        blocked_after_ns: (args.blocked_after.max(0.0) * 1e9) as u64,
        quiet: (!enter_hook).then(QuietThreads::default),
        wanted: specs.iter().map(|spec| spec.wanted != 0).collect(),
        roles,
        texts: CallTexts::default(),
        child: spawned.as_ref().map(|child| child.pid),
        child_status: None,
        sent: HashMap::new(),
    };

    if tracer.opts.show_fd_paths {
        // What each attached process holds already, read as tracing starts.
        for &pid in &initial {
            tracer.fds.snapshot(pid, true);
        }
    }
    // Attached processes may already be gone; one that vanished during attach is an error only if none is left.
    let vanished: Vec<u32> = initial.iter().copied().filter(|&p| !procfs::exists(p)).collect();
    for pid in &vanished {
        tracer.live.remove(pid);
    }
    if !initial.is_empty() && tracer.live.is_empty() && spawned.is_none() {
        bail!("process {} exited while tracer was attaching", vanished[0]);
    }

    let mut closed = false;
    if !args.summary {
        for &pid in &initial {
            closed |= tracer.report_blocked_at_attach(pid, &mut session.io).is_err();
        }
    }
    // Ready before the command is let go: a script waiting for the ready line then knows that the command has not
    // run yet (it is traced from its execve either way).
    closed |= session.ready("syscalls", &describe_targets(&initial, spawned.as_ref().map(|s| s.pid))).is_err();
    if let Some(child) = &mut spawned {
        tracer.live.insert(child.pid);
        child.release()?;
    }
    let stop = if closed { Stop::OutputClosed } else { session.run(&mut tracer).await? };

    // Counts are read after the last drain, then the probes detach before the summary is printed.
    if stop != Stop::OutputClosed && args.summary {
        let rows = summary::rows(&session.probes.syscall_stats()?, &tracer.table);
        let record = Summary { rows: &rows, lost: session.lost_total, output_dropped: session.io.out.dropped };
        let _ = session.io.out.emit(&record, |r| summary::render(r.rows));
    }
    session.finish();

    // Detached by a signal or a closed output: the command runs on untraced, and tracer stops cleanly.
    match spawned {
        Some(child) if stop == Stop::Finished => Ok(tracer.child_status.or_else(|| reap(child.pid)).unwrap_or(0)),
        _ => Ok(0),
    }
}

/// The kernel names a few syscall tracepoints after its internal names.
fn kernel_event_name(name: &str) -> &str {
    match name {
        "stat" => "newstat",
        "lstat" => "newlstat",
        "fstat" => "newfstat",
        "uname" => "newuname",
        "sendfile" => "sendfile64",
        "umount2" => "umount",
        other => other,
    }
}

fn describe_targets(initial: &[u32], spawned: Option<u32>) -> String {
    let mut what: Vec<String> = initial
        .iter()
        .map(|&p| format!("{p} ({})", procfs::comm(p).map_or_else(|| "?".into(), |c| display_name(&c))))
        .collect();
    if let Some(pid) = spawned {
        what.push(format!("command {pid}"));
    }
    format!("tracing {}", what.join(", "))
}

struct Tracer {
    table: SyscallTable,
    opts: FormatOptions,
    timestamps: u8,
    durations: bool,
    summary: bool,
    show_pid: bool,
    /// Traced processes still alive; tracing ends when it empties.
    live: HashSet<u32>,
    /// What each process last exec'd, from sched_process_exec (the execve's own pointers are gone by its exit).
    execs: HashMap<u32, ExecInfo>,
    /// Borrowed by the records' `comm`, which looks a name up only when a JSON line is written.
    comms: RefCell<Comms>,
    fds: FdPaths,
    reported_blocked: HashSet<(u32, u64)>,
    blocked_after_ns: u64,
    /// Without an enter hook, calls that block are found by watching threads that stopped returning.
    quiet: Option<QuietThreads>,
    /// By syscall number: selected by `-e trace=`.
    wanted: Vec<bool>,
    /// What on_syscall treats apart, by syscall number.
    roles: CallRoles,
    /// The strings of the last call formatted, kept to format the next one in.
    texts: CallTexts,
    /// The command tracer started, and its exit status once reaped.
    child: Option<u32>,
    child_status: Option<i32>,
    /// Signals sent to a traced process, by (pid, signo), as their line shows them: a fatal signal with the
    /// default action (SIGTERM, SIGPIPE...) is never taken as itself by a task no ptrace holds (the kernel ends the
    /// group with SIGKILL at once): its line is written when the first thread takes that SIGKILL.
    sent: HashMap<(u32, i32), SentSignal>,
}

/// A generated signal's line inside the braces: its name, si_code and siginfo fields.
struct SentSignal {
    signal: String,
    code: Option<String>,
    fields: String,
}

/// Blocked calls found without an enter hook. The kernel counts each traced thread's returns (`RETURNS`); a thread
/// looked at in /proc inside a call, whose count has not moved when it is looked at again `--blocked-after` later,
/// inside the same call, has been in that call all along, and is reported once as blocked for at least that long.
/// Threads are looked at every half `--blocked-after`; one that keeps returning costs one map read a look.
#[derive(Default)]
struct QuietThreads {
    looks: HashMap<u32, Look>,
    /// Threads reported blocked at attach: left alone until they return.
    blocked_at_attach: HashSet<u32>,
}

#[derive(Clone, Copy)]
struct Look {
    at_ns: u64,
    /// The thread's return count then (`None`: none counted yet).
    returns: Option<u32>,
    /// Inside this call since `call_since_ns` at the latest, with `returns` unchanged since.
    call: Option<(i32, [u64; 6])>,
    call_since_ns: u64,
}

impl Handler for Tracer {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Syscall(record) => self.on_syscall(record, io),
            Event::Process(event) => self.on_process(event, io),
            Event::Signal(event) => self.on_signal(event, io),
            Event::SignalDeliver(event) => self.on_deliver(event, io),
            _ => Ok(()),
        }
    }

    fn tick(&mut self, probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        self.comms.get_mut().expire();
        // Processes whose exit was not recorded (they exited during attach, or the ring was full): tracer's own
        // child is reaped here, and a zombie is as gone as a process /proc no longer lists.
        if let Some(pid) = self.child
            && self.child_status.is_none()
            && let Some(status) = try_reap(pid)
        {
            self.child_status = Some(status);
            self.live.remove(&pid);
        }
        self.live.retain(|&pid| procfs::is_alive(pid));
        if self.summary { Ok(()) } else { self.report_blocked_live(probes, io) }
    }

    fn finished(&self) -> bool {
        self.live.is_empty()
    }
}

impl Tracer {
    fn prefix(&self, clock: &Clock, tid: u32, ts_ns: u64) -> String {
        let mut prefix = String::new();
        self.write_prefix(&mut prefix, clock, tid, ts_ns);
        prefix
    }

    fn write_prefix(&self, out: &mut String, clock: &Clock, tid: u32, ts_ns: u64) {
        if self.show_pid {
            let _ = write!(out, "[pid {tid:>5}] ");
        }
        if self.timestamps > 0 {
            push_timestamp(out, clock.wall_ns(ts_ns), self.timestamps);
            out.push(' ');
        }
    }

    /// By reference: the records are read at millions a second, and moving one is a copy of 200 bytes.
    fn on_syscall(&mut self, record: &SyscallRecord, io: &mut Io) -> Result<(), OutputClosed> {
        let event = &record.event;
        // The kernel read a path of this call whole and sent the call again, right after (`kind::SYSCALL_LONG`).
        if event.status & status::SUPERSEDED != 0 {
            return Ok(());
        }
        let pid = event.header.pid;
        if self.show_pid_for(pid) {
            self.show_pid = true;
        }
        let role = self.roles.of(event.nr);
        // A new task's return (0) from fork, vfork, clone or clone3 is not a call of its own (strace shows none).
        // The raw path drops it in the kernel; a call's own exit tracepoint (`-e trace=`) cannot on every kernel
        // (5.10's verifier refused it there), and 0 is only ever the child's return, so it is dropped here.
        if event.ret == 0 && role == CallRole::Fork {
            return Ok(());
        }
        let is_exec = matches!(role, CallRole::Execve | CallRole::Execveat);
        if event.ret == 0 && event.args[0] == libc::PR_SET_NAME as u64 && role == CallRole::Prctl {
            self.comms.get_mut().forget(event.header.tid);
        }
        // A successful exec's saved registers were reset: without the enter hook its arguments are gone.
        let exec_args_lost = is_exec && event.ret == 0 && event.status & status::ENTER_SEEN == 0;
        let path_arg = usize::from(role == CallRole::Execveat);
        let rewritten;
        let record = if is_exec && event.ret == 0 {
            let mut exec_record = record.clone();
            if exec_args_lost {
                // The environment pointer is gone (`?` below), not its count: not NULL, so that the count is shown.
                exec_record.event.args[path_arg + 2] = u64::MAX;
            }
            // The old image's memory is gone: use what the kernel executed, and the new image's argv.
            if let Some(exec) = self.execs.get(&pid) {
                exec_record.data[0] = exec.filename.clone();
                exec_record.event.status &= !(status::FAULT_0 | status::TRUNCATED_0);
                if exec_record.event.args[path_arg] == 0 {
                    exec_record.event.args[path_arg] = u64::MAX; // not NULL: shown from the data above
                }
            }
            rewritten = exec_record;
            &rewritten
        } else {
            record
        };
        // Borrowed, not copied: three identities are over 200 bytes, and most records have none.
        let slots: &[FdIdentity] = record.fds.as_deref().map_or(&[], |fds| &fds[..]);
        let slot_of = |source: u8| slots.iter().find(|s| s.state != fd_state::UNUSED && s.source == source);
        if self.opts.show_fd_paths {
            // Before formatting, so that an open's result is annotated too.
            let path_arg = (!record.data[0].is_empty()).then_some(record.data[0].as_slice());
            let returned = slot_of(fd_source::RETURN).filter(|_| !is_error_return(event.ret));
            self.fds.observe(pid, &self.table.name(event.nr), &event.args, returned, slot_of(0), path_arg);
            if is_exec && event.ret == 0 {
                self.fds.forget_unverifiable(pid);
            }
        }
        let fds = RefCell::new(&mut self.fds);
        let fd_path = |arg: Option<usize>, fd: i64| {
            // The slot of this argument (or of the return value), as the kernel identified it at the call.
            let source = arg.map_or(fd_source::RETURN, |i| i as u8);
            let slot = slots
                .iter()
                .find(|s| s.state != fd_state::UNUSED && s.source & !fd_source::FLAGS == source && s.fd as i64 == fd);
            match slot {
                Some(identity) => fds.borrow_mut().name(pid, identity).text(),
                None => FdName::Unknown.text(),
            }
        };
        self.table.format_into(record, &self.opts, &fd_path, &mut self.texts);
        let name = self.table.name(event.nr);
        if self.opts.show_fd_paths && role == CallRole::Close && event.ret == 0 {
            self.fds.forget(pid, event.args[0] as u32 as i32);
        }
        if is_exec
            && event.ret == 0
            && let Some(exec) = self.execs.get(&pid)
            && let Some(arg) = self.texts.args.get_mut(path_arg + 1)
        {
            *arg = exec.argv_text(self.opts.string_limit, self.opts.strings);
        }
        if exec_args_lost {
            // The environment pointer (and execveat's dirfd and flags) are not known: say so, not NULL or 0. The
            // environment's count is (the exec counted it: `exec_env_count`), shown as strace does after the
            // pointer: `? /* 38 vars */`.
            for (i, arg) in self.texts.args.iter_mut().enumerate() {
                if i != path_arg && i != path_arg + 1 {
                    *arg = match arg.split_once(" /* ") {
                        Some((_, count)) if i == path_arg + 2 => format!("? /* {count}"),
                        _ => "?".to_string(),
                    };
                }
            }
        }
        let call = &self.texts;
        let duration_ns = (event.status & status::ENTER_SEEN != 0).then_some(event.duration_ns);
        // The JSON record is made only for a JSON line; the text line is written into the output's own buffer:
        // the text path runs at up to millions of calls a second.
        let record = || Syscall {
            call: Call {
                ts_ns: io.clock.wall_ns(event.header.ts_ns),
                pid,
                start_ns: known_start(event.header.start_ns),
                tid: event.header.tid,
                comm: Text::new(ThreadName {
                    sent: (event.header.flags & header_flags::NO_COMM == 0).then(|| c_bytes(&event.header.comm)),
                    comms: &self.comms,
                    pid,
                    tid: event.header.tid,
                }),
                name: &name,
                nr: event.nr,
                args: &call.args,
            },
            ret: (event.status & status::NO_RETURN == 0).then_some(event.ret),
            errno: call.errno,
            duration_ns,
        };
        let start_ns = event.header.ts_ns.saturating_sub(event.duration_ns);
        io.out.emit_in(record, |line| {
            self.write_prefix(line, &io.clock, event.header.tid, start_ns);
            write_call(line, &name, call);
            if self.durations {
                line.push(' ');
                match duration_ns {
                    Some(ns) => push_duration(line, ns),
                    None => line.push_str("<?>"),
                }
            }
        })
    }

    /// A second process (a followed child) means lines need their pid.
    fn show_pid_for(&self, pid: u32) -> bool {
        !self.show_pid && self.live.len() > 1 && self.live.contains(&pid)
    }

    fn on_process(&mut self, event: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let pid = event.header.pid;
        match event.what {
            what::FORK => {
                self.live.insert(event.other_pid);
                if self.opts.show_fd_paths {
                    self.fds.inherit(pid, event.other_pid);
                }
                Ok(())
            }
            what::EXEC => {
                self.comms.get_mut().exec(pid, event.header.tid, c_bytes(&event.header.comm));
                self.execs.insert(pid, ExecInfo::from_event(event));
                if self.opts.show_fd_paths {
                    // What the new image holds (its stdio): checked against each call's identities when used.
                    self.fds.snapshot(pid, false);
                }
                Ok(())
            }
            what::EXIT => {
                self.live.remove(&pid);
                self.sent.retain(|&(sent_to, _), _| sent_to != pid);
                self.execs.remove(&pid);
                self.fds.forget_process(pid);
                if self.summary {
                    return Ok(());
                }
                io.out.emit(&Exit::of(event, &io.clock), |r| {
                    format!("{}+++ {} +++", self.prefix(&io.clock, pid, event.header.ts_ns), r.outcome())
                })
            }
            _ => Ok(()),
        }
    }

    /// A generated signal: its JSON record. Its strace line is written when the target takes it (`on_deliver`),
    /// where strace shows it (after the line of the call it interrupts), but for a signal the target ignores: the
    /// kernel drops that one at once for a task no ptrace holds, where strace, holding it, is shown it. SIGKILL,
    /// and a signal the kernel dropped (a standard signal already pending, a full real-time queue), strace never
    /// sees.
    fn on_signal(&mut self, event: &SignalEvent, io: &mut Io) -> Result<(), OutputClosed> {
        // SI_USER, SI_QUEUE, SI_TKILL come from a process (the current task), and so does SIGCHLD (from the child
        // that changed state); other codes from the kernel.
        let from_process = matches!(event.code, 0 | -1 | -6) || event.signo == libc::SIGCHLD;
        let record = Signal::of(event, &io.clock, from_process);
        let fields = record.siginfo.as_ref().map(SigInfo::text).unwrap_or_default();
        if matches!(event.result, result::DELIVERED | result::LOSE_INFO) && event.signo != SIGKILL {
            let sent = SentSignal { signal: record.signal.clone(), code: record.code.clone(), fields: fields.clone() };
            self.sent.insert((event.target_pid, event.signo), sent);
        }
        io.out.emit_some(&record, |r| {
            if event.result != result::IGNORED || event.signo == SIGKILL {
                return None;
            }
            Some(self.signal_line(
                &io.clock,
                event.target_tid,
                event.header.ts_ns,
                &r.signal,
                r.code.as_deref(),
                &fields,
            ))
        })
    }

    /// A thread taking a signal: strace's `--- SIGHUP {si_signo=SIGHUP, si_code=SI_USER, si_pid=42, si_uid=0} ---`,
    /// with the siginfo as the thread takes it. A group's end (SIGKILL to every thread) shows the fatal signal that
    /// caused it, as it was sent, once; SIGKILL itself strace never shows.
    fn on_deliver(&mut self, event: &SignalDeliverEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let pid = event.header.pid;
        let group_exit = event.flags & flags::GROUP_EXIT != 0;
        let sent = self.sent.remove(&(pid, event.orig_signo));
        io.out.emit_some(&Delivery::of(event, &io.clock), |r| {
            let (tid, ts_ns) = (event.header.tid, event.header.ts_ns);
            if group_exit {
                // Only when it was seen sent: the group's other threads, and a core-dumping signal's (taken as
                // itself first), find nothing.
                let sent = sent.filter(|_| event.orig_signo != SIGKILL)?;
                return Some(self.signal_line(&io.clock, tid, ts_ns, &sent.signal, sent.code.as_deref(), &sent.fields));
            }
            if event.signo == SIGKILL {
                return None;
            }
            let fields = r.siginfo.as_ref().map(SigInfo::text).unwrap_or_default();
            Some(self.signal_line(&io.clock, tid, ts_ns, &r.signal, r.code.as_deref(), &fields))
        })
    }

    fn signal_line(
        &self,
        clock: &Clock,
        tid: u32,
        ts_ns: u64,
        signal: &str,
        code: Option<&str>,
        fields: &str,
    ) -> String {
        let prefix = self.prefix(clock, tid, ts_ns);
        let code = code.unwrap_or("?");
        format!("{prefix}--- {signal} {{si_signo={signal}, si_code={code}{fields}}} ---")
    }

    /// Threads already inside a syscall when tracing starts: they may stay there for hours and send nothing.
    fn report_blocked_at_attach(&mut self, pid: u32, io: &mut Io) -> Result<(), OutputClosed> {
        let now = io.clock.monotonic_now();
        for tid in procfs::threads(pid).unwrap_or_default() {
            let Some(procfs::TaskSyscall::In { nr, args }) = procfs::task_syscall(pid, tid) else { continue };
            if let Some(quiet) = &mut self.quiet {
                quiet.blocked_at_attach.insert(tid);
            }
            let record = record_from_memory(&self.table, pid, tid, nr, args);
            self.emit_blocked(&record, now, None, io)?;
        }
        Ok(())
    }

    /// Calls entered after attach that have not returned within `after_ns`: reported once each, while blocked.
    fn report_blocked_live(&mut self, probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        let threads: HashMap<u32, u32> = self
            .live
            .iter()
            .flat_map(|&pid| procfs::threads(pid).unwrap_or_default().into_iter().map(move |tid| (tid, pid)))
            .collect();
        if self.quiet.is_some() {
            return self.report_blocked_quiet(probes, &threads, io);
        }
        let after_ns = self.blocked_after_ns;
        let Ok(inflight) = probes.inflight(threads.keys().copied()) else { return Ok(()) };
        let now = io.clock.monotonic_now();
        let current: HashSet<(u32, u64)> = inflight.iter().map(|i| (i.tid, i.enter_ns)).collect();
        self.reported_blocked.retain(|key| current.contains(key));
        for Inflight { enter_ns, tid, nr, .. } in inflight {
            let pid = threads[&tid];
            let blocked_ns = now.saturating_sub(enter_ns);
            if blocked_ns < after_ns || self.reported_blocked.contains(&(tid, enter_ns)) {
                continue;
            }
            // The kernel keeps no arguments for calls entered through the raw hook: the blocked thread's saved
            // registers have them. A thread in another call by now is no longer blocked in this one.
            let Some(procfs::TaskSyscall::In { nr: now_in, args }) = procfs::task_syscall(pid, tid) else { continue };
            if now_in != nr {
                continue;
            }
            self.reported_blocked.insert((tid, enter_ns));
            let record = record_from_memory(&self.table, pid, tid, nr, args);
            self.emit_blocked(&record, enter_ns, Some(blocked_ns), io)?;
        }
        Ok(())
    }

    /// `report_blocked_live` without an enter hook (see `QuietThreads`).
    fn report_blocked_quiet(
        &mut self,
        probes: &Probes,
        threads: &HashMap<u32, u32>,
        io: &mut Io,
    ) -> Result<(), OutputClosed> {
        let after_ns = self.blocked_after_ns;
        let now = io.clock.monotonic_now();
        let Some(quiet) = &mut self.quiet else { return Ok(()) };
        quiet.looks.retain(|tid, _| threads.contains_key(tid));
        let due: Vec<u32> = threads
            .keys()
            .copied()
            .filter(|tid| quiet.looks.get(tid).is_none_or(|l| now.saturating_sub(l.at_ns) >= after_ns / 2))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let Ok(returns) = probes.thread_returns(due.iter().copied()) else { return Ok(()) };
        let mut found = Vec::new();
        for tid in due {
            let pid = threads[&tid];
            let count = returns.get(&tid).copied();
            if count.is_some() {
                quiet.blocked_at_attach.remove(&tid);
            } else if quiet.blocked_at_attach.contains(&tid) {
                continue;
            }
            let previous = quiet.looks.get(&tid).copied().filter(|l| l.returns == count);
            // /proc shows six registers whatever the call takes: the unused ones are not the call's.
            let in_call = || match procfs::task_syscall(pid, tid) {
                Some(procfs::TaskSyscall::In { nr, mut args }) if self.wanted.get(nr as usize) == Some(&true) => {
                    let used = self.table.get(nr).and_then(|i| i.args.as_ref()).map_or(6, Vec::len);
                    args.iter_mut().skip(used).for_each(|a| *a = 0);
                    Some((nr, args))
                }
                _ => None,
            };
            let look = match previous {
                // It returned since the last look (or was never looked at): busy, nothing to read in /proc.
                None => Look { at_ns: now, returns: count, call: None, call_since_ns: now },
                // No return since: inside a call now?
                Some(l) if l.call.is_none() => Look { at_ns: now, call: in_call(), call_since_ns: now, ..l },
                Some(l) => {
                    if now.saturating_sub(l.call_since_ns) >= after_ns {
                        if in_call() == l.call {
                            if self.reported_blocked.insert((tid, l.call_since_ns)) {
                                found.push((pid, tid, l));
                            }
                        } else {
                            quiet
                                .looks
                                .insert(tid, Look { at_ns: now, returns: count, call: None, call_since_ns: now });
                            continue;
                        }
                    }
                    Look { at_ns: now, ..l }
                }
            };
            quiet.looks.insert(tid, look);
        }
        let live: HashSet<(u32, u64)> =
            quiet.looks.iter().filter(|(_, l)| l.call.is_some()).map(|(&tid, l)| (tid, l.call_since_ns)).collect();
        self.reported_blocked.retain(|key| live.contains(key));
        found.sort_unstable_by_key(|&(_, tid, _)| tid);
        for (pid, tid, look) in found {
            let Some((nr, args)) = look.call else { continue };
            let record = record_from_memory(&self.table, pid, tid, nr, args);
            self.emit_blocked(&record, look.call_since_ns, Some(now.saturating_sub(look.call_since_ns)), io)?;
        }
        Ok(())
    }

    fn emit_blocked(
        &mut self,
        record: &SyscallRecord,
        since_ns: u64,
        blocked_ns: Option<u64>,
        io: &mut Io,
    ) -> Result<(), OutputClosed> {
        let (pid, tid, nr) = (record.event.header.pid, record.event.header.tid, record.event.nr);
        // A call in progress: /proc names what its fds name now, while it runs.
        let fd_path = |_: Option<usize>, fd: i64| procfs::fd_path(pid, fd);
        let mut call = CallTexts::default();
        self.table.format_into(record, &self.opts, &fd_path, &mut call);
        let name = self.table.name(nr);
        let wchan = procfs::wchan(pid, tid);
        let record = Blocked {
            call: Call {
                ts_ns: io.clock.wall_ns(since_ns),
                pid,
                // Found in /proc: its start time from there too (to the clock tick).
                start_ns: known_start(record.event.header.start_ns).or_else(|| procfs::start_ns(pid)),
                tid,
                comm: Text::new(procfs::comm(pid).unwrap_or_default()),
                name: &name,
                nr,
                args: &call.args,
            },
            wchan,
            since: if blocked_ns.is_some() { "live" } else { "attach" },
            blocked_ns,
        };
        let quiet = self.quiet.is_some();
        io.out.emit(&record, |r| {
            let place = r.wchan.as_ref().map_or_else(String::new, |w| format!(" in {w}"));
            let when = match r.blocked_ns {
                None => "since before attach".to_string(),
                // Seen inside the call twice, without an enter hook to date it: a lower bound.
                Some(ns) if quiet => {
                    format!("for at least {:.1}s, since before {}", ns as f64 / 1e9, timestamp(r.call.ts_ns, 2))
                }
                Some(ns) => format!("for {:.1}s, since {}", ns as f64 / 1e9, timestamp(r.call.ts_ns, 2)),
            };
            format!("[pid {tid:>5}] {}({}) <blocked{place} {when}>", r.call.name, r.call.args.join(", "))
        })
    }
}

/// Builds a record for a call seen from outside (/proc or the in-flight map), copying string arguments from the
/// process's memory as the kernel would have at exit.
fn record_from_memory(table: &SyscallTable, pid: u32, tid: u32, nr: i32, args: [u64; 6]) -> SyscallRecord {
    let mut record = SyscallRecord {
        event: SyscallEvent { nr, args, status: status::ENTER_SEEN, ..Default::default() },
        data: Default::default(),
        fds: None,
    };
    record.event.header.pid = pid;
    record.event.header.tid = tid;
    let captured = table
        .get(nr)
        .and_then(|i| i.args.as_ref())
        .map(|a| a.iter().enumerate().filter(|(_, a)| a.kind.is_captured()).take(CAPTURE_SLOTS).collect::<Vec<_>>())
        .unwrap_or_default();
    for (slot, (i, arg)) in captured.into_iter().enumerate() {
        match arg.kind {
            ArgKind::Path => match procfs::read_cstring(pid, args[i], DATA_CAP - 1) {
                Some((bytes, cut)) => {
                    record.data[slot] = bytes;
                    if cut {
                        record.event.status |= status::TRUNCATED_0 << slot;
                    }
                }
                None => record.event.status |= status::FAULT_0 << slot,
            },
            // A struct passed in (a sleep's request, a bind's address) is there already, as at entry.
            _ => {
                let len = match arg.kind.capture() {
                    Some((capture::STRUCT_IN, size)) => usize::from(size),
                    Some((capture::SIZED_IN, len_arg)) => args[usize::from(len_arg)].min(DATA_CAP as u64) as usize,
                    // A buffer or struct being filled has no meaning yet; a buffer being written is shown by address.
                    _ => 0,
                };
                match procfs::read_bytes(pid, args[i], len).filter(|_| len > 0) {
                    Some(bytes) => record.data[slot] = bytes,
                    None => record.event.status |= status::FAULT_0 << slot,
                }
            }
        }
    }
    record
}

/// The calls on_syscall treats apart from the others, told by number rather than by comparing names on every record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallRole {
    Other,
    /// fork, vfork, clone, clone3: the child's return (0) is dropped.
    Fork,
    Execve,
    Execveat,
    /// PR_SET_NAME renames the thread.
    Prctl,
    /// `-y` forgets the fd it closed.
    Close,
}

struct CallRoles {
    by_nr: Vec<CallRole>,
}

impl CallRoles {
    fn new(table: &SyscallTable) -> CallRoles {
        let mut by_nr = vec![CallRole::Other; MAX_SYSCALL_NR];
        for info in table.iter() {
            let role = match info.name.as_str() {
                "fork" | "vfork" | "clone" | "clone3" => CallRole::Fork,
                "execve" => CallRole::Execve,
                "execveat" => CallRole::Execveat,
                "prctl" => CallRole::Prctl,
                "close" => CallRole::Close,
                _ => continue,
            };
            if let Some(slot) = usize::try_from(info.nr).ok().and_then(|nr| by_nr.get_mut(nr)) {
                *slot = role;
            }
        }
        CallRoles { by_nr }
    }

    /// `Other` for a number the table does not know (named `syscall_0x...`, none of the above).
    fn of(&self, nr: i32) -> CallRole {
        usize::try_from(nr).ok().and_then(|nr| self.by_nr.get(nr)).copied().unwrap_or(CallRole::Other)
    }
}

struct ExecInfo {
    filename: Vec<u8>,
    argv: Vec<u8>,
    argv_truncated: bool,
}

impl ExecInfo {
    fn from_event(event: &ProcessEvent) -> Self {
        let filename_len = usize::from(event.filename_len).min(event.filename.len());
        let argv_len = usize::from(event.argv_len).min(event.argv.len());
        ExecInfo {
            filename: event.filename[..filename_len].to_vec(),
            argv: event.argv[..argv_len].to_vec(),
            argv_truncated: event.argv_truncated != 0,
        }
    }

    /// `["ls", "/"]` as strace prints argv, each string cut at `-s`, `...` when the kernel's copy was cut.
    fn argv_text(&self, limit: usize, strings: StringStyle) -> String {
        let argv = self.argv.strip_suffix(&[0]).unwrap_or(&self.argv);
        let args: Vec<String> =
            argv.split(|&b| b == 0).map(|a| quote(&a[..a.len().min(limit)], a.len() > limit, strings)).collect();
        let more = if self.argv_truncated { ", ..." } else { "" };
        format!("[{}{more}]", args.join(", "))
    }
}

/// `name(args) = ret` and, for a failure, ` ERRNO (text)`, appended to `out`.
fn write_call(out: &mut String, name: &str, call: &CallTexts) {
    out.push_str(name);
    out.push('(');
    for (i, arg) in call.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(arg);
    }
    // Pushed, not `write!`: fmt's machinery costs more than the copies at millions of lines a second.
    out.push_str(") = ");
    out.push_str(&call.ret);
    if let (Some(errno), Some(text)) = (call.errno, call.errno_text) {
        out.push(' ');
        out.push_str(errno);
        out.push_str(" (");
        out.push_str(text);
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_calls_read_structs_passed_in() {
        use crate::tracefs::{Field, SyscallFormat};
        let field = |c_type: &str, name: &str| Field {
            c_type: c_type.into(),
            name: name.into(),
            array_len: None,
            offset: 0,
            size: 8,
            signed: false,
        };
        let table = SyscallTable::new(&[SyscallFormat {
            nr: 230,
            name: "clock_nanosleep".into(),
            args: vec![
                field("const clockid_t", "which_clock"),
                field("int", "flags"),
                field("const struct __kernel_timespec *", "rqtp"),
                field("struct __kernel_timespec *", "rmtp"),
            ],
        }]);
        let request = [30i64, 5];
        let remain = [0i64; 2];
        let args = [0, 0, request.as_ptr() as u64, remain.as_ptr() as u64, 0, 0];
        let pid = std::process::id();
        let record = record_from_memory(&table, pid, pid, 230, args);
        let want: Vec<u8> = request.iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(record.data[0], want);
        assert_eq!(record.event.status & status::FAULT_0, 0);
        let unmapped = record_from_memory(&table, pid, pid, 230, [0, 0, 8, 0, 0, 0]);
        assert_ne!(unmapped.event.status & status::FAULT_0, 0);
    }
}
