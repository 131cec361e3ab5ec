//! Signals in the user's terms: names as `kill -l` and `--signal` accept them, what each does by default
//! (signal(7)), and the kernel's result codes.

use tracer_common::signals::{MAX_SIGNO, SIG_DFL, SIG_IGN, result};

use crate::signames::signal_name;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
