"""What security costs: qtsmtp throughput with STARTTLS on every connection, and with a
no-op in-process exit program, as ratios to the plain server measured in the same run.

    python bench/bench_security.py [--messages N] [--rounds R] [--clients C]

smtp-source cannot do TLS, so the load comes from a bounded pool of Python asyncio
clients (C at once, default 16), one 1 KB message per connection (so every message pays
a TLS handshake in the STARTTLS case), all on loopback. Five servers, each on its own
temporary root, started with STRTCPSVR and ended with ENDTCPSVR:

    plain        the shipped configuration
    starttls     TLSCERT/TLSKEY set (RSA 2048, self-signed); every client says STARTTLS
    exit-sync    one exit program, a plain Python function that returns None: in its
                 threads for its first 100 calls (the warm-up), then on the event loop
                 (qtsmtp.server.exitloop)
    exit-threads the same function marked may_block = True: every call handed to one of
                 its threads and back, what exit-sync cost before it could move
    exit-async   one exit program, an async def that returns None (on the event loop)

Delivery is held off (the client job waits for the queue lock this process holds), so
what is measured is the receive path up to the durable queue file. Rounds alternate the
servers; the median of the rounds is reported, with the ratio to plain. Beside the rate,
the CPU time the server's processes (its jobs and their commit processes, read from
/proc) spent per message, and its ratio: a rate measured on a shared machine with the
load generator on the same CPUs says less than what each message costs the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

from _common import (CHECKOUT, children, jobs, new_root, own_block_group, script, server_running,
                     spread_subdirectories)
from tls_source import client_context
from tls_source import load as tls_load

RUN_TIMEOUT_SECONDS = 600


# --- the exit programs (imported by the server jobs: PYTHONPATH has bench/) ----------------

def noop(event):
    return None


def noop_in_threads(event):
    return None


noop_in_threads.may_block = True


async def noop_async(event):
    return None


# --- servers -------------------------------------------------------------------------------

@contextmanager
def qtsmtp(root: Path, config: list[str], exit_program: str | None):
    env, port = new_root(root, f"SYSNAME('bench.test') {' '.join(config)}",
                         {"QTSMTP_DNS": "off",
                          "PYTHONPATH": os.pathsep.join([str(CHECKOUT / "bench"), str(CHECKOUT)])})
    if exit_program:
        subprocess.run([script("addexitpgm"), "QIBM_QTMS_SMTP_EXIT", "SMTP0100", "1",
                        f"PGM('{exit_program}')"], env=env, check=True, stdout=subprocess.DEVNULL)
    with server_running(root, env, hold_delivery=True):
        yield port, root


def server_cpu_seconds(root: Path) -> float:
    """CPU time (user + system) of every job of the server and their child processes."""
    pids = set()
    for job in jobs(root):
        pids.add(job["pid"])
        pids.update(children(job["pid"]))
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=bench.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


# --- the client pool: tls_source.py's, in this process -------------------------------------

async def load(port: int, messages: int, clients: int, tls: ssl.SSLContext | None) -> float:
    return await tls_load("127.0.0.1", port, messages, clients, tls, timeout=RUN_TIMEOUT_SECONDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-security-") as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        tls_dir = tmp / "tls"
        tls_dir.mkdir(mode=0o700)
        cert, key = make_certificate(tls_dir)
        setups = {
            "plain": ([], None, None),
            "starttls": ([f"TLSCERT('{cert}')", f"TLSKEY('{key}')"], None, client_context()),
            "exit-sync": ([], "bench_security:noop", None),
            "exit-threads": ([], "bench_security:noop_in_threads", None),
            "exit-async": ([], "bench_security:noop_async", None),
        }
        ports, roots = {}, {}
        spread_subdirectories(tmp)       # each server's queue where nothing was deleted
        for name, (config, program, _) in setups.items():
            ports[name], roots[name] = stack.enter_context(
                qtsmtp(own_block_group(tmp, name), config, program))
        rates: dict[str, list[float]] = {name: [] for name in setups}
        cpu: dict[str, list[float]] = {name: [] for name in setups}
        for name, port in ports.items():       # warm-up: imports, first handshakes
            asyncio.run(load(port, 100, args.clients, setups[name][2]))
        for _ in range(args.rounds):
            for name, port in ports.items():
                before = server_cpu_seconds(roots[name])
                rates[name].append(asyncio.run(load(port, args.messages, args.clients,
                                                    setups[name][2])))
                cpu[name].append((server_cpu_seconds(roots[name]) - before) / args.messages)
        moved = {name: on_the_loop(roots[name]) for name in ("exit-sync", "exit-threads")}
    print(f"qtsmtp security benchmark: {args.messages} messages x {args.rounds} rounds, "
          f"{args.clients} clients, 1 KB, one message per connection; "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs")
    plain = statistics.median(rates["plain"])
    plain_cpu = statistics.median(cpu["plain"])
    print(f"{'server':<12} {'msg/s (median)':>15} {'ratio to plain':>15} "
          f"{'server CPU us/msg':>18} {'msg/CPU-s ratio':>16}   rounds (msg/s)")
    for name, values in rates.items():
        median = statistics.median(values)
        per_message = statistics.median(cpu[name])
        shown = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:<12} {median:>15.0f} {median / plain:>15.2f} {per_message * 1e6:>18.0f} "
              f"{plain_cpu / per_message:>16.2f}   {shown}")
    for name, (jobs_moved, jobs_all) in moved.items():
        print(f"{name}: the function moved to the event loop (TCP6088) in {jobs_moved} of "
              f"{jobs_all} server jobs")
    return 0


def on_the_loop(root: Path) -> tuple[int, int]:
    """(server jobs whose log says the exit moved to the event loop, server jobs)."""
    logs = list((root / "QSYSWRK" / "joblog").glob("*.QTSMTPSRVP.log"))
    return sum(" TCP6088 " in log.read_text(errors="replace") for log in logs), len(logs)


if __name__ == "__main__":
    sys.exit(main())
