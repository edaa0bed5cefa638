"""Fixtures for the panel tests: a terminal (tmux) on the temporary data root, and a real
SMTP server started with STRTCPSVR and always ended, by PID if need be."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tmuxterm import Terminal, console, free_port

COMMAND_TIMEOUT = 120


@pytest.fixture
def term(tmp_path, qroot):
    """Start a console script in an 80 x 24 tmux terminal on the temporary root:
    ``term("wrksmtple", "*ACCEPT")``. Every tmux server started is killed afterwards."""
    opened: list[Terminal] = []

    def start(name: str, *args: str, env: dict | None = None) -> Terminal:
        terminal = Terminal(tmp_path)
        opened.append(terminal)
        return terminal.start([console(name), *args],
                              {"QTSMTP_ROOT": str(qroot), "LANG": "C.UTF-8", **(env or {})})
    yield start
    for terminal in opened:
        terminal.close()


def _alive(pid: int, started: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X") and (not started or int(fields[19]) == started)


class RunningServer:
    def __init__(self, root: Path):
        self.root = root
        self.env = {**os.environ, "QTSMTP_ROOT": str(root)}
        self.seen: dict[int, int] = {}          # pid -> its start time, from the job table

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([console(name), *args], env=self.env, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)

    def jobs(self) -> list[dict]:
        directory = self.root / "QSYSWRK" / "jobs"
        out = []
        for path in sorted(directory.glob("[0-9]*")) if directory.exists() else []:
            try:
                job = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            self.seen[job["pid"]] = job["pid_start"]
            out.append(job)
        return out

    def job(self, name: str) -> dict:
        return next(j for j in self.jobs() if j["name"] == name)

    def alive(self, job: dict) -> bool:
        return _alive(job["pid"], job["pid_start"])

    def stop(self) -> list[int]:
        """ENDTCPSVR, then SIGKILL (after SIGCONT) any process the table ever named."""
        self.jobs()
        self.run("endtcpsvr", "*SMTP")
        killed = []
        for pid, started in self.seen.items():
            if _alive(pid, started):
                for signum in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(pid, signum)
                    except ProcessLookupError:
                        pass
                killed.append(pid)
        return killed


@pytest.fixture
def smtp_server(qroot):
    """A real server (one server job) on the temporary root and a free loopback port."""
    server = RunningServer(qroot)
    port = free_port()
    assert server.run("chgsmtpa", f"PORT({port})").returncode == 0
    server.port = port
    try:
        started = server.run("strtcpsvr", "SERVER(*SMTP) SVRJOBS(1)")
        assert started.returncode == 0, started.stdout + started.stderr
        server.jobs()
        yield server
    finally:
        server.stop()
