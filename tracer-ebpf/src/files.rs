//! Opens, for `tracer opens`: `syscalls:sys_enter/sys_exit_{open,openat,openat2,creat,open_by_handle_at}`.
//!
//! The enter keeps the dirfd, the file-name pointer and the flags in `OPEN_INFLIGHT` (by tid); the file name is
//! read at the exit, when the caller's page is resident (reading it at enter fails for fresh .rodata pages).
//!
//! Matching strategy (filters run before anything is reserved; a process opening other files pays the checks
//! and sends nothing):
//! - **Successful opens** are matched by the opened file's identity, not by its spelling: the exit follows the new
//!   fd to its `struct file` (task → files → fdtable → fd[] → file → dentry → inode) and looks (device, inode) up in
//!   `FILES_WATCHED`. Exact for every spelling — relative, dirfd, `..`, symlinks, hard links.
//!   Directory watches climb the file's dentry parents (at most `MAX_DEPTH` levels), comparing each directory
//!   with the watched ones. A watched file that did not exist at start (or was replaced since) is caught by the
//!   first step of that climb: its directory is marked `watch::PARENT`, and a file opened there whose dentry name
//!   hashes into `FILES_NAMES` is sent as a candidate that user space confirms with `stat`.
//! - **Failed opens** have no file: the requested string is scanned once, hashing its base name (compared with
//!   `FILES_NAMES`) and every directory prefix of an absolute path (compared with `FILES_PREFIXES`); a relative
//!   path under a watched directory is found by climbing from its start directory (cwd or the dirfd). These are
//!   lexical candidates: user space resolves the path (cwd/dirfd identity from the kernel, /proc while the
//!   process lives) and keeps only real matches.
//!
//! The exit runs in stages chained by tail calls (`FILES_STAGES`, `stage::*`): `files_open_exit` (filters, the
//! identity match), `files_open_failed` (read and hash the requested path), `files_open_match` (look the hashes
//! up, climb from the start directory), `files_open_send` (the record). Each is verified on its own; in one
//! program the verifier walked everything after the path loop once per byte where the loop could end (about
//! 900,000 instructions on Linux 6.1, against its limit of a million; under 30,000 per stage now).
//!
//! Limits: the climb stops at the root of the file's filesystem, so a directory watch does not see files on a
//! filesystem mounted below the watched directory; device numbers are the superblock's (`s_dev`), which differ
//! from `stat`'s on btrfs subvolumes and overlayfs; failed opens through a symlinked directory are not matched.

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_uid_gid, bpf_probe_read_user, bpf_probe_read_user_str_bytes,
        generated,
    },
    macros::{map, tracepoint},
    maps::{Array, HashMap, PerCpuArray, ProgramArray},
    programs::TracePointContext,
};
use tracer_common::{
    event::{kind, lost},
    files::{
        FNV_OFFSET, FNV_PRIME, FileKey, INO_BITS_WORDS, MAX_DEPTH, NAME_KEY, OPEN_INFLIGHT_SLOTS, OpenEvent,
        OpenInflight, PATH_CAP, PREFIX_SLOTS, RENAME_INFLIGHT_SLOTS, RenameEvent, RenameInflight, SYSCALL_ARGS_OFFSET,
        WATCH_SLOTS, call, ino_bit, name_len_bit, rename_call, stage, status, watch,
    },
};

use crate::{
    emit::{OPEN, emit},
    kernel::{
        DentryWords, VFS_DENTRY_INODE, VFS_FILE_DENTRY, VFS_FS_PWD_DENTRY, VFS_INODE_INO, VFS_INODE_SB, VFS_SB_DEV,
        VFS_TASK_FS, current_task, file_of_fd, try_read, word,
    },
    maps::{count_lost, global, is_traced, now_ns},
};

