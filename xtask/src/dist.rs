//! `cargo xtask dist`: what an operator installs, built into target/dist/ from the README's set-up alone.
//!
//! - `tracer`: one static binary for x86_64-unknown-linux-musl, the eBPF objects inside (tracer-user/build.rs);
//! - `tracer_VERSION_amd64.deb` (cargo-deb, metadata in tracer-user/Cargo.toml) from the files staged in `pkg/`:
//!   that binary, the man pages and completions it generates from its clap definitions, contrib/'s config and
//!   systemd unit;
//! - `tracer_VERSION_oci.tar`: an OCI image from scratch holding that binary alone, made with buildah (offline:
//!   nothing is pulled), also committed to the local container storage as `localhost/tracer:VERSION`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};

use crate::{announce, cargo, run, toolchain_env};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Builds everything; returns target/dist.
pub fn dist(root: &Path) -> Result<PathBuf> {
    let dist = root.join("target/dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).with_context(|| format!("cannot remove {}", dist.display()))?;
    }
    let pkg = dist.join("pkg");
    fs::create_dir_all(&pkg).with_context(|| format!("cannot create {}", pkg.display()))?;

    // 1. The static binary (MUSL_TARGET in scripts/toolchain.env: x86_64-unknown-linux-musl).
    let musl = toolchain_env(root, "MUSL_TARGET")?;
    run(cargo(None).args(["build", "--release", "--target", &musl, "-p", "tracer-user", "--bin", "tracer"]), root)?;
    let built = root.join("target").join(&musl).join("release/tracer");
    let bin = dist.join("tracer");
    copy(&built, &bin)?;
    let image = fs::read(&bin).with_context(|| format!("cannot read {}", bin.display()))?;
    if let Some(interp) = elf_interpreter(&image)? {
        bail!("{} is not static: it asks for the dynamic loader {interp}", bin.display());
    }
    eprintln!(
        "xtask: {}: {} bytes ({:.1} MiB), static (no ELF interpreter), eBPF objects inside",
        bin.display(),
        image.len(),
        image.len() as f64 / (1024.0 * 1024.0)
    );

    // 2. The Debian package.
    copy(&bin, &pkg.join("tracer"))?;
    run(Command::new(&bin).arg("__generate-docs").arg(&pkg), root)?;
    let mut gzip = Command::new("gzip");
    gzip.args(["-9", "-n"]);
    for entry in fs::read_dir(pkg.join("man"))? {
        gzip.arg(entry?.path());
    }
    run(&mut gzip, root)?;
    // The unit as the package installs it: the binary is /usr/bin/tracer there (contrib/'s says /usr/local/bin,
    // where `cargo xtask install` puts it).
    let unit = fs::read_to_string(root.join("contrib/tracer-monitor.service"))?;
    if !unit.contains("ExecStart=/usr/local/bin/tracer ") {
        bail!("contrib/tracer-monitor.service no longer runs /usr/local/bin/tracer: update xtask/src/dist.rs");
    }
    fs::create_dir_all(pkg.join("systemd"))?;
    fs::write(pkg.join("systemd/tracer-monitor.service"), unit.replace("/usr/local/bin/tracer", "/usr/bin/tracer"))?;
    let deb = dist.join(format!("tracer_{VERSION}_amd64.deb"));
    run(cargo(None).args(["deb", "-p", "tracer-user", "--no-build", "--no-strip", "--output"]).arg(&deb), root)?;
    eprintln!("xtask: {}: {} bytes", deb.display(), fs::metadata(&deb)?.len());

    // 3. The OCI image: from scratch, the binary alone, `monitor` by default.
    let tag = format!("localhost/tracer:{VERSION}");
    // A working container of our own name: two dist builds at once do not share buildah's default one.
    let name = format!("tracer-dist-{}", std::process::id());
    let ctr = output(Command::new("buildah").args(["from", "--quiet", "--name", &name, "scratch"]), root)?;
    let ctr = ctr.trim();
    let built = (|| -> Result<()> {
        run(Command::new("buildah").args(["copy", "--quiet", "--chmod", "0755", ctr]).arg(&bin).arg("/tracer"), root)?;
        run(
            Command::new("buildah").args([
                "config",
                "--entrypoint",
                r#"["/tracer"]"#,
                "--cmd",
                r#"["monitor", "--json", "--metrics-addr", "0.0.0.0:9464", "--no-bpf-stats"]"#,
                "--port",
                "9464/tcp",
                "--label",
                &format!("org.opencontainers.image.version={VERSION}"),
                "--label",
                "org.opencontainers.image.title=tracer",
                ctr,
            ]),
            root,
        )?;
        run(Command::new("buildah").args(["commit", "--quiet", "--format", "oci", ctr, &tag]), root)
    })();
    let removed = run(Command::new("buildah").args(["rm", ctr]), root);
    built?;
    removed?;
    let archive = dist.join(format!("tracer_{VERSION}_oci.tar"));
    let mut push = Command::new("buildah");
    push.args(["push", "--quiet", &tag]).arg(format!("oci-archive:{}:{tag}", archive.display()));
    run(&mut push, root)?;
    eprintln!("xtask: {}: {} bytes (image {tag})", archive.display(), fs::metadata(&archive)?.len());
    Ok(dist)
}

fn copy(src: &Path, dest: &Path) -> Result<()> {
    eprintln!("+ cp {} {}", src.display(), dest.display());
    fs::copy(src, dest).with_context(|| format!("cannot copy {} to {}", src.display(), dest.display()))?;
    Ok(())
}

/// Runs `cmd` in `dir` and returns its stdout; fails if it does not exit with status 0.
fn output(cmd: &mut Command, dir: &Path) -> Result<String> {
    cmd.current_dir(dir);
    let shown = announce(cmd, Some(dir));
    let out = cmd.stderr(std::process::Stdio::inherit()).output().with_context(|| format!("cannot start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed something that is not UTF-8"))
}

/// The program interpreter (PT_INTERP) an x86_64 ELF executable asks for: None for a static one.
fn elf_interpreter(image: &[u8]) -> Result<Option<String>> {
    let u16_at = |o: usize| image.get(o..o + 2).map(|b| u16::from_le_bytes(b.try_into().unwrap()));
    let u32_at = |o: usize| image.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()));
    let u64_at = |o: usize| image.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize);
    if image.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) || u16_at(18) != Some(62) {
        bail!("not a little-endian 64-bit x86_64 ELF file");
    }
    let (phoff, phentsize, phnum) = match (u64_at(0x20), u16_at(0x36), u16_at(0x38)) {
        (Some(o), Some(s), Some(n)) => (o, s as usize, n as usize),
        _ => bail!("truncated ELF header"),
    };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        const PT_INTERP: u32 = 3;
        if u32_at(ph).context("truncated program header")? == PT_INTERP {
            let (off, size) = (u64_at(ph + 8).context("truncated")?, u64_at(ph + 32).context("truncated")?);
            let path = image.get(off..off + size).context("PT_INTERP outside the file")?;
            return Ok(Some(String::from_utf8_lossy(path).trim_end_matches('\0').to_string()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle: this test binary itself is dynamically linked (glibc host target), so it names ld.so.
    #[test]
    fn finds_the_interpreter_of_a_dynamic_executable() {
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        let interp = elf_interpreter(&me).unwrap().expect("a glibc test binary has PT_INTERP");
        assert_eq!(interp, "/lib64/ld-linux-x86-64.so.2");
        assert!(elf_interpreter(b"#!/bin/sh\n").is_err());
    }
}
