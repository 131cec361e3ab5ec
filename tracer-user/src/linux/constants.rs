//! Tables of constant names for argument decoding, spelled and ordered as strace 6.1 prints them (x86_64).
//! Values come from the `libc` crate where it has them; the few it lacks are written out.

/// The names of one argument's values: exact values (`F_GETFD`) or the bits of a flag set (`O_CLOEXEC`).
/// An entry of value 0 names the empty flag set (`PROT_NONE`).
#[derive(Debug, PartialEq, Eq)]
pub struct Names {
    pub values: &'static [(u64, &'static str)],
    /// strace's comment after a number it cannot name (`0x3e7 /* F_??? */`); empty for none.
    pub unknown: &'static str,
}

impl Names {
    pub fn get(&self, value: u64) -> Option<&'static str> {
        self.values.iter().find(|&&(v, _)| v == value).map(|&(_, name)| name)
    }
}

/// C's `%#x`: `0` for zero, `0x1f` otherwise.
pub fn c_hex(value: u64) -> String {
    if value == 0 { "0".to_string() } else { format!("{value:#x}") }
}

/// The name of `value`, or its number with strace's comment: `0x3e7 /* F_??? */`.
pub fn named(value: u64, names: &Names) -> String {
    match names.get(value) {
        Some(name) => name.to_string(),
        None if names.unknown.is_empty() => c_hex(value),
        None => format!("{} /* {} */", c_hex(value), names.unknown),
    }
}

