//! Man pages and shell completions, generated from the clap definitions (`tracer __generate-docs DIR`, run by
//! `cargo xtask dist`), and each command's examples from the README in its `--help` and man page.

use std::path::Path;

use anyhow::Context as _;
use clap_complete::Shell;

include!(concat!(env!("OUT_DIR"), "/readme_examples.rs"));

/// The hidden first argument that makes `tracer` write its documentation instead of tracing.
pub const GENERATE_ARG: &str = "__generate-docs";

/// `cmd` with each command's README examples as its long after-help (`--help`, and the man page's EXAMPLES
/// section); `-h` keeps its short list.
pub fn with_readme_examples(mut cmd: clap::Command) -> clap::Command {
    for (name, block) in README_EXAMPLES {
        if cmd.find_subcommand(name).is_some() {
            let text = block.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n");
            cmd = cmd.mut_subcommand(name, |sub| sub.after_long_help(format!("Examples:\n{text}")));
        }
    }
    cmd
}

/// Writes `DIR/man/tracer.1` and `DIR/man/tracer-COMMAND.1` for every command, and `DIR/completions/` for bash
/// (`tracer.bash`), zsh (`_tracer`) and fish (`tracer.fish`).
pub fn generate(cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    clap_mangen::generate_to(cmd.clone(), &man).with_context(|| format!("writing man pages to {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "tracer", &completions)
            .with_context(|| format!("writing {shell} completions to {}", completions.display()))?;
    }
    Ok(())
}
