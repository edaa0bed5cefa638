"""aiosmtpd's SMTP state machine, with the few changes a relay on port 25 needs.

- Multi-line replies leave in ONE write. aiosmtpd writes (and drains) each line of an
  EHLO reply on its own; a client that reads one segment per reply, as nmap's
  smtp-open-relay script does, then takes the rest of the EHLO reply for the answer to
  its next command and reports relaying that never happened.
- Before the greeting, the connection goes through the connection checks, ONE ordered
  table (qtsmtp.server.admission): the first that refuses gives the reply, and the
  connection is closed.
- On a PROXYPORT listener aiosmtpd reads the PROXY header (proxy_protocol_timeout) and
  calls the handler's handle_PROXY, which runs the same checks on the real client
  (qtsmtp.server.proxyproto says why aiosmtpd's support is the one used).
- What the relay knows about a session lives in RelaySession, which aiosmtpd makes
  through _create_session, also again after STARTTLS.
- The host name comes from the compiled configuration, never from a per-connection
  getfqdn() (aiosmtpd's default).
- The session knows whether it is in DATA, so ENDTCPSVR can let it finish and say 421
  to the others at once.

Only aiosmtpd's public constructor arguments and documented hooks are used, with these
exceptions, each checked to exist by tests/unit/test_fast_session.py so that an aiosmtpd
that renames one fails the tests, not a server:

- ``_handle_client`` (wrapped, super() does the work): aiosmtpd 1.4 has no documented
  hook between the connection and the greeting except handle_PROXY, which only a PROXY
  listener calls; a refused client must get its 554 or 421 instead of the greeting.
- ``_reset_timeout`` (called): DTATIMEOUT counts from the last piece of data
  (secure.SecureSMTP), aiosmtpd's one timer from the last command; and the connection
  checks after a PROXY header get the command timeout (RelaySMTP.admit).
- ``_timeout_cb`` (extended, super() closes): a session whose time is up gets 421 and a
  job-log line before the close, never a silent one; ``_reset_timeout`` is also
  replaced, for the shorter timeout under stress (``_timeout_duration``, aiosmtpd's
  timeout, read), and so that a command moves a deadline instead of replacing a timer:
  ``_timeout_handle`` (set; aiosmtpd cancels it when the connection is lost) is the
  timer that runs, started again only when it would fire too late, and when it fires
  before the deadline. Measured in one process (bench_session_cpu) with the method
  tables of the same change.
- ``_reader`` (read from, in DATA): the session's StreamReader, read in pieces by
  dataread.read_data through its public methods, as aiosmtpd's own smtp_DATA does.
- ``_writer`` (written to and drained, in push): the session's StreamWriter, as
  aiosmtpd's push writes a reply; push does what aiosmtpd's does with it, in one call
  less per reply (its debug log line, which mail.log drops, left out).
- ``sanitized_log`` (replaced in aiosmtpd.smtp): aiosmtpd's command loop passes every
  command line through it twice, and it masks an AUTH argument with a regular
  expression before the logger is asked whether the line is logged at all; the
  replacement asks first and calls aiosmtpd's own when the level logs. Measured in one
  process (smtp-source-like sessions on fake transports, CPU time per message), these
  two with the job log's and the Received: date's shortcuts of the same change: 317 ->
  295 us with a connection per message, 148 -> 138 us with many per connection.
- ``_getaddr`` (overridden, a shortcut kept for speed): aiosmtpd's defines a
  typing.Protocol class on every MAIL and RCPT before it parses the address, about 70 us
  each. Measured in the server's processes (CPU time per message, smtp-source, 10
  sessions): without the override 17 % more with a connection per message, 40 % more
  with many messages per connection. It is written for aiosmtpd 1.4.6, which
  pyproject.toml pins; tests/unit/test_fast_session.py compares it with aiosmtpd's on a
  table and on generated addresses.

aiosmtpd's own SMTP.__init__ sets every session up, with public arguments only (qtsmtp
used to copy that constructor). Its look-up of the command, AUTH and hook methods by
inspection, for every connection, is left with nothing to find (its handler argument is
methodtables.NOTHING, and the protocol's dir() is empty while it runs); then
``_smtp_methods``, ``_auth_methods`` (of aiosmtpd's ``_AuthMechAttr``), ``_handle_hooks``
and ``_ehlo_hook_ver`` are set (methodtables.set_tables) as aiosmtpd builds them, from
tables worked out once per class and handler: written for aiosmtpd 1.4.6 too, compared
with aiosmtpd's own tables by tests/unit/test_fast_session.py, and measured there (the
session factory in one process, 40 -> 20 us a connection). handler.AiosmtpdLookup
narrows dir() to the names aiosmtpd looks for.

- ``_tls_protocol``, ``_original_transport`` (set), ``_reader._buffer`` (emptied and
  kept) and the STARTTLS branch of ``connection_made`` (called): smtp_STARTTLS hands
  the handshake to the loop's own ``start_tls`` instead of building asyncio's
  pure-Python SSLProtocol, as aiosmtpd's does; on uvloop the TLS layer is then C.
  Measured in the server's processes (CPU time per message, bench/tls_source.py, 10
  sessions, STARTTLS on every connection, a shared machine): about 2.3-3.0 ms before,
  1.6-2.7 ms after. aiosmtpd reads ``_tls_protocol`` only for whether TLS is on and
  for its ``_extra`` (the session's ``ssl``), and closes ``_original_transport`` when
  the connection is lost; both are set as it sets them.

``_create_session`` and ``_create_envelope`` have underscored names but are documented
for subclasses (aiosmtpd's smtp.rst, "SMTP API"), and used as such.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re

import aiosmtpd.smtp as aiosmtpd_smtp
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

from qtsmtp.config.address import quoted_local_part
from qtsmtp.server import esmtp, methodtables
from qtsmtp.server.dataread import read_data
from qtsmtp.server.handler import AiosmtpdLookup, etrn_served, peer_text

# aiosmtpd logs every line at INFO; our job log says what an operator needs, once.
logging.getLogger("mail.log").setLevel(logging.WARNING)
# The PROXY header parser's warnings: TCP6050 in the job log says the same, once.
logging.getLogger("mail.debug").setLevel(logging.ERROR)


class _ProxyWarnings(logging.Filter):
    """aiosmtpd's own "invalid PROXY handshake" warning: RelaySMTP writes TCP6050."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "PROXY" not in str(record.msg)


