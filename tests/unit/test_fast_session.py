"""RelaySMTP on aiosmtpd: public arguments, the session object, and the one shortcut.

- RelaySMTP lets aiosmtpd's own SMTP.__init__ set a session up, with the public
  arguments (no copy of aiosmtpd's constructor); the narrowed dir() of AiosmtpdLookup
  must leave it building exactly the method tables it builds without.
- The undocumented aiosmtpd names protocol.py relies on exist in the installed aiosmtpd,
  so that an aiosmtpd that renames one fails here, not in a server job.
- RelaySession keeps what the relay knows about the connection across STARTTLS (a new
  aiosmtpd Session), and its peer is the PROXY header's client when there was one.
- ``_getaddr`` must return what aiosmtpd's _getaddr returns, for a table of addresses and
  for generated ones (hypothesis), whether or not the plain-address shortcut applies.
"""

from __future__ import annotations

import asyncio
import inspect
import re

import aiosmtpd
import pytest
from aiosmtpd.smtp import SMTP, Session, auth_mechanism
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.server import protocol
from qtsmtp.server.handler import AiosmtpdLookup
from qtsmtp.server.protocol import (
    _PLAIN_ANGLE_ADDR,
    CALL_LIMITS,
    RelaySession,
    RelaySMTP,
    SessionRegistry,
)

OPTIONS = dict(hostname="relay.example", ident="ESMTP qtsmtp", data_size_limit=10240 * 1024,
               timeout=300)


class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def test_aiosmtpd_init_sets_the_session_up(monkeypatch) -> None:
    calls = []
    original = SMTP.__init__

    def recording_init(self, handler, **options):
        calls.append(options)
        original(self, handler, **options)

    monkeypatch.setattr(SMTP, "__init__", recording_init)

    async def build():
        loop = asyncio.get_running_loop()
        RelaySMTP(Handler(), SessionRegistry(), 10, connection_checks=(), loop=loop, **OPTIONS)
        RelaySMTP(Handler(), SessionRegistry(), 10, connection_checks=(), loop=loop,
                  auth_require_tls=False, proxy_protocol_timeout=10, **OPTIONS)

    asyncio.run(build())
    assert len(calls) == 2
    assert all(call["command_call_limit"] == CALL_LIMITS for call in calls)
    assert calls[1]["auth_require_tls"] is False and calls[1]["proxy_protocol_timeout"] == 10


class FullHandler(AiosmtpdLookup):
    """Hooks of the kinds the relay's handlers have, plus an AUTH mechanism with a
    decorated name and a 5-argument EHLO hook, so that every table has entries."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        return responses

    async def auth_PLAIN(self, server, args):
        return None

    @auth_mechanism("X-TOKEN")
    async def auth_token(self, server, args):
        return None

    def auth_CRAM__MD5(self, server, args):
        return None

    not_looked_for = "x"


def _tables(smtp) -> dict:
    """The tables SMTP.__init__ builds, with methods named by function and owner."""
    def described(method):
        return method.__func__, "self" if method.__self__ is smtp else type(method.__self__)
    return {
        "commands": {k: described(m) for k, m in smtp._smtp_methods.items()},
        "hooks": {k: described(m) for k, m in smtp._handle_hooks.items()},
        "auth": {k: (described(a.method), a.is_builtin) for k, a in smtp._auth_methods.items()},
        "ehlo": smtp._ehlo_hook_ver,
    }


class OldEhloHandler:
    """A plain handler (whole dir()) with aiosmtpd's deprecated 4-argument EHLO hook."""

    async def handle_EHLO(self, server, session, envelope, hostname):
        return "250 x"


