//! End-to-end tests of `tracer binds`: real eBPF programs loaded and attached (run as root), real sockets made by a
//! small Python helper driven over its stdin (`/usr/bin/python3`, not the pyenv shim on PATH), and `ss` as the
//! oracle for the snapshot.
//!
//! Tests run in parallel: each uses its own free high ports, and its tracer filters on them with `--port`.

mod common;

use std::{
    collections::BTreeSet,
    net::{TcpListener, UdpSocket},
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use common::*;
use serde_json::Value;

const PYTHON: &str = "/usr/bin/python3";

/// Makes sockets on command, one command per stdin line, answering `ok PORT`, `ok` or `err ERRNO`:
///   listen|bind NAME tcp|udp ADDR PORT [v6only|dual] [backlog=N]   a socket bound (and listening, for listen:
///                                                       with a backlog of 8 or N)
///   connect NAME ADDR PORT [nowait]                     a TCP connection (nowait: not waiting for the handshake)
///   close NAME                                          close it
///   fork                                                a child sharing every socket (a server's workers)
///   name HEX                                            set the thread's comm to these bytes
const HELPER: &str = r#"
import ctypes, os, signal, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
def out(*a): print(*a, flush=True)
socks = {}
out("pid", os.getpid())
for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    try:
        if w[0] in ("listen", "bind"):
            name, proto, addr, port = w[1], w[2], w[3], int(w[4])
            fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
            socks[name] = s
            if "v6only" in w[5:]:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if "dual" in w[5:]:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind((addr, port))
            if w[0] == "listen":
                s.listen(int(([o[8:] for o in w[5:] if o.startswith("backlog=")] or [8])[0]))
            out("ok", s.getsockname()[1])
        elif w[0] == "connect":
            s = socket.socket(socket.AF_INET6 if ":" in w[2] else socket.AF_INET)
            socks[w[1]] = s
            if "nowait" in w[4:]:
                s.setblocking(False)
                s.connect_ex((w[2], int(w[3])))
            else:
                s.connect((w[2], int(w[3])))
            out("ok", s.getsockname()[1])
        elif w[0] == "close":
            socks.pop(w[1]).close()
            out("ok")
        elif w[0] == "fork":
            pid = os.fork()
            if pid == 0:
                libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: dies with its parent
                sys.stdin.close()
                while True:
                    signal.pause()
            out("ok", pid)
        elif w[0] == "name":
            libc.prctl(15, ctypes.c_char_p(bytes.fromhex(w[1])))  # PR_SET_NAME
            out("ok")
    except OSError as e:
        out("err", e.errno)
"#;

/// A helper process making sockets.
struct Sockets {
    proc: Proc,
    pid: u32,
}

impl Sockets {
    fn start(name: &str, deadline: Deadline) -> Sockets {
        Sockets::start_with(name, Command::new(PYTHON), deadline)
    }

    /// The helper in a network namespace of its own (`unshare -n` execs it: same pid).
    fn start_in_new_netns(name: &str, deadline: Deadline) -> Sockets {
        let mut cmd = Command::new("unshare");
        cmd.args(["-n", PYTHON]);
        Sockets::start_with(name, cmd, deadline)
    }

    fn start_with(name: &str, mut cmd: Command, deadline: Deadline) -> Sockets {
        cmd.arg("-c").arg(HELPER).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let proc = Proc::spawn(name, &mut cmd);
        let line = proc.out().wait_for(deadline, |l| l.starts_with("pid ")).unwrap_or_else(|| {
            panic!("the socket helper did not start\n{}", proc.dump());
        });
        let pid = line["pid ".len()..].trim().parse().expect("pid");
        assert_eq!(pid, proc.pid());
        Sockets { proc, pid }
    }

    /// Sends a command; returns the answer's words after `ok` (Ok) or the errno (Err).
    fn run(&mut self, command: &str, deadline: Deadline) -> Result<Vec<String>, i32> {
        self.proc.send(&format!("{command}\n"));
        let line = self
            .proc
            .out()
            .wait_for(deadline, |l| l.starts_with("ok") || l.starts_with("err "))
            .unwrap_or_else(|| panic!("no answer to `{command}`\n{}", self.proc.dump()));
        let mut words = line.split_whitespace().map(str::to_string);
        match words.next().as_deref() {
            Some("ok") => Ok(words.collect()),
            _ => Err(words.next().and_then(|e| e.parse().ok()).expect("errno")),
        }
    }

    /// A command that must succeed; returns the port bound, if the answer has one.
    fn ok(&mut self, command: &str, deadline: Deadline) -> Option<u16> {
        match self.run(command, deadline) {
            Ok(words) => words.first().and_then(|w| w.parse().ok()),
            Err(errno) => panic!("`{command}` failed with errno {errno}\n{}", self.proc.dump()),
        }
    }
}

static PORT_SEQ: AtomicU32 = AtomicU32::new(0);

/// A port below the ephemeral range that nothing holds in either family or protocol now, distinct per call.
fn free_port() -> u16 {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() ^ (std::process::id() << 8);
    for attempt in 0..1000u32 {
        let n = PORT_SEQ.fetch_add(1, Ordering::Relaxed);
        let port = 20000 + (seed.wrapping_add(n.wrapping_mul(7919)).wrapping_add(attempt) % 12000) as u16;
        let free = TcpListener::bind(("0.0.0.0", port)).is_ok()
            && TcpListener::bind(("::", port)).is_ok()
            && UdpSocket::bind(("0.0.0.0", port)).is_ok()
            && UdpSocket::bind(("::", port)).is_ok();
        if free {
            return port;
        }
    }
    panic!("no free port found");
}

/// `tracer binds ARGS...` with stdout and stderr piped.
fn tracer_binds(args: &[String]) -> Proc {
    let mut cmd = Command::new(tracer_bin());
    cmd.arg("binds").args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    Proc::spawn(format!("tracer binds {}", args.join(" ")), &mut cmd)
}

/// Starts `tracer binds --json ARGS` and waits for `ready`; returns it with the objects printed before.
fn start_json(args: &[String], deadline: Deadline) -> (Proc, Vec<Value>) {
    start_json_snapshot("binds", args, deadline)
}

/// Waits for the next JSON object that `pred` accepts.
fn wait_json(tracer: &Proc, deadline: Deadline, what: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
    let line = tracer.out().wait_for(deadline, |line| serde_json::from_str::<Value>(line).is_ok_and(|v| pred(&v)));
    let line = line.unwrap_or_else(|| panic!("no {what} reported\n{}", tracer.dump()));
    serde_json::from_str(&line).unwrap()
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

fn ports_arg(ports: &[u16]) -> Vec<String> {
    ports.iter().flat_map(|p| ["--port".to_string(), p.to_string()]).collect()
}

fn check_event_shape(e: &Value) {
    check_ts(e);
    for key in ["pid", "port"] {
        u64_field(e, key);
    }
    str_field(e, "comm");
    str_field(e, "family");
    str_field(e, "addr");
}

#[test]
fn holder_in_snapshot_and_eaddrinuse_names_it_and_close_is_reported() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut server = Sockets::start("server", deadline);
    server.ok(&format!("listen web tcp 0.0.0.0 {port}"), deadline);

    let (tracer, snapshot) = start_json(&ports_arg(&[port]), deadline);
    let holders: Vec<&Value> = snapshot.iter().filter(|v| v["type"] == "holder").collect();
    assert_eq!(holders.len(), 1, "one holder of port {port}: {snapshot:?}\n{}", tracer.dump());
    let h = holders[0];
    assert_eq!(h["source"], "snapshot", "{h}");
    assert_eq!(h["pid"], server.pid, "{h}");
    assert_eq!(h["comm"], "python3", "{h}");
    assert_eq!(h["proto"], "tcp", "{h}");
    assert_eq!(h["family"], "ipv4", "{h}");
    assert_eq!(h["addr"], "0.0.0.0", "{h}");
    assert_eq!(h["port"], port, "{h}");
    assert_eq!(h["state"], "LISTEN", "{h}");
    assert!(h["fd"].is_u64() && h["inode"].is_u64(), "{h}");

    // Another process binding the same port on another address of the same family.
    let mut client = Sockets::start("client", deadline);
    assert_eq!(client.run(&format!("bind late tcp 127.0.0.1 {port}"), deadline), Err(libc::EADDRINUSE));
    let bind = wait_json(&tracer, deadline, "the failed bind", |v| v["type"] == "bind" && v["pid"] == client.pid);
    check_event_shape(&bind);
    assert_eq!(bind["errno"], "EADDRINUSE", "{bind}");
    assert_eq!(bind["ret"], -libc::EADDRINUSE, "{bind}");
    assert_eq!(bind["proto"], "tcp", "{bind}");
    assert_eq!(bind["family"], "ipv4", "{bind}");
    assert_eq!(bind["addr"], "127.0.0.1", "{bind}");
    assert_eq!(bind["port"], port, "{bind}");
    assert_eq!(bind["comm"], "python3", "{bind}");
    assert_eq!(bind["holder_pid"], server.pid, "{bind}");
    assert_eq!(bind["holder_comm"], "python3", "{bind}");
    assert_eq!(bind["holders"][0]["state"], "LISTEN", "{bind}");
    assert_eq!(bind["holders"][0]["addr"], "0.0.0.0", "{bind}");

    // The listener goes away: the port is free again.
    server.ok("close web", deadline);
    let close = wait_json(&tracer, deadline, "the close", |v| v["type"] == "close");
    check_event_shape(&close);
    assert_eq!(close["pid"], server.pid, "{close}");
    assert_eq!(close["proto"], "tcp", "{close}");
    assert_eq!(close["family"], "ipv4", "{close}");
    assert_eq!(close["addr"], "0.0.0.0", "{close}");
    assert_eq!(close["port"], port, "{close}");
    assert_eq!(close["source"], "kernel", "{close}");
    assert_eq!(close["inode"], h["inode"], "the closed socket is the snapshot's: {close}");
    client.ok(&format!("bind again tcp 127.0.0.1 {port}"), deadline);
    let again =
        wait_json(&tracer, deadline, "the bind after the close", |v| v["type"] == "bind" && v["errno"].is_null());
    assert_eq!((again["pid"].clone(), again["port"].clone()), (client.pid.into(), port.into()), "{again}");

    let events = stop(tracer, deadline);
    assert_eq!(of_type(&events, "bind").len(), 2, "{events:?}");
    assert_eq!(of_type(&events, "close").len(), 1, "{events:?}");
}

#[test]
fn live_bind_and_listen_then_close() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, snapshot) = start_json(&ports_arg(&[port]), deadline);
    assert!(of_type(&snapshot, "holder").is_empty(), "nothing holds {port} yet: {snapshot:?}");
    let mut server = Sockets::start("server", deadline);
    server.ok(&format!("listen web tcp ::1 {port}"), deadline);
    let bind = wait_json(&tracer, deadline, "the bind", |v| v["type"] == "bind");
    check_event_shape(&bind);
    assert_eq!(bind["pid"], server.pid, "{bind}");
    assert_eq!((bind["proto"].as_str(), bind["family"].as_str()), (Some("tcp"), Some("ipv6")), "{bind}");
    assert_eq!((bind["addr"].as_str(), bind["port"].as_u64()), (Some("::1"), Some(u64::from(port))), "{bind}");
    assert!(bind["errno"].is_null() && bind["holder_pid"].is_null(), "{bind}");
    assert_eq!(bind["ret"], 0, "{bind}");
    let listen = wait_json(&tracer, deadline, "the listen", |v| v["type"] == "listen");
    check_event_shape(&listen);
    assert_eq!(listen["pid"], server.pid, "{listen}");
    assert_eq!((listen["addr"].as_str(), listen["port"].as_u64()), (Some("::1"), Some(u64::from(port))), "{listen}");
    assert_eq!((listen["backlog"].as_i64(), listen["ret"].as_i64()), (Some(8), Some(0)), "{listen}");
    assert_eq!(listen["fd"], bind["fd"], "{listen}");
    assert_eq!(listen["inode"], bind["inode"], "{listen}");
    server.ok("close web", deadline);
    let close = wait_json(&tracer, deadline, "the close", |v| v["type"] == "close");
    assert_eq!((close["pid"].clone(), close["addr"].clone()), (server.pid.into(), "::1".into()), "{close}");
    assert_eq!(close["inode"], bind["inode"], "{close}");
    let events = stop(tracer, deadline);
    // listen() is reported once: at its exit, not again when the socket enters LISTEN inside it.
    assert_eq!(of_type(&events, "listen").len(), 1, "{events:?}");
}

