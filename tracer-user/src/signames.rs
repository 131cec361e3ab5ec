//! Signal names as `kill -l` lists them, and `si_code` names as strace prints them.

pub fn signal_name(signo: i32) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match signo {
        1..=31 => Some(NAMES[signo as usize]),
        _ => None,
    }
}

/// `SIGRTMIN+3` style names for real-time signals, numbers for the rest.
pub fn signal_display(signo: i32) -> String {
    match signal_name(signo) {
        Some(name) => name.to_string(),
        None if (34..=64).contains(&signo) => format!("SIGRT_{}", signo - 32),
        None => signo.to_string(),
    }
}

pub fn si_code_name(signo: i32, code: i32) -> String {
    let generic = match code {
        0 => Some("SI_USER"),
        0x80 => Some("SI_KERNEL"),
        -1 => Some("SI_QUEUE"),
        -2 => Some("SI_TIMER"),
        -3 => Some("SI_MESGQ"),
        -4 => Some("SI_ASYNCIO"),
        -5 => Some("SI_SIGIO"),
        -6 => Some("SI_TKILL"),
        _ => None,
    };
    if let Some(name) = generic {
        return name.to_string();
    }
    let specific = match (signo, code) {
        (11, 1) => "SEGV_MAPERR",
        (11, 2) => "SEGV_ACCERR",
        (7, 1) => "BUS_ADRALN",
        (7, 2) => "BUS_ADRERR",
        (7, 3) => "BUS_OBJERR",
        (8, 1) => "FPE_INTDIV",
        (8, 2) => "FPE_INTOVF",
        (4, 1) => "ILL_ILLOPC",
        (5, 1) => "TRAP_BRKPT",
        (5, 2) => "TRAP_TRACE",
        (17, 1) => "CLD_EXITED",
        (17, 2) => "CLD_KILLED",
        (17, 3) => "CLD_DUMPED",
        (17, 4) => "CLD_TRAPPED",
        (17, 5) => "CLD_STOPPED",
        (17, 6) => "CLD_CONTINUED",
        _ => return code.to_string(),
    };
    specific.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_kill_l() {
        assert_eq!(signal_name(1), Some("SIGHUP"));
        assert_eq!(signal_name(9), Some("SIGKILL"));
        assert_eq!(signal_name(31), Some("SIGSYS"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_display(34), "SIGRT_2");
        assert_eq!(si_code_name(11, 1), "SEGV_MAPERR");
        assert_eq!(si_code_name(1, 0), "SI_USER");
    }
}
