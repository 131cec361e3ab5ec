//! Fuzzes `tracer_common::decode::decode`: every byte string must get an `Event` or a typed `DecodeError`, never
//! a panic, and the answer must agree with the bytes it came from.
//!
//! Each input is decoded twice: as it is, and as a record built from it by [`build_record`], whose kind is one the
//! decoder knows, whose length sits near the size of that kind's record type, and whose length fields sit near
//! their caps. Raw inputs alone reach the 632-byte data records and the `data_len` / `filename_len` checks only
//! slowly (libFuzzer grows input lengths gradually and must guess the kind number); built records reach them on
//! the first run.
#![no_main]

use core::mem::{offset_of, size_of};

use libfuzzer_sys::fuzz_target;
use tracer_common::{
    EventHeader,
    decode::{DecodeError, Event, c_bytes, decode},
    files::{OpenEvent, PATH_CAP, RenameEvent},
    kind,
    net::{BindEvent, SockEvent},
    process::ProcessEvent,
    signals::{OomVictimEvent, SignalDeliverEvent, SignalEvent, SignalSendFailedEvent},
    syscalls::{
        CAPTURE_SLOTS, DATA_CAP, LONG_PATH_SHOWN, SyscallDataEvent, SyscallDataFdsEvent, SyscallEvent, SyscallFdsEvent,
        SyscallLongEvent,
    },
    tcp::ConnEvent,
};

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&build_record(data));
});

/// Size of the record type for `kind`, `None` for a kind the decoder does not know.
fn size_for(kind: u16) -> Option<usize> {
    match kind {
        kind::SYSCALL => Some(size_of::<SyscallEvent>()),
        kind::SYSCALL_DATA => Some(size_of::<SyscallDataEvent>()),
        kind::SYSCALL_FDS => Some(size_of::<SyscallFdsEvent>()),
        kind::SYSCALL_DATA_FDS => Some(size_of::<SyscallDataFdsEvent>()),
        kind::SYSCALL_LONG => Some(size_of::<SyscallLongEvent>()),
        kind::PROCESS => Some(size_of::<ProcessEvent>()),
        kind::SIGNAL => Some(size_of::<SignalEvent>()),
        kind::SIGNAL_DELIVER => Some(size_of::<SignalDeliverEvent>()),
        kind::SIGNAL_SEND_FAILED => Some(size_of::<SignalSendFailedEvent>()),
        kind::OOM_VICTIM => Some(size_of::<OomVictimEvent>()),
        kind::NET_BIND => Some(size_of::<BindEvent>()),
        kind::NET_LISTEN | kind::NET_STATE => Some(size_of::<SockEvent>()),
        kind::FILE_OPEN => Some(size_of::<OpenEvent>()),
        kind::FILE_RENAME => Some(size_of::<RenameEvent>()),
        kind::TCP_CONNECT | kind::TCP_ACCEPT | kind::TCP_CLOSE => Some(size_of::<ConnEvent>()),
        _ => None,
    }
}

/// Offset of `data_len` in a record of `kind` (a syscall kind).
fn data_len_offset(kind: u16) -> usize {
    match kind {
        kind::SYSCALL => offset_of!(SyscallEvent, data_len),
        kind::SYSCALL_DATA => offset_of!(SyscallDataEvent, event) + offset_of!(SyscallEvent, data_len),
        kind::SYSCALL_FDS => offset_of!(SyscallFdsEvent, event) + offset_of!(SyscallEvent, data_len),
        kind::SYSCALL_DATA_FDS => offset_of!(SyscallDataFdsEvent, event) + offset_of!(SyscallEvent, data_len),
        kind::SYSCALL_LONG => offset_of!(SyscallLongEvent, event) + offset_of!(SyscallEvent, data_len),
        other => panic!("kind {other} has no data_len"),
    }
}