#[test]
fn dual_stack_listener_blocks_ipv4_and_is_named() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut server = Sockets::start("server", deadline);
    server.ok(&format!("listen web tcp :: {port} dual"), deadline);
    let (tracer, snapshot) = start_json(&ports_arg(&[port]), deadline);
    let holders = of_type(&snapshot, "holder");
    assert_eq!(holders.len(), 1, "{snapshot:?}");
    assert_eq!((holders[0]["family"].as_str(), holders[0]["addr"].as_str()), (Some("ipv6"), Some("::")));
    assert_eq!(holders[0]["v6only"], false, "{}", holders[0]);

    let mut client = Sockets::start("client", deadline);
    assert_eq!(client.run(&format!("bind v4 tcp 0.0.0.0 {port}"), deadline), Err(libc::EADDRINUSE));
    let bind = wait_json(&tracer, deadline, "the failed bind", |v| v["type"] == "bind");
    assert_eq!((bind["family"].as_str(), bind["addr"].as_str()), (Some("ipv4"), Some("0.0.0.0")), "{bind}");
    assert_eq!(bind["errno"], "EADDRINUSE", "{bind}");
    assert_eq!(bind["holder_pid"], server.pid, "the IPv6 listener holds the IPv4 port too: {bind}");
    assert_eq!(bind["holders"][0]["family"], "ipv6", "{bind}");
    stop(tracer, deadline);
}

