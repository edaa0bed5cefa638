"""Hostile bytes in SMTP arguments on a real server (issue 16 items 3 and 4): recipient
local parts that look like paths are refused at RCPT, control characters are refused in
every command's argument, and a quoted local part reaches the next hop quoted."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from support import eventually, free_port


def talk(server, lines: list[bytes], source: str = "127.0.0.2") -> list[bytes]:
    """Each line sent alone, and the reply it got."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30,
                                    source_address=(source, 0))
    try:
        sock.recv(4096)
        replies = []
        for line in lines:
            sock.sendall(line + b"\r\n")
            data = b""
            while not data.endswith(b"\r\n") or data.split(b"\r\n")[-2][3:4] == b"-":
                data += sock.recv(4096)
            replies.append(data)
        return replies
    finally:
        sock.close()


PATH_LIKE = [b"..@localhost", b"../../etc@localhost", b'"../../etc"@localhost',
             b".hidden@localhost", b"a/b@localhost", b'"a\\\\b"@localhost']


def test_path_like_local_parts_are_refused_at_rcpt(new_server) -> None:
    server = new_server()
    server.start("SVRJOBS(1)")
    replies = talk(server, [b"EHLO client.test", b"MAIL FROM:<a@client.test>"]
                   + [b"RCPT TO:<" + address + b">" for address in PATH_LIKE])
    for address, answer in zip(PATH_LIKE, replies[2:]):
        assert answer.startswith(b"501 5.1.3 "), (address, answer)
    server.joblog_shows("Bad recipient address syntax")
    mail = server.root / "mail"
    assert not mail.exists() or all(p.parent == mail for p in mail.iterdir())
    assert not (server.root / "etc").exists()


CONTROLLED = [b"MAIL FROM:<a\0b@client.test>", b'MAIL FROM:<"a\rRSET\r"@b.example>',
              b"MAIL FROM:<a@b.example> SIZE=1\x1b", b"HELO bad\0name", b"EHLO bad\x07name",
              b"VRFY post\0master", b"NOOP \x7f", b"AUTH PLAIN \0"]


def test_control_characters_are_refused_in_every_argument(new_server) -> None:
    server = new_server()
    server.start("SVRJOBS(1)")
    replies = talk(server, [b"EHLO client.test"] + CONTROLLED + [b"MAIL FROM:<a@client.test>",
                                                                 b"RCPT TO:<postmaster>"])
    for command, answer in zip(CONTROLLED, replies[1:]):
        assert answer.startswith(b"501 5.5.2 "), (command, answer)
    # Nothing of them was taken: the session still has no sender, and goes on.
    assert replies[-2].startswith(b"250") and replies[-1].startswith(b"250")
    server.joblog_shows("TCP3062")
    log = server.joblog_text("QTSMTPSRVP")
    assert "\0" not in log and "RSET\r" not in log and "\x1b" not in log


class _Hub(Controller):
    """A next hop on loopback that keeps each MAIL FROM argument as it came on the wire
    (aiosmtpd's own parsing would drop the quotes the test looks for)."""

    def __init__(self, port: int):
        self.arguments: list[str] = []
        super().__init__(_Accept(), hostname="127.0.0.1", port=port)

    def factory(self):
        hub = self

        class Recording(SMTP):
            async def smtp_MAIL(self, arg):
                hub.arguments.append(arg)
                await super().smtp_MAIL(arg)

        return Recording(self.handler)


class _Accept:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_a_quoted_local_part_reaches_the_next_hop_quoted(new_server) -> None:
    port = free_port()
    hub = _Hub(port)
    hub.start()
    try:
        server = new_server()
        server.run("chgsmtpa", f"FWDHUBSVR('127.0.0.1:{port}')")
        server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.0.2')",
                   "SUBNETMASK('255.255.255.255')")
        server.start("SVRJOBS(1)")
        senders = [b'"a b"@x.example', b'"a..b"@x.example', b'".a"@x.example']
        for sender in senders:
            replies = talk(server, [b"EHLO client.test", b"MAIL FROM:<" + sender + b">",
                                    b"RCPT TO:<user@far.example>", b"DATA",
                                    b"Subject: q\r\n\r\nx\r\n."])
            assert replies[-1].startswith(b"250"), replies
        eventually(lambda: len(hub.arguments) == 3, "three messages at the hub")
        assert sorted(a[:a.index(">") + 1] for a in hub.arguments) == sorted(
            "FROM:<" + s.decode() + ">" for s in senders)
    finally:
        hub.stop()