/// The most bytes capture slot `slot` may claim in a record of `kind` (a syscall kind), whose bytes are `bytes`
/// (a `SYSCALL_LONG` record's long slot holds a whole path).
fn data_cap(kind: u16, bytes: &[u8], slot: usize) -> usize {
    match kind {
        kind::SYSCALL | kind::SYSCALL_FDS => 0,
        kind::SYSCALL_DATA | kind::SYSCALL_DATA_FDS => DATA_CAP,
        kind::SYSCALL_LONG if usize::from(read_u16(bytes, offset_of!(SyscallLongEvent, long_slot))) == slot => {
            LONG_PATH_SHOWN
        }
        kind::SYSCALL_LONG => DATA_CAP,
        other => panic!("kind {other} has no data_len"),
    }
}

fn is_syscall_kind(kind: u16) -> bool {
    matches!(kind, kind::SYSCALL | kind::SYSCALL_DATA | kind::SYSCALL_FDS | kind::SYSCALL_DATA_FDS | kind::SYSCALL_LONG)
}

const FILENAME_CAP: usize = 256;

/// Lengths picked by length selectors 248..=255: empty, around the header, and the size of each record type.
const OTHER_LENGTHS: [usize; 8] = [
    0,
    2,
    size_of::<EventHeader>() - 1,
    size_of::<EventHeader>(),
    size_of::<SyscallEvent>(),
    size_of::<SignalEvent>(),
    size_of::<ProcessEvent>(),
    size_of::<SyscallDataEvent>(),
];

/// Builds a record from fuzz input. The input's own bytes are the record (cut or zero-padded to the chosen
/// length), except for the fields the decoder validates, which are overwritten as chosen by header bytes the
/// decoder ignores:
///
/// - byte 0 (kind, low byte) chooses the kind: `b % 8` is 1..=4 for that kind, 5 for `FILE_RENAME`, 6 and 7 for
///   `SYSCALL_FDS` and `SYSCALL_DATA_FDS`, 0 for `SYSCALL_LONG` when `b & 0x40` is set and an unknown kind
///   otherwise;
/// - byte 1 (kind, high byte) chooses the length, with `S` the size of the kind's record type (120 for unknown
///   kinds): 0..=127 exactly `S`, 128..=191 `S+1..=S+64`, 192..=247 `S-1..=S-56`, 248..=255 one of
///   [`OTHER_LENGTHS`];
/// - byte 2 (flags, low byte) chooses, two bits per field, what to do with `data_len[0]` and `data_len[1]`
///   (syscall kinds), `filename_len` and `argv_len` (process) or `old_len` and `new_len` (rename): keep the input's bytes, an in-range value, a value within a few
///   of the cap, or a huge value; bytes 3 and 4 give the values for the first and second field; for
///   `SYSCALL_LONG`, bit 6 keeps the input's `long_slot`, else it is byte 5 modulo the slots.
///
/// A valid record (kind 1..=4, flags 0) therefore builds to itself.
fn build_record(data: &[u8]) -> Vec<u8> {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let kind = match byte(0) % 8 {
        0 if byte(0) & 0x40 != 0 => kind::SYSCALL_LONG,
        0 => 0x100 | u16::from(byte(0)),
        5 => kind::FILE_RENAME,
        6 => kind::SYSCALL_FDS,
        7 => kind::SYSCALL_DATA_FDS,
        k => u16::from(k),
    };
    let size = size_for(kind).unwrap_or(size_of::<SyscallEvent>());
    let len = match byte(1) {
        0..=127 => size,
        b @ 128..=191 => size + usize::from(b - 127),
        b @ 192..=247 => size.saturating_sub(usize::from(b - 191)),
        b => OTHER_LENGTHS[usize::from(b - 248)],
    };

    let mut record = vec![0u8; len];
    let copied = len.min(data.len());
    record[..copied].copy_from_slice(&data[..copied]);
    put_u16(&mut record, 0, kind);

    let modes = byte(2);
    match kind {
        kind::SYSCALL | kind::SYSCALL_DATA | kind::SYSCALL_FDS | kind::SYSCALL_DATA_FDS | kind::SYSCALL_LONG => {
            if kind == kind::SYSCALL_LONG && modes & 0x40 == 0 {
                put_u16(&mut record, offset_of!(SyscallLongEvent, long_slot), u16::from(byte(5)) % 2);
            }
            let at = data_len_offset(kind);
            for slot in 0..CAPTURE_SLOTS {
                let cap = if record.len() >= size { data_cap(kind, &record, slot) } else { DATA_CAP };
                if let Some(value) = pick_length(modes >> (2 * slot), byte(3 + slot), cap) {
                    put_u16(&mut record, at + 2 * slot, value);
                }
            }
        }
        kind::PROCESS => {
            if let Some(value) = pick_length(modes, byte(3), FILENAME_CAP) {
                put_u16(&mut record, offset_of!(ProcessEvent, filename_len), value);
            }
            if let Some(value) = pick_length(modes >> 2, byte(4), FILENAME_CAP) {
                put_u16(&mut record, offset_of!(ProcessEvent, argv_len), value);
            }
        }
        kind::FILE_RENAME => {
            if let Some(value) = pick_length(modes, byte(3), PATH_CAP) {
                put_u16(&mut record, offset_of!(RenameEvent, old_len), value);
            }
            if let Some(value) = pick_length(modes >> 2, byte(4), PATH_CAP) {
                put_u16(&mut record, offset_of!(RenameEvent, new_len), value);
            }
        }
        _ => {}
    }
    record
}

