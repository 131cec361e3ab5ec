//! A workload with exactly known syscalls, for tests and benchmarks. Uses raw libc calls so that what it
//! does is exactly what it says (no std buffering or retries).
//!
//!   workload [--wait-stdin] ACTION...
//!     getppid N              N getppid calls
//!     writes N               N writes of 14 bytes ("hello, tracer\n") to /dev/null
//!     failopen N PATH        N openat(AT_FDCWD, PATH, O_RDONLY) that must fail
//!     fork N                 fork a child that makes N getppid calls and exits 0; wait for it
//!     fork-storm SECS        name itself `fork-storm` (children inherit the name), then fork children that exit 0
//!                            at once, one after another, for SECS seconds; print `forks=N per_sec=X`
//!     spawn-threads T N PATH T threads, each running PATH (fork, execv without arguments, waitpid) N/T times;
//!                            print `spawned=N per_sec=X`
//!     storm N                N getppid calls, then print `ns_per_call=X` (timed inside, no start-up cost)
//!     storm-open N PATH      N open+close of PATH, then print `ns_per_call=X` per open/close pair
//!     storm-lseek N          N lseek(fd, 0, SEEK_SET) on /dev/null (an fd argument: what `-y` identifies); also
//!                            prints `cpu_ns_per_call=X` (the thread's CPU time)
//!     block-read             a second thread blocks in read(2) on a pipe; print `blocked tid=TID` and wait for
//!                            stdin to close
//!     sleep MS               nanosleep for MS milliseconds
//!     exit CODE              exit_group(CODE)
//!     storm-cpu N            like storm, timed in the thread's CPU time (steady on a busy machine)
//!     handle SIG             install a handler for signal number SIG that prints `caught SIG`; print `handling SIG`
//!     ignore-signal SIG      set SIG to SIG_IGN; print `ignoring SIG`
//!     block-signal SIG       block SIG; print `blocking SIG`
//!     segv                   read address 8 (a null pointer's field) with SIGSEGV's default action and no core
//!     segv-write-null        write through a null pointer (address 0) with SIGSEGV's default action and no core
//!     sigpipe                write to a pipe whose read end is closed, with SIGPIPE's default action
//!     itimer MS              setitimer(ITIMER_REAL, MS ms) with SIGALRM's default action, then pause: the kernel's
//!                            SIGALRM (SI_KERNEL) ends the process
//!     posix-timer MS         timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL SIGALRM) armed for MS ms with SIGALRM's
//!                            default action, then pause: the timer's SIGALRM (SI_TIMER) ends the process
//!     raise SIG              raise(SIG): tgkill to itself (with `handle SIG`, the handler returns by rt_sigreturn)
//!     getpid-zeroed-registers  getpid with every argument register zero; print `getpid=PID`
//!     kill PID SIG           kill(PID, SIG); print `kill=RET errno=E` (PID `self`: the workload's own)
//!     sigqueue PID SIG       sigqueue(PID, SIG, 42) (rt_sigqueueinfo, SI_QUEUE) (PID `self`: the workload's own)
//!     fork-killed            fork a child that pauses, kill it with SIGKILL, wait for it
//!     seccomp-trap           a seccomp filter that traps getppid with data 1 (SECCOMP_RET_TRAP), then getppid with
//!                            SIGSYS's default action and no core: SIGSYS (SYS_SECCOMP, si_errno 1) ends the process
//!     pidfd-kill PID SIG     pidfd_open(PID) then pidfd_send_signal
//!     drop-privileges        become nobody (uid and gid 65534, no groups)
//!     comm NAME              set the thread's name (comm) to NAME
//!     open PATH              open(PATH, O_RDONLY|O_CLOEXEC), print `open=FD errno=E`, close it
//!     create PATH            open(PATH, O_WRONLY|O_CREAT|O_TRUNC, 0644), print `open=FD errno=E`, close it
//!     openat-dirfd DIR NAME  open DIR (O_DIRECTORY), then openat(dirfd, NAME, O_RDONLY); print as for open
//!     chdir-open DIR REL     chdir(DIR), then open(REL, O_RDONLY); print as for open
//!     getcwd DIR             chdir(DIR), then getcwd into a 4096-byte buffer
//!     storm-open-cpu N PATH  like storm-open, timed in the thread's CPU time
//!     hold PATH              open PATH read-only, print `holding fd=FD`, keep it open until stdin closes
//!     grow-fds N             dup stdin N times and keep the copies open (more than 64 fds: the kernel moves the
//!                            fd table out of `files_struct` into one it allocates); print `fds=N`
//!     tcp-storm N            N loopback TCP connections, each connected, accepted, closed (server side first, so
//!                            that no client port is left in TIME-WAIT); print `ns_per_conn=X`
//!     proc-tree              a known process tree, each step finished before the next, printing what it made:
//!                            a thread (`thread=TID`); a child exiting 3 (`exit3=PID`); a child exec'ing
//!                            `/bin/sh -c 'exit 5'` (`exec=PID`); a daemon's double fork, the middle child exiting
//!                            0 after a setsid and the grandchild exiting 0 once the middle one is gone
//!                            (`daemon=PID grandchild=PID`); a child killed by SIGKILL (`killed=PID`); `tree done`
//!     bytes-stats PATH       getppid (a marker), then: open PATH, read 64 bytes of it, fstat it, close it;
//!                            stat PATH; statx PATH (STATX_BASIC_STATS|STATX_BTIME); stat /dev/null; write to
//!                            /dev/null text with whitespace escapes, UTF-8 text, binary bytes (what -x, -xx, -v show)
//!     write-untouched PATH   map PATH's first page without reading it, write 14 bytes of it to /dev/null, read a
//!                            byte of it, write the 14 bytes again
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

