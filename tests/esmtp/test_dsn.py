"""Delivery status notifications over real SMTP and the real client job: RFC 3461's
NOTIFY, RET, ENVID and ORCPT kept in the queue and passed on, RFC 3464 reports for
failed, delayed, delivered and relayed recipients, NFYDLVRY and DLYNFY acting, and no
report ever sent to a sender the client could not have been trusted for (the backscatter
attack of issue 16)."""

from __future__ import annotations

import email
import email.policy
import json
import os
import smtplib

from support import eventually


def _reports(root, box: str) -> list:
    new = root / "mail" / box / "new"
    out = []
    for path in sorted(new.iterdir()) if new.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message.get_content_type() == "multipart/report":
            out.append(message)
    return out


def _status(report) -> str:
    return report.get_payload()[1].as_string()


def _envelope(server, queue_id: str) -> dict:
    first = server.queue_file(queue_id).split(b"\n", 1)[0]
    return json.loads(first[len(b"QTSMTPQ1 "):])


def _send(server, sender, rcpts, *, mail_options=(), rcpt_options=None, source="127.0.0.2",
          body=b"From: a@client.test\r\nSubject: dsn test\r\n\r\nbody\r\n") -> str:
    client = server.smtp(source)
    try:
        code, text = client.mail(sender, list(mail_options))
        assert code == 250, text
        for rcpt in rcpts:
            code, text = client.rcpt(rcpt, list((rcpt_options or {}).get(rcpt, ())))
            assert code == 250, (rcpt, text)
        code, text = client.data(body)
        assert code == 250, text
        return text.decode().rsplit(" ", 1)[1]
    finally:
        client.quit()


def test_dsn_parameters_are_checked_kept_and_passed_to_a_hop_that_offers_dsn(new_server, sinks):
    hub = sinks(extra=["DSN"])
    server = new_server(f"FWDHUBSVR('{hub.address}')")
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    lock = server.hold_delivery()       # the queued envelope is read before it is relayed
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert client.has_extn("dsn")
        assert client.mail("a@client.test", ["RET=FULL", "RET=HDRS"])[0] == 501
        assert client.mail("a@client.test", ["RET=MAYBE"])[0] == 501
        assert client.mail("a@client.test", ["ENVID=bad=xtext"])[0] == 501
        assert client.mail("a@client.test", ["RET=HDRS", "ENVID=Env+2B1"])[0] == 250
        for bad in (["NOTIFY=NEVER,SUCCESS"], ["NOTIFY=SOMETIMES"], ["ORCPT=no-semicolon"],
                    ["NOTIFY=SUCCESS", "NOTIFY=FAILURE"]):
            code, text = client.rcpt("far@remote.test", bad)
            assert (code, text[:6]) == (501, b"5.5.4 "), (bad, text)
        assert client.rcpt("far@remote.test", ["NOTIFY=SUCCESS,FAILURE",
                                               "ORCPT=rfc822;Far+2BX@Remote.test"])[0] == 250
    finally:
        client.quit()
    try:
        queue_id = _send(server, "a@client.test", ["far@remote.test"],
                         mail_options=["RET=HDRS", "ENVID=Env+2B1"],
                         rcpt_options={"far@remote.test": ["NOTIFY=SUCCESS,FAILURE",
                                                           "ORCPT=rfc822;Far+2BX@Remote.test"]})
        kept = _envelope(server, queue_id)
    finally:
        os.close(lock)
    assert (kept["ret"], kept["envid"]) == ("HDRS", "Env+1")
    assert kept["dsn"] == {"far@remote.test": {"notify": ["SUCCESS", "FAILURE"],
                                               "orcpt": "rfc822;Far+X@Remote.test"}}
    eventually(lambda: len(hub.messages) == 1, "relayed to the hub")
    assert sorted(hub.raw_params) == ["ENVID=Env+2B1", "NOTIFY=SUCCESS,FAILURE",
                                      "ORCPT=rfc822;Far+2BX@Remote.test", "RET=HDRS"]


