"""ESMTP test fixtures: servers on temporary roots (support.server), a self-signed TLS
certificate, and loopback SMTP sinks that offer chosen extensions. Every server a test
starts is ended in teardown, and every process the job table named is killed by PID."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from support import free_port, make_certificate
from support.server import Server

MINUTE = "0.05"        # QTSMTP_MINUTE_SECONDS: one schedule minute lasts 50 ms in tests



@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    return make_certificate(tmp_path / "tls")


@pytest.fixture
def new_server(tmp_path):
    """A factory of servers on their own roots (SYSNAME(sys.test), compressed retry
    minutes, no DNS), all ended and checked at teardown."""
    made: list[Server] = []

    def make(attributes: str = "", name: str = "root", users=()) -> Server:
        """``users``: profiles to enrol with ADDUSRSMTP (only they and postmaster receive
        local mail), each a name or (name, alias)."""
        server = Server.on_new_root(tmp_path / name, f"SYSNAME('sys.test') {attributes}".strip(),
                                    env={"QTSMTP_MINUTE_SECONDS": MINUTE, "QTSMTP_DNS": "off"})
        made.append(server)
        for user in users:
            profile, alias = (user, None) if isinstance(user, str) else user
            server.run("addusrsmtp", profile, *([f"ALIAS('{alias}')"] if alias else []))
        return server
    yield make
    leftovers = [pid for server in made for pid in server.shut_down()]
    assert not leftovers, f"processes left running: {leftovers}"


class _SinkHandler:
    def __init__(self, sink: Sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        drop = {k.upper() for k in self.sink.without}
        kept = [r for r in responses[:-1] if r[4:].split(" ")[0].upper() not in drop]
        return kept + [f"250-{k}" for k in self.sink.extra] + responses[-1:]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.sink.reply(address) if self.sink.reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.messages.append(envelope)
        return "250 2.0.0 accepted"


class Sink:
    """aiosmtpd on 127.0.0.1, offering ``extra`` EHLO keywords and not ``without``, with
    RCPT replies from ``reply(address)`` (None: 250); keeps every envelope it accepts."""

    def __init__(self, extra=(), without=(), reply=None, smtputf8: bool = False):
        from aiosmtpd.smtp import SMTP

        self.extra, self.without, self.reply = tuple(extra), tuple(without), reply
        self.lock = threading.Lock()
        self.messages = []
        self.port = free_port()
        # DSN parameters as sent: aiosmtpd 1.4.6 refuses every RCPT parameter, so the
        # sink takes them out of MAIL and RCPT before aiosmtpd parses the rest.
        self.raw_params: list[str] = []

        sink = self

        class ParamSMTP(SMTP):
            async def smtp_MAIL(self, arg):
                arg = sink._take_params(arg)
                await super().smtp_MAIL(arg)

            async def smtp_RCPT(self, arg):
                arg = sink._take_params(arg)
                await super().smtp_RCPT(arg)

        class ParamController(Controller):
            def factory(self):
                return ParamSMTP(self.handler, **self.SMTP_kwargs)

        self.controller = ParamController(_SinkHandler(self), hostname="127.0.0.1", port=self.port,
                                          server_hostname="sink.test", ready_timeout=10,
                                          enable_SMTPUTF8=smtputf8)

    def _take_params(self, arg: str | None) -> str | None:
        """Keep DSN parameters aside (as sent), pass the rest to aiosmtpd."""
        if not arg:
            return arg
        words = arg.split(" ")
        kept = []
        for word in words:
            if word.split("=")[0].upper() in ("NOTIFY", "ORCPT", "RET", "ENVID"):
                with self.lock:
                    self.raw_params.append(word)
            else:
                kept.append(word)
        return " ".join(kept)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def sinks():
    made = []

    def make(**options) -> Sink:
        sink = Sink(**options).start()
        made.append(sink)
        return sink
    yield make
    for sink in made:
        sink.stop()
