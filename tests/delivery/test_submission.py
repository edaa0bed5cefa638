"""SNDSMTPEMM and the client submission queue: queued while the server is down, delivered
by the queue runner; MIME and attachments intact; the submission checks."""

from __future__ import annotations

import email
import stat
from email import policy

from qtsmtp.config.users import current_profile
from support import eventually


def _maildrop(root):
    d = root / "queue" / "maildrop"
    return [p for p in d.iterdir() if not p.name.startswith(".")] if d.exists() else []


def test_sndsmtpemm_while_down_then_the_queue_runner(droot, sinks, tmp_path):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    profile = current_profile()
    out = droot.run("addusrsmtp", profile, "ALIAS(ops)").stdout
    assert "TCP5043" in out and "ops@sys.test" in out
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(bytes(range(256)) * 300 + b"\r\n.\r\n\x00end")
    text = tmp_path / "notes.txt"
    text.write_bytes(b".leading dot\nline two\r\n")
    result = droot.run("sndsmtpemm",
                       "RCP(('pri@remote.test' *PRI) ('cc@remote.test' *CC) ('hidden@remote.test' *BCC))",
                       "SUBJECT('Quarterly r\u00e9sultats')", "NOTE('<b>Hello</b>')", "CONTENT(*HTML)",
                       f"ATTACH(('{pdf}' *DFT) ('{text}' 'text/plain'))")
    assert "TCP5032 E-mail queued" in result.stdout
    drop = droot.root / "queue" / "maildrop"
    assert stat.S_IMODE(drop.stat().st_mode) & 0o777 == 0o770
    [submission] = _maildrop(droot.root)
    assert stat.S_IMODE(submission.stat().st_mode) == 0o660
    assert not hub.messages
    ran = droot.run("qtsmtp", "runqueue")
    assert "TCP5037" in ran.stdout and "1 submissions picked up" in ran.stdout
    assert not _maildrop(droot.root)
    [(sender, recipients, data)] = hub.messages
    assert sender == "ops@sys.test"
    assert sorted(recipients) == ["cc@remote.test", "hidden@remote.test", "pri@remote.test"]
    message = email.message_from_bytes(data, policy=policy.default)
    assert "hidden" not in data.decode("latin-1").split("\r\n\r\n", 1)[0]
    assert message["Subject"] == "Quarterly r\u00e9sultats"
    assert message["From"] == "ops@sys.test" and message["Cc"] == "cc@remote.test"
    assert data.startswith(b"Received: from local user ")
    parts = list(message.iter_parts())
    assert parts[0].get_content_type() == "text/html" and "<b>Hello</b>" in parts[0].get_content()
    attachments = {p.get_filename(): p for p in message.iter_attachments()}
    assert attachments["report.pdf"].get_content_type() == "application/pdf"
    assert attachments["report.pdf"].get_payload(decode=True) == pdf.read_bytes()
    assert attachments["notes.txt"].get_payload(decode=True) == text.read_bytes()


def test_submission_picked_up_at_once_by_a_running_client_job(droot, sinks):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    droot.run("addusrsmtp", current_profile())
    droot.start("SVRJOBS(1)")
    droot.run("sndsmtpemm", "RCP(('a@remote.test'))", "SUBJECT(hi)")
    eventually(lambda: len(hub.messages) == 1, "delivered by QTSMTPCLTD")
    assert hub.messages[0][0] == f"{current_profile().lower()}@sys.test"


def test_user_directory_commands_and_refusals(droot, tmp_path):
    profile = current_profile()
    refused = droot.run("sndsmtpemm", "RCP(('a@remote.test'))", "SUBJECT(x)", check=False)
    assert refused.returncode == 1 and "TCP5033" in refused.stderr
    droot.run("addusrsmtp", profile)
    again = droot.run("addusrsmtp", profile, check=False)
    assert again.returncode == 1 and "TCP5042" in again.stderr
    assert "x.sys@sys.test" in droot.run("chgusrsmtp", profile, "ALIAS('x.sys')").stdout
    missing = droot.run("sndsmtpemm", "RCP(('a@remote.test'))", "SUBJECT(x)",
                        f"ATTACH(('{tmp_path}/nope' *DFT))", check=False)
    assert missing.returncode == 1 and "TCP5034" in missing.stderr
    assert not _maildrop(droot.root)
    assert "TCP5046" in droot.run("rmvusrsmtp", profile).stdout
    gone = droot.run("rmvusrsmtp", profile, check=False)
    assert "TCP5044" in gone.stderr


def test_a_submission_with_a_foreign_sender_is_refused(droot, sinks):
    hub = sinks()
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')")
    from qtsmtp.delivery import submit
    submit.submit(droot.root, "forged@elsewhere.test", ["a@remote.test"],
                  b"Subject: forged\r\n\r\nx\r\n", "NOBODY")
    ran = droot.run("qtsmtp", "runqueue")
    assert "0 submissions picked up" in ran.stdout
    assert not hub.messages
    assert len(list((droot.root / "queue" / "corrupt").iterdir())) == 1
    log = (droot.root / "QSYSWRK" / "joblog" / "QTSMTPQRUN.log").read_text()
    assert "TCP5021" in log and "not a local address" in log


def test_wrksmtpq_lists_and_retries_now(droot, sinks):
    hub = sinks(lambda address, attempt: "451 4.3.0 later" if attempt == 1 else None)
    droot.run("chgsmtpa", f"FWDHUBSVR('{hub.address}')", "RTYMIN(3 60)")   # 3 s apart
    queue_id = droot.queue_message("joe@sys.test", ["w@remote.test"], b"Subject: q\r\n\r\nx\r\n")
    droot.run("qtsmtp", "runqueue")
    listing = droot.run("wrksmtpq").stdout
    assert queue_id in listing and "deferred" in listing and "451 4.3.0 later" in listing
    result = droot.run("wrksmtpq", "*RETRY", f"MSGID({queue_id})")
    assert "TCP5037" in result.stdout
    assert hub.recipients() == ["w@remote.test"]
    assert "TCP5040 0 messages" in droot.run("wrksmtpq").stdout
