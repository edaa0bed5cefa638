"""Submission control: profiles decide which local users may submit through the client
queue; a refusal is logged and reported to the submitter."""

from __future__ import annotations


from qtsmtp.config.users import current_profile


def test_denied_submission_is_refused_logged_and_reported(new_server):
    server = new_server()
    server.run("chgsmtpa", "SYSNAME(sys.test)")
    profile = current_profile()
    server.run("addusrsmtp", profile, "ALIAS(ops)")
    server.run("addsmtpsbm", "PRF(QTSMTP.SUBMIT.**) ACCESS(*DENY)")
    out = server.run("wrksmtpsbm", f"USRPRF({profile})").stdout
    assert "TCP6047" in out and "QTSMTP.SUBMIT.**" in out
    server.run("sndsmtpemm", "RCP(('someone@remote.test'))", "SUBJECT('denied')", "NOTE('x')")
    ran = server.run("qtsmtp", "runqueue").stdout
    assert "0 submissions picked up" in ran
    # The submitter (ops@sys.test, local) gets the notification in its mailbox, which
    # is named by the user profile, as IBM i's /QTCPTMM/MAIL/<profile>.
    boxes = list((server.root / "mail").glob(f"{profile.lower()}/new/*"))
    assert len(boxes) == 1
    text = boxes[0].read_bytes().decode("utf-8", "replace")
    assert "submission refused" in text and "QTSMTP.SUBMIT.**" in text
    assert not [p for p in server.queued() if b"denied" in p.read_bytes()]
    # A more specific *ALLOW profile lets the same user submit again.
    server.run("addsmtpsbm", f"PRF(QTSMTP.SUBMIT.*.{profile}) ACCESS(*ALLOW)")
    server.run("sndsmtpemm", "RCP(('someone@remote.test'))", "SUBJECT('allowed')", "NOTE('y')")
    ran = server.run("qtsmtp", "runqueue").stdout
    assert "1 submissions picked up" in ran
    server.run("rmvsmtpsbm", f"PRF(QTSMTP.SUBMIT.*.{profile})")