/// A pid argument: a number, or `self` for the workload's own.
fn pid_arg(args: &mut impl Iterator<Item = String>) -> libc::pid_t {
    match args.next().as_deref() {
        // SAFETY: no arguments.
        Some("self") => unsafe { libc::getpid() },
        Some(text) => text.parse().unwrap_or_else(|_| panic!("bad pid: {text}")),
        None => panic!("missing pid"),
    }
}

fn getppid_n(n: u64) {
    for _ in 0..n {
        // SAFETY: no arguments.
        unsafe { libc::getppid() };
    }
}

/// Says which signal arrived, with write(2) only (async-signal-safe): `caught N`.
extern "C" fn on_signal(sig: libc::c_int) {
    let mut line = *b"caught ....";
    let mut len = 7;
    if sig >= 10 {
        line[len] = b'0' + (sig / 10 % 10) as u8;
        len += 1;
    }
    line[len] = b'0' + (sig % 10) as u8;
    line[len + 1] = b'\n';
    // SAFETY: a buffer we own.
    unsafe { libc::write(1, line.as_ptr().cast(), len + 2) };
}

/// Prints an open's result (`open=FD errno=0`, or `open=-1 errno=E`) and closes the fd.
fn report_open(fd: libc::c_int) {
    let errno = if fd < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(0) } else { 0 };
    println!("open={fd} errno={errno}");
    std::io::stdout().flush().unwrap();
    if fd >= 0 {
        unsafe { libc::close(fd) };
    }
}

/// Forks a child that runs `child` and `_exit`s with what it returns.
fn fork_child(child: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: the child makes raw syscalls (and, in `proc-tree`'s exec, execve) before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = child();
        unsafe { libc::_exit(code) };
    }
    pid
}

fn wait_child(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    // SAFETY: our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid, "waitpid");
    status
}

