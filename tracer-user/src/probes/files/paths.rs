//! Paths as the kernel resolves them, and file identities (device, inode) as the kernel compares them.

use std::{
    ffi::OsStr,
    os::unix::{ffi::OsStrExt as _, fs::MetadataExt as _},
    path::{Component, Path, PathBuf},
};

use tracer_common::files::kernel_dev;

/// A file's identity in the kernel's encoding (`s_dev`, `i_ino`): what the probes compare and report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub dev: u32,
    pub ino: u64,
}

impl Ident {
    pub fn of_metadata(meta: &std::fs::Metadata) -> Ident {
        Ident { dev: kernel_dev(meta.dev()), ino: meta.ino() }
    }

    /// The identity of what `path` names (symlinks followed: a /proc fd or cwd link gives its target's).
    pub fn of(path: &Path) -> Option<Ident> {
        std::fs::metadata(path).ok().map(|m| Ident::of_metadata(&m))
    }
}

/// Resolves `raw` (absolute, or relative to `base`) as the kernel would: the longest prefix that exists is
/// canonicalized (symlinks followed, `..` taken physically), the rest — which does not exist, so has no symlinks
/// — is normalized lexically. `None` for a relative path without a base.
pub fn resolve(base: Option<&Path>, raw: &[u8]) -> Option<PathBuf> {
    let raw = Path::new(OsStr::from_bytes(raw));
    let full = if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        let base = base?;
        if raw.as_os_str().is_empty() {
            return Some(base.to_path_buf()); // AT_EMPTY_PATH-like: the directory itself
        }
        base.join(raw)
    };
    if let Ok(canonical) = std::fs::canonicalize(&full) {
        return Some(canonical);
    }
    let parts: Vec<Component> = full.components().collect();
    for keep in (1..parts.len()).rev() {
        let prefix: PathBuf = parts[..keep].iter().collect();
        if let Ok(canonical) = std::fs::canonicalize(&prefix) {
            return Some(push_lexically(canonical, &parts[keep..]));
        }
    }
    Some(push_lexically(PathBuf::from("/"), &parts))
}

fn push_lexically(mut path: PathBuf, rest: &[Component]) -> PathBuf {
    for part in rest {
        match part {
            Component::ParentDir => {
                path.pop();
            }
            Component::Normal(name) => path.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    path
}

/// The directory with identity `ident` at or below `root` (breadth first, symlinks not followed, at most
/// `max_entries` entries read): an exact name for a directory known only by its identity.
pub fn find_dir(root: &Path, ident: Ident, max_entries: usize) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt as _;
    let mut queue = std::collections::VecDeque::from([root.to_path_buf()]);
    let mut budget = max_entries;
    while let Some(dir) = queue.pop_front() {
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| Ident::of_metadata(&m) == ident) {
            return Some(dir);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            if budget == 0 {
                return None;
            }
            budget -= 1;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let path = entry.path();
                if entry.metadata().is_ok_and(|m| m.ino() == ident.ino && kernel_dev(m.dev()) == ident.dev) {
                    return Some(path);
                }
                queue.push_back(path);
            }
        }
    }
    None
}

/// Whether `path` is `dir` or below it.
pub fn is_under(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}

/// A /proc link target as a path: `None` for targets that are not paths (`pipe:[..]`, `anon_inode:..`) and for
/// deleted files (` (deleted)`).
pub fn link_path(target: &Path) -> Option<PathBuf> {
    let bytes = target.as_os_str().as_bytes();
    if !bytes.starts_with(b"/") || bytes.ends_with(b" (deleted)") {
        return None;
    }
    Some(target.to_path_buf())
}

/// The last component of a path's bytes (what the kernel hashes as a base name).
/// Resolves a name that a rename, link or symlink gives (absolute, or relative to `base`): its directory as
/// `resolve` does, its last component as is (the kernel never follows it: once a symlink is created there,
/// following it would name its target). `None` as `resolve`.
pub fn resolve_new_name(base: Option<&Path>, raw: &[u8]) -> Option<PathBuf> {
    let name = base_name(raw);
    if name.is_empty() || name == b"." || name == b".." {
        return resolve(base, raw);
    }
    let dir = &raw[..raw.len() - name.len()];
    let dir = if dir.is_empty() { base?.to_path_buf() } else { resolve(base, dir)? };
    Some(dir.join(OsStr::from_bytes(name)))
}

pub fn base_name(raw: &[u8]) -> &[u8] {
    match raw.iter().rposition(|&b| b == b'/') {
        Some(slash) => &raw[slash + 1..],
        None => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_name_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("tracer-new-name-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let dir = dir.canonicalize().unwrap();
        std::os::unix::fs::symlink("sub", dir.join("link")).unwrap();
        assert_eq!(resolve_new_name(Some(&dir), b"link"), Some(dir.join("link")));
        assert_eq!(resolve(Some(&dir), b"link"), Some(dir.join("sub")));
        assert_eq!(resolve_new_name(Some(&dir), b"sub/../x"), Some(dir.join("x")));
        assert_eq!(resolve_new_name(None, b"x"), None);
        let abs = dir.join("link/y");
        assert_eq!(resolve_new_name(None, abs.as_os_str().as_bytes()), Some(dir.join("sub/y")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn resolves_like_the_kernel() {
        let dir = std::env::temp_dir().join(format!("tracer-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::os::unix::fs::symlink(dir.join("a/b"), dir.join("link")).unwrap();
        let dir = dir.canonicalize().unwrap();
        assert_eq!(resolve(None, dir.join("a/./b/../b").as_os_str().as_bytes()), Some(dir.join("a/b")));
        // `..` after a symlink goes to the target's parent, as in the kernel.
        assert_eq!(resolve(Some(&dir), b"link/../x/y"), Some(dir.join("a/x/y")));
        assert_eq!(resolve(Some(&dir.join("a")), b"b/new"), Some(dir.join("a/b/new")));
        assert_eq!(resolve(Some(&dir), b"missing/../z"), Some(dir.join("z")));
        assert_eq!(resolve(None, b"relative"), None);
        assert!(is_under(&dir.join("a/b"), &dir.join("a")));
        assert!(!is_under(&dir.join("ab"), &dir.join("a")));
        assert_eq!(base_name(b"/x/y/name"), b"name");
        assert_eq!(base_name(b"name"), b"name");
        assert_eq!(link_path(Path::new("pipe:[12]")), None);
        assert_eq!(link_path(Path::new("/x (deleted)")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
