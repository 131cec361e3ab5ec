//! Event types shared by tracer's eBPF programs and its user-space loader.
//!
//! Everything that crosses the kernel boundary is `#[repr(C)]`, `Copy`, made of fixed-width integers and byte
//! arrays, with explicit padding and a size assertion. Every record starts with an [`EventHeader`] whose `kind`
//! is a stable number, never reused (see [`kind`]).
#![no_std]

#[cfg(feature = "user")]
extern crate std;

pub mod event;
pub mod files;
pub mod monitor;
pub mod net;
pub mod process;
pub mod signals;
pub mod syscalls;
pub mod tcp;

#[cfg(feature = "user")]
pub mod decode;

pub use event::{EventHeader, kind};

// SAFETY (all impls): `#[repr(C)]` plain data, no padding bytes left implicit, every bit pattern valid.
#[cfg(feature = "user")]
mod pod {
    use crate::{
        event::EventHeader,
        files::{FileKey, OpenInflight},
        monitor::{CallCount, ProcCache, ProcIdentity, ProcSyscall, RateBucket},
        signals::SendSpec,
        syscalls::{FdSources, Inflight, SyscallSpec, SyscallStat},
    };
    unsafe impl aya::Pod for EventHeader {}
    unsafe impl aya::Pod for SyscallSpec {}
    unsafe impl aya::Pod for FdSources {}
    unsafe impl aya::Pod for Inflight {}
    unsafe impl aya::Pod for SyscallStat {}
    unsafe impl aya::Pod for SendSpec {}
    unsafe impl aya::Pod for OpenInflight {}
    unsafe impl aya::Pod for FileKey {}
    unsafe impl aya::Pod for RateBucket {}
    unsafe impl aya::Pod for CallCount {}
    unsafe impl aya::Pod for ProcSyscall {}
    unsafe impl aya::Pod for ProcIdentity {}
    unsafe impl aya::Pod for ProcCache {}
}
