//! Reading kernel memory at offsets from BTF (aya-ebpf emits no CO-RE relocations: user space reads the offsets
//! from `/sys/kernel/btf/vmlinux` and sets them as load-time globals), and the one walk from an fd of the current
//! task to its `struct file` that the open and the net probes share.
//!
//! Written for the verifier. The reads zero-fill on failure (the helper clears its buffer when the copy faults)
//! instead of giving an `Option`, and flags are built with arithmetic rather than under `if`s: each branch that
//! joins again with another constant in a register or a stack slot can double the states the verifier walks
//! through the rest of the program (Linux 6.1 walked 150,000 instructions for `signal_generate` that way).

use aya_ebpf::helpers::{bpf_get_current_task, bpf_probe_read_kernel, generated};

use tracer_common::event::cgroup_mode;

use crate::maps::global;

// `task_struct.files`, `files_struct.fdt`, `fdtable.max_fds`, `fdtable.fd` (from BTF, set by user space's
// `probes::fd_table_globals` for the families that walk an fd table: files, net).
#[unsafe(no_mangle)]
static FDT_TASK_FILES: u32 = 0;
#[unsafe(no_mangle)]
static FDT_FILES_FDT: u32 = 0;
#[unsafe(no_mangle)]
static FDT_MAX_FDS: u32 = 0;
#[unsafe(no_mangle)]
static FDT_FD: u32 = 0;
/// Non-zero when `files_struct.fdtab` follows `files_struct.fdt` and starts with `max_fds` then `fd` (checked
/// against BTF by user space): one read of three words at `fdt` then gives the table pointer and, when it points
/// at the embedded table (a process that never had more than 64 fds open), that table's array too.
#[unsafe(no_mangle)]
static FDT_EMBEDDED_FOLLOWS: u32 = 0;

// The VFS offsets that lead from a task or a file to a dentry, its inode and the inode's identity (from BTF, set by
// user space's `probes::vfs_globals` for every family that names files: files, and whoever identifies a cwd or an
// fd's file).
#[unsafe(no_mangle)]
pub static VFS_TASK_FS: u32 = 0;
/// `fs_struct.pwd.dentry`.
#[unsafe(no_mangle)]
pub static VFS_FS_PWD_DENTRY: u32 = 0;
/// `file.f_path.dentry`.
#[unsafe(no_mangle)]
pub static VFS_FILE_DENTRY: u32 = 0;
#[unsafe(no_mangle)]
pub static VFS_DENTRY_PARENT: u32 = 0;
#[unsafe(no_mangle)]
pub static VFS_DENTRY_INODE: u32 = 0;
/// `dentry.d_name.name`.
#[unsafe(no_mangle)]
pub static VFS_DENTRY_NAME: u32 = 0;
/// `dentry.d_name.len`.
#[unsafe(no_mangle)]
pub static VFS_DENTRY_NAME_LEN: u32 = 0;
#[unsafe(no_mangle)]
pub static VFS_INODE_INO: u32 = 0;
#[unsafe(no_mangle)]
pub static VFS_INODE_SB: u32 = 0;
#[unsafe(no_mangle)]
pub static VFS_SB_DEV: u32 = 0;
/// Non-zero when `d_parent`, `d_name` (`hash_len`, `name`) and `d_inode` are four consecutive words from
/// `VFS_DENTRY_PARENT` (checked against BTF by user space): `DentryWords::read` reads them in one helper call.
#[unsafe(no_mangle)]
pub static VFS_DENTRY_WORDS: u32 = 0;

/// `task_struct.group_leader` and `.start_time` (from BTF, set by user space for every command: `bpf::Core`); 0
/// when unknown (then every `start_ns` is 0).
#[unsafe(no_mangle)]
static TASK_GROUP_LEADER_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_START_TIME_OFFSET: u32 = 0;

/// How the cgroup id is read (`cgroup_v2_id_of_current`, `cgroup_v1_id_of`) (`tracer_common::event::cgroup_mode`), set by user space
/// (`bpf::Core`) from the hierarchy it finds mounted.
#[unsafe(no_mangle)]
static CGROUP_MODE: u8 = 0;
/// cgroup v1's walk, from BTF: `task_struct.cgroups`, `css_set.subsys` + 8 × the controller's ssid,
/// `cgroup_subsys_state.cgroup`, `cgroup.kn`, `kernfs_node.id`.
#[unsafe(no_mangle)]
static CGROUP_TASK_CSS_SET: u32 = 0;
#[unsafe(no_mangle)]
static CGROUP_CSS_SET_SUBSYS: u32 = 0;
#[unsafe(no_mangle)]
static CGROUP_CSS_CGROUP: u32 = 0;
#[unsafe(no_mangle)]
static CGROUP_CGROUP_KN: u32 = 0;
#[unsafe(no_mangle)]
static CGROUP_KN_ID: u32 = 0;

/// Whether the cgroup is read by walking v1's hierarchy (`cgroup_v1_id_of`), which `emit` caches per thread.
#[inline(always)]
pub fn cgroup_is_v1() -> bool {
    global(&CGROUP_MODE) == cgroup_mode::V1
}

