#!/usr/bin/env bash
# OTLP push against the official decoder: a small OTLP/HTTP receiver (Python, the
# `opentelemetry-proto` bindings generated from the specification's .proto files) on
# 127.0.0.1 takes what sockscope pushes and decodes it. Then:
#   - serve --all-netns --otlp-endpoint: every data point decoded equals the sample /metrics
#     serves from the same collection (--min-interval keeps one), and every /metrics sample
#     was pushed; the connection counts follow the semantic conventions;
#   - check --otlp-endpoint: the same against `check --format prometheus` of the same run;
#   - a receiver that answers 503, and one that is not there: check says so and exits 3
#     (UNKNOWN), serve says so on stderr and keeps serving;
#   - what a push costs next to a scrape (time and bytes), printed.
#
# Needs python3 with pip (as root it installs opentelemetry-proto when missing) and root for the
# lab namespace (`ip netns add`, loopback only). Everything it started is stopped by pid and
# the namespace deleted on exit; it says why it skips where it cannot (a failure under
# SOCKSCOPE_REQUIRE_LIVE=1).
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/lib.sh
say() { echo "otlp.sh: $*"; }
fail() {
    echo "otlp.sh: FAILED: $*" >&2
    exit 1
}

[ "$(uname -s)" = Linux ] || skip "not Linux"
[ "$(id -u)" = 0 ] || skip "needs root (ip netns add)"
need ip iproute2
need curl curl
need python3 python3
if ! python3 -c 'import opentelemetry.proto.collector.metrics.v1.metrics_service_pb2' 2>/dev/null; then
    python3 -m pip --version >/dev/null 2>&1 || need pip3 python3-pip
    python3 -m pip install -q opentelemetry-proto >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages opentelemetry-proto >/dev/null 2>&1 ||
        skip "pip could not install opentelemetry-proto"
    python3 -c 'import opentelemetry.proto.collector.metrics.v1.metrics_service_pb2' 2>/dev/null ||
        skip "opentelemetry-proto installed but not importable"
fi

BIN=$(build_sockscope) || fail "cannot build sockscope"
TMP=$(mktemp -d)
NS=sockscope-otlp
PIDS=()
cleanup() {
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    ip netns delete "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NS" || fail "ip netns add $NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" python3 benches/sockets.py --count 300 >"$TMP/lab.ready" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$TMP/lab.ready" && break; sleep 0.2; done
grep -q ready "$TMP/lab.ready" || fail "the lab's sockets did not come up"

# The receiver: writes each request's bytes to DIR/N.pb; answers 200 with an empty
# ExportMetricsServiceResponse, or STATUS when DIR/status holds one.
cat >"$TMP/receiver.py" <<'EOF'
import http.server, os, sys
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc
out = sys.argv[1]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = 200
        if os.path.exists(f"{out}/status"):
            status = int(open(f"{out}/status").read())
        if status == 200 and self.path == "/v1/metrics" and \
                self.headers.get("Content-Type") == "application/x-protobuf":
            svc.ExportMetricsServiceRequest.FromString(body)  # refuses what does not decode
            n = len([f for f in os.listdir(out) if f.endswith(".pb")])
            with open(f"{out}/{n}.tmp", "wb") as f:
                f.write(body)
            os.rename(f"{out}/{n}.tmp", f"{out}/{n}.pb")
            answer = svc.ExportMetricsServiceResponse().SerializeToString()
        else:
            status = status if status != 200 else 400
            answer = b"not taken"
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
mkdir -p "$TMP/got"
python3 "$TMP/receiver.py" "$TMP/got" >"$TMP/receiver.port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMP/receiver.port" ] && break; sleep 0.1; done
RPORT=$(cat "$TMP/receiver.port")
[ -n "$RPORT" ] || fail "the receiver did not start"
ENDPOINT="http://127.0.0.1:$RPORT"

# Compares the decoded pushes in DIR (the first) with an exposition text: equal sample sets.
cat >"$TMP/compare.py" <<'EOF'
import sys, math
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc
req = svc.ExportMetricsServiceRequest.FromString(open(sys.argv[1], "rb").read())
text = open(sys.argv[2]).read()

def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append("\n" if v[i + 1] == "n" else v[i + 1]); i += 2
        else:
            out.append(v[i]); i += 1
    return "".join(out)

def parse_labels(s):
    labels, i = {}, 0
    while i < len(s):
        eq = s.index('="', i)
        key = s[i:eq].lstrip(",")
        j = eq + 2
        while s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        labels[key] = unescape(s[eq + 2:j])
        i = j + 1
    return labels

