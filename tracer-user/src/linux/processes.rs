//! How ps names what /proc says about a process: STAT letters, terminal names, START and TIME columns.

use crate::procfs::ProcStat;

/// `PF_KTHREAD`: a kernel thread (include/linux/sched.h).
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// ps's STAT: the state letter, then `<` (high priority) or `N` (low), `L` (locked pages), `s` (session
/// leader), `l` (multi-threaded), `+` (in the foreground process group of its terminal), in procps's order.
pub fn stat_letters(stat: &ProcStat, locked_kb: u64) -> String {
    let mut letters = String::from(stat.state as char);
    if stat.nice < 0 {
        letters.push('<');
    } else if stat.nice > 0 {
        letters.push('N');
    }
    if locked_kb > 0 {
        letters.push('L');
    }
    if stat.session == stat.pid {
        letters.push('s');
    }
    if stat.threads > 1 {
        letters.push('l');
    }
    if stat.tpgid >= 0 && stat.pgrp == stat.tpgid as u32 {
        letters.push('+');
    }
    letters
}

/// The terminal behind a `tty_nr` as ps names it (`pts/3`, `tty1`, `ttyS0`), `None` for no terminal. Other
/// devices are looked up in /dev.
pub fn tty_name(tty_nr: u32) -> Option<String> {
    if tty_nr == 0 {
        return None;
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    Some(match (major, minor) {
        (136..=143, _) => format!("pts/{}", (major - 136) * 256 + minor),
        (4, 0..=63) => format!("tty{minor}"),
        (4, _) => format!("ttyS{}", minor - 64),
        (5, 1) => "console".to_string(),
        _ => dev_name(major, minor).unwrap_or_else(|| format!("{major},{minor}")),
    })
}

/// A character device's name under /dev, found by its number.
fn dev_name(major: u32, minor: u32) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let wanted = libc::makedev(major, minor);
    std::fs::read_dir("/dev").ok()?.flatten().find_map(|entry| {
        let meta = entry.metadata().ok()?;
        (meta.file_type().is_char_device() && meta.rdev() == wanted).then(|| entry.file_name().to_string_lossy().into())
    })
}

/// ps aux's TIME: CPU minutes and seconds, `12:05`.
pub fn cpu_time(cpu_ns: u64) -> String {
    let secs = cpu_ns / 1_000_000_000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// ps aux's START: `HH:MM` within the last day, `MonDD` within the year, else the year.
pub fn start_column(started_wall_ns: u64, now_wall_ns: u64) -> String {
    // `as _`: libc::time_t, deprecated on musl (its width is to change there), is what localtime_r takes.
    let secs = (started_wall_ns / 1_000_000_000) as _;
    // SAFETY: localtime_r writes into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let age = now_wall_ns.saturating_sub(started_wall_ns) / 1_000_000_000;
    if age < 24 * 3600 {
        format!("{:02}:{:02}", tm.tm_hour, tm.tm_min)
    } else if age < 365 * 24 * 3600 {
        format!("{}{:02}", MONTHS[tm.tm_mon.clamp(0, 11) as usize], tm.tm_mday)
    } else {
        format!("{}", tm.tm_year + 1900)
    }
}

/// Clock ticks per second (`USER_HZ`), in which /proc counts times.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as u64,
        _ => 100,
    }
}

/// Bytes per page, in which /proc counts resident memory.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    }
}

/// The name of a uid (`root`), `None` when it has none.
pub fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok().flatten().map(|user| user.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat() -> ProcStat {
        ProcStat {
            pid: 10,
            comm: b"sh".to_vec(),
            state: b'S',
            ppid: 1,
            pgrp: 10,
            session: 10,
            tty_nr: 34816,
            tpgid: 10,
            flags: 0,
            cpu_ticks: 0,
            nice: 0,
            threads: 1,
            start_ticks: 0,
            rss_pages: 0,
        }
    }

    #[test]
    fn stat_letters_follow_procps() {
        assert_eq!(stat_letters(&stat(), 0), "Ss+");
        let worker = ProcStat { pid: 11, nice: 5, threads: 4, tpgid: -1, ..stat() };
        assert_eq!(stat_letters(&worker, 8), "SNLl");
        assert_eq!(stat_letters(&ProcStat { nice: -20, ..worker }, 0), "S<l");
    }

    #[test]
    fn names_terminals_as_ps_does() {
        assert_eq!(tty_name(0), None);
        assert_eq!(tty_name(34816).as_deref(), Some("pts/0"));
        assert_eq!(tty_name((136 << 8) | 5).as_deref(), Some("pts/5"));
        assert_eq!(tty_name((4 << 8) | 1).as_deref(), Some("tty1"));
        assert_eq!(tty_name((4 << 8) | 64).as_deref(), Some("ttyS0"));
        assert_eq!(cpu_time(754_000_000_000), "12:34");
        assert_eq!(user_name(0).as_deref(), Some("root"));
    }
}
