"""Protocol hygiene on the wire: one write per reply, configured name, limits."""

from __future__ import annotations

import smtplib
import socket

from support import eventually


def _raw(server, source: str = "127.0.0.2") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                    source_address=(source, 0))
    return sock


def _reply(sock: socket.socket) -> bytes:
    """Everything up to and including the last line of one reply, however it arrives."""
    data = b""
    while True:
        data += sock.recv(65536)
        last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if data.endswith(b"\r\n") and last[3:4] == b" ":
            return data


def test_multi_line_ehlo_reply_arrives_in_one_segment(server) -> None:
    for _ in range(20):
        with _raw(server) as sock:
            _reply(sock)
            sock.sendall(b"EHLO client.test\r\n")
            # One recv returns what one write sent: the whole reply, ending in its last line.
            first = sock.recv(65536)
            assert first.startswith(b"250-") and first.endswith(b"250 HELP\r\n"), first
            sock.sendall(b"QUIT\r\n")


def test_greeting_uses_the_configured_system_name(server) -> None:
    server.run("chgsmtpa", "SYSNAME('relay.corp.example')")

    def greeting() -> bytes:
        with _raw(server) as sock:
            text = _reply(sock)
            sock.sendall(b"QUIT\r\n")
            return text

    eventually(lambda: greeting().startswith(b"220 relay.corp.example ESMTP qtsmtp"),
               "greeting with the new SYSNAME")
    # The system name is local mail.
    assert server.rcpt_code("127.0.0.2", "postmaster@relay.corp.example") == 250


def test_command_line_too_long_is_refused_and_the_session_goes_on(server) -> None:
    with _raw(server) as sock:
        _reply(sock)
        sock.sendall(b"EHLO " + b"a" * 3000 + b"\r\n")
        assert _reply(sock).startswith(b"500")
        sock.sendall(b"NOOP\r\n")
        assert _reply(sock).startswith(b"250")


def test_message_size_limit_from_maxemmsize(server) -> None:
    server.run("chgsmtpa", "MAXEMMSIZE(1)")
    def announced() -> bool:
        client = server.smtp()
        reply = client.ehlo_resp
        client.quit()
        return b"SIZE 1024" in reply

    eventually(announced, "SIZE 1024 announced")
    client = server.smtp()
    client.mail("<>")
    client.rcpt("postmaster")
    code, _ = client.data(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 40)
    assert code == 552
    client.quit()
    assert server.queued() == []


def test_junk_commands_are_limited(server) -> None:
    client = server.smtp()
    codes = [client.noop()[0] for _ in range(101)]
    assert codes[:100] == [250] * 100 and codes[100] == 421


def test_a_rejected_client_learns_nothing_of_the_lists(server) -> None:
    server.run("addsmtple", "*REJECT", "INTNETADR('127.0.10.0')", "SUBNETMASK('255.255.255.0')")

    def refused_text():
        try:
            server.smtp("127.0.10.7").quit()
        except smtplib.SMTPConnectError as error:
            return error.smtp_error
        return None

    assert eventually(refused_text, "connection refused") == b"5.7.1 Access denied"


def test_an_address_the_parser_trips_on_is_refused_as_malformed(server) -> None:
    """Garbage that makes the email parser raise gets 553 and no internals; the session
    goes on."""
    with _raw(server) as sock:
        _reply(sock)
        sock.sendall(b"EHLO client.test\r\n")
        _reply(sock)
        sock.sendall(b"MAIL FROM:<>\r\n")
        assert _reply(sock).startswith(b"250")
        for garbage in (b"<=@[>", b"<"):
            sock.sendall(b"RCPT TO:" + garbage + b"\r\n")
            reply = _reply(sock)
            assert reply.startswith(b"553"), reply
            assert b"malformed address" in reply and b"Attribute" not in reply, reply
        sock.sendall(b"RCPT TO:<postmaster>\r\n")
        assert _reply(sock).startswith(b"250")
        sock.sendall(b"QUIT\r\n")
