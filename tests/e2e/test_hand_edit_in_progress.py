"""A member rewritten by hand in place (``cat new > member``, ``cp``, an editor that
truncates and writes again) is empty or half-written for a while. The running server
must not take that part for the whole list: it keeps its last good policy while the
writer still has the member open, and reads the member as soon as the writer closes it.

The writer here is a real ``cat > member`` fed through a pipe, a part at a time; the
test waits until cat has put the part in the member and the server jobs have seen it
(TCP2676 in their job logs), asks with a real SMTP client, then sends the rest.
No timing: each state is made, then looked at.
"""

from __future__ import annotations

import smtplib
import subprocess
from pathlib import Path

import pytest
from support import eventually, free_port, script
from support.server import Server

FAR = "user@far.example"
SERVER_JOBS = 2


@pytest.fixture
def server(tmp_path) -> Server:
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')")
    server.start(f"SVRJOBS({SERVER_JOBS})")
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.64.0')", "SUBNETMASK('255.255.255.0')")
    server.run("addsmtple", "*REJECT", "INTNETADR('127.0.64.66')",
               "SUBNETMASK('255.255.255.255')")
    yield server
    leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"


class SlowCat:
    """``cat > member`` reading a pipe: the shell truncates the member, cat writes each
    part the test sends as it comes, and the member is finished when the pipe closes."""

    def __init__(self, server: Server, member: Path):
        self.member = member
        self.written = 0
        self.process = subprocess.Popen(["sh", "-c", 'exec cat > "$1"', "sh", str(member)],
                                        stdin=subprocess.PIPE)
        server.track(self.process.pid)
        eventually(lambda: member.stat().st_size == 0, f"{member.name} truncated by the shell")

    def send(self, part: bytes) -> None:
        self.process.stdin.write(part)
        self.process.stdin.flush()
        self.written += len(part)
        eventually(lambda: self.member.stat().st_size == self.written,
                   f"cat wrote {self.written} bytes to {self.member.name}")

    def finish(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0


def member(server: Server, name: str) -> Path:
    return server.root / "QUSRSYS" / "QATMADRLST" / name


def server_logs(server: Server) -> list[str]:
    jobs = [j for j in server.jobs() if j["name"] == "QTSMTPSRVP"]
    assert len(jobs) == SERVER_JOBS
    return [server.log_of(j) for j in jobs]


def every_job_says(server: Server, text: str, more_than: list[int] | None = None) -> None:
    """Wait until every server job's log holds ``text`` (more often than ``more_than``
    counted, job by job)."""
    counts = more_than or [0] * SERVER_JOBS
    eventually(lambda: all(log.count(text) > n for log, n in zip(server_logs(server), counts)),
               f"{text!r} in every server job's log")


def counts(server: Server, text: str) -> list[int]:
    return [log.count(text) for log in server_logs(server)]


def relay_code(server: Server, source: str) -> int:
    return server.rcpt_code(source, FAR)


def connect_code(server: Server, source: str) -> int:
    try:
        client = server.smtp(source)
    except smtplib.SMTPConnectError as refused:
        return refused.smtp_code
    client.quit()
    return 220


def test_a_half_written_accept_list_is_not_taken_for_the_policy(server) -> None:
    accept = member(server, "ACCEPTRLY")
    assert relay_code(server, "127.0.64.5") == 250
    reloaded = counts(server, " TCP3022 ")
    # The new list: many hosts first, the network the client relays through at the end.
    first = b"# rewritten by hand\n" + b"".join(
        f"127.0.70.{n} 255.255.255.255\n".encode() for n in range(1, 101))
    rest = b"127.0.64.0 255.255.255.0\n127.0.65.0 255.255.255.0\n"
    cat = SlowCat(server, accept)
    told = " TCP2676 Member ACCEPTRLY file QATMADRLST in library QUSRSYS,"
    every_job_says(server, told)                        # the member truncated, seen
    seen = counts(server, told)
    cat.send(first)
    every_job_says(server, told, more_than=seen)        # the first half, seen
    # The first half parses; were it the policy, 127.0.64.5 would be refused (550).
    assert relay_code(server, "127.0.64.5") == 250
    assert relay_code(server, "127.0.65.5") == 550        # not yet written
    assert counts(server, " TCP3022 ") == reloaded          # nothing reloaded meanwhile
    cat.send(rest)
    cat.finish()
    every_job_says(server, " TCP3022 ", more_than=reloaded)
    assert relay_code(server, "127.0.64.5") == 250
    assert relay_code(server, "127.0.65.5") == 250
    assert relay_code(server, "127.0.70.7") == 250
    assert all(" TCP3023 Member ACCEPTRLY " in log for log in server_logs(server))


def test_a_reject_list_truncated_by_its_editor_still_refuses(server) -> None:
    """Step 3 of the edit: the member truncated, nothing written yet. Not "nothing
    refused": the listed client is still refused until the new list is complete."""
    assert connect_code(server, "127.0.64.66") == 554
    reloaded = counts(server, " TCP3022 ")
    cat = SlowCat(server, member(server, "REJECTCNN"))
    told = " TCP2676 Member REJECTCNN file QATMADRLST in library QUSRSYS,"
    every_job_says(server, told)
    assert connect_code(server, "127.0.64.66") == 554
    seen = counts(server, told)
    cat.send(b"127.0.64.67 255.255.255.255\n")             # the first half
    every_job_says(server, told, more_than=seen)
    assert connect_code(server, "127.0.64.66") == 554
    assert connect_code(server, "127.0.64.67") == 220      # not yet in the policy
    cat.send(b"127.0.64.66 255.255.255.255\n")
    cat.finish()
    every_job_says(server, " TCP3022 ", more_than=reloaded)
    assert connect_code(server, "127.0.64.66") == 554
    assert connect_code(server, "127.0.64.67") == 554
    assert connect_code(server, "127.0.64.5") == 220


def test_an_accept_list_truncated_by_its_editor_still_relays(server) -> None:
    """The empty member mid-edit is not "no entries", which would refuse everyone."""
    accept = member(server, "ACCEPTRLY")
    cat = SlowCat(server, accept)
    every_job_says(server, " TCP2676 Member ACCEPTRLY ")
    assert relay_code(server, "127.0.64.5") == 250
    cat.send(b"127.0.64.0 255.255.255.0\n")
    cat.finish()
    every_job_says(server, " TCP3023 Member ACCEPTRLY ")
    assert relay_code(server, "127.0.64.5") == 250


def test_a_command_is_confirmed_while_another_list_is_being_edited(server) -> None:
    """The commands' path is untouched: ADDSMTPLE is applied and confirmed by every job
    (exit status 0) while ACCEPTRLY is half-written by hand, and the half is not read."""
    cat = SlowCat(server, member(server, "ACCEPTRLY"))
    every_job_says(server, " TCP2676 Member ACCEPTRLY ")
    seen = counts(server, " TCP2676 Member ACCEPTRLY ")
    cat.send(b"127.0.70.1 255.255.255.255\n")
    every_job_says(server, " TCP2676 Member ACCEPTRLY ", more_than=seen)
    result = server.run("addsmtple", "*REJECT", "INTNETADR('127.0.64.99')",
                        "SUBNETMASK('255.255.255.255')")
    assert result.returncode == 0 and result.stderr == ""
    assert connect_code(server, "127.0.64.99") == 554
    assert relay_code(server, "127.0.64.5") == 250          # the half is still not read
    cat.send(b"127.0.64.0 255.255.255.0\n")
    cat.finish()
    every_job_says(server, " TCP3023 Member ACCEPTRLY ")
    assert relay_code(server, "127.0.70.1") == 250
    assert connect_code(server, "127.0.64.99") == 554


def test_the_start_waits_for_a_member_being_written(tmp_path) -> None:
    """STRTCPSVR while ``cat > ACCEPTRLY`` is half-way: the start waits (TCP2678 in
    QTSMTPSRVD's job log) and the server serves the finished list."""
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')")
    try:
        server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.64.0')",
                   "SUBNETMASK('255.255.255.0')")
        cat = SlowCat(server, member(server, "ACCEPTRLY"))
        cat.send(b"127.0.70.1 255.255.255.255\n")
        start = subprocess.Popen([script("strtcpsvr"), "*SMTP"], env=server.env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        server.track(start.pid)
        server.joblog_shows("TCP2678 Member ACCEPTRLY file QATMADRLST in library QUSRSYS is "
                            "still being written: a program has it open", "QTSMTPSRVD")
        assert start.poll() is None                   # still waiting, nothing started
        cat.send(b"127.0.64.0 255.255.255.0\n")
        cat.finish()
        out, err = start.communicate(timeout=120)
        assert start.returncode == 0, out + err
        server.jobs()
        assert relay_code(server, "127.0.64.5") == 250
        assert relay_code(server, "127.0.70.1") == 250
    finally:
        leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"


def test_chgsmtpa_takes_effect_while_a_list_is_being_edited(server) -> None:
    """CHGSMTPA ALWRLY(*NONE) while ``cat > NEAR`` is half-way: every job applies it at
    once (exit status 0) and relaying stops, not when the unrelated edit is finished
    (before: TCP2666 and exit status 3, and relaying went on for as long as the editor
    had NEAR open). ADDUSRSMTP, and the commands after it, likewise."""
    server.run("addsmtple", "*NEAR", "INTNETADR('127.0.99.0')", "SUBNETMASK('255.255.255.0')")
    assert relay_code(server, "127.0.64.5") == 250
    cat = SlowCat(server, member(server, "NEAR"))
    every_job_says(server, " TCP2676 Member NEAR ")
    result = server.run("chgsmtpa", "ALWRLY(*NONE)", check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr
    assert [relay_code(server, "127.0.64.5") for _ in range(SERVER_JOBS * 2)] == \
        [550] * SERVER_JOBS * 2
    server.run("chgsmtpa", "ALWRLY(*LIST)")
    assert relay_code(server, "127.0.64.5") == 250
    # The user directory likewise, and a command after it (before, that one waited too).
    result = server.run("addusrsmtp", "USRPRF(BOB) ALIAS(bob)", check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr
    result = server.run("addsmtple", "*REJECT", "INTNETADR('127.0.64.99')",
                        "SUBNETMASK('255.255.255.255')", check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr
    assert connect_code(server, "127.0.64.99") == 554
    cat.send(b"127.0.99.0 255.255.255.0\n")
    cat.finish()
    every_job_says(server, " TCP3023 Member NEAR ")
    assert relay_code(server, "127.0.64.5") == 250


def test_a_script_that_adds_an_entry_then_starts_the_server(tmp_path) -> None:
    """``qtsmtp run`` of ADDSMTPLE then STRTCPSVR: the script's group commit kept
    ACCEPTRLY open for writing, and the start took that for a hand edit (TCP2678, then
    TCP2677 after 10 s: the server did not start). The start now makes the script's
    changes durable and lets go of the member first."""
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')")
    script_file = tmp_path / "start.cl"
    script_file.write_text("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('127.0.64.0') "
                           "SUBNETMASK('255.255.255.0')\nSTRTCPSVR SERVER(*SMTP) SVRJOBS(1)\n")
    try:
        result = subprocess.run([script("qtsmtp"), "run", str(script_file)], env=server.env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        server.jobs()
        assert "TCP2678" not in server.joblog_text("QTSMTPSRVD")
        assert relay_code(server, "127.0.64.5") == 250
        assert relay_code(server, "127.0.65.5") == 550
    finally:
        leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"


def test_the_start_waits_for_a_server_bind_list_being_written(tmp_path) -> None:
    """STRTCPSVR while ``cat > SVRBIND`` has truncated it and not yet written the one
    address the server is to listen on: the start waits (TCP2678) and then listens on
    it. Before, the start took the empty member as it was and never listened on IPv4
    (SVRBIND is read once, at start: for good); with no SVRBNDIP6 entry either, an
    empty SVRBIND is no bind list at all: every address."""
    server = Server.on_new_root(tmp_path / "root", f"FWDHUBSVR('127.0.0.1:{free_port()}')")
    try:
        cat = SlowCat(server, member(server, "SVRBIND"))
        start = subprocess.Popen([script("strtcpsvr"), "*SMTP", "SVRJOBS(1)"], env=server.env,
                                 text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        server.joblog_shows("TCP2678 Member SVRBIND file QATMADRLST in library QUSRSYS is "
                            "still being written: a program has it open", "QTSMTPSRVD")
        assert start.poll() is None                   # still waiting, nothing started
        cat.send(b"127.0.0.1\n")
        cat.finish()
        out, err = start.communicate(timeout=120)
        assert start.returncode == 0, out + err
        assert f"listening on 127.0.0.1 ::1 port {server.port}." in out, out
        server.jobs()
        assert connect_code(server, "127.0.64.5") == 220
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP("127.0.0.3", server.port, timeout=30)
    finally:
        leftovers = server.shut_down()
    assert not leftovers, f"processes left running: {leftovers}"
