#!/usr/bin/env bash
# Real containers, end to end: sockscope --all-netns must count every container's namespace
# exactly (as `nsenter -t PID -n ss -tan` does), name each container, put a CLOSE_WAIT leak in
# the right one, and do the same from inside a container with --host-root.
#
# As root it installs what is missing from the distribution (docker.io, runc, podman,
# busybox-static), starts a private dockerd by hand (own data root, exec root and socket under a
# temp dir; no iptables, no bridge) so it collides with nothing, builds a tiny image from local
# files (busybox-static plus the sockscope binary and its libraries, `docker import`: no
# registry is needed), runs containers with --network none holding known sockets, then does the
# same with Podman. Everything it started is removed on exit, failure included. It prints why
# it skips where it cannot run (a failure under SOCKSCOPE_REQUIRE_LIVE=1: tests/lib.sh).
#
# Usage: sudo tests/containers.sh   (SOCKSCOPE=path/to/binary to test a given build)
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/lib.sh
say() { echo "containers.sh: $*"; }
fail() {
    echo "containers.sh: FAILED: $*" >&2
    exit 1
}

[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" = 0 ] || skip "needs root (dockerd, podman, setns into containers)"

missing=()
[ -x /usr/sbin/dockerd ] || [ -x /usr/bin/dockerd ] || missing+=(docker.io)
command -v runc >/dev/null || missing+=(runc)
command -v podman >/dev/null || missing+=(podman)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v nsenter >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq >/dev/null 2>&1 || skip "apt-get update failed (no package mirror reachable?)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null 2>&1 || skip "cannot install ${missing[*]}"
fi
DOCKERD=$(command -v /usr/sbin/dockerd /usr/bin/dockerd | head -1)
# The distribution's client matches its daemon (another docker earlier in PATH may not).
DOCKER_CLI=/usr/bin/docker
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker) || skip "no docker client"

if [ -z "${SOCKSCOPE:-}" ]; then
    SOCKSCOPE=$(build_sockscope) || fail "cannot build sockscope"
fi
[ -x "$SOCKSCOPE" ] || fail "no sockscope binary at $SOCKSCOPE"

