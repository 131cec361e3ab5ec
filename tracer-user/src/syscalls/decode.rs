//! The syscall table and argument formatting, driven by the running kernel's own tracepoint formats
//! (`events/syscalls/sys_enter_*/format`: argument names and C types for every syscall it knows). Hand-written
//! formatters are kept for what needs meaning: open flags, AT_FDCWD, modes, signal numbers.

use std::{borrow::Cow, fmt::Write as _, sync::OnceLock};

use tracer_common::decode::SyscallRecord;
use tracer_common::syscalls::{CAPTURE_SLOTS, MAX_SYSCALL_NR, SyscallSpec, capture, is_error_return, status};

use crate::{escape::quoted, signames::signal_name, tracefs::SyscallFormat};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Signed32,
    Signed64,
    Unsigned,
    Hex,
    Pointer,
    Fd,
    DirFd,
    /// NUL-terminated string copied by the kernel (paths, names). Never cut at `-s`, as in strace.
    Path,
    /// Data passed in (write); its length is in argument `len_arg`.
    BufferIn {
        len_arg: u8,
    },
    /// Data filled by the kernel (read); its length is the return value.
    BufferOut,
    OpenFlags,
    Mode,
    Signal,
    /// `PROT_*` (mmap, mprotect).
    Prot,
    /// `MAP_*` (mmap).
    MapFlags,
    /// `F_OK` / `R_OK|W_OK|X_OK` (access, faccessat).
    AccessMode,
    /// `AT_*` flags of the *at calls.
    AtFlags,
}

#[derive(Clone, Debug)]
pub struct ArgInfo {
    pub name: String,
    pub kind: ArgKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnKind {
    Int,
    Address,
    Fd,
}

#[derive(Clone, Debug)]
pub struct SyscallInfo {
    pub nr: i32,
    pub name: String,
    /// `None` when the kernel has no format for it: arguments are shown raw.
    pub args: Option<Vec<ArgInfo>>,
    pub returns: ReturnKind,
}

impl SyscallInfo {
    /// Arguments copied from user memory, in capture-slot order: (argument index, kind).
    fn captures(&self) -> impl Iterator<Item = (usize, ArgKind)> + '_ {
        self.args
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, a)| matches!(a.kind, ArgKind::Path | ArgKind::BufferIn { .. } | ArgKind::BufferOut))
            .map(|(i, a)| (i, a.kind))
            .take(CAPTURE_SLOTS)
    }

    pub fn has_path_arg(&self) -> bool {
        self.args.iter().flatten().any(|a| a.kind == ArgKind::Path && is_path_name(&a.name))
    }
}

fn is_path_name(name: &str) -> bool {
    matches!(
        name,
        "filename"
            | "pathname"
            | "path"
            | "oldname"
            | "newname"
            | "oldpath"
            | "newpath"
            | "specialfile"
            | "dir_name"
            | "library"
            | "old_dir"
            | "new_dir"
            | "name"
            | "target"
            | "linkpath"
            | "dev_name"
            | "dir"
    )
}

