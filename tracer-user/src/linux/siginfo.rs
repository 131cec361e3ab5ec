//! A signal's siginfo in the user's terms: the fields strace 6.1 prints after `si_signo` and `si_code` (its
//! printsiginfo.c: which fields each code and signal has, and how each is written), from the siginfo's union as
//! the kernel filled it at generation (`SignalEvent::sifields`). The same fields make the JSON `siginfo` object.

use serde::{Serialize, Serializer, ser::SerializeMap as _};
use tracer_common::signals::{SignalEvent, code, flags, sifields};

use crate::linux::{errno, signals::signal_display};

const SI_TIMER: i32 = -2;
const SI_SIGIO: i32 = -5;
const CLD_EXITED: i32 = 1;
const SEGV_BNDERR: i32 = 3;
const SEGV_PKUERR: i32 = 4;
const BUS_MCEERR_AR: i32 = 4;
const BUS_MCEERR_AO: i32 = 5;
/// POLL_IN, POLL_OUT, POLL_MSG: the codes for which strace 6.1 prints `si_band` and `si_fd` (6.2 prints them for
/// every POLL_* code).
const POLL_WITH_BAND: std::ops::RangeInclusive<i32> = 1..=3;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// One field's value, typed: each prints as strace prints its kind, and is a JSON number or string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// `%d`: pids, statuses of exits, `si_int`, `si_overrun`, `si_band`, `si_fd`.
    Int(i64),
    /// `%u`: `si_pkey`.
    Unsigned(u64),
    /// A uid: `%u`, or `-1` for (uid_t)-1.
    Id(u32),
    /// `%#x` (0 as `0`): `si_timerid`, `si_addr_lsb`.
    Hex(u64),
    /// An address: `NULL` or `0x...`.
    Pointer(u64),
    /// A signal (the status of a killed, dumped, stopped or trapped child): its name, or its number.
    Signal(i32),
    /// Clock ticks, with the seconds they make as a comment when not 0: `5 /* 0.05 s */`.
    Ticks(u64),
    /// An errno: its name, or its number.
    Errno(i32),
    /// A syscall number of an `AUDIT_ARCH_*`: `__NR_name` when the arch is this tracer's own, else the number.
    Syscall(i32, u32),
    /// An `AUDIT_ARCH_*`: its name, or `0x... /* AUDIT_ARCH_??? */`.
    Arch(u32),
}

impl Value {
    fn write(self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = match self {
            Value::Int(n) => write!(out, "{n}"),
            Value::Unsigned(n) => write!(out, "{n}"),
            Value::Id(u32::MAX) => write!(out, "-1"),
            Value::Id(id) => write!(out, "{id}"),
            Value::Hex(0) => write!(out, "0"),
            Value::Pointer(0) => write!(out, "NULL"),
            Value::Hex(n) | Value::Pointer(n) => write!(out, "{n:#x}"),
            Value::Signal(signo) => write!(out, "{}", signal_display(signo)),
            Value::Ticks(ticks) => {
                let _ = write!(out, "{ticks}");
                match (ticks, clock_ticks_per_second()) {
                    (1.., Some((per_second, digits))) => {
                        let fraction = (ticks % per_second) * 10u64.pow(digits) / per_second;
                        write!(out, " /* {}.{fraction:0width$} s */", ticks / per_second, width = digits as usize)
                    }
                    _ => Ok(()),
                }
            }
            Value::Errno(n) => match errno::known_name(n) {
                Some(name) => write!(out, "{name}"),
                None => write!(out, "{}", n as u32),
            },
            Value::Syscall(nr, arch) => match syscall_name(nr, arch) {
                Some(name) => write!(out, "__NR_{name}"),
                None => write!(out, "{}", nr as u32),
            },
            Value::Arch(arch) => match arch_name(arch) {
                Some(name) => write!(out, "{name}"),
                None => write!(out, "{arch:#x} /* AUDIT_ARCH_??? */"),
            },
        };
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Value::Int(n) => s.serialize_i64(n),
            Value::Unsigned(n) | Value::Ticks(n) => s.serialize_u64(n),
            Value::Id(id) => s.serialize_u32(id),
            Value::Hex(n) | Value::Pointer(n) => s.serialize_str(&format!("{n:#x}")),
            Value::Signal(signo) => s.serialize_i32(signo),
            Value::Errno(n) => match errno::known_name(n) {
                Some(name) => s.serialize_str(name),
                None => s.serialize_i32(n),
            },
            Value::Syscall(nr, _) => s.serialize_i32(nr),
            Value::Arch(arch) => s.serialize_u32(arch),
        }
    }
}

