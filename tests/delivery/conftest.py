"""Delivery test fixtures: a temporary data root, sinks, and the real console scripts."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import CHECKOUT, Server, free_port  # noqa: E402
from sinks import Sink  # noqa: E402

MINUTE = "0.05"        # QTSMTP_MINUTE_SECONDS: one schedule minute lasts 50 ms in tests


@pytest.fixture
def sinks():
    made = []

    def make(reply=None) -> Sink:
        sink = Sink(reply).start()
        made.append(sink)
        return sink
    yield make
    for sink in made:
        sink.stop()


@pytest.fixture
def droot(tmp_path) -> Server:
    """A data root for delivery: SYSNAME(sys.test), retries compressed; a Server helper."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copytree(CHECKOUT / "data" / "QUSRSYS", root / "QUSRSYS",
                    ignore=shutil.ignore_patterns(".*"))
    server = Server(root)
    server.env["QTSMTP_MINUTE_SECONDS"] = MINUTE
    server.env["QTSMTP_DNS"] = "off"              # never real DNS, whatever a test routes
    server.port = free_port()
    server.run("chgsmtpa", f"PORT({server.port})", "SYSNAME('sys.test')", "RTYMIN(2 1)")
    yield server
    if server.jobs():
        server.end()
    leftovers = server.kill_leftovers()
    assert not leftovers, f"processes left running: {leftovers}"