#[map]
static OPEN_INFLIGHT: Array<OpenInflight> = Array::with_max_entries(OPEN_INFLIGHT_SLOTS, 0);
/// (device, inode) → `watch::*` bits.
#[map]
static FILES_WATCHED: HashMap<FileKey, u32> = HashMap::with_max_entries(WATCH_SLOTS, 0);
/// A bit per hash of every inode number in `FILES_WATCHED` (see `watched`).
#[map]
static FILES_INO_BITS: Array<u64> = Array::with_max_entries(INO_BITS_WORDS, 0);
/// One word: a bit per length of the base names in `FILES_NAMES` (`name_len_bit`).
#[map]
static FILES_NAME_LENS: Array<u64> = Array::with_max_entries(1, 0);
/// Base names of watched files as fixed-size keys (dentry names of successful opens) → 1.
#[map]
static FILES_NAMES: HashMap<[u8; NAME_KEY], u8> = HashMap::with_max_entries(WATCH_SLOTS, 0);
/// FNV-1a of the base names of watched files (requested names of failed opens) → 1.
#[map]
static FILES_BASENAMES: HashMap<u64, u8> = HashMap::with_max_entries(WATCH_SLOTS, 0);
/// FNV-1a of watched directories' absolute paths (no trailing slash) → 1.
#[map]
static FILES_PREFIXES: HashMap<u64, u8> = HashMap::with_max_entries(WATCH_SLOTS, 0);
/// The stages of the open exit after the first (`stage::*`), set by user space.
#[map]
static FILES_STAGES: ProgramArray = ProgramArray::with_max_entries(stage::SLOTS, 0);
/// Room for a path before it is known to be wanted (the 512-byte stack cannot hold it with the rest), and what the
/// stages of the exit hand each other.
#[map]
static FILES_SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

#[repr(C)]
struct Scratch {
    path: [u8; PATH_CAP],
    /// FNV-1a of each directory prefix of `path` (see `hash_path`).
    prefixes: [u64; PREFIX_SLOTS],
    hashes: PathHashes,
    /// From one stage of the exit to the next.
    handover: Handover,
}

/// Non-zero: every open of the traced processes is reported (no path given).
#[unsafe(no_mangle)]
static FILES_UNFILTERED: u8 = 0;
/// Non-zero: only failed opens (`--failed`).
#[unsafe(no_mangle)]
static FILES_FAILED_ONLY: u8 = 0;
/// Non-zero when some watched path is a directory (enables the parent climb and the prefix checks).
#[unsafe(no_mangle)]
static FILES_HAVE_DIRS: u8 = 0;

const AT_FDCWD: i32 = -100;
const O_WRONLY_CREAT_TRUNC: u64 = 0o1 | 0o100 | 0o1000;

/// Argument `N` of a `sys_enter_*` record, or the return value (`arg::<0>`) of a `sys_exit_*` one. One volatile
/// load at a constant offset (user space checked the format files): a wider read made LLVM emit a modified context
/// pointer, which the verifier refuses, and a helper copy per field costs more than the rest of the program.
#[inline(always)]
fn arg<const N: usize>(ctx: &TracePointContext) -> u64 {
    use aya_ebpf::EbpfContext;
    unsafe { core::ptr::read_volatile((ctx.as_ptr() as *const u8).add(SYSCALL_ARGS_OFFSET + 8 * N) as *const u64) }
}

#[inline(always)]
fn enter(call: u16, dfd: i32, filename: u64, flags: u64, mode: u64) {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return;
    }
    let tid = pid_tgid as u32;
    if let Some(slot) = OPEN_INFLIGHT.get_ptr_mut(tid & (OPEN_INFLIGHT_SLOTS - 1)) {
        unsafe {
            *slot = OpenInflight { enter_ns: now_ns(), filename, flags, tid, dfd, mode: mode as u32, call, _pad: 0 }
        };
    }
}

#[tracepoint]
pub fn files_open_enter(ctx: TracePointContext) -> u32 {
    enter(call::OPEN, AT_FDCWD, arg::<0>(&ctx), arg::<1>(&ctx), arg::<2>(&ctx));
    0
}

#[tracepoint]
pub fn files_openat_enter(ctx: TracePointContext) -> u32 {
    enter(call::OPENAT, arg::<0>(&ctx) as i32, arg::<1>(&ctx), arg::<2>(&ctx), arg::<3>(&ctx));
    0
}

#[tracepoint]
pub fn files_openat2_enter(ctx: TracePointContext) -> u32 {
    // The `struct open_how *` (argument 2) stands in for the flags: they are read at exit.
    enter(call::OPENAT2, arg::<0>(&ctx) as i32, arg::<1>(&ctx), arg::<2>(&ctx), 0);
    0
}