logging.getLogger("mail.log").addFilter(_ProxyWarnings())

# aiosmtpd's command loop logs every command line through sanitized_log, which masks an
# AUTH argument (a regular expression per line) before the logger is asked whether it
# logs at that level at all: twice per command, for lines mail.log then drops. Asked
# first here; a level that logs gets aiosmtpd's own function, masking and all.
_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_aiosmtpd_sanitized_log = aiosmtpd_smtp.sanitized_log


def _sanitized_log_if_logged(func, msg, *args, **kwargs) -> None:
    level = _LOG_LEVELS.get(getattr(func, "__name__", None))
    if level is not None and not func.__self__.isEnabledFor(level):
        return
    _aiosmtpd_sanitized_log(func, msg, *args, **kwargs)


aiosmtpd_smtp.sanitized_log = _sanitized_log_if_logged

SHUTTING_DOWN = b"421 4.3.2 Service shutting down, try again later\r\n"
TIMED_OUT = b"421 4.4.2 Timeout exceeded, closing\r\n"
# How long STARTTLS's handshake may take, when CMDTIMEOUT is longer: the session's own
# timer ends it (TCP3095). The loop's limit, twice that, is only a backstop: when it
# fires, the session's task is cancelled and nothing could be logged.
HANDSHAKE_SECONDS = 60.0
# The event loop's timers keep milliseconds: a timer that fires this little before the
# deadline it was started for has reached it.
TIMER_SLACK_SECONDS = 0.002
PRE_GREETING_SECONDS = 30        # the connection checks before the greeting, at most
STRESS_TIMEOUT_SECONDS = 10      # the command timeout above half of the session cap
TOO_MANY_SESSIONS = "421 4.3.2 Too many sessions, try again later"

