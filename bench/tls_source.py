"""A small SMTP load client with STARTTLS: smtp-source's shape, which smtp-source cannot do.

    python bench/tls_source.py -s SESSIONS -m MESSAGES [-d] [-l LENGTH] [--timeout S] HOST:PORT

Like Postfix's smtp-source: SESSIONS sessions at once send MESSAGES messages of LENGTH
octets (default 1024) from bench@client.test to postmaster@bench.test, a new connection
per message or, with -d, many messages per connection. Unlike it, every connection says
STARTTLS after the first EHLO and does a full TLS handshake (no session is resumed; the
certificate is not verified: the servers compared share one self-signed certificate),
then EHLO again, MAIL, RCPT, DATA and, at the end of the connection, QUIT. One process,
asyncio on uvloop when it is installed (the loop qtsmtp's server jobs use too).

Any reply that is not the expected one ends the run with exit status 1 and says which:
a server that does not offer STARTTLS is never measured in plain text. Bounded: the whole
run by --timeout seconds, each reply by REPLY_TIMEOUT_SECONDS. Prints the messages per
second, and the client's own CPU time per message (on a machine whose CPUs the client
shares with the server, a client that saturates one would make every server look alike).

bench_throughput.py runs it against qtsmtp and Postfix alike; bench_security.py uses
``load`` in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import time

REPLY_TIMEOUT_SECONDS = 60
SENDER, RECIPIENT, HELO = b"bench@client.test", b"postmaster@bench.test", b"client.test"


class ReplyError(Exception):
    """The server answered something else than the command asks for."""


def message(length: int = 1024) -> bytes:
    """A message of ``length`` octets (at least its header section), CR LF lines, no line
    beginning with a dot, ending with CR LF."""
    head = (b"From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n\r\n" % (SENDER, RECIPIENT))
    line = b"x" * 78 + b"\r\n"
    body = line * max(0, (length - len(head)) // len(line))
    rest = length - len(head) - len(body)
    if rest >= 3:
        body += b"x" * (rest - 2) + b"\r\n"
    return head + body


def client_context() -> ssl.SSLContext:
    """TLS 1.2 or later, no certificate check, and no session kept for a resumption."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def reply(self, want: int, what: bytes) -> None:
        while True:
            line = await asyncio.wait_for(self.reader.readline(), REPLY_TIMEOUT_SECONDS)
            if not line:
                raise ReplyError(f"{what.decode()}: the server closed the connection")
            if line[3:4] != b"-":
                break
        if line[:3] != b"%d" % want:
            raise ReplyError(f"{what.decode()}: {line.decode('ascii', 'replace').strip()}")

    async def command(self, text: bytes, want: int) -> None:
        self.writer.write(text + b"\r\n")
        await self.reply(want, text)


async def _connection(host: str, port: int, tls: ssl.SSLContext | None, body: bytes,
                      take) -> None:
    """One connection: greeting, EHLO, STARTTLS, EHLO, then a message for each ``take()``
    that is true (one at least), then QUIT."""
    reader, writer = await asyncio.open_connection(host, port)
    session = Session(reader, writer)
    try:
        await session.reply(220, b"greeting")
        await session.command(b"EHLO " + HELO, 250)
        if tls is not None:
            await session.command(b"STARTTLS", 220)
            await writer.start_tls(tls)
            await session.command(b"EHLO " + HELO, 250)
        while True:
            await session.command(b"MAIL FROM:<" + SENDER + b">", 250)
            await session.command(b"RCPT TO:<" + RECIPIENT + b">", 250)
            await session.command(b"DATA", 354)
            writer.write(body)
            await session.command(b".", 250)
            if not take():
                break
        await session.command(b"QUIT", 221)
    finally:
        writer.close()


async def load(host: str, port: int, messages: int, sessions: int,
               tls: ssl.SSLContext | None, keep_open: bool = False, length: int = 1024,
               timeout: float = 600) -> float:
    """Send ``messages`` messages over ``sessions`` sessions at once; messages per second."""
    body = message(length)
    left = messages

    def take() -> bool:
        nonlocal left
        if left <= 0:
            return False
        left -= 1
        return True

    async def one_session() -> None:
        while take():
            await _connection(host, port, tls, body, take if keep_open else lambda: False)

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one_session() for _ in range(sessions))), timeout)
    return messages / (time.perf_counter() - start)


def run(host: str, port: int, messages: int, sessions: int, keep_open: bool = False,
        length: int = 1024, timeout: float = 600, starttls: bool = True) -> float:
    """``load`` on a loop of its own (uvloop's if installed)."""
    coroutine = load(host, port, messages, sessions, client_context() if starttls else None,
                     keep_open, length, timeout)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-s", type=int, default=10, dest="sessions")
    parser.add_argument("-m", type=int, default=1000, dest="messages")
    parser.add_argument("-l", type=int, default=1024, dest="length")
    parser.add_argument("-d", action="store_true", dest="keep_open",
                        help="many messages per connection")
    parser.add_argument("--plain", action="store_true", help="no STARTTLS (a check of the client)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("server", help="HOST:PORT")
    args = parser.parse_args(argv)
    host, _, port = args.server.rpartition(":")
    if not port.isdigit() or args.sessions < 1 or args.messages < 1:
        parser.error("HOST:PORT, and at least one session and one message")
    started = time.process_time()
    try:
        rate = run(host.strip("[]") or "127.0.0.1", int(port), args.messages, args.sessions,
                   args.keep_open, args.length, args.timeout, not args.plain)
    except (ReplyError, OSError, ssl.SSLError, TimeoutError) as failure:
        print(f"tls_source: {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
    cpu = (time.process_time() - started) / args.messages
    print(f"{rate:.1f} msg/s, client CPU {cpu * 1e6:.0f} us/msg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
