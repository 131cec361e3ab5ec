//! tracefs: making sure it is mounted, and reading tracepoint format files.
//!
//! Tracepoint record layouts change between kernel versions (e.g. `sched_process_fork`'s `child_pid` moved when its
//! comm fields became `__data_loc`), so field offsets are read from `events/<group>/<event>/format` at start-up and
//! handed to the eBPF programs instead of being compiled in.

use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

const TRACEFS: &str = "/sys/kernel/tracing";
const TRACEFS_C: &CStr = c"/sys/kernel/tracing";
/// Where tracefs appears when only debugfs is mounted (older setups).
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error(
        "tracefs is not mounted and mounting it at {TRACEFS} failed: {source}; \
         as root, run: mount -t tracefs nodev /sys/kernel/tracing"
    )]
    Mount { source: io::Error },
    /// Mounted, but its mode (0700 on recent kernels) keeps a user without root out, CAP_BPF or not.
    #[error(
        "tracefs is mounted at {} but tracer cannot read it ({error}); run tracer as root (CAP_BPF and CAP_PERFMON \
         alone do not open tracefs)",
        root.display()
    )]
    Unreadable { root: PathBuf, error: io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("tracepoint {group}:{event} does not exist on this kernel ({} not found)", path.display())]
    NoSuchEvent { group: String, event: String, path: PathBuf },
    #[error("cannot parse tracepoint format ({reason}) at line `{line}`")]
    Parse { line: String, reason: &'static str },
    #[error("tracepoint {group}:{event} has no field `{field}`")]
    NoSuchField { group: String, event: String, field: String },
}

/// The layout of a tracepoint's record, from its `format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// The group (`syscalls`, `sched`, ...). Format files do not name it: [`read_format`] fills it in,
    /// [`parse_format`] leaves it empty. Only used in error messages.
    pub group: String,
    /// The event name (`sys_enter_openat`).
    pub name: String,
    /// All fields, the common ones (`common_type`, `common_pid`, ...) included, in file order.
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The C type as the kernel prints it, without the array suffix: `const char *`, `__data_loc char[]`,
    /// `unsigned long` (for `unsigned long args[6]`).
    pub c_type: String,
    /// The field name, without any `[N]`.
    pub name: String,
    /// `N` for a fixed-size array field `name[N]`; `None` for scalars, and when the kernel prints a symbolic length.
    pub array_len: Option<u32>,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
}

/// A syscall's `sys_enter_*` tracepoint, with the syscall number of the running architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallFormat {
    pub nr: i32,
    /// The syscall's user-space name (`umount2`, not the kernel's `umount`; see [`syscall_formats`]).
    pub name: String,
    /// The syscall's arguments, in order: the fields of its signature (see [`signature_args`]).
    pub args: Vec<Field>,
}

/// Returns the tracefs root, mounting tracefs at `/sys/kernel/tracing` if it is not mounted anywhere.
///
/// Call this before anything touches aya: aya looks for tracefs once and remembers the answer.
pub fn ensure_mounted() -> Result<PathBuf, TracefsError> {
    if let Some(root) = find_mounted()? {
        return Ok(root);
    }
    // SAFETY: all pointers are NUL-terminated string literals; `data` may be NULL for tracefs.
    let rc = unsafe { libc::mount(c"nodev".as_ptr(), TRACEFS_C.as_ptr(), c"tracefs".as_ptr(), 0, std::ptr::null()) };
    let result = if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    // Checked again even after a failed mount: another process may have mounted it meanwhile.
    match (find_mounted()?, result) {
        (Some(root), _) => Ok(root),
        (None, Err(source)) => Err(TracefsError::Mount { source }),
        (None, Ok(())) => Err(TracefsError::Mount {
            source: io::Error::new(io::ErrorKind::NotFound, "mounted, but it has no events directory"),
        }),
    }
}

/// Where tracefs is mounted, if it is; mounted but closed to tracer is an error of its own, not "not mounted".
fn find_mounted() -> Result<Option<PathBuf>, TracefsError> {
    for root in [TRACEFS, DEBUGFS_TRACING].into_iter().map(PathBuf::from) {
        match std::fs::metadata(root.join("events")) {
            Ok(meta) if meta.is_dir() => return Ok(Some(root)),
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                return Err(TracefsError::Unreadable { root, error });
            }
            _ => {}
        }
    }
    Ok(None)
}