#[tracepoint]
pub fn files_creat_enter(ctx: TracePointContext) -> u32 {
    enter(call::CREAT, AT_FDCWD, arg::<0>(&ctx), O_WRONLY_CREAT_TRUNC, arg::<1>(&ctx));
    0
}

#[tracepoint]
pub fn files_by_handle_enter(ctx: TracePointContext) -> u32 {
    enter(call::OPEN_BY_HANDLE_AT, arg::<0>(&ctx) as i32, 0, arg::<2>(&ctx), 0);
    0
}

/// The open this thread entered, if its slot still holds it.
#[inline(always)]
fn take_inflight(tid: u32) -> Option<OpenInflight> {
    let slot = OPEN_INFLIGHT.get_ptr_mut(tid & (OPEN_INFLIGHT_SLOTS - 1))?;
    let slot = unsafe { &mut *slot };
    if slot.tid != tid {
        return None;
    }
    slot.tid = 0;
    Some(*slot)
}

/// An opened file: its dentry (with its parent and name), inode and inode number. Its device takes two more reads
/// and is read only when a watch may concern the inode (`dev_of`).
#[derive(Clone, Copy)]
struct Opened {
    dentry: u64,
    words: DentryWords,
    ino: u64,
}

/// Three helper calls where the layouts allow (file → dentry, the dentry's words, the inode's number): every
/// open of the traced processes pays them, watched or not.
#[inline(always)]
fn opened(file: u64) -> Option<Opened> {
    let dentry: u64 = try_read(file, global(&VFS_FILE_DENTRY))?;
    let words = DentryWords::read(dentry);
    let ino: u64 = try_read(words.inode, global(&VFS_INODE_INO))?;
    Some(Opened { dentry, words, ino })
}

/// The device of an inode (`i_sb->s_dev`), 0 when it cannot be read.
#[inline(always)]
fn dev_of(inode: u64) -> u32 {
    try_read(word(inode, global(&VFS_INODE_SB)), global(&VFS_SB_DEV)).unwrap_or(0)
}

#[inline(always)]
fn dentry_identity(dentry: u64) -> Option<FileKey> {
    let inode: u64 = try_read(dentry, global(&VFS_DENTRY_INODE))?;
    let ino: u64 = try_read(inode, global(&VFS_INODE_INO))?;
    Some(FileKey { ino, dev: dev_of(inode), _pad: 0 })
}

/// `watch::*` bits of an inode. Most opens concern no watch: an inlined bit test on the inode number lets them
/// skip the device read and the hash lookup.
#[inline(always)]
fn watched(ino: u64, inode: u64) -> u32 {
    let (word_index, bit) = ino_bit(ino);
    match FILES_INO_BITS.get(word_index) {
        Some(bits) if *bits >> bit & 1 != 0 => {}
        _ => return 0,
    }
    let key = FileKey { ino, dev: dev_of(inode), _pad: 0 };
    unsafe { FILES_WATCHED.get(key) }.copied().unwrap_or(0)
}

/// Climbs from `start` (included) towards the root of its filesystem; `hit` when a watched directory is on the way
/// (`MATCH_DIR` from an opened file's parent, `MATCH_BASE_DIR` from a start directory). Only taken when some
/// watched path is a directory. Each level costs two helper reads where the dentry layout allows (its parent and
/// inode together, `DentryWords`, then the inode number), three otherwise.
///
/// Written for the verifier: one loop exit per condition and no state carried but the dentry, so that each
/// iteration is walked once.
#[inline(always)]
fn climb(start: u64, hit: u32) -> u32 {
    if global(&FILES_HAVE_DIRS) == 0 {
        return 0;
    }
    let mut current = start;
    for _ in 0..MAX_DEPTH {
        if current == 0 {
            break;
        }
        let level = DentryWords::read(current);
        if watched(word(level.inode, global(&VFS_INODE_INO)), level.inode) & watch::DIR != 0 {
            return hit;
        }
        let parent = level.parent();
        // The root of this filesystem is its own parent.
        current = if parent == current { 0 } else { parent };
    }
    0
}

