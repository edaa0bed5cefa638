"""The exit point on a real server: reject on a MAIL FROM pattern, accept-and-stop, a
slow exit under concurrent load, an exit that raises, an external program, and live
replacement under load where no session sees a mix of old and new programs."""

from __future__ import annotations

import json
import smtplib
import threading

from support import eventually

POINT = "QIBM_QTMS_SMTP_EXIT SMTP0100"


def register(server, number: int, program: str, *more: str, replace: bool = False) -> None:
    """ADDEXITPGM, then wait until every server job has read the change (TCP6024)."""
    before = server.joblog_text("QTSMTPSRVP").count(" TCP6024 ") if server.job_pids("QTSMTPSRVP") else None
    args = [*POINT.split(), str(number), f"PGM('{program}')", *more]
    if replace:
        args.append("REPLACE(*YES)")
    server.run("addexitpgm", *args)
    if before is not None:
        jobs = len(server.job_pids("QTSMTPSRVP"))
        eventually(lambda: server.joblog_text("QTSMTPSRVP").count(" TCP6024 ") >= before + jobs,
                   "every server job reloaded its exit programs")


def message(server, sender: str, recipient: str = "postmaster@localhost", source="127.0.0.2"):
    """Send one message; returns (MAIL code, DATA code or None)."""
    client = server.smtp(source)
    try:
        code, _ = client.mail(sender)
        if code != 250:
            return code, None
        assert client.rcpt(recipient)[0] == 250
        return code, client.data(b"Subject: t\r\n\r\nbody\r\n")[0]
    finally:
        client.quit()


def test_reject_on_mail_from_pattern(new_server):
    server = new_server()
    register(server, 1, "exitsamples:reject_spam_senders")
    server.start("SVRJOBS(2)")
    client = server.smtp()
    try:
        code, reply = client.mail("bad@spam.example")
        assert (code, reply) == (550, b"5.7.1 Sender refused by exit")
        assert client.mail("good@good.example")[0] == 250
    finally:
        client.quit()
    server.joblog_shows("TCP6022")


def test_accept_and_stop_calls_no_more_for_that_message(new_server, tmp_path):
    server = new_server()
    trace = tmp_path / "trace"
    server.env["QTSMTP_EXIT_TRACE"] = str(trace)
    register(server, 1, "exitsamples:accept_and_stop")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        for n in range(2):
            assert client.mail(f"a{n}@client.test")[0] == 250
            assert client.rcpt("postmaster@localhost")[0] == 250
            assert client.data(b"Subject: t\r\n\r\nx\r\n")[0] == 250
    finally:
        client.quit()
    eventually(lambda: trace.read_text().rstrip().endswith('"DISCONNECT"]'), "DISCONNECT told")
    commands = [json.loads(line)[2] for line in trace.read_text().splitlines()]
    # ACCEPT stops the calls for the rest of the message, not the session's end.
    assert commands == ["CONNECT", "EHLO", "MAIL", "MAIL", "DISCONNECT"]


def test_exception_in_exit_gets_the_default_action(new_server):
    server = new_server()
    register(server, 1, "exitsamples:raises")
    register(server, 2, "exitsamples:slow_async", "TIMEOUT(200)", "DFTACN(*REJECT)")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        code, reply = client.mail("a@client.test")
        assert code == 451 and reply.startswith(b"4.7.1")
        assert client.noop()[0] == 250          # the session goes on
    finally:
        client.quit()
    server.joblog_shows("RuntimeError: exit program bug")
    log = server.joblog_shows("did not answer MAIL within 200 ms")
    assert "TCP6084" in log and "default action *REJECT used" in log


def test_slow_exit_does_not_hold_up_other_sessions(new_server, tmp_path):
    server = new_server()
    gate = tmp_path / "gate"
    server.env["QTSMTP_EXIT_GATE"] = str(gate)
    register(server, 1, "exitsamples:gated", "TIMEOUT(120000)")
    server.start("SVRJOBS(1)")        # one job: every session shares its event loop
    slow_results = []

    def slow_session(n):
        slow_results.append(message(server, f"slow{n}@client.test", source=f"127.0.1.{n + 1}"))

    slow = [threading.Thread(target=slow_session, args=(n,)) for n in range(4)]
    for thread in slow:
        thread.start()
    try:
        entered = tmp_path / "gate.entered"
        eventually(lambda: entered.exists() and len(entered.read_text().split()) == 4,
                   "four sessions blocked in the exit")
        # Twenty whole messages go through while the four slow exits are still blocked.
        fast = [message(server, f"fast{n}@client.test") for n in range(20)]
        assert fast == [(250, 250)] * 20
        assert not slow_results and not gate.exists()
    finally:
        gate.touch()
        for thread in slow:
            thread.join(60)
    assert slow_results == [(250, 250)] * 4


def test_external_program_exit(new_server):
    import sys
    from pathlib import Path
    server = new_server()
    program = Path(__file__).with_name("exitsamples.py")
    register(server, 1, f"{sys.executable} {program} --serve")
    server.start("SVRJOBS(1)")
    assert message(server, "x@spam.example")[0] == 550
    assert message(server, "x@good.example") == (250, 250)


def test_replacement_under_load_no_session_sees_a_mix(new_server, tmp_path):
    server = new_server()
    trace = tmp_path / "trace"
    server.env["QTSMTP_EXIT_TRACE"] = str(trace)
    register(server, 1, "exitsamples:version_one")
    server.start("SVRJOBS(2)")
    stop = threading.Event()
    errors = []

    def load(n):
        sent = 0
        while not stop.is_set() and sent < 400:
            try:
                client = server.smtp(f"127.0.2.{n + 1}")
                for _ in range(3):          # several messages per session, across the change
                    assert client.mail(f"l{n}@client.test")[0] == 250
                    assert client.rcpt("postmaster@localhost")[0] == 250
                    assert client.data(b"Subject: t\r\n\r\nx\r\n")[0] == 250
                client.quit()
                sent += 1
            except (AssertionError, smtplib.SMTPException, OSError) as failure:
                errors.append(repr(failure))
                return

    threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    try:
        eventually(lambda: trace.exists() and trace.read_text().count('[1,') > 50, "load running")
        register(server, 1, "exitsamples:version_two", replace=True)
        eventually(lambda: trace.read_text().count('[2,') > 50, "new sessions on version two")
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    assert not errors, errors[:3]
    seen: dict[str, list] = {}
    for line in trace.read_text().splitlines():
        version, session, command = json.loads(line)
        seen.setdefault(session, []).append((version, command))
    mixed = [s for s, calls in seen.items() if len({v for v, _ in calls}) > 1]
    assert not mixed, f"sessions that saw both versions: {mixed[:3]}"
    assert {calls[0][1] for calls in seen.values()} <= {"CONNECT"}
    versions = {calls[0][0] for calls in seen.values()}
    assert versions == {1, 2}
