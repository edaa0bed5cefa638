"""How fast a panel shows: time from starting ``wrksmtple`` to its first full screen.

Each run starts the console script in a fresh pseudo-terminal of 80 x 24 and feeds what it
writes to a terminal emulator (pyte) until the whole WRKSMTPLE display is there: title,
the list, More.../Bottom and the function-key lines. Then it presses F3 and waits for the
program to end. The peer, measured the same way in the same run, is ``python -c pass``
from the same interpreter: the time from starting it to its end.

Lists: 10 entries and 100,000 entries in the *ACCEPT list, each in a temporary copy of
the embedded default library. Runs are interleaved so that the peers share the machine's
noise; the report gives the median and the fastest run, and the ratios of the medians.

    python bench/bench_panels.py [--runs N]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from _common import copy_library, script

import pyte                 # after _common, which may run this under the checkout's venv

TIMEOUT = 120.0
F3 = b"\x1bOR"


def make_root(directory: Path, entries: int) -> Path:
    root = copy_library(directory / f"root{entries}")
    lines = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255} 255.255.255.255\n" for n in range(entries))
    (root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY").write_text("".join(lines))
    return root


def spawn(argv: list[str], env: dict) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:                                     # the child: an 80 x 24 terminal
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execve(argv[0], argv, env)
    return pid, fd


def read_some(fd: int, deadline: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
    if not ready:
        raise TimeoutError("no output")
    try:
        return os.read(fd, 65536)
    except OSError:                                  # EIO: the child closed the terminal
        return b""


def full_screen(display: list[str]) -> bool:
    text = "\n".join(display)
    return ("Work with SMTP List Entries" in display[0] and "F12=Cancel" in text and "F17=Top" in text
            and ("More..." in display[18] or "Bottom" in display[18]))


def time_panel(argv: list[str], env: dict) -> float:
    screen = pyte.Screen(80, 24)
    stream = pyte.ByteStream(screen)
    start = time.perf_counter()
    pid, fd = spawn(argv, env)
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            data = read_some(fd, deadline)
            if not data:
                raise RuntimeError("wrksmtple ended before its first screen:\n"
                                   + "\n".join(screen.display))
            stream.feed(data)
            if full_screen(screen.display):
                elapsed = time.perf_counter() - start
                break
        os.write(fd, F3)
        while read_some(fd, deadline):               # drain until the program ends
            pass
    finally:
        _reap(pid)
        os.close(fd)
    return elapsed


def time_python_pass(env: dict) -> float:
    start = time.perf_counter()
    pid, fd = spawn([sys.executable, "-c", "pass"], env)
    deadline = time.monotonic() + TIMEOUT
    try:
        while read_some(fd, deadline):
            pass
        os.waitpid(pid, 0)
        elapsed = time.perf_counter() - start
    finally:
        os.close(fd)
    return elapsed


def _reap(pid: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    wrksmtple = script("wrksmtple")
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color",
                "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {n: make_root(Path(tmp), n) for n in (10, 100_000)}
        cases = {"python -c pass": lambda: time_python_pass(base_env)}
        for n, root in roots.items():
            env = {**base_env, "QTSMTP_ROOT": str(root)}
            cases[f"wrksmtple, {n:,} entries"] = (lambda env=env: time_panel([wrksmtple], env))
        for run in cases.values():                   # warm the page cache once
            run()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, run in cases.items():
                times[name].append(run())
    peer = statistics.median(times["python -c pass"])
    print(f"First full screen of wrksmtple in an 80x24 pty, {args.runs} runs each "
          f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    print(f"{'case':<30}{'median ms':>11}{'fastest ms':>12}{'x python -c pass':>18}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<30}{median * 1000:>11.1f}{min(values) * 1000:>12.1f}{median / peer:>18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
