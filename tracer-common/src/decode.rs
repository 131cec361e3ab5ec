//! Ring-buffer record → typed event. Every record is length-checked against its kind before it is read;
//! malformed input gives a [`DecodeError`], never a panic (fuzzed by `tracer-user/fuzz`).

use core::mem::size_of;

use crate::{
    event::{EventHeader, kind},
    files::{OpenEvent, PATH_CAP, RenameEvent},
    net::{BindEvent, SockEvent},
    process::ProcessEvent,
    signals::{OomVictimEvent, SignalDeliverEvent, SignalEvent, SignalSendFailedEvent},
    syscalls::{
        CAPTURE_SLOTS, DATA_CAP, FD_SLOTS, FdIdentity, LONG_PATH_SHOWN, SyscallDataEvent, SyscallDataFdsEvent,
        SyscallEvent, SyscallFdsEvent, SyscallLongEvent,
    },
    tcp::ConnEvent,
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
    #[error("long capture names slot {0}, which does not exist")]
    BadLongSlot(u16),
    #[error("file name claims {len} bytes, more than the {cap} captured")]
    BadFilenameLength { len: u16, cap: usize },
    #[error("arguments claim {len} bytes, more than the {cap} captured")]
    BadArgvLength { len: u16, cap: usize },
    #[error("opened path claims {len} bytes, more than the {cap} captured")]
    BadPathLength { len: u16, cap: usize },
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
    /// A thread taking a signal.
    SignalDeliver(SignalDeliverEvent),
    /// A kill-family syscall that failed: no signal was generated.
    SignalSendFailed(SignalSendFailedEvent),
    /// The OOM killer's victim, marked right after its SIGKILL.
    OomVictim(OomVictimEvent),
    /// A bind() that returned.
    Bind(BindEvent),
    /// A listen() that returned.
    Listen(SockEvent),
    /// A TCP socket that left LISTEN, or entered it outside listen() (io_uring).
    SockState(SockEvent),
    /// An open-family call that matched `tracer opens`' watch. Boxed: it carries the path.
    Open(std::boxed::Box<OpenEvent>),
    /// A TCP connect's result, an accepted connection, or a connection's end (`header.kind` says which).
    Conn(ConnEvent),
    /// A rename, link or symlink whose new name may be a watched path. Boxed: it carries two paths.
    Rename(std::boxed::Box<RenameEvent>),
}

/// A syscall with whatever argument bytes the kernel copied (empty slots when none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallRecord {
    pub event: SyscallEvent,
    pub data: [std::vec::Vec<u8>; CAPTURE_SLOTS],
    /// `-y`: the identity of each fd the call names, read in the kernel at the call (`SYSCALL_*FDS` kinds).
    /// Boxed: with `-yy`'s socket ends it is over 200 bytes, which every plain syscall record would carry.
    pub fds: Option<std::boxed::Box<[FdIdentity; FD_SLOTS]>>,
}

