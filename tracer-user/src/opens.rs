//! `tracer opens`: who has this file open now, and who opens it from here on?
//!
//! A snapshot of the processes holding the watched paths (as `lsof PATH` lists them), then every open, openat,
//! openat2, creat and open_by_handle_at whose target is watched, live, from any process (or from `-p` ones).
//! Only wiring lives here: the probes, matching and rendering are the files family's (`crate::probes::files`),
//! which `tracer monitor --watch` composes too.

use std::{collections::HashSet, path::PathBuf};

use tracer_common::event::traced;

use crate::{
    bpf::{Core, Preflight, Probes},
    cli::{CgroupArgs, OutputArgs, PidArgs, RingArgs},
    probes::{
        Family as _,
        files::{OpenProbes, report_deleted},
    },
    session::Session,
};

/// Who has these files open now, and every open of them from now on (every open on the machine without a path).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  tracer opens /etc/passwd\n  tracer opens /etc/ /var/log/syslog\n  \
                        tracer opens -p \"$(pidof nginx)\"   (lsof -p's table, then every open)\n  \
                        tracer opens --deleted   (files held open with no name left, as lsof +L1)\n  tracer opens --failed --json -o opens.jsonl",
    mut_arg("pids", |a| a.help("Only opens by this process (repeatable; a comma or space separated list as pidof prints)")))]
pub struct OpensArgs {
    /// Files or directories to watch (a directory matches every file below it). A file that does not exist yet
    /// can be watched. Without a path: every open.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    pids: PidArgs,
    /// Only failed opens.
    #[arg(short = 'x', long)]
    failed: bool,
    /// No snapshot of the processes holding the paths (with -p and no path: of everything the processes hold, as
    /// `lsof -p` lists it) now: live opens only.
    #[arg(long)]
    no_snapshot: bool,
    /// List the files held open with no name left (deleted, as `lsof +L1` lists them) by every process (or the
    /// -p ones), then exit.
    #[arg(long, conflicts_with_all = ["paths", "failed", "no_snapshot"])]
    deleted: bool,
    #[command(flatten)]
    cgroups: CgroupArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    ring: RingArgs<{ 4 << 20 }>,
}

pub async fn run(args: OpensArgs, preflight: Preflight) -> anyhow::Result<i32> {
    let pids: HashSet<u32> = args.pids.resolve()?.into_iter().collect();
    let cgroup_filter = args.cgroups.resolve()?;
    if args.deleted {
        let mut output = args.out.open()?;
        if report_deleted((!pids.is_empty()).then_some(&pids), cgroup_filter.as_ref(), &mut output).is_ok() {
            let _ = output.flush_final();
        }
        return Ok(0);
    }
    let opens = OpenProbes::new(&preflight.tracefs, &args.paths, args.failed)?;

    let core = Core::new(pids.is_empty()).cgroup_filter(cgroup_filter.clone());
    let mut probes = Probes::load(&core, args.ring.buffer_size, |loader| opens.configure(loader))?;
    for &pid in &pids {
        probes.trace_pid(pid, traced::NOW)?;
    }
    opens.attach(&mut probes)?;
    let mut handler = opens.handler(pids)?.with_snapshot_filter(cgroup_filter);
    crate::timing::mark("attached");

    let output = args.out.open()?;
    let mut session = Session::new(probes, output)?;

    let mut closed = !args.no_snapshot && handler.report_holders(&mut session.io).is_err();
    closed = closed || handler.header(&mut session.io).is_err();
    closed = closed || session.ready("opens", &handler.describe(args.failed)).is_err();
    if !closed {
        session.run(&mut handler).await?;
    }
    session.finish();
    Ok(0)
}
