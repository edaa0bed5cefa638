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
"""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import SMTP, Envelope

# aiosmtpd logs every line at INFO; our job log says what an operator needs, once.
logging.getLogger("mail.log").setLevel(logging.WARNING)

SHUTTING_DOWN = b"421 4.3.2 Service shutting down, try again later\r\n"
TOO_MANY_SESSIONS = "421 4.3.2 Too many sessions, try again later"

# Commands that move no mail, capped per session so a client cannot keep a session
# spinning; MAIL/RCPT/DATA are limited per message instead (see handler.MAX_RECIPIENTS).
CALL_LIMITS = {"NOOP": 100, "VRFY": 20, "HELP": 20, "EHLO": 20, "HELO": 20, "STARTTLS": 5,
               "AUTH": 5, "EXPN": 5, "*": 1_000_000}


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


class RelaySMTP(SMTP):
    def __init__(self, handler, registry: SessionRegistry, max_sessions: int, **kwargs):
        super().__init__(handler, command_call_limit=CALL_LIMITS, **kwargs)
        self._registry = registry
        self._max_sessions = max_sessions
        self._pending_lines: list[bytes] = []
        self._in_data = False
        self._ending = False

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
