"""RelaySMTP's shortcuts past two aiosmtpd costs must change nothing.

- ``_init_session_state`` must leave a session exactly as aiosmtpd's SMTP.__init__ would
  (same attributes, same values, methods bound to the same objects): compared attribute
  by attribute against SMTP.__init__ run on a twin instance.
- ``_getaddr`` must return what aiosmtpd's _getaddr returns, for a table of addresses and
  for generated ones (hypothesis), whether or not the plain-address shortcut applies.
"""

from __future__ import annotations

import asyncio
import collections
import types
import weakref

import pytest
from aiosmtpd.smtp import SMTP, _AuthMechAttr
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp.server import protocol
from qtsmtp.server.protocol import (CALL_LIMITS, RelaySMTP, SessionRegistry,
                                    _PLAIN_ANGLE_ADDR)

OPTIONS = dict(hostname="relay.example", ident="ESMTP qtsmtp", data_size_limit=10240 * 1024,
               timeout=300)


class Handler:
    """Hooks of the kinds RelayHandler has, plus one AUTH mechanism and a 5-argument
    EHLO hook, so every table SMTP.__init__ builds has something in it."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        return responses

    def auth_CRAM__MD5(self, server, args):
        return None


def _same(fast, slow, fast_self, slow_self, where: str) -> None:
    """Equal values, where a method of one session counts as equal to the same method
    of the other session."""
    if isinstance(fast, types.MethodType):
        assert isinstance(slow, types.MethodType), where
        assert fast.__func__ is slow.__func__, where
        if fast.__self__ is fast_self:
            assert slow.__self__ is slow_self, where
        else:
            assert fast.__self__ is slow.__self__, where
    elif isinstance(fast, _AuthMechAttr):
        _same(fast.method, slow.method, fast_self, slow_self, where)
        assert fast.is_builtin == slow.is_builtin, where
    elif isinstance(fast, dict):
        assert type(fast) is type(slow) and list(fast) == list(slow), where
        for key in fast:
            _same(fast[key], slow[key], fast_self, slow_self, f"{where}[{key!r}]")
    elif isinstance(fast, asyncio.StreamReader):
        assert type(slow) is asyncio.StreamReader and fast._limit == slow._limit, where
    elif isinstance(fast, (asyncio.Future, weakref.ref, collections.deque)):
        assert type(fast) is type(slow), where
    else:
        assert fast == slow, where


@pytest.mark.skipif(not protocol._FAST_INIT, reason="aiosmtpd version not checked: fallback")
def test_session_state_is_what_aiosmtpd_init_makes() -> None:
    async def build():
        loop = asyncio.get_running_loop()
        handler, registry = Handler(), SessionRegistry()
        fast = RelaySMTP(handler, registry, 10, loop=loop, **OPTIONS)
        slow = RelaySMTP.__new__(RelaySMTP)
        SMTP.__init__(slow, handler, command_call_limit=CALL_LIMITS, loop=loop, **OPTIONS)
        return fast, slow

    fast, slow = asyncio.run(build())
    own = {"_registry", "_max_sessions", "_pending_lines", "_in_data", "_ending"}
    assert set(vars(fast)) - own == set(vars(slow))
    for name, value in vars(slow).items():
        _same(vars(fast)[name], value, fast, slow, name)
    # The tables are not empty by accident: the comparison above saw real entries.
    assert "DATA" in fast._handle_hooks and "MAIL" in fast._smtp_methods
    assert {"LOGIN", "PLAIN", "CRAM-MD5"} <= set(fast._auth_methods)
    assert fast._ehlo_hook_ver == "new"


def test_other_options_take_aiosmtpd_init(monkeypatch) -> None:
    """An option the shortcut does not reproduce (TLS, say) must reach SMTP.__init__."""
    calls = []
    original = SMTP.__init__

    def recording_init(self, handler, **options):
        calls.append(options)
        original(self, handler, **options)

    monkeypatch.setattr(SMTP, "__init__", recording_init)

    async def build():
        loop = asyncio.get_running_loop()
        RelaySMTP(Handler(), SessionRegistry(), 10, loop=loop, **OPTIONS)
        RelaySMTP(Handler(), SessionRegistry(), 10, loop=loop, auth_require_tls=True, **OPTIONS)

    asyncio.run(build())
    assert len(calls) == (1 if protocol._FAST_INIT else 2)
    assert calls[-1]["auth_require_tls"] is True and calls[-1]["command_call_limit"] == CALL_LIMITS


class _Limit:
    local_part_limit = 0


def _outcome(getaddr, arg: str):
    # The email parser raises IndexError on some inputs ("<" alone): the same input must
    # then raise the same way here (aiosmtpd turns it into a 500 reply).
    try:
        return getaddr(_Limit(), arg)
    except Exception as error:              # noqa: BLE001 - the type is what is compared
        return type(error)


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
]


@pytest.mark.parametrize("arg", ADDRESSES)
def test_getaddr_agrees_with_aiosmtpd(arg: str) -> None:
    assert relay_getaddr(arg) == aiosmtpd_getaddr(arg)


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
        assert relay_getaddr(candidate) == aiosmtpd_getaddr(candidate), candidate
