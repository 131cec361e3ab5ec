//! Signals in the user's terms: names as `kill -l` lists them and `--signal` accepts them, `si_code` names as
//! strace prints them, what each does by default (signal(7)), the kernel's result codes, and wait(2)-style exit
//! status.

use tracer_common::{
    process::EXIT_CODE_UNKNOWN,
    signals::{MAX_SIGNO, SIG_DFL, SIG_IGN, flags, result, signal_bit},
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

/// Why the kernel itself sent a signal, from its number and si_code (`info_none`: sent without a siginfo, on
/// behalf of the current task): `fault`, `timer` (alarm, setitimer), `POSIX timer` (timer_create), `broken pipe`,
/// `CPU time limit`, `file size limit`, `I/O`, `seccomp`; None where the number and code do not tell (a SIGKILL
/// can be a CPU hard limit, a group exit or a seccomp kill; the terminal's and the OOM killer's are named apart).
pub fn kernel_reason(signo: i32, code: i32, info_none: bool) -> Option<&'static str> {
    const SI_KERNEL: i32 = 0x80;
    const SI_TIMER: i32 = -2;
    match (signo, code) {
        (_, SI_TIMER) => Some("POSIX timer"),
        (libc::SIGSYS, 1) => Some("seccomp"),
        (libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP, 1..SI_KERNEL) => Some("fault"),
        (libc::SIGALRM | libc::SIGVTALRM | libc::SIGPROF, SI_KERNEL) => Some("timer"),
        (libc::SIGXCPU, SI_KERNEL) => Some("CPU time limit"),
        (libc::SIGPIPE, _) if info_none => Some("broken pipe"),
        (libc::SIGXFSZ, _) if info_none => Some("file size limit"),
        // To an O_ASYNC file's owner: without a siginfo (SI_KERNEL), or with a POLL_* code (F_SETSIG).
        (libc::SIGIO, SI_KERNEL | 1..=6) => Some("I/O"),
        _ => None,
    }
}

/// strace's name of a `si_code` (its xlat tables for x86: the generic codes first, then the signal's own).
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
        -7 => Some("SI_DETHREAD"),
        -60 => Some("SI_ASYNCNL"),
        _ => None,
    };
    if let Some(name) = generic {
        return name.to_string();
    }
    const ILL: [&str; 8] = [
        "ILL_ILLOPC",
        "ILL_ILLOPN",
        "ILL_ILLADR",
        "ILL_ILLTRP",
        "ILL_PRVOPC",
        "ILL_PRVREG",
        "ILL_COPROC",
        "ILL_BADSTK",
    ];
    const FPE: [&str; 8] = [
        "FPE_INTDIV",
        "FPE_INTOVF",
        "FPE_FLTDIV",
        "FPE_FLTOVF",
        "FPE_FLTUND",
        "FPE_FLTRES",
        "FPE_FLTINV",
        "FPE_FLTSUB",
    ];
    const SEGV: [&str; 9] = [
        "SEGV_MAPERR",
        "SEGV_ACCERR",
        "SEGV_BNDERR",
        "SEGV_PKUERR",
        "SEGV_ACCADI",
        "SEGV_ADIDERR",
        "SEGV_ADIPERR",
        "SEGV_MTEAERR",
        "SEGV_MTESERR",
    ];
    const BUS: [&str; 5] = ["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"];
    const TRAP: [&str; 6] = ["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"];
    const CLD: [&str; 6] = ["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"];
    const POLL: [&str; 6] = ["POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"];
    const SYS: [&str; 2] = ["SYS_SECCOMP", "SYS_USER_DISPATCH"];
    let table: &[&str] = match signo {
        libc::SIGILL => &ILL,
        libc::SIGFPE => match code {
            14 => return "FPE_FLTUNK".to_string(),
            15 => return "FPE_CONDTRAP".to_string(),
            _ => &FPE,
        },
        libc::SIGSEGV => &SEGV,
        libc::SIGBUS => &BUS,
        libc::SIGTRAP => &TRAP,
        libc::SIGCHLD => &CLD,
        libc::SIGIO => &POLL,
        libc::SIGSYS => &SYS,
        _ => &[],
    };
    match usize::try_from(code).ok().and_then(|c| c.checked_sub(1)).and_then(|i| table.get(i)) {
        Some(name) => (*name).to_string(),
        None => code.to_string(),
    }
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

