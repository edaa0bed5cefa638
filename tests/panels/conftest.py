"""Fixtures for the panel tests: a terminal (tmux) on the temporary data root, and a real
SMTP server started with STRTCPSVR and always ended, by PID if need be."""

from __future__ import annotations

import pytest

from support import free_port, script
from support.server import Server
from tmuxterm import Terminal


@pytest.fixture
def term(tmp_path, qroot):
    """Start a console script in an 80 x 24 tmux terminal on the temporary root:
    ``term("wrksmtple", "*ACCEPT")``. Every tmux server started is killed afterwards."""
    opened: list[Terminal] = []

    def start(name: str, *args: str, env: dict | None = None,
              size: tuple[int, int] = (80, 24)) -> Terminal:
        terminal = Terminal(tmp_path)
        opened.append(terminal)
        return terminal.start([script(name), *args],
                              {"QTSMTP_ROOT": str(qroot), "LANG": "C.UTF-8", **(env or {})}, size)
    yield start
    for terminal in opened:
        terminal.close()


@pytest.fixture
def smtp_server(qroot):
    """A real server (one server job) on the temporary root and a free loopback port."""
    server = Server(qroot)
    server.port = free_port()
    server.run("chgsmtpa", f"PORT({server.port})")
    try:
        server.start("SVRJOBS(1)")
        yield server
    finally:
        server.shut_down()
