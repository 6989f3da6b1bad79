#!/usr/bin/env python3
"""Time sockscope against cat, the netstat one-liner and ss on N real sockets.

    cargo build --release
    sudo python3 benches/bench.py --count 10000 --count 100000
    sudo python3 benches/bench.py --netns-sweep 100x1000 --netns-sweep 10x100000

For each count it creates a network namespace (loopback only) with a private TCP hash, builds
the sockets there with benches/sockets.py, runs every command --runs times inside the namespace,
prints min/median/max wall time and peak RSS (from wait4), and deletes the namespace.
Needs root (ip netns), python3, GNU time (/usr/bin/time, Debian package `time`) for peak
memory, and for the comparisons ss, netstat and awk.

Floors (C, built with cc -O2 into target/): sockdiag_count.c, one sock_diag dump per family;
fdwalk_count.c, one readlink per /proc/*/fd/* entry. Their sum, the "dump + fd-walk floor", is
the least any tool naming socket owners does; the `top --by process`, summary and `list -p`
rows are also given as multiples of it.

--netns-sweep NSxSOCKETS creates NS namespaces sockscope-sweep-1..NS, each with SOCKETS sockets,
and times from the host namespace the sweep floor (netns_sweep_count.c: setns into each
namespace, one dump per family) against sockscope --all-netns, then deletes every namespace and
process it made. --only selects rows by label in both modes (e.g. --only floor,--all-netns).

The `sockscope watch` rows give CPU per refresh (benches/watch_bench.py), the screen's under a
pseudo-terminal; --watch-idle SECONDS measures the screen's CPU share at -n 1 where it runs.
--serve COUNT builds COUNT sockets in its own namespace (sockscope-bench-serve, so it can run
beside the other modes' sockscope-bench) and measures `sockscope serve` there: one scrape
against one `check --format prometheus` run, resident memory over --serve-scrapes scrapes
(10,000 by default) after a warm-up of 100, CPU used while idle for 10 s, and 50 concurrent
scrapes (how many collections they caused, how many different bodies they got).
--compare BINARY also times an earlier build (rows "base: ..."), side by side in the same run,
in both modes (the sweep rows too, each as a multiple of the same sweep floor).
Up to 200k sockets, `top --by process` is first checked against `ss -tanp`: the per-process
counts must be identical (printed as a comment line).
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NS = "sockscope-bench"
SWEEP_PREFIX = "sockscope-sweep-"

DUMP_FLOOR = "C sock_diag dump, counting states"
FDWALK_FLOOR = "C fd-walk floor: readlink /proc/*/fd/*"
COMBINED_FLOOR = "C dump + fd-walk floor (sum of the two)"
# Commands that name socket owners, compared with COMBINED_FLOOR.
OWNER_COMMANDS = ["sockscope top --by process", "sockscope (table)", "sockscope list -p"]
SS_LIST = "ss -tan > /dev/null"
# `list` rows, compared with SS_LIST.
LIST_COMMANDS = ["sockscope list", "sockscope list --format plain",
                 "sockscope list --format plain --sort none", "sockscope list -p"]
# Rows also measured with --compare BINARY (an earlier build), labelled "base: ...".
COMPARED = ["sockscope --format plain", "sockscope (table)", "sockscope top --by process",
            "sockscope list", "sockscope list --format plain", "sockscope list -p"]
SWEEP_FLOOR = "C netns sweep floor: setns + dump per namespace"

ONE_LINER = "netstat -n | awk '/^tcp/{++S[$NF]}END{for(a in S) print a,S[a]}'"
ONE_LINER_ALL = "netstat -tan | awk '/^tcp/{++S[$NF]}END{for(a in S) print a,S[a]}'"
SS_AWK = "ss -tan | awk 'NR>1{++S[$1]}END{for(a in S) print a,S[a]}'"


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def argv_of(cmd):
    """A pipeline runs under sh; a single command is exec'd directly, so sh's start-up cost
    (about 1 ms) is not charged to it."""
    return ["sh", "-c", cmd] if "|" in cmd else shlex.split(cmd)


def time_once(argv):
    """Wall seconds of one run, output discarded. `check` exits 1 or 2 for findings."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    allowed = (0, 1, 2) if "check" in argv else (0,)
    if done.returncode not in allowed:
        sys.exit(f"command failed: {argv}")
    return wall


