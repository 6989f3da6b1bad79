#!/usr/bin/env bash
# `sockscope watch` in a real terminal: tmux runs it over a small CLOSE_WAIT leak on loopback,
# send-keys drives it, capture-pane reads the screen. Checks every key does what the footer
# says, that q exits 0 and SIGTERM ends it too, and that both give the terminal back (the
# alternate screen left, the cursor shown, the tty out of raw mode).
#
# Installs tmux with apt-get when missing and root; otherwise says why it skips (exit 0, or 1
# under SOCKSCOPE_REQUIRE_LIVE=1: tests/lib.sh).
# Uses its own tmux server (-L, named after its temporary directory: in the PID namespace below
# every run's $$ is 1, and runs side by side must not share or kill one server) and cleans up
# everything it starts.
# With --capture FILE, also writes the screen (100x34, after a few refreshes) to FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

capture=""
if [[ "${1:-}" == "--capture" ]]; then capture="${2:?--capture needs a file}"; fi

source tests/lib.sh

# As root, run in a PID namespace of our own: watch's owner walk then reads only the test's
# processes, not a busy host's (millions of fds elsewhere make each refresh take minutes).
if [[ $(id -u) -eq 0 && -z "${SOCKSCOPE_TMUX_UNSHARED:-}" ]] && command -v unshare >/dev/null \
    && unshare --pid --fork --mount-proc true 2>/dev/null; then
    SOCKSCOPE_TMUX_UNSHARED=1 exec unshare --pid --fork --mount-proc bash "$0" "$@"
fi

need tmux tmux
need python3 python3 # it holds the CLOSE_WAIT leak

bin=$(build_sockscope)
tmp=$(mktemp -d)
server="sockscope-test-${tmp##*/}"
leak_pid=""
cleanup() {
    tmux -L "$server" kill-server 2>/dev/null || true
    [[ -n "$leak_pid" ]] && kill "$leak_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# A server that never closes what its clients close: 3 more CLOSE_WAIT every half second.
cat > "$tmp/leak.py" <<'PY'
import socket, sys, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1024)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.getsockname()[1]))
held = []
while len(held) < 600:
    for _ in range(3):
        c = socket.create_connection(srv.getsockname())
        s, _ = srv.accept()
        c.close()
        held.append(s)
    time.sleep(0.5)
time.sleep(600)
PY
python3 "$tmp/leak.py" "$tmp/port" & leak_pid=$!
for _ in $(seq 50); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
port=$(cat "$tmp/port")

t() { tmux -L "$server" "$@"; }
screen() { t capture-pane -p -t watch; }
fail() { echo "FAIL tests/tmux.sh: $*"; echo "--- screen:"; screen || true; exit 1; }
# Waits up to 60 s for the screen to show a text (a refresh walks every process's fds, which
# takes seconds on a busy machine).
wait_for() {
    for _ in $(seq 600); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
    fail "the screen never showed '$1'"
}
pane() { t display-message -p -t watch "$1"; }

start() {
    t kill-session -t watch 2>/dev/null || true
    t new-session -d -s watch -x 100 -y 34 -c "$tmp" \
        "printf 'BEFORE-WATCH\n'; sh -c 'echo \$\$ > $tmp/pid; exec $bin watch $*'; echo EXIT=\$?; stty -a > $tmp/stty; sleep 600"
}

check_restored() {
    wait_for "EXIT="
    screen | grep -qx "EXIT=$1" || fail "expected exit status $1"
    screen | grep -q "BEFORE-WATCH" || fail "the shell's screen was not given back"
    [[ $(pane '#{alternate_on}') == 0 ]] || fail "still on the alternate screen"
    [[ $(pane '#{cursor_flag}') == 1 ]] || fail "the cursor is still hidden"
    for _ in $(seq 50); do [[ -s "$tmp/stty" ]] && break; sleep 0.1; done
    grep -qw -- "-icanon" "$tmp/stty" && fail "the tty was left in raw mode (-icanon)"
    grep -qw -- "icanon" "$tmp/stty" || fail "stty -a shows no icanon"
    grep -qw -- "echo" "$tmp/stty" || fail "the tty was left without echo"
    rm -f "$tmp/stty"
}

