//! `-e trace=EXPR`: syscall names, classes (`%file`, `%network`, `%signal`, `%process`, `%memory`, `%desc`),
//! `all`/`none`, and `!` to negate the whole set, as strace reads them.

use std::collections::BTreeSet;

use super::decode::{ArgKind, SyscallInfo, SyscallTable};

const NETWORK: &[&str] = &[
    "socket",
    "socketpair",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "getsockname",
    "getpeername",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "setsockopt",
    "getsockopt",
];
const SIGNAL: &[&str] = &[
    "kill",
    "tkill",
    "tgkill",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "rt_sigsuspend",
    "rt_sigreturn",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "pause",
    "pidfd_send_signal",
];
const PROCESS: &[&str] = &[
    "fork",
    "vfork",
    "clone",
    "clone3",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "unshare",
    "setns",
];
const MEMORY: &[&str] = &[
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "pkey_mprotect",
    "madvise",
    "process_madvise",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "mincore",
    "msync",
    "remap_file_pages",
    "mbind",
    "set_mempolicy",
    "get_mempolicy",
    "migrate_pages",
    "move_pages",
    "mseal",
    "map_shadow_stack",
];

type ClassPredicate = Box<dyn Fn(&SyscallInfo) -> bool>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("invalid system call '{0}' in -e trace= (see `ausyscall --dump` or /sys/kernel/tracing/events/syscalls)")]
    UnknownSyscall(String),
    #[error("unknown syscall class '{0}' (known: %file %network %signal %process %memory %desc)")]
    UnknownClass(String),
    #[error("only the trace= qualifier of -e is supported, not '{0}'")]
    UnsupportedQualifier(String),
    #[error("-e {0} names no system call: give names or classes (trace=none traces none)")]
    Empty(String),
}

/// The set of syscall numbers to report; `None` means all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallFilter {
    numbers: Option<BTreeSet<i32>>,
}

impl SyscallFilter {
    pub fn all() -> Self {
        SyscallFilter { numbers: None }
    }

    pub fn wants(&self, info: &SyscallInfo) -> bool {
        self.numbers.as_ref().is_none_or(|set| set.contains(&info.nr))
    }

    /// The named syscalls, when the set is small enough that attaching each one's own tracepoints is cheaper
    /// for bystanders than the all-syscalls raw tracepoint.
    pub fn few(&self) -> Option<&BTreeSet<i32>> {
        self.numbers.as_ref().filter(|set| set.len() <= 32)
    }

    /// Parses every `-e` given (their sets intersect, as repeated strace qualifiers do).
    pub fn parse(exprs: &[String], table: &SyscallTable) -> Result<Self, FilterError> {
        let mut filter = SyscallFilter::all();
        for expr in exprs {
            let set = parse_one(expr, table)?;
            filter.numbers = Some(match filter.numbers {
                None => set,
                Some(prev) => prev.intersection(&set).copied().collect(),
            });
        }
        Ok(filter)
    }
}

fn parse_one(expr: &str, table: &SyscallTable) -> Result<BTreeSet<i32>, FilterError> {
    let list = match expr.split_once('=') {
        Some(("trace" | "t", list)) => list,
        Some((other, _)) => return Err(FilterError::UnsupportedQualifier(other.to_string())),
        None => expr,
    };
    let (negate, list) = match list.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, list),
    };
    let mut set = BTreeSet::new();
    let mut items = list.split(',').map(str::trim).filter(|s| !s.is_empty()).peekable();
    // An empty list is a typo far more often than a wish to trace nothing (strace refuses it too).
    if items.peek().is_none() {
        return Err(FilterError::Empty(expr.to_string()));
    }
    for item in items {
        let class: Option<ClassPredicate> = match item {
            "all" => Some(Box::new(|_| true)),
            "none" => Some(Box::new(|_| false)),
            "%file" | "file" => Some(Box::new(SyscallInfo::has_path_arg)),
            "%desc" | "desc" => Some(Box::new(|i: &SyscallInfo| {
                i.args.iter().flatten().any(|a| matches!(a.kind, ArgKind::Fd | ArgKind::DirFd))
            })),
            "%network" | "%net" | "network" => Some(Box::new(|i: &SyscallInfo| NETWORK.contains(&i.name.as_str()))),
            "%signal" | "signal" => Some(Box::new(|i: &SyscallInfo| SIGNAL.contains(&i.name.as_str()))),
            "%process" | "process" => Some(Box::new(|i: &SyscallInfo| PROCESS.contains(&i.name.as_str()))),
            "%memory" | "memory" => Some(Box::new(|i: &SyscallInfo| MEMORY.contains(&i.name.as_str()))),
            other if other.starts_with('%') => return Err(FilterError::UnknownClass(other.to_string())),
            _ => None,
        };
        match class {
            Some(pred) => set.extend(table.iter().filter(|i| pred(i)).map(|i| i.nr)),
            None => {
                let info = table.by_name(item).ok_or_else(|| FilterError::UnknownSyscall(item.to_string()))?;
                set.insert(info.nr);
            }
        }
    }
    if negate {
        set = table.iter().map(|i| i.nr).filter(|nr| !set.contains(nr)).collect();
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SyscallTable {
        SyscallTable::new(&[])
    }

    #[test]
    fn names_classes_and_negation() {
        let t = table();
        let f = SyscallFilter::parse(&["trace=openat,close".into()], &t).unwrap();
        assert_eq!(f.few().unwrap().iter().copied().collect::<Vec<_>>(), vec![3, 257]);
        let net = SyscallFilter::parse(&["trace=%network".into()], &t).unwrap();
        assert!(net.wants(t.by_name("connect").unwrap()) && !net.wants(t.by_name("read").unwrap()));
        let not_write = SyscallFilter::parse(&["!write".into()], &t).unwrap();
        assert!(!not_write.wants(t.by_name("write").unwrap()) && not_write.wants(t.by_name("read").unwrap()));
        assert!(not_write.few().is_none());
        assert_eq!(SyscallFilter::parse(&["trace=opne".into()], &t), Err(FilterError::UnknownSyscall("opne".into())));
        assert!(matches!(SyscallFilter::parse(&["%bogus".into()], &t), Err(FilterError::UnknownClass(_))));
        for empty in ["trace=", "trace=!", "", "trace= , "] {
            assert_eq!(SyscallFilter::parse(&[empty.into()], &t), Err(FilterError::Empty(empty.into())), "{empty:?}");
        }
    }
}
