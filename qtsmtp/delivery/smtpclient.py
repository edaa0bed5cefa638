"""Outbound SMTP on asyncio: one transaction per message and next hop, connections kept
open and reused, at most ``per_destination`` connections to one host at a time.

It speaks what a relay needs and no more: EHLO (HELO when refused), STARTTLS whenever the
next hop offers it (opportunistic: see Connection.open), AUTH PLAIN or
LOGIN when the next hop offers AUTH and *HOSTAUTH holds credentials for it, PIPELINING of
MAIL and RCPT when offered, BODY=8BITMIME for 8-bit content (quoted-printable to a hop
without 8BITMIME: delivery.downgrade), SMTPUTF8 for a message that
needs it (never sent to a hop without it), the DSN parameters of RFC 3461 when the hop
offers DSN, and dot-stuffing. Every reply
is kept per recipient, so the engine can decide recipient by recipient.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass, field

from qtsmtp.delivery.downgrade import seven_bit
from qtsmtp.messages import printable
from qtsmtp.queue.dsnfields import orcpt_parameter, xtext_encode

CONNECT_TIMEOUT = 30.0
TRANSACTION_TIMEOUT = 600.0
REUSE_LIMIT = 1000              # transactions on one connection before it is renewed


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def line(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class Envelope:
    """What a transaction carries besides the addresses: SMTPUTF8 (RFC 6531) and the DSN
    parameters (RFC 3461), passed on when the next hop offers them."""
    utf8: bool = False                       # the message needs SMTPUTF8
    ret: str = ""
    envid: str = ""
    notify: dict = field(default_factory=dict)    # recipient -> [NOTIFY values]
    orcpt: dict = field(default_factory=dict)     # recipient -> "type;address"


NO_8BIT = ("5.6.3 next hop does not offer 8BITMIME and an 8-bit header cannot be "
           "converted (RFC 6152 3)")
NO_UTF8 = "5.6.7 next hop does not offer SMTPUTF8; the address cannot be sent there (RFC 6531 3.2)"


class SMTPFailure(Exception):
    """The connection cannot be used: the reply (4xx for a network fault) says why."""

    def __init__(self, reply: Reply):
        super().__init__(reply.line)
        self.reply = reply


def temporary(text: str) -> Reply:
    return Reply(451, f"4.4.2 {text}")


def describe(error: BaseException) -> str:
    """Never empty: a timeout's or a closed stream's text often is. The exception class,
    then what it says (an OSError's strerror rather than its tuple)."""
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    said = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)
    name = type(error).__name__
    return f"{name}: {said}" if said else name


def after(conn: Connection | None) -> str:
    """The peer's last reply, for a reason: "; last reply: 250 2.1.0 Ok" or ""."""
    if conn is None or conn.last_reply is None:
        return ""
    return f"; last reply: {' '.join(conn.last_reply.line.split())[:200]}"