echo "== tmux: sockscope watch, keys, q"
start "-n 0.5 --sport $port"
wait_for "sockscope watch"
wait_for "CLOSE_WAIT growing"
[[ $(pane '#{alternate_on}') == 1 ]] || fail "watch did not use the alternate screen"
wait_for "Top CLOSE_WAIT by process"
screen | grep -q "python3\[$leak_pid\]" || fail "the culprit panel does not name the leaking process"
if [[ -n "$capture" ]]; then sleep 4; screen > "$capture"; echo "captured the screen in $capture"; fi
t send-keys -t watch o; wait_for "Top CLOSE_WAIT by local port"
t send-keys -t watch r; wait_for "Top CLOSE_WAIT by peer"
t send-keys -t watch c; wait_for "needs --all-netns"
t send-keys -t watch z; wait_for "SYN_SENT"
t send-keys -t watch Up; wait_for "Top FIN_WAIT2 by peer"
t send-keys -t watch s; wait_for "Top CLOSE_WAIT by peer"
t send-keys -t watch ' '; wait_for "PAUSED"
t send-keys -t watch ' '
t send-keys -t watch +; wait_for "every 1s"
t send-keys -t watch e; wait_for "snapshot written to"
snapshot=$(ls "$tmp"/sockscope-watch-*.json)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema_version"] == 2 and "CLOSE_WAIT" in d["states"]' "$snapshot" \
    || fail "the snapshot is not the summary document"
t send-keys -t watch f; wait_for "filter>"
t send-keys -t watch C-u
t send-keys -t watch -l "port 99999"; t send-keys -t watch Enter; wait_for "99999"
t send-keys -t watch Escape
t send-keys -t watch f; t send-keys -t watch -l " state close-wait"; t send-keys -t watch Enter
wait_for "Filter: state close-wait, sport $port"
t send-keys -t watch q
check_restored 0

echo "== tmux: SIGTERM gives the terminal back"
start "-n 0.5"
wait_for "sockscope watch"
kill -TERM "$(cat "$tmp/pid")"
check_restored 143

echo "== tmux: SIGHUP too, and says so in its status"
start "-n 0.5"
wait_for "sockscope watch"
kill -HUP "$(cat "$tmp/pid")"
check_restored 129

echo "== tmux: --all-netns groups by container; the prompt edits as a shell's line does"
start "-n 0.5 --all-netns"
wait_for "Top CLOSE_WAIT by"
t send-keys -t watch c; wait_for "Top CLOSE_WAIT by container"
screen | grep -q "(not a container)" || fail "the container panel does not list the host's sockets"
t send-keys -t watch f; wait_for "filter>"
t send-keys -t watch -l "port 1"; t send-keys -t watch C-w; t send-keys -t watch -l "8080"
t send-keys -t watch C-a; t send-keys -t watch -l "state listen "; wait_for "filter> state listen port 8080"
t send-keys -t watch C-u; t send-keys -t watch -l "x"; wait_for "filter> x"
screen | grep -q "filter> xu\|filter> .*u.*x" && fail "Ctrl-U typed a letter"
t send-keys -t watch Escape
t send-keys -t watch q
check_restored 0

echo "== tmux: a terminal that goes away (SSH dropped, window closed) ends watch"
start "-n 0.5"
wait_for "sockscope watch"
pid=$(cat "$tmp/pid")
# The last session gone, the tmux server exits, sometimes before it answers its client ("server
# exited unexpectedly"): what counts is that watch ends, checked below.
t kill-session -t watch 2>/dev/null || true
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    fail "watch kept running after its terminal hung up"
fi

echo "== tmux: ok"
