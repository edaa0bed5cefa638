"""STARTTLS and AUTH against a real server: swaks with -tls -a LOGIN/PLAIN, AUTH refused
before STARTTLS, a wrong password gets 535, an authenticated session may relay and an
unauthenticated one may not; TLS 1.2 or later; refusal to start on open permissions."""

from __future__ import annotations

import base64
import os
import smtplib
import socket
import ssl
import subprocess

import pytest

from support import free_port, tool


def swaks(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("swaks", "swaks"), "--server", "127.0.0.1", "--port", str(server.port),
                           "--local-interface", "127.0.0.2", "--helo", "client.test",
                           "--timeout", "30", *args], capture_output=True, text=True, timeout=120)


def tls_client(server) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.port, source_address=("127.0.0.2", 0), timeout=30)
    client.ehlo("client.test")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client.starttls(context=context)
    client.ehlo("client.test")
    return client


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_swaks_tls_auth_relays(tls_server, mechanism):
    result = swaks(tls_server, "-tls", "-a", mechanism, "-au", "alice", "-ap", "wonderland",
                   "--from", "alice@client.test", "--to", "someone@far.example")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235 2.7.0 Authentication successful" in result.stdout
    assert "250 2.0.0 Ok: queued as" in result.stdout
    tls_server.joblog_shows("TCP6034")
    assert any(b"someone@far.example" in m for m in tls_server.stored_messages())


def test_swaks_wrong_password_gets_535(tls_server):
    result = swaks(tls_server, "-tls", "-a", "PLAIN", "-au", "alice", "-ap", "guess",
                   "--from", "alice@client.test", "--to", "someone@far.example")
    assert result.returncode != 0
    assert "535 5.7.8" in result.stdout
    tls_server.joblog_shows("TCP6035")


def test_auth_is_not_offered_or_accepted_before_starttls(tls_server):
    client = tls_server.smtp()
    try:
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        code, reply = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode())
        assert code == 538, reply
        # Still not authenticated: a relay is refused.
        assert client.mail("alice@client.test")[0] == 250
        assert client.rcpt("someone@far.example")[0] == 550
    finally:
        client.quit()


def _help_lists(client) -> set[str]:
    code, text = client.docmd("HELP")
    assert code == 250, text
    return set(text.decode().split("Supported commands: ")[1].split())


def test_help_lists_starttls_before_it_and_auth_after_it(tls_server):
    """HELP names what EHLO offers: STARTTLS until TLS is on, AUTH once it is."""
    client = tls_server.smtp()
    try:
        listed = _help_lists(client)
        assert "STARTTLS" in listed and "AUTH" not in listed, listed
        assert client.docmd("HELP", "AUTH")[0] == 501
    finally:
        client.quit()
    client = tls_client(tls_server)
    try:
        assert client.has_extn("auth") and not client.has_extn("starttls")
        listed = _help_lists(client)
        assert "AUTH" in listed and "STARTTLS" not in listed, listed
        assert client.docmd("HELP", "AUTH") == (250, b"2.0.0 Syntax: AUTH <mechanism>")
    finally:
        client.quit()


def test_help_does_not_list_auth_after_helo(tls_server):
    """After HELO (not EHLO) AUTH is answered 500 'not recognized' (RFC 4954 is an
    extension of EHLO): HELP does not list it then, nor give its syntax."""
    client = tls_client(tls_server)
    try:
        assert client.helo("client.test")[0] == 250
        assert "AUTH" not in _help_lists(client)
        assert client.docmd("HELP", "AUTH")[0] == 501
        assert client.docmd("AUTH", "PLAIN")[0] == 500
        client.ehlo("client.test")                  # EHLO again: offered and listed
        assert client.has_extn("auth") and "AUTH" in _help_lists(client)
    finally:
        client.quit()