# Commands that move no mail, capped per session so a client cannot keep a session
# spinning; MAIL/RCPT/DATA are limited per message instead (see handler.MAX_RECIPIENTS).
CALL_LIMITS = {"NOOP": 100, "VRFY": 20, "HELP": 20, "EHLO": 20, "HELO": 20, "STARTTLS": 5,
               "AUTH": 5, "EXPN": 5, "ETRN": 10, "*": 1_000_000}

# asyncio reads a socket with recv(256 KiB) and then shrinks the bytes object: above
# glibc's mmap threshold (128 KiB), so every read of every command line is an mmap, an
# mremap and a munmap (and a TLB shootdown on the other CPUs of the process). An SMTP
# line is at most 1001 octets; 64 KiB reads come from the heap and still take a large
# message in few calls.
READ_CHUNK = 64 * 1024

# <local@domain> with a dot-atom local part (not an RFC 2047 "=?" word, which the parser
# would decode) and an LDH domain, then nothing, or blanks and ESMTP parameters: nearly
# every real MAIL and RCPT. For these the email package's parser returns exactly the
# text between the brackets, and the rest after the blanks (tests/unit/test_fast_session.py
# compares the two); anything else goes to that parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ANGLE_ADDR = re.compile(
    rf"<(?!=\?)({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
    r"(?:[ \t]+(?=[^\s(])|\Z)")


# RFC 2034: once ENHANCEDSTATUSCODES is offered, every 2xx, 4xx and 5xx reply but the
# greeting and the EHLO/HELO reply carries an RFC 3463 code. Ours do; aiosmtpd's own
# ("503 Error: need RCPT command", "250 OK", "501 Syntax: ...") get the code their reply
# code means (RFC 3463 section 3, RFC 5248's registry) in front of their text.
_ENHANCED = re.compile(rb"[245]\.\d{1,3}\.\d{1,3}(?: |\Z)")
_DEFAULT_ENHANCED = {
    b"220": b"2.0.0", b"221": b"2.0.0", b"235": b"2.7.0", b"250": b"2.0.0", b"251": b"2.1.5",
    b"252": b"2.5.0", b"421": b"4.3.0", b"432": b"4.7.12", b"450": b"4.2.0", b"451": b"4.3.0",
    b"452": b"4.3.1", b"454": b"4.7.0", b"500": b"5.5.2", b"501": b"5.5.4", b"502": b"5.5.1",
    b"503": b"5.5.1", b"504": b"5.5.4", b"530": b"5.7.0", b"534": b"5.7.9", b"535": b"5.7.8",
    b"538": b"5.7.11", b"550": b"5.0.0", b"551": b"5.1.6", b"552": b"5.3.4", b"553": b"5.1.3",
    b"554": b"5.0.0", b"555": b"5.5.4"}


def with_enhanced_code(line: bytes) -> bytes:
    """One reply line with an RFC 3463 code after the reply code, unless it has one."""
    code = line[:3]
    if len(line) < 4 or not code.isdigit() or code[:1] not in b"245":
        return line
    if _ENHANCED.match(line, 4):
        return line
    enhanced = _DEFAULT_ENHANCED.get(code, code[:1] + b".0.0")
    return code + line[3:4] + enhanced + (b" " + line[4:] if line[4:] else b"")


# RelaySMTP.offer: the compiled policy last asked about, and its extensions.
_last_offer: tuple = (None, None)


class RelayEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.originals: list[str] = []      # each accepted recipient as the client wrote it
        self.dsn: dict[str, dict] = {}      # recipient -> its NOTIFY and ORCPT (RFC 3461)
        self.dsn_ret: str | None = None
        self.dsn_envid: str | None = None


