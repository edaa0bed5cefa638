"""aiosmtpd's SMTP state machine, with the few changes a relay on port 25 needs.

- Multi-line replies leave in ONE write. aiosmtpd writes (and drains) each line of an
  EHLO reply on its own; a client that reads one segment per reply, as nmap's
  smtp-open-relay script does, then takes the rest of the EHLO reply for the answer to
  its next command and reports relaying that never happened.
- The connection is checked against the reject lists before the greeting: 554, close.
- The host name comes from the compiled configuration, never from a per-connection
  getfqdn() (aiosmtpd's default).
- The session knows whether it is in DATA, so ENDTCPSVR can let it finish and say 421
  to the others at once.
- Two costs aiosmtpd pays per connection and per command, not paid here (same
  behaviour, checked by tests/unit/test_fast_session.py): SMTP.__init__ looks its
  command and hook methods up with inspect.getmembers() and dir() for every new
  connection (about 150 us, more than a whole relay decision), and _getaddr() defines
  a typing.Protocol class on every MAIL and RCPT before it parses the address.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import socket
import weakref

import aiosmtpd
from aiosmtpd.smtp import (CALL_LIMIT_DEFAULT, SMTP, Envelope, _AuthMechAttr,
                           login_always_fail)
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

# aiosmtpd logs every line at INFO; our job log says what an operator needs, once.
logging.getLogger("mail.log").setLevel(logging.WARNING)

SHUTTING_DOWN = b"421 4.3.2 Service shutting down, try again later\r\n"
TOO_MANY_SESSIONS = "421 4.3.2 Too many sessions, try again later"

# Commands that move no mail, capped per session so a client cannot keep a session
# spinning; MAIL/RCPT/DATA are limited per message instead (see handler.MAX_RECIPIENTS).
CALL_LIMITS = {"NOOP": 100, "VRFY": 20, "HELP": 20, "EHLO": 20, "HELO": 20, "STARTTLS": 5,
               "AUTH": 5, "EXPN": 5, "*": 1_000_000}

# asyncio reads a socket with recv(256 KiB) and then shrinks the bytes object: above
# glibc's mmap threshold (128 KiB), so every read of every command line is an mmap, an
# mremap and a munmap (and a TLB shootdown on the other CPUs of the process). An SMTP
# line is at most 1001 octets; 64 KiB reads come from the heap and still take a large
# message in few calls.
READ_CHUNK = 64 * 1024

# The aiosmtpd releases whose SMTP.__init__ RelaySMTP._init_session_state was checked
# against, attribute by attribute (tests/unit/test_fast_session.py). Any other release
# gets aiosmtpd's own __init__: slower, never wrong.
FAST_INIT_VERSIONS = ("1.4.6",)
_FAST_INIT = aiosmtpd.__version__ in FAST_INIT_VERSIONS

# <local@domain> with a dot-atom local part (not an RFC 2047 "=?" word, which the parser
# would decode) and an LDH domain, then nothing, or blanks and ESMTP parameters: nearly
# every real MAIL and RCPT. For these the email package's parser returns exactly the
# text between the brackets, and the rest after the blanks (tests/unit/test_fast_session.py
# compares the two); anything else goes to that parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ANGLE_ADDR = re.compile(
    rf"<(?!=\?)({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
    r"(?:[ \t]+(?=[^\s(])|\Z)")


class RelayEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.originals: list[str] = []      # each accepted recipient as the client wrote it


class SessionRegistry:
    """The sessions one server job is serving; ENDTCPSVR ends them through it."""

    def __init__(self) -> None:
        self.sessions: set["RelaySMTP"] = set()
        self.idle = asyncio.Event()
        self.idle.set()

    def add(self, session: "RelaySMTP") -> None:
        self.sessions.add(session)
        self.idle.clear()

    def discard(self, session: "RelaySMTP") -> None:
        self.sessions.discard(session)
        if not self.sessions:
            self.idle.set()

    def ask_to_end(self) -> int:
        """421 and close every session not in DATA; the ones in DATA finish first.
        Returns how many are in DATA."""
        in_data = 0
        for session in list(self.sessions):
            in_data += session.end_when_possible()
        return in_data

    def force_end(self) -> int:
        stragglers = list(self.sessions)
        for session in stragglers:
            session.say_421_and_close()
        return len(stragglers)


class _MethodTables:
    """The names SMTP.__init__ finds by inspection, found once per class and handler."""

    __slots__ = ("auth", "hooks", "ehlo_hook_ver", "commands")

    def __init__(self, cls: type, handler) -> None:
        # As SMTP.__init__: AUTH mechanisms of the protocol (builtin) then the handler's.
        self.auth = [(getattr(member, "__auth_mechanism_name__",
                              name.replace("auth_", "").replace("__", "-")), name, owner)
                     for owner, members in (("self", inspect.getmembers(cls)),
                                            ("handler", inspect.getmembers(handler)))
                     for name, member in members if name.startswith("auth_")]
        self.hooks = {m.replace("handle_", ""): getattr(handler, m)
                      for m in dir(handler) if m.startswith("handle_")}
        ehlo_hook = self.hooks.get("EHLO")
        if ehlo_hook is None:
            self.ehlo_hook_ver = None
        else:
            count = len(inspect.signature(ehlo_hook).parameters)
            if count not in (4, 5):
                raise RuntimeError("Unsupported EHLO Hook")
            self.ehlo_hook_ver = "old" if count == 4 else "new"
        self.commands = [(m.replace("smtp_", ""), m) for m in dir(cls) if m.startswith("smtp_")]


_tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # handler -> {cls: tables}


def _method_tables(cls: type, handler) -> _MethodTables:
    per_class = _tables.setdefault(handler, {})
    tables = per_class.get(cls)
    if tables is None:
        tables = per_class[cls] = _MethodTables(cls, handler)
    return tables


# The SMTP.__init__ options _init_session_state reproduces; any other (tls_context,
# authenticator, proxy_protocol_timeout ...) takes aiosmtpd's own __init__.
_FAST_INIT_OPTIONS = frozenset({"hostname", "ident", "data_size_limit", "timeout", "loop"})


class RelaySMTP(SMTP):
    def __init__(self, handler, registry: SessionRegistry, max_sessions: int, **options):
        if _FAST_INIT and options.keys() == _FAST_INIT_OPTIONS:
            self._init_session_state(handler, **options)
        else:
            super().__init__(handler, command_call_limit=CALL_LIMITS, **options)
        self._registry = registry
        self._max_sessions = max_sessions
        self._pending_lines: list[bytes] = []
        self._in_data = False
        self._ending = False

    def _init_session_state(self, handler, *, hostname: str, ident: str, data_size_limit: int,
                            timeout: float, loop) -> None:
        """Exactly the state aiosmtpd 1.4.6's SMTP.__init__ sets up for these options and
        the defaults of all others (no TLS, no AUTH callback or authenticator, no PROXY
        protocol) with CALL_LIMITS, the method tables coming from _method_tables."""
        assert isinstance(data_size_limit, int)
        self.__ident__ = ident
        self.loop = loop
        asyncio.StreamReaderProtocol.__init__(
            self, asyncio.StreamReader(loop=loop, limit=self.line_length_limit),
            client_connected_cb=self._cb_client_connected, loop=loop)
        self.event_handler = handler
        self.data_size_limit = data_size_limit
        self.enable_SMTPUTF8 = False
        self._decode_data = False
        self.command_size_limits.clear()
        self.hostname = hostname or socket.getfqdn()
        self.tls_context = None
        self.require_starttls = None
        self._timeout_duration = timeout
        self._timeout_handle = None
        self._tls_handshake_okay = True
        self._tls_protocol = None
        self._original_transport = None
        self.session = None
        self.envelope = None
        self.transport = None
        self._handler_coroutine = None
        self._auth_require_tls = True
        self._proxy_timeout = None
        self._auth_callback = login_always_fail
        self._authenticator = None
        self._auth_required = False
        tables = _method_tables(type(self), handler)
        self._auth_methods = {
            mechanism: _AuthMechAttr(getattr(self if owner == "self" else handler, name),
                                     owner == "self")
            for mechanism, name, owner in tables.auth}
        self._handle_hooks = dict(tables.hooks)
        self._ehlo_hook_ver = tables.ehlo_hook_ver
        self._smtp_methods = {command: getattr(self, name) for command, name in tables.commands}
        self._enforce_call_limit = True
        self._call_limit_base = CALL_LIMITS
        self._call_limit_default = CALL_LIMITS.get("*", CALL_LIMIT_DEFAULT)

    def _getaddr(self, arg: str):
        """aiosmtpd's _getaddr, without its per-call class, and a shortcut for the
        plain <local@domain> (see _PLAIN_ANGLE_ADDR)."""
        if not arg:
            return "", ""
        plain = _PLAIN_ANGLE_ADDR.match(arg)
        if plain is not None:
            addr, rest = plain.group(1), arg[plain.end():]
        else:
            try:
                if arg.lstrip().startswith("<"):
                    address, rest = get_angle_addr(arg)
                else:
                    address, rest = get_addr_spec(arg)
            except HeaderParseError:
                return None, None
            addr = address.addr_spec
        localpart, _, _ = addr.rpartition("@")
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest

    # --- one write per reply ---------------------------------------------------------

    async def push(self, status) -> None:
        line = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii") \
            if isinstance(status, str) else status
        self._pending_lines.append(line + b"\r\n")
        # "250-..." continues the reply; "250 ..." (or anything else) ends it.
        if len(line) > 3 and line[3:4] == b"-" and line[:3].isdigit():
            return
        reply = b"".join(self._pending_lines)
        self._pending_lines.clear()
        self._writer.write(reply)
        await self._writer.drain()

    # --- connection ------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        if hasattr(transport, "max_size"):
            transport.max_size = READ_CHUNK
        super().connection_made(transport)
        if self.session is not None and self.transport is transport:
            self._registry.add(self)

    def connection_lost(self, error) -> None:
        self._registry.discard(self)
        self.event_handler.session_ended(self.session)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if len(self._registry.sessions) > self._max_sessions:
            await self.push(TOO_MANY_SESSIONS)
            self.transport.close()
            return
        refusal = self.event_handler.connection_refusal(self.session)
        if refusal is not None:
            await self.push(refusal)
            self.transport.close()
            return
        await super()._handle_client()

    # --- DATA and graceful end -------------------------------------------------------

    async def smtp_DATA(self, arg: str) -> None:
        self._in_data = True
        try:
            await super().smtp_DATA(arg)
        finally:
            self._in_data = False
        if self._ending:
            self.say_421_and_close()

    def end_when_possible(self) -> int:
        """Ask this session to end: now if it waits for a command, after DATA if in it."""
        self._ending = True
        if self._in_data:
            return 1
        self.say_421_and_close()
        return 0

    def say_421_and_close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(SHUTTING_DOWN)
            self.transport.close()

    def _create_envelope(self) -> Envelope:
        return RelayEnvelope()