#[test]
fn udp_bind_on_ipv6_loopback() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, _) = start_json(&ports_arg(&[port]), deadline);
    let mut app = Sockets::start("app", deadline);
    app.ok(&format!("bind dns udp ::1 {port}"), deadline);
    let bind = wait_json(&tracer, deadline, "the UDP bind", |v| v["type"] == "bind");
    check_event_shape(&bind);
    assert_eq!(bind["pid"], app.pid, "{bind}");
    assert_eq!(bind["proto"], "udp", "{bind}");
    assert_eq!(bind["family"], "ipv6", "{bind}");
    assert_eq!(bind["addr"], "::1", "{bind}");
    assert_eq!(bind["port"], port, "{bind}");
    assert_eq!(bind["ret"], 0, "{bind}");
    assert!(bind["errno"].is_null(), "{bind}");
    assert!(bind["inode"].is_u64(), "{bind}");
    // UDP has no state tracepoint: its release is found by polling sock_diag (once a second).
    app.ok("close dns", deadline);
    let close = wait_json(&tracer, deadline, "the UDP close", |v| v["type"] == "close");
    assert_eq!((close["proto"].as_str(), close["source"].as_str()), (Some("udp"), Some("poll")), "{close}");
    assert_eq!((close["pid"].clone(), close["inode"].clone()), (app.pid.into(), bind["inode"].clone()), "{close}");
    assert_eq!((close["addr"].as_str(), close["port"].as_u64()), (Some("::1"), Some(u64::from(port))), "{close}");
    stop(tracer, deadline);
}

#[test]
fn binds_to_other_ports_are_not_reported() {
    let deadline = Deadline::test();
    let (watched, other) = (free_port(), free_port());
    let (tracer, _) = start_json(&ports_arg(&[watched]), deadline);
    let mut app = Sockets::start("app", deadline);
    app.ok(&format!("listen a tcp 127.0.0.1 {other}"), deadline);
    app.ok(&format!("bind b udp 127.0.0.1 {other}"), deadline);
    app.ok("bind c tcp 127.0.0.1 0", deadline);
    app.ok(&format!("bind d udp 127.0.0.1 {watched}"), deadline);
    wait_json(&tracer, deadline, "the watched bind", |v| v["type"] == "bind" && v["port"] == watched);
    app.ok("close a", deadline);
    app.ok("close d", deadline);
    // The UDP close comes from the once-a-second poll: by then the other port's close would have been seen.
    wait_json(&tracer, deadline, "the watched close", |v| v["type"] == "close" && v["port"] == watched);
    let events = stop(tracer, deadline);
    let reported: Vec<&Value> = events.iter().filter(|v| v["type"] != "ready").collect();
    assert!(reported.iter().all(|v| v["port"] == watched), "only port {watched} is watched: {reported:?}");
    assert_eq!(reported.len(), 2, "{reported:?}");
}

#[test]
fn pid_filter_and_port_zero_report_the_picked_port() {
    let deadline = Deadline::test();
    let mut app = Sockets::start("app", deadline);
    let mut other = Sockets::start("other", deadline);
    let (tracer, _) = start_json(&["--pid".to_string(), app.pid.to_string()], deadline);
    other.ok("bind x tcp 127.0.0.1 0", deadline);
    let picked = app.ok("listen y tcp 127.0.0.1 0", deadline).expect("a port");
    let bind = wait_json(&tracer, deadline, "the port-0 bind", |v| v["type"] == "bind");
    assert_eq!(bind["pid"], app.pid, "only --pid's binds: {bind}");
    assert_eq!(bind["requested_port"], 0, "{bind}");
    assert_eq!(bind["port"], picked, "the port the kernel picked: {bind}");
    let listen = wait_json(&tracer, deadline, "the listen", |v| v["type"] == "listen");
    assert_eq!(listen["port"], picked, "{listen}");
    // Its process exits: nothing left to trace, tracer ends by itself.
    drop(app);
    let out = tracer.wait(deadline);
    out.expect_code(0);
    let events = out.json();
    assert!(events.iter().all(|v| v["pid"].is_null() || v["type"] == "close" || v["pid"] == bind["pid"]), "{events:?}");
}

