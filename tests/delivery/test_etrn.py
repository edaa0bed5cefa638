"""ETRN (RFC 1985) under ETRNSVR and the *ETRNSVR list: a listed client asks, over SMTP,
for a node's deferred mail to be run now, and the real client job delivers it to a
loopback hub long before its next retry."""

from __future__ import annotations

import smtplib

from aiosmtpd.smtp import SMTP
from sinks import Sink
from support import eventually
from support.server import Server


def _etrn(server, source: str, helo: str, node: str) -> tuple[int, bytes]:
    client = smtplib.SMTP("127.0.0.1", server.port, source_address=(source, 0), timeout=30)
    try:
        client.ehlo(helo)
        return client.docmd("ETRN", node)
    finally:
        client.quit()


def _offers_etrn(server) -> bool:
    client = server.smtp("127.0.0.9")
    try:
        return client.has_extn("etrn")
    finally:
        client.quit()


def test_a_listed_client_runs_its_nodes_queue_now(tmp_path, sinks):
    # Schedule minutes are real minutes: the retry after the first failure is 30
    # minutes away, so only ETRN can bring the mail now.
    server = Server.on_new_root(tmp_path / "root", "SYSNAME('sys.test') RTYMIN(3 30)",
                                env={"QTSMTP_DNS": "off"})
    try:
        hub = sinks(lambda address, attempt: "451 4.3.0 not now" if attempt == 1 else None)
        server.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "ETRNSVR(*YES)")
        server.run("addsmtple", "*ETRNSVR", "INTNETADR('127.0.0.5')")
        listed = server.run("addsmtple", "*ETRNSVR", "HOSTNAME('branch.test')")
        assert "TCP2730" not in listed.stderr
        for rcpt in ("u@mail.branch.test", "v@other.test"):
            server.queue_message("joe@client.test", [rcpt], b"Subject: t\r\n\r\nx\r\n")
        server.start("SVRJOBS(1)")
        eventually(lambda: hub.attempts.get("u@mail.branch.test") == 1
                   and hub.attempts.get("v@other.test") == 1, "the first attempts")
        server.joblog_shows("TCP5011", "QTSMTPCLTD")
        assert _offers_etrn(server)
        # Not listed, and a host entry only for its own node.
        assert _etrn(server, "127.0.0.9", "client.test", "branch.test")[0] == 459
        assert _etrn(server, "127.0.0.9", "branch.test", "other.test")[0] == 459
        assert _etrn(server, "127.0.0.9", "branch.test", "#queue")[0] == 501
        code, text = _etrn(server, "127.0.0.9", "branch.test", "@branch.test")
        assert (code, text) == (253, b"2.0.0 OK, 1 pending messages for node @branch.test started")
        eventually(lambda: hub.recipients() == ["u@mail.branch.test"], "the node's mail run now")
        assert hub.attempts["v@other.test"] == 1         # another node's mail still waits
        # An address entry may ask for any node.
        assert _etrn(server, "127.0.0.5", "anything.test", "other.test")[0] == 253
        eventually(lambda: "v@other.test" in hub.recipients(), "the other node's mail")
        assert _etrn(server, "127.0.0.5", "anything.test", "other.test")[0] == 251
        server.joblog_shows("TCP2742")
        server.joblog_shows("TCP2743")
        # Each ETRN reads the queue: a session may send ten, as it may send twenty VRFY.
        client = smtplib.SMTP("127.0.0.1", server.port, source_address=("127.0.0.5", 0),
                              timeout=30)
        try:
            client.ehlo("anything.test")
            assert {client.docmd("ETRN", "other.test")[0] for _ in range(10)} == {251}
            assert client.docmd("ETRN", "other.test")[0] == 421
        finally:
            client.close()
        # ETRNSVR(*NO): neither offered nor taken.
        server.run("chgsmtpa", "ETRNSVR(*NO)")
        assert not _offers_etrn(server)
        assert _etrn(server, "127.0.0.5", "anything.test", "other.test")[0] == 502
    finally:
        assert not server.shut_down()


class _EtrnHub(Sink):
    """A loopback hub that takes ETRN and records each node asked for."""

    def __init__(self):
        super().__init__()
        self.asked: list[str] = []
        hub = self

        class EtrnSMTP(SMTP):
            async def smtp_ETRN(self, arg: str) -> None:
                hub.asked.append(arg)
                await self.push(f"250 OK, queuing for node {arg} started")

        self.controller.factory = lambda: EtrnSMTP(self.controller.handler)


def test_etrnclt_asks_the_hub_for_this_systems_mail_at_start(droot):
    hub = _EtrnHub().start()
    try:
        droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "ALIASDMN((1 'branch.test'))")
        droot.start("SVRJOBS(1)")          # ETRNCLT(*NO), as shipped: nothing asked
        droot.joblog_shows("TCP3040", "QTSMTPCLTD")
        droot.end()
        droot.run("chgsmtpa", "ETRNCLT(*YES)")
        droot.start("SVRJOBS(1)")
        droot.joblog_shows("TCP2744 ETRN branch.test to mail hub", "QTSMTPCLTD")
        assert hub.asked == ["sys.test", "branch.test"]
        assert "250 OK, queuing for node sys.test started" in droot.joblog_text("QTSMTPCLTD")
    finally:
        hub.stop()
