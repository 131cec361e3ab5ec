//! Files in strace's terms: open flags (`O_RDONLY|O_CLOEXEC`) and modes (`S_IFREG|0644`).

use super::constants::{FILE_TYPES, O_FLAGS, flags_text, named};

/// `O_WRONLY|O_CREAT|O_TRUNC`: the access mode, then the other flags in strace's order.
pub fn open_flags(value: u64) -> String {
    let flags = value as u32 as i32;
    let mode = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    };
    match (flags & !libc::O_ACCMODE) as u32 {
        0 => mode.to_string(),
        // Unlike pipe2's, open's unknown bits get no `/* O_??? */` from strace.
        rest => format!("{mode}|{}", flags_text(rest.into(), &O_FLAGS, "")),
    }
}

/// `S_IFDIR|S_ISVTX|0777`, as strace's `print_symbolic_mode_t` (its `%#03o` for the permissions).
pub fn file_mode(mode: u32) -> String {
    let mut parts = Vec::new();
    if mode & libc::S_IFMT != 0 {
        parts.push(named(u64::from(mode & libc::S_IFMT), &FILE_TYPES));
    }
    for (bit, name) in [(libc::S_ISUID, "S_ISUID"), (libc::S_ISGID, "S_ISGID"), (libc::S_ISVTX, "S_ISVTX")] {
        if mode & bit != 0 {
            parts.push(name.to_string());
        }
    }
    let perms = mode & 0o777;
    parts.push(if perms == 0 { "000".to_string() } else { format!("{:0>3}", format!("0{perms:o}")) });
    parts.join("|")
}
