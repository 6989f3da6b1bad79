#!/usr/bin/env python3
"""What following connections costs `sockscope serve` (issue 25): loopback churn at a steady
rate in a throwaway namespace (benches/churn.c, RATE connections a second, both ends closed),
`serve --netns` following it and scraped every 15 s as Prometheus would.

Reports:
- CPU of serve (user + system, from /proc/PID/stat) over the first SECONDS, as a share of one
  core, and over the whole run;
- its resident memory at each scrape (flat or not);
- closes counted (closed + failed connects + events lost) against the namespace's
  ActiveOpens + PassiveOpens deltas (/proc/net/snmp inside it): each connection opens once on
  each end, and each end is one destroy event.

Run as root from the checkout, after `cargo build --release`:

    sudo python3 benches/flows_bench.py --rate 5000 --seconds 60 --minutes 10
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS = "sockscope-bench-flows"
SCRAPE_EVERY = 15.0


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def opens():
    """ActiveOpens + PassiveOpens of the namespace."""
    snmp = ip("netns", "exec", NS, "cat", "/proc/net/snmp").stdout
    head, values = [l.split()[1:] for l in snmp.splitlines() if l.startswith("Tcp:")][:2]
    row = dict(zip(head, map(int, values)))
    return row["ActiveOpens"] + row["PassiveOpens"]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def scrape(addr):
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=30) as r:
        return r.read().decode()


def total(body, name):
    pattern = re.compile(rf"^{name}(\{{[^}}]*\}})? ([0-9.e+-]+)$", re.M)
    return sum(float(m.group(2)) for m in pattern.finditer(body))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/sockscope"))
    ap.add_argument("--rate", type=float, default=5000, help="connections a second")
    ap.add_argument("--seconds", type=float, default=60, help="the CPU window")
    ap.add_argument("--minutes", type=float, default=10, help="the whole run (memory)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("flows_bench.py: needs root (a network namespace)")
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run cargo build --release first")
    work = tempfile.mkdtemp(prefix="flows-bench-")
    churn = os.path.join(work, "churn")
    subprocess.run(["cc", "-O2", "-o", churn, os.path.join(ROOT, "benches/churn.c")], check=True)
    ip("netns", "del", NS, check=False)
    ip("netns", "add", NS)
    serve = load = None
    try:
        ip("netns", "exec", NS, "ip", "link", "set", "lo", "up")
        log = open(os.path.join(work, "serve.log"), "w+")
        serve = subprocess.Popen(
            [args.binary, "serve", "--netns", NS, "--listen", "127.0.0.1:0",
             "--min-interval", "0s"],
            stdout=subprocess.DEVNULL, stderr=log)
        addr = None
        for _ in range(100):
            log.seek(0)
            m = re.search(r"http://([0-9.:]+)/metrics", log.read())
            if m:
                addr = m.group(1)
                break
            time.sleep(0.1)
        if addr is None:
            log.seek(0)
            sys.exit(f"serve did not start: {log.read()}")
        scrape(addr)
        opened = opens()
        whole = max(args.seconds, args.minutes * 60)
        load = subprocess.Popen(
            ["ip", "netns", "exec", NS, churn, "80", str(args.rate), str(whole)],
            stdout=subprocess.PIPE, text=True)
        assert load.stdout.readline().strip() == "ready"
        start, cpu0 = time.monotonic(), cpu_seconds(serve.pid)
        window_cpu = None
        memory = [(0.0, rss_mib(serve.pid))]
        next_scrape = SCRAPE_EVERY
        while load.poll() is None:
            elapsed = time.monotonic() - start
            if window_cpu is None and elapsed >= args.seconds:
                window_cpu = (cpu_seconds(serve.pid) - cpu0, elapsed)
            if elapsed >= next_scrape:
                scrape(addr)
                memory.append((elapsed, rss_mib(serve.pid)))
                next_scrape += SCRAPE_EVERY
            time.sleep(0.05)
        made, failed, took = load.stdout.readline().split()
        time.sleep(2)
        body = scrape(addr)
        elapsed = time.monotonic() - start
        all_cpu = (cpu_seconds(serve.pid) - cpu0, elapsed)
        memory.append((elapsed, rss_mib(serve.pid)))
        delta = opens() - opened
    finally:
        if load is not None and load.poll() is None:
            load.kill()
        if serve is not None:
            serve.terminate()
            serve.wait()
        ip("netns", "del", NS, check=False)
    closed = total(body, "sockscope_connections_closed_total")
    fails = total(body, "sockscope_connect_failures_total")
    lost = total(body, "sockscope_events_lost_total")
    counted = closed + fails + lost
    print(f"load: {made} connections in {float(took):.1f} s ({int(made) / float(took):.0f}/s), "
          f"{failed} failed connects; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    if window_cpu:
        cpu, secs = window_cpu
        print(f"serve CPU, first {secs:.0f} s: {cpu:.2f} s = {100 * cpu / secs:.2f}% of one core")
    cpu, secs = all_cpu
    print(f"serve CPU, whole run ({secs:.0f} s): {cpu:.2f} s = {100 * cpu / secs:.2f}% of one core")
    print("serve RSS (MiB) at each scrape: " +
          ", ".join(f"{t:.0f}s {m:.1f}" for t, m in memory))
    print(f"ActiveOpens + PassiveOpens delta: {delta}; counted: {closed:.0f} closed + "
          f"{fails:.0f} failed + {lost:.0f} lost = {counted:.0f} "
          f"({100 * (counted - delta) / max(delta, 1):+.3f}%)")


if __name__ == "__main__":
    main()
