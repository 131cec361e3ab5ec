//! The signal family (tracer-ebpf/src/signals.rs): signals generated, delivered, the exits they cause, and failed
//! sends. `tracer signals` composes all of it; `tracer syscalls`, `tracer monitor` and `tracer procs` only the
//! generation hook. Its layout: the task, sighand, signal and siginfo offsets (BTF), the send syscalls' argument
//! slots (format files), and the process family's task offsets, which its programs share.

use std::{path::Path, str::FromStr as _};

use anyhow::{Context as _, bail};
use aya::EbpfLoader;
use tracer_common::signals::{SEND_SPECS, SendSpec};

use crate::{
    bpf::{KernelGlobals, Probes, btf_offset, btf_sized_offset},
    btf::kernel_btf,
    probes::{Family, process::ProcessLayout},
    tracefs,
};

/// The syscalls whose failures `--failed` reports, in `SEND_SPECS_TABLE` order.
pub const SEND_SYSCALLS: [&str; SEND_SPECS] =
    ["kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"];

/// Kernel struct offsets the signal probes read, from BTF.
#[derive(Clone)]
pub struct SignalLayout {
    globals: KernelGlobals,
}

impl SignalLayout {
    pub fn read() -> anyhow::Result<SignalLayout> {
        let btf = &*kernel_btf()?;
        let offset = |ty: &str, member: &str| btf_offset(btf, ty, member);
        let sa = offset("k_sigaction", "sa")?;
        let globals = vec![
            ("TASK_COMM_OFFSET", offset("task_struct", "comm")?),
            ("TASK_BLOCKED_OFFSET", offset("task_struct", "blocked")?),
            ("TASK_SIGHAND_OFFSET", offset("task_struct", "sighand")?),
            ("TASK_SIGNAL_OFFSET", offset("task_struct", "signal")?),
            ("SIGHAND_ACTION_OFFSET", offset("sighand_struct", "action")?),
            ("K_SIGACTION_SIZE", btf.struct_size("k_sigaction").context("BTF: sizeof(struct k_sigaction)")?),
            ("SA_HANDLER_OFFSET", sa + offset("sigaction", "sa_handler")?),
            ("SA_FLAGS_OFFSET", sa + offset("sigaction", "sa_flags")?),
            ("SIGNAL_NR_THREADS_OFFSET", offset("signal_struct", "nr_threads")?),
            ("SIGNAL_GROUP_EXIT_CODE_OFFSET", offset("signal_struct", "group_exit_code")?),
            ("SIGINFO_ERRNO_OFFSET", offset("kernel_siginfo", "si_errno")?),
            ("SIGINFO_CODE_OFFSET", offset("kernel_siginfo", "si_code")?),
            ("SIGINFO_FIELDS_OFFSET", offset("kernel_siginfo", "_sifields")?),
            ("SIGNAL_FLAGS_OFFSET", btf_sized_offset(btf, "signal_struct", "flags", 4)?),
            ("SIGNAL_TTY_OFFSET", offset("signal_struct", "tty")?),
            // pids[PIDTYPE_PGID]: PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID (include/linux/pid.h, since 4.19).
            ("SIGNAL_PGID_OFFSET", offset("signal_struct", "pids")? + 2 * 8),
            ("TTY_PGRP_OFFSET", tty_pgrp_offset(btf)?),
            ("TTY_NAME_OFFSET", offset("tty_struct", "name")?),
            ("PID_NR_OFFSET", offset("pid", "numbers")? + offset("upid", "nr")?),
        ];
        Ok(SignalLayout { globals: KernelGlobals::new(globals) })
    }
}

/// `tty_struct.pgrp`, the foreground process group: inside `tty_struct.ctrl` since Linux 5.17.
fn tty_pgrp_offset(btf: &crate::btf::Btf) -> anyhow::Result<u32> {
    btf.member_offset("tty_struct", "pgrp")
        .or_else(|_| btf.member_path_offset("tty_struct", "ctrl.pgrp"))
        .context("BTF: tty_struct.pgrp (or ctrl.pgrp)")
}

/// Each send syscall's number and which argument is the signal, from its `sys_enter_*` format. The program copies
/// four argument slots from offset 16, the layout of every syscall record: checked here.
pub fn send_specs(tracefs_root: &Path) -> anyhow::Result<[SendSpec; SEND_SPECS]> {
    let mut specs = [SendSpec { nr: -1, sig_arg: 0 }; SEND_SPECS];
    for (spec, name) in specs.iter_mut().zip(SEND_SYSCALLS) {
        let sysno = ::syscalls::Sysno::from_str(name).map_err(|_| anyhow::anyhow!("unknown syscall {name}"))?;
        let format = tracefs::read_format(tracefs_root, "syscalls", &format!("sys_enter_{name}"))?;
        let args: Vec<&tracefs::Field> =
            format.fields.iter().skip_while(|f| f.name != "__syscall_nr").skip(1).collect();
        let index = args
            .iter()
            .position(|f| f.name == "sig")
            .with_context(|| format!("syscalls:sys_enter_{name} has no `sig` argument"))?;
        if index >= 4 || args[index].offset as usize != 16 + 8 * index {
            bail!("syscalls:sys_enter_{name} has an unexpected layout (`sig` at offset {})", args[index].offset);
        }
        *spec = SendSpec { nr: sysno.id(), sig_arg: index as u32 };
    }
    Ok(specs)
}