/// (proto, address as ss prints it, port, pid, fd) from `ss -ltnupH` for one port.
fn ss_holders(port: u16) -> BTreeSet<(String, String, u16, u32, u32)> {
    let out = Command::new("ss").arg("-ltnupH").output().expect("running ss (apt-get install iproute2)");
    assert!(out.status.success(), "ss failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = BTreeSet::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 6 {
            continue;
        }
        let (addr, p) = cols[4].rsplit_once(':').expect("addr:port");
        if p != port.to_string() {
            continue;
        }
        let addr = match addr {
            "*" => "::".to_string(),
            a => a.trim_start_matches('[').trim_end_matches(']').to_string(),
        };
        let users = cols[6..].join(" ");
        for user in users.split("),(") {
            let num = |key: &str| -> u32 {
                let start = user.find(key).unwrap_or_else(|| panic!("no {key} in {line}")) + key.len();
                user[start..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
            };
            rows.insert((cols[0].to_string(), addr.clone(), port, num("pid="), num("fd=")));
        }
    }
    rows
}

#[test]
fn snapshot_agrees_with_ss() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut server = Sockets::start("server", deadline);
    server.ok(&format!("listen v4 tcp 0.0.0.0 {port}"), deadline);
    server.ok(&format!("listen v6 tcp ::1 {port}"), deadline);
    server.ok(&format!("bind u4 udp 127.0.0.1 {port}"), deadline);
    server.ok(&format!("bind u6 udp ::1 {port}"), deadline);
    // A worker sharing every socket, as nginx's do: both processes must be listed.
    let worker: u32 = server.run("fork", deadline).expect("fork")[0].parse().unwrap();

    let (tracer, snapshot) = start_json(&ports_arg(&[port]), deadline);
    let expected = ss_holders(port);
    let seen: BTreeSet<(String, String, u16, u32, u32)> = of_type(&snapshot, "holder")
        .iter()
        .map(|h| {
            (
                str_field(h, "proto").to_string(),
                str_field(h, "addr").to_string(),
                u64_field(h, "port") as u16,
                u64_field(h, "pid") as u32,
                u64_field(h, "fd") as u32,
            )
        })
        .collect();
    assert_eq!(seen, expected, "tracer's snapshot vs ss -ltnup\n{}", tracer.dump());
    assert_eq!(expected.len(), 8, "4 sockets, 2 processes each: {expected:?}");
    assert!(expected.iter().any(|row| row.3 == worker), "{expected:?}");
    for h in of_type(&snapshot, "holder") {
        let state = str_field(h, "state");
        assert_eq!(state, if h["proto"] == "tcp" { "LISTEN" } else { "UNCONN" }, "{h}");
        let family = if str_field(h, "addr").contains(':') { "ipv6" } else { "ipv4" };
        assert_eq!(h["family"], family, "{h}");
    }
    stop(tracer, deadline);
}

#[test]
fn text_output_explains_a_refused_bind_and_escapes_names() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut server = Sockets::start("server", deadline);
    server.ok(&format!("bind web udp 127.0.0.1 {port}"), deadline);
    server.ok(&format!("name {}", hex(b"evil\x1b[2J")), deadline);
    let tracer = tracer_binds(&ports_arg(&[port]));
    let header = tracer.out().wait_for(deadline, |l| l.starts_with("PROTO"));
    assert!(header.is_some(), "no snapshot table\n{}", tracer.dump());
    let row = tracer.out().wait_for(deadline, |l| l.starts_with("udp"));
    let row = row.unwrap_or_else(|| panic!("no snapshot row\n{}", tracer.dump()));
    let cols: Vec<&str> = row.split_whitespace().collect();
    let local = format!("127.0.0.1:{port}");
    let pid = server.pid.to_string();
    assert_eq!(cols[..8], ["udp", "UNCONN", "0", "0", &local, "0.0.0.0:*", "root", &pid], "{row}");
    assert_eq!(cols[8], "evil\\x1b[2J", "the name is escaped: {row}");
    assert!(tracer.err().wait_for(deadline, |l| l.ends_with("; ready")).is_some(), "{}", tracer.dump());

    let mut client = Sockets::start("client", deadline);
    assert_eq!(client.run(&format!("bind late udp 0.0.0.0 {port}"), deadline), Err(libc::EADDRINUSE));
    let line = tracer.out().wait_for(deadline, |l| l.contains(" bind "));
    let line = line.unwrap_or_else(|| panic!("no bind line\n{}", tracer.dump()));
    let expected_tail = format!(
        " bind   udp   0.0.0.0:{port}{pad} {} (python3) fd=3 = -1 EADDRINUSE (Address already in use); held by {} \
         (evil\\x1b[2J) fd=3 udp UNCONN 127.0.0.1:{port}",
        client.pid,
        server.pid,
        pad = " ".repeat(24 - format!("0.0.0.0:{port}").len()),
    );
    assert!(line.ends_with(&expected_tail), "{line:?}\nexpected it to end with\n{expected_tail:?}");
    assert!(!line.contains('\x1b'), "raw escape in {line:?}");
    tracer.signal(libc::SIGINT);
    tracer.wait(deadline).expect_code(0);
}

