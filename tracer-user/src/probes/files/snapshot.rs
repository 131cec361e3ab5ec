//! Who holds a file open now, as `lsof PATH` lists it: file descriptors (with their access mode), the program
//! text (`txt`), working and root directories (`cwd`, `rtd`) and memory mappings (`mem`), from /proc.

use std::{
    fs,
    os::unix::ffi::OsStrExt as _,
    path::{Path, PathBuf},
};

use super::paths::{Ident, link_path};

/// What a process holds the file as: lsof's FD column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A descriptor, with lsof's mode letter (`r`, `w`, `u`).
    Fd(i32, char),
    Cwd,
    Root,
    Text,
    Mem,
}

impl Slot {
    /// `3r`, `mem`, `txt`, `cwd`, `rtd`, as lsof prints it.
    pub fn text(&self) -> String {
        match self {
            Slot::Fd(fd, mode) => format!("{fd}{mode}"),
            Slot::Cwd => "cwd".into(),
            Slot::Root => "rtd".into(),
            Slot::Text => "txt".into(),
            Slot::Mem => "mem".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Hold {
    pub pid: u32,
    pub slot: Slot,
    pub path: PathBuf,
    pub ident: Ident,
}

/// What the snapshot looks for: exact files, and everything below directories.
pub trait Wanted: Sync {
    /// Whether a file with this identity and path (when it has one) is watched.
    fn wants(&self, ident: Ident, path: Option<&Path>) -> bool;

    /// Whether `wants` looks at the path at all (directories are watched by path): when it does not, the snapshot
    /// reads a link's text only for the files it holds.
    fn needs_paths(&self) -> bool {
        true
    }
}

/// Every hold of a wanted file, process by process (pids in order), as lsof lists them.
///
/// `tracer opens` is ready only once this is done, so the processes are split between two threads (the walk is
/// mostly system calls on /proc, about 10 ms for a hundred processes here).
pub fn holders(wanted: &impl Wanted, pids: Option<&std::collections::HashSet<u32>>) -> Vec<Hold> {
    let Ok(procs) = fs::read_dir("/proc") else { return Vec::new() };
    let mut all: Vec<u32> = procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid| pids.is_none_or(|p| p.contains(pid)))
        .collect();
    all.sort_unstable();
    let walk = |pids: &[u32]| {
        let mut out = Vec::new();
        for &pid in pids {
            holds_of(pid, wanted, &mut out);
        }
        out
    };
    if all.len() < 16 {
        return walk(&all);
    }
    let (first, second) = all.split_at(all.len() / 2);
    std::thread::scope(|scope| {
        let later = scope.spawn(|| walk(second));
        let mut out = walk(first);
        // A panic in the other half is a bug; it ends tracer as it would have on this thread.
        out.extend(later.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        out
    })
}

/// A /proc link's identity (what it leads to, `stat` following it) and, when it is wanted, its text. The identity
/// comes first: with no directory watched, only the text of a wanted file's link is read.
fn hold(pid: u32, name: &str, wanted: &impl Wanted, needs_paths: bool) -> Option<(Ident, PathBuf, Option<PathBuf>)> {
    let proc_path = PathBuf::from(format!("/proc/{pid}/{name}"));
    let ident = Ident::of(&proc_path)?;
    if !needs_paths && !wanted.wants(ident, None) {
        return None;
    }
    let target = fs::read_link(&proc_path).ok()?;
    let path = link_path(&target);
    wanted.wants(ident, path.as_deref()).then_some((ident, target, path))
}

fn holds_of(pid: u32, wanted: &impl Wanted, out: &mut Vec<Hold>) {
    let needs_paths = wanted.needs_paths();
    for (name, slot) in [("cwd", Slot::Cwd), ("root", Slot::Root)] {
        if let Some((ident, target, path)) = hold(pid, name, wanted, needs_paths) {
            out.push(Hold { pid, slot, path: path.unwrap_or(target), ident });
        }
    }
    // The program text: a `txt` hold, and never listed again as a mapping.
    let text = Ident::of(Path::new(&format!("/proc/{pid}/exe")));
    if let Some(ident) = text
        && (needs_paths || wanted.wants(ident, None))
        && let Ok(target) = fs::read_link(format!("/proc/{pid}/exe"))
    {
        let path = link_path(&target);
        if wanted.wants(ident, path.as_deref()) {
            out.push(Hold { pid, slot: Slot::Text, path: path.unwrap_or(target), ident });
        }
    }
    if let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) {
        let mut fds: Vec<i32> = fds.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        fds.sort_unstable();
        for fd in fds {
            let Some((ident, target, path)) = hold(pid, &format!("fd/{fd}"), wanted, needs_paths) else { continue };
            let mode = fd_mode(pid, fd);
            out.push(Hold { pid, slot: Slot::Fd(fd, mode), path: path.unwrap_or(target), ident });
        }
    }
    // Mappings: one line per file (lsof lists a file mapped several times once), the program text excluded.
    let Some(maps) = read_maps(pid) else { return };
    let mut seen: Vec<Ident> = text.into_iter().collect();
    for line in maps.split(|&b| b == b'\n') {
        let Some((ident, path)) = parse_maps_line(line) else { continue };
        if seen.contains(&ident) {
            continue;
        }
        if wanted.wants(ident, Some(&path)) {
            seen.push(ident);
            out.push(Hold { pid, slot: Slot::Mem, path, ident });
        }
    }
}

/// `/proc/PID/maps`, read with a buffer that holds most processes' at once: the kernel fills as much of the
/// buffer as it is given, and `fs::read` starts small (a 32-byte probe, then doubling: several reads a process).
pub(super) fn read_maps(pid: u32) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut file = fs::File::open(format!("/proc/{pid}/maps")).ok()?;
    let mut maps = Vec::with_capacity(64 << 10);
    file.read_to_end(&mut maps).ok()?;
    Some(maps)
}

/// lsof's mode letter from `/proc/PID/fdinfo/FD`'s `flags:` (octal): `r`, `w` or `u`; ` ` when unknown.
fn fd_mode(pid: u32, fd: i32) -> char {
    let Some(info) = fd_info(pid, &fd.to_string()) else { return ' ' };
    mode_letter(info.lines().find_map(|l| l.strip_prefix("flags:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok()))
}

/// lsof's mode letter for open flags: `r`, `w` or `u`; ` ` when unknown.
pub(super) fn mode_letter(flags: Option<u32>) -> char {
    match flags.map(|f| f & 3) {
        Some(0) => 'r',
        Some(1) => 'w',
        Some(2) => 'u',
        _ => ' ',
    }
}

/// `/proc/PID/fdinfo/FD`: `pos:`, `flags:`, and what the file's kind adds (`eventfd-id:`...).
pub(super) fn fd_info(pid: u32, fd: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()
}

/// `start-end perms offset MAJ:MIN inode path` → (identity, path) for file mappings.
pub fn parse_maps_line(line: &[u8]) -> Option<(Ident, PathBuf)> {
    let mut fields = line.splitn(6, |&b| b == b' ');
    let (_range, _perms, _offset) = (fields.next()?, fields.next()?, fields.next()?);
    let dev = std::str::from_utf8(fields.next()?).ok()?;
    let ino: u64 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let rest = fields.next()?;
    let start = rest.iter().position(|&b| b != b' ')?;
    let path = &rest[start..];
    if ino == 0 || !path.starts_with(b"/") {
        return None;
    }
    let (major, minor) = dev.split_once(':')?;
    let major = u32::from_str_radix(major, 16).ok()?;
    let minor = u32::from_str_radix(minor, 16).ok()?;
    let path = path.strip_suffix(b" (deleted)").unwrap_or(path);
    Some((Ident { dev: major << 20 | minor, ino }, PathBuf::from(std::ffi::OsStr::from_bytes(path))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines() {
        let line = b"7f2c1a000000-7f2c1a028000 r--p 00000000 fd:01 1835330                    /usr/lib/libc.so.6";
        let (ident, path) = parse_maps_line(line).unwrap();
        assert_eq!(ident, Ident { dev: 0xfd << 20 | 1, ino: 1835330 });
        assert_eq!(path, PathBuf::from("/usr/lib/libc.so.6"));
        assert!(parse_maps_line(b"7ffd-7ffe rw-p 00000000 00:00 0                          [stack]").is_none());
    }

    #[test]
    fn finds_its_own_open_file() {
        struct One(Ident);
        impl Wanted for One {
            fn wants(&self, ident: Ident, _: Option<&Path>) -> bool {
                ident == self.0
            }
        }
        let path = std::env::temp_dir().join(format!("tracer-snapshot-{}", std::process::id()));
        let file = fs::File::create(&path).unwrap();
        let ident = Ident::of(&path).unwrap();
        let me = std::process::id();
        let holds = holders(&One(ident), Some(&[me].into_iter().collect()));
        use std::os::fd::AsRawFd as _;
        assert_eq!(holds.len(), 1, "{holds:?}");
        assert_eq!(holds[0].slot, Slot::Fd(file.as_raw_fd(), 'w'));
        assert_eq!(holds[0].path, path);
        fs::remove_file(&path).unwrap();
    }
}