class Connection:
    def __init__(self, host: str, port: int, reader, writer):
        self.host, self.port = host, port
        self.reader, self.writer = reader, writer
        self.extensions: dict[str, str] = {}
        self.used = 0
        self.broken = False
        self.last_reply: Reply | None = None     # what the peer said last (reasons)

    @classmethod
    async def open(cls, host: str, port: int, helo: str, source: str | None = None,
                   credentials: tuple[str, str] | None = None,
                   tls_context: ssl.SSLContext | None = None) -> "Connection":
        """A ready session. STARTTLS is opportunistic (RFC 7435): without credentials the
        certificate is not checked, and a failed handshake is retried in clear text, as
        Postfix's "may" level does. A host that gets a password gets a verified context
        and is never downgraded."""
        try:
            return await cls._open(host, port, helo, source, credentials, tls_context, True)
        except _HandshakeFailed as failed:
            if credentials:
                raise SMTPFailure(temporary(f"{host} port {port}: TLS failed ({failed}); "
                                            "credentials are sent only over verified TLS")) from None
            return await cls._open(host, port, helo, source, None, tls_context, False)

    @classmethod
    async def _open(cls, host, port, helo, source, credentials, tls_context, use_tls) -> "Connection":
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                host, port, local_addr=(source, 0) if source else None, limit=1 << 20),
                CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as bad:
            raise SMTPFailure(temporary(f"cannot connect to {host} port {port}: "
                                        f"{describe(bad)}")) from None
        conn = cls(host, port, reader, writer)
        try:
            await asyncio.wait_for(conn._start(helo, credentials, tls_context, use_tls),
                                   CONNECT_TIMEOUT * 2)
        except _HandshakeFailed:
            conn.close()
            raise
        except SMTPFailure:
            conn.close()
            raise
        except (OSError, asyncio.TimeoutError, ssl.SSLError, asyncio.IncompleteReadError) as bad:
            conn.close()
            raise SMTPFailure(temporary(f"{host} port {port}: session failed: "
                                        f"{describe(bad)}{after(conn)}")) from None
        return conn

    async def _start(self, helo, credentials, tls_context, use_tls) -> None:
        greeting = await self.reply()
        if greeting.code != 220:
            raise SMTPFailure(greeting)
        await self._hello(helo)
        if use_tls and "STARTTLS" in self.extensions:
            reply = await self.command("STARTTLS")
            if reply.code == 220:
                context = tls_context or (verified_context() if credentials else opportunistic_context())
                try:
                    await self.writer.start_tls(context, server_hostname=self.host)
                except (ssl.SSLError, ConnectionError) as bad:
                    raise _HandshakeFailed(describe(bad)) from None
                await self._hello(helo)
        if credentials and "AUTH" in self.extensions:
            if self.writer.get_extra_info("ssl_object") is None:
                # A password in clear text can be read by anyone on the path: rather defer.
                raise SMTPFailure(temporary(f"{self.host} offers AUTH without TLS; "
                                            "credentials are sent only over TLS"))
            await self._authenticate(*credentials)

    async def _hello(self, helo: str) -> None:
        reply = await self.command(f"EHLO {helo}")
        if reply.code != 250:
            reply = await self.command(f"HELO {helo}")
            if reply.code != 250:
                raise SMTPFailure(reply)
            self.extensions = {}
            return
        extensions = {}
        for line in reply.text.split("\n")[1:]:
            word, _, rest = line.strip().partition(" ")
            extensions[word.upper()] = rest
        self.extensions = extensions

    async def _authenticate(self, user: str, password: str) -> None:
        mechanisms = self.extensions.get("AUTH", "").upper().split()
        if "PLAIN" in mechanisms:
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            reply = await self.command(f"AUTH PLAIN {token}")
        elif "LOGIN" in mechanisms:
            reply = await self.command("AUTH LOGIN")
            for value in (user, password):
                if reply.code != 334:
                    break
                reply = await self.command(base64.b64encode(value.encode()).decode())
        else:
            return                              # nothing we speak: go on without AUTH
        if reply.code != 235:
            raise SMTPFailure(reply if reply.code >= 400 else temporary(reply.line))

    # --- the wire ---------------------------------------------------------------------

    async def reply(self) -> Reply:
        lines = []
        while True:
            line = await self.reader.readline()
            if not line.endswith(b"\n"):
                raise SMTPFailure(temporary(f"{self.host} closed the connection{after(self)}"))
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if len(text) < 3 or not text[:3].isdigit():
                raise SMTPFailure(temporary(f"{self.host} sent a malformed reply: {text[:80]!r}"))
            # The next hop's own words, kept in the queue, the journal and DSNs and shown
            # to the operator (WRKSMTPQ, DSPSMTPJRN): nothing in them a terminal obeys.
            lines.append(printable(text[4:]))
            if text[3:4] != "-":
                self.last_reply = Reply(int(text[:3]), "\n".join(lines))
                return self.last_reply

    async def command(self, line: str) -> Reply:
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def send(self, sender: str, recipients: list[str], content: bytes,
                   envelope: Envelope = Envelope()) -> tuple[Reply, list[Reply], Reply | None]:
        """One transaction: the MAIL reply, one reply per recipient, the DATA reply (None
        when no recipient was accepted). Raises SMTPFailure when the connection breaks.
        A message that needs SMTPUTF8 is not sent to a hop without it: every recipient
        gets 550 5.6.7 (RFC 6531 3.2: bounce, as qtsmtp does not downgrade addresses)."""
        self.used += 1
        if envelope.utf8 and "SMTPUTF8" not in self.extensions:
            refused = Reply(550, NO_UTF8)
            return refused, [refused] * len(recipients), None
        if not content.isascii() and "8BITMIME" not in self.extensions:
            content = seven_bit(content)
            if content is None:
                refused = Reply(550, NO_8BIT)
                return refused, [refused] * len(recipients), None
        params = ""
        if "SIZE" in self.extensions:
            params += f" SIZE={len(content)}"
        if "8BITMIME" in self.extensions and not content.isascii():
            params += " BODY=8BITMIME"
        if envelope.utf8:
            params += " SMTPUTF8"
        dsn = "DSN" in self.extensions
        if dsn and envelope.ret:
            params += f" RET={envelope.ret}"
        if dsn and envelope.envid:
            params += f" ENVID={xtext_encode(envelope.envid)}"
        commands = [f"MAIL FROM:<{sender}>{params}"] + [
            f"RCPT TO:<{r}>{_rcpt_parameters(r, envelope) if dsn else ''}" for r in recipients]
        if "PIPELINING" in self.extensions:
            self.writer.write(b"".join(c.encode("utf-8") + b"\r\n" for c in commands))
            await self.writer.drain()
            replies = [await self.reply() for _ in commands]
        else:
            replies = []
            for c in commands:
                replies.append(await self.command(c))
                if replies[0].code != 250:
                    break
        mail, rcpts = replies[0], replies[1:]
        if mail.code != 250:
            await self._reset()
            return mail, [mail] * len(recipients), None
        if not any(r.code == 250 or r.code == 251 for r in rcpts):
            await self._reset()
            return mail, rcpts, None
        reply = await self.command("DATA")
        if reply.code != 354:
            await self._reset()
            return mail, rcpts, reply
        self.writer.write(dot_stuffed(content))
        await self.writer.drain()
        return mail, rcpts, await self.reply()

    async def _reset(self) -> None:
        reply = await self.command("RSET")
        if reply.code != 250:
            self.broken = True

    async def quit(self) -> None:
        try:
            self.writer.write(b"QUIT\r\n")
            await asyncio.wait_for(self.writer.drain(), 5)
            await asyncio.wait_for(self.reader.readline(), 5)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass
        self.close()

    def close(self) -> None:
        self.broken = True
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