/// The fields of one siginfo, in strace's order, named as strace names them (`si_pid`, `si_status`...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SigInfo(pub Vec<(&'static str, Value)>);

impl SigInfo {
    /// `, si_pid=1234, si_uid=0`: what follows `si_code=...` inside strace's braces.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for &(name, value) in &self.0 {
            out.push_str(", ");
            out.push_str(name);
            out.push('=');
            value.write(&mut out);
        }
        out
    }

    /// The siginfo the target will be given for a generated signal, as far as the event holds it.
    ///
    /// Without a real siginfo the kernel makes the target's copy itself: for `SEND_SIG_NOINFO` (SIGPIPE, SIGXFSZ)
    /// SI_USER from the current task, whose tgid and uid the event has (as seen from the initial namespaces: a
    /// target in a pid or user namespace of its own sees them translated); for `SEND_SIG_PRIV` SI_KERNEL with
    /// zeroes.
    pub fn of(event: &SignalEvent) -> SigInfo {
        let mut union = event.sifields;
        if event.flags & flags::INFO_NONE != 0 {
            union[sifields::PID..sifields::PID + 4].copy_from_slice(&event.header.pid.to_le_bytes());
            union[sifields::UID..sifields::UID + 4].copy_from_slice(&event.uid.to_le_bytes());
        }
        SigInfo::decode(event.signo, event.code, event.errno, &union)
    }

    /// The fields strace prints for signal `signo`, code `si_code`, errno `si_errno` and the union's bytes.
    pub fn decode(signo: i32, si_code: i32, si_errno: i32, union: &[u8; sifields::SIZE]) -> SigInfo {
        let i32_at = |at: usize| i32::from_le_bytes(union[at..at + 4].try_into().unwrap());
        let u32_at = |at: usize| u32::from_le_bytes(union[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(union[at..at + 8].try_into().unwrap());
        let pid = Value::Int(i32_at(sifields::PID).into());
        let uid = Value::Id(u32_at(sifields::UID));
        let source = [("si_pid", pid), ("si_uid", uid)];
        let value = [
            ("si_int", Value::Int(i32_at(sifields::VALUE).into())),
            ("si_ptr", Value::Pointer(u64_at(sifields::VALUE))),
        ];
        let has_value = u64_at(sifields::VALUE) != 0;
        let address = ("si_addr", Value::Pointer(u64_at(sifields::ADDR)));
        let mut fields = Vec::new();
        if si_errno != 0 {
            fields.push(("si_errno", Value::Errno(si_errno)));
        }
        // A process's code (SI_USER and below), then the kernel's, by signal.
        if si_code <= 0 {
            match si_code {
                code::SI_USER | code::SI_TKILL => fields.extend(source),
                // For a periodic timer the kernel adds the expirations it missed while the signal was pending
                // when the target takes it: exact from a delivery (`tracer syscalls`' lines), as generated from a
                // `signal` record.
                SI_TIMER => {
                    fields.push(("si_timerid", Value::Hex(u32_at(sifields::TIMER_ID).into())));
                    fields.push(("si_overrun", Value::Int(i32_at(sifields::OVERRUN).into())));
                    fields.extend(value);
                }
                SI_SIGIO => fields.extend(poll_fields(union)),
                _ => {
                    fields.extend(source);
                    if has_value {
                        fields.extend(value);
                    }
                }
            }
            return SigInfo(fields);
        }
        match signo {
            libc::SIGCHLD => {
                fields.extend(source);
                let status = i32_at(sifields::STATUS);
                fields.push((
                    "si_status",
                    if si_code == CLD_EXITED { Value::Int(status.into()) } else { Value::Signal(status) },
                ));
                fields.push(("si_utime", Value::Ticks(u64_at(sifields::UTIME))));
                fields.push(("si_stime", Value::Ticks(u64_at(sifields::STIME))));
            }
            libc::SIGILL | libc::SIGFPE => fields.push(address),
            libc::SIGBUS => {
                fields.push(address);
                if matches!(si_code, BUS_MCEERR_AR | BUS_MCEERR_AO) {
                    let lsb = u16::from_le_bytes(union[sifields::ADDR_LSB..sifields::ADDR_LSB + 2].try_into().unwrap());
                    fields.push(("si_addr_lsb", Value::Hex(lsb.into())));
                }
            }
            libc::SIGSEGV => {
                fields.push(address);
                match si_code {
                    SEGV_BNDERR => {
                        fields.push(("si_lower", Value::Pointer(u64_at(sifields::LOWER))));
                        fields.push(("si_upper", Value::Pointer(u64_at(sifields::UPPER))));
                    }
                    SEGV_PKUERR => fields.push(("si_pkey", Value::Unsigned(u32_at(sifields::PKEY).into()))),
                    _ => {}
                }
            }
            // TRAP_PERF's si_perf_* are left out: strace prints them only when built on headers that have them.
            libc::SIGTRAP => fields.push(address),
            libc::SIGIO => {
                if POLL_WITH_BAND.contains(&si_code) {
                    fields.extend(poll_fields(union));
                }
            }
            libc::SIGSYS => {
                let arch = u32_at(sifields::ARCH);
                fields.push(("si_call_addr", Value::Pointer(u64_at(sifields::CALL_ADDR))));
                fields.push(("si_syscall", Value::Syscall(i32_at(sifields::SYSCALL), arch)));
                fields.push(("si_arch", Value::Arch(arch)));
            }
            _ => {
                if i32_at(sifields::PID) != 0 || u32_at(sifields::UID) != 0 {
                    fields.extend(source);
                }
                if has_value {
                    fields.extend(value);
                }
            }
        }
        SigInfo(fields)
    }
}

impl Serialize for SigInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

fn poll_fields(union: &[u8; sifields::SIZE]) -> [(&'static str, Value); 2] {
    let band = i64::from_le_bytes(union[sifields::BAND..sifields::BAND + 8].try_into().unwrap());
    let fd = i32::from_le_bytes(union[sifields::FD..sifields::FD + 4].try_into().unwrap());
    [("si_band", Value::Int(band)), ("si_fd", Value::Int(fd.into()))]
}

/// `sysconf(_SC_CLK_TCK)` and the digits of a tick's fraction of a second (strace's `ilog10`, at most 9).
fn clock_ticks_per_second() -> Option<(u64, u32)> {
    static TICKS: std::sync::OnceLock<Option<(u64, u32)>> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        // SAFETY: sysconf reads a constant.
        let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok().filter(|&n| n > 0)?;
        Some((per_second, per_second.ilog10().min(9)))
    })
}

