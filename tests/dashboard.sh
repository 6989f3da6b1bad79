#!/usr/bin/env bash
# deploy/grafana/sockscope.json against a real Prometheus: a lab of network namespaces of its
# own (`ip netns add`, loopback only) holds a realistic mix of sockets with CLOSE_WAIT leaks
# (benches/sockets.py), and one namespace holds SYN_SENT sockets toward an address routed to
# its own loopback (the SYNs go nowhere, and never leave the namespace).
# `sockscope serve --all-netns --by-process` serves it; Prometheus scrapes it every 2 s.
# Then every template variable's query (label_values, as Grafana asks the HTTP API) and every
# panel's query, with the variables set to the lab's values, go through the HTTP API; any error
# or empty answer fails: the lab guarantees data for each. Prints how long the queries took.
#
# Needs root (namespaces); installs Debian's prometheus when missing. Everything it started is
# stopped by pid, and its namespaces deleted, on exit. Prints why it skips where it cannot (a
# failure under SOCKSCOPE_REQUIRE_LIVE=1: tests/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/lib.sh
say() { echo "dashboard.sh: $*"; }
fail() {
    echo "dashboard.sh: FAILED: $*" >&2
    exit 1
}

[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" = 0 ] || skip "needs root (ip netns add)"
need ip iproute2
need curl curl
need python3 python3
need_prometheus

BIN=$(build_sockscope) || fail "cannot build sockscope"
TMP=$(mktemp -d)
NS=(sockscope-dash-a sockscope-dash-b sockscope-dash-c)
PIDS=()
cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    for ns in "${NS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# --- the lab -------------------------------------------------------------------------------
for ns in "${NS[@]}"; do
    ip netns add "$ns" || fail "ip netns add $ns"
    ip -n "$ns" link set lo up
done
for ns in sockscope-dash-a sockscope-dash-b; do
    ip netns exec "$ns" python3 benches/sockets.py --count 400 >"$TMP/$ns.ready" &
    PIDS+=($!)
done
# SYN_SENT: 198.51.100.0/24 (TEST-NET-2) is routed to the namespace's own loopback, where no
# one answers (it is not local, and the namespace does not forward), so the SYNs are dropped
# there and the connects wait.
ip -n sockscope-dash-c addr add 198.51.100.1/32 dev lo
ip -n sockscope-dash-c route add 198.51.100.0/24 dev lo src 198.51.100.1
ip netns exec sockscope-dash-c python3 -c '
import socket, time
held = []
for _ in range(5):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("198.51.100.2", 5432))
    except BlockingIOError:
        pass
    held.append(s)
print("ready", flush=True)
time.sleep(100000)' >"$TMP/syn.ready" &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q ready "$TMP/sockscope-dash-a.ready" "$TMP/sockscope-dash-b.ready" "$TMP/syn.ready" 2>/dev/null &&
        [ "$(cat "$TMP"/*.ready | grep -c ready)" -eq 3 ] && break
    sleep 0.2
done
[ "$(cat "$TMP"/*.ready | grep -c ready)" -eq 3 ] || fail "the lab's sockets did not come up"

"$BIN" serve --all-netns --by-process --listen 127.0.0.1:0 --min-interval 0s 2>"$TMP/serve.log" &
PIDS+=($!)
for _ in $(seq 50); do
    grep -qs serving "$TMP/serve.log" && break
    sleep 0.1
done
target=$(sed -n 's|.*http://\([0-9.:]*\)/metrics|\1|p' "$TMP/serve.log")
[ -n "$target" ] || fail "serve did not start: $(cat "$TMP/serve.log")"
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TMP/prometheus.yml" <<EOF
global: {scrape_interval: 2s, evaluation_interval: 2s}
scrape_configs:
  - job_name: sockscope
    scrape_timeout: 2s
    static_configs: [{targets: ["$target"]}]
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)

