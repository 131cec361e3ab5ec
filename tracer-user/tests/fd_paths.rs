//! `tracer syscalls -y`/`-yy` against `strace -y`/`-yy`, line by line, on a workload that reuses fd numbers between
//! files, sockets, pipes and eventfds in a loop: every decoration tracer prints must name what strace names (the
//! file the fd named when the call ran), or be unknown (`N<?>`); none may name another file.

mod common;

use std::{
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use common::{Deadline, Proc, scratch_dir, tracer_bin};

/// Python: fd 3 (and 4) reused in turn by two files, a UDP socket, a TCP connection, a pipe, an eventfd and
/// /dev/null, `rounds` times, and every fourth round a listener, an unbound UDP socket and a TCPv6 connection.
/// About 40 traced calls a round.
const REUSE_LOOP: &str = r#"
import os, socket, sys
rounds = int(sys.argv[1])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0)); listener.listen(64)
port = listener.getsockname()[1]
listener6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
listener6.bind(("::1", 0)); listener6.listen(64)
port6 = listener6.getsockname()[1]
for i in range(rounds):
    f = os.open("/etc/hostname", os.O_RDONLY); os.read(f, 10); os.close(f)
    f = os.open("/etc/passwd", os.O_RDONLY); os.read(f, 4); os.close(f)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", 9)); u.send(b"x"); u.close()
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.connect(("127.0.0.1", port))
    a, _ = listener.accept(); c.send(b"y"); a.recv(1); a.close(); c.close()
    r, w = os.pipe(); os.write(w, b"x"); os.read(r, 1); os.close(r); os.close(w)
    e = os.eventfd(0); os.write(e, b"\1\0\0\0\0\0\0\0"); os.close(e)
    n = os.open("/dev/null", os.O_WRONLY); os.write(n, b"x"); d = os.dup(n); os.write(d, b"z"); os.close(d); os.close(n)
    if i % 4 == 0:
        # A listener bound, listening and closed; an unbound UDP socket that its first sendto binds; a TCPv6
        # connection.
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM); l.bind(("127.0.0.1", 0)); l.listen(1); l.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", ("127.0.0.1", 9)); u.close()
        c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); c.connect(("::1", port6))
        a, _ = listener6.accept(); a.close(); c.close()
"#;

const CALLS: &str = "trace=openat,read,write,close,socket,bind,listen,connect,sendto,recvfrom,accept4,pipe2,eventfd2,dup,fcntl,\
     epoll_create1";

fn run(cmd: &mut Command, what: &str, deadline: Deadline) {
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let out = Proc::spawn(what, cmd).wait(deadline);
    assert!(out.status.success(), "{what} failed: {}\n{}", out.status, out.stderr_text());
}

/// The fd decorations of a line, in order: (fd, text between `<` and `>`), balanced brackets included.
fn decorations(line: &str) -> Vec<(String, String)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Skip the quoted strings: their bytes are data.
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' && (i == 0 || bytes[i - 1] != b'\\') {
            in_string = !in_string;
        }
        if !in_string && b == b'<' && i > 0 && bytes[i - 1].is_ascii_digit() {
            let start = bytes[..i].iter().rposition(|c| !c.is_ascii_digit()).map_or(0, |p| p + 1);
            let mut depth = 0;
            let mut end = i;
            while end < bytes.len() {
                match bytes[end] {
                    b'<' => depth += 1,
                    b'>' if end > 0 && bytes[end - 1] == b'-' => {}
                    b'>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                end += 1;
            }
            out.push((line[start..i].to_string(), line[i + 1..end.min(line.len())].to_string()));
            i = end;
        }
        i += 1;
    }
    out
}

/// Inode numbers and ephemeral ports differ between the two runs (`TCP:[127.0.0.1:44252->127.0.0.1:6379]` is
/// compared as `TCP:[N.0.0.1:N->N.0.0.1:N]`).
fn without_inodes(text: &str) -> String {
    let mut out = String::new();
    let mut digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() && (digits || out.ends_with('[') || out.ends_with("->") || out.ends_with(':')) {
            digits = true;
            continue;
        }
        if digits {
            out.push('N');
        }
        digits = false;
        out.push(c);
    }
    if digits {
        out.push('N');
    }
    out
}

/// A socket as strace -yy names one.
fn is_socket(text: &str) -> bool {
    ["TCP", "UDP", "UNIX", "socket:"].iter().any(|p| text.starts_with(p))
}

/// The call's name at the start of a line.
fn call_name(line: &str) -> &str {
    line.split('(').next().unwrap_or("")
}

