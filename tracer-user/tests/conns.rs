//! End-to-end tests of `tracer conns`: real eBPF programs loaded and attached (run as root), real TCP servers and
//! clients on loopback made by a small Python helper (`/usr/bin/python3`, not the pyenv shim on PATH), and
//! `ss -tanpH` as the oracle for the snapshot; and Debian's `redis-server` on a private port with a RESP client whose
//! byte counts follow from the protocol.
//!
//! Tests run in parallel: each uses its own free port, and its tracer filters on it with `--port`.

mod common;

use std::{
    collections::BTreeSet,
    net::TcpListener,
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use common::*;
use serde_json::Value;

const PYTHON: &str = "/usr/bin/python3";

/// Servers and clients on 127.0.0.1, by mode (argv), saying what they did on stdout:
///   serve PORT N REPLY...   listen; accept N connections one at a time: read each to EOF, send REPLY[i] bytes, close
///   connect PORT SIZE...    one connection per size: send SIZE bytes, shut down writing, read to EOF, close
///   refused PORT            connect to a port nobody listens on: `err ERRNO`
///   hold PORT N             listen, connect N times to itself, accept them, hold them until stdin closes
///   reset PORT              listen, connect, send 100 bytes, the server reads them and closes with SO_LINGER 0
///   timeout PORT            a connect to a listener whose accept queue is full, with one SYN retry: ETIMEDOUT
const HELPER: &str = r#"
import os, socket, struct, sys
def out(*a): print(*a, flush=True)
def read_all(c):
    got = 0
    while True:
        b = c.recv(65536)
        if not b:
            return got
        got += len(b)
def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s
mode, port = sys.argv[1], int(sys.argv[2])
out("pid", os.getpid())
if mode == "serve":
    s = listener(port)
    out("listening")
    for reply in map(int, sys.argv[4:4 + int(sys.argv[3])]):
        c, _ = s.accept()
        got = read_all(c)
        c.sendall(b"s" * reply)
        c.close()
        out("served", got)
elif mode == "connect":
    for size in map(int, sys.argv[3:]):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"c" * size)
        c.shutdown(socket.SHUT_WR)
        got = read_all(c)
        c.close()
        out("received", got)
elif mode == "refused":
    try:
        socket.create_connection(("127.0.0.1", port))
        out("connected")
    except OSError as e:
        out("err", e.errno)
elif mode == "hold":
    s = listener(port)
    held = []
    for _ in range(int(sys.argv[3])):
        held.append(socket.create_connection(("127.0.0.1", port)))
        held.append(s.accept()[0])
    out("holding")
    sys.stdin.read()
elif mode == "timeout":
    # A listener whose accept queue (backlog 0) the first connection fills: the kernel drops the next SYNs, and a
    # connect sending only one retry (TCP_SYNCNT 1) gives up after about 3 s.
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(0)
    first = socket.create_connection(("127.0.0.1", port))
    c = socket.socket()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
    try:
        c.connect(("127.0.0.1", port))
        out("connected")
    except OSError as e:
        out("err", e.errno)
elif mode == "reset":
    s = listener(port)
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = s.accept()
    c.sendall(b"c" * 100)
    got = 0
    while got < 100:
        got += len(a.recv(100 - got))
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    try:
        c.recv(10)
        out("no reset")
    except OSError as e:
        out("err", e.errno)
    c.close()
out("done")
"#;

fn helper(name: &str, args: &[String]) -> Proc {
    helper_with(name, Command::new(PYTHON), args)
}

/// The helper run by `cmd` (python3 itself, or `ip netns exec NS python3`, which execs it: same pid).
fn helper_with(name: &str, mut cmd: Command, args: &[String]) -> Proc {
    cmd.arg("-c").arg(HELPER).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    Proc::spawn(name, &mut cmd)
}

fn helper_pid(proc: &Proc, deadline: Deadline) -> u32 {
    let line = proc.out().wait_for(deadline, |l| l.starts_with("pid ")).unwrap_or_else(|| {
        panic!("the helper did not start\n{}", proc.dump());
    });
    let pid = line["pid ".len()..].trim().parse().expect("pid");
    assert_eq!(pid, proc.pid());
    pid
}

fn wait_line(proc: &Proc, deadline: Deadline, prefix: &str) -> String {
    proc.out()
        .wait_for(deadline, |l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("the helper never said `{prefix}`\n{}", proc.dump()))
}

static PORT_SEQ: AtomicU32 = AtomicU32::new(0);

