//! `tracer signals`: who sent which signal to whom, and what became of it. Only wiring lives here: which probes,
//! which filters, which sink; signal names and default actions are in `names`.
//!
//! Each signal is followed end to end: generated (sender, target, the kernel's result, what the target will do),
//! taken (the action that ran), and the exit it caused, which names the signal's sender so that "who killed pid X"
//! is one line. The kernel's own accounting is turned into the user's terms: a fatal signal reaches every thread as
//! SIGKILL (reported as the signal that caused it), a SIGPIPE looks self-sent (reported as the kernel's).

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use anyhow::bail;
use tracer_common::{
    decode::{Event, c_bytes},
    event::traced,
    process::{ProcessEvent, what},
    signals::{
        SEND_SPECS, SIGCHLD, SendSpec, SignalDeliverEvent, SignalEvent, SignalSendFailedEvent, flags, signal_bit,
    },
};

use crate::{
    bpf::{Core, Preflight, Probes},
    causes::{Cause, Causes, OomKills},
    cli::{CgroupArgs, OutputArgs, PidArgs, RingArgs},
    escape::{Text, display_name},
    linux::{
        errno,
        signals::{
            SignalList, parse_signal_list, signal_display, signal_result_text, signal_selection, signals_left_out,
        },
    },
    output::{Clock, OutputClosed, timestamp},
    probes::{
        Family as _,
        process::ProcessLayout,
        signals::{SEND_SYSCALLS, SignalLayout, SignalProbes, send_specs},
    },
    procfs,
    records::{Delivery, Exit, Signal, known_start},
    session::{Handler, Io, Session},
};

/// Who sends which signal to whom, and what becomes of it (every signal on the machine without -p)
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tracer signals\n  tracer signals -p \"$(pidof nginx)\" --signal HUP,TERM\n  \
                        tracer signals --failed --json -o signals.jsonl",
    mut_arg("pids", |a| a.help("Only signals to or from this process (repeatable; a comma or space separated list as pidof prints)")))]
pub struct SignalsArgs {
    #[command(flatten)]
    pids: PidArgs,
    /// Only these signals: names with or without SIG, or numbers (HUP,KILL or 1,9); 0 adds failed `kill -0` probes.
    /// A leading `!` leaves the whole list out instead (`!CHLD,WINCH`: every signal but those). Repeatable: the
    /// signals the lists name (every one if none names any), less those of the `!` lists.
    #[arg(long = "signal", value_name = "SIGNALS", value_parser = parse_signal_list, action = clap::ArgAction::Append)]
    signals: Vec<SignalList>,
    /// Also report SIGCHLD (sent at every child's exit or stop: on a busy machine most signals are SIGCHLD), as a
    /// --signal list naming CHLD does.
    #[arg(long)]
    sigchld: bool,
    /// Also report kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo and pidfd_send_signal calls that failed
    /// (EPERM, ESRCH, ...): they send no signal. Hooking those syscalls slows every syscall on the machine (about
    /// 60 ns each) while tracer runs.
    #[arg(long)]
    failed: bool,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    ring: RingArgs<{ 1 << 20 }>,
}

