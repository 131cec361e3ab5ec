//! The tcp family (tracer-ebpf/src/tcp.rs): TCP connections followed from socket state changes, the owner of an
//! incoming one from accept(), resets from the tcp tracepoints. `tracer conns` composes it.
//!
//! Its layout: the net family's (the fd → sock walk, `sock:inet_sock_set_state`'s local end) and its own:
//! the state change's remote end and the reset tracepoints' `skaddr` from their format files, `sock.sk_err` and
//! `tcp_sock.bytes_acked`/`bytes_received` from BTF. The reset tracepoints are attached when this kernel has them.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use aya::EbpfLoader;

use crate::{
    bpf::{KernelGlobals, Probes, btf_offset, btf_sized_offset},
    btf::kernel_btf,
    probes::{
        Family,
        net::{NetLayout, watch_ports},
    },
    tracefs,
};

/// The reset tracepoints (Linux 4.16+), attached when present.
const RESETS: [(&str, &str); 2] = [("tcp_reset_received", "tcp_receive_reset"), ("tcp_reset_sent", "tcp_send_reset")];

pub struct TcpLayout {
    globals: KernelGlobals,
    /// The reset tracepoints this kernel has.
    resets: Vec<(&'static str, &'static str)>,
}

impl TcpLayout {
    pub fn read(tracefs: &Path) -> anyhow::Result<TcpLayout> {
        let btf = &*kernel_btf()?;
        let sss = tracefs::read_format(tracefs, "sock", "inet_sock_set_state")?;
        let mut globals = vec![
            ("TCP_SSS_DPORT_OFFSET", sss.offset_of("dport")?),
            ("TCP_SSS_DADDR_OFFSET", sss.offset_of("daddr")?),
            ("TCP_SSS_DADDR_V6_OFFSET", sss.offset_of("daddr_v6")?),
            ("TCP_SK_ERR_OFFSET", btf_sized_offset(btf, "sock", "sk_err", 4)?),
            // `sk_flags` is `__sk_common.skc_flags`.
            (
                "TCP_SK_FLAGS_OFFSET",
                btf_offset(btf, "sock", "__sk_common")? + btf_sized_offset(btf, "sock_common", "skc_flags", 8)?,
            ),
            ("TCP_BYTES_ACKED_OFFSET", btf_sized_offset(btf, "tcp_sock", "bytes_acked", 8)?),
            ("TCP_BYTES_RECEIVED_OFFSET", btf_sized_offset(btf, "tcp_sock", "bytes_received", 8)?),
        ];
        let mut resets = Vec::new();
        for ((program, event), global) in
            RESETS.into_iter().zip(["TCP_RECEIVE_RESET_SKADDR_OFFSET", "TCP_SEND_RESET_SKADDR_OFFSET"])
        {
            let dir: PathBuf = tracefs.join("events/tcp").join(event);
            if !dir.exists() {
                continue;
            }
            let format = tracefs::read_format(tracefs, "tcp", event)?;
            globals.push((global, format.offset_of("skaddr")?));
            resets.push((program, event));
        }
        Ok(TcpLayout { globals: KernelGlobals::new(globals), resets })
    }
}

/// What `tracer conns` filters on in the kernel.
pub struct TcpFilter {
    /// Either end on one of these ports; empty: every port.
    pub ports: Vec<u16>,
    /// `want::IPV4 | want::IPV6`.
    pub families: u8,
}

pub struct TcpProbes {
    net: NetLayout,
    layout: TcpLayout,
    filter: TcpFilter,
    port_filter: u8,
}

impl TcpProbes {
    pub fn new(tracefs: &Path, filter: TcpFilter) -> anyhow::Result<TcpProbes> {
        let net = NetLayout::read(tracefs).context("finding sockets in this kernel")?;
        let layout = TcpLayout::read(tracefs).context("finding TCP connections in this kernel")?;
        let port_filter = u8::from(!filter.ports.is_empty());
        Ok(TcpProbes { net, layout, filter, port_filter })
    }
}

impl Family for TcpProbes {
    fn configure<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        self.net.globals.apply(loader);
        self.layout.globals.apply(loader);
        loader.override_global("NET_PORT_FILTER", &self.port_filter, true).override_global(
            "NET_FAMILIES",
            &self.filter.families,
            true,
        );
    }

    /// The watched ports first; then accept() and the resets, which only mark what the state changes follow;
    /// the state changes last.
    fn attach(&self, probes: &mut Probes) -> anyhow::Result<()> {
        watch_ports(probes, &self.filter.ports)?;
        probes.attach_tracepoint("tcp_accept_exit", "syscalls", "sys_exit_accept4")?;
        probes.attach_tracepoint("tcp_accept_exit", "syscalls", "sys_exit_accept")?;
        for &(program, event) in &self.layout.resets {
            probes.attach_tracepoint(program, "tcp", event)?;
        }
        probes.attach_tracepoint("tcp_state", "sock", "inet_sock_set_state")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_kernel() {
        let Ok(tracefs) = tracefs::ensure_mounted() else { return };
        let layout = TcpLayout::read(&tracefs).unwrap();
        assert_eq!(layout.globals.get("TCP_SSS_DPORT_OFFSET"), Some(26));
        assert_ne!(layout.globals.get("TCP_BYTES_ACKED_OFFSET"), Some(0));
        assert_eq!(layout.resets.len(), 2);
    }
}