def peak_rss_kib(argv):
    """Peak RSS of the command's largest process, from GNU time in its own run. (wait4 on a
    child forked from Python would report Python's own pages, copied before exec.)"""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return int(done.stderr.strip().splitlines()[-1])


def measure(cmd, runs):
    """min, median, max wall seconds over `runs` runs after one warm-up, and peak RSS."""
    argv = argv_of(cmd) if isinstance(cmd, str) else cmd
    time_once(argv)
    walls = sorted(time_once(argv) for _ in range(runs))
    return walls[0], statistics.median(walls), walls[-1], peak_rss_kib(argv)


def clear_leftover(ns):
    """Deletes a namespace a crashed run left behind, but never one in use: two harness runs at
    once would otherwise delete each other's sockets mid-measurement."""
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    if pids.split():
        sys.exit(f"{ns} is in use (pids {' '.join(pids.split()[:5])}): another harness run? "
                 f"Wait for it, or `ip netns del {ns}` if it is a leftover.")
    subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


# --healthy: a mix without the CLOSE_WAIT leak, so no finding fires (the cost of the
# diagnostics layer on a quiet host).
HEALTHY = False


def setup(count):
    clear_leftover(NS)
    # A private established hash for the namespace, sized for the sockets (power of two).
    ehash = 1 << max(10, (count * 2 - 1).bit_length())
    subprocess.run(["sysctl", "-qw", f"net.ipv4.tcp_child_ehash_entries={ehash}"],
                   stderr=subprocess.DEVNULL)
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")
    for key, value in [
        ("net.ipv4.ip_local_port_range", "1024 65535"),
        ("net.ipv4.tcp_max_tw_buckets", str(max(count, 262144))),
        ("net.core.somaxconn", "65535"),
    ]:
        sh("ip", "netns", "exec", NS, "sysctl", "-qw", f"{key}={value}")
    builder = subprocess.Popen(
        ["ip", "netns", "exec", NS, sys.executable, os.path.join(HERE, "sockets.py"),
         "--count", str(count)] + (["--healthy"] if HEALTHY else []),
        stdout=subprocess.PIPE, text=True)
    line = builder.stdout.readline()
    if not line.startswith("ready"):
        builder.kill()
        sys.exit("the socket builder failed")
    return builder


def read_ehash():
    """The host's net.ipv4.tcp_child_ehash_entries, which setup() and sweep() change."""
    try:
        with open("/proc/sys/net/ipv4/tcp_child_ehash_entries") as f:
            return f.read().strip()
    except OSError:
        return None


def restore_ehash(value):
    if value is not None:
        subprocess.run(["sysctl", "-qw", f"net.ipv4.tcp_child_ehash_entries={value}"],
                       stderr=subprocess.DEVNULL)


def teardown(builder):
    builder.terminate()
    builder.wait()
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


def c_program(name):
    """Builds benches/NAME.c into target/NAME with cc -O2; None without cc."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    out = os.path.join(ROOT, "target", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run([cc, "-O2", "-o", out, os.path.join(HERE, f"{name}.c")], check=True)
    return out


def c_counter():
    """Builds the bare sock_diag state counter (benches/sockdiag_count.c); None without cc."""
    return c_program("sockdiag_count")


def selected(label, only):
    return not only or any(part in label for part in only.split(","))


def row(sockets, label, result):
    lo, med, hi, rss = result
    rss = "n/a" if rss is None else f"{rss / 1024:.1f} MiB"
    print(f"| {sockets} | `{label}` | {lo*1e3:.1f} ms | {med*1e3:.1f} ms | "
          f"{hi*1e3:.1f} ms | {rss} |", flush=True)


def ratios(sockets, floor_label, floor, results, labels):
    """One comment line per measured command: its median (and min) over the floor's."""
    for label in labels:
        if label in results:
            r = results[label]
            print(f"<!-- {sockets}: `{label}` is {r[1] / floor[1]:.2f}x the {floor_label} "
                  f"median ({floor[1]*1e3:.1f} ms), {r[0] / floor[0]:.2f}x its min -->",
                  flush=True)