/// A port below the ephemeral range that nothing holds now, distinct per call.
fn free_port() -> u16 {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() ^ (std::process::id() << 8);
    for attempt in 0..1000u32 {
        let n = PORT_SEQ.fetch_add(1, Ordering::Relaxed);
        let port = 20000 + (seed.wrapping_add(n.wrapping_mul(7919)).wrapping_add(attempt) % 12000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("::", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found");
}

/// Starts `tracer conns --json ARGS` and waits for `ready`; returns it with the objects printed before.
fn start_json(args: &[String], deadline: Deadline) -> (Proc, Vec<Value>) {
    start_json_snapshot("conns", args, deadline)
}

/// Waits until `count` objects that `pred` accepts were printed.
fn wait_count(tracer: &Proc, deadline: Deadline, what: &str, count: usize, mut pred: impl FnMut(&Value) -> bool) {
    let mut seen = 0;
    let found = tracer.out().wait_for(deadline, |line| {
        if serde_json::from_str::<Value>(line).is_ok_and(|v| pred(&v)) {
            seen += 1;
        }
        seen >= count
    });
    assert!(found.is_some(), "{seen} of {count} {what} reported\n{}", tracer.dump());
}

/// Stops the tracer with Ctrl-C; checks it exits 0 with valid JSON lines and no loss; returns every object.
fn stop(tracer: Proc, deadline: Deadline) -> Vec<Value> {
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(deadline);
    out.expect_no_panic();
    out.expect_code(0);
    let events = out.json();
    check_nothing_lost(&events, &|| out.dump());
    events
}

fn check_ends(e: &Value, port: u16, remote_port: u16) {
    check_ts(e);
    assert_eq!(e["family"], "ipv4", "{e}");
    assert_eq!(e["addr"], "127.0.0.1", "{e}");
    assert_eq!(e["raddr"], "127.0.0.1", "{e}");
    assert_eq!(e["port"], port, "{e}");
    assert_eq!(e["rport"], remote_port, "{e}");
}

#[test]
fn connections_accepts_and_closes_are_exact() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, _) = start_json(&["--port".into(), port.to_string()], deadline);
    // Each connection's sizes differ, so that every record is matched to its own connection.
    let sends = [1000u64, 70_000, 3];
    let replies = [5u64, 2000, 300_000];
    let mut server_args = vec!["serve".to_string(), port.to_string(), sends.len().to_string()];
    server_args.extend(replies.iter().map(u64::to_string));
    let server = helper("server", &server_args);
    let server_pid = helper_pid(&server, deadline);
    wait_line(&server, deadline, "listening");
    let mut client_args = vec!["connect".to_string(), port.to_string()];
    client_args.extend(sends.iter().map(u64::to_string));
    let client = helper("client", &client_args);
    let client_pid = helper_pid(&client, deadline);
    wait_line(&client, deadline, "done");
    wait_line(&server, deadline, "done");
    wait_count(&tracer, deadline, "tcp_close", 2 * sends.len(), |v| v["type"] == "tcp_close");
    let events = stop(tracer, deadline);

    let connects = of_type(&events, "connect");
    assert_eq!(connects.len(), sends.len(), "{connects:?}");
    let mut client_ports = Vec::new();
    for c in &connects {
        assert_eq!((c["pid"].as_u64(), c["comm"].as_str()), (Some(u64::from(client_pid)), Some("python3")), "{c}");
        assert_eq!(c["result"], "established", "{c}");
        assert!(c["errno"].is_null(), "{c}");
        let local = u64_field(c, "port") as u16;
        check_ends(c, local, port);
        client_ports.push(local);
    }
    let accepts = of_type(&events, "accept");
    assert_eq!(accepts.len(), sends.len(), "{accepts:?}");
    for (a, &client_port) in accepts.iter().zip(&client_ports) {
        assert_eq!((a["pid"].as_u64(), a["comm"].as_str()), (Some(u64::from(server_pid)), Some("python3")), "{a}");
        // The listening port, and the connect's own ends the other way round, in the order they were made.
        check_ends(a, port, client_port);
    }
    let closes = of_type(&events, "tcp_close");
    assert_eq!(closes.len(), 2 * sends.len(), "{closes:?}");
    for (i, &client_port) in client_ports.iter().enumerate() {
        let outgoing: Vec<_> = closes.iter().filter(|c| c["port"] == client_port).collect();
        assert_eq!(outgoing.len(), 1, "{closes:?}");
        let c = outgoing[0];
        check_ends(c, client_port, port);
        assert_eq!(c["direction"], "outgoing", "{c}");
        assert_eq!(c["pid"], client_pid, "{c}");
        assert_eq!((u64_field(c, "tx_bytes"), u64_field(c, "rx_bytes")), (sends[i], replies[i]), "{c}");
        // The client shut down writing first.
        assert_eq!((c["closed_by"].as_str(), c["reset"].as_str()), (Some("local"), None), "{c}");
        let incoming: Vec<_> = closes.iter().filter(|c| c["port"] == port && c["rport"] == client_port).collect();
        assert_eq!(incoming.len(), 1, "{closes:?}");
        let s = incoming[0];
        check_ends(s, port, client_port);
        assert_eq!(s["direction"], "incoming", "{s}");
        assert_eq!(s["pid"], server_pid, "{s}");
        assert_eq!((u64_field(s, "tx_bytes"), u64_field(s, "rx_bytes")), (replies[i], sends[i]), "{s}");
        assert_eq!((s["closed_by"].as_str(), s["reset"].as_str()), (Some("remote"), None), "{s}");
        assert!(u64_field(s, "duration_ns") > 0 && u64_field(c, "duration_ns") > 0, "{c}\n{s}");
    }
}

#[test]
fn pid_filter_keeps_one_side() {
    let deadline = Deadline::test();
    let port = free_port();
    let server = helper("server", &["serve".into(), port.to_string(), "2".into(), "10".into(), "20".into()]);
    let server_pid = helper_pid(&server, deadline);
    wait_line(&server, deadline, "listening");
    let (tracer, _) = start_json(&["-p".into(), server_pid.to_string()], deadline);
    let client = helper("client", &["connect".into(), port.to_string(), "1".into(), "2".into()]);
    wait_line(&client, deadline, "done");
    // The server exits after its second connection (reaped here, not left a zombie): tracer stops by itself.
    server.wait(deadline).expect_code(0);
    let out = tracer.wait(deadline);
    out.expect_code(0);
    let events = out.json();
    assert!(of_type(&events, "connect").is_empty(), "the client's connects are not the server's: {events:?}");
    assert_eq!(of_type(&events, "accept").len(), 2, "{events:?}");
    let closes = of_type(&events, "tcp_close");
    assert_eq!(closes.len(), 2, "{closes:?}");
    for (c, (tx, rx)) in closes.iter().zip([(10, 1), (20, 2)]) {
        assert_eq!(c["pid"], server_pid, "{c}");
        assert_eq!((u64_field(c, "tx_bytes"), u64_field(c, "rx_bytes")), (tx, rx), "{c}");
    }
}

#[test]
fn refused_connect() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, _) = start_json(&["--port".into(), port.to_string(), "-4".into()], deadline);
    let client = helper("client", &["refused".into(), port.to_string()]);
    let client_pid = helper_pid(&client, deadline);
    assert_eq!(wait_line(&client, deadline, "err"), format!("err {}", libc::ECONNREFUSED));
    wait_count(&tracer, deadline, "connect", 1, |v| v["type"] == "connect");
    let events = stop(tracer, deadline);
    let connects = of_type(&events, "connect");
    assert_eq!(connects.len(), 1, "{events:?}");
    let c = connects[0];
    assert_eq!(c["pid"], client_pid, "{c}");
    assert_eq!((c["result"].as_str(), c["errno"].as_str()), (Some("refused"), Some("ECONNREFUSED")), "{c}");
    assert_eq!(c["rport"], port, "{c}");
    // Never established: no close.
    assert!(of_type(&events, "tcp_close").is_empty(), "{events:?}");
    assert!(of_type(&events, "accept").is_empty(), "{events:?}");
}

