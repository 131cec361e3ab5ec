//! What an operator installs (`cargo xtask dist`: target/dist/), installed, run and removed as they would.
//!
//! Not part of a plain `cargo test` (`test = false` in tracer-user/Cargo.toml): they need target/dist/, which
//! `cargo xtask test` builds (`cargo xtask dist`) before running them by name, `cargo test --test dist`; run so
//! without the artefacts, they fail. They run as root: dpkg, podman and the eBPF programs need it.

mod common;

use std::{
    collections::BTreeSet,
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use common::{Deadline, scratch_dir};
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const COMMANDS: [&str; 7] = ["syscalls", "binds", "opens", "signals", "monitor", "conns", "procs"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn dist() -> PathBuf {
    let dir = root().join("target/dist");
    assert!(dir.join("tracer").is_file(), "{} has no tracer: run `cargo xtask dist` first", dir.display());
    dir
}

/// Runs a command to completion; panics if it cannot start.
fn run(what: &str, cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "status {}\n[stdout]\n{}[stderr]\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(what: &str, cmd: &mut Command) -> String {
    let out = run(what, cmd);
    assert!(out.status.success(), "{what} failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn package_installed() -> bool {
    let out = run("dpkg-query", Command::new("dpkg-query").args(["-W", "-f=${Status}", "tracer"]));
    String::from_utf8_lossy(&out.stdout).contains("installed")
}

/// Purges the package when dropped, so that a failing test leaves the machine as it found it.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        if !package_installed() {
            return;
        }
        let _ = Command::new("dpkg").args(["--purge", "tracer"]).stdout(Stdio::null()).status();
    }
}

/// `dpkg -i` the .deb; `tracer --version`, `man tracer-syscalls` and the bash completion work from what it installed;
/// the systemd unit is installed and not enabled; `dpkg -r` then `--purge` leave none of its files behind.
/// The package installs /usr/bin/tracer, a path no other test uses (they run target/release/tracer).
#[test]
fn deb_installs_works_and_removes_cleanly() {
    let deb = dist().join(format!("tracer_{VERSION}_amd64.deb"));
    assert!(
        !package_installed(),
        "a package named tracer is already installed: this test would replace it (remove it: dpkg --purge tracer)"
    );
    let guard = Installed;
    ok("dpkg -i", Command::new("dpkg").arg("-i").arg(&deb));
    let files: Vec<PathBuf> = ok("dpkg -L", Command::new("dpkg").args(["-L", "tracer"]))
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect();
    let expect = [
        "/usr/bin/tracer",
        "/usr/share/man/man1/tracer.1.gz",
        "/usr/share/bash-completion/completions/tracer",
        "/usr/share/zsh/vendor-completions/_tracer",
        "/usr/share/fish/vendor_completions.d/tracer.fish",
        "/etc/tracer/monitor.toml",
        "/lib/systemd/system/tracer-monitor.service",
    ];
    for f in expect {
        let alt = f.replace("/lib/systemd", "/usr/lib/systemd");
        assert!(files.iter().any(|p| p == Path::new(f) || p == Path::new(&alt)), "dpkg -L lacks {f}: {files:?}");
    }
    for c in COMMANDS {
        let page = format!("/usr/share/man/man1/tracer-{c}.1.gz");
        assert!(files.iter().any(|p| p == Path::new(&page)), "dpkg -L lacks {page}");
    }

    let version = ok("tracer --version", Command::new("/usr/bin/tracer").arg("--version"));
    assert_eq!(version.trim(), format!("tracer {VERSION}"));

    // man finds the page by name, as an operator types it.
    let page = ok(
        "man tracer-syscalls",
        Command::new("man").args(["-P", "cat", "tracer-syscalls"]).env("MANWIDTH", "200").env("LC_ALL", "C"),
    );
    assert!(page.contains("tracer-syscalls"), "{page}");
    assert!(page.contains("--blocked-after"), "{page}");
    assert!(page.contains("tracer syscalls -f -- make -j2"), "the README's example is missing:\n{page}");

    // The installed bash completion completes subcommands and options.
    let words = complete_in_bash(Path::new("/usr/share/bash-completion/completions/tracer"), &["tracer", "sys"]);
    assert_eq!(words, ["syscalls"]);

    // Installed, not enabled: no link in any .wants directory.
    let wants = ok("find", Command::new("find").args(["/etc/systemd/system", "-name", "tracer-monitor.service"]));
    assert!(wants.trim().is_empty(), "the unit was enabled: {wants}");

    ok("dpkg -r", Command::new("dpkg").args(["-r", "tracer"]));
    assert!(Path::new("/etc/tracer/monitor.toml").exists(), "dpkg -r keeps the conffile until --purge");
    ok("dpkg --purge", Command::new("dpkg").args(["--purge", "tracer"]));
    assert!(!package_installed());
    let left: Vec<&PathBuf> = files.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "files left after dpkg --purge: {left:?}");
    assert!(!Path::new("/etc/tracer").exists(), "/etc/tracer left after dpkg --purge");
    drop(guard);
}

