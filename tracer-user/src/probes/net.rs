//! The net family (tracer-ebpf/src/net.rs): binds and listens from their syscalls, listening sockets starting and
//! ending from socket state changes, and the filters on them (ports, address families, protocols). `tracer binds`
//! composes all of it, `tracer monitor` the state changes (and the syscall hooks with `--binds`).
//!
//! Its layout: struct offsets from BTF to walk from an fd to its socket (aya-ebpf emits no CO-RE relocations), and
//! `sock:inet_sock_set_state`'s field offsets from its format file. Handed to the programs as load-time globals.

use std::path::Path;

use anyhow::{Context as _, bail};
use aya::{
    EbpfLoader,
    maps::{Array, MapData},
};

use crate::{
    bpf::{KernelGlobals, Probes, btf_offset, btf_sized_offset},
    btf::{Btf, BtfError, kernel_btf},
    probes::{Family, fd_table_globals},
    tracefs,
};

/// This family's names for the fd table's offsets (see `fd_table_globals`).
pub struct NetLayout {
    pub globals: KernelGlobals,
}

/// A `sock_common` bitfield as the probes read it: `byte offset << 16 | bit shift << 8 | mask`; 0 (read as
/// "not set") when the field is missing or spans bytes.
fn packed_bits(btf: &Btf, base: u32, member: &str) -> u32 {
    match btf.member("sock_common", member) {
        Err(BtfError::Bitfield { bit_offset, bits, .. }) if bits > 0 && bit_offset % 8 + u64::from(bits) <= 8 => {
            let Ok(byte) = u32::try_from(bit_offset / 8) else { return 0 };
            (base + byte) << 16 | ((bit_offset % 8) as u32) << 8 | ((1u32 << bits) - 1)
        }
        // A whole byte on some kernel: the low bits hold it.
        Ok(m) if m.size == 1 => (base + m.offset) << 16 | 0xff,
        _ => 0,
    }
}

impl NetLayout {
    pub fn read(tracefs: &Path) -> anyhow::Result<NetLayout> {
        let btf = &*kernel_btf()?;
        let off = |st: &str, member: &str| btf_offset(btf, st, member);
        let sized = |st: &str, member: &str, size: u32| btf_sized_offset(btf, st, member, size);
        let common = off("sock", "__sk_common")?;
        let in_common =
            |member: &str, size: u32| -> anyhow::Result<u32> { Ok(common + sized("sock_common", member, size)?) };
        // SOCK_INODE(): the inode is allocated right after the socket, in `struct socket_alloc`.
        let socket_ino = (off("socket_alloc", "vfs_inode")? + sized("inode", "i_ino", 8)?)
            .checked_sub(off("socket_alloc", "socket")?);
        let Some(socket_ino) = socket_ino else { bail!("BTF: socket_alloc has its socket after its inode") };

        let sss = tracefs::read_format(tracefs, "sock", "inet_sock_set_state")?;
        let mut globals = fd_table_globals(btf)?.to_vec();
        globals.extend([
            ("NET_FILE_PRIVATE_DATA_OFFSET", off("file", "private_data")?),
            ("NET_SOCKET_TYPE_OFFSET", sized("socket", "type", 2)?),
            ("NET_SOCKET_FILE_OFFSET", off("socket", "file")?),
            ("NET_SOCKET_SK_OFFSET", off("socket", "sk")?),
            ("NET_SOCKET_INO_OFFSET", socket_ino),
            ("NET_SK_FAMILY_OFFSET", in_common("skc_family", 2)?),
            ("NET_SK_NUM_OFFSET", in_common("skc_num", 2)?),
            ("NET_SK_STATE_OFFSET", in_common("skc_state", 1)?),
            ("NET_SK_RCV_SADDR_OFFSET", in_common("skc_rcv_saddr", 4)?),
            ("NET_SK_V6_RCV_SADDR_OFFSET", in_common("skc_v6_rcv_saddr", 16)?),
            ("NET_SK_PROTOCOL_OFFSET", sized("sock", "sk_protocol", 2)?),
            ("NET_SK_SOCKET_OFFSET", off("sock", "sk_socket")?),
            // `possible_net_t` holds the one `struct net *` (a kernel without CONFIG_NET_NS has one namespace).
            ("NET_SK_NET_OFFSET", in_common("skc_net", 8)?),
            ("NET_NET_NS_INUM_OFFSET", off("net", "ns")? + sized("ns_common", "inum", 4)?),
            ("NET_SK_REUSE_BITS", packed_bits(btf, common, "skc_reuse")),
            ("NET_SK_REUSEPORT_BITS", packed_bits(btf, common, "skc_reuseport")),
            ("NET_SK_IPV6ONLY_BITS", packed_bits(btf, common, "skc_ipv6only")),
            ("NET_SSS_SKADDR_OFFSET", sss.offset_of("skaddr")?),
            ("NET_SSS_OLDSTATE_OFFSET", sss.offset_of("oldstate")?),
            ("NET_SSS_NEWSTATE_OFFSET", sss.offset_of("newstate")?),
            ("NET_SSS_SPORT_OFFSET", sss.offset_of("sport")?),
            ("NET_SSS_FAMILY_OFFSET", sss.offset_of("family")?),
            ("NET_SSS_PROTOCOL_OFFSET", sss.offset_of("protocol")?),
            ("NET_SSS_SADDR_OFFSET", sss.offset_of("saddr")?),
            ("NET_SSS_SADDR_V6_OFFSET", sss.offset_of("saddr_v6")?),
        ]);
        Ok(NetLayout { globals: KernelGlobals::new(globals) })
    }
}

