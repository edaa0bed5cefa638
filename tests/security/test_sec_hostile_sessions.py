"""Descriptor exhaustion and AUTH guessing on a real server with two server jobs (issue 16
items 2 and 8): per-client sessions, connection rate and AUTH failures are counted
across every job (anvil.ClientTable), every refusal is a 421 with a job-log line, and an
idle session gets 421 when its time is up. Loopback only, bounded loops."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest


def connect(server, source: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                    source_address=(source, 0))
    return sock, sock.recv(512)


def test_sessions_per_client_are_counted_across_jobs(new_server) -> None:
    """Before: each job counted alone, so one address held MAXCLTEMM per job (and 15,000
    with the shipped *NOMAX). Now the fifth session over both jobs is refused, aloud."""
    server = new_server()
    server.run("chgsmtpa", "MAXCLTEMM(4)")
    server.start("SVRJOBS(2)")
    held, refusals = [], []
    try:
        for _ in range(12):                    # bounded: 4 may stay, the rest are refused
            sock, greeting = connect(server, "127.0.0.3")
            if greeting.startswith(b"220"):
                held.append(sock)
            else:
                refusals.append(greeting)
                sock.close()
        assert len(held) == 4
        assert refusals and all(r.startswith(b"421 4.7.0 ") for r in refusals)
        other, greeting = connect(server, "127.0.0.4")      # another client is served
        other.close()
        assert greeting.startswith(b"220")
    finally:
        for sock in held:
            sock.close()
    server.joblog_shows("TCP6039")
    # Their sessions ended: the address may come back.
    from support import eventually
    eventually(lambda: connect(server, "127.0.0.3")[1].startswith(b"220"),
               "the client served again once its sessions ended")


def test_connection_rate_is_limited_across_jobs(new_server) -> None:
    server = new_server()
    server.run("chgsmtpa", "MAXCLTRATE(10)")
    server.start("SVRJOBS(2)")
    greetings = []
    for _ in range(21):      # a minute's boundary may pass once: two windows of 10 at most
        sock, greeting = connect(server, "127.0.0.5")
        sock.close()
        greetings.append(greeting[:3])
        if greeting.startswith(b"421"):
            break
    assert greetings[-1] == b"421" and greetings.count(b"220") >= 10, greetings
    server.joblog_shows("TCP3065")


def test_an_idle_session_gets_421_not_a_silent_close(new_server) -> None:
    server = new_server()
    server.run("chgsmtpa", "CMDTIMEOUT(2)")
    server.start("SVRJOBS(1)")
    sock, greeting = connect(server, "127.0.0.6")
    assert greeting.startswith(b"220")
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(512)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data.startswith(b"421 4.4.2 "), data
    server.joblog_shows("TCP3063")


def tls_login(server, source: str, password: str) -> int:
    client = smtplib.SMTP("127.0.0.1", server.port, source_address=(source, 0), timeout=60)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        client.ehlo("client.test")
        client.starttls(context=context)
        client.ehlo("client.test")
        client.user, client.password = "alice", password
        try:
            client.auth("PLAIN", client.auth_plain)      # one try (login() tries each)
            return 235
        except smtplib.SMTPAuthenticationError as refused:
            return refused.smtp_code
        except smtplib.SMTPServerDisconnected:
            return 421
    finally:
        try:
            client.close()
        except OSError:
            pass


def test_auth_failures_lock_the_address_out_across_jobs(tls_server) -> None:
    """Before: after 3 failures and a 421, the right password from the same address got
    235. Now MAXAUTHFAIL (3) failures, in sessions spread over both jobs, lock the
    address out for the penalty time, the right password included; others are not."""
    for attempt in range(3):
        assert tls_login(tls_server, "127.0.0.7", f"wrong{attempt}") == 535
    assert tls_login(tls_server, "127.0.0.7", "wonderland") == 421
    tls_server.joblog_shows("TCP3066")
    assert tls_login(tls_server, "127.0.0.8", "wonderland") == 235


@pytest.mark.parametrize("limit", [1])
def test_the_job_session_cap_refuses_aloud(new_server, limit) -> None:
    server = new_server()
    server.run("chgsmtpa", f"MAXINEMM({limit})")
    server.start("SVRJOBS(1)")
    first, greeting = connect(server, "127.0.0.9")
    assert greeting.startswith(b"220")
    try:
        second, refused = connect(server, "127.0.0.10")
        second.close()
        assert refused.startswith(b"421 4.3.2 "), refused
    finally:
        first.close()
    server.joblog_shows("TCP3064")


def test_above_half_the_cap_idle_sessions_get_the_stress_timeout(new_server) -> None:
    """CMDTIMEOUT is 300 s, but with the job past half of its cap (MAXINEMM(2): two
    sessions) an idle session gets 421 after STRESS_TIMEOUT_SECONDS: the socket's own
    timeout (60 s) would end the wait otherwise."""
    server = new_server()
    server.run("chgsmtpa", "MAXINEMM(2)")
    server.start("SVRJOBS(1)")
    first, _ = connect(server, "127.0.0.11")
    second, greeting = connect(server, "127.0.0.12")
    assert greeting.startswith(b"220")
    try:
        second.settimeout(60)
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = second.recv(512)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"421 4.4.2 "), data
    finally:
        first.close()
        second.close()
    server.joblog_shows("TCP3063 127.0.0.12")