fn classify(syscall: &str, c_type: &str, name: &str, siblings: &[(String, String)]) -> ArgKind {
    let open_like = matches!(syscall, "open" | "openat" | "creat" | "mq_open");
    if open_like && name == "flags" {
        return ArgKind::OpenFlags;
    }
    if name == "mode"
        && matches!(c_type, "umode_t" | "mode_t" | "int" | "unsigned int")
        && !matches!(syscall, "access" | "faccessat" | "faccessat2" | "ioprio_set")
    {
        return ArgKind::Mode;
    }
    if name == "sig"
        && matches!(
            syscall,
            "kill"
                | "tkill"
                | "tgkill"
                | "rt_sigqueueinfo"
                | "rt_tgsigqueueinfo"
                | "pidfd_send_signal"
                | "rt_sigaction"
        )
    {
        return ArgKind::Signal;
    }
    match (syscall, name) {
        ("mmap" | "mprotect" | "pkey_mprotect", "prot") => return ArgKind::Prot,
        ("mmap", "flags") => return ArgKind::MapFlags,
        ("access" | "faccessat" | "faccessat2", "mode") => return ArgKind::AccessMode,
        (
            "newfstatat" | "fstatat64" | "statx" | "unlinkat" | "linkat" | "fchownat" | "utimensat" | "faccessat2"
            | "fchmodat2" | "name_to_handle_at" | "execveat" | "open_tree" | "mount_setattr",
            "flag" | "flags",
        ) => {
            return ArgKind::AtFlags;
        }
        _ => {}
    }
    if c_type == "unsigned long" && matches!(name, "addr" | "start" | "brk" | "new_addr" | "old_addr" | "len_ptr") {
        return ArgKind::Pointer;
    }
    let pointer = c_type.contains('*');
    if !pointer && matches!(name, "dfd" | "olddfd" | "newdfd" | "dirfd" | "fromfd" | "tofd" | "to_dfd" | "from_dfd") {
        return ArgKind::DirFd;
    }
    // pipe2's `int *fildes` is where the kernel writes two descriptors, not one.
    if !pointer
        && matches!(name, "fd" | "oldfd" | "newfd" | "fd_in" | "fd_out" | "out_fd" | "in_fd" | "epfd" | "fildes")
    {
        return ArgKind::Fd;
    }
    if c_type == "const char *" || c_type == "char *" && is_path_name(name) {
        if let Some(len_arg) = length_sibling(siblings)
            && (name.contains("buf") || name.contains("msg"))
        {
            return ArgKind::BufferIn { len_arg };
        }
        return ArgKind::Path;
    }
    if c_type == "char *" && name.contains("buf") {
        return ArgKind::BufferOut;
    }
    if syscall == "sendto"
        && name == "buff"
        && let Some(len_arg) = length_sibling(siblings)
    {
        return ArgKind::BufferIn { len_arg };
    }
    if syscall == "recvfrom" && name == "ubuf" {
        return ArgKind::BufferOut;
    }
    if c_type.contains('*') {
        return ArgKind::Pointer;
    }
    if name.contains("flags") || name == "prot" || name == "cmd" && syscall == "fcntl" {
        return ArgKind::Hex;
    }
    match c_type {
        "int" | "pid_t" | "clockid_t" | "key_t" | "mqd_t" | "timer_t" => ArgKind::Signed32,
        "long" | "off_t" | "loff_t" | "ssize_t" => ArgKind::Signed64,
        _ => ArgKind::Unsigned,
    }
}

/// The argument carrying a buffer's length, by the names the kernel uses.
fn length_sibling(siblings: &[(String, String)]) -> Option<u8> {
    siblings
        .iter()
        .position(|(_, name)| matches!(name.as_str(), "count" | "len" | "size" | "msg_len" | "nbytes" | "bufsiz"))
        .map(|i| i as u8)
}

fn returns(name: &str) -> ReturnKind {
    match name {
        "mmap" | "mremap" | "brk" | "shmat" => ReturnKind::Address,
        "open" | "openat" | "openat2" | "creat" | "dup" | "dup2" | "dup3" | "socket" | "accept" | "accept4"
        | "epoll_create" | "epoll_create1" | "eventfd" | "eventfd2" | "signalfd" | "signalfd4" | "timerfd_create"
        | "inotify_init" | "inotify_init1" | "memfd_create" | "pidfd_open" | "open_by_handle_at" | "fanotify_init"
        | "perf_event_open" | "userfaultfd" | "open_tree" | "fsopen" | "fsmount" | "fspick" => ReturnKind::Fd,
        _ => ReturnKind::Int,
    }
}

/// Every syscall of this architecture, indexed by number.
pub struct SyscallTable {
    by_nr: Vec<Option<SyscallInfo>>,
}

impl SyscallTable {
    pub fn new(formats: &[SyscallFormat]) -> Self {
        let mut by_nr: Vec<Option<SyscallInfo>> = vec![None; MAX_SYSCALL_NR];
        for sysno in syscalls::Sysno::iter() {
            let nr = sysno.id();
            if let Some(slot) = usize::try_from(nr).ok().and_then(|i| by_nr.get_mut(i)) {
                let name = sysno.name().to_string();
                *slot = Some(SyscallInfo { nr, returns: returns(&name), name, args: None });
            }
        }
        for format in formats {
            let Some(Some(info)) = usize::try_from(format.nr).ok().and_then(|i| by_nr.get_mut(i)) else { continue };
            let siblings: Vec<(String, String)> =
                format.args.iter().map(|f| (f.c_type.clone(), f.name.clone())).collect();
            info.args = Some(
                format
                    .args
                    .iter()
                    .map(|f| ArgInfo {
                        name: f.name.clone(),
                        kind: classify(&info.name, &f.c_type, &f.name, &siblings),
                    })
                    .collect(),
            );
        }
        SyscallTable { by_nr }
    }

