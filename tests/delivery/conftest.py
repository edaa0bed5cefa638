"""Delivery test fixtures: a temporary data root with a Server helper, and loopback sinks."""

from __future__ import annotations

import pytest

from sinks import Sink
from support.server import Server

LOCAL_USERS = ("JOE", "BOB", "ANN", "OPS")   # joe@sys.test ... in every droot
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
    """A data root for delivery: SYSNAME(sys.test), retries compressed, the users of
    LOCAL_USERS; a Server helper."""
    server = Server.on_new_root(tmp_path / "root", "SYSNAME('sys.test') RTYMIN(2 1)",
                                env={"QTSMTP_MINUTE_SECONDS": MINUTE,
                                     "QTSMTP_DNS": "off"})   # never real DNS, whatever a test routes
    # The local users the tests send to and bounce to: a local recipient must be a user
    # of the SMTP directory (550 5.1.1 otherwise).
    for profile in LOCAL_USERS:
        server.run("addusrsmtp", profile)
    yield server
    leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"