#[derive(Debug, Default)]
struct Tally {
    calls: usize,
    named: usize,
    /// Of `named`, TCP and UDP sockets with their ends (`TCP:[127.0.0.1:6379->127.0.0.1:N]`), as strace shows them.
    inet_ends: usize,
    /// Right, with less detail than strace (`UDP:[N]` for strace's `UDP:[127.0.0.1:5->127.0.0.1:9]`): none since
    /// the kernel reads a TCP/UDP socket's ends at the call; still possible for a unix socket closed before tracer
    /// asked sock_diag.
    coarser: usize,
    /// The same socket (protocol and inode) in another state than at the call (`TCP:[127.0.0.1:5]` for a listener
    /// strace showed unbound, `TCP:[N]`, at its socket()): none for TCP/UDP, whose ends the kernel reads at the
    /// call (bind's, connect's and listen's at their enter, as strace shows them).
    socket_state: Vec<String>,
    unknown: usize,
    wrong: Vec<String>,
}

/// Compares two traces of the same deterministic workload, call by call. `same_run`: both traced the same
/// process at once, so inodes and ports must be equal too.
fn compare(ours: &str, strace: &str, same_run: bool) -> Tally {
    let keep = |l: &&str| !l.starts_with("+++") && !l.starts_with("---") && l.contains('(');
    let ours: Vec<&str> = ours.lines().filter(keep).collect();
    let theirs: Vec<&str> = strace.lines().filter(keep).collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "not the same calls:\nours:\n{}\nstrace:\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
    let mut tally = Tally::default();
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(call_name(a), call_name(b), "calls out of step:\n{a}\n{b}");
        tally.calls += 1;
        // strace decorates pipe2's output array and AT_FDCWD (its cwd); tracer does neither.
        let theirs: Vec<(String, String)> = decorations(b).into_iter().filter(|_| call_name(b) != "pipe2").collect();
        let ours = decorations(a);
        let theirs: Vec<&(String, String)> = theirs.iter().filter(|(fd, _)| !fd.is_empty()).collect();
        for (fd, text) in &ours {
            let Some((_, want)) = theirs.iter().find(|(f, _)| f == fd) else {
                tally.wrong.push(format!("{a}\n  strace: {b}"));
                continue;
            };
            let exact = text == want;
            let (got, want) = (without_inodes(text), without_inodes(want));
            if text == "?" {
                tally.unknown += 1;
            } else if got == want && (exact || !same_run) {
                tally.named += 1;
                tally.inet_ends +=
                    usize::from(["TCP", "UDP"].iter().any(|p| text.starts_with(p)) && text.contains('.'));
            } else if got == want {
                // The same shape with another inode or port: another socket.
                tally.wrong.push(format!("{a}\n  strace: {b}"));
            } else if let Some(kind) = got.strip_suffix(":[N]")
                && (want.starts_with(&format!("{kind}:[")) || kind == "socket" && is_socket(&want))
            {
                tally.coarser += 1;
            } else if let (Some((kind, _)), Some((want_kind, _))) = (got.split_once(":["), want.split_once(":["))
                && kind == want_kind
                && ["TCP", "TCPv6", "UDP", "UDPv6"].contains(&kind)
            {
                tally.socket_state.push(format!("{a}\n  strace: {b}"));
            } else {
                tally.wrong.push(format!("{a}\n  strace: {b}"));
            }
        }
    }
    tally
}

