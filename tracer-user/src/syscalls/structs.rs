//! Structs behind syscall arguments, from the bytes the kernel side copied at exit, as strace prints them:
//! `[4, 5]`, `{tv_sec=0, tv_nsec=10000000}`, `{st_mode=S_IFREG|0644, st_size=37203, ...}`, sockaddrs, rlimits.
//! Every read is length-checked: a short capture gives `None`, and the caller shows the pointer instead.

use crate::{
    escape::{StringStyle, quote},
    linux::{
        constants::{self as c, c_hex, named},
        files::file_mode,
        net::{inet6_text, interface_name},
    },
};

/// x86_64 sizes of the structs read behind pointers.
pub(super) const INT_PAIR_SIZE: u8 = 8;
pub(super) const TIMESPEC_SIZE: u8 = 16;
/// `struct statx` up to `stx_size`: what strace's abbreviated form shows.
pub(super) const STATX_SHOWN_SIZE: u8 = 48;
/// `struct statx` up to `stx_mnt_id`: what strace's `-v` shows.
pub(super) const STATX_VERBOSE_SIZE: u8 = 152;
/// utimensat's `struct timespec[2]`.
pub(super) const TIMESPEC_PAIR_SIZE: u8 = 32;
pub(super) const STAT_SIZE: u8 = 144;
pub(super) const RLIMIT_SIZE: u8 = 16;
/// The kernel's sigset_t: 64 signals.
pub(super) const SIGSET_SIZE: u8 = 8;
/// The kernel's `struct sigaction` on x86_64: sa_handler, sa_flags, sa_restorer, sa_mask.
pub(super) const SIGACTION_SIZE: u8 = 32;
pub(super) const WAIT_STATUS_SIZE: u8 = 4;
/// clone3's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
pub(super) const CLONE_ARGS_SIZE: u8 = 88;

/// `N` bytes at `offset` of a struct, or `None` past its end.
pub(super) fn bytes_at<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    data.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

pub(super) fn u16_at(data: &[u8], offset: usize) -> Option<u16> {
    bytes_at(data, offset).map(u16::from_ne_bytes)
}

pub(super) fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    bytes_at(data, offset).map(u32::from_ne_bytes)
}

pub(super) fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    bytes_at(data, offset).map(u64::from_ne_bytes)
}

/// `[4, 5]`.
pub(super) fn int_pair(data: &[u8]) -> Option<String> {
    Some(format!("[{}, {}]", u32_at(data, 0)? as i32, u32_at(data, 4)? as i32))
}

/// `{tv_sec=0, tv_nsec=10000000}`: tv_nsec unsigned, as strace prints it (`%llu`), so that an invalid one shows
/// as the number the kernel refused.
pub(super) fn timespec(data: &[u8]) -> Option<String> {
    Some(format!("{{tv_sec={}, tv_nsec={}}}", u64_at(data, 0)? as i64, u64_at(data, 8)?))
}

/// utimensat's times as strace shows them: `[{tv_sec=1492358706, tv_nsec=0} /* 2017-04-16T16:05:06+0000 */,
/// UTIME_OMIT]`.
pub(super) fn timespec_pair(data: &[u8]) -> Option<String> {
    const UTIME_NOW: u64 = (1 << 30) - 1;
    const UTIME_OMIT: u64 = (1 << 30) - 2;
    let mut shown = Vec::with_capacity(2);
    for offset in [0, 16] {
        let (sec, nsec) = (u64_at(data, offset)? as i64, u64_at(data, offset + 8)?);
        shown.push(match nsec {
            UTIME_NOW => "UTIME_NOW".to_string(),
            UTIME_OMIT => "UTIME_OMIT".to_string(),
            _ => {
                let ts = format!("{{tv_sec={sec}, tv_nsec={nsec}}}");
                match local_time(sec, nsec) {
                    Some(when) => format!("{ts} /* {when} */"),
                    None => ts,
                }
            }
        });
    }
    Some(format!("[{}]", shown.join(", ")))
}