/// Whether a file was opened in the directory of a watched file under a watched name: the candidate for a
/// watched file created (or replaced) since the watch started. The name is compared as a fixed-size key.
#[inline(always)]
fn parent_and_name_watched(words: &DentryWords) -> bool {
    // The name's length first: files next to a watched one mostly have other lengths.
    let lens = FILES_NAME_LENS.get(0).copied().unwrap_or(0);
    if lens & name_len_bit(words.name_len as usize) == 0 {
        return false;
    }
    let inode = word(words.parent(), global(&VFS_DENTRY_INODE));
    if watched(word(inode, global(&VFS_INODE_INO)), inode) & watch::PARENT == 0 {
        return false;
    }
    let mut key = [0u8; NAME_KEY];
    unsafe { generated::bpf_probe_read_kernel_str(key.as_mut_ptr().cast(), NAME_KEY as u32, words.name() as *const _) };
    unsafe { FILES_NAMES.get(key) }.is_some()
}

/// Hashes a requested path (in the scratch buffer, NUL-terminated) for `match_path`: the FNV-1a of the whole
/// path and of its base name, and in `prefixes` that of every directory prefix ending before a `/` (slot 0 holds
/// the empty prefix before a leading `/`). Branch-free but for the end of the string: the hash restarts at each
/// `/` by arithmetic, and a prefix's slot index only advances at a `/`.
///
/// Alone in its program (`files_open_failed`), followed by a tail call: the verifier walks the rest once per
/// place this loop can end (every byte), so the rest lives in the next stage.
#[inline(always)]
fn hash_path(scratch: &mut Scratch) {
    let mut whole = FNV_OFFSET;
    let mut base = FNV_OFFSET;
    let mut count: u64 = 0;
    for i in 0..PATH_CAP {
        let b = scratch.path[i] as u64;
        if b == 0 {
            break;
        }
        // 1 for '/', 0 otherwise: (b ^ '/') - 1 wraps to the top bit only for 0.
        let slash = (b ^ b'/' as u64).wrapping_sub(1) >> 63;
        let mixed = (base ^ b).wrapping_mul(FNV_PRIME);
        base = mixed ^ ((mixed ^ FNV_OFFSET) & slash.wrapping_neg());
        let slot = core::hint::black_box(count & (PREFIX_SLOTS as u64 - 1)) as usize;
        if let Some(s) = scratch.prefixes.get_mut(slot) {
            *s = whole;
        }
        count += slash;
        whole = (whole ^ b).wrapping_mul(FNV_PRIME);
    }
    scratch.hashes = PathHashes { whole, base, count };
}

/// `MATCH_BASENAME` when the hashed path's base name is in `FILES_BASENAMES`, `MATCH_PREFIX` when it is absolute
/// and it or one of its directory prefixes is in `FILES_PREFIXES` (see `hash_path`).
#[inline(always)]
fn match_path(scratch: &Scratch) -> u32 {
    let PathHashes { whole, base, count } = scratch.hashes;
    let mut found = 0;
    if unsafe { FILES_BASENAMES.get(base) }.is_some() {
        found |= status::MATCH_BASENAME;
    }
    if global(&FILES_HAVE_DIRS) != 0 && scratch.path[0] == b'/' {
        if unsafe { FILES_PREFIXES.get(whole) }.is_some() {
            found |= status::MATCH_PREFIX;
        }
        // Slot 0 holds the empty prefix before the leading '/'.
        for k in 1..PREFIX_SLOTS {
            if k as u64 >= count {
                break;
            }
            if unsafe { FILES_PREFIXES.get(scratch.prefixes[k]) }.is_some() {
                found |= status::MATCH_PREFIX;
                break;
            }
        }
    }
    found
}

/// The dentry a relative path starts at: the cwd for `AT_FDCWD`, else the dirfd's.
#[inline(always)]
fn base_dentry(dfd: i32) -> Option<u64> {
    if dfd == AT_FDCWD {
        let fs: u64 = try_read(current_task(), global(&VFS_TASK_FS))?;
        return try_read(fs, global(&VFS_FS_PWD_DENTRY));
    }
    try_read(file_of_fd(dfd, false), global(&VFS_FILE_DENTRY))
}

