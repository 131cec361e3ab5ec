use crate::event::EventHeader;

/// `ProcessEvent::what` values.
pub mod what {
    /// A traced process forked a child that is now traced too (`-f`), or (`tracer procs`) made a thread.
    pub const FORK: u32 = 1;
    /// The last thread of a traced process exited.
    pub const EXIT: u32 = 2;
    /// A traced process called execve successfully; `filename` holds what the kernel executed.
    pub const EXEC: u32 = 3;
}

/// `ProcessEvent::flags` bits.
pub mod process_flags {
    /// FORK: the new task is a thread of the same process (`clone(CLONE_THREAD)`), not a new process.
    pub const THREAD: u32 = 1 << 0;
    /// EXEC: the process was followed (traced) when it exec'd; without it the exec is reported only for user space
    /// to match its command line (`tracer procs PATTERN`).
    pub const FOLLOWED: u32 = 1 << 1;
    /// EXEC: the process joined the followed set at this exec, in the kernel (its new comm matched a pattern).
    pub const JOINED: u32 = 1 << 2;
}

/// Most command-name patterns the kernel matches at exec (`tracer procs`); more are matched in user space.
pub const COMM_PATTERNS: usize = 4;

/// `exit_code` when the kernel's struct offset was not known.
pub const EXIT_CODE_UNKNOWN: i32 = i32::MIN;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessEvent {
    pub header: EventHeader,
    pub what: u32,
    /// FORK: the new child's pid (the process's own for a thread). EXEC: the pid before exec (a non-leader thread
    /// may exec).
    pub other_pid: u32,
    /// EXIT: `task->exit_code` as wait(2) would report it, or `EXIT_CODE_UNKNOWN`.
    pub exit_code: i32,
    pub filename_len: u16,
    pub argv_len: u16,
    /// EXEC: non-zero when the arguments did not fit in `argv`.
    pub argv_truncated: u8,
    pub _pad: [u8; 7],
    /// EXEC: the executed file, as the kernel saw it.
    pub filename: [u8; 256],
    /// EXEC: the new image's arguments, NUL-separated, read in the kernel before the process can exit.
    pub argv: [u8; 256],
    /// EXEC: the parent's pid (`real_parent->tgid`); FORK: the new task's parent (not the caller's pid under
    /// `CLONE_PARENT`); 0 when unknown and for exits.
    pub ppid: u32,
    /// EXEC: the real uid after the exec; 0 for other events.
    pub uid: u32,
    /// The process's start time: its group leader's `task->start_time` (CLOCK_MONOTONIC ns), 0 when unknown.
    /// With the pid it names one process across pid reuse.
    pub start_ns: u64,
    /// FORK: the new task's `start_time`; 0 for other events.
    pub child_start_ns: u64,
    /// FORK: the new task's id (for a new process, its pid); 0 for other events.
    pub child_tid: u32,
    /// `process_flags::*`.
    pub flags: u32,
    /// EXEC: the working directory's inode number (`task->fs->pwd.dentry->d_inode->i_ino`) when the exec ran; 0
    /// when unknown and for other events. User space names it from /proc/PID/cwd only when that is still it.
    pub cwd_ino: u64,
    /// EXEC: the working directory's device (`i_sb->s_dev`, the kernel's encoding); 0 with `cwd_ino`.
    pub cwd_dev: u32,
    pub _pad2: u32,
}
const _: () = assert!(core::mem::size_of::<ProcessEvent>() == crate::event::HEADER_SIZE + 24 + 2 * 256 + 8 + 24 + 16);
