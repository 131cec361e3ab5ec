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
pub trait Wanted {
    /// Whether a file with this identity and path (when it has one) is watched.
    fn wants(&self, ident: Ident, path: Option<&Path>) -> bool;
}

/// Every hold of a wanted file, process by process (pids in order), as lsof lists them.
pub fn holders(wanted: &impl Wanted, pids: Option<&std::collections::HashSet<u32>>) -> Vec<Hold> {
    let Ok(procs) = fs::read_dir("/proc") else { return Vec::new() };
    let mut all: Vec<u32> = procs.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    all.sort_unstable();
    let mut out = Vec::new();
    for pid in all {
        if pids.is_some_and(|p| !p.contains(&pid)) {
            continue;
        }
        holds_of(pid, wanted, &mut out);
    }
    out
}

fn link(pid: u32, name: &str) -> Option<(PathBuf, Ident)> {
    let proc_path = PathBuf::from(format!("/proc/{pid}/{name}"));
    let target = fs::read_link(&proc_path).ok()?;
    let ident = Ident::of(&proc_path)?;
    Some((target, ident))
}

fn holds_of(pid: u32, wanted: &impl Wanted, out: &mut Vec<Hold>) {
    for (name, slot) in [("cwd", Slot::Cwd), ("root", Slot::Root), ("exe", Slot::Text)] {
        if let Some((target, ident)) = link(pid, name) {
            let path = link_path(&target);
            if wanted.wants(ident, path.as_deref()) {
                out.push(Hold { pid, slot, path: path.unwrap_or(target), ident });
            }
        }
    }
    let text = link(pid, "exe").map(|(_, ident)| ident);
    if let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) {
        let mut fds: Vec<i32> = fds.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
        fds.sort_unstable();
        for fd in fds {
            let Some((target, ident)) = link(pid, &format!("fd/{fd}")) else { continue };
            let path = link_path(&target);
            if wanted.wants(ident, path.as_deref()) {
                let mode = fd_mode(pid, fd);
                out.push(Hold { pid, slot: Slot::Fd(fd, mode), path: path.unwrap_or(target), ident });
            }
        }
    }
    // Mappings: one line per file (lsof lists a file mapped several times once), the program text excluded.
    let Ok(maps) = fs::read(format!("/proc/{pid}/maps")) else { return };
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

/// lsof's mode letter from `/proc/PID/fdinfo/FD`'s `flags:` (octal): `r`, `w` or `u`; ` ` when unknown.
fn fd_mode(pid: u32, fd: i32) -> char {
    let Ok(info) = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else { return ' ' };
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok());
    match flags.map(|f| f & 3) {
        Some(0) => 'r',
        Some(1) => 'w',
        Some(2) => 'u',
        _ => ' ',
    }
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
