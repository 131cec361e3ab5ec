//! Who signalled a process, kept until it exits, so that an `exit` says who killed it: `tracer signals`,
//! `tracer monitor` and `tracer procs` fill `Exit.cause` from the generated signals they see. Per process, the last
//! signal of each number queued for it (the one whose number the exit status names killed it), and the last one
//! not ignored by default (the one a process that exited by itself most likely answered).

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use tracer_common::{
    decode::c_bytes,
    signals::{DEFAULT_IGNORED, SIGKILL, SignalEvent, flags, result, signal_bit},
};

use crate::{
    escape::{Text, display_name},
    linux::signals::{signal_display, split_exit_code},
    output::Clock,
    procfs,
    records::{Exit, ExitCause, Signal},
};

/// The `origin` of the OOM killer's SIGKILL.
pub const ORIGIN_OOM: &str = "oom";

/// Who sent a signal.
#[derive(Clone, Debug)]
pub enum Sender {
    Process {
        pid: u32,
        /// Its start time (`EventHeader::start_ns`), None when unknown.
        start_ns: Option<u64>,
        comm: Vec<u8>,
    },
    /// `tty pts/3 (Ctrl-C)`.
    Terminal(String),
    /// The OOM killer's SIGKILL (`OomKills`).
    OomKiller,
    /// The kernel, and why where it can be told (`Signal::reason`).
    Kernel(Option<&'static str>),
}

impl Sender {
    /// The sender of a generated signal, `record` being its `Signal` record.
    pub fn of(event: &SignalEvent, record: &Signal) -> Sender {
        match record.tty_sender() {
            Some(terminal) => Sender::Terminal(terminal),
            None if record.origin == ORIGIN_OOM => Sender::OomKiller,
            None if event.flags & flags::FROM_PROCESS != 0 => Sender::Process {
                pid: event.header.pid,
                start_ns: crate::records::known_start(event.header.start_ns),
                comm: c_bytes(&event.header.comm).to_vec(),
            },
            None => Sender::Kernel(record.reason),
        }
    }

    pub fn origin(&self) -> &'static str {
        match self {
            Sender::Process { .. } => "process",
            Sender::Terminal(_) => "tty",
            Sender::OomKiller => ORIGIN_OOM,
            Sender::Kernel(_) => "kernel",
        }
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Sender::Process { pid, .. } => Some(*pid),
            Sender::Terminal(_) | Sender::OomKiller | Sender::Kernel(_) => None,
        }
    }

    pub fn start_ns(&self) -> Option<u64> {
        match self {
            Sender::Process { start_ns, .. } => *start_ns,
            Sender::Terminal(_) | Sender::OomKiller | Sender::Kernel(_) => None,
        }
    }

    pub fn comm(&self) -> Option<&[u8]> {
        match self {
            Sender::Process { comm, .. } => Some(comm),
            Sender::Terminal(_) | Sender::OomKiller | Sender::Kernel(_) => None,
        }
    }

    /// `1234 (bash)`, `tty pts/3 (Ctrl-C)`, `kernel (OOM kill)`, `kernel (timer)`, `kernel`.
    pub fn text(&self) -> String {
        match self {
            Sender::Process { pid, comm, .. } => format!("{pid} ({})", display_name(comm)),
            Sender::Terminal(text) => text.clone(),
            Sender::OomKiller => "kernel (OOM kill)".into(),
            Sender::Kernel(Some(reason)) => format!("kernel ({reason})"),
            Sender::Kernel(None) => "kernel".into(),
        }
    }
}

/// A signal queued for a process, kept until it exits to say what ended it.
#[derive(Clone, Debug)]
pub struct Cause {
    pub signo: i32,
    pub sender: Sender,
    pub ts_ns: u64,
}

impl Cause {
    /// The fields an `exit` adds (all null when no signal was seen).
    pub fn exit_fields(cause: Option<&Cause>, clock: &Clock) -> ExitCause {
        ExitCause {
            cause: cause.map(|c| signal_display(c.signo)),
            origin: cause.map(|c| c.sender.origin()),
            sender_pid: cause.and_then(|c| c.sender.pid()),
            sender_start_ns: cause.and_then(|c| c.sender.start_ns()),
            sender_comm: Text::of_some(cause.and_then(|c| c.sender.comm())),
            cause_ts_ns: cause.map(|c| clock.wall_ns(c.ts_ns)),
        }
    }
}