/// `proc-tree`: see the usage above. Lines are written with write(2) so that a child's reach the pipe before it
/// exits.
fn proc_tree() {
    let say = |text: String| {
        let line = format!("{text}\n");
        // SAFETY: a buffer we own.
        unsafe { libc::write(1, line.as_ptr().cast(), line.len()) };
    };
    let thread = std::thread::spawn(|| unsafe { libc::gettid() });
    say(format!("thread={}", thread.join().unwrap()));

    let child = fork_child(|| 3);
    say(format!("exit3={child}"));
    wait_child(child);

    let child = fork_child(|| {
        let argv = [c"sh".as_ptr(), c"-c".as_ptr(), c"exit 5".as_ptr(), std::ptr::null()];
        // SAFETY: NUL-terminated strings and argument list.
        unsafe { libc::execv(c"/bin/sh".as_ptr(), argv.as_ptr()) };
        127
    });
    say(format!("exec={child}"));
    wait_child(child);

    // The daemon's double fork: the grandchild waits (on a pipe) until the middle child is gone.
    let mut fds = [0; 2];
    // SAFETY: an array of two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let middle = fork_child(|| {
        unsafe { libc::setsid() };
        let grandchild = fork_child(|| {
            unsafe { libc::close(fds[1]) };
            let mut byte = 0u8;
            // Returns 0 (end of file) when the middle child and the parent closed their write ends.
            unsafe { libc::read(fds[0], (&mut byte as *mut u8).cast(), 1) };
            0
        });
        let line = format!("grandchild={grandchild}\n");
        unsafe { libc::write(1, line.as_ptr().cast(), line.len()) };
        0
    });
    unsafe { libc::close(fds[1]) };
    wait_child(middle);
    say(format!("daemon={middle}"));
    // The grandchild ends on its own, now that every write end is closed.
    unsafe { libc::close(fds[0]) };

    let child = fork_child(|| {
        unsafe { libc::pause() };
        0
    });
    say(format!("killed={child}"));
    unsafe { libc::kill(child, libc::SIGKILL) };
    wait_child(child);
    say("tree done".to_string());
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
                let message = resident(b"hello, tracer\n");
                for _ in 0..n {
                    let written = unsafe { libc::write(fd, message.as_ptr().cast(), 14) };
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
            "fork-storm" => {
                let secs: f64 = arg(&mut args, "seconds");
                // SAFETY: a NUL-terminated name of at most 16 bytes.
                unsafe { libc::prctl(libc::PR_SET_NAME, c"fork-storm".as_ptr()) };
                let start = Instant::now();
                let mut forks = 0u64;
                while start.elapsed().as_secs_f64() < secs {
                    wait_child(fork_child(|| 0));
                    forks += 1;
                }
                println!("forks={forks} per_sec={:.0}", forks as f64 / start.elapsed().as_secs_f64());
            }
            "spawn-threads" => {
                let threads: u64 = arg(&mut args, "threads");
                let n: u64 = arg(&mut args, "count");
                let path = std::ffi::CString::new(args.next().expect("PATH")).expect("a path without NUL");
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        scope.spawn(|| {
                            let argv = [path.as_ptr(), std::ptr::null()];
                            for _ in 0..n / threads {
                                // SAFETY: the child only calls execv (async-signal-safe), then _exit.
                                let code = wait_child(fork_child(|| {
                                    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
                                    127
                                }));
                                assert_eq!(code, 0, "{path:?} failed");
                            }
                        });
                    }
                });
                let spawned = n / threads * threads;
                println!("spawned={spawned} per_sec={:.0}", spawned as f64 / start.elapsed().as_secs_f64());
            }
            "storm" => {
                let n: u64 = arg(&mut args, "count");
                let start = Instant::now();
                getppid_n(n);
                let ns = start.elapsed().as_nanos() as f64 / n as f64;
                println!("ns_per_call={ns:.1}");
            }
            "storm-lseek" => {
                // A call with an fd argument (what -y identifies), on /dev/null.
                let n: u64 = arg(&mut args, "count");
                let file = std::fs::File::open("/dev/null").unwrap();
                let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
                let cpu_ns = || {
                    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
                };
                let (start, cpu_start) = (Instant::now(), cpu_ns());
                for _ in 0..n {
                    unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
                }
                let ns = start.elapsed().as_nanos() as f64 / n as f64;
                // Also in the thread's CPU time: steady on a busy machine.
                println!("ns_per_call={ns:.1} cpu_ns_per_call={:.1}", (cpu_ns() - cpu_start) / n as f64);
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
            "storm-cpu" => {
                // Like storm, timed in this thread's CPU time: preemption by other work on the machine is not counted.
                let n: u64 = arg(&mut args, "count");
                let cpu_ns = || {
                    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
                };
                let start = cpu_ns();
                getppid_n(n);
                println!("ns_per_call={:.1}", (cpu_ns() - start) / n as f64);
            }
            "handle" => {
                let sig: libc::c_int = arg(&mut args, "signal number");
                // SAFETY: the handler only calls write(2), which is async-signal-safe.
                let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                assert_ne!(unsafe { libc::signal(sig, handler) }, libc::SIG_ERR, "signal({sig})");
                println!("handling {sig}");
            }
            "ignore-signal" => {
                let sig: libc::c_int = arg(&mut args, "signal number");
                assert_ne!(unsafe { libc::signal(sig, libc::SIG_IGN) }, libc::SIG_ERR, "signal({sig})");
                println!("ignoring {sig}");
            }
            "block-signal" => {
                let sig: libc::c_int = arg(&mut args, "signal number");
                // SAFETY: a sigset_t we own, filled by sigemptyset.
                let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
                unsafe { libc::sigemptyset(&mut set) };
                unsafe { libc::sigaddset(&mut set, sig) };
                assert_eq!(unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) }, 0);
                println!("blocking {sig}");
            }
            "segv" => {
                // The default action (Rust's runtime handles SIGSEGV to report stack overflows), and no core file.
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
                unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
                // A field read through a null pointer: address 8 is in the never-mapped first page.
                let field = std::hint::black_box(8usize) as *const u8;
                unsafe { std::ptr::read_volatile(field) };
                unreachable!("reading address 8 did not fault");
            }
            "segv-write-null" => {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
                unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
                let null = std::hint::black_box(0usize) as *mut u8;
                unsafe { std::ptr::write_volatile(null, 1) };
                unreachable!("writing address 0 did not fault");
            }
            "fork-killed" => {
                // SAFETY: pause is async-signal-safe; the child never returns from it.
                let child = fork_child(|| {
                    loop {
                        unsafe { libc::pause() };
                    }
                });
                assert_eq!(unsafe { libc::kill(child, libc::SIGKILL) }, 0, "kill({child}, SIGKILL)");
                wait_child(child);
            }
            "seccomp-trap" => {
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
                unsafe { libc::signal(libc::SIGSYS, libc::SIG_DFL) };
                let statement = |code: u32, k: u32| libc::sock_filter { code: code as u16, jt: 0, jf: 0, k };
                // seccomp_data.nr at offset 0; getppid traps, everything else is allowed.
                let filter = [
                    statement(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
                    libc::sock_filter {
                        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                        jt: 0,
                        jf: 1,
                        k: libc::SYS_getppid as u32,
                    },
                    statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_TRAP | 1),
                    statement(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
                ];
                let program = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr().cast_mut() };
                assert_eq!(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }, 0, "PR_SET_NO_NEW_PRIVS");
                let ret = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &program) };
                assert_eq!(ret, 0, "PR_SET_SECCOMP");
                unsafe { libc::getppid() };
                unreachable!("the trapped getppid did not kill the process");
            }
            "sigpipe" => {
                // Rust's runtime ignores SIGPIPE; restore the default, then write to a pipe nobody reads.
                unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
                let mut fds = [0; 2];
                assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
                unsafe { libc::close(fds[0]) };
                unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) };
                unreachable!("the write to a closed pipe did not kill the process");
            }
            "itimer" => {
                let ms: libc::suseconds_t = arg(&mut args, "milliseconds");
                unsafe { libc::signal(libc::SIGALRM, libc::SIG_DFL) };
                let once = libc::itimerval {
                    it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
                    it_value: libc::timeval { tv_sec: ms / 1000, tv_usec: ms % 1000 * 1000 },
                };
                assert_eq!(unsafe { libc::setitimer(libc::ITIMER_REAL, &once, std::ptr::null_mut()) }, 0);
                loop {
                    unsafe { libc::pause() };
                }
            }
            "posix-timer" => {
                let ms: libc::c_long = arg(&mut args, "milliseconds");
                unsafe { libc::signal(libc::SIGALRM, libc::SIG_DFL) };
                // SAFETY: a sigevent we own, zeroed then filled; timer_create writes the timer id we pass.
                let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
                event.sigev_notify = libc::SIGEV_SIGNAL;
                event.sigev_signo = libc::SIGALRM;
                let mut timer: libc::timer_t = std::ptr::null_mut();
                assert_eq!(unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) }, 0);
                let once = libc::itimerspec {
                    it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
                    it_value: libc::timespec { tv_sec: ms / 1000, tv_nsec: ms % 1000 * 1_000_000 },
                };
                assert_eq!(unsafe { libc::timer_settime(timer, 0, &once, std::ptr::null_mut()) }, 0);
                loop {
                    unsafe { libc::pause() };
                }
            }
            "raise" => {
                let sig: libc::c_int = arg(&mut args, "signal number");
                assert_eq!(unsafe { libc::raise(sig) }, 0, "raise({sig})");
            }
            "getpid-zeroed-registers" => {
                // Every argument register zero at the syscall instruction: a real call, as `getpid()` shows it.
                let pid: i64;
                // SAFETY: getpid(2) takes no arguments and touches no memory; rcx and r11 are the syscall
                // instruction's, declared clobbered.
                unsafe {
                    std::arch::asm!(
                        "syscall",
                        inlateout("rax") libc::SYS_getpid => pid,
                        in("rdi") 0u64, in("rsi") 0u64, in("rdx") 0u64, in("r10") 0u64, in("r8") 0u64, in("r9") 0u64,
                        lateout("rcx") _, lateout("r11") _,
                        options(nostack),
                    )
                };
                println!("getpid={pid}");
            }
            "kill" => {
                let (pid, sig): (libc::pid_t, libc::c_int) = (pid_arg(&mut args), arg(&mut args, "signal number"));
                let ret = unsafe { libc::kill(pid, sig) };
                println!("kill={ret} errno={}", std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
            "sigqueue" => {
                let (pid, sig): (libc::pid_t, libc::c_int) = (pid_arg(&mut args), arg(&mut args, "signal number"));
                let value = libc::sigval { sival_ptr: std::ptr::without_provenance_mut(42) };
                assert_eq!(unsafe { libc::sigqueue(pid, sig, value) }, 0, "sigqueue({pid}, {sig})");
            }
            "pidfd-kill" => {
                let (pid, sig): (libc::pid_t, libc::c_int) = (arg(&mut args, "pid"), arg(&mut args, "signal number"));
                let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
                assert!(fd >= 0, "pidfd_open({pid})");
                let ret = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, sig, std::ptr::null::<u8>(), 0) };
                assert_eq!(ret, 0, "pidfd_send_signal({pid}, {sig})");
                unsafe { libc::close(fd as libc::c_int) };
            }
            "drop-privileges" => {
                // nobody/nogroup: sends to root's processes fail with EPERM from here on.
                assert_eq!(unsafe { libc::setgroups(0, std::ptr::null()) }, 0, "setgroups");
                assert_eq!(unsafe { libc::setgid(65534) }, 0, "setgid");
                assert_eq!(unsafe { libc::setuid(65534) }, 0, "setuid");
            }
            "comm" => {
                let name = CString::new(args.next().expect("name")).unwrap();
                assert_eq!(unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) }, 0, "PR_SET_NAME");
            }
            "storm-open-cpu" => {
                let n: u64 = arg(&mut args, "count");
                let path = CString::new(args.next().expect("path")).unwrap();
                let cpu_ns = || {
                    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
                };
                let start = cpu_ns();
                for _ in 0..n {
                    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
                    if fd >= 0 {
                        unsafe { libc::close(fd) };
                    }
                }
                println!("ns_per_call={:.1}", (cpu_ns() - start) / n as f64);
            }
            "grow-fds" => {
                let n: u64 = arg(&mut args, "count");
                for _ in 0..n {
                    // SAFETY: dup of an fd we hold; the copies stay open until exit.
                    assert!(unsafe { libc::dup(0) } >= 0, "dup");
                }
                println!("fds={n}");
            }
            "open" | "create" => {
                let path = CString::new(args.next().expect("path")).unwrap();
                let flags = if action == "create" {
                    libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC
                } else {
                    libc::O_RDONLY | libc::O_CLOEXEC
                };
                report_open(unsafe { libc::open(path.as_ptr(), flags, 0o644) });
            }
            "openat-dirfd" => {
                let dir = CString::new(args.next().expect("dir")).unwrap();
                let name = CString::new(args.next().expect("name")).unwrap();
                let dirfd = unsafe { libc::open(dir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
                assert!(dirfd >= 0, "open {dir:?}");
                report_open(unsafe { libc::openat(dirfd, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) });
                unsafe { libc::close(dirfd) };
            }
            "chdir-open" => {
                let dir = CString::new(args.next().expect("dir")).unwrap();
                let rel = CString::new(args.next().expect("relative path")).unwrap();
                assert_eq!(unsafe { libc::chdir(dir.as_ptr()) }, 0, "chdir {dir:?}");
                report_open(unsafe { libc::open(rel.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) });
            }
            "getcwd" => {
                let dir = CString::new(args.next().expect("dir")).unwrap();
                assert_eq!(unsafe { libc::chdir(dir.as_ptr()) }, 0, "chdir {dir:?}");
                let mut buf = [0u8; 4096];
                assert!(!unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) }.is_null(), "getcwd");
            }
            "hold" => {
                let path = CString::new(args.next().expect("path")).unwrap();
                let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
                assert!(fd >= 0, "open {path:?}");
                println!("holding fd={fd}");
                std::io::stdout().flush().unwrap();
                let mut rest = String::new();
                let _ = std::io::stdin().lock().read_line(&mut rest);
                unsafe { libc::close(fd) };
            }
            "tcp-storm" => {
                let n: u64 = arg(&mut args, "count");
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
                let addr = listener.local_addr().unwrap();
                let start = Instant::now();
                for _ in 0..n {
                    let client = std::net::TcpStream::connect(addr).expect("connect");
                    let (server, _) = listener.accept().expect("accept");
                    drop(server);
                    drop(client);
                }
                let ns = start.elapsed().as_nanos() as f64 / n as f64;
                println!("ns_per_conn={ns:.1}");
            }
            "proc-tree" => proc_tree(),
            "bytes-stats" => bytes_stats(&CString::new(args.next().expect("path")).unwrap()),
            "write-untouched" => write_untouched(&CString::new(args.next().expect("path")).unwrap()),
            other => panic!("unknown action {other}"),
        }
    }
}

