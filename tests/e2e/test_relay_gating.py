"""Relay gating over real SMTP: smtplib clients bound to different loopback addresses.

The server is the one STRTCPSVR starts on a temporary copy of the embedded default
library; the lists are changed with the console commands while it runs, and each test
waits (bounded) for the next connection to see the change.
"""

from __future__ import annotations

import os
import smtplib

import pytest

from support import eventually

FAR = "user@far.example"


def wait_for_rcpt(server, source: str, recipient: str, code: int, host: str = "127.0.0.1"):
    eventually(lambda: server.rcpt_code(source, recipient, host) == code,
               f"RCPT {recipient} from {source} answered {code}")


def test_closed_by_default_but_local_mail_and_null_sender_accepted(server_root) -> None:
    server = server_root
    # The queued file is read below: held, the local delivery cannot take it first.
    lock = server.hold_delivery()
    try:
        server.start("SVRJOBS(2)")
        client = server.smtp("127.0.0.2")
        assert client.mail("<>")[0] == 250                  # never refuse the null sender
        code, text = client.rcpt(FAR)
        assert (code, text) == (550, b"5.7.1 Relaying denied")
        assert client.rcpt("postmaster")[0] == 250          # local: not a relay
        # The refused RCPT ended nothing: the session and the transaction go on.
        code, text = client.data(b"Subject: e2e\r\nMessage-ID: <closed@test>\r\n\r\nbody\r\n")
        assert code == 250 and text.startswith(b"2.0.0 Ok: queued as ")
        client.quit()
        queue_id = text.split()[-1].decode()
        stored = server.queue_file(queue_id)
    finally:
        os.close(lock)
    header, _, message = stored.partition(b"\n")
    assert b'"recipients":["postmaster"]' in header and b'"sender":""' in header
    # RFC 2505 item 2: the real client address and the HELO it gave.
    assert message.startswith(b"Received: from client.test ([127.0.0.2])")
    assert b"Message-ID: <closed@test>" in message
    server.joblog_shows("relay refused: ALWRLY(*LIST) and client 127.0.0.2 matches no *ACCEPT entry",
                        "QTSMTPSRVP")


def test_accept_entry_with_mask_lets_its_network_relay(server) -> None:
    assert server.rcpt_code("127.0.2.9", FAR) == 550
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.2.0')", "SUBNETMASK('255.255.255.0')")
    wait_for_rcpt(server, "127.0.2.9", FAR, 250)
    assert server.rcpt_code("127.0.2.200", FAR) == 250
    assert server.rcpt_code("127.0.3.1", FAR) == 550        # outside the mask
    server.joblog_shows("matches *ACCEPT entry 127.0.2.0 255.255.255.0", "QTSMTPSRVP")
    server.run("rmvsmtple", "*ACCEPT", "INTNETADR('127.0.2.0')", "SUBNETMASK('255.255.255.0')")
    wait_for_rcpt(server, "127.0.2.9", FAR, 550)


def test_reject_entry_refuses_the_connection_even_when_accepted(server) -> None:
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.4.0')", "SUBNETMASK('255.255.255.0')")
    server.run("addsmtple", "*REJECT", "INTNETADR('127.0.4.4')")

    def refused() -> bool:
        try:
            server.smtp("127.0.4.4").quit()
        except smtplib.SMTPConnectError as error:
            assert (error.smtp_code, error.smtp_error) == (554, b"5.7.1 Access denied")
            return True
        return False

    eventually(refused, "554 at connect for a *REJECT client")
    assert server.rcpt_code("127.0.4.5", FAR) == 250         # its neighbour still relays
    server.joblog_shows("connection refused: client 127.0.4.4 matches *REJECT entry")


# ALWRLY mode -> the RCPT code for (client, recipient), with these lists:
#   *ACCEPT 127.0.5.0/24   *NEAR 127.0.6.0/24   *NEAR near.example   *DOMAIN corp.example
PROBES = [("127.0.5.1", FAR), ("127.0.6.1", FAR), ("127.0.7.1", "u@near.example"),
          ("127.0.7.1", "u@sub.near.example"), ("127.0.7.1", FAR), ("127.0.7.1", "postmaster@corp.example")]
EXPECTED = {
    "*NONE": [550, 550, 550, 550, 550, 250],
    "*ALL":  [250, 250, 250, 250, 250, 250],
    "*LIST": [250, 550, 550, 550, 550, 250],
    "*NEAR": [550, 250, 250, 550, 550, 250],
    "*BOTH": [250, 250, 250, 550, 550, 250],
}


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_each_alwrly_mode(server_root, mode) -> None:
    server = server_root
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.5.0')", "SUBNETMASK('255.255.255.0')")
    server.run("addsmtple", "*NEAR", "INTNETADR('127.0.6.0')", "SUBNETMASK('255.255.255.0')")
    server.run("addsmtple", "*NEAR", "HOSTNAME(near.example)")
    server.run("addsmtple", "*DOMAIN", "HOSTNAME(corp.example)")
    result = server.run("chgsmtpa", f"ALWRLY({mode})")
    assert ("TCP2663" in result.stderr + result.stdout) == (mode == "*ALL")
    server.start("SVRJOBS(1)")
    got = [server.rcpt_code(client, rcpt) for client, rcpt in PROBES]
    assert got == EXPECTED[mode]


def test_near_domain_with_leading_dot_takes_sub_domains(server) -> None:
    server.run("chgsmtpa", "ALWRLY(*NEAR)")
    server.run("addsmtple", "*NEAR", "HOSTNAME('.near.example')")
    wait_for_rcpt(server, "127.0.8.1", "u@deep.sub.near.example", 250)
    assert server.rcpt_code("127.0.8.1", "u@near.example") == 250
    assert server.rcpt_code("127.0.8.1", "u@notnear.example") == 550


def test_routing_tricks_are_resolved_before_deciding(server) -> None:
    # Each of these names this system after its "@" but really goes to far.example.
    for tricky in ("relaytest%far.example@[127.0.0.1]", "far.example!relaytest@[127.0.0.1]",
                   "@[127.0.0.1]:relaytest@far.example", '"relaytest@far.example"@[127.0.0.1]'):
        # 550 (a relay, refused), 501 (our parser) or 553 (aiosmtpd's): never a 2xx.
        assert server.rcpt_code("127.0.0.2", tricky) // 100 == 5, tricky
    assert server.rcpt_code("127.0.0.2", "relaytest@far.example@[127.0.0.1]") // 100 == 5
    # The same tricks from a client that may relay are accepted: they were understood.
    server.run("addsmtple", "*ACCEPT", "INTNETADR('127.0.0.3')")
    wait_for_rcpt(server, "127.0.0.3", "relaytest%far.example@[127.0.0.1]", 250)


def test_ipv6_client_on_loopback(server) -> None:
    assert server.rcpt_code("::1", FAR, host="::1") == 550
    server.run("addsmtple", "*ACCEPTIP6", "IP6NETADR('::1')")
    wait_for_rcpt(server, "::1", FAR, 250, host="::1")
    server.joblog_shows("client ::1 matches *ACCEPTIP6 entry ::1 128", "QTSMTPSRVP")
    # The IPv4 list was not touched: 127.0.0.2 still may not relay.
    assert server.rcpt_code("127.0.0.2", FAR) == 550


def test_attribute_change_applies_live(server) -> None:
    server.run("chgsmtpa", "ALWRLY(*ALL)")
    wait_for_rcpt(server, "127.0.0.9", FAR, 250)
    server.run("chgsmtpa", "ALWRLY(*NONE)")
    wait_for_rcpt(server, "127.0.0.9", FAR, 550)
