"""Who may have a session: the connection checks, in the order they run.

Every connection goes through ``CONNECTION_CHECKS`` before the greeting (RelaySMTP.admit;
on a PROXYPORT listener after the PROXY header, with the client it names). Each check
returns None to go on, or the reply that refuses the client; the first refusal is sent
and the connection closed, and the checks after it do not run.

The order is cheap and local first, so a client that a check refuses never costs what
the later checks cost:

1. the reject lists (*REJECT, *REJECTIP6): one look-up in tables the job holds in memory;
   a rejected client also never causes a DNS query about itself;
2. the sessions of this server job (MAXINEMM, spread over the jobs): a counter;
3. the sessions and the connection rate of this client (MAXCLTEMM, MAXCLTRATE), across
   every server job (anvil): from here on the session counts;
4. the DNS blocklists (RBLSVR): network round trips, each up to DNSBL_TIMEOUT_SECONDS
   (answers are cached);
5. the exit programs: the session takes the exit chain current now and keeps it to its
   end, and the programs are told CONNECT (they are called again on HELO, EHLO, MAIL,
   RCPT and DATA, and told DISCONNECT at the end); a program may refuse the client.

A check gets the session's protocol object (secure.SecureSMTP): ``session``,
``event_handler``, ``registry`` and ``max_sessions``, ``security`` and ``limits``.
What a check takes for the session (the per-client count, the exit chain) is given
back in SecureSMTP.connection_lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from qtsmtp.server.exits import CONNECT, REJECT, SessionExits, exit_event
from qtsmtp.server.handler import peer_text
from qtsmtp.server.protocol import TOO_MANY_SESSIONS

TOO_MANY_FROM_CLIENT = "421 4.7.0 Too many sessions from your address, try again later"
TOO_FAST_FROM_CLIENT = "421 4.7.0 Too many connections from your address, try again later"


@dataclass(frozen=True)
class ConnectionCheck:
    name: str
    check: Callable[[object], Awaitable[str | None]]


async def reject_list(server) -> str | None:
    return server.event_handler.connection_refusal(server.session)


async def job_sessions(server) -> str | None:
    if len(server.registry.sessions) > server.max_sessions:
        server.event_handler.log.send("TCP3064", peer_text(server.session),
                                      len(server.registry.sessions) - 1)
        return TOO_MANY_SESSIONS
    return None


async def client_sessions(server) -> str | None:
    """MAXCLTEMM and MAXCLTRATE, counted across every server job (anvil); this host's own
    addresses are not limited (as Postfix exempts $mynetworks, whose default is the
    host itself)."""
    session, clients = server.session, server.security.clients
    client = session.peer[0]
    if client in server.security.own_addresses:
        return None
    sessions, rate = clients.connected(client)
    session.counted = client
    limit, rate_limit = server.limits["MAXCLTEMM"], server.limits["MAXCLTRATE"]
    if limit and sessions > limit:
        server.event_handler.log.send("TCP6039", peer_text(session), sessions - 1)
        return TOO_MANY_FROM_CLIENT
    if rate_limit and rate > rate_limit:
        server.event_handler.log.send("TCP3065", peer_text(session), rate - 1, rate_limit)
        return TOO_FAST_FROM_CLIENT
    return None


async def dns_blocklists(server) -> str | None:
    lists = server.security.blocklists(server.limits["RBLSVR"])
    if lists is None:
        return None
    session, log = server.session, server.event_handler.log
    client = session.peer[0]
    listed, silent = await lists.check(client)
    if silent:
        log.send("TCP6038", " ".join(silent), client)
    if listed is None:
        return None
    log.send("TCP6037", peer_text(session), listed)
    return f"554 5.7.1 Service unavailable; client [{client}] blocked using {listed}"


async def exit_programs(server) -> str | None:
    source, session = server.security.exits, server.session
    if source.current:
        session.exits = exits = SessionExits(source.hold(), server.event_handler.log,
                                             peer_text(session), source)
        verdict = await exits.check(exit_event(session, None, CONNECT, ""))
        if verdict.action == REJECT:
            return verdict.reply()
    return None


CONNECTION_CHECKS = (
    ConnectionCheck("reject list", reject_list),
    ConnectionCheck("sessions of this job", job_sessions),
    ConnectionCheck("sessions of this client", client_sessions),
    ConnectionCheck("DNS blocklists", dns_blocklists),
    ConnectionCheck("exit programs", exit_programs),
)