/// `A|B|0x40` for the named bits set in `value`; the zero entry's name (or `0`) when none is set, and `unknown`
/// as strace's comment when no bit has a name (`0x8 /* GRND_??? */`; empty: no comment).
pub fn flags_text(value: u64, names: &Names, unknown: &str) -> String {
    if value == 0 {
        return names.get(0).unwrap_or("0").to_string();
    }
    let mut parts = Vec::new();
    let mut rest = value;
    for &(bit, name) in names.values {
        if bit != 0 && rest & bit == bit {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
        if parts.len() == 1 && !unknown.is_empty() {
            return format!("{rest:#x} /* {unknown} */");
        }
    }
    parts.join("|")
}

/// `names!("F_???": F_DUPFD, F_OFD_GETLK = 36)`: `libc::F_DUPFD` unless a value is given.
macro_rules! names {
    ($unknown:literal: $($name:ident $(= $value:expr)?),* $(,)?) => {
        Names { unknown: $unknown, values: &[$((names!(@value $name $(, $value)?), stringify!($name))),*] }
    };
    // Through u32: a C int with the top bit set (__WCLONE, CLONE_IO) must not sign-extend.
    (@value $name:ident) => { libc::$name as u32 as u64 };
    (@value $name:ident, $value:expr) => { $value as u32 as u64 };
}

pub static PROT: Names = names!("": PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP);
pub static ACCESS: Names = names!("?_OK": F_OK, R_OK, W_OK, X_OK);
/// strace's at_flags: the statx sync types are statx's own (`STATX_SYNC_TYPES`), never named elsewhere.
pub static AT_FLAGS: Names = names!("": AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT,
    AT_EMPTY_PATH, AT_RECURSIVE);
/// The bits of statx's sync type (`AT_STATX_SYNC_TYPE`).
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
/// strace names type 0 too: `MAP_FILE`, `MAP_FILE|MAP_ANONYMOUS`.
pub static MAP_TYPES: Names = names!("": MAP_FILE, MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE);
pub static MAP_FLAGS: Names = names!("": MAP_FIXED, MAP_ANONYMOUS, MAP_32BIT, MAP_GROWSDOWN, MAP_DENYWRITE,
    MAP_EXECUTABLE, MAP_LOCKED, MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB, MAP_SYNC,
    MAP_FIXED_NOREPLACE);
/// Open flags but the access mode, in strace's order. O_SYNC includes O_DSYNC's bit and O_TMPFILE O_DIRECTORY's:
/// the wide ones come first.
pub static O_FLAGS: Names = names!("O_???": O_SYNC, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK,
    O_DSYNC, O_DIRECT,
    // libc says 0 (implied on 64-bit); the kernel still sees and reports the bit.
    O_LARGEFILE = 0o100000,
    O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH, O_TMPFILE, O_DIRECTORY,
    // strace's name for O_ASYNC.
    FASYNC = libc::O_ASYNC);

pub static ADDRESS_FAMILIES: Names = names!("AF_???": AF_UNSPEC, AF_UNIX, AF_INET, AF_AX25, AF_IPX, AF_APPLETALK,
    AF_NETROM, AF_BRIDGE, AF_ATMPVC, AF_X25, AF_INET6, AF_ROSE, AF_DECnet, AF_NETBEUI, AF_SECURITY, AF_KEY,
    AF_NETLINK, AF_PACKET, AF_ASH, AF_ECONET, AF_ATMSVC, AF_RDS, AF_SNA, AF_IRDA, AF_PPPOX, AF_WANPIPE, AF_LLC,
    AF_IB, AF_MPLS, AF_CAN, AF_TIPC, AF_BLUETOOTH, AF_IUCV, AF_RXRPC, AF_ISDN, AF_PHONET, AF_IEEE802154, AF_CAIF,
    AF_ALG, AF_NFC, AF_VSOCK, AF_KCM = 41, AF_QIPCRTR = 42, AF_SMC = 43, AF_XDP, AF_MCTP = 45);
/// The file type bits of a mode (`S_IFMT`).
pub static FILE_TYPES: Names = names!("": S_IFREG, S_IFSOCK, S_IFLNK, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO);
pub static SOCKET_TYPES: Names =
    names!("SOCK_???": SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOCK_DCCP, SOCK_PACKET = 10);
pub static SOCKET_FLAGS: Names = names!("SOCK_???": SOCK_CLOEXEC, SOCK_NONBLOCK);
pub static IP_PROTOCOLS: Names = names!("IPPROTO_???": IPPROTO_IP, IPPROTO_ICMP, IPPROTO_IGMP, IPPROTO_IPIP,
    IPPROTO_TCP, IPPROTO_EGP, IPPROTO_PUP, IPPROTO_UDP, IPPROTO_IDP, IPPROTO_TP, IPPROTO_DCCP, IPPROTO_IPV6,
    IPPROTO_RSVP, IPPROTO_GRE, IPPROTO_ESP, IPPROTO_AH, IPPROTO_ICMPV6, IPPROTO_MTP, IPPROTO_BEETPH, IPPROTO_ENCAP,
    IPPROTO_PIM, IPPROTO_COMP, IPPROTO_SCTP, IPPROTO_UDPLITE, IPPROTO_MPLS, IPPROTO_ETHERNET = 143, IPPROTO_RAW,
    IPPROTO_MPTCP);
pub static NETLINK_PROTOCOLS: Names = names!("NETLINK_???": NETLINK_ROUTE, NETLINK_UNUSED, NETLINK_USERSOCK,
    NETLINK_FIREWALL, NETLINK_SOCK_DIAG, NETLINK_NFLOG, NETLINK_XFRM, NETLINK_SELINUX, NETLINK_ISCSI, NETLINK_AUDIT,
    NETLINK_FIB_LOOKUP, NETLINK_CONNECTOR, NETLINK_NETFILTER, NETLINK_IP6_FW, NETLINK_DNRTMSG,
    NETLINK_KOBJECT_UEVENT, NETLINK_GENERIC, NETLINK_SCSITRANSPORT = 18, NETLINK_ECRYPTFS, NETLINK_RDMA,
    NETLINK_CRYPTO, NETLINK_SMC = 22);
pub static ETHER_PROTOCOLS: Names =
    names!("ETH_P_???": ETH_P_ALL, ETH_P_IP, ETH_P_ARP, ETH_P_8021Q, ETH_P_IPV6, ETH_P_8021AD, ETH_P_LLDP);

pub static SOCKET_LEVELS: Names = names!("SOL_??": SOL_IP = 0, SOL_SOCKET, SOL_TCP, SOL_UDP, SOL_IPV6,
    SOL_ICMPV6, SOL_SCTP = 132, SOL_UDPLITE = 136, SOL_RAW, SOL_PACKET, SOL_NETLINK, SOL_ALG, SOL_TLS, SOL_XDP,
    SOL_MPTCP = 284);
pub static SO_OPTIONS: Names = names!("SO_???": SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE,
    SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY, SO_LINGER,
    SO_BSDCOMPAT, SO_REUSEPORT, SO_PASSCRED, SO_PEERCRED, SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO_OLD = 20,
    SO_SNDTIMEO_OLD = 21, SO_SECURITY_AUTHENTICATION, SO_SECURITY_ENCRYPTION_TRANSPORT,
    SO_SECURITY_ENCRYPTION_NETWORK, SO_BINDTODEVICE, SO_ATTACH_FILTER, SO_DETACH_FILTER, SO_PEERNAME,
    SO_TIMESTAMP_OLD = 29, SO_ACCEPTCONN, SO_PEERSEC, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PASSSEC,
    SO_TIMESTAMPNS_OLD = 35, SO_MARK, SO_TIMESTAMPING_OLD = 37, SO_PROTOCOL, SO_DOMAIN, SO_RXQ_OVFL, SO_WIFI_STATUS,
    SO_PEEK_OFF, SO_NOFCS, SO_LOCK_FILTER, SO_SELECT_ERR_QUEUE, SO_BUSY_POLL, SO_MAX_PACING_RATE,
    SO_BPF_EXTENSIONS, SO_INCOMING_CPU, SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_CBPF, SO_ATTACH_REUSEPORT_EBPF,
    SO_CNX_ADVICE, SO_MEMINFO = 55, SO_INCOMING_NAPI_ID, SO_COOKIE, SO_PEERGROUPS = 59, SO_ZEROCOPY, SO_TXTIME,
    SO_BINDTOIFINDEX, SO_TIMESTAMP_NEW = 63, SO_TIMESTAMPNS_NEW = 64, SO_TIMESTAMPING_NEW = 65,
    SO_RCVTIMEO_NEW = 66, SO_SNDTIMEO_NEW = 67, SO_DETACH_REUSEPORT_BPF = 68, SO_PREFER_BUSY_POLL = 69,
    SO_BUSY_POLL_BUDGET = 70, SO_NETNS_COOKIE = 71, SO_BUF_LOCK = 72, SO_RESERVE_MEM = 73, SO_TXREHASH = 74,
    SO_RCVMARK = 75);
pub static IP_OPTIONS: Names = names!("IP_???": IP_TOS, IP_TTL, IP_HDRINCL, IP_OPTIONS, IP_ROUTER_ALERT,
    IP_RECVOPTS, IP_RETOPTS, IP_PKTINFO, IP_PKTOPTIONS, IP_MTU_DISCOVER, IP_RECVERR, IP_RECVTTL, IP_RECVTOS, IP_MTU,
    IP_FREEBIND, IP_IPSEC_POLICY, IP_XFRM_POLICY, IP_PASSSEC, IP_TRANSPARENT, IP_ORIGDSTADDR, IP_MINTTL,
    IP_NODEFRAG, IP_CHECKSUM, IP_BIND_ADDRESS_NO_PORT, IP_RECVFRAGSIZE, IP_RECVERR_RFC4884 = 26, IP_MULTICAST_IF,
    IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP);
pub static TCP_OPTIONS: Names = names!("TCP_???": TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL,
    TCP_KEEPCNT, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO, TCP_QUICKACK,
    TCP_CONGESTION, TCP_MD5SIG, TCP_COOKIE_TRANSACTIONS = 15, TCP_THIN_LINEAR_TIMEOUTS, TCP_THIN_DUPACK,
    TCP_USER_TIMEOUT, TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_REPAIR_OPTIONS, TCP_FASTOPEN, TCP_TIMESTAMP,
    TCP_NOTSENT_LOWAT, TCP_CC_INFO, TCP_SAVE_SYN, TCP_SAVED_SYN, TCP_REPAIR_WINDOW, TCP_FASTOPEN_CONNECT, TCP_ULP,
    TCP_MD5SIG_EXT, TCP_FASTOPEN_KEY, TCP_FASTOPEN_NO_COOKIE, TCP_ZEROCOPY_RECEIVE, TCP_INQ, TCP_TX_DELAY = 37);
pub static IPV6_OPTIONS: Names = names!("IPV6_???": IPV6_ADDRFORM, IPV6_2292PKTINFO, IPV6_2292HOPOPTS,
    IPV6_2292DSTOPTS, IPV6_2292RTHDR, IPV6_2292PKTOPTIONS, IPV6_CHECKSUM, IPV6_2292HOPLIMIT, IPV6_NEXTHOP,
    IPV6_AUTHHDR, IPV6_UNICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP,
    IPV6_ADD_MEMBERSHIP, IPV6_DROP_MEMBERSHIP, IPV6_ROUTER_ALERT, IPV6_MTU_DISCOVER, IPV6_MTU, IPV6_RECVERR,
    IPV6_V6ONLY, IPV6_JOIN_ANYCAST, IPV6_LEAVE_ANYCAST, IPV6_FLOWINFO = 11, IPV6_UNICAST_IF = 76,
    IPV6_RECVPKTINFO, IPV6_PKTINFO, IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT, IPV6_TCLASS, IPV6_RECVTCLASS);
pub static UDP_OPTIONS: Names = names!("UDP_???": UDP_CORK, UDP_ENCAP, UDP_NO_CHECK6_TX, UDP_NO_CHECK6_RX,
    UDP_SEGMENT, UDP_GRO);
pub static NETLINK_OPTIONS: Names = names!("NETLINK_???": NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP,
    NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR, NETLINK_NO_ENOBUFS, NETLINK_RX_RING = 6, NETLINK_TX_RING = 7,
    NETLINK_LISTEN_ALL_NSID, NETLINK_LIST_MEMBERSHIPS, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK);

pub static FCNTL_COMMANDS: Names = names!("F_???": F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK,
    F_SETLK, F_SETLKW, F_SETOWN, F_GETOWN, F_SETSIG = F_SETSIG, F_GETSIG = F_GETSIG, F_GETLK64 = 12,
    F_SETLK64 = 13, F_SETLKW64 = 14, F_SETOWN_EX = F_SETOWN_EX, F_GETOWN_EX = F_GETOWN_EX, F_GETOWNER_UIDS = 17,
    F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY, F_DUPFD_CLOEXEC, F_SETPIPE_SZ,
    F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS, F_GET_RW_HINT = 1035, F_SET_RW_HINT = 1036, F_GET_FILE_RW_HINT = 1037,
    F_SET_FILE_RW_HINT = 1038);
// Not in libc for x86_64 glibc.
pub const F_SETSIG: i32 = 10;
pub const F_GETSIG: i32 = 11;
pub const F_SETOWN_EX: i32 = 15;
pub const F_GETOWN_EX: i32 = 16;
pub static FD_FLAGS: Names = names!("": FD_CLOEXEC);
pub static LEASE_TYPES: Names = names!("F_???": F_RDLCK, F_WRLCK, F_UNLCK);
pub static DN_FLAGS: Names = names!("DN_???": DN_ACCESS = 1, DN_MODIFY = 2, DN_CREATE = 4, DN_DELETE = 8,
    DN_RENAME = 0x10, DN_ATTRIB = 0x20, DN_MULTISHOT = 0x8000_0000u32);
pub static SEALS: Names = names!("F_SEAL_???": F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE,
    F_SEAL_FUTURE_WRITE);

/// Commands, without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME.
pub static FUTEX_COMMANDS: Names = names!("FUTEX_???": FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE,
    FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET,
    FUTEX_WAKE_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2);
/// Whole futex ops as strace names them (its `futexops` table): a command with FUTEX_PRIVATE_FLAG is `_PRIVATE`,
/// FUTEX_FD's is spelled out, and FUTEX_CLOCK_REALTIME is named only with the waits that take it; any other
/// combination is a number (`0x101 /* FUTEX_??? */`).
pub static FUTEX_OPS: Names = Names {
    unknown: "FUTEX_???",
    values: &[
        (0, "FUTEX_WAIT"),
        (1, "FUTEX_WAKE"),
        (2, "FUTEX_FD"),
        (3, "FUTEX_REQUEUE"),
        (4, "FUTEX_CMP_REQUEUE"),
        (5, "FUTEX_WAKE_OP"),
        (6, "FUTEX_LOCK_PI"),
        (7, "FUTEX_UNLOCK_PI"),
        (8, "FUTEX_TRYLOCK_PI"),
        (9, "FUTEX_WAIT_BITSET"),
        (10, "FUTEX_WAKE_BITSET"),
        (11, "FUTEX_WAIT_REQUEUE_PI"),
        (12, "FUTEX_CMP_REQUEUE_PI"),
        (13, "FUTEX_LOCK_PI2"),
        (128, "FUTEX_WAIT_PRIVATE"),
        (129, "FUTEX_WAKE_PRIVATE"),
        (130, "FUTEX_FD|FUTEX_PRIVATE_FLAG"),
        (131, "FUTEX_REQUEUE_PRIVATE"),
        (132, "FUTEX_CMP_REQUEUE_PRIVATE"),
        (133, "FUTEX_WAKE_OP_PRIVATE"),
        (134, "FUTEX_LOCK_PI_PRIVATE"),
        (135, "FUTEX_UNLOCK_PI_PRIVATE"),
        (136, "FUTEX_TRYLOCK_PI_PRIVATE"),
        (137, "FUTEX_WAIT_BITSET_PRIVATE"),
        (138, "FUTEX_WAKE_BITSET_PRIVATE"),
        (139, "FUTEX_WAIT_REQUEUE_PI_PRIVATE"),
        (140, "FUTEX_CMP_REQUEUE_PI_PRIVATE"),
        (141, "FUTEX_LOCK_PI2_PRIVATE"),
        (256, "FUTEX_WAIT|FUTEX_CLOCK_REALTIME"),
        (384, "FUTEX_WAIT_PRIVATE|FUTEX_CLOCK_REALTIME"),
        (265, "FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME"),
        (393, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"),
        (267, "FUTEX_WAIT_REQUEUE_PI|FUTEX_CLOCK_REALTIME"),
        (395, "FUTEX_WAIT_REQUEUE_PI_PRIVATE|FUTEX_CLOCK_REALTIME"),
    ],
};
pub static FUTEX_WAKE_OPS: Names = names!("FUTEX_OP_???": FUTEX_OP_SET, FUTEX_OP_ADD, FUTEX_OP_OR,
    FUTEX_OP_ANDN, FUTEX_OP_XOR);
pub static FUTEX_WAKE_CMPS: Names = names!("FUTEX_OP_CMP_???": FUTEX_OP_CMP_EQ, FUTEX_OP_CMP_NE,
    FUTEX_OP_CMP_LT, FUTEX_OP_CMP_LE, FUTEX_OP_CMP_GT, FUTEX_OP_CMP_GE);

/// An ioctl request as the kernel takes it (`unsigned int cmd`): libc declares them `c_ulong` on glibc and `c_int`
/// on musl (the static build), so go through the 32 bits both agree on; a sign-extending cast from musl's `c_int`
/// would turn FS_IOC_GETFLAGS (0x80086601) into 0xffffffff80086601.
#[allow(clippy::unnecessary_cast)] // u64 -> u32 on glibc; i32 -> u32 on musl
pub const fn ioctl(request: libc::Ioctl) -> u64 {
    request as u32 as u64
}

/// Common ioctl requests. strace names 0x5402..0x5404 after the OSS sequencer too.
pub static IOCTLS: Names = Names {
    unknown: "",
    values: &[
        (ioctl(libc::TCGETS), "TCGETS"),
        (ioctl(libc::TCSETS), "SNDCTL_TMR_START or TCSETS"),
        (ioctl(libc::TCSETSW), "SNDCTL_TMR_STOP or TCSETSW"),
        (ioctl(libc::TCSETSF), "SNDCTL_TMR_CONTINUE or TCSETSF"),
        (ioctl(libc::TCSBRK), "TCSBRK"),
        (ioctl(libc::TCXONC), "TCXONC"),
        (ioctl(libc::TCFLSH), "TCFLSH"),
        (ioctl(libc::TIOCEXCL), "TIOCEXCL"),
        (ioctl(libc::TIOCNXCL), "TIOCNXCL"),
        (ioctl(libc::TIOCSCTTY), "TIOCSCTTY"),
        (ioctl(libc::TIOCGPGRP), "TIOCGPGRP"),
        (ioctl(libc::TIOCSPGRP), "TIOCSPGRP"),
        (ioctl(libc::TIOCOUTQ), "TIOCOUTQ"),
        (ioctl(libc::TIOCGWINSZ), "TIOCGWINSZ"),
        (ioctl(libc::TIOCSWINSZ), "TIOCSWINSZ"),
        (ioctl(libc::FIONREAD), "FIONREAD"),
        (ioctl(libc::TIOCNOTTY), "TIOCNOTTY"),
        (ioctl(libc::FIONBIO), "FIONBIO"),
        (ioctl(libc::TIOCGSID), "TIOCGSID"),
        (ioctl(libc::TIOCGPTN), "TIOCGPTN"),
        (ioctl(libc::TIOCSPTLCK), "TIOCSPTLCK"),
        (ioctl(libc::FIONCLEX), "FIONCLEX"),
        (ioctl(libc::FIOCLEX), "FIOCLEX"),
        (ioctl(libc::FIOASYNC), "FIOASYNC"),
        (ioctl(libc::FS_IOC_GETFLAGS), "FS_IOC_GETFLAGS"),
        (ioctl(libc::FS_IOC_SETFLAGS), "FS_IOC_SETFLAGS"),
    ],
};

pub static SEEK_WHENCE: Names = names!("SEEK_???": SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE);
pub static RLIMITS: Names = names!("RLIMIT_???": RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE,
    RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING,
    RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME);
/// From asm/prctl.h (libc has none of them).
pub static ARCH_PRCTL_CODES: Names = names!("ARCH_???": ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002,
    ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004, ARCH_GET_CPUID = 0x1011, ARCH_SET_CPUID = 0x1012,
    ARCH_MAP_VDSO_X32 = 0x2001, ARCH_MAP_VDSO_32 = 0x2002, ARCH_MAP_VDSO_64 = 0x2003);
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;
pub const ARCH_GET_CPUID: u64 = 0x1011;
pub static CLOCKS: Names = names!("CLOCK_???": CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_SGI_CYCLE = 10, CLOCK_TAI);
pub static TIMER_FLAGS: Names = names!("TIMER_???": TIMER_ABSTIME);
pub static TFD_FLAGS: Names = names!("TFD_???": TFD_CLOEXEC, TFD_NONBLOCK);
pub static TFD_TIMER_FLAGS: Names = names!("TFD_???": TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET);
pub static GRND_FLAGS: Names = names!("GRND_???": GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE);
pub static EFD_FLAGS: Names = names!("EFD_???": EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK);
pub static EPOLL_FLAGS: Names = names!("EPOLL_???": EPOLL_CLOEXEC);
pub static IN_FLAGS: Names = names!("IN_???": IN_NONBLOCK, IN_CLOEXEC);
pub static SFD_FLAGS: Names = names!("SFD_???": SFD_CLOEXEC, SFD_NONBLOCK);
pub static MFD_FLAGS: Names = names!("MFD_???": MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL,
    MFD_EXEC);
pub static EPOLL_CTL_OPS: Names = names!("EPOLL_CTL_???": EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD);
/// prctl's options (strace's `prctl_options`).
pub static PRCTL_OPTIONS: Names = names!("PR_???": PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE,
    PR_SET_DUMPABLE, PR_GET_UNALIGN, PR_SET_UNALIGN, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_GET_FPEMU, PR_SET_FPEMU,
    PR_GET_FPEXC, PR_SET_FPEXC, PR_GET_TIMING, PR_SET_TIMING, PR_SET_NAME, PR_GET_NAME, PR_GET_ENDIAN,
    PR_SET_ENDIAN, PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_TSC, PR_SET_TSC,
    PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_SET_TIMERSLACK, PR_GET_TIMERSLACK, PR_TASK_PERF_EVENTS_DISABLE,
    PR_TASK_PERF_EVENTS_ENABLE, PR_MCE_KILL, PR_MCE_KILL_GET, PR_SET_MM, PR_SET_CHILD_SUBREAPER,
    PR_GET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_GET_TID_ADDRESS, PR_SET_THP_DISABLE,
    PR_GET_THP_DISABLE, PR_MPX_ENABLE_MANAGEMENT = 43, PR_MPX_DISABLE_MANAGEMENT = 44, PR_SET_FP_MODE,
    PR_GET_FP_MODE, PR_CAP_AMBIENT, PR_SVE_SET_VL = 50, PR_SVE_GET_VL = 51, PR_GET_SPECULATION_CTRL = 52,
    PR_SET_SPECULATION_CTRL = 53, PR_PAC_RESET_KEYS = 54, PR_SET_TAGGED_ADDR_CTRL = 55,
    PR_GET_TAGGED_ADDR_CTRL = 56, PR_SET_IO_FLUSHER = 57, PR_GET_IO_FLUSHER = 58,
    PR_SET_SYSCALL_USER_DISPATCH = 59, PR_PAC_SET_ENABLED_KEYS = 60, PR_PAC_GET_ENABLED_KEYS = 61,
    PR_SCHED_CORE = 62, PR_SME_SET_VL = 63, PR_SME_GET_VL = 64, PR_SET_VMA = 0x53564d41,
    PR_SET_PTRACER = 0x59616d61);
pub const PR_SET_IO_FLUSHER: i32 = 57;
/// msgget's and semget's flags above the mode (strace's `resource_flags`), and shmget's (`shm_resource_flags`).
pub static IPC_RESOURCE_FLAGS: Names = names!("": IPC_CREAT, IPC_EXCL, IPC_NOWAIT);
pub static SHM_RESOURCE_FLAGS: Names = names!("": IPC_CREAT, IPC_EXCL, SHM_HUGETLB = 0o4000,
    SHM_NORESERVE = 0o10000);
pub static MSGCTL_COMMANDS: Names = names!("MSG_???": IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, MSG_STAT = 11,
    MSG_INFO = 12, MSG_STAT_ANY = 13);
pub static SEMCTL_COMMANDS: Names = names!("SEM_???": IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, GETPID = 11,
    GETVAL = 12, GETALL = 13, GETNCNT = 14, GETZCNT = 15, SETVAL = 16, SETALL = 17, SEM_STAT = 18, SEM_INFO = 19,
    SEM_STAT_ANY = 20);
pub static SHMCTL_COMMANDS: Names = names!("SHM_???": IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, SHM_LOCK = 11,
    SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15);
pub static SUID_DUMP: Names = names!("SUID_DUMP_???": SUID_DUMP_DISABLE = 0, SUID_DUMP_USER = 1,
    SUID_DUMP_ROOT = 2);
pub static KCMP_TYPES: Names = names!("KCMP_???": KCMP_FILE = 0, KCMP_VM = 1, KCMP_FILES = 2, KCMP_FS = 3,
    KCMP_SIGHAND = 4, KCMP_IO = 5, KCMP_SYSVSEM = 6, KCMP_EPOLL_TFD = 7);
/// personality's execution domains (the low byte; strace's `personality_types` names only the ones without flags).
pub static PERSONALITY_TYPES: Names = names!("PER_???": PER_LINUX = 0, PER_BSD = 6, PER_LINUX32 = 8,
    PER_RISCOS = 0xc, PER_OSF4 = 0xf, PER_HPUX = 0x10);
pub static PERSONALITY_FLAGS: Names = names!("": UNAME26 = 0x0020000, ADDR_NO_RANDOMIZE = 0x0040000,
    FDPIC_FUNCPTRS = 0x0080000, MMAP_PAGE_ZERO = 0x0100000, ADDR_COMPAT_LAYOUT = 0x0200000,
    READ_IMPLIES_EXEC = 0x0400000, ADDR_LIMIT_32BIT = 0x0800000, SHORT_INODE = 0x1000000,
    WHOLE_SECONDS = 0x2000000, STICKY_TIMEOUTS = 0x4000000, ADDR_LIMIT_3GB = 0x8000000);
pub static SIGPROCMASK_HOW: Names = names!("SIG_???": SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK);
pub static MADVICE: Names = names!("MADV_???": MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
    MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_MERGEABLE, MADV_UNMERGEABLE,
    MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLD,
    MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_DONTNEED_LOCKED = 24, MADV_COLLAPSE = 25,
    MADV_HWPOISON, MADV_SOFT_OFFLINE = 101);
pub static WAIT_OPTIONS: Names = names!("W???": WNOHANG, WSTOPPED, WEXITED, WCONTINUED, WNOWAIT, __WNOTHREAD,
    __WALL, __WCLONE);
pub static WAITID_TYPES: Names = names!("P_???": P_ALL, P_PID, P_PGID, P_PIDFD);
pub static SHUTDOWN_HOW: Names = names!("SHUT_???": SHUT_RD, SHUT_WR, SHUT_RDWR);
pub static ITIMER_WHICH: Names = names!("ITIMER_???": ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF);
pub static MSG_FLAGS: Names = names!("MSG_???": MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_PROBE = 0x10,
    MSG_TRUNC, MSG_DONTWAIT, MSG_EOR, MSG_WAITALL, MSG_FIN, MSG_SYN, MSG_CONFIRM, MSG_RST, MSG_ERRQUEUE,
    MSG_NOSIGNAL, MSG_MORE, MSG_WAITFORONE, MSG_SENDPAGE_NOTLAST = 0x20000, MSG_BATCH = 0x40000, MSG_ZEROCOPY,
    MSG_FASTOPEN, MSG_CMSG_CLOEXEC);
/// The flags of clone(2); the low byte is the exit signal.
pub static CLONE_FLAGS: Names = names!("CLONE_???": CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PIDFD,
    CLONE_PTRACE, CLONE_VFORK, CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS,
    CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID,
    CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO);
/// clone3's flags: clone's, and the two only clone3 takes (above 32 bits).
pub static CLONE3_FLAGS: Names = Names {
    unknown: "CLONE_???",
    values: &{
        let mut all = [(0u64, ""); 26];
        assert!(CLONE_FLAGS.values.len() == 24, "every entry of CLONE3_FLAGS is filled");
        let mut i = 0;
        while i < CLONE_FLAGS.values.len() {
            all[i] = CLONE_FLAGS.values[i];
            i += 1;
        }
        all[24] = (0x1_0000_0000, "CLONE_CLEAR_SIGHAND");
        all[25] = (0x2_0000_0000, "CLONE_INTO_CGROUP");
        all
    },
};
pub static STATX_SYNC_TYPES: Names = names!("": AT_STATX_SYNC_AS_STAT = 0, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC);
/// The composite masks first: they take their bits.
pub static STATX_MASK: Names = names!("STATX_???": STATX_ALL, STATX_BASIC_STATS, STATX_TYPE, STATX_MODE,
    STATX_NLINK, STATX_UID, STATX_GID, STATX_ATIME, STATX_MTIME, STATX_CTIME, STATX_INO, STATX_SIZE, STATX_BLOCKS,
    STATX_BTIME, STATX_MNT_ID, STATX_DIOALIGN);
pub static STATX_ATTRIBUTES: Names = names!("STATX_ATTR_???": STATX_ATTR_COMPRESSED = 0x4,
    STATX_ATTR_IMMUTABLE = 0x10, STATX_ATTR_APPEND = 0x20, STATX_ATTR_NODUMP = 0x40, STATX_ATTR_ENCRYPTED = 0x800,
    STATX_ATTR_AUTOMOUNT = 0x1000, STATX_ATTR_MOUNT_ROOT = 0x2000, STATX_ATTR_VERITY = 0x100000,
    STATX_ATTR_DAX = 0x200000);
pub static FLOCK_OPS: Names = names!("LOCK_???": LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN);
pub static MREMAP_FLAGS: Names = names!("MREMAP_???": MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP);
pub static MSYNC_FLAGS: Names = names!("MS_???": MS_ASYNC, MS_SYNC, MS_INVALIDATE);
pub static CLOSE_RANGE_FLAGS: Names = names!("CLOSE_RANGE_???": CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC);
pub static RENAME_FLAGS: Names = names!("RENAME_???": RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT);
pub static FALLOCATE_MODES: Names = names!("FALLOC_FL_???": FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE,
    FALLOC_FL_NO_HIDE_STALE = 4, FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_ZERO_RANGE, FALLOC_FL_INSERT_RANGE,
    FALLOC_FL_UNSHARE_RANGE);
pub static MLOCKALL_FLAGS: Names = names!("MCL_???": MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT);
pub static PRIORITY_WHICH: Names = names!("PRIO_???": PRIO_PROCESS, PRIO_PGRP, PRIO_USER);
pub static FADVICE: Names = names!("POSIX_FADV_???": POSIX_FADV_NORMAL, POSIX_FADV_RANDOM, POSIX_FADV_SEQUENTIAL,
    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE);
pub static PIDFD_FLAGS: Names = names!("PIDFD_???": PIDFD_NONBLOCK);
pub static INOTIFY_MASK: Names = names!("IN_???": IN_ACCESS, IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE,
    IN_OPEN, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT,
    IN_Q_OVERFLOW, IN_IGNORED, IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_CREATE, IN_MASK_ADD, IN_ISDIR,
    IN_ONESHOT);
