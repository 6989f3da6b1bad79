#!/usr/bin/env python3
"""Build N real loopback TCP sockets in a realistic mix and hold them until stopped.

Run inside a network namespace of its own (benches/bench.py does that for you):

    ip netns exec NS python3 benches/sockets.py --count 100000

The fd limit (ulimit -n, 20000 here) is per process, so the sockets are spread over worker
processes of at most --per-worker fds each. Mix (of every 18 sockets):
  12 ESTABLISHED   (6 client/server pairs)
   2 CLOSE_WAIT + 2 FIN_WAIT2 (the client shuts down writing, the server never closes)
   2 TIME_WAIT     (the client closes first; no fd, and gone after 60 s)
plus one LISTEN socket per worker and family. A quarter of everything is IPv6 (::1).
With --healthy the CLOSE_WAIT/FIN_WAIT2 pairs are ESTABLISHED ones: no finding fires.
Prints 'ready N' on stdout when every worker is done, then waits for SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import socket
import sys
import time

# --healthy: the leak's pairs are ESTABLISHED ones instead.
HEALTHY = False


def listener(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 0))
    s.listen(4096)
    return s


def pair(lst, family, addr):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, lst.getsockname()[1]))
    s, _ = lst.accept()
    return c, s


def worker(count, out_fd):
    """Builds about `count` sockets, reports how many, then sleeps until killed."""
    held, made = [], 0
    lists = {
        socket.AF_INET: listener(socket.AF_INET, "127.0.0.1"),
        socket.AF_INET6: listener(socket.AF_INET6, "::1"),
    }
    held += lists.values()
    made += 2
    i = 0
    while made < count:
        family = socket.AF_INET6 if i % 4 == 3 else socket.AF_INET
        addr = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        lst = lists[family]
        kind = i % 10
        if kind < 6 or (HEALTHY and kind < 8):  # ESTABLISHED pair
            held += pair(lst, family, addr)
            made += 2
        elif kind < 8:  # CLOSE_WAIT (server) + FIN_WAIT2 (client, fd held)
            c, s = pair(lst, family, addr)
            c.shutdown(socket.SHUT_WR)
            held += (c, s)
            made += 2
        else:  # TIME_WAIT on the client; the server side goes away
            c, s = pair(lst, family, addr)
            c.close()
            s.close()
            made += 1
        i += 1
    os.write(out_fd, f"{made}\n".encode())
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, required=True, help="sockets to build")
    ap.add_argument("--per-worker", type=int, default=18000,
                    help="fds per worker process (stay under ulimit -n)")
    ap.add_argument("--healthy", action="store_true",
                    help="no CLOSE_WAIT/FIN_WAIT2 pairs (ESTABLISHED instead): nothing fires")
    args = ap.parse_args()
    global HEALTHY
    HEALTHY = args.healthy

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    # An fd-holding socket costs one fd, a TIME_WAIT none: 16 of every 18 sockets hold one.
    per_worker = int(args.per_worker * 18 / 16)
    read_fd, write_fd = os.pipe()
    children, left = [], args.count
    while left > 0:
        n = min(per_worker, left)
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            try:
                worker(n, write_fd)
            except OSError as e:
                os.write(write_fd, f"error {e}\n".encode())
                os._exit(1)
        children.append(pid)
        left -= n
    os.close(write_fd)
    made = 0
    with os.fdopen(read_fd) as reports:
        for _ in children:
            line = reports.readline()
            if not line or line.startswith("error"):
                for pid in children:
                    os.kill(pid, signal.SIGTERM)
                sys.exit(f"a worker failed: {line.strip() or 'died'}")
            made += int(line)
    print(f"ready {made}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
