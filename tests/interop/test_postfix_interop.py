"""qtsmtp and a real Postfix relaying into each other, both ways, with STARTTLS (the pair
of conftest.py): ASCII, 8-bit, dot lines, SMTPUTF8, a 5 MB attachment, pipelined swaks,
IPv6 ::1, RFC 3461/3464 DSNs for success and failure made by each side and carried by the
other, a 550 at Postfix bounced by qtsmtp. Every test ends by reading Postfix's log: a
warning, improper pipelining, a bare LF or a lost connection fails it."""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import smtplib
import subprocess
from email.message import EmailMessage

import pytest
from support import eventually, tool

EIGHT_BIT = "Grüße, naïve café\n.a line that starts with a dot\n..and two dots\n.\nend\n"


@pytest.fixture(autouse=True)
def postfix_log_is_clean(pair):
    yield
    # What the test made Postfix log: its last lines may lag the test a little (Postfix's
    # processes hand their lines to postlogd, which writes the file): the first test may
    # see qtsmtp's copy of the mail before the line saying Postfix sent it is written.
    eventually(lambda: " status=sent " in pair.postfix.log_text(),
               "a status=sent line: the log is the one Postfix writes")
    bad = pair.postfix.new_bad_lines()
    assert not bad, "Postfix logged:\n" + "\n".join(bad)


def _message(sender: str, to: str, subject: str, body: str = EIGHT_BIT) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTPUTF8)
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body, cte="8bit")
    return message


def _send(port: int, message: EmailMessage, sender: str, recipients: list[str],
          rcpt_options=(), host: str = "127.0.0.1", source: str = "127.0.0.2") -> None:
    with smtplib.SMTP(host, port, source_address=(source, 0), timeout=60) as client:
        client.ehlo("client.test")
        client.starttls()
        client.ehlo("client.test")
        options = ["BODY=8BITMIME"] + (["SMTPUTF8"] if not all(
            a.isascii() for a in [sender, *recipients]) else [])
        refused = client.send_message(message, sender, recipients, mail_options=options,
                                      rcpt_options=list(rcpt_options))
        assert not refused


def _parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def _report_status(report) -> str:
    assert report.get_content_type() == "multipart/report", report.get_content_type()
    return report.get_payload()[1].as_string()


def test_postfix_to_qtsmtp_8bit_and_dot_lines_over_starttls(pair):
    message = _message("carol@post.test", "alice@sys.test", "8-bit from Postfix")
    _send(pair.postfix.port, message, "carol@post.test", ["alice@sys.test"])
    delivered = eventually(lambda: [m for m in pair.maildir("alice") if b"8-bit from Postfix" in m],
                           "delivered by Postfix into alice's Maildir")[0]
    assert b"\r" not in delivered
    assert delivered.endswith(EIGHT_BIT.encode()), delivered[-200:]
    received = delivered.split(b"\n\tby sys.test (qtsmtp) with ", 1)[1].split(b" ")[0]
    assert received == b"ESMTPS", received                  # Postfix used STARTTLS


def test_qtsmtp_to_postfix_over_ipv6_with_starttls(pair):
    message = _message("alice@sys.test", "dave@post.test", "8-bit from qtsmtp")
    _send(pair.qtsmtp.port, message, "alice@sys.test", ["dave@post.test"])
    (kept,) = eventually(lambda: pair.sink.to("dave@post.test"), "relayed through Postfix")
    body = kept.original_content
    assert body.replace(b"\r\n", b"\n").endswith(EIGHT_BIT.encode())
    # Postfix's Received: qtsmtp came from ::1, over TLS.
    assert b"[IPv6:::1]" in body and b"with ESMTPS id" in body
    assert "TLS connection established to ::1" in pair.postfix.log_text() or \
        "Trusted TLS connection" in pair.postfix.log_text() or \
        "Untrusted TLS connection established to" in pair.postfix.log_text()


def test_smtputf8_both_ways(pair):
    inbound = _message("josé@post.test", "用户@sys.test", "SMTPUTF8 from Postfix")
    _send(pair.postfix.port, inbound, "josé@post.test", ["用户@sys.test"])
    delivered = eventually(lambda: [m for m in pair.maildir("yonghu") if b"SMTPUTF8 from" in m],
                           "delivered to 用户")[0]
    assert delivered.startswith("Return-Path: <josé@post.test>\nDelivered-To: 用户@sys.test\n".encode())
    assert b"with UTF8SMTPS id" in delivered
    outbound = _message("ålice@sys.test", "bøb@bücher.far.test", "SMTPUTF8 from qtsmtp")
    _send(pair.qtsmtp.port, outbound, "ålice@sys.test", ["bøb@bücher.far.test"])
    (kept,) = eventually(lambda: pair.sink.to("bøb@bücher.far.test"), "relayed with SMTPUTF8")
    assert kept.mail_from == "ålice@sys.test" and kept.smtp_utf8
    assert b"Subject: SMTPUTF8 from qtsmtp" in kept.original_content


