//! `tracer procs`: `ps aux | grep PATTERN`, then every fork, exec and exit of those processes and of all their
//! descendants, live.
//!
//! Only wiring and rendering live here: /proc is read by `procfs`, ps's vocabulary is `linux::processes`, the kernel
//! side is the process family (`probes::process`), which follows descendants in the kernel (the fork tracepoint
//! adds each child to the followed set before the child runs) and lets a new process join at its exec when its
//! command name matches a pattern (matched in the kernel, so it is followed before it can fork). A pattern found
//! only in the arguments is matched here, in user space, at the exec: such a process joins a moment after its exec,
//! and a child it forks in that moment is missed (said in the README).

mod snapshot;

use std::collections::HashSet;

use aya::maps::{Array, MapData};
use tracer_common::{
    decode::{Event, c_bytes},
    event::traced,
    process::{ProcessEvent, process_flags, what},
    signals::{SignalEvent, flags},
};

use crate::{
    bpf::{Core, Preflight, Probes},
    causes::{Cause, Causes, exit_text},
    cli::{CgroupArgs, OutputArgs, PidArgs, RingArgs, UsageError},
    escape::{Text, display_name, shell_command},
    linux::{signals::fatal_by_default, users::UserNames},
    output::{OutputClosed, timestamp},
    probes::{
        Family,
        process::{ExecJoins, ProcessLayout, ProcessProbes},
        signals::{SignalLayout, SignalProbes},
    },
    procfs,
    records::{Exec, ExecContext, ExecUser, Exit, Fork, Lost, Signal, exec_argv},
    session::{Handler, Io, Session},
};

/// Which processes run, as whom, since when and under which parent (`ps aux | grep PATTERN`), then every fork,
/// exec and exit of them and of all their descendants
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tracer procs python\n  tracer procs nginx --tree\n  \
                        tracer procs -u www-data --json -o procs.jsonl\n  tracer procs -p \"$(pidof gunicorn)\"\n  \
                        tracer procs --once sshd",
    mut_arg("pids", |a| a.help("Only this process and its descendants (repeatable; a comma or space separated list as pidof prints)")))]
pub struct ProcsArgs {
    /// Processes whose command name or command line contains one of these (as grep finds it). Without a pattern,
    /// -p or -u: every process.
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
    #[command(flatten)]
    pids: PidArgs,
    /// Only processes of this user (a name or a uid).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    user: Option<String>,
    /// The snapshot as a tree, children under their parent (`ps -ef --forest`).
    #[arg(long)]
    tree: bool,
    /// The snapshot only, then exit (no live events).
    #[arg(long, conflicts_with = "no_snapshot")]
    once: bool,
    /// No snapshot: live events only.
    #[arg(long)]
    no_snapshot: bool,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    ring: RingArgs<{ 8 << 20 }>,
}

