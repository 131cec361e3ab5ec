//! Structs behind syscall arguments, from the bytes the kernel side copied at exit, as strace prints them:
//! `[4, 5]`, `{tv_sec=0, tv_nsec=10000000}`, `{st_mode=S_IFREG|0644, st_size=37203, ...}`, sockaddrs, rlimits.
//! Every read is length-checked: a short capture gives `None`, and the caller shows the pointer instead.

use crate::{
    escape::quoted,
    linux::{
        constants::{self as c, c_hex, named},
        files::file_mode,
        net::{inet6_text, interface_name},
    },
};

/// x86_64 sizes of the structs read behind pointers.
pub(super) const INT_PAIR_SIZE: u8 = 8;
pub(super) const TIMESPEC_SIZE: u8 = 16;
pub(super) const STAT_SIZE: u8 = 144;
pub(super) const RLIMIT_SIZE: u8 = 16;

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

/// `{tv_sec=0, tv_nsec=10000000}`.
pub(super) fn timespec(data: &[u8]) -> Option<String> {
    Some(format!("{{tv_sec={}, tv_nsec={}}}", u64_at(data, 0)? as i64, u64_at(data, 8)? as i64))
}

/// strace's abbreviated `struct stat` (x86_64 layout): the mode, then the device of a device file or the size.
pub(super) fn stat(data: &[u8]) -> Option<String> {
    if data.len() < usize::from(STAT_SIZE) {
        return None;
    }
    let mode = u32_at(data, 24)?;
    let rdev = u64_at(data, 40)?;
    let size = u64_at(data, 48)? as i64;
    let kind = mode & libc::S_IFMT;
    let detail = if kind == libc::S_IFCHR || kind == libc::S_IFBLK {
        let (major, minor) = (libc::major(rdev), libc::minor(rdev));
        format!("st_rdev=makedev({}, {})", c_hex(major.into()), c_hex(minor.into()))
    } else {
        format!("st_size={size}")
    };
    Some(format!("{{st_mode={}, {detail}, ...}}", file_mode(mode)))
}

/// `struct sockaddr` as strace shows it for the families it knows; others by family name.
pub(super) fn sockaddr(data: &[u8]) -> Option<String> {
    let family = u16_at(data, 0)?;
    let name = named(u64::from(family), &c::ADDRESS_FAMILIES);
    let rest = match i32::from(family) {
        libc::AF_INET => {
            let port = u16::from_be_bytes(bytes_at(data, 2)?);
            let addr = std::net::Ipv4Addr::from(bytes_at::<4>(data, 4)?);
            // sockaddr_in is 16 bytes; strace wants them all.
            bytes_at::<8>(data, 8)?;
            format!(", sin_port=htons({port}), sin_addr=inet_addr(\"{addr}\")")
        }
        libc::AF_INET6 => {
            let port = u16::from_be_bytes(bytes_at(data, 2)?);
            let flowinfo = u32::from_be_bytes(bytes_at(data, 4)?);
            let bytes: [u8; 16] = bytes_at(data, 8)?;
            let addr = inet6_text(bytes);
            let scope = u32_at(data, 24)?;
            // strace names the interface of a link-local address.
            let link_local = bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 || bytes[0] == 0xff && bytes[1] & 0xf == 2;
            let scope = match interface_name(scope) {
                Some(name) if link_local => format!("if_nametoindex({})", quoted(name.as_bytes(), false)),
                _ => scope.to_string(),
            };
            format!(
                ", sin6_port=htons({port}), sin6_flowinfo=htonl({flowinfo}), inet_pton(AF_INET6, \"{addr}\", \
                 &sin6_addr), sin6_scope_id={scope}"
            )
        }
        libc::AF_UNIX => match &data[2..] {
            [] => String::new(),
            // Abstract: the name after the leading NUL, all of its bytes.
            [0, name @ ..] => format!(", sun_path=@{}", quoted(name, false)),
            path => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                format!(", sun_path={}", quoted(&path[..end], false))
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
