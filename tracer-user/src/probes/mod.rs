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
    bpf::{FdTableOffsets, Probes},
    btf::Btf,
};

/// A probe family as commands compose it: `configure` the loader before `Probes::load`, then `attach`.
pub trait Family {
    /// Sets the family's load-time globals (its kernel layout and its filters) and map sizes.
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>);
    /// Fills the family's filter maps and attaches its programs, in the family's one order.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()>;
}

/// The fd → `struct file` walk's offsets (`task->files->fdt`, `fdt->max_fds`, `fdt->fd`) as the load-time globals
/// of tracer-ebpf/src/kernel.rs (`FDT_*`): the one place the families that walk an fd table (files, net) get them.
/// Both set the same values when a command composes both (monitor --watch).
pub(crate) fn fd_table_globals(btf: &Btf) -> anyhow::Result<[(&'static str, u32); 4]> {
    let fds = FdTableOffsets::read(btf)?;
    Ok([
        ("FDT_TASK_FILES", fds.task_files),
        ("FDT_FILES_FDT", fds.files_fdt),
        ("FDT_MAX_FDS", fds.fdt_max_fds),
        ("FDT_FD", fds.fdt_fd),
    ])
}
