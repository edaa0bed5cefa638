"""The security side of a server job: STARTTLS and implicit TLS, AUTH, the exit point,
session limits, DNS blocklists and the PROXY protocol listener.

``Security`` holds what one server job needs for them (the TLS context, the exit chain,
the AUTH users, the failure counts) and opens the extra listeners. ``SecureSMTP`` (the
protocol) and ``SecureHandler`` (the handler) add them to the relay's own RelaySMTP and
RelayHandler, which keep deciding relay questions exactly as before.

aiosmtpd's issue #287: after STARTTLS, aiosmtpd makes a new session whose peer is the
socket's, so a PROXY header's client address (and our own per-session state) would be
lost; ``SecureSMTP.connection_made`` carries them over to the new session.
"""

from __future__ import annotations

import asyncio
import binascii
import time
from base64 import b64decode
from collections import Counter
from pathlib import Path

from aiosmtpd.smtp import AuthResult, LoginPassword

from qtsmtp.server.dnsbl import Blocklists
from qtsmtp.server.exits import REJECT, ExitEvent, ExitSource, SessionExits, session_id
from qtsmtp.server.handler import RelayHandler, peer_text
from qtsmtp.server.protocol import RelaySMTP
from qtsmtp.server.proxyproto import ProxyHeaderError, read_header
from qtsmtp.server.tls import server_context, tls_paths
from qtsmtp.config import attributes
from qtsmtp.config.credentials import CredentialStore

PROXY_HEADER_SECONDS = 10
AUTH_FAILURE_WINDOW, AUTH_MAX_DELAY = 600.0, 10.0
BAD_REPLIES = ("500", "501", "502", "503", "504")
TOO_MANY_BAD = "421 4.7.0 Too many commands that are not valid, closing"
TOO_MANY_AUTH = "421 4.7.0 Too many failed authentications, closing"
_IMPLICIT = object()          # _tls_protocol of a connection that was TLS from its start


def _number(value, default):
    return value if isinstance(value, int) else default