pub async fn run(args: SignalsArgs, preflight: Preflight) -> anyhow::Result<i32> {
    let process_layout = ProcessLayout::read(&preflight.tracefs)?;
    let signal_layout = SignalLayout::read()?;
    let named = args.pids.resolve()?;
    let hidden = if args.sigchld { 0 } else { signal_bit(SIGCHLD) };
    let signal_set = signal_selection(&args.signals, hidden);
    let wanted: Vec<i32> = args.signals.iter().filter(|l| !l.negated).flat_map(|l| l.signals.iter().copied()).collect();
    let send_zero = u8::from(wanted.contains(&0));
    let failed_specs = if args.failed { Some(send_specs(&preflight.tracefs)?) } else { None };
    let specs = failed_specs.unwrap_or([SendSpec { nr: -1, sig_arg: 0 }; SEND_SPECS]);
    let signals = SignalProbes::generation(process_layout, signal_layout)
        .only(signal_set)
        .whole(send_zero != 0, failed_specs)
        .with_oom_victims(&preflight.tracefs)?;

    let core = Core::new(named.is_empty()).cgroup_filter(args.cgroups.resolve()?);
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| signals.configure(loader))?;
    for &pid in &named {
        probes.trace_pid(pid, traced::NOW)?;
    }
    signals.attach(&mut probes)?;
    crate::timing::mark("attached");

    let output = args.out.open()?;
    let mut session = Session::new(probes, output)?;
    let mut watcher = Watcher {
        named: named.iter().copied().collect(),
        live: named.iter().copied().filter(|&p| procfs::exists(p)).collect(),
        all_gone: None,
        send_names: specs.iter().zip(SEND_SYSCALLS).map(|(s, n)| (s.nr, n)).collect(),
        send_zero: send_zero != 0,
        signal_set,
        causes: Causes::default(),
        group_exits: HashSet::new(),
        oom: OomKills::new(signals.oom_victims_known()),
    };
    if !named.is_empty() && watcher.live.is_empty() {
        bail!("process {} exited while tracer was attaching", named[0]);
    }
    let mut closed = false;
    closed |= session
        .io
        .out
        .text_only(&format!("{:<15} {:<8} {:<9} {:<24} {:<24} RESULT", "TIME", "EVENT", "SIGNAL", "FROM", "TO"))
        .is_err();
    let left_out = signals_left_out(signal_set);
    session.signals_left_out = Some(left_out.clone());
    closed |= session.ready("signals", &describe(&named, &wanted, &left_out, args.failed)).is_err();
    if !closed {
        session.run(&mut watcher).await?;
        let _ = watcher.release_held(true, &mut session.io);
    }
    session.finish();
    Ok(0)
}

fn describe(named: &[u32], wanted: &[i32], left_out: &[String], failed: bool) -> String {
    let mut text = String::from("tracing ");
    if wanted.is_empty() && left_out.is_empty() {
        text.push_str("signals");
    } else if wanted.is_empty() {
        let hint = if left_out == ["SIGCHLD"] { " (--sigchld shows it)" } else { "" };
        text.push_str(&format!("signals but {}{hint}", left_out.join(", ")));
    } else {
        let names: Vec<String> = wanted
            .iter()
            .filter(|&&n| n == 0 || !left_out.contains(&signal_display(n)))
            .map(|&n| if n == 0 { "0".into() } else { signal_display(n) })
            .collect();
        text.push_str(&names.join(", "));
    }
    if named.is_empty() {
        text.push_str(" of every process");
    } else {
        let who: Vec<String> = named
            .iter()
            .map(|&p| format!("{p} ({})", procfs::comm(p).map_or_else(|| "?".into(), |c| display_name(&c))))
            .collect();
        text.push_str(&format!(" to and from {}", who.join(", ")));
    }
    if failed {
        text.push_str(", and failed sends");
    }
    text
}

/// How long tracing goes on after the last `-p` process ended.
const LINGER: Duration = Duration::from_secs(1);

struct Watcher {
    /// `-p` processes, and those of them still alive: tracing ends when none is.
    named: HashSet<u32>,
    live: HashSet<u32>,
    /// When the last `-p` process was found gone.
    all_gone: Option<Instant>,
    send_names: HashMap<i32, &'static str>,
    send_zero: bool,
    signal_set: u64,
    /// The signals queued for each process, to say at its exit what ended it.
    causes: Causes,
    /// Processes whose fatal delivery was shown: the kernel delivers it once per thread.
    group_exits: HashSet<u32>,
    /// The kernel's SIGKILLs, held until it is known whether the OOM killer sent them.
    oom: OomKills,
}

impl Handler for Watcher {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed> {
        match event {
            Event::Signal(event) if self.oom.hold(event) => Ok(()),
            Event::Signal(event) => self.on_signal(event, false, io),
            Event::OomVictim(victim) => match self.oom.marked(victim.victim_tid) {
                Some(event) => self.on_signal(&event, true, io),
                None => Ok(()),
            },
            Event::SignalDeliver(event) => {
                self.release_held_of(event.header.pid, io)?;
                self.on_deliver(event, io)
            }
            Event::SignalSendFailed(event) => self.on_send_failed(event, io),
            Event::Process(event) if event.what == what::EXIT => {
                self.release_held_of(event.header.pid, io)?;
                self.on_exit(event, io)
            }
            _ => Ok(()),
        }
    }