def commands(binary, big=False, compare=None):
    cmds = [
        ("cat /proc/net/tcp /proc/net/tcp6", "cat /proc/net/tcp /proc/net/tcp6"),
    ]
    counter = c_counter()
    if counter:
        cmds.append((DUMP_FLOOR, counter))
    walker = c_program("fdwalk_count")
    if walker:
        cmds.append((FDWALK_FLOOR, walker))
    cmds += [
        ("sockscope --format plain", f"{binary} --format plain"),
        ("sockscope --format plain --source proc", f"{binary} --format plain --source proc"),
        ("sockscope (table)", f"{binary}"),
        ("sockscope --json", f"{binary} --json"),
        ("sockscope --no-processes", f"{binary} --no-processes"),
    ]
    cmds.append(("sockscope top --by process", f"{binary} top --by process"))
    cmds += [
        ("sockscope list", f"{binary} list"),
        ("sockscope list --format plain", f"{binary} list --format plain"),
        ("sockscope list --format plain --sort none", f"{binary} list --format plain --sort none"),
        ("sockscope list -p", f"{binary} list -p"),
    ]
    if compare:
        cmds += [(f"base: {label}", cmd.replace(binary, compare, 1))
                 for label, cmd in list(cmds) if label in COMPARED]
    if shutil.which("ss"):
        cmds.append((SS_LIST, "ss -tan"))
        cmds.append(("ss -tan | awk", SS_AWK))
        if not big:
            # Minutes per run at a million sockets; the comparison is made at 100k.
            cmds.append(("ss -tanp > /dev/null", "ss -tanp"))
    if shutil.which("netstat"):
        cmds.append(("netstat -n | awk (the one-liner)", ONE_LINER))
        cmds.append(("netstat -tan | awk", ONE_LINER_ALL))
    return cmds


