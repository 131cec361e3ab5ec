//! Writes the seed corpus of the `decode` fuzz target: a few valid records of each kind, as the eBPF programs
//! would put them in the ring buffer (native byte order, so regenerate on a host of the target's endianness).
//!
//! Run from `tracer-user/fuzz`: `cargo run --example gen_seeds`. Every record is decoded before it is written and
//! must decode to `Ok`.

use core::mem::size_of;
use std::{fs, path::Path};

use tracer_common::{
    EventHeader,
    decode::{Event, decode},
    files::{PATH_CAP, RenameEvent, rename_call, status as file_status},
    kind,
    process::{EXIT_CODE_UNKNOWN, ProcessEvent, what},
    signals::{SignalDeliverEvent, SignalEvent, SignalSendFailedEvent, flags},
    syscalls::{
        CAPTURE_SLOTS, DATA_CAP, FD_SLOTS, FdIdentity, LONG_PATH_CAP, LONG_PATH_SHOWN, SocketEnds, SyscallDataEvent,
        SyscallDataFdsEvent, SyscallEvent, SyscallFdsEvent, SyscallLongEvent, fd_source, fd_state, status,
    },
};

fn as_bytes<T: Copy>(value: &T) -> Vec<u8> {
    // SAFETY: only called with `#[repr(C)]` event types whose padding is all explicit fields, so every byte is
    // initialised.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}

fn comm(name: &[u8]) -> [u8; 16] {
    let mut out = [0; 16];
    out[..name.len()].copy_from_slice(name);
    out
}

fn header(kind: u16, pid: u32, ts_ns: u64, name: &[u8]) -> EventHeader {
    EventHeader {
        kind,
        pid,
        tid: pid,
        ts_ns,
        comm: comm(name),
        start_ns: ts_ns / 2,
        cgroup_id: 4242 + 1000,
        ..Default::default()
    }
}

fn syscall(kind: u16, nr: i32, ret: i64, args: [u64; 6]) -> SyscallEvent {
    SyscallEvent {
        header: header(kind, 4242, 1_000_000_000, b"workload"),
        nr,
        status: status::ENTER_SEEN,
        duration_ns: 1_500,
        ret,
        args,
        ..Default::default()
    }
}

fn with_data(mut event: SyscallEvent, slots: [&[u8]; CAPTURE_SLOTS]) -> SyscallDataEvent {
    let mut data = [[0; DATA_CAP]; CAPTURE_SLOTS];
    for (slot, bytes) in slots.iter().enumerate() {
        let len = bytes.len().min(DATA_CAP);
        data[slot][..len].copy_from_slice(&bytes[..len]);
        event.data_len[slot] = u16::try_from(len).unwrap();
    }
    SyscallDataEvent { event, data }
}

fn process(what: u32, other_pid: u32, exit_code: i32, filename: &[u8], argv_bytes: &[u8]) -> ProcessEvent {
    let mut name = [0; 256];
    name[..filename.len()].copy_from_slice(filename);
    let mut argv = [0; 256];
    argv[..argv_bytes.len()].copy_from_slice(argv_bytes);
    ProcessEvent {
        header: header(kind::PROCESS, 4242, 2_000_000_000, b"bash"),
        what,
        other_pid,
        exit_code,
        filename_len: u16::try_from(filename.len()).unwrap(),
        argv_len: u16::try_from(argv_bytes.len()).unwrap(),
        argv_truncated: 0,
        _pad: [0; 7],
        filename: name,
        argv,
        ppid: 1,
        uid: 0,
        start_ns: 1_000_000_000,
        child_start_ns: if what == what::FORK { 2_000_000_000 } else { 0 },
        child_tid: if what == what::FORK { other_pid } else { 0 },
        flags: 0,
        // An exec's working directory: (8:1, inode 2), a filesystem's root.
        cwd_ino: if what == what::EXEC { 2 } else { 0 },
        cwd_dev: if what == what::EXEC { (8 << 20) | 1 } else { 0 },
        _pad2: 0,
    }
}

/// redis's BGSAVE child renaming its temporary file over the watched dump.
fn rename(old: &[u8], new: &[u8]) -> RenameEvent {
    let mut event = RenameEvent {
        header: header(kind::FILE_RENAME, 12226, 4_000_000_000, b"redis-rdb-bgsave"),
        base_ino: 10_010_908,
        base_dev: 254 << 20,
        uid: 105,
        old_dfd: -100,
        new_dfd: -100,
        status: file_status::MATCH_NAME | file_status::BASE_KNOWN,
        call: rename_call::RENAME,
        old_len: u16::try_from(old.len()).unwrap(),
        new_len: u16::try_from(new.len()).unwrap(),
        _pad: [0; 6],
        old: [0; PATH_CAP],
        new: [0; PATH_CAP],
    };
    event.old[..old.len()].copy_from_slice(old);
    event.new[..new.len()].copy_from_slice(new);
    event
}

/// A call whose path in `slot` was read whole: `len` slashes (`SyscallLongEvent`); the other slot holds a short
/// path.
fn long_path(mut event: SyscallEvent, slot: u16, len: usize, fds: Option<[FdIdentity; FD_SLOTS]>) -> SyscallLongEvent {
    let mut long = [0; LONG_PATH_CAP];
    long[..len].fill(b'/');
    let mut other = [0; DATA_CAP];
    other[..4].copy_from_slice(b"/etc");
    event.data_len = if slot == 0 { [len as u16, 4] } else { [4, len as u16] };
    SyscallLongEvent {
        event,
        fds: fds.unwrap_or_default(),
        long_slot: slot,
        has_fds: u16::from(fds.is_some()),
        _pad: 0,
        other,
        long,
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/decode");
    fs::create_dir_all(&dir).expect("create the seed directory");

    let args = [0xffff_ff9c, 0x7ffd_0000_1000, 0, 0, 0, 0];
    let full_write = [b'x'; DATA_CAP];
    let mut truncated_write = syscall(kind::SYSCALL_DATA, 1, 4096, [1, 0x7ffd_0000_2000, 4096, 0, 0, 0]);
    truncated_write.status |= status::TRUNCATED_0;

    let identity = |fd: i32, source: u8, state: u8, ino: u64| FdIdentity {
        ino,
        dev: 8 << 20 | 1,
        fd,
        source,
        state,
        _pad: [0; 6],
        socket: Default::default(),
    };
    let unused = FdIdentity { fd: -1, source: fd_source::NONE, ..Default::default() };
    let read_fds = [identity(3, 0, fd_state::OPEN, 4242), unused, unused];
    let close_fds = [identity(3, fd_source::AT_ENTER, fd_state::OPEN, 4242), unused, unused];
    let openat_fds =
        [identity(-100, 0, fd_state::NO_FILE, 0), identity(3, fd_source::RETURN, fd_state::OPEN, 77), unused];
    let openat = with_data(syscall(kind::SYSCALL_DATA_FDS, 257, 3, args), [b"/etc/passwd", b""]);
    // -yy: a TCP connection's close, with its ends as the close's enter read them.
    let mut tcp = identity(5, fd_source::AT_ENTER, fd_state::OPEN, 106262);
    tcp.socket = SocketEnds {
        family: tracer_common::net::AF_INET,
        protocol: tracer_common::net::proto::TCP,
        local_port: 44252,
        remote_port_be: 6379u16.to_be(),
        local_v4: [127, 0, 0, 1],
        remote_v4: [127, 0, 0, 1],
        ..Default::default()
    };
    let tcp_close_fds = [tcp, unused, unused];

    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "syscall_fds_close",
            as_bytes(&SyscallFdsEvent { event: syscall(kind::SYSCALL_FDS, 3, 0, [3, 0, 0, 0, 0, 0]), fds: close_fds }),
        ),
        (
            "syscall_fds_close_tcp",
            as_bytes(&SyscallFdsEvent {
                event: syscall(kind::SYSCALL_FDS, 3, 0, [5, 0, 0, 0, 0, 0]),
                fds: tcp_close_fds,
            }),
        ),
        (
            "syscall_fds_fstat",
            as_bytes(&SyscallFdsEvent { event: syscall(kind::SYSCALL_FDS, 5, 0, [3, 0, 0, 0, 0, 0]), fds: read_fds }),
        ),
        (
            "syscall_data_fds_openat",
            as_bytes(&SyscallDataFdsEvent { event: openat.event, fds: openat_fds, data: openat.data }),
        ),
        ("syscall_long_chdir", as_bytes(&long_path(syscall(kind::SYSCALL_LONG, 80, 0, args), 0, 3000, None))),
        (
            "syscall_long_openat_fds",
            as_bytes(&long_path(syscall(kind::SYSCALL_LONG, 257, -36, args), 1, 4095, Some(openat_fds))),
        ),
        ("syscall_getpid", as_bytes(&syscall(kind::SYSCALL, 39, 4242, [0; 6]))),
        ("syscall_close_ebadf", as_bytes(&syscall(kind::SYSCALL, 3, -9, [99, 0, 0, 0, 0, 0]))),
        ("syscall_data_openat", as_bytes(&with_data(syscall(kind::SYSCALL_DATA, 257, 3, args), [b"/etc/passwd", b""]))),
        (
            "syscall_data_rename",
            as_bytes(&with_data(syscall(kind::SYSCALL_DATA, 82, 0, args), [b"/tmp/old", b"/tmp/new"])),
        ),
        ("syscall_data_write_full", as_bytes(&with_data(truncated_write, [&full_write, b""]))),
        ("process_exec", as_bytes(&process(what::EXEC, 0, 0, b"/usr/bin/true", b"true\0--version\0"))),
        ("process_fork", as_bytes(&process(what::FORK, 4243, 0, b"", b""))),
        ("file_rename_redis", as_bytes(&rename(b"temp-12226.rdb", b"dump.rdb"))),
        ("process_exit", as_bytes(&process(what::EXIT, 0, EXIT_CODE_UNKNOWN, b"", b""))),
        (
            "signal_kill",
            as_bytes(&SignalEvent {
                header: header(kind::SIGNAL, 4242, 3_000_000_000, b"kill"),
                signo: 15,
                code: 0,
                target_pid: 4243,
                target_tid: 4243,
                result: 0,
                group: 1,
                target_comm: comm(b"sleep"),
                flags: flags::FROM_PROCESS | flags::HANDLER_KNOWN,
                ..Default::default()
            }),
        ),
        (
            "signal_deliver_group_exit",
            as_bytes(&SignalDeliverEvent {
                header: header(kind::SIGNAL_DELIVER, 4243, 3_000_100_000, b"sleep"),
                signo: 9,
                orig_signo: 1,
                flags: flags::GROUP_EXIT | flags::INFO_NONE,
                ..Default::default()
            }),
        ),
        (
            "signal_send_failed",
            as_bytes(&SignalSendFailedEvent {
                header: header(kind::SIGNAL_SEND_FAILED, 4244, 3_000_200_000, b"kill"),
                nr: 62,
                signo: 1,
                ret: -3,
                args: [999_999_999, 1, 0, 0],
                uid: 65534,
                _pad: 0,
            }),
        ),
    ];

    for (name, bytes) in &seeds {
        let event = decode(bytes).unwrap_or_else(|err| panic!("seed {name} does not decode: {err}"));
        assert_eq!(event.header().kind, u16::from_ne_bytes([bytes[0], bytes[1]]), "seed {name}");
        if let Event::Syscall(record) = &event {
            let cap = if event.header().kind == kind::SYSCALL_LONG { LONG_PATH_SHOWN } else { DATA_CAP };
            assert!(record.data.iter().all(|d| d.len() <= cap), "seed {name}");
        }
        let path = dir.join(format!("{name}.bin"));
        fs::write(&path, bytes).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}