    pub fn get(&self, nr: i32) -> Option<&SyscallInfo> {
        usize::try_from(nr).ok().and_then(|i| self.by_nr.get(i)).and_then(Option::as_ref)
    }

    pub fn by_name(&self, name: &str) -> Option<&SyscallInfo> {
        self.iter().find(|info| info.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &SyscallInfo> {
        self.by_nr.iter().flatten()
    }

    pub fn name(&self, nr: i32) -> Cow<'_, str> {
        match self.get(nr) {
            Some(info) => Cow::Borrowed(&info.name),
            None => Cow::Owned(format!("syscall_{nr:#x}")),
        }
    }

    /// The kernel's per-syscall table: which syscalls to report and what to copy from user memory.
    pub fn specs(&self, wanted: impl Fn(&SyscallInfo) -> bool) -> Vec<SyscallSpec> {
        let mut specs = vec![SyscallSpec::default(); MAX_SYSCALL_NR];
        for info in self.iter() {
            let spec = &mut specs[info.nr as usize];
            spec.wanted = wanted(info) as u8;
            for (slot, (arg, kind)) in info.captures().enumerate() {
                spec.arg[slot] = arg as u8;
                (spec.kind[slot], spec.len_arg[slot]) = match kind {
                    ArgKind::Path => (capture::CSTRING, 0),
                    ArgKind::BufferIn { len_arg } => (capture::BUFFER_IN, len_arg),
                    _ => (capture::BUFFER_OUT, 0),
                };
            }
        }
        specs
    }
}

pub struct FormatOptions {
    /// `-s`: bytes of a data buffer shown.
    pub string_limit: usize,
    /// `-y`: annotate fds with their paths.
    pub show_fd_paths: bool,
}

/// A syscall rendered for output: the same strings feed the text line and the JSON `args`.
pub struct FormattedCall {
    pub name: String,
    pub args: Vec<String>,
    pub ret: String,
    pub errno: Option<&'static str>,
    pub errno_text: Option<&'static str>,
}

/// Kernel-internal restart codes a blocked call returns when a signal interrupts it (not in errno tables).
fn restart_code(ret: i64) -> Option<(&'static str, &'static str)> {
    match -ret {
        512 => Some(("ERESTARTSYS", "To be restarted if SA_RESTART is set")),
        513 => Some(("ERESTARTNOINTR", "To be restarted")),
        514 => Some(("ERESTARTNOHAND", "To be restarted if no handler")),
        515 => Some(("ENOIOCTLCMD", "No ioctl command")),
        516 => Some(("ERESTART_RESTARTBLOCK", "Interrupted by signal")),
        _ => None,
    }
}

/// `("ENOTTY", "Inappropriate ioctl for device")`: the kernel's name and, as strace prints it, glibc's text.
pub fn errno_name(errno: i32) -> Option<(&'static str, &'static str)> {
    restart_code(-i64::from(errno))
        .or_else(|| syscalls::Errno::new(errno).name_and_description().map(|(name, _)| (name, strerror(errno))))
}

/// glibc's `strerror` text (the syscalls crate's come from kernel comments: "Not a typewriter").
fn strerror(errno: i32) -> &'static str {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (0..256)
            .map(|n| {
                let text = std::io::Error::from_raw_os_error(n).to_string();
                text.strip_suffix(&format!(" (os error {n})")).map_or(text.clone(), str::to_string)
            })
            .collect()
    });
    usize::try_from(errno).ok().and_then(|i| texts.get(i)).map_or("Unknown error", String::as_str)
}

