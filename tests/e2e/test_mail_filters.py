"""Mail filters over SMTP: every FTRACN outcome, with smtplib and swaks --attach, on a
running server; the quarantine listed, released to the queue and deleted with WRKSMTPQTN.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import subprocess
from email.message import EmailMessage

import pytest

from support import eventually, script


def attachment_mail(name: str, subject: str = "Report") -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "joe@client.test", "postmaster", subject
    message.set_content("Attached.\n")
    message.add_attachment(b"MZ" + bytes(500), maintype="application",
                           subtype="octet-stream", filename=name)
    return message


def send(server, message: EmailMessage):
    """(code, reply text) of the end of DATA, with smtplib."""
    client = server.smtp("127.0.0.2")
    try:
        client.send_message(message)
        return 250, ""
    except smtplib.SMTPDataError as refused:
        return refused.smtp_code, refused.smtp_error.decode()
    finally:
        client.quit()


def quarantined(server) -> list:
    return sorted(p for p in (server.root / "queue" / "quarantine").glob("*")
                  if not p.name.endswith(".reason") and not p.name.startswith("."))


@pytest.fixture
def filtering(server_root):
    server_root.run("addsmtple", "*FTRFILNAME FTRDATA('*.exe')")
    server_root.run("addsmtple", "*FTRSUBJECT FTRDATA('*lottery*')")
    server_root.run("addsmtple", "*FTRORIGIN FTRDATA('*@spam.test')")
    server_root.run("addsmtple", "*FTRTYPE FTRDATA('application/x-msdownload')")
    return server_root


def test_ftracn_refuse_gives_550_at_end_of_data_and_stores_nothing(filtering):
    filtering.run("chgsmtpa", "FTRACN(*REFUSE)")
    # Held: the clean message to postmaster, delivered at once, could leave the queue
    # before the test looks (and a refused one wrongly kept could, before it is missed).
    lock = filtering.hold_delivery()
    try:
        filtering.start("SVRJOBS(1)")
        code, text = send(filtering, attachment_mail("Setup.EXE"))
        assert code == 550 and "5.7.1" in text
        assert not filtering.queued() and not quarantined(filtering)
        log = filtering.joblog_shows("TCP7002")
        assert "attachment file name 'Setup.EXE' matches *FTRFILNAME entry '*.exe'" in log
        # A clean message still passes, in the same session kind.
        assert send(filtering, attachment_mail("report.pdf"))[0] == 250
        eventually(lambda: len(filtering.queued()) == 1, "the clean message queued")
    finally:
        os.close(lock)


def test_ftracn_rejectmail_discards_and_logs(filtering):
    filtering.run("chgsmtpa", "FTRACN(*REJECTMAIL)")
    # Held: a message wrongly kept would be delivered to postmaster and gone from the
    # queue before the look below; held, it stays there to be seen.
    lock = filtering.hold_delivery()
    try:
        filtering.start("SVRJOBS(1)")
        message = attachment_mail("invoice.pdf", subject="You won the LOTTERY today")
        assert send(filtering, message)[0] == 250
        log = filtering.joblog_shows("TCP7001")
        assert "subject 'You won the LOTTERY today' matches *FTRSUBJECT entry '*lottery*'" in log
        assert not filtering.queued() and not quarantined(filtering)
    finally:
        os.close(lock)


def test_ftracn_keep_quarantines_with_reason_and_wrksmtpqtn_releases_and_deletes(filtering):
    filtering.run("chgsmtpa", "FTRACN(*KEEP)")
    filtering.start("SVRJOBS(1)")
    assert send(filtering, attachment_mail("tool.exe"))[0] == 250
    spam = attachment_mail("notes.txt")
    del spam["From"]
    spam["From"] = "Promo <offers@SPAM.test>"
    assert send(filtering, spam)[0] == 250
    eventually(lambda: len(quarantined(filtering)) == 2, "two messages in the quarantine")
    assert not filtering.queued()
    reasons = [json.loads(p.with_name(p.name + ".reason").read_text())
               for p in quarantined(filtering)]
    assert {r["list"] for r in reasons} == {"*FTRFILNAME", "*FTRORIGIN"}
    assert all(r["envelope"]["recipients"] for r in reasons)

    listing = filtering.run("wrksmtpqtn", "OUTPUT(*PRINT)").stdout
    assert "Work with SMTP Quarantine" in listing and "tool.exe" in listing
    assert "offers@SPAM.test" in listing and "TCP7010 2 messages" in listing
    exe_id = next(r["envelope"]["id"] for r in reasons if r["list"] == "*FTRFILNAME")
    other_id = next(r["envelope"]["id"] for r in reasons if r["list"] == "*FTRORIGIN")

    released = filtering.run("wrksmtpqtn", f"*RELEASE MSGID({exe_id})")
    assert f"TCP7011 Message {exe_id} released" in released.stdout
    # Delivered as any message: here to the local postmaster's mailbox.
    eventually(lambda: any(b"tool.exe" in m and exe_id.encode() in m
                           for m in filtering.stored_messages()),
               "the released message delivered")
    assert filtering.joblog_shows(f"TCP5010 Message {exe_id} delivered")
    deleted = filtering.run("wrksmtpqtn", f"OPTION(*DELETE) MSGID({other_id})")
    assert f"TCP7012 Message {other_id} deleted" in deleted.stdout
    assert not quarantined(filtering)
    gone = filtering.run("wrksmtpqtn", f"*RELEASE MSGID({other_id})", check=False)
    assert gone.returncode != 0 and "TCP7013" in gone.stderr
    bad = filtering.run("wrksmtpqtn", "*RELEASE MSGID('../../etc')", check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_swaks_attach_is_filtered_by_type_and_name(filtering):
    swaks = shutil.which("swaks")
    assert swaks, "swaks is installed on this machine (.ci/run)"
    filtering.run("chgsmtpa", "FTRACN(*REFUSE)")
    filtering.start("SVRJOBS(1)")
    payload = filtering.root / "Payload.Exe"
    payload.write_bytes(b"MZ" + bytes(300))
    result = subprocess.run(
        [swaks, "--server", f"127.0.0.1:{filtering.port}", "--local-interface", "127.0.0.2",
         "--from", "joe@client.test", "--to", "postmaster", "--attach-type",
         "application/octet-stream", "--attach", f"@{payload}", "--timeout", "30"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "550 5.7.1" in result.stdout
    clean = filtering.root / "notes.txt"
    clean.write_text("plain\n")
    result = subprocess.run(
        [swaks, "--server", f"127.0.0.1:{filtering.port}", "--local-interface", "127.0.0.2",
         "--from", "joe@client.test", "--to", "postmaster", "--attach-type", "text/plain",
         "--attach", f"@{clean}", "--timeout", "30"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_ftracn_none_filters_nothing_and_addsmtple_says_so(server_root):
    added = server_root.run("addsmtple", "*FTRFILNAME FTRDATA('*.exe')")
    assert "TCP7007" in added.stderr
    # Held: delivered to postmaster at once, the message could leave the queue before
    # the test looks.
    lock = server_root.hold_delivery()
    try:
        server_root.start("SVRJOBS(1)")
        assert send(server_root, attachment_mail("tool.exe"))[0] == 250
        eventually(lambda: len(server_root.queued()) == 1, "the message queued")
    finally:
        os.close(lock)


def test_filter_added_while_running_acts_on_the_next_message(server_root):
    server_root.run("chgsmtpa", "FTRACN(*REFUSE)")
    server_root.start("SVRJOBS(2)")
    assert send(server_root, attachment_mail("a.scr"))[0] == 250
    # The command returns once every server job confirmed the change (read-your-writes);
    # run directly: a filter list is not the relay policy the helper waits to see reloaded.
    command(server_root, "addsmtple", "*FTRFILNAME FTRDATA('*.SCR')")
    for _ in range(4):                     # whichever server job the kernel picks
        assert send(server_root, attachment_mail("b.scr"))[0] == 550
    command(server_root, "rmvsmtple", "*FTRFILNAME FTRDATA('*.SCR')")
    for _ in range(4):
        assert send(server_root, attachment_mail("c.scr"))[0] == 250


def command(server, name: str, *args: str) -> None:
    result = subprocess.run([script(name), *args], env=server.env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_subject_cannot_turn_the_quarantine_listing_around(filtering):
    # What a filter matched is shown to the operator (WRKSMTPQTN, the reason file): a
    # client's subject may hold U+202E (right-to-left override: the rest of the line reads
    # backwards), U+2028 (a line break to str.splitlines) or C1's CSI (a terminal's escape
    # in one byte), all of them encoded words a mail reader decodes.
    filtering.run("chgsmtpa", "FTRACN(*KEEP)")
    filtering.start("SVRJOBS(1)")
    import base64
    subject = "A Lottery \u202eexe.fdp\u2028\x9b2J won".encode()
    client = filtering.smtp("127.0.0.2")
    try:
        client.sendmail("joe@client.test", ["postmaster"],
                        b"From: joe@client.test\r\nTo: postmaster\r\nSubject: =?utf-8?b?"
                        + base64.b64encode(subject) + b"?=\r\n\r\nHello.\r\n")
    finally:
        client.quit()
    eventually(lambda: len(quarantined(filtering)) == 1, "the message in the quarantine")
    for output in ("OUTPUT(*PRINT)", "OUTPUT(*)"):
        listing = filtering.run("wrksmtpqtn", output).stdout
        assert "Lottery " in listing, listing
        assert not any(c in listing for c in "\u202e\u2028\x9b"), ascii(listing)
        assert len([line for line in listing.splitlines() if "Lottery" in line]) == 1