def _aiosmtpd_built(monkeypatch, handler, **options) -> dict:
    """The tables aiosmtpd's own SMTP.__init__ builds for a RelaySMTP object, looking at
    every name (no narrowed dir, no methodtables)."""
    async def build():
        smtp = RelaySMTP.__new__(RelaySMTP)
        SMTP.__init__(smtp, handler, loop=asyncio.get_running_loop(),
                      command_call_limit=CALL_LIMITS, **OPTIONS, **options)
        return _tables(smtp)

    with monkeypatch.context() as patched:
        patched.setattr(AiosmtpdLookup, "__dir__", object.__dir__)
        patched.setattr(RelaySMTP, "__dir__", object.__dir__)
        return asyncio.run(build())


@pytest.mark.parametrize("options", [{}, {"auth_exclude_mechanism": ["LOGIN", "X-TOKEN"]},
                                     {"auth_exclude_mechanism": ["LOGIN", "PLAIN"]}])
def test_the_method_tables_are_the_ones_aiosmtpd_builds(monkeypatch, options) -> None:
    handler = FullHandler()

    async def build():
        loop = asyncio.get_running_loop()
        return [RelaySMTP(handler, SessionRegistry(), 10, connection_checks=(), loop=loop,
                          **OPTIONS, **options) for _ in range(2)]

    first, second = asyncio.run(build())
    ours = _tables(first)
    assert ours == _tables(second) == _aiosmtpd_built(monkeypatch, handler, **options)
    # The comparison saw real entries of every kind.
    assert {"DATA", "MAIL", "STARTTLS", "EHLO"} <= set(ours["commands"])
    assert {"DATA", "RCPT", "EHLO"} <= set(ours["hooks"]) and ours["ehlo"] == "new"
    excluded = set(options.get("auth_exclude_mechanism", ()))
    assert set(ours["auth"]) == {"LOGIN", "PLAIN", "CRAM-MD5", "X-TOKEN"} - excluded
    if "PLAIN" not in excluded:
        assert ours["auth"]["PLAIN"][1] is False
    if "LOGIN" not in excluded:
        assert ours["auth"]["LOGIN"][1] is True
        # A built-in mechanism runs on its own session, never on the one it was found on.
        assert first._auth_methods["LOGIN"].method.__self__ is first
        assert second._auth_methods["LOGIN"].method.__self__ is second
    assert first._smtp_methods["DATA"].__self__ is first
    assert second._smtp_methods["DATA"].__self__ is second
    # Once made, a session's dir() names what aiosmtpd looks for, as before.
    assert "smtp_DATA" in dir(first) and "handle_DATA" in dir(handler)


def test_an_old_ehlo_hook_and_a_plain_handler_get_aiosmtpd_s_tables(monkeypatch) -> None:
    handler = OldEhloHandler()

    async def build():
        return RelaySMTP(handler, SessionRegistry(), 10, connection_checks=(),
                         loop=asyncio.get_running_loop(), **OPTIONS)

    with pytest.warns(DeprecationWarning):
        reference = _aiosmtpd_built(monkeypatch, handler)
    ours = _tables(asyncio.run(build()))
    assert ours == reference and ours["ehlo"] == "old"


def test_the_undocumented_aiosmtpd_names_used_are_there() -> None:
    """protocol.py's docstring lists them, and why each is used."""
    assert inspect.iscoroutinefunction(SMTP._handle_client)
    assert list(inspect.signature(SMTP._reset_timeout).parameters) == ["self", "duration"]
    assert list(inspect.signature(SMTP._getaddr).parameters) == ["self", "arg"]
    assert list(inspect.signature(SMTP._timeout_cb).parameters) == ["self"]
    for name in ("_reader", "_writer", "_smtp_methods", "_timeout_duration",    # set in __init__ / connection_made
                 "_auth_methods", "_handle_hooks", "_ehlo_hook_ver", "_timeout_handle"):
        assert name in inspect.getsource(SMTP), name
    # methodtables builds aiosmtpd's AUTH table of its own named tuple.
    assert aiosmtpd.smtp._AuthMechAttr._fields == ("method", "is_builtin")
    # smtp_STARTTLS: aiosmtpd's connection_made has a branch for the connection after
    # STARTTLS, taken when _original_transport is set, that empties the reader's buffer
    # and turns _tls_protocol._extra into the session's ssl.
    made = inspect.getsource(SMTP.connection_made)
    for text in ("self._original_transport is not None", "self._reader._buffer.clear()",
                 "self._tls_protocol._extra"):
        assert text in made, text
    # RelaySMTP.push writes a reply as aiosmtpd's push does (protocol.py).
    assert "self._writer.write(response + b\"\\r\\n\")" in inspect.getsource(SMTP.push)
    assert "await self._writer.drain()" in inspect.getsource(SMTP.push)
    # Documented for subclasses, underscored all the same.
    assert list(inspect.signature(SMTP._create_session).parameters) == ["self"]
    assert list(inspect.signature(SMTP._create_envelope).parameters) == ["self"]
    # The _getaddr shortcut is written for this release (pyproject.toml pins it).
    assert aiosmtpd.__version__ == "1.4.6"