/// Reads the requested path into the scratch buffer: (bytes, status bits).
#[inline(always)]
fn read_path(filename: u64, buf: &mut [u8; PATH_CAP]) -> (usize, u32) {
    if filename == 0 {
        return (0, status::PATH_FAULT);
    }
    match unsafe { bpf_probe_read_user_str_bytes(filename as *const u8, buf) } {
        // The copy stops one short of the buffer when the string did not fit.
        Ok(bytes) if bytes.len() >= PATH_CAP - 1 => (bytes.len(), status::PATH_TRUNCATED),
        Ok(bytes) => (bytes.len(), 0),
        Err(_) => (0, status::PATH_FAULT),
    }
}

/// The hashes of a requested path (`hash_path`).
#[repr(C)]
#[derive(Clone, Copy)]
struct PathHashes {
    whole: u64,
    base: u64,
    /// Slots of `Scratch::prefixes` filled.
    count: u64,
}

/// What one stage of the exit hands the next (a tail call stays on the CPU, so the per-CPU scratch carries it).
#[repr(C)]
#[derive(Clone, Copy)]
struct Handover {
    pid_tgid: u64,
    ret: i64,
    inflight: OpenInflight,
    file: FileKey,
    status: u32,
    /// Bytes of `Scratch::path` read (`PATH_READ` in `status` when it holds the requested path).
    path_len: u32,
}

/// `Handover::status` bit (beside `status::*`, never sent): the path is in the scratch buffer.
const PATH_READ: u32 = 1 << 31;

/// Stage 1, at every open's exit: the filters and, for a successful open, the match by the file's identity. A
/// failed open goes on to `files_open_failed`, a matched one to `files_open_send`.
#[tracepoint]
pub fn files_open_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let inflight = take_inflight(pid_tgid as u32);
    let ret = arg::<0>(&ctx) as i64;
    let failed = ret < 0;
    if !failed && global(&FILES_FAILED_ONLY) != 0 {
        return 0;
    }
    let unfiltered = global(&FILES_UNFILTERED) != 0;
    let mut st = if unfiltered { status::UNFILTERED } else { 0 };
    let mut file = FileKey::default();

    if !failed {
        // Identify the file behind the new fd; match it when a path filter is set.
        match opened(file_of_fd(ret as i32, true)) {
            Some(opened) => {
                st |= status::FILE_KNOWN;
                if !unfiltered {
                    if watched(opened.ino, opened.words.inode) & (watch::FILE | watch::DIR) != 0 {
                        st |= status::MATCH_FILE;
                    } else if parent_and_name_watched(&opened.words) {
                        st |= status::MATCH_NAME;
                    } else {
                        // From the parent, read with the file's dentry; a root opened is its own parent.
                        let parent = opened.words.parent();
                        st |= climb(if parent == opened.dentry { 0 } else { parent }, status::MATCH_DIR);
                    }
                }
                if unfiltered || st & (status::MATCH_FILE | status::MATCH_DIR | status::MATCH_NAME) != 0 {
                    file.ino = opened.ino;
                    file.dev = dev_of(opened.words.inode);
                }
            }
            None if !unfiltered => return 0,
            None => {}
        }
        if st & (status::MATCH_FILE | status::MATCH_DIR | status::MATCH_NAME | status::UNFILTERED) == 0 {
            return 0;
        }
    }
    let next = match inflight {
        Some(_) if failed && !unfiltered => stage::FAILED,
        Some(_) => stage::SEND,
        // Entered before the probes were attached: no name, no flags. Still worth a line when the file matched.
        None if failed && !unfiltered => return 0,
        None => stage::SEND,
    };
    let Some(scratch) = FILES_SCRATCH.get_ptr_mut(0) else { return 0 };
    let handover = unsafe { &mut (*scratch).handover };
    handover.pid_tgid = pid_tgid;
    handover.ret = ret;
    handover.file = file;
    handover.path_len = 0;
    match inflight {
        Some(inflight) => {
            handover.inflight = inflight;
            handover.status = st | status::ENTER_SEEN;
        }
        None => {
            handover.inflight = OpenInflight::default();
            handover.status = st;
        }
    }
    next_stage(&ctx, next);
    0
}