impl Format {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The offset of field `name`; the error names the tracepoint and field, for a kernel whose layout differs.
    pub fn offset_of(&self, name: &str) -> Result<u32, TracefsError> {
        self.field(name).map(|f| f.offset).ok_or_else(|| TracefsError::NoSuchField {
            group: self.group.clone(),
            event: self.name.clone(),
            field: name.to_owned(),
        })
    }
}

/// Reads `<root>/events/<group>/<event>/format`.
pub fn read_format(root: &Path, group: &str, event: &str) -> Result<Format, TracefsError> {
    let path = root.join("events").join(group).join(event).join("format");
    let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => {
            TracefsError::NoSuchEvent { group: group.to_owned(), event: event.to_owned(), path: path.clone() }
        }
        _ => TracefsError::Io { path: path.clone(), source },
    })?;
    let mut format = parse_format(&text)?;
    format.group = group.to_owned();
    Ok(format)
}

/// Parses the text of a tracepoint `format` file:
///
/// ```text
/// name: sys_enter_openat
/// ID: 782
/// format:
///     field:unsigned short common_type;    offset:0;    size:2;    signed:0;
///     ...
///     field:const char * filename;    offset:24;    size:8;    signed:0;
///
/// print fmt: ...
/// ```
pub fn parse_format(text: &str) -> Result<Format, TracefsError> {
    let mut name = None;
    let mut fields = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("name:") {
            name = Some(rest.trim().to_owned());
        } else if line.starts_with("field") {
            fields.push(parse_field(line)?);
        } else if line.starts_with("print fmt:") {
            // The print format may contain anything, including lines that look like fields.
            break;
        }
    }
    let name = name.ok_or(TracefsError::Parse { line: String::new(), reason: "no `name:` line" })?;
    Ok(Format { group: String::new(), name, fields })
}

/// Parses `field:<declaration>;\toffset:N;\tsize:N;\tsigned:N;` (`signed` is missing on very old kernels).
fn parse_field(line: &str) -> Result<Field, TracefsError> {
    let err = |reason| TracefsError::Parse { line: line.to_owned(), reason };
    // "field:" normally; some kernels wrote "field special:" for arrays.
    let (_, rest) = line.split_once(':').ok_or_else(|| err("no `:` after `field`"))?;
    let mut parts = rest.split(';').map(str::trim);
    let decl = parts.next().unwrap_or_default();
    let (mut offset, mut size, mut signed) = (None, None, false);
    for part in parts.filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(|| err("attribute without `:`"))?;
        let value = value.trim();
        match key.trim() {
            "offset" => offset = Some(value.parse().map_err(|_| err("bad offset"))?),
            "size" => size = Some(value.parse().map_err(|_| err("bad size"))?),
            "signed" => signed = value == "1",
            _ => {} // Tolerate attributes added by future kernels.
        }
    }

    // An array declaration ends in `[N]`; `__data_loc char[] name` has its brackets inside the type instead.
    let (decl, array_len) = match decl.strip_suffix(']').and_then(|d| d.rsplit_once('[')) {
        Some((d, len)) => (d.trim_end(), len.trim().parse().ok()),
        None => (decl, None),
    };
    // The name is the trailing identifier; whatever precedes it (`*` included) is the type.
    let name_start = decl.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    let (c_type, name) = decl.split_at(name_start);
    let c_type = c_type.trim_end();
    if name.is_empty() || c_type.is_empty() {
        return Err(err("cannot split the declaration into type and name"));
    }
    Ok(Field {
        c_type: c_type.to_owned(),
        name: name.to_owned(),
        array_len,
        offset: offset.ok_or_else(|| err("no offset"))?,
        size: size.ok_or_else(|| err("no size"))?,
        signed,
    })
}

/// Kernel function names that differ from the user-space syscall names the `syscalls` crate knows. The kernel
/// names its tracepoints after the `SYSCALL_DEFINE` function, which kept a historical name for these.
const KERNEL_NAME_ALIASES: &[(&str, &str)] = &[
    ("newstat", "stat"),
    ("newlstat", "lstat"),
    ("newfstat", "fstat"),
    ("newuname", "uname"),
    ("sendfile64", "sendfile"),
    ("umount", "umount2"),
];