pub async fn run(args: ProcsArgs, preflight: Preflight) -> anyhow::Result<i32> {
    let pids = args.pids.resolve()?;
    let uid = args.user.as_deref().map(resolve_user).transpose()?;
    let patterns: Vec<Vec<u8>> = args.patterns.iter().map(|p| p.as_bytes().to_vec()).collect();
    let matcher = snapshot::Matcher::new(patterns.clone(), uid, pids.iter().copied().collect());
    let trace_all = patterns.is_empty() && pids.is_empty() && uid.is_none();

    let joins = ExecJoins {
        uid,
        comm_patterns: patterns.clone(),
        report_all_execs: !patterns.is_empty() && pids.is_empty(),
        never: !pids.is_empty(),
    };
    let layout = ProcessLayout::read(&preflight.tracefs)?;
    let process = ProcessProbes::following(layout.clone(), &joins);
    // Who killed a followed process: the signals that can end one, generated for a followed process.
    let signals = SignalProbes::generation(layout, SignalLayout::read()?).only(fatal_by_default());
    let families: [&dyn Family; 2] = [&process, &signals];
    let cgroup_filter = args.cgroups.resolve()?;
    let core = Core::new(trace_all).cgroup_filter(cgroup_filter.clone());
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| {
        for family in families {
            family.configure(loader);
        }
    })?;
    // Attached before /proc is read: a process forked by a followed one meanwhile is caught by one or the other.
    for family in families {
        family.attach(&mut probes)?;
    }
    crate::timing::mark("attached");

    let mut output = args.out.open()?;
    let mut listed = snapshot::take(&matcher, &mut probes, trace_all)?;
    // `--cgroup`/`--container`: the table lists that cgroup's processes only, as the kernel filters the events.
    if let Some(filter) = &cgroup_filter {
        listed.retain(|&pid, _| filter.holds_pid(pid));
    }
    if !args.no_snapshot && snapshot::report(&listed, args.tree, &mut output).is_err() {
        return Ok(0);
    }
    if args.once {
        let _ = output.flush();
        return Ok(0);
    }
    let traced_map: Array<MapData, u8> = Array::try_from(probes.take_map("TRACED")?)?;
    // With -p no process joins: once the listed ones and their descendants are gone, there is nothing to follow.
    let alive = (!pids.is_empty()).then(|| listed.keys().copied().collect());
    let mut handler =
        ProcsHandler { matcher, trace_all, traced_map, users: UserNames::default(), alive, causes: Causes::default() };
    let mut session = Session::new(probes, output)?;
    let closed = session.io.out.text_only(HEADING).is_err()
        || session.ready("procs", &describe(&args.patterns, &pids, args.user.as_deref())).is_err();
    if !closed {
        session.run(&mut handler).await?;
    }
    session.finish();
    Ok(0)
}

/// `-u`: a user name, or a uid.
fn resolve_user(user: &str) -> anyhow::Result<u32> {
    if let Ok(uid) = user.parse::<u32>() {
        return Ok(uid);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(found)) => Ok(found.uid.as_raw()),
        _ => Err(UsageError(format!("no such user: {user} (give a name from /etc/passwd or a uid)")).into()),
    }
}

