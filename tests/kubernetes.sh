#!/usr/bin/env bash
# deploy/kubernetes renders (`kubectl kustomize`, as `kubectl apply -k` would), its objects pass
# the Kubernetes API schemas (kubernetes-validate, strict: no unknown field), and say what the
# fleet needs: the DaemonSet serves `--all-netns --host-root /host` on 10399 with a readiness
# probe on /healthz, only the three capabilities, resources set, the prometheus.io
# annotations; the Service and the PodMonitor select its pods by the port's name. The textfile
# alternative renders and validates too. The image's flags are checked against the binary's
# own --help, so a renamed option fails here.
#
# kubectl comes from the machine, or Debian's kubernetes-client; kubernetes-validate (it ships
# the schemas, no cluster and no download at run time) from pip. As root it installs what is
# missing; otherwise it says why it skips (a failure under SOCKSCOPE_REQUIRE_LIVE=1).
set -euo pipefail
cd "$(dirname "$0")/.."

source tests/lib.sh
say() { echo "kubernetes.sh: $*"; }
fail() {
    echo "kubernetes.sh: FAILED: $*" >&2
    exit 1
}

need kubectl kubernetes-client
need python3 python3
if ! command -v kubernetes-validate >/dev/null; then
    [ "$(id -u)" -eq 0 ] || skip "kubernetes-validate is missing (pip install kubernetes-validate)"
    python3 -m pip --version >/dev/null 2>&1 || need pip3 python3-pip
    python3 -m pip install -q kubernetes-validate >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages kubernetes-validate >/dev/null 2>&1 ||
        skip "pip could not install kubernetes-validate"
fi
command -v kubernetes-validate >/dev/null || skip "kubernetes-validate installed but not on PATH"

BIN=$(build_sockscope) || fail "cannot build sockscope"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

kubectl kustomize deploy/kubernetes >"$TMP/serve.yaml" || fail "kubectl kustomize deploy/kubernetes"
kubectl kustomize deploy/kubernetes/textfile >"$TMP/textfile.yaml" ||
    fail "kubectl kustomize deploy/kubernetes/textfile"

# Today's API and an older one still in wide use.
for version in 1.37 1.29; do
    for file in serve textfile; do
        kubernetes-validate --strict --quiet -k "$version.0" "$TMP/$file.yaml" >"$TMP/validate.log" 2>&1 ||
            { cat "$TMP/validate.log"; fail "$file.yaml does not validate against Kubernetes $version"; }
    done
done
say "rendered; DaemonSets and Service valid against the Kubernetes 1.37 and 1.29 schemas (strict)"

"$BIN" serve --help >"$TMP/serve-help"
# check follows the monitoring-plugins rules: --help exits 3 (UNKNOWN).
"$BIN" check --help >"$TMP/check-help" || true
python3 - "$TMP/serve.yaml" "$TMP/textfile.yaml" "$TMP/serve-help" "$TMP/check-help" <<'EOF' || fail "the manifests"
import sys, yaml
serve = list(yaml.safe_load_all(open(sys.argv[1])))
textfile = list(yaml.safe_load_all(open(sys.argv[2])))
serve_help, check_help = open(sys.argv[3]).read(), open(sys.argv[4]).read()
by_kind = {o["kind"]: o for o in serve}
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)

ds = by_kind["DaemonSet"]
pod = ds["spec"]["template"]
c = pod["spec"]["containers"][0]
want(c["args"][0] == "serve", "the DaemonSet does not run serve")
for flag in c["args"][1:]:
    name = flag.split("=")[0]
    want(name in serve_help, f"serve has no option {name}")
want("--all-netns" in c["args"] and "--host-root=/host" in c["args"], "no --all-netns --host-root /host")
want("--listen=0.0.0.0:10399" in c["args"], "not listening on 10399")
want(pod["spec"].get("hostPID") is True, "no hostPID")
want(c["readinessProbe"]["httpGet"]["path"] == "/healthz", "no readiness probe on /healthz")
caps = c["securityContext"]["capabilities"]
want(caps["drop"] == ["ALL"] and sorted(caps["add"]) == ["DAC_READ_SEARCH", "SYS_ADMIN", "SYS_PTRACE"],
     f"capabilities {caps}")
want(c["securityContext"]["readOnlyRootFilesystem"] is True, "root file system writable")
want(c["resources"]["requests"] and c["resources"]["limits"]["memory"], "no resources")
ann = pod["metadata"]["annotations"]
want(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == "10399",
     "no prometheus.io annotations")
port = c["ports"][0]
want(port["name"] == "metrics" and port["containerPort"] == 10399, "no metrics port")
labels = pod["metadata"]["labels"]
for kind in ["Service", "PodMonitor"]:
    o = by_kind.get(kind)
    want(o is not None, f"no {kind}")
    if o is None:
        continue
    sel = o["spec"]["selector"]
    sel = sel.get("matchLabels", sel)
    want(all(labels.get(k) == v for k, v in sel.items()), f"the {kind} selects no sockscope pod: {sel}")
svc = by_kind["Service"]
want(svc["spec"]["ports"][0]["targetPort"] == "metrics", "the Service does not target the metrics port")
pm = by_kind["PodMonitor"]
want(pm["apiVersion"] == "monitoring.coreos.com/v1", "PodMonitor apiVersion")
ep = pm["spec"]["podMetricsEndpoints"][0]
want(ep["port"] == "metrics" and ep["path"] == "/metrics", "the PodMonitor scrapes no metrics port")
want(set(ep) <= {"port", "path", "interval", "scrapeTimeout", "relabelings"}, f"PodMonitor fields {set(ep)}")
want(all(o["metadata"].get("namespace") == "monitoring" for o in serve), "not all in monitoring")

tf = textfile[0]["spec"]["template"]["spec"]["containers"][0]
script = tf["args"][0]
for flag in ["--all-netns", "--host-root", "--no-processes", "--format", "--textfile"]:
    want(flag in script and flag in check_help, f"the textfile loop's {flag}")
for p in problems:
    print("kubernetes.sh:", p)
sys.exit(1 if problems else 0)
EOF
say "passed"
