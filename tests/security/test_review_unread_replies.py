"""Review of the server job's replies (RelaySMTP.push, recvcpu's, and the timeout's 421):
a client that sends commands and never reads a reply. The server stops reading it (the
replies wait, memory stays bounded), and when its time is up the session ends, as the
job log says, and its place is free: close() alone waited for the unread replies to be
sent, which never happened, so the session held its place (and a descriptor) for as
long as the client liked. Loopback only, bounded loops."""

from __future__ import annotations

import smtplib
import socket
import ssl
import time

from support import eventually


def greeting_of(server, source: str) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                  source_address=(source, 0)) as sock:
        return sock.recv(512)


def test_a_client_that_never_reads_is_ended_when_its_time_is_up(new_server) -> None:
    server = new_server()
    server.run("chgsmtpa", "MAXINEMM(1) CMDTIMEOUT(2)")
    server.start("SVRJOBS(1)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.21", 0))
    sock.settimeout(30)
    try:
        sock.connect(("127.0.0.1", server.port))
        assert sock.recv(512).startswith(b"220")
        sock.setblocking(False)
        blocked_since = None
        deadline = time.monotonic() + 30             # bounded: until the server stops reading
        while time.monotonic() < deadline:
            try:
                sock.send(b"RSET\r\n" * 1000)
                blocked_since = None
            except BlockingIOError:
                blocked_since = blocked_since or time.monotonic()
                if time.monotonic() - blocked_since > 1:
                    break
                time.sleep(0.02)
        assert blocked_since is not None, "the server kept reading a client that never reads"
        server.joblog_shows("TCP3063 127.0.0.21")    # its time is up: 421, session ended
        # The job's one place is free again: another client is greeted.
        eventually(lambda: greeting_of(server, "127.0.0.22").startswith(b"220"),
                   "another client greeted once the unread session ended")
    finally:
        sock.close()
    log = server.joblog_text()
    assert "TCP9999" not in log and "Traceback" not in log


def test_a_client_that_reads_still_gets_its_421_after_starttls(new_server, certificate) -> None:
    """The other side: a client that reads, idle past its time inside TLS, is sent the
    421 (through the TLS layer) and a clean end, not a reset."""
    server = new_server()
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') CMDTIMEOUT(2)")
    server.start("SVRJOBS(1)")
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    client = smtplib.SMTP("127.0.0.1", server.port, source_address=("127.0.0.23", 0),
                          timeout=30)
    try:
        client.ehlo("client.test")
        client.starttls(context=context)
        client.ehlo("client.test")
        code, text = client.getreply()                # says nothing: the server speaks
        assert (code, text[:5]) == (421, b"4.4.2"), (code, text)
    finally:
        client.close()
    server.joblog_shows("TCP3063 127.0.0.23")
