"""Security test fixtures: a server on a temporary root (tests/e2e's Server), with a TLS
certificate, AUTH users and exit programs made here. Every server a test starts is ended
in teardown, and every process the job table named is killed by PID."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE))

from e2e_support import CHECKOUT, Server, free_port  # noqa: E402
from security_support import add_user  # noqa: E402


def _new_root(tmp_path: Path, name: str = "root") -> Server:
    root = tmp_path / name
    root.mkdir()
    shutil.copytree(CHECKOUT / "data" / "QUSRSYS", root / "QUSRSYS",
                    ignore=shutil.ignore_patterns(".*"))
    server = Server(root)
    # The exit programs of exitsamples.py must be importable by the server jobs.
    server.env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    server.port = free_port()
    server.run("chgsmtpa", f"PORT({server.port}) FWDHUBSVR('127.0.0.1:{free_port()}')")
    return server


@pytest.fixture
def new_server(tmp_path):
    """A factory of servers on their own roots; all ended and checked at teardown."""
    made: list[Server] = []

    def make(name: str = "root") -> Server:
        server = _new_root(tmp_path, name)
        made.append(server)
        return server
    yield make
    leftovers = []
    for server in made:
        if server.jobs():
            server.end()
        leftovers += server.kill_leftovers()
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    from test_sec_units import make_certificate
    directory = tmp_path / "tls"
    directory.mkdir(mode=0o700)
    return make_certificate(directory)


@pytest.fixture
def tls_server(new_server, certificate):
    """A running server with STARTTLS, ALWAUTH(*RELAY) and user alice (password wonderland)."""
    server = new_server()
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') ALWAUTH(*LOCAL *RELAY)")
    add_user(server, "alice", "wonderland")
    server.start("SVRJOBS(2)")
    return server

