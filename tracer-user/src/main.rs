//! tracer: answers an operator's questions about a live Linux system with eBPF tracepoints.

mod binds;
mod bpf;
mod btf;
mod causes;
mod cgroups;
mod cli;
mod conns;
mod containers;
mod docs;
mod drain;
mod escape;
mod linux;
mod monitor;
mod opens;
mod output;
mod probes;
mod procfs;
mod procs;
mod records;
mod session;
mod signals;
mod sockdiag;
mod spawn;
mod syscalls;
mod timing;
mod tracefs;
mod verifier_stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "tracer", version, about, propagate_version = true, after_help = cli::EXIT_STATUS_HELP)]
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
    Conns(conns::ConnsArgs),
    Procs(procs::ProcsArgs),
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Syscalls(_) => "syscalls",
            Command::Binds(_) => "binds",
            Command::Opens(_) => "opens",
            Command::Signals(_) => "signals",
            Command::Monitor(_) => "monitor",
            Command::Conns(_) => "conns",
            Command::Procs(_) => "procs",
        }
    }

    /// What clap cannot check while parsing; a usage error, reported by clap, otherwise. `monitor --config FILE`
    /// fills in here what the command line did not give.
    fn complete(&mut self, matches: &clap::ArgMatches) -> Result<(), (clap::error::ErrorKind, String)> {
        use clap::error::ErrorKind;
        match self {
            Command::Syscalls(args) => args.validate().map_err(|msg| (ErrorKind::MissingRequiredArgument, msg)),
            Command::Binds(args) => args.validate().map_err(|msg| (ErrorKind::ValueValidation, msg)),
            Command::Monitor(args) => {
                let sub = matches.subcommand_matches("monitor").expect("the monitor subcommand matched");
                monitor::apply_config(args, sub).map_err(|err| (ErrorKind::ValueValidation, chain(&err)))
            }
            Command::Opens(_) | Command::Signals(_) | Command::Conns(_) | Command::Procs(_) => Ok(()),
        }
    }
}

/// Exit status (`tracer --help` lists it): 0 for a clean stop, 1 for a runtime failure, 2 for a usage error
/// (clap's, those of [`Command::complete`], and a [`cli::UsageError`] found at run time); `syscalls -- CMD`
/// passes CMD's on.
fn main() -> ExitCode {
    timing::start();
    use clap::FromArgMatches as _;
    let mut argv = std::env::args_os().skip(1);
    if argv.next().is_some_and(|a| a == docs::GENERATE_ARG) {
        // `tracer __generate-docs DIR` (cargo xtask dist): not a command, so neither in --help nor completed.
        let (Some(dir), None) = (argv.next(), argv.next()) else {
            eprintln!("tracer: usage: tracer {} DIR", docs::GENERATE_ARG);
            return ExitCode::from(2);
        };
        return match docs::generate(command(), std::path::Path::new(&dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("tracer: {}", chain(&err));
                ExitCode::from(1)
            }
        };
    }
    let matches = command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Err((kind, msg)) = cli.command.complete(&matches) {
        cli::usage_error(command(), cli.command.name(), kind, msg);
    }
    match run(cli.command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("tracer: {}", chain(&err));
            let usage = err.chain().any(|e| e.is::<cli::UsageError>());
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// tracer's command line as `--help`, the man pages and the completions show it.
fn command() -> clap::Command {
    use clap::CommandFactory as _;
    docs::with_readme_examples(Cli::command())
}

/// "what failed: why: root cause" on one line.
fn chain(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

fn run(command: Command) -> anyhow::Result<i32> {
    let name = command.name();
    // Privileges and tracefs first: nothing else is worth doing without them.
    let preflight = bpf::preflight(name)?;
    timing::mark("preflight");
    // Fork the command of `syscalls -- CMD` before the runtime: its child makes only raw syscalls until exec
    // (aya's loader thread may already run; see spawn.rs).
    let spawned = match &command {
        Command::Syscalls(args) => args.spawn()?,
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Syscalls(args) => syscalls::run(args, preflight, spawned).await,
            Command::Binds(args) => binds::run(args, preflight).await,
            Command::Opens(args) => opens::run(args, preflight).await,
            Command::Signals(args) => signals::run(args, preflight).await,
            Command::Monitor(args) => monitor::run(args, preflight).await,
            Command::Conns(args) => conns::run(args, preflight).await,
            Command::Procs(args) => procs::run(args, preflight).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
        let help = command().render_long_help().to_string();
        assert!(help.contains("Exit status:"), "{help}");
    }

    /// Every command's `--help` and man page carry the README's examples of that command.
    #[test]
    fn every_command_has_the_readme_examples() {
        let mut cmd = command();
        let names: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_string()).collect();
        assert_eq!(names.len(), 7, "{names:?}");
        for name in names {
            let (_, block) = docs::README_EXAMPLES
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("the README has no ```sh block under ### `tracer {name}`"));
            let sub = cmd.find_subcommand_mut(&name).expect("listed above");
            let help = sub.render_long_help().to_string();
            for line in block.lines() {
                assert!(help.contains(line), "`tracer {name} --help` lacks the README's example {line:?}:\n{help}");
            }
        }
    }
}
