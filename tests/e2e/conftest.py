"""End-to-end fixtures: each test gets a temporary data root and, if it asks, a server.

Teardown always runs ENDTCPSVR and then kills by PID anything the job table named.
"""

from __future__ import annotations

import pytest

from support import free_port
from support.server import Server


@pytest.fixture
def server_root(tmp_path) -> Server:
    # All mail is forwarded to a loopback port where nothing listens: the client job
    # defers every delivery, so accepted mail stays in the queue for the tests to read,
    # and no MX look-up ever leaves the machine.
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')")
    yield server
    leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture
def server(server_root) -> Server:
    """A running server (two server jobs) on the embedded default configuration."""
    server_root.start("SVRJOBS(2)")
    return server_root