/// strace's `sprinttime_nsec`: `2017-04-16T16:05:06.123456789+0000` in the local time zone; `None` for the epoch
/// itself and an invalid tv_nsec, as strace leaves those without a comment.
fn local_time(sec: i64, nsec: u64) -> Option<String> {
    if sec == 0 && nsec == 0 || nsec > 999_999_999 {
        return None;
    }
    let t: libc::time_t = sec;
    // SAFETY: localtime_r writes the zeroed tm it is given and reads only `t`; strftime writes at most the buffer's
    // length (returning 0 when it does not fit) and reads the format, a NUL-terminated literal.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    let format = |fmt: &std::ffi::CStr| {
        let mut buf = [0u8; 64];
        let len = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm) };
        (len > 0).then(|| String::from_utf8_lossy(&buf[..len]).into_owned())
    };
    let date = format(c"%FT%T")?;
    let zone = format(c"%z")?;
    let fraction = if nsec > 0 { format!(".{nsec:09}") } else { String::new() };
    Some(format!("{date}{fraction}{zone}"))
}

/// `makedev(0xfe, 0)`.
fn makedev(dev: u64) -> String {
    format!("makedev({}, {})", c_hex(libc::major(dev).into()), c_hex(libc::minor(dev).into()))
}

/// `1796231291 /* 2026-12-02T17:08:11.932224101+0000 */`: a time in seconds with strace's comment.
fn seconds_commented(sec: i64, nsec: u64) -> String {
    match local_time(sec, nsec) {
        Some(when) => format!("{sec} /* {when} */"),
        None => sec.to_string(),
    }
}

/// strace's `struct stat` (x86_64 layout). Abbreviated: the mode, then the device of a device file or the size.
/// `verbose` (`-v`): every field, in strace's order, each time with its date.
pub(super) fn stat(data: &[u8], verbose: bool) -> Option<String> {
    if data.len() < usize::from(STAT_SIZE) {
        return None;
    }
    let mode = u32_at(data, 24)?;
    let rdev = u64_at(data, 40)?;
    let size = u64_at(data, 48)? as i64;
    let kind = mode & libc::S_IFMT;
    let detail = if kind == libc::S_IFCHR || kind == libc::S_IFBLK {
        format!("st_rdev={}", makedev(rdev))
    } else {
        format!("st_size={size}")
    };
    if !verbose {
        return Some(format!("{{st_mode={}, {detail}, ...}}", file_mode(mode)));
    }
    let (dev, ino, nlink) = (u64_at(data, 0)?, u64_at(data, 8)?, u64_at(data, 16)?);
    let (uid, gid) = (u32_at(data, 28)?, u32_at(data, 32)?);
    let (blksize, blocks) = (u64_at(data, 56)? as i64, u64_at(data, 64)? as i64);
    let mut out = format!(
        "{{st_dev={}, st_ino={ino}, st_mode={}, st_nlink={nlink}, st_uid={uid}, st_gid={gid}, st_blksize={blksize}, \
         st_blocks={blocks}, {detail}",
        makedev(dev),
        file_mode(mode),
    );
    for (name, offset) in [("atime", 72), ("mtime", 88), ("ctime", 104)] {
        let (sec, nsec) = (u64_at(data, offset)? as i64, u64_at(data, offset + 8)?);
        out.push_str(&format!(", st_{name}={}, st_{name}_nsec={nsec}", seconds_commented(sec, nsec)));
    }
    out.push('}');
    Some(out)
}

