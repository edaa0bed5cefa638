"""End-to-end support: a real server started by the console command on a temporary root.

Every server a test starts is ended by ENDTCPSVR in the fixture's teardown, and any
process still named in the job table afterwards (or seen there during the test) is
killed by PID: a failing test leaves nothing running and nothing on the port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 120
CONFIG_COMMANDS = {"addsmtple", "rmvsmtple", "chgsmtpa"}


def script(name: str) -> str:
    """A console script of this installation (next to the interpreter), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"console script {name} not installed (pip install -e .)")
    return found


def free_port() -> int:
    """A port free on 127.0.0.1 and on ::1 (the embedded default library binds both)."""
    for _ in range(50):
        with socket.socket() as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port on loopback")


class Server:
    """A temporary data root, the commands run on it, and the server jobs they start."""

    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, "QTSMTP_ROOT": str(root)}
        self.port = 0
        self.seen_pids: set[int] = set()

    def run(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a console command. A configuration change made while the server runs
        returns once every server job has compiled it (or refused it): each job reloads
        on its own, and a test's next connection may reach any of them."""
        watching = name in CONFIG_COMMANDS and self.port and self.job_pids("QTSMTPSRVP")
        before = self._reload_counts() if watching else {}
        result = subprocess.run([script(name), *args], env=self.env, capture_output=True,
                                text=True, timeout=COMMAND_TIMEOUT)
        if check and result.returncode != 0:
            raise AssertionError(f"{name} {' '.join(args)} -> {result.returncode}\n"
                                 f"{result.stdout}{result.stderr}")
        if watching and result.returncode == 0:
            eventually(lambda: all(self._reload_counts().get(log, 0) > count
                                   for log, count in before.items()
                                   if self._job_alive_for(log)),
                       f"every server job reloaded after {name}")
        return result

    def _reload_counts(self) -> dict[str, int]:
        out = {}
        for job in self.jobs():
            if job["name"] == "QTSMTPSRVP":
                text = (self.root / job["log"]).read_text()
                out[job["log"]] = text.count(" TCP3022 ") + text.count(" TCP3021 ")
        return out

    def _job_alive_for(self, log: str) -> bool:
        return any(j["log"] == log and process_running(j["pid"]) for j in self.jobs())

    # --- the job table, read as WRKACTJOB reads it ---------------------------------------

    def jobs(self) -> list[dict]:
        directory = self.root / "QSYSWRK" / "jobs"
        out = []
        for path in sorted(directory.glob("[0-9]*")) if directory.exists() else []:
            try:
                out.append(json.loads(path.read_text()))
            except (FileNotFoundError, ValueError):
                continue
        self.seen_pids.update(j["pid"] for j in out)
        return out

    def job_pids(self, name: str) -> list[int]:
        return [j["pid"] for j in self.jobs() if j["name"] == name]

    def joblog_text(self, name: str | None = None) -> str:
        logs = sorted((self.root / "QSYSWRK" / "joblog").glob("*.log"))
        return "".join(p.read_text() for p in logs if name is None or name in p.name)

    def joblog_shows(self, text: str, name: str | None = None) -> str:
        """Wait for ``text`` in the job logs. A server job writes its log lines in
        batches (joblog.FLUSH_SECONDS), so a line may reach the file just after the
        reply it explains reached the client."""
        return eventually(lambda: text in (log := self.joblog_text(name)) and log,
                          f"{text!r} in the job log of {name or 'any job'}")

    def start(self, *args: str) -> subprocess.CompletedProcess:
        result = self.run("strtcpsvr", "*SMTP", *args)
        self.jobs()
        return result

    def end(self) -> subprocess.CompletedProcess:
        self.jobs()
        return self.run("endtcpsvr", "*SMTP", check=False)

    def kill_leftovers(self) -> list[int]:
        self.jobs()
        killed = []
        for pid in self.seen_pids:
            if process_running(pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        return killed

    # --- SMTP clients --------------------------------------------------------------------

    def smtp(self, source: str = "127.0.0.2", host: str = "127.0.0.1") -> smtplib.SMTP:
        client = smtplib.SMTP(host, self.port, source_address=(source, 0), timeout=30)
        client.ehlo("client.test")
        return client

    def rcpt_code(self, source: str, recipient: str, host: str = "127.0.0.1") -> int:
        client = self.smtp(source, host)
        try:
            code, _ = client.mail("sender@client.test")
            assert code == 250
            return client.rcpt(recipient)[0]
        finally:
            client.quit()

    def stored_messages(self) -> list[bytes]:
        """The bytes of every message the server holds: queued, or delivered to a local
        mailbox. The queue is read first: delivery writes the mailbox file before it
        removes the queue file, so a message moving meanwhile is still seen once."""
        out = []
        for path in self.queued() + sorted((self.root / "mail").glob("*/*/*")):
            try:
                out.append(path.read_bytes())
            except (FileNotFoundError, IsADirectoryError):
                pass
        return out

    def queue_file(self, queue_id: str) -> bytes:
        """The bytes of a queued message, in whichever state directory the client job
        has moved it to by now (it may move while we look: look again)."""
        queue = self.root / "queue"

        def read() -> bytes | None:
            for state in ("incoming", "active", "deferred"):
                try:
                    return (queue / state / queue_id).read_bytes()
                except FileNotFoundError:
                    continue
            return None

        return eventually(read, f"queue file {queue_id}")

    def queued(self) -> list[Path]:
        """Every queued message, whichever state the client job has moved it to."""
        queue = self.root / "queue"
        return sorted(p for state in ("incoming", "active", "deferred") for p in (queue / state).glob("*"))


def process_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def children_named(parent: int, name: str) -> list[int]:
    """The live child processes of ``parent`` whose name (ps, /proc/PID/comm) is ``name``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if int(rest[1]) == parent and comm == name and rest[0] not in ("Z", "X"):
            found.append(int(entry))
    return found


def eventually(check, what: str, limit: float = 15.0, pause: float = 0.05):
    """Poll ``check`` until it returns a true value; the limit only bounds the loop."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(pause)
