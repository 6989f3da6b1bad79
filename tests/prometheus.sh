#!/usr/bin/env bash
# A real Prometheus server scrapes `sockscope serve` on loopback: waits for two scrapes, then
# asks its HTTP API for sockscope_sockets and for a rate over the kernel counters. Also checks
# deploy/prometheus.yml's job shape and deploy/sockscope-rules.yml with promtool (check rules, and
# test rules: every alert fires and stays quiet), and lints what `check --format prometheus` (with
# and without --all-netns) and serve's /metrics write with `promtool check metrics`.
#
# Needs root to install Debian's `prometheus` package when it is missing; skips, saying why,
# where it cannot (a failure under SOCKSCOPE_REQUIRE_LIVE=1: tests/lib.sh). Everything it
# starts runs on 127.0.0.1 with its own data directory, and is stopped (by pid) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/lib.sh

need_prometheus
need curl curl
need python3 python3

bin=$(build_sockscope)
work=$(mktemp -d)
serve_pid=
prom_pid=
cleanup() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --listen 127.0.0.1:0 --min-interval 0s 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 50); do
    grep -qs serving "$work/serve.log" && break
    sleep 0.1
done
target=$(sed -n 's|.*http://\([0-9.:]*\)/metrics|\1|p' "$work/serve.log")
[ -n "$target" ] || { cat "$work/serve.log"; echo "prometheus.sh: FAIL: serve did not start"; exit 1; }

# promtool's lint (names, types, suffixes, HELP) over every exposition sockscope writes. check
# exits 0 to 2 with its status: only 3 (UNKNOWN) is a failure here.
lint() {
    local what=$1 file=$2
    if ! promtool check metrics <"$file" >"$work/lint.txt" 2>&1; then
        cat "$work/lint.txt"
        echo "prometheus.sh: FAIL: promtool check metrics rejects $what"
        exit 1
    fi
}
for args in "" "--all-netns"; do
    code=0
    # shellcheck disable=SC2086 # $args is one option or none
    "$bin" check --format prometheus $args >"$work/check.prom" || code=$?
    [ "$code" -le 2 ] || { cat "$work/check.prom"; echo "prometheus.sh: FAIL: check $args exited $code"; exit 1; }
    lint "check --format prometheus $args" "$work/check.prom"
done
curl -fsS "http://$target/metrics" >"$work/serve.prom"
lint "serve's /metrics" "$work/serve.prom"
echo "prometheus.sh: promtool check metrics accepts check's and serve's expositions"

prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cp deploy/sockscope-rules.yml deploy/sockscope-rules.test.yml "$work/"
# deploy/prometheus.yml's job, with a fast interval and this run's target.
sed -e "s|localhost:10399|$target|" -e 's|scrape_interval: 15s|scrape_interval: 1s|' \
    -e 's|scrape_timeout: 10s|scrape_timeout: 1s|' deploy/prometheus.yml >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null
promtool check rules "$work/sockscope-rules.yml" >/dev/null
# Every generated alert fires on one node and stays quiet on another (cases generated with it).
promtool test rules "$work/sockscope-rules.test.yml" >/dev/null ||
    { promtool test rules "$work/sockscope-rules.test.yml"; echo "prometheus.sh: FAIL: promtool test rules"; exit 1; }

prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!

query() {
    curl -fsS --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" 2>/dev/null || true
}
results() {
    python3 -c 'import json,sys
try: print(len(json.load(sys.stdin)["data"]["result"]))
except Exception: print(0)'
}
scrapes=0
for _ in $(seq 120); do
    scrapes=$(query 'count_over_time(sockscope_up[5m])' | python3 -c 'import json,sys
try: print(int(float(json.load(sys.stdin)["data"]["result"][0]["value"][1])))
except Exception: print(0)')
    [ "$scrapes" -ge 3 ] && break
    sleep 0.5
done
if [ "$scrapes" -lt 3 ]; then
    tail -20 "$work/prometheus.log"
    echo "prometheus.sh: FAIL: Prometheus scraped sockscope $scrapes times in 60 s"
    exit 1
fi
states=$(query 'sockscope_sockets' | results)
rates=$(query 'rate(sockscope_tcp_events_total[1m])' | results)
findings=$(query 'sockscope_finding' | results)
echo "prometheus.sh: $scrapes scrapes; sockscope_sockets: $states series; rate(kernel counters): $rates series; sockscope_finding: $findings series"
[ "$states" -eq 24 ] || { echo "prometheus.sh: FAIL: expected 24 sockscope_sockets series (11 states and unknown x 2 families)"; exit 1; }
[ "$rates" -ge 1 ] || { echo "prometheus.sh: FAIL: no rate over the kernel counters"; exit 1; }
[ "$findings" -ge 1 ] || { echo "prometheus.sh: FAIL: no sockscope_finding series"; exit 1; }
# Connections over time (issue 25): promtool has nothing to say about the flow families, and
# as root (following destroy events needs CAP_NET_ADMIN) a connection to sockscope that closed
# shows up as a closed connection and a lifetime.
curl -fsS "http://$target/metrics" >"$work/metrics.prom"
lint=$(promtool check metrics <"$work/metrics.prom" 2>&1 || true)
if grep -E '^(sockscope_flows_|sockscope_connection|sockscope_connect_|sockscope_events_lost|sockscope_process_connections)|error while linting' <<<"$lint"; then
    echo "prometheus.sh: FAIL: promtool check metrics objects to the flow families"
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    # The curl above closed a connection to sockscope's port; Prometheus scrapes every second.
    closed=0
    for _ in $(seq 20); do
        closed=$(query "sockscope_connections_closed_total{port=\"${target##*:}\",side=\"local\"} > 0" | results)
        [ "$closed" -ge 1 ] && break
        sleep 0.5
    done
    lifetimes=$(query 'histogram_quantile(0.5, rate(sockscope_connection_lifetime_seconds_bucket[1m]))' | results)
    lost=$(query 'sockscope_events_lost_total' | results)
    echo "prometheus.sh: closed connections to sockscope's port: $closed series; lifetime median: $lifetimes series; events lost: $lost series"
    [ "$closed" -eq 1 ] || { echo "prometheus.sh: FAIL: a connection to sockscope's port that closed is not counted"; exit 1; }
    [ "$lifetimes" -eq 1 ] || { echo "prometheus.sh: FAIL: no lifetime quantile"; exit 1; }
    [ "$lost" -eq 1 ] || { echo "prometheus.sh: FAIL: no sockscope_events_lost_total"; exit 1; }
fi
echo "prometheus.sh: OK"
