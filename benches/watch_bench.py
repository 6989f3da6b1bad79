"""What `sockscope watch` costs: CPU per refresh at the bench's socket counts (bench.py calls
`per_refresh` inside its namespace), and CPU while idling on a terminal (`idle`).

The screen needs a terminal: it runs under a pseudo-terminal (pty.fork, 100x34) whose output is
read and thrown away. CPU time comes from wait4's rusage (user + system), so the sleeps between
refreshes cost nothing and only the work is counted.
"""

import fcntl
import os
import pty
import signal
import struct
import termios
import time

REFRESHES = 5


def _run(argv, pty_screen, stop_after=None):
    """Runs argv to completion (or SIGTERM after stop_after seconds); returns (wall, cpu)."""
    start = time.perf_counter()
    if pty_screen:
        pid, master = pty.fork()
        if pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 34, 100, 0, 0))
            os.execv(argv[0], argv)
        deadline = None if stop_after is None else start + stop_after
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                os.kill(pid, signal.SIGTERM)
                deadline = None
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        os.close(master)
    else:
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise SystemExit(f"command failed ({status}): {argv}")
    return wall, usage.ru_utime + usage.ru_stime


def per_refresh(binary, runs):
    """(label, (min, median, max, None)) of CPU seconds per refresh, for bench.py's rows."""
    rows = []
    watch = [binary, "watch", "--count", str(REFRESHES), "-n", "0.1"]
    for label, argv, screen, refreshes in [
        # What a refresh is measured against: one summary, in CPU time too.
        ("sockscope (table), CPU per run", [binary], False, 1),
        ("sockscope --no-processes, CPU per run", [binary, "--no-processes"], False, 1),
        ("sockscope watch --format plain, CPU per refresh", [*watch, "--format", "plain"],
         False, REFRESHES),
        ("sockscope watch --format json, CPU per refresh", [*watch, "--format", "json"],
         False, REFRESHES),
        ("sockscope watch screen (culprits by process), CPU per refresh", watch, True,
         REFRESHES),
    ]:
        _run(argv, screen)
        cpus = sorted(_run(argv, screen)[1] / refreshes for _ in range(runs))
        rows.append((label, (cpus[0], cpus[len(cpus) // 2], cpus[-1], None)))
    return rows


def idle(binary, seconds, interval="1"):
    """CPU share of the screen at `interval` over `seconds` of this namespace."""
    wall, cpu = _run([binary, "watch", "-n", interval], True, stop_after=seconds)
    return cpu, wall