def test_protocol_imports_no_private_aiosmtpd_name() -> None:
    source = inspect.getsource(protocol)
    imports = [line for line in source.splitlines() if line.startswith("from aiosmtpd")]
    assert imports and not any(" _" in line or ", _" in line for line in imports)


def test_the_session_survives_starttls_except_what_the_client_said() -> None:
    loop = asyncio.new_event_loop()
    try:
        first = RelaySession(loop)
        first.peer = ("127.0.0.1", 4000)           # the balancer, as aiosmtpd sets it
        assert first.peer == ("127.0.0.1", 4000)
        first.client = ("203.0.113.9", 40000)      # what the PROXY header said
        first.compiled, first.exits, first.qtsmtp_id = object(), object(), "S1"
        first.counted, first.bad_commands, first.auth_failures = "203.0.113.9", 2, 1
        first.started, first.ending = True, True
        first.host_name, first.extended_smtp = "client.test", True
        second = RelaySession(loop, first)
        second.peer = ("127.0.0.1", 4000)          # aiosmtpd, after STARTTLS
        assert second.peer == ("203.0.113.9", 40000)
        for name in RelaySession.CARRIED:
            assert getattr(second, name) is getattr(first, name), name
        assert second.host_name is None and not second.extended_smtp
        assert second.authenticated is None and second.ssl is None
        assert isinstance(second, Session)
    finally:
        loop.close()


def test_starttls_makes_the_new_session_from_the_old() -> None:
    async def build():
        loop = asyncio.get_running_loop()
        smtp = RelaySMTP(Handler(), SessionRegistry(), 10, connection_checks=(), loop=loop,
                         **OPTIONS)
        first = smtp._create_session()
        smtp.session = first
        first.client = ("203.0.113.9", 40000)
        return first, smtp._create_session()

    first, second = asyncio.run(build())
    assert second is not first and second.client == first.client


class _Limit:
    local_part_limit = 0


MALFORMED = (None, None)       # what _getaddr says of an address that does not parse


def _outcome(getaddr, arg: str):
    # The email parser raises IndexError or AttributeError on some inputs ("<" alone,
    # "<=@[>"): aiosmtpd lets that out (a "500 Error: (AttributeError) ..." reply); ours
    # calls the address malformed (553), which is what it is.
    try:
        return getaddr(_Limit(), arg)
    except Exception:                       # noqa: BLE001 - aiosmtpd's parser faults
        return MALFORMED


def aiosmtpd_getaddr(arg: str):
    return _outcome(SMTP._getaddr, arg)


def relay_getaddr(arg: str):
    return _outcome(RelaySMTP._getaddr, arg)