/// Tail-calls stage `index`. It only returns when the call failed (the stage is missing from `FILES_STAGES`):
/// the open is then counted as lost rather than dropped unseen.
#[inline(always)]
fn next_stage(ctx: &TracePointContext, index: u32) {
    unsafe { FILES_STAGES.tail_call(ctx, index) };
    count_lost(lost::FILES);
}

/// Stage 2, a failed open under a path filter: reads and hashes the requested path, then `files_open_match`.
#[tracepoint]
pub fn files_open_failed(ctx: TracePointContext) -> u32 {
    let Some(scratch) = FILES_SCRATCH.get_ptr_mut(0) else { return 0 };
    let scratch = unsafe { &mut *scratch };
    let (len, read_status) = read_path(scratch.handover.inflight.filename, &mut scratch.path);
    scratch.handover.status |= read_status | PATH_READ;
    scratch.handover.path_len = len as u32;
    hash_path(scratch);
    next_stage(&ctx, stage::MATCH);
    0
}

/// Stage 3 of a failed open: a lexical candidate when its requested path names a watched file or lies below a
/// watched directory (user space resolves it and keeps only real matches).
#[tracepoint]
pub fn files_open_match(ctx: TracePointContext) -> u32 {
    let Some(scratch) = FILES_SCRATCH.get_ptr_mut(0) else { return 0 };
    let scratch = unsafe { &mut *scratch };
    let mut found = match_path(scratch);
    let relative = scratch.handover.path_len > 0 && scratch.path[0] != b'/';
    if relative
        && found & status::MATCH_BASENAME == 0
        && let Some(base) = base_dentry(scratch.handover.inflight.dfd)
    {
        found |= climb(base, status::MATCH_BASE_DIR);
    }
    if found & (status::MATCH_BASENAME | status::MATCH_PREFIX | status::MATCH_BASE_DIR) == 0 {
        return 0;
    }
    scratch.handover.status |= found;
    next_stage(&ctx, stage::SEND);
    0
}

/// The last stage: what the record needs besides the match (the requested path, the start directory of a relative
/// one, openat2's flags), then the record.
#[tracepoint]
pub fn files_open_send(_ctx: TracePointContext) -> u32 {
    let Some(scratch) = FILES_SCRATCH.get_ptr_mut(0) else { return 0 };
    let scratch = unsafe { &mut *scratch };
    let mut st = scratch.handover.status;
    let entered = st & status::ENTER_SEEN != 0;
    if entered && st & PATH_READ == 0 {
        let (len, read_status) = read_path(scratch.handover.inflight.filename, &mut scratch.path);
        st |= read_status;
        scratch.handover.path_len = len as u32;
    }
    let len = if entered { scratch.handover.path_len as usize } else { 0 };
    let inflight = scratch.handover.inflight;
    // What user space needs to resolve a relative name once the process is gone: its start directory.
    let relative = len > 0 && scratch.path[0] != b'/';
    let mut base = FileKey::default();
    if entered
        && (relative || inflight.call == call::OPEN_BY_HANDLE_AT)
        && let Some(dentry) = base_dentry(inflight.dfd)
        && let Some(identity) = dentry_identity(dentry)
    {
        base = identity;
        st |= status::BASE_KNOWN;
    }
    let mut flags = inflight.flags;
    if inflight.call == call::OPENAT2 {
        // `struct open_how` starts with `__u64 flags`; the kernel copied it in, so it is resident.
        flags = unsafe { bpf_probe_read_user(inflight.flags as *const u64) }.unwrap_or(0);
    }
    send(scratch, st & !PATH_READ, flags, &base, entered, len);
    0
}

