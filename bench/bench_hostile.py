"""Hostile clients against a real server, this checkout and (--baseline TREE) another
version in the same run: what issue 16 items 1, 2 and 8 measure.

    python bench/bench_hostile.py [--baseline TREE] [--only memory,sessions,auth]

memory    one session sends 1 GiB of DATA (998-octet lines) without the final dot, with
          MAXEMMSIZE(*NOMAX): the server job's peak VmRSS, and after the session ended;
          then three parallel sessions of 600 MiB each, with the final dot: the peak.
          One server job, the client job held (nothing delivered).
sessions  one client address opens idle sessions (up to 20,000, 5 s per attempt at most):
          how many the server holds; then, with those held, a new client's time to a
          220 greeting (median of 5).
flood     idle sessions from 250 addresses, 60 attempts each: held, refused with 421,
          refused without a word; a new client's time to 220 meanwhile.
auth      100 parallel sessions from one address, each AUTH PLAIN with wrong passwords
          for 20 s: failed guesses per second the server answered; then whether the right
          password from that address is accepted.

Loopback only; every loop is bounded in count and time; every server ended by PID.
The machine may be shared: compare the two versions of the same run, not runs.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import THIS, Version, jobs, new_root, server_running, wait_for_greeting

MIB = 1024 * 1024
LINE = b"x" * 998 + b"\r\n"
CHUNK = LINE * 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reply(sock: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data + b"<closed>"
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) > 1 and lines[-2][3:4] == b" ":
            return data


def open_data(port: int, source: str = "127.0.0.2") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=120, source_address=(source, 0))
    reply(sock)
    for command in (b"EHLO bench.test", b"MAIL FROM:<a@bench.test>", b"RCPT TO:<postmaster>",
                    b"DATA"):
        sock.sendall(command + b"\r\n")
        answer = reply(sock)
        if not answer[:1] in b"23":
            raise RuntimeError(f"{command!r}: {answer!r}")
    return sock


class Peak(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except OSError:
                return


def server_job(root: Path) -> int:
    return next(j["pid"] for j in jobs(root) if j["name"] == "QTSMTPSRVP")


def memory(version: Version, scratch: Path) -> dict:
    root = scratch / f"memory-{version.name}"
    env, port = new_root(root, "MAXEMMSIZE(*NOMAX)", version=version)
    out = {}
    with server_running(root, env, hold_delivery=True, version=version):
        wait_for_greeting(port)
        pid = server_job(root)
        out["idle MiB"] = rss_mib(pid)
        peak = Peak(pid)
        peak.start()
        sock = open_data(port)
        started = time.monotonic()
        for _ in range(1024):                 # 1 GiB, no final dot
            sock.sendall(CHUNK)
        out["1 GiB s"] = time.monotonic() - started
        time.sleep(1)
        sock.close()
        time.sleep(3)
        peak.stop.set()
        peak.join()
        out["1 GiB peak MiB"] = peak.peak
        out["after MiB"] = rss_mib(pid)

        peak = Peak(pid)
        peak.start()
        results = []

        def send_600() -> None:
            s = open_data(port)
            for _ in range(600):
                s.sendall(CHUNK)
            s.sendall(b".\r\n")
            results.append(reply(s)[:3])
            s.close()

        threads = [threading.Thread(target=send_600) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        peak.stop.set()
        peak.join()
        out["3 x 600 MiB peak MiB"] = peak.peak
        out["3 x 600 MiB replies"] = b" ".join(results).decode()
    return out


def sessions(version: Version, scratch: Path, limit: int = 20000) -> dict:
    root = scratch / f"sessions-{version.name}"
    env, port = new_root(root, version=version)
    out = {}
    held: list[socket.socket] = []
    with server_running(root, env, hold_delivery=True, version=version):
        wait_for_greeting(port)
        refused = 0
        deadline = time.monotonic() + 120
        while len(held) < limit and time.monotonic() < deadline:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                                source_address=("127.0.0.3", 0))
                greeting = sock.recv(512)
            except OSError:
                break
            if not greeting.startswith(b"220"):
                sock.close()
                refused += 1
                if refused >= 20:
                    break
                continue
            held.append(sock)
        out["sessions held by one address"] = len(held)
        out["new client's time to 220 (median s)"] = time_to_greeting(port)
        for sock in held:
            sock.close()
    return out


def time_to_greeting(port: int, tries: int = 5) -> float:
    """A new client's (127.0.0.4) time from connect to the 220, median of ``tries``;
    infinite for a try that got no 220."""
    times = []
    for _ in range(tries):
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30,
                                          source_address=("127.0.0.4", 0)) as s:
                answer = s.recv(512)
            times.append(time.monotonic() - started if answer.startswith(b"220")
                         else float("inf"))
        except OSError:
            times.append(float("inf"))
    return statistics.median(times)


def flood(version: Version, scratch: Path, addresses: int = 250, per_address: int = 60) -> dict:
    """Idle sessions from many addresses (127.0.1.1 ...), at most 15,000 attempts: how
    many the server holds, and a new client's time to 220 meanwhile (median of 5)."""
    root = scratch / f"flood-{version.name}"
    env, port = new_root(root, version=version)
    out = {}
    held: list[socket.socket] = []
    with server_running(root, env, hold_delivery=True, version=version):
        wait_for_greeting(port)
        refused = silent = 0
        deadline = time.monotonic() + 180
        for n in range(addresses):
            source = f"127.0.1.{n + 1}"
            for _ in range(per_address):
                if time.monotonic() > deadline:
                    break
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                                    source_address=(source, 0))
                    greeting = sock.recv(512)
                except OSError:
                    silent += 1
                    continue
                if greeting.startswith(b"220"):
                    held.append(sock)
                else:
                    refused += greeting.startswith(b"421")
                    silent += not greeting
                    sock.close()
        out["idle sessions held"] = len(held)
        out["refused with 421"] = refused
        out["closed or timed out without a word"] = silent
        out["new client's time to 220 during the flood (median s)"] = time_to_greeting(port)
        for sock in held:
            sock.close()
    return out