class RelaySession(Session):
    """aiosmtpd's Session, and what the relay knows about the connection besides.

    aiosmtpd makes one in connection_made, and a new one after STARTTLS: RFC 3207 4.2
    has the server forget what the client said before (HELO name, AUTH), and the new
    Session's peer is the socket's. What the client did not say stays with the
    connection: ``CARRIED`` names it, and the new session takes it from the one before.

    ``peer`` is the client the relay decides on: the one a PROXY header named
    (``client``), else the socket's peer, which aiosmtpd sets.
    """

    CARRIED = ("client", "proxy_data", "compiled", "exits", "qtsmtp_id", "counted",
               "bad_commands", "auth_failures", "started", "ending")

    def __init__(self, loop: asyncio.AbstractEventLoop, before: RelaySession | None = None):
        self.client: tuple[str, int] | None = None   # from the PROXY header, if any
        self._socket_peer = None
        super().__init__(loop)
        self.compiled = None         # the policy the connection started with (a change
        #                              applies to the next connection)
        self.exits = None            # exits.SessionExits: the exit chain held for it
        self.qtsmtp_id: str | None = None     # the session id exit programs are told
        self.counted: str | None = None       # the address counted in anvil (Security.clients)
        self.bad_commands = 0        # replies 500-504 so far (MAXBADCMD)
        self.auth_failures = 0       # failed AUTH so far (MAXAUTHFAIL)
        self.started = False         # every connection check passed; greeted
        self.in_data = False
        self.ending = False          # ENDTCPSVR: 421 once DATA is over
        if before is not None:
            for name in self.CARRIED:
                setattr(self, name, getattr(before, name))

    @property
    def peer(self):
        return self.client if self.client is not None else self._socket_peer

    @peer.setter
    def peer(self, value) -> None:
        self._socket_peer = value


class _TlsLayer:
    """What aiosmtpd reads of its TLS protocol object once STARTTLS is done: that there
    is one, and ``_extra``, which becomes the session's ``ssl`` (cipher, peer
    certificate, the SSL object), as asyncio's SSLProtocol has it after a handshake."""

    __slots__ = ("_extra",)
    EXTRA = ("peercert", "cipher", "compression", "ssl_object")

    def __init__(self, transport: asyncio.BaseTransport):
        self._extra = {name: transport.get_extra_info(name) for name in self.EXTRA}


class SessionRegistry:
    """The sessions one server job is serving; ENDTCPSVR ends them through it."""

    def __init__(self) -> None:
        self.sessions: set[RelaySMTP] = set()
        self.idle = asyncio.Event()
        self.idle.set()

    def add(self, session: RelaySMTP) -> None:
        self.sessions.add(session)
        self.idle.clear()

    def discard(self, session: RelaySMTP) -> None:
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


CONTROL_IN_ARGUMENT = "501 5.5.2 Syntax error: control character in the argument"


def _arguments_checked(method):
    """An aiosmtpd command method that refuses, before it runs, an argument holding a
    NUL, a CR, an LF, another control character or an invisible one (str.isprintable:
    one C-level test): no such byte reaches an address, a log line, a header or a
    command relayed to the next hop (issue 16: ``MAIL FROM:<"a\rRSET\r"@b.example>``)."""
    if getattr(method, "arguments_checked", False):
        return method

    @functools.wraps(method)
    async def checked(self, arg):
        if arg and not arg.isprintable():
            self.event_handler.log.send("TCP3062", peer_text(self.session),
                                        method.__name__.removeprefix("smtp_"))
            await self.push(CONTROL_IN_ARGUMENT)
            return
        await method(self, arg)

    checked.arguments_checked = True
    return checked


