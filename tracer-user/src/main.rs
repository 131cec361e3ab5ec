//! tracer: answers an operator's questions about a live Linux system with eBPF tracepoints.

mod binds;
mod bpf;
mod btf;
mod cli;
mod drain;
mod escape;
mod linux;
mod monitor;
mod opens;
mod output;
mod procfs;
mod session;
mod signals;
mod spawn;
mod syscalls;
mod tracefs;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "tracer", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Syscalls(syscalls::SyscallsArgs),
    Binds(binds::BindsArgs),
    Opens(opens::OpensArgs),
    Signals(signals::SignalsArgs),
    Monitor(monitor::MonitorArgs),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Syscalls(_) => "syscalls",
            Command::Binds(_) => "binds",
            Command::Opens(_) => "opens",
            Command::Signals(_) => "signals",
            Command::Monitor(_) => "monitor",
        }
    }
}

fn main() -> ExitCode {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `monitor --config FILE`: the file fills in what the command line did not give.
    if let Command::Monitor(args) = &mut cli.command
        && let Some(("monitor", sub)) = matches.subcommand()
        && let Err(err) = monitor::apply_config(args, sub)
    {
        eprintln!("tracer: {}", chain(&err));
        return ExitCode::from(2);
    }
    if let Command::Syscalls(args) = &cli.command
        && let Err(msg) = args.validate()
    {
        use clap::CommandFactory as _;
        let mut cmd = Cli::command();
        let sub = cmd.find_subcommand_mut("syscalls").expect("subcommand exists");
        sub.error(clap::error::ErrorKind::MissingRequiredArgument, msg).exit();
    }
    if let Command::Binds(args) = &cli.command
        && let Err(msg) = args.validate()
    {
        use clap::CommandFactory as _;
        let mut cmd = Cli::command();
        cmd.build();
        let sub = cmd.find_subcommand_mut("binds").expect("subcommand exists");
        sub.error(clap::error::ErrorKind::ValueValidation, msg).exit();
    }
    match run(cli.command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("tracer: {}", chain(&err));
            ExitCode::from(1)
        }
    }
}

/// "what failed: why: root cause" on one line.
fn chain(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

fn run(command: Command) -> anyhow::Result<i32> {
    let name = command.name();
    // Privileges and tracefs first: nothing else is worth doing without them.
    let preflight = bpf::preflight(name)?;
    match command {
        Command::Syscalls(args) => {
            // Fork the command while the process is still single-threaded.
            let spawned = args.spawn()?;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(syscalls::run(args, preflight, spawned))
        }
        Command::Binds(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(binds::run(args, preflight))
        }
        Command::Opens(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(opens::run(args, preflight))
        }
        Command::Signals(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(signals::run(args, preflight))
        }
        Command::Monitor(args) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(monitor::run(args, preflight))
        }
    }
}
