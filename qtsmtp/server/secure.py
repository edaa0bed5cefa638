"""The security side of a server job: STARTTLS and implicit TLS, AUTH, the exit point,
session limits, DNS blocklists and the PROXY protocol listener.

``Security`` holds what one server job needs for them (the TLS context, the exit chain,
the AUTH users, the failure counts) and opens the extra listeners. ``SecureSMTP`` (the
protocol) and ``SecureHandler`` (the handler) add them to the relay's own RelaySMTP and
RelayHandler, which keep deciding relay questions exactly as before. The checks made
before the greeting are one ordered table, qtsmtp.server.admission.

PROXY and STARTTLS: after STARTTLS, aiosmtpd makes a new session whose peer is the
socket's; RelaySession carries the PROXY header's client, and the rest of what the
relay knows about the connection, over to it (protocol.RelaySession.CARRIED).
"""

from __future__ import annotations

import asyncio
import binascii
from base64 import b64decode
from pathlib import Path

from aiosmtpd.smtp import AuthResult, LoginPassword, syntax

from qtsmtp.config import attributes
from qtsmtp.config.credentials import CredentialStore
from qtsmtp.jobs.counters import write_counts
from qtsmtp.server.admission import CONNECTION_CHECKS
from qtsmtp.server.anvil import AUTH_PENALTY_SECONDS, ClientCounts, LocalCounts
from qtsmtp.server.dnsbl import Blocklists
from qtsmtp.server.exits import (
    CLOSED,
    DISCONNECT,
    DROPPED,
    ENDING,
    NOT_FINISHED,
    QUIT,
    REJECT,
    TIMEOUT,
    ExitSource,
    exit_event,
)
from qtsmtp.server.handler import RelayHandler, peer_text
from qtsmtp.server.protocol import RelaySMTP
from qtsmtp.server.proxyproto import PROXY_HEADER_SECONDS
from qtsmtp.server.tls import server_context, tls_paths

AUTH_MAX_DELAY = 10.0
# What exit programs see of a message at most (the first octets of a larger one): the
# copy kept for them is the only one a server job holds in memory.
EXIT_CONTENT_LIMIT = 32 * 1024 * 1024
BAD_REPLIES = ("500", "501", "502", "503", "504")
TOO_MANY_BAD = "421 4.7.0 Too many commands that are not valid, closing"
TOO_MANY_AUTH = "421 4.7.0 Too many failed authentications, closing"
AUTH_LOCKED_OUT = ("421 4.7.0 Too many failed authentications from your address; "
                   "try again later")
# The AUTH mechanisms SecureHandler implements (the names aiosmtpd's own have too):
# excluded, none is offered or accepted (ALWAUTH(*NONE), or no TLS configured).
AUTH_MECHANISMS = ("LOGIN", "PLAIN")


def _number(value, default):
    return value if isinstance(value, int) else default