want = {}
for line in text.splitlines():
    if not line or line.startswith("#"):
        continue
    head, value = line.rsplit(" ", 1)
    name, _, rest = head.partition("{")
    labels = parse_labels(rest[:-1]) if rest else {}
    if "le" in labels and labels["le"] != "+Inf":
        labels["le"] = repr(float(labels["le"]))
    want[(name, tuple(sorted(labels.items())))] = float(value)

got, problems = {}, []
ns_keys = {"sockscope.netns": "netns", "container.name": "container"}
for rm in req.resource_metrics:
    res = {a.key: a.value.string_value for a in rm.resource.attributes}
    if "host.name" not in res:
        problems.append(f"a resource without host.name: {res}")
    for sm in rm.scope_metrics:
        for m in sm.metrics:
            kind = m.WhichOneof("data")
            points = getattr(m, kind).data_points
            monotonic = kind == "sum" and m.sum.is_monotonic
            if kind == "histogram":
                # Back to the text's samples: cumulative le buckets, _sum and _count.
                base = "sockscope_" + m.name[len("sockscope."):] + ("_seconds" if m.unit == "s" else "")
                for p in points:
                    attrs = {a.key: a.value.string_value for a in p.attributes}
                    if len(p.bucket_counts) != len(p.explicit_bounds) + 1:
                        problems.append(f"{m.name}: {len(p.bucket_counts)} buckets for {len(p.explicit_bounds)} bounds")
                    if sum(p.bucket_counts) != p.count:
                        problems.append(f"{m.name}: buckets add up to {sum(p.bucket_counts)}, count {p.count}")
                    samples = [(base + "_sum", {}, p.sum), (base + "_count", {}, p.count)]
                    running = 0
                    for bound, n in zip(list(p.explicit_bounds) + [math.inf], p.bucket_counts):
                        running += n
                        le = "+Inf" if math.isinf(bound) else repr(float(bound))
                        samples.append((base + "_bucket", {"le": le}, running))
                    for name, extra, value in samples:
                        key = (name, tuple(sorted({**attrs, **extra}.items())))
                        if key in got:
                            problems.append(f"pushed twice: {key}")
                        got[key] = float(value)
                continue
            for p in points:
                attrs = {a.key: a.value.string_value for a in p.attributes}
                value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                if m.name == "system.network.connection.count":
                    if attrs.pop("network.transport", None) != "tcp":
                        problems.append(f"{m.name} without network.transport=tcp")
                    if m.unit != "{connection}" or kind != "sum" or monotonic:
                        problems.append(f"{m.name}: unit {m.unit}, {kind}, monotonic {monotonic}")
                    labels = {"state": attrs.pop("network.connection.state")}
                    if "sockscope.netns" in res:
                        name = "sockscope_netns_sockets"
                        labels.update(netns=res["sockscope.netns"], container=res.get("container.name", ""),
                                      pod=(f"{res['k8s.namespace.name']}/{res['k8s.pod.name']}"
                                           if "k8s.pod.name" in res else ""))
                        if res.get("sockscope.netns.folded") == "true":
                            labels["folded"] = "true"
                    else:
                        name = "sockscope_sockets"
                        labels["family"] = attrs.pop("network.type")
                    labels.update(attrs)
                elif m.name == "sockscope.finding" and "sockscope.netns" in res:
                    name = "sockscope_netns_finding"
                    labels = dict(netns=res["sockscope.netns"], container=res.get("container.name", ""),
                                  pod=(f"{res['k8s.namespace.name']}/{res['k8s.pod.name']}"
                                       if "k8s.pod.name" in res else ""), **attrs)
                else:
                    if not m.name.startswith("sockscope."):
                        problems.append(f"metric {m.name} outside sockscope.*")
                    name = "sockscope_" + m.name[len("sockscope."):]
                    if m.unit == "s":
                        name += "_seconds"
                    if monotonic:
                        name += "_total"
                    labels = attrs
                key = (name, tuple(sorted(labels.items())))
                if key in got:
                    problems.append(f"pushed twice: {key}")
                got[key] = float(value)

for key in sorted(set(want) | set(got)):
    w, g = want.get(key), got.get(key)
    if w is None:
        problems.append(f"pushed but not in the text: {key} = {g}")
    elif g is None:
        problems.append(f"in the text but not pushed: {key} = {w}")
    elif not (w == g or (math.isnan(w) and math.isnan(g)) or abs(w - g) <= 1e-9 * max(1, abs(w))):
        problems.append(f"{key}: text {w}, pushed {g}")
for p in problems[:20]:
    print("otlp.sh:", p)
print(f"otlp.sh: {len(got)} data points decoded, {len(want)} samples in the text, {len(problems)} differences")
sys.exit(1 if problems else 0)
EOF

# --- serve ---------------------------------------------------------------------------------
"$BIN" serve --all-netns --listen 127.0.0.1:0 --min-interval 1h --otlp-endpoint "$ENDPOINT" \
    --otlp-interval 1s 2>"$TMP/serve.log" &