def test_unauthenticated_tls_session_may_not_relay(tls_server):
    client = tls_client(tls_server)
    try:
        assert "PLAIN" in client.esmtp_features["auth"] and "LOGIN" in client.esmtp_features["auth"]
        assert not client.has_extn("starttls")
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert client.mail("x@client.test")[0] == 250
        code, reply = client.rcpt("someone@far.example")
        assert code == 550 and b"5.7.1" in reply
    finally:
        client.quit()


class RawTlsClient:
    """A client that does STARTTLS through memory BIOs, so that the test says which bytes
    go out in which segment."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.buffer = b""
        self.tls: ssl.SSLObject | None = None
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()

    def reply(self) -> bytes:
        """The next whole reply (its lines)."""
        while True:
            lines = self.buffer.split(b"\r\n")
            for index, line in enumerate(lines[:-1]):
                if line[3:4] != b"-":
                    reply = b"\r\n".join(lines[:index + 1])
                    self.buffer = b"\r\n".join(lines[index + 1:])
                    return reply
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            if self.tls is None:
                self.buffer += data
                continue
            self.incoming.write(data)
            try:
                self.buffer += self.tls.read(65536)
            except ssl.SSLWantReadError:
                pass

    def starttls(self, plain_after: bytes = b"", first_command: bytes = b"") -> None:
        """STARTTLS (with ``plain_after`` in the same segment), the handshake, and
        ``first_command`` in the segment of the client's last handshake message."""
        self.sock.sendall(b"STARTTLS\r\n" + plain_after)
        assert self.reply().startswith(b"220")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.tls = context.wrap_bio(self.incoming, self.outgoing)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.sock.sendall(self.outgoing.read())
                self.incoming.write(self.sock.recv(65536))
        if first_command:
            self.tls.write(first_command)
        self.sock.sendall(self.outgoing.read())

    def send(self, command: bytes) -> None:
        self.tls.write(command)
        self.sock.sendall(self.outgoing.read())


def test_plain_text_after_starttls_is_not_a_command(tls_server):
    """RFC 3207 section 5: commands the client pipelined after STARTTLS in plain text
    (an attacker's injection) are thrown away, never answered over TLS."""
    client = RawTlsClient(tls_server)
    try:
        assert client.reply().startswith(b"220")
        client.sock.sendall(b"EHLO client.test\r\n")
        assert client.reply().startswith(b"250-")
        client.starttls(plain_after=b"NOOP\r\nMAIL FROM:<injected@client.test>\r\n")
        client.send(b"EHLO client.test\r\n")
        first = client.reply()
        assert first.startswith(b"250-") and b"AUTH" in first, first
        client.send(b"NOOP\r\n")
        assert client.reply().startswith(b"250 ")
        assert client.buffer == b""
    finally:
        client.sock.close()


def test_a_command_in_the_segment_of_the_last_handshake_message_is_answered(tls_server):
    """The client's Finished and its first command over TLS in one TCP segment (TLS 1.3
    lets a client send them together): the command is read, not lost with the plain
    text before the handshake."""
    client = RawTlsClient(tls_server)
    try:
        assert client.reply().startswith(b"220")
        client.sock.sendall(b"EHLO client.test\r\n")
        client.reply()
        client.starttls(first_command=b"EHLO client.test\r\n")
        reply = client.reply()
        assert reply.startswith(b"250-") and b"STARTTLS" not in reply, reply
        assert client.tls.version() in ("TLSv1.2", "TLSv1.3")
        client.send(b"MAIL FROM:<x@client.test>\r\n")
        assert client.reply().startswith(b"250 ")
    finally:
        client.sock.close()


def test_tls_below_1_2_is_refused(tls_server):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.minimum_version = ssl.TLSVersion.TLSv1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    client = smtplib.SMTP("127.0.0.1", tls_server.port, timeout=30)
    try:
        client.ehlo("client.test")
        with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionError)):
            client.starttls(context=context)
    finally:
        client.close()


def test_too_many_failures_end_the_session(tls_server):
    client = tls_client(tls_server)
    codes = []
    try:
        for attempt in range(5):
            try:
                codes.append(client.docmd("AUTH", "PLAIN " + base64.b64encode(
                    f"\0alice\0wrong{attempt}".encode()).decode())[0])
            except smtplib.SMTPServerDisconnected:
                break
    finally:
        client.close()
    assert codes[:2] == [535, 535] and 421 in codes
    tls_server.joblog_shows("TCP6036")


