"""QTSMTPCLTD end to end: mail sent to the running server is delivered by the client job
to a loopback hub or router, to local Maildirs, retried and bounced (RFC 3464)."""

from __future__ import annotations

import os
import signal

import email

from qtsmtp.jobs import procstat
from support import eventually


def _send(server, sender, recipients, subject="test"):
    client = server.smtp()
    try:
        body = f"From: {sender}\r\nSubject: {subject}\r\n\r\nHello.\r\n"
        refused = client.sendmail(sender, recipients, body)
        assert not refused
    finally:
        client.quit()


def _maildir(root, box):
    new = root / "mail" / box / "new"
    return sorted(new.iterdir()) if new.exists() else []


def _queue_empty(server):
    q = server.root / "queue"
    return not any((q / d).exists() and any(p for p in (q / d).iterdir() if not p.name.startswith("."))
                   for d in ("incoming", "active", "deferred", "maildrop"))


def test_router_hub_and_local_maildir(droot, sinks):
    router, hub = sinks(), sinks()
    droot.run("chgsmtpa", f"MAILROUTER('{router.address}')", "FIREWALL(*YES)")
    droot.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    droot.start("SVRJOBS(1)")
    _send(droot, "joe@client.test", ["far@remote.test", "bob@sys.test"])
    eventually(lambda: router.recipients() == ["far@remote.test"], "router got the mail")
    eventually(lambda: len(_maildir(droot.root, "bob")) == 1, "local Maildir delivery")
    text = _maildir(droot.root, "bob")[0].read_bytes()
    assert text.startswith(b"Return-Path: <joe@client.test>\nDelivered-To: bob@sys.test\n")
    assert b"Received:" in text and b"Hello." in text
    # The hub, once set, takes all non-local mail (the client job reads it on its next run).
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    _send(droot, "joe@client.test", ["other@remote.test"])
    eventually(lambda: hub.recipients() == ["other@remote.test"], "hub got the mail")
    assert router.recipients() == ["far@remote.test"]
    eventually(lambda: _queue_empty(droot), "queue empty")


def test_451_then_250_is_retried_on_the_compressed_schedule(droot, sinks):
    hub = sinks(lambda address, attempt: "451 4.3.0 busy, try later" if attempt == 1 else None)
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "RTYMIN(3 2)")
    droot.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    droot.start("SVRJOBS(1)")
    _send(droot, "joe@sys.test", ["later@remote.test"])
    # At least one: the retry may come before a look catches the count at exactly one.
    eventually(lambda: hub.attempts.get("later@remote.test", 0) >= 1, "first attempt")
    eventually(lambda: hub.recipients() == ["later@remote.test"], "delivered on retry")
    assert hub.attempts["later@remote.test"] == 2
    log = droot.joblog_text("QTSMTPCLTD")
    assert "TCP5011" in log and "451 4.3.0 busy" in log
    eventually(lambda: _queue_empty(droot), "queue empty")
    assert not _maildir(droot.root, "joe"), "no bounce for a delivered message"


def _reports(root, box):
    out = []
    for path in _maildir(root, box):
        message = email.message_from_bytes(path.read_bytes())
        if message.get_content_type() == "multipart/report":
            out.append(message)
    return out


def test_550_bounces_with_a_multipart_report_and_mixed_destinations(droot, sinks):
    def reply(address, attempt):
        if address.startswith("bad"):
            return "550 5.1.1 no such user here"
        if address.startswith("slow"):
            return "451 4.2.1 mailbox busy"
        return None
    hub = sinks(reply)
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "RTYMIN(2 1)")
    droot.start("SVRJOBS(1)")
    # One message, four destinations: delivered, local, bounced now, bounced when spent.
    droot.queue_message("joe@sys.test",
                        ["good@remote.test", "ann@sys.test", "bad@remote.test", "slow@remote.test"],
                        b"From: joe@sys.test\r\nSubject: mixed\r\n\r\nbody\r\n")
    droot.run("qtsmtp", "runqueue")       # the client job has the lock: it is only woken
    eventually(lambda: len(_reports(droot.root, "joe")) >= 1, "bounce for the 550")
    assert hub.recipients() == ["good@remote.test"]
    assert len(_maildir(droot.root, "ann")) == 1
    first = [m for m in _reports(droot.root, "joe") if "bad@" in m.get_payload()[1].as_string()][0]
    assert first.get_param("report-type") == "delivery-status"
    parts = first.get_payload()
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status",
                                                      "text/rfc822-headers"]
    status = parts[1].as_string()
    assert "Final-Recipient: rfc822; bad@remote.test" in status
    assert "Action: failed" in status and "Status: 5.1.1" in status
    assert "slow@remote.test" not in status
    # slow@ is retried RTYMIN(2 1) times, then bounced on its own.
    eventually(lambda: len(_reports(droot.root, "joe")) == 2, "bounce when retries are spent")
    assert hub.attempts["slow@remote.test"] == 3
    second = [m for m in _reports(droot.root, "joe") if "slow@" in m.get_payload()[1].as_string()][0]
    assert "Status: 4.2.1" in second.get_payload()[1].as_string()
    eventually(lambda: _queue_empty(droot), "queue empty")


def test_no_bounce_to_the_null_sender(droot, sinks):
    hub = sinks(lambda address, attempt: "550 5.7.1 refused")
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    droot.start("SVRJOBS(1)")
    droot.queue_message("", ["x@remote.test"], b"Subject: dsn\r\n\r\nb\r\n")
    droot.run("qtsmtp", "runqueue")
    eventually(lambda: "TCP5015" in droot.joblog_text("QTSMTPCLTD"), "null sender logged")
    eventually(lambda: _queue_empty(droot), "queue empty")
    assert not (droot.root / "mail").exists()


def test_wrkactjob_measures_deqw_idle_and_run_delivering(droot, sinks):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    droot.start("SVRJOBS(1)")
    pid = droot.job_pids("QTSMTPCLTD")[0]
    eventually(lambda: procstat.status(pid) == "DEQW", "idle client job in DEQW")
    total = 1500
    # Hold the job (IBM's HLD) while the load is queued, so that it all moves after the
    # release, while this test samples.
    os.kill(pid, signal.SIGSTOP)
    try:
        eventually(lambda: procstat.status(pid) == "HLD", "held client job in HLD")
        for n in range(total):
            droot.queue_message("joe@sys.test", [f"r{n}@remote.test"], b"Subject: load\r\n\r\nx\r\n")
    finally:
        os.kill(pid, signal.SIGCONT)
    # Sample only while mail is demonstrably moving (some delivered, many still to go): the
    # job must never look idle (DEQW) then. Which busy status a sample catches (RUN on the
    # CPU or in I/O, SELW waiting on a socket) depends on the moment, so any busy one counts.
    during = []

    def sample():
        delivered = len(hub.messages)
        status = procstat.status(pid)
        if 0 < delivered < total - 100 and len(hub.messages) == delivered:
            during.append(status)
        return delivered >= total
    eventually(sample, "all delivered", limit=300, pause=0.001)
    assert during, "no sample while delivering"
    assert "DEQW" not in during, during
    assert set(during) <= {"RUN", "SELW", "CNDW", "EVTW", "LCKW"}, set(during)
    eventually(lambda: procstat.status(pid) == "DEQW", "idle again")
    report = droot.run("wrkactjob", "*PRINT", "JOB(QTSMTPCLTD)").stdout
    assert report.rstrip().splitlines()[-1].split()[-1] == "DEQW" or "DEQW" in report
    # Connection reuse: far fewer sessions than messages.
    assert hub.connections < total / 10, hub.connections
