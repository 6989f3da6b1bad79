#!/usr/bin/env bash
# What the DaemonSet's process costs: NS network namespaces (default 100) of SOCKETS sockets each
# (default 1,000; benches/sockets.py's mix, spread over processes under ulimit -n), one
# `sockscope serve --all-netns` (the release build, as the image ships it) scraped every
# INTERVAL seconds (default 15) SCRAPES times (default 8), as Prometheus would. Prints the
# scrape times, the peak and final RSS and the CPU time per scrape; then the
# same collection pushed instead: a second `serve --all-netns --otlp-endpoint` pushing every
# INTERVAL seconds to a receiver on 127.0.0.1 (Python's standard library: it counts bytes,
# decodes nothing), unscraped, for as long; its CPU time per push. Root; loopback and its own
# namespaces only; removes everything on exit.
#
# Usage: sudo benches/fleet_serve.sh [NS] [SOCKETS] [INTERVAL] [SCRAPES]
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh

NS=${1:-100}
SOCKETS=${2:-1000}
INTERVAL=${3:-15}
SCRAPES=${4:-8}
[ "$(id -u)" = 0 ] || { echo "fleet_serve.sh: needs root (ip netns add)" >&2; exit 1; }

BIN=$(build_static)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    for i in $(seq "$NS"); do ip netns delete "sockscope-bench-$i" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

for i in $(seq "$NS"); do
    ip netns add "sockscope-bench-$i"
    ip -n "sockscope-bench-$i" link set lo up
    ip netns exec "sockscope-bench-$i" python3 benches/sockets.py --count "$SOCKETS" >"$TMP/$i.ready" &
    PIDS+=($!)
done
for _ in $(seq 600); do
    [ "$(cat "$TMP"/*.ready 2>/dev/null | grep -c ready)" -eq "$NS" ] && break
    sleep 0.5
done
echo "fleet_serve.sh: $NS namespaces x $SOCKETS sockets up"

# --write-timeout: a scrape here may wait on a loaded machine longer than serve's 30 s default;
# what is measured is the collection, so it is let finish (Prometheus's scrape_timeout is the
# real bound: the README gives the scrape times).
"$BIN" serve --all-netns --listen 127.0.0.1:0 --write-timeout 300s 2>"$TMP/serve.log" &
SERVE=$!
PIDS+=("$SERVE")
for _ in $(seq 50); do grep -qs serving "$TMP/serve.log" && break; sleep 0.1; done
target=$(sed -n 's|.*http://\([0-9.:]*\)/metrics|\1|p' "$TMP/serve.log")
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$SERVE/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVE/status"; }
echo "fleet_serve.sh: idle: RSS $(rss) kB"
before=$(cpu)
for i in $(seq "$SCRAPES"); do
    start=$(date +%s.%N)
    curl -fsS "http://$target/metrics" >"$TMP/metrics" || { cat "$TMP/serve.log" >&2; exit 1; }
    took=$(echo "$(date +%s.%N) - $start" | bc)
    echo "fleet_serve.sh: scrape $i: ${took} s, $(wc -c <"$TMP/metrics") bytes, RSS $(rss) kB, $(grep -c '^sockscope_netns_sockets' "$TMP/metrics") netns series"
    [ "$i" -lt "$SCRAPES" ] && sleep "$INTERVAL"
done
after=$(cpu)
echo "fleet_serve.sh: CPU $(echo "($after - $before) / $SCRAPES" | bc -l | cut -c1-6) s per scrape; average $(echo "($after - $before) / ($SCRAPES * $INTERVAL) * 1000" | bc -l | cut -c1-6) millicores at one scrape per $INTERVAL s"
echo "fleet_serve.sh: peak RSS $(awk '/^VmHWM/ {print $2}' "/proc/$SERVE/status") kB"
kill "$SERVE"
wait "$SERVE" 2>/dev/null || true

# --- the same collection pushed as OTLP instead of scraped ---------------------------------
cat >"$TMP/receiver.py" <<'EOF'
import http.server, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(f"{len(body)}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$TMP/receiver.py" "$TMP/pushes" >"$TMP/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMP/receiver.port" ] && break; sleep 0.1; done
port=$(cat "$TMP/receiver.port")
"$BIN" serve --all-netns --listen 127.0.0.1:0 --otlp-endpoint "http://127.0.0.1:$port" \
    --otlp-interval "${INTERVAL}s" --write-timeout 300s 2>"$TMP/push.log" &
SERVE=$!
PIDS+=("$SERVE")
sleep 1
before=$(cpu)
sleep $((SCRAPES * INTERVAL))
after=$(cpu)
pushes=$(wc -l <"$TMP/pushes" 2>/dev/null || echo 0)
[ "$pushes" -gt 0 ] || { echo "fleet_serve.sh: no push arrived: $(cat "$TMP/push.log")" >&2; exit 1; }
echo "fleet_serve.sh: OTLP: $pushes pushes of $(tail -1 "$TMP/pushes") bytes (protobuf); CPU $(echo "($after - $before) / $pushes" | bc -l | cut -c1-6) s per push; peak RSS $(awk '/^VmHWM/ {print $2}' "/proc/$SERVE/status") kB"
