"""SMTPUTF8 (RFC 6531) with smtplib: internationalised local parts and domains kept intact
through the queue, a local Maildir and a next hop that offers SMTPUTF8; a bounce (5.6.7)
when the next hop does not; refusals when the client does not ask for it."""

from __future__ import annotations

import email
import email.policy
import json
import os
from email.message import EmailMessage

from support import eventually

SENDER = "josé@sys.test"
LOCAL = "用户@sys.test"
REMOTE = "bøb@bücher.example"
USERS = [("JOSE", "josé"), ("YONGHU", "用户")]     # IBM i profiles, internationalised aliases


def _message(to: str) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTPUTF8)
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = "Grüße aus Zürich"
    message.set_content("Ünïcödé body\n.leading dot\n")
    return message


def test_internationalised_addresses_reach_a_local_maildir_intact(new_server):
    server = new_server(users=USERS)
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert client.has_extn("smtputf8")
        assert not client.send_message(_message(LOCAL))      # smtplib adds SMTPUTF8 itself
    finally:
        client.quit()
    box = server.root / "mail" / "yonghu" / "new"          # the profile's mailbox
    eventually(lambda: box.exists() and any(box.iterdir()), "delivered to 用户")
    raw = next(box.iterdir()).read_bytes()
    assert raw.startswith(f"Return-Path: <{SENDER}>\nDelivered-To: {LOCAL}\n".encode())
    assert b"with UTF8SMTP id" in raw
    delivered = email.message_from_bytes(raw, policy=email.policy.default)
    assert delivered["Subject"] == "Grüße aus Zürich" and delivered["To"] == LOCAL
    assert "..leading" not in delivered.get_content() and ".leading dot" in delivered.get_content()


def test_relayed_with_smtputf8_to_a_hop_that_offers_it(new_server, sinks):
    hub = sinks(smtputf8=True)
    server = new_server(f"FWDHUBSVR('{hub.address}')")
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    # Held until its envelope is read: relayed at once, the message could be gone from
    # the queue first, and a look at an empty queue checks nothing.
    lock = server.hold_delivery()
    try:
        server.start("SVRJOBS(1)")
        client = server.smtp()
        try:
            assert not client.send_message(_message(REMOTE))
        finally:
            client.quit()
        (queued,) = [json.loads(m.split(b"\n", 1)[0][9:]) for m in server.stored_messages()
                     if m.startswith(b"QTSMTPQ1 ")]
        assert queued["smtputf8"] and queued["recipients"] == [REMOTE], queued
    finally:
        os.close(lock)
    eventually(lambda: len(hub.messages) == 1, "relayed with SMTPUTF8")
    (relayed,) = hub.messages
    assert relayed.mail_from == SENDER and relayed.rcpt_tos == [REMOTE]
    assert relayed.smtp_utf8
    assert "Grüße aus Zürich".encode() in relayed.original_content


def test_a_hop_without_smtputf8_gets_nothing_and_the_sender_a_bounce(new_server, sinks):
    hub = sinks()                                  # no SMTPUTF8
    server = new_server(f"FWDHUBSVR('{hub.address}')", users=USERS)
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert not client.send_message(_message(REMOTE))
        # An ASCII message sent with SMTPUTF8 needs nothing of it: it goes without.
        assert not client.sendmail("ann@sys.test", ["far@remote.test"],
                                   b"Subject: plain\r\n\r\nascii\r\n", mail_options=["SMTPUTF8"])
    finally:
        client.quit()
    box = server.root / "mail" / "jose" / "new"
    eventually(lambda: box.exists() and any(box.iterdir()), "bounce to josé")
    report = email.message_from_bytes(next(box.iterdir()).read_bytes(), policy=email.policy.default)
    assert report.get_content_type() == "multipart/report"
    status = report.get_payload()[1].as_string()
    assert "Status: 5.6.7" in status and "Action: failed" in status
    assert "Final-Recipient: utf-8; b\\x{F8}b@b\\x{FC}cher.example" in status
    eventually(lambda: len(hub.messages) == 1, "the ASCII message relayed")
    assert hub.messages[0].rcpt_tos == ["far@remote.test"] and not hub.messages[0].smtp_utf8


def test_non_ascii_without_smtputf8_and_smtputf8_not_offered_are_refused(new_server):
    server = new_server(users=USERS)
    server.start("SVRJOBS(1)")
    client = server.smtp()
    client.command_encoding = "utf-8"          # send the UTF-8 bytes, asked for or not
    try:
        code, text = client.docmd(f"MAIL FROM:<{SENDER}>")
        assert code == 553 and text.startswith(b"5.6.7"), text
        assert client.docmd("MAIL FROM:<a@client.test> SMTPUTF8")[0] == 250
        code, text = client.docmd(f"RCPT TO:<{LOCAL}>")
        assert code == 250, text
        assert client.rset()[0] == 250
        client.command_encoding = "utf-8"      # rset() sets it back to ASCII
        assert client.docmd("MAIL FROM:<a@client.test>")[0] == 250
        code, text = client.docmd(f"RCPT TO:<{LOCAL}>")
        assert code == 553 and text.startswith(b"5.6.7"), text
    finally:
        client.quit()
    server.run("chgsmtpa", "ESMTPEXT(*PIPELINING *ENHSTSCODE)")
    client = server.smtp()
    try:
        assert not client.has_extn("smtputf8")
        code, text = client.docmd("MAIL FROM:<a@client.test> SMTPUTF8")
        assert (code, text[:6]) == (555, b"5.5.4 "), text
    finally:
        client.quit()