/// The record of an open, from the handover and the scratch path. `tracer monitor --watch` gives opens their own
/// bucket, so that an open storm cannot starve the other kinds (no limit for `tracer opens`).
#[inline(always)]
fn send(scratch: &Scratch, status: u32, flags: u64, base: &FileKey, entered: bool, path_len: usize) {
    let handover = &scratch.handover;
    emit::<OpenEvent>(OPEN, kind::FILE_OPEN, handover.pid_tgid, |event, now| {
        event.ret = handover.ret;
        event.duration_ns = if entered { now.saturating_sub(handover.inflight.enter_ns) } else { 0 };
        event.flags = flags;
        event.ino = handover.file.ino;
        event.dev = handover.file.dev;
        event.base_ino = base.ino;
        event.base_dev = base.dev;
        event.uid = bpf_get_current_uid_gid() as u32;
        event.dfd = handover.inflight.dfd;
        event.mode = handover.inflight.mode;
        event.status = status;
        event.call = handover.inflight.call;
        event._pad = 0;
        event.path_len = 0;
        // One helper copy of the bytes read (the size is masked so that the verifier sees it bounded).
        let size = (path_len as u32) & (PATH_CAP as u32 - 1);
        if size > 0 {
            let copied = unsafe {
                generated::bpf_probe_read_kernel(event.path.as_mut_ptr().cast(), size, scratch.path.as_ptr().cast())
            };
            if copied == 0 {
                event.path_len = size as u16;
            }
        }
    });
}

// Renames, links and symlinks onto a watched path: `syscalls:sys_enter/sys_exit_{rename,renameat,renameat2,link,
// linkat,symlink,symlinkat}`, attached only while a path is watched. The enter keeps both names' pointers and
// dirfds; a successful exit reads and hashes the new name (`files_rename_exit`) and tail-calls
// `files_rename_match`, which matches it as the open probe matches a watched file: the base name in
// `FILES_NAMES`/`FILES_BASENAMES` and, for a name without a `/`, its directory (cwd or dirfd) marked
// `watch::PARENT` (exact); a name with a `/` is a lexical candidate that user space resolves and confirms.

#[map]
static RENAME_INFLIGHT: Array<RenameInflight> = Array::with_max_entries(RENAME_INFLIGHT_SLOTS, 0);

/// The new name being matched (hashed in `Scratch`, as a failed open's), the old one, and the call.
#[repr(C)]
struct RenameScratch {
    new: Scratch,
    old: [u8; PATH_CAP],
    inflight: RenameInflight,
}

#[map]
static RENAME_SCRATCH: PerCpuArray<RenameScratch> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
fn rename_enter(call: u16, old_dfd: i32, old: u64, new_dfd: i32, new: u64) {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return;
    }
    let tid = pid_tgid as u32;
    if let Some(slot) = RENAME_INFLIGHT.get_ptr_mut(tid & (RENAME_INFLIGHT_SLOTS - 1)) {
        unsafe { *slot = RenameInflight { old, new, tid, old_dfd, new_dfd, call, _pad: 0 } };
    }
}

#[tracepoint]
pub fn files_rename_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::RENAME, AT_FDCWD, arg::<0>(&ctx), AT_FDCWD, arg::<1>(&ctx));
    0
}

#[tracepoint]
pub fn files_renameat_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::RENAMEAT, arg::<0>(&ctx) as i32, arg::<1>(&ctx), arg::<2>(&ctx) as i32, arg::<3>(&ctx));
    0
}

#[tracepoint]
pub fn files_renameat2_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::RENAMEAT2, arg::<0>(&ctx) as i32, arg::<1>(&ctx), arg::<2>(&ctx) as i32, arg::<3>(&ctx));
    0
}

#[tracepoint]
pub fn files_link_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::LINK, AT_FDCWD, arg::<0>(&ctx), AT_FDCWD, arg::<1>(&ctx));
    0
}

#[tracepoint]
pub fn files_linkat_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::LINKAT, arg::<0>(&ctx) as i32, arg::<1>(&ctx), arg::<2>(&ctx) as i32, arg::<3>(&ctx));
    0
}

#[tracepoint]
pub fn files_symlink_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::SYMLINK, AT_FDCWD, arg::<0>(&ctx), AT_FDCWD, arg::<1>(&ctx));
    0
}

#[tracepoint]
pub fn files_symlinkat_enter(ctx: TracePointContext) -> u32 {
    rename_enter(rename_call::SYMLINKAT, AT_FDCWD, arg::<0>(&ctx), arg::<1>(&ctx) as i32, arg::<2>(&ctx));
    0
}