fn reuse_loop(yy: bool, rounds: u32) {
    let flag = if yy { "-yy" } else { "-y" };
    let dir = scratch_dir(if yy { "fd-reuse-yy" } else { "fd-reuse-y" });
    let script = dir.join("reuse.py");
    std::fs::write(&script, REUSE_LOOP).unwrap();
    let deadline = Deadline::new(Duration::from_secs(120));
    let ours = dir.join("tracer.txt");
    let theirs = dir.join("strace.txt");
    let rounds_n = rounds;
    let rounds = rounds.to_string();
    let python = ["/usr/bin/python3", "-S", script.to_str().unwrap(), &rounds];
    run(
        Command::new(tracer_bin())
            .args(["syscalls", flag, "-e", CALLS, "-o", ours.to_str().unwrap(), "--"])
            .args(python),
        "tracer",
        deadline,
    );
    run(
        Command::new("/usr/bin/strace").args([flag, "-e", CALLS, "-o", theirs.to_str().unwrap()]).args(python),
        "strace",
        deadline,
    );
    let ours = std::fs::read_to_string(&ours).unwrap();
    let tally = compare(&ours, &std::fs::read_to_string(&theirs).unwrap(), false);
    eprintln!(
        "{flag}: calls {} named {} (inet ends {}) coarser {} socket_state {} unknown {} wrong {}",
        tally.calls,
        tally.named,
        tally.inet_ends,
        tally.coarser,
        tally.socket_state.len(),
        tally.unknown,
        tally.wrong.len()
    );
    for wrong in tally.wrong.iter().take(5) {
        eprintln!("wrong: {wrong}");
    }
    for state in tally.socket_state.iter().take(5) {
        eprintln!("socket state: {state}");
    }
    assert!(tally.calls >= 10_000, "only {} calls", tally.calls);
    assert!(tally.wrong.is_empty(), "{} wrong decorations, first: {}", tally.wrong.len(), tally.wrong[0]);
    // Unknown only where nothing tracer saw names the fd: none in this loop, whose every fd is made by a traced
    // call.
    assert_eq!(tally.unknown, 0, "unknown decorations");
    // Every socket exactly as strace names it, the ones closed long before the line was printed included.
    assert_eq!((tally.coarser, tally.socket_state.len()), (0, 0), "socket decorations less exact than strace's");
    if yy {
        // Each round's UDP and TCP sockets' calls (connect's excepted: unbound then) name both ends.
        assert!(tally.inet_ends >= rounds_n as usize * 8, "only {} decorations with ends", tally.inet_ends);
    }
    assert!(tally.named > tally.calls / 2, "too few named: {}", tally.named);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fd_reuse_loop_matches_strace_y() {
    reuse_loop(false, 330);
}

#[test]
fn fd_reuse_loop_matches_strace_yy() {
    reuse_loop(true, 330);
}

#[test]
fn parses_decorations() {
    let line = r#"connect(3<UNIX-STREAM:[5->6,"/run/x.sock"]>, "a<b>", 3) = 0"#;
    assert_eq!(decorations(line), [("3".to_string(), r#"UNIX-STREAM:[5->6,"/run/x.sock"]"#.to_string())]);
    assert_eq!(decorations("read(3</dev/null<char 1:3>>, x) = 4<pipe:[7]>")[0].1, "/dev/null<char 1:3>");
    assert_eq!(without_inodes("UNIX-STREAM:[12->34]"), "UNIX-STREAM:[N->N]");
    assert_eq!(without_inodes("pipe:[1234]"), "pipe:[N]");
    assert_eq!(without_inodes("TCP:[127.0.0.1:44252->127.0.0.1:6379]"), "TCP:[N.0.0.1:N->N.0.0.1:N]");
    assert_eq!(without_inodes("TCPv6:[[::1]:80]"), "TCPv6:[[::N]:N]");
    assert!(Path::new("/usr/bin/strace").exists());
}

/// Clients of a real server: each connects, sends a PING, reads the answer, and leaves; redis's fds for them come
/// and go under the same numbers.
const REDIS_CLIENTS: &str = r#"
import socket, sys
port, rounds = int(sys.argv[1]), int(sys.argv[2])
keep = socket.create_connection(("127.0.0.1", port))
for i in range(rounds):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"PING\r\n"); c.recv(64); c.close()
    keep.sendall(b"SET k%d v\r\n" % i); keep.recv(64)
keep.close()
"#;

/// The lines from the first accept on: both tracers attach at their own moment, so only the client traffic is
/// compared.
/// tracer marks each line with its thread (`[pid TID] `) when the process has several: the main thread's are kept
/// (strace -p without -f traces it alone).
fn from_first_accept(text: &str, pid: &str) -> String {
    // `[pid  TID] `: the number is padded.
    let thread =
        |l: &str| l.strip_prefix("[pid").and_then(|rest| rest.split_once("] ")).map(|(tid, _)| tid.trim().to_string());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| thread(l).is_none_or(|tid| tid == pid))
        .map(|l| l.split_once("] ").filter(|_| l.starts_with("[pid")).map_or(l, |(_, rest)| rest))
        .filter(|l| l.contains('(') && !l.contains("<blocked in"))
        .collect();
    let start = lines.iter().position(|l| l.starts_with("accept")).unwrap_or(lines.len());
    lines[start..].join("\n")
}

#[test]
fn redis_matches_strace_yy() {
    let deadline = Deadline::new(Duration::from_secs(90));
    let dir = scratch_dir("fd-redis");
    let port = 16479;
    let redis = common::start_redis(port, deadline);
    let pid = redis.pid().to_string();
    let calls = "trace=openat,accept,accept4,read,write,close,epoll_ctl,setsockopt,fcntl,getpeername";
    let ours = dir.join("tracer.txt");
    let theirs = dir.join("strace.txt");
    let mut tracer = Proc::spawn(
        "tracer",
        Command::new(tracer_bin())
            .args(["syscalls", "-yy", "-e", calls, "-o", ours.to_str().unwrap(), "-p", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    assert!(tracer.err().wait_for(deadline, |l| l.trim_end().ends_with("ready")).is_some(), "{}", tracer.dump());
    let mut strace = Proc::spawn(
        "strace",
        Command::new("/usr/bin/strace")
            .args(["-yy", "-e", calls, "-o", theirs.to_str().unwrap(), "-p", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    assert!(strace.err().wait_for(deadline, |l| l.contains("attached")).is_some(), "{}", strace.dump());
    let script = dir.join("clients.py");
    std::fs::write(&script, REDIS_CLIENTS).unwrap();
    run(
        Command::new("/usr/bin/python3").args([script.to_str().unwrap(), &port.to_string(), "150"]),
        "clients",
        deadline,
    );
    std::thread::sleep(Duration::from_millis(500));
    strace.signal(libc::SIGINT);
    tracer.signal(libc::SIGINT);
    let _ = strace.try_wait_until(deadline);
    let _ = tracer.try_wait_until(deadline);
    let ours = from_first_accept(&std::fs::read_to_string(&ours).unwrap(), &pid);
    let theirs = from_first_accept(&std::fs::read_to_string(&theirs).unwrap(), &pid);
    // Both stopped at their own moment: the common part.
    let n = ours.lines().count().min(theirs.lines().count());
    let cut = |t: &str| t.lines().take(n).collect::<Vec<_>>().join("\n");
    let tally = compare(&cut(&ours), &cut(&theirs), true);
    eprintln!(
        "redis -yy: calls {} named {} (inet ends {}) coarser {} socket_state {} unknown {} wrong {}",
        tally.calls,
        tally.named,
        tally.inet_ends,
        tally.coarser,
        tally.socket_state.len(),
        tally.unknown,
        tally.wrong.len()
    );
    for wrong in tally.wrong.iter().take(5) {
        eprintln!("wrong: {wrong}");
    }
    for state in tally.socket_state.iter().take(5) {
        eprintln!("socket state: {state}");
    }
    assert!(tally.calls >= 150 * 5, "only {} calls compared", tally.calls);
    assert!(tally.wrong.is_empty(), "{} wrong decorations, first: {}", tally.wrong.len(), tally.wrong[0]);
    assert_eq!(tally.unknown, 0, "unknown decorations");
    // Every client connection as strace names it, `TCP:[127.0.0.1:16479->127.0.0.1:N]`, also at its close: at
    // least an accept, a read, a write and a close for each.
    assert_eq!((tally.coarser, tally.socket_state.len()), (0, 0), "socket decorations less exact than strace's");
    assert!(tally.inet_ends >= 150 * 4, "only {} connections' decorations with their ends", tally.inet_ends);
    drop(redis);
    let _ = std::fs::remove_dir_all(dir);
}

/// A thread blocked in sendto on a full unix datagram socket until a line arrives on stdin, when another thread
/// drains the peer; it exits at the next line (its sockets must outlive the line: sock_diag names unix ones).
const BLOCKED_SEND: &str = r#"
import os, socket, sys, threading
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
a.setblocking(False)
try:
    while True:
        a.send(b"x" * 512)
except BlockingIOError:
    pass
a.setblocking(True)
def drain():
    sys.stdin.readline()
    b.setblocking(False)
    try:
        while True:
            b.recv(512)
    except BlockingIOError:
        pass
threading.Thread(target=drain).start()
print(a.fileno(), os.fstat(a.fileno()).st_ino, os.fstat(b.fileno()).st_ino, flush=True)
a.send(b"y" * 512)
sys.stdin.readline()
"#;

/// `-yy` attached to a thread already inside a send (whose fd -yy reads at the enter, which tracer did not see):
/// the fd is named from what the kernel read at the exit, not shown unknown.
#[test]
fn send_entered_before_attach_is_named_at_its_exit() {
    let deadline = Deadline::new(Duration::from_secs(60));
    let mut script = Proc::spawn(
        "python",
        Command::new("/usr/bin/python3")
            .args(["-S", "-c", BLOCKED_SEND])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let Some(line) = script.out().wait_for(deadline, |_| true) else { panic!("{}", script.dump()) };
    let ids: Vec<&str> = line.split_whitespace().collect();
    let [fd, ino, peer] = ids[..] else { panic!("unexpected line {line:?}") };
    // Inside the send by now (nothing else is left for that thread to do).
    std::thread::sleep(Duration::from_millis(300));
    let pid = script.pid().to_string();
    let mut tracer = Proc::spawn(
        "tracer",
        Command::new(tracer_bin()).args(["syscalls", "-yy", "-p", &pid]).stdout(Stdio::piped()).stderr(Stdio::piped()),
    );
    assert!(tracer.err().wait_for(deadline, |l| l.trim_end().ends_with("ready")).is_some(), "{}", tracer.dump());
    script.send("\n");
    let want = format!("sendto({fd}<UNIX-DGRAM:[{ino}->{peer}]>, \"yyyy");
    let found = tracer.out().wait_for(deadline, |l| l.contains("sendto(") && l.contains(&want));
    script.send("\n");
    let _ = script.try_wait_until(deadline);
    tracer.signal(libc::SIGINT);
    let _ = tracer.try_wait_until(deadline);
    assert!(found.is_some(), "no {want}...\n{}", tracer.dump());
}