SERVE=$!
PIDS+=("$SERVE")
for _ in $(seq 100); do
    [ -e "$TMP/got/0.pb" ] && grep -qs serving "$TMP/serve.log" && break
    sleep 0.1
done
target=$(sed -n 's|.*http://\([0-9.:]*\)/metrics|\1|p' "$TMP/serve.log")
[ -n "$target" ] || fail "serve did not start: $(cat "$TMP/serve.log")"
[ -e "$TMP/got/0.pb" ] || fail "serve pushed nothing in 10 s: $(cat "$TMP/serve.log")"
curl -fsS "http://$target/metrics" >"$TMP/metrics" || fail "curl /metrics"
grep -q 'netns="sockscope-otlp"' "$TMP/metrics" || fail "the lab namespace is not in /metrics"
python3 "$TMP/compare.py" "$TMP/got/0.pb" "$TMP/metrics" || fail "serve's push differs from /metrics"
say "serve --all-netns: the push decodes to exactly what /metrics serves"

# A receiver that refuses: serve says so and keeps serving.
echo 503 >"$TMP/got/status"
for _ in $(seq 50); do grep -q "OTLP push to $ENDPOINT/v1/metrics failed: HTTP 503" "$TMP/serve.log" && break; sleep 0.1; done
grep -q "OTLP push to $ENDPOINT/v1/metrics failed: HTTP 503" "$TMP/serve.log" ||
    fail "serve did not say that the push failed: $(tail -3 "$TMP/serve.log")"
curl -fsS "http://$target/healthz" >/dev/null || fail "serve stopped serving after a failed push"
say "serve: a refused push is said on stderr ($(grep -m1 'OTLP push' "$TMP/serve.log" | cut -c1-90)…), serving goes on"

# serve pushes every second: stopped here, so that what the receiver gets next is check's.
kill "$SERVE"
wait "$SERVE" 2>/dev/null || true

# --- check ---------------------------------------------------------------------------------
code=0
"$BIN" check --all-netns --format nagios --otlp-endpoint "$ENDPOINT" >"$TMP/check.out" 2>&1 || code=$?
[ "$code" -eq 3 ] || fail "check with a refused push exited $code, not 3 (UNKNOWN): $(cat "$TMP/check.out")"
grep -q "SOCKSCOPE UNKNOWN.*OTLP push to $ENDPOINT/v1/metrics failed: HTTP 503" "$TMP/check.out" ||
    fail "check does not say why: $(cat "$TMP/check.out")"
rm "$TMP/got/status"
gone=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
code=0
"$BIN" check --otlp-endpoint "http://127.0.0.1:$gone" >"$TMP/check.out" 2>&1 || code=$?
[ "$code" -eq 3 ] && grep -q "OTLP push to http://127.0.0.1:$gone/v1/metrics failed" "$TMP/check.out" ||
    fail "check with no receiver: exit $code, $(cat "$TMP/check.out")"
say "check: a refused push and an absent receiver are UNKNOWN (exit 3), saying why"

n=$(ls "$TMP/got"/*.pb | wc -l)
"$BIN" check --all-netns --format prometheus --otlp-endpoint "$ENDPOINT" >"$TMP/check.prom" || true
[ -e "$TMP/got/$n.pb" ] || fail "check pushed nothing"
python3 "$TMP/compare.py" "$TMP/got/$n.pb" "$TMP/check.prom" || fail "check's push differs from its text"
say "check --all-netns: the push decodes to exactly what --format prometheus prints"

# --- what a push costs next to a scrape ------------------------------------------------------
python3 - "$BIN" "$ENDPOINT" "$TMP" <<'EOF'
import subprocess, sys, time, os
bin_, endpoint, tmp = sys.argv[1:]
def run(args, n=5):
    best = None
    for _ in range(n):
        t = time.monotonic()
        subprocess.run([bin_, "check", "--all-netns", "--format", "prometheus", *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        d = time.monotonic() - t
        best = d if best is None else min(best, d)
    return best
plain = run([])
pushed = run(["--otlp-endpoint", endpoint])
pbs = sorted((os.path.getmtime(os.path.join(tmp, "got", f)), f) for f in os.listdir(os.path.join(tmp, "got")) if f.endswith(".pb"))
size = os.path.getsize(os.path.join(tmp, "got", pbs[-1][1]))
text = os.path.getsize(os.path.join(tmp, "check.prom"))
print(f"otlp.sh: check --all-netns: {plain*1000:.0f} ms; with the push: {pushed*1000:.0f} ms "
      f"(+{(pushed-plain)*1000:.0f} ms); protobuf {size} bytes against {text} bytes of text")
EOF
say "passed"