/// strace's abbreviated `struct statx`: `{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0,
/// stx_mode=S_IFREG|0644, stx_size=3, ...}`.
/// `verbose` (`-v`): every field up to `stx_mnt_id` in strace's order, each time and `stx_mnt_id` only when the
/// mask says the kernel filled it.
pub(super) fn statx(data: &[u8], verbose: bool) -> Option<String> {
    let mask = u32_at(data, 0)?;
    let attributes = u64_at(data, 8)?;
    let mode = u16_at(data, 28)?;
    let size = u64_at(data, 40)?;
    let mask_text = c::flags_text(mask.into(), &c::STATX_MASK, c::STATX_MASK.unknown);
    let attributes_text = c::flags_text(attributes, &c::STATX_ATTRIBUTES, c::STATX_ATTRIBUTES.unknown);
    if !verbose {
        return Some(format!(
            "{{stx_mask={mask_text}, stx_attributes={attributes_text}, stx_mode={}, stx_size={size}, ...}}",
            file_mode(mode.into()),
        ));
    }
    const STATX_BTIME: u32 = 0x800;
    const STATX_MNT_ID: u32 = 0x1000;
    let (blksize, nlink, uid, gid) = (u32_at(data, 4)?, u32_at(data, 16)?, u32_at(data, 20)?, u32_at(data, 24)?);
    let (ino, blocks, attributes_mask) = (u64_at(data, 32)?, u64_at(data, 48)?, u64_at(data, 56)?);
    let mut out = format!(
        "{{stx_mask={mask_text}, stx_blksize={blksize}, stx_attributes={attributes_text}, stx_nlink={nlink}, \
         stx_uid={uid}, stx_gid={gid}, stx_mode={}, stx_ino={ino}, stx_size={size}, stx_blocks={blocks}, \
         stx_attributes_mask={}",
        file_mode(mode.into()),
        c::flags_text(attributes_mask, &c::STATX_ATTRIBUTES, c::STATX_ATTRIBUTES.unknown),
    );
    // Each time only when the mask says the kernel filled it (STATX_ATIME, STATX_BTIME, STATX_CTIME, STATX_MTIME).
    for (name, offset, bit) in
        [("atime", 64, 0x20), ("btime", 80, STATX_BTIME), ("ctime", 96, 0x80), ("mtime", 112, 0x40)]
    {
        if mask & bit == 0 {
            continue;
        }
        // struct statx_timestamp: a 64-bit tv_sec, a 32-bit tv_nsec.
        let (sec, nsec) = (u64_at(data, offset)? as i64, u64::from(u32_at(data, offset + 8)?));
        out.push_str(&format!(", stx_{name}={{tv_sec={sec}, tv_nsec={nsec}}}"));
        if let Some(when) = local_time(sec, nsec) {
            out.push_str(&format!(" /* {when} */"));
        }
    }
    for (name, offset) in [("rdev_major", 128), ("rdev_minor", 132), ("dev_major", 136), ("dev_minor", 140)] {
        out.push_str(&format!(", stx_{name}={}", u32_at(data, offset)?));
    }
    if mask & STATX_MNT_ID != 0 {
        out.push_str(&format!(", stx_mnt_id={}", c_hex(u64_at(data, 144)?)));
    }
    out.push('}');
    Some(out)
}

