//! A workload with exactly known syscalls, for tests and benchmarks. Uses raw libc calls so that what it
//! does is exactly what it says (no std buffering or retries).
//!
//!   workload [--wait-stdin] ACTION...
//!     getppid N              N getppid calls
//!     writes N               N writes of 14 bytes ("hello, tracer\n") to /dev/null
//!     failopen N PATH        N openat(AT_FDCWD, PATH, O_RDONLY) that must fail
//!     fork N                 fork a child that makes N getppid calls and exits 0; wait for it
//!     storm N                N getppid calls, then print `ns_per_call=X` (timed inside, no start-up cost)
//!     storm-open N PATH      N open+close of PATH, then print `ns_per_call=X` per open/close pair
//!     block-read             a second thread blocks in read(2) on a pipe; print `blocked tid=TID` and wait for
//!                            stdin to close
//!     sleep MS               nanosleep for MS milliseconds
//!     exit CODE              exit_group(CODE)
//!   --wait-stdin: print `pid=PID` then read one line from stdin before acting (lets a tracer attach first).

use std::{
    ffi::CString,
    io::{BufRead, Write},
    time::Instant,
};

fn arg<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>, what: &str) -> T {
    let text = args.next().unwrap_or_else(|| panic!("missing {what}"));
    text.parse().unwrap_or_else(|_| panic!("bad {what}: {text}"))
}

fn getppid_n(n: u64) {
    for _ in 0..n {
        // SAFETY: no arguments.
        unsafe { libc::getppid() };
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--wait-stdin") {
        args.next();
        println!("pid={}", std::process::id());
        std::io::stdout().flush().unwrap();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).unwrap();
    }
    while let Some(action) = args.next() {
        match action.as_str() {
            "getppid" => getppid_n(arg(&mut args, "count")),
            "writes" => {
                let n: u64 = arg(&mut args, "count");
                // SAFETY: valid C string; the fd is ours.
                let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
                assert!(fd >= 0, "open /dev/null");
                for _ in 0..n {
                    let written = unsafe { libc::write(fd, b"hello, tracer\n".as_ptr().cast(), 14) };
                    assert_eq!(written, 14);
                }
                unsafe { libc::close(fd) };
            }
            "failopen" => {
                let n: u64 = arg(&mut args, "count");
                let path = CString::new(args.next().expect("path")).unwrap();
                for _ in 0..n {
                    let fd = unsafe { libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY) };
                    assert!(fd < 0, "open of {path:?} succeeded");
                }
            }
            "fork" => {
                let n: u64 = arg(&mut args, "count");
                // SAFETY: the child only makes raw syscalls, then _exit.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0, "fork");
                if pid == 0 {
                    getppid_n(n);
                    unsafe { libc::_exit(0) };
                }
                let mut status = 0;
                unsafe { libc::waitpid(pid, &mut status, 0) };
            }
            "storm" => {
                let n: u64 = arg(&mut args, "count");
                let start = Instant::now();
                getppid_n(n);
                let ns = start.elapsed().as_nanos() as f64 / n as f64;
                println!("ns_per_call={ns:.1}");
            }
            "storm-open" => {
                let n: u64 = arg(&mut args, "count");
                let path = CString::new(args.next().expect("path")).unwrap();
                let start = Instant::now();
                for _ in 0..n {
                    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
                    if fd >= 0 {
                        unsafe { libc::close(fd) };
                    }
                }
                let ns = start.elapsed().as_nanos() as f64 / n as f64;
                println!("ns_per_call={ns:.1}");
            }
            "block-read" => {
                let mut fds = [0; 2];
                assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    tx.send(unsafe { libc::gettid() }).unwrap();
                    let mut byte = 0u8;
                    unsafe { libc::read(fds[0], (&mut byte as *mut u8).cast(), 1) };
                });
                let tid = rx.recv().unwrap();
                println!("blocked tid={tid}");
                std::io::stdout().flush().unwrap();
                let mut rest = String::new();
                let _ = std::io::stdin().lock().read_line(&mut rest);
            }
            "sleep" => std::thread::sleep(std::time::Duration::from_millis(arg(&mut args, "milliseconds"))),
            "exit" => unsafe { libc::_exit(arg(&mut args, "code")) },
            other => panic!("unknown action {other}"),
        }
    }
}