fn describe(patterns: &[String], pids: &[u32], user: Option<&str>) -> String {
    let mut what = Vec::new();
    if !patterns.is_empty() {
        what.push(format!("matching {}", patterns.join(" or ")));
    }
    if !pids.is_empty() {
        what.push(format!("pid {}", pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")));
    }
    if let Some(user) = user {
        what.push(format!("of user {user}"));
    }
    let what = if what.is_empty() { "every process".to_string() } else { format!("processes {}", what.join(", ")) };
    format!("following forks, execs and exits of {what} and their descendants")
}

const HEADING: &str = "TIME            EVENT  PID     COMM             DETAILS";

struct ProcsHandler {
    matcher: snapshot::Matcher,
    trace_all: bool,
    /// The kernel's followed set, for the processes that join here (their arguments matched).
    traced_map: Array<MapData, u8>,
    users: UserNames,
    /// `-p`: the followed processes still alive.
    alive: Option<HashSet<u32>>,
    /// The fatal signals queued for each followed process, to say at its exit who killed it.
    causes: Causes,
}

impl ProcsHandler {
    /// Adds a process that matched at its exec to the kernel's followed set. False when its exit will not be seen:
    /// it had already exited (then its entry is cleared, lest a later process with its pid be followed).
    fn follow_from_now(&mut self, pid: u32) -> bool {
        if self.traced_map.set(pid, traced::NOW as u8, 0).is_err() {
            eprintln!("tracer: could not follow pid {pid}: the followed set refused it");
            return false;
        }
        // A zombie has passed the exit tracepoint. If the kernel saw the exit after the insertion it reported it
        // and cleared the entry; if the entry is still set, the exit came first.
        let exited = procfs::stat(pid).is_none_or(|s| s.is_dead());
        if !exited || self.traced_map.get(&pid, 0).unwrap_or(0) == 0 {
            return true;
        }
        let _ = self.traced_map.set(pid, 0, 0);
        false
    }

    fn on_fork(&mut self, e: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let record = Fork::of(e, &io.clock);
        if let Some(alive) = &mut self.alive
            && !record.thread
        {
            alive.insert(record.child_pid);
        }
        io.out.emit(&record, |r| {
            let details = if r.thread {
                format!("thread {}", r.child_tid)
            } else {
                format!("child {} (ppid {})", r.child_pid, r.ppid.map_or("?".to_string(), |p| p.to_string()))
            };
            let event = if r.thread { "thread" } else { "fork" };
            line(r.ts_ns, event, r.pid, c_bytes(&e.header.comm), &details)
        })
    }

    fn on_exec(&mut self, e: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let pid = e.header.pid;
        let comm = c_bytes(&e.header.comm);
        let argv = exec_argv(e);
        let mut missed_exit = false;
        let joined = if e.flags & process_flags::FOLLOWED != 0 {
            (e.flags & process_flags::JOINED != 0).then_some(if self.matcher.has_patterns() { "comm" } else { "user" })
        } else {
            // Reported only for this: does its command line match?
            if self.matcher.joins_at_exec(pid, e.uid, comm, &argv).is_none() {
                return Ok(());
            }
            missed_exit = !self.trace_all && !self.follow_from_now(pid);
            Some("cmdline")
        };
        let user = self.users.name(e.uid);
        let cwd = Text::new(procfs::cwd_if_still(pid, e.cwd_dev, e.cwd_ino));
        let record = Exec {
            user: Some(ExecUser { user }),
            context: Some(ExecContext { cwd, joined }),
            ..Exec::of(e, &io.clock)
        };
        io.out.emit(&record, |r| {
            let context = r.context.as_ref().expect("set above");
            let who = r.user.as_ref().and_then(|u| u.user.clone()).unwrap_or_else(|| r.uid.to_string());
            let cwd = context.cwd.value.as_deref().map_or("?".to_string(), |c| shell_command(&[c]));
            let ppid = r.ppid.map_or("?".to_string(), |p| p.to_string());
            let more = if r.argv_truncated { " ..." } else { "" };
            let joined = context.joined.map_or(String::new(), |how| format!("  [joined: {how}]"));
            let details = format!("ppid={ppid} user={who} cwd={cwd} {}{more}{joined}", shell_command(&argv));
            line(r.ts_ns, "exec", pid, comm, &details)
        })?;
        if missed_exit {
            // Its exit passed before it could be followed: said, never silently missing.
            let lost = Lost { probe: "process", count: 1, reason: Some("exited_before_joined") };
            io.out
                .emit(&lost, |_| format!("--- lost the exit of {pid}: it exited before tracer could follow it ---"))?;
        }
        Ok(())
    }

    fn on_exit(&mut self, e: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let cause = self.causes.at_exit(e.header.pid, e.exit_code);
        let record = Exit { cause: Some(Cause::exit_fields(cause.as_ref(), &io.clock)), ..Exit::of(e, &io.clock) };
        if let Some(alive) = &mut self.alive {
            alive.remove(&record.pid);
        }
        io.out.emit(&record, |r| {
            let ran = r.lifetime.map_or(String::new(), |l| format!(" after {}", seconds(l.run_ns)));
            let outcome = exit_text(r, cause.as_ref());
            line(r.ts_ns, "exit", r.pid, c_bytes(&e.header.comm), &format!("{outcome}{ran}"))
        })
    }

    /// Not reported: kept until the target's exit.
    fn on_signal(&mut self, e: &SignalEvent, io: &Io) {
        self.causes.on_signal(e, &Signal::of(e, &io.clock, e.flags & flags::FROM_PROCESS != 0));
    }
}

impl Handler for ProcsHandler {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Process(e) if e.what == what::FORK => self.on_fork(e, io),
            Event::Process(e) if e.what == what::EXEC => self.on_exec(e, io),
            Event::Process(e) if e.what == what::EXIT => self.on_exit(e, io),
            Event::Signal(e) => {
                self.on_signal(e, io);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn tick(&mut self, _probes: &Probes, _io: &mut Io) -> Result<(), OutputClosed> {
        self.causes.tick();
        Ok(())
    }

    fn finished(&self) -> bool {
        self.alive.as_ref().is_some_and(HashSet::is_empty)
    }
}

/// `1.234s`.
fn seconds(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, ns % 1_000_000_000 / 1_000_000)
}

fn line(ts_ns: u64, event: &str, pid: u32, comm: &[u8], details: &str) -> String {
    format!("{:<15} {event:<6} {pid:<7} {:<16} {details}", timestamp(ts_ns, 2), display_name(comm))
}
