"""The aiosmtpd handler: a thin adapter between SMTP events and the pure RelayPolicy.

Each event is turned into one question to the policy (or to the address parser), the
Decision is written to the job log with its explanation, and its reply goes back to the
client. Nothing here decides who may relay; everything here says why.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from datetime import datetime
from email.utils import format_datetime

from qtsmtp.jobs.joblog import JobLog
from qtsmtp.config.policyload import PolicySource
from qtsmtp.server.committer import CommitProcess
from qtsmtp.server import esmtp
from qtsmtp.server.filtering import MessageFilters, act as act_on_filter
from qtsmtp.jobs.smtpjournal import SmtpJournal, enabled as journal_enabled
from qtsmtp.server.proxyproto import proxied_client
from qtsmtp.config.address import AddressRefused, canonical_recipient
from qtsmtp.config.policy import Decision
from qtsmtp.config import etrn
from qtsmtp.config.listtypes import LIST_TYPES
from qtsmtp.config.lists import read_entries
from qtsmtp.delivery import submit
from qtsmtp.queue import format as qformat
from qtsmtp.queue import states as qstates

# RFC 5321 4.5.3.1.8 asks for at least 100 recipients per message; more is a bulk tool.
MAX_RECIPIENTS = 1000
_UNSAFE_HELO = re.compile(r"[^A-Za-z0-9.\-_:\[\]]")


def etrn_served(session) -> bool:
    """CHGSMTPA ETRNSVR(*YES), as the session's configuration has it."""
    compiled = session.compiled
    return compiled is not None and str(compiled.attributes.get("ETRNSVR", "*NO")).upper() == "*YES"


def peer_text(session) -> str:
    host, port = session.peer[0], session.peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_literal(ip: str) -> str:
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


AIOSMTPD_PREFIXES = ("smtp_", "auth_", "handle_")
TRUST_ANSWERS_KEPT = 4096        # RelayHandler._trusted: the job's DSN answers, at most


@functools.cache
def _aiosmtpd_names(cls: type) -> list[str]:
    return [name for name in dir(cls) if name.startswith(AIOSMTPD_PREFIXES)]


class AiosmtpdLookup:
    """dir() of an SMTP protocol or handler object: only the names aiosmtpd looks for.

    aiosmtpd's SMTP.__init__ finds the command methods (smtp_*), the AUTH mechanisms
    (auth_*) and the handler hooks (handle_*) by running dir() and
    inspect.getmembers() over the whole protocol object and the whole handler, for every
    connection: about 80 us of the 110 us a session's setup costs. Given only the names
    it keeps anyway, it builds the same tables in a fraction of that
    (tests/unit/test_fast_session.py compares them). Measured in the server's processes
    (CPU time per message, smtp-source, 10 sessions, a connection per message): 1140 us
    without this, 970 us with it, 890 us with the copy of SMTP.__init__ qtsmtp had before.
    It relies on how aiosmtpd 1.4.6, which pyproject.toml pins, looks methods up; it
    uses no aiosmtpd name. A debugger's dir() of these objects shows these names only.
    """

    def __dir__(self) -> list[str]:
        return _aiosmtpd_names(type(self))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # aiosmtpd also asks inspect.signature() of the handler's handle_EHLO, for every
        # connection (its 4- or 5-argument form): a third of what is left of a session's
        # set-up. Worked out once here and kept as the function's __signature__, which
        # inspect.signature() returns as it is.
        ehlo = vars(cls).get("handle_EHLO")
        if ehlo is not None and "__signature__" not in vars(ehlo):
            ehlo.__signature__ = inspect.signature(ehlo)


class SignedHook:
    """A bound hook whose signature is worked out once. aiosmtpd asks
    inspect.signature() of the handler's handle_EHLO on every connection; of a bound
    method that is a new Signature each time (about 12 us, even with the function's
    __signature__ kept), of this the one it holds. Called as the bound method is."""

    __slots__ = ("__func__", "__self__", "__signature__")

    def __init__(self, method):
        self.__func__, self.__self__ = method.__func__, method.__self__
        self.__signature__ = inspect.signature(method)

    def __call__(self, *args, **kwargs):
        return self.__func__(self.__self__, *args, **kwargs)


