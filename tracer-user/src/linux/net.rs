//! Sockets in the user's terms: address families and protocols as ss names them (`ipv4`, `tcp`, `ping`),
//! addresses as ss prints them (`0.0.0.0:80`, `[::1]:53`, `*:80`, `[fe80::1]%eth0:53`), IPv6 text as glibc's
//! `inet_ntop` writes it, and network interface names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tracer_common::net::{AF_INET, AF_INET6, proto, sock_type};

use crate::escape::display_name;

/// The family as the JSON contract spells it.
pub fn family_name(family: u16) -> &'static str {
    match family {
        AF_INET => "ipv4",
        AF_INET6 => "ipv6",
        _ => "unspec",
    }
}

/// The protocol as ss names it.
pub fn proto_name(protocol: u16, ty: u16) -> &'static str {
    match (protocol, ty) {
        (proto::TCP, _) => "tcp",
        (proto::UDP, _) => "udp",
        (proto::UDPLITE, _) => "udplite",
        (proto::SCTP, _) => "sctp",
        (proto::MPTCP, _) => "mptcp",
        (proto::ICMP | proto::ICMPV6, sock_type::DGRAM) => "ping",
        (_, sock_type::RAW) => "raw",
        (proto::RAW, _) => "raw",
        _ => "inet",
    }
}

/// The address of a kernel event's 16 bytes (an IPv4 address in the first four).
pub fn ip_of(family: u16, bytes: &[u8; 16]) -> IpAddr {
    if family == AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

/// An address as ss shows it: `0.0.0.0:80`, `[::1]:53`, `[fe80::1]%eth0:53`, and `*:80` for a dual-stack `[::]`.
pub fn show_addr(ip: IpAddr, port: u16, scope_id: u32, v6only: Option<bool>) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) if v6.is_unspecified() && v6only == Some(false) => format!("*:{port}"),
        IpAddr::V6(v6) => match (scope_id != 0).then(|| interface_shown(scope_id)) {
            Some(name) => format!("[{v6}]%{name}:{port}"),
            None => format!("[{v6}]:{port}"),
        },
    }
}

/// An interface as ss shows it: its name (escaped), or its index when it has none.
fn interface_shown(index: u32) -> String {
    interface_name(index).map_or_else(|| index.to_string(), |n| display_name(n.as_bytes()))
}

/// The name of network interface `index` (`if_indextoname`).
pub fn interface_name(index: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has the IF_NAMESIZE bytes if_indextoname writes at most, NUL included.
    let found = unsafe { libc::if_indextoname(index, name.as_mut_ptr()) };
    if found.is_null() {
        return None;
    }
    // SAFETY: on success the name is NUL-terminated within `name`.
    Some(unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned())
}

/// An IPv6 address as glibc's `inet_ntop` writes it: like Rust's, but for the IPv4-compatible form (`::1.2.3.4`).
pub fn inet6_text(bytes: [u8; 16]) -> String {
    let addr = Ipv6Addr::from(bytes);
    match addr.segments() {
        [0, 0, 0, 0, 0, 0, high, _] if high != 0 => {
            format!("::{}", Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]))
        }
        _ => addr.to_string(),
    }
}

/// An address apart from its port, as the JSON records and ss's columns write it: IPv6 as glibc's `inet_ntop`.
pub fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => inet6_text(v6.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_addresses_as_ss_does() {
        assert_eq!(show_addr("0.0.0.0".parse().unwrap(), 80, 0, None), "0.0.0.0:80");
        assert_eq!(show_addr("::1".parse().unwrap(), 53, 0, Some(false)), "[::1]:53");
        assert_eq!(show_addr("::".parse().unwrap(), 80, 0, Some(false)), "*:80");
        assert_eq!(show_addr("::".parse().unwrap(), 22, 0, Some(true)), "[::]:22");
        assert_eq!(show_addr("fe80::1".parse().unwrap(), 53, 1, None), "[fe80::1]%lo:53");
    }

    #[test]
    fn names_protocols() {
        assert_eq!(proto_name(proto::TCP, sock_type::STREAM), "tcp");
        assert_eq!(proto_name(proto::UDP, sock_type::DGRAM), "udp");
        assert_eq!(proto_name(proto::ICMP, sock_type::DGRAM), "ping");
        assert_eq!(proto_name(proto::ICMP, sock_type::RAW), "raw");
    }
}
