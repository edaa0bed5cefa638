"""Throughput: Postfix's smtp-source against qtsmtp and a bare aiosmtpd, in one run.

    python bench/bench_throughput.py [--messages 2000]

qtsmtp runs as STRTCPSVR starts it (relay gating, Received: line, queue file fsynced
with its directory before each 250) on a temporary data root; the peer is aiosmtpd with
a handler that accepts and discards (no policy, no disk). Both on 127.0.0.1, same
machine, same client. Printed: messages per second of each, and qtsmtp / peer.
Needs smtp-source (Debian package postfix). Real Postfix as a peer is not wired up yet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
BARE_AIOSMTPD = textwrap.dedent("""
    import asyncio, sys
    from aiosmtpd.smtp import SMTP
    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Discard(), hostname="bench.test"), "127.0.0.1", int(sys.argv[1]))
        print("ready", flush=True)
        await server.serve_forever()
    asyncio.run(main())
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def smtp_source(port: int, sessions: int, messages: int, keep_open: bool) -> float:
    """Messages per second for one smtp-source run (1 KB messages)."""
    args = ["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", "1024",
            "-f", "bench@client.test", "-t", "user@bench.test", "-M", "client.test"]
    if keep_open:
        args.append("-d")
    start = time.perf_counter()
    subprocess.run(args + [f"127.0.0.1:{port}"], check=True, timeout=600,
                   stdout=subprocess.DEVNULL)
    return messages / (time.perf_counter() - start)


def start_qtsmtp(root: Path, port: int) -> dict:
    shutil.copytree(CHECKOUT / "data" / "QUSRSYS", root / "QUSRSYS",
                    ignore=shutil.ignore_patterns(".*"))
    env = {**os.environ, "QTSMTP_ROOT": str(root)}
    # bench.test is this system: the recipient is local, so every RCPT passes the full
    # decision path (canonicalise, reject list, local check) and every message is queued.
    subprocess.run([script("chgsmtpa"), f"PORT({port})", "SYSNAME('bench.test')"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([script("strtcpsvr"), "*SMTP"], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    if shutil.which("smtp-source") is None:
        print("smtp-source not found (Debian package postfix)")
        return 1
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        qt_port, bare_port = free_port(), free_port()
        env = start_qtsmtp(root, qt_port)
        bare = subprocess.Popen([sys.executable, "-c", BARE_AIOSMTPD, str(bare_port)],
                                stdout=subprocess.PIPE, text=True)
        try:
            bare.stdout.readline()
            print(f"{'run':<28}{'qtsmtp msg/s':>14}{'aiosmtpd msg/s':>16}{'ratio':>8}")
            for sessions in (10, 50):
                for keep_open in (False, True):
                    name = f"-s {sessions}" + (" -d" if keep_open else " (new conn/msg)")
                    qt = smtp_source(qt_port, sessions, args.messages, keep_open)
                    peer = smtp_source(bare_port, sessions, args.messages, keep_open)
                    print(f"{name:<28}{qt:>14.0f}{peer:>16.0f}{qt / peer:>8.2f}")
            queued = len(list((root / "queue" / "incoming").iterdir()))
            print(f"qtsmtp queued {queued} messages (each fsynced with its directory before 250)")
        finally:
            bare.terminate()
            bare.wait(timeout=30)
            subprocess.run([script("endtcpsvr"), "*SMTP"], env=env, stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