class RelaySMTP(AiosmtpdLookup, SMTP):
    """``connection_checks``: the checks every connection passes before the greeting, in
    order (admission.CONNECTION_CHECKS); ``options``: aiosmtpd's SMTP arguments."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _check_every_command(cls)        # a subclass's own command methods too

    def __init__(self, handler, registry: SessionRegistry, max_sessions: int, *,
                 connection_checks, **options):
        # aiosmtpd's constructor, with nothing to inspect; the method tables it would
        # build by inspection, from what methodtables worked out once (see there).
        super().__init__(methodtables.NOTHING, command_call_limit=CALL_LIMITS, **options)
        self.event_handler = handler
        methodtables.set_tables(self, handler, options.get("auth_exclude_mechanism"))
        self.registry = registry
        self.max_sessions = max_sessions
        self.connection_checks = tuple(connection_checks)
        self.proxied = options.get("proxy_protocol_timeout") is not None
        self._timeout_seconds = float(options.get("timeout") or 300)
        self._timeout_deadline = 0.0            # loop.time() the session's time is up
        self._timer_fires_at: float | None = None     # the running timer's, if any
        self._lost = False                      # connection_lost has run (_let_go)
        self._pending_lines: list[bytes] = []
        self._hello_reply = False       # pushing the EHLO/HELO reply: no RFC 3463 codes
        self._greeted = False           # the greeting (no RFC 3463 code either) is sent
        self._handshaking = False       # STARTTLS's handshake under way: no plain text
        self.dsn_taken: dict = {}       # RFC 3461 parameters of the MAIL or RCPT in hand
        self._offer: esmtp.Offer | None = None      # offer(), for the configuration
        self._offer_of = None                       # ... it was read from

    def __dir__(self) -> list[str]:
        # While aiosmtpd's constructor runs (its handler still NOTHING): nothing.
        if self.__dict__.get("event_handler") is methodtables.NOTHING:
            return []
        return super().__dir__()

    def _create_session(self) -> RelaySession:
        # self.session is the session before STARTTLS, or None on a new connection.
        return RelaySession(self.loop, self.session)

    def _create_envelope(self) -> Envelope:
        return RelayEnvelope()

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
                addr = address.addr_spec
                local = address.local_part
                if '"' in arg and local and "@" in addr and not addr.startswith('"') \
                        and quoted_local_part(local) != local:
                    # The email package writes "a..b", ".a", "a." without their quotes:
                    # the address would mean something else to the next hop.
                    addr = f"{quoted_local_part(local)}{addr[len(local):]}"
            except (HeaderParseError, AttributeError, IndexError, ValueError):
                # The email parser raises more than HeaderParseError on some garbage
                # ("<", "<=@[>"); aiosmtpd lets that out as "500 Error: (AttributeError)
                # ...", internals and all. An address that does not parse is malformed.
                return None, None
        localpart, _, _ = addr.rpartition("@")
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest

    # --- one write per reply ---------------------------------------------------------

    async def push(self, status) -> None:
        line = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii") \
            if isinstance(status, str) else status
        if not self._greeted:
            self._greeted = line[:3] == b"220"      # the greeting: no RFC 3463 code
        elif not self._hello_reply:
            line = with_enhanced_code(line)
        # "250-..." continues the reply; "250 ..." (or anything else) ends it.
        if len(line) > 3 and line[3:4] == b"-" and line[:3].isdigit():
            self._pending_lines.append(line)
            return
        if self._pending_lines:
            if self._hello_reply and line[:4] == b"250 ":
                self._pending_lines = esmtp.ehlo_lines(self._pending_lines, self.offer())
            self._pending_lines.append(line)
            line = b"\r\n".join(self._pending_lines)
            self._pending_lines.clear()
        # One write of the lines and CRLF, one drain: what aiosmtpd's push does, less
        # its encode and its debug log call (mail.log logs nothing below WARNING here).
        self._writer.write(line + b"\r\n")
        await self._writer.drain()

    def offer(self) -> esmtp.Offer:
        """The ESMTP extensions of this session (the attributes it started with); asked
        at EHLO and at each MAIL, RCPT and DATA, so kept while the configuration is the
        same one."""
        compiled = self.session.compiled if self.session is not None else None
        if not compiled:
            return esmtp.Offer()
        if self._offer_of is not compiled:
            # The job's sessions share the policy: its Offer is worked out once for all
            # of them (the last policy asked about, and its Offer, are kept).
            global _last_offer
            if _last_offer[0] is not compiled:
                _last_offer = (compiled, esmtp.Offer.from_attributes(compiled.attributes))
            self._offer = _last_offer[1]
            self._offer_of = compiled
        return self._offer

    # --- DSN parameters (RFC 3461): taken out before aiosmtpd parses the rest -------

    async def smtp_MAIL(self, arg: str | None) -> None:
        arg = await self._take_dsn(arg, "FROM:", esmtp.MAIL_DSN)
        if arg is not False:
            await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        arg = await self._take_dsn(arg, "TO:", esmtp.RCPT_DSN)
        if arg is not False:
            await super().smtp_RCPT(arg)

    async def _take_dsn(self, arg: str | None, keyword: str, names) -> str | None | bool:
        """``arg`` without its DSN parameters, which go to ``dsn_taken`` for the handler;
        False when one is not valid (the 501 is sent). aiosmtpd upper-cases every
        parameter and refuses any on RCPT, but ENVID and ORCPT keep their case."""
        self.dsn_taken = {}
        if not arg or not self.session.extended_smtp or not self.offer().dsn \
                or arg[:len(keyword)].upper() != keyword:
            return arg
        address, rest = self._getaddr(arg[len(keyword):].strip())
        if not address or not rest:
            return arg
        try:
            kept, self.dsn_taken = esmtp.take_dsn_parameters(rest, names)
        except esmtp.BadParameter as bad:
            await self.push(f"501 5.5.4 {bad}")
            return False
        return arg[:len(arg) - len(rest)].rstrip() + "".join(" " + word for word in kept)

    @property
    def offers_starttls(self) -> bool:
        """EHLO offers STARTTLS (TLS configured, not on yet): HELP lists it then."""
        return self.tls_context is not None and self._tls_protocol is None

    @syntax("STARTTLS", when="offers_starttls")
    async def smtp_STARTTLS(self, arg: str) -> None:
        """aiosmtpd's STARTTLS (RFC 3207), with the handshake and the TLS records done by
        the loop's start_tls (uvloop's, in C) rather than by asyncio's pure-Python
        SSLProtocol, which aiosmtpd's builds by hand (see the module's docstring for what
        that saves). Then, as aiosmtpd's:
        a new session (RFC 3207 4.2, RelaySession.CARRIED), what the client sent before
        the handshake thrown away, the reader and writer on the TLS transport."""
        if arg:
            await self.push("501 Syntax: STARTTLS")
            return
        if not self.tls_context:
            await self.push("454 TLS not available")
            return
        if self._tls_protocol is not None:
            # RFC 3207 4.2: TLS is on; a second handshake inside it is not offered.
            await self.push("554 5.5.1 Error: TLS already active")
            return
        await self.push("220 Ready to start TLS")
        # What the client sent after STARTTLS in plain text is never a command (RFC 3207
        # section 5): dropped now, as aiosmtpd's connection_made would drop it.
        self._reader._buffer.clear()
        plain = self.transport
        self._handshaking = True
        if HANDSHAKE_SECONDS < self._timeout_seconds:
            self._reset_timeout(HANDSHAKE_SECONDS)
        try:
            secure = await self.loop.start_tls(plain, self, self.tls_context, server_side=True,
                                               ssl_handshake_timeout=2 * HANDSHAKE_SECONDS)
        except (ConnectionError, OSError, ValueError, TimeoutError):
            # The handshake failed (ssl.SSLError is an OSError) and the loop closed the
            # connection: connection_lost follows, as when a client goes away.
            plain.close()
            return
        finally:
            self._handshaking = False
        self._reset_timeout()               # CMDTIMEOUT again, for the first command over TLS
        self._original_transport = plain
        self._tls_protocol = _TlsLayer(secure)
        # The loop may have read the client's first command over TLS already (in the
        # segment of its last handshake message); connection_made empties the buffer.
        early = bytes(self._reader._buffer)
        self.connection_made(secure)      # aiosmtpd's branch for a connection after STARTTLS
        self._reader._buffer += early

    async def smtp_EHLO(self, hostname: str) -> None:
        self._hello_reply = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._hello_reply = False

    @property
    def offers_etrn(self) -> bool:
        """EHLO offers ETRN (ETRNSVR(*YES)): HELP lists it then, as @syntax's ``when``."""
        return etrn_served(self.session)

    @syntax("ETRN domain | @domain", when="offers_etrn")
    async def smtp_ETRN(self, arg: str) -> None:
        """RFC 1985: the handler decides (ETRNSVR, the *ETRNSVR list) and runs the queue."""
        await self.push(await self.event_handler.etrn(self.session, arg))

    async def smtp_HELO(self, hostname: str) -> None:
        self._hello_reply = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._hello_reply = False

    # --- connection: the checks before the greeting -----------------------------------

    def connection_made(self, transport) -> None:
        if hasattr(transport, "max_size"):
            transport.max_size = READ_CHUNK
        first = self._handler_coroutine is None      # not the one after STARTTLS
        super().connection_made(transport)
        if self.session is not None and self.transport is transport:
            self.registry.add(self)
        if first and self._handler_coroutine is not None:
            self._handler_coroutine.add_done_callback(self._command_loop_ended)

    def connection_lost(self, error) -> None:
        self.registry.discard(self)
        self.event_handler.session_ended(self.session)
        super().connection_lost(error)
        self._lost = True
        if self._handler_coroutine is None or self._handler_coroutine.done():
            self._let_go()

    def _command_loop_ended(self, task) -> None:
        if self._lost:
            self._let_go()

    def _let_go(self) -> None:
        """The connection is lost and its command loop has ended: nothing runs on this
        object any more. What it holds that refers back to it goes: its bound command
        and AUTH methods, the command loop's task (whose CancelledError's traceback
        holds the loop's frame, and so this object), the reader and the writer (their
        transport's protocol, the writer's protocol are this object), the timer, the
        callback asyncio's StreamReaderProtocol calls once connected. Then reference
        counting frees the session, its streams and its envelope at once; otherwise
        every connection left some 50 objects in reference cycles (the whole session,
        and more), found and freed only by the cycle collector's passes, which cost the
        server job about 3 % of its CPU with a connection per message."""
        self._smtp_methods = self._auth_methods = {}
        self._client_connected_cb = None
        self._handler_coroutine = self._reader = self._writer = self._timeout_handle = None

    async def _handle_client(self) -> None:
        if not self.proxied:
            if await self.admit():
                await super()._handle_client()
            return
        # aiosmtpd reads the PROXY header, then calls handle_PROXY, which admits (or not)
        # the client the header names; a header that is not valid, or none in time,
        # closes the connection without the hook.
        try:
            await super()._handle_client()
        finally:
            session = self.session
            if not session.started and not session.proxy_data:
                why = (session.proxy_data.error if session.proxy_data is not None
                       else "no PROXY header before the connection ended")
                self.event_handler.log.send("TCP6050", peer_text(session), why)

    async def admit(self) -> bool:
        """Run the connection checks in order; the first refusal is the reply, and the
        connection is closed. True: greet the client."""
        # The checks (DNS blocklists: seconds) get PRE_GREETING_SECONDS at most; on a
        # PROXY listener aiosmtpd would give the command timeout back only after
        # handle_PROXY, what is left of the PROXY header's.
        self._reset_timeout(PRE_GREETING_SECONDS)
        for entry in self.connection_checks:
            refusal = await entry.check(self)
            if refusal is not None:
                await self.push(refusal)
                self.transport.close()
                return False
        self.session.started = True
        self.event_handler.session_started(self.session)
        self._reset_timeout()
        return True

    # --- timeouts: stress-dependent, and never a silent close -------------------------

    def _reset_timeout(self, duration: float | None = None) -> None:
        # Above half of the job's session cap, a session waits STRESS_TIMEOUT_SECONDS
        # for its next command, as Postfix's smtpd_timeout under stress: idle sessions
        # cannot hold the job's descriptors for CMDTIMEOUT each.
        if duration is None and len(self.registry.sessions) * 2 > self.max_sessions:
            duration = STRESS_TIMEOUT_SECONDS
        self._timeout_seconds = duration or self._timeout_duration
        # aiosmtpd's cancels its timer and starts a new one, on every command and every
        # piece of DATA (about 12 a connection). Here the deadline moves, and a timer that
        # would fire before it stays: when it fires, _deadline_reached starts one for what
        # is left. A new timer only when the deadline comes nearer (a shorter duration).
        deadline = self.loop.time() + self._timeout_seconds
        self._timeout_deadline = deadline
        if self._timer_fires_at is not None and self._timer_fires_at <= deadline:
            return
        if self._timeout_handle is not None:
            self._timeout_handle.cancel()
        self._start_timer(deadline)

    def _start_timer(self, deadline: float) -> None:
        self._timer_fires_at = deadline
        self._timeout_handle = self.loop.call_at(deadline, self._deadline_reached)

    def _deadline_reached(self) -> None:
        self._timer_fires_at = None
        if self._timeout_deadline - self.loop.time() > TIMER_SLACK_SECONDS:
            self._start_timer(self._timeout_deadline)    # a command came meanwhile
            return
        self._timeout_cb()

    def _timeout_cb(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            # In the middle of STARTTLS's handshake a reply in plain text would reach the
            # client's TLS layer as a broken record: the connection is only closed.
            self.event_handler.log.send("TCP3095" if self._handshaking else "TCP3063",
                                        peer_text(self.session), f"{self._timeout_seconds:g}")
            if not self._handshaking:
                self.transport.write(TIMED_OUT)
        transport = self.transport
        super()._timeout_cb()
        # close() ends the connection once what was written is sent: never, for a client
        # that reads no reply (its window and our buffer full), which then held its
        # session, and push() waiting to drain, for as long as it liked. Ended now.
        if transport is not None and transport.get_write_buffer_size():
            transport.abort()

    # --- DATA and graceful end -------------------------------------------------------

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, but the message is spooled as it arrives (dataread), never
        collected whole in memory. The handler opens the message (its queue ID, the
        Received: line, a Spool to the commit process) before the 354; at the final dot
        its handle_DATA hook gets the envelope with ``envelope.spool`` and commits it."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        session, envelope, handler = self.session, self.envelope, self.event_handler
        opened = await handler.open_message(session, envelope)
        if isinstance(opened, str):            # the queue cannot take it: 451
            await self.push(opened)
            return
        session.in_data = True
        try:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            allow_bare = session.compiled.attributes.get("ALWBARELF") == "*YES"
            outcome = await read_data(self._reader, opened.write, limit=self.data_size_limit,
                                      allow_bare_line_ends=allow_bare)
            envelope.spool, envelope.data_outcome = opened, outcome
            if opened.kept is not None:
                envelope.original_content = bytes(opened.kept)
            refusal = outcome.refusal(self.data_size_limit)
            if refusal is not None:
                handler.data_refused(session, outcome, refusal)
                reply = refusal
            else:
                reply = await self._call_handler_hook("DATA")
        finally:
            session.in_data = False
            opened.abandon()                  # nothing when the hook committed it
        self._set_post_data_state()
        await self.push(reply)
        if session.ending:
            self.say_421_and_close()

    def end_when_possible(self) -> int:
        """Ask this session to end: now if it waits for a command, after DATA if in it."""
        self.session.ending = True
        if self.session.in_data:
            return 1
        self.say_421_and_close()
        return 0

    def say_421_and_close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(SHUTTING_DOWN)
            self.transport.close()


def _check_every_command(cls: type) -> None:
    for name in dir(cls):
        if name.startswith("smtp_"):
            setattr(cls, name, _with_aiosmtpd_help(_arguments_checked(getattr(cls, name)), name))


_HELP_ATTRIBUTES = ("__smtp_syntax__", "__smtp_syntax_extended__", "__smtp_syntax_when__")


def _with_aiosmtpd_help(method, name: str):
    """aiosmtpd's HELP lists a command, and gives its syntax, only when its method carries
    the attributes of aiosmtpd's @syntax decorator: an override here that does not repeat
    the decorator keeps aiosmtpd's (without this, HELP left out MAIL, RCPT, DATA, EHLO,
    HELO and QUIT, the commands this server overrides)."""
    original = getattr(SMTP, name, None)
    if not hasattr(method, "__smtp_syntax__") and hasattr(original, "__smtp_syntax__"):
        for attribute in _HELP_ATTRIBUTES:
            setattr(method, attribute, getattr(original, attribute))
    return method


_check_every_command(RelaySMTP)