/// A syscall's name, where `arch` is the one this tracer's syscall table describes.
fn syscall_name(nr: i32, arch: u32) -> Option<&'static str> {
    if !(cfg!(target_arch = "x86_64") && arch == AUDIT_ARCH_X86_64) {
        return None;
    }
    ::syscalls::Sysno::new(usize::try_from(nr).ok()?).map(|sysno| sysno.name())
}

fn arch_name(arch: u32) -> Option<&'static str> {
    Some(match arch {
        AUDIT_ARCH_X86_64 => "AUDIT_ARCH_X86_64",
        0x4000_0003 => "AUDIT_ARCH_I386",
        0xc000_00b7 => "AUDIT_ARCH_AARCH64",
        0x4000_0028 => "AUDIT_ARCH_ARM",
        0xc000_00f3 => "AUDIT_ARCH_RISCV64",
        0x8000_0016 => "AUDIT_ARCH_S390X",
        0xc000_0015 => "AUDIT_ARCH_PPC64LE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn union(words: &[(usize, &[u8])]) -> [u8; sifields::SIZE] {
        let mut bytes = [0; sifields::SIZE];
        for (at, value) in words {
            bytes[*at..*at + value.len()].copy_from_slice(value);
        }
        bytes
    }

    fn text(signo: i32, si_code: i32, si_errno: i32, words: &[(usize, &[u8])]) -> String {
        SigInfo::decode(signo, si_code, si_errno, &union(words)).text()
    }

    #[test]
    fn prints_each_family_as_strace() {
        let (pid, uid) = (&1234i32.to_le_bytes()[..], &1000u32.to_le_bytes()[..]);
        let source = [(sifields::PID, pid), (sifields::UID, uid)];
        assert_eq!(text(1, 0, 0, &source), ", si_pid=1234, si_uid=1000");
        assert_eq!(
            text(10, -6, 0, &[(sifields::PID, pid), (sifields::UID, &u32::MAX.to_le_bytes())]),
            ", si_pid=1234, si_uid=-1"
        );
        // sigqueue: the value only when not 0.
        assert_eq!(text(10, -1, 0, &source), ", si_pid=1234, si_uid=1000");
        let queued = [(sifields::PID, pid), (sifields::UID, uid), (sifields::VALUE, &42u64.to_le_bytes()[..])];
        assert_eq!(text(10, -1, 0, &queued), ", si_pid=1234, si_uid=1000, si_int=42, si_ptr=0x2a");
        let timer = [(sifields::TIMER_ID, &0u32.to_le_bytes()[..]), (sifields::OVERRUN, &2i32.to_le_bytes()[..])];
        assert_eq!(text(14, -2, 0, &timer), ", si_timerid=0, si_overrun=2, si_int=0, si_ptr=NULL");
        let timer = [(sifields::TIMER_ID, &3u32.to_le_bytes()[..])];
        assert_eq!(text(14, -2, 0, &timer), ", si_timerid=0x3, si_overrun=0, si_int=0, si_ptr=NULL");
        let child = [(sifields::PID, pid), (sifields::UID, uid), (sifields::STATUS, &9i32.to_le_bytes()[..])];
        assert_eq!(text(17, 2, 0, &child), ", si_pid=1234, si_uid=1000, si_status=SIGKILL, si_utime=0, si_stime=0");
        let exited = [(sifields::STATUS, &3i32.to_le_bytes()[..]), (sifields::UTIME, &250u64.to_le_bytes()[..])];
        let utime = if clock_ticks_per_second() == Some((100, 2)) { "250 /* 2.50 s */" } else { "250" };
        assert_eq!(text(17, 1, 0, &exited), format!(", si_pid=0, si_uid=0, si_status=3, si_utime={utime}, si_stime=0"));
        assert_eq!(text(11, 1, 0, &[]), ", si_addr=NULL");
        assert_eq!(text(11, 0x80, 0, &[]), ", si_addr=NULL");
        assert_eq!(text(7, 2, 0, &[(sifields::ADDR, &0x7f00_1000u64.to_le_bytes())]), ", si_addr=0x7f001000");
        assert_eq!(text(7, 4, 0, &[(sifields::ADDR_LSB, &12u16.to_le_bytes())]), ", si_addr=NULL, si_addr_lsb=0xc");
        let poll = [(sifields::BAND, &65i64.to_le_bytes()[..]), (sifields::FD, &5i32.to_le_bytes()[..])];
        assert_eq!(text(29, 1, 0, &poll), ", si_band=65, si_fd=5");
        assert_eq!(text(29, 4, 0, &poll), "");
        assert_eq!(text(29, -5, 0, &poll), ", si_band=65, si_fd=5");
        let sys = [
            (sifields::CALL_ADDR, &0x401000u64.to_le_bytes()[..]),
            (sifields::SYSCALL, &39i32.to_le_bytes()[..]),
            (sifields::ARCH, &AUDIT_ARCH_X86_64.to_le_bytes()[..]),
        ];
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                text(31, 1, 1, &sys),
                ", si_errno=EPERM, si_call_addr=0x401000, si_syscall=__NR_getpid, si_arch=AUDIT_ARCH_X86_64"
            );
        }
        let other_arch = [(sifields::SYSCALL, &20i32.to_le_bytes()[..]), (sifields::ARCH, &7u32.to_le_bytes()[..])];
        assert_eq!(text(31, 1, 0, &other_arch), ", si_call_addr=NULL, si_syscall=20, si_arch=0x7 /* AUDIT_ARCH_??? */");
        // The kernel's own (SEND_SIG_PRIV: zeroes): nothing more; with a pid or a value, those.
        assert_eq!(text(2, 0x80, 0, &[]), "");
        assert_eq!(text(14, 0x80, 0, &queued), ", si_pid=1234, si_uid=1000, si_int=42, si_ptr=0x2a");
    }

    #[test]
    fn fills_what_the_kernel_makes_without_a_siginfo() {
        let mut event = SignalEvent { signo: 13, flags: flags::INFO_NONE, uid: 1000, ..Default::default() };
        event.header.pid = 77;
        assert_eq!(SigInfo::of(&event).text(), ", si_pid=77, si_uid=1000");
        let private = SignalEvent { signo: 2, code: 0x80, flags: flags::INFO_PRIV, ..event };
        assert_eq!(SigInfo::of(&private).text(), "");
    }

    #[test]
    fn serializes_numbers_and_addresses() {
        let info =
            SigInfo(vec![("si_pid", Value::Int(5)), ("si_addr", Value::Pointer(0)), ("si_status", Value::Signal(9))]);
        assert_eq!(serde_json::to_string(&info).unwrap(), r#"{"si_pid":5,"si_addr":"0x0","si_status":9}"#);
    }
}