def test_alwauth_local_does_not_let_a_logon_relay(tls_server):
    tls_server.run("chgsmtpa", "ALWAUTH(*LOCAL)")
    client = tls_client(tls_server)
    try:
        client.login("alice", "wonderland")
        assert client.mail("alice@client.test")[0] == 250
        assert client.rcpt("someone@far.example")[0] == 550
    finally:
        client.quit()


def test_implicit_tls_port(new_server, certificate):
    server = new_server()
    cert, key = certificate
    port = free_port()
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') ALWAUTH(*RELAY) "
                           f"ALWIMPSSL(*YES) IMPSSLPORT({port})")
    server.add_user("bob", "builder")
    server.start("SVRJOBS(1)")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=30)
    try:
        client.ehlo("client.test")
        assert not client.has_extn("starttls")
        client.login("bob", "builder")
        assert client.mail("bob@client.test")[0] == 250
        assert client.rcpt("far@far.example")[0] == 250
    finally:
        client.quit()


def test_refuses_to_start_with_an_open_key(new_server, certificate):
    server = new_server()
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}')")
    os.chmod(key, 0o644)
    result = server.run("strtcpsvr", "*SMTP", check=False)
    assert result.returncode != 0
    assert "TCP6031" in result.stdout + result.stderr and str(key) in result.stdout + result.stderr
    assert not server.job_pids("QTSMTPSRVP")


def test_refuses_to_start_with_a_world_writable_library(new_server):
    server = new_server()
    target = server.root / "QUSRSYS" / "QATMADRLST"
    os.chmod(target, 0o777)
    result = server.run("strtcpsvr", "*SMTP", check=False)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "TCP6032" in out and str(target) in out


def test_refuses_to_start_with_a_readable_credentials_member(new_server):
    server = new_server()
    server.add_user("carol", "pw")
    member = server.root / "QUSRSYS" / "QATMSMTPC" / "AUTH"
    assert (member.stat().st_mode & 0o777) == 0o600
    os.chmod(member, 0o640)
    result = server.run("strtcpsvr", "*SMTP", check=False)
    assert result.returncode != 0 and "TCP6031" in result.stdout + result.stderr


def _starttls_then(server, source: str, after: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                    source_address=(source, 0))
    assert sock.recv(512).startswith(b"220")
    sock.sendall(b"EHLO client.test\r\n")
    data = b""
    while b"\r\n250 " not in data:
        data += sock.recv(4096)
    sock.sendall(b"STARTTLS\r\n")
    assert sock.recv(512).startswith(b"220")
    sock.sendall(after)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return True


def test_a_failed_handshake_ends_the_session(new_server, certificate):
    """A client that says STARTTLS and then sends no TLS (plain text, an HTTP request):
    the handshake fails, the server closes the connection, and the session ends, so
    that what it held (a MAXCLTEMM place of its address) is given back: the session's
    task must not read on from a reader that the TLS layer no longer feeds."""
    from support import eventually
    server = new_server()
    cert, key = certificate
    server.run("chgsmtpa", f"TLSCERT('{cert}') TLSKEY('{key}') MAXCLTEMM(2)")
    server.start("SVRJOBS(1)")
    for _ in range(2):
        sock = _starttls_then(server, "127.0.0.8", b"GET / HTTP/1.0\r\n\r\n" * 20)
        assert _closed_by_server(sock)
        sock.close()

    def served_again() -> bool:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                        source_address=("127.0.0.8", 0))
        try:
            return sock.recv(512).startswith(b"220")
        finally:
            sock.close()
    eventually(served_again, "the address served again once its failed sessions ended")