/// An exit in text, with the sender of the signal behind it: `killed by SIGKILL from 1234 (bash)`, `exited with 0
/// after SIGTERM from tty pts/3 (Ctrl-C)`; as `Exit::outcome` when no signal was seen.
pub fn exit_text(exit: &Exit, cause: Option<&Cause>) -> String {
    let core = if exit.core_dumped { " (core dumped)" } else { "" };
    match (exit.code, &exit.signal, cause) {
        (None, Some(signal), Some(cause)) => format!("killed by {signal} from {}{core}", cause.sender.text()),
        (Some(code), _, Some(cause)) => {
            format!("exited with {code} after {} from {}", signal_display(cause.signo), cause.sender.text())
        }
        _ => exit.outcome(),
    }
}

/// Signals that tell a process something happened rather than ask it to stop (I/O readiness on an O_ASYNC file,
/// profiling ticks): never taken as the reason a process exited by itself, however late they came (nginx's
/// master gets SIGIO from its workers' channels as they quit, after the SIGQUIT it answered).
const NOTIFICATIONS: u64 = signal_bit(libc::SIGIO) | signal_bit(libc::SIGPROF) | signal_bit(libc::SIGVTALRM);

/// Every this many ticks, forget processes that are gone.
const PRUNE_TICKS: u32 = 50;

/// Causes kept per process, at most: the oldest processes' are dropped beyond this.
const MAX_CAUSES: usize = 1 << 16;

#[derive(Default)]
struct ProcessCauses {
    by_signal: HashMap<i32, Cause>,
    last: Option<Cause>,
    /// Found gone at the last pruning: forgotten at the next one if its exit was not reported by then.
    gone: bool,
}

/// The signals queued for each process, until its exit.
#[derive(Default)]
pub struct Causes {
    by_pid: HashMap<u32, ProcessCauses>,
    /// Ticks since processes gone unseen were last forgotten.
    ticks: u32,
}

impl Causes {
    /// Remembers a generated signal if it was queued for its target; returns its sender.
    pub fn on_signal(&mut self, event: &SignalEvent, record: &Signal) -> Sender {
        let sender = Sender::of(event, record);
        if matches!(event.result, result::DELIVERED | result::LOSE_INFO) {
            let cause = Cause { signo: event.signo, sender: sender.clone(), ts_ns: event.header.ts_ns };
            self.remember(event.target_pid, cause);
        }
        sender
    }

    fn remember(&mut self, pid: u32, cause: Cause) {
        if self.by_pid.len() >= MAX_CAUSES && !self.by_pid.contains_key(&pid) {
            // A machine where that many processes were signalled and never exited: start over rather than grow.
            self.by_pid.clear();
        }
        let entry = self.by_pid.entry(pid).or_default();
        entry.gone = false;
        if signal_bit(cause.signo) & (DEFAULT_IGNORED | NOTIFICATIONS) == 0 {
            entry.last = Some(cause.clone());
        }
        entry.by_signal.insert(cause.signo, cause);
    }

    /// Process `pid` exited with the raw status `exit_code`: the signal that killed it, or the last one sent to it
    /// before it exited by itself; forgets the process.
    pub fn at_exit(&mut self, pid: u32, exit_code: i32) -> Option<Cause> {
        let mut causes = self.by_pid.remove(&pid)?;
        match split_exit_code(exit_code).1 {
            Some(signo) => causes.by_signal.remove(&signo),
            None => causes.last,
        }
    }

    /// Called every tick: now and then, forgets processes whose exit was not reported (filtered out, or lost), lest
    /// they lend their causes to a later process with the same pid. A process is forgotten when found gone twice in
    /// a row: one reaped a moment ago may have its exit still in the ring buffer, behind the signal that killed it.
    /// True when it pruned (a caller with per-process state of its own prunes it then too).
    pub fn tick(&mut self) -> bool {
        self.ticks += 1;
        if self.ticks < PRUNE_TICKS {
            return false;
        }
        self.ticks = 0;
        self.by_pid.retain(|&pid, causes| {
            let was_gone = causes.gone;
            causes.gone = !procfs::exists(pid);
            !(was_gone && causes.gone)
        });
        true
    }
}

