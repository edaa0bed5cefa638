"""STRTCPSVR / ENDTCPSVR as an operator uses them: messages, refusals, graceful end."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

from support import children_named, eventually, process_running, script
from support.server import Server


def test_start_twice_and_end_twice_give_clear_messages(server_root) -> None:
    server = server_root
    started = server.start("SVRJOBS(2)")
    assert "TCP3001 SMTP server started: job" in started.stdout
    names = sorted(j["name"] for j in server.jobs())
    assert names == ["QTSMTPCLTD", "QTSMTPSRVD", "QTSMTPSRVP", "QTSMTPSRVP"]
    assert all(len(j["number"]) == 6 and j["number"].isdigit() for j in server.jobs())

    again = server.run("strtcpsvr", "*SMTP", check=False)
    assert again.returncode == 1 and "TCP3002 SMTP server already active" in again.stderr

    pids = [j["pid"] for j in server.jobs()]
    # Each server job has its queue commit process (qtsmtp.server.committer).
    def commit_processes() -> list[int] | None:
        found = [c for job in server.job_pids("QTSMTPSRVP")
                 for c in children_named(job, "QTSMTPQCOMMIT")]
        return found if len(found) == 2 else None

    committers = eventually(commit_processes, "a commit process, named in ps, per server job")
    ended = server.end()
    assert ended.returncode == 0 and "TCP3003 SMTP server ended" in ended.stdout
    assert not [p for p in pids + committers if process_running(p)]
    assert server.jobs() == []
    not_active = server.end()
    assert not_active.returncode == 1 and "TCP3004 SMTP server not active." in not_active.stderr


def test_a_member_that_does_not_parse_stops_the_start(server_root) -> None:
    server = server_root
    accept = server.root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    accept.write_text("127.0.0.1\n10.1.1.1 255.0.255.0\n")
    result = server.run("strtcpsvr", "*SMTP", check=False)
    assert result.returncode == 1
    assert "TCP2670 Member ACCEPTRLY file QATMADRLST in library QUSRSYS not valid at record 2" \
        in result.stderr
    assert server.jobs() == []
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0     # nothing listens


def test_a_port_another_server_listens_on_stops_the_start(server, tmp_path) -> None:
    """The server jobs share their port with SO_REUSEPORT; a second qtsmtp of the same
    user, on another data root and the same PORT, must not quietly take half the
    connections of the first."""
    other_root = tmp_path / "other"
    shutil.copytree(server.root / "QUSRSYS", other_root / "QUSRSYS")
    other = Server(other_root)
    try:
        result = other.run("strtcpsvr", "*SMTP", check=False)
    finally:
        if other.jobs():                # started after all: end it, whatever the asserts
            other.end()
        assert not other.kill_leftovers()
    assert result.returncode == 1
    assert (f"TCP3006 SMTP server cannot listen on 127.0.0.1 port {server.port}: "
            "Address already in use." in result.stderr)
    assert other.jobs() == []
    assert server.rcpt_code("127.0.0.2", "postmaster") == 250       # the first goes on


def test_a_bad_member_on_reload_keeps_the_last_good_policy(server) -> None:
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.9.1')")
    eventually(lambda: server.rcpt_code("127.0.9.1", "u@far.example") == 250, "accept entry live")
    accept = server.root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    good = accept.read_text()
    # Appended, as an editor's ">>" does: a rewrite (write_text truncates first) could
    # be read by a job's look while still empty, a valid member without the entry,
    # which would then be the last good policy.
    with open(accept, "a") as member:
        member.write("not-an-address\n")
    eventually(lambda: "TCP3021 Relay policy not reloaded" in server.joblog_text("QTSMTPSRVP"),
               "reload failure logged")
    bad_record = len(good.splitlines()) + 1
    assert (f"Member ACCEPTRLY file QATMADRLST in library QUSRSYS not valid at record "
            f"{bad_record}") in server.joblog_text("QTSMTPSRVP")
    assert server.rcpt_code("127.0.9.1", "u@far.example") == 250      # last good policy


def test_autostart_honours_the_attribute(server_root) -> None:
    server = server_root
    result = server.run("strtcpsvr", "*AUTOSTART")
    assert "TCP3007" in result.stdout and server.jobs() == []
    server.run("chgsmtpa", "AUTOSTART(*YES)")
    result = server.run("strtcpsvr", "SERVER(*AUTOSTART)", "SVRJOBS(1)")
    assert "TCP3001" in result.stdout


def test_end_lets_a_session_in_data_finish_and_says_421_to_idle_ones(server_root) -> None:
    server = server_root
    # Held: the client job, ending too, cannot deliver the message to postmaster first.
    lock = server.hold_delivery()
    try:
        _end_while_in_data(server)
    finally:
        os.close(lock)


def _end_while_in_data(server) -> None:
    server.start("SVRJOBS(2)")
    idle = server.smtp("127.0.0.2")
    busy = server.in_data("127.0.0.3", b"Subject: in flight\r\n\r\nfirst half\r\n")
    supervisor = server.job_pids("QTSMTPSRVD")[0]
    ending = subprocess.Popen([script("endtcpsvr"), "*SMTP"], env=server.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The idle session is told at once; the one in DATA is still being served.
        assert idle.getreply()[0] == 421
        eventually(lambda: "TCP3014" in server.joblog_text("QTSMTPSRVP"), "end under way")
        busy.send(b"second half\r\n.\r\n")
        code, text = busy.getreply()
        assert code == 250, text
        assert busy.getreply()[0] == 421          # and then it is told the server ends
        out, err = ending.communicate(timeout=120)
        assert ending.returncode == 0, err
    finally:
        if ending.poll() is None:
            ending.kill()
            ending.wait()
    assert not process_running(supervisor)
    assert server.jobs() == []
    assert len(server.queued()) == 1


def test_foreground_mode_ends_on_sigterm(server_root) -> None:
    server = server_root
    foreground = subprocess.Popen([script("strtcpsvr"), "*SMTP", "MODE(*FOREGROUND)", "SVRJOBS(1)"],
                                  env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
    server.track(foreground.pid)
    try:
        first = foreground.stdout.readline()
        assert first.startswith("TCP3001"), first + foreground.stderr.read()
        assert server.job_pids("QTSMTPSRVD") == [foreground.pid]
        assert server.rcpt_code("127.0.0.2", "postmaster") == 250
        foreground.send_signal(signal.SIGTERM)
        out, err = foreground.communicate(timeout=120)
    finally:
        if foreground.poll() is None:
            foreground.kill()
            foreground.wait()
    assert foreground.returncode == 0
    assert "TCP3003 SMTP server ended" in out
    assert "TCP3010 Job" in err                   # the job log is echoed for journald
    assert server.jobs() == []