/// The static binary: `file` and `ldd` say static, and a copy alone in an empty directory (nothing beside it, no
/// LD_LIBRARY_PATH, an environment of PATH only) traces `ls /` with the same counts as `strace -c`.
#[test]
fn static_binary_traces_a_command_from_an_empty_directory() {
    let bin = dist().join("tracer");
    let file = ok("file", Command::new("file").arg("-b").arg(&bin));
    assert!(file.contains("static-pie linked") || file.contains("statically linked"), "file says: {file}");
    let ldd = run("ldd", Command::new("ldd").arg(&bin));
    let ldd_text = text(&ldd);
    assert!(ldd_text.contains("statically linked") || ldd_text.contains("not a dynamic executable"), "{ldd_text}");

    let dir = scratch_dir("dist-static");
    let copy = dir.join("tracer");
    std::fs::copy(&bin, &copy).unwrap();
    let table = dir.join("counts.txt");
    let out = run(
        "tracer syscalls -c",
        Command::new(&copy)
            .args(["syscalls", "-c", "-o"])
            .arg(&table)
            .args(["--", "ls", "/"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin"),
    );
    let counts = std::fs::read_to_string(&table).unwrap_or_default();
    let dump = format!("{}\n[table]\n{counts}", text(&out));
    assert!(out.status.success(), "{dump}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l == "usr"), "ls / printed no usr: {dump}");

    // strace runs ls in the same directory and environment (the locale decides which files ls opens), its stdout
    // a pipe as tracer's was (ls asks a terminal for its width, /dev/null for more).
    let oracle_file = dir.join("strace.txt");
    ok(
        "strace -c",
        Command::new("strace")
            .args(["-c", "-o"])
            .arg(&oracle_file)
            .args(["ls", "/"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin"),
    );
    let oracle = std::fs::read_to_string(&oracle_file).unwrap();
    let (mine, theirs) = (calls(&counts), calls(&oracle));
    // strace counts the execve it starts ls with; tracer's traced command starts at that execve's exit (which it
    // counts too): the tables agree call for call.
    assert_eq!(mine, theirs, "tracer -c vs strace -c (name, calls):\n{dump}\n[strace -c]\n{oracle}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// (syscall, calls) rows of an `strace -c` style table.
fn calls(table: &str) -> BTreeSet<(String, u64)> {
    table
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let name = *cols.last()?;
            if cols.len() < 5 || name == "total" || !cols[0].contains('.') {
                return None;
            }
            Some((name.to_string(), cols[3].parse().ok()?))
        })
        .collect()
}

/// The image, loaded from its archive, runs `monitor` under podman with the DaemonSet's privileges (read from
/// contrib/tracer-daemonset.yaml: host pid namespace, its capabilities and no other, no seccomp filter, read-only
/// root, its volumes, its arguments), reports a process started on the host with its host pid, and serves /metrics
/// on loopback that count it; SIGTERM (podman stop) ends it with status 0.
#[test]
fn image_runs_monitor_with_the_daemonsets_privileges() {
    let dl = Deadline::new(Duration::from_secs(120));
    let archive = dist().join(format!("tracer_{VERSION}_oci.tar"));
    let loaded = ok("podman load", Command::new("podman").arg("load").arg("-i").arg(&archive));
    let image = format!("localhost/tracer:{VERSION}");
    assert!(loaded.contains(&image), "podman load: {loaded}");

    let manifest = daemonset();
    let pod = &manifest["spec"]["template"]["spec"];
    let ctr = &pod["containers"][0];
    let sc = &ctr["securityContext"];
    assert_eq!(pod["hostPID"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let caps: Vec<&str> = sc["capabilities"]["add"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(caps, ["BPF", "PERFMON"], "the test runs what the manifest asks for; update both together");
    let port = ctr["ports"][0]["containerPort"].as_u64().unwrap();
    let mut args: Vec<String> =
        ctr["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    // On loopback, on a free port: the host's network stands in for the pod's (only the address changes).
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let at = args.iter().position(|a| a == "--metrics-addr").expect("the manifest's args set --metrics-addr");
    assert_eq!(args[at + 1], format!("0.0.0.0:{port}"));
    args[at + 1] = format!("127.0.0.1:{free}");

    let name = format!("tracer-dist-test-{}", std::process::id());
    let mut cmd = Command::new("podman");
    // runc, not Debian 12's default crun: on the project's cgroup v1 machines crun 1.8 starts no container at all
    // ("cgroups in hybrid mode not supported"); Kubernetes nodes mostly run runc too.
    cmd.args(["--runtime", "runc", "run", "--rm", "--name", &name, "--pid=host", "--network=host", "--read-only"]);
    cmd.args(["--cap-drop=all", "--security-opt", "no-new-privileges", "--user", "0"]);
    // podman raises RLIMIT_NOFILE and RLIMIT_NPROC to its defaults (a million) unless told; where root lacks
    // CAP_SYS_RESOURCE (this machine's bounding set has none) that fails. Kubernetes runtimes set no such limits.
    cmd.args(["--ulimit", "nofile=8192:8192", "--ulimit", "nproc=8192:8192"]);
    for cap in &caps {
        cmd.arg(format!("--cap-add={cap}"));
    }
    assert_eq!(sc["seccompProfile"]["type"], "Unconfined");
    cmd.args(["--security-opt", "seccomp=unconfined"]);
    for mount in ctr["volumeMounts"].as_array().unwrap() {
        let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == mount["name"]).unwrap();
        let host = volume["hostPath"]["path"].as_str().unwrap();
        let ro = if mount["readOnly"] == true { ":ro" } else { "" };
        cmd.arg("-v").arg(format!("{host}:{}{ro}", mount["mountPath"].as_str().unwrap()));
    }
    cmd.arg(&image).args(&args);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = common::Proc::spawn("podman run tracer monitor", &mut cmd);
    let stop = || {
        let _ = Command::new("podman").args(["stop", "-t", "10", &name]).stdout(Stdio::null()).status();
    };
    let ready = child.out().wait_for(dl, |l| l.contains(r#""type":"ready""#));
    if ready.is_none() {
        stop();
        panic!("no ready line from the container:\n{}", child.dump());
    }

    // A process on the host, seen by its host pid.
    let mut marker =
        Command::new("/bin/sh").args(["-c", "exec sleep 0.2", "dist-image-marker"]).spawn().expect("spawn sh");
    let pid = marker.id();
    marker.wait().unwrap();
    let exec = child.out().wait_for(dl, |l| {
        serde_json::from_str::<Value>(l).is_ok_and(|v| v["type"] == "exec" && v["pid"] == pid && v["comm"] == "sleep")
    });
    // The metrics are refreshed every second: poll until the exec is counted.
    let mut metrics = http_get(free, "/metrics", dl);
    while metric(&metrics, "tracer_process_execs_total").is_none_or(|n| n < 1.0) && !dl.expired() {
        std::thread::sleep(Duration::from_millis(200));
        metrics = http_get(free, "/metrics", dl);
    }
    let seen = child.dump();
    stop();
    let done = child.wait(dl);
    assert!(exec.is_some(), "no exec of sleep with host pid {pid}:\n{seen}");
    assert!(done.status.success(), "podman run (tracer monitor) ended with {}:\n{}", done.status, done.dump());
    let execs = metric(&metrics, "tracer_process_execs_total").unwrap_or_else(|| panic!("{metrics}"));
    assert!(execs >= 1.0, "{metrics}");
    assert!(metrics.contains("tracer_events_total{type=\"exec\"}"), "{metrics}");
}

/// The image is from scratch: one layer holding `/tracer`, the static binary byte for byte, and nothing else;
/// its default command is the DaemonSet's arguments. Read from the OCI archive with Python's tarfile.
#[test]
fn image_holds_the_static_binary_alone() {
    let dist = dist();
    let archive = dist.join(format!("tracer_{VERSION}_oci.tar"));
    let script = r#"
import hashlib, json, sys, tarfile
a = tarfile.open(sys.argv[1])
blob = lambda d: a.extractfile('blobs/sha256/' + d.split(':')[1])
manifest = json.load(blob(json.load(a.extractfile('index.json'))['manifests'][0]['digest']))
files = []
for layer in manifest['layers']:
    t = tarfile.open(fileobj=blob(layer['digest']))
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else b''
        files.append({'name': m.name, 'mode': m.mode & 0o7777, 'file': m.isfile(), 'sha256': hashlib.sha256(data).hexdigest()})
config = json.load(blob(manifest['config']['digest']))['config']
print(json.dumps({'files': files, 'entrypoint': config.get('Entrypoint'), 'cmd': config.get('Cmd')}))
"#;
    let out = ok("read the OCI archive", Command::new("python3").args(["-c", script]).arg(&archive));
    let image: Value = serde_json::from_str(&out).unwrap();
    let sha = ok("sha256sum", Command::new("sha256sum").arg(dist.join("tracer")));
    let sha = sha.split_whitespace().next().unwrap();
    assert_eq!(
        image["files"],
        serde_json::json!([{"name": "tracer", "mode": 0o755, "file": true, "sha256": sha}]),
        "the image must hold /tracer (the static binary) and nothing else"
    );
    assert_eq!(image["entrypoint"], serde_json::json!(["/tracer"]));
    let manifest = daemonset();
    assert_eq!(image["cmd"], manifest["spec"]["template"]["spec"]["containers"][0]["args"]);
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn http_get(port: u16, path: &str, dl: Deadline) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics port");
    s.set_read_timeout(Some(dl.remaining())).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.") && body.contains(" 200 "), "{body}");
    body
}

/// contrib/tracer-daemonset.yaml as JSON (PyYAML from kubernetes-validate's virtual environment).
fn daemonset() -> Value {
    let path = root().join("contrib/tracer-daemonset.yaml");
    let json = ok(
        "yaml to json",
        Command::new(venv("python"))
            .args(["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"])
            .arg(&path),
    );
    serde_json::from_str(&json).unwrap()
}

fn venv(tool: &str) -> PathBuf {
    let home = std::env::var_os("HOME").expect("HOME");
    let path = Path::new(&home).join(".cache/tracer/venv/bin").join(tool);
    assert!(path.exists(), "{} is missing: run `cargo xtask setup`", path.display());
    path
}

/// kubernetes-validate (strict: unknown fields are errors) accepts the DaemonSet, and refuses it with one field
/// misspelt (so the check can fail).
#[test]
fn daemonset_passes_the_kubernetes_schema() {
    let path = root().join("contrib/tracer-daemonset.yaml");
    let validate =
        |p: &Path| run("kubernetes-validate", Command::new(venv("kubernetes-validate")).arg("--strict").arg(p));
    let good = validate(&path);
    assert!(good.status.success(), "{}", text(&good));
    assert!(String::from_utf8_lossy(&good.stdout).contains("passed for resource daemonset/tracer-monitor"));
    let dir = scratch_dir("dist-k8s");
    let bad = dir.join("bad.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(yaml.contains("hostPID: true"));
    std::fs::write(&bad, yaml.replace("hostPID: true", "hostPid: true")).unwrap();
    let refused = validate(&bad);
    assert!(!refused.status.success(), "a misspelt field passed: {}", text(&refused));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The words bash's completion function offers for `words` (the last one being completed).
fn complete_in_bash(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = words.join(" ");
    let program = format!(
        "set -e; source '{}'; complete -p tracer >/dev/null; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; \
         COMP_POINT={}; _tracer tracer '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        line.len(),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = ok("bash completion", Command::new("bash").args(["--norc", "--noprofile", "-c", &program]));
    out.lines().map(str::to_string).filter(|w| !w.is_empty()).collect()
}

/// The generated bash completion loads in bash and completes commands and each command's options.
#[test]
fn completions_load_in_bash() {
    let script = dist().join("pkg/completions/tracer.bash");
    assert_eq!(complete_in_bash(&script, &["tracer", "sys"]), ["syscalls"]);
    assert_eq!(complete_in_bash(&script, &["tracer", "m"]), ["monitor"]);
    let options = complete_in_bash(&script, &["tracer", "syscalls", "--blo"]);
    assert_eq!(options, ["--blocked-after"]);
    let options = complete_in_bash(&script, &["tracer", "monitor", "--metrics"]);
    assert_eq!(options, ["--metrics-addr"]);
}

/// For every command, `tracer CMD --help` and the man page tracer-CMD(1) list the same options, each with the
/// same description, and the same examples.
#[test]
fn help_and_man_pages_agree() {
    let dist = dist();
    for c in COMMANDS {
        let help = ok("--help", Command::new(dist.join("tracer")).args([c, "--help"]));
        let page = dist.join(format!("pkg/man/tracer-{c}.1.gz"));
        let man = ok(
            "man -l",
            Command::new("man").arg("-l").arg(&page).env("MANWIDTH", "1000").env("LC_ALL", "C").env("MANPAGER", "cat"),
        );
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let man_flat = squash(&man);
        let flags = |s: &str| -> BTreeSet<String> {
            s.split(|ch: char| ch.is_whitespace() || ch == ',' || ch == '[' || ch == ']' || ch == '=')
                // clap marks an option that may be repeated (`-yy`) with `...`.
                .map(|w| w.trim_end_matches("..."))
                .filter(|w| {
                    w.starts_with("--")
                        && w.len() > 2
                        && w[2..].chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                })
                .map(str::to_string)
                .collect()
        };
        assert_eq!(flags(&help), flags(&man), "tracer {c}: --help and man page name different options");
        // Each option's description (the indented paragraph after its flag line) is in the man page too.
        let mut missing = Vec::new();
        let lines: Vec<&str> = help.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if !l.trim_start().starts_with('-') || !l.starts_with("  ") {
                continue;
            }
            let para: Vec<&str> = lines[i + 1..].iter().take_while(|d| d.starts_with("          ")).copied().collect();
            let para = squash(&para.join(" "));
            // clap_mangen puts `[default: N]` on the flag's line: look for the text and the default apart.
            let (text, default) = match para.rsplit_once(" [default: ") {
                Some((text, default)) => (text.to_string(), Some(format!("[default: {default}"))),
                None => (para.clone(), None),
            };
            if !text.is_empty() && !man_flat.contains(&text) {
                missing.push(para.clone());
            }
            if let Some(default) = default
                && !man_flat.contains(&default)
            {
                missing.push(default);
            }
        }
        assert!(missing.is_empty(), "tracer {c}: descriptions in --help but not in the man page:\n{missing:#?}\n{man}");
        let examples = help.split_once("Examples:\n").map(|(_, e)| e).unwrap_or_else(|| panic!("{help}"));
        for ex in examples.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(man_flat.contains(&squash(ex)), "tracer {c}: example {ex:?} is not in the man page:\n{man}");
        }
    }
}

/// Sourced by an interactive zsh (`zsh -f -i` on a pseudo-terminal): compinit with the directory holding `_tracer`
/// first on fpath, says which function completes `tracer`, and prints each match zsh's completion system adds
/// (`compadd` wrapped: `builtin compadd -A` does the matching against what was typed) instead of inserting it.
/// After one completion the shell exits.
const ZSH_INIT: &str = r#"
PROMPT=''
fpath=(${(q)TRACER_COMPLETIONS_DIR} $fpath)
autoload -Uz compinit && compinit -u -D
print -r -- "COMPDEF:$_comps[tracer]:$+functions[_tracer]"
bindkey '^I' complete-word
zstyle ':completion:*' insert-tab false
compadd() {
    # Calls that only collect matches into an array (-O, -A, -D) are the completion system's own: pass them on.
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
    local -a __hits
    builtin compadd -A __hits "$@"
    (( $#__hits )) && print -rl -- "MATCH:"${^__hits}
    builtin compadd "$@"
}
__tracer_test_done() { print -r -- 'COMPLETION-END'; exit }
comppostfuncs=(__tracer_test_done)
print -r -- 'READY'
"#;

/// Run by `zsh -f DRIVER INIT LINE`: starts the interactive zsh on a pseudo-terminal (zsh/zpty), sources INIT, types
/// LINE and a tab, and prints what the shell wrote until the completion ended (at most 20 s for each step).
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "source ${(q)1}"
read_until() {
    out=''
    integer n=0
    while (( n++ < 400 )); do
        if zpty -rt z line; then out+=$line; [[ $out == *$1* ]] && return 0; else sleep 0.05; fi
    done
    print -r -- "$out"
    print -r -- "TIMEOUT waiting for $1"
    zpty -d z
    exit 4
}
read_until READY
print -r -- "$out"
zpty -w -n z "$2"$'\t'
read_until COMPLETION-END
zpty -d z
print -r -- "$out"
"#;

/// What zsh's completion system offers for `line` (completed where it ends) with the zsh completion in `dir` on
/// fpath: asserts compinit registered `_tracer` for `tracer`, returns the matches.
fn complete_in_zsh(dir: &Path, line: &str) -> Vec<String> {
    let scratch = scratch_dir("dist-zsh");
    let (init, driver) = (scratch.join("init.zsh"), scratch.join("driver.zsh"));
    std::fs::write(&init, ZSH_INIT).unwrap();
    std::fs::write(&driver, ZSH_DRIVER).unwrap();
    let out = ok(
        "zsh completion",
        Command::new("zsh")
            .arg("-f")
            .arg(&driver)
            .arg(&init)
            .arg(line)
            .env("TRACER_COMPLETIONS_DIR", dir)
            .env("TERM", "dumb")
            .env("HOME", &scratch),
    );
    let _ = std::fs::remove_dir_all(&scratch);
    let segments: Vec<&str> = out.split(['\r', '\n']).collect();
    assert!(
        segments.iter().any(|s| s.ends_with("COMPDEF:_tracer:1")),
        "compinit did not make _tracer the completion of tracer:\n{out}"
    );
    segments.iter().filter_map(|s| Some(s[s.find("MATCH:")? + "MATCH:".len()..].to_string())).collect()
}

/// The generated zsh completion loads with compinit (its `#compdef tracer` line registers `_tracer`) and completes
/// commands and each command's options, typed on a terminal as a user would.
#[test]
fn completions_load_in_zsh() {
    let dir = dist().join("pkg/completions");
    assert!(dir.join("_tracer").is_file());
    assert_eq!(complete_in_zsh(&dir, "tracer sys"), ["syscalls"]);
    assert_eq!(complete_in_zsh(&dir, "tracer m"), ["monitor"]);
    assert_eq!(complete_in_zsh(&dir, "tracer syscalls --follow"), ["--follow-forks"]);
    assert_eq!(complete_in_zsh(&dir, "tracer monitor --metrics"), ["--metrics-addr"]);
}

/// The words fish offers for `line` (`complete -C`, the completion fish would show) after sourcing `script`.
fn complete_in_fish(script: &Path, line: &str) -> Vec<String> {
    let program = format!("source '{}'; or exit 5; complete -C '{line}'", script.display());
    let out = ok("fish completion", Command::new("fish").args(["--no-config", "-c", &program]));
    out.lines().map(|l| l.split('\t').next().unwrap_or_default().to_string()).filter(|w| !w.is_empty()).collect()
}

/// The generated fish completion loads in fish and completes commands and each command's options.
#[test]
fn completions_load_in_fish() {
    let script = dist().join("pkg/completions/tracer.fish");
    assert_eq!(complete_in_fish(&script, "tracer sys"), ["syscalls"]);
    assert_eq!(complete_in_fish(&script, "tracer m"), ["monitor"]);
    assert_eq!(complete_in_fish(&script, "tracer syscalls --follow"), ["--follow-forks"]);
    assert_eq!(complete_in_fish(&script, "tracer monitor --metrics"), ["--metrics-addr"]);
}
