"""The session's time limits over TLS, against a real server (review of 01dabd5, which
made a command move the session's deadline instead of starting a timer each time):
the timer running since the greeting must still end a session that went quiet after
STARTTLS (CMDTIMEOUT), and a DATA stalled over TLS (DTATIMEOUT, nearer than the
CMDTIMEOUT timer that runs), each with 421 and TCP3063, never a silent close."""

from __future__ import annotations

import smtplib
import ssl


def tls_client(server) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.port, source_address=("127.0.0.2", 0), timeout=60)
    client.ehlo("client.test")
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    client.starttls(context=context)
    client.ehlo("client.test")
    return client


def tls_server_with(new_server, certificate, limits: str):
    server = new_server()
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') {limits}")
    server.start("SVRJOBS(1)")
    return server


def test_a_session_quiet_after_starttls_gets_421(new_server, certificate) -> None:
    server = tls_server_with(new_server, certificate, "CMDTIMEOUT(2)")
    client = tls_client(server)
    try:
        assert client.noop()[0] == 250          # a command: the deadline moves
        code, text = client.getreply()          # then nothing from the client
    finally:
        client.close()
    assert (code, text[:6]) == (421, b"4.4.2 "), (code, text)
    server.joblog_shows("TCP3063")


def test_a_data_stalled_over_tls_gets_421_after_dtatimeout(new_server, certificate) -> None:
    server = tls_server_with(new_server, certificate, "CMDTIMEOUT(600) DTATIMEOUT(2)")
    client = tls_client(server)
    try:
        assert client.mail("a@client.test")[0] == 250
        assert client.rcpt("postmaster@localhost")[0] == 250
        assert client.docmd("DATA")[0] == 354
        client.send(b"Subject: stalled\r\n\r\nthe first line, then nothing\r\n")
        code, text = client.getreply()
    finally:
        client.close()
    assert (code, text[:6]) == (421, b"4.4.2 "), (code, text)
    server.joblog_shows("TCP3063")
    assert server.queued() == []


def test_a_handshake_that_stalls_is_closed_without_plain_text(new_server, certificate) -> None:
    """A client that says STARTTLS, hears 220, and sends no handshake: CMDTIMEOUT ends
    the session (TCP3095), but a 421 in plain text would land in the middle of the TLS
    handshake, where the client's TLS layer reads it as a broken record. It is closed."""
    import socket

    server = tls_server_with(new_server, certificate, "CMDTIMEOUT(2)")
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        wire = sock.makefile("rwb")
        assert wire.readline().startswith(b"220 ")
        wire.write(b"EHLO client.test\r\nSTARTTLS\r\n")
        wire.flush()
        while not wire.readline().startswith(b"250 "):
            pass
        assert wire.readline().startswith(b"220 ")      # ready to start TLS; no ClientHello
        assert wire.read() == b""                       # closed, nothing in plain text
    server.joblog_shows("TCP3095")