/// `struct sockaddr` as strace shows it for the families it knows; others by family name.
pub(super) fn sockaddr(data: &[u8], strings: StringStyle) -> Option<String> {
    let family = u16_at(data, 0)?;
    let name = named(u64::from(family), &c::ADDRESS_FAMILIES);
    let rest = match i32::from(family) {
        libc::AF_INET => {
            let port = u16::from_be_bytes(bytes_at(data, 2)?);
            let addr = std::net::Ipv4Addr::from(bytes_at::<4>(data, 4)?);
            // sockaddr_in is 16 bytes; strace wants them all.
            bytes_at::<8>(data, 8)?;
            let addr = quote(addr.to_string().as_bytes(), false, strings);
            format!(", sin_port=htons({port}), sin_addr=inet_addr({addr})")
        }
        libc::AF_INET6 => {
            let port = u16::from_be_bytes(bytes_at(data, 2)?);
            let flowinfo = u32::from_be_bytes(bytes_at(data, 4)?);
            let bytes: [u8; 16] = bytes_at(data, 8)?;
            let addr = quote(inet6_text(bytes).as_bytes(), false, strings);
            let scope = u32_at(data, 24)?;
            // strace names the interface of a link-local address.
            let link_local = bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 || bytes[0] == 0xff && bytes[1] & 0xf == 2;
            let scope = match interface_name(scope) {
                Some(name) if link_local => format!("if_nametoindex({})", quote(name.as_bytes(), false, strings)),
                _ => scope.to_string(),
            };
            format!(
                ", sin6_port=htons({port}), sin6_flowinfo=htonl({flowinfo}), inet_pton(AF_INET6, {addr}, \
                 &sin6_addr), sin6_scope_id={scope}"
            )
        }
        libc::AF_UNIX => match &data[2..] {
            [] => String::new(),
            // Abstract: the name after the leading NUL, all of its bytes.
            [0, name @ ..] => format!(", sun_path=@{}", quote(name, false, strings)),
            path => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                format!(", sun_path={}", quote(&path[..end], false, strings))
            }
        },
        libc::AF_NETLINK => {
            let pid = u32_at(data, 4)?;
            let groups = u32_at(data, 8)?;
            format!(", nl_pid={pid}, nl_groups={groups:08x}")
        }
        _ => ", ...".to_string(),
    };
    Some(format!("{{sa_family={name}{rest}}}"))
}

/// `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}`.
pub(super) fn rlimit(data: &[u8]) -> Option<String> {
    Some(format!("{{rlim_cur={}, rlim_max={}}}", rlim(u64_at(data, 0)?), rlim(u64_at(data, 8)?)))
}

/// strace's `sprint_rlim64`: infinity by name, multiples of 1024 above it as `N*1024`.
pub(super) fn rlim(value: u64) -> String {
    match value {
        u64::MAX => "RLIM64_INFINITY".to_string(),
        v if v > 1024 && v % 1024 == 0 => format!("{}*1024", v / 1024),
        v => v.to_string(),
    }
}

/// A signal set as strace shows it: names without `SIG` (`RTMIN`, `RT_1`... for real-time signals, numbered from
/// the kernel's first, 32), and, when two thirds of the signals or more are in it, the complement after `~`:
/// `[]`, `[INT TERM]`, `~[KILL STOP RTMIN RT_1]`.
pub(super) fn sigset(data: &[u8]) -> Option<String> {
    let set = u64_at(data, 0)?;
    Some(sigset_text(set))
}

pub(super) fn sigset_text(set: u64) -> String {
    let (set, prefix) = if set.count_ones() >= 64 * 2 / 3 { (!set, "~") } else { (set, "") };
    let names: Vec<String> = (1..=64)
        .filter(|signo| set & (1 << (signo - 1)) != 0)
        .map(|signo: i32| match crate::linux::signals::signal_name(signo) {
            Some(name) => name.trim_start_matches("SIG").to_string(),
            None if signo == 32 => "RTMIN".to_string(),
            None => format!("RT_{}", signo - 32),
        })
        .collect();
    format!("{prefix}[{}]", names.join(" "))
}

/// `SA_RESTORER|SA_RESTART`, in strace's order.
static SA_FLAGS: c::Names = c::Names {
    unknown: "SA_???",
    values: &[
        (0x0400_0000, "SA_RESTORER"),
        (0x0800_0000, "SA_ONSTACK"),
        (0x1000_0000, "SA_RESTART"),
        (0x2000_0000, "SA_INTERRUPT"),
        (0x4000_0000, "SA_NODEFER"),
        (0x8000_0000, "SA_RESETHAND"),
        (0x4, "SA_SIGINFO"),
        (0x1, "SA_NOCLDSTOP"),
        (0x2, "SA_NOCLDWAIT"),
    ],
};