def test_delivered_and_relayed_success_reports(new_server, sinks):
    hub = sinks()                                   # offers no DSN
    server = new_server(f"FWDHUBSVR('{hub.address}')", users=["ALICE"])
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    success = ["NOTIFY=SUCCESS", "ORCPT=rfc822;Postmaster@SYS.test"]
    _send(server, "alice@sys.test", ["far@remote.test", "postmaster@sys.test", "other@remote.test"],
          mail_options=["ENVID=E42"],
          rcpt_options={"far@remote.test": ["NOTIFY=SUCCESS"], "postmaster@sys.test": success})
    eventually(lambda: len(_reports(server.root, "alice")) == 1, "a success report")
    (report,) = _reports(server.root, "alice")
    assert report["Subject"] == "Successful Mail Delivery Report"
    status = _status(report)
    assert "Original-Envelope-Id: E42" in status
    blocks = {block.split("Action: ")[1].split("\n")[0]: block
              for block in status.split("\n\n") if "Action: " in block}
    relayed, delivered = blocks["relayed"], blocks["delivered"]
    assert "Action: relayed" in relayed and "Final-Recipient: rfc822; far@remote.test" in relayed
    assert "Remote-MTA: dns; 127.0.0.1" in relayed
    assert "Action: delivered" in delivered
    assert "Original-Recipient: rfc822; Postmaster@SYS.test" in delivered
    assert "Final-Recipient: rfc822; postmaster@sys.test" in delivered
    assert "other@remote.test" not in status
    assert len(hub.messages) == 1 and len(_maildir_files(server.root, "postmaster")) == 1


def _maildir_files(root, box: str) -> list:
    new = root / "mail" / box / "new"
    return sorted(new.iterdir()) if new.exists() else []


def test_failure_reports_follow_notify_and_ret(new_server, sinks):
    hub = sinks(reply=lambda address: "550 5.1.1 no such user here" if address.startswith("bad") else None)
    server = new_server(f"FWDHUBSVR('{hub.address}')", users=["ALICE"])
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    body = b"From: alice@sys.test\r\nSubject: returned whole\r\n\r\nthe body line\r\n"
    never = _send(server, "alice@sys.test", ["bad1@remote.test"],
                  rcpt_options={"bad1@remote.test": ["NOTIFY=NEVER"]})
    _send(server, "alice@sys.test", ["bad2@remote.test"], body=body)
    _send(server, "alice@sys.test", ["bad3@remote.test"], mail_options=["RET=FULL"], body=body)
    eventually(lambda: len(_reports(server.root, "alice")) == 2, "two failure reports")
    server.joblog_shows(f"TCP5053 Message {never} to bad1@remote.test: failed, no notification "
                        "asked for (NOTIFY=NEVER)", "QTSMTPCLTD")
    parts = {}
    for report in _reports(server.root, "alice"):
        status = _status(report)
        assert "Action: failed" in status and "Status: 5.1.1" in status
        assert "bad1@" not in status
        parts["full" if "bad3@" in status else "headers"] = report.get_payload()[2]
    assert parts["headers"].get_content_type() == "text/rfc822-headers"
    assert "Subject: returned whole" in parts["headers"].get_content()
    assert "the body line" not in parts["headers"].as_string()
    assert parts["full"].get_content_type() == "message/rfc822"
    assert "the body line" in parts["full"].as_string()


def test_delay_notice_once_after_dlynfy(new_server, sinks):
    hub = sinks(reply=lambda address: "451 4.2.1 mailbox busy")
    # One schedule minute lasts 50 ms here: DLYNFY(1) is due from the second attempt on.
    server = new_server(f"FWDHUBSVR('{hub.address}') RTYMIN(4 1) DLYNFY(1)", users=["ALICE"])
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    _send(server, "alice@sys.test", ["slow@remote.test", "quiet@remote.test"],
          rcpt_options={"quiet@remote.test": ["NOTIFY=FAILURE"]})
    eventually(lambda: len(_reports(server.root, "alice")) == 2, "a delay notice, then a failure",
               limit=60)
    delayed, failed = sorted(_reports(server.root, "alice"), key=lambda r: "Action: failed" in _status(r))
    assert delayed["Subject"] == "Delayed Mail (still being retried)"
    assert "Action: delayed" in _status(delayed) and "Status: 4.2.1" in _status(delayed)
    assert "slow@remote.test" in _status(delayed) and "quiet@remote.test" not in _status(delayed)
    assert "Action: failed" in _status(failed)
    assert "slow@remote.test" in _status(failed) and "quiet@remote.test" in _status(failed)
    assert len(hub_attempts := [line for line in server.joblog_text("QTSMTPCLTD").splitlines()
                                if "TCP5011" in line and "slow@" in line]) == 4, hub_attempts


