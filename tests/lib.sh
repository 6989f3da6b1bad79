# Sourced by the scripts under tests/: what they do where a machine lacks something.
#
# `skip REASON` ends the script, saying why it cannot run here. That passes (exit 0), so the
# scripts run anywhere; under SOCKSCOPE_REQUIRE_LIVE=1 (CI, as root, where everything can run)
# it fails (exit 1) instead: there a skip would mean a check had silently stopped checking.
# The Rust tests' twin is util::skip.
skip() {
    local name
    name=$(basename "$0")
    if [ "${SOCKSCOPE_REQUIRE_LIVE:-}" = 1 ]; then
        echo "$name: FAILED: SOCKSCOPE_REQUIRE_LIVE=1 and this would be skipped: $*" >&2
        exit 1
    fi
    echo "$name: skipped: $*"
    exit 0
}

# `need TOOL PACKAGE`: as root with apt-get, installs Debian's PACKAGE when TOOL is missing;
# skips when TOOL is still missing.
need() {
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "$(basename "$0"): installing $2"
        local apt=(apt-get -qq -o DPkg::Lock::Timeout=300)
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$2" >/dev/null 2>&1 ||
            { "${apt[@]}" update >/dev/null 2>&1 &&
                DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "$2" >/dev/null 2>&1; } ||
            skip "$1 is missing and apt-get could not install $2"
    fi
    command -v "$1" >/dev/null || skip "$1 is missing (install $2, or run as root to let this script install it)"
}

# `build_sockscope`: builds the debug binary and prints its path as cargo has it, wherever
# CARGO_TARGET_DIR (a CI cache, say) puts the target directory.
build_sockscope() {
    cargo build --quiet || return 1
    local dir
    dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    [ -n "$dir" ] || { echo "$(basename "$0"): cargo metadata named no target directory" >&2; return 1; }
    echo "$dir/debug/sockscope"
}

# `build_static`: builds the release binary statically linked against glibc (crt-static, the
# way deploy/Dockerfile says) and prints its path as cargo reports it. --target keeps the flag
# off build scripts and proc-macros. tests/image.sh and tests/deb.sh share the one build.
build_static() {
    local triple json
    triple=$(rustc -vV | sed -n 's/^host: //p')
    json=$(RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --quiet \
        --target "$triple" --message-format json) || return 1
    printf '%s\n' "$json" | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "sockscope":
        print(m["executable"])'
}

# `dockerd_start DIR`: a private dockerd of its own (data root, exec root and socket under DIR;
# no iptables, no bridge, so it changes nothing on the host), its client as `docker`, from the
# distribution (DOCKER_CLI: another docker earlier in PATH may not match the daemon). Sets
# DOCKERD_PID; skips, saying why, where dockerd does not start. `dockerd_stop` removes every
# container and image it holds and stops it (by pid), and its containerd with it.
DOCKERD_PID=
DOCKERD_DIR=
docker() { "$DOCKER_CLI" -H "unix://$DOCKERD_DIR/docker.sock" "$@"; }
dockerd_start() {
    DOCKERD_DIR=$1
    local dockerd extra=()
    dockerd=$(command -v /usr/sbin/dockerd /usr/bin/dockerd | head -1)
    [ -n "$dockerd" ] || skip "no dockerd"
    DOCKER_CLI=/usr/bin/docker
    [ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker) || skip "no docker client"
    mkdir -p "$DOCKERD_DIR/docker" "$DOCKERD_DIR/exec"
    "$dockerd" --help 2>&1 | grep -q -- --ip6tables && extra+=(--ip6tables=false)
    "$dockerd" --data-root "$DOCKERD_DIR/docker" --exec-root "$DOCKERD_DIR/exec" \
        --pidfile "$DOCKERD_DIR/docker.pid" -H "unix://$DOCKERD_DIR/docker.sock" \
        --iptables=false --bridge=none "${extra[@]}" >"$DOCKERD_DIR/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 150); do
        docker info >/dev/null 2>&1 && return 0
        kill -0 "$DOCKERD_PID" 2>/dev/null || skip "dockerd does not start here: $(tail -1 "$DOCKERD_DIR/dockerd.log")"
        sleep 0.2
    done
    skip "dockerd did not answer in 30 s: $(tail -1 "$DOCKERD_DIR/dockerd.log")"
}
dockerd_stop() {
    [ -n "$DOCKERD_PID" ] || return 0
    docker ps -aq | xargs -r "$DOCKER_CLI" -H "unix://$DOCKERD_DIR/docker.sock" rm -f >/dev/null 2>&1
    docker images -q | xargs -r "$DOCKER_CLI" -H "unix://$DOCKERD_DIR/docker.sock" rmi -f >/dev/null 2>&1
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$DOCKERD_PID" 2>/dev/null
    # dockerd's own containerd, if it outlived it.
    local containerd
    containerd=$(cat "$DOCKERD_DIR/exec/containerd/containerd.pid" 2>/dev/null)
    [ -n "$containerd" ] && kill "$containerd" 2>/dev/null
    DOCKERD_PID=
    return 0
}

# `busybox_rootfs DIR`: a root file system of busybox-static with a few applets, for images
# built with `docker import` (no registry needed).
busybox_rootfs() {
    mkdir -p "$1/bin" "$1/tmp"
    cp /bin/busybox "$1/bin/busybox"
    local applet
    for applet in sh nc sleep cat seq; do ln -sf busybox "$1/bin/$applet"; done
}

# A server on 8080 whose every connection is held by `sleep` (never read, never closed), and 25
# clients that connect and leave: 25 CLOSE_WAIT on the server side. And a server that echoes,
# with 3 clients that stay connected: ESTABLISHED on both sides.
LEAK_SCRIPT='nc -ll -p 8080 -e sleep 100000 & sleep 0.5; for i in $(seq 25); do nc 127.0.0.1 8080 </dev/null & done; exec sleep 100000'
QUIET_SCRIPT='nc -ll -p 5432 -e cat & sleep 0.5; for i in 1 2 3; do sleep 100000 | nc 127.0.0.1 5432 & done; exec sleep 100000'

# `need_prometheus`: Debian's prometheus (with promtool), installed as root when missing,
# without letting the package start its own service (it would listen on :9090).
need_prometheus() {
    if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
        [ "$(id -u)" -eq 0 ] || skip "prometheus is not installed and installing it needs root"
        command -v apt-get >/dev/null || skip "prometheus is not installed and there is no apt-get"
        local created_policy= installed=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod +x /usr/sbin/policy-rc.d
            created_policy=1
        fi
        if apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
            installed=1
        fi
        [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
        [ "$installed" -eq 1 ] || skip "apt-get could not install prometheus"
    fi
}