/// Reads every `events/syscalls/sys_enter_*/format` under `root` and pairs each with its syscall number on this
/// architecture. The format files do not carry the number, so it comes from the name via the `syscalls` crate;
/// names it does not know are skipped. The kernel only creates these events for syscalls in the native table, so
/// compat-only syscalls do not show up. Sorted by number.
pub fn syscall_formats(root: &Path) -> Result<Vec<SyscallFormat>, TracefsError> {
    let dir = root.join("events").join("syscalls");
    let io_err = |source| TracefsError::Io { path: dir.clone(), source };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let file_name = entry.file_name();
        let Some(event) = file_name.to_str() else { continue };
        let Some(kernel_name) = event.strip_prefix("sys_enter_") else {
            continue;
        };
        let name = KERNEL_NAME_ALIASES.iter().find(|(k, _)| *k == kernel_name).map_or(kernel_name, |(_, u)| u);
        let Ok(sysno) = syscalls::Sysno::from_str(name) else {
            continue;
        };

        let format = read_format(root, "syscalls", event)?;
        let nr_index =
            format.fields.iter().position(|f| f.name == "__syscall_nr").ok_or_else(|| TracefsError::NoSuchField {
                group: "syscalls".into(),
                event: event.to_owned(),
                field: "__syscall_nr".into(),
            })?;
        let args = signature_args(&format.fields[nr_index + 1..]);
        out.push(SyscallFormat { nr: sysno.id(), name: name.to_owned(), args });
    }
    out.sort_by_key(|s| s.nr);
    Ok(out)
}