/// The current task's cgroup id on cgroup v2 (its cgroup directory's inode number): one helper call. 0 on v1 or
/// when unknown.
#[inline(always)]
pub fn cgroup_v2_id_of_current() -> u64 {
    match global(&CGROUP_MODE) {
        cgroup_mode::V2 => unsafe { generated::bpf_get_current_cgroup_id() },
        _ => 0,
    }
}

/// A task's `css_set` (`task->cgroups`): a move to another cgroup of any hierarchy replaces it. 0 when unknown.
#[inline(always)]
pub fn css_set_of(task: u64) -> u64 {
    word(task, global(&CGROUP_TASK_CSS_SET))
}

/// The cgroup id of a `css_set` in the v1 hierarchy user space reads (its cgroup directory's inode number), 0
/// when unknown: four dependent reads (the helper only knows v2's hierarchy).
#[inline(always)]
pub fn cgroup_v1_id_of(css_set: u64) -> u64 {
    let css = word(css_set, global(&CGROUP_CSS_SET_SUBSYS));
    let cgroup = word(css, global(&CGROUP_CSS_CGROUP));
    let kn = word(cgroup, global(&CGROUP_CGROUP_KN));
    word(kn, global(&CGROUP_KN_ID))
}

/// `task_struct.thread_pid`, `pid.level`, `pid.numbers`, `sizeof(struct upid)`, `upid.nr` (from BTF, set by user
/// space: `bpf::Core`); 0 when unknown (then every `ns_pid` is 0).
#[unsafe(no_mangle)]
static PID_TASK_THREAD_PID: u32 = 0;
#[unsafe(no_mangle)]
static PID_LEVEL: u32 = 0;
#[unsafe(no_mangle)]
static PID_NUMBERS: u32 = 0;
#[unsafe(no_mangle)]
static PID_UPID_SIZE: u32 = 0;
#[unsafe(no_mangle)]
static PID_UPID_NR: u32 = 0;

/// A task's pid as its own (innermost) pid namespace numbers it; 0 in the first namespace (level 0: the pid the
/// host knows) or when unknown. Three reads, no branch: a null `struct pid *` makes each read fail to 0.
#[inline(always)]
pub fn ns_pid_of(task: u64) -> u32 {
    let pid = word(task, global(&PID_TASK_THREAD_PID)) & is_zero(global(&PID_TASK_THREAD_PID) as u64).wrapping_sub(1);
    let level = read::<u32>(pid, global(&PID_LEVEL)) as u64;
    let upid = (global(&PID_NUMBERS) as u64).wrapping_add(level.wrapping_mul(global(&PID_UPID_SIZE) as u64));
    let nr = read::<u32>(pid.wrapping_add(upid), global(&PID_UPID_NR));
    nr * (is_zero(level) ^ 1) as u32
}

/// A task's group leader (the process's first thread), 0 when unknown.
#[inline(always)]
pub fn group_leader_of(task: u64) -> u64 {
    match global(&TASK_GROUP_LEADER_OFFSET) {
        0 => 0,
        offset => word(task, offset),
    }
}

/// A task's `start_time` (CLOCK_MONOTONIC ns), 0 when unknown.
#[inline(always)]
pub fn start_time_of(task: u64) -> u64 {
    match global(&TASK_START_TIME_OFFSET) {
        0 => 0,
        offset => read::<u64>(task, offset),
    }
}

/// A task's process start time: its group leader's `start_time` (a thread's own differs), 0 when unknown.
#[inline(always)]
pub fn process_start_of(task: u64) -> u64 {
    start_time_of(group_leader_of(task))
}

/// The current task's `task_struct *`.
#[inline(always)]
pub fn current_task() -> u64 {
    unsafe { bpf_get_current_task() }
}

/// A `T` at `base + offset` in kernel memory and 1, or all zeroes and 0 when it cannot be read (a null `base`
/// included). For plain integers and byte arrays, for which all zeroes is a value.
#[inline(always)]
pub fn read_checked<T: Copy>(base: u64, offset: u32) -> (T, u64) {
    let mut value = core::mem::MaybeUninit::<T>::zeroed();
    let rc = unsafe {
        generated::bpf_probe_read_kernel(
            value.as_mut_ptr().cast(),
            core::mem::size_of::<T>() as u32,
            (base as *const u8).wrapping_add(offset as usize).cast(),
        )
    };
    // 0 on success, a negative errno otherwise: the sign bit says which without a branch.
    (unsafe { value.assume_init() }, 1 ^ ((rc as u64) >> 63))
}

/// A `T` at `base + offset` in kernel memory, `None` when `base` is null or the read fails.
#[inline(always)]
pub fn try_read<T>(base: u64, offset: u32) -> Option<T> {
    if base == 0 {
        return None;
    }
    unsafe { bpf_probe_read_kernel((base as *const u8).wrapping_add(offset as usize) as *const T) }.ok()
}

/// A `T` at `base + offset` in kernel memory; zeroes when it cannot be read.
#[inline(always)]
pub fn read<T: Copy>(base: u64, offset: u32) -> T {
    read_checked::<T>(base, offset).0
}