#[test]
fn reset_by_linger_zero() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, _) = start_json(&["--port".into(), port.to_string()], deadline);
    let both = helper("reset", &["reset".into(), port.to_string()]);
    let pid = helper_pid(&both, deadline);
    assert_eq!(wait_line(&both, deadline, "err"), format!("err {}", libc::ECONNRESET));
    wait_line(&both, deadline, "done");
    wait_count(&tracer, deadline, "tcp_close", 2, |v| v["type"] == "tcp_close");
    let events = stop(tracer, deadline);
    let closes = of_type(&events, "tcp_close");
    assert_eq!(closes.len(), 2, "{closes:?}");
    let server = closes.iter().find(|c| c["direction"] == "incoming").expect("the server's close");
    let client = closes.iter().find(|c| c["direction"] == "outgoing").expect("the client's close");
    for c in [server, client] {
        assert_eq!(c["pid"], pid, "{c}");
        assert!(c["closed_by"].is_null(), "{c}");
    }
    assert_eq!(server["reset"], "sent", "{server}");
    assert_eq!((u64_field(server, "tx_bytes"), u64_field(server, "rx_bytes")), (0, 100), "{server}");
    assert_eq!(client["reset"], "received", "{client}");
    assert_eq!(client["errno"], "ECONNRESET", "{client}");
    assert_eq!((u64_field(client, "tx_bytes"), u64_field(client, "rx_bytes")), (100, 0), "{client}");
}

/// One row of `ss -tanpH` or of the snapshot: state, local end, peer end, and (pid, fd) of every holder.
type Row = (String, String, String, BTreeSet<(u32, i32)>);

/// `users:(("python3",pid=12,fd=4),("python3",pid=13,fd=4))` → {(12, 4), (13, 4)}.
fn ss_users(text: &str) -> BTreeSet<(u32, i32)> {
    let mut out = BTreeSet::new();
    for part in text.split("pid=").skip(1) {
        let pid = part.split(',').next().unwrap().parse().unwrap();
        let fd = part.split("fd=").nth(1).unwrap().trim_end_matches(|c: char| !c.is_ascii_digit());
        let fd = fd.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
        out.insert((pid, fd));
    }
    out
}

/// `ss -tanpH`'s rows with `port` at either end, listeners left out, sorted; and its whole text for messages.
fn ss_rows(port: u16) -> (Vec<Row>, String) {
    ss_rows_of(Command::new("ss"), port)
}

/// `ss_rows` of `ss` run by `cmd` (in a network namespace: `ip netns exec NS ss`, `nsenter -t PID -n ss`).
fn ss_rows_of(mut cmd: Command, port: u16) -> (Vec<Row>, String) {
    let ss = cmd.args(["-tanpH"]).output().expect("ss");
    let ss_text = String::from_utf8_lossy(&ss.stdout).into_owned();
    let with_port = |end: &str| end.rsplit(':').next() == Some(&port.to_string());
    let mut rows: Vec<Row> = ss_text
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (state, local, peer) = (words[0], words[3], words[4]);
            let wanted = state != "LISTEN" && (with_port(local) || with_port(peer));
            wanted.then(|| {
                (state.to_string(), local.to_string(), peer.to_string(), ss_users(words.get(5).unwrap_or(&"")))
            })
        })
        .collect();
    rows.sort();
    (rows, ss_text)
}

