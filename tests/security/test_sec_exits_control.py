"""The exit point under an operator's control, on a real server over SMTP: HLDEXITPGM and
RLSEXITPGM for new connections while old sessions keep their programs, CONNECT and
DISCONNECT with the reason a session ended (Python, async and external programs), state
let go at the end, a Python program registered again running its new code, and a plain
function's thread budget."""

from __future__ import annotations

import json
import smtplib
import sys
import time
from pathlib import Path

from support import eventually
from test_sec_exits_e2e import POINT, register

HERE = Path(__file__).resolve().parent


def calls(trace: Path, program: str | None = None) -> list[list]:
    if not trace.exists():
        return []
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    return [r for r in records if program is None or r[0] == program]


def sessions_seen(trace: Path, program: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for record in calls(trace, program):
        out.setdefault(record[1], []).append(record[2:])
    return out


def session_of(client, trace: Path, program: str, known: set) -> str:
    """The session id the program was told for the session ``client`` just opened."""
    def new():
        fresh = set(sessions_seen(trace, program)) - known
        return fresh.pop() if len(fresh) == 1 else None
    return eventually(new, f"{program} told of the new session")


def traced_server(new_server, tmp_path, *settings: str):
    server = new_server()
    trace = tmp_path / "trace"
    server.env["QTSMTP_EXIT_TRACE"] = str(trace)
    for setting in settings:
        server.run("chgsmtpa", setting)
    return server, trace


def hold(server, number: int, count_before: int) -> None:
    server.run("hldexitpgm", *POINT.split(), str(number))
    eventually(lambda: server.joblog_text("QTSMTPSRVP").count(" TCP6081 ") > count_before,
               "the server job held the program")


def test_hold_and_release_for_new_connections_only(new_server, tmp_path):
    server, trace = traced_server(new_server, tmp_path)
    register(server, 1, "exitsamples:sessions")
    register(server, 2, f"{sys.executable} {HERE / 'exitsamples.py'} --serve")
    server.start("SVRJOBS(1)")
    server.joblog_shows(" TCP6080 ")                     # the programs are active
    old = server.smtp("127.0.0.2")
    old_sync = session_of(old, trace, "sync", set())
    eventually(lambda: ["CONNECT", None] in sessions_seen(trace, "external").get(old_sync, []),
               "the external program told of the old session")

    server.run("hldexitpgm", *POINT.split(), "*ALL")
    eventually(lambda: server.joblog_text("QTSMTPSRVP").count(" TCP6081 ") >= 2,
               "the server job held both programs")
    listing = server.run("wrkexitpgm").stdout
    assert [line.split()[3] for line in listing.splitlines() if "QIBM_QTMS_SMTP_EXIT" in line] \
        == ["HLD", "HLD"]

    before = len(calls(trace))
    held = server.smtp("127.0.0.3")
    try:
        assert held.mail("refuse@client.test")[0] == 250      # no program refuses it
        assert held.rcpt("postmaster@localhost")[0] == 250
        assert held.data(b"Subject: held\r\n\r\nx\r\n")[0] == 250
    finally:
        held.quit()
    # The old session keeps its programs: its MAIL is still refused by the exit.
    assert old.mail("refuse@client.test")[0] == 550
    old.quit()
    eventually(lambda: ["DISCONNECT", "QUIT"] in sessions_seen(trace, "external").get(old_sync, []),
               "the old session's DISCONNECT reached the external program")
    new_calls = [r for r in calls(trace)[before:] if r[1] != old_sync]
    assert new_calls == [], f"a held program was called for a new connection: {new_calls}"

    server.run("rlsexitpgm", *POINT.split(), "*ALL")
    eventually(lambda: server.joblog_text("QTSMTPSRVP").count(" TCP6082 ") >= 2,
               "the server job released both programs")
    released = server.smtp("127.0.0.4")
    try:
        assert released.mail("refuse@client.test")[0] == 550
    finally:
        released.quit()
    listing = server.run("wrkexitpgm").stdout
    assert [line.split()[3] for line in listing.splitlines() if "QIBM_QTMS_SMTP_EXIT" in line] \
        == ["RLS", "RLS"]


def test_hold_and_release_commands_refuse_what_they_cannot_do(new_server):
    server = new_server()
    register(server, 1, "exitsamples:noop")
    assert server.run("rlsexitpgm", *POINT.split(), "1", check=False).returncode == 1
    assert server.run("hldexitpgm", *POINT.split(), "9", check=False).returncode == 1
    held = server.run("hldexitpgm", *POINT.split(), "1")
    assert "TCP6090" in held.stdout + held.stderr
    again = server.run("hldexitpgm", *POINT.split(), "1", check=False)
    assert again.returncode == 1 and "TCP6092" in again.stdout + again.stderr
    # Replacing a held program keeps it held.
    replaced = server.run("addexitpgm", *POINT.split(), "1", "PGM('exitsamples:raises')",
                          "REPLACE(*YES)")
    assert "TCP6094" in replaced.stdout + replaced.stderr
    assert " HLD " in server.run("wrkexitpgm").stdout
    bad = server.run("hldexitpgm", "QIBM_QTMS_SMTP_EXIT", "SMTP0200", "1", check=False)
    assert bad.returncode == 1 and "TCP6010" in bad.stdout + bad.stderr


def test_start_and_end_events_with_their_reasons_and_state_let_go(new_server, tmp_path):
    server, trace = traced_server(new_server, tmp_path, "CMDTIMEOUT(4)")
    register(server, 1, "exitsamples:sessions")
    register(server, 2, "exitsamples:sessions_async")
    register(server, 3, f"{sys.executable} {HERE / 'exitsamples.py'} --serve")
    server.start("SVRJOBS(1)")
    known: set = set()

    def opened(source):
        client = server.smtp(source)
        sid = session_of(client, trace, "sync", known)
        known.add(sid)
        return client, sid

    client, quit_sid = opened("127.0.0.2")
    client.quit()

    client, dropped_sid = opened("127.0.0.3")
    client.sock.close()                                  # no QUIT: the client went away

    client, timeout_sid = opened("127.0.0.4")            # says nothing for CMDTIMEOUT
    eventually(lambda: ["DISCONNECT", "TIMEOUT"] in sessions_seen(trace, "sync").get(timeout_sid, []),
               "the idle session timed out", limit=60)
    client.close()

    client, ending_sid = opened("127.0.0.5")
    server.end()                                         # ENDTCPSVR with the session open
    client.close()

    expected = {quit_sid: "QUIT", dropped_sid: "DROPPED", timeout_sid: "TIMEOUT",
                ending_sid: "ENDING"}
    # The server job has ended: every program was told before it did.
    for program in ("sync", "async", "external"):
        seen = sessions_seen(trace, program)
        for sid, reason in expected.items():
            events = seen.get(sid, [])
            assert events[0] == ["CONNECT", None], (program, sid, events)
            assert events[-1] == ["DISCONNECT", reason], (program, sid, events)
    freed = {r[1] for r in calls(trace, "freed")}
    assert set(expected) <= freed, "per-connection state not let go at the end"


def test_python_program_registered_again_runs_its_new_code(new_server, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    module = code / "reregistered.py"

    def write(version: str):
        module.write_text("def check(event):\n"
                          "    if event.command == 'MAIL':\n"
                          f"        return 'REJECT 550 5.7.1 version {version}'\n")

    write("1")
    server = new_server()
    server.env["PYTHONPATH"] = f"{code}:{server.env['PYTHONPATH']}"
    server.env["PYTHONDONTWRITEBYTECODE"] = "1"
    register(server, 1, "reregistered:check")
    server.start("SVRJOBS(1)")
    old = server.smtp("127.0.0.2")
    assert old.mail("a@client.test") == (550, b"5.7.1 version 1")

    time.sleep(0.01)
    write("two")                                         # another size and time
    register(server, 1, "reregistered:check", replace=True)
    server.joblog_shows(" TCP6083 ")
    new = server.smtp("127.0.0.3")
    try:
        assert new.mail("a@client.test") == (550, b"5.7.1 version two")
        # The session from before keeps the code it started with.
        assert old.mail("b@client.test") == (550, b"5.7.1 version 1")
    finally:
        new.quit()
        old.quit()


def test_thread_budget_exhausted_said_once_and_counted(new_server, tmp_path):
    gate = tmp_path / "gate"
    server = new_server()
    server.env["QTSMTP_EXIT_GATE"] = str(gate)
    register(server, 1, "exitsamples:gated", "TIMEOUT(200)", "DFTACN(*REJECT)", "THREADS(1)")
    server.start("SVRJOBS(1)")
    try:
        client = server.smtp()
        assert client.mail("slow1@client.test")[0] == 451   # past its budget: default
        server.joblog_shows(" TCP6084 ")
        for n in range(3):                                  # its one thread is still held
            assert client.mail(f"fast{n}@client.test")[0] == 451
        client.quit()
        log = server.joblog_shows(" TCP6086 ")
        assert log.count(" TCP6086 ") == 1
        job = server.job("QTSMTPSRVP")
        from qtsmtp.jobs import table
        from qtsmtp.panels.wrkactjob import job_details
        record = next(j for j in table.active_jobs(server.root) if j.number == job["number"])
        eventually(lambda: any("Exit calls without a thread" in line and line.rstrip().endswith(" 3")
                               for line in job_details(server.root, record)),
                   "Work with Job counts the calls turned away")
    finally:
        gate.touch()
    # Once the held call returns, its thread is back and calls are made again.
    def accepted():
        try:
            client = server.smtp()
        except smtplib.SMTPConnectError:            # CONNECT still turned away
            return False
        try:
            return client.mail("fast@client.test")[0] == 250
        finally:
            client.quit()
    eventually(accepted, "calls made again once the thread is free")


def test_local_submission_runs_through_the_exit_and_a_refusal_is_bounced(new_server, tmp_path):
    from qtsmtp.config.users import current_profile
    server, trace = traced_server(new_server, tmp_path, "SYSNAME(sys.test)")
    profile = current_profile()
    server.run("addusrsmtp", profile, "ALIAS(ops)")
    register(server, 1, "exitsamples:local_policy")
    register(server, 2, f"{sys.executable} {HERE / 'exitsamples.py'} --serve")

    # The server is down: the queue runner picks up and asks the exit programs.
    server.run("sndsmtpemm", "RCP(('someone@remote.test'))", "SUBJECT('forbidden plans')",
               "NOTE('x')")
    ran = server.run("qtsmtp", "runqueue").stdout
    assert "0 submissions picked up" in ran
    local = calls(trace, "local")
    assert [c[2] for c in local] == ["CONNECT", "MAIL", "RCPT", "DATA", "DISCONNECT"]
    assert {(c[3], c[4]) for c in local} == {("*LOCAL", profile)}
    # The external program (number 2) saw the same session; program 1's refusal at DATA
    # ended that round before it, as in an SMTP session.
    assert [c[2] for c in calls(trace, "external")] == ["CONNECT", "MAIL", "RCPT",
                                                        "DISCONNECT"]
    log = server.joblog_shows(" TCP6097 ")
    assert "forbidden words refused by exit" in log
    # The submitter gets the notification in its mailbox; nothing was queued for remote.
    boxes = list((server.root / "mail").glob(f"{profile.lower()}/new/*"))
    assert len(boxes) == 1
    assert b"forbidden words refused by exit" in boxes[0].read_bytes()
    assert not [p for p in server.queued() if b"someone@remote.test" in p.read_bytes()]

    # Through the running client job too.
    server.start("SVRJOBS(1)")
    server.run("sndsmtpemm", "RCP(('someone@remote.test'))", "SUBJECT('forbidden again')",
               "NOTE('y')")
    eventually(lambda: len(list((server.root / "mail").glob(f"{profile.lower()}/new/*"))) == 2,
               "the second refusal bounced by the client job")
    server.run("sndsmtpemm", "RCP(('someone@remote.test'))", "SUBJECT('fine')", "NOTE('z')")
    eventually(lambda: len([c for c in calls(trace, "local") if c[2] == "DATA"]) == 3,
               "the client job asked the exit about the third submission")
    assert len(list((server.root / "mail").glob(f"{profile.lower()}/new/*"))) == 2


def test_unreadable_registration_holds_local_submissions_back(new_server):
    from qtsmtp.config.users import current_profile
    server = new_server()
    server.run("chgsmtpa", "SYSNAME(sys.test)")
    server.run("addusrsmtp", current_profile())
    register(server, 1, "exitsamples:noop")
    member = server.root / "QUSRSYS" / "QATMEXITPG" / "EXITPGM"
    good = member.read_text()
    member.write_text(good + "not a registration\n")           # a bad hand edit
    server.run("sndsmtpemm", "RCP(('someone@remote.test'))", "SUBJECT(waits)", "NOTE('x')")
    ran = server.run("qtsmtp", "runqueue").stdout
    assert "0 submissions picked up" in ran
    log = server.joblog_shows(" TCP6098 ")
    assert "TCP6023" in log and "Traceback" not in log
    assert len(list((server.root / "queue" / "maildrop").glob("[!.]*"))) == 1
    member.write_text(good)
    ran = server.run("qtsmtp", "runqueue").stdout
    assert "1 submissions picked up" in ran


def test_policy_server_is_told_connect_and_disconnect(new_server):
    import socketserver
    import threading

    from support import free_port

    seen: list[dict] = []

    class Policy(socketserver.StreamRequestHandler):
        def handle(self):
            attrs: dict = {}
            for raw in self.rfile:
                line = raw.decode().rstrip("\n")
                if line:
                    key, _, value = line.partition("=")
                    attrs[key] = value
                    continue
                seen.append(attrs)
                self.wfile.write(b"action=DUNNO\n\n")
                attrs = {}

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    policy = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), Policy)
    policy.daemon_threads = True
    thread = threading.Thread(target=policy.serve_forever, daemon=True)
    thread.start()
    try:
        server = new_server()
        register(server, 1, f"policy:inet:127.0.0.1:{policy.server_address[1]}")
        server.start("SVRJOBS(1)")
        client = server.smtp("127.0.0.6")
        assert client.mail("a@client.test")[0] == 250
        client.quit()
        eventually(lambda: any(a.get("protocol_state") == "DISCONNECT" for a in seen),
                   "the policy server told of the end")
        states = [(a["protocol_state"], a.get("reason")) for a in seen]
        assert states == [("CONNECT", None), ("EHLO", None), ("MAIL", None),
                          ("DISCONNECT", "QUIT")]
        assert {a["client_address"] for a in seen} == {"127.0.0.6"}
        assert len({a["instance"] for a in seen}) == 1
    finally:
        policy.shutdown()
        policy.server_close()
        thread.join(10)
