//! Compiles tracer-ebpf for the BPF target and embeds it (see aya-build; `AYA_BUILD_SKIP=1` skips it).
use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let ebpf = aya_build::Package { name: "tracer-ebpf", root_dir: "../tracer-ebpf", ..Default::default() };
    aya_build::build_ebpf([ebpf], aya_build::Toolchain::default())
        .context("building tracer-ebpf (needs nightly with rust-src and bpf-linker: run `cargo xtask setup`)")
}