/// The snapshot's `holder` objects as rows like ss's, sorted; `check` asserts on each holder that names a process.
fn snapshot_rows(snapshot: &[Value], check: impl Fn(&Value)) -> Vec<Row> {
    let mut rows: std::collections::BTreeMap<(String, String, String), BTreeSet<(u32, i32)>> = Default::default();
    for h in snapshot.iter().filter(|v| v["type"] == "holder") {
        assert_eq!(h["source"], "snapshot", "{h}");
        assert_eq!(h["proto"], "tcp", "{h}");
        // ss brackets IPv6 addresses (`[::ffff:127.0.0.1]:80`).
        let end = |addr: &str, port: u64| {
            if h["family"] == "ipv6" { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") }
        };
        let local = end(str_field(h, "addr"), u64_field(h, "port"));
        let peer = end(str_field(h, "raddr"), u64_field(h, "rport"));
        let users = rows.entry((str_field(h, "state").to_string(), local, peer)).or_default();
        if let (Some(pid), Some(fd)) = (h["pid"].as_u64(), h["fd"].as_i64()) {
            check(h);
            users.insert((pid as u32, fd as i32));
        }
    }
    let mut got: Vec<Row> = rows.into_iter().map(|((s, l, p), u)| (s, l, p, u)).collect();
    got.sort();
    got
}

#[test]
fn snapshot_matches_ss() {
    let deadline = Deadline::test();
    let port = free_port();
    let holder = helper("hold", &["hold".into(), port.to_string(), "3".into()]);
    let pid = helper_pid(&holder, deadline);
    wait_line(&holder, deadline, "holding");
    let (tracer, snapshot) = start_json(&["--port".into(), port.to_string()], deadline);

    let (expected, ss_text) = ss_rows(port);
    let got = snapshot_rows(&snapshot, |h| assert_eq!(h["comm"], "python3", "{h}"));
    // Three connections, both ends held by the helper.
    assert_eq!(expected.len(), 6, "ss -tanpH:\n{ss_text}");
    assert!(expected.iter().all(|r| r.0 == "ESTAB" && r.3.iter().all(|&(p, _)| p == pid)), "{expected:?}");
    assert_eq!(got, expected, "snapshot vs ss -tanpH\n{ss_text}\n{}", tracer.dump());
    stop(tracer, deadline);
    drop(holder);
}

/// `GET /metrics` from the monitor's endpoint.
fn scrape(addr: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("the metrics endpoint");
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: tracer\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn monitor_reports_connections_and_counts_them_per_port() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut cmd = Command::new(tracer_bin());
    cmd.args(["monitor", "--conns", "--json", "--metrics-addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let tracer = Proc::spawn("tracer monitor --conns", &mut cmd);
    let serving = tracer
        .err()
        .wait_for(deadline, |l| l.contains("serving Prometheus metrics at http://"))
        .unwrap_or_else(|| panic!("no metrics endpoint\n{}", tracer.dump()));
    let addr = serving.split("http://").nth(1).unwrap().trim_end_matches("/metrics").to_string();
    assert!(tracer.out().wait_for(deadline, |l| l.contains(r#""type":"ready""#)).is_some(), "{}", tracer.dump());

    let server = helper("server", &["serve".into(), port.to_string(), "2".into(), "7".into(), "8".into()]);
    let server_pid = helper_pid(&server, deadline);
    wait_line(&server, deadline, "listening");
    let client = helper("client", &["connect".into(), port.to_string(), "5".into(), "6".into()]);
    let client_pid = helper_pid(&client, deadline);
    wait_line(&client, deadline, "done");
    wait_line(&server, deadline, "done");
    let of_port = |v: &Value| v["port"] == port || v["rport"] == port;
    wait_count(&tracer, deadline, "tcp_close", 4, |v| v["type"] == "tcp_close" && of_port(v));
    // The snapshot behind /metrics is refreshed every second: poll it until the counts show.
    let connects = format!(r#"tracer_tcp_connects_total{{port="{port}",result="established"}} 2"#);
    let accepts = format!(r#"tracer_tcp_accepts_total{{port="{port}"}} 2"#);
    let mut text = String::new();
    while !deadline.expired() {
        text = scrape(&addr);
        if text.contains(&connects) && text.contains(&accepts) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(text.contains(&connects) && text.contains(&accepts), "{text}");
    assert!(!text.contains("pid="), "no pid labels: {text}");

    let events: Vec<Value> = stop(tracer, deadline).into_iter().filter(|v| of_port(v)).collect();
    let connects = of_type(&events, "connect");
    assert_eq!(connects.len(), 2, "{connects:?}");
    assert!(connects.iter().all(|c| c["pid"] == client_pid && c["result"] == "established"), "{connects:?}");
    let accepts = of_type(&events, "accept");
    assert_eq!(accepts.len(), 2, "{accepts:?}");
    assert!(accepts.iter().all(|a| a["pid"] == server_pid), "{accepts:?}");
    let mut bytes: Vec<(u64, u64)> =
        of_type(&events, "tcp_close").iter().map(|c| (u64_field(c, "tx_bytes"), u64_field(c, "rx_bytes"))).collect();
    bytes.sort_unstable();
    assert_eq!(bytes, [(5, 7), (6, 8), (7, 5), (8, 6)]);
}

#[test]
fn text_lines_like_tcplife_and_family_filter() {
    let deadline = Deadline::test();
    let port = free_port();
    // -6 leaves out this IPv4 traffic; -4 shows it.
    let mut only_v6 = Command::new(tracer_bin());
    only_v6.args(["conns", "--json", "-6", "--port", &port.to_string()]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let only_v6 = Proc::spawn("tracer conns -6", &mut only_v6);
    let mut text = Command::new(tracer_bin());
    text.args(["conns", "-4", "--port", &port.to_string()]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let text = Proc::spawn("tracer conns -4 (text)", &mut text);
    let ready = only_v6.out().wait_for(deadline, |l| l.contains(r#""type":"ready""#));
    assert!(ready.is_some(), "{}", only_v6.dump());
    // Text mode says it on stderr.
    assert!(text.err().wait_for(deadline, |l| l.ends_with("; ready")).is_some(), "{}", text.dump());
    let server = helper("server", &["serve".into(), port.to_string(), "1".into(), "4096".into()]);
    let server_pid = helper_pid(&server, deadline);
    wait_line(&server, deadline, "listening");
    let client = helper("client", &["connect".into(), port.to_string(), "2048".into()]);
    let client_pid = helper_pid(&client, deadline);
    wait_line(&client, deadline, "done");
    wait_line(&server, deadline, "done");
    let close_of = |pid: u32| format!("close     {pid:>7} python3");
    // Both closes, in whichever order the two CPUs wrote them (waiting for one, then the other, passed over the
    // second when it came first).
    let mut unseen = vec![close_of(client_pid), close_of(server_pid)];
    let both = text.out().wait_for(deadline, |l| {
        unseen.retain(|line| !l.starts_with(line.as_str()));
        unseen.is_empty()
    });
    assert!(both.is_some(), "no `{unseen:?}`\n{}", text.dump());
    text.signal(libc::SIGINT);
    let out = text.wait(deadline);
    out.expect_code(0);
    let stdout = out.stdout_text();
    let heading = stdout.lines().find(|l| l.starts_with("EVENT")).unwrap_or_else(|| panic!("{stdout}"));
    let columns: Vec<&str> = heading.split_whitespace().collect();
    assert_eq!(columns, ["EVENT", "PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT", "TX_KB", "RX_KB", "MS", "NOTE"]);
    let words = |prefix: &str| -> Vec<String> {
        let line = stdout.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}\n{stdout}"));
        line.split_whitespace().map(str::to_string).collect()
    };
    let connect = words("connect");
    assert_eq!(connect[1], client_pid.to_string(), "{connect:?}");
    assert_eq!((connect[5].as_str(), connect[6].as_str()), ("127.0.0.1", port.to_string().as_str()), "{connect:?}");
    assert_eq!(connect[10], "established", "{connect:?}");
    let client_close = words(&close_of(client_pid));
    // 2048 bytes sent (2 KiB), 4096 received (4 KiB), as tcplife counts KiB.
    assert_eq!((client_close[7].as_str(), client_close[8].as_str()), ("2", "4"), "{client_close:?}");
    assert_eq!(client_close[10..], ["closed", "by", "local"], "{client_close:?}");
    let server_close = words(&close_of(server_pid));
    assert_eq!((server_close[7].as_str(), server_close[8].as_str()), ("4", "2"), "{server_close:?}");

    let events = stop(only_v6, deadline);
    let shown: Vec<&Value> = events.iter().filter(|v| v["type"] != "ready").collect();
    assert!(shown.is_empty(), "-6 shows no IPv4 connection: {shown:?}");
}

#[test]
fn timed_out_connect() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, _) = start_json(&["--port".into(), port.to_string()], deadline);
    let client = helper("timeout", &["timeout".into(), port.to_string()]);
    let pid = helper_pid(&client, deadline);
    assert_eq!(wait_line(&client, deadline, "err"), format!("err {}", libc::ETIMEDOUT), "{}", client.dump());
    wait_count(&tracer, deadline, "failed connect", 1, |v| v["type"] == "connect" && v["result"] != "established");
    let events = stop(tracer, deadline);
    let connects = of_type(&events, "connect");
    assert_eq!(connects.len(), 2, "{connects:?}");
    assert_eq!(
        (connects[0]["pid"].as_u64(), connects[0]["result"].as_str()),
        (Some(u64::from(pid)), Some("established"))
    );
    let c = connects[1];
    assert_eq!(c["pid"], pid, "{c}");
    assert_eq!((c["result"].as_str(), c["errno"].as_str()), (Some("timed_out"), Some("ETIMEDOUT")), "{c}");
}

/// A Redis client on raw sockets speaking RESP, saying what it did on stdout.
///   PORT SIZE...   open one connection, PING it and hold it (`holding LOCAL_PORT`); after a line on stdin, one
///                  connection per size: `SET k <SIZE bytes>`, `GET k`, `QUIT`, each reply checked byte for byte,
///                  read to EOF (Redis closes after QUIT), close: `conn LOCAL_PORT SENT RECEIVED`; then `done` and
///                  hold the first connection until stdin closes.
const REDIS_CLIENT: &str = r#"
import os, socket, sys
def out(*a): print(*a, flush=True)
def bulk(b): return b"$%d\r\n%s\r\n" % (len(b), b)
def command(*args): return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)
def exchange(c, request, reply):
    c.sendall(request)
    got = b""
    while len(got) < len(reply):
        b = c.recv(len(reply) - len(got))
        if not b:
            break
        got += b
    if got != reply:
        out("bad reply", got[:80], "expected", reply[:80])
        sys.exit(1)
    return len(request), len(got)
port = int(sys.argv[1])
out("pid", os.getpid())
held = socket.create_connection(("127.0.0.1", port))
exchange(held, command(b"PING"), b"+PONG\r\n")
out("holding", held.getsockname()[1])
sys.stdin.readline()
for size in map(int, sys.argv[2:]):
    value = b"v" * size
    c = socket.create_connection(("127.0.0.1", port))
    local = c.getsockname()[1]
    sent = received = 0
    for request, reply in [(command(b"SET", b"k", value), b"+OK\r\n"), (command(b"GET", b"k"), bulk(value)),
                           (command(b"QUIT"), b"+OK\r\n")]:
        s, r = exchange(c, request, reply)
        sent += s
        received += r
    if c.recv(1) != b"":
        out("no EOF after QUIT")
        sys.exit(1)
    c.close()
    out("conn", local, sent, received)
out("done")
sys.stdin.read()
"#;

/// Bytes of a RESP bulk string of `len` bytes: `$LEN\r\n` DATA `\r\n`.
fn resp_bulk_len(len: u64) -> u64 {
    1 + len.to_string().len() as u64 + 2 + len + 2
}

/// Bytes of a RESP command (an array of bulk strings of these lengths): `*COUNT\r\n` then each bulk string.
fn resp_command_len(arg_lens: &[u64]) -> u64 {
    1 + arg_lens.len().to_string().len() as u64 + 2 + arg_lens.iter().map(|&l| resp_bulk_len(l)).sum::<u64>()
}

/// The bytes one client connection sends and receives: `SET k V` (+OK), `GET k` (V as a bulk string), `QUIT` (+OK).
fn redis_exchange_bytes(value_len: u64) -> (u64, u64) {
    const OK: u64 = "+OK\r\n".len() as u64;
    let sent = resp_command_len(&[3, 1, value_len]) + resp_command_len(&[3, 1]) + resp_command_len(&[4]);
    (sent, OK + resp_bulk_len(value_len) + OK)
}

#[test]
fn resp_byte_counts() {
    // Written out by hand from the protocol, to check the arithmetic the Redis test relies on.
    assert_eq!(resp_command_len(&[3, 1, 5]), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvvvvv\r\n".len() as u64);
    assert_eq!(resp_command_len(&[3, 1]), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".len() as u64);
    assert_eq!(resp_command_len(&[4]), "*1\r\n$4\r\nQUIT\r\n".len() as u64);
    assert_eq!(redis_exchange_bytes(5), (31 + 20 + 14, 5 + 11 + 5));
    assert_eq!(redis_exchange_bytes(70_000), (25 + 5 + 70_000 + 20 + 14, 5 + 5 + 5 + 70_000 + 5));
}

#[test]
fn redis_connections_have_exact_counts_and_bytes() {
    let deadline = Deadline::test();
    let port = free_port();
    let redis = start_redis(port, deadline);
    let redis_pid = redis.pid();
    // Distinct sizes, so that each record is matched to its own connection.
    let sizes = [1u64, 100, 5000, 70_000, 300_000];
    let mut args = vec![port.to_string()];
    args.extend(sizes.iter().map(u64::to_string));
    let mut cmd = Command::new(PYTHON);
    cmd.arg("-c").arg(REDIS_CLIENT).args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut client = Proc::spawn("redis client", &mut cmd);
    let client_pid = helper_pid(&client, deadline);
    let held_port: u16 = wait_line(&client, deadline, "holding")["holding ".len()..].trim().parse().unwrap();

    // The held connection is there before tracer starts: the snapshot shows it as `ss -tanpH` does.
    let (tracer, snapshot) = start_json(&["--port".into(), port.to_string()], deadline);
    let (expected, ss_text) = ss_rows(port);
    let redis_end = (format!("127.0.0.1:{port}"), format!("127.0.0.1:{held_port}"));
    let client_end = (redis_end.1.clone(), redis_end.0.clone());
    assert_eq!(expected.len(), 2, "ss -tanpH:\n{ss_text}");
    let got = snapshot_rows(&snapshot, |h| {
        let comm = if u64_field(h, "port") == u64::from(port) { "redis-server" } else { "python3" };
        assert_eq!(h["comm"], comm, "{h}");
    });
    // Redis's end held by redis-server alone, the client's by the client alone.
    let holders_of = |rows: &[Row], end: &(String, String)| -> Vec<u32> {
        let row = rows.iter().find(|r| (&r.1, &r.2) == (&end.0, &end.1));
        row.map(|r| r.3.iter().map(|&(p, _)| p).collect()).unwrap_or_default()
    };
    assert_eq!(holders_of(&expected, &redis_end), [redis_pid], "ss -tanpH:\n{ss_text}");
    assert_eq!(holders_of(&expected, &client_end), [client_pid], "ss -tanpH:\n{ss_text}");
    assert_eq!(got, expected, "snapshot vs ss -tanpH\n{ss_text}\n{}", tracer.dump());

    client.send("go\n");
    let mut made = Vec::new();
    for &size in &sizes {
        let line = client
            .out()
            .wait_for(deadline, |l| l.starts_with("conn "))
            .unwrap_or_else(|| panic!("the client stopped\n{}", client.dump()));
        let words: Vec<u64> = line.split_whitespace().skip(1).map(|w| w.parse().unwrap()).collect();
        // What the client counted on its side is what RESP says.
        assert_eq!((words[1], words[2]), redis_exchange_bytes(size), "value of {size} bytes: {line}");
        made.push(words[0] as u16);
    }
    wait_line(&client, deadline, "done");
    wait_count(&tracer, deadline, "tcp_close", 2 * sizes.len(), |v| v["type"] == "tcp_close");
    let events = stop(tracer, deadline);

    let connects = of_type(&events, "connect");
    assert_eq!(connects.len(), sizes.len(), "{connects:?}");
    for (c, &client_port) in connects.iter().zip(&made) {
        assert_eq!((c["pid"].as_u64(), c["comm"].as_str()), (Some(u64::from(client_pid)), Some("python3")), "{c}");
        assert_eq!(c["result"], "established", "{c}");
        check_ends(c, client_port, port);
    }
    let accepts = of_type(&events, "accept");
    assert_eq!(accepts.len(), sizes.len(), "{accepts:?}");
    for (a, &client_port) in accepts.iter().zip(&made) {
        assert_eq!((a["pid"].as_u64(), a["comm"].as_str()), (Some(u64::from(redis_pid)), Some("redis-server")), "{a}");
        check_ends(a, port, client_port);
    }
    let closes = of_type(&events, "tcp_close");
    assert_eq!(closes.len(), 2 * sizes.len(), "{closes:?}");
    for (&size, &client_port) in sizes.iter().zip(&made) {
        let (sent, received) = redis_exchange_bytes(size);
        let outgoing: Vec<_> = closes.iter().filter(|c| c["port"] == client_port).collect();
        assert_eq!(outgoing.len(), 1, "{closes:?}");
        let c = outgoing[0];
        check_ends(c, client_port, port);
        assert_eq!(
            (c["direction"].as_str(), c["pid"].as_u64()),
            (Some("outgoing"), Some(u64::from(client_pid))),
            "{c}"
        );
        assert_eq!((u64_field(c, "tx_bytes"), u64_field(c, "rx_bytes")), (sent, received), "{c}");
        // Redis closes after its reply to QUIT; the client reads that EOF, then closes.
        assert_eq!((c["closed_by"].as_str(), c["reset"].as_str()), (Some("remote"), None), "{c}");
        let incoming: Vec<_> = closes.iter().filter(|c| c["port"] == port && c["rport"] == client_port).collect();
        assert_eq!(incoming.len(), 1, "{closes:?}");
        let s = incoming[0];
        check_ends(s, port, client_port);
        assert_eq!((s["direction"].as_str(), s["pid"].as_u64()), (Some("incoming"), Some(u64::from(redis_pid))), "{s}");
        assert_eq!((u64_field(s, "tx_bytes"), u64_field(s, "rx_bytes")), (received, sent), "{s}");
        assert_eq!((s["closed_by"].as_str(), s["reset"].as_str()), (Some("local"), None), "{s}");
    }
    // The held connection is still open: no live record of it.
    let live = |e: &&Value| e["type"] != "holder" && e["type"] != "ready";
    assert!(events.iter().filter(live).all(|e| e["port"] != held_port && e["rport"] != held_port), "{events:?}");
    drop(client);
    drop(redis);
}

/// Connections on one port in three network namespaces: the host's, one `ip netns` made, a podman container's
/// (busybox nc to nc). The snapshot lists each with its namespace (the container's with its id), and each
/// namespace's rows are those `ss -tanp` run inside it lists, row by row; `--netns` keeps one namespace's.
#[test]
fn snapshot_covers_every_network_namespace_and_netns_restricts_it() {
    use std::os::unix::fs::MetadataExt as _;
    let deadline = Deadline::test();
    let port = free_port();
    let netns_of = |pid: u32| std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap().ino();
    let host = helper("hold on the host", &["hold".into(), port.to_string(), "1".into()]);
    helper_pid(&host, deadline);
    wait_line(&host, deadline, "holding");
    let ns = NamedNetns::add("conns-netns");
    let inside = helper_with("hold in ip netns", ns.command(PYTHON), &["hold".into(), port.to_string(), "2".into()]);
    let inside_pid = helper_pid(&inside, deadline);
    wait_line(&inside, deadline, "holding");
    let root = busybox_rootfs("conns-netns", &["sh", "nc", "sleep"]);
    let script = format!("sleep 60 | nc -l -p {port} & sleep 0.3; sleep 60 | nc 127.0.0.1 {port}");
    let ctr = Container::run("conns-netns", &root, &["/bin/sh", "-c", &script]);
    let connected = deadline.within(std::time::Duration::from_secs(10));
    while ss_rows_of(ctr.netns_command("ss"), port).0.len() < 2 {
        assert!(!connected.expired(), "nc never connected in the container");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (host_netns, ctr_netns) = (netns_of(std::process::id()), netns_of(ctr.pid()));
    assert_eq!(netns_of(inside_pid), ns.inode());

    let (tracer, snapshot) = start_json(&["--port".into(), port.to_string()], deadline);
    stop(tracer, deadline);
    for (netns, ss, count) in [
        (host_netns, Command::new("ss"), 2),
        (ns.inode(), ns.command("ss"), 4),
        (ctr_netns, ctr.netns_command("ss"), 2),
    ] {
        let mine: Vec<Value> = snapshot.iter().filter(|h| h["netns"] == netns).cloned().collect();
        let (expected, ss_text) = ss_rows_of(ss, port);
        assert_eq!(expected.len(), count, "ss -tanpH in net:[{netns}]:\n{ss_text}");
        let got = snapshot_rows(&mine, |h| {
            if netns == ctr_netns {
                assert_eq!((&h["comm"], &h["container_id"]), (&"nc".into(), &ctr.id.as_str().into()), "{h}");
            } else {
                assert_eq!((&h["comm"], &h["container_id"]), (&"python3".into(), &Value::Null), "{h}");
            }
        });
        assert_eq!(got, expected, "snapshot in net:[{netns}] vs ss -tanpH inside:\n{ss_text}");
    }
    assert_eq!(of_type(&snapshot, "holder").len(), 8, "{snapshot:#?}");

    // --netns: that namespace's connections only.
    let (tracer, snapshot) =
        start_json(&["--port".into(), port.to_string(), "--netns".into(), ns.name.clone()], deadline);
    stop(tracer, deadline);
    let (expected, ss_text) = ss_rows_of(ns.command("ss"), port);
    assert_eq!(snapshot_rows(&snapshot, |h| assert_eq!(u64_field(h, "netns"), ns.inode())), expected, "{ss_text}");

    // Text: each row ends with its namespace (and the container's name after it).
    let mut cmd = tracer_command("conns", &["--port", &port.to_string(), "--netns", &ctr.pid().to_string()]);
    let tracer = Proc::spawn("tracer conns --netns", &mut cmd);
    tracer.err().wait_for(deadline, |l| l.ends_with("ready")).unwrap_or_else(|| panic!("{}", tracer.dump()));
    tracer.signal(libc::SIGINT);
    let text = tracer.wait(deadline).expect_code(0).stdout_text();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("tcp ")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    for row in rows {
        assert!(row.contains(&format!(" net:[{ctr_netns}] [ctr {} ", ctr.name)), "{text}");
    }
    let out = tracer_command("conns", &["--netns", "/etc/passwd"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1, "{out:?}");
    drop((host, inside, ctr, ns));
}

/// Connections made in a namespace `ip netns` made, and the same in the host's on the same port: every live
/// connect, accept and close names the namespace its socket is in (read in the kernel), the inode
/// `/proc/PID/ns/net` links to.
#[test]
fn live_events_name_the_network_namespace_of_their_socket() {
    use std::os::unix::fs::MetadataExt as _;
    let deadline = Deadline::test();
    let port = free_port();
    let netns_of = |pid: u32| std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap().ino();
    let ns = NamedNetns::add("conns-live");
    let (tracer, _) = start_json(&["--port".into(), port.to_string(), "--no-snapshot".into()], deadline);
    let inside = helper_with("hold in ip netns", ns.command(PYTHON), &["hold".into(), port.to_string(), "1".into()]);
    let inside_pid = helper_pid(&inside, deadline);
    wait_line(&inside, deadline, "holding");
    let host = helper("hold on the host", &["hold".into(), port.to_string(), "1".into()]);
    let host_pid = helper_pid(&host, deadline);
    wait_line(&host, deadline, "holding");
    drop((inside, host));
    wait_count(&tracer, deadline, "closes", 4, |v| v["type"] == "tcp_close");
    let events = stop(tracer, deadline);
    let netns = |pid: u32| if pid == inside_pid { ns.inode() } else { netns_of(std::process::id()) };
    let mut seen = std::collections::BTreeMap::new();
    for e in events.iter().filter(|e| ["connect", "accept", "tcp_close"].contains(&str_field(e, "type"))) {
        let pid = u64_field(e, "pid") as u32;
        assert!(pid == inside_pid || pid == host_pid, "{e}");
        assert_eq!(u64_field(e, "netns"), netns(pid), "{e}");
        *seen.entry((str_field(e, "type").to_string(), pid == inside_pid)).or_insert(0) += 1;
    }
    let expected: std::collections::BTreeMap<(String, bool), i32> = [
        (("accept".to_string(), false), 1),
        (("accept".to_string(), true), 1),
        (("connect".to_string(), false), 1),
        (("connect".to_string(), true), 1),
        (("tcp_close".to_string(), false), 2),
        (("tcp_close".to_string(), true), 2),
    ]
    .into();
    assert_eq!(seen, expected, "{events:#?}");
    drop(ns);
}