/// A bind refused in a container's network namespace is explained from that namespace: by the container's own
/// listener, never by a host process holding the same port in the host's namespace (which cannot conflict).
/// Before the fix: `holder_pid` was the host's process.
#[test]
fn refused_bind_in_another_network_namespace_names_the_holder_in_it() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut host = Sockets::start("host holder", deadline);
    host.ok(&format!("listen web tcp 0.0.0.0 {port}"), deadline);
    host.ok(&format!("name {}", hex(b"hostholder")), deadline);
    let (tracer, _) = start_json(&ports_arg(&[port]), deadline);

    let mut container = Sockets::start_in_new_netns("container", deadline);
    container.ok(&format!("name {}", hex(b"inner")), deadline);
    container.ok(&format!("listen web tcp 0.0.0.0 {port}"), deadline);
    assert_eq!(container.run(&format!("bind late tcp 0.0.0.0 {port}"), deadline), Err(libc::EADDRINUSE));
    let bind = wait_json(&tracer, deadline, "the refused bind", |v| v["type"] == "bind" && v["ret"] == -98);
    assert_eq!(bind["pid"], container.pid, "{bind}");
    assert_eq!(bind["holder_pid"], container.pid, "the container's own listener holds it: {bind}");
    assert_eq!(bind["holder_comm"], "inner", "{bind}");
    // The socket's namespace, read in the kernel at the call: the container's, not the host's.
    let inner_netns = netns_of(container.pid);
    assert_ne!(inner_netns, netns_of(std::process::id()));
    assert_eq!(u64_field(&bind, "netns"), inner_netns, "{bind}");
    assert_eq!(bind["holders"][0]["netns"], inner_netns, "the holder in the same namespace: {bind}");
    let holders = bind["holders"].as_array().expect("holders");
    assert_eq!(holders.len(), 1, "only the container's listener: {bind}");
    assert_eq!((&holders[0]["pid"], &holders[0]["state"]), (&container.pid.into(), &"LISTEN".into()), "{bind}");
    assert!(bind.get("holder_unknown").is_none(), "{bind}");
    container.ok("close web", deadline);
    let close = wait_json(&tracer, deadline, "the TCP close", |v| v["type"] == "close");
    assert_eq!((&close["pid"], &close["source"]), (&container.pid.into(), &"kernel".into()), "{close}");
    assert_eq!(u64_field(&close, "netns"), inner_netns, "{close}");
    let events = stop(tracer, deadline);
    assert_eq!(of_type(&events, "bind").len(), 2, "{events:?}");
}

/// A bind refused in a network namespace that is gone when tracer looks (tracer stopped meanwhile; the container
/// killed, its namespace with it): `holder_unknown` says why, `holder_pid` and `holder_comm` are null and no
/// holder is listed, not the host process holding the same port in the host's namespace (which cannot conflict).
#[test]
fn refused_bind_in_a_network_namespace_gone_has_its_holder_unknown() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut host = Sockets::start("host holder", deadline);
    host.ok(&format!("listen web tcp 0.0.0.0 {port}"), deadline);
    let (tracer, _) = start_json(&ports_arg(&[port]), deadline);
    tracer.signal(libc::SIGSTOP);
    let mut container = Sockets::start_in_new_netns("container", deadline);
    container.ok(&format!("listen web tcp 0.0.0.0 {port}"), deadline);
    let refused = container.run(&format!("bind late tcp 0.0.0.0 {port}"), deadline);
    let container_pid = container.pid;
    container.proc.kill();
    tracer.signal(libc::SIGCONT);
    assert_eq!(refused, Err(libc::EADDRINUSE), "{}", container.proc.dump());
    let bind = wait_json(&tracer, deadline, "the refused bind", |v| v["type"] == "bind" && v["ret"] == -98);
    assert_eq!(bind["pid"], container_pid, "{bind}");
    assert_eq!(bind["holder_unknown"], "no process is left in the socket's network namespace", "{bind}");
    assert_eq!((&bind["holder_pid"], &bind["holder_comm"]), (&Value::Null, &Value::Null), "{bind}");
    assert_eq!(bind["holders"], serde_json::json!([]), "{bind}");
    let events = stop(tracer, deadline);
    assert_eq!(of_type(&events, "bind").len(), 2, "the container's listen bind and the refused one: {events:?}");
}