TMP=$(mktemp -d /tmp/sockscope-containers.XXXXXX)
DOCKERD_PID=
PODMAN_NAMES=()
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs --events-backend file)
# A Podman whose storage is private: named from the --root its conmon carries.
PRIVATE=("${PODMAN[@]}" --root "$TMP/podman-root" --runroot "$TMP/podman-run")
PRIVATE_NAMES=()
IMAGE=sockscope-test:local
cleanup() {
    set +e
    if [ -n "$DOCKERD_PID" ]; then
        docker ps -aq | xargs -r "$DOCKER_CLI" -H "unix://$TMP/docker.sock" rm -f >/dev/null 2>&1
        docker rmi -f "$IMAGE" >/dev/null 2>&1
        kill "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$DOCKERD_PID" 2>/dev/null
        # dockerd's own containerd, if it outlived it.
        pkill_pid=$(cat "$TMP/exec/containerd/containerd.pid" 2>/dev/null)
        [ -n "$pkill_pid" ] && kill "$pkill_pid" 2>/dev/null
    fi
    for name in "${PODMAN_NAMES[@]}"; do "${PODMAN[@]}" rm -f "$name" >/dev/null 2>&1; done
    "${PODMAN[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
    for name in "${PRIVATE_NAMES[@]}"; do "${PRIVATE[@]}" rm -f "$name" >/dev/null 2>&1; done
    [ ${#PRIVATE_NAMES[@]} -gt 0 ] && "${PRIVATE[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
    # Mounts left under the temp dir (overlay layers, netns bind mounts) go before the files.
    grep -o " $TMP[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

docker() { "$DOCKER_CLI" -H "unix://$TMP/docker.sock" "$@"; }

# --- a private dockerd ------------------------------------------------------------------
mkdir -p "$TMP/docker" "$TMP/exec"
extra=()
"$DOCKERD" --help 2>&1 | grep -q -- --ip6tables && extra+=(--ip6tables=false)
"$DOCKERD" --data-root "$TMP/docker" --exec-root "$TMP/exec" --pidfile "$TMP/docker.pid" \
    -H "unix://$TMP/docker.sock" --iptables=false --bridge=none "${extra[@]}" \
    >"$TMP/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 150); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || skip "dockerd does not start here: $(tail -1 "$TMP/dockerd.log")"
    sleep 0.2
done
docker info >/dev/null 2>&1 || skip "dockerd did not answer in 30 s: $(tail -1 "$TMP/dockerd.log")"
say "private dockerd up (data root $TMP/docker)"

# --- a tiny image: busybox, plus sockscope and the libraries it links --------------------
ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in sh nc sleep cat seq; do ln -s busybox "$ROOTFS/bin/$applet"; done
cp "$SOCKSCOPE" "$ROOTFS/sockscope"
for lib in $(ldd "$SOCKSCOPE" | grep -o '/[^ ]*'); do
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
done
tar -C "$ROOTFS" -c . | docker import - "$IMAGE" >/dev/null
say "image $IMAGE imported"

# A server on PORT whose every connection is held by `sleep` (never read, never closed), and
# CLIENTS clients that connect and leave: CLOSE_WAIT on the server side.
LEAK='nc -ll -p 8080 -e sleep 100000 & sleep 0.5; for i in $(seq 25); do nc 127.0.0.1 8080 </dev/null & done; exec sleep 100000'
# A server that echoes, with 3 clients that stay connected: ESTABLISHED on both sides.
QUIET='nc -ll -p 5432 -e cat & sleep 0.5; for i in 1 2 3; do sleep 100000 | nc 127.0.0.1 5432 & done; exec sleep 100000'
docker run -d --name web-frontend --network none "$IMAGE" sh -c "$LEAK" >/dev/null
docker run -d --name quiet-db --network none "$IMAGE" sh -c "$QUIET" >/dev/null
sleep 2

pid_of() { docker inspect -f '{{.State.Pid}}' "$1"; }
# Waits (up to 20 s) until a container's namespace holds N sockets in STATE, so the counts are
# compared once the connections have settled.
settle() {
    local pid=$1 state=$2 n=$3
    for _ in $(seq 100); do
        [ "$(nsenter -t "$pid" -n ss -tan state "$state" | tail -n +2 | wc -l)" -ge "$n" ] && return 0
        sleep 0.2
    done
    fail "the container (pid $pid) never held $n sockets in $state"
}
# ss -tan inside a container's namespace, as JSON {STATE: count} with netstat's names.
ss_counts() {
    nsenter -t "$1" -n ss -tan | python3 -c '
import json, sys
names = {"ESTAB": "ESTABLISHED", "CLOSE-WAIT": "CLOSE_WAIT", "FIN-WAIT-1": "FIN_WAIT1",
         "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT", "SYN-SENT": "SYN_SENT",
         "SYN-RECV": "SYN_RECV", "LAST-ACK": "LAST_ACK", "UNCONN": "CLOSE"}
c = {}
for line in sys.stdin.read().splitlines()[1:]:
    s = line.split()[0]
    s = names.get(s, s)
    c[s] = c.get(s, 0) + 1
print(json.dumps(c))'
}

# Checks one sockscope --all-netns JSON document against ss in each container's namespace.
check_doc() {
    local doc=$1 where=$2
    shift 2
    python3 - "$doc" "$where" "$@" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
where = sys.argv[2]
expect = sys.argv[3:]  # name kind ss-json leak(yes/no)
by_name = {}
for n in doc["namespaces"]:
    c = n["container"]
    if c and c.get("name"):
        by_name[c["name"]] = n
ok = True
for name, kind, ss, leak in zip(expect[0::4], expect[1::4], expect[2::4], expect[3::4]):
    n = by_name.get(name)
    if n is None:
        print(f"{where}: container {name} not named; namespaces: "
              f"{[(x['netns']['id'], x['kind'], x['container']) for x in doc['namespaces']]}")
        ok = False
        continue
    got = {k: v for k, v in n["states"].items() if v}
    want = json.loads(ss)
    if n["kind"] != kind:
        print(f"{where}: {name} is kind {n['kind']}, expected {kind}"); ok = False
    if got != want:
        print(f"{where}: {name} counts {got}, ss -tan says {want}"); ok = False
    leaks = [f for f in doc["findings"]
             if f["id"] == "close_wait_excess" and f.get("namespace") == name]
    if (leak == "yes") != bool(leaks):
        print(f"{where}: {name}: close_wait_excess {'missing' if leak == 'yes' else 'unexpected'}")
        ok = False
    print(f"{where}: {name} ({n['kind']}, {n['collection']['source']}): {got}")
sys.exit(0 if ok else 1)
EOF
}

WEB=$(pid_of web-frontend)
DB=$(pid_of quiet-db)
settle "$WEB" close-wait 25
settle "$DB" established 6
"$SOCKSCOPE" --all-netns --json >"$TMP/host.json"
check_doc "$TMP/host.json" "host" \
    web-frontend docker "$(ss_counts "$WEB")" yes \
    quiet-db docker "$(ss_counts "$DB")" no || fail "sockscope --all-netns on the host"
"$SOCKSCOPE" --all-netns >"$TMP/host.txt" || fail "sockscope --all-netns"
sed 's/^/    /' "$TMP/host.txt"
grep -q "(close_wait_excess) in docker container web-frontend" "$TMP/host.txt" ||
    fail "the table does not put the leak in web-frontend"
"$SOCKSCOPE" --netns web-frontend --format plain | grep -qx "CLOSE_WAIT 25" ||
    fail "--netns web-frontend does not show its 25 CLOSE_WAIT"
say "host: every container named and counted exactly; the leak is in web-frontend"

# --- sockscope inside a container, looking at the host ------------------------------------
# As deploy/docker-run.sh, where this host allows it: rslave needs / to be a shared mount, and
# the AppArmor option needs AppArmor.
inside=()
for propagation in ro,rslave ro; do
    for apparmor in "--security-opt apparmor=unconfined" ""; do
        try=(run --rm --pid host --network none --cap-add SYS_ADMIN --cap-add SYS_PTRACE
            --cap-add DAC_READ_SEARCH -v "/:/host:$propagation" $apparmor)
        if docker "${try[@]}" "$IMAGE" /sockscope --version >/dev/null 2>&1; then
            inside=("${try[@]}")
            break 2
        fi
    done
done
[ ${#inside[@]} -gt 0 ] || fail "cannot run a container with the host's root at /host"
docker "${inside[@]}" "$IMAGE" /sockscope --all-netns --host-root /host --json >"$TMP/inside.json" ||
    fail "sockscope --host-root /host inside a container: $(cat "$TMP/inside.json" | head -3)"
check_doc "$TMP/inside.json" "inside a container" \
    web-frontend docker "$(ss_counts "$WEB")" yes \
    quiet-db docker "$(ss_counts "$DB")" no || fail "sockscope --all-netns --host-root /host"
say "inside a container with --host-root: the same names and counts"

# --- Podman ------------------------------------------------------------------------------
if ! "${PODMAN[@]}" info >/dev/null 2>&1; then
    skip "podman (docker passed): podman info fails here: $("${PODMAN[@]}" info 2>&1 | tail -1)"
fi
tar -C "$ROOTFS" -c . | "${PODMAN[@]}" import -q - "$IMAGE" >/dev/null
PODMAN_NAMES+=(podman-cache)
"${PODMAN[@]}" run -d --name podman-cache --network none \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" sh -c "$LEAK" >/dev/null ||
    fail "podman run"
sleep 2
PC=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' podman-cache)
settle "$PC" close-wait 25
"$SOCKSCOPE" --all-netns --json >"$TMP/podman.json"
check_doc "$TMP/podman.json" "podman" \
    podman-cache podman "$(ss_counts "$PC")" yes \
    web-frontend docker "$(ss_counts "$WEB")" yes || fail "sockscope --all-netns with podman"
say "podman: named and counted exactly"

# Storage that no storage.conf names (podman --root): its conmon's command line says where.
tar -C "$ROOTFS" -c . | "${PRIVATE[@]}" import -q - "$IMAGE" >/dev/null
PRIVATE_NAMES+=(private-cache)
"${PRIVATE[@]}" run -d --name private-cache --network none \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMAGE" sh -c "$LEAK" >/dev/null ||
    fail "podman --root run"
sleep 2
PP=$("${PRIVATE[@]}" inspect -f '{{.State.Pid}}' private-cache)
settle "$PP" close-wait 25
"$SOCKSCOPE" --all-netns --json >"$TMP/private.json"
check_doc "$TMP/private.json" "podman --root" \
    private-cache podman "$(ss_counts "$PP")" yes \
    podman-cache podman "$(ss_counts "$PC")" yes || fail "sockscope --all-netns with podman --root"
say "podman --root $TMP/podman-root: named from its conmon's command line"
say "passed"
