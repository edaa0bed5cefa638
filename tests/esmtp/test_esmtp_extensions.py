"""ESMTP as a modern MTA speaks it, over real SMTP clients (smtplib, swaks): what EHLO
offers and under which CHGSMTPA control, RFC 3463 codes on every reply, RFC 3848
with-protocol values, Maildir files with LF line ends, and never an empty reason."""

from __future__ import annotations

import mailbox
import smtplib
import socket
import subprocess

from support import eventually, tool


def _ehlo_keywords(server) -> set[str]:
    client = server.smtp()
    try:
        return {k.upper() for k in client.esmtp_features}
    finally:
        client.quit()


def test_ehlo_offers_what_is_honoured_under_its_control(new_server):
    server = new_server()
    server.start("SVRJOBS(1)")
    offered = _ehlo_keywords(server)
    assert {"pipelining", "enhancedstatuscodes", "8bitmime", "size"} <= {k.lower() for k in offered}
    assert "CHUNKING" not in offered and "BDAT" not in offered
    server.run("chgsmtpa", "ESMTPEXT(*ENHSTSCODE) MIME8BIT(*NO)")
    offered = _ehlo_keywords(server)
    assert "ENHANCEDSTATUSCODES" in offered
    assert not {"PIPELINING", "8BITMIME", "SMTPUTF8"} & offered
    server.run("chgsmtpa", "ESMTPEXT(*NONE)")
    assert not {"PIPELINING", "ENHANCEDSTATUSCODES"} & _ehlo_keywords(server)


def test_every_reply_but_greeting_and_ehlo_carries_an_enhanced_code(new_server):
    server = new_server()
    server.start("SVRJOBS(1)")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        wire = sock.makefile("rwb")

        def say(line: bytes) -> list[bytes]:
            wire.write(line + b"\r\n")
            wire.flush()
            return read()

        def read() -> list[bytes]:
            lines = []
            while True:
                lines.append(wire.readline().rstrip(b"\r\n"))
                if lines[-1][3:4] != b"-":
                    return lines
        greeting = read()
        assert greeting[0].startswith(b"220 sys.test ")            # no code in the greeting
        ehlo = say(b"EHLO client.test")
        assert ehlo[0] == b"250-sys.test" and b"250 HELP" == ehlo[-1]
        assert say(b"DATA")[0].startswith(b"503 5.5.1 ")           # aiosmtpd's own reply
        assert say(b"MAIL FROM:<a@client.test>")[0].startswith(b"250 2.1.0 ")
        assert say(b"MAIL FROM:<a@client.test>")[0].startswith(b"503 5.5.1 ")
        assert say(b"RSET")[0].startswith(b"250 2.0.0 ")
        assert say(b"NOOP")[0].startswith(b"250 2.0.0 ")
        assert say(b"XYZZY")[0].startswith(b"500 5.5.2 ")
        assert say(b"QUIT")[0].startswith(b"221 2.0.0 ")


