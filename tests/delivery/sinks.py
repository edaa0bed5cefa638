"""Loopback SMTP sinks for the delivery tests: aiosmtpd in a thread, with scripted replies.

``Sink(reply=...)`` answers RCPT with what ``reply(address, attempt)`` returns (None: 250),
and keeps every accepted message (envelope and bytes). Each sink listens on 127.0.0.1 and a
free port, and is stopped by the fixture that made it.
"""

from __future__ import annotations

import threading

from aiosmtpd.controller import Controller

from support import free_port


class _Handler:
    def __init__(self, sink: "Sink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.sink.lock:
            attempt = self.sink.attempts.get(address, 0) + 1
            self.sink.attempts[address] = attempt
        reply = self.sink.reply(address, attempt) if self.sink.reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.sink.lock:
            self.sink.connections += 1
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.original_content))
        return "250 2.0.0 accepted"


class Sink:
    def __init__(self, reply=None, port: int = 0):
        self.reply = reply
        self.lock = threading.Lock()
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.attempts: dict[str, int] = {}
        self.connections = 0               # EHLOs: one per connection (no STARTTLS here)
        self.port = port or free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="sink.test", ready_timeout=10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Sink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for _, rcpts, _ in self.messages for r in rcpts]