    fn tick(&mut self, _probes: &Probes, io: &mut Io) -> Result<(), OutputClosed> {
        self.release_held(false, io)?;
        // Named processes that ended unseen (reaped during attach).
        self.live.retain(|&pid| procfs::exists(pid));
        // Processes whose exit was not reported (filtered out, or lost) must not lend their causes to a later
        // process with the same pid.
        if self.causes.tick() {
            self.group_exits.retain(|&pid| procfs::exists(pid));
        }
        if !self.named.is_empty() && self.live.is_empty() && self.all_gone.is_none() {
            self.all_gone = Some(Instant::now());
        }
        Ok(())
    }

    /// With `-p`, a while after the last of those processes ended: what its last signals did to their targets (a
    /// delivery, an exit) comes a little after the sender is gone.
    fn finished(&self) -> bool {
        self.all_gone.is_some_and(|since| since.elapsed() >= LINGER)
    }
}

/// `1234 (nginx)`, or `1234/1240 (worker)` for a thread other than the main one.
fn who(pid: u32, tid: u32, comm: &[u8]) -> String {
    let name = display_name(comm);
    if tid == pid || tid == 0 { format!("{pid} ({name})") } else { format!("{pid}/{tid} ({name})") }
}

/// A line of the text table.
fn line(clock: &Clock, ts_ns: u64, event: &str, signal: &str, from: &str, to: &str, result: &str) -> String {
    let time = timestamp(clock.wall_ns(ts_ns), 2);
    format!("{time:<15} {event:<8} {signal:<9} {from:<24} {to:<24} {result}")
}

impl Watcher {
    /// The held kernel SIGKILLs whose wait for an OOM mark is over (every one when `all`), as the kernel's.
    fn release_held(&mut self, all: bool, io: &mut Io) -> Result<(), OutputClosed> {
        for event in self.oom.due(all) {
            self.on_signal(&event, false, io)?;
        }
        Ok(())
    }

    /// The held kernel SIGKILLs of `pid`, shown before an event of it.
    fn release_held_of(&mut self, pid: u32, io: &mut Io) -> Result<(), OutputClosed> {
        for event in self.oom.before_event_of(pid) {
            self.on_signal(&event, false, io)?;
        }
        Ok(())
    }

    /// `oom`: the OOM killer sent it (its victim's mark came).
    fn on_signal(&mut self, event: &SignalEvent, oom: bool, io: &mut Io) -> Result<(), OutputClosed> {
        let from_process = event.flags & flags::FROM_PROCESS != 0;
        let record = Signal::of(event, &io.clock, from_process);
        let record = if oom { record.by_oom_killer() } else { record };
        let sender = self.causes.on_signal(event, &record);

        let target_comm = c_bytes(&event.target_comm);
        io.out.emit(&record, |r| {
            let code = r.code.as_deref().unwrap_or("?");
            let mut text = signal_result_text(r.result, r.action);
            if let Some(pgid) = r.pgid {
                text.push_str(&format!(" [foreground group {pgid}]"));
            } else if code != "SI_USER" {
                // SI_USER is the plain case; the kernel's siginfo-less sends (SIGPIPE) carry it too.
                text.push_str(&format!(" [{code}]"));
            }
            let to = who(event.target_pid, event.target_tid, target_comm);
            line(&io.clock, event.header.ts_ns, "signal", &r.signal, &sender.text(), &to, &text)
        })
    }