impl SyscallTable {
    /// `fd_path(fd)` resolves an fd of the calling process for `-y`.
    pub fn format(
        &self,
        record: &SyscallRecord,
        opts: &FormatOptions,
        fd_path: &dyn Fn(i64) -> Option<String>,
    ) -> FormattedCall {
        let event = &record.event;
        let info = self.get(event.nr);
        let name = self.name(event.nr).into_owned();
        let enter_seen = event.status & status::ENTER_SEEN != 0;
        let mut args = Vec::new();
        match info.and_then(|i| i.args.as_ref()) {
            Some(arg_infos) => {
                let mut slot = 0;
                let open_flags = arg_infos.iter().position(|a| a.kind == ArgKind::OpenFlags).map(|i| event.args[i]);
                for (i, arg) in arg_infos.iter().enumerate() {
                    let value = event.args[i];
                    let captured = matches!(arg.kind, ArgKind::Path | ArgKind::BufferIn { .. } | ArgKind::BufferOut)
                        && slot < CAPTURE_SLOTS;
                    let text = if captured {
                        let data = &record.data[slot];
                        let truncated = event.status & (status::TRUNCATED_0 << slot) != 0;
                        let fault = event.status & (status::FAULT_0 << slot) != 0;
                        slot += 1;
                        format_captured(arg.kind, value, data, truncated, fault, event.ret, opts)
                    } else if arg.kind == ArgKind::Mode
                        && i + 1 == arg_infos.len()
                        && open_flags.is_some_and(|f| f & (libc::O_CREAT | libc::O_TMPFILE) as u64 == 0)
                    {
                        // strace leaves out the mode of an open that cannot create.
                        continue;
                    } else {
                        format_scalar(arg.kind, value, opts, fd_path)
                    };
                    args.push(text);
                }
            }
            None => args.extend(event.args.iter().map(|v| format!("{v:#x}"))),
        }
        if !enter_seen && info.and_then(|i| i.args.as_ref()).is_some() && event.args == [0; 6] {
            // Classic exit tracepoints carry no arguments: say so rather than show zeros.
            args = vec!["<unavailable>".to_string()];
        }

        let (ret, errno, errno_text) = if let Some((errno, text)) = restart_code(event.ret) {
            ("?".to_string(), Some(errno), Some(text))
        } else if is_error_return(event.ret) {
            let (errno, text) = errno_name((-event.ret) as i32).unwrap_or(("E?", "Unknown error"));
            ("-1".to_string(), Some(errno), Some(text))
        } else {
            let ret = match info.map_or(ReturnKind::Int, |i| i.returns) {
                ReturnKind::Address => format!("{:#x}", event.ret as u64),
                ReturnKind::Fd if opts.show_fd_paths => annotate_fd(event.ret, fd_path),
                _ => event.ret.to_string(),
            };
            (ret, None, None)
        };
        FormattedCall { name, args, ret, errno, errno_text }
    }
}

fn format_captured(
    kind: ArgKind,
    value: u64,
    data: &[u8],
    truncated: bool,
    fault: bool,
    ret: i64,
    opts: &FormatOptions,
) -> String {
    if value == 0 {
        return "NULL".to_string();
    }
    if fault || kind == ArgKind::BufferOut && ret < 0 {
        return format!("{value:#x}");
    }
    match kind {
        ArgKind::Path => quoted(data, truncated),
        _ => {
            let shown = data.len().min(opts.string_limit);
            quoted(&data[..shown], truncated || shown < data.len())
        }
    }
}

fn annotate_fd(fd: i64, fd_path: &dyn Fn(i64) -> Option<String>) -> String {
    match fd_path(fd) {
        Some(path) => format!("{fd}<{}>", crate::escape::display_name(path.as_bytes())),
        None => fd.to_string(),
    }
}

fn format_scalar(kind: ArgKind, value: u64, opts: &FormatOptions, fd_path: &dyn Fn(i64) -> Option<String>) -> String {
    match kind {
        ArgKind::Signed32 => (value as u32 as i32).to_string(),
        ArgKind::Signed64 => (value as i64).to_string(),
        ArgKind::Unsigned => value.to_string(),
        ArgKind::Hex if value == 0 => "0".to_string(),
        ArgKind::Hex => format!("{value:#x}"),
        ArgKind::Pointer if value == 0 => "NULL".to_string(),
        ArgKind::Pointer | ArgKind::Path | ArgKind::BufferIn { .. } | ArgKind::BufferOut => format!("{value:#x}"),
        ArgKind::DirFd if value as u32 as i32 == libc::AT_FDCWD => "AT_FDCWD".to_string(),
        ArgKind::Fd | ArgKind::DirFd => {
            let fd = i64::from(value as u32 as i32);
            if opts.show_fd_paths { annotate_fd(fd, fd_path) } else { fd.to_string() }
        }
        ArgKind::OpenFlags => open_flags(value),
        ArgKind::Mode => format!("0{:02o}", value as u32),
        ArgKind::Signal => signal_name(value as i32).map_or_else(|| (value as i32).to_string(), str::to_string),
        ArgKind::Prot => flag_names(value, PROT, "PROT_NONE"),
        ArgKind::MapFlags => map_flags(value),
        ArgKind::AccessMode => flag_names(value, ACCESS, "F_OK"),
        ArgKind::AtFlags => flag_names(value, AT_FLAGS, "0"),
    }
}