class Security:
    """One server job's TLS context, exits, AUTH users and counters."""

    def __init__(self, root: Path, log, job_number: str, clients: ClientCounts | None = None):
        self.root = Path(root)
        self.log = log
        self.job_number = job_number
        values = attributes.load(self.root)          # the start-time attributes
        paths = tls_paths(values)
        self.tls = server_context(*paths) if paths else None
        self.implicit_port = (values["IMPSSLPORT"] if values["ALWIMPSSL"] == "*YES"
                              and self.tls is not None else None)
        proxy = values.get("PROXYPORT")
        self.proxy_port = proxy if isinstance(proxy, int) else None
        self.exits = ExitSource(self.root, log, self._publish_counts)
        self.ending_sessions: set[asyncio.Task] = set()   # DISCONNECT calls in flight
        self._exits_lock: asyncio.Lock | None = None
        self._counts: dict | None = None
        self._counts_due = False
        self.credentials = CredentialStore(self.root)
        # Sessions, connection rate and AUTH failures of each client address, across
        # every server job (anvil.ClientTable, made by the supervisor).
        self.clients = clients if clients is not None else LocalCounts()
        self.own_addresses: frozenset = frozenset()    # this host's: not limited per client
        self._blocklists: dict[tuple, Blocklists] = {}
        self._reported_silent: set = set()

    # --- listeners -----------------------------------------------------------------

    def extra_listeners(self) -> list[tuple[str, int, dict]]:
        """(what, port, session options) of the listeners beside the SMTP port."""
        out = []
        if self.implicit_port:
            out.append(("implicit TLS", self.implicit_port, {"implicit_tls": True}))
        if self.proxy_port:
            out.append(("PROXY protocol", self.proxy_port, {"proxied": True}))
        return out

    async def watch(self, every: float) -> None:
        """Re-read the exit registration when it changes."""
        while True:
            await asyncio.sleep(every)
            await self.exits.close_retired()
            await self.follow_exits()

    async def follow_exits(self) -> None:
        """Re-read the exit registration if it changed (off the event loop: imports), one
        task at a time: the watch above, or a command asking the job to confirm its change
        (worker.ServerJob._applied)."""
        if self._exits_lock is None:
            self._exits_lock = asyncio.Lock()
        async with self._exits_lock:
            if not self.exits.needs_reload():
                return
            error = await asyncio.get_running_loop().run_in_executor(None, self.exits.reload)
            if error == NOT_FINISHED:
                return                  # a hand edit under way (TCP2676): looked at again
            if error is None:
                self.log.send("TCP6024", len(self.exits.current.exits))
            else:
                self.log.send("TCP6023", error)

    async def close(self) -> None:
        # The sessions' DISCONNECT calls first (each bounded by its program's budget).
        if self.ending_sessions:
            await asyncio.wait(list(self.ending_sessions), timeout=30)
        await self.exits.close()
        if self._counts is not None:
            self._write_counts()

    # --- the end of a session ---------------------------------------------------------

    def session_ended(self, session, reason: str) -> None:
        """DISCONNECT to the session's programs; the chain is given back once they have
        been told (a replaced chain's programs are closed only after that)."""
        exits, session.exits = session.exits, None
        waiting = exits.end(exit_event(session, None, DISCONNECT, reason, reason=reason))
        if waiting is None:
            self.exits.release(exits.chain)
            return
        task = asyncio.get_running_loop().create_task(self._told(exits.chain, waiting))
        self.ending_sessions.add(task)
        task.add_done_callback(self.ending_sessions.discard)

    async def _told(self, chain, waiting) -> None:
        try:
            await waiting
        finally:
            self.exits.release(chain)

    # --- counters for WRKACTJOB -------------------------------------------------------

    def _publish_counts(self, counts: dict) -> None:
        """Written at most once a second (off the event loop), and when the job ends."""
        self._counts = dict(counts)
        if not self._counts_due:
            self._counts_due = True
            asyncio.get_running_loop().call_later(1.0, self._flush_counts)

    def _flush_counts(self) -> None:
        self._counts_due = False
        asyncio.get_running_loop().run_in_executor(None, self._write_counts)

    def _write_counts(self) -> None:
        path = getattr(self.log, "path", None)
        if path is not None and self._counts is not None:
            try:
                write_counts(path, self._counts)
            except OSError:
                pass             # counters are for display; the job log said it once

    # --- per-client state ----------------------------------------------------------

    def blocklists(self, zones) -> Blocklists | None:
        if not isinstance(zones, list) or not zones:
            return None
        key = tuple(zones)
        lists = self._blocklists.get(key)
        if lists is None:
            lists = self._blocklists[key] = Blocklists(list(zones))
        return lists if lists.active else None

