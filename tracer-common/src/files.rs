//! File opens for `tracer opens`: the open family's enter/exit pairing and the event sent for a matched open.
//!
//! Watched files and directories are identified in the kernel by (device, inode), in the kernel's own `dev_t`
//! encoding (`major << 20 | minor`, as in `super_block.s_dev`), not the one `stat` returns: see [`kernel_dev`].

use crate::event::EventHeader;

/// Where the arguments start in a `syscalls:sys_enter_*` record (one 8-byte slot each), and the return value in
/// a `sys_exit_*` one: fixed by the kernel's `struct syscall_trace_enter`/`_exit`, checked at load time.
pub const SYSCALL_ARGS_OFFSET: usize = 16;

/// Bytes of the requested file name copied from the caller's memory.
pub const PATH_CAP: usize = 256;

/// Slots of the `OPEN_INFLIGHT` array (a power of two): a thread uses slot `tid % OPEN_INFLIGHT_SLOTS`.
pub const OPEN_INFLIGHT_SLOTS: u32 = 1 << 15;

/// Entries of the watch maps (`FILES_WATCHED`, `FILES_NAMES`, `FILES_PREFIXES`).
pub const WATCH_SLOTS: u32 = 4096;

/// Bytes of a dentry name compared in the kernel (`FILES_NAMES` keys): the first `NAME_KEY - 1` bytes, NUL-padded.
pub const NAME_KEY: usize = 32;

/// Directory prefixes of a failed open's absolute path compared with watched directories (deeper ones are not).
pub const PREFIX_SLOTS: usize = 16;

/// How many parent directories a directory watch climbs from an opened file (deeper files are not matched).
pub const MAX_DEPTH: u32 = 24;

/// Which open-family syscall an event comes from.
pub mod call {
    pub const OPEN: u16 = 0;
    pub const OPENAT: u16 = 1;
    pub const OPENAT2: u16 = 2;
    pub const CREAT: u16 = 3;
    pub const OPEN_BY_HANDLE_AT: u16 = 4;

    pub const fn name(call: u16) -> &'static str {
        match call {
            OPEN => "open",
            OPENAT => "openat",
            OPENAT2 => "openat2",
            CREAT => "creat",
            OPEN_BY_HANDLE_AT => "open_by_handle_at",
            _ => "open?",
        }
    }
}

/// Values of the `FILES_WATCHED` map (bits): what a (device, inode) is to the watch.
pub mod watch {
    /// A watched file (or a watched directory opened itself).
    pub const FILE: u32 = 1 << 0;
    /// A watched directory: files below it match.
    pub const DIR: u32 = 1 << 1;
    /// The directory a watched file is in: a file opened in it whose name hashes into `FILES_NAMES` is a
    /// candidate (the watched path may have been created or replaced since the watch started).
    pub const PARENT: u32 = 1 << 2;
}

/// `OpenEvent::status` bits.
pub mod status {
    /// The enter was seen: `flags`, `dfd`, `path` and `duration_ns` are valid.
    pub const ENTER_SEEN: u32 = 1 << 0;
    /// The opened file is a watched file (device and inode equal).
    pub const MATCH_FILE: u32 = 1 << 1;
    /// The opened file is below a watched directory (found by climbing its dentry's parents).
    pub const MATCH_DIR: u32 = 1 << 2;
    /// The opened file is in a watched file's directory and has a watched name (user space confirms).
    pub const MATCH_NAME: u32 = 1 << 3;
    /// A failed open whose requested name ends in a watched base name (user space resolves and confirms).
    pub const MATCH_BASENAME: u32 = 1 << 4;
    /// A failed open of an absolute path that starts with a watched directory (user space confirms).
    pub const MATCH_PREFIX: u32 = 1 << 5;
    /// A failed open of a relative path whose start directory (cwd or dirfd) is in a watched directory.
    pub const MATCH_BASE_DIR: u32 = 1 << 6;
    /// `path` was cut at `PATH_CAP - 1` bytes.
    pub const PATH_TRUNCATED: u32 = 1 << 7;
    /// `path` could not be read from the caller's memory.
    pub const PATH_FAULT: u32 = 1 << 8;
    /// `base_dev`/`base_ino` identify the directory a relative path starts at (cwd or the dirfd's directory).
    pub const BASE_KNOWN: u32 = 1 << 9;
    /// `dev`/`ino` identify the opened file.
    pub const FILE_KNOWN: u32 = 1 << 10;
    /// No path filter: every open of the traced processes.
    pub const UNFILTERED: u32 = 1 << 11;
}

