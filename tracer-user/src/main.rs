//! tracer: answers an operator's questions about a live Linux system with eBPF tracepoints.

mod bpf;
mod btf;
mod drain;
mod escape;
mod output;
mod procfs;
mod session;
mod signames;
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
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Syscalls(_) => "syscalls",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Syscalls(args) = &cli.command;
    if let Err(msg) = args.validate() {
        use clap::CommandFactory as _;
        let mut cmd = Cli::command();
        let sub = cmd.find_subcommand_mut("syscalls").expect("subcommand exists");
        sub.error(clap::error::ErrorKind::MissingRequiredArgument, msg).exit();
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
    let Command::Syscalls(args) = command;
    // Fork the command while the process is still single-threaded.
    let spawned = args.spawn()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(syscalls::run(args, preflight, spawned))
}
