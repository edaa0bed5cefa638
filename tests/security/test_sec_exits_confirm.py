"""Read-your-writes for the exit registration: HLDEXITPGM, RLSEXITPGM, ADDEXITPGM and
RMVEXITPGM return once every running server job has read the change (jobs.notify, as
ADDSMTPLE does), so the very next connection, whichever job takes it, sees it: no
waiting and no retry in between. A job that cannot answer is named (TCP2665) and the
exit status is 3, the change stored."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from support import script
from test_sec_exits_e2e import POINT, register

ROUNDS = 6
SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]     # the kernel spreads them over the jobs
SPAM = "someone@spam.example"


def command(server, name: str, *args: str) -> subprocess.CompletedProcess:
    """The console script itself, nothing waited for after it returns."""
    return subprocess.run([script(name), *args], check=False, env=server.env, capture_output=True,
                          text=True, timeout=60)


def mail_codes(server) -> list[int]:
    """MAIL FROM a sender exitsamples:reject_spam_senders refuses, from every source."""
    codes = []
    for source in SOURCES:
        client = server.smtp(source)
        try:
            codes.append(client.mail(SPAM)[0])
        finally:
            client.quit()
    return codes


def test_the_next_connection_after_each_command_sees_its_change(new_server):
    server = new_server()
    register(server, 1, "exitsamples:reject_spam_senders")
    server.start("SVRJOBS(2)")
    server.joblog_shows(" TCP6080 ")
    assert mail_codes(server) == [550] * len(SOURCES)
    for _ in range(ROUNDS):
        held = command(server, "hldexitpgm", *POINT.split(), "1")
        assert (held.returncode, held.stderr) == (0, ""), held.stdout + held.stderr
        assert held.stdout.startswith("TCP6090 ")
        assert mail_codes(server) == [250] * len(SOURCES)
        released = command(server, "rlsexitpgm", *POINT.split(), "*ALL")
        assert (released.returncode, released.stderr) == (0, ""), released.stdout + released.stderr
        assert mail_codes(server) == [550] * len(SOURCES)
    # Removing and adding again: confirmed as well.
    removed = command(server, "rmvexitpgm", *POINT.split(), "1")
    assert removed.returncode == 0, removed.stderr
    assert mail_codes(server) == [250] * len(SOURCES)
    added = command(server, "addexitpgm", *POINT.split(), "1",
                    "PGM('exitsamples:reject_spam_senders')")
    assert added.returncode == 0, added.stderr
    assert mail_codes(server) == [550] * len(SOURCES)


def test_a_job_that_does_not_confirm_a_hold_is_named_and_the_exit_status_is_3(new_server):
    server = new_server()
    register(server, 1, "exitsamples:reject_spam_senders")
    server.start("SVRJOBS(1)")
    server.joblog_shows(" TCP6080 ")
    job = server.job("QTSMTPSRVP")
    os.kill(job["pid"], signal.SIGSTOP)          # it cannot answer
    try:
        start = time.monotonic()
        held = command(server, "hldexitpgm", *POINT.split(), "1")
        took = time.monotonic() - start
    finally:
        os.kill(job["pid"], signal.SIGCONT)
    assert held.returncode == 3
    assert held.stdout.startswith("TCP6090 1 exit programs held")
    assert held.stderr == (f"TCP2665 Change stored; server job {job['number']}/QTCP/QTSMTPSRVP "
                           "did not confirm it within 5 seconds.\n")
    assert took >= 5
    # The hold is stored, and the job reads it once it runs again.
    assert " HLD " in command(server, "wrkexitpgm").stdout
    server.joblog_shows(" TCP6081 ")
    assert mail_codes(server) == [250] * len(SOURCES)


def test_a_registration_broken_by_hand_does_not_fail_a_list_change(new_server):
    """A hand edit that does not parse is the job log's to say (TCP6023); ADDSMTPLE,
    which did not write it, is confirmed as usual and the job keeps its programs."""
    server = new_server()
    register(server, 1, "exitsamples:reject_spam_senders")
    server.start("SVRJOBS(1)")
    server.joblog_shows(" TCP6080 ")
    member = server.root / "QUSRSYS" / "QATMEXITPG" / "EXITPGM"
    with member.open("a") as f:
        f.write("not a registration\n")
    added = command(server, "addsmtple", "*ACCEPT INTNETADR('127.0.70.1')")
    assert (added.returncode, added.stdout, added.stderr) == (
        0, "TCP2660 SMTP list entry added.\n", "")
    server.joblog_shows(" TCP6023 ")
    assert mail_codes(server) == [550] * len(SOURCES)
