//! Compiles tracer-ebpf for the BPF target and embeds it (see aya-build; `AYA_BUILD_SKIP=1` skips it), and takes
//! each command's examples from the README (its first `sh` block under "### `tracer NAME`") for `--help` and the
//! man pages, so that the three never disagree.
use std::fmt::Write as _;

use anyhow::Context as _;

/// `(command, examples)` for every "### `tracer NAME`" heading of the README that has a ```sh block before the next
/// heading.
fn readme_examples(readme: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("### `tracer ").and_then(|rest| rest.split('`').next()) else {
            continue;
        };
        let mut block = None;
        for line in lines.by_ref() {
            if line.starts_with('#') {
                break;
            }
            if line.trim() == "```sh" {
                block = Some(lines.by_ref().take_while(|l| l.trim() != "```").collect::<Vec<_>>().join("\n"));
                break;
            }
        }
        if let Some(block) = block {
            found.push((name.to_string(), block));
        }
    }
    found
}

/// Writes `$OUT_DIR/readme_examples.rs`: `README_EXAMPLES: &[(&str, &str)]`.
fn write_readme_examples() -> anyhow::Result<()> {
    const README: &str = "../README.md";
    println!("cargo:rerun-if-changed={README}");
    let readme = std::fs::read_to_string(README).with_context(|| format!("reading {README}"))?;
    let mut code = String::from(
        "/// Each command's examples, from the README.\npub const README_EXAMPLES: &[(&str, &str)] = &[\n",
    );
    for (name, block) in readme_examples(&readme) {
        writeln!(code, "    ({name:?}, {block:?}),")?;
    }
    code.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").context("OUT_DIR is not set")?);
    std::fs::write(out.join("readme_examples.rs"), code).context("writing readme_examples.rs")
}

/// The pinned nightly that builds the eBPF crate (`EBPF_TOOLCHAIN` in scripts/toolchain.env).
fn ebpf_toolchain() -> anyhow::Result<String> {
    const ENV_FILE: &str = "../scripts/toolchain.env";
    println!("cargo:rerun-if-changed={ENV_FILE}");
    let text = std::fs::read_to_string(ENV_FILE).with_context(|| format!("reading {ENV_FILE}"))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("EBPF_TOOLCHAIN="))
        .map(|v| v.trim().to_string())
        .with_context(|| format!("{ENV_FILE} sets no EBPF_TOOLCHAIN"))
}

fn main() -> anyhow::Result<()> {
    write_readme_examples()?;
    let toolchain = ebpf_toolchain()?;
    let ebpf = aya_build::Package { name: "tracer-ebpf", root_dir: "../tracer-ebpf", ..Default::default() };
    aya_build::build_ebpf([ebpf], aya_build::Toolchain::Custom(&toolchain)).with_context(|| {
        format!("building tracer-ebpf (needs {toolchain} with rust-src and bpf-linker: run `cargo xtask setup`)")
    })
}
