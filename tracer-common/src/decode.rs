//! Ring-buffer record → typed event. Every record is length-checked against its kind before it is read;
//! malformed input gives a [`DecodeError`], never a panic (fuzzed by `tracer-user/fuzz`).

use core::mem::size_of;

use crate::{
    event::{EventHeader, kind},
    process::ProcessEvent,
    signals::SignalEvent,
    syscalls::{CAPTURE_SLOTS, DATA_CAP, SyscallDataEvent, SyscallEvent},
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {len} bytes is shorter than an event header ({need} bytes)")]
    ShortHeader { len: usize, need: usize },
    #[error("record of kind {kind} has {len} bytes, expected at least {need}")]
    Truncated { kind: u16, len: usize, need: usize },
    #[error("unknown event kind {0}")]
    UnknownKind(u16),
    #[error("capture slot {slot} claims {len} bytes, more than the {cap} captured")]
    BadDataLength { slot: usize, len: u16, cap: usize },
    #[error("file name claims {len} bytes, more than the {cap} captured")]
    BadFilenameLength { len: u16, cap: usize },
    #[error("arguments claim {len} bytes, more than the {cap} captured")]
    BadArgvLength { len: u16, cap: usize },
}

/// A decoded record, borrowing nothing from the ring buffer. New families add variants: consumers in other
/// crates must handle the ones they do not expect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    Syscall(SyscallRecord),
    /// Boxed: rare, and five times the size of the others.
    Process(std::boxed::Box<ProcessEvent>),
    Signal(SignalEvent),
}

/// A syscall with whatever argument bytes the kernel copied (empty slots when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRecord {
    pub event: SyscallEvent,
    pub data: [std::vec::Vec<u8>; CAPTURE_SLOTS],
}

impl Event {
    pub fn header(&self) -> &EventHeader {
        match self {
            Event::Syscall(s) => &s.event.header,
            Event::Process(p) => &p.header,
            Event::Signal(s) => &s.header,
        }
    }
}

/// Reads a `T` from the start of `bytes`, which the caller has checked is long enough.
///
/// # Safety
/// `T` must be a `#[repr(C)]` type made only of integers and byte arrays (every bit pattern valid).
unsafe fn read_pod<T: Copy>(bytes: &[u8]) -> T {
    debug_assert!(bytes.len() >= size_of::<T>());
    // SAFETY: length checked by the caller; read_unaligned has no alignment requirement; T accepts any bits.
    unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) }
}

fn need(kind: u16, bytes: &[u8], need: usize) -> Result<(), DecodeError> {
    if bytes.len() < need {
        return Err(DecodeError::Truncated { kind, len: bytes.len(), need });
    }
    Ok(())
}

pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    if bytes.len() < size_of::<EventHeader>() {
        return Err(DecodeError::ShortHeader { len: bytes.len(), need: size_of::<EventHeader>() });
    }
    let kind = u16::from_ne_bytes([bytes[0], bytes[1]]);
    match kind {
        kind::SYSCALL => {
            need(kind, bytes, size_of::<SyscallEvent>())?;
            // SAFETY: length checked; SyscallEvent is plain data.
            let event: SyscallEvent = unsafe { read_pod(bytes) };
            if let Some(slot) = event.data_len.iter().position(|&len| len != 0) {
                return Err(DecodeError::BadDataLength { slot, len: event.data_len[slot], cap: 0 });
            }
            Ok(Event::Syscall(SyscallRecord { event, data: Default::default() }))
        }
        kind::SYSCALL_DATA => {
            need(kind, bytes, size_of::<SyscallDataEvent>())?;
            // SAFETY: length checked; SyscallDataEvent is plain data.
            let full: SyscallDataEvent = unsafe { read_pod(bytes) };
            let mut data: [std::vec::Vec<u8>; CAPTURE_SLOTS] = Default::default();
            for (slot, out) in data.iter_mut().enumerate() {
                let len = full.event.data_len[slot];
                if usize::from(len) > DATA_CAP {
                    return Err(DecodeError::BadDataLength { slot, len, cap: DATA_CAP });
                }
                out.extend_from_slice(&full.data[slot][..usize::from(len)]);
            }
            Ok(Event::Syscall(SyscallRecord { event: full.event, data }))
        }
        kind::PROCESS => {
            need(kind, bytes, size_of::<ProcessEvent>())?;
            // SAFETY: length checked; ProcessEvent is plain data.
            let event: ProcessEvent = unsafe { read_pod(bytes) };
            if usize::from(event.filename_len) > event.filename.len() {
                return Err(DecodeError::BadFilenameLength { len: event.filename_len, cap: event.filename.len() });
            }
            if usize::from(event.argv_len) > event.argv.len() {
                return Err(DecodeError::BadArgvLength { len: event.argv_len, cap: event.argv.len() });
            }
            Ok(Event::Process(std::boxed::Box::new(event)))
        }
        kind::SIGNAL => {
            need(kind, bytes, size_of::<SignalEvent>())?;
            // SAFETY: length checked; SignalEvent is plain data.
            Ok(Event::Signal(unsafe { read_pod(bytes) }))
        }
        other => Err(DecodeError::UnknownKind(other)),
    }
}

/// The bytes of a fixed-size C string up to its first NUL.
pub fn c_bytes(raw: &[u8]) -> &[u8] {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    &raw[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_bytes<T: Copy>(value: &T) -> std::vec::Vec<u8> {
        // SAFETY: reading the bytes of a plain-data value for the test.
        unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
    }

    fn syscall(kind: u16) -> SyscallEvent {
        SyscallEvent {
            header: EventHeader { kind, pid: 7, tid: 8, ts_ns: 99, ..Default::default() },
            nr: 110,
            ret: 42,
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_a_syscall() {
        let event = syscall(kind::SYSCALL);
        let Event::Syscall(record) = decode(&as_bytes(&event)).unwrap() else { panic!("not a syscall") };
        assert_eq!(record.event, event);
        assert!(record.data.iter().all(|d| d.is_empty()));
    }

    #[test]
    fn round_trips_captured_data() {
        let mut full = SyscallDataEvent { event: syscall(kind::SYSCALL_DATA), data: [[0; DATA_CAP]; CAPTURE_SLOTS] };
        full.data[0][..5].copy_from_slice(b"/etc\0");
        full.event.data_len = [4, 0];
        let Event::Syscall(record) = decode(&as_bytes(&full)).unwrap() else { panic!("not a syscall") };
        assert_eq!(record.data[0], b"/etc");
        assert!(record.data[1].is_empty());
    }

    #[test]
    fn rejects_short_and_unknown_records() {
        assert_eq!(decode(&[1, 0, 0]), Err(DecodeError::ShortHeader { len: 3, need: 40 }));
        let mut bytes = as_bytes(&syscall(kind::SYSCALL));
        bytes.truncate(100);
        assert_eq!(decode(&bytes), Err(DecodeError::Truncated { kind: kind::SYSCALL, len: 100, need: 120 }));
        let unknown = as_bytes(&syscall(999));
        assert_eq!(decode(&unknown), Err(DecodeError::UnknownKind(999)));
    }

    #[test]
    fn rejects_lengths_beyond_the_capture() {
        let mut full = SyscallDataEvent { event: syscall(kind::SYSCALL_DATA), data: [[0; DATA_CAP]; CAPTURE_SLOTS] };
        full.event.data_len = [0, 300];
        assert_eq!(decode(&as_bytes(&full)), Err(DecodeError::BadDataLength { slot: 1, len: 300, cap: DATA_CAP }));
        let mut plain = syscall(kind::SYSCALL);
        plain.data_len = [1, 0];
        assert!(matches!(decode(&as_bytes(&plain)), Err(DecodeError::BadDataLength { .. })));
    }
}