/// `N` consecutive kernel words from `base + offset` in one helper call; zeroes when they cannot be read. Not
/// through `read`: zeroing an array first makes LLVM call a byte-by-byte `memset` subprogram (the helper zeroes its
/// buffer itself when the copy faults).
#[inline(always)]
pub fn read_words<const N: usize>(base: u64, offset: u32) -> [u64; N] {
    let mut words = core::mem::MaybeUninit::<[u64; N]>::uninit();
    unsafe {
        generated::bpf_probe_read_kernel(
            words.as_mut_ptr().cast(),
            (N * 8) as u32,
            (base as *const u8).wrapping_add(offset as usize).cast(),
        );
        words.assume_init()
    }
}

/// A pointer-sized kernel word at `base + offset`; 0 when it cannot be read.
#[inline(always)]
pub fn word(base: u64, offset: u32) -> u64 {
    read::<u64>(base, offset)
}

/// 1 when `x` is 0, else 0, without a branch.
#[inline(always)]
pub fn is_zero(x: u64) -> u64 {
    1 ^ ((x | x.wrapping_neg()) >> 63)
}

/// 1 when `x < y` (unsigned), else 0, without a branch (Hacker's Delight 2-12).
#[inline(always)]
pub fn below(x: u64, y: u64) -> u64 {
    ((!x & y) | ((!x | y) & x.wrapping_sub(y))) >> 63
}

/// `if yes != 0 { a } else { b }` for `yes` in {0, 1}, without a branch.
#[inline(always)]
pub fn pick(yes: u64, a: u64, b: u64) -> u64 {
    b ^ ((a ^ b) & yes.wrapping_neg())
}

/// A dentry's inode and name length, read together with its parent and name where the layout allows
/// (`VFS_DENTRY_WORDS`): every open pays for the first two, a few for the others (`parent`, `name`).
#[derive(Clone, Copy)]
pub struct DentryWords {
    dentry: u64,
    parent: u64,
    name: u64,
    pub name_len: u32,
    pub inode: u64,
}

impl DentryWords {
    /// One helper call where the layout allows, two otherwise; zeroes for what cannot be read.
    #[inline(always)]
    pub fn read(dentry: u64) -> DentryWords {
        if global(&VFS_DENTRY_WORDS) != 0 {
            let [parent, hash_len, name, inode] = read_words::<4>(dentry, global(&VFS_DENTRY_PARENT));
            return DentryWords { dentry, parent, name, name_len: (hash_len >> 32) as u32, inode };
        }
        DentryWords {
            dentry,
            parent: 0,
            name: 0,
            name_len: read(dentry, global(&VFS_DENTRY_NAME_LEN)),
            inode: word(dentry, global(&VFS_DENTRY_INODE)),
        }
    }

    #[inline(always)]
    pub fn parent(&self) -> u64 {
        if global(&VFS_DENTRY_WORDS) != 0 { self.parent } else { word(self.dentry, global(&VFS_DENTRY_PARENT)) }
    }

    /// `d_name.name`.
    #[inline(always)]
    pub fn name(&self) -> u64 {
        if global(&VFS_DENTRY_WORDS) != 0 { self.name } else { word(self.dentry, global(&VFS_DENTRY_NAME)) }
    }
}

/// The current task's `struct file *` behind `fd`, 0 when there is none. `bounded`: the fd is known to be inside
/// the table (one the open being reported just installed: tables only grow), so `max_fds` is not read.
#[inline(always)]
pub fn file_of_fd(fd: i32, bounded: bool) -> u64 {
    let files = word(current_task(), global(&FDT_TASK_FILES));
    // A negative fd is a huge index: outside every table. Outside: the slot address is 0, whose read fails.
    let index = fd as u32 as u64;
    let (fd_array, inside) = if bounded {
        (fd_array_of(files), 1 ^ (index >> 31))
    } else {
        let fdt = word(files, global(&FDT_FILES_FDT));
        (word(fdt, global(&FDT_FD)), below(index, read::<u32>(fdt, global(&FDT_MAX_FDS)) as u64))
    };
    let slot = fd_array.wrapping_add(index * 8) & inside.wrapping_neg();
    word(slot, 0)
}

/// A `files_struct`'s fd array, for the open exit (`file_of_fd` with `bounded`), which pays it at every open: the
/// embedded table's is read with `fdt` in one helper call when the layout allows (`FDT_EMBEDDED_FOLLOWS`). Not for
/// the other callers: the branch made the verifier walk `net_bind_exit` 20% longer on 5.10 (64,256 -> 76,990
/// instructions) for a lookup that is not on every open's path.
#[inline(always)]
fn fd_array_of(files: u64) -> u64 {
    if global(&FDT_EMBEDDED_FOLLOWS) != 0 {
        // [fdt, fdtab.max_fds, fdtab.fd]
        let span: [u64; 3] = read_words(files, global(&FDT_FILES_FDT));
        if span[0] == files.wrapping_add(global(&FDT_FILES_FDT) as u64 + 8) {
            return span[2];
        }
        return word(span[0], global(&FDT_FD));
    }
    word(word(files, global(&FDT_FILES_FDT)), global(&FDT_FD))
}
