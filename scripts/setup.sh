#!/usr/bin/env bash
# Installs what building, testing and benchmarking tracer needs on Debian 12 (run as root).
# Idempotent: when everything is present it only checks (well under 2 s) and installs nothing.
# Usually run through `cargo xtask setup` (every other xtask subcommand runs it first).
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (tracer loads eBPF programs; apt and mount need root)"

export PATH="$HOME/.cargo/bin:$PATH"
command -v rustup >/dev/null 2>&1 || die "rustup not found; install it first: https://rustup.rs (then re-run)"
command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (expected in \$HOME/.cargo/bin)"

installed_something=0

# --- Debian packages -------------------------------------------------------------------------
# strace, bpftrace, lsof, ss (iproute2), hyperfine: comparison tools for tests and benchmarks.
# python3 (/usr/bin/python3): the socket-making helper of the `tracer binds` tests.
# prometheus: the real server that scrapes `tracer monitor --metrics-addr` in its tests.
# tmux: the real terminal (a pty with a foreground process group) the signals tests press Ctrl-C and Ctrl-Z in.
# nginx-light: the real pre-forking server `tracer procs` tests reload (run on a private port and prefix; the
# system service Debian starts on install is stopped and disabled).
# redis-server: the real server `tracer conns` tests count connections and bytes against (run on a private port with
# no persistence; the system service Debian starts on install is stopped and disabled).
# bpftool: bench/syscalls.sh sees with it when bpftrace attached and which other processes have programs on the
# syscall tracepoints; bench/bpfstats.py names programs with it (issue 22).
# C and C++ compilers: to link Rust binaries, build bpf-linker, and build libFuzzer for cargo-fuzz.
# `cargo xtask dist` and its tests: musl-tools (the static x86_64-unknown-linux-musl build), buildah (the OCI image,
# from scratch, offline), podman (runs that image in the tests), file (says the binary is static), man-db (`man
# tracer-syscalls` after installing the .deb), python3-venv (kubernetes-validate checks contrib/'s DaemonSet), runc
# (the runtime the image test runs podman with: on this project's cgroup v1 machines, Debian 12's crun 1.8 refuses
# to start any container, "cgroups in hybrid mode not supported").
# busybox-static: tests/containers.rs builds a container's root filesystem from it offline (no registry pulls) and
# runs it with podman and runc (above); unshare is util-linux's, always there.
# zsh and fish: the dist tests load the generated zsh and fish completions in them, as bash's are.
# systemd: the kernel matrix's systemd boot (systemd-unit) copies its PID 1 and systemd-run into the guest; a Debian
# 12 server has it (priority important), a Debian container image does not. It is not started here.
want_pkgs=(strace bpftrace bpftool lsof iproute2 hyperfine python3 prometheus nginx-light tmux redis-server
    musl-tools buildah podman runc busybox-static file man-db python3-venv zsh fish systemd)
{ command -v cc && command -v c++; } >/dev/null 2>&1 || want_pkgs+=(build-essential)
missing_pkgs=()
for p in "${want_pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing_pkgs+=("$p")
done
if ((${#missing_pkgs[@]})); then
    say "installing Debian packages: ${missing_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing_pkgs[@]}"
    installed_something=1
    if [[ " ${missing_pkgs[*]} " == *" nginx-light "* ]]; then
        if command -v systemctl >/dev/null; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
        # Without systemd the package's init script may have started it: stop it (its default pid file).
        nginx -s quit >/dev/null 2>&1 || true
    fi
    if [[ " ${missing_pkgs[*]} " == *" redis-server "* ]]; then
        if command -v systemctl >/dev/null; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
        # Without systemd the package's init script may have started it: stop it (through that script).
        if [[ -x /etc/init.d/redis-server ]]; then /etc/init.d/redis-server stop >/dev/null 2>&1 || true; fi
    fi
fi

# --- Rust toolchains and components ----------------------------------------------------------
# The eBPF crate is compiled with a pinned nightly ($EBPF_TOOLCHAIN, scripts/toolchain.env) and
# `-Z build-std=core` (needs rust-src); `cargo xtask test` runs clippy on it with that nightly, and the
# fuzz run uses it too.
# shellcheck source=toolchain.env
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.env"
[[ -n ${EBPF_TOOLCHAIN:-} && -n ${BPF_LINKER_VERSION:-} ]] || die "scripts/toolchain.env must set EBPF_TOOLCHAIN and BPF_LINKER_VERSION"
if ! rustup run "$EBPF_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    say "installing Rust toolchain $EBPF_TOOLCHAIN (minimal profile)"
    rustup toolchain install "$EBPF_TOOLCHAIN" --profile minimal
    installed_something=1
fi
nightly_components=$(rustup component list --toolchain "$EBPF_TOOLCHAIN" --installed)
for c in rust-src clippy; do
    if ! grep -q "^$c\(-\|$\)" <<<"$nightly_components"; then
        say "adding component $c to the $EBPF_TOOLCHAIN toolchain"
        rustup component add "$c" --toolchain "$EBPF_TOOLCHAIN"
        installed_something=1
    fi
done
# The default (stable) toolchain needs rustfmt and clippy for `cargo xtask test`.
default_components=$(rustup component list --installed)
for c in rustfmt clippy; do
    if ! grep -q "^$c\(-\|$\)" <<<"$default_components"; then
        say "adding component $c to the default toolchain"
        rustup component add "$c"
        installed_something=1
    fi
done

# --- bpf-linker, linked against the pinned nightly's own LLVM --------------------------------
# `cargo install bpf-linker` wants a system LLVM 21-23, which Debian 12 does not have. Link it
# against the libLLVM that ships inside the nightly toolchain instead. The binary gets a RUNPATH
# to $prefix/lib, so the symlinks there must stay. Rebuilt when its version is not the pinned one.
sysroot=$(rustc +"$EBPF_TOOLCHAIN" --print sysroot)
llvm=$(ls "$sysroot"/lib/libLLVM.so.* 2>/dev/null | head -n1 || true)
[[ -n $llvm ]] || die "no libLLVM.so.* in $sysroot/lib"
prefix=$HOME/.cache/tracer/rust-llvm
if [[ $(bpf-linker --version 2>/dev/null) != "bpf-linker $BPF_LINKER_VERSION" ||
    $(readlink "$prefix/lib/libLLVM.so" 2>/dev/null) != "$llvm" ]]; then
    llvm_major=$(rustc +"$EBPF_TOOLCHAIN" -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
    [[ -n $llvm_major ]] || die "cannot read the LLVM version from 'rustc +$EBPF_TOOLCHAIN -vV'"
    say "building bpf-linker $BPF_LINKER_VERSION against $EBPF_TOOLCHAIN's LLVM $llvm_major ($llvm) in $prefix (about a minute)"
    mkdir -p "$prefix/lib"
    ln -sf "$llvm" "$prefix/lib/libLLVM.so"
    ln -sf "$llvm" "$prefix/lib/$(basename "$llvm")"
    LLVM_PREFIX=$prefix cargo install bpf-linker --version "=$BPF_LINKER_VERSION" --locked --force \
        --no-default-features --features "llvm-$llvm_major"
    [[ $(bpf-linker --version 2>/dev/null) == "bpf-linker $BPF_LINKER_VERSION" ]] ||
        die "bpf-linker $BPF_LINKER_VERSION was installed but does not run"
    installed_something=1
fi

# --- The static build's target, cargo-deb, kubernetes-validate (`cargo xtask dist` and its tests) -------------
[[ -n ${MUSL_TARGET:-} && -n ${CARGO_DEB_VERSION:-} && -n ${KUBERNETES_VALIDATE_VERSION:-} ]] ||
    die "scripts/toolchain.env must set MUSL_TARGET, CARGO_DEB_VERSION and KUBERNETES_VALIDATE_VERSION"
if ! rustup target list --installed | grep -qx "$MUSL_TARGET"; then
    say "adding the Rust target $MUSL_TARGET to the default toolchain"
    rustup target add "$MUSL_TARGET"
    installed_something=1
fi
if [[ $(cargo deb --version 2>/dev/null) != "cargo-deb $CARGO_DEB_VERSION" ]]; then
    say "installing cargo-deb $CARGO_DEB_VERSION (a few minutes)"
    cargo install cargo-deb --version "=$CARGO_DEB_VERSION" --locked --force
    installed_something=1
fi
# In a virtual environment of its own: Debian's python3 refuses system-wide pip installs (PEP 668).
venv=$HOME/.cache/tracer/venv
# Checked by its installed metadata: starting it to ask its version costs half a second.
if ! compgen -G "$venv/lib/python3*/site-packages/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION.dist-info" >/dev/null ||
    [[ ! -x $venv/bin/kubernetes-validate ]]; then
    say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION in $venv"
    [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    installed_something=1
fi

# --- cargo-fuzz (short fuzz run in `cargo xtask test`) ----------------------------------------
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
    installed_something=1
fi

# --- tracefs ----------------------------------------------------------------------------------
# tracer mounts it itself, but bpftrace and the tests' other tools need it too.
if ! awk '$2 == "/sys/kernel/tracing" && $3 == "tracefs" { found = 1 } END { exit !found }' /proc/self/mounts; then
    say "mounting tracefs at /sys/kernel/tracing"
    mount -t tracefs nodev /sys/kernel/tracing
    installed_something=1
fi

if ((installed_something)); then
    say "done"
else
    say "all prerequisites present"
fi
