//! Who signalled a process, kept until it exits, so that an `exit` says who killed it: `tracer signals`,
//! `tracer monitor` and `tracer procs` fill `Exit.cause` from the generated signals they see. Per process, the last
//! signal of each number queued for it (the one whose number the exit status names killed it), and the last one
//! not ignored by default (the one a process that exited by itself most likely answered).

use std::collections::HashMap;

use tracer_common::{
    decode::c_bytes,
    signals::{DEFAULT_IGNORED, SignalEvent, flags, result, signal_bit},
};

use crate::{
    escape::{Text, display_name},
    linux::signals::{signal_display, split_exit_code},
    output::Clock,
    procfs,
    records::{Exit, ExitCause, Signal},
};

/// Who sent a signal.
#[derive(Clone, Debug)]
pub enum Sender {
    Process {
        pid: u32,
        comm: Vec<u8>,
    },
    /// `tty pts/3 (Ctrl-C)`.
    Terminal(String),
    Kernel,
}

impl Sender {
    /// The sender of a generated signal, `record` being its `Signal` record.
    pub fn of(event: &SignalEvent, record: &Signal) -> Sender {
        match record.tty_sender() {
            Some(terminal) => Sender::Terminal(terminal),
            None if event.flags & flags::FROM_PROCESS != 0 => {
                Sender::Process { pid: event.header.pid, comm: c_bytes(&event.header.comm).to_vec() }
            }
            None => Sender::Kernel,
        }
    }

    pub fn origin(&self) -> &'static str {
        match self {
            Sender::Process { .. } => "process",
            Sender::Terminal(_) => "tty",
            Sender::Kernel => "kernel",
        }
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Sender::Process { pid, .. } => Some(*pid),
            Sender::Terminal(_) | Sender::Kernel => None,
        }
    }

    pub fn comm(&self) -> Option<&[u8]> {
        match self {
            Sender::Process { comm, .. } => Some(comm),
            Sender::Terminal(_) | Sender::Kernel => None,
        }
    }

    /// `1234 (bash)`, `tty pts/3 (Ctrl-C)`, `kernel`.
    pub fn text(&self) -> String {
        match self {
            Sender::Process { pid, comm } => format!("{pid} ({})", display_name(comm)),
            Sender::Terminal(text) => text.clone(),
            Sender::Kernel => "kernel".into(),
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
        if signal_bit(cause.signo) & DEFAULT_IGNORED == 0 {
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