/// A copy of `bytes` in memory this process has written. A write to /dev/null never reads its buffer, so a
/// literal's page of the binary may never be mapped (the kernel maps the pages around a fault only when it can take
/// each one's lock at once: a second copy of this binary starting beside it can hold one), and a probe cannot fault
/// a page in: the tracer would rightly show the buffer by address (see `write-untouched`).
fn resident(bytes: &[u8]) -> Vec<u8> {
    bytes.to_vec()
}

/// Maps PATH's first page without touching it and writes 14 bytes of it to /dev/null (the page is still not
/// mapped in: /dev/null does not read), then reads a byte of the page and writes the same 14 bytes again.
fn write_untouched(path: &std::ffi::CStr) {
    // SAFETY: valid C strings, a mapping of one page that this function made, fds it opened.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        assert!(fd >= 0, "open {path:?}");
        let page = libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ, libc::MAP_PRIVATE, fd, 0);
        assert_ne!(page, libc::MAP_FAILED, "mmap {path:?}");
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        assert!(null >= 0, "open /dev/null");
        assert_eq!(libc::write(null, page, 14), 14);
        std::ptr::read_volatile(page.cast::<u8>());
        assert_eq!(libc::write(null, page, 14), 14);
        libc::close(null);
        libc::munmap(page, 4096);
        libc::close(fd);
    }
}

