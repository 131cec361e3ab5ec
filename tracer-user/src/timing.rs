//! `TRACER_TIMINGS=1` in the environment: how long start-up takes, phase by phase, on stderr. Start-up time is a
//! promise (`bench/ready.sh`: ready within 150 ms); this says where a regression went without strace's overhead.

use std::{sync::OnceLock, time::Instant};

struct Clock {
    start: Instant,
    enabled: bool,
}

fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| Clock { start: Instant::now(), enabled: std::env::var_os("TRACER_TIMINGS").is_some() })
}

/// Starts the clock: call first thing in `main`.
pub fn start() {
    clock();
}

/// Prints the time since `start` and what was just done, when `TRACER_TIMINGS` is set.
pub fn mark(what: &str) {
    let clock = clock();
    if clock.enabled {
        eprintln!("tracer: timing: {:7.1} ms {what}", clock.start.elapsed().as_secs_f64() * 1000.0);
    }
}
