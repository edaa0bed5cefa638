"""Issue 16 item 7: permissions. Files and directories get explicit modes whatever the
umask; the server does not trust what another user owns or everyone may write, at start
and on a change; a job record planted by someone else never gets a process signalled;
a start the file system refuses says so. Run as root (as CI is), the "other user" is
nobody, given the files with chown."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess

import pytest

from support import eventually, process_running, script

NOBODY = 65534


@pytest.fixture
def umask_000():
    old = os.umask(0)
    yield
    os.umask(old)


def test_nothing_the_commands_and_jobs_make_is_writable_by_others_under_umask_000(
        server_root, umask_000) -> None:
    server_root.run("addsmtple", "*ACCEPT INTNETADR('127.0.0.9')")
    server_root.add_user("alice", "secret-password")
    server_root.start("SVRJOBS(1)")
    client = server_root.smtp("127.0.0.2")
    client.sendmail("<>", ["postmaster"], b"Subject: modes\r\n\r\nbody\r\n")
    client.quit()
    eventually(lambda: list((server_root.root / "mail").glob("*/new/*")), "local delivery")
    server_root.end()
    open_to_others = []
    for path in [server_root.root, *server_root.root.rglob("*")]:
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & stat.S_IWOTH:
            open_to_others.append(f"{path} {stat.S_IMODE(st.st_mode):o}")
    assert open_to_others == []
    modes = {p.relative_to(server_root.root).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in server_root.root.rglob("*") if not p.is_symlink()}
    for name in ("queue/tmp", "queue/incoming"):
        assert modes[name] == 0o700, name
    assert modes["QUSRSYS/QATMSMTPC/AUTH"] == 0o600
    assert modes["QSYSWRK/joblog"] == 0o750
    logs = [n for n in modes if n.startswith("QSYSWRK/joblog/")]
    assert logs and all(modes[n] == 0o640 for n in logs)
    assert not any(modes[n] & 0o077 for n in modes if n.startswith("mail/"))


def _plant(server, number: str, pid: int, uid: int | None, owner: int) -> None:
    directory = server.root / "QSYSWRK" / "jobs"
    directory.mkdir(parents=True, exist_ok=True)
    start = int(open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[19])
    record = {"number": number, "name": "QTSMTPSRVD", "type": "BCH", "pid": pid,
              "pid_start": start, "program": "QTMSSRCD", "log": ""}
    if uid is not None:
        record["uid"] = uid
    path = directory / number
    path.write_text(json.dumps(record))
    os.chmod(path, 0o644)
    os.chown(path, owner, -1)


@pytest.mark.parametrize("owner,uid", [(NOBODY, None), (NOBODY, 0), (0, 0)],
                         ids=["planted-as-an-old-record", "planted-claiming-root", "not-the-job"])
def test_endtcpsvr_never_signals_a_process_a_planted_record_names(server_root, owner, uid) -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        _plant(server_root, "000777", victim.pid, uid, owner)
        result = server_root.run("endtcpsvr", "*SMTP", check=False)
        assert result.returncode == 1 and "TCP3004" in result.stderr, result.stderr
        assert process_running(victim.pid)
        assert "000777" not in server_root.run("wrkactjob", "OUTPUT(*CSV)", check=False).stdout
    finally:
        victim.kill()
        victim.wait()


def test_the_server_does_not_start_on_a_member_another_user_owns(server_root) -> None:
    member = server_root.root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    member.write_text("0.0.0.0 0.0.0.0\n")
    os.chown(member, NOBODY, -1)
    result = server_root.run("strtcpsvr", "*SMTP", check=False)
    assert result.returncode == 1 and "TCP2695" in result.stderr and "ACCEPTRLY" in result.stderr
    assert not server_root.jobs()


@pytest.mark.parametrize("how", ["member-of-another-user", "directory-open-to-all"])
def test_a_running_server_loads_no_change_it_must_not_trust(server, how) -> None:
    lists = server.root / "QUSRSYS" / "QATMADRLST"
    assert server.rcpt_code("127.0.0.3", "someone@example.com") == 550
    # What a local user could do: put a list that lets everyone relay in place.
    planted = lists / ".planted"
    planted.write_text("0.0.0.0 0.0.0.0\n127.0.0.3 255.255.255.255\n")
    if how == "member-of-another-user":
        os.chown(planted, NOBODY, -1)
        expected = "TCP2695"
    else:
        os.chmod(lists, 0o777)
        expected = "TCP6032"
    os.rename(planted, lists / "ACCEPTRLY")
    server.joblog_shows(expected, "QTSMTPSRVP")
    assert "TCP3021" in server.joblog_text("QTSMTPSRVP")
    assert server.rcpt_code("127.0.0.3", "someone@example.com") == 550
    os.chmod(lists, 0o755)                     # so that teardown's commands may run


def test_a_start_the_file_system_refuses_says_why(server_root) -> None:
    def full_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))

    for mode in ("*BATCH", "*FOREGROUND"):
        result = subprocess.run([script("strtcpsvr"), f"SERVER(*SMTP) MODE({mode}) SVRJOBS(1)"],
                                env=server_root.env, capture_output=True, text=True,
                                timeout=120, preexec_fn=full_disk)
        assert result.returncode == 1, result.stderr
        assert "TCP9003 SMTP server cannot start" in result.stderr
        assert "File too large" in result.stderr
        assert "TCP9999" not in result.stderr and "Traceback" not in result.stderr
        assert not server_root.jobs()


def test_a_huge_bad_record_on_reload_adds_a_line_not_megabytes_to_the_logs(server) -> None:
    member = server.root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    logs = server.root / "QSYSWRK" / "joblog"
    before = sum(p.stat().st_size for p in logs.glob("*.log"))
    with open(member, "ab") as f:                 # a hand edit: 10 MB, NUL and ESC in it
        f.write(b"10.\x1b[2J\x00" + b"7" * (10 << 20) + b"\n")
    # Each job looks on its own (every RELOAD_CHECK_SECONDS): wait until both have
    # failed on the first change, else a job that looks only after the second one
    # fails once for both, and two failures each never come.
    jobs = [job for job in server.jobs() if job["name"] == "QTSMTPSRVP"]
    assert len(jobs) == 2

    def failures(job) -> int:
        return server.log_of(job).count(" TCP3021 ")

    eventually(lambda: all(failures(job) >= 1 for job in jobs),
               "a failed reload in each of the two server jobs")
    with open(member, "ab") as f:                 # a second change: a second reload attempt
        f.write(b"# comment\n")
    eventually(lambda: all(failures(job) >= 2 for job in jobs),
               "two failed reloads in each of the two server jobs")
    grown = sum(p.stat().st_size for p in logs.glob("*.log")) - before
    assert grown < 64 * 1024, grown
    text = server.joblog_text("QTSMTPSRVP")
    assert "longer than the 1024 characters a record may have" in text
    assert [c for c in ("\x1b", "\x00") if c in text] == []
    assert server.rcpt_code("127.0.0.2", "postmaster") == 250