/// A length field value for mode `mode & 3` (see [`build_record`]), `None` to keep the input's bytes.
fn pick_length(mode: u8, value: u8, cap: usize) -> Option<u16> {
    let cap = u16::try_from(cap).expect("caps fit a u16");
    match mode & 3 {
        0 => None,
        1 => Some(u16::from(value) % (cap + 1)),
        2 => Some((cap + u16::from(value % 8)).saturating_sub(3)),
        _ => Some(u16::MAX - u16::from(value)),
    }
}

/// Writes `value` at `at` if the record is long enough to hold it.
fn put_u16(record: &mut [u8], at: usize, value: u16) {
    if let Some(field) = record.get_mut(at..at + 2) {
        field.copy_from_slice(&value.to_ne_bytes());
    }
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([bytes[at], bytes[at + 1]])
}

/// The bytes of one of tracer-common's event types.
fn as_bytes<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: only called with `#[repr(C)]` event types whose padding is all explicit fields (each asserts its
    // size), so every byte is initialised; the slice borrows `value`.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// Decodes `bytes` and checks the answer against them.
fn check(bytes: &[u8]) {
    match decode(bytes) {
        Ok(event) => check_event(bytes, &event),
        Err(err) => check_error(bytes, &err),
    }
}

fn check_event(bytes: &[u8], event: &Event) {
    assert!(bytes.len() >= size_of::<EventHeader>(), "decoded a {}-byte record", bytes.len());
    let kind_in = read_u16(bytes, 0);
    assert_eq!(event.header().kind, kind_in);
    let size = size_for(kind_in).unwrap_or_else(|| panic!("decoded unknown kind {kind_in}"));
    assert!(bytes.len() >= size, "decoded a {}-byte record of kind {kind_in} (size {size})", bytes.len());

    match event {
        Event::Syscall(record) => {
            assert!(is_syscall_kind(kind_in), "kind {kind_in} decoded as a syscall");
            assert_eq!(as_bytes(&record.event), &bytes[..size_of::<SyscallEvent>()]);
            let long_slot = if kind_in == kind::SYSCALL_LONG {
                usize::from(read_u16(bytes, offset_of!(SyscallLongEvent, long_slot)))
            } else {
                CAPTURE_SLOTS
            };
            let with_fds = match kind_in {
                kind::SYSCALL_FDS | kind::SYSCALL_DATA_FDS => true,
                kind::SYSCALL_LONG => {
                    assert!(long_slot < CAPTURE_SLOTS, "long slot {long_slot}");
                    read_u16(bytes, offset_of!(SyscallLongEvent, has_fds)) != 0
                }
                _ => false,
            };
            assert_eq!(record.fds.is_some(), with_fds, "fds of kind {kind_in}");
            if let Some(fds) = record.fds.as_deref() {
                let at = offset_of!(SyscallFdsEvent, fds);
                assert_eq!(offset_of!(SyscallLongEvent, fds), at);
                assert_eq!(as_bytes(fds), &bytes[at..at + size_of_val(fds)]);
            }
            for (slot, data) in record.data.iter().enumerate() {
                let cap = data_cap(kind_in, bytes, slot);
                assert!(data.len() <= LONG_PATH_SHOWN, "slot {slot} holds {} bytes", data.len());
                assert!(data.len() <= cap, "slot {slot} holds {} bytes, cap {cap}", data.len());
                assert_eq!(data.len(), usize::from(record.event.data_len[slot]), "slot {slot}");
                let start = match kind_in {
                    kind::SYSCALL_DATA => Some(offset_of!(SyscallDataEvent, data) + slot * DATA_CAP),
                    kind::SYSCALL_DATA_FDS => Some(offset_of!(SyscallDataFdsEvent, data) + slot * DATA_CAP),
                    kind::SYSCALL_LONG if slot == long_slot => Some(offset_of!(SyscallLongEvent, long)),
                    kind::SYSCALL_LONG => Some(offset_of!(SyscallLongEvent, other)),
                    _ => None,
                };
                if let Some(start) = start {
                    assert_eq!(data[..], bytes[start..start + data.len()], "slot {slot}");
                }
            }
        }
        Event::Process(process) => {
            assert_eq!(kind_in, kind::PROCESS);
            assert_eq!(as_bytes(&**process), &bytes[..size]);
            let len = usize::from(process.filename_len);
            assert_eq!(process.filename.len(), FILENAME_CAP);
            assert!(len <= FILENAME_CAP, "filename_len {len}");
            let name = &process.filename[..len];
            assert!(c_bytes(name).len() <= len);
            assert!(usize::from(process.argv_len) <= process.argv.len(), "argv_len {}", process.argv_len);
            let cwd_ino = u64::from_le_bytes(bytes[offset_of!(ProcessEvent, cwd_ino)..][..8].try_into().unwrap());
            assert_eq!(process.cwd_ino, cwd_ino);
        }
        Event::Signal(signal) => {
            assert_eq!(kind_in, kind::SIGNAL);
            assert_eq!(as_bytes(signal), &bytes[..size]);
        }
        Event::SignalDeliver(deliver) => {
            assert_eq!(kind_in, kind::SIGNAL_DELIVER);
            assert_eq!(as_bytes(deliver), &bytes[..size]);
        }
        Event::SignalSendFailed(failed) => {
            assert_eq!(kind_in, kind::SIGNAL_SEND_FAILED);
            assert_eq!(as_bytes(failed), &bytes[..size]);
        }
        Event::OomVictim(oom) => {
            assert_eq!(kind_in, kind::OOM_VICTIM);
            assert_eq!(as_bytes(oom), &bytes[..size]);
        }
        Event::Conn(conn) => {
            assert!(matches!(kind_in, kind::TCP_CONNECT | kind::TCP_ACCEPT | kind::TCP_CLOSE), "kind {kind_in}");
            assert_eq!(as_bytes(conn), &bytes[..size]);
        }
        Event::Rename(rename) => {
            assert_eq!(kind_in, kind::FILE_RENAME);
            assert_eq!(as_bytes(&**rename), &bytes[..size]);
            assert!(usize::from(rename.old_len) <= PATH_CAP && usize::from(rename.new_len) <= PATH_CAP);
        }
        // Families added later: decoding without a panic is what this target checks for them.
        _ => {}
    }
}

fn check_error(bytes: &[u8], err: &DecodeError) {
    // The message must format too.
    assert!(!err.to_string().is_empty());
    match *err {
        DecodeError::ShortHeader { len, need } => {
            assert_eq!(len, bytes.len());
            assert_eq!(need, size_of::<EventHeader>());
            assert!(len < need);
        }
        DecodeError::Truncated { kind, len, need } => {
            assert!(bytes.len() >= size_of::<EventHeader>());
            assert_eq!(kind, read_u16(bytes, 0));
            assert_eq!(len, bytes.len());
            assert_eq!(Some(need), size_for(kind), "kind {kind}");
            assert!(len < need);
        }
        DecodeError::UnknownKind(kind) => {
            assert!(bytes.len() >= size_of::<EventHeader>());
            assert_eq!(kind, read_u16(bytes, 0));
            assert_eq!(size_for(kind), None);
        }
        DecodeError::BadDataLength { slot, len, cap } => {
            let kind = read_u16(bytes, 0);
            assert!(is_syscall_kind(kind), "BadDataLength for kind {kind}");
            assert!(bytes.len() >= size_for(kind).unwrap());
            assert!(slot < CAPTURE_SLOTS);
            assert_eq!(cap, data_cap(kind, bytes, slot));
            assert!(usize::from(len) > cap);
            let at = data_len_offset(kind);
            assert_eq!(read_u16(bytes, at + 2 * slot), len);
            // The first bad slot is the one reported.
            for earlier in 0..slot {
                let cap = data_cap(kind, bytes, earlier);
                assert!(usize::from(read_u16(bytes, at + 2 * earlier)) <= cap, "slot {earlier} was bad too");
            }
        }
        DecodeError::BadLongSlot(slot) => {
            assert_eq!(read_u16(bytes, 0), kind::SYSCALL_LONG);
            assert!(bytes.len() >= size_of::<SyscallLongEvent>());
            assert_eq!(read_u16(bytes, offset_of!(SyscallLongEvent, long_slot)), slot);
            assert!(usize::from(slot) >= CAPTURE_SLOTS);
        }
        DecodeError::BadFilenameLength { len, cap } => {
            assert_eq!(read_u16(bytes, 0), kind::PROCESS);
            assert!(bytes.len() >= size_of::<ProcessEvent>());
            assert_eq!(cap, FILENAME_CAP);
            assert!(usize::from(len) > cap);
            assert_eq!(read_u16(bytes, offset_of!(ProcessEvent, filename_len)), len);
        }
        DecodeError::BadArgvLength { len, cap } => {
            assert_eq!(read_u16(bytes, 0), kind::PROCESS);
            assert!(bytes.len() >= size_of::<ProcessEvent>());
            assert_eq!(cap, FILENAME_CAP);
            assert!(usize::from(len) > cap);
            // The file name is checked first.
            assert!(usize::from(read_u16(bytes, offset_of!(ProcessEvent, filename_len))) <= FILENAME_CAP);
            assert_eq!(read_u16(bytes, offset_of!(ProcessEvent, argv_len)), len);
        }
        DecodeError::BadPathLength { len, cap } if read_u16(bytes, 0) == kind::FILE_RENAME => {
            assert!(bytes.len() >= size_of::<RenameEvent>());
            assert_eq!(cap, PATH_CAP);
            assert!(usize::from(len) > cap);
            // The old name is checked first.
            let old = read_u16(bytes, offset_of!(RenameEvent, old_len));
            let new = read_u16(bytes, offset_of!(RenameEvent, new_len));
            assert!(old == len || (usize::from(old) <= cap && new == len), "old {old} new {new} len {len}");
        }
        DecodeError::BadPathLength { len, cap } => {
            assert_eq!(read_u16(bytes, 0), kind::FILE_OPEN);
            assert!(bytes.len() >= size_of::<OpenEvent>());
            assert!(usize::from(len) > cap);
            assert_eq!(read_u16(bytes, offset_of!(OpenEvent, path_len)), len);
        }
    }
}