ADDRESSES = [
    "", "<>", "<> SIZE=10", "<postmaster>", "postmaster", "<user@example.com>",
    "user@example.com", " <user@example.com>", "<user@example.com> SIZE=1024 BODY=8BITMIME",
    "<user@example.com>\tSIZE=1", "<user@example.com>  ", "<user@example.com> (c) SIZE=1",
    "<user@example.com>SIZE=1", "<user@example.com> \x0bSIZE=1", "<first.last@sub.example.com>",
    "<a..b@example.com>", "<.a@example.com>", "<a.@example.com>", "<a@example..com>",
    "<a@-example.com>", "<a@[127.0.0.1]>", "<\"john smith\"@example.com>",
    "<@a,@b:user@example.com>", "<user%far@example.com>", "<far!user@example.com>",
    "<=?utf-8?q?abc?=@example.com>", "<x=?utf-8?q?abc?=@example.com>",
    "<bounce+foo=bar.example@lists.example>", "<user@example.com", "user@example.com>",
    "<user@@example.com>", "<user@exa mple.com>", "<us er@example.com>", "<ü@example.com>",
    "<user@exämple.com>", "<{weird}|~'`#$@example.com>", "<a@b>", "<a@b> x", "<a@b>\t\t y",
    "<user@example.com>\x1cSIZE=1", "<user@example.com> \u00a0SIZE=1", "<", "<a", "<a@",
    "<=@[>", "=@[",
]


@pytest.mark.parametrize("arg", ["<", "<=@[>", "=@["])
def test_an_address_the_parser_trips_on_is_malformed_not_an_exception(arg: str) -> None:
    assert RelaySMTP._getaddr(_Limit(), arg) == MALFORMED


def agree(arg: str) -> bool:
    """Ours is aiosmtpd's, but for one fix: a local part the client quoted that is not
    a Dot-string ("a..b", ".a", "a\rb") keeps its quotes, where aiosmtpd's drops them
    and the address means something else to the next hop (issue 16 item 4)."""
    ours, theirs = relay_getaddr(arg), aiosmtpd_getaddr(arg)
    if ours == theirs:
        return True
    (our_addr, our_rest), (their_addr, their_rest) = ours, theirs
    local, _, domain = our_addr.rpartition("@")
    unquoted = re.sub(r"\\(.)", r"\1", local[1:-1])
    return ('"' in arg and our_rest == their_rest and local.startswith('"')
            and their_addr == f"{unquoted}@{domain}")


@pytest.mark.parametrize("arg", ADDRESSES)
def test_getaddr_agrees_with_aiosmtpd(arg: str) -> None:
    assert agree(arg)


@pytest.mark.parametrize("arg, address", [('<"a..b"@x.example>', '"a..b"@x.example'),
                                          ('<".a"@x>', '".a"@x'), ('<"a."@x>', '"a."@x'),
                                          ('<"a b"@x>', '"a b"@x'), ('<"ab"@x>', "ab@x")])
def test_a_quoted_local_part_stays_quoted_when_it_must(arg: str, address: str) -> None:
    assert RelaySMTP._getaddr(_Limit(), arg) == (address, "")


def test_the_shortcut_is_taken_for_plain_addresses() -> None:
    for arg in ("<user@example.com>", "<user@example.com> SIZE=1024", "<a.b-c+d@x.example>"):
        assert _PLAIN_ANGLE_ADDR.match(arg), arg
    for arg in ("<>", "<a@[127.0.0.1]>", '<"a b"@x>', "<=?utf-8?q?a?=@x>", "<a@b> (c)"):
        assert not _PLAIN_ANGLE_ADDR.match(arg), arg


_PIECES = st.sampled_from(
    ["a", "Z", "0", ".", "..", "@", "-", "_", "+", "=", "?", "=?", "<", ">", " ", "\t", "(", ")",
     '"', "\\", "[", "]", ",", ":", ";", "!", "%", "ü", "\x0b", "\u00a0", "SIZE=1", "example",
     "com", "~", "{", "|", "'", "`", "#", "$", "&", "*", "/", "^"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=14))
def test_getaddr_agrees_on_generated_input(pieces: list[str]) -> None:
    arg = "".join(pieces)
    for candidate in (arg, "<" + arg, "<" + arg + ">", "<" + arg + "> SIZE=1"):
        assert agree(candidate), candidate
