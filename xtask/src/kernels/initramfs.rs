//! The guest's root file system: an uncompressed cpio (`newc`) archive with a static busybox, tracer, the
//! workload, their shared libraries (at the paths `ldd` gives, so the guest's ld.so finds them), `/init` and
//! `/kernels/checks.sh` from `kernels/guest/`. Written here rather than with cpio(1) and gzip(1): no more host
//! tools, and an uncompressed archive boots faster under TCG than one the guest must inflate.

use std::{
    collections::BTreeSet,
    fs,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};

const BUSYBOX: &str = "/bin/busybox";

/// True if /bin/busybox exists and is statically linked (Debian's busybox-static).
pub fn static_busybox_present() -> bool {
    Path::new(BUSYBOX).is_file() && shared_libs(Path::new(BUSYBOX)).is_ok_and(|libs| libs.is_empty())
}

/// Writes the archive to `dest`.
pub fn build(dest: &Path, tracer: &Path, workload: &Path, guest_dir: &Path) -> Result<()> {
    let mut files: Vec<(String, Vec<u8>, u32)> = Vec::new();
    let read = |p: &Path| fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    files.push(("init".into(), read(&guest_dir.join("init"))?, 0o755));
    files.push(("kernels/checks.sh".into(), read(&guest_dir.join("checks.sh"))?, 0o755));
    files.push(("bin/busybox".into(), read(Path::new(BUSYBOX))?, 0o755));
    files.push(("bin/tracer".into(), read(tracer)?, 0o755));
    files.push(("bin/workload".into(), read(workload)?, 0o755));
    let mut libs = BTreeSet::new();
    for bin in [tracer, workload] {
        libs.extend(shared_libs(bin)?);
    }
    for lib in &libs {
        let name = lib.strip_prefix("/").unwrap_or(lib).to_string_lossy().into_owned();
        files.push((name, read(lib)?, 0o755));
    }
    files.push(("etc/hostname".into(), b"tracer-kernels\n".to_vec(), 0o644));
    files.push(("etc/passwd".into(), b"root:x:0:0:root:/tmp:/bin/sh\n".to_vec(), 0o644));
    files.push(("etc/group".into(), b"root:x:0:\n".to_vec(), 0o644));

    let mut dirs: BTreeSet<String> =
        ["bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "run", "usr", "usr/bin", "usr/sbin"]
            .into_iter()
            .map(String::from)
            .collect();
    for (name, _, _) in &files {
        let mut p = Path::new(name).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }

    let tmp = dest.with_extension(format!("cpio.tmp.{}", std::process::id()));
    let mut w = Writer { out: BufWriter::new(fs::File::create(&tmp)?), ino: 1 };
    // Parents before children: BTreeSet order puts "a" before "a/b".
    for d in &dirs {
        w.entry(d, 0o040755, 0, &[])?;
    }
    // The kernel opens /dev/console for init's stdin/stdout/stderr before /init runs.
    w.entry("dev/console", 0o020600, (5 << 8) | 1, &[])?;
    for (name, data, mode) in &files {
        w.entry(name, 0o100000 | mode, 0, data)?;
    }
    w.entry("TRAILER!!!", 0, 0, &[])?;
    w.out.flush()?;
    drop(w);
    fs::rename(&tmp, dest).with_context(|| format!("cannot write {}", dest.display()))
}

/// Writes `dest`: the archive at `base` followed by a second archive with the kernel's modules under
/// `/kernels/modules/` (the kernel unpacks concatenated archives one after the other).
pub fn for_kernel(base: &Path, modules: &Path, dest: &Path) -> Result<()> {
    let mut files = Vec::new();
    for p in files_in(modules)? {
        let name = format!("kernels/modules/{}", p.file_name().unwrap_or_default().to_string_lossy());
        files.push((name, read(&p)?, 0o644));
    }
    append_archive(base, ["kernels", "kernels/modules"].map(String::from).into(), files, 1_000_000, dest)
}

/// systemd as the guest's init: PID 1 and the client that starts transient services, with their libraries.
pub const SYSTEMD: &str = "/lib/systemd/systemd";
const SYSTEMD_RUN: &str = "/usr/bin/systemd-run";

/// True if the host has systemd's PID 1 and systemd-run (Debian's `systemd` package).
pub fn systemd_present() -> bool {
    Path::new(SYSTEMD).is_file() && Path::new(SYSTEMD_RUN).is_file()
}

/// Writes `dest`: the kernel's archive `base` (from [`for_kernel`]) followed by a third archive with the host's
/// systemd (PID 1, systemd-run and their libraries at the paths `ldd` gives; the libraries of systemd itself are
/// found by its RUNPATH, which ldd follows), the units of `units_dir` in /etc/systemd/system and `env` as
/// /kernels/env (the checks service's EnvironmentFile: systemd does not hand the kernel command line's variables
/// to services).
pub fn with_systemd(base: &Path, units_dir: &Path, env: &str, dest: &Path) -> Result<()> {
    let mut files: Vec<ArchiveFile> = Vec::new();
    let mut libs = BTreeSet::new();
    for bin in [SYSTEMD, SYSTEMD_RUN] {
        files.push((bin.trim_start_matches('/').to_string(), read(Path::new(bin))?, 0o755));
        libs.extend(shared_libs(Path::new(bin))?);
    }
    for lib in &libs {
        files.push((lib.strip_prefix("/").unwrap_or(lib).to_string_lossy().into_owned(), read(lib)?, 0o755));
    }
    for u in files_in(units_dir)? {
        let name = format!("etc/systemd/system/{}", u.file_name().unwrap_or_default().to_string_lossy());
        files.push((name, read(&u)?, 0o644));
    }
    files.push(("kernels/env".into(), env.as_bytes().to_vec(), 0o644));
    let mut dirs = BTreeSet::new();
    for (name, _, _) in &files {
        let mut p = Path::new(name).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }
    append_archive(base, dirs.into_iter().collect(), files, 2_000_000, dest)
}

/// A file of an appended archive: its path in the guest, its bytes, its permission bits.
type ArchiveFile = (String, Vec<u8>, u32);

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The regular files directly in `dir`, sorted (the archive is the same from run to run).
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Writes `dest` (through a temporary file, renamed): the archive at `base` followed by one more archive of
/// `dirs` (each before what it holds) and `files`, numbered from `first_ino` so that no inode repeats one of
/// `base`'s.
fn append_archive(base: &Path, dirs: Vec<String>, files: Vec<ArchiveFile>, first_ino: u32, dest: &Path) -> Result<()> {
    let tmp = dest.with_extension(format!("tmp.{}", std::process::id()));
    let mut out = BufWriter::new(fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?);
    out.write_all(&read(base)?)?;
    let mut w = Writer { out, ino: first_ino };
    for d in &dirs {
        w.entry(d, 0o040755, 0, &[])?;
    }
    for (name, data, mode) in &files {
        w.entry(name, 0o100000 | mode, 0, data)?;
    }
    w.entry("TRAILER!!!", 0, 0, &[])?;
    w.out.flush()?;
    drop(w);
    fs::rename(&tmp, dest).with_context(|| format!("cannot write {}", dest.display()))
}

/// The shared libraries `ldd` lists for `bin` (the dynamic loader included); empty for a static binary.
fn shared_libs(bin: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd").arg(bin).output().context("cannot run ldd")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // ldd fails with "not a dynamic executable" for static binaries.
        if String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
            || text.contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        bail!("ldd {} failed: {}", bin.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        } else if line.contains("not found") {
            bail!("ldd {}: {}", bin.display(), line.trim());
        }
    }
    Ok(libs)
}

/// A `newc` cpio writer (the format the kernel unpacks: see Documentation/driver-api/early-userspace).
struct Writer<W: Write> {
    out: W,
    ino: u32,
}

impl<W: Write> Writer<W> {
    fn entry(&mut self, name: &str, mode: u32, rdev: u32, data: &[u8]) -> Result<()> {
        let namesize = name.len() + 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0, // mtime
            u32::try_from(data.len()).context("file too large for cpio")?,
            0, // devmajor
            0, // devminor
            rdev >> 8,
            rdev & 0xff,
            u32::try_from(namesize)?,
            0, // check
        ];
        self.ino += 1;
        let mut header = String::from("070701");
        for f in fields {
            header.push_str(&format!("{f:08x}"));
        }
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(110 + namesize)?;
        self.out.write_all(data)?;
        self.pad(data.len())?;
        Ok(())
    }

    fn pad(&mut self, len: usize) -> Result<()> {
        let zeros = [0u8; 3];
        self.out.write_all(&zeros[..(4 - len % 4) % 4])?;
        Ok(())
    }
}
