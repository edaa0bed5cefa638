"""Delivery attributes whose effect no other test shows (qtsmtp.config.attrstatus names a
test for every attribute that acts): the real client job and loopback sinks."""

from __future__ import annotations

import asyncio

from sinks import Sink, _Handler
from support import eventually
from support.server import Server


def test_retries_by_hour_and_by_day_follow_the_retries_by_minute(tmp_path, sinks):
    # One schedule minute lasts 1 ms: an hour 60 ms, a day 1.44 s.
    server = Server.on_new_root(tmp_path / "root", "SYSNAME('sys.test') RTYMIN(0 0)",
                                env={"QTSMTP_MINUTE_SECONDS": "0.001", "QTSMTP_DNS": "off"})
    try:
        hub = sinks(lambda address, attempt: "451 4.3.0 busy" if attempt <= 2 else None)
        # DLYNFY(*NONE): at this time scale its delay notices (240 minutes: 0.24 s) would
        # go to the hub as well.
        server.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "RTYHOUR(1 1) RTYDAY(1 1)",
                   "DLYNFY(*NONE)")
        server.queue_message("joe@client.test", ["late@remote.test"], b"Subject: t\r\n\r\nx\r\n")
        server.start("SVRJOBS(1)")
        # No retry by minute; one by hour, then one by day: delivered at the third attempt.
        eventually(lambda: hub.recipients() == ["late@remote.test"], "delivered on the day retry")
        assert hub.attempts["late@remote.test"] == 3
        assert server.joblog_text("QTSMTPCLTD").count("TCP5011") == 2
        # Without the retry by day the schedule is spent after the hourly one.
        server.run("chgsmtpa", "RTYDAY(0 0)")
        server.queue_message("joe@client.test", ["later@remote.test"], b"Subject: t\r\n\r\nx\r\n")
        server.joblog_shows("TCP5013", "QTSMTPCLTD")
        assert "later@remote.test" not in hub.recipients()
        assert hub.attempts["later@remote.test"] == 2
    finally:
        assert not server.shut_down()


class _SlowHandler(_Handler):
    """Counts the DATA transactions in progress at once; each lasts a while."""

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        with sink.lock:
            sink.active += 1
            sink.most_active = max(sink.most_active, sink.active)
        await asyncio.sleep(0.3)
        with sink.lock:
            sink.active -= 1
        return await super().handle_DATA(server, session, envelope)


def test_maxoutemm_limits_the_deliveries_made_at_once(droot):
    hub = Sink()
    hub.active = hub.most_active = 0
    hub.controller.handler = _SlowHandler(hub)
    hub.start()
    try:
        droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "MAXOUTEMM(1)")
        wanted = [f"r{n}@remote{n}.test" for n in range(4)]
        for rcpt in wanted:
            droot.queue_message("joe@client.test", [rcpt], b"Subject: t\r\n\r\nx\r\n")
        droot.start("SVRJOBS(1)")
        eventually(lambda: sorted(hub.recipients()) == sorted(wanted), "all four delivered")
        assert hub.most_active == 1
    finally:
        hub.stop()


def _messages_in(directory) -> list:
    return sorted(directory.iterdir()) if directory.is_dir() else []


def _maildirs(root) -> list[str]:
    mail = root / "mail"
    return sorted(p.name for p in mail.iterdir()) if mail.exists() else []


def test_queued_mail_for_an_unknown_local_user_bounces_and_makes_no_mailbox(droot):
    # What the server refuses at RCPT can still come by the submission queue, or be
    # queued for a user removed since: the client job refuses it too.
    droot.queue_message("joe@sys.test", ["nobody@sys.test", "Bob@sys.test"],
                        b"Subject: t\r\n\r\nx\r\n")
    droot.start("SVRJOBS(1)")
    droot.joblog_shows("TCP5014", "QTSMTPCLTD")           # the notification to joe
    log = droot.joblog_text("QTSMTPCLTD")
    assert "nobody@sys.test failed: 550 5.1.1 no user nobody in the SMTP directory" in log
    eventually(lambda: _maildirs(droot.root) == ["bob", "joe"], "bob's mail and joe's report")


def test_coldstart_yes_discards_the_queue_at_start_and_says_so(droot, sinks):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "COLDSTART(*YES)")
    for n in range(3):
        droot.queue_message("joe@sys.test", [f"r{n}@remote.test"], b"Subject: old\r\n\r\nx\r\n")
    droot.start("SVRJOBS(1)")
    droot.joblog_shows("TCP2740 COLDSTART(*YES): 3 messages waiting in", "QTSMTPSRVD")
    assert not droot.queued()
    # Mail that comes after the start is delivered as ever.
    droot.queue_message("joe@sys.test", ["new@remote.test"], b"Subject: new\r\n\r\nx\r\n")
    eventually(lambda: hub.recipients() == ["new@remote.test"], "the new mail delivered")
    droot.end()
    # COLDSTART(*NO), as shipped: what waits at start is delivered.
    droot.run("chgsmtpa", "COLDSTART(*NO)")
    droot.queue_message("joe@sys.test", ["kept@remote.test"], b"Subject: kept\r\n\r\nx\r\n")
    droot.start("SVRJOBS(1)")
    eventually(lambda: "kept@remote.test" in hub.recipients(), "waiting mail delivered")
    assert not [r for r in hub.recipients() if r.startswith("r")]


def test_keepuntil_returns_a_message_kept_longer_than_it_allows(tmp_path, sinks):
    # One schedule minute lasts 1 ms: a day lasts 1.44 s. RTYMIN(3 1) RTYHOUR(99 1) would
    # retry for 6 s by the schedule itself (99 hours of 60 ms), however fast each attempt
    # is, so KEEPUNTIL(1) ends the stay before the retries are spent. (RTYMIN(99 1) alone
    # was spent in under 1.44 s on a quiet machine: TCP5013, not TCP2741.)
    server = Server.on_new_root(tmp_path / "root",
                                "SYSNAME('sys.test') RTYMIN(3 1) RTYHOUR(99 1)",
                                env={"QTSMTP_MINUTE_SECONDS": "0.001", "QTSMTP_DNS": "off"})
    try:
        server.run("addusrsmtp", "JOE")
        hub = sinks(lambda address, attempt: "451 4.3.0 busy")
        # DLYNFY(*NONE): at this time scale a delay notice (240 minutes: 0.24 s) would
        # reach joe first.
        server.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "KEEPUNTIL(1)", "DLYNFY(*NONE)")
        server.queue_message("joe@sys.test", ["slow@remote.test"], b"Subject: t\r\n\r\nx\r\n")
        server.start("SVRJOBS(1)")
        server.joblog_shows("TCP2741", "QTSMTPCLTD")
        log = server.joblog_text("QTSMTPCLTD")
        assert "slow@remote.test returned: kept the most days KEEPUNTIL allows (1)" in log
        assert "TCP5013" not in log                    # not for the spent retries
        assert 1 < hub.attempts["slow@remote.test"] < 99
        # The mailbox directory is made before its new/ and before the report is renamed
        # into new/: wait for the file itself, not for mail/joe.
        eventually(lambda: _maildirs(server.root) == ["joe"]
                   and _messages_in(server.root / "mail" / "joe" / "new"), "the report to joe")
        report = _messages_in(server.root / "mail" / "joe" / "new")[0].read_bytes()
        assert b"Action: failed" in report, report
        assert b"Status: 4.4.7" in report, report      # RFC 3463: delivery time expired
    finally:
        assert not server.shut_down()