def check_owners(binary):
    """Per-process socket counts of `sockscope top --by process` against `ss -tanp` (a socket
    held by several processes counts for each in both). Returns a one-line verdict."""
    ss = subprocess.run(["ss", "-tanpH"], check=True, capture_output=True, text=True).stdout
    theirs = {}
    for line in ss.splitlines():
        for pid in re.findall(r"pid=(\d+)", line):
            theirs[pid] = theirs.get(pid, 0) + 1
    ours = {}
    out = subprocess.run([binary, "top", "--by", "process", "--limit", "0", "--format", "plain"],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, count = line.split()[0], int(line.split()[1])
        if "/" in key:
            ours[key.split("/")[0]] = count
    if ours == theirs:
        return f"per-process counts identical to ss -tanp: {len(ours)} processes, " \
               f"{sum(ours.values()):,} holdings"
    diff = {pid: (ours.get(pid), theirs.get(pid)) for pid in set(ours) | set(theirs)
            if ours.get(pid) != theirs.get(pid)}
    return f"MISMATCH with ss -tanp (pid: ours, ss): {dict(list(diff.items())[:10])}"


def measure_here(binary, runs, only=None, compare=None):
    """Runs inside the namespace: prints one table row per command."""
    real = subprocess.run([binary, "--format", "plain"], check=True, capture_output=True,
                          text=True).stdout
    total = sum(int(line.split()[1]) for line in real.splitlines())
    print(f"<!-- {total} sockets: {' '.join(real.split())} -->", flush=True)
    if shutil.which("ss") and total <= 200_000:
        print(f"<!-- {total:,} sockets: {check_owners(binary)} -->", flush=True)
    # Selecting the combined floor (--only floor, --only fd-walk) measures both its parts.
    want_combined = selected(COMBINED_FLOOR, only)
    results = {}
    for label, cmd in commands(binary, big=total > 500_000, compare=compare):
        if not (selected(label, only)
                or (want_combined and label in (DUMP_FLOOR, FDWALK_FLOOR))):
            continue
        if label == FDWALK_FLOOR:
            walk = subprocess.run([cmd], check=True, capture_output=True, text=True).stdout
            print(f"<!-- fd walk: {' '.join(walk.split())} -->", flush=True)
        results[label] = measure(cmd, runs)
        row(f"{total:,}", label, results[label])
        if want_combined and DUMP_FLOOR in results and FDWALK_FLOOR in results \
                and COMBINED_FLOOR not in results:
            (dlo, dmed, dhi, drss), (wlo, wmed, whi, wrss) = \
                results[DUMP_FLOOR], results[FDWALK_FLOOR]
            rss = None if drss is None or wrss is None else max(drss, wrss)
            results[COMBINED_FLOOR] = (dlo + wlo, dmed + wmed, dhi + whi, rss)
            row(f"{total:,}", COMBINED_FLOOR, results[COMBINED_FLOOR])
    if COMBINED_FLOOR in results:
        ratios(f"{total:,} sockets", "dump + fd-walk floor", results[COMBINED_FLOOR], results,
               OWNER_COMMANDS + [f"base: {label}" for label in OWNER_COMMANDS])
    if SS_LIST in results:
        ratios(f"{total:,} sockets", SS_LIST, results[SS_LIST], results,
               LIST_COMMANDS + [f"base: {label}" for label in LIST_COMMANDS])
    if selected("sockscope watch", only):
        import watch_bench
        for label, result in watch_bench.per_refresh(binary, runs):
            row(f"{total:,}", label, result)


def sweep_size(text):
    """NSxSOCKETS (e.g. 100x1000) -> (namespaces, sockets per namespace)."""
    try:
        ns, per = text.lower().replace("×", "x").split("x")
        ns, per = int(ns), int(per)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NSxSOCKETS such as 100x1000, not {text!r}")
    if ns < 1 or per < 1:
        raise argparse.ArgumentTypeError("both sizes must be at least 1")
    return ns, per


def sweep_namespaces():
    """Our sweep namespaces present now (leftovers of an interrupted run included)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines()
            if line.startswith(SWEEP_PREFIX)]


def sweep_remove(name):
    """Deletes a sweep namespace after killing whatever still runs in it (orphaned workers)."""
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                          text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)


def try_command(argv):
    """(None, stdout) if the command runs, else (its exit status and first line of error, None)."""
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode == 0:
        return None, done.stdout
    first = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
    return f"exit {done.returncode}: {first}", None


def sweep(binary, nscount, per, runs, only, compare=None):
    """Builds nscount namespaces of `per` sockets, times the sweeps from the host namespace and
    removes every namespace and process it made, whatever happens."""
    size = f"{nscount}×{per:,}"
    names = [f"{SWEEP_PREFIX}{k}" for k in range(1, nscount + 1)]
    builders = []
    try:
        for name in sweep_namespaces():
            sweep_remove(name)
        ehash = 1 << max(10, (per * 2 - 1).bit_length())
        subprocess.run(["sysctl", "-qw", f"net.ipv4.tcp_child_ehash_entries={ehash}"],
                       stderr=subprocess.DEVNULL)
        for name in names:
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
            sh("ip", "netns", "exec", name, "sysctl", "-qw",
               "net.ipv4.ip_local_port_range=1024 65535",
               f"net.ipv4.tcp_max_tw_buckets={max(per, 262144)}",
               "net.core.somaxconn=65535")
        # All builders at once; each spreads its sockets over workers under ulimit -n.
        for name in names:
            builders.append(subprocess.Popen(
                ["ip", "netns", "exec", name, sys.executable, os.path.join(HERE, "sockets.py"),
                 "--count", str(per)], stdout=subprocess.PIPE, text=True))
        built = 0
        for b in builders:
            line = b.stdout.readline()
            if not line.startswith("ready"):
                sys.exit("a socket builder failed")
            built += int(line.split()[1])

        floor = c_program("netns_sweep_count")
        results = {}
        floor_total = None
        if floor:
            summary = subprocess.run([floor, "-q"], check=True, capture_output=True,
                                     text=True).stdout
            floor_total = int(summary.split()[-1])
            print(f"<!-- {size}: built {built:,} sockets in {nscount} namespaces; sweep floor "
                  f"sees {' '.join(summary.split())} -->", flush=True)
        cmds = []
        if floor:
            cmds.append((SWEEP_FLOOR, [floor, "-q"]))
        sweeps = [
            ("sockscope --all-netns --format plain", ["--all-netns", "--format", "plain"]),
            ("sockscope --all-netns --no-processes", ["--all-netns", "--no-processes"]),
        ]
        cmds += [(label, [binary, *args]) for label, args in sweeps]
        if compare:
            cmds += [(f"base: {label}", [compare, *args]) for label, args in sweeps]
        for label, argv in cmds:
            if not selected(label, only):
                continue
            if not os.access(argv[0], os.X_OK):
                print(f"| {size} | `{label}` | {argv[0]} not built | | | |", flush=True)
                continue
            failure, out = try_command(argv)
            if failure:
                print(f"| {size} | `{label}` | not implemented yet ({failure}) | | | |",
                      flush=True)
                continue
            if "--format plain" in label:
                try:
                    total = sum(int(line.split()[1]) for line in out.splitlines())
                    print(f"<!-- {size}: `{label}` counts {total:,} sockets, the sweep floor "
                          f"{floor_total if floor_total is None else format(floor_total, ',')}"
                          f" -->", flush=True)
                except (IndexError, ValueError):
                    pass
            results[label] = measure(argv, runs)
            row(size, label, results[label])
        if SWEEP_FLOOR in results:
            ratios(size, "sweep floor", results[SWEEP_FLOOR], results,
                   [label for label, _ in cmds[1:]])
    finally:
        for b in builders:
            if b.poll() is None:
                b.terminate()
        for b in builders:
            try:
                b.wait(timeout=120)
            except subprocess.TimeoutExpired:
                b.kill()
                b.wait()
        for name in sweep_namespaces():
            sweep_remove(name)


SERVE_NS = "sockscope-bench-serve"


def scrape(addr, path="/metrics"):
    import urllib.request
    with urllib.request.urlopen(f"http://{addr}{path}", timeout=600) as r:
        return r.read().decode()


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def collections(body):
    for line in body.splitlines():
        if line.startswith("sockscope_collections_total "):
            return int(float(line.split()[1]))
    return None


def serve_here(binary, runs, scrapes):
    """Runs inside the namespace: serve against check, memory, idle CPU, concurrency."""
    import threading
    real = subprocess.run([binary, "--format", "plain"], check=True, capture_output=True,
                          text=True).stdout
    total = sum(int(line.split()[1]) for line in real.splitlines())
    label = f"{total:,}"
    check = measure([binary, "check", "--format", "prometheus"], runs)
    row(label, "sockscope check --format prometheus", check)
    # Scrapes each collect: --min-interval 0s.
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--min-interval",
                               "0s", "--read-timeout", "600s", "--write-timeout", "600s"],
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        addr = line.strip().split("://")[1].split("/")[0]
        scrape(addr)
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            scrape(addr)
            walls.append(time.perf_counter() - start)
        walls.sort()
        rss_now = proc_status(server.pid, "VmRSS")
        row(label, "sockscope serve: one scrape (HTTP GET /metrics)",
            (walls[0], statistics.median(walls), walls[-1], proc_status(server.pid, "VmHWM")))
        print(f"<!-- {label}: one scrape is {statistics.median(walls) / check[1]:.2f}x the "
              f"check --format prometheus median ({check[1]*1e3:.1f} ms), "
              f"{walls[0] / check[0]:.2f}x its min -->", flush=True)
        for _ in range(100):
            scrape(addr)
        warm = proc_status(server.pid, "VmRSS")
        start = time.perf_counter()
        for _ in range(scrapes):
            scrape(addr)
        took = time.perf_counter() - start
        after = proc_status(server.pid, "VmRSS")
        print(f"<!-- {label}: RSS {rss_now} KiB after {runs + 1} scrapes, {warm} KiB after 100 "
              f"more (warm-up), {after} KiB after {scrapes:,} more ({took:.0f} s): growth "
              f"{after - warm} KiB -->", flush=True)
        before = cpu_ticks(server.pid)
        time.sleep(10)
        idle = cpu_ticks(server.pid) - before
        print(f"<!-- {label}: CPU while idle for 10 s: {idle} ticks (1 tick = 10 ms) -->",
              flush=True)
        # 50 at once, after a fresh start of the count: min-interval 0 still shares the
        # collection in flight.
        before = collections(scrape(addr))
        bodies = [None] * 50
        gate = threading.Barrier(50)

        def one(i):
            gate.wait()
            bodies[i] = scrape(addr)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - start
        ran = max(collections(b) for b in bodies) - before
        print(f"<!-- {label}: 50 concurrent scrapes caused {ran} collection(s), got "
              f"{len(set(bodies))} different bodies, all answered in {took*1e3:.0f} ms -->",
              flush=True)
    finally:
        server.terminate()
        server.wait()


def main():
    global NS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, action="append", help="sockets (repeatable)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/sockscope"))
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compare", metavar="BINARY",
                    help="also time an earlier sockscope build (rows labelled 'base: ...')")
    ap.add_argument("--only", help="run only the commands whose label contains one of these comma-separated texts")
    ap.add_argument("--serve", type=int, action="append", metavar="COUNT",
                    help="measure sockscope serve at COUNT sockets (repeatable)")
    ap.add_argument("--serve-scrapes", type=int, default=10000,
                    help="scrapes for the memory measurement of --serve")
    ap.add_argument("--netns-sweep", type=sweep_size, action="append", metavar="NSxSOCKETS",
                    help="time sweeping NS namespaces of SOCKETS sockets each (repeatable); "
                         "without --count, only the sweeps run")
    ap.add_argument("--watch-idle", type=float, metavar="SECONDS",
                    help="only measure the CPU share of `sockscope watch -n 1` on a terminal "
                         "over SECONDS, in this namespace")
    ap.add_argument("--healthy", action="store_true",
                    help="build the mix without its CLOSE_WAIT leak: nothing fires")
    args = ap.parse_args()
    global HEALTHY
    HEALTHY = args.healthy
    if args.watch_idle:
        import watch_bench
        cpu, wall = watch_bench.idle(os.path.abspath(args.binary), args.watch_idle)
        print(f"sockscope watch -n 1, idle: {cpu * 1e3:.0f} ms of CPU in {wall:.1f} s "
              f"= {100 * cpu / wall:.2f}% of a CPU")
        return
    if args.inside and args.serve:
        return serve_here(args.binary, args.runs, args.serve_scrapes)
    if args.inside:
        return measure_here(args.binary, args.runs, args.only, args.compare)
    # A plain kill unwinds through the finally blocks too, which delete what was made.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    counts = args.count or ([] if args.netns_sweep or args.serve else [10000, 100000])
    if counts and not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: run cargo build --release first")

    print("| sockets | command | min | median | max | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|", flush=True)
    old_ehash = read_ehash()
    try:
        for count in counts:
            builder = setup(count)
            try:
                inner = [sys.executable, os.path.abspath(__file__), "--inside",
                         "--binary", os.path.abspath(args.binary), "--runs", str(args.runs)]
                if args.only:
                    inner += ["--only", args.only]
                if args.compare:
                    inner += ["--compare", os.path.abspath(args.compare)]
                sh("ip", "netns", "exec", NS, *inner)
            finally:
                teardown(builder)
        for count in args.serve or []:
            NS = SERVE_NS
            builder = setup(count)
            try:
                sh("ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__),
                   "--inside", "--binary", os.path.abspath(args.binary), "--runs",
                   str(args.runs), "--serve", str(count), "--serve-scrapes",
                   str(args.serve_scrapes))
            finally:
                teardown(builder)
        for nscount, per in args.netns_sweep or []:
            sweep(os.path.abspath(args.binary), nscount, per, args.runs, args.only,
                  args.compare and os.path.abspath(args.compare))
    finally:
        restore_ehash(old_ehash)


if __name__ == "__main__":
    main()
