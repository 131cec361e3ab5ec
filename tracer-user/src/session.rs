//! The loop every command runs once its probes are attached: drain the ring buffer as records arrive, decode
//! them, hand them to the command's handler; every tick collect the tail of a burst and report lost events;
//! stop on Ctrl-C, SIGTERM or SIGHUP, when the output's reader goes away (EPIPE; other write errors only drop
//! records, see output.rs), or when the handler has nothing left to watch.

use std::time::Duration;

use anyhow::Context as _;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracer_common::{
    decode::{Event, SyscallRecord, decode_into},
    event::lost,
};

use crate::{
    bpf::Probes,
    cgroups::{Hierarchy, Origins},
    drain::EventReader,
    output::{Clock, Output, OutputClosed},
    records::{Lost, Ready},
};

/// Where events go, and the clock that stamps them: what a handler needs to print.
pub struct Io {
    pub out: Output,
    pub clock: Clock,
    /// Every record's cgroup, container and namespace pid (`Output::set_origin`, set by `dispatch` per event).
    pub origins: Origins,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stop {
    Running,
    /// The handler has nothing left to watch (every traced process exited).
    Finished,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Signalled,
    /// The reader of the output went away.
    OutputClosed,
}

pub trait Handler {
    fn event(&mut self, event: &Event, io: &mut Io) -> Result<(), OutputClosed>;

    /// Called every tick, after the buffer was drained.
    fn tick(&mut self, _probes: &Probes, _io: &mut Io) -> Result<(), OutputClosed> {
        Ok(())
    }

    fn finished(&self) -> bool {
        false
    }

    /// SIGHUP when the session was told to pass it on (`Session::hangup_reopens`): reopen the output.
    fn hangup(&mut self, _io: &mut Io) -> Result<(), OutputClosed> {
        Ok(())
    }
}

const TICK: Duration = Duration::from_millis(100);

pub struct Session {
    pub probes: Probes,
    events: EventReader,
    pub io: Io,
    lost_seen: [u64; lost::SLOTS as usize],
    pub lost_total: u64,
    decode_errors: u64,
    /// The event being handled, kept from one record to the next (`decode_into`): a syscall record is written over
    /// the last one, copied once from the ring, its capture buffers' allocations kept.
    event: Event,
    /// SIGHUP goes to `Handler::hangup` (a daemon reopening its log) instead of stopping the session.
    pub hangup_reopens: bool,
    /// Signals the command leaves out of what it reports, said by the `ready` object (`Ready::signals_left_out`).
    pub signals_left_out: Option<Vec<String>>,
    /// Why `run` ended; a closed output ends tracer quietly.
    stopped: Stop,
    /// Handled from `new` on, not from `run`: a script that sends SIGINT as soon as it reads the ready line must
    /// find it handled (a clean stop), not still at its default action (killed).
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Session {
    pub fn new(mut probes: Probes, out: Output) -> anyhow::Result<Session> {
        let events = probes.events()?;
        // Before `ready`: a SIGINT sent as soon as it is seen must stop tracer cleanly, not kill it. Installing a
        // handler also replaces an inherited SIG_IGN (`nohup`, a shell's `&` job).
        let (interrupt, terminate, hangup) =
            (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?, signal(SignalKind::hangup())?);
        unblock_stop_signals()?;
        crate::bpf::release_start_up_memory();
        Ok(Session {
            probes,
            events,
            io: Io { out, clock: Clock::new(), origins: Origins::new(Hierarchy::detect()) },
            lost_seen: [0; lost::SLOTS as usize],
            lost_total: 0,
            decode_errors: 0,
            event: Event::Syscall(SyscallRecord::default()),
            hangup_reopens: false,
            signals_left_out: None,
            stopped: Stop::Running,
            interrupt,
            terminate,
            hangup,
        })
    }

    /// Says that every probe is attached (`what`: what is traced, for the text line).
    pub fn ready(&mut self, command: &str, what: &str) -> Result<(), OutputClosed> {
        crate::timing::mark("ready");
        self.io.out.emit_status(&Ready { command, signals_left_out: self.signals_left_out.as_deref() }, |_| {
            format!("{what}; ready")
        })
    }

    pub async fn run(&mut self, handler: &mut impl Handler) -> anyhow::Result<Stop> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut stop = if handler.finished() { Stop::Finished } else { Stop::Running };

        while stop == Stop::Running {
            let Session { events, io, decode_errors, event, interrupt, terminate, hangup, .. } = self;
            tokio::select! {
                batch = events.next_batch(|bytes| dispatch(bytes, event, handler, io, decode_errors, &mut stop)) => {
                    batch.context("reading the ring buffer")?;
                    if self.io.out.end_batch().is_err() {
                        stop = Stop::OutputClosed;
                    }
                }
                _ = tick.tick() => {
                    // Under load the kernel batches wakeups; the tail of a burst is collected here.
                    events.drain_now(|bytes| dispatch(bytes, event, handler, io, decode_errors, &mut stop));
                    if let Err(err) = self.probes.refresh_cgroup_filter() {
                        eprintln!("tracer: warning: a cgroup made below the filtered one is not followed: {err:#}");
                    }
                    if self.report_lost().is_err()
                        || handler.tick(&self.probes, &mut self.io).is_err()
                        || self.io.out.flush().is_err()
                    {
                        stop = Stop::OutputClosed;
                    }
                }
                _ = interrupt.recv() => stop = Stop::Signalled,
                _ = terminate.recv() => stop = Stop::Signalled,
                _ = hangup.recv() => {
                    if !self.hangup_reopens {
                        stop = Stop::Signalled;
                    } else if handler.hangup(&mut self.io).is_err() {
                        stop = Stop::OutputClosed;
                    }
                }
            }
            if stop == Stop::Running && handler.finished() {
                stop = Stop::Finished;
            }
        }
        if stop != Stop::OutputClosed {
            // What the kernel wrote before we stopped still belongs to the trace.
            let Session { events, io, decode_errors, event, .. } = self;
            let mut ignored = Stop::Running;
            events.drain_now(|bytes| dispatch(bytes, event, handler, io, decode_errors, &mut ignored));
            let _ = self.report_lost();
        }
        self.stopped = stop;
        Ok(stop)
    }

