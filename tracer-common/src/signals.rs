use crate::event::EventHeader;

/// A signal generated for a traced target (`signal:signal_generate`). The header is the sender (current task).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalEvent {
    pub header: EventHeader,
    pub signo: i32,
    /// `si_code` (SI_USER = 0, SI_KERNEL = 0x80, SI_TKILL = -6, fault codes > 0).
    pub code: i32,
    pub target_pid: u32,
    pub target_tid: u32,
    /// `TRACE_SIGNAL_*`: 0 delivered, 1 ignored, 2 already pending, 3 overflow, 4 lose info.
    pub result: i32,
    /// Non-zero when sent to the whole thread group.
    pub group: i32,
    pub target_comm: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<SignalEvent>() == 40 + 24 + 16);