/// The kernel's `struct sigaction` (x86_64): `{sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART,
/// sa_restorer=0x7f...}`, the restorer shown only with SA_RESTORER, as strace shows it.
pub(super) fn sigaction(data: &[u8]) -> Option<String> {
    let (handler, flags, restorer, mask) = (u64_at(data, 0)?, u64_at(data, 8)?, u64_at(data, 16)?, u64_at(data, 24)?);
    let handler = match handler {
        0 => "SIG_DFL".to_string(),
        1 => "SIG_IGN".to_string(),
        u64::MAX => "SIG_ERR".to_string(),
        address => format!("{address:#x}"),
    };
    let flags_shown = c::flags_text(flags, &SA_FLAGS, "SA_???");
    let restorer = if flags & 0x0400_0000 != 0 { format!(", sa_restorer={}", c_hex(restorer)) } else { String::new() };
    Some(format!("{{sa_handler={handler}, sa_mask={}, sa_flags={flags_shown}{restorer}}}", sigset_text(mask)))
}

/// A wait status as strace shows it: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`,
/// `[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL && WCOREDUMP(s)}]`, `[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]`,
/// `[{WIFCONTINUED(s)}]`.
pub(super) fn wait_status(data: &[u8]) -> Option<String> {
    let status = u32_at(data, 0)? as i32;
    let signal = |signo: i32| crate::linux::signals::signal_display(signo);
    let text = if libc::WIFEXITED(status) {
        format!("WIFEXITED(s) && WEXITSTATUS(s) == {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let core = if libc::WCOREDUMP(status) { " && WCOREDUMP(s)" } else { "" };
        format!("WIFSIGNALED(s) && WTERMSIG(s) == {}{core}", signal(libc::WTERMSIG(status)))
    } else if libc::WIFSTOPPED(status) {
        format!("WIFSTOPPED(s) && WSTOPSIG(s) == {}", signal(libc::WSTOPSIG(status)))
    } else if libc::WIFCONTINUED(status) {
        "WIFCONTINUED(s)".to_string()
    } else {
        return Some(format!("[{status:#x}]"));
    };
    // A ptrace event in the high bits (`status >> 16`), as strace appends it.
    let event = status >> 16;
    if event != 0 && libc::WIFSTOPPED(status) {
        return Some(format!("[{{{text}}} | {event:#x} << 16]"));
    }
    Some(format!("[{{{text}}}]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_sets_as_strace_shows_them() {
        assert_eq!(sigset_text(0), "[]");
        assert_eq!(sigset_text(1 << 9 | 1 << 14), "[USR1 TERM]");
        assert_eq!(sigset_text(1 << 30 | 1 << 31 | 1 << 32), "[SYS RTMIN RT_1]");
        assert_eq!(sigset_text(!(1 << 8 | 1 << 18 | 1 << 31 | 1 << 32)), "~[KILL STOP RTMIN RT_1]");
        assert_eq!(sigset_text(u64::MAX), "~[]");
        assert_eq!(sigset(&[0; 4]), None, "a short capture");
    }

    #[test]
    fn sigactions_and_wait_statuses_as_strace_shows_them() {
        let action = |handler: u64, flags: u64, restorer: u64, mask: u64| {
            let bytes: Vec<u8> = [handler, flags, restorer, mask].iter().flat_map(|v| v.to_ne_bytes()).collect();
            sigaction(&bytes).unwrap()
        };
        assert_eq!(action(0, 0, 0, 0), "{sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}");
        assert_eq!(
            action(0x55d0, 0x1400_0004, 0x7f00, 1 << 1),
            "{sa_handler=0x55d0, sa_mask=[INT], sa_flags=SA_RESTORER|SA_RESTART|SA_SIGINFO, sa_restorer=0x7f00}"
        );
        assert_eq!(
            action(1, 0x0400_0000, 0, 0),
            "{sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0}"
        );
        let status = |s: i32| wait_status(&s.to_ne_bytes()).unwrap();
        assert_eq!(status(3 << 8), "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]");
        assert_eq!(status(9), "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]");
        assert_eq!(status(0x80 | 11), "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]");
        assert_eq!(status(19 << 8 | 0x7f), "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]");
        assert_eq!(status(0xffff), "[{WIFCONTINUED(s)}]");
    }
}