def test_pipelined_swaks_session_is_answered_in_order(new_server):
    server = new_server(users=["BOB"])
    server.start("SVRJOBS(1)")
    swaks = tool("swaks", "swaks")
    result = subprocess.run(
        [swaks, "--server", "127.0.0.1", "--port", str(server.port), "--pipeline",
         "--from", "a@client.test", "--to", "postmaster@sys.test", "--to", "bob@sys.test",
         "--helo", "client.test", "--body", "pipelined"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # swaks sends MAIL, both RCPTs and DATA in one write, then reads four replies.
    assert "RCPT TO:<bob@sys.test>\n -> DATA" in result.stdout.replace("\r", ""), result.stdout
    assert "<-  354" in result.stdout and "<-  250 2.0.0 Ok: queued as" in result.stdout


def test_received_says_esmtps_and_esmtpsa(new_server, certificate):
    cert, key = certificate
    server = new_server(f"TLSCERT('{cert}') TLSKEY('{key}') ALWAUTH(*LOCAL *RELAY)")
    server.add_user("alice", "wonderland")
    server.start("SVRJOBS(1)")

    def send(login: bool) -> None:
        client = server.smtp()
        try:
            client.starttls()
            client.ehlo("client.test")
            if login:
                client.login("alice", "wonderland")
            assert not client.sendmail("a@client.test", ["postmaster@sys.test"],
                                       b"Subject: x\r\n\r\nx\r\n")
        finally:
            client.quit()
    send(False)
    send(True)
    client = server.smtp()
    client.sendmail("a@client.test", ["postmaster@sys.test"], b"Subject: plain\r\n\r\nx\r\n")
    client.quit()
    box = server.root / "mail" / "postmaster" / "new"
    eventually(lambda: box.exists() and len(list(box.iterdir())) == 3, "three delivered")
    withs = sorted(path.read_bytes().split(b"\n\tby ", 1)[1].split(b" with ")[1].split(b" ")[0]
                   for path in box.iterdir())
    assert withs == [b"ESMTP", b"ESMTPS", b"ESMTPSA"], withs


def test_maildir_files_have_lf_line_ends(new_server):
    server = new_server()
    server.start("SVRJOBS(1)")
    client = server.smtp()
    body = b"From: a@client.test\r\nSubject: line ends\r\n\r\nline one\r\nline two\r\n"
    client.sendmail("a@client.test", ["postmaster@sys.test"], body)
    client.quit()
    box = server.root / "mail" / "postmaster"
    eventually(lambda: (box / "new").exists() and any((box / "new").iterdir()), "delivered")
    raw = next((box / "new").iterdir()).read_bytes()
    assert b"\r" not in raw, raw
    assert raw.startswith(b"Return-Path: <a@client.test>\nDelivered-To: postmaster@sys.test\n")
    assert raw.endswith(b"\n\nline one\nline two\n")
    messages = list(mailbox.Maildir(box, create=False))
    assert len(messages) == 1
    assert messages[0]["Subject"] == "line ends"
    assert messages[0].get_payload() == "line one\nline two\n"


def test_deferral_reason_names_the_failure_and_the_last_reply(new_server):
    """A next hop that greets, answers EHLO and then closes: the reason is never empty."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(60)
    server = new_server(f"FWDHUBSVR('127.0.0.1:{listener.getsockname()[1]}')")
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    client.sendmail("a@client.test", ["far@remote.test"], b"Subject: x\r\n\r\nx\r\n")
    client.quit()
    try:
        peer, _ = listener.accept()
        with peer:
            peer.sendall(b"220 hub.test ESMTP\r\n")
            peer.recv(1000)
            peer.sendall(b"250-hub.test\r\n250 PIPELINING\r\n")
            peer.recv(1000)                     # MAIL, RCPT: then the hub hangs up
    finally:
        listener.close()
    line = server.joblog_shows("TCP5011", "QTSMTPCLTD")
    reason = line.split("deferred: ", 1)[1]
    assert "closed the connection" in reason and "last reply: 250" in reason, line
    assert "session failed: ;" not in line


def test_smtplib_sees_pipelining_and_enhanced_codes(new_server):
    server = new_server()
    server.start("SVRJOBS(1)")
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
    try:
        client.ehlo("client.test")
        assert client.has_extn("pipelining") and client.has_extn("enhancedstatuscodes")
        code, text = client.rcpt("x@sys.test")
        assert code == 503 and text.startswith(b"5.5.1 ")
    finally:
        client.quit()


def test_mime8bit_no_refuses_body_8bitmime_and_8bit_data(new_server):
    server = new_server("MIME8BIT(*NO)")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert not client.has_extn("8bitmime") and not client.has_extn("smtputf8")
        code, text = client.mail("a@client.test", ["BODY=8BITMIME"])
        assert (code, text[:6]) == (555, b"5.5.4 "), text
        assert client.mail("a@client.test")[0] == 250
        assert client.rcpt("postmaster@sys.test")[0] == 250
        code, text = client.data("Subject: caf\xe9\r\n\r\nna\xefve\r\n".encode("latin-1"))
        assert (code, text[:6]) == (554, b"5.6.1 "), text
        # 7-bit mail is taken as ever.
        assert not client.sendmail("a@client.test", ["postmaster@sys.test"],
                                   b"Subject: plain\r\n\r\nascii only\r\n")
    finally:
        client.quit()
    # The 7-bit message goes to postmaster's mailbox, and is in both the mailbox and the
    # queue for a moment (the queue file goes only once the mailbox copy is durable): wait
    # for one copy. The refused one is never anywhere.
    def held_once():
        found = server.stored_messages()
        assert not any("na\xefve".encode("latin-1") in m for m in found), found
        return len(found) == 1 and found
    (kept,) = eventually(held_once, "the 7-bit message held once")
    assert b"ascii only" in kept


def test_8bit_mail_to_a_hop_without_8bitmime_goes_quoted_printable(new_server, sinks):
    hub = sinks(without=["8BITMIME"])
    server = new_server(f"FWDHUBSVR('{hub.address}')")
    server.run("addsmtple", "TYPE(*ACCEPT)", "INTNETADR('127.0.0.2')")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        body = ("From: a@client.test\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\nSubject: 8 bits\r\n\r\nna\u00efve\r\n").encode()
        assert not client.sendmail("a@client.test", ["far@remote.test"], body, ["BODY=8BITMIME"])
    finally:
        client.quit()
    eventually(lambda: len(hub.messages) == 1, "relayed")
    relayed = hub.messages[0]
    assert "BODY=8BITMIME" not in relayed.mail_options
    assert relayed.original_content.isascii()
    assert b"Content-Transfer-Encoding: quoted-printable" in relayed.original_content
    assert b"na=C3=AFve" in relayed.original_content


def _help(client, command: str = "") -> tuple[int, str]:
    code, text = client.docmd("HELP", command) if command else client.docmd("HELP")
    return code, text.decode()


def _listed(client) -> set[str]:
    code, text = _help(client)
    assert code == 250 and "Supported commands: " in text, (code, text)
    return set(text.split("Supported commands: ")[1].split())


def test_help_lists_the_commands_the_session_may_use(new_server):
    """HELP lists every command this session may use (aiosmtpd's HELP lists only the
    command methods that carry its @syntax text: the server's own overrides had lost it,
    and HELP left out MAIL, RCPT, DATA, EHLO, HELO and QUIT), each with its syntax, and
    ETRN only while ETRNSVR(*YES) offers it in EHLO."""
    server = new_server()
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert _listed(client) == {"DATA", "EHLO", "HELO", "HELP", "MAIL", "NOOP", "QUIT",
                                   "RCPT", "RSET", "VRFY"}
        assert _help(client, "MAIL") == (250, "2.0.0 Syntax: MAIL FROM: <address> [SP <mail-parameters>]")
        assert _help(client, "rcpt") == (250, "2.0.0 Syntax: RCPT TO: <address> [SP <mail-parameters>]")
        for command in ("DATA", "EHLO", "HELO", "QUIT"):
            code, text = _help(client, command)
            assert code == 250 and text.startswith(f"2.0.0 Syntax: {command}"), (command, text)
        assert _help(client, "ETRN")[0] == 501
        assert _help(client, "AUTH")[0] == 501               # not offered without TLS
    finally:
        client.quit()
    server.run("chgsmtpa", "ETRNSVR(*YES)")
    client = server.smtp()
    try:
        assert "etrn" in client.esmtp_features and "ETRN" in _listed(client)
        assert _help(client, "ETRN") == (250, "2.0.0 Syntax: ETRN domain | @domain")
    finally:
        client.quit()
