"""Security test fixtures: servers on temporary roots (support.server), with a TLS
certificate, AUTH users and exit programs made here. Every server a test starts is ended
in teardown, and every process the job table named is killed by PID."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import free_port, make_certificate
from support.server import Server

HERE = Path(__file__).resolve().parent


@pytest.fixture
def new_server(tmp_path):
    """A factory of servers on their own roots; all ended and checked at teardown."""
    made: list[Server] = []

    def make(name: str = "root") -> Server:
        # The exit programs of exitsamples.py must be importable by the server jobs.
        path = os.pathsep.join([str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        server = Server.on_new_root(tmp_path / name, f"FWDHUBSVR('127.0.0.1:{free_port()}')",
                                    env={"PYTHONPATH": path})
        made.append(server)
        return server
    yield make
    leftovers = [pid for server in made for pid in server.shut_down()]
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    return make_certificate(tmp_path / "tls")


@pytest.fixture
def tls_server(new_server, certificate):
    """A running server with STARTTLS, ALWAUTH(*RELAY) and user alice (password wonderland)."""
    server = new_server()
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') ALWAUTH(*LOCAL *RELAY)")
    server.add_user("alice", "wonderland")
    server.start("SVRJOBS(2)")
    return server