/// The stages of the open exit, chained by tail calls through the `FILES_STAGES` program array (index → program).
/// Each stage is verified on its own: together in one program, the verifier walked the failed-open path's loops
/// once per state the success path left (about 900,000 instructions on Linux 6.1, near its limit of a million).
pub mod stage {
    /// A failed open under a path filter: reads and hashes its requested path (`files_open_failed`).
    pub const FAILED: u32 = 0;
    /// Matches the hashes against the watched names and directories (`files_open_match`).
    pub const MATCH: u32 = 1;
    /// Reads what the record needs and sends it (`files_open_send`).
    pub const SEND: u32 = 2;
    /// A rename, link or symlink's new name, hashed: matches it against the watch and sends it
    /// (`files_rename_match`).
    pub const RENAME_MATCH: u32 = 3;
    pub const SLOTS: u32 = 4;
    /// The program of each stage, by index.
    pub const PROGRAMS: [&str; SLOTS as usize] =
        ["files_open_failed", "files_open_match", "files_open_send", "files_rename_match"];
}

/// An open in progress, in slot `tid % OPEN_INFLIGHT_SLOTS` of `OPEN_INFLIGHT` (an array: inlined lookups, no
/// lock). Two threads whose tids share a slot overwrite each other; `tid` says whose entry it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenInflight {
    pub enter_ns: u64,
    /// The caller's `const char *filename` (0 for open_by_handle_at).
    pub filename: u64,
    /// Open flags; for openat2 the caller's `struct open_how *` until the exit reads `how.flags`.
    pub flags: u64,
    /// The thread in the call; 0 when the slot is free.
    pub tid: u32,
    pub dfd: i32,
    pub mode: u32,
    /// `call::*`.
    pub call: u16,
    pub _pad: u16,
}
const _: () = assert!(core::mem::size_of::<OpenInflight>() == 40);

/// Which call gave a path a new name (`RenameEvent::call`).
pub mod rename_call {
    pub const RENAME: u16 = 0;
    pub const RENAMEAT: u16 = 1;
    pub const RENAMEAT2: u16 = 2;
    pub const LINK: u16 = 3;
    pub const LINKAT: u16 = 4;
    pub const SYMLINK: u16 = 5;
    pub const SYMLINKAT: u16 = 6;

    pub const fn name(call: u16) -> &'static str {
        match call {
            RENAME => "rename",
            RENAMEAT => "renameat",
            RENAMEAT2 => "renameat2",
            LINK => "link",
            LINKAT => "linkat",
            SYMLINK => "symlink",
            SYMLINKAT => "symlinkat",
            _ => "rename?",
        }
    }

    /// What the call made of the new name: `rename` (the old name moved there), `link` (a second name of the old
    /// file), `symlink` (a symbolic link whose target is the old string).
    pub const fn verb(call: u16) -> &'static str {
        match call {
            RENAME | RENAMEAT | RENAMEAT2 => "rename",
            LINK | LINKAT => "link",
            _ => "symlink",
        }
    }
}

/// Slots of the `RENAME_INFLIGHT` array (a power of two): a thread uses slot `tid % RENAME_INFLIGHT_SLOTS`.
pub const RENAME_INFLIGHT_SLOTS: u32 = 1 << 12;

/// A rename, link or symlink in progress (only while a path is watched), by thread like `OpenInflight`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameInflight {
    /// The caller's old name (for a symlink: its target string).
    pub old: u64,
    /// The caller's new name.
    pub new: u64,
    /// The thread in the call; 0 when the slot is free.
    pub tid: u32,
    /// The dirfds of the old and the new name (`AT_FDCWD` = -100 when the call has none).
    pub old_dfd: i32,
    pub new_dfd: i32,
    /// `rename_call::*`.
    pub call: u16,
    pub _pad: u16,
}
const _: () = assert!(core::mem::size_of::<RenameInflight>() == 32);

/// A successful rename, link or symlink whose new name may be a watched path (`kind::FILE_RENAME`), written at
/// the syscall's exit: the new name matched a watched file's directory and base name (`status::MATCH_NAME`,
/// exact), or lexically (`MATCH_BASENAME`, `MATCH_PREFIX`, `MATCH_BASE_DIR`: user space resolves and confirms).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenameEvent {
    pub header: EventHeader,
    /// Inode of the directory a relative new name starts at (`status::BASE_KNOWN`).
    pub base_ino: u64,
    /// Kernel `dev_t` of that directory.
    pub base_dev: u32,
    /// Real uid of the caller.
    pub uid: u32,
    pub old_dfd: i32,
    pub new_dfd: i32,
    /// `status::*` (`MATCH_*`, `BASE_KNOWN`, `PATH_TRUNCATED` for the new name).
    pub status: u32,
    /// `rename_call::*`.
    pub call: u16,
    /// Bytes valid in `old` and `new`.
    pub old_len: u16,
    pub new_len: u16,
    pub _pad: [u8; 6],
    /// The old name (a symlink's target) as the caller passed it (not NUL-terminated).
    pub old: [u8; PATH_CAP],
    /// The new name as the caller passed it.
    pub new: [u8; PATH_CAP],
}
const _: () = assert!(core::mem::size_of::<RenameEvent>() == crate::event::HEADER_SIZE + 40 + 2 * PATH_CAP);

