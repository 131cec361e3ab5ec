//! Where the open probes find things in the running kernel: the open family's tracepoint field offsets (format
//! files) and the struct offsets that lead from an fd to its dentry and inode (BTF). Handed to the programs as
//! load-time globals (tracer-ebpf/src/files.rs).

use std::path::Path;

use anyhow::bail;

use tracer_common::files::SYSCALL_ARGS_OFFSET;

use crate::{
    bpf::KernelGlobals,
    btf::kernel_btf,
    probes::{fd_table_globals, vfs_globals},
    tracefs,
};

/// This family's names for the fd table's offsets (see `fd_table_globals`).
pub struct FilesLayout {
    pub globals: KernelGlobals,
    /// Enter tracepoints this kernel has (openat2 is 5.6+).
    pub calls: Vec<&'static str>,
    /// The rename family's syscalls this kernel has (attached only while a path is watched).
    pub rename_calls: Vec<&'static str>,
}

/// (program, syscall, the argument fields it reads): the rename family's enter programs (renameat2 shares
/// renameat's, whose first four arguments it has).
pub const RENAME_ENTER_PROGRAMS: &[(&str, &str, &[&str])] = &[
    ("files_rename_enter", "rename", &["oldname", "newname"]),
    ("files_renameat_enter", "renameat", &["olddfd", "oldname", "newdfd", "newname"]),
    ("files_renameat2_enter", "renameat2", &["olddfd", "oldname", "newdfd", "newname"]),
    ("files_link_enter", "link", &["oldname", "newname"]),
    ("files_linkat_enter", "linkat", &["olddfd", "oldname", "newdfd", "newname"]),
    ("files_symlink_enter", "symlink", &["oldname", "newname"]),
    ("files_symlinkat_enter", "symlinkat", &["oldname", "newdfd", "newname"]),
];

/// (program, syscall) pairs: every enter program and the syscall whose tracepoints it is attached to.
pub const ENTER_PROGRAMS: &[(&str, &str)] = &[
    ("files_open_enter", "open"),
    ("files_openat_enter", "openat"),
    ("files_openat2_enter", "openat2"),
    ("files_creat_enter", "creat"),
    ("files_by_handle_enter", "open_by_handle_at"),
];

impl FilesLayout {
    pub fn read(tracefs: &Path) -> anyhow::Result<FilesLayout> {
        let btf = &*kernel_btf()?;
        let mut globals = fd_table_globals(btf)?.to_vec();
        globals.extend(vfs_globals(btf)?);

        let mut calls = Vec::new();
        for &(_, syscall) in ENTER_PROGRAMS {
            let enter = match tracefs::read_format(tracefs, "syscalls", &format!("sys_enter_{syscall}")) {
                Ok(format) => format,
                // A syscall this kernel (or architecture) does not have.
                Err(tracefs::TracefsError::NoSuchEvent { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            // The programs read these at constant offsets (the verifier refuses variable context offsets, and
            // a helper copy per field costs more than the rest of the enter): argument N at 16 + 8 * N.
            let fields: &[(usize, &str)] = match syscall {
                "open" => &[(0, "filename"), (1, "flags"), (2, "mode")],
                "openat" => &[(0, "dfd"), (1, "filename"), (2, "flags"), (3, "mode")],
                "openat2" => &[(0, "dfd"), (1, "filename"), (2, "how")],
                "creat" => &[(0, "pathname"), (1, "mode")],
                _ => &[(0, "mountdirfd"), (2, "flags")],
            };
            for &(arg, field) in fields {
                let offset = enter.offset_of(field)?;
                if offset as usize != SYSCALL_ARGS_OFFSET + 8 * arg {
                    bail!(
                        "unsupported kernel: sys_enter_{syscall}.{field} is at offset {offset}, tracer expects {}",
                        SYSCALL_ARGS_OFFSET + 8 * arg
                    );
                }
            }
            calls.push(syscall);
        }
        if !calls.contains(&"openat") {
            bail!("this kernel has no syscalls:sys_enter_openat tracepoint (CONFIG_FTRACE_SYSCALLS)");
        }
        let exit = tracefs::read_format(tracefs, "syscalls", "sys_exit_openat")?;
        let ret = exit.offset_of("ret")?;
        if ret as usize != SYSCALL_ARGS_OFFSET {
            bail!("unsupported kernel: sys_exit_openat.ret is at offset {ret}, tracer expects {SYSCALL_ARGS_OFFSET}");
        }
        let mut rename_calls = Vec::new();
        for &(_, syscall, fields) in RENAME_ENTER_PROGRAMS {
            let enter = match tracefs::read_format(tracefs, "syscalls", &format!("sys_enter_{syscall}")) {
                Ok(format) => format,
                Err(tracefs::TracefsError::NoSuchEvent { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            for (arg, field) in fields.iter().enumerate() {
                let offset = enter.offset_of(field)?;
                if offset as usize != SYSCALL_ARGS_OFFSET + 8 * arg {
                    bail!(
                        "unsupported kernel: sys_enter_{syscall}.{field} is at offset {offset}, tracer expects {}",
                        SYSCALL_ARGS_OFFSET + 8 * arg
                    );
                }
            }
            rename_calls.push(syscall);
        }
        Ok(FilesLayout { globals: KernelGlobals::new(globals), calls, rename_calls })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_kernel() {
        let tracefs = tracefs::ensure_mounted().expect("tracefs (tests run as root)");
        // Fails if the syscall records' arguments are not in 8-byte slots from 16.
        let layout = FilesLayout::read(&tracefs).unwrap();
        assert!(layout.calls.contains(&"openat"));
        assert_eq!(layout.rename_calls.len(), RENAME_ENTER_PROGRAMS.len(), "x86_64 has every one");
        assert!(layout.globals.get("VFS_TASK_FS").is_some_and(|offset| offset > 0));
        assert_ne!(layout.globals.get("VFS_DENTRY_PARENT"), Some(0));
        // Every kernel of the matrix (5.10 to 6.18) has the layouts that save the open exit its helper calls.
        assert_eq!(layout.globals.get("FDT_EMBEDDED_FOLLOWS"), Some(1));
        assert_eq!(layout.globals.get("VFS_DENTRY_WORDS"), Some(1));
    }
}