/// The arguments of a syscall among the fields after `__syscall_nr`: the 8-byte words of its signature, at most six.
/// Linux 7.x appends fields that are not arguments (`__data_loc char[] __filename_val`, `__buf_val`: a copy of the
/// user string for the tracepoint's own printing); they, and anything after them, are left out.
fn signature_args(after_nr: &[Field]) -> Vec<Field> {
    after_nr
        .iter()
        .take_while(|f| f.size == 8 && !f.name.starts_with("__") && !f.c_type.starts_with("__data_loc"))
        .take(6)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/sys/kernel/tracing/events/syscalls/sys_enter_openat/format` on kernel 6.18.
    const OPENAT: &str = "name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: \"dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx\", ((unsigned long)(REC->dfd)), \
((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))
";

    fn root() -> PathBuf {
        ensure_mounted().expect("tracefs")
    }

    #[test]
    fn parse_openat_fixture() {
        let f = parse_format(OPENAT).unwrap();
        assert_eq!(f.name, "sys_enter_openat");
        assert_eq!(f.fields.len(), 9);
        let common_pid = f.field("common_pid").unwrap();
        assert_eq!((common_pid.offset, common_pid.size, common_pid.signed), (4, 4, true));
        let offsets: Vec<_> = ["dfd", "filename", "flags", "mode"].map(|n| f.offset_of(n).unwrap()).into();
        assert_eq!(offsets, [16, 24, 32, 40]);
        let filename = f.field("filename").unwrap();
        assert_eq!(filename.c_type, "const char *");
        assert_eq!((filename.size, filename.signed, filename.array_len), (8, false, None));
        assert_eq!(f.field("mode").unwrap().c_type, "umode_t");
        assert_eq!(f.field("common_type").unwrap().c_type, "unsigned short");
        let err = f.offset_of("nope").unwrap_err();
        assert!(err.to_string().contains("sys_enter_openat") && err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn parse_arrays_and_data_loc() {
        let text = "name: x\nformat:\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;\n\
                    \tfield:__data_loc char[] parent_comm;\toffset:24;\tsize:4;\tsigned:0;\n\
                    \tfield:unsigned long args[6];\toffset:32;\tsize:48;\tsigned:0;\n\
                    \tfield:char name[TASK_COMM_LEN];\toffset:80;\tsize:16;\n\
                    \tfield:char *p;\toffset:96;\tsize:8;\tsigned:0;\n";
        let f = parse_format(text).unwrap();
        let comm = f.field("comm").unwrap();
        assert_eq!((comm.c_type.as_str(), comm.array_len, comm.signed), ("char", Some(16), true));
        let loc = f.field("parent_comm").unwrap();
        assert_eq!((loc.c_type.as_str(), loc.array_len), ("__data_loc char[]", None));
        let args = f.field("args").unwrap();
        assert_eq!((args.c_type.as_str(), args.array_len, args.size), ("unsigned long", Some(6), 48));
        let name = f.field("name").unwrap();
        assert_eq!((name.array_len, name.signed, name.offset), (None, false, 80));
        assert_eq!(f.field("p").unwrap().c_type, "char *");
    }

    /// Linux 7.x: `sys_enter_write` carries a copy of the buffer after the arguments; it is not a fourth argument.
    #[test]
    fn data_loc_after_the_arguments_is_not_an_argument() {
        let text = "name: sys_enter_write\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
                    \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
                    \tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;\n\
                    \tfield:const char * buf;\toffset:24;\tsize:8;\tsigned:0;\n\
                    \tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;\n\
                    \tfield:__data_loc char[] __buf_val;\toffset:40;\tsize:4;\tsigned:0;\n";
        let f = parse_format(text).unwrap();
        let nr = f.fields.iter().position(|f| f.name == "__syscall_nr").unwrap();
        let args: Vec<String> = signature_args(&f.fields[nr + 1..]).into_iter().map(|a| a.name).collect();
        assert_eq!(args, ["fd", "buf", "count"]);
        let openat = parse_format(OPENAT).unwrap();
        let nr = openat.fields.iter().position(|f| f.name == "__syscall_nr").unwrap();
        assert_eq!(signature_args(&openat.fields[nr + 1..]).len(), 4);
    }

    /// Every syscall of the running kernel has at most six arguments, all 8-byte words.
    #[test]
    fn real_syscall_signatures() {
        let formats = syscall_formats(&root()).unwrap();
        let write = formats.iter().find(|s| s.name == "write").unwrap();
        assert_eq!(write.args.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["fd", "buf", "count"]);
        let getppid = formats.iter().find(|s| s.name == "getppid").unwrap();
        assert!(getppid.args.is_empty());
        assert!(formats.iter().all(|s| s.args.len() <= 6 && s.args.iter().all(|a| a.size == 8)));
    }

    #[test]
    fn malformed_formats() {
        assert!(parse_format("").is_err());
        assert!(parse_format("ID: 1\nformat:\n").is_err());
        for bad in ["field:int;\toffset:0;\tsize:4;", "field:int x;\tsize:4;", "field:int x;\toffset:zz;\tsize:4;"] {
            assert!(parse_format(&format!("name: e\nformat:\n\t{bad}\n")).is_err(), "{bad}");
        }
    }

    #[test]
    fn real_sched_process_fork() {
        let f = read_format(&root(), "sched", "sched_process_fork").unwrap();
        assert_eq!(f.group, "sched");
        let child_pid = f.field("child_pid").unwrap();
        assert_eq!((child_pid.size, child_pid.signed), (4, true));
        assert!(child_pid.offset >= 8);
        assert_eq!(f.offset_of("child_pid").unwrap(), child_pid.offset);
        let err = read_format(&root(), "sched", "no_such_event").unwrap_err();
        assert!(matches!(err, TracefsError::NoSuchEvent { .. }), "{err}");
    }

    #[test]
    fn real_syscall_formats() {
        let all = syscall_formats(&root()).unwrap();
        assert!(all.len() > 300, "{}", all.len());
        let by_name = |n: &str| all.iter().find(|s| s.name == n).unwrap_or_else(|| panic!("{n} missing"));
        let names = |s: &SyscallFormat| s.args.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        let openat = by_name("openat");
        assert_eq!(openat.nr, syscalls::Sysno::openat.id());
        assert_eq!(names(openat), ["dfd", "filename", "flags", "mode"]);
        assert_eq!(openat.args[1].offset, 24);
        assert_eq!(names(by_name("write")), ["fd", "buf", "count"]);
        assert_eq!(by_name("umount2").nr, syscalls::Sysno::umount2.id());
        assert!(by_name("getppid").args.is_empty());
        assert!(all.windows(2).all(|w| w[0].nr < w[1].nr), "sorted, no duplicate numbers");
    }
}