def auth(version: Version, scratch: Path, parallel: int = 100, seconds: float = 20) -> dict:
    root = scratch / f"auth-{version.name}"
    tls = scratch / "tls"
    if not tls.exists():
        tls.mkdir(mode=0o700)
        os.system(f"openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
                  f"-keyout {tls}/key.pem -out {tls}/cert.pem >/dev/null 2>&1")
        os.chmod(tls / "key.pem", 0o600)
    env, port = new_root(root, f"TLSCERT('{tls}/cert.pem') TLSKEY('{tls}/key.pem') "
                         "ALWAUTH(*LOCAL *RELAY)", version=version)
    import subprocess
    subprocess.run([*version.command("addsmtpaut"), "alice"], env=env, input="wonderland\n",
                   text=True, check=True, cwd=root, stdout=subprocess.DEVNULL)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def plain(password: str) -> bytes:
        return b"AUTH PLAIN " + base64.b64encode(b"\0alice\0" + password.encode()) + b"\r\n"

    def session() -> ssl.SSLSocket | None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30,
                                       source_address=("127.0.0.5", 0))
        if not reply(raw).startswith(b"220"):         # refused at connect (rate)
            raw.close()
            return None
        raw.sendall(b"EHLO bench.test\r\n")
        reply(raw)
        raw.sendall(b"STARTTLS\r\n")
        if not reply(raw).startswith(b"220"):
            raw.close()
            return None
        sock = context.wrap_socket(raw)
        sock.sendall(b"EHLO bench.test\r\n")
        reply(sock)
        return sock

    def guesser(n: int) -> None:
        guess = 0
        while time.monotonic() < stop:
            try:
                sock = session()
                if sock is None:
                    continue
                while time.monotonic() < stop:
                    guess += 1
                    sock.sendall(plain(f"wrong{n}-{guess}"))
                    answer = reply(sock)
                    if answer.startswith(b"535") or b"\r\n535" in answer:
                        with lock:
                            failures[0] += 1
                    if b"421" in answer or answer.endswith(b"<closed>") or answer[:1] != b"5":
                        break
                sock.close()
            except OSError:
                time.sleep(0.05)

    with server_running(root, env, hold_delivery=True, version=version):
        wait_for_greeting(port)
        started = time.monotonic()
        threads = [threading.Thread(target=guesser, args=(n,)) for n in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        elapsed = time.monotonic() - started
        time.sleep(1)
        try:
            sock = session()
            if sock is None:
                right = "421 at connect"
            else:
                sock.sendall(plain("wonderland"))
                right = reply(sock)[:3].decode()
                sock.close()
        except OSError as failure:
            right = f"connection ended: {failure}"
    return {"failed guesses answered per s": failures[0] / elapsed,
            "right password from that address": right}


SCENARIOS = {"memory": memory, "sessions": sessions, "flood": flood, "auth": auth}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, help="another qtsmtp tree, run in the same run")
    parser.add_argument("--only", default="memory,sessions,flood,auth")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch_name:
        scratch = Path(scratch_name)
        versions = [THIS]
        if args.baseline:
            versions.insert(0, Version(args.baseline, scratch / "baseline", name="baseline"))
        for name in args.only.split(","):
            for version in versions:
                started = time.monotonic()
                result = SCENARIOS[name](version, scratch)
                print(f"{name:8} {version.name:9} ({time.monotonic() - started:.0f} s)", flush=True)
                for key, value in result.items():
                    shown = f"{value:.2f}" if isinstance(value, float) else value
                    print(f"    {key}: {shown}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