/// At every rename-family exit: a successful call's new name, read and hashed, then `files_rename_match`.
#[tracepoint]
pub fn files_rename_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    let Some(slot) = RENAME_INFLIGHT.get_ptr_mut(pid_tgid as u32 & (RENAME_INFLIGHT_SLOTS - 1)) else { return 0 };
    let slot = unsafe { &mut *slot };
    if slot.tid != pid_tgid as u32 {
        return 0; // entered before the probes were attached, or its slot was taken: no names to match
    }
    slot.tid = 0;
    // A failed call replaced nothing.
    if arg::<0>(&ctx) != 0 {
        return 0;
    }
    let Some(scratch) = RENAME_SCRATCH.get_ptr_mut(0) else { return 0 };
    let scratch = unsafe { &mut *scratch };
    scratch.inflight = *slot;
    let (len, read_status) = read_path(slot.new, &mut scratch.new.path);
    if len == 0 {
        return 0;
    }
    scratch.new.handover.pid_tgid = pid_tgid;
    scratch.new.handover.status = read_status;
    scratch.new.handover.path_len = len as u32;
    hash_path(&mut scratch.new);
    next_stage(&ctx, stage::RENAME_MATCH);
    0
}

/// The new name's match (see above), then the record with both names.
#[tracepoint]
pub fn files_rename_match(_ctx: TracePointContext) -> u32 {
    let Some(scratch) = RENAME_SCRATCH.get_ptr_mut(0) else { return 0 };
    let scratch = unsafe { &mut *scratch };
    let mut found = match_path(&scratch.new);
    let relative = scratch.new.path[0] != b'/';
    let mut st = scratch.new.handover.status;
    let mut base = FileKey::default();
    if relative && let Some(dentry) = base_dentry(scratch.inflight.new_dfd) {
        if let Some(identity) = dentry_identity(dentry) {
            base = identity;
            st |= status::BASE_KNOWN;
        }
        // A bare name: its directory is the start directory, compared by identity.
        if scratch.new.hashes.count == 0 && found & status::MATCH_BASENAME != 0 {
            found &= !status::MATCH_BASENAME;
            let inode = word(dentry, global(&VFS_DENTRY_INODE));
            if watched(word(inode, global(&VFS_INODE_INO)), inode) & watch::PARENT != 0 {
                found |= status::MATCH_NAME;
            }
        }
        if found == 0 {
            found |= climb(dentry, status::MATCH_BASE_DIR);
        }
    } else if relative && scratch.new.hashes.count == 0 {
        found &= !status::MATCH_BASENAME; // a bare name whose directory cannot be known: not one of ours
    }
    if found & (status::MATCH_NAME | status::MATCH_BASENAME | status::MATCH_PREFIX | status::MATCH_BASE_DIR) == 0 {
        return 0;
    }
    st |= found;
    let old_len = match unsafe { bpf_probe_read_user_str_bytes(scratch.inflight.old as *const u8, &mut scratch.old) } {
        Ok(bytes) => bytes.len(),
        Err(_) => 0,
    };
    let new_len = scratch.new.handover.path_len as usize;
    let inflight = scratch.inflight;
    emit::<RenameEvent>(OPEN, kind::FILE_RENAME, scratch.new.handover.pid_tgid, |event, _| {
        event.base_ino = base.ino;
        event.base_dev = base.dev;
        event.uid = bpf_get_current_uid_gid() as u32;
        event.old_dfd = inflight.old_dfd;
        event.new_dfd = inflight.new_dfd;
        event.status = st;
        event.call = inflight.call;
        event.old_len = 0;
        event.new_len = 0;
        event._pad = [0; 6];
        let size = (old_len as u32) & (PATH_CAP as u32 - 1);
        if size > 0
            && unsafe {
                generated::bpf_probe_read_kernel(event.old.as_mut_ptr().cast(), size, scratch.old.as_ptr().cast())
            } == 0
        {
            event.old_len = size as u16;
        }
        let size = (new_len as u32) & (PATH_CAP as u32 - 1);
        if size > 0
            && unsafe {
                generated::bpf_probe_read_kernel(event.new.as_mut_ptr().cast(), size, scratch.new.path.as_ptr().cast())
            } == 0
        {
            event.new_len = size as u16;
        }
    });
    0
}