    fn on_deliver(&mut self, event: &SignalDeliverEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let pid = event.header.pid;
        let group_exit = event.flags & flags::GROUP_EXIT != 0;
        if group_exit && !self.group_exits.insert(pid) {
            return Ok(()); // the same end, delivered to another thread
        }
        let record = Delivery::of(event, &io.clock);
        let comm = c_bytes(&event.header.comm);
        io.out.emit(&record, |r| {
            let text = match (r.action, &r.handler) {
                ("handler", Some(address)) => format!("runs handler {address}"),
                ("ignore", _) => "ignored".to_string(),
                ("core", _) => "core dump".to_string(),
                (action, _) => action.to_string(),
            };
            line(&io.clock, event.header.ts_ns, "deliver", &r.signal, "-", &who(pid, event.header.tid, comm), &text)
        })
    }

    fn on_exit(&mut self, event: &ProcessEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let pid = event.header.pid;
        self.live.remove(&pid);
        self.group_exits.remove(&pid);
        let cause = self.causes.at_exit(pid, event.exit_code);
        let cause_name = cause.as_ref().map(|c| signal_display(c.signo));
        let record = Exit { cause: Some(Cause::exit_fields(cause.as_ref(), &io.clock)), ..Exit::of(event, &io.clock) };
        io.out.emit(&record, |r| {
            let text = match (r.code, &cause_name) {
                (Some(code), Some(name)) => format!("exited with {code} after {name}"),
                _ => r.outcome(),
            };
            let from = cause.as_ref().map_or_else(|| "-".to_string(), |c| c.sender.text());
            let shown = r.signal.as_deref().or(cause_name.as_deref()).unwrap_or("-");
            line(
                &io.clock,
                event.header.ts_ns,
                "exit",
                shown,
                &from,
                &who(pid, pid, c_bytes(&event.header.comm)),
                &text,
            )
        })
    }

    fn on_send_failed(&mut self, event: &SignalSendFailedEvent, io: &mut Io) -> Result<(), OutputClosed> {
        let signo = event.signo;
        if signo == 0 && !self.send_zero || signo != 0 && self.signal_set & signal_bit(signo) == 0 {
            return Ok(());
        }
        let syscall = self.send_names.get(&event.nr).copied().unwrap_or("?");
        let target = SendTarget::of(syscall, &event.args, event.header.pid);
        let sender = event.header.pid;
        if !self.named.is_empty()
            && !self.named.contains(&sender)
            && !target.pid.and_then(|p| u32::try_from(p).ok()).is_some_and(|p| self.named.contains(&p))
        {
            return Ok(());
        }
        let signal = if signo == 0 { "0".to_string() } else { signal_display(signo) };
        let (errno_name, errno_text) = errno::describe(i32::try_from(-event.ret).unwrap_or(i32::MAX));
        let target_comm = target.pid.filter(|&p| p > 0).and_then(|p| procfs::comm(p as u32));
        let sender_comm = c_bytes(&event.header.comm);
        let record = Signal {
            ts_ns: io.clock.wall_ns(event.header.ts_ns),
            signal: signal.clone(),
            signo,
            code: None,
            origin: "process",
            reason: None,
            sender_pid: Some(sender),
            sender_start_ns: known_start(event.header.start_ns),
            sender_tid: Some(event.header.tid),
            sender_comm: Text::of_some(Some(sender_comm)),
            sender_uid: Some(event.uid),
            target_pid: target.pid,
            // As `target_comm`: from /proc, when the pid names one process (to the clock tick).
            target_start_ns: target.pid.filter(|&p| p > 0).and_then(|p| procfs::start_ns(p as u32)),
            target_tid: target.tid,
            target_comm: Text::of_some(target_comm.as_deref()),
            group: target.tid.is_none(),
            result: "error",
            action: None,
            handler: None,
            errno: Some(errno_name),
            syscall: Some(syscall),
            context_pid: None,
            context_start_ns: None,
            context_comm: Text::default(),
            tty: None,
            pgid: None,
            siginfo: None,
        };
        io.out.emit(&record, |_| {
            let to = target.text(target_comm.as_deref());
            let text = format!("failed: {errno_name} ({errno_text}) in {syscall}()");
            line(
                &io.clock,
                event.header.ts_ns,
                "signal",
                &signal,
                &who(sender, event.header.tid, sender_comm),
                &to,
                &text,
            )
        })
    }
}

