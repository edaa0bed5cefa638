"""Live changes to a running server: how soon a list change is in use, and what the
sessions feel meanwhile, on a list of 1,000,000 entries against a list of 10.

    python bench/bench_reload.py [--entries 1000000]

For each list size: a temporary root with ALWRLY(*LIST) and an *ACCEPT list of that many
host entries plus 127.1.0.5; the server started with STRTCPSVR on a free port. While one
SMTP session from 127.0.0.9 runs MAIL/RCPT/RSET round trips without pause,

1. RMVSMTPLE *ACCEPT INTNETADR('127.1.0.5'): then, from 127.1.0.5, a new connection every
   20 ms asks for a relay; the change is in use when 10 probes in a row get 550 (every
   server job has it: a connection may reach any job). The time from the command's
   return to the first of those is printed;
2. ADDSMTPLE of the same entry back (an append: the server adds it without compiling the
   list again), until 10 probes in a row get 250.

Printed per size: the command's own time, the time until the change is in use, and the
session's RCPT round trip: median before the changes, and the longest while they were
made. Target (issue 3): in use within 1 s of the command's return, sessions not held up.
Every wait is bounded; the server is ended by ENDTCPSVR, and then by PID.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import new_root, script, server_running, wait_for_greeting

PROBE = "127.1.0.5"
SESSION = "127.0.0.9"
IN_A_ROW = 10
LIMIT_SECONDS = 60


class Session(threading.Thread):
    """One SMTP session asking for a relay again and again; records each round trip."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.stop = port, threading.Event()
        self.samples: list[tuple[float, float]] = []      # (when, seconds)

    def run(self) -> None:
        client = smtplib.SMTP("127.0.0.1", self.port, source_address=(SESSION, 0), timeout=30)
        client.ehlo("session.test")
        deadline = time.monotonic() + 10 * LIMIT_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            start = time.perf_counter()
            client.mail("sender@session.test")
            client.rcpt("someone@far.example")
            client.rset()
            self.samples.append((time.monotonic(), time.perf_counter() - start))
        client.quit()

    def longest_since(self, since: float) -> float:
        return max((seconds for when, seconds in self.samples if when >= since), default=0.0)


def relay_code(port: int) -> int:
    client = smtplib.SMTP("127.0.0.1", port, source_address=(PROBE, 0), timeout=30)
    try:
        client.ehlo("probe.test")
        client.mail("sender@probe.test")
        return client.rcpt("someone@far.example")[0]
    finally:
        client.quit()


def in_use_after(port: int, code: int) -> float:
    """Seconds until IN_A_ROW probes in a row get ``code`` (counted from the first)."""
    start = time.monotonic()
    first = None
    row = 0
    while time.monotonic() - start < LIMIT_SECONDS:
        now = time.monotonic()
        if relay_code(port) == code:
            first = now if row == 0 else first
            row += 1
            if row == IN_A_ROW:
                return first - start
        else:
            row = 0
        time.sleep(0.02)
    raise RuntimeError(f"the change was not in use after {LIMIT_SECONDS} s")


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=LIMIT_SECONDS)
    return time.perf_counter() - start


def measure(size: int) -> None:
    with tempfile.TemporaryDirectory(prefix="qtsmtp-bench-reload-") as tmp:
        root = Path(tmp)
        env, port = new_root(root, "ALWRLY(*LIST)")
        records = [f"10.{n // 65536}.{n // 256 % 256}.{n % 256} 255.255.255.255\n"
                   for n in range(size)]
        records.insert(size // 2, f"{PROBE} 255.255.255.255\n")
        (root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY").write_text("".join(records))
        records = None
        with server_running(root, env, start_timeout=LIMIT_SECONDS):
            wait_for_greeting(port, "the server", LIMIT_SECONDS)
            # The commands' index of the member, as an administrator's first command makes it.
            timed([script("addsmtple"), "*ACCEPT INTNETADR('10.255.255.1')"], env)
            time.sleep(1.0)                                  # every job has that too
            session = Session(port)
            session.start()
            time.sleep(1.0)
            quiet = statistics.median(seconds for _, seconds in session.samples)
            results = []
            for command, code in (("rmvsmtple", 550), ("addsmtple", 250)):
                since = time.monotonic()
                took = timed([script(command), f"*ACCEPT INTNETADR('{PROBE}')"], env)
                in_use = in_use_after(port, code)
                time.sleep(0.5)
                results.append((command, took, in_use, session.longest_since(since)))
            session.stop.set()
            session.join(timeout=LIMIT_SECONDS)
            print(f"list of {size:9,d}: session RCPT round trip, median before {quiet * 1000:6.1f} ms")
            for command, took, in_use, longest in results:
                print(f"  {command:9s} {took * 1000:7.0f} ms, in use {in_use * 1000:6.0f} ms after it "
                      f"returned; longest session round trip meanwhile {longest * 1000:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    entries = parser.parse_args().entries
    print(f"Python {sys.version.split()[0]}; target: in use within 1 s, sessions not held up")
    for size in (10, entries):
        measure(size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