def test_dsn_success_both_ways(pair):
    # qtsmtp -> Postfix -> the sink (no DSN): qtsmtp passes NOTIFY on, Postfix reports
    # "relayed", and its report comes back through qtsmtp into alice's Maildir.
    before = len(pair.maildir("alice"))
    _send(pair.qtsmtp.port, _message("alice@sys.test", "erin@post.test", "success via Postfix"),
          "alice@sys.test", ["erin@post.test"], rcpt_options=["NOTIFY=SUCCESS"])
    eventually(lambda: pair.sink.to("erin@post.test"), "relayed")
    reports = eventually(lambda: [_parsed(m) for m in pair.maildir("alice")[before:]
                                  if b"multipart/report" in m], "Postfix's report to alice")
    status = _report_status(reports[0])
    assert "Reporting-MTA: dns; postfix.interop.test" in status
    assert "Action: relayed" in status and "erin@post.test" in status
    # Postfix -> qtsmtp (DSN offered: Postfix passes NOTIFY on) -> alice's Maildir: qtsmtp
    # reports "delivered", and its report goes back through Postfix to the sink.
    _send(pair.postfix.port, _message("frank@post.test", "alice@sys.test", "success via qtsmtp"),
          "frank@post.test", ["alice@sys.test"], rcpt_options=["NOTIFY=SUCCESS"])
    (report,) = eventually(lambda: pair.sink.to("frank@post.test"), "qtsmtp's report to frank")
    assert report.mail_from == "<>"
    status = _report_status(_parsed(report.original_content))
    assert "Reporting-MTA: dns; sys.test" in status and "Action: delivered" in status
    assert "Original-Recipient: rfc822; alice@sys.test" in status     # Postfix's ORCPT


def test_dsn_failure_both_ways_and_a_550_at_postfix(pair):
    # qtsmtp -> Postfix, which refuses the recipient with 550: qtsmtp's RFC 3464 bounce.
    before = len(pair.maildir("alice"))
    _send(pair.qtsmtp.port, _message("alice@sys.test", "reject@post.test", "to be refused"),
          "alice@sys.test", ["reject@post.test"], rcpt_options=["NOTIFY=FAILURE"])
    # Postfix -> qtsmtp, which does not let 127.0.0.6 relay: Postfix's bounce, delivered
    # through qtsmtp into alice's Maildir.
    _send(pair.postfix.port, _message("alice@sys.test", "gina@deny.test", "to be denied"),
          "alice@sys.test", ["gina@deny.test"], rcpt_options=["NOTIFY=FAILURE"])
    reports = eventually(lambda: len(found := [_parsed(m) for m in pair.maildir("alice")[before:]
                                               if b"multipart/report" in m]) == 2 and found,
                         "both bounces in alice's Maildir")
    by_reporter = {("postfix" if "postfix.interop.test" in _report_status(r) else "qtsmtp"):
                   _report_status(r) for r in reports}
    ours = by_reporter["qtsmtp"]
    assert "Final-Recipient: rfc822; reject@post.test" in ours and "Action: failed" in ours
    assert "Status: 5.1.1" in ours and "no such user here" in ours and "Remote-MTA: dns; ::1" in ours
    theirs = by_reporter["postfix"]
    assert "gina@deny.test" in theirs and "Action: failed" in theirs and "Status: 5.7.1" in theirs


def test_pipelined_swaks_both_ways(pair):
    swaks = tool("swaks", "swaks")
    for port, sender, rcpts in ((pair.qtsmtp.port, "alice@sys.test", ["henry@post.test", "ivy@post.test"]),
                                (pair.postfix.port, "jack@post.test", ["alice@sys.test", "postmaster@sys.test"])):
        result = subprocess.run(
            [swaks, "--server", "127.0.0.1", "--port", str(port), "--pipeline", "--tls",
             "--local-interface", "127.0.0.2", "--from", sender, "--to", ",".join(rcpts),
             "--helo", "client.test", "--header", "Subject: pipelined", "--body", "pipelined\n"],
            capture_output=True, text=True, timeout=120, check=False)
        out = result.stdout
        assert result.returncode == 0, out + result.stderr
        # Pipelined, in TLS ("~>"): MAIL, the RCPTs and DATA leave before any reply.
        mail = out.index(" ~> MAIL FROM:")
        assert out.index(" ~> DATA", mail) < out.index("<~  250", mail), out
        assert "<~  250 2.0.0" in out[out.index(" ~> DATA", mail):], out
    eventually(lambda: pair.sink.to("henry@post.test") and pair.sink.to("ivy@post.test"),
               "swaks's mail relayed by qtsmtp through Postfix")
    eventually(lambda: any(b"jack@post.test" in m for m in pair.maildir("alice")),
               "swaks's mail relayed by Postfix into qtsmtp")


def test_a_5_mb_attachment_both_ways(pair):
    blob = os.urandom(5 * 1024 * 1024)
    digest = hashlib.sha256(blob).hexdigest()
    for port, sender, rcpt in ((pair.qtsmtp.port, "alice@sys.test", "kim@post.test"),
                               (pair.postfix.port, "lee@post.test", "alice@sys.test")):
        message = _message(sender, rcpt, f"5 MB to {rcpt}", "see the attachment\n")
        message.add_attachment(blob, maintype="application", subtype="octet-stream",
                               filename="five.bin")
        _send(port, message, sender, [rcpt])
    (kept,) = eventually(lambda: pair.sink.to("kim@post.test"), "5 MB through Postfix", limit=120)
    delivered = eventually(lambda: [m for m in pair.maildir("alice") if b"5 MB to alice" in m],
                           "5 MB into qtsmtp", limit=120)[0]
    for raw in (kept.original_content, delivered):
        attachment = next(_parsed(raw).iter_attachments())
        assert hashlib.sha256(attachment.get_content()).hexdigest() == digest