/// One `--signal` list: `HUP,TERM` selects those signals; `!CHLD,WINCH` every signal but those (a leading `!`
/// negates the whole list, as strace's `-e signal=!...` does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalList {
    pub negated: bool,
    pub signals: Vec<i32>,
}

pub fn parse_signal_list(text: &str) -> Result<SignalList, String> {
    let trimmed = text.trim();
    let (negated, rest) = match trimmed.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if rest.contains('!') {
        return Err(format!(
            "'{text}': `!` goes once, first, and negates the whole list (`!CHLD,WINCH`); give a second --signal \
             for another list"
        ));
    }
    let signals = rest.split(',').map(parse_signal).collect::<Result<Vec<i32>, String>>()?;
    if negated && signals.contains(&0) {
        return Err(format!("'{text}': 0 is not a signal to leave out"));
    }
    Ok(SignalList { negated, signals })
}

/// The signals several `--signal` lists select, as a `signal_bit` set: the named ones (every signal when no list
/// names any), less every negated list's. `hidden` (SIGCHLD unless asked for) is left out unless a positive list
/// names it.
pub fn signal_selection(lists: &[SignalList], hidden: u64) -> u64 {
    let named = lists.iter().filter(|l| !l.negated).flat_map(|l| &l.signals).fold(0, |set, &n| set | signal_bit(n));
    let excluded = lists.iter().filter(|l| l.negated).flat_map(|l| &l.signals).fold(0, |set, &n| set | signal_bit(n));
    let base = if lists.iter().any(|l| !l.negated) { named } else { !hidden };
    base & !excluded
}

/// The signals a set leaves out, for a `ready` line: `SIGCHLD, SIGWINCH`.
pub fn signals_left_out(set: u64) -> Vec<String> {
    (1..=MAX_SIGNO).filter(|&n| set & signal_bit(n) == 0).map(signal_display).collect()
}

/// The signals whose default action ends the process (terminate, core): the only ones an exit status can name.
pub fn fatal_by_default() -> u64 {
    (1..=MAX_SIGNO)
        .filter(|&n| matches!(Action::default_for(n), Action::Terminate | Action::Core))
        .fold(0, |set, n| set | signal_bit(n))
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

/// What became of a generated signal in JSON's words (`result`), for every command: the kernel's
/// `TRACE_SIGNAL_*`, except that a SIGCONT that resumed a stopped process is `continued` whatever the kernel says
/// (it says `ignored` when the action is the default, yet the process runs again), and one the target blocks is
/// `blocked` (unless another thread of a group may take a process-wide signal). `group`: sent to the whole process.
pub fn signal_result(code: i32, signal_flags: u32, group: bool) -> &'static str {
    if signal_flags & flags::CONTINUED != 0 {
        return "continued";
    }
    let blocked = code == result::DELIVERED
        && signal_flags & flags::TARGET_BLOCKS != 0
        && (!group || signal_flags & flags::MULTI_THREADED == 0);
    if blocked { "blocked" } else { result_name(code) }
}

/// The text for a generated signal's `result` (from [`signal_result`]) and its target's action
/// ([`Action::as_str`]): one wording for
/// `tracer signals` and `tracer monitor`.
pub fn signal_result_text(result: &str, action: Option<&str>) -> String {
    match (result, action) {
        ("continued", _) => "continued (it was stopped)".to_string(),
        ("delivered" | "lose_info", Some("handler")) => format!("{result} (handler)"),
        ("delivered" | "lose_info", Some(action)) => format!("{result} (default: {action})"),
        ("blocked", _) => "blocked (pending until unblocked)".to_string(),
        ("already_pending", _) => "already pending".to_string(),
        ("overflow", _) => "not queued: queue full".to_string(),
        (other, _) => other.to_string(),
    }
}

