//! How many instructions the kernel's verifier walked to accept a program, on kernels that do not report it.
//!
//! Linux 5.16 and later give the count in the program's info (`verified_insns`); before that, only the verifier's
//! statistics log says it (`processed N insns`), and aya asks for a log only after a refusal. For
//! `TRACER_VERIFIER_STATS` on such a kernel (5.10 in the matrix), the program is loaded a second time here, from
//! the same object relocated against the maps the loaded copy uses (so the same load-time globals, read from its
//! frozen `.rodata`, and the same dead code), with the statistics log, and unloaded at once. Never on a normal run.

use std::{
    collections::HashSet,
    ffi::CString,
    os::fd::{AsFd as _, AsRawFd as _, FromRawFd as _, OwnedFd, RawFd},
};

use aya::{maps::MapInfo, programs::ProgramInfo};
use aya_obj::{Object, generated::bpf_insn};

/// The kernel's `BPF_OBJ_NAME_LEN` minus the NUL: map names are cut to this.
const KERNEL_NAME_MAX: usize = 15;
const BPF_PROG_LOAD: libc::c_long = 5;
/// `BPF_LOG_STATS`: the verifier's totals (and a refusal's complaint), not the instruction walk.
const BPF_LOG_STATS: u32 = 4;

/// The head of `union bpf_attr` for `BPF_PROG_LOAD`, up to the program's name (the kernel takes a shorter attr).
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}
const _: () = assert!(size_of::<ProgLoadAttr>() == 64);

/// The verifier's count for `program` (already loaded by aya as `loaded`), from a second load of `object`.
pub fn count_by_reload(object: &[u8], program: &str, loaded: &ProgramInfo) -> anyhow::Result<u32> {
    use anyhow::Context as _;
    let mut maps: Vec<(String, aya::maps::MapFd)> = Vec::new();
    for id in loaded.map_ids().context("reading the program's maps")?.unwrap_or_default() {
        let info = MapInfo::from_id(id).with_context(|| format!("map {id}"))?;
        let name = info.name_as_str().unwrap_or_default().to_string();
        maps.push((name, info.fd().with_context(|| format!("an fd for map {id}"))?));
    }
    let mut obj = Object::parse(object).context("parsing the eBPF object")?;
    let text_sections: HashSet<usize> = obj.functions.keys().map(|(section, _)| *section).collect();
    // Every map of the object, by the fd of the loaded program's copy; the maps it does not use get -1, which
    // only ends up in other programs' code.
    let fd_of = |name: &str| -> RawFd {
        let short = &name[..name.len().min(KERNEL_NAME_MAX)];
        maps.iter().find(|(n, _)| n == short).map_or(-1, |(_, fd)| fd.as_fd().as_raw_fd())
    };
    let obj_maps: Vec<(String, RawFd)> = obj.maps.keys().map(|name| (name.clone(), fd_of(name))).collect();
    let map_defs = obj.maps.clone();
    obj.relocate_maps(obj_maps.iter().map(|(name, fd)| (name.as_str(), *fd, &map_defs[name])), &text_sections)
        .context("relocating maps")?;
    obj.relocate_calls(&text_sections).context("relocating calls")?;
    let prog = obj.programs.get(program).with_context(|| format!("program {program} not in the object"))?;
    let insns: &[bpf_insn] = &obj.functions[&prog.function_key()].instructions;
    let license = CString::new("GPL").expect("no NUL");
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    for (dst, src) in name.iter_mut().zip(program.bytes().take(KERNEL_NAME_MAX)) {
        *dst = src;
    }
    let attr = ProgLoadAttr {
        prog_type: loaded.program_type() as u32,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: BPF_LOG_STATS,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
    };
    // SAFETY: `attr` and every buffer it points to live until the call returns; the kernel writes only `log`.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_LOAD, &attr as *const ProgLoadAttr, size_of_val(&attr)) };
    let err = std::io::Error::last_os_error();
    if fd >= 0 {
        // SAFETY: a new fd the kernel just returned, owned here and closed on drop (unloading this copy).
        drop(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
    }
    let text = String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(log.len())]).into_owned();
    processed_insns(&text).with_context(|| {
        let outcome = if fd >= 0 { "loaded".to_string() } else { err.to_string() };
        format!("no `processed N insns` in the verifier's log ({outcome}): {}", text.trim())
    })
}

/// `N` of the verifier's `processed N insns (limit ...) ...` line.
fn processed_insns(log: &str) -> Option<u32> {
    log.lines().find_map(|l| l.trim().strip_prefix("processed ")?.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::processed_insns;

    #[test]
    fn reads_the_statistics_line() {
        let log = "verification time 26064333 usec\nstack depth 192+0\nprocessed 723201 insns (limit 1000000) \
                   max_states_per_insn 23 total_states 22731 peak_states 1992 mark_read 76\n";
        assert_eq!(processed_insns(log), Some(723201));
        assert_eq!(processed_insns("invalid read\n"), None);
    }
}
