"""The server job's per-message shortcuts give what the long way gives.

- aiosmtpd's sanitized_log is asked for a level first (protocol.py): a line at a level
  mail.log drops never reaches aiosmtpd's function; one at a level that logs does, and
  an AUTH argument is still masked.
- RelaySMTP.push writes each reply once, CRLF-terminated, and drains, without going
  through aiosmtpd's push; a multi-line reply still leaves in one write.
- The job log's send() skips the second pass over the line for control characters:
  every catalogue text is printable, and a line with a hostile value is still one
  line with the value escaped.
- The Received: date is worked out once a second: the same text as the email
  package's, across seconds and time zones.
- The DSN policy's question (may this client mail the sender's address?) is asked once
  per sender in a session, again when the sender, the policy or the AUTH state differ,
  with the answers asking each time would give.
- The handler's handle_EHLO is a SignedHook: aiosmtpd takes it for the 5-argument
  hook, calls it as the bound method, and gets the same Signature every connection.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from email.utils import format_datetime

import aiosmtpd.smtp as aiosmtpd_smtp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtsmtp.jobs.joblog import JobLog
from qtsmtp.messages import CATALOGUE, printable
from qtsmtp.server import protocol
from qtsmtp.server.handler import RelayHandler, SignedHook, received_date
from qtsmtp.server.protocol import RelaySMTP, SessionRegistry

OPTIONS = dict(hostname="relay.example", ident="ESMTP qtsmtp", data_size_limit=1024,
               timeout=300)


# --- sanitized_log --------------------------------------------------------------------

def test_aiosmtpd_logs_command_lines_through_the_replaced_function() -> None:
    assert aiosmtpd_smtp.sanitized_log is protocol._sanitized_log_if_logged
    source = inspect.getsource(aiosmtpd_smtp.SMTP._handle_client)
    assert "sanitized_log(log.debug," in source and "sanitized_log(log.info," in source


def test_a_dropped_level_never_reaches_aiosmtpd_and_a_logged_one_does(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(protocol, "_aiosmtpd_sanitized_log",
                        lambda func, msg, *args, **kw: calls.append((func.__name__, args)))
    log = logging.getLogger("mail.log")
    assert not log.isEnabledFor(logging.INFO)          # as protocol.py sets it
    aiosmtpd_smtp.sanitized_log(log.info, "%r >> %r", ("1.2.3.4", 5), b"MAIL FROM:<a@b>")
    aiosmtpd_smtp.sanitized_log(log.debug, "readline: %r", b"RCPT TO:<a@b>")
    assert calls == []
    monkeypatch.setattr(log, "level", logging.DEBUG)
    log.manager._clear_cache()
    try:
        aiosmtpd_smtp.sanitized_log(log.info, "%r >> %r", ("1.2.3.4", 5), b"AUTH PLAIN x")
        aiosmtpd_smtp.sanitized_log(log.debug, "readline: %r", b"QUIT")
    finally:
        monkeypatch.undo()
        log.manager._clear_cache()
    assert [name for name, _ in calls] == ["info", "debug"]


def test_a_logged_auth_line_is_still_masked(caplog) -> None:
    log = logging.getLogger("mail.log")
    previous = log.level
    log.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="mail.log"):
            aiosmtpd_smtp.sanitized_log(log.info, "%r >> %r", ("1.2.3.4", 5),
                                        b"AUTH PLAIN c2VjcmV0\r\n")
    finally:
        log.setLevel(previous)
    assert "c2VjcmV0" not in caplog.text and "********" in caplog.text


# --- push ------------------------------------------------------------------------------

class _Transport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name, default=None):
        return ("192.0.2.1", 4000) if name == "peername" else default

    def get_write_buffer_size(self) -> int:
        return 0


class _Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_each_reply_is_one_write_with_crlf_and_a_multi_line_one_too() -> None:
    async def talk() -> list[bytes]:
        loop = asyncio.get_running_loop()
        smtp = RelaySMTP(_Handler(), SessionRegistry(), 10, connection_checks=(), loop=loop,
                         **OPTIONS)
        transport = _Transport()
        smtp.connection_made(transport)
        smtp._handler_coroutine.cancel()        # the command loop is not under test
        await smtp.push("220 relay.example ESMTP qtsmtp")
        await smtp.push("250 2.1.0 Sender ok")
        await smtp.push(b"503 Error: need RCPT command")
        smtp._hello_reply = True
        await smtp.push("250-relay.example")
        await smtp.push("250-8BITMIME")
        await smtp.push("250 HELP")
        smtp._hello_reply = False
        smtp._timeout_handle.cancel()
        return transport.writes

    writes = asyncio.run(talk())
    assert writes[0] == b"220 relay.example ESMTP qtsmtp\r\n"
    assert writes[1] == b"250 2.1.0 Sender ok\r\n"
    assert writes[2] == b"503 5.5.1 Error: need RCPT command\r\n"    # RFC 3463 code added
    assert len(writes) == 4 and writes[3].startswith(b"250-relay.example\r\n")
    assert writes[3].endswith(b"250 HELP\r\n") and writes[3].count(b"\r\n") >= 2


# --- the job log ------------------------------------------------------------------------

def test_every_catalogue_text_is_printable() -> None:
    """JobLog.send relies on it: only the substituted values need escaping."""
    for msgid, (_, text, *_) in CATALOGUE.items():
        assert printable(text) == text, msgid


def test_a_hostile_value_is_one_escaped_line(tmp_path) -> None:
    log = JobLog(tmp_path / "job.log")
    log.send("TCP3050", "192.0.2.1:4000", "x\r\nTCP3052 forged\x1b[2J\x00")
    log.write("TCP3050 plain\nsecond")
    log.close()
    lines = (tmp_path / "job.log").read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("TCP3050 192.0.2.1:4000 x\\r\\nTCP3052 forged\\x1b[2J\\x00")
    assert lines[1].endswith("TCP3050 plain\\nsecond")


# --- the Received: date -------------------------------------------------------------------

ZONES = [timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
       st.sampled_from(ZONES), st.lists(st.integers(0, 2_500_000), max_size=6))
def test_the_received_date_is_the_email_packages(start, zone, steps) -> None:
    when = start.replace(tzinfo=zone)
    for step in [0, *steps]:
        when += timedelta(microseconds=step)
        assert received_date(when) == format_datetime(when)
        other = when.astimezone(ZONES[(ZONES.index(zone) + 1) % len(ZONES)])
        assert received_date(other) == format_datetime(other)   # same instant, other zone


def test_the_received_date_of_a_naive_time_is_the_email_packages() -> None:
    naive = datetime(2026, 12, 5, 10, 0, 0, 999_999)
    assert received_date(naive) == format_datetime(naive)


# --- the trusted sender -----------------------------------------------------------------

class _Policy:
    def __init__(self, allowed: set[str]):
        self.allowed, self.asked = allowed, []

    def check_recipient(self, client, address, authenticated):
        self.asked.append((client, address.address, authenticated))
        return SimpleNamespace(allowed=address.address in self.allowed or authenticated)


class _AuthHandler(RelayHandler):
    relay_authenticated = False

    def may_relay_authenticated(self, session) -> bool:
        return self.relay_authenticated


def test_the_trusted_sender_is_asked_once_per_sender_policy_and_auth_state() -> None:
    handler = _AuthHandler(None, None, None, "000001")
    policy = _Policy({"me@local.example"})
    session = SimpleNamespace(peer=("192.0.2.1", 4000), compiled=SimpleNamespace(policy=policy))
    answers = [handler._trusted(session, sender) for sender in
               ["me@local.example", "me@local.example", "x@far.example", "x@far.example",
                "me@local.example", "", "bad address@", "bad address@"]]
    assert answers == [True, True, False, False, True, True, False, False]
    assert [a for _, a, _ in policy.asked] == ["me@local.example", "x@far.example",
                                              "me@local.example"]
    handler.relay_authenticated = True            # an AUTH logon that may relay
    assert handler._trusted(session, "x@far.example") is True
    session.compiled = SimpleNamespace(policy=_Policy(set()))     # another policy
    handler.relay_authenticated = False
    assert handler._trusted(session, "x@far.example") is False
    assert len(policy.asked) == 4 and len(session.compiled.policy.asked) == 1


# --- the EHLO hook ------------------------------------------------------------------------

def test_aiosmtpd_takes_the_signed_ehlo_hook_as_the_bound_method() -> None:
    handler = RelayHandler(None, None, None, "000001")
    bound = RelayHandler.handle_EHLO.__get__(handler)
    assert isinstance(handler.handle_EHLO, SignedHook)
    assert inspect.signature(handler.handle_EHLO) == \
        inspect.signature(bound)

    async def connect_twice():
        loop = asyncio.get_running_loop()
        return [RelaySMTP(handler, SessionRegistry(), 10, connection_checks=(), loop=loop,
                          **OPTIONS) for _ in range(2)]

    first, second = asyncio.run(connect_twice())
    assert first._ehlo_hook_ver == second._ehlo_hook_ver == "new"
    assert first._handle_hooks["EHLO"] is second._handle_hooks["EHLO"] is handler.handle_EHLO

    class Session:
        compiled = None
        host_name = None

    session = Session()
    responses = ["250-relay.example", "250 HELP"]
    out = asyncio.run(first._handle_hooks["EHLO"](first, session, None, "client.example",
                                                  responses))
    assert out == ["250-relay.example", "250 HELP"] and session.host_name == "client.example"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__]))