/// What `tracer signals` asks of the probes beyond generation: the whole story of each signal.
struct Command {
    send_zero: u8,
    /// The send syscalls' specs (`SEND_SPECS_TABLE`; unused, `nr` -1, without `sends`).
    specs: [SendSpec; SEND_SPECS],
    /// `--failed`: the send syscalls are hooked.
    sends: bool,
}

/// The signal probes.
pub struct SignalProbes {
    process: ProcessLayout,
    layout: SignalLayout,
    /// `None`: the kernel's default, every signal.
    signal_set: Option<u64>,
    command: Option<Command>,
    /// `oom:mark_victim`'s `pid` offset, when asked for (`with_oom_victims`) and the kernel has the tracepoint.
    oom_victim_pid_offset: Option<u32>,
    /// The delivery hook too, without `tracer signals`' other hooks (`with_deliveries`).
    deliveries: bool,
}

/// `SIGNALS_COMMAND`'s value for `tracer signals`.
static SIGNALS_COMMAND: u8 = 1;

impl SignalProbes {
    /// The generation hook alone (the signal behind a syscall's interruption, a monitor's signal lines), for
    /// every signal.
    pub fn generation(process: ProcessLayout, layout: SignalLayout) -> SignalProbes {
        SignalProbes {
            process,
            layout,
            signal_set: None,
            command: None,
            oom_victim_pid_offset: None,
            deliveries: false,
        }
    }

    /// Also a thread taking a signal (`Event::SignalDeliver`): when strace shows it, with the siginfo as the
    /// target takes it.
    pub fn with_deliveries(mut self) -> SignalProbes {
        self.deliveries = true;
        self
    }

    /// Also the OOM killer's victims (`oom:mark_victim`), to tell its SIGKILLs from the kernel's others: where the
    /// kernel has the tracepoint (probed in tracefs; `oom_victims_known` says whether it had).
    pub fn with_oom_victims(mut self, tracefs_root: &Path) -> anyhow::Result<SignalProbes> {
        self.oom_victim_pid_offset = match tracefs::read_format(tracefs_root, "oom", "mark_victim") {
            Ok(format) => Some(format.offset_of("pid")?),
            Err(tracefs::TracefsError::NoSuchEvent { .. }) => {
                eprintln!(
                    "tracer: this kernel has no oom:mark_victim tracepoint: a SIGKILL from the OOM killer is shown as \
                     the kernel's (whether the OOM killer sent it is unknown)"
                );
                None
            }
            Err(err) => return Err(err.into()),
        };
        Ok(self)
    }

    /// Whether the OOM killer's victims are reported (`Event::OomVictim`).
    pub fn oom_victims_known(&self) -> bool {
        self.oom_victim_pid_offset.is_some()
    }

    /// Only the signals in `set` (`signal_bit`s).
    pub fn only(mut self, set: u64) -> SignalProbes {
        self.signal_set = Some(set);
        self
    }

    /// Everything `tracer signals` follows: exits and deliveries, then generation; with `specs` (`--failed`),
    /// the send syscalls' failures. `send_zero`: failed `kill -0` probes too.
    pub fn whole(mut self, send_zero: bool, specs: Option<[SendSpec; SEND_SPECS]>) -> SignalProbes {
        self.command = Some(Command {
            send_zero: u8::from(send_zero),
            sends: specs.is_some(),
            specs: specs.unwrap_or([SendSpec { nr: -1, sig_arg: 0 }; SEND_SPECS]),
        });
        self
    }
}

impl Family for SignalProbes {
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.process.apply(loader);
        self.layout.globals.apply(loader);
        if let Some(command) = &self.command {
            loader
                .override_global("SIGNALS_COMMAND", &SIGNALS_COMMAND, true)
                .override_global("SEND_SIGNAL_ZERO", &command.send_zero, true)
                .override_global("SEND_SPECS_TABLE", &command.specs, true);
        }
        if let Some(set) = &self.signal_set {
            loader.override_global("SIGNAL_SET", set, true);
        }
        if let Some(offset) = &self.oom_victim_pid_offset {
            loader.override_global("OOM_VICTIM_PID_OFFSET", offset, true);
        }
    }

    /// Exits and deliveries before generation, so that no signal reported is missing what became of it; the
    /// send syscalls last, each exit after its enter.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        // Before generation: a victim's mark is never missing behind a SIGKILL reported.
        if self.oom_victim_pid_offset.is_some() {
            probes.attach_tracepoint("signal_oom_victim", "oom", "mark_victim")?;
        }
        let Some(command) = &self.command else {
            if self.deliveries {
                probes.attach_raw_tracepoint("signal_deliver", "signal_deliver")?;
            }
            return probes.attach_raw_tracepoint("signal_generate", "signal_generate");
        };
        probes.attach_tracepoint("signal_exit", "sched", "sched_process_exit")?;
        probes.attach_raw_tracepoint("signal_deliver", "signal_deliver")?;
        probes.attach_raw_tracepoint("signal_generate", "signal_generate")?;
        if command.sends {
            for name in SEND_SYSCALLS {
                probes.attach_tracepoint("signal_send_enter", "syscalls", &format!("sys_enter_{name}"))?;
                probes.attach_tracepoint("signal_send_exit", "syscalls", &format!("sys_exit_{name}"))?;
            }
        }
        Ok(())
    }
}