class SecureSMTP(RelaySMTP):
    """RelaySMTP with TLS (STARTTLS, or TLS from the start on the implicit-TLS listener),
    AUTH, the PROXY listener, the connection checks of admission.CONNECTION_CHECKS, the
    session limits and the exits on HELO and EHLO. aiosmtpd is told all of it through
    its constructor arguments."""

    def __init__(self, handler, registry, max_sessions: int, *, security: Security,
                 limits: dict, proxied: bool = False, implicit_tls: bool = False, **options):
        tls_wanted = security.tls is not None
        no_auth = limits["ALWAUTH"] == "*NONE" or not tls_wanted
        super().__init__(
            handler, registry, max_sessions, connection_checks=CONNECTION_CHECKS,
            # STARTTLS is offered where TLS is configured and the connection is not
            # TLS yet; on the implicit-TLS listener the connection is TLS from its
            # first byte, so AUTH needs no STARTTLS there.
            tls_context=None if implicit_tls else security.tls,
            auth_require_tls=not implicit_tls,
            auth_exclude_mechanism=AUTH_MECHANISMS if no_auth else None,
            proxy_protocol_timeout=PROXY_HEADER_SECONDS if proxied else None,
            **options)
        self.security = security
        self.limits = limits
        self.implicit_tls = implicit_tls
        self.end_reason: str | None = None

    def _create_session(self):
        session = super()._create_session()
        if self.implicit_tls:
            session.ssl = {"implicit": True}
        return session

    def connection_lost(self, error) -> None:
        # Give back what the connection checks took for the session.
        session = self.session
        if session.counted is not None:
            self.security.clients.disconnected(session.counted)
            session.counted = None
        if session.exits is not None:
            self.security.session_ended(session, self._end_reason(session, error))
        super().connection_lost(error)

    def _end_reason(self, session, error) -> str:
        if session.ending:
            return ENDING
        if self.end_reason is not None:
            return self.end_reason
        return DROPPED if error is not None else CLOSED

    # --- AUTH in HELP ------------------------------------------------------------------

    @property
    def offers_auth(self) -> bool:
        """EHLO offers AUTH (aiosmtpd's rule, and a mechanism to offer): HELP lists it
        then, as @syntax's ``when``; not after HELO, where AUTH is 500 (not recognized)."""
        session = self.session
        after_helo = session is not None and session.host_name and not session.extended_smtp
        return bool(self._auth_methods) and not after_helo and (
            not self._auth_require_tls or self._tls_protocol is not None)

    @syntax("AUTH <mechanism>", when="offers_auth")
    async def smtp_AUTH(self, arg: str) -> None:
        await super().smtp_AUTH(arg)

    # --- why a session ends (DISCONNECT's reason) ---------------------------------------

    async def smtp_QUIT(self, arg: str) -> None:
        if not arg:
            self.end_reason = QUIT
        await super().smtp_QUIT(arg)

    def _timeout_cb(self) -> None:
        self.end_reason = TIMEOUT
        super()._timeout_cb()

    def eof_received(self):
        if self.end_reason is None:
            self.end_reason = DROPPED        # the client closed without QUIT
        return super().eof_received()

    # --- limits ------------------------------------------------------------------------

    async def push(self, status) -> None:
        text = status if isinstance(status, str) else status.decode("ascii", "replace")
        if text == "250-AUTH ":
            return          # no mechanism to offer (ALWAUTH(*NONE) or no TLS)
        await super().push(status)
        if text[:3] in BAD_REPLIES and text[3:4] == " ":
            session = self.session
            session.bad_commands += 1
            if session.bad_commands >= self.limits["MAXBADCMD"] and self.transport is not None \
                    and not self.transport.is_closing():
                self.event_handler.log.send("TCP6051", peer_text(session), session.bad_commands)
                await super().push(TOO_MANY_BAD)
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        # DTATIMEOUT counts from the last piece of data: a slow upload that keeps
        # sending is not cut off; a stalled one is.
        if self.session is not None and self.session.in_data:
            self._reset_timeout(self.limits["DTATIMEOUT"])
        super().data_received(data)

    async def smtp_DATA(self, arg: str) -> None:
        if self.envelope is not None and self.envelope.rcpt_tos and not arg:
            self._reset_timeout(self.limits["DTATIMEOUT"])
        await super().smtp_DATA(arg)

    # --- exits on HELO and EHLO -------------------------------------------------------

    async def smtp_HELO(self, hostname: str) -> None:
        if hostname and self.session.exits is not None \
                and not await self._exit_allows("HELO", hostname):
            return
        await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        if hostname and self.session.exits is not None \
                and not await self._exit_allows("EHLO", hostname):
            return
        await super().smtp_EHLO(hostname)

    async def _exit_allows(self, command: str, argument: str) -> bool:
        exits = self.session.exits
        exits.new_message()
        verdict = await exits.check(exit_event(self.session, None, command, argument))
        if verdict.action == REJECT:
            await self.push(verdict.reply())
            return False
        return True