const PROT: &[(u64, &str)] = &[
    (libc::PROT_READ as u64, "PROT_READ"),
    (libc::PROT_WRITE as u64, "PROT_WRITE"),
    (libc::PROT_EXEC as u64, "PROT_EXEC"),
    (libc::PROT_GROWSDOWN as u64, "PROT_GROWSDOWN"),
    (libc::PROT_GROWSUP as u64, "PROT_GROWSUP"),
];
const ACCESS: &[(u64, &str)] = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];
const AT_FLAGS: &[(u64, &str)] = &[
    (libc::AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
    (libc::AT_REMOVEDIR as u64, "AT_REMOVEDIR"),
    (libc::AT_SYMLINK_FOLLOW as u64, "AT_SYMLINK_FOLLOW"),
    (libc::AT_NO_AUTOMOUNT as u64, "AT_NO_AUTOMOUNT"),
    (libc::AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
    (libc::AT_STATX_FORCE_SYNC as u64, "AT_STATX_FORCE_SYNC"),
    (libc::AT_STATX_DONT_SYNC as u64, "AT_STATX_DONT_SYNC"),
    (libc::AT_RECURSIVE as u64, "AT_RECURSIVE"),
];
const MAP_FLAGS: &[(u64, &str)] = &[
    (libc::MAP_FIXED as u64, "MAP_FIXED"),
    (libc::MAP_ANONYMOUS as u64, "MAP_ANONYMOUS"),
    (libc::MAP_32BIT as u64, "MAP_32BIT"),
    (libc::MAP_GROWSDOWN as u64, "MAP_GROWSDOWN"),
    (libc::MAP_DENYWRITE as u64, "MAP_DENYWRITE"),
    (libc::MAP_EXECUTABLE as u64, "MAP_EXECUTABLE"),
    (libc::MAP_LOCKED as u64, "MAP_LOCKED"),
    (libc::MAP_NORESERVE as u64, "MAP_NORESERVE"),
    (libc::MAP_POPULATE as u64, "MAP_POPULATE"),
    (libc::MAP_NONBLOCK as u64, "MAP_NONBLOCK"),
    (libc::MAP_STACK as u64, "MAP_STACK"),
    (libc::MAP_HUGETLB as u64, "MAP_HUGETLB"),
    (libc::MAP_SYNC as u64, "MAP_SYNC"),
    (libc::MAP_FIXED_NOREPLACE as u64, "MAP_FIXED_NOREPLACE"),
];

/// `A|B|0x40` for the named bits set in `value`, `zero` when none is.
fn flag_names(value: u64, names: &[(u64, &str)], zero: &str) -> String {
    if value == 0 {
        return zero.to_string();
    }
    let mut parts = Vec::new();
    let mut rest = value;
    for &(bit, name) in names {
        if bit != 0 && rest & bit == bit {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

fn map_flags(value: u64) -> String {
    let kind = match value & 0xf {
        0x1 => "MAP_SHARED",
        0x2 => "MAP_PRIVATE",
        0x3 => "MAP_SHARED_VALIDATE",
        _ => return flag_names(value, MAP_FLAGS, "0"),
    };
    match flag_names(value & !0xf, MAP_FLAGS, "") {
        rest if rest.is_empty() => kind.to_string(),
        rest => format!("{kind}|{rest}"),
    }
}

pub fn open_flags(value: u64) -> String {
    let flags = value as u32 as i32;
    let mut out = String::from(match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    });
    // O_TMPFILE includes O_DIRECTORY's bit and O_SYNC includes O_DSYNC's: test the wide ones first.
    const NAMED: &[(i32, &str)] = &[
        (libc::O_TMPFILE, "O_TMPFILE"),
        (libc::O_SYNC, "O_SYNC"),
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DSYNC, "O_DSYNC"),
        (libc::O_ASYNC, "O_ASYNC"),
        (libc::O_DIRECT, "O_DIRECT"),
        // libc says 0 (implied on 64-bit); the kernel still sees and reports the bit.
        (0o100000, "O_LARGEFILE"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_NOATIME, "O_NOATIME"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
    ];
    let mut rest = flags & !libc::O_ACCMODE;
    for &(bit, name) in NAMED {
        if rest & bit == bit && bit != 0 {
            out.push('|');
            out.push_str(name);
            rest &= !bit;
        }
    }
    if rest != 0 {
        let _ = write!(out, "|{rest:#x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracefs::Field;
    use tracer_common::{EventHeader, kind, syscalls::SyscallEvent};

    fn field(c_type: &str, name: &str) -> Field {
        Field { c_type: c_type.into(), name: name.into(), array_len: None, offset: 0, size: 8, signed: false }
    }

    fn table() -> SyscallTable {
        SyscallTable::new(&[
            SyscallFormat {
                nr: 257,
                name: "openat".into(),
                args: vec![
                    field("int", "dfd"),
                    field("const char *", "filename"),
                    field("int", "flags"),
                    field("umode_t", "mode"),
                ],
            },
            SyscallFormat {
                nr: 1,
                name: "write".into(),
                args: vec![field("unsigned int", "fd"), field("const char *", "buf"), field("size_t", "count")],
            },
        ])
    }

    fn record(nr: i32, args: [u64; 6], ret: i64, data: [&[u8]; 2]) -> SyscallRecord {
        SyscallRecord {
            event: SyscallEvent {
                header: EventHeader { kind: kind::SYSCALL_DATA, ..Default::default() },
                nr,
                status: status::ENTER_SEEN,
                ret,
                args,
                ..Default::default()
            },
            data: [data[0].to_vec(), data[1].to_vec()],
        }
    }

    const OPTS: FormatOptions = FormatOptions { string_limit: 32, show_fd_paths: false };

    #[test]
    fn formats_openat_like_strace() {
        let t = table();
        let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        let r = record(257, [(-100i64) as u64, 0x1000, flags, 0, 0, 0], -2, [b"/etc/hostname", b""]);
        let f = t.format(&r, &OPTS, &|_| None);
        assert_eq!(f.name, "openat");
        assert_eq!(f.args, ["AT_FDCWD", "\"/etc/hostname\"", "O_RDONLY|O_CLOEXEC"]);
        assert_eq!((f.ret.as_str(), f.errno), ("-1", Some("ENOENT")));
        assert_eq!(f.errno_text, Some("No such file or directory"));
        let create = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64;
        let r = record(257, [3, 0x1000, create, 0o644, 0, 0], 4, [b"x", b""]);
        assert_eq!(t.format(&r, &OPTS, &|_| None).args, ["3", "\"x\"", "O_WRONLY|O_CREAT|O_TRUNC", "0644"]);
    }

    #[test]
    fn cuts_buffers_at_the_string_limit() {
        let t = table();
        let r = record(1, [1, 0x1000, 14, 0, 0, 0], 14, [b"hello, world!\n", b""]);
        let opts = FormatOptions { string_limit: 5, show_fd_paths: false };
        assert_eq!(t.format(&r, &opts, &|_| None).args, ["1", "\"hello\"...", "14"]);
        assert_eq!(t.format(&r, &OPTS, &|_| None).args, ["1", "\"hello, world!\\n\"", "14"]);
    }

    #[test]
    fn kernel_tables_mark_captures() {
        let specs = table().specs(|_| true);
        assert_eq!(specs[257].kind, [capture::CSTRING, capture::NONE]);
        assert_eq!(specs[257].arg[0], 1);
        assert_eq!((specs[1].kind[0], specs[1].arg[0], specs[1].len_arg[0]), (capture::BUFFER_IN, 1, 2));
        assert_eq!(specs[110].wanted, 1); // getppid: from the syscalls crate, no format needed
    }

    #[test]
    fn restart_codes_and_unknown_numbers() {
        let t = table();
        let r = record(0, [0; 6], -512, [b"", b""]);
        let f = t.format(&r, &OPTS, &|_| None);
        assert_eq!((f.ret.as_str(), f.errno), ("?", Some("ERESTARTSYS")));
        assert_eq!(t.name(999), "syscall_0x3e7");
        assert_eq!(errno_name(libc::ENOTTY), Some(("ENOTTY", "Inappropriate ioctl for device")));
        assert_eq!(errno_name(libc::EAGAIN), Some(("EAGAIN", "Resource temporarily unavailable")));
        assert_eq!(open_flags(0o100000 | 2), "O_RDWR|O_LARGEFILE");
        assert_eq!(map_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(map_flags(0x812), "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
        assert_eq!(flag_names(3, PROT, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(flag_names(0, PROT, "PROT_NONE"), "PROT_NONE");
        assert_eq!(flag_names(0x1000 | 0x4000_0000, AT_FLAGS, "0"), "AT_EMPTY_PATH|0x40000000");
    }
}