    /// Reports records the kernel could not hand over since the last report, per probe family.
    fn report_lost(&mut self) -> Result<(), OutputClosed> {
        let Ok(counts) = self.probes.lost_counts() else { return Ok(()) };
        for (slot, &count) in counts.iter().enumerate() {
            let new = count.saturating_sub(self.lost_seen[slot]);
            if new == 0 {
                continue;
            }
            self.lost_seen[slot] = count;
            self.lost_total += new;
            let probe = lost::probe_name(slot as u32);
            self.io.out.emit(&Lost { probe, count: new, reason: None }, |_| {
                format!("--- lost {new} events ({probe}): the ring buffer was full ---")
            })?;
        }
        Ok(())
    }

    /// Flushes the output and says on stderr what could not be shown.
    pub fn finish(mut self) {
        if self.stopped == Stop::OutputClosed {
            return; // the reader went away (`| head`): nothing to say, and nowhere useful to say it
        }
        let _ = self.io.out.flush_final();
        if self.lost_total > 0 {
            eprintln!(
                "tracer: {} events were lost (the ring buffer was full); a larger --buffer-size keeps more",
                self.lost_total
            );
        }
        if self.decode_errors > 0 {
            eprintln!("tracer: {} records could not be decoded", self.decode_errors);
        }
        if self.io.out.dropped > 0 {
            eprintln!("tracer: {} records could not be written to the output (write errors)", self.io.out.dropped);
        }
    }
}

/// A blocked signal stays pending, its handler never runs: a parent that spawned tracer with SIGINT, SIGTERM or
/// SIGHUP blocked (the mask is inherited across exec) would have it ignore them until SIGKILL. The runtime is
/// single-threaded: this thread's mask is the one that counts.
fn unblock_stop_signals() -> anyhow::Result<()> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal as Sig, pthread_sigmask};
    let mut set = SigSet::empty();
    for sig in [Sig::SIGINT, Sig::SIGTERM, Sig::SIGHUP] {
        set.add(sig);
    }
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None).context("unblocking SIGINT, SIGTERM and SIGHUP")
}

fn dispatch(
    bytes: &[u8],
    event: &mut Event,
    handler: &mut impl Handler,
    io: &mut Io,
    decode_errors: &mut u64,
    stop: &mut Stop,
) {
    match decode_into(bytes, event) {
        Ok(()) => {
            let header = event.header();
            io.out.use_event_origin(&mut io.origins, header.cgroup_id, header.ns_pid);
            if handler.event(event, io).is_err() {
                *stop = Stop::OutputClosed;
            }
            io.out.set_origin(None);
        }
        Err(err) => {
            *decode_errors += 1;
            if *decode_errors == 1 {
                eprintln!("tracer: undecodable record: {err}");
            }
        }
    }
}