/// The key that makes a terminal send `signo` to its foreground process group (the default `stty` settings),
/// or what else the terminal sends it for.
pub fn terminal_cause(signo: i32) -> Option<&'static str> {
    match signo {
        2 => Some("Ctrl-C"),
        3 => Some("Ctrl-\\"),
        20 => Some("Ctrl-Z"),
        28 => Some("resize"),
        _ => None,
    }
}

/// `pts/3` for the kernel's `pts3`; other terminals (`tty1`, `ttyS0`) as the kernel names them, as ps prints them.
pub fn terminal_name(kernel_name: &str) -> String {
    match kernel_name.strip_prefix("pts") {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => format!("pts/{n}"),
        _ => kernel_name.to_string(),
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
    fn kernel_reasons_come_from_the_number_and_code() {
        assert_eq!(kernel_reason(libc::SIGSEGV, 1, false), Some("fault"));
        assert_eq!(kernel_reason(libc::SIGSEGV, 0x80, false), None, "a SIGSEGV the kernel sent, not a fault");
        assert_eq!(kernel_reason(libc::SIGALRM, 0x80, false), Some("timer"));
        assert_eq!(kernel_reason(libc::SIGALRM, -2, false), Some("POSIX timer"));
        assert_eq!(kernel_reason(libc::SIGRTMIN() + 1, -2, false), Some("POSIX timer"));
        assert_eq!(kernel_reason(libc::SIGPIPE, 0, true), Some("broken pipe"));
        assert_eq!(kernel_reason(libc::SIGXFSZ, 0, true), Some("file size limit"));
        assert_eq!(kernel_reason(libc::SIGXCPU, 0x80, false), Some("CPU time limit"));
        assert_eq!(kernel_reason(libc::SIGIO, 0x80, false), Some("I/O"));
        assert_eq!(kernel_reason(libc::SIGSYS, 1, false), Some("seccomp"));
        assert_eq!(kernel_reason(libc::SIGKILL, 0x80, false), None, "a SIGKILL does not say why");
        assert_eq!(kernel_reason(libc::SIGHUP, 0x80, false), None);
    }

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
    fn signal_lists_negate_as_strace() {
        let list = |t| parse_signal_list(t).unwrap();
        assert_eq!(list("HUP,TERM"), SignalList { negated: false, signals: vec![1, 15] });
        assert_eq!(list("!SIGCHLD,WINCH"), SignalList { negated: true, signals: vec![17, 28] });
        assert!(parse_signal_list("HUP,!CHLD").is_err());
        assert!(parse_signal_list("!").is_err());
        assert!(parse_signal_list("!0").is_err());
        let chld = signal_bit(17);
        assert_eq!(signal_selection(&[], chld), !chld);
        assert_eq!(signal_selection(&[list("!CHLD")], 0), !chld);
        assert_eq!(signal_selection(&[list("!WINCH")], chld), !chld & !signal_bit(28));
        assert_eq!(signal_selection(&[list("CHLD,HUP")], chld), chld | 1);
        assert_eq!(signal_selection(&[list("HUP,TERM"), list("!TERM")], chld), 1);
        assert_eq!(signals_left_out(!chld & !signal_bit(28)), ["SIGCHLD", "SIGWINCH"]);
    }

    #[test]
    fn results_read_the_same_everywhere() {
        assert_eq!(signal_result(result::IGNORED, flags::CONTINUED, true), "continued");
        assert_eq!(signal_result(result::DELIVERED, flags::CONTINUED, true), "continued");
        assert_eq!(signal_result(result::IGNORED, 0, true), "ignored");
        assert_eq!(signal_result(result::DELIVERED, flags::TARGET_BLOCKS, true), "blocked");
        let threads = flags::TARGET_BLOCKS | flags::MULTI_THREADED;
        assert_eq!(signal_result(result::DELIVERED, threads, true), "delivered");
        assert_eq!(signal_result(result::DELIVERED, threads, false), "blocked");
        assert_eq!(signal_result_text("continued", Some("continue")), "continued (it was stopped)");
        assert_eq!(signal_result_text("delivered", Some("terminate")), "delivered (default: terminate)");
        assert_eq!(terminal_name("pts3"), "pts/3");
        assert_eq!(terminal_name("ttyS0"), "ttyS0");
        assert_eq!(terminal_cause(3), Some("Ctrl-\\"));
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
