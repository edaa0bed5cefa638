"""Limits on a real server: SIZE and MAXEMMSIZE, MAXRCPT, MAXCLTEMM, MAXBADCMD, the data
timeout that does not cut a slow upload while data flows, and RBLSVR against a loopback
name server."""

from __future__ import annotations

import smtplib
import time

import pytest

from support import blocklist_server


def test_size_recipients_and_bad_commands(new_server):
    server = new_server()
    server.run("chgsmtpa", "MAXEMMSIZE(10) MAXRCPT(3) MAXBADCMD(4)")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert client.esmtp_features["size"] == str(10 * 1024)
        code, _ = client.mail("a@client.test", ["SIZE=20000"])
        assert code == 552
        assert client.mail("a@client.test")[0] == 250
        codes = [client.rcpt("postmaster@localhost")[0] for n in range(4)]
        assert codes[3] == 452
    finally:
        client.close()
    client = server.smtp()
    try:
        codes = [client.docmd("FROB")[0] for _ in range(3)]
        assert codes == [500, 500, 500]
        code, reply = client.docmd("FROB")
        assert code == 500
        assert client.getreply()[0] == 421
    except smtplib.SMTPServerDisconnected:
        pass
    finally:
        client.close()
    server.joblog_shows("TCP6051")


def test_sessions_per_client(new_server):
    server = new_server()
    server.run("chgsmtpa", "MAXCLTEMM(2)")
    server.start("SVRJOBS(1)")
    first, second = server.smtp("127.0.0.7"), server.smtp("127.0.0.7")
    try:
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", server.port, source_address=("127.0.0.7", 0), timeout=30)
        assert refused.value.smtp_code == 421
        other = server.smtp("127.0.0.8")        # another client is not affected
        other.quit()
    finally:
        first.quit()
        second.quit()
    third = server.smtp("127.0.0.7")            # sessions ended: the client may come back
    third.quit()


def test_slow_upload_is_not_cut_but_a_stalled_one_is(new_server):
    server = new_server()
    # DTATIMEOUT(2) against pauses of 0.25 s: a client or server job held off the CPU
    # for the rest of a 1 s timeout (a loaded machine) would have cut the upload.
    server.run("chgsmtpa", "DTATIMEOUT(2) CMDTIMEOUT(30)")
    server.start("SVRJOBS(1)")
    client = server.smtp()
    try:
        assert client.mail("a@client.test")[0] == 250
        assert client.rcpt("postmaster@localhost")[0] == 250
        assert client.docmd("DATA")[0] == 354
        # Data trickles in for longer than DTATIMEOUT in all (3 s), never pausing that long.
        for n in range(12):
            client.send(b"line %d of a slow upload\r\n" % n)
            time.sleep(0.25)
        client.send(b".\r\n")
        assert client.getreply()[0] == 250
        assert client.mail("b@client.test")[0] == 250
        assert client.rcpt("postmaster@localhost")[0] == 250
        assert client.docmd("DATA")[0] == 354
        client.send(b"Subject: stalls\r\n")
        # Then nothing: the server ends the session (the socket timeout bounds the wait).
        client.sock.settimeout(30)
        received = b""
        while True:
            chunk = client.sock.recv(4096)
            if not chunk:
                break
            received += chunk
        assert b"250" not in received
    finally:
        client.close()


def test_dnsbl_listed_client_is_refused(new_server):
    with blocklist_server({"9.0.0.127.bl.example."}) as nameserver:
        server = new_server()
        # DNS on for this server only, and only towards the loopback name server above.
        server.env["QTSMTP_DNS"] = "on"
        server.env["QTSMTP_DNSBL_NAMESERVER"] = nameserver
        server.run("chgsmtpa", "RBLSVR('bl.example')")
        server.start("SVRJOBS(1)")
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", server.port, source_address=("127.0.0.9", 0), timeout=30)
        assert refused.value.smtp_code == 554
        assert server.rcpt_code("127.0.0.10", "postmaster@localhost") == 250
        server.joblog_shows("TCP6037")
