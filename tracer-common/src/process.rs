use crate::event::EventHeader;

/// `ProcessEvent::what` values.
pub mod what {
    /// A traced process forked a child that is now traced too (`-f`).
    pub const FORK: u32 = 1;
    /// The last thread of a traced process exited.
    pub const EXIT: u32 = 2;
    /// A traced process called execve successfully; `filename` holds what the kernel executed.
    pub const EXEC: u32 = 3;
}

/// `exit_code` when the kernel's struct offset was not known.
pub const EXIT_CODE_UNKNOWN: i32 = i32::MIN;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessEvent {
    pub header: EventHeader,
    pub what: u32,
    /// FORK: the new child's pid. EXEC: the pid before exec (a non-leader thread may exec).
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
    /// EXEC: the parent's pid (`real_parent->tgid`), 0 when unknown; 0 for other events.
    pub ppid: u32,
    /// EXEC: the real uid after the exec; 0 for other events.
    pub uid: u32,
}
const _: () = assert!(core::mem::size_of::<ProcessEvent>() == 40 + 24 + 2 * 256 + 8);