/// What `tracer binds` filters on in the kernel.
struct Filter {
    /// Watched ports (`NET_PORTS`); empty: every port.
    ports: Vec<u16>,
    port_filter: u8,
    families: u8,
    protocols: u8,
}

/// The net probes: socket state changes, and the bind and listen syscalls when `syscalls`.
pub struct NetProbes {
    layout: NetLayout,
    syscalls: bool,
    filter: Option<Filter>,
}

impl NetProbes {
    /// Listening sockets starting and ending, from socket state changes: nothing on the syscall path.
    pub fn new(tracefs: &Path) -> anyhow::Result<NetProbes> {
        let layout = NetLayout::read(tracefs).context("finding sockets in this kernel")?;
        Ok(NetProbes { layout, syscalls: false, filter: None })
    }

    /// The bind and listen syscalls too (their results, errors included).
    pub fn with_syscalls(mut self) -> NetProbes {
        self.syscalls = true;
        self
    }

    /// Only these ports (none: every port), address families and protocols (masks as the programs read them).
    pub fn filtered(mut self, ports: &[u16], families: u8, protocols: u8) -> NetProbes {
        let port_filter = u8::from(!ports.is_empty());
        self.filter = Some(Filter { ports: ports.to_vec(), port_filter, families, protocols });
        self
    }
}

impl Family for NetProbes {
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.layout.globals.apply(loader);
        if let Some(filter) = &self.filter {
            loader
                .override_global("NET_PORT_FILTER", &filter.port_filter, true)
                .override_global("NET_FAMILIES", &filter.families, true)
                .override_global("NET_PROTOCOLS", &filter.protocols, true);
        }
    }

    /// The watched ports first; exits before enters, so that no call is entered without its exit being watched;
    /// the state changes last.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        if let Some(filter) = &self.filter {
            watch_ports(probes, &filter.ports)?;
        }
        if self.syscalls {
            probes.attach_tracepoint("net_bind_exit", "syscalls", "sys_exit_bind")?;
            probes.attach_tracepoint("net_bind_enter", "syscalls", "sys_enter_bind")?;
            probes.attach_tracepoint("net_listen_exit", "syscalls", "sys_exit_listen")?;
            probes.attach_tracepoint("net_listen_enter", "syscalls", "sys_enter_listen")?;
        }
        probes.attach_tracepoint("net_sock_state", "sock", "inet_sock_set_state")?;
        Ok(())
    }
}

/// Marks ports as watched in the `NET_PORTS` array.
pub(super) fn watch_ports(probes: &mut Probes, ports: &[u16]) -> anyhow::Result<()> {
    let mut map: Array<&mut MapData, u8> = Array::try_from(probes.map_mut("NET_PORTS")?)?;
    for &port in ports {
        map.set(u32::from(port), 1, 0).with_context(|| format!("watching port {port}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_kernel() {
        let Ok(tracefs) = tracefs::ensure_mounted() else { return };
        let start = std::time::Instant::now();
        let layout = NetLayout::read(&tracefs).unwrap();
        eprintln!("net layout read in {:?}", start.elapsed());
        // Stable for years: the set_state record and sock_common's first fields.
        assert_eq!(layout.globals.get("NET_SSS_SPORT_OFFSET"), Some(24));
        assert_eq!(layout.globals.get("NET_SK_NUM_OFFSET"), Some(14));
        assert_eq!(layout.globals.get("NET_SK_FAMILY_OFFSET"), Some(16));
        assert_ne!(layout.globals.get("NET_SK_REUSE_BITS"), Some(0));
        assert_ne!(layout.globals.get("NET_SK_REUSEPORT_BITS"), Some(0));
    }
}
