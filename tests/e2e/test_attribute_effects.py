"""SMTP attributes whose effect no other end-to-end test shows (qtsmtp.config.attrstatus
names a test for every attribute that acts): each one over real SMTP."""

from __future__ import annotations

import socket
import subprocess

from support import script


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (the socket timeout bounds the wait)."""
    received = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk


def test_maxinemm_limits_the_sessions_served_at_once(server_root):
    server_root.run("chgsmtpa", "MAXINEMM(1)")
    server_root.start("SVRJOBS(1)")
    first = server_root.smtp("127.0.0.2")
    try:
        second = socket.create_connection(("127.0.0.1", server_root.port), timeout=30)
        with second:
            assert _read_all(second).startswith(b"421 4.3.2 Too many sessions")
    finally:
        first.quit()
    # The one session ended: a client is served again.
    server_root.smtp("127.0.0.3").quit()


def test_cmdtimeout_ends_an_idle_session(server_root):
    server_root.run("chgsmtpa", "CMDTIMEOUT(1)")
    server_root.start("SVRJOBS(1)")
    client = socket.create_connection(("127.0.0.1", server_root.port), timeout=30)
    with client:
        greeting = client.recv(4096)
        assert greeting.startswith(b"220")
        # Say nothing: the server says 421 and closes the session (our 30 s would raise
        # socket.timeout); never a close without a word (issue 16 item 2).
        assert _read_all(client).startswith(b"421 4.4.2 ")


def test_chgsmtpa_without_effect_warns_stores_and_dspsmtpa_marks(server_root):
    result = server_root.run("chgsmtpa", "CCSID(500) DIALSCD(*YES PROFILE1 30) ALWRLY(*LIST)")
    lines = result.stderr.splitlines()
    assert [line.split()[0] for line in lines] == ["TCP2702", "TCP2704"], result.stderr
    assert lines[0].startswith("TCP2702 CCSID(500) stored; it has no effect here")
    assert "TCP2662 SMTP attributes changed." in result.stdout
    shown = subprocess.run([script("dspsmtpa")], env=server_root.env, capture_output=True,
                           text=True, timeout=60).stdout
    assert any(line.startswith(" Coded character set identifier") and
               line.endswith(":   500  (no effect)") for line in shown.splitlines())
    assert any(line.startswith(" Allow relayed mail") and line.endswith(":   *LIST")
               for line in shown.splitlines())


def _mail_code(server, sender: str) -> int:
    client = server.smtp("127.0.0.2")
    try:
        return client.mail(sender)[0]
    finally:
        client.quit()


def test_vfyfromusr_checks_the_sender_against_the_user_directory(server_root):
    server = server_root
    server.run("chgsmtpa", "SYSNAME('sys.example')")
    server.run("addusrsmtp", "JOE")
    server.start("SVRJOBS(1)")
    senders = ["joe@sys.example", "nobody@sys.example", "someone@remote.example",
               "postmaster@sys.example", "<>"]
    assert [_mail_code(server, s) for s in senders] == [250, 250, 250, 250, 250]   # *NO
    server.run("chgsmtpa", "VFYFROMUSR(*YES)")       # local senders must be users
    assert [_mail_code(server, s) for s in senders] == [250, 553, 250, 250, 250]
    server.joblog_shows("sender refused: VFYFROMUSR(*YES) and sender nobody@sys.example "
                        "is at a local domain but no user of the SMTP directory")
    server.run("chgsmtpa", "VFYFROMUSR(*ALL)")       # every sender must be a user
    assert [_mail_code(server, s) for s in senders] == [250, 553, 553, 250, 250]