/// Whom a failed send was for, from its arguments.
struct SendTarget {
    /// A process; for kill, its pid argument as given (0: the caller's group, -1: every process, < -1: a group).
    pid: Option<i64>,
    tid: Option<u32>,
    pidfd: Option<i32>,
}

impl SendTarget {
    fn of(syscall: &str, args: &[u64; 4], sender: u32) -> SendTarget {
        let int = |i: usize| args[i] as u32 as i32;
        let tgid_of = |tid: i32| u32::try_from(tid).ok().and_then(procfs::tgid_of).map(i64::from);
        match syscall {
            "kill" | "rt_sigqueueinfo" => SendTarget { pid: Some(i64::from(int(0))), tid: None, pidfd: None },
            "tkill" => SendTarget { pid: tgid_of(int(0)), tid: u32::try_from(int(0)).ok(), pidfd: None },
            "tgkill" | "rt_tgsigqueueinfo" => {
                SendTarget { pid: Some(i64::from(int(0))), tid: u32::try_from(int(1)).ok(), pidfd: None }
            }
            "pidfd_send_signal" => SendTarget { pid: pidfd_target(sender, int(0)), tid: None, pidfd: Some(int(0)) },
            _ => SendTarget { pid: None, tid: None, pidfd: None },
        }
    }

    fn text(&self, comm: Option<&[u8]>) -> String {
        let mut text = match (self.pid, self.tid) {
            (Some(-1), _) => "every process".to_string(),
            (Some(0), _) => "own process group".to_string(),
            (Some(pid), _) if pid < 0 => format!("process group {}", -pid),
            (Some(pid), tid) => match comm {
                Some(comm) => who(pid as u32, tid.unwrap_or(pid as u32), comm),
                None => match tid {
                    Some(tid) if i64::from(tid) != pid => format!("{pid}/{tid}"),
                    _ => pid.to_string(),
                },
            },
            (None, Some(tid)) => format!("thread {tid}"),
            (None, None) => "?".to_string(),
        };
        if let Some(fd) = self.pidfd {
            text = if self.pid.is_some() { format!("{text} (pidfd {fd})") } else { format!("pidfd {fd}") };
        }
        text
    }
}

/// The process a pidfd of `pid` refers to, from /proc/PID/fdinfo (`Pid: -1` once it has exited).
fn pidfd_target(pid: u32, fd: i32) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let target: i64 = text.lines().find_map(|l| l.strip_prefix("Pid:"))?.trim().parse().ok()?;
    (target > 0).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse_pids, parse_ring_size};

    #[test]
    fn parses_options() {
        assert_eq!(parse_pids("12 34"), Ok(vec![12, 34]));
        assert!(parse_pids("0").is_err());
        assert_eq!(parse_signal_list("HUP,KILL").map(|l| l.signals), Ok(vec![1, 9]));
        assert_eq!(parse_signal_list("sigterm,0").map(|l| l.signals), Ok(vec![15, 0]));
        assert!(parse_signal_list("HUP,,KILL").is_err());
        assert!(parse_ring_size("1000").is_err());
        assert_eq!(parse_ring_size("65536"), Ok(65536));
    }

    #[test]
    fn describes_failed_send_targets() {
        let kill = |pid: i64| SendTarget::of("kill", &[pid as u64, 1, 0, 0], 1).text(None);
        assert_eq!(kill(0), "own process group");
        assert_eq!(kill(-1), "every process");
        assert_eq!(kill(-42), "process group 42");
        assert_eq!(kill(999_999_999), "999999999");
        let tgkill = SendTarget::of("tgkill", &[10, 12, 1, 0], 1);
        assert_eq!((tgkill.pid, tgkill.tid), (Some(10), Some(12)));
        assert_eq!(tgkill.text(Some(b"app")), "10/12 (app)");
        assert_eq!(SendTarget::of("pidfd_send_signal", &[987_654, 1, 0, 0], 1).text(None), "pidfd 987654");
    }

    #[test]
    fn names_hostile_processes_safely() {
        assert_eq!(who(5, 5, b"evil\x1b[2J"), "5 (evil\\x1b[2J)");
        assert_eq!(who(5, 6, b"w"), "5/6 (w)");
    }
}
