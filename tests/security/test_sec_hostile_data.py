"""Hostile DATA on a real server (issue 16 items 1, 4 and 5): memory stays bounded
whatever a client sends, MAXEMMSIZE is enforced while reading, the smuggling sequences
are never the end of the data, bare CR and LF follow ALWBARELF, and long lines are
folded, not refused. Loopback only; every send is bounded in bytes."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from support import eventually

MIB = 1024 * 1024
LINE = b"x" * 998 + b"\r\n"
CHUNK = LINE * 1024                     # about 1 MiB of well-formed lines


def queued_messages(server) -> list[bytes]:
    """The messages in queue/incoming, without their envelope line."""
    return [p.read_bytes().split(b"\n", 1)[1]
            for p in sorted((server.root / "queue" / "incoming").iterdir())]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class Peak:
    """The highest VmRSS of a process while the block runs, sampled every 50 ms."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_kib(self.pid))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_kib(self.pid))


def reply(sock: socket.socket) -> bytes:
    data = b""
    while True:
        data += sock.recv(65536) or b"<closed>"
        lines = data.split(b"\r\n")
        if data.endswith(b"<closed>") or (len(lines) > 1 and lines[-2][3:4] == b" "):
            return data


def in_data(server, source: str = "127.0.0.2") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60,
                                    source_address=(source, 0))
    assert reply(sock).startswith(b"220")
    for command, code in ((b"EHLO client.test", b"250"), (b"MAIL FROM:<a@client.test>", b"250"),
                          (b"RCPT TO:<postmaster>", b"250"), (b"DATA", b"354")):
        sock.sendall(command + b"\r\n")
        answer = reply(sock)
        assert answer.startswith(code), (command, answer)
    return sock


def test_a_gigabyte_without_the_dot_does_not_grow_the_server_job(new_server) -> None:
    """The attack of item 1, scaled to 200 MiB: before, the job grew by what was sent
    and kept it; now it grows by little, and nothing of it stays in queue/tmp."""
    server = new_server()
    server.run("chgsmtpa", "MAXEMMSIZE(*NOMAX)")
    server.start("SVRJOBS(1)")
    job = server.job("QTSMTPSRVP")["pid"]
    warm = in_data(server)                       # the job's first message: imports done
    warm.sendall(b"Subject: warm\r\n\r\nx\r\n.\r\n")
    assert reply(warm).startswith(b"250")
    warm.close()
    before = rss_kib(job)
    sock = in_data(server)
    with Peak(job) as peak:
        for _ in range(200):
            sock.sendall(CHUNK)
        tmp = server.root / "queue" / "tmp"
        eventually(lambda: any(p.stat().st_size > 150 * MIB for p in tmp.iterdir()),
                   "the message spooled to queue/tmp as it arrived")
        sock.close()
    grown_mib = (peak.peak - before) / 1024
    assert grown_mib < 64, f"the server job grew by {grown_mib:.0f} MiB for 200 MiB of DATA"
    eventually(lambda: list(tmp.iterdir()) == [], "queue/tmp emptied after the session ended")
    assert server.queued() == []


def test_the_shipped_size_limit_is_enforced_while_reading(new_server) -> None:
    server = new_server()
    server.start("SVRJOBS(1)")
    sock = in_data(server)
    for _ in range(12):                          # 12 MiB: above the shipped 10240 KB
        sock.sendall(CHUNK)
    sock.sendall(b".\r\n")
    answer = reply(sock)
    assert answer.startswith(b"552 5.3.4 "), answer
    sock.sendall(b"RSET\r\nQUIT\r\n")            # the session goes on after the refusal
    assert reply(sock).startswith(b"250")
    sock.close()
    server.joblog_shows("TCP3060")
    assert server.queued() == []
    assert list((server.root / "queue" / "tmp").iterdir()) == []


SMUGGLED = [b"\n.\n", b"\r.\r\n", b"\n.\r\n"]


def smuggle(server, sequence: bytes) -> list[bytes]:
    """A message whose data holds ``sequence`` and then commands: every reply."""
    sock = in_data(server)
    sock.sendall(b"Subject: s\r\n\r\nline1" + sequence + b"MAIL FROM:<smuggled@evil.test>\r\n"
                 b"RCPT TO:<postmaster>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n")
    answers = b""
    while b"221" not in answers and not answers.endswith(b"<closed>"):
        answers += reply(sock)
    sock.close()
    return [a for a in answers.split(b"\r\n") if a]


def test_smuggling_sequences_are_refused_with_alwbarelf_no(new_server) -> None:
    server = new_server()
    server.start("SVRJOBS(1)")
    for sequence in SMUGGLED:
        answers = smuggle(server, sequence)
        # One reply for the whole message, then QUIT's: the "commands" were data.
        assert len(answers) == 2 and answers[0].startswith(b"550 5.6.2 "), (sequence, answers)
        assert answers[1].startswith(b"221")
    server.joblog_shows("TCP3060")
    assert server.queued() == []


def test_alwbarelf_yes_accepts_them_and_stores_only_crlf(new_server) -> None:
    server = new_server()
    server.run("chgsmtpa", "ALWBARELF(*YES)")
    lock = server.hold_delivery()
    try:
        server.start("SVRJOBS(1)")
        for sequence in SMUGGLED:
            answers = smuggle(server, sequence)
            assert len(answers) == 2 and answers[0].startswith(b"250 "), (sequence, answers)
        stored = queued_messages(server)
    finally:
        os.close(lock)
    assert len(stored) == 3
    for message in stored:
        assert message.count(b"\r") == message.count(b"\n") == message.count(b"\r\n")
        # The client's dot line is an empty line now: no hop can take it for an end.
        assert b"\r\n.\r\n" not in message and b"\r\nMAIL FROM:<smuggled@evil.test>\r\n" in message


def test_long_lines_are_accepted_and_folded(new_server) -> None:
    """Issue 18 item 5: a header line of 3000 octets used to get 500 Line too long."""
    server = new_server()
    lock = server.hold_delivery()
    try:
        server.start("SVRJOBS(1)")
        long_header = b"X-Long: " + b"h" * 2992
        body = b"b" * 5000
        sock = in_data(server)
        sock.sendall(long_header + b"\r\nSubject: long\r\n\r\n" + body + b"\r\n.\r\n")
        answer = reply(sock)
        sock.close()
        assert answer.startswith(b"250 "), answer
        [text] = queued_messages(server)
    finally:
        os.close(lock)
    assert max(map(len, text.split(b"\r\n"))) == 998
    assert long_header + b"\r\nSubject: long\r\n\r\n" + body in text.replace(b"\r\n ", b"")
    server.joblog_shows("TCP3061")