/// Key of the `FILES_WATCHED` map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub ino: u64,
    /// Kernel `dev_t` (`major << 20 | minor`).
    pub dev: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<FileKey>() == 16);

/// An open of the family that matched the watch (`kind::FILE_OPEN`), written at syscall exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenEvent {
    pub header: EventHeader,
    /// The new fd, or a negated errno.
    pub ret: i64,
    pub duration_ns: u64,
    /// Open flags (`O_*`), as the caller passed them.
    pub flags: u64,
    /// Inode of the opened file (`status::FILE_KNOWN`).
    pub ino: u64,
    /// Inode of the directory a relative path starts at (`status::BASE_KNOWN`).
    pub base_ino: u64,
    /// Kernel `dev_t` of the opened file.
    pub dev: u32,
    /// Kernel `dev_t` of the start directory.
    pub base_dev: u32,
    /// Real uid of the caller.
    pub uid: u32,
    /// The dirfd passed (`AT_FDCWD` = -100 for open and creat).
    pub dfd: i32,
    pub mode: u32,
    /// `status::*`.
    pub status: u32,
    /// `call::*`.
    pub call: u16,
    /// Bytes valid in `path`.
    pub path_len: u16,
    pub _pad: u32,
    /// The file name as the caller passed it (not NUL-terminated).
    pub path: [u8; PATH_CAP],
}
const _: () = assert!(core::mem::size_of::<OpenEvent>() == crate::event::HEADER_SIZE + 72 + PATH_CAP);

impl Default for OpenEvent {
    fn default() -> Self {
        OpenEvent {
            header: EventHeader::default(),
            ret: 0,
            duration_ns: 0,
            flags: 0,
            ino: 0,
            base_ino: 0,
            dev: 0,
            base_dev: 0,
            uid: 0,
            dfd: 0,
            mode: 0,
            status: 0,
            call: 0,
            path_len: 0,
            _pad: 0,
            path: [0; PATH_CAP],
        }
    }
}

/// `stat`'s `st_dev` (glibc encoding) in the kernel's internal `dev_t` encoding, as `s_dev` holds it.
pub const fn kernel_dev(st_dev: u64) -> u32 {
    let major = ((st_dev >> 8) & 0xfff) | ((st_dev >> 32) & !0xfff);
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & !0xff);
    ((major as u32) << 20) | (minor as u32 & 0xfffff)
}

/// Bit of a base name's length in `FILES_NAME_LENS` (lengths of 63 bytes and more share the last bit).
pub const fn name_len_bit(len: usize) -> u64 {
    1 << if len < 63 { len } else { 63 }
}

/// Words of the `FILES_INO_BITS` array: one bit per hash of a watched inode number.
pub const INO_BITS_WORDS: u32 = 4096;

/// (word, bit) of an inode number in `FILES_INO_BITS`. Any device, any role: a clear bit means no watch can
/// concern that inode, and the kernel skips the device read and the hash lookups.
pub const fn ino_bit(ino: u64) -> (u32, u32) {
    let hash = ino.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - 18); // 2^18 bits = 4096 words of 64
    ((hash >> 6) as u32, (hash & 63) as u32)
}

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The `FILES_NAMES` key of a base name.
pub fn name_key(name: &[u8]) -> [u8; NAME_KEY] {
    let mut key = [0u8; NAME_KEY];
    let len = name.len().min(NAME_KEY - 1);
    key[..len].copy_from_slice(&name[..len]);
    key
}

/// FNV-1a over `bytes`: the hash the kernel computes for base names (`FILES_BASENAMES`) and directory prefixes
/// (`FILES_PREFIXES`) while it scans a requested path.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ino_bits_stay_in_the_array() {
        for ino in [0, 1, 2, 12345, u64::MAX, 1 << 40] {
            let (word, bit) = ino_bit(ino);
            assert!(word < INO_BITS_WORDS && bit < 64, "{ino}");
        }
        assert_ne!(ino_bit(2), ino_bit(3));
    }

    #[test]
    fn converts_devices() {
        // makedev(8, 1) and makedev(259, 65536) in glibc's encoding.
        assert_eq!(kernel_dev(0x801), (8 << 20) | 1);
        let (major, minor) = (259u64, 65536u64);
        let st_dev = ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12);
        assert_eq!(kernel_dev(st_dev), (259 << 20) | 65536);
    }

    #[test]
    fn hashes_like_fnv1a() {
        assert_eq!(fnv1a(b""), FNV_OFFSET);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
