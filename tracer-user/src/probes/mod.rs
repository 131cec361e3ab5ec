//! Probe families, one per kernel-side family (tracer-ebpf/src/<family>.rs): each reads its kernel layout in one
//! place, sets its load-time globals (`configure`), attaches its programs in one fixed order (`attach`), and reads
//! its maps. Commands build the families their options ask for and compose them; no command reaches into
//! another command's module. The globals every family shares (`TRACE_ALL`, `TRACER_TGID`, rate limits) are the
//! core's (`bpf::Core`).

pub mod files;
pub mod net;
pub mod process;
pub mod signals;
pub mod stats;
pub mod syscalls;
pub mod tcp;

use aya::EbpfLoader;

use crate::{
    bpf::{FdTableOffsets, Probes, btf_offset, btf_sized_offset},
    btf::Btf,
};

/// A probe family as commands compose it: `configure` the loader before `Probes::load`, then `attach`.
pub trait Family {
    /// Sets the family's load-time globals (its kernel layout and its filters) and map sizes.
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>);
    /// Fills the family's filter maps and attaches its programs, in the family's one order.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()>;
}

/// The fd → `struct file` walk's offsets (`task->files->fdt`, `fdt->max_fds`, `fdt->fd`, and whether the table
/// embedded in `files_struct` can be read with `fdt`) as the load-time globals
/// of tracer-ebpf/src/kernel.rs (`FDT_*`): the one place the families that walk an fd table (files, net) get them.
/// Both set the same values when a command composes both (monitor --watch).
pub(crate) fn fd_table_globals(btf: &Btf) -> anyhow::Result<[(&'static str, u32); 5]> {
    let fds = FdTableOffsets::read(btf)?;
    Ok([
        ("FDT_TASK_FILES", fds.task_files),
        ("FDT_FILES_FDT", fds.files_fdt),
        ("FDT_MAX_FDS", fds.fdt_max_fds),
        ("FDT_FD", fds.fdt_fd),
        ("FDT_EMBEDDED_FOLLOWS", fds.embedded_follows),
    ])
}

/// The offsets from a `struct file` to its socket's ends (`file.private_data` → `socket.sk` → `sock.__sk_common`'s
/// family, ports and addresses, `sock.sk_protocol`) as the load-time globals of tracer-ebpf/src/net.rs (`NET_*`,
/// read by `socket_ends`) for `syscalls -yy`. The net family sets the same names to the same values.
pub(crate) fn socket_ends_globals(btf: &Btf) -> anyhow::Result<[(&'static str, u32); 11]> {
    let off = |st: &str, member: &str| btf_offset(btf, st, member);
    let sized = |st: &str, member: &str, size: u32| btf_sized_offset(btf, st, member, size);
    let common = off("sock", "__sk_common")?;
    let in_common =
        |member: &str, size: u32| -> anyhow::Result<u32> { Ok(common + sized("sock_common", member, size)?) };
    Ok([
        ("NET_FILE_PRIVATE_DATA_OFFSET", off("file", "private_data")?),
        ("NET_SOCKET_FILE_OFFSET", off("socket", "file")?),
        ("NET_SOCKET_SK_OFFSET", off("socket", "sk")?),
        ("NET_SK_FAMILY_OFFSET", in_common("skc_family", 2)?),
        ("NET_SK_PROTOCOL_OFFSET", sized("sock", "sk_protocol", 2)?),
        ("NET_SK_NUM_OFFSET", in_common("skc_num", 2)?),
        ("NET_SK_DPORT_OFFSET", in_common("skc_dport", 2)?),
        ("NET_SK_RCV_SADDR_OFFSET", in_common("skc_rcv_saddr", 4)?),
        ("NET_SK_DADDR_OFFSET", in_common("skc_daddr", 4)?),
        ("NET_SK_V6_RCV_SADDR_OFFSET", in_common("skc_v6_rcv_saddr", 16)?),
        ("NET_SK_V6_DADDR_OFFSET", in_common("skc_v6_daddr", 16)?),
    ])
}

/// The VFS offsets (task → fs → cwd dentry, file → dentry → inode → number and device, dentry → parent and name) as
/// the load-time globals of tracer-ebpf/src/kernel.rs (`VFS_*`): the one place every family that names a file or
/// a directory gets them.
pub(crate) fn vfs_globals(btf: &Btf) -> anyhow::Result<[(&'static str, u32); 11]> {
    let off = |st: &str, member: &str| btf_offset(btf, st, member);
    let sized = |st: &str, member: &str, size: u32| btf_sized_offset(btf, st, member, size);
    let path_dentry = sized("path", "dentry", 8)?;
    let parent = sized("dentry", "d_parent", 8)?;
    // `d_parent`, `d_name` (a 16-byte qstr: `hash_len`, then `name`) and `d_inode` as four consecutive words: the
    // open probe reads them in one helper call (`DentryWords::read`), else one by one.
    let dentry_words = off("dentry", "d_name")? == parent + 8
        && sized("qstr", "name", 8)? == 8
        && sized("dentry", "d_inode", 8)? == parent + 24;
    Ok([
        ("VFS_TASK_FS", sized("task_struct", "fs", 8)?),
        ("VFS_FS_PWD_DENTRY", off("fs_struct", "pwd")? + path_dentry),
        ("VFS_FILE_DENTRY", off("file", "f_path")? + path_dentry),
        ("VFS_DENTRY_PARENT", sized("dentry", "d_parent", 8)?),
        ("VFS_DENTRY_INODE", sized("dentry", "d_inode", 8)?),
        ("VFS_DENTRY_NAME", off("dentry", "d_name")? + sized("qstr", "name", 8)?),
        // `qstr.len`: the high half of `hash_len`, the first word of the qstr (x86_64 is little-endian).
        ("VFS_DENTRY_NAME_LEN", off("dentry", "d_name")? + 4),
        ("VFS_INODE_INO", sized("inode", "i_ino", 8)?),
        ("VFS_INODE_SB", sized("inode", "i_sb", 8)?),
        ("VFS_SB_DEV", sized("super_block", "s_dev", 4)?),
        ("VFS_DENTRY_WORDS", u32::from(dentry_words)),
    ])
}
