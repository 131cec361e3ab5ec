//! Compiles tracer-ebpf for the BPF target and embeds it (see aya-build; `AYA_BUILD_SKIP=1` skips it).
use anyhow::Context as _;

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
    let toolchain = ebpf_toolchain()?;
    let ebpf = aya_build::Package { name: "tracer-ebpf", root_dir: "../tracer-ebpf", ..Default::default() };
    aya_build::build_ebpf([ebpf], aya_build::Toolchain::Custom(&toolchain)).with_context(|| {
        format!("building tracer-ebpf (needs {toolchain} with rust-src and bpf-linker: run `cargo xtask setup`)")
    })
}
