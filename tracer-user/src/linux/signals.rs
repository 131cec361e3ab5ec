//! Signals in the user's terms: names as `kill -l` lists them and `--signal` accepts them, `si_code` names as
//! strace prints them, what each does by default (signal(7)), the kernel's result codes, and wait(2)-style exit
//! status.

use tracer_common::{
    process::EXIT_CODE_UNKNOWN,
    signals::{MAX_SIGNO, SIG_DFL, SIG_IGN, result},
};

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

/// glibc's SIGRTMIN: the kernel's first two real-time signals belong to the thread library.
const RTMIN: i32 = 34;

/// A signal number from `HUP`, `SIGHUP`, `sighup`, `1`, `RTMIN+2`, `SIGRTMAX-1` or `SIGRT_5` (as tracer prints
/// real-time signals); 0 is accepted (the existence probe of `kill -0`).
pub fn parse_signal(text: &str) -> Result<i32, String> {
    let text = text.trim();
    if let Ok(number) = text.parse::<i32>() {
        return if (0..=MAX_SIGNO).contains(&number) {
            Ok(number)
        } else {
            Err(format!("signal number {number} is out of range (0 to {MAX_SIGNO})"))
        };
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let found = match name {
        "IOT" => Some(6),
        "CLD" => Some(17),
        "POLL" => Some(29),
        _ => (1..=31).find(|&n| signal_name(n).and_then(|s| s.strip_prefix("SIG")) == Some(name)),
    };
    let found = found.or_else(|| {
        let offset = |rest: &str, sign: char| match rest {
            "" => Some(0),
            _ => rest.strip_prefix(sign)?.parse::<i32>().ok(),
        };
        if let Some(rest) = name.strip_prefix("RTMIN") {
            offset(rest, '+').map(|n| RTMIN + n)
        } else if let Some(rest) = name.strip_prefix("RTMAX") {
            offset(rest, '-').map(|n| MAX_SIGNO - n)
        } else {
            name.strip_prefix("RT_").and_then(|n| n.parse::<i32>().ok()).map(|n| 32 + n)
        }
    });
    match found {
        Some(n) if (1..=MAX_SIGNO).contains(&n) => Ok(n),
        _ => Err(format!("unknown signal '{text}' (try a name as `kill -l` lists it, or a number)")),
    }
}

/// What a process does when it takes a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Handler,
    Ignore,
    Terminate,
    Core,
    Stop,
    Continue,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Handler => "handler",
            Action::Ignore => "ignore",
            Action::Terminate => "terminate",
            Action::Core => "core",
            Action::Stop => "stop",
            Action::Continue => "continue",
        }
    }

    /// The default action of a signal (signal(7)).
    pub fn default_for(signo: i32) -> Action {
        match signo {
            3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => Action::Core,
            17 | 23 | 28 => Action::Ignore,
            18 => Action::Continue,
            19..=22 => Action::Stop,
            _ => Action::Terminate,
        }
    }

    /// The action of a process whose `sa_handler` for `signo` is `handler`.
    pub fn of(signo: i32, handler: u64) -> Action {
        match handler {
            SIG_DFL => Action::default_for(signo),
            SIG_IGN => Action::Ignore,
            _ => Action::Handler,
        }
    }
}

/// The kernel's `TRACE_SIGNAL_*` result, in JSON's words.
pub fn result_name(code: i32) -> &'static str {
    match code {
        result::DELIVERED => "delivered",
        result::IGNORED => "ignored",
        result::ALREADY_PENDING => "already_pending",
        result::OVERFLOW_FAIL => "overflow",
        result::LOSE_INFO => "lose_info",
        _ => "unknown",
    }
}

/// wait(2)-style status from `task->exit_code`: (exit code, killing signal, core dumped).
pub fn split_exit_code(raw: i32) -> (Option<i32>, Option<i32>, bool) {
    if raw == EXIT_CODE_UNKNOWN {
        return (None, None, false);
    }
    let signal = raw & 0x7f;
    if signal == 0 { (Some((raw >> 8) & 0xff), None, false) } else { (None, Some(signal), raw & 0x80 != 0) }
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

    #[test]
    fn parses_names_like_kill() {
        assert_eq!(parse_signal("HUP"), Ok(1));
        assert_eq!(parse_signal("SIGHUP"), Ok(1));
        assert_eq!(parse_signal("sigkill"), Ok(9));
        assert_eq!(parse_signal("9"), Ok(9));
        assert_eq!(parse_signal("0"), Ok(0));
        assert_eq!(parse_signal(" usr1 "), Ok(10));
        assert_eq!(parse_signal("CLD"), Ok(17));
        assert_eq!(parse_signal("RTMIN"), Ok(34));
        assert_eq!(parse_signal("SIGRTMIN+3"), Ok(37));
        assert_eq!(parse_signal("RTMAX-1"), Ok(63));
        assert_eq!(parse_signal("SIGRT_5"), Ok(37));
        assert!(parse_signal("65").is_err());
        assert!(parse_signal("-1").is_err());
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("RTMIN+40").is_err());
        assert!(parse_signal("").is_err());
    }

    #[test]
    fn actions_follow_signal_7() {
        assert_eq!(Action::of(1, SIG_DFL), Action::Terminate);
        assert_eq!(Action::of(11, SIG_DFL), Action::Core);
        assert_eq!(Action::of(17, SIG_DFL), Action::Ignore);
        assert_eq!(Action::of(18, SIG_DFL), Action::Continue);
        assert_eq!(Action::of(20, SIG_DFL), Action::Stop);
        assert_eq!(Action::of(40, SIG_DFL), Action::Terminate);
        assert_eq!(Action::of(1, SIG_IGN), Action::Ignore);
        assert_eq!(Action::of(1, 0x5555_0000_1000), Action::Handler);
        assert_eq!(result_name(0), "delivered");
        assert_eq!(result_name(2), "already_pending");
    }

    #[test]
    fn splits_exit_codes_as_wait_does() {
        assert_eq!(split_exit_code(3 << 8), (Some(3), None, false));
        assert_eq!(split_exit_code(9), (None, Some(9), false));
        assert_eq!(split_exit_code(1), (None, Some(1), false));
        assert_eq!(split_exit_code(11 | 0x80), (None, Some(11), true));
        assert_eq!(split_exit_code(EXIT_CODE_UNKNOWN), (None, None, false));
    }
}
