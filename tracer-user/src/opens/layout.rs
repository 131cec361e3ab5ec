//! Where the open probes find things in the running kernel: the open family's tracepoint field offsets (format
//! files) and the struct offsets that lead from an fd to its dentry and inode (BTF). Handed to the programs as
//! load-time globals (tracer-ebpf/src/files.rs).

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::{bpf::KernelGlobals, btf::Btf, tracefs};

pub struct FilesLayout {
    pub globals: KernelGlobals,
    /// Enter tracepoints this kernel has (openat2 is 5.6+).
    pub calls: Vec<&'static str>,
}

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
        let btf = Btf::from_sys_fs().context("reading kernel BTF")?;
        let off = |st: &str, member: &str| btf.member_offset(st, member).with_context(|| format!("BTF: {st}.{member}"));
        let sized = |st: &str, member: &str, size: u32| -> anyhow::Result<u32> {
            let m = btf.member(st, member).with_context(|| format!("BTF: {st}.{member}"))?;
            if m.size != size {
                bail!("BTF: {st}.{member} is {} bytes on this kernel, expected {size}", m.size);
            }
            Ok(m.offset)
        };
        let path_dentry = sized("path", "dentry", 8)?;
        let mut globals = vec![
            ("FILES_TASK_FILES", sized("task_struct", "files", 8)?),
            ("FILES_TASK_FS", sized("task_struct", "fs", 8)?),
            ("FILES_FS_PWD_DENTRY", off("fs_struct", "pwd")? + path_dentry),
            ("FILES_FILES_FDT", sized("files_struct", "fdt", 8)?),
            ("FILES_FDT_MAX_FDS", sized("fdtable", "max_fds", 4)?),
            ("FILES_FDT_FD", sized("fdtable", "fd", 8)?),
            ("FILES_FILE_DENTRY", off("file", "f_path")? + path_dentry),
            ("FILES_DENTRY_PARENT", sized("dentry", "d_parent", 8)?),
            ("FILES_DENTRY_INODE", sized("dentry", "d_inode", 8)?),
            ("FILES_DENTRY_NAME", off("dentry", "d_name")? + sized("qstr", "name", 8)?),
            ("FILES_INODE_INO", sized("inode", "i_ino", 8)?),
            ("FILES_INODE_SB", sized("inode", "i_sb", 8)?),
            ("FILES_SB_DEV", sized("super_block", "s_dev", 4)?),
        ];

        let mut calls = Vec::new();
        for &(_, syscall) in ENTER_PROGRAMS {
            let enter = match tracefs::read_format(tracefs, "syscalls", &format!("sys_enter_{syscall}")) {
                Ok(format) => format,
                // A syscall this kernel (or architecture) does not have.
                Err(tracefs::TracefsError::NoSuchEvent { .. }) => continue,
                Err(err) => return Err(err.into()),
            };
            let fields: &[(&'static str, &str)] = match syscall {
                "open" => {
                    &[("FILES_OPEN_FILENAME", "filename"), ("FILES_OPEN_FLAGS", "flags"), ("FILES_OPEN_MODE", "mode")]
                }
                "openat" => &[
                    ("FILES_OPENAT_DFD", "dfd"),
                    ("FILES_OPENAT_FILENAME", "filename"),
                    ("FILES_OPENAT_FLAGS", "flags"),
                    ("FILES_OPENAT_MODE", "mode"),
                ],
                "openat2" => &[
                    ("FILES_OPENAT2_DFD", "dfd"),
                    ("FILES_OPENAT2_FILENAME", "filename"),
                    ("FILES_OPENAT2_HOW", "how"),
                ],
                "creat" => &[("FILES_CREAT_FILENAME", "pathname"), ("FILES_CREAT_MODE", "mode")],
                _ => &[("FILES_BY_HANDLE_MOUNT_FD", "mountdirfd"), ("FILES_BY_HANDLE_FLAGS", "flags")],
            };
            for &(global, field) in fields {
                globals.push((global, enter.offset_of(field)?));
            }
            calls.push(syscall);
        }
        if !calls.contains(&"openat") {
            bail!("this kernel has no syscalls:sys_enter_openat tracepoint (CONFIG_FTRACE_SYSCALLS)");
        }
        let exit = tracefs::read_format(tracefs, "syscalls", "sys_exit_openat")?;
        globals.push(("FILES_EXIT_RET", exit.offset_of("ret")?));
        Ok(FilesLayout { globals: KernelGlobals::new(globals), calls })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_kernel() {
        let Ok(tracefs) = tracefs::ensure_mounted() else { return };
        let layout = FilesLayout::read(&tracefs).unwrap();
        // Syscall records: arguments in 8-byte slots from 16, stable since the format exists.
        assert_eq!(layout.globals.get("FILES_OPENAT_DFD"), Some(16));
        assert_eq!(layout.globals.get("FILES_OPENAT_FILENAME"), Some(24));
        assert_eq!(layout.globals.get("FILES_EXIT_RET"), Some(16));
        assert!(layout.calls.contains(&"openat"));
        assert_ne!(layout.globals.get("FILES_DENTRY_PARENT"), Some(0));
    }
}