class Security:
    """One server job's TLS context, exits, AUTH users and counters."""

    def __init__(self, root: Path, log, job_number: str):
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
        self.exits = ExitSource(self.root, log)
        self.credentials = CredentialStore(self.root)
        self.auth_failures: dict[str, list[float]] = {}
        self.per_client: Counter = Counter()
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
        """Re-read the exit registration when it changes (off the event loop: imports)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            await self.exits.close_retired()
            if not self.exits.needs_reload():
                continue
            error = await loop.run_in_executor(None, self.exits.reload)
            if error is None:
                self.log.send("TCP6024", len(self.exits.current.exits))
            else:
                self.log.send("TCP6023", error)

    async def close(self) -> None:
        await self.exits.close()

    # --- per-client state ----------------------------------------------------------

    def blocklists(self, zones) -> Blocklists | None:
        if not isinstance(zones, list) or not zones:
            return None
        key = tuple(zones)
        lists = self._blocklists.get(key)
        if lists is None:
            lists = self._blocklists[key] = Blocklists(list(zones))
        return lists if lists.active else None

    def auth_failed(self, client: str) -> int:
        now = time.monotonic()
        recent = [t for t in self.auth_failures.get(client, ()) if now - t < AUTH_FAILURE_WINDOW]
        recent.append(now)
        self.auth_failures[client] = recent[-100:]
        if len(self.auth_failures) > 10_000:          # bounded, whatever clients do
            for old in list(self.auth_failures)[:1000]:
                del self.auth_failures[old]
        return len(recent)


class SecureSMTP(RelaySMTP):
    def __init__(self, handler, registry, max_sessions: int, *, security: Security,
                 limits: dict, proxied: bool = False, implicit_tls: bool = False, **options):
        super().__init__(handler, registry, max_sessions, **options)
        self._security = security
        self._proxied = proxied
        self._implicit = implicit_tls
        # STARTTLS is offered where TLS is configured and the connection is not TLS yet.
        self.tls_context = None if implicit_tls else security.tls
        self._max_bad = limits["MAXBADCMD"]
        self._max_auth_failures = limits["MAXAUTHFAIL"]
        self._max_per_client = limits["MAXCLTEMM"]
        self._data_timeout = limits["DTATIMEOUT"]
        self._zones = limits["RBLSVR"]
        self._allow_auth = limits["ALWAUTH"]
        if self._allow_auth == "*NONE" or security.tls is None:
            self._auth_methods = {}
        self._bad = 0
        self.auth_failures = 0
        self._counted: str | None = None
        self.exits: SessionExits | None = None

    # --- connection: PROXY header, per-client limit, DNSBL, exits snapshot ------------

    def connection_made(self, transport) -> None:
        before = self.session
        if self._implicit and before is None:
            self._tls_protocol = _IMPLICIT      # AUTH allowed, STARTTLS not offered
        super().connection_made(transport)
        if before is not None and self.session is not before:
            # STARTTLS: aiosmtpd made a new session from the socket (its issue #287).
            # The client is still the one the PROXY header named, and the policy and
            # exits the session started with stay in force.
            self.session.peer = before.peer
            for name in ("compiled", "exits", "qtsmtp_id"):
                if hasattr(before, name):
                    setattr(self.session, name, getattr(before, name))
        elif self._implicit and self.session is not None:
            self.session.ssl = {"implicit": True}

    async def _handle_client(self) -> None:
        if self._proxied:
            try:
                source = await read_header(self._reader, PROXY_HEADER_SECONDS)
            except ProxyHeaderError as bad:
                self.event_handler.log.send("TCP6050", peer_text(self.session), bad)
                self.transport.close()
                return
            if source is not None:
                self.session.peer = (source.client_address, source.client_port)
        client = self.session.peer[0]
        if self._max_per_client and self._security.per_client[client] >= self._max_per_client:
            self.event_handler.log.send("TCP6039", peer_text(self.session),
                                        self._security.per_client[client])
            await self.push("421 4.7.0 Too many sessions from your address, try again later")
            self.transport.close()
            return
        self._security.per_client[client] += 1
        self._counted = client
        lists = self._security.blocklists(self._zones)
        if lists is not None:
            listed, silent = await lists.check(client)
            if silent:
                self.event_handler.log.send("TCP6038", " ".join(silent), client)
            if listed is not None:
                self.event_handler.log.send("TCP6037", peer_text(self.session), listed)
                await self.push(f"554 5.7.1 Service unavailable; client [{client}] "
                                f"blocked using {listed}")
                self.transport.close()
                return
        chain = self._security.exits.current
        if chain:
            chain = self._security.exits.hold()
            self.exits = SessionExits(chain, self.event_handler.log, peer_text(self.session))
        self.session.exits = self.exits
        await super()._handle_client()

    def connection_lost(self, error) -> None:
        if self._counted is not None:
            left = self._security.per_client[self._counted] - 1
            if left > 0:
                self._security.per_client[self._counted] = left
            else:
                del self._security.per_client[self._counted]
            self._counted = None
        if self.exits is not None:
            self._security.exits.release(self.exits.chain)
            self.exits = None
        super().connection_lost(error)

    # --- limits ------------------------------------------------------------------------

    async def push(self, status) -> None:
        text = status if isinstance(status, str) else status.decode("ascii", "replace")
        if text == "250-AUTH ":
            return          # no mechanism to offer (ALWAUTH(*NONE) or no TLS)
        await super().push(status)
        if text[:3] in BAD_REPLIES and text[3:4] == " ":
            self._bad += 1
            if self._bad >= self._max_bad and self.transport is not None \
                    and not self.transport.is_closing():
                self.event_handler.log.send("TCP6051", peer_text(self.session), self._bad)
                await super().push(TOO_MANY_BAD)
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        # DTATIMEOUT counts from the last piece of data: a slow upload that keeps
        # sending is not cut off; a stalled one is.
        if self._in_data:
            self._reset_timeout(self._data_timeout)
        super().data_received(data)

    async def smtp_DATA(self, arg: str) -> None:
        if self.envelope is not None and self.envelope.rcpt_tos and not arg:
            self._reset_timeout(self._data_timeout)
        await super().smtp_DATA(arg)

    # --- exits on HELO and EHLO -------------------------------------------------------

    async def smtp_HELO(self, hostname: str) -> None:
        if hostname and self.exits is not None and not await self._exit_allows("HELO", hostname):
            return
        await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        if hostname and self.exits is not None and not await self._exit_allows("EHLO", hostname):
            return
        await super().smtp_EHLO(hostname)

    async def _exit_allows(self, command: str, argument: str) -> bool:
        self.exits.new_message()
        verdict = await self.exits.check(exit_event(self.session, None, command, argument))
        if verdict.action == REJECT:
            await self.push(verdict.reply())
            return False
        return True


def exit_event(session, envelope, command: str, argument: str, **more) -> ExitEvent:
    fields = {"helo": session.host_name, "sender": getattr(envelope, "mail_from", None),
              "recipients": tuple(getattr(envelope, "rcpt_tos", ()) or ()),
              "authenticated_user": getattr(session, "login_data", None)
              if session.authenticated else None,
              "tls": session.ssl is not None, **more}
    event = ExitEvent(command, argument, session.peer[0], session.peer[1],
                      _session_id(session), **fields)
    if isinstance(event.authenticated_user, bytes):
        event.authenticated_user = event.authenticated_user.decode("utf-8", "replace")
    return event


def _session_id(session) -> str:
    ident = getattr(session, "qtsmtp_id", None)
    if ident is None:
        ident = session.qtsmtp_id = session_id("")
    return ident


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
        exits = getattr(session, "exits", None)
        if exits is not None:
            exits.new_message()
            verdict = await exits.check(exit_event(session, envelope, "MAIL",
                                                   f"FROM:<{address}>", sender=address))
            if verdict.action == REJECT:
                return verdict.reply()
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        exits = getattr(session, "exits", None)
        if exits is not None:
            verdict = await exits.check(exit_event(session, envelope, "RCPT",
                                                   f"TO:<{address}>", recipient=address))
            if verdict.action == REJECT:
                return verdict.reply()
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        exits = getattr(session, "exits", None)
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
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(None, self.security.credentials.verify, name,
                                        password.decode("utf-8", "surrogateescape"))
        if ok:
            self.log.send("TCP6034", peer_text(session), name, mechanism)
            return AuthResult(success=True, auth_data=LoginPassword(user, b""))
        failures = self.security.auth_failed(session.peer[0])
        server.auth_failures += 1
        self.log.send("TCP6035", peer_text(session), name[:64], failures)
        # Slower with every recent failure of this client: a guesser gets few tries an
        # hour; the wait is on this session only.
        await asyncio.sleep(min(AUTH_MAX_DELAY, float(failures - 1)))
        if server.auth_failures >= server._max_auth_failures:
            self.log.send("TCP6036", peer_text(session), server.auth_failures)
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
        "DTATIMEOUT": _number(values.get("DTATIMEOUT"), 180),
        "RBLSVR": values.get("RBLSVR"),
        "ALWAUTH": values.get("ALWAUTH", "*NONE") if tls_configured else "*NONE",
    }