class SecureHandler(RelayHandler):
    """RelayHandler with the exit point on MAIL, RCPT and DATA, AUTH PLAIN and LOGIN, and
    the authenticated relay of ALWAUTH(*RELAY)."""

    def __init__(self, source, queue, log, job_number: str, security: Security):
        super().__init__(source, queue, log, job_number)
        self.security = security

    def may_relay_authenticated(self, session) -> bool:
        if not session.authenticated:
            return False
        allowed = session.compiled.attributes.get("ALWAUTH")
        return isinstance(allowed, list) and "*RELAY" in allowed

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        exits = session.exits
        if exits is not None:
            exits.new_message()
            verdict = await exits.check(exit_event(session, envelope, "MAIL",
                                                   f"FROM:<{address}>", sender=address))
            if verdict.action == REJECT:
                return verdict.reply()
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        exits = session.exits
        if exits is not None:
            verdict = await exits.check(exit_event(session, envelope, "RCPT",
                                                   f"TO:<{address}>", recipient=address))
            if verdict.action == REJECT:
                return verdict.reply()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def content_kept_for(self, session) -> int:
        # Exit programs are given the message's content at DATA (qtsmtp-exit(5)): only
        # then is a copy kept in memory, up to EXIT_CONTENT_LIMIT octets.
        return EXIT_CONTENT_LIMIT if session.exits is not None else 0

    async def handle_DATA(self, server, session, envelope):
        exits = session.exits
        if exits is not None:
            verdict = await exits.check(exit_event(session, envelope, "DATA", "",
                                                   content=envelope.original_content))
            exits.new_message()
            if verdict.action == REJECT:
                return verdict.reply()
        return await super().handle_DATA(server, session, envelope)

    # --- AUTH PLAIN and LOGIN (RFC 4616, draft-murchison-sasl-login) ------------------

    async def auth_PLAIN(self, server, args):
        if len(args) == 2:
            blob = _b64(args[1])
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        if blob is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        parts = blob.split(b"\0")
        if len(parts) != 3:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Bad PLAIN response")
        return await self._verify(server, parts[1], parts[2], "PLAIN")

    async def auth_LOGIN(self, server, args):
        if len(args) == 2:
            user = _b64(args[1])
            if user is None:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        else:
            user = await server.challenge_auth("Username:")
            if not isinstance(user, bytes):
                return AuthResult(success=False, handled=True)
        password = await server.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return AuthResult(success=False, handled=True)
        return await self._verify(server, user, password, "LOGIN")

    async def _verify(self, server, user: bytes, password: bytes, mechanism: str):
        session = server.session
        name = user.decode("utf-8", "replace")
        client, limit = session.peer[0], server.limits["MAXAUTHFAIL"]
        # Counted as a failure before the password is checked (forgiven if it is right),
        # so that a hundred sessions guessing at once get MAXAUTHFAIL checks between
        # them, not a hundred.
        failures = self.security.clients.auth_failed(client)
        if failures > limit:
            # MAXAUTHFAIL failures of this address, in any job, within the penalty time:
            # no password is looked at, the right one neither; this try counts too.
            self.log.send("TCP3066", peer_text(session), failures - 1, AUTH_PENALTY_SECONDS)
            await server.push(AUTH_LOCKED_OUT)
            server.transport.close()
            return AuthResult(success=False, handled=True)
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(None, self.security.credentials.verify, name,
                                        password.decode("utf-8", "surrogateescape"))
        if ok:
            self.security.clients.auth_forgiven(client)
            self.log.send("TCP6034", peer_text(session), name, mechanism)
            return AuthResult(success=True, auth_data=LoginPassword(user, b""))
        session.auth_failures += 1
        self.log.send("TCP6035", peer_text(session), name[:64], failures)
        # Slower with every recent failure of this client: a guesser gets few tries an
        # hour; the wait is on this session only.
        await asyncio.sleep(min(AUTH_MAX_DELAY, float(failures - 1)))
        if session.auth_failures >= server.limits["MAXAUTHFAIL"]:
            self.log.send("TCP6036", peer_text(session), session.auth_failures)
            await server.push("535 5.7.8 Authentication credentials invalid")
            await server.push(TOO_MANY_AUTH)
            server.transport.close()
            return AuthResult(success=False, handled=True)
        # handled=False: aiosmtpd answers 535 itself (and the session goes on).
        return AuthResult(success=False, handled=False)


def _b64(text: str) -> bytes | None:
    if text == "=":
        return b""
    try:
        return b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def session_limits(values: dict, tls_configured: bool) -> dict:
    """The per-session limits from the current attributes (read live, per connection)."""
    return {
        "MAXBADCMD": _number(values.get("MAXBADCMD"), 20),
        "MAXAUTHFAIL": _number(values.get("MAXAUTHFAIL"), 3),
        "MAXCLTEMM": _number(values.get("MAXCLTEMM"), 0),
        "MAXCLTRATE": _number(values.get("MAXCLTRATE"), 0),
        "DTATIMEOUT": _number(values.get("DTATIMEOUT"), 180),
        "RBLSVR": values.get("RBLSVR"),
        "ALWAUTH": values.get("ALWAUTH", "*NONE") if tls_configured else "*NONE",
    }