# Enough scrapes for a rate over 1m and a range of 20 s (a debug build under load collects this
# lab in about 0.7 s, hence 2 s between scrapes).
for _ in $(seq 120); do
    n=$( (curl -fsS --get "http://127.0.0.1:$prom_port/api/v1/query" \
        --data-urlencode 'query=count_over_time(sockscope_up[1m])' 2>/dev/null ||
        true) | (
        python3 -c 'import json,sys
try: print(int(float(json.load(sys.stdin)["data"]["result"][0]["value"][1])))
except Exception: print(0)'))
    [ "$n" -ge 10 ] && break
    sleep 0.5
done
[ "$n" -ge 10 ] || fail "Prometheus scraped serve $n times in 60 s: $(tail -3 "$TMP/prometheus.log")"
say "lab up: ${#NS[@]} namespaces, $n scrapes of serve --all-netns"
curl -fsS "http://$target/metrics" | grep -E '^sockscope_(up|scrape_duration_seconds|collection_errors_total)' || true
curl -fsS "http://127.0.0.1:$prom_port/api/v1/targets" | python3 -c 'import json,sys; [print("dashboard.sh: target", t["health"], t["lastError"], t["lastScrapeDuration"]) for t in json.load(sys.stdin)["data"]["activeTargets"]]' || true

# --- every variable and every panel --------------------------------------------------------
python3 - "http://127.0.0.1:$prom_port" deploy/grafana/sockscope.json "$target" <<'EOF' || fail "the dashboard's queries"
import json, re, sys, time, urllib.parse, urllib.request

base, path, target = sys.argv[1], sys.argv[2], sys.argv[3]
dash = json.load(open(path))

def get(endpoint, params):
    url = f"{base}{endpoint}?{urllib.parse.urlencode(params, doseq=True)}"
    t = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    return body, time.monotonic() - t

# The lab's choices, as a person would click them.
chosen = {"instance": target, "netns": "sockscope-dash-a", "port": None}
failures, took, count = [], 0.0, 0

def substitute(expr):
    out = expr.replace("$__rate_interval", "1m")
    for name, value in chosen.items():
        # As Grafana does for Prometheus: a regex, its backslashes doubled inside "...".
        out = out.replace(f"${name}", re.escape(value).replace("\\", "\\\\") if value else ".*")
    return out

for var in dash["templating"]["list"]:
    if var["type"] != "query":
        continue
    m = re.fullmatch(r"label_values\((.*), *(\w+)\)", var["query"]["query"])
    if not m:
        failures.append(f"variable {var['name']}: not a label_values query")
        continue
    selector, label = substitute(m.group(1)), m.group(2)
    body, t = get(f"/api/v1/label/{label}/values", {"match[]": selector})
    took += t
    count += 1
    values = body.get("data") or []
    print(f"dashboard.sh: variable {var['name']}: {len(values)} values ({t*1000:.0f} ms)")
    if body.get("status") != "success" or not values:
        failures.append(f"variable {var['name']} ({selector}): {body.get('error', 'no values')}")
    elif var["name"] in chosen and chosen[var["name"]] not in values:
        if chosen[var["name"]] is None:
            chosen[var["name"]] = values[0]
        else:
            failures.append(f"variable {var['name']}: {chosen[var['name']]} not among {values}")

now = time.time()
for panel in dash["panels"]:
    for target_ in panel.get("targets", []):
        expr = substitute(target_["expr"])
        if target_.get("instant"):
            body, t = get("/api/v1/query", {"query": expr})
        else:
            body, t = get("/api/v1/query_range", {"query": expr, "start": now - 20, "end": now, "step": 1})
        took += t
        count += 1
        result = (body.get("data") or {}).get("result") or []
        where = f"panel '{panel['title']}' {target_['refId']}"
        if body.get("status") != "success":
            failures.append(f"{where}: {body.get('error')}: {expr}")
        elif not result:
            failures.append(f"{where}: no data: {expr}")
        print(f"dashboard.sh: {where}: {len(result)} series ({t*1000:.0f} ms)")

print(f"dashboard.sh: {count} queries in {took:.2f} s")
for f in failures:
    print(f"dashboard.sh: {f}")
sys.exit(1 if failures else 0)
EOF
say "passed"
