"""Fuzzing the SMTP side over real connections (hypothesis): whatever arrives, the server
stays up and answers the next client, and its memory stays bounded under 10,000 RCPTs,
10 MB lines, NUL bytes and random bytes."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st


MEMORY_BOUND_KB = 200 * 1024      # growth allowed over the whole test, per server job


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def send_and_drain(port: int, data: bytes, source: str = "127.0.0.3") -> bytes:
    """Send ``data`` (reading replies as we go, so no side blocks), then half-close and
    read what is left; bounded by the socket timeout."""
    got = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=20,
                                  source_address=(source, 0)) as s:
        s.settimeout(20)
        view = memoryview(data)
        try:
            while view:
                sent = s.send(view[:65536])
                view = view[sent:]
                s.setblocking(False)
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            return bytes(got)
                        got += chunk
                        if len(got) > 4_000_000:
                            del got[:2_000_000]
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
                    s.settimeout(20)
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                if len(got) > 4_000_000:
                    del got[:2_000_000]
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
    return bytes(got)


def still_serving(server) -> None:
    assert server.rcpt_code("127.0.0.2", "postmaster@localhost") == 250


@pytest.fixture
def fuzz_server(new_server):
    server = new_server()
    server.start("SVRJOBS(1)")
    return server


COMMANDS = st.sampled_from([b"EHLO x", b"HELO y", b"MAIL FROM:<a@b.c>", b"RCPT TO:<d@e.f>",
                            b"DATA", b"RSET", b"NOOP", b"VRFY z", b"AUTH PLAIN", b"STARTTLS",
                            b"BDAT 10", b"MAIL FROM:<>", b"RCPT TO:<@a,@b:c@d>", b"."])
LINES = st.one_of(COMMANDS, st.binary(max_size=300),
                  st.builds(lambda c, junk: c + b" " + junk, COMMANDS, st.binary(max_size=100)))


def test_random_sessions_never_take_the_server_down(fuzz_server):
    port = fuzz_server.port

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(LINES, max_size=30), st.sampled_from([b"\r\n", b"\n", b"\r", b"\0\r\n"]))
    def one_session(lines, ending):
        send_and_drain(port, ending.join(lines) + ending + b"QUIT\r\n")

    one_session()
    still_serving(fuzz_server)


def test_ten_thousand_recipients_ten_megabyte_lines_and_nul_bytes(fuzz_server):
    [pid] = fuzz_server.job_pids("QTSMTPSRVP")
    before = rss_kb(pid)
    port = fuzz_server.port
    rcpts = b"EHLO x\r\nMAIL FROM:<a@client.test>\r\n" + b"".join(
        b"RCPT TO:<postmaster@localhost>\r\n" for n in range(10_000)) + b"RSET\r\nQUIT\r\n"
    replies = send_and_drain(port, rcpts)
    assert b"452 4.5.3 Too many recipients" in replies or b"421" in replies
    huge_line = b"EHLO " + b"x" * (10 * 1024 * 1024) + b"\r\nQUIT\r\n"
    replies = send_and_drain(port, huge_line)
    assert b"500" in replies or replies == b"" or b"421" in replies
    huge_data = (b"EHLO x\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<postmaster@localhost>\r\n"
                 b"DATA\r\n" + b"y" * (10 * 1024 * 1024) + b"\r\n.\r\nQUIT\r\n")
    send_and_drain(port, huge_data)
    nul = b"EHLO \0\0\0\r\nMAIL FROM:<a\0@b>\r\n\0\0\0\0\r\n" * 200 + b"QUIT\r\n"
    send_and_drain(port, nul)
    import random
    noise = random.Random(1234).randbytes(3 * 1024 * 1024)
    send_and_drain(port, noise)
    still_serving(fuzz_server)
    assert fuzz_server.job_pids("QTSMTPSRVP") == [pid], "the server job was replaced"
    grown = rss_kb(pid) - before
    assert grown < MEMORY_BOUND_KB, f"server job grew by {grown} KB"
