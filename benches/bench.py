#!/usr/bin/env python3
"""Time sockscope against cat, the netstat one-liner and ss on N real sockets.

    cargo build --release
    sudo python3 benches/bench.py --count 10000 --count 100000

For each count it creates a network namespace (loopback only) with a private TCP hash, builds
the sockets there with benches/sockets.py, runs every command --runs times inside the namespace,
prints min/median/max wall time and peak RSS (from wait4), and deletes the namespace.
Needs root (ip netns), python3, GNU time (/usr/bin/time, Debian package `time`) for peak
memory, and for the comparisons ss, netstat and awk.
"""

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NS = "sockscope-bench"

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
    """Wall seconds of one run, output discarded."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"command failed: {argv}")
    return wall


def peak_rss_kib(argv):
    """Peak RSS of the command's largest process, from GNU time in its own run. (wait4 on a
    child forked from Python would report Python's own pages, copied before exec.)"""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=True)
    return int(done.stderr.strip().splitlines()[-1])


def measure(cmd, runs):
    """min, median, max wall seconds over `runs` runs after one warm-up, and peak RSS."""
    argv = argv_of(cmd)
    time_once(argv)
    walls = sorted(time_once(argv) for _ in range(runs))
    return walls[0], statistics.median(walls), walls[-1], peak_rss_kib(argv)


def setup(count):
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)
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
         "--count", str(count)],
        stdout=subprocess.PIPE, text=True)
    line = builder.stdout.readline()
    if not line.startswith("ready"):
        builder.kill()
        sys.exit("the socket builder failed")
    return builder


def teardown(builder):
    builder.terminate()
    builder.wait()
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


def c_counter():
    """Builds the bare sock_diag state counter (benches/sockdiag_count.c); None without cc."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    out = os.path.join(ROOT, "target", "sockdiag_count")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run([cc, "-O2", "-o", out, os.path.join(HERE, "sockdiag_count.c")], check=True)
    return out


def commands(binary, big=False):
    cmds = [
        ("cat /proc/net/tcp /proc/net/tcp6", "cat /proc/net/tcp /proc/net/tcp6"),
    ]
    counter = c_counter()
    if counter:
        cmds.append(("C sock_diag dump, counting states", counter))
    cmds += [
        ("sockscope --format plain", f"{binary} --format plain"),
        ("sockscope --format plain --source proc", f"{binary} --format plain --source proc"),
        ("sockscope (table)", f"{binary}"),
        ("sockscope --json", f"{binary} --json"),
        ("sockscope --no-processes", f"{binary} --no-processes"),
    ]
    cmds.append(("sockscope top --by process", f"{binary} top --by process"))
    if shutil.which("ss"):
        cmds.append(("ss -tan | awk", SS_AWK))
        if not big:
            # Minutes per run at a million sockets; the comparison is made at 100k.
            cmds.append(("ss -tanp > /dev/null", "ss -tanp"))
    if shutil.which("netstat"):
        cmds.append(("netstat -n | awk (the one-liner)", ONE_LINER))
        cmds.append(("netstat -tan | awk", ONE_LINER_ALL))
    return cmds


def measure_here(binary, runs, only=None):
    """Runs inside the namespace: prints one table row per command."""
    real = subprocess.run([binary, "--format", "plain"], check=True, capture_output=True,
                          text=True).stdout
    total = sum(int(line.split()[1]) for line in real.splitlines())
    print(f"<!-- {total} sockets: {' '.join(real.split())} -->", flush=True)
    for label, cmd in commands(binary, big=total > 500_000):
        if only and not any(part in label for part in only.split(",")):
            continue
        lo, med, hi, rss = measure(cmd, runs)
        rss = "n/a" if rss is None else f"{rss / 1024:.1f} MiB"
        print(f"| {total:,} | `{label}` | {lo*1e3:.1f} ms | {med*1e3:.1f} ms | "
              f"{hi*1e3:.1f} ms | {rss} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, action="append", help="sockets (repeatable)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/sockscope"))
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only", help="run only the commands whose label contains one of these comma-separated texts")
    args = ap.parse_args()
    if args.inside:
        return measure_here(args.binary, args.runs, args.only)
    counts = args.count or [10000, 100000]
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: run cargo build --release first")

    print("| sockets | command | min | median | max | peak RSS |")
    print("|---:|---|---:|---:|---:|---:|", flush=True)
    for count in counts:
        builder = setup(count)
        try:
            inner = [sys.executable, os.path.abspath(__file__), "--inside",
                     "--binary", os.path.abspath(args.binary), "--runs", str(args.runs)]
            if args.only:
                inner += ["--only", args.only]
            sh("ip", "netns", "exec", NS, *inner)
        finally:
            teardown(builder)


if __name__ == "__main__":
    main()
