"""The cut of a torn record (TCP2675) is a command's change: the journal says so.

A command killed in its append can leave the start of its record without a newline
(test_torn_append.py); the next command that takes the member's lock cuts it off
(TCP2675) before its own change, and the command may then fail (an entry that exists
already). The server jobs follow the members through the change journal: a change no
record accounts for is a hand edit, TCP3023 "changed without a command". The cut was
not journaled, so a running job noted TCP3023 for it (and a command that went on to
its own append, TCP3024: its record found the member changed by other means). The
kill itself is news (TCP3024 once, when the job finds the member short of what the
killed command's record said); the cut that repairs it is not.

Addresses are loopback ones, so that a real SMTP client can show what relays: the
start of 127.0.0.25, torn as 127.0.0.2, must never relay.
"""

from __future__ import annotations

import json
import signal
import subprocess

from support import eventually, script
from support.server import Server

from qtsmtp.store import journal

FAR = "user@far.example"


def relay_code(server: Server, source: str) -> int:
    return server.rcpt_code(source, FAR)


def kill_in_append(server: Server, address: str, keep: int) -> None:
    """ADDSMTPLE of ``address`` killed after its journal record, then ``keep`` bytes of
    its line written, as a SIGKILL in the middle of its write leaves them."""
    killed = subprocess.run([script("addsmtple"), f"*ACCEPT INTNETADR('{address}')"],
                            env={**server.env, journal.FAULT_ENV: "after-journal"},
                            capture_output=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    path = server.root / "QUSRSYS" / journal.JOURNAL
    record = json.loads(path.read_bytes().splitlines()[-1])
    assert record["op"] == "add" and record["records"] == [f"{address} 255.255.255.255"]
    with (server.root / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY").open("ab") as f:
        f.write(f"{address} 255.255.255.255\n".encode()[:keep])


def test_a_running_job_notes_no_change_without_a_command_for_the_cut(tmp_path) -> None:
    server = Server.on_new_root(tmp_path / "root", "ALWRLY(*LIST)")
    try:
        server.run("addsmtple", "*ACCEPT INTNETADR('127.0.0.5')")
        server.start("SVRJOBS(1)")
        assert relay_code(server, "127.0.0.5") == 250
        kill_in_append(server, "127.0.0.25", len("127.0.0.2"))
        # The job finds the member short of what the killed command's record said.
        server.joblog_shows("TCP3024", "QTSMTPSRVP")
        assert relay_code(server, "127.0.0.2") == 550
        # A command that cuts the torn record off, then fails: the entry exists.
        failed = server.run("addsmtple", "*ACCEPT INTNETADR('127.0.0.5')", check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "TCP2675 Record 127.0.0.2 " in failed.stderr, failed.stderr
        # The next command is confirmed by the job (read-your-writes): the job has
        # read the journal past the cut by then.
        server.run("addsmtple", "*ACCEPT INTNETADR('127.0.0.30')")
        assert relay_code(server, "127.0.0.30") == 250
        assert relay_code(server, "127.0.0.2") == 550
        # Once more, the cut made by a command that goes on to its own change.
        kill_in_append(server, "127.0.0.26", len("127.0.0.2"))
        eventually(lambda: server.joblog_text("QTSMTPSRVP").count(" TCP3024 ") == 2,
                   "the job's TCP3024 for the second kill")
        done = server.run("addsmtple", "*ACCEPT INTNETADR('127.0.0.31')")
        assert "TCP2675 Record 127.0.0.2 " in done.stderr, done.stderr
        assert relay_code(server, "127.0.0.31") == 250
        assert relay_code(server, "127.0.0.2") == 550
        log = server.joblog_text("QTSMTPSRVP")
        assert " TCP3023 " not in log, [line for line in log.splitlines() if "TCP3023" in line]
        assert log.count(" TCP3024 ") == 2, [line for line in log.splitlines()
                                            if "TCP3024" in line]
    finally:
        assert not server.shut_down()
