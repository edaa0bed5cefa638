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
  per client and sender in a job (also across sessions), again when the sender, the
  client, the policy or the AUTH state differ, with the answers asking each time would
  give; the answers kept are bounded.
- The ESMTP extensions offered are worked out once per policy, for every session of it.
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
from qtsmtp.server import handler as handler_module
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
    assert [a for _, a, _ in policy.asked] == ["me@local.example", "x@far.example"]
    handler.relay_authenticated = True            # an AUTH logon that may relay
    assert handler._trusted(session, "x@far.example") is True
    assert policy.asked[-1] == ("192.0.2.1", "x@far.example", True)
    session.compiled = SimpleNamespace(policy=_Policy(set()))     # another policy
    handler.relay_authenticated = False
    assert handler._trusted(session, "x@far.example") is False
    assert len(policy.asked) == 3 and len(session.compiled.policy.asked) == 1


def test_the_trusted_sender_answer_serves_the_next_session_of_the_client_only() -> None:
    """A new connection per message (the answers are the job's, not the session's);
    another client, or a session of another policy, is asked about again."""
    handler = _AuthHandler(None, None, None, "000001")
    policy = _Policy({"me@local.example"})
    compiled = SimpleNamespace(policy=policy)
    sessions = [SimpleNamespace(peer=("192.0.2.1", 4000 + n), compiled=compiled)
                for n in range(5)]
    assert all(handler._trusted(s, "me@local.example") for s in sessions)
    assert policy.asked == [("192.0.2.1", "me@local.example", False)]
    other = SimpleNamespace(peer=("198.51.100.7", 4000), compiled=compiled)
    assert handler._trusted(other, "me@local.example") is True
    assert policy.asked[-1] == ("198.51.100.7", "me@local.example", False)
    # A session that started before a reload keeps its policy, and its policy answers.
    stricter = SimpleNamespace(policy=_Policy(set()))
    old = SimpleNamespace(peer=("192.0.2.1", 5000), compiled=stricter)
    assert handler._trusted(old, "me@local.example") is False
    assert handler._trusted(sessions[0], "me@local.example") is True
    assert len(policy.asked) == 3 and len(stricter.policy.asked) == 1


def test_the_trusted_sender_answers_kept_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(handler_module, "TRUST_ANSWERS_KEPT", 10)
    handler = _AuthHandler(None, None, None, "000001")
    policy = _Policy(set())
    compiled = SimpleNamespace(policy=policy)
    for n in range(25):
        session = SimpleNamespace(peer=(f"192.0.2.{n}", 4000), compiled=compiled)
        assert handler._trusted(session, "x@far.example") is False
        assert len(handler._trust_answers) <= 10
    assert len(policy.asked) == 25


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


# --- the ESMTP offer ----------------------------------------------------------------------

def test_the_sessions_of_one_policy_share_its_offer_and_another_policy_gets_its_own(
        monkeypatch) -> None:
    made = []
    real = protocol.esmtp.Offer.from_attributes

    def counting(values):
        made.append(values)
        return real(values)

    monkeypatch.setattr(protocol.esmtp.Offer, "from_attributes", staticmethod(counting))
    monkeypatch.setattr(protocol, "_last_offer", (None, None))

    async def offers():
        loop = asyncio.get_running_loop()
        every = SimpleNamespace(attributes={})
        no_dsn = SimpleNamespace(attributes={"ESMTPEXT": ["*8BITMIME"],
                                             "NFYDLVRY": ["*YES", "*NO"]})
        found = []
        for compiled in (every, every, every, no_dsn, no_dsn, every):
            smtp = RelaySMTP(_Handler(), SessionRegistry(), 10, connection_checks=(),
                             loop=loop, **OPTIONS)
            smtp.session = SimpleNamespace(compiled=compiled)
            found.append((smtp.offer(), smtp.offer()))
        return found

    found = asyncio.run(offers())
    assert [first is second for first, second in found] == [True] * 6
    assert found[0][0] is found[1][0] is found[2][0]
    assert found[0][0].dsn and found[0][0].pipelining
    assert not found[3][0].dsn and not found[3][0].pipelining and found[3][0].eight_bit
    assert found[3][0] is found[4][0]
    assert found[5][0] == found[0][0]
    assert len(made) == 3            # every, no_dsn, every again


# --- what a session takes from the policy -------------------------------------------------

def test_sessions_of_one_policy_share_its_options_and_a_new_policy_gives_new_ones(
        qroot) -> None:
    """ServerJob's session factory works the limits and aiosmtpd's arguments out once per
    policy and listener; a change (CHGSMTPA, the journal) applies to the next session."""
    import dataclasses

    from qtsmtp.config.policyload import PolicySource
    from qtsmtp.config.settings import load_settings
    from qtsmtp.jobs.joblog import JobLog
    from qtsmtp.server.anvil import ClientTable
    from qtsmtp.server.worker import ServerJob

    settings = load_settings(qroot, 1)
    source = PolicySource(qroot, settings.system_name, settings.local_addresses)
    log = JobLog(qroot / "test.log")

    async def sessions():
        job = ServerJob(settings, source, log, "999999", None, None, ClientTable(1).job(0))
        first, second = job._session_factory(), job._session_factory()
        proxied = job._session_factory(proxied=True)
        changed = dataclasses.replace(source.current, attributes={
            **source.current.attributes, "CMDTIMEOUT": 42, "MAXBADCMD": 3,
            "MAXEMMSIZE": 7})
        source.current = changed
        third = job._session_factory()
        assert first.loop is second.loop is third.loop is asyncio.get_running_loop()
        return first, second, proxied, third

    first, second, proxied, third = asyncio.run(sessions())
    assert first.limits is second.limits and first._timeout_duration == 300
    assert first.data_size_limit == second.data_size_limit
    assert proxied.proxied and not first.proxied and proxied.limits == first.limits
    assert third.limits is not first.limits and third.limits["MAXBADCMD"] == 3
    assert third._timeout_duration == 42 and third.data_size_limit == 7 * 1024
    assert first.limits["MAXBADCMD"] == 20          # the older sessions keep theirs