def _rcpt_parameters(recipient: str, envelope: Envelope) -> str:
    out = ""
    if envelope.notify.get(recipient):
        out += " NOTIFY=" + ",".join(envelope.notify[recipient])
    if envelope.orcpt.get(recipient):
        out += " ORCPT=" + orcpt_parameter(envelope.orcpt[recipient])
    return out


def dot_stuffed(content: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, leading dots doubled, then ".\\r\\n"."""
    if content.count(b"\n") != content.count(b"\r\n"):
        content = content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if content.startswith(b"."):
        content = b"." + content
    content = content.replace(b"\r\n.", b"\r\n..")
    if content and not content.endswith(b"\r\n"):
        content += b"\r\n"
    return content + b".\r\n"


class _HandshakeFailed(Exception):
    """The TLS handshake after STARTTLS failed."""


def opportunistic_context() -> ssl.SSLContext:
    """Encrypt whatever the certificate: better than clear text, which is the alternative."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def verified_context() -> ssl.SSLContext:
    """For hosts that get a password: the system's CAs (or SSL_CERT_FILE), name checked."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ConnectionPool:
    """Open connections by (host, port): reused between messages, limited per host."""

    def __init__(self, helo: str, per_destination: int, source_for=None, credentials_for=None,
                 tls_context: ssl.SSLContext | None = None):
        self.helo = helo
        self.per_destination = per_destination
        self.source_for = source_for or (lambda host: None)
        self.credentials_for = credentials_for or (lambda host: None)
        self.tls_context = tls_context
        self.idle: dict[tuple[str, int], list[Connection]] = {}
        self.open_count: dict[tuple[str, int], int] = {}
        self.slots: dict[tuple[str, int], asyncio.Semaphore] = {}
        self.opened = 0                                   # statistics: connections made

    def _slot(self, key) -> asyncio.Semaphore:
        if key not in self.slots:
            self.slots[key] = asyncio.Semaphore(self.per_destination)
        return self.slots[key]

    async def transaction(self, host: str, port: int, sender: str, recipients: list[str],
                          content: bytes, envelope: Envelope = Envelope()
                          ) -> tuple[Reply, list[Reply], Reply | None, bool]:
        """send() on a pooled connection; the fourth value: did the hop offer DSN?"""
        key = (host, port)
        async with self._slot(key):
            idle = self.idle.get(key)
            conn = idle.pop() if idle else None
            if conn is None:
                conn = await Connection.open(host, port, self.helo, self.source_for(host),
                                             self.credentials_for(host), self.tls_context)
                self.opened += 1
            try:
                result = await asyncio.wait_for(conn.send(sender, recipients, content, envelope),
                                                TRANSACTION_TIMEOUT)
                offers_dsn = "DSN" in conn.extensions
            except (SMTPFailure, OSError, asyncio.TimeoutError, ssl.SSLError,
                    asyncio.IncompleteReadError) as bad:
                conn.close()
                reply = bad.reply if isinstance(bad, SMTPFailure) else temporary(
                    f"{host} port {port}: connection lost: {describe(bad)}{after(conn)}")
                raise SMTPFailure(reply) from None
            if conn.broken or conn.used >= REUSE_LIMIT or result[0].code == 421:
                await conn.quit()
            else:
                self.idle.setdefault(key, []).append(conn)
            return (*result, offers_dsn)

    async def close_all(self) -> None:
        idle, self.idle = self.idle, {}
        await asyncio.gather(*(c.quit() for conns in idle.values() for c in conns),
                             return_exceptions=True)