class RelayHandler(AiosmtpdLookup):
    def __init__(self, source: PolicySource, queue: CommitProcess, log: JobLog, job_number: str):
        self.source = source
        self.queue = queue
        self.log = log
        self.job_number = job_number
        self.handle_EHLO = SignedHook(self.handle_EHLO)     # what aiosmtpd looks up
        self._trust_policy = None     # the compiled policy _trust_answers are for
        self._trust_answers: dict[tuple[str, str, bool], bool] = {}

    @functools.cached_property
    def filters(self) -> MessageFilters:
        """The *FTRxxx lists and FTRACN (qtsmtp.server.filtering)."""
        return MessageFilters(self.source.root, self.log)

    @functools.cached_property
    def journal(self) -> SmtpJournal:
        """JOURNAL(*YES): the SMTP journal this job writes."""
        return SmtpJournal(self.source.root, self.job_number)

    def journal_event(self, session, event: str, **fields) -> None:
        """One SMTP journal record when JOURNAL(*YES) (qtsmtp.jobs.smtpjournal)."""
        if journal_enabled(session.compiled.attributes):
            self.journal.record(event, client=session.peer[0], port=session.peer[1], **fields)

    # --- connection ------------------------------------------------------------------

    def connection_refusal(self, session) -> str | None:
        """The reject-list check (admission.CONNECTION_CHECKS): None to go on, else the
        reply that refuses the client. The session keeps the policy it started with: a
        change applies to the next connection."""
        session.compiled = self.source.current
        decision = session.compiled.policy.check_connect(session.peer[0])
        if not decision.allowed:
            self._log_decision(session, decision)
            self.journal_event(session, "refused", reply=decision.reply,
                               explanation=decision.explain())
            return decision.reply
        return None

    async def handle_PROXY(self, server, session, envelope, proxy_data) -> bool:
        """aiosmtpd's hook on a PROXY listener, called once a valid header is read and
        before the greeting: the session takes the client the header names, which then
        goes through the connection checks. False: aiosmtpd closes the connection."""
        client = proxied_client(proxy_data)
        if client is not None:
            session.client = client
        return await server.admit()

    def session_started(self, session) -> None:
        """Every connection check passed; the client is greeted."""
        self.log.send("TCP3051", peer_text(session))
        self.journal_event(session, "connect")

    def session_ended(self, session) -> None:
        if session is not None and session.started:
            self.log.send("TCP3054", peer_text(session))

    def may_relay_authenticated(self, session) -> bool:
        """Does an AUTH logon let this session relay? (qtsmtp.server.secure: ALWAUTH)"""
        return False

    # --- envelope --------------------------------------------------------------------

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # The sender is never a reason to refuse (MAIL FROM:<> least of all): bounces
        # must get through, and the relay decision belongs to each recipient.
        refusal = esmtp.mail_refusal(server.offer(), mail_options, address, envelope.smtp_utf8)
        if refusal:
            return refusal
        refusal = self._sender_refusal(session, address)
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.dsn_ret = server.dsn_taken.get("RET")
        envelope.dsn_envid = server.dsn_taken.get("ENVID")
        if journal_enabled(session.compiled.attributes):
            self._journal_helo(session)
            self.journal_event(session, "mail", sender=address)
        return "250 2.1.0 Sender ok"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """aiosmtpd's EHLO reply, its last line ("250 HELP") included; ETRN is offered
        before that line when ETRNSVR(*YES)."""
        session.host_name = hostname
        if etrn_served(session):
            responses.insert(len(responses) - 1, "250-ETRN")
        return responses

    async def etrn(self, session, argument: str) -> str:
        """RFC 1985 ETRN: run the queue for a node now, if ETRNSVR(*YES) and the
        *ETRNSVR list lets this client (config.etrn); the reply, and a job log line."""
        if not etrn_served(session):
            return "502 5.5.1 ETRN not available"
        if not session.host_name:
            return "503 5.5.1 Send EHLO first"
        node = etrn.parse_node(argument)
        if node is None:
            return "501 5.5.4 Syntax: ETRN domain or ETRN @domain"
        root = self.source.root
        entries = await asyncio.to_thread(read_entries, root, LIST_TYPES["*ETRNSVR"])
        entry = etrn.permitting_entry(entries, session.peer[0], session.host_name, node)
        if entry is None:
            self.log.send("TCP2743", peer_text(session), node,
                          "the ETRN server list names neither the client nor its node")
            return f"459 4.7.1 Node {node} not allowed: not in the ETRN server list"
        queue = qformat.queue_directory(root)
        marked = await asyncio.to_thread(qstates.run_now_for, queue, node.holds)
        if marked:
            submit.wake(root)
        self.log.send("TCP2742", peer_text(session), node, marked, entry)
        if not marked:
            return f"251 2.0.0 OK, no messages waiting for node {node}"
        return f"253 2.0.0 OK, {marked} pending messages for node {node} started"

    def _sender_refusal(self, session, address: str) -> str | None:
        """CHGSMTPA VFYFROMUSR(*YES or *ALL): the sender must be a user of this system
        (RelayPolicy.check_sender); the null sender always passes."""
        mode = str(session.compiled.attributes.get("VFYFROMUSR", "*NO")).upper()
        if mode == "*NO" or address in ("", "<>"):
            return None
        try:
            sender = canonical_recipient(address)
        except AddressRefused as refused:
            decision = Decision.address_refused(refused, session.peer[0], address)
        else:
            decision = session.compiled.policy.check_sender(session.peer[0], sender, mode)
        if decision.allowed:
            return None
        self._log_decision(session, decision)
        return decision.reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        limit = session.compiled.attributes.get("MAXRCPT", MAX_RECIPIENTS)
        if len(envelope.rcpt_tos) >= (limit if isinstance(limit, int) else MAX_RECIPIENTS):
            return "452 4.5.3 Too many recipients"
        refusal = esmtp.rcpt_refusal(address, envelope.smtp_utf8)
        if refusal:
            return refusal
        client = session.peer[0]
        try:
            recipient = canonical_recipient(address)
        except AddressRefused as refused:
            decision = Decision.address_refused(refused, client, address)
        else:
            decision = session.compiled.policy.check_recipient(
                client, recipient, self.may_relay_authenticated(session))
        explanation = self._log_decision(session, decision)
        self.journal_event(session, "rcpt", sender=envelope.mail_from, recipient=address,
                           allowed=decision.allowed, reply=decision.reply,
                           explanation=explanation)
        if decision.allowed:
            envelope.rcpt_tos.append(recipient.address)
            envelope.originals.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            if server.dsn_taken:
                envelope.dsn.setdefault(recipient.address, {
                    "notify": server.dsn_taken.get("NOTIFY"), "orcpt": server.dsn_taken.get("ORCPT")})
        return decision.reply

    # --- DATA: spooled as it arrives, durable before 250 ------------------------------

    async def open_message(self, session, envelope):
        """Before the 354: the message's queue ID, Received: line and envelope, and a
        Spool to the job's commit process (committer.Spool), or the reply when the
        queue cannot take a message now."""
        queue_id = self.queue.new_id()
        arrival = datetime.now().astimezone()
        received = self._received(session, envelope, queue_id, arrival)
        sender = "" if envelope.mail_from == "<>" else envelope.mail_from
        record = {
            "id": queue_id, "arrival": arrival.isoformat(),
            "client": session.peer[0], "client_port": session.peer[1],
            "helo": session.host_name, "protocol": _with_protocol(session, envelope),
            "sender": sender, "recipients": envelope.rcpt_tos, "written": envelope.originals,
            "size": 0, "server_job": self.job_number,
            "trusted": self._trusted(session, sender), **esmtp.queue_fields(envelope),
        }
        try:
            spool = await self.queue.open(queue_id, record, received,
                                          keep=self.content_kept_for(session))
        except OSError as failure:
            self.log.send("TCP3053", peer_text(session), failure.strerror or failure)
            return "451 4.3.0 Message not queued; try again later"
        # FTRACN: the filter's scanner reads the client's data as it is spooled.
        envelope.filter_check = self.filters.check(session.compiled)
        if envelope.filter_check is not None:
            spool.watchers.append(envelope.filter_check.feed)
        return spool

    def content_kept_for(self, session) -> int:
        """How much of a message to keep in memory besides spooling it (secure: for
        the exit programs); 0: none."""
        return 0

    def data_refused(self, session, outcome, reply: str) -> None:
        """The message was read to its end and is refused (too large, bare CR or LF)."""
        self.log.send("TCP3060", peer_text(session), outcome.size, reply)
        self.journal_event(session, "data_refused", size=outcome.size, reply=reply)

    async def handle_DATA(self, server, session, envelope):
        """The end of DATA: the whole message has been spooled. ``envelope.spool``
        (committer.Spool) has its queue ID, its size and its first 64 KiB (``head``:
        the Received: line and the client's header section, as a rule); the rest is
        in the commit process's tmp/ file. This is the place for what must see the
        complete message before it is accepted (content filters): refuse by returning
        a reply without committing, and the spool is abandoned."""
        spool = envelope.spool
        refusal = esmtp.content_refusal(server.offer(), envelope.data_outcome.eight_bit)
        if refusal:
            return refusal
        check = getattr(envelope, "filter_check", None)
        match = check.verdict(spool.envelope["sender"]) if check is not None else None
        if match is not None:
            return await act_on_filter(self, session, check.action, match, spool)
        try:
            # Returns once file and directory are fsynced (the disk work is done by the
            # job's commit process, with the other sessions' messages: server.committer).
            await spool.commit()
        except OSError as failure:
            self.log.send("TCP3053", peer_text(session), failure.strerror or failure)
            return "451 4.3.0 Message not queued; try again later"
        if envelope.data_outcome.folded:
            self.log.send("TCP3061", peer_text(session), spool.queue_id,
                          envelope.data_outcome.folded)
        self.log.send("TCP3052", peer_text(session), spool.queue_id, spool.envelope["sender"],
                      len(envelope.rcpt_tos), spool.size)
        self.journal_event(session, "queued", queue_id=spool.queue_id,
                           sender=spool.envelope["sender"], recipients=envelope.rcpt_tos,
                           size=spool.size)
        return f"250 2.0.0 Ok: queued as {spool.queue_id}"

    def _trusted(self, session, sender: str) -> bool:
        """Could this client have sent mail to the sender's address here? Only then may a
        delivery status notification go to that address (qtsmtp-server(8), DSN): a
        client denied relay cannot make the relay mail a stranger by naming the
        stranger as sender. The null sender gets no notification anyway.

        A client sends from one address message after message, in one session or in
        a new one each time: the job keeps the answers (at most TRUST_ANSWERS_KEPT) by
        client, sender and whether an AUTH logon lets it relay, for one compiled policy
        (a pure function of those: config.policy), the one of the session that asked
        last; a session of another policy starts them again."""
        if not sender:
            return True
        authenticated = self.may_relay_authenticated(session)
        compiled = session.compiled
        if compiled is not self._trust_policy or len(self._trust_answers) >= TRUST_ANSWERS_KEPT:
            self._trust_policy, self._trust_answers = compiled, {}
        key = (session.peer[0], sender, authenticated)
        trusted = self._trust_answers.get(key)
        if trusted is None:
            try:
                address = canonical_recipient(sender)
            except AddressRefused:
                trusted = False
            else:
                trusted = compiled.policy.check_recipient(
                    session.peer[0], address, authenticated).allowed
            self._trust_answers[key] = trusted
        return trusted

    def _received(self, session, envelope, queue_id: str, when: datetime) -> bytes:
        """RFC 2505 item 2: trace the real client address and what it called itself."""
        helo = _UNSAFE_HELO.sub("?", (session.host_name or "unknown")[:255])
        literal = address_literal(session.peer[0])
        protocol = _with_protocol(session, envelope)
        by = session.compiled.system_name
        line = f"Received: from {helo} ({literal})\r\n\tby {by} (qtsmtp) with {protocol} id {queue_id}"
        if len(envelope.rcpt_tos) == 1:
            line += f"\r\n\tfor <{envelope.rcpt_tos[0]}>"
        line += f"; {received_date(when)}\r\n"
        return line.encode("utf-8", "surrogateescape")

    def _journal_helo(self, session) -> None:
        """The HELO/EHLO name, journalled with the first MAIL after it (aiosmtpd's HELO
        and EHLO stay untouched)."""
        if getattr(session, "journalled_helo", None) != session.host_name:
            session.journalled_helo = session.host_name
            self.journal_event(session, "helo", helo=session.host_name,
                               esmtp=bool(session.extended_smtp))

    def _log_decision(self, session, decision: Decision) -> str:
        explanation = decision.explain()
        self.log.send("TCP3050", peer_text(session), explanation)
        return explanation


_last_date: tuple[datetime | None, str] = (None, "")


def received_date(when: datetime) -> str:
    """email.utils.format_datetime(when) (RFC 5322 3.3, whole seconds), worked out once
    a second: every message of that second has the same date, and the email package
    takes about 7 us for it (a quarter of it in strftime for the zone)."""
    global _last_date
    second = when.replace(microsecond=0)
    cached, text = _last_date
    if cached != second or cached.utcoffset() != second.utcoffset():
        text = format_datetime(second)
        _last_date = (second, text)
    return text


def _with_protocol(session, envelope) -> str:
    return esmtp.with_protocol(bool(session.extended_smtp), session.ssl is not None,
                               bool(session.authenticated), bool(envelope.smtp_utf8))
