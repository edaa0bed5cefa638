"""End-to-end fixtures: each test gets a temporary data root and, if it asks, a server.

Teardown always runs ENDTCPSVR and then kills by PID anything the job table named.
"""

from __future__ import annotations

import shutil

import pytest

from e2e_support import CHECKOUT, Server, free_port


@pytest.fixture
def server_root(tmp_path) -> Server:
    root = tmp_path / "root"
    root.mkdir()
    shutil.copytree(CHECKOUT / "data" / "QUSRSYS", root / "QUSRSYS",
                    ignore=shutil.ignore_patterns(".*"))
    server = Server(root)
    server.port = free_port()
    # All mail is forwarded to a loopback port where nothing listens: the client job
    # defers every delivery, so accepted mail stays in the queue for the tests to read,
    # and no MX look-up ever leaves the machine.
    server.run("chgsmtpa", f"PORT({server.port}) FWDHUBSVR('127.0.0.1:{free_port()}')")
    yield server
    if server.jobs():
        server.end()
    leftovers = server.kill_leftovers()
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture
def server(server_root) -> Server:
    """A running server (two server jobs) on the embedded default configuration."""
    server_root.start("SVRJOBS(2)")
    return server_root
