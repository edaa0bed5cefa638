"""The connection checks: one ordered table, cheap and local first, and what each says.

Each row sets up a connection that every check from one of them on would refuse: the
first of them must give the reply, and none after it may run (no DNS query for a client
the reject list already refused, no per-client count for a client a job limit refused).
The checks run through RelaySMTP.admit, the one driver the server uses.
"""

from __future__ import annotations

import asyncio
import types

import pytest

from qtsmtp.config import entries
from qtsmtp.config import listtypes as lt
from qtsmtp.config.exitreg import ExitRegistration
from qtsmtp.config.policy import RelayPolicy
from qtsmtp.server.admission import CONNECTION_CHECKS
from qtsmtp.server.anvil import LocalCounts
from qtsmtp.server.exits import CompiledExit, ExitChain
from qtsmtp.server.handler import RelayHandler
from qtsmtp.server.protocol import RelaySession, RelaySMTP, SessionRegistry

REJECTED, CLIENT = "10.9.9.9", "10.1.1.1"

ORDER = ["reject list", "sessions of this job", "sessions of this client", "DNS blocklists",
         "exit programs"]

# (the first check that refuses, the reply, what the job log says about it)
ROWS = [
    ("reject list", "554 5.7.1 Access denied", "TCP3050"),
    ("sessions of this job", "421 4.3.2 Too many sessions, try again later", "TCP3064"),
    ("sessions of this client",
     "421 4.7.0 Too many sessions from your address, try again later", "TCP6039"),
    ("DNS blocklists",
     f"554 5.7.1 Service unavailable; client [{CLIENT}] blocked using bl.example", "TCP6037"),
    (None, None, "TCP3051"),           # every check passes: greeted
]


class Log:
    def __init__(self):
        self.sent: list[tuple] = []

    def send(self, message_id: str, *args) -> str:
        self.sent.append((message_id, *args))
        return message_id


class Blocklists:
    def __init__(self, listed: bool):
        self.listed = listed
        self.asked: list[str] = []

    async def check(self, client: str):
        self.asked.append(client)
        return ("bl.example" if self.listed else None), []


class ContinuingProgram:
    async def call(self, event, timeout):
        return None


class ExitSource:
    def __init__(self):
        registration = ExitRegistration("QIBM_QTMS_SMTP_EXIT", "SMTP0100", 1, "a:program",
                                        1000, "*CONTINUE", "")
        # A chain of one program that says continue at CONNECT.
        self.current = ExitChain([CompiledExit(registration, ContinuingProgram())])
        self.held = 0

    def hold(self):
        self.held += 1
        return self.current


class Connection:
    """What a check and RelaySMTP.admit use of a SecureSMTP, set up so that every check
    from ``first`` on would refuse."""

    def __init__(self, loop, first: str | None):
        trips = set(ORDER[ORDER.index(first):]) if first else set()
        self.log = Log()
        policy = RelayPolicy.from_entries(
            "*LIST", {"*REJECT": [entries.ip4_entry(lt.LIST_TYPES["*REJECT"], REJECTED)]})
        compiled = types.SimpleNamespace(policy=policy, attributes={}, system_name="relay.test")
        self.event_handler = RelayHandler(types.SimpleNamespace(current=compiled), None,
                                          self.log, "000001")
        self.session = RelaySession(loop)
        client = REJECTED if "reject list" in trips else CLIENT
        self.session.peer = (client, 40000)
        self.registry = SessionRegistry()
        self.max_sessions = 3
        for n in range(4 if "sessions of this job" in trips else 1):
            self.registry.add(object())
        clients = LocalCounts()
        for _ in range(2 if "sessions of this client" in trips else 0):
            clients.connected(client)            # two sessions of it already
        self.blocklists = Blocklists(listed="DNS blocklists" in trips)
        self.security = types.SimpleNamespace(clients=clients, exits=ExitSource(),
                                              own_addresses=frozenset(),
                                              blocklists=lambda zones: self.blocklists)
        self.limits = {"MAXCLTEMM": 2, "MAXCLTRATE": 100, "RBLSVR": ["bl.example"]}
        self.connection_checks = CONNECTION_CHECKS
        self.proxied = False
        self.pushed: list[str] = []
        self.transport = types.SimpleNamespace(closed=False)
        self.transport.close = lambda: setattr(self.transport, "closed", True)

    async def push(self, status: str) -> None:
        self.pushed.append(status)

    def _reset_timeout(self, duration=None) -> None:
        pass


def test_the_checks_run_cheap_and_local_first() -> None:
    assert [entry.name for entry in CONNECTION_CHECKS] == ORDER


@pytest.mark.parametrize("first, reply, logged", ROWS, ids=[r[0] or "greeted" for r in ROWS])
def test_the_first_refusal_is_the_reply_and_nothing_after_it_runs(first, reply, logged) -> None:
    async def run():
        connection = Connection(asyncio.get_running_loop(), first)
        admitted = await RelaySMTP.admit(connection)
        return connection, admitted

    connection, admitted = asyncio.run(run())
    ran = ORDER[:ORDER.index(first) + 1] if first else ORDER
    session, security = connection.session, connection.security
    assert admitted is (first is None) and session.started is (first is None)
    assert connection.pushed == ([reply] if reply else [])
    assert connection.transport.closed is (first is not None)
    assert [sent[0] for sent in connection.log.sent] == ([logged] if logged else [])
    # The reject list ran for every connection, and the session keeps its policy.
    assert session.compiled is connection.event_handler.source.current
    # What the later checks do (count the client, ask DNS, hold the exits) happened
    # exactly when they ran.
    # (A client the per-client check refuses is counted too: connection_lost gives
    # back what session.counted names.)
    assert (session.counted == CLIENT) is ("sessions of this client" in ran)
    assert connection.blocklists.asked == ([CLIENT] if "DNS blocklists" in ran else [])
    assert security.exits.held == (1 if "exit programs" in ran else 0)
    assert (session.exits is not None) is ("exit programs" in ran)