/// How long, at least, a kernel SIGKILL is held back waiting for the OOM killer's mark of its target (released
/// at the first tick after).
const OOM_MARK_WAIT: Duration = Duration::from_millis(50);

/// SIGKILLs the kernel sent on its own, held back until it is known whether the OOM killer sent them: it sends
/// SIGKILL, then marks its victim (`oom:mark_victim`), so the mark comes a moment after the signal. A held kill is
/// released as the OOM killer's when the mark of its target comes; as the kernel's when an event of its target
/// comes first (its delivery or exit, never shown before the signal), when `OOM_MARK_WAIT` has passed, or at the
/// end. Without the tracepoint nothing is held: every such SIGKILL is the kernel's, OOM kill or not (unknown).
#[derive(Default)]
pub struct OomKills {
    /// The kernel reports the OOM killer's victims (`SignalProbes::oom_victims_known`).
    known: bool,
    held: VecDeque<(SignalEvent, Instant)>,
}

impl OomKills {
    pub fn new(known: bool) -> OomKills {
        OomKills { known, held: VecDeque::new() }
    }

    /// Holds `event` when it may be the OOM killer's SIGKILL (sent by the kernel itself, `SEND_SIG_PRIV`); false:
    /// it is not, handle it now.
    pub fn hold(&mut self, event: &SignalEvent) -> bool {
        let maybe = self.known
            && event.signo == SIGKILL
            && event.flags & flags::INFO_PRIV != 0
            && event.flags & flags::FROM_PROCESS == 0;
        if maybe {
            self.held.push_back((*event, Instant::now()));
        }
        maybe
    }

    /// The OOM killer marked `victim_tid`: its held SIGKILL, now known to be the OOM killer's.
    pub fn marked(&mut self, victim_tid: u32) -> Option<SignalEvent> {
        let at = self.held.iter().position(|(e, _)| e.target_tid == victim_tid || e.target_pid == victim_tid)?;
        self.held.remove(at).map(|(event, _)| event)
    }

    /// The held kills of process `pid`, to show before an event of it (its delivery, its exit).
    pub fn before_event_of(&mut self, pid: u32) -> Vec<SignalEvent> {
        self.release(|e, _| e.target_pid == pid)
    }

    /// The held kills whose wait is over; every one when `all` (at the end).
    pub fn due(&mut self, all: bool) -> Vec<SignalEvent> {
        self.release(|_, at| all || at.elapsed() >= OOM_MARK_WAIT)
    }

    fn release(&mut self, which: impl Fn(&SignalEvent, Instant) -> bool) -> Vec<SignalEvent> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let (out, kept): (Vec<_>, Vec<_>) = self.held.drain(..).partition(|(e, at)| which(e, *at));
        self.held = kept.into();
        out.into_iter().map(|(event, _)| event).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kill(target: u32, flags: u32) -> SignalEvent {
        SignalEvent { signo: SIGKILL, target_pid: target, target_tid: target + 1, flags, ..Default::default() }
    }

    #[test]
    fn holds_the_kernels_own_sigkills_until_the_mark_or_an_event_of_the_target() {
        let mut kills = OomKills::new(true);
        assert!(!kills.hold(&kill(10, flags::FROM_PROCESS)), "a process's kill is not held");
        assert!(!kills.hold(&SignalEvent { signo: 15, flags: flags::INFO_PRIV, ..Default::default() }));
        assert!(kills.hold(&kill(10, flags::INFO_PRIV)));
        assert!(kills.hold(&kill(20, flags::INFO_PRIV)));
        assert_eq!(kills.marked(11).map(|e| e.target_pid), Some(10), "marked by its thread id");
        assert_eq!(kills.marked(11), None);
        assert!(kills.before_event_of(10).is_empty());
        assert_eq!(kills.before_event_of(20).len(), 1);
        assert!(kills.hold(&kill(30, flags::INFO_PRIV)));
        assert!(kills.due(false).is_empty(), "held for a while");
        assert_eq!(kills.due(true).len(), 1);
        assert!(!OomKills::new(false).hold(&kill(10, flags::INFO_PRIV)), "nothing held without the tracepoint");
    }
}