impl Event {
    pub fn header(&self) -> &EventHeader {
        match self {
            Event::Syscall(s) => &s.event.header,
            Event::Process(p) => &p.header,
            Event::Signal(s) => &s.header,
            Event::SignalDeliver(s) => &s.header,
            Event::SignalSendFailed(s) => &s.header,
            Event::OomVictim(o) => &o.header,
            Event::Bind(b) => &b.header,
            Event::Listen(s) | Event::SockState(s) => &s.header,
            Event::Open(o) => &o.header,
            Event::Conn(c) => &c.header,
            Event::Rename(r) => &r.header,
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

/// Where a syscall kind's parts are in its record: (record size, offset of the capture slots, offset of the fd
/// identities); `None` for a kind that is not one of the four plain syscall kinds.
fn syscall_layout(kind: u16) -> Option<(usize, Option<usize>, Option<usize>)> {
    Some(match kind {
        kind::SYSCALL => (size_of::<SyscallEvent>(), None, None),
        kind::SYSCALL_DATA => {
            (size_of::<SyscallDataEvent>(), Some(core::mem::offset_of!(SyscallDataEvent, data)), None)
        }
        kind::SYSCALL_FDS => (size_of::<SyscallFdsEvent>(), None, Some(core::mem::offset_of!(SyscallFdsEvent, fds))),
        kind::SYSCALL_DATA_FDS => (
            size_of::<SyscallDataFdsEvent>(),
            Some(core::mem::offset_of!(SyscallDataFdsEvent, data)),
            Some(core::mem::offset_of!(SyscallDataFdsEvent, fds)),
        ),
        _ => return None,
    })
}

fn record_kind(bytes: &[u8]) -> Result<u16, DecodeError> {
    if bytes.len() < size_of::<EventHeader>() {
        return Err(DecodeError::ShortHeader { len: bytes.len(), need: size_of::<EventHeader>() });
    }
    Ok(u16::from_ne_bytes([bytes[0], bytes[1]]))
}

pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let kind = record_kind(bytes)?;
    if syscall_layout(kind).is_some() {
        let mut event = Event::Syscall(SyscallRecord::default());
        decode_into(bytes, &mut event)?;
        return Ok(event);
    }
    decode_other(kind, bytes)
}

/// `decode`, into `slot`, for a reader that keeps one event from record to record: a plain syscall record (the
/// kinds read at millions a second) is written over the syscall `slot` holds, copied once straight from `bytes`,
/// its capture slots keeping their allocations; any other kind replaces `slot`. On an error `slot` holds no
/// meaningful event.
pub fn decode_into(bytes: &[u8], slot: &mut Event) -> Result<(), DecodeError> {
    let kind = record_kind(bytes)?;
    let Some((size, data_at, fds_at)) = syscall_layout(kind) else {
        *slot = decode_other(kind, bytes)?;
        return Ok(());
    };
    need(kind, bytes, size)?;
    if !matches!(slot, Event::Syscall(_)) {
        *slot = Event::Syscall(SyscallRecord::default());
    }
    let Event::Syscall(record) = slot else { unreachable!("made a syscall above") };
    // SAFETY: length checked (the whole record, of which the event is the start); SyscallEvent is plain data.
    record.event = unsafe { read_pod(bytes) };
    for (slot, out) in record.data.iter_mut().enumerate() {
        let len = record.event.data_len[slot];
        out.clear();
        match data_at {
            Some(at) if usize::from(len) <= DATA_CAP => {
                let start = at + slot * DATA_CAP;
                out.extend_from_slice(&bytes[start..start + usize::from(len)]);
            }
            Some(_) => return Err(DecodeError::BadDataLength { slot, len, cap: DATA_CAP }),
            None if len != 0 => return Err(DecodeError::BadDataLength { slot, len, cap: 0 }),
            None => {}
        }
    }
    match fds_at {
        Some(at) => {
            // SAFETY: inside the record (length checked); FdIdentity is plain data.
            let fds: [FdIdentity; FD_SLOTS] = unsafe { read_pod(&bytes[at..]) };
            match &mut record.fds {
                Some(kept) => **kept = fds,
                None => record.fds = Some(std::boxed::Box::new(fds)),
            }
        }
        None => record.fds = None,
    }
    Ok(())
}

/// Every kind but the plain syscall ones (`syscall_layout`).
fn decode_other(kind: u16, bytes: &[u8]) -> Result<Event, DecodeError> {
    match kind {
        kind::SYSCALL_LONG => {
            need(kind, bytes, size_of::<SyscallLongEvent>())?;
            // SAFETY: length checked; SyscallLongEvent is plain data.
            let full: SyscallLongEvent = unsafe { read_pod(bytes) };
            let long_slot = usize::from(full.long_slot);
            if long_slot >= CAPTURE_SLOTS {
                return Err(DecodeError::BadLongSlot(full.long_slot));
            }
            let mut data: [std::vec::Vec<u8>; CAPTURE_SLOTS] = Default::default();
            for (slot, out) in data.iter_mut().enumerate() {
                let len = full.event.data_len[slot];
                let (bytes, cap) =
                    if slot == long_slot { (&full.long[..], LONG_PATH_SHOWN) } else { (&full.other[..], DATA_CAP) };
                if usize::from(len) > cap {
                    return Err(DecodeError::BadDataLength { slot, len, cap });
                }
                out.extend_from_slice(&bytes[..usize::from(len)]);
            }
            let fds = (full.has_fds != 0).then(|| std::boxed::Box::new(full.fds));
            Ok(Event::Syscall(SyscallRecord { event: full.event, data, fds }))
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
        kind::SIGNAL_DELIVER => {
            need(kind, bytes, size_of::<SignalDeliverEvent>())?;
            // SAFETY: length checked; SignalDeliverEvent is plain data.
            Ok(Event::SignalDeliver(unsafe { read_pod(bytes) }))
        }
        kind::SIGNAL_SEND_FAILED => {
            need(kind, bytes, size_of::<SignalSendFailedEvent>())?;
            // SAFETY: length checked; SignalSendFailedEvent is plain data.
            Ok(Event::SignalSendFailed(unsafe { read_pod(bytes) }))
        }
        kind::OOM_VICTIM => {
            need(kind, bytes, size_of::<OomVictimEvent>())?;
            // SAFETY: length checked; OomVictimEvent is plain data.
            Ok(Event::OomVictim(unsafe { read_pod(bytes) }))
        }
        kind::NET_BIND => {
            need(kind, bytes, size_of::<BindEvent>())?;
            // SAFETY: length checked; BindEvent is plain data.
            Ok(Event::Bind(unsafe { read_pod(bytes) }))
        }
        kind::NET_LISTEN | kind::NET_STATE => {
            need(kind, bytes, size_of::<SockEvent>())?;
            // SAFETY: length checked; SockEvent is plain data.
            let event: SockEvent = unsafe { read_pod(bytes) };
            Ok(if kind == kind::NET_LISTEN { Event::Listen(event) } else { Event::SockState(event) })
        }
        kind::FILE_OPEN => {
            need(kind, bytes, size_of::<OpenEvent>())?;
            // SAFETY: length checked; OpenEvent is plain data.
            let event: OpenEvent = unsafe { read_pod(bytes) };
            if usize::from(event.path_len) > event.path.len() {
                return Err(DecodeError::BadPathLength { len: event.path_len, cap: event.path.len() });
            }
            Ok(Event::Open(std::boxed::Box::new(event)))
        }
        kind::FILE_RENAME => {
            need(kind, bytes, size_of::<RenameEvent>())?;
            // SAFETY: length checked; RenameEvent is plain data.
            let event: RenameEvent = unsafe { read_pod(bytes) };
            for len in [event.old_len, event.new_len] {
                if usize::from(len) > PATH_CAP {
                    return Err(DecodeError::BadPathLength { len, cap: PATH_CAP });
                }
            }
            Ok(Event::Rename(std::boxed::Box::new(event)))
        }
        kind::TCP_CONNECT | kind::TCP_ACCEPT | kind::TCP_CLOSE => {
            need(kind, bytes, size_of::<ConnEvent>())?;
            // SAFETY: length checked; ConnEvent is plain data.
            Ok(Event::Conn(unsafe { read_pod(bytes) }))
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
            header: EventHeader { kind, pid: 7, tid: 8, ts_ns: 99, cgroup_id: 4026531835, ..Default::default() },
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
        assert_eq!(record.event.header.cgroup_id, 4026531835, "the header's last field survives");
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
    fn decodes_into_a_kept_event_as_decode_does() {
        let mut with_data = SyscallDataFdsEvent {
            event: syscall(kind::SYSCALL_DATA_FDS),
            fds: Default::default(),
            data: [[7; DATA_CAP]; CAPTURE_SLOTS],
        };
        with_data.event.data_len = [5, 3];
        with_data.fds[1].fd = 9;
        let mut plain = syscall(kind::SYSCALL);
        plain.nr = 39;
        let signal =
            SignalEvent { header: EventHeader { kind: kind::SIGNAL, ..Default::default() }, ..Default::default() };
        let mut kept = Event::Signal(signal);
        // A syscall over another kind, a data record over a syscall, a plain one over it: each as decoded alone,
        // nothing of the one before left (capture bytes, fd identities).
        for bytes in [as_bytes(&with_data), as_bytes(&with_data), as_bytes(&plain), as_bytes(&signal)] {
            decode_into(&bytes, &mut kept).unwrap();
            assert_eq!(Ok(&kept), decode(&bytes).as_ref());
        }
        let mut bad = with_data;
        bad.event.data_len = [0, 300];
        let err = DecodeError::BadDataLength { slot: 1, len: 300, cap: DATA_CAP };
        assert_eq!(decode_into(&as_bytes(&bad), &mut kept), Err(err));
    }

    #[test]
    fn decodes_a_long_path_in_either_slot() {
        use crate::syscalls::LONG_PATH_CAP;
        let mut full = SyscallLongEvent {
            event: syscall(kind::SYSCALL_LONG),
            fds: [FdIdentity::default(); FD_SLOTS],
            long_slot: 1,
            has_fds: 0,
            _pad: 0,
            other: [0; DATA_CAP],
            long: [b'/'; LONG_PATH_CAP],
        };
        full.other[..4].copy_from_slice(b"/etc");
        full.event.data_len = [4, 3000];
        let Event::Syscall(record) = decode(&as_bytes(&full)).unwrap() else { panic!("not a syscall") };
        assert_eq!((record.data[0].as_slice(), record.data[1].len(), record.fds), (&b"/etc"[..], 3000, None));
        full.has_fds = 1;
        let Event::Syscall(record) = decode(&as_bytes(&full)).unwrap() else { panic!("not a syscall") };
        assert_eq!(record.fds.as_deref(), Some(&full.fds));

        full.event.data_len = [4, LONG_PATH_SHOWN as u16 + 1];
        let err = DecodeError::BadDataLength { slot: 1, len: LONG_PATH_SHOWN as u16 + 1, cap: LONG_PATH_SHOWN };
        assert_eq!(decode(&as_bytes(&full)), Err(err));
        full.event.data_len = [300, 10];
        assert_eq!(decode(&as_bytes(&full)), Err(DecodeError::BadDataLength { slot: 0, len: 300, cap: DATA_CAP }));
        full.event.data_len = [4, 10];
        full.long_slot = 2;
        assert_eq!(decode(&as_bytes(&full)), Err(DecodeError::BadLongSlot(2)));
        let mut short = as_bytes(&full);
        short.pop();
        let need = size_of::<SyscallLongEvent>();
        assert_eq!(decode(&short), Err(DecodeError::Truncated { kind: kind::SYSCALL_LONG, len: need - 1, need }));
    }

    #[test]
    fn round_trips_fd_identities() {
        let identity = FdIdentity {
            ino: 4242,
            dev: 8 << 20 | 1,
            fd: 3,
            source: crate::syscalls::fd_source::RETURN,
            state: crate::syscalls::fd_state::OPEN,
            _pad: [0; 6],
            socket: crate::syscalls::SocketEnds {
                family: crate::net::AF_INET6,
                protocol: crate::net::proto::TCP,
                local_port: 6379,
                remote_port_be: 44252u16.to_be(),
                local_v6: [1; 16],
                remote_v6: [2; 16],
                ..Default::default()
            },
        };
        let fds = [identity, FdIdentity::default(), FdIdentity::default()];
        let plain = SyscallFdsEvent { event: syscall(kind::SYSCALL_FDS), fds };
        let Event::Syscall(record) = decode(&as_bytes(&plain)).unwrap() else { panic!("not a syscall") };
        assert_eq!((record.event, record.fds.as_deref()), (plain.event, Some(&fds)));
        let mut short = as_bytes(&plain);
        short.pop();
        let need = size_of::<SyscallFdsEvent>();
        assert_eq!(decode(&short), Err(DecodeError::Truncated { kind: kind::SYSCALL_FDS, len: need - 1, need }));

        let mut full =
            SyscallDataFdsEvent { event: syscall(kind::SYSCALL_DATA_FDS), fds, data: [[0; DATA_CAP]; CAPTURE_SLOTS] };
        full.data[0][..4].copy_from_slice(b"/etc");
        full.event.data_len = [4, 0];
        let Event::Syscall(record) = decode(&as_bytes(&full)).unwrap() else { panic!("not a syscall") };
        assert_eq!((record.data[0].as_slice(), record.fds.as_deref()), (&b"/etc"[..], Some(&fds)));
        full.event.data_len = [300, 0];
        assert_eq!(decode(&as_bytes(&full)), Err(DecodeError::BadDataLength { slot: 0, len: 300, cap: DATA_CAP }));
    }

    #[test]
    fn rejects_short_and_unknown_records() {
        // One byte short of a header: the cgroup id's last byte missing.
        assert_eq!(decode(&[1; 55]), Err(DecodeError::ShortHeader { len: 55, need: crate::event::HEADER_SIZE }));
        assert_eq!(decode(&[1, 0, 0]), Err(DecodeError::ShortHeader { len: 3, need: crate::event::HEADER_SIZE }));
        let mut bytes = as_bytes(&syscall(kind::SYSCALL));
        let need = size_of::<SyscallEvent>();
        bytes.truncate(need - 20);
        assert_eq!(decode(&bytes), Err(DecodeError::Truncated { kind: kind::SYSCALL, len: need - 20, need }));
        let unknown = as_bytes(&syscall(999));
        assert_eq!(decode(&unknown), Err(DecodeError::UnknownKind(999)));
    }

    #[test]
    fn round_trips_net_events() {
        let bind = BindEvent {
            header: EventHeader { kind: kind::NET_BIND, pid: 7, tid: 8, ts_ns: 99, ..Default::default() },
            ret: -98,
            fd: 3,
            family: crate::net::AF_INET6,
            port: 8080,
            addr: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            inode: 12345,
            ..Default::default()
        };
        assert_eq!(decode(&as_bytes(&bind)), Ok(Event::Bind(bind)));
        let mut sock = SockEvent {
            header: EventHeader { kind: kind::NET_LISTEN, pid: 7, tid: 7, ..Default::default() },
            port: 80,
            backlog: 511,
            ..Default::default()
        };
        assert_eq!(decode(&as_bytes(&sock)), Ok(Event::Listen(sock)));
        sock.header.kind = kind::NET_STATE;
        assert_eq!(decode(&as_bytes(&sock)), Ok(Event::SockState(sock)));
        let mut short = as_bytes(&bind);
        short.truncate(size_of::<BindEvent>() - 1);
        assert_eq!(
            decode(&short),
            Err(DecodeError::Truncated {
                kind: kind::NET_BIND,
                len: size_of::<BindEvent>() - 1,
                need: size_of::<BindEvent>()
            })
        );
        let mut short = as_bytes(&sock);
        // A whole header and part of the body.
        let len = crate::event::HEADER_SIZE + 2;
        short.truncate(len);
        let need = size_of::<SockEvent>();
        assert_eq!(decode(&short), Err(DecodeError::Truncated { kind: kind::NET_STATE, len, need }));
    }

    #[test]
    fn round_trips_signal_events() {
        let header = |kind| EventHeader { kind, pid: 7, tid: 8, ts_ns: 99, ..Default::default() };
        let signal = SignalEvent {
            header: header(kind::SIGNAL),
            signo: 1,
            target_pid: 9,
            target_tid: 10,
            handler: 0x5555_0000_1234,
            flags: crate::signals::flags::FROM_PROCESS,
            sifields: core::array::from_fn(|i| i as u8 + 1),
            ..Default::default()
        };
        assert_eq!(decode(&as_bytes(&signal)), Ok(Event::Signal(signal)));
        let deliver = SignalDeliverEvent {
            header: header(kind::SIGNAL_DELIVER),
            signo: 9,
            orig_signo: 1,
            flags: crate::signals::flags::GROUP_EXIT,
            sifields: core::array::from_fn(|i| i as u8 + 7),
            ..Default::default()
        };
        assert_eq!(decode(&as_bytes(&deliver)), Ok(Event::SignalDeliver(deliver)));
        let failed = SignalSendFailedEvent {
            header: header(kind::SIGNAL_SEND_FAILED),
            nr: 62,
            signo: 1,
            ret: -3,
            args: [999_999, 1, 0, 0],
            uid: 65534,
            _pad: 0,
        };
        assert_eq!(decode(&as_bytes(&failed)), Ok(Event::SignalSendFailed(failed)));
        let oom = crate::signals::OomVictimEvent { header: header(kind::OOM_VICTIM), victim_tid: 4321, _pad: 0 };
        assert_eq!(decode(&as_bytes(&oom)), Ok(Event::OomVictim(oom)));
        for (kind, mut bytes) in [
            (kind::SIGNAL, as_bytes(&signal)),
            (kind::SIGNAL_DELIVER, as_bytes(&deliver)),
            (kind::SIGNAL_SEND_FAILED, as_bytes(&failed)),
            (kind::OOM_VICTIM, as_bytes(&oom)),
        ] {
            let need = bytes.len();
            bytes.pop();
            assert_eq!(decode(&bytes), Err(DecodeError::Truncated { kind, len: need - 1, need }));
        }
    }

    #[test]
    fn round_trips_open_events() {
        let mut open = crate::files::OpenEvent {
            header: EventHeader { kind: kind::FILE_OPEN, pid: 7, tid: 8, ts_ns: 99, ..Default::default() },
            ret: 3,
            flags: 0o2000000,
            dev: 8 << 20 | 1,
            ino: 4242,
            dfd: -100,
            status: crate::files::status::ENTER_SEEN | crate::files::status::MATCH_FILE,
            path_len: 8,
            ..Default::default()
        };
        open.path[..8].copy_from_slice(b"/etc/foo");
        assert_eq!(decode(&as_bytes(&open)), Ok(Event::Open(std::boxed::Box::new(open))));
        let mut short = as_bytes(&open);
        short.pop();
        let need = size_of::<crate::files::OpenEvent>();
        assert_eq!(decode(&short), Err(DecodeError::Truncated { kind: kind::FILE_OPEN, len: need - 1, need }));
        open.path_len = 257;
        assert_eq!(decode(&as_bytes(&open)), Err(DecodeError::BadPathLength { len: 257, cap: 256 }));
    }

    #[test]
    fn round_trips_connection_events() {
        let mut conn = crate::tcp::ConnEvent {
            header: EventHeader { kind: kind::TCP_CLOSE, pid: 7, tid: 8, ts_ns: 99, ..Default::default() },
            tx_bytes: 1000,
            rx_bytes: 2000,
            ..Default::default()
        };
        conn.conn.ends.lport = 6379;
        assert_eq!(decode(&as_bytes(&conn)), Ok(Event::Conn(conn)));
        let mut short = as_bytes(&conn);
        short.pop();
        let need = size_of::<crate::tcp::ConnEvent>();
        assert_eq!(decode(&short), Err(DecodeError::Truncated { kind: kind::TCP_CLOSE, len: need - 1, need }));
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