/// Reads and stats `path`, stats a device, writes strings of each kind strace's `-x` tells apart to /dev/null.
fn bytes_stats(path: &std::ffi::CStr) {
    // SAFETY (whole function): valid C strings, buffers of the sizes given, fds this function opened.
    unsafe {
        libc::getppid();
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        assert!(fd >= 0, "open {path:?}");
        let mut buf = [0u8; 64];
        assert!(libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) > 0, "read {path:?}");
        let mut st: libc::stat = std::mem::zeroed();
        assert_eq!(libc::fstat(fd, &mut st), 0);
        libc::close(fd);
        assert_eq!(libc::stat(path.as_ptr(), &mut st), 0);
        let mut stx: libc::statx = std::mem::zeroed();
        let mask = libc::STATX_BASIC_STATS | libc::STATX_BTIME;
        assert_eq!(libc::statx(libc::AT_FDCWD, path.as_ptr(), 0, mask, &mut stx), 0);
        assert_eq!(libc::stat(c"/dev/null".as_ptr(), &mut st), 0);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        assert!(null >= 0, "open /dev/null");
        let texts: [&[u8]; 3] = [
            b"plain\ttext \"q\" \\ end\n",
            "caf\u{e9} \u{65e5}\u{672c}".as_bytes(),
            b"\x7fELF\x02\x01\x00\x00\xff\xfe1",
        ];
        for text in texts {
            let text = resident(text);
            assert_eq!(libc::write(null, text.as_ptr().cast(), text.len()), text.len() as isize);
        }
        libc::close(null);
    }
}