def test_starttls_inside_tls_is_refused(tls_server):
    """RFC 3207 4.2: once TLS is on, EHLO offers no STARTTLS, and a STARTTLS is refused
    (as Postfix: 554 5.5.1) instead of a 220 and a second handshake inside the first;
    the session goes on over the TLS it has."""
    client = RawTlsClient(tls_server)
    try:
        assert client.reply().startswith(b"220")
        client.sock.sendall(b"EHLO client.test\r\n")
        assert client.reply().startswith(b"250-")
        client.starttls()
        client.send(b"EHLO client.test\r\n")
        assert b"STARTTLS" not in client.reply()
        client.send(b"STARTTLS\r\n")
        assert client.reply().startswith(b"554 5.5.1 ")
        client.send(b"NOOP\r\n")
        assert client.reply().startswith(b"250 ")
    finally:
        client.sock.close()


def test_after_starttls_the_session_forgets_what_came_before(tls_server):
    """RFC 3207 4.2: after the handshake the server forgets the EHLO and the envelope the
    client gave in plain text; a MAIL begun before STARTTLS is not carried over."""
    client = RawTlsClient(tls_server)
    try:
        assert client.reply().startswith(b"220")
        client.sock.sendall(b"EHLO client.test\r\n")
        assert client.reply().startswith(b"250-")
        client.sock.sendall(b"MAIL FROM:<a@client.test>\r\n")
        assert client.reply().startswith(b"250 ")
        client.starttls()
        client.send(b"MAIL FROM:<a@client.test>\r\n")
        assert client.reply().startswith(b"503 "), "EHLO not forgotten"
        client.send(b"EHLO client.test\r\n")
        assert client.reply().startswith(b"250-")
        client.send(b"RCPT TO:<b@example.test>\r\n")
        assert client.reply().startswith(b"503 "), "an envelope carried over"
    finally:
        client.sock.close()


def test_a_cut_password_hash_is_no_hash_a_guess_can_match(tls_server):
    # A user's record whose hash lost its end (a copy onto a full disk, an editor): a
    # digest of one byte is matched by one password in 256, and a logon may relay.
    # Such a record is refused, whatever password is given. Its parameters are the
    # weakest a whole hash may have (128 * N * r = 1 MiB), so that only its length
    # refuses it.
    import hashlib

    from qtsmtp.config.credentials import _b64

    salt = b"s" * 16

    def key(password: str) -> bytes:
        return hashlib.scrypt(password.encode(), salt=salt, n=2 ** 10, r=8, p=1, dklen=32)

    real = key("the real password")
    guess = next(w for w in (f"guess{n}" for n in range(100_000)) if key(w)[:1] == real[:1])
    _refused_after_a_hand_edit(tls_server, f"bob\tscrypt${2 ** 10}$8$1${_b64(salt)}$"
                                           f"{_b64(real[:1])}", "bob", guess)


@pytest.mark.parametrize("parameters", ["16385$8$1", "1048576$32$1", "1048576$8$16"])
def test_a_hash_scrypt_cannot_check_is_refused_like_a_wrong_password(tls_server, parameters):
    # A hand-edited record whose N is no power of 2, or whose check would cost more than
    # 16 times the commands' (qtsmtp-security(7)): no password logs on, the session is answered 535
    # as for a wrong one (not an error reply that tells the name exists) and goes on.
    from qtsmtp.config.credentials import hash_password

    good = hash_password("pw").split("$")
    _refused_after_a_hand_edit(tls_server, f"carol\tscrypt${parameters}${good[4]}${good[5]}",
                               "carol", "pw")


def _refused_after_a_hand_edit(tls_server, record: str, user: str, password: str) -> None:
    """``record`` appended to the credentials member by hand: ``user`` with ``password``
    hears 535, and the session goes on (alice, a whole record, still logs on)."""
    member = tls_server.root / "QUSRSYS" / "QATMSMTPC" / "AUTH"
    with member.open("a") as f:
        f.write(record + "\n")
    client = tls_client(tls_server)
    try:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(user, password)
        assert refused.value.smtp_code == 535, refused.value
        client.login("alice", "wonderland")
    finally:
        client.quit()