def test_nfydlvry_responsible_person_and_no_sender_reports(new_server, sinks):
    hub = sinks(reply=lambda address: "550 5.7.1 refused")
    server = new_server(f"FWDHUBSVR('{hub.address}') NFYDLVRY(QSECOFR *NO)",
                        users=["ALICE", "QSECOFR"])
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    assert not client.has_extn("dsn")          # no report to senders: DSN is not offered
    client.quit()
    queue_id = _send(server, "alice@sys.test", ["far@remote.test"])
    eventually(lambda: len(_reports(server.root, "qsecofr")) == 1, "the responsible person's copy")
    assert "Final-Recipient: rfc822; far@remote.test" in _status(_reports(server.root, "qsecofr")[0])
    server.joblog_shows(f"TCP5051 Message {queue_id}: failed notification not sent to "
                        "<alice@sys.test>", "QTSMTPCLTD")
    assert not _reports(server.root, "alice")
    server.run("chgsmtpa", "NFYDLVRY(*NONE *YES)")
    client = server.smtp()
    assert client.has_extn("dsn")
    client.quit()


def test_no_report_to_a_sender_the_client_was_not_trusted_for(new_server, sinks):
    """Issue 16's attack: a client denied relay names a victim as sender and a local
    recipient whose delivery then fails. The victim gets nothing; the same mail from a
    client allowed to relay gets its report (headers only)."""
    hub = sinks()
    server = new_server(f"FWDHUBSVR('{hub.address}') RTYMIN(1 1) NFYDLVRY(QSECOFR *YES)",
                        users=["QSECOFR"])
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    (server.root / "mail").mkdir(exist_ok=True)
    (server.root / "mail" / "postmaster").write_text("not a Maildir: local delivery fails\n")
    lock = server.hold_delivery()      # the queued envelopes are read before delivery fails
    try:
        server.start("SVRJOBS(1)")
        attack = b"From: victim@far.example\r\nSubject: BUY CHEAP PILLS\r\n\r\nspam text\r\n"
        client = server.smtp("127.0.0.3")
        try:
            assert client.mail("victim@far.example")[0] == 250
            assert client.rcpt("someone@far.example")[0] == 550      # denied relay
            assert client.rcpt("postmaster@sys.test")[0] == 250       # local: accepted
            code, text = client.data(attack)
            assert code == 250, text
            untrusted = text.decode().rsplit(" ", 1)[1]
        finally:
            client.quit()
        assert _envelope(server, untrusted)["trusted"] is False
        trusted = _send(server, "sender@far.example", ["postmaster@sys.test"], body=attack)
        assert _envelope(server, trusted)["trusted"] is True
    finally:
        os.close(lock)
    eventually(lambda: len(hub.messages) == 1, "the trusted sender's report")
    server.joblog_shows(f"TCP5050 Message {untrusted}: failed notification not sent to "
                        "<victim@far.example>: client 127.0.0.3 was not trusted", "QTSMTPCLTD")
    eventually(lambda: len(_reports(server.root, "qsecofr")) == 2, "copies for the responsible person")
    (report,) = hub.messages
    assert report.rcpt_tos == ["sender@far.example"] and report.mail_from == "<>"
    text = report.original_content.decode()
    assert "Subject: BUY CHEAP PILLS" in text and "spam text" not in text   # headers only
    assert not any("victim@far.example" in m.rcpt_tos for m in hub.messages)


def test_dsn_not_offered_without_ehlo(new_server):
    server = new_server()
    server.start("SVRJOBS(1)")
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
    try:
        client.helo("client.test")
        assert client.docmd("MAIL FROM:<a@client.test> RET=HDRS")[0] == 501
    finally:
        client.quit()