/// A UDP socket bound in another network namespace is not reported closed by the poll while it is open (the
/// host's sock_diag cannot see it), and is when it closes. Before the fix: a `close` (`source: poll`) came a
/// second after the bind.
#[test]
fn udp_socket_in_another_network_namespace_is_closed_only_when_it_closes() {
    let deadline = Deadline::test();
    let port = free_port();
    let (tracer, _) = start_json(&ports_arg(&[port]), deadline);
    let mut container = Sockets::start_in_new_netns("container", deadline);
    container.ok(&format!("bind dns udp 0.0.0.0 {port}"), deadline);
    let udp = wait_json(&tracer, deadline, "the UDP bind", |v| v["type"] == "bind");
    assert_eq!((&udp["pid"], &udp["ret"], &udp["proto"]), (&container.pid.into(), &0.into(), &"udp".into()), "{udp}");
    // The poll runs every second: three of them while the socket is open.
    std::thread::sleep(Duration::from_millis(3500));
    let closes_while_open: Vec<String> =
        tracer.out().text().lines().filter(|l| l.contains("\"close\"")).map(String::from).collect();
    assert_eq!(closes_while_open, Vec::<String>::new(), "an open socket reported closed\n{}", tracer.dump());
    container.ok("close dns", deadline);
    let close = wait_json(&tracer, deadline, "the UDP close", |v| v["type"] == "close");
    assert_eq!(
        (&close["pid"], &close["source"], &close["inode"], &close["port"]),
        (&container.pid.into(), &"poll".into(), &udp["inode"], &port.into()),
        "{close}"
    );
    let events = stop(tracer, deadline);
    assert_eq!(of_type(&events, "close").len(), 1, "{events:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn bad_ports_are_usage_errors() {
    let deadline = Deadline::test();
    for bad in ["0", "70000", "abc", "-1"] {
        let mut cmd = Command::new(tracer_bin());
        cmd.args(["binds", &format!("--port={bad}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = Proc::spawn(format!("tracer binds --port={bad}"), &mut cmd).wait(deadline);
        out.expect_code(2);
        let err = out.stderr_text();
        assert!(err.contains(&format!("invalid value '{bad}' for '--port <PORT>'")), "{}", out.dump());
        assert!(err.contains("1-65535"), "the error says what a port is: {}", out.dump());
        assert!(err.contains("Usage: tracer binds"), "{}", out.dump());
        assert!(out.stdout.is_empty(), "{}", out.dump());
    }
    // Sanity: the clock of the test machine is what the other tests rely on.
    assert!(Duration::from_secs(1) < Deadline::test().remaining());
}

/// One holder as `ss -tanpH` shows it: state, Recv-Q, Send-Q, local and peer ends as ss prints them, and the
/// holding process and fd (none for a socket no process holds).
type SsRow = (String, u32, u32, String, String, Option<(u32, u32)>);

/// `ss ARGS` (`-tanpH` or `-ltnpH`: TCP only, so no Netid column) rows with `port` at either end, one per holder;
/// and ss's whole text for messages.
fn ss_rows(args: &str, port: u16) -> (BTreeSet<SsRow>, String) {
    ss_rows_of(Command::new("ss"), args, Some(port))
}

/// `ss ARGS` run by `cmd` (`ss` itself, or `ss` in a network namespace), rows with `port` at either end (every
/// row when `None`).
fn ss_rows_of(mut cmd: Command, args: &str, port: Option<u16>) -> (BTreeSet<SsRow>, String) {
    let out = cmd.arg(args).output().expect("running ss (apt-get install iproute2)");
    assert!(out.status.success(), "ss failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let with_port =
        |end: &str| port.is_none_or(|port| end.rsplit_once(':').is_some_and(|(_, p)| p == port.to_string()));
    let mut rows = BTreeSet::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if !(with_port(cols[3]) || with_port(cols[4])) {
            continue;
        }
        let num = |s: &str| -> u32 { s.parse().unwrap_or_else(|_| panic!("not a number: {s} in {line}")) };
        let row = |holder| {
            (cols[0].to_string(), num(cols[1]), num(cols[2]), cols[3].to_string(), cols[4].to_string(), holder)
        };
        let users = cols[5..].join(" ");
        if users.is_empty() {
            rows.insert(row(None));
        }
        for user in users.split("),(").filter(|u| !u.is_empty()) {
            let field = |key: &str| -> u32 {
                let start = user.find(key).unwrap_or_else(|| panic!("no {key} in {line}")) + key.len();
                num(&user[start..].chars().take_while(char::is_ascii_digit).collect::<String>())
            };
            rows.insert(row(Some((field("pid="), field("fd=")))));
        }
    }
    (rows, text)
}

/// An end as ss prints it: `127.0.0.1:80`, `[::1]:80`; `0.0.0.0:*`, `[::]:*` for no peer.
fn ss_end(family: &Value, addr: &str, port: Option<u64>) -> String {
    let port = port.map_or_else(|| "*".to_string(), |p| p.to_string());
    if family == "ipv6" { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") }
}

/// The snapshot's TCP holders as ss rows.
fn snapshot_ss_rows(snapshot: &[Value]) -> BTreeSet<SsRow> {
    of_type(snapshot, "holder")
        .into_iter()
        .filter(|h| h["proto"] == "tcp")
        .map(|h| {
            let peer_addr = if h["peer_addr"].is_null() {
                if h["family"] == "ipv6" { "::" } else { "0.0.0.0" }
            } else {
                str_field(h, "peer_addr")
            };
            // ss writes a dual-stack `[::]` (not IPV6_V6ONLY) as `*`, at both ends.
            let dual = h["family"] == "ipv6" && h["addr"] == "::" && h["v6only"] == false;
            let end = |addr: &str, port: Option<u64>| {
                let end = ss_end(&h["family"], addr, port);
                if dual { end.replace("[::]", "*") } else { end }
            };
            (
                str_field(h, "state").to_string(),
                u64_field(h, "recv_q") as u32,
                u64_field(h, "send_q") as u32,
                end(str_field(h, "addr"), Some(u64_field(h, "port"))),
                end(peer_addr, h["peer_port"].as_u64()),
                h["pid"].as_u64().map(|pid| (pid as u32, u64_field(h, "fd") as u32)),
            )
        })
        .collect()
}

/// ps's effective user (name and uid) of a process.
fn ps_user(pid: u64) -> (String, u64) {
    let out = Command::new("ps").args(["-o", "euser:64=,euid=", "-p", &pid.to_string()]).output().expect("ps");
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words.len(), 2, "ps -o euser,euid -p {pid}: {text}");
    (words[0].to_string(), words[1].parse().unwrap())
}

/// nginx as Debian runs it: the master (root) made the listener, its workers (www-data) inherited it. Each
/// process is a holder, as ss lists them, with its own user (ps's), not the socket's (root for all); the listener's
/// Recv-Q and Send-Q (its backlog) as `ss -ltn` shows them.
#[test]
fn nginx_workers_hold_the_listener_as_www_data_with_its_backlog() {
    let deadline = Deadline::test();
    let port = free_port();
    let nginx = Nginx::start(port, 2, 7, deadline);
    let (tracer, snapshot) = start_json(&ports_arg(&[port]), deadline);
    let (expected, ss_text) = ss_rows("-ltnpH", port);
    assert_eq!(snapshot_ss_rows(&snapshot), expected, "tracer's snapshot vs ss -ltnpH:\n{ss_text}\n{}", tracer.dump());
    assert_eq!(expected.len(), 3, "the master and 2 workers: {ss_text}");
    let www_data = u64::from(user_uid("www-data"));
    for h in of_type(&snapshot, "holder") {
        let pid = u64_field(h, "pid");
        let (user, uid) = ps_user(pid);
        assert_eq!((str_field(h, "user"), u64_field(h, "uid")), (user.as_str(), uid), "ps's user: {h}");
        let (want_user, want_uid) =
            if pid == u64::from(nginx.master.pid()) { ("root", 0) } else { ("www-data", www_data) };
        assert_eq!((str_field(h, "user"), u64_field(h, "uid")), (want_user, want_uid), "{h}");
        assert_eq!(u64_field(h, "sock_uid"), 0, "the master made the socket: {h}");
        assert_eq!((u64_field(h, "recv_q"), u64_field(h, "send_q")), (0, 7), "{h}");
        assert!(h["peer_addr"].is_null() && h["peer_port"].is_null(), "a listener has no peer: {h}");
    }
    let workers: BTreeSet<u64> =
        of_type(&snapshot, "holder").iter().filter(|h| h["user"] == "www-data").map(|h| u64_field(h, "pid")).collect();
    assert_eq!(workers, nginx.workers.iter().map(|&p| u64::from(p)).collect(), "{}", tracer.dump());
    stop(tracer, deadline);

    // The text table: USER per row.
    let tracer = tracer_binds(&ports_arg(&[port]));
    assert!(tracer.err().wait_for(deadline, |l| l.ends_with("; ready")).is_some(), "{}", tracer.dump());
    tracer.signal(libc::SIGINT);
    let out = tracer.wait(deadline);
    out.expect_code(0);
    let text = out.stdout_text();
    let local = format!("127.0.0.1:{port}");
    for worker in &nginx.workers {
        let pid = worker.to_string();
        let cols = ["tcp", "LISTEN", "0", "7", &local, "0.0.0.0:*", "www-data", &pid, "nginx"];
        let matching = |l: &&str| l.split_whitespace().take(cols.len()).eq(cols.iter().copied());
        assert_eq!(text.lines().filter(matching).count(), 1, "no row {cols:?} in\n{text}");
    }
}

/// redis with clients connected, one of them forked (both processes hold its connections): `--port P -a` lists
/// redis's listener and its side of each connection, and the clients' sides (their peer port is P) with every
/// holder, exactly as `ss -tanpH` does; `-p CLIENT -a` lists the client's connections with their far end.
#[test]
fn redis_clients_are_listed_with_their_peers_and_every_holder() {
    let deadline = Deadline::test();
    let port = free_port();
    let redis = start_redis(port, deadline);
    let mut client = Sockets::start("client", deadline);
    let mut ends = BTreeSet::new();
    for name in ["c1", "c2"] {
        ends.insert(client.ok(&format!("connect {name} 127.0.0.1 {port}"), deadline).unwrap());
    }
    let child: u32 = client.run("fork", deadline).expect("fork")[0].parse().unwrap();

    let (tracer, snapshot) = start_json(&[ports_arg(&[port]), vec!["-a".into()]].concat(), deadline);
    let (expected, ss_text) = ss_rows("-tanpH", port);
    assert_eq!(snapshot_ss_rows(&snapshot), expected, "tracer's snapshot vs ss -tanpH:\n{ss_text}\n{}", tracer.dump());
    // A listener, 2 server ends (redis), 2 client ends held by 2 processes each.
    assert_eq!(expected.len(), 1 + 2 + 2 * 2, "{ss_text}");
    let clients: Vec<&Value> =
        of_type(&snapshot, "holder").into_iter().filter(|h| h["peer_port"] == u64::from(port)).collect();
    let holders: BTreeSet<(u64, u64)> = clients.iter().map(|h| (u64_field(h, "pid"), u64_field(h, "port"))).collect();
    let want: BTreeSet<(u64, u64)> = [client.pid, child]
        .iter()
        .flat_map(|&pid| ends.iter().map(move |&end| (u64::from(pid), u64::from(end))))
        .collect();
    assert_eq!(holders, want, "{}", tracer.dump());
    for h in &clients {
        assert_eq!(
            (h["state"].as_str(), h["peer_addr"].as_str(), h["comm"].as_str()),
            (Some("ESTAB"), Some("127.0.0.1"), Some("python3")),
            "{h}"
        );
    }
    let server_ends = of_type(&snapshot, "holder")
        .into_iter()
        .filter(|h| h["pid"] == redis.pid() && h["state"] == "ESTAB")
        .map(|h| u64_field(h, "peer_port"))
        .collect::<BTreeSet<u64>>();
    assert_eq!(server_ends, ends.iter().map(|&p| u64::from(p)).collect(), "{}", tracer.dump());
    stop(tracer, deadline);

    // The client alone, every port: its 2 connections, with their far end.
    let (tracer, snapshot) = start_json(&["-a".into(), "-p".into(), client.pid.to_string()], deadline);
    let (all, ss_text) = ss_rows("-tanpH", port);
    let mine: BTreeSet<SsRow> = all.into_iter().filter(|r| r.5.is_some_and(|(pid, _)| pid == client.pid)).collect();
    assert_eq!(mine.len(), 2, "{ss_text}");
    assert_eq!(snapshot_ss_rows(&snapshot), mine, "tracer -p vs ss -tanpH:\n{ss_text}\n{}", tracer.dump());
    stop(tracer, deadline);
}

/// A server that stopped accepting: its listener (backlog 2) holds 3 connections never accepted (backlog + 1, the
/// kernel's limit), a 4th client waits in SYN-SENT. Recv-Q is exactly 3 and Send-Q 2, as `ss -ltn` shows; with
/// -a the queued connections (no process holds them yet) and the waiting client are listed as ss lists them.
#[test]
fn a_full_accept_queue_shows_in_recv_q() {
    let deadline = Deadline::test();
    let port = free_port();
    let mut server = Sockets::start("server", deadline);
    server.ok(&format!("listen l tcp 127.0.0.1 {port} backlog=2"), deadline);
    let mut client = Sockets::start("client", deadline);
    for name in ["c1", "c2", "c3"] {
        client.ok(&format!("connect {name} 127.0.0.1 {port}"), deadline);
    }
    client.ok(&format!("connect c4 127.0.0.1 {port} nowait"), deadline);

    let (tracer, snapshot) = start_json(&[ports_arg(&[port]), vec!["-a".into()]].concat(), deadline);
    let (expected, ss_text) = ss_rows("-tanpH", port);
    assert_eq!(snapshot_ss_rows(&snapshot), expected, "tracer's snapshot vs ss -tanpH:\n{ss_text}\n{}", tracer.dump());
    let listener = of_type(&snapshot, "holder").into_iter().find(|h| h["state"] == "LISTEN").expect("the listener");
    assert_eq!((u64_field(listener, "recv_q"), u64_field(listener, "send_q")), (3, 2), "{listener}");
    assert_eq!(listener["pid"], server.pid, "{listener}");
    let count = |state: &str, pid: Option<u32>| {
        of_type(&snapshot, "holder")
            .iter()
            .filter(|h| h["state"] == state && h["pid"].as_u64() == pid.map(u64::from))
            .count()
    };
    assert_eq!(count("ESTAB", None), 3, "3 queued, held by no process yet\n{}", tracer.dump());
    assert_eq!(count("ESTAB", Some(client.pid)), 3, "{}", tracer.dump());
    assert_eq!(count("SYN-SENT", Some(client.pid)), 1, "{}", tracer.dump());
    stop(tracer, deadline);

    // The text table's RECV-Q and SEND-Q, as `ss -ltn` prints them.
    let (listening, ss_text) = ss_rows("-ltnpH", port);
    let ss_listener = listening.iter().next().unwrap_or_else(|| panic!("{ss_text}"));
    assert_eq!((ss_listener.1, ss_listener.2), (3, 2), "{ss_text}");
    let tracer = tracer_binds(&ports_arg(&[port]));
    let row = tracer.out().wait_for(deadline, |l| l.starts_with("tcp"));
    let row = row.unwrap_or_else(|| panic!("no snapshot row\n{}", tracer.dump()));
    let (local, pid) = (format!("127.0.0.1:{port}"), server.pid.to_string());
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[..9], ["tcp", "LISTEN", "3", "2", &local, "0.0.0.0:*", "root", &pid, "python3"], "{row}");
    tracer.signal(libc::SIGINT);
    tracer.wait(deadline).expect_code(0);
}

/// The inode number of a process's network namespace, as /proc/PID/ns/net links name it.
fn netns_of(pid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap().ino()
}

/// A listener in a namespace `ip netns` made and one in a podman container's (busybox nc): the snapshot lists each
/// with its namespace and its holder (the container's with the container's id); `--netns` restricts the
/// snapshot to one namespace, where `ss -ltnp` run inside it is the oracle, row by row; a bad `--netns` is a
/// usage error.
#[test]
fn snapshot_covers_every_network_namespace_and_netns_restricts_it() {
    let deadline = Deadline::test();
    let (ns_port, ctr_port) = (free_port(), free_port());
    let ns = NamedNetns::add("binds-netns");
    let mut inside = Sockets::start_with("listener in ip netns", ns.command(PYTHON), deadline);
    inside.ok(&format!("listen web tcp 0.0.0.0 {ns_port}"), deadline);
    inside.ok(&format!("listen web6 tcp ::1 {ns_port}"), deadline);
    let root = busybox_rootfs("binds-netns", &["nc"]);
    let ctr = Container::run("binds-netns", &root, &["/bin/nc", "-l", "-p", &ctr_port.to_string()]);
    let ctr_pid = ctr.pid();
    let listening = deadline.within(Duration::from_secs(10));
    while ss_rows_of(ctr.netns_command("ss"), "-ltnpH", Some(ctr_port)).0.is_empty() {
        assert!(!listening.expired(), "nc never listened in the container");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ctr_netns = netns_of(ctr_pid);
    let host_netns = netns_of(std::process::id());
    assert_eq!(netns_of(inside.pid), ns.inode());
    assert!(ns.inode() != host_netns && ctr_netns != host_netns && ctr_netns != ns.inode());

    // Every namespace: both listeners, each named with its namespace, and the port is free on the host.
    let mut args = ports_arg(&[ns_port, ctr_port]);
    args.push("--tcp".into());
    let (tracer, snapshot) = start_json(&args, deadline);
    stop(tracer, deadline);
    let holders = of_type(&snapshot, "holder");
    assert_eq!(holders.len(), 3, "{snapshot:#?}");
    for h in &holders {
        let (pid, netns) = (u64_field(h, "pid"), u64_field(h, "netns"));
        if u64_field(h, "port") == u64::from(ns_port) {
            assert_eq!((pid, netns), (u64::from(inside.pid), ns.inode()), "{h}");
            assert_eq!(h["container_id"], Value::Null, "{h}");
        } else {
            assert_eq!((pid, netns), (u64::from(ctr_pid), ctr_netns), "{h}");
            assert_eq!((str_field(h, "comm"), str_field(h, "addr")), ("nc", "::"), "{h}");
            assert_eq!((&h["container_id"], &h["container_runtime"]), (&ctr.id.as_str().into(), &"podman".into()));
            assert_eq!(h["container_name"], ctr.name.as_str(), "{h}");
        }
    }
    let ss_host = ss_rows("-ltnpH", ns_port).0.union(&ss_rows("-ltnpH", ctr_port).0).count();
    assert_eq!(ss_host, 0, "neither port is bound in the host's namespace");

    // Text: the namespace on each row, and the container's name after it.
    let tracer = tracer_binds(&[&["--tcp".to_string()][..], &ports_arg(&[ns_port, ctr_port])].concat());
    tracer.err().wait_for(deadline, |l| l.ends_with("ready")).unwrap_or_else(|| panic!("{}", tracer.dump()));
    tracer.signal(libc::SIGINT);
    let text = tracer.wait(deadline).expect_code(0).stdout_text();
    let row = |port: u16| {
        text.lines().find(|l| l.contains(&format!(":{port} "))).unwrap_or_else(|| panic!("no row for {port}:\n{text}"))
    };
    assert!(row(ctr_port).contains(&format!(" net:[{ctr_netns}] [ctr {} ", ctr.name)), "{text}");
    assert!(row(ns_port).contains(&format!(" net:[{}]", ns.inode())), "{text}");

    // --netns: only that namespace's sockets, every port, as ss inside it lists them; by path, name and pid.
    let ns_pid = inside.pid.to_string();
    for (given, ss, netns) in [
        (ns.path(), ns.command("ss"), ns.inode()),
        (ns.name.clone(), ns.command("ss"), ns.inode()),
        (ns_pid, ns.command("ss"), ns.inode()),
        (ctr_pid.to_string(), ctr.netns_command("ss"), ctr_netns),
    ] {
        let (tracer, snapshot) = start_json(&["--netns".to_string(), given.clone(), "--tcp".into()], deadline);
        stop(tracer, deadline);
        let (expected, ss_text) = ss_rows_of(ss, "-ltnpH", None);
        assert!(!expected.is_empty(), "{ss_text}");
        assert_eq!(snapshot_ss_rows(&snapshot), expected, "--netns {given} vs ss -ltnpH inside:\n{ss_text}");
        for h in of_type(&snapshot, "holder") {
            assert_eq!(u64_field(h, "netns"), netns, "{h}");
        }
    }

    for (bad, says) in [
        (unused_pid().to_string(), "no process"),
        ("/etc/passwd".to_string(), "not a network namespace"),
        ("tracer-no-such-netns".to_string(), "No such file"),
    ] {
        let out = tracer_command("binds", &["--netns", &bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "--netns {bad}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says) && err.contains(&bad), "{err}");
    }
    drop(ctr);
    drop(ns);
}
