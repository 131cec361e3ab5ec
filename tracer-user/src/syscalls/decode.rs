//! The syscall table and argument formatting, driven by the running kernel's own tracepoint formats
//! (`events/syscalls/sys_enter_*/format`: argument names and C types for every syscall it knows). Hand-written
//! formatters are kept for what needs meaning: open flags, AT_FDCWD, modes, signal numbers, and the names of
//! constants (tables in `constants`), with strace's choice of which arguments a command shows.

use std::borrow::Cow;

use tracer_common::decode::SyscallRecord;
use tracer_common::syscalls::{
    CAPTURE_SLOTS, FdSources, MAX_SYSCALL_NR, SyscallSpec, capture, fd_source, is_error_return, status,
    wanted as spec_wanted,
};

use super::structs::{
    CLONE_ARGS_SIZE, INT_PAIR_SIZE, RLIMIT_SIZE, SIGACTION_SIZE, SIGSET_SIZE, STAT_SIZE, STATX_SHOWN_SIZE,
    STATX_VERBOSE_SIZE, TIMESPEC_PAIR_SIZE, TIMESPEC_SIZE, WAIT_STATUS_SIZE, int_pair, rlimit, sigaction, sigset,
    sigset_text, sockaddr, stat, statx, timespec, timespec_pair, u32_at, wait_status,
};
use crate::{
    escape::{StringStyle, hex_escaped, hex_quoted, push_quoted, quote},
    linux::{
        constants::{self as c, Names, c_hex, flags_text, named},
        errno,
        files::open_flags,
        signals::signal_name,
    },
    tracefs::SyscallFormat,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Signed32,
    /// A user or group id: `-1` (no change, for chown) as strace shows it, else unsigned.
    Id,
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
    /// Random bytes filled by the kernel (getrandom's), shown in hex as strace shows them.
    RandomBytes,
    OpenFlags,
    Mode,
    Signal,
    /// One value of a table (`SEEK_CUR`); unknown ones as strace shows them (`0x9 /* SEEK_??? */`).
    Named(&'static Names),
    /// A set of flags of a table (`O_NONBLOCK|O_CLOEXEC`).
    Flags(&'static Names),
    /// A type in the bits of `mask`, flags in the others: `SOCK_STREAM|SOCK_CLOEXEC`, `MAP_PRIVATE|MAP_ANONYMOUS`.
    TypeAndFlags {
        mask: u64,
        types: &'static Names,
        flags: &'static Names,
    },
    /// statx's flags: the sync type's bits as flags of their own (`AT_STATX_SYNC_AS_STAT` when none), then the
    /// others (`AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW`), as strace shows them.
    StatxFlags,
    /// socket's protocol, named after the family in argument 0 (`IPPROTO_TCP`, `NETLINK_ROUTE`).
    SocketProtocol,
    /// setsockopt's option name, named after the level in argument 1 (`SO_REUSEADDR`, `TCP_NODELAY`).
    SocketOption,
    /// `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`.
    FutexOp,
    /// futex arguments after the op: which are shown, and how, depends on the op (as in strace).
    FutexArg,
    /// futex's `utime`: a `struct timespec` timeout for the waits (copied whenever it is not NULL: the op decides at
    /// formatting whether it is one), a count (val2) for the requeues.
    FutexTimeout,
    /// fcntl's third argument, after the command: left out when it takes none (`fcntl(3, F_GETFD)`).
    FcntlArg,
    /// `TCGETS`, or `_IOC(dir, type, nr, size)` for requests without a name.
    IoctlRequest,
    /// ioctl's third argument: an address, an int, or nothing, after the request.
    IoctlArg,
    /// arch_prctl's second argument: an address in hex, nothing for ARCH_GET_CPUID.
    ArchPrctlArg,
    /// `CLONE_VM|...|SIGCHLD`: clone's flags with the exit signal in the low byte.
    CloneFlags,
    /// mremap's new address, shown with MREMAP_FIXED only.
    MremapNewAddr,
    /// Two ints the kernel fills (pipe2's, socketpair's descriptors): `[4, 5]`.
    IntPair,
    /// `struct timespec`, passed in (nanosleep's request) or filled by the kernel (clock_gettime's).
    Timespec {
        output: bool,
    },
    /// `struct statx` filled by the kernel, abbreviated as strace shows it: `{stx_mask=..., stx_attributes=0,
    /// stx_mode=S_IFREG|0644, stx_size=3, ...}`.
    Statx,
    /// utimensat's `struct timespec[2]`: `[{tv_sec=..., tv_nsec=...} /* 2017-04-16T16:05:06+0000 */, UTIME_OMIT]`.
    TimespecPair,
    /// `struct stat` filled by the kernel, as strace abbreviates it: `{st_mode=S_IFREG|0644, st_size=37203, ...}`.
    Stat,
    /// `struct sockaddr` passed in; its length is argument `len_arg`.
    SockaddrIn {
        len_arg: u8,
    },
    /// `struct sockaddr` filled by the kernel; its length is where argument `len_arg` points.
    SockaddrOut {
        len_arg: u8,
    },
    /// `struct rlimit` (as `rlimit64` on x86_64), passed in or filled by the kernel.
    Rlimit {
        output: bool,
    },
    /// A `sigset_t` (the kernel's 8 bytes), passed in or filled by the kernel: `[INT TERM]`, `~[KILL STOP]`.
    SigSet {
        output: bool,
    },
    /// The kernel's `struct sigaction`, passed in or filled by the kernel:
    /// `{sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f...}`.
    SigAction {
        output: bool,
    },
    /// The status wait4 fills: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
    WaitStatus,
    /// rt_sigreturn's one argument as strace shows it, the signal mask it restored (the kernel reads it at the exit
    /// into the first argument's place; with SIGKILL in it, which no restored mask has, when it could not):
    /// `{mask=[INT]}`.
    RestoredMask,
    /// prctl's second argument: a name for PR_SET_NAME and PR_GET_NAME (copied as a string, whatever the option:
    /// a number fails to read), a number or nothing for the others, as strace shows them per option.
    PrctlArg2,
    /// prctl's arguments 3 to 5, shown or not per option.
    PrctlArg,
    /// A System V IPC key: `IPC_PRIVATE`, else hex.
    IpcKey,
    /// msgget's, semget's and shmget's flags and mode: `IPC_CREAT|IPC_EXCL|0600`, shmget's with its huge page size
    /// (`21<<SHM_HUGE_SHIFT`).
    IpcFlags {
        shm: bool,
    },
    /// personality's argument: `PER_LINUX|ADDR_NO_RANDOMIZE`, `0xffffffff` (the query).
    Personality,
    /// kcmp's idx1 and idx2: fds for KCMP_FILE, nothing for the types without them, hex for unknown types.
    KcmpIdx,
    /// execve's envp: its address and the entries the kernel counted at the call's enter, `0x7ffd... /* 38 vars */`.
    EnvCount,
    /// A path the kernel writes, its length (with its NUL) the return value: getcwd's buffer, shown as a path
    /// (whole, not cut at `-s`, without the NUL).
    PathOut,
    /// clone3's `struct clone_args`: `{flags=CLONE_VM|..., child_tid=0x..., ..., stack_size=0x7fff80, tls=0x...}
    /// => {parent_tid=[1234]}`.
    CloneArgs,
}

impl ArgKind {
    /// How the kernel copies this argument from user memory: `(capture::*, len_arg)`; `None` for a value.
    pub fn capture(self) -> Option<(u8, u8)> {
        Some(match self {
            ArgKind::Path => (capture::CSTRING, 0),
            ArgKind::PathOut => (capture::PATH_OUT, 0),
            ArgKind::BufferIn { len_arg } => (capture::BUFFER_IN, len_arg),
            ArgKind::BufferOut | ArgKind::RandomBytes => (capture::BUFFER_OUT, 0),
            ArgKind::IntPair => (capture::STRUCT_OUT, INT_PAIR_SIZE),
            ArgKind::Timespec { output: false } => (capture::STRUCT_IN, TIMESPEC_SIZE),
            ArgKind::Timespec { output: true } => (capture::STRUCT_OUT, TIMESPEC_SIZE),
            ArgKind::Stat => (capture::STRUCT_OUT, STAT_SIZE),
            ArgKind::TimespecPair => (capture::STRUCT_IN, TIMESPEC_PAIR_SIZE),
            ArgKind::Statx => (capture::STRUCT_OUT, STATX_SHOWN_SIZE),
            ArgKind::SockaddrIn { len_arg } => (capture::SIZED_IN, len_arg),
            ArgKind::SockaddrOut { len_arg } => (capture::SIZED_OUT, len_arg),
            ArgKind::Rlimit { output: false } => (capture::STRUCT_IN, RLIMIT_SIZE),
            ArgKind::Rlimit { output: true } => (capture::STRUCT_OUT, RLIMIT_SIZE),
            ArgKind::SigSet { output: false } => (capture::STRUCT_IN, SIGSET_SIZE),
            ArgKind::SigSet { output: true } => (capture::STRUCT_OUT, SIGSET_SIZE),
            ArgKind::SigAction { output: false } => (capture::STRUCT_IN, SIGACTION_SIZE),
            ArgKind::SigAction { output: true } => (capture::STRUCT_OUT, SIGACTION_SIZE),
            ArgKind::WaitStatus => (capture::STRUCT_OUT, WAIT_STATUS_SIZE),
            ArgKind::CloneArgs => (capture::STRUCT_IN, CLONE_ARGS_SIZE),
            ArgKind::FutexTimeout => (capture::STRUCT_IN, TIMESPEC_SIZE),
            ArgKind::EnvCount => (capture::ARRAY_COUNT, 0),
            ArgKind::PrctlArg2 => (capture::CSTRING, 0),
            _ => return None,
        })
    }

    /// Whether this argument takes a capture slot (while slots last).
    pub fn is_captured(self) -> bool {
        self.capture().is_some()
    }
}

#[derive(Clone, Debug)]
pub struct ArgInfo {
    pub name: String,
    pub kind: ArgKind,
    /// A C type of 32 bits (`int`, `unsigned int`, `uid_t`...): the register's upper half is not part of the value
    /// (the kernel reads only the lower one), so it is cleared before the value is shown.
    pub int32: bool,
}

/// Whether a syscall argument's C type (as the kernel's format spells it) is 32 bits wide on x86_64.
fn is_int32(c_type: &str) -> bool {
    matches!(
        c_type.trim_start_matches("const "),
        "int"
            | "unsigned int"
            | "unsigned"
            | "u32"
            | "__u32"
            | "s32"
            | "__s32"
            | "pid_t"
            | "uid_t"
            | "gid_t"
            | "qid_t"
            | "clockid_t"
            | "timer_t"
            | "key_t"
            | "mqd_t"
            | "key_serial_t"
            | "rwf_t"
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnKind {
    Int,
    Address,
    Fd,
    /// Flags for some commands: `0x1 (flags FD_CLOEXEC)`.
    Fcntl,
    /// The previous umask, in octal.
    Mode,
    /// The previous personality, in hex and named: `0x400000 (PER_LINUX|READ_IMPLIES_EXEC)`.
    Personality,
    /// prctl: PR_GET_DUMPABLE's result named (`1 (SUID_DUMP_USER)`).
    Prctl,
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
            .filter(|(_, a)| a.kind.is_captured())
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
    if let Some(kind) = constant_kind(syscall, name).or_else(|| struct_kind(syscall, c_type, name, siblings)) {
        return kind;
    }
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
    if syscall == "getcwd" && name == "buf" {
        return ArgKind::PathOut;
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
    if name.contains("flags") || name == "prot" {
        return ArgKind::Hex;
    }
    match c_type.trim_start_matches("const ") {
        "int" | "pid_t" | "clockid_t" | "key_t" | "mqd_t" | "timer_t" | "key_serial_t" | "s32" | "__s32" => {
            ArgKind::Signed32
        }
        "uid_t" | "gid_t" | "qid_t" => ArgKind::Id,
        "long" | "off_t" | "loff_t" | "ssize_t" => ArgKind::Signed64,
        _ => ArgKind::Unsigned,
    }
}

/// Arguments whose values have names, by (syscall, argument name) as the kernel's formats spell them.
fn constant_kind(syscall: &str, name: &str) -> Option<ArgKind> {
    use ArgKind::{Flags, Named};
    Some(match (syscall, name) {
        ("mmap" | "mprotect" | "pkey_mprotect", "prot") => Flags(&c::PROT),
        // strace shows these numbers in hex.
        ("mmap", "off") | ("rseq", "rseq_len" | "sig") => ArgKind::Hex,
        ("umask", "mask") => ArgKind::Mode,
        ("mmap", "flags") => ArgKind::TypeAndFlags { mask: 0xf, types: &c::MAP_TYPES, flags: &c::MAP_FLAGS },
        ("statx", "flags") => ArgKind::StatxFlags,
        ("statx", "mask") => Flags(&c::STATX_MASK),
        ("access" | "faccessat" | "faccessat2", "mode") => Flags(&c::ACCESS),
        (
            "newfstatat" | "fstatat64" | "unlinkat" | "linkat" | "fchownat" | "utimensat" | "faccessat2" | "fchmodat2"
            | "name_to_handle_at" | "execveat" | "open_tree" | "mount_setattr",
            "flag" | "flags",
        ) => Flags(&c::AT_FLAGS),
        ("socket" | "socketpair", "family") => Named(&c::ADDRESS_FAMILIES),
        ("socket" | "socketpair", "type") => {
            ArgKind::TypeAndFlags { mask: 0xf, types: &c::SOCKET_TYPES, flags: &c::SOCKET_FLAGS }
        }
        ("socket" | "socketpair", "protocol") => ArgKind::SocketProtocol,
        ("setsockopt" | "getsockopt", "level") => Named(&c::SOCKET_LEVELS),
        ("setsockopt" | "getsockopt", "optname") => ArgKind::SocketOption,
        ("accept4", "flags") => Flags(&c::SOCKET_FLAGS),
        ("sendto" | "recvfrom" | "sendmsg" | "recvmsg" | "sendmmsg" | "recvmmsg", "flags") => Flags(&c::MSG_FLAGS),
        ("shutdown", "how") => Named(&c::SHUTDOWN_HOW),
        ("getitimer" | "setitimer", "which") => Named(&c::ITIMER_WHICH),
        ("fcntl", "cmd") => Named(&c::FCNTL_COMMANDS),
        ("fcntl", "arg") => ArgKind::FcntlArg,
        ("futex", "op") => ArgKind::FutexOp,
        ("futex", "val" | "uaddr2" | "val3") => ArgKind::FutexArg,
        ("futex", "utime") => ArgKind::FutexTimeout,
        ("execve" | "execveat", "envp") => ArgKind::EnvCount,
        ("prctl", "option") => Named(&c::PRCTL_OPTIONS),
        ("prctl", "arg2") => ArgKind::PrctlArg2,
        ("prctl", "arg3" | "arg4" | "arg5") => ArgKind::PrctlArg,
        ("personality", "personality") => ArgKind::Personality,
        ("msgget" | "semget" | "shmget", "key") => ArgKind::IpcKey,
        ("msgget", "msgflg") | ("semget", "semflg") => ArgKind::IpcFlags { shm: false },
        ("shmget", "shmflg") => ArgKind::IpcFlags { shm: true },
        ("msgctl", "cmd") => Named(&c::MSGCTL_COMMANDS),
        ("semctl", "cmd") => Named(&c::SEMCTL_COMMANDS),
        ("shmctl", "cmd") => Named(&c::SHMCTL_COMMANDS),
        ("semctl", "arg") => ArgKind::Pointer,
        ("kcmp", "type") => Named(&c::KCMP_TYPES),
        ("kcmp", "idx1" | "idx2") => ArgKind::KcmpIdx,
        ("ioctl", "cmd") => ArgKind::IoctlRequest,
        ("ioctl", "arg") => ArgKind::IoctlArg,
        ("lseek", "whence") => Named(&c::SEEK_WHENCE),
        ("prlimit64" | "getrlimit" | "setrlimit", "resource") => Named(&c::RLIMITS),
        ("arch_prctl", "option") => Named(&c::ARCH_PRCTL_CODES),
        ("arch_prctl", "arg2") => ArgKind::ArchPrctlArg,
        (
            "clock_gettime" | "clock_settime" | "clock_getres" | "clock_nanosleep" | "clock_adjtime" | "timer_create",
            "which_clock",
        )
        | ("timerfd_create", "clockid") => Named(&c::CLOCKS),
        ("clock_nanosleep", "flags") => Flags(&c::TIMER_FLAGS),
        ("timerfd_create", "flags") => Flags(&c::TFD_FLAGS),
        ("timerfd_settime", "flags") => Flags(&c::TFD_TIMER_FLAGS),
        ("getrandom", "flags") => Flags(&c::GRND_FLAGS),
        ("getrandom", "buf" | "ubuf") => ArgKind::RandomBytes,
        ("pipe2" | "dup3", "flags") => Flags(&c::O_FLAGS),
        ("eventfd2", "flags") => Flags(&c::EFD_FLAGS),
        ("epoll_create1", "flags") => Flags(&c::EPOLL_FLAGS),
        ("inotify_init1", "flags") => Flags(&c::IN_FLAGS),
        ("signalfd4", "flags") => Flags(&c::SFD_FLAGS),
        ("memfd_create", "flags") => Flags(&c::MFD_FLAGS),
        ("epoll_ctl", "op") => Named(&c::EPOLL_CTL_OPS),
        ("rt_sigprocmask", "how") => Named(&c::SIGPROCMASK_HOW),
        ("madvise", "behavior") | ("process_madvise", "behavior" | "advice") => Named(&c::MADVICE),
        ("wait4" | "waitid", "options") => Flags(&c::WAIT_OPTIONS),
        ("waitid", "which") => Named(&c::WAITID_TYPES),
        ("clone", "clone_flags") => ArgKind::CloneFlags,
        ("unshare", "unshare_flags") | ("setns", "flags" | "nstype") => Flags(&c::CLONE_FLAGS),
        ("flock", "cmd") => Flags(&c::FLOCK_OPS),
        ("mremap", "flags") => Flags(&c::MREMAP_FLAGS),
        ("mremap", "new_addr") => ArgKind::MremapNewAddr,
        ("msync", "flags") => Flags(&c::MSYNC_FLAGS),
        ("close_range", "flags") => Flags(&c::CLOSE_RANGE_FLAGS),
        ("renameat2", "flags") => Flags(&c::RENAME_FLAGS),
        ("fallocate", "mode") => Flags(&c::FALLOCATE_MODES),
        ("mlockall", "flags") => Flags(&c::MLOCKALL_FLAGS),
        ("getpriority" | "setpriority", "which") => Named(&c::PRIORITY_WHICH),
        ("fadvise64", "advice") => Named(&c::FADVICE),
        ("pidfd_open", "flags") => Flags(&c::PIDFD_FLAGS),
        ("inotify_add_watch", "mask") => Flags(&c::INOTIFY_MASK),
        _ => return None,
    })
}

/// Pointers to structs whose contents strace shows, by (syscall, argument name) or C type.
fn struct_kind(syscall: &str, c_type: &str, name: &str, siblings: &[(String, String)]) -> Option<ArgKind> {
    Some(match (syscall, name) {
        ("pipe" | "pipe2", "fildes") | ("socketpair", "usockvec") => ArgKind::IntPair,
        ("nanosleep" | "clock_nanosleep", "rqtp") => ArgKind::Timespec { output: false },
        ("clock_gettime" | "clock_getres", "tp") => ArgKind::Timespec { output: true },
        ("bind" | "connect", _) if c_type == "struct sockaddr *" => {
            let len_arg = siblings.iter().position(|(_, name)| name == "addrlen")?;
            ArgKind::SockaddrIn { len_arg: len_arg as u8 }
        }
        ("accept" | "accept4" | "getsockname" | "getpeername" | "recvfrom", _) if c_type == "struct sockaddr *" => {
            // The int pointer after it: `upeer_addrlen`, `usockaddr_len`, `addr_len`.
            let len_arg = siblings.iter().position(|(c_type, _)| c_type == "int *")?;
            ArgKind::SockaddrOut { len_arg: len_arg as u8 }
        }
        ("prlimit64", "new_rlim") | ("setrlimit", "rlim") => ArgKind::Rlimit { output: false },
        ("prlimit64", "old_rlim") | ("getrlimit", "rlim") => ArgKind::Rlimit { output: true },
        ("rt_sigprocmask", "nset")
        | ("rt_sigsuspend", "unewset")
        | ("rt_sigtimedwait", "uthese")
        | ("signalfd" | "signalfd4", "user_mask")
        | ("epoll_pwait" | "epoll_pwait2" | "ppoll", "sigmask") => ArgKind::SigSet { output: false },
        ("rt_sigprocmask", "oset") | ("rt_sigpending", "uset") => ArgKind::SigSet { output: true },
        ("rt_sigaction", "act") => ArgKind::SigAction { output: false },
        ("rt_sigaction", "oact") => ArgKind::SigAction { output: true },
        ("rt_sigtimedwait", "uts") => ArgKind::Timespec { output: false },
        ("wait4", "stat_addr") => ArgKind::WaitStatus,
        ("utimensat", "utimes") => ArgKind::TimespecPair,
        ("statx", "buffer") => ArgKind::Statx,
        ("clone3", "uargs") => ArgKind::CloneArgs,
        _ if c_type == "struct stat *" => ArgKind::Stat,
        _ => return None,
    })
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
        "fcntl" => ReturnKind::Fcntl,
        "umask" => ReturnKind::Mode,
        "personality" => ReturnKind::Personality,
        "prctl" => ReturnKind::Prctl,
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
                        int32: is_int32(&f.c_type),
                    })
                    .collect(),
            );
        }
        // rt_sigreturn takes no argument in the kernel's format; strace shows the mask it restores as one.
        if let Some(info) = by_nr.iter_mut().flatten().find(|info| info.name == "rt_sigreturn") {
            info.args = Some(vec![ArgInfo { name: "mask".to_string(), kind: ArgKind::RestoredMask, int32: false }]);
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

    /// `-y`: per syscall, the fds the kernel identifies at the call: its fd arguments (a close's read at its
    /// enter, as the call removes it; with `at_enter`, also those calls' fds) and an fd it returns, at most
    /// `FD_SLOTS`.
    pub fn fd_sources(&self, at_enter: &[&str]) -> Vec<FdSources> {
        let mut all = vec![FdSources::default(); MAX_SYSCALL_NR];
        for info in self.iter() {
            let Some(args) = info.args.as_ref() else { continue };
            let mut sources: Vec<u8> = args
                .iter()
                .enumerate()
                .filter(|(_, arg)| matches!(arg.kind, ArgKind::Fd | ArgKind::DirFd))
                .map(|(i, _)| match info.name.as_str() {
                    "close" => fd_source::AT_ENTER | i as u8,
                    name if at_enter.contains(&name) => fd_source::AT_ENTER | fd_source::EXIT_FALLBACK | i as u8,
                    _ => i as u8,
                })
                .collect();
            // fcntl returns an fd for F_DUPFD (user space looks at it then only).
            if info.returns == ReturnKind::Fd || info.name == "fcntl" {
                sources.push(fd_source::RETURN);
            }
            for (slot, source) in all[info.nr as usize].source.iter_mut().zip(sources) {
                *slot = source;
            }
        }
        all
    }

    /// The kernel's per-syscall table: which syscalls to report and what to copy from user memory (`verbose`:
    /// what `-v` shows, more of statx's struct).
    pub fn specs(&self, wanted: impl Fn(&SyscallInfo) -> bool, verbose: bool) -> Vec<SyscallSpec> {
        let mut specs = vec![SyscallSpec::default(); MAX_SYSCALL_NR];
        for info in self.iter() {
            let spec = &mut specs[info.nr as usize];
            spec.wanted = match (wanted(info), info.name.as_str()) {
                (false, _) => 0,
                (true, "fork" | "vfork" | "clone" | "clone3") => spec_wanted::RETURNS_IN_CHILD,
                (true, _) => spec_wanted::YES,
            };
            for (slot, (arg, kind)) in info.captures().enumerate() {
                spec.arg[slot] = arg as u8;
                (spec.kind[slot], spec.len_arg[slot]) = match kind {
                    ArgKind::Statx if verbose => (capture::STRUCT_OUT, STATX_VERBOSE_SIZE),
                    _ => kind.capture().unwrap_or_default(),
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
    /// `-x`, `-xx`: strings in hex.
    pub strings: StringStyle,
    /// `-v`: structs whole, where strace abbreviates them with `...`.
    pub verbose: bool,
}

/// A syscall rendered for output, with its name (`SyscallTable::format`, which the tests look at).
#[cfg(test)]
pub struct FormattedCall<'a> {
    /// Borrowed from the table for every known call: no allocation per record.
    pub name: Cow<'a, str>,
    pub args: Vec<String>,
    pub ret: String,
    pub errno: Option<&'static str>,
    pub errno_text: Option<&'static str>,
}

/// A syscall rendered for output but its name (the table's), kept by a caller that formats call after call
/// (`SyscallTable::format_into`): the list, the return value's text and the arguments' texts keep their
/// allocations, so that the common calls (numbers, fds, addresses) format without allocating; and the call is
/// formatted in place, not moved in and out (the reader formats up to millions of calls a second).
#[derive(Default)]
pub struct CallTexts {
    pub args: Vec<String>,
    pub ret: String,
    pub errno: Option<&'static str>,
    pub errno_text: Option<&'static str>,
    /// Argument strings of earlier calls, emptied, for the next call's.
    spare: Vec<String>,
}

impl SyscallTable {
    /// `format_into` a call alone, with its name.
    #[cfg(test)]
    pub fn format(&self, record: &SyscallRecord, opts: &FormatOptions, fd_path: &FdNamer<'_>) -> FormattedCall<'_> {
        let mut texts = CallTexts::default();
        self.format_into(record, opts, fd_path, &mut texts);
        let CallTexts { args, ret, errno, errno_text, .. } = texts;
        FormattedCall { name: self.name(record.event.nr), args, ret, errno, errno_text }
    }

    /// A call's texts (its name is `name`'s), written over `texts`, the call formatted before: the same strings
    /// feed the text line and the JSON `args`. `fd_path(arg, fd)` names an fd of the calling process for `-y`
    /// (`arg`: the argument's index, `None` for the return value): the text between `<` and `>`, `None` for a
    /// bare number.
    pub fn format_into(
        &self,
        record: &SyscallRecord,
        opts: &FormatOptions,
        fd_path: &FdNamer<'_>,
        texts: &mut CallTexts,
    ) {
        let CallTexts { args, ret, spare, .. } = texts;
        // Not `append` alone: it copies even nothing with a call to memcpy, and most calls have few arguments.
        if !args.is_empty() {
            spare.append(args);
        }
        ret.clear();
        let event = &record.event;
        let info = self.get(event.nr);
        match info.and_then(|i| i.args.as_ref()) {
            Some(arg_infos) => {
                let mut slot = 0;
                let mut values = event.args;
                for (value, arg) in values.iter_mut().zip(arg_infos) {
                    if arg.int32 {
                        *value = u64::from(*value as u32);
                    }
                }
                let open_flags = arg_infos.iter().position(|a| a.kind == ArgKind::OpenFlags).map(|i| values[i]);
                for (i, arg) in arg_infos.iter().enumerate() {
                    let value = values[i];
                    let captured = arg.kind.is_captured() && slot < CAPTURE_SLOTS;
                    let text = if captured {
                        let data = &record.data[slot];
                        let truncated = event.status & (status::TRUNCATED_0 << slot) != 0;
                        let fault = event.status & (status::FAULT_0 << slot) != 0;
                        slot += 1;
                        let special = match arg.kind {
                            ArgKind::FutexTimeout => Some(futex_timeout(&values, data, fault)),
                            ArgKind::PrctlArg2 => {
                                Some(prctl_arg(1, &values, Some((data, fault)), event.ret, opts.strings))
                            }
                            _ => None,
                        };
                        if let Some(special) = special {
                            match special {
                                Some(text) => text,
                                None => continue,
                            }
                        } else {
                            let mut text = spare.pop().unwrap_or_default();
                            text.clear();
                            push_captured(&mut text, arg.kind, value, data, truncated, fault, event.ret, opts);
                            text
                        }
                    } else if arg.kind == ArgKind::Mode
                        && i + 1 == arg_infos.len()
                        && open_flags.is_some_and(|f| !can_create(f))
                    {
                        // strace leaves out the mode of an open that cannot create.
                        continue;
                    } else {
                        let mut text = spare.pop().unwrap_or_default();
                        text.clear();
                        if push_plain_scalar(&mut text, arg.kind, value, opts) {
                            text
                        } else {
                            spare.push(text);
                            match format_scalar(arg.kind, i, &values, opts, fd_path) {
                                Some(text) => text,
                                None => continue,
                            }
                        }
                    };
                    args.push(text);
                }
            }
            None => args.extend(event.args.iter().map(|v| format!("{v:#x}"))),
        }
        // The kernel says so (raw path), or a classic exit record without its enter (no arguments in it, and no
        // flag yet: see tracer-ebpf's sys_exit_one).
        let enter_seen = event.status & status::ENTER_SEEN != 0;
        // Compared word by word, not as an array (a call to `bcmp` on every record).
        let no_args = !enter_seen
            && event.status & status::ARGS_AT_EXIT == 0
            && info.and_then(|i| i.args.as_ref()).is_some()
            && event.args.iter().all(|&a| a == 0);
        if event.status & status::ARGS_UNKNOWN != 0 || no_args {
            // Classic exit tracepoints carry no arguments: say so rather than show zeros.
            spare.append(args);
            args.push("<unavailable>".to_string());
        } else if info.is_some_and(|i| i.args.is_some() && i.name == "clone") {
            spare.append(args);
            args.extend(clone_args(&event.args, event.ret));
        }

        (texts.errno, texts.errno_text) = if event.status & status::NO_RETURN != 0 {
            ret.push('?');
            (None, None)
        } else if let Some((errno, text)) = errno::restart_code(-event.ret) {
            ret.push('?');
            (Some(errno), Some(text))
        } else if is_error_return(event.ret) {
            let (errno, text) = errno::describe((-event.ret) as i32);
            ret.push_str("-1");
            (Some(errno), Some(text))
        } else {
            match info.map_or(ReturnKind::Int, |i| i.returns) {
                ReturnKind::Address => push_hex(ret, event.ret as u64),
                ReturnKind::Fd if opts.show_fd_paths => {
                    ret.push_str(&annotate_fd(None, event.ret, fd_path, opts.strings));
                }
                ReturnKind::Fcntl => ret.push_str(&fcntl_return(event.args[1] as u32 as i32, event.ret)),
                ReturnKind::Mode => ret.push_str(&format!("0{:02o}", event.ret)),
                ReturnKind::Personality => {
                    ret.push_str(&format!("{} ({})", c_hex(event.ret as u64), personality(event.ret as u32)));
                }
                ReturnKind::Prctl if event.args[0] as u32 == libc::PR_GET_DUMPABLE as u32 => {
                    match c::SUID_DUMP.get(event.ret as u64) {
                        Some(name) => ret.push_str(&format!("{} ({name})", event.ret)),
                        None => ret.push_str(itoa::Buffer::new().format(event.ret)),
                    }
                }
                // itoa: the plain number of most calls, without fmt's machinery (a tenth of the reader's time).
                _ => ret.push_str(itoa::Buffer::new().format(event.ret)),
            }
            (None, None)
        };
    }
}

/// `{value:#x}` (`0x7ffd0000`, `0x0`), appended without fmt.
fn push_hex(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 18];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
        if value == 0 {
            break;
        }
    }
    start -= 2;
    digits[start..start + 2].copy_from_slice(b"0x");
    // ASCII only.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

/// The argument kinds most calls have, written as `format_scalar` writes them, into `out` (a string kept from
/// call to call) without fmt or an allocation; false, with `out` untouched, for any other kind (or an fd that
/// `-y` annotates).
fn push_plain_scalar(out: &mut String, kind: ArgKind, value: u64, opts: &FormatOptions) -> bool {
    let mut number = itoa::Buffer::new();
    match kind {
        ArgKind::Signed32 => out.push_str(number.format(value as u32 as i32)),
        ArgKind::Id if value as u32 == u32::MAX => out.push_str("-1"),
        ArgKind::Id => out.push_str(number.format(value as u32)),
        ArgKind::Signed64 => out.push_str(number.format(value as i64)),
        ArgKind::Unsigned => out.push_str(number.format(value)),
        ArgKind::Hex if value == 0 => out.push('0'),
        ArgKind::Hex => push_hex(out, value),
        ArgKind::Pointer if value == 0 => out.push_str("NULL"),
        ArgKind::Pointer => push_hex(out, value),
        ArgKind::DirFd if value as u32 as i32 == libc::AT_FDCWD => out.push_str("AT_FDCWD"),
        ArgKind::Fd | ArgKind::DirFd if !opts.show_fd_paths => out.push_str(number.format(value as u32 as i32)),
        _ => return false,
    }
    true
}

/// A captured argument as text, appended to `out`: paths and buffers quoted straight into it.
#[allow(clippy::too_many_arguments)]
fn push_captured(
    out: &mut String,
    kind: ArgKind,
    value: u64,
    data: &[u8],
    truncated: bool,
    fault: bool,
    ret: i64,
    opts: &FormatOptions,
) {
    if value == 0 {
        return out.push_str("NULL");
    }
    if fault || matches!(kind, ArgKind::BufferOut | ArgKind::RandomBytes | ArgKind::PathOut) && ret < 0 {
        return push_hex(out, value);
    }
    let output = matches!(
        kind,
        ArgKind::IntPair
            | ArgKind::Timespec { output: true }
            | ArgKind::Stat
            | ArgKind::Statx
            | ArgKind::Rlimit { output: true }
            | ArgKind::SockaddrOut { .. }
            | ArgKind::SigSet { output: true }
            | ArgKind::SigAction { output: true }
            | ArgKind::WaitStatus
    );
    // wait4 returning 0 (WNOHANG, no child changed state) filled nothing.
    if kind == ArgKind::WaitStatus && ret == 0 {
        return push_hex(out, value);
    }
    if output && is_error_return(ret) {
        return push_hex(out, value);
    }
    // A struct that could not be read whole: its address, as before.
    let decoded = match kind {
        ArgKind::Path => return push_quoted(out, data, truncated, opts.strings),
        ArgKind::PathOut => return push_quoted(out, data.strip_suffix(b"\0").unwrap_or(data), truncated, opts.strings),
        ArgKind::BufferIn { .. } | ArgKind::BufferOut => {
            let shown = data.len().min(opts.string_limit);
            return push_quoted(out, &data[..shown], truncated || shown < data.len(), opts.strings);
        }
        ArgKind::RandomBytes => {
            let shown = data.len().min(opts.string_limit);
            return out.push_str(&hex_quoted(&data[..shown], truncated || shown < data.len()));
        }
        ArgKind::IntPair => int_pair(data),
        ArgKind::Timespec { .. } => timespec(data),
        ArgKind::TimespecPair => timespec_pair(data),
        ArgKind::Statx => statx(data, opts.verbose),
        ArgKind::Stat => stat(data, opts.verbose),
        ArgKind::SockaddrIn { .. } | ArgKind::SockaddrOut { .. } => sockaddr(data, opts.strings),
        ArgKind::Rlimit { .. } => rlimit(data),
        ArgKind::SigSet { .. } => sigset(data),
        ArgKind::SigAction { .. } => sigaction(data),
        ArgKind::WaitStatus => wait_status(data),
        ArgKind::CloneArgs => clone_args_struct(data, ret),
        // strace's singular for one entry: `/* 1 var */`.
        ArgKind::EnvCount => {
            u32_at(data, 0).map(|count| format!("{value:#x} /* {count} var{} */", if count == 1 { "" } else { "s" }))
        }
        _ => None,
    };
    match decoded {
        Some(text) => out.push_str(&text),
        None => push_hex(out, value),
    }
}

/// O_CREAT, or O_TMPFILE (whose bits include O_DIRECTORY's: all of them).
fn can_create(open_flags: u64) -> bool {
    let tmpfile = libc::O_TMPFILE as u64;
    open_flags & libc::O_CREAT as u64 != 0 || open_flags & tmpfile == tmpfile
}

/// `-y`'s namer: (argument index or `None` for the return value, fd) → the text between `<` and `>`.
pub type FdNamer<'a> = dyn Fn(Option<usize>, i64) -> Option<String> + 'a;

/// `-yy`'s `TCP:[127.0.0.1:6379]`, `UNIX-STREAM:[...]`: strace's own text, never in hex (a path, `pipe:[...]` and
/// `socket:[...]` are what the kernel names the file, which strace quotes).
fn is_socket_description(text: &str) -> bool {
    text.split_once(":[").is_some_and(|(proto, _)| proto.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// `3</etc/hostname>`; under `-x`/`-xx` the path in hex when strace would show it so (`3<\x2f\x65...>`).
fn annotate_fd(arg: Option<usize>, fd: i64, fd_path: &FdNamer<'_>, strings: StringStyle) -> String {
    match fd_path(arg, fd) {
        // `?`: tracer's own word for an fd it cannot name.
        Some(path) if strings != StringStyle::Escaped && path != "?" && !is_socket_description(&path) => {
            // A device's `<char 1:3>` (-yy) is strace's own text, after the path it quotes.
            let (name, device) = match path.rfind("<char ").or_else(|| path.rfind("<block ")) {
                Some(at) if path.ends_with('>') => path.split_at(at),
                _ => (path.as_str(), ""),
            };
            let name = if strings.wants_hex(name.as_bytes()) {
                hex_escaped(name.as_bytes())
            } else {
                crate::escape::display_name(name.as_bytes())
            };
            format!("{fd}<{name}{device}>")
        }
        Some(path) => format!("{fd}<{}>", crate::escape::display_name(path.as_bytes())),
        None => fd.to_string(),
    }
}

/// Argument `i` of `args` as text; `None` when strace leaves it out (`fcntl(3, F_GETFD)`).
fn format_scalar(
    kind: ArgKind,
    i: usize,
    args: &[u64; 6],
    opts: &FormatOptions,
    fd_path: &FdNamer<'_>,
) -> Option<String> {
    let value = args[i];
    // Named values and flags are C ints (mmap's flags fit in one; clone's do not): the register's upper half is noise.
    let int = u64::from(value as u32);
    Some(match kind {
        ArgKind::Signed32 => (value as u32 as i32).to_string(),
        ArgKind::Id if value as u32 == u32::MAX => "-1".to_string(),
        ArgKind::Id => (value as u32).to_string(),
        ArgKind::Signed64 => (value as i64).to_string(),
        ArgKind::Unsigned => value.to_string(),
        ArgKind::Hex => c_hex(value),
        ArgKind::Pointer
        | ArgKind::Path
        | ArgKind::PathOut
        | ArgKind::BufferIn { .. }
        | ArgKind::BufferOut
        | ArgKind::RandomBytes
        | ArgKind::IntPair
        | ArgKind::Timespec { .. }
        | ArgKind::Stat
        | ArgKind::SockaddrIn { .. }
        | ArgKind::SockaddrOut { .. }
        | ArgKind::Rlimit { .. }
        | ArgKind::SigSet { .. }
        | ArgKind::SigAction { .. }
        | ArgKind::WaitStatus
        | ArgKind::CloneArgs
        | ArgKind::EnvCount
        | ArgKind::TimespecPair
        | ArgKind::Statx => pointer(value),
        ArgKind::PrctlArg2 | ArgKind::PrctlArg => return prctl_arg(i, args, None, 0, opts.strings),
        // SIGKILL cannot be blocked: a mask with it is the kernel side's "could not read it".
        ArgKind::RestoredMask if value & (1 << (libc::SIGKILL - 1)) != 0 => "<unavailable>".to_string(),
        ArgKind::RestoredMask => format!("{{mask={}}}", sigset_text(value)),
        ArgKind::Personality => personality(value as u32),
        ArgKind::IpcKey if value as u32 == 0 => "IPC_PRIVATE".to_string(),
        ArgKind::IpcKey => c_hex(u64::from(value as u32)),
        ArgKind::IpcFlags { shm } => ipc_flags(value as u32, shm),
        ArgKind::KcmpIdx => match args[2] as u32 {
            0 => (value as u32 as i32).to_string(),
            1..=6 => return None,
            7 if i == 3 => (value as u32 as i32).to_string(),
            7 => pointer(value),
            _ => c_hex(value),
        },
        // Not captured (no slot left): as futex_arg shows it, the timeout by its address.
        ArgKind::FutexTimeout => return futex_arg(i, args),
        ArgKind::DirFd if value as u32 as i32 == libc::AT_FDCWD => "AT_FDCWD".to_string(),
        ArgKind::Fd | ArgKind::DirFd => {
            let fd = i64::from(value as u32 as i32);
            if opts.show_fd_paths { annotate_fd(Some(i), fd, fd_path, opts.strings) } else { fd.to_string() }
        }
        ArgKind::OpenFlags => open_flags(value),
        // `umode_t`, 16 bits, whatever the argument's declared type (umask's is an int): strace prints it so.
        ArgKind::Mode => format!("0{:02o}", value as u16),
        ArgKind::Signal => signal_text(int),
        ArgKind::Named(names) => named(int, names),
        ArgKind::Flags(names) => flag_names(int, names),
        ArgKind::TypeAndFlags { mask, types, flags } => type_and_flags(int, mask, types, flags),
        ArgKind::StatxFlags => statx_flags(int),
        ArgKind::SocketProtocol => socket_protocol(args[0] as u32 as i32, int),
        ArgKind::SocketOption => match socket_options(args[1] as u32 as i32) {
            Some(names) => named(int, names),
            None => (value as u32 as i32).to_string(),
        },
        ArgKind::FutexOp => futex_op(int),
        ArgKind::FutexArg => return futex_arg(i, args),
        ArgKind::FcntlArg => return fcntl_arg(args[1] as u32 as i32, value),
        ArgKind::IoctlRequest => ioctl_request(int),
        ArgKind::IoctlArg => return ioctl_arg(args[1] as u32, value),
        ArgKind::ArchPrctlArg => match args[0] as u32 as u64 {
            c::ARCH_GET_CPUID => return None,
            c::ARCH_GET_FS | c::ARCH_GET_GS => pointer(value),
            _ => c_hex(value),
        },
        ArgKind::CloneFlags => clone_flags(value),
        ArgKind::MremapNewAddr if args[3] & libc::MREMAP_FIXED as u64 == 0 => return None,
        ArgKind::MremapNewAddr => pointer(value),
    })
}

fn pointer(value: u64) -> String {
    if value == 0 { "NULL".to_string() } else { format!("{value:#x}") }
}

/// `SIGINT`; the real-time ones as strace numbers them from 32: `SIGRTMIN`, `SIGRT_1`... `SIGRT_32`.
fn signal_text(value: u64) -> String {
    match (signal_name(value as i32), value) {
        (Some(name), _) => name.to_string(),
        (None, 32) => "SIGRTMIN".to_string(),
        (None, 33..=64) => format!("SIGRT_{}", value - 32),
        (None, _) => (value as i32).to_string(),
    }
}

/// `A|B|0x40` for the named bits set in `value`; the zero entry's name (or `0`) when none is set, and strace's
/// comment when no bit has a name (`0x8 /* GRND_??? */`).
fn flag_names(value: u64, names: &Names) -> String {
    flags_text(value, names, names.unknown)
}

/// `SOCK_STREAM|SOCK_CLOEXEC`: a named type in the bits of `mask`, then flags; all flags when the type has no name.
fn type_and_flags(value: u64, mask: u64, types: &Names, flags: &Names) -> String {
    match types.get(value & mask) {
        Some(name) if value & !mask == 0 => name.to_string(),
        Some(name) => format!("{name}|{}", flag_names(value & !mask, flags)),
        None => flag_names(value, flags),
    }
}

/// `AT_STATX_DONT_SYNC|AT_EMPTY_PATH`: strace prints the sync type's two bits from their own table first, both when
/// both are set (not a type), and the rest from `AT_FLAGS`, which has no sync names.
fn statx_flags(value: u64) -> String {
    let sync = value & c::AT_STATX_SYNC_TYPE;
    let rest = value & !c::AT_STATX_SYNC_TYPE;
    let sync = flag_names(sync, &c::STATX_SYNC_TYPES);
    if rest == 0 { sync } else { format!("{sync}|{}", flag_names(rest, &c::AT_FLAGS)) }
}

fn socket_protocol(family: i32, protocol: u64) -> String {
    match family {
        libc::AF_INET | libc::AF_INET6 => named(protocol, &c::IP_PROTOCOLS),
        libc::AF_NETLINK => named(protocol, &c::NETLINK_PROTOCOLS),
        // The protocol of a packet socket is an ethertype in network byte order.
        libc::AF_PACKET => format!("htons({})", named(u64::from((protocol as u16).swap_bytes()), &c::ETHER_PROTOCOLS)),
        _ => (protocol as i32).to_string(),
    }
}

fn socket_options(level: i32) -> Option<&'static Names> {
    Some(match level {
        libc::SOL_SOCKET => &c::SO_OPTIONS,
        libc::SOL_IP => &c::IP_OPTIONS,
        libc::SOL_TCP => &c::TCP_OPTIONS,
        libc::SOL_IPV6 => &c::IPV6_OPTIONS,
        libc::SOL_UDP => &c::UDP_OPTIONS,
        libc::SOL_NETLINK => &c::NETLINK_OPTIONS,
        _ => return None,
    })
}

/// msgget's, semget's and shmget's flags as strace shows them: named flags, unnamed bits in hex, shmget's huge page
/// size as a shift, then the mode in octal (`IPC_CREAT|IPC_EXCL|0xf0000|0600`, `21<<SHM_HUGE_SHIFT|000`).
fn ipc_flags(value: u32, shm: bool) -> String {
    const SHM_HUGE_SHIFT: u32 = 26;
    const SHM_HUGE_MASK: u32 = 0x3f << SHM_HUGE_SHIFT;
    let mut flags = value & !0o777;
    let huge = if shm { flags & SHM_HUGE_MASK } else { 0 };
    flags &= !huge;
    let mut parts = Vec::new();
    if flags != 0 {
        let names = if shm { &c::SHM_RESOURCE_FLAGS } else { &c::IPC_RESOURCE_FLAGS };
        parts.push(flags_text(flags.into(), names, ""));
    }
    if huge != 0 {
        parts.push(format!("{}<<SHM_HUGE_SHIFT", huge >> SHM_HUGE_SHIFT));
    }
    parts.push(format!("0{:02o}", value & 0o777));
    parts.join("|")
}

/// `PER_LINUX|ADDR_NO_RANDOMIZE`: the execution domain in the low byte, then flags; strace's `0xffffffff` for the
/// query.
fn personality(value: u32) -> String {
    if value == u32::MAX {
        return c_hex(value.into());
    }
    let domain = named(u64::from(value & 0xff), &c::PERSONALITY_TYPES);
    match value & !0xff {
        0 => domain,
        flags => format!("{domain}|{}", flag_names(flags.into(), &c::PERSONALITY_FLAGS)),
    }
}

/// prctl's argument `i` (1 to 4) as strace shows it for the option in argument 0; `captured` is argument 2's
/// copy as a string (with whether it faulted). Options strace does not decode further show every argument in hex.
fn prctl_arg(
    i: usize,
    args: &[u64; 6],
    captured: Option<(&[u8], bool)>,
    ret: i64,
    strings: StringStyle,
) -> Option<String> {
    let value = args[i];
    let all_hex = || Some(c_hex(value));
    // The name is at most TASK_COMM_LEN - 1 bytes for PR_SET_NAME, TASK_COMM_LEN for PR_GET_NAME: longer is cut.
    let name = |limit: usize| match captured {
        _ if value == 0 => "NULL".to_string(),
        Some((data, false)) if data.len() >= limit => quote(&data[..limit], true, strings),
        Some((data, false)) => quote(data, false, strings),
        _ => pointer(value),
    };
    const NO_ARGUMENTS: [i32; 7] = [
        libc::PR_GET_KEEPCAPS,
        libc::PR_GET_SECCOMP,
        libc::PR_GET_TIMERSLACK,
        libc::PR_GET_TIMING,
        libc::PR_GET_DUMPABLE,
        libc::PR_TASK_PERF_EVENTS_DISABLE,
        libc::PR_TASK_PERF_EVENTS_ENABLE,
    ];
    const ONE_NUMBER: [i32; 6] = [
        libc::PR_SET_CHILD_SUBREAPER,
        libc::PR_SET_ENDIAN,
        libc::PR_SET_FPEMU,
        libc::PR_SET_FPEXC,
        libc::PR_SET_KEEPCAPS,
        libc::PR_SET_TIMING,
    ];
    const OUT_POINTER: [i32; 5] = [
        libc::PR_GET_CHILD_SUBREAPER,
        libc::PR_GET_ENDIAN,
        libc::PR_GET_FPEMU,
        libc::PR_GET_FPEXC,
        libc::PR_GET_PDEATHSIG,
    ];
    let option = args[0] as u32 as i32;
    match option {
        _ if NO_ARGUMENTS.contains(&option) => None,
        _ if ONE_NUMBER.contains(&option) => (i == 1).then(|| value.to_string()),
        _ if OUT_POINTER.contains(&option) => (i == 1).then(|| pointer(value)),
        libc::PR_SET_NAME => (i == 1).then(|| name(15)),
        libc::PR_GET_NAME if is_error_return(ret) => (i == 1).then(|| pointer(value)),
        libc::PR_GET_NAME => (i == 1).then(|| name(16)),
        libc::PR_SET_DUMPABLE => (i == 1).then(|| named(value, &c::SUID_DUMP)),
        libc::PR_SET_PDEATHSIG if value > 128 => (i == 1).then(|| value.to_string()),
        libc::PR_SET_PDEATHSIG => (i == 1).then(|| signal_text(value)),
        libc::PR_SET_NO_NEW_PRIVS | libc::PR_SET_THP_DISABLE | c::PR_SET_IO_FLUSHER if i == 1 => {
            Some(value.to_string())
        }
        _ => all_hex(),
    }
}

/// FUTEX_CMD_MASK's complement: the op's command is its low 7 bits, as the kernel and strace take it.
const FUTEX_COMMAND_MASK: u32 = 127;

fn futex_op(op: u64) -> String {
    named(op, &c::FUTEX_OPS)
}

/// The futex commands whose `utime` is a timeout (`struct timespec *`).
fn futex_has_timeout(op: u64) -> bool {
    use libc::{
        FUTEX_LOCK_PI as LOCK_PI, FUTEX_LOCK_PI2 as LOCK_PI2, FUTEX_WAIT as WAIT, FUTEX_WAIT_BITSET as WAIT_BITSET,
        FUTEX_WAIT_REQUEUE_PI as WAIT_REQUEUE_PI,
    };
    matches!((op as u32 & FUTEX_COMMAND_MASK) as i32, WAIT | LOCK_PI | LOCK_PI2 | WAIT_BITSET | WAIT_REQUEUE_PI)
}

/// futex's `utime` with its copy: the timeout struct for the waits (its address when it could not be read),
/// otherwise as `futex_arg` shows it.
fn futex_timeout(args: &[u64; 6], data: &[u8], fault: bool) -> Option<String> {
    let value = args[3];
    if !futex_has_timeout(args[1]) || value == 0 {
        return futex_arg(3, args);
    }
    Some(if fault { pointer(value) } else { timespec(data).unwrap_or_else(|| pointer(value)) })
}

/// futex(uaddr, op, val, utime, uaddr2, val3): argument `i` (2 to 5) as strace shows it for this op. `utime` is a
/// timeout for the waits and a count (val2) for the requeues.
fn futex_arg(i: usize, args: &[u64; 6]) -> Option<String> {
    let value = args[i];
    let val = || (value as u32).to_string();
    let bitset = || match value as u32 {
        u32::MAX => "FUTEX_BITSET_MATCH_ANY".to_string(),
        v => c_hex(v.into()),
    };
    let command = (args[1] as u32 & FUTEX_COMMAND_MASK) as i32;
    use libc::{
        FUTEX_CMP_REQUEUE as CMP_REQUEUE, FUTEX_CMP_REQUEUE_PI as CMP_REQUEUE_PI, FUTEX_FD as FD,
        FUTEX_LOCK_PI as LOCK_PI, FUTEX_LOCK_PI2 as LOCK_PI2, FUTEX_REQUEUE as REQUEUE, FUTEX_WAIT as WAIT,
        FUTEX_WAIT_BITSET as WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI as WAIT_REQUEUE_PI, FUTEX_WAKE as WAKE,
        FUTEX_WAKE_BITSET as WAKE_BITSET, FUTEX_WAKE_OP as WAKE_OP,
    };
    Some(match (command, i) {
        (WAIT_BITSET | WAKE_BITSET, 5) => bitset(),
        (WAIT | WAKE | FD | WAIT_BITSET | WAKE_BITSET | WAIT_REQUEUE_PI, 2) => val(),
        (REQUEUE | CMP_REQUEUE | CMP_REQUEUE_PI | WAKE_OP, 2 | 3) | (CMP_REQUEUE | CMP_REQUEUE_PI, 5) => val(),
        (WAIT | WAIT_BITSET | WAIT_REQUEUE_PI | LOCK_PI | LOCK_PI2, 3) => pointer(value),
        (WAIT_REQUEUE_PI | REQUEUE | CMP_REQUEUE | CMP_REQUEUE_PI | WAKE_OP, 4) => pointer(value),
        (WAKE_OP, 5) => futex_wake_op(value as u32),
        _ if c::FUTEX_COMMANDS.get(command as u64).is_some() => return None,
        // An op strace does not know: everything, raw.
        (_, 2) => val(),
        (_, 3 | 4) => pointer(value),
        _ => c_hex(u64::from(value as u32)),
    })
}

/// FUTEX_WAKE_OP's encoded operation: `FUTEX_OP_ADD<<28|0x3<<12|FUTEX_OP_CMP_LT<<24|0x4`.
fn futex_wake_op(v: u32) -> String {
    let shift = if v >> 28 & 8 != 0 { "FUTEX_OP_OPARG_SHIFT<<28|" } else { "" };
    // strace's comment for a number without a name follows the shift: `0x5<<28 /* FUTEX_OP_??? */`.
    let shifted = |value: u64, names: &Names, shift: u32| match names.get(value) {
        Some(name) => format!("{name}<<{shift}"),
        None => format!("{}<<{shift} /* {} */", c_hex(value), names.unknown),
    };
    let op = shifted(u64::from(v >> 28 & 7), &c::FUTEX_WAKE_OPS, 28);
    let cmp = shifted(u64::from(v >> 24 & 0xf), &c::FUTEX_WAKE_CMPS, 24);
    format!("{shift}{op}|{}<<12|{cmp}|{}", c_hex(u64::from(v >> 12 & 0xfff)), c_hex(u64::from(v & 0xfff)))
}

fn fcntl_arg(command: i32, value: u64) -> Option<String> {
    Some(match command {
        libc::F_GETFD | libc::F_GETFL | libc::F_GETOWN | libc::F_GETLEASE | libc::F_GETPIPE_SZ | libc::F_GET_SEALS => {
            return None;
        }
        c::F_GETSIG => return None,
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_SETOWN | libc::F_SETPIPE_SZ => {
            (value as u32 as i32).to_string()
        }
        libc::F_SETFD => flag_names(u64::from(value as u32), &c::FD_FLAGS),
        libc::F_SETFL => open_flags(value),
        c::F_SETSIG => signal_text(u64::from(value as u32)),
        libc::F_SETLEASE => named(u64::from(value as u32), &c::LEASE_TYPES),
        libc::F_NOTIFY => flag_names(u64::from(value as u32), &c::DN_FLAGS),
        libc::F_ADD_SEALS => flag_names(u64::from(value as u32), &c::SEALS),
        libc::F_GETLK | libc::F_SETLK | libc::F_SETLKW | libc::F_OFD_GETLK | libc::F_OFD_SETLK | libc::F_OFD_SETLKW => {
            pointer(value)
        }
        c::F_SETOWN_EX | c::F_GETOWN_EX => pointer(value),
        _ => c_hex(value),
    })
}

/// fcntl's result as strace shows it: flags in hex, named in a comment (`0x8002 (flags O_RDWR|O_LARGEFILE)`).
fn fcntl_return(command: i32, ret: i64) -> String {
    let (hex, value) = (c_hex(ret as u64), ret as u64);
    match command {
        libc::F_GETFD if ret != 0 => format!("{hex} (flags {})", flag_names(value, &c::FD_FLAGS)),
        libc::F_GETFL => format!("{hex} (flags {})", open_flags(value)),
        libc::F_GETLEASE => format!("{hex} ({})", named(value, &c::LEASE_TYPES)),
        libc::F_GET_SEALS if ret != 0 => format!("{hex} (seals {})", flag_names(value, &c::SEALS)),
        _ => ret.to_string(),
    }
}

fn ioctl_request(request: u64) -> String {
    if let Some(name) = c::IOCTLS.get(request) {
        return name.to_string();
    }
    // Linux's encoding: direction in the top two bits, then the size, the type and the number.
    let dir = match request >> 30 {
        0 => "_IOC_NONE",
        1 => "_IOC_WRITE",
        2 => "_IOC_READ",
        _ => "_IOC_READ|_IOC_WRITE",
    };
    let (size, kind, nr) = (request >> 16 & 0x3fff, request >> 8 & 0xff, request & 0xff);
    format!("_IOC({dir}, {}, {}, {})", c_hex(kind), c_hex(nr), c_hex(size))
}

fn ioctl_arg(request: u32, value: u64) -> Option<String> {
    let request = u64::from(request);
    Some(
        if [
            c::ioctl(libc::FIOCLEX),
            c::ioctl(libc::FIONCLEX),
            c::ioctl(libc::TIOCNOTTY),
            c::ioctl(libc::TIOCEXCL),
            c::ioctl(libc::TIOCNXCL),
        ]
        .contains(&request)
        {
            return None;
        } else if [c::ioctl(libc::TCSBRK), c::ioctl(libc::TCXONC), c::ioctl(libc::TCFLSH), c::ioctl(libc::TIOCSCTTY)]
            .contains(&request)
        {
            (value as u32 as i32).to_string()
        } else if c::IOCTLS.get(request).is_some() {
            pointer(value)
        } else {
            c_hex(value)
        },
    )
}

/// clone's arguments named as strace names them (x86_64 order: flags, stack, parent_tid, child_tid, tls), each
/// pointer shown only when a flag makes the kernel use it: `clone(child_stack=NULL,
/// flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f...)`. The parent's tid slot holds the
/// child's tid once the call succeeded (CLONE_PARENT_SETTID): `parent_tid=[1234]`, as strace reads it back.
fn clone_args(args: &[u64; 6], ret: i64) -> Vec<String> {
    const CLONE_SETTLS: u64 = libc::CLONE_SETTLS as u64;
    const CLONE_PARENT_SETTID: u64 = libc::CLONE_PARENT_SETTID as u64;
    const CLONE_PIDFD: u64 = libc::CLONE_PIDFD as u64;
    const CLONE_CHILD_TID: u64 = (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as u64;
    let (flags, stack, parent_tid, child_tid, tls) = (args[0], args[1], args[2], args[3], args[4]);
    let mut shown = vec![format!("child_stack={}", pointer(stack)), format!("flags={}", clone_flags(flags))];
    if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD) != 0 {
        let tid = flags & CLONE_PARENT_SETTID != 0 && ret > 0 && parent_tid != 0;
        shown.push(format!("parent_tid={}", if tid { format!("[{ret}]") } else { pointer(parent_tid) }));
    }
    if flags & CLONE_SETTLS != 0 {
        shown.push(format!("tls={}", pointer(tls)));
    }
    if flags & CLONE_CHILD_TID != 0 {
        shown.push(format!("child_tidptr={}", pointer(child_tid)));
    }
    shown
}

/// clone3's `struct clone_args` as strace shows it (the pointers a flag makes the kernel use, the exit signal, the
/// stack), then, once the call succeeded, what the kernel wrote back: `=> {parent_tid=[1234]}` (the child's tid).
fn clone_args_struct(data: &[u8], ret: i64) -> Option<String> {
    use super::structs::u64_at;
    const CLONE_PIDFD: u64 = libc::CLONE_PIDFD as u64;
    const CLONE_PARENT_SETTID: u64 = libc::CLONE_PARENT_SETTID as u64;
    const CLONE_CHILD_TID: u64 = (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as u64;
    const CLONE_SETTLS: u64 = libc::CLONE_SETTLS as u64;
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let field = |offset| u64_at(data, offset);
    let flags = field(0)?;
    let mut shown = vec![format!("flags={}", flag_names(flags, &c::CLONE3_FLAGS))];
    if flags & CLONE_PIDFD != 0 {
        shown.push(format!("pidfd={}", pointer(field(8)?)));
    }
    if flags & CLONE_CHILD_TID != 0 {
        shown.push(format!("child_tid={}", pointer(field(16)?)));
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        shown.push(format!("parent_tid={}", pointer(field(24)?)));
    }
    let exit_signal = field(32)?;
    shown.push(match i32::try_from(exit_signal) {
        Ok(signo) => format!("exit_signal={}", signal_text(signo as u64)),
        Err(_) => format!("exit_signal={exit_signal}"),
    });
    shown.push(format!("stack={}", pointer(field(40)?)));
    shown.push(format!("stack_size={}", c_hex(field(48)?)));
    if flags & CLONE_SETTLS != 0 {
        shown.push(format!("tls={}", pointer(field(56)?)));
    }
    let (set_tid, set_tid_size) = (field(64)?, field(72)?);
    if set_tid != 0 || set_tid_size != 0 {
        shown.push(format!("set_tid={}", pointer(set_tid)));
        shown.push(format!("set_tid_size={set_tid_size}"));
    }
    let cgroup = field(80)?;
    if cgroup != 0 || flags & CLONE_INTO_CGROUP != 0 {
        shown.push(format!("cgroup={cgroup}"));
    }
    let mut text = format!("{{{}}}", shown.join(", "));
    // The pidfd the kernel wrote is not read back here: said only when its tid is known.
    if ret > 0 && flags & CLONE_PARENT_SETTID != 0 && field(24)? != 0 {
        text.push_str(&format!(" => {{parent_tid=[{ret}]}}"));
    }
    Some(text)
}

fn clone_flags(value: u64) -> String {
    let signal = value & 0xff;
    let flags = flag_names(value & !0xff, &c::CLONE_FLAGS);
    match (value & !0xff, signal) {
        (_, 0) => flags,
        (0, _) => signal_text(signal),
        _ => format!("{flags}|{}", signal_text(signal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::{
        errno::describe,
        files::file_mode,
        net::{inet6_text, interface_name},
    };
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
            fds: None,
        }
    }

    const OPTS: FormatOptions =
        FormatOptions { string_limit: 32, show_fd_paths: false, strings: StringStyle::Escaped, verbose: false };

    #[test]
    fn formats_openat_like_strace() {
        let t = table();
        let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        let r = record(257, [(-100i64) as u64, 0x1000, flags, 0, 0, 0], -2, [b"/etc/hostname", b""]);
        let f = t.format(&r, &OPTS, &|_, _| None);
        assert_eq!(f.name, "openat");
        assert_eq!(f.args, ["AT_FDCWD", "\"/etc/hostname\"", "O_RDONLY|O_CLOEXEC"]);
        assert_eq!((f.ret.as_str(), f.errno), ("-1", Some("ENOENT")));
        assert_eq!(f.errno_text, Some("No such file or directory"));
        let create = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64;
        let r = record(257, [3, 0x1000, create, 0o644, 0, 0], 4, [b"x", b""]);
        assert_eq!(t.format(&r, &OPTS, &|_, _| None).args, ["3", "\"x\"", "O_WRONLY|O_CREAT|O_TRUNC", "0644"]);
    }

    #[test]
    fn cuts_buffers_at_the_string_limit() {
        let t = table();
        let r = record(1, [1, 0x1000, 14, 0, 0, 0], 14, [b"hello, world!\n", b""]);
        let opts = FormatOptions { string_limit: 5, ..OPTS };
        assert_eq!(t.format(&r, &opts, &|_, _| None).args, ["1", "\"hello\"...", "14"]);
        assert_eq!(t.format(&r, &OPTS, &|_, _| None).args, ["1", "\"hello, world!\\n\"", "14"]);
    }

    #[test]
    fn kernel_tables_mark_captures() {
        let specs = table().specs(|_| true, false);
        assert_eq!(specs[257].kind, [capture::CSTRING, capture::NONE]);
        assert_eq!(specs[257].arg[0], 1);
        assert_eq!((specs[1].kind[0], specs[1].arg[0], specs[1].len_arg[0]), (capture::BUFFER_IN, 1, 2));
        assert_eq!(specs[110].wanted, 1); // getppid: from the syscalls crate, no format needed
    }

    #[test]
    fn restart_codes_and_unknown_numbers() {
        let t = table();
        let r = record(0, [0; 6], -512, [b"", b""]);
        let f = t.format(&r, &OPTS, &|_, _| None);
        assert_eq!((f.ret.as_str(), f.errno), ("?", Some("ERESTARTSYS")));
        assert_eq!(t.name(999), "syscall_0x3e7");
        assert_eq!(describe(libc::ENOTTY), ("ENOTTY", "Inappropriate ioctl for device"));
        assert_eq!(describe(libc::EAGAIN), ("EAGAIN", "Resource temporarily unavailable"));
        assert_eq!(open_flags(0o100000 | 2), "O_RDWR|O_LARGEFILE");
        assert_eq!(open_flags(0x400_0000), "O_RDONLY|0x4000000");
        let async_create = (libc::O_ASYNC | libc::O_CREAT | libc::O_CLOEXEC) as u64;
        assert_eq!(open_flags(async_create), "O_RDONLY|O_CREAT|O_CLOEXEC|FASYNC");
        let dir = (libc::O_NONBLOCK | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
        assert_eq!(open_flags(dir), "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY");
        assert_eq!(open_flags((libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC) as u64), "O_RDWR|O_CLOEXEC|O_TMPFILE");
        assert_eq!(open_flags((libc::O_SYNC | libc::O_DIRECTORY) as u64), "O_RDONLY|O_SYNC|O_DIRECTORY");
        assert!(!can_create(dir) && can_create(libc::O_TMPFILE as u64) && can_create(libc::O_CREAT as u64));
        let signals: Vec<String> = [2, 32, 33, 64, 65].into_iter().map(signal_text).collect();
        assert_eq!(signals, ["SIGINT", "SIGRTMIN", "SIGRT_1", "SIGRT_32", "65"]);
    }

    /// The arguments of `name(args)` as formatted, for a kernel format with these (C type, name) fields.
    fn call(name: &str, fields: &[(&str, &str)], args: &[u64]) -> Vec<String> {
        formatted(name, fields, args, 0).args
    }

    fn formatted(name: &str, fields: &[(&str, &str)], args: &[u64], ret: i64) -> FormattedCall<'static> {
        formatted_with(name, fields, args, ret, [b"", b""], 0)
    }

    /// `formatted` with captured bytes per slot and extra status bits (faults).
    fn formatted_with(
        name: &str,
        fields: &[(&str, &str)],
        args: &[u64],
        ret: i64,
        data: [&[u8]; 2],
        extra_status: u32,
    ) -> FormattedCall<'static> {
        let t = table_with(name, fields);
        let mut all = [0; 6];
        all[..args.len()].copy_from_slice(args);
        let mut r = record(0, all, ret, data);
        r.event.status |= extra_status;
        let c = t.format(&r, &OPTS, &|_, _| None);
        FormattedCall {
            name: Cow::Owned(c.name.into_owned()),
            args: c.args,
            ret: c.ret,
            errno: c.errno,
            errno_text: c.errno_text,
        }
    }

    /// A table where syscall 0 (read) stands in for `name` with these fields: the table classifies by name.
    fn table_with(name: &str, fields: &[(&str, &str)]) -> SyscallTable {
        let mut t = SyscallTable::new(&[]);
        let siblings: Vec<(String, String)> = fields.iter().map(|(c, n)| (c.to_string(), n.to_string())).collect();
        let info = t.by_nr[0].as_mut().unwrap();
        info.name = name.to_string();
        info.returns = returns(name);
        info.args = Some(
            fields
                .iter()
                .map(|(c_type, n)| ArgInfo {
                    name: n.to_string(),
                    kind: classify(name, c_type, n, &siblings),
                    int32: is_int32(c_type),
                })
                .collect(),
        );
        t
    }

    /// A call whose arguments are all ints, named `names`.
    fn ints(name: &str, names: &[&str], args: &[u64]) -> Vec<String> {
        let fields: Vec<(&str, &str)> = names.iter().map(|n| ("int", *n)).collect();
        call(name, &fields, args)
    }

    const SOCKET: &[&str] = &["family", "type", "protocol"];

    #[test]
    fn sockets() {
        assert_eq!(ints("socket", SOCKET, &[2, 0x80001, 0]), ["AF_INET", "SOCK_STREAM|SOCK_CLOEXEC", "IPPROTO_IP"]);
        assert_eq!(ints("socket", SOCKET, &[10, 0x802, 17]), ["AF_INET6", "SOCK_DGRAM|SOCK_NONBLOCK", "IPPROTO_UDP"]);
        assert_eq!(
            ints("socket", SOCKET, &[1, 0x80801, 0]),
            ["AF_UNIX", "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "0"]
        );
        assert_eq!(ints("socket", SOCKET, &[16, 3, 15]), ["AF_NETLINK", "SOCK_RAW", "NETLINK_KOBJECT_UEVENT"]);
        assert_eq!(ints("socket", SOCKET, &[17, 3, 0x300]), ["AF_PACKET", "SOCK_RAW", "htons(ETH_P_ALL)"]);
        assert_eq!(ints("socket", SOCKET, &[99, 0x4f, 1234]), ["0x63 /* AF_??? */", "0x4f /* SOCK_??? */", "1234"]);
        assert_eq!(
            ints("socket", SOCKET, &[2, 0x41, 99])[1..],
            ["SOCK_STREAM|0x40 /* SOCK_??? */", "0x63 /* IPPROTO_??? */"]
        );
        assert_eq!(ints("socket", SOCKET, &[2, 0x80000, 0])[1], "SOCK_CLOEXEC");
        assert_eq!(ints("socketpair", &["family", "type", "protocol"], &[1, 2, 0]), ["AF_UNIX", "SOCK_DGRAM", "0"]);
        assert_eq!(ints("accept4", &["fd", "flags"], &[3, 0x80800]), ["3", "SOCK_CLOEXEC|SOCK_NONBLOCK"]);
        let opt = |level, name| ints("setsockopt", &["fd", "level", "optname"], &[3, level, name])[1..].join(", ");
        assert_eq!(opt(1, 2), "SOL_SOCKET, SO_REUSEADDR");
        assert_eq!(opt(1, 20), "SOL_SOCKET, SO_RCVTIMEO_OLD");
        assert_eq!(opt(1, 999), "SOL_SOCKET, 0x3e7 /* SO_??? */");
        assert_eq!(opt(6, 1), "SOL_TCP, TCP_NODELAY");
        assert_eq!(opt(41, 26), "SOL_IPV6, IPV6_V6ONLY");
        assert_eq!(opt(0, 1), "SOL_IP, IP_TOS");
        assert_eq!(opt(17, 103), "SOL_UDP, UDP_SEGMENT");
        assert_eq!(opt(999, 5), "0x3e7 /* SOL_?? */, 5");
        assert_eq!(ints("shutdown", &["fd", "how"], &[3, 2]), ["3", "SHUT_RDWR"]);
        assert_eq!(ints("shutdown", &["fd", "how"], &[3, 3])[1], "0x3 /* SHUT_??? */");
        let send = |flags| ints("sendto", &["fd", "flags"], &[3, flags])[1].clone();
        assert_eq!(send(0x4040), "MSG_DONTWAIT|MSG_NOSIGNAL");
        assert_eq!(send(0x800_0000), "0x8000000 /* MSG_??? */");
        assert_eq!(send(0x800_0001), "MSG_OOB|0x8000000");
        assert_eq!(send(0), "0");
        assert_eq!(ints("recvmsg", &["fd", "flags"], &[3, 0x6000_0001])[1], "MSG_OOB|MSG_FASTOPEN|MSG_CMSG_CLOEXEC");
    }

    const FCNTL: &[(&str, &str)] = &[("unsigned int", "fd"), ("unsigned int", "cmd"), ("unsigned long", "arg")];

    #[test]
    fn fcntl_commands_and_their_argument() {
        let fcntl = |cmd, arg| call("fcntl", FCNTL, &[3, cmd, arg]).join(", ");
        assert_eq!(fcntl(1, 0), "3, F_GETFD");
        assert_eq!(fcntl(3, 0), "3, F_GETFL");
        assert_eq!(fcntl(0, 5), "3, F_DUPFD, 5");
        assert_eq!(fcntl(1030, 3), "3, F_DUPFD_CLOEXEC, 3");
        assert_eq!(fcntl(2, 1), "3, F_SETFD, FD_CLOEXEC");
        assert_eq!(fcntl(2, 3), "3, F_SETFD, FD_CLOEXEC|0x2");
        assert_eq!(fcntl(2, 0), "3, F_SETFD, 0");
        assert_eq!(fcntl(4, 0x802), "3, F_SETFL, O_RDWR|O_NONBLOCK");
        assert_eq!(fcntl(6, 0), "3, F_SETLK, NULL");
        assert_eq!(fcntl(7, 0x7ffc_1000), "3, F_SETLKW, 0x7ffc1000");
        assert_eq!(fcntl(10, 10), "3, F_SETSIG, SIGUSR1");
        assert_eq!(fcntl(1031, 65536), "3, F_SETPIPE_SZ, 65536");
        assert_eq!(fcntl(1032, 0), "3, F_GETPIPE_SZ");
        assert_eq!(fcntl(1024, 1), "3, F_SETLEASE, F_WRLCK");
        assert_eq!(fcntl(1026, 0x8000_0004), "3, F_NOTIFY, DN_CREATE|DN_MULTISHOT");
        assert_eq!(fcntl(1033, 1), "3, F_ADD_SEALS, F_SEAL_SEAL");
        assert_eq!(fcntl(999, 5), "3, 0x3e7 /* F_??? */, 0x5");
        let ret = |cmd, ret| formatted("fcntl", FCNTL, &[3, cmd, 0], ret).ret;
        assert_eq!(ret(1, 1), "0x1 (flags FD_CLOEXEC)");
        assert_eq!(ret(1, 0), "0");
        assert_eq!(ret(3, 0), "0 (flags O_RDONLY)");
        assert_eq!(ret(3, 0x8002), "0x8002 (flags O_RDWR|O_LARGEFILE)");
        assert_eq!(ret(1025, 2), "0x2 (F_UNLCK)");
        assert_eq!(ret(1034, 1), "0x1 (seals F_SEAL_SEAL)");
        assert_eq!(ret(1030, 7), "7");
        assert_eq!(ret(9, 1234), "1234"); // F_GETOWN
    }

    const FUTEX: &[(&str, &str)] = &[
        ("u32 *", "uaddr"),
        ("int", "op"),
        ("u32", "val"),
        ("const struct __kernel_timespec *", "utime"),
        ("u32 *", "uaddr2"),
        ("u32", "val3"),
    ];

    #[test]
    fn futex_ops_and_the_arguments_they_use() {
        let futex = |op, val3| call("futex", FUTEX, &[0x1000, op, 1, 0, 0, val3])[1..].join(", ");
        assert_eq!(futex(0, 0), "FUTEX_WAIT, 1, NULL");
        assert_eq!(futex(1, 0), "FUTEX_WAKE, 1");
        assert_eq!(futex(129, 0), "FUTEX_WAKE_PRIVATE, 1");
        assert_eq!(futex(128, 0), "FUTEX_WAIT_PRIVATE, 1, NULL");
        assert_eq!(
            futex(393, u32::MAX.into()),
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, FUTEX_BITSET_MATCH_ANY"
        );
        assert_eq!(futex(10, 5), "FUTEX_WAKE_BITSET, 1, 0x5");
        assert_eq!(futex(4, 0), "FUTEX_CMP_REQUEUE, 1, 0, NULL, 0");
        assert_eq!(futex(3, 0), "FUTEX_REQUEUE, 1, 0, NULL");
        assert_eq!(futex(6, 0), "FUTEX_LOCK_PI, NULL");
        assert_eq!(futex(7, 0), "FUTEX_UNLOCK_PI");
        assert_eq!(futex(11, 0), "FUTEX_WAIT_REQUEUE_PI, 1, NULL, NULL");
        let op = 1 << 28 | 2 << 24 | 3 << 12 | 4;
        assert_eq!(futex(5, op), "FUTEX_WAKE_OP, 1, 0, NULL, FUTEX_OP_ADD<<28|0x3<<12|FUTEX_OP_CMP_LT<<24|0x4");
        assert_eq!(
            futex(133, 9 << 28),
            "FUTEX_WAKE_OP_PRIVATE, 1, 0, NULL, FUTEX_OP_OPARG_SHIFT<<28|FUTEX_OP_ADD<<28|0<<12|FUTEX_OP_CMP_EQ<<24|0"
        );
        assert_eq!(futex(99, 5), "0x63 /* FUTEX_??? */, 1, NULL, NULL, 0x5");
        assert_eq!(
            futex(5, 0xdadbaee4),
            "FUTEX_WAKE_OP, 1, 0, NULL, FUTEX_OP_OPARG_SHIFT<<28|0x5<<28 /* FUTEX_OP_??? */|0xdba<<12|0xa<<24 /* \
             FUTEX_OP_CMP_??? */|0xee4"
        );
        // strace names whole ops: FUTEX_FD's private flag spelled out, CLOCK_REALTIME only with the waits.
        assert_eq!(futex(130, 0), "FUTEX_FD|FUTEX_PRIVATE_FLAG, 1");
        assert_eq!(futex(0x101, 0), "0x101 /* FUTEX_??? */, 1");
        assert_eq!(futex(0x18a, 5), "0x18a /* FUTEX_??? */, 1, 0x5");
        assert_eq!(futex(0x180, 0), "FUTEX_WAIT_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL");
    }

    #[test]
    fn execve_environment_count() {
        const EXECVE: &[(&str, &str)] =
            &[("const char *", "filename"), ("const char *const *", "argv"), ("const char *const *", "envp")];
        let exec = |envp: u64, count: &[u8], status: u32| {
            formatted_with("execve", EXECVE, &[0x1000, 0x2000, envp], 0, [b"/bin/true", count], status).args[2].clone()
        };
        assert_eq!(exec(0x7ffd_0000, &38u32.to_ne_bytes(), 0), "0x7ffd0000 /* 38 vars */");
        assert_eq!(exec(0x7ffd_0000, &1u32.to_ne_bytes(), 0), "0x7ffd0000 /* 1 var */");
        // Not counted (a fault, more than the kernel counts): the address alone.
        assert_eq!(exec(0x7ffd_0000, b"", status::FAULT_1), "0x7ffd0000");
        assert_eq!(exec(0, b"", status::FAULT_1), "NULL");
        let specs = table_with("execve", EXECVE).specs(|_| true, false);
        assert_eq!((specs[0].kind, specs[0].arg), ([capture::CSTRING, capture::ARRAY_COUNT], [0, 2]));
    }

    #[test]
    fn prctl_personality_and_kcmp_like_strace() {
        const PRCTL: &[(&str, &str)] = &[
            ("int", "option"),
            ("unsigned long", "arg2"),
            ("unsigned long", "arg3"),
            ("unsigned long", "arg4"),
            ("unsigned long", "arg5"),
        ];
        let prctl = |args: &[u64], name: &[u8], status: u32, ret: i64| {
            let f = formatted_with("prctl", PRCTL, args, ret, [name, b""], status);
            format!("{} = {}", f.args.join(", "), f.ret)
        };
        assert_eq!(prctl(&[15, 0x1000, 7, 7, 7], b"abcdef", 0, 0), "PR_SET_NAME, \"abcdef\" = 0");
        assert_eq!(prctl(&[15, 0x1000], b"123456789abcdef", 0, 0), "PR_SET_NAME, \"123456789abcdef\"... = 0");
        assert_eq!(prctl(&[15, 0x1000], b"", status::FAULT_0, -14), "PR_SET_NAME, 0x1000 = -1");
        assert_eq!(prctl(&[15, 0], b"", status::FAULT_0, -14), "PR_SET_NAME, NULL = -1");
        assert_eq!(prctl(&[16, 0x1000], b"python3", 0, 0), "PR_GET_NAME, \"python3\" = 0");
        assert_eq!(prctl(&[1, 9], b"", status::FAULT_0, 0), "PR_SET_PDEATHSIG, SIGKILL = 0");
        assert_eq!(prctl(&[38, 1, 0, 0, 0], b"", status::FAULT_0, 0), "PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0 = 0");
        assert_eq!(prctl(&[3, 1, 2, 3, 4], b"", status::FAULT_0, 1), "PR_GET_DUMPABLE = 1 (SUID_DUMP_USER)");
        assert_eq!(
            prctl(&[0xdead, 0xbeef0, 1, 2, 3], b"", status::FAULT_0, -22),
            "0xdead /* PR_??? */, 0xbeef0, 0x1, 0x2, 0x3 = -1"
        );

        let personality = |arg: u64, ret: i64| {
            let f = formatted("personality", &[("unsigned int", "personality")], &[arg], ret);
            format!("{} = {}", f.args[0], f.ret)
        };
        assert_eq!(personality(0xffff_ffff, 0), "0xffffffff = 0 (PER_LINUX)");
        assert_eq!(
            personality(0x0040000, 0x0400000),
            "PER_LINUX|ADDR_NO_RANDOMIZE = 0x400000 (PER_LINUX|READ_IMPLIES_EXEC)"
        );
        assert_eq!(
            personality(0x7000001, 8),
            "0x1 /* PER_??? */|SHORT_INODE|WHOLE_SECONDS|STICKY_TIMEOUTS = 0x8 (PER_LINUX32)"
        );

        const KCMP: &[(&str, &str)] = &[
            ("pid_t", "pid1"),
            ("pid_t", "pid2"),
            ("int", "type"),
            ("unsigned long", "idx1"),
            ("unsigned long", "idx2"),
        ];
        let kcmp = |args: &[u64]| call("kcmp", KCMP, args).join(", ");
        assert_eq!(kcmp(&[1, 2, 0, 23, 42]), "1, 2, KCMP_FILE, 23, 42");
        assert_eq!(kcmp(&[1, 2, 1, 23, 42]), "1, 2, KCMP_VM");
        assert_eq!(kcmp(&[1, 2, 7, 23, 0]), "1, 2, KCMP_EPOLL_TFD, 23, NULL");
        assert_eq!(kcmp(&[0, 0, 8, 0, 0x1000]), "0, 0, 0x8 /* KCMP_??? */, 0, 0x1000");
    }

    #[test]
    fn statx_abbreviated_like_strace() {
        let mut data = vec![0u8; 48];
        data[0..4].copy_from_slice(&0x17ffu32.to_ne_bytes());
        data[8..16].copy_from_slice(&0x2000u64.to_ne_bytes());
        data[28..30].copy_from_slice(&(libc::S_IFDIR as u16 | 0o755).to_ne_bytes());
        data[40..48].copy_from_slice(&4096u64.to_ne_bytes());
        assert_eq!(
            statx(&data, false).unwrap(),
            "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=STATX_ATTR_MOUNT_ROOT, stx_mode=S_IFDIR|0755, \
             stx_size=4096, ...}"
        );
        assert_eq!(statx(&data[..40], false), None, "a short copy");
    }

    #[test]
    fn ipc_keys_and_flags() {
        assert_eq!(ipc_flags(0o600, false), "0600");
        assert_eq!(ipc_flags(0, true), "000");
        assert_eq!(
            ipc_flags(0o1000 | 0o2000 | 0o4000 | 0xf0000 | 0o125, false),
            "IPC_CREAT|IPC_EXCL|IPC_NOWAIT|0xf0000|0125"
        );
        assert_eq!(ipc_flags(21 << 26, true), "21<<SHM_HUGE_SHIFT|000");
        assert_eq!(
            ipc_flags(0o1000 | 0o4000 | 0o10000 | 21 << 26 | 0o644, true),
            "IPC_CREAT|SHM_HUGETLB|SHM_NORESERVE|21<<SHM_HUGE_SHIFT|0644"
        );
        let key = |k| call("msgget", &[("key_t", "key"), ("int", "msgflg")], &[k, 0o600]).join(", ");
        assert_eq!((key(0), key(0x7ace0123)), ("IPC_PRIVATE, 0600".to_string(), "0x7ace0123, 0600".to_string()));
    }

    #[test]
    fn utimensat_times() {
        const UTIMENSAT: &[(&str, &str)] =
            &[("int", "dfd"), ("const char *", "filename"), ("struct __kernel_timespec *", "utimes"), ("int", "flags")];
        let times = |data: &[u8]| {
            formatted_with("utimensat", UTIMENSAT, &[0, 0x1000, 0x2000, 0], 0, [b"f", data], 0).args[2].clone()
        };
        assert_eq!(times(&words(&[5, (1 << 30) - 1, 6, (1 << 30) - 2])), "[UTIME_NOW, UTIME_OMIT]");
        // An invalid tv_nsec has no date comment (strace's sprinttime_nsec refuses it).
        assert_eq!(times(&words(&[5, 1_000_000_000, 0, 0])), "[{tv_sec=5, tv_nsec=1000000000}, {tv_sec=0, tv_nsec=0}]");
        assert!(times(&words(&[1492358706, 0, 0, 0])).starts_with("[{tv_sec=1492358706, tv_nsec=0} /* 2017-04-16T"));
        assert_eq!(times(&words(&[5, 0])), "0x2000", "a short copy: the address");
    }

    #[test]
    fn futex_timeouts_from_their_copy() {
        let timeout = words(&[123, 195_936_478]);
        let futex = |op: u64, utime: u64, data: &[u8], status: u32| {
            formatted_with("futex", FUTEX, &[0x1000, op, 7, utime, 0x2000, 9], 0, [data, b""], status).args[1..]
                .join(", ")
        };
        assert_eq!(futex(0, 0x3000, &timeout, 0), "FUTEX_WAIT, 7, {tv_sec=123, tv_nsec=195936478}");
        assert_eq!(futex(9, 0x3000, &timeout, 0), "FUTEX_WAIT_BITSET, 7, {tv_sec=123, tv_nsec=195936478}, 0x9");
        assert_eq!(futex(6, 0x3000, &timeout, 0), "FUTEX_LOCK_PI, {tv_sec=123, tv_nsec=195936478}");
        // Unreadable: its address, as strace shows it.
        assert_eq!(futex(128, 0x3000, b"", status::FAULT_0), "FUTEX_WAIT_PRIVATE, 7, 0x3000");
        assert_eq!(futex(0, 0, b"", 0), "FUTEX_WAIT, 7, NULL");
        // The requeues' utime is a count (val2), whatever the copy read.
        assert_eq!(futex(3, 5, b"", status::FAULT_0), "FUTEX_REQUEUE, 7, 5, 0x2000");
        // An invalid tv_nsec is the unsigned number the kernel refused.
        let bad = words(&[u64::MAX - 5, u64::MAX - 1]);
        assert_eq!(futex(0, 0x3000, &bad, 0), "FUTEX_WAIT, 7, {tv_sec=-6, tv_nsec=18446744073709551614}");
    }

    #[test]
    fn ioctl_requests() {
        let fields = &[("unsigned int", "fd"), ("unsigned int", "cmd"), ("unsigned long", "arg")];
        let ioctl = |cmd, arg| call("ioctl", fields, &[3, cmd, arg])[1..].join(", ");
        assert_eq!(ioctl(0x5401, 0x7ffc_d300_fd70), "TCGETS, 0x7ffcd300fd70");
        assert_eq!(ioctl(0x5401, 0), "TCGETS, NULL");
        assert_eq!(ioctl(0x5402, 0x1000), "SNDCTL_TMR_START or TCSETS, 0x1000");
        assert_eq!(ioctl(0x5413, 0x1000), "TIOCGWINSZ, 0x1000");
        assert_eq!(ioctl(0x5414, 0x1000), "TIOCSWINSZ, 0x1000");
        assert_eq!(ioctl(0x541b, 0x1000), "FIONREAD, 0x1000");
        assert_eq!(ioctl(0x5421, 0x1000), "FIONBIO, 0x1000");
        assert_eq!(ioctl(0x540f, 0x1000), "TIOCGPGRP, 0x1000");
        assert_eq!(ioctl(0x5410, 0x1000), "TIOCSPGRP, 0x1000");
        assert_eq!(ioctl(0x5451, 0), "FIOCLEX");
        assert_eq!(ioctl(0x5450, 0), "FIONCLEX");
        assert_eq!(ioctl(0x5409, 0), "TCSBRK, 0");
        assert_eq!(ioctl(0x5499, 5), "_IOC(_IOC_NONE, 0x54, 0x99, 0), 0x5");
        assert_eq!(ioctl(0xc010_5512, 0), "_IOC(_IOC_READ|_IOC_WRITE, 0x55, 0x12, 0x10), 0");
    }

    #[test]
    fn process_and_memory_constants() {
        assert_eq!(
            call(
                "lseek",
                &[("unsigned int", "fd"), ("off_t", "offset"), ("unsigned int", "whence")],
                &[3, (-60i64) as u64, 1]
            ),
            ["3", "-60", "SEEK_CUR"]
        );
        assert_eq!(ints("lseek", &["fd", "offset", "whence"], &[3, 0, 9])[2], "0x9 /* SEEK_??? */");
        let limits = &[("pid_t", "pid"), ("unsigned int", "resource"), ("const struct rlimit64 *", "new_rlim")];
        assert_eq!(call("prlimit64", limits, &[0, 3, 0]), ["0", "RLIMIT_STACK", "NULL"]);
        assert_eq!(call("prlimit64", limits, &[0, 16, 0])[1], "0x10 /* RLIMIT_??? */");
        assert_eq!(ints("getrlimit", &["resource"], &[7]), ["RLIMIT_NOFILE"]);
        let arch = &[("int", "option"), ("unsigned long", "arg2")];
        assert_eq!(call("arch_prctl", arch, &[0x1002, 0x7f36_df9a_a040]), ["ARCH_SET_FS", "0x7f36df9aa040"]);
        assert_eq!(call("arch_prctl", arch, &[0x1003, 0]), ["ARCH_GET_FS", "NULL"]);
        assert_eq!(call("arch_prctl", arch, &[0x1011, 0]), ["ARCH_GET_CPUID"]);
        assert_eq!(call("arch_prctl", arch, &[0x9999, 0]), ["0x9999 /* ARCH_??? */", "0"]);
        assert_eq!(ints("rt_sigprocmask", &["how"], &[0]), ["SIG_BLOCK"]);
        assert_eq!(ints("rt_sigprocmask", &["how"], &[5]), ["0x5 /* SIG_??? */"]);
        assert_eq!(ints("madvise", &["behavior"], &[4]), ["MADV_DONTNEED"]);
        assert_eq!(ints("madvise", &["behavior"], &[999]), ["0x3e7 /* MADV_??? */"]);
        let wait = |options| ints("wait4", &["upid", "options"], &[(-1i64) as u64, options])[1].clone();
        assert_eq!(wait(0), "0");
        assert_eq!(wait(3), "WNOHANG|WSTOPPED");
        assert_eq!(wait(0x4000_0000), "__WALL");
        assert_eq!(wait(0x8000_0000), "__WCLONE");
        assert_eq!(wait(0x100), "0x100 /* W??? */");
        assert_eq!(wait(0x101), "WNOHANG|0x100");
        assert_eq!(ints("waitid", &["which", "options"], &[0, 5]), ["P_ALL", "WNOHANG|WEXITED"]);
        let clone = |flags| {
            let shown = call("clone", &[("unsigned long", "clone_flags")], &[flags])[1].clone();
            shown.strip_prefix("flags=").expect("named as strace names it").to_string()
        };
        assert_eq!(clone(0x120_0011), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
        assert_eq!(
            clone(0x3d_0f00),
            "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|\
             CLONE_CHILD_CLEARTID"
        );
        assert_eq!(clone(17), "SIGCHLD");
        assert_eq!(clone(0x8000_0000), "CLONE_IO");
        assert_eq!(clone(0), "0");
        let mmap = |flags| call("mmap", &[("unsigned long", "flags")], &[flags])[0].clone();
        assert_eq!(mmap(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(mmap(0x812), "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
        // strace names type 0 (`MAP_FILE`) before the flags.
        assert_eq!(mmap(0x20), "MAP_FILE|MAP_ANONYMOUS");
        let mmap_off = &[("unsigned long", "fd"), ("unsigned long", "off")];
        assert_eq!(call("mmap", mmap_off, &[3, 0x10000]), ["3", "0x10000"]);
        assert_eq!(call("mmap", mmap_off, &[u64::MAX, 0]), ["-1", "0"]);
        let rseq = &[("struct rseq *", "rseq"), ("u32", "rseq_len"), ("int", "flags"), ("u32", "sig")];
        assert_eq!(
            call("rseq", rseq, &[0x7f00_0000_0960, 32, 0, 0x5305_3053]),
            ["0x7f0000000960", "0x20", "0", "0x53053053"]
        );
        let umask = formatted("umask", &[("int", "mask")], &[0o22], 0o777);
        assert_eq!((umask.args, umask.ret), (vec!["022".to_string()], "0777".to_string()));
        assert_eq!(call("mprotect", &[("unsigned long", "prot")], &[3]), ["PROT_READ|PROT_WRITE"]);
        assert_eq!(call("mprotect", &[("unsigned long", "prot")], &[0]), ["PROT_NONE"]);
        assert_eq!(ints("unlinkat", &["flag"], &[0x1000 | 0x4000_0000]), ["AT_EMPTY_PATH|0x40000000"]);
        assert_eq!(ints("access", &["mode"], &[0]), ["F_OK"]);
        assert_eq!(ints("setitimer", &["which"], &[0]), ["ITIMER_REAL"]);
        assert_eq!(ints("getitimer", &["which"], &[2]), ["ITIMER_PROF"]);
        assert_eq!(ints("setitimer", &["which"], &[7]), ["0x7 /* ITIMER_??? */"]);
        // strace's faccessat test: bits without a name get its comment, when none has one.
        assert_eq!(ints("faccessat", &["dfd", "mode"], &[3, 8])[1], "0x8 /* ?_OK */");
        assert_eq!(ints("access", &["mode"], &[0xc]), ["R_OK|0x8"]);
        let mremap = |flags| ints("mremap", &["addr", "old_len", "new_len", "flags", "new_addr"], &[0, 0, 0, flags, 0]);
        assert_eq!(mremap(0)[3..], ["0"]);
        assert_eq!(mremap(3)[3..], ["MREMAP_MAYMOVE|MREMAP_FIXED", "NULL"]);
        assert_eq!(mremap(4)[3..], ["MREMAP_DONTUNMAP"]);
        assert_eq!(ints("msync", &["flags"], &[6]), ["MS_SYNC|MS_INVALIDATE"]);
        assert_eq!(ints("mlockall", &["flags"], &[3]), ["MCL_CURRENT|MCL_FUTURE"]);
        assert_eq!(ints("unshare", &["unshare_flags"], &[0x2000_0000]), ["CLONE_NEWPID"]);
        assert_eq!(ints("setns", &["fd", "flags"], &[3, 0]), ["3", "0"]);
        assert_eq!(ints("getpriority", &["which", "who"], &[1, 5]), ["PRIO_PGRP", "5"]);
        assert_eq!(ints("pidfd_open", &["pid", "flags"], &[1, 0x800]), ["1", "PIDFD_NONBLOCK"]);
    }

    /// strace shows getcwd's buffer as a path: without the NUL the kernel counts in the return value, not cut at
    /// `-s` (its default 32 here), the address when the call failed.
    #[test]
    fn getcwd_shows_a_path() {
        let fields = [("char *", "buf"), ("unsigned long", "size")];
        let cwd = b"/tmp/tracer-parity-run/a-directory-deeper-than-32\0";
        let ok = formatted_with("getcwd", &fields, &[0x7ffd_0000, 4096], cwd.len() as i64, [cwd, b""], 0);
        assert_eq!(ok.args, ["\"/tmp/tracer-parity-run/a-directory-deeper-than-32\"", "4096"]);
        let failed = formatted_with("getcwd", &fields, &[0x7ffd_0000, 1], -34, [b"", b""], 0);
        assert_eq!(failed.args, ["0x7ffd0000", "1"]);
    }

    #[test]
    fn file_constants() {
        let statx =
            |flags, mask| ints("statx", &["dfd", "flags", "mask"], &[(-100i64) as u64, flags, mask])[1..].join(", ");
        assert_eq!(statx(0, 0x7ff), "AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS");
        assert_eq!(statx(0x100, 0xfff), "AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW, STATX_ALL");
        assert_eq!(statx(0x2000, 1), "AT_STATX_FORCE_SYNC, STATX_TYPE");
        assert_eq!(statx(0x6000, 0x8000_0000), "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC, 0x80000000 /* STATX_??? */");
        assert_eq!(statx(0x800, 3), "AT_STATX_SYNC_AS_STAT|AT_NO_AUTOMOUNT, STATX_TYPE|STATX_MODE");
        // strace's statx test: every bit set. The sync names first, and none among the others.
        assert_eq!(
            statx(0xffff_ffff, 0xfff),
            "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR|AT_SYMLINK_FOLLOW|AT_NO_AUTOMOUNT\
             |AT_EMPTY_PATH|AT_RECURSIVE|0xffff00ff, STATX_ALL"
        );
        assert_eq!(statx(0x4100, 1), "AT_STATX_DONT_SYNC|AT_SYMLINK_NOFOLLOW, STATX_TYPE");
        // Other calls' AT_* flags have no sync names (strace's at_flags), as unlinkat's test shows.
        assert_eq!(
            ints("unlinkat", &["dfd", "pathname", "flag"], &[3, 0, 0xffff_ffff])[2],
            "AT_SYMLINK_NOFOLLOW|AT_REMOVEDIR|AT_SYMLINK_FOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH|AT_RECURSIVE|0xffff60ff"
        );
        let flock = |cmd| ints("flock", &["fd", "cmd"], &[3, cmd])[1].clone();
        assert_eq!(flock(2), "LOCK_EX");
        assert_eq!(flock(6), "LOCK_EX|LOCK_NB");
        assert_eq!(flock(8), "LOCK_UN");
        assert_eq!(ints("close_range", &["fd", "max_fd", "flags"], &[3, 5, 4])[2], "CLOSE_RANGE_CLOEXEC");
        assert_eq!(ints("renameat2", &["flags"], &[2]), ["RENAME_EXCHANGE"]);
        assert_eq!(ints("fallocate", &["fd", "mode"], &[3, 3])[1], "FALLOC_FL_KEEP_SIZE|FALLOC_FL_PUNCH_HOLE");
        assert_eq!(ints("fallocate", &["fd", "mode"], &[3, 0])[1], "0");
        assert_eq!(ints("fadvise64", &["advice"], &[2]), ["POSIX_FADV_SEQUENTIAL"]);
        assert_eq!(ints("inotify_add_watch", &["fd", "mask"], &[3, 0x100_0300])[1], "IN_CREATE|IN_DELETE|IN_ONLYDIR");
    }

    #[test]
    fn clocks_and_fd_creation_flags() {
        let clock = |id| ints("clock_gettime", &["which_clock"], &[id])[0].clone();
        assert_eq!(clock(1), "CLOCK_MONOTONIC");
        assert_eq!(clock(11), "CLOCK_TAI");
        assert_eq!(clock((-2i64) as u64), "0xfffffffe /* CLOCK_??? */");
        let sleep = |id, flags| ints("clock_nanosleep", &["which_clock", "flags"], &[id, flags]).join(", ");
        assert_eq!(sleep(1, 1), "CLOCK_MONOTONIC, TIMER_ABSTIME");
        assert_eq!(sleep(0, 0), "CLOCK_REALTIME, 0");
        assert_eq!(sleep(7, 3), "CLOCK_BOOTTIME, TIMER_ABSTIME|0x2");
        assert_eq!(sleep(1, 0x8000_0000), "CLOCK_MONOTONIC, 0x80000000 /* TIMER_??? */");
        assert_eq!(
            ints("timerfd_create", &["clockid", "flags"], &[1, 0x80800]),
            ["CLOCK_MONOTONIC", "TFD_CLOEXEC|TFD_NONBLOCK"]
        );
        assert_eq!(ints("timerfd_settime", &["ufd", "flags"], &[3, 3])[1], "TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET");
        assert_eq!(ints("timer_create", &["which_clock"], &[2]), ["CLOCK_PROCESS_CPUTIME_ID"]);
        let flags = |name: &str, value| ints(name, &["flags"], &[value])[0].clone();
        assert_eq!(flags("getrandom", 1), "GRND_NONBLOCK");
        assert_eq!(flags("getrandom", 7), "GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE");
        assert_eq!(flags("getrandom", 8), "0x8 /* GRND_??? */");
        assert_eq!(flags("getrandom", 9), "GRND_NONBLOCK|0x8");
        assert_eq!(flags("pipe2", 0x80000), "O_CLOEXEC");
        assert_eq!(flags("pipe2", 0x80800), "O_NONBLOCK|O_CLOEXEC");
        assert_eq!(flags("pipe2", 0x4000), "O_DIRECT");
        assert_eq!(flags("pipe2", 0), "0");
        assert_eq!(flags("pipe2", 1), "0x1 /* O_??? */");
        assert_eq!(flags("dup3", 0x80001), "O_CLOEXEC|0x1");
        assert_eq!(flags("eventfd2", 0x80801), "EFD_SEMAPHORE|EFD_CLOEXEC|EFD_NONBLOCK");
        assert_eq!(flags("eventfd2", 8), "0x8 /* EFD_??? */");
        assert_eq!(flags("epoll_create1", 0x80000), "EPOLL_CLOEXEC");
        assert_eq!(flags("inotify_init1", 0x80800), "IN_NONBLOCK|IN_CLOEXEC");
        assert_eq!(flags("signalfd4", 0x80800), "SFD_CLOEXEC|SFD_NONBLOCK");
        assert_eq!(flags("memfd_create", 7), "MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_HUGETLB");
        assert_eq!(flags("memfd_create", 0x40), "0x40 /* MFD_??? */");
        assert_eq!(ints("epoll_ctl", &["epfd", "op", "fd"], &[4, 1, 3]), ["4", "EPOLL_CTL_ADD", "3"]);
        assert_eq!(ints("epoll_ctl", &["epfd", "op", "fd"], &[4, 0, 3])[1], "0 /* EPOLL_CTL_??? */");
    }

    const PIPE2: &[(&str, &str)] = &[("int *", "fildes"), ("int", "flags")];

    fn words(values: &[u64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn int_pairs_after_success() {
        let fds: Vec<u8> = [4i32, 5].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let pipe2 =
            |ret, data: &[u8], status| formatted_with("pipe2", PIPE2, &[0x1000, 0x80000], ret, [data, b""], status);
        assert_eq!(pipe2(0, &fds, 0).args, ["[4, 5]", "O_CLOEXEC"]);
        assert_eq!(pipe2(-24, b"", 0).args[0], "0x1000", "a failed call filled nothing");
        assert_eq!(pipe2(0, &fds[..4], 0).args[0], "0x1000", "short");
        assert_eq!(pipe2(0, b"", status::FAULT_0).args[0], "0x1000", "fault");
        let pair = &[("int", "family"), ("int", "type"), ("int", "protocol"), ("int *", "usockvec")];
        let f = formatted_with("socketpair", pair, &[1, 1, 0, 0x2000], 0, [&fds, b""], 0);
        assert_eq!(f.args, ["AF_UNIX", "SOCK_STREAM", "0", "[4, 5]"]);
        let pipe = formatted_with("pipe", &[("int *", "fildes")], &[0], -14, [b"", b""], 0);
        assert_eq!(pipe.args, ["NULL"]);
    }

    const CLOCK_NANOSLEEP: &[(&str, &str)] = &[
        ("const clockid_t", "which_clock"),
        ("int", "flags"),
        ("const struct __kernel_timespec *", "rqtp"),
        ("struct __kernel_timespec *", "rmtp"),
    ];

    #[test]
    fn timespecs_in_and_out() {
        let ts = words(&[0, 10_000_000]);
        let sleep = |ret, data: &[u8], status| {
            formatted_with("clock_nanosleep", CLOCK_NANOSLEEP, &[1, 0, 0x1000, 0x2000], ret, [data, b""], status).args
        };
        assert_eq!(sleep(0, &ts, 0), ["CLOCK_MONOTONIC", "0", "{tv_sec=0, tv_nsec=10000000}", "0x2000"]);
        assert_eq!(sleep(-4, &ts, 0)[2], "{tv_sec=0, tv_nsec=10000000}", "a request is shown whatever the result");
        assert_eq!(sleep(0, &ts[..15], 0)[2], "0x1000");
        assert_eq!(sleep(0, b"", status::FAULT_0)[2], "0x1000");
        let nanosleep = &[("struct __kernel_timespec *", "rqtp"), ("struct __kernel_timespec *", "rmtp")];
        let neg = words(&[(-1i64) as u64, 5]);
        assert_eq!(
            formatted_with("nanosleep", nanosleep, &[0x1000, 0], 0, [&neg, b""], 0).args,
            ["{tv_sec=-1, tv_nsec=5}", "NULL"]
        );
        let gettime = &[("const clockid_t", "which_clock"), ("struct __kernel_timespec *", "tp")];
        let now = words(&[14542, 790_246_880]);
        let get = |name, ret| formatted_with(name, gettime, &[1, 0x1000], ret, [&now, b""], 0).args;
        assert_eq!(get("clock_gettime", 0), ["CLOCK_MONOTONIC", "{tv_sec=14542, tv_nsec=790246880}"]);
        assert_eq!(get("clock_getres", 0)[1], "{tv_sec=14542, tv_nsec=790246880}");
        assert_eq!(get("clock_gettime", -22)[1], "0x1000");
        assert_eq!(formatted_with("clock_getres", gettime, &[1, 0], 0, [b"", b""], 0).args[1], "NULL");
    }

    /// A `struct stat` (x86_64) with this mode, rdev and size.
    fn stat_bytes(mode: u32, rdev: u64, size: i64) -> Vec<u8> {
        let mut b = vec![0u8; 144];
        b[24..28].copy_from_slice(&mode.to_ne_bytes());
        b[40..48].copy_from_slice(&rdev.to_ne_bytes());
        b[48..56].copy_from_slice(&size.to_ne_bytes());
        b
    }

    #[test]
    fn fd_paths_in_hex_as_strace_x_shows_them() {
        let named = |text: &'static str, style| annotate_fd(Some(0), 3, &|_, _| Some(text.to_string()), style);
        assert_eq!(
            named("/dev/null<char 1:3>", StringStyle::HexAll),
            r"3<\x2f\x64\x65\x76\x2f\x6e\x75\x6c\x6c<char 1:3>>"
        );
        assert_eq!(named("/dev/null<char 1:3>", StringStyle::HexNonAscii), "3</dev/null<char 1:3>>");
        assert_eq!(named("/tmp/caf\u{e9}", StringStyle::HexNonAscii), r"3<\x2f\x74\x6d\x70\x2f\x63\x61\x66\xc3\xa9>");
        assert_eq!(named("pipe:[12]", StringStyle::HexAll), r"3<\x70\x69\x70\x65\x3a\x5b\x31\x32\x5d>");
        assert_eq!(named("TCP:[127.0.0.1:80]", StringStyle::HexAll), "3<TCP:[127.0.0.1:80]>", "-yy's own text");
        assert_eq!(named("?", StringStyle::HexAll), "3<?>", "unknown stays unknown");
        let inet = [2u8, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            sockaddr(&inet, StringStyle::HexAll).unwrap(),
            r#"{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("\x31\x32\x37\x2e\x30\x2e\x30\x2e\x31")}"#
        );
    }

    #[test]
    fn stat_and_statx_whole_under_v() {
        let mut file = stat_bytes(0o100644, 0, 37203);
        file[0..8].copy_from_slice(&libc::makedev(0xfe, 0).to_ne_bytes());
        file[8..16].copy_from_slice(&819u64.to_ne_bytes());
        file[16..24].copy_from_slice(&1u64.to_ne_bytes());
        file[28..32].copy_from_slice(&1000u32.to_ne_bytes());
        file[56..64].copy_from_slice(&4096u64.to_ne_bytes());
        file[64..72].copy_from_slice(&80u64.to_ne_bytes());
        // Times at the epoch: strace prints no date comment for them (and none that depends on the time zone).
        assert_eq!(
            stat(&file, true).unwrap(),
            "{st_dev=makedev(0xfe, 0), st_ino=819, st_mode=S_IFREG|0644, st_nlink=1, st_uid=1000, st_gid=0, \
             st_blksize=4096, st_blocks=80, st_size=37203, st_atime=0, st_atime_nsec=0, st_mtime=0, st_mtime_nsec=0, \
             st_ctime=0, st_ctime_nsec=0}"
        );
        let null = stat_bytes(0o20666, libc::makedev(1, 3), 0);
        assert!(stat(&null, true).unwrap().contains(", st_blocks=0, st_rdev=makedev(0x1, 0x3), st_atime=0,"));
        assert_eq!(stat(&file[..143], true), None, "short");

        let mut data = vec![0u8; 152];
        data[0..4].copy_from_slice(&0x17ffu32.to_ne_bytes()); // basic stats, no btime, mount id
        data[4..8].copy_from_slice(&4096u32.to_ne_bytes());
        data[28..30].copy_from_slice(&(libc::S_IFCHR as u16 | 0o666).to_ne_bytes());
        data[128..132].copy_from_slice(&1u32.to_ne_bytes());
        data[132..136].copy_from_slice(&3u32.to_ne_bytes());
        data[144..152].copy_from_slice(&0x18u64.to_ne_bytes());
        assert_eq!(
            statx(&data, true).unwrap(),
            "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_blksize=4096, stx_attributes=0, stx_nlink=0, stx_uid=0, \
             stx_gid=0, stx_mode=S_IFCHR|0666, stx_ino=0, stx_size=0, stx_blocks=0, stx_attributes_mask=0, \
             stx_atime={tv_sec=0, tv_nsec=0}, stx_ctime={tv_sec=0, tv_nsec=0}, stx_mtime={tv_sec=0, tv_nsec=0}, \
             stx_rdev_major=1, stx_rdev_minor=3, stx_dev_major=0, stx_dev_minor=0, stx_mnt_id=0x18}"
        );
        // STATX_TYPE|STATX_MODE|STATX_ATIME: the other times were not filled, and strace leaves them out.
        data[0..4].copy_from_slice(&0x23u32.to_ne_bytes());
        let partial = statx(&data, true).unwrap();
        assert!(partial.contains(", stx_atime={tv_sec=0, tv_nsec=0}, stx_rdev_major=1,"), "{partial}");
        assert!(partial.ends_with("stx_dev_minor=0}"), "no mount id: {partial}");
        assert_eq!(statx(&data[..48], true), None, "the abbreviated copy is too short for -v");
        assert!(statx(&data[..48], false).is_some());
    }

    #[test]
    fn stat_abbreviated_like_strace() {
        let fields = &[("int", "dfd"), ("const char *", "filename"), ("struct stat *", "statbuf"), ("int", "flag")];
        let fstatat = |ret, data: &[u8], status| {
            formatted_with("newfstatat", fields, &[(-100i64) as u64, 0x1000, 0x2000, 0], ret, [b"/x", data], status)
                .args
        };
        let file = stat_bytes(0o100644, 0, 37203);
        assert_eq!(fstatat(0, &file, 0), ["AT_FDCWD", "\"/x\"", "{st_mode=S_IFREG|0644, st_size=37203, ...}", "0"]);
        let tty = stat_bytes(0o20620, libc::makedev(136, 0), 0);
        assert_eq!(fstatat(0, &tty, 0)[2], "{st_mode=S_IFCHR|0620, st_rdev=makedev(0x88, 0), ...}");
        let null = stat_bytes(0o20666, libc::makedev(1, 3), 0);
        assert_eq!(fstatat(0, &null, 0)[2], "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}");
        let disk = stat_bytes(0o60660, libc::makedev(259, 0x10_0001), 0);
        assert_eq!(fstatat(0, &disk, 0)[2], "{st_mode=S_IFBLK|0660, st_rdev=makedev(0x103, 0x100001), ...}");
        let tmp = stat_bytes(0o41777, 0, 12288);
        assert_eq!(fstatat(0, &tmp, 0)[2], "{st_mode=S_IFDIR|S_ISVTX|0777, st_size=12288, ...}");
        assert_eq!(fstatat(-2, b"", 0)[2], "0x2000", "failed");
        assert_eq!(fstatat(0, &file[..143], 0)[2], "0x2000", "short");
        assert_eq!(fstatat(0, b"", status::FAULT_1)[2], "0x2000", "fault");
        let fstat = formatted_with(
            "fstat",
            &[("unsigned int", "fd"), ("struct stat *", "statbuf")],
            &[3, 0x2000],
            0,
            [&file, b""],
            0,
        );
        assert_eq!(fstat.args, ["3", "{st_mode=S_IFREG|0644, st_size=37203, ...}"]);
        assert_eq!(file_mode(0o104755), "S_IFREG|S_ISUID|0755");
        assert_eq!(file_mode(0o102007), "S_IFREG|S_ISGID|007");
        assert_eq!(file_mode(0o140000), "S_IFSOCK|000");
        assert_eq!(file_mode(0o644), "0644");
    }

    fn sockaddr_in(family: u16, port: u16, rest: &[u8]) -> Vec<u8> {
        let mut b = family.to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(rest);
        b
    }

    #[test]
    fn sockaddrs_like_strace() {
        let fields = &[("int", "fd"), ("struct sockaddr *", "umyaddr"), ("int", "addrlen")];
        let bind = |data: &[u8], status| {
            formatted_with("bind", fields, &[3, 0x1000, data.len() as u64], 0, [data, b""], status).args[1].clone()
        };
        let inet = sockaddr_in(2, 80, &[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bind(&inet, 0), "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}");
        assert_eq!(bind(&inet[..8], 0), "0x1000", "short");
        assert_eq!(bind(&inet[..1], 0), "0x1000", "no family");
        assert_eq!(bind(b"", status::FAULT_0), "0x1000", "fault");
        let mut six = sockaddr_in(10, 443, &[0; 4]);
        six.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        six.extend(0u32.to_ne_bytes());
        assert_eq!(
            bind(&six, 0),
            "{sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", \
             &sin6_addr), sin6_scope_id=0}"
        );
        assert_eq!(bind(&six[..24], 0), "0x1000", "short");
        let mut link_local = sockaddr_in(10, 0, &[0; 4]);
        link_local.extend("fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        link_local.extend(1u32.to_ne_bytes());
        let lo = interface_name(1).expect("interface 1 (lo)");
        assert!(
            bind(&link_local, 0)
                .ends_with(&format!("\"fe80::1\", &sin6_addr), sin6_scope_id=if_nametoindex(\"{lo}\")}}"))
        );
        link_local.truncate(24);
        link_local.extend(0u32.to_ne_bytes());
        assert!(bind(&link_local, 0).ends_with("sin6_scope_id=0}"), "no interface 0");
        six.truncate(24);
        six.extend(1u32.to_ne_bytes());
        assert!(bind(&six, 0).ends_with("sin6_scope_id=1}"), "not link-local: a number");
        let v6 = |text: &str| inet6_text(text.parse::<std::net::Ipv6Addr>().unwrap().octets());
        let texts: Vec<String> = ["::1.2.3.4", "::ffff:1.2.3.4", "::0.0.1.2", "fe80::1", "::"].map(v6).into();
        assert_eq!(texts, ["::1.2.3.4", "::ffff:1.2.3.4", "::102", "fe80::1", "::"], "as glibc's inet_ntop");
        let unix = |path: &[u8]| [&1u16.to_ne_bytes()[..], path].concat();
        assert_eq!(bind(&unix(b"/run/x.sock\0"), 0), "{sa_family=AF_UNIX, sun_path=\"/run/x.sock\"}");
        assert_eq!(bind(&unix(b"/run/x.sock"), 0), "{sa_family=AF_UNIX, sun_path=\"/run/x.sock\"}");
        assert_eq!(bind(&unix(b"\0name"), 0), "{sa_family=AF_UNIX, sun_path=@\"name\"}");
        assert_eq!(bind(&unix(b""), 0), "{sa_family=AF_UNIX}");
        let mut netlink = 16u16.to_ne_bytes().to_vec();
        netlink.extend([0, 0]);
        netlink.extend(0u32.to_ne_bytes());
        netlink.extend(5u32.to_ne_bytes());
        assert_eq!(bind(&netlink, 0), "{sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000005}");
        assert_eq!(bind(&sockaddr_in(17, 0, &[0; 16]), 0), "{sa_family=AF_PACKET, ...}");
        assert_eq!(bind(&sockaddr_in(99, 0, &[]), 0), "{sa_family=0x63 /* AF_??? */, ...}");
        let connect = &[("int", "fd"), ("struct sockaddr *", "uservaddr"), ("int", "addrlen")];
        let f = formatted_with("connect", connect, &[3, 0x1000, 16], -111, [&inet, b""], 0);
        assert_eq!(f.args[1], "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}");
        assert_eq!(f.args[2], "16");
    }

    #[test]
    fn sockaddrs_filled_by_the_kernel() {
        let fields =
            &[("int", "fd"), ("struct sockaddr *", "upeer_sockaddr"), ("int *", "upeer_addrlen"), ("int", "flags")];
        let inet = sockaddr_in(2, 80, &[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let accept4 = |ret, data: &[u8], status| {
            formatted_with("accept4", fields, &[3, 0x1000, 0x2000, 0x80000], ret, [data, b""], status).args
        };
        assert_eq!(
            accept4(5, &inet, 0),
            [
                "3",
                "{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"127.0.0.1\")}",
                "0x2000",
                "SOCK_CLOEXEC"
            ]
        );
        assert_eq!(accept4(-11, b"", 0)[1], "0x1000", "failed");
        assert_eq!(accept4(5, b"", 0)[1], "0x1000", "no address (an unnamed peer)");
        assert_eq!(accept4(5, b"", status::FAULT_0)[1], "0x1000", "fault");
        assert_eq!(formatted_with("accept4", fields, &[3, 0, 0, 0], 5, [b"", b""], 0).args[1], "NULL");
        let recvfrom = &[
            ("int", "fd"),
            ("void *", "ubuf"),
            ("size_t", "size"),
            ("unsigned int", "flags"),
            ("struct sockaddr *", "addr"),
            ("int *", "addr_len"),
        ];
        let unix = [&1u16.to_ne_bytes()[..], b"\0cd"].concat();
        let f = formatted_with("recvfrom", recvfrom, &[6, 0x1000, 10, 0, 0x2000, 0x3000], 2, [b"hi", &unix], 0);
        assert_eq!(f.args, ["6", "\"hi\"", "10", "0", "{sa_family=AF_UNIX, sun_path=@\"cd\"}", "0x3000"]);
        let t = SyscallTable::new(&[SyscallFormat {
            nr: 51,
            name: "getsockname".into(),
            args: vec![field("int", "fd"), field("struct sockaddr *", "usockaddr"), field("int *", "usockaddr_len")],
        }]);
        let spec = t.specs(|_| true, false)[51];
        assert_eq!((spec.kind, spec.arg, spec.len_arg), ([capture::SIZED_OUT, capture::NONE], [1, 0], [2, 0]));
    }

    #[test]
    fn rlimits_like_strace() {
        let fields = &[
            ("pid_t", "pid"),
            ("unsigned int", "resource"),
            ("const struct rlimit64 *", "new_rlim"),
            ("struct rlimit64 *", "old_rlim"),
        ];
        let stack = words(&[8192 * 1024, u64::MAX]);
        let files = words(&[1024, 4096]);
        let prlimit =
            |args: &[u64], ret, data: [&[u8]; 2]| formatted_with("prlimit64", fields, args, ret, data, 0).args;
        assert_eq!(
            prlimit(&[0, 3, 0, 0x2000], 0, [b"", &stack]),
            ["0", "RLIMIT_STACK", "NULL", "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"]
        );
        assert_eq!(
            prlimit(&[0, 7, 0x1000, 0x2000], 0, [&files, &stack])[2..],
            ["{rlim_cur=1024, rlim_max=4*1024}", "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"]
        );
        assert_eq!(
            prlimit(&[0, 7, 0x1000, 0x2000], -1, [&files, b""])[2..],
            ["{rlim_cur=1024, rlim_max=4*1024}", "0x2000"]
        );
        assert_eq!(prlimit(&[0, 7, 0x1000, 0], 0, [&files[..8], b""])[2], "0x1000", "short");
        let get = &[("unsigned int", "resource"), ("struct rlimit *", "rlim")];
        let small = words(&[0, 1025]);
        assert_eq!(
            formatted_with("getrlimit", get, &[4, 0x1000], 0, [&small, b""], 0).args,
            ["RLIMIT_CORE", "{rlim_cur=0, rlim_max=1025}"]
        );
        assert_eq!(
            formatted_with("setrlimit", get, &[4, 0x1000], -1, [&small, b""], 0).args[1],
            "{rlim_cur=0, rlim_max=1025}"
        );
    }

    #[test]
    fn struct_captures_in_the_kernel_table() {
        let f = |c_type: &str, name: &str| field(c_type, name);
        let t = SyscallTable::new(&[
            SyscallFormat { nr: 293, name: "pipe2".into(), args: vec![f("int *", "fildes"), f("int", "flags")] },
            SyscallFormat {
                nr: 262,
                name: "newfstatat".into(),
                args: vec![
                    f("int", "dfd"),
                    f("const char *", "filename"),
                    f("struct stat *", "statbuf"),
                    f("int", "flag"),
                ],
            },
            SyscallFormat {
                nr: 49,
                name: "bind".into(),
                args: vec![f("int", "fd"), f("struct sockaddr *", "umyaddr"), f("int", "addrlen")],
            },
            SyscallFormat {
                nr: 302,
                name: "prlimit64".into(),
                args: vec![
                    f("pid_t", "pid"),
                    f("unsigned int", "resource"),
                    f("const struct rlimit64 *", "new_rlim"),
                    f("struct rlimit64 *", "old_rlim"),
                ],
            },
        ]);
        let specs = t.specs(|_| true, false);
        let slots = |nr: usize| (specs[nr].kind, specs[nr].arg, specs[nr].len_arg);
        assert_eq!(slots(293), ([capture::STRUCT_OUT, capture::NONE], [0, 0], [8, 0]));
        assert_eq!(slots(262), ([capture::CSTRING, capture::STRUCT_OUT], [1, 2], [0, 144]));
        assert_eq!(slots(49), ([capture::SIZED_IN, capture::NONE], [1, 0], [2, 0]));
        assert_eq!(slots(302), ([capture::STRUCT_IN, capture::STRUCT_OUT], [2, 3], [16, 16]));
    }
}
