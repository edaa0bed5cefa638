"""The delivery engine: takes messages from the queue, routes each recipient, delivers,
and moves the message on (qtsmtp-queue(5)).

One asyncio loop in the client job's main thread does everything, so what WRKACTJOB
measures of the job is what the delivery does: RUN while it works, and DEQW when it is
idle, because then the job leaves the loop and blocks reading the queue's FIFO
(``qtsmtp.delivery.job``).

Per message: claim it (rename into active/), read it, group the recipients not yet done
by next hop, deliver every group at once, then record per recipient: sent (2xx), failed
(5xx, or a 4xx once the retry schedule is spent) or deferred (4xx). Failures become one
RFC 3464 notification to the sender, queued before the message's state records them. A
message with deferred recipients goes to deferred/ with a state file; one without leaves
the queue.
"""

from __future__ import annotations

import asyncio
import heapq
import os
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.lists import member_file
from qtsmtp.config.users import users_member
from qtsmtp.delivery import dsn, maildir, notices, schedule
from qtsmtp.delivery.resolver import NameServerFailure, NoSuchDomain, resolve_mx
from qtsmtp.delivery.routing import (
    HUB,
    LITERAL,
    LOCAL,
    ROUTER,
    Routing,
    split_address,
    split_host_port,
)
from qtsmtp.delivery.smtpclient import ConnectionPool, Envelope, Reply, SMTPFailure, describe
from qtsmtp.queue import format as qformat
from qtsmtp.queue import quarantine
from qtsmtp.jobs import smtpjournal
from qtsmtp.queue import states as qstates
from qtsmtp.queue.writer import QueueWriter
from qtsmtp.store import settle

PER_DESTINATION = int(os.environ.get("QTSMTP_DESTINATION_CONCURRENCY", "20"))
TOTAL_DEFAULT = 100
END_GRACE_SECONDS = 30.0          # in-flight deliveries may finish when the job ends
RESCAN_SECONDS = 5.0            # a listing of incoming/ even without a notify byte


class Result:
    __slots__ = ("dsn_passed_on", "host", "reply")

    def __init__(self, reply: Reply, host: str = "", dsn_passed_on: bool = False):
        self.reply, self.host = reply, host
        self.dsn_passed_on = dsn_passed_on     # the next hop took the DSN request over


class DeliveryEngine:
    def __init__(self, root: Path, log, resolver=None, job_number: str = "000000"):
        self.root = Path(root)
        self.log = log
        self.queue = qformat.prepare(self.root)
        self.resolver = resolver or resolve_mx
        self.job_number = job_number
        self.in_progress: set[str] = set()
        self.due: list[tuple[float, str]] = []          # heap of (when, id) in deferred/
        self.routing: Routing | None = None
        self._keys: tuple = ()
        self._told_writing: set[tuple] = set()      # (member, stat key): TCP2676 said
        self.stopping = False
        self.delivered = self.deferred_count = self.bounced = 0
        self._notified = True
        self._writer = None

    # --- what is waiting --------------------------------------------------------------

    def recover(self) -> None:
        """At start: a message left in active/ by a crash is delivered again (its
        recipients done before the crash are known from its state file, if it had one);
        deferred/ is read into the timetable."""
        for queue_id in qstates.listing(self.queue, qformat.ACTIVE):
            qstates.move(self.queue, queue_id, qformat.ACTIVE, qformat.INCOMING)
        self.due = []
        for queue_id in qstates.listing(self.queue, qformat.DEFERRED):
            state = qstates.read_state(self.queue, queue_id)
            heapq.heappush(self.due, (state.next_attempt if state else 0.0, queue_id))
        present = set(qstates.listing(self.queue, qformat.DEFERRED))
        for queue_id in qstates.listing(self.queue, qformat.STATE):
            if queue_id not in present and not (self.queue / qformat.INCOMING / queue_id).exists():
                (self.queue / qformat.STATE / queue_id).unlink(missing_ok=True)

    def take_retry_requests(self) -> int:
        """WRKSMTPQ OPTION(*RETRY) leaves retry/ID or retry/*ALL: make those due now."""
        names = qstates.listing(self.queue, qformat.RETRY)
        if not names:
            return 0
        everything = "*ALL" in names
        chosen = set(names)
        self.due = [(0.0 if everything or qid in chosen else when, qid) for when, qid in self.due]
        heapq.heapify(self.due)
        for name in names:
            (self.queue / qformat.RETRY / name).unlink(missing_ok=True)
        return len(names)

    def ready(self, rescan: bool) -> list[tuple[str, str]]:
        out = []
        if rescan:
            out += [(qid, qformat.INCOMING) for qid in qstates.listing(self.queue, qformat.INCOMING)
                    if qid not in self.in_progress]
        now = time.time()
        while self.due and self.due[0][0] <= now:
            _, qid = heapq.heappop(self.due)
            if qid not in self.in_progress:
                out.append((qid, qformat.DEFERRED))
        return out

    def has_work(self) -> bool:
        if self.due and self.due[0][0] <= time.time():
            return True
        return bool(qstates.listing(self.queue, qformat.INCOMING))

    def seconds_to_next_due(self) -> float | None:
        if not self.due:
            return None
        return max(0.0, self.due[0][0] - time.time())

    # --- a run ---------------------------------------------------------------------------

    def _watched(self) -> list:
        members = [attributes.attributes_member(self.root)] + [
            member_file(self.root, lt.LIST_TYPES[t])
            for t in ("*DOMAIN", "*DOMAINIP6", "*NEAR", "*CLTBIND", "*CLTBNDIP6", "*HOSTAUTH")]
        members.append(users_member(self.root))
        return members

    def load_configuration(self) -> None:
        """Read the attributes and lists the routing needs (again when they changed),
        but not while a hand edit is writing one (store.settle): a half-written list
        would route or authenticate wrongly; what is in use stays until it is finished."""
        members = self._watched()
        keys = tuple(m.stat_key() for m in members)
        if self.routing is not None and keys == self._keys:
            return
        started = self.routing is None          # the first read takes what is there
        if not started and self._being_written(members):
            return
        before = [settle.fingerprint(m.path) for m in members]
        values = attributes.load(self.root)
        routing = Routing(self.root, values)
        if not started and ([settle.fingerprint(m.path) for m in members] != before
                            or self._being_written(members)):
            return                              # changed while read: read it again later
        self.routing = routing
        self.journal_on = smtpjournal.enabled(values)     # JOURNAL(*YES)
        if self.journal_on and getattr(self, "journal", None) is None:
            self.journal = smtpjournal.SmtpJournal(self.root, self.job_number)
        self._keys = keys
        self.delays = schedule.retry_delays(values)
        self.keep_days = values.get("KEEPUNTIL")
        self.keep_seconds = schedule.keep_seconds(values)
        self.notice_policy = notices.Policy.from_attributes(values, self.routing.system_name)
        limit = values.get("MAXOUTEMM")
        self.total = limit if isinstance(limit, int) else TOTAL_DEFAULT
        previous = getattr(self, "pool", None)
        if previous is not None and previous.idle:
            asyncio.get_running_loop().create_task(previous.close_all())
        self.pool = ConnectionPool(self.routing.system_name, PER_DESTINATION,
                                   source_for=self._source_for,
                                   credentials_for=self.routing.credentials_for)

    def _being_written(self, members: list) -> bool:
        """Does a program have one of ``members`` open for writing? Said in the job log
        once for each state of the member (TCP2676)."""
        busy = [m for m in members if settle.writer_seen(m.path)]
        for member in busy:
            key = (member.member, member.stat_key())
            if key not in self._told_writing:
                self._told_writing.add(key)
                self.log.send("TCP2676", member.member, member.file, member.library,
                              "a program has it open for writing")
        return bool(busy)

    def _source_for(self, host: str) -> str | None:
        return self.routing.source_address(":" in host)

    def notify(self) -> None:
        """Something new is in incoming/ (the FIFO said so)."""
        self._notified = True
        wake = getattr(self, "_wake", None)
        if wake is not None:
            wake.set()

    async def run_until_idle(self, fifo_fd: int | None = None, linger: float = 0.0) -> None:
        """Deliver until nothing is ready and nothing is in flight (and, with ``linger``,
        nothing came for that many seconds more)."""
        self.linger = linger
        self.load_configuration()
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if fifo_fd is not None:
            loop.add_reader(fifo_fd, self._fifo_readable, fifo_fd)
        work: asyncio.Queue = asyncio.Queue()
        self._busy = 0
        workers = [asyncio.create_task(self._worker(work)) for _ in range(self.total)]
        last_scan = 0.0
        lingered = False
        try:
            while not self.stopping:
                self.take_retry_requests()
                rescan = self._notified or time.monotonic() - last_scan > RESCAN_SECONDS
                if rescan:
                    self.load_configuration()
                    self._notified = False
                    last_scan = time.monotonic()
                for queue_id, source in self.ready(rescan):
                    self.in_progress.add(queue_id)
                    work.put_nowait((queue_id, source))
                if work.empty() and self._busy == 0 and not self._notified:
                    # Idle: keep the connections a moment for mail that follows (as
                    # Postfix caches them), then leave the loop and close them.
                    if self.linger <= 0 or lingered:
                        break
                    lingered = True
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.linger)
                    except asyncio.TimeoutError:
                        pass
                    continue
                lingered = False
                self._wake.clear()
                wait = self.seconds_to_next_due()
                wait = RESCAN_SECONDS if wait is None else min(wait, RESCAN_SECONDS)
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
            while not work.empty():                 # ending: what no worker took stays
                queue_id, _ = work.get_nowait()     # where it is, for the next start
                self.in_progress.discard(queue_id)
                work.task_done()
            try:
                await asyncio.wait_for(work.join(), END_GRACE_SECONDS)
            except asyncio.TimeoutError:
                pass                                # in active/: delivered again at start
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if fifo_fd is not None:
                loop.remove_reader(fifo_fd)
            await self.pool.close_all()
            self._wake = None
            if getattr(self, "journal", None) is not None:
                self.journal.close()             # the journal's last records, synced

    def _fifo_readable(self, fd: int) -> None:
        try:
            os.read(fd, 65536)
        except BlockingIOError:
            pass
        self.notify()

    async def _worker(self, work: asyncio.Queue) -> None:
        while True:
            queue_id, source = await work.get()
            self._busy += 1
            try:
                await self.deliver_message(queue_id, source)
            except Exception as bad:            # never lose the message: retry it later
                self.log.write("TCP9999 " + "".join(traceback.format_exception(bad)).replace("\n", " | "))
                if qstates.move(self.queue, queue_id, qformat.ACTIVE, qformat.DEFERRED):
                    heapq.heappush(self.due, (time.time() + max(self.delays[:1] or [60.0]), queue_id))
            finally:
                self._busy -= 1
                self.in_progress.discard(queue_id)
                work.task_done()
                if self._wake is not None:
                    self._wake.set()

    # --- one message -----------------------------------------------------------------------

    async def deliver_message(self, queue_id: str, source: str) -> None:
        path = qstates.move(self.queue, queue_id, source, qformat.ACTIVE)
        if path is None:
            return                                   # taken meanwhile (queue runner), or gone
        try:
            envelope, content = qformat.read_queue_file(path)
        except (qformat.NotAQueueFile, UnicodeDecodeError) as bad:
            qstates.move(self.queue, queue_id, qformat.ACTIVE, qformat.CORRUPT)
            self.log.send("TCP5020", queue_id, str(bad))
            return
        if envelope.get(quarantine.KEY):
            # FTRACN(*KEEP): a mail filter matched it at DATA; kept, never delivered.
            try:
                quarantine.take(self.root, queue_id, path, envelope)
            except OSError as failure:       # stays in active/: taken again at next start
                self.log.send("TCP7003", queue_id, failure.strerror or failure)
            return
        state = qstates.read_state(self.queue, queue_id) or qstates.MessageState(first_attempt=time.time())
        pending = [r for r in dict.fromkeys(envelope["recipients"])
                   if state.status(r) not in (qstates.SENT, qstates.FAILED)]
        sender = envelope.get("sender", "")
        groups: dict[tuple, list[str]] = {}
        for rcpt in pending:
            route = self.routing.route(rcpt)
            key = (route.kind, rcpt) if route.kind == LOCAL else route.key
            groups.setdefault(key, []).append(rcpt)
        done = (queue_id, state, list(pending))      # local recipients: _record_local
        outbound = notices.outbound(envelope, content)
        outcomes = await asyncio.gather(*(self._deliver_group(key, rcpts, sender, content,
                                                              outbound, done)
                                          for key, rcpts in groups.items()))
        failures: list[dsn.Notice] = []
        successes: list[dsn.Notice] = []
        deferred = []
        for results in outcomes:
            for rcpt, result in results.items():
                code = result.reply.code
                record = {"reply": result.reply.line.replace("\n", " "), "host": result.host,
                          "when": time.time()}
                if state.recipients.get(rcpt, {}).get("delay_noticed"):
                    record["delay_noticed"] = True
                if 200 <= code < 300:
                    record["status"] = qstates.SENT
                    self.delivered += 1
                    self.log.send("TCP5010", queue_id, rcpt, result.host or "local mailbox",
                                  record["reply"])
                    success = notices.success(envelope, rcpt, result)
                    if success is not None:
                        successes.append(success)
                elif code >= 500:
                    record["status"] = qstates.FAILED
                    failures.append(notices.notice(envelope, rcpt, dsn.FAILED, result.reply,
                                                   result.host))
                    self.log.send("TCP5012", queue_id, rcpt, record["reply"])
                else:
                    record["status"] = qstates.WAITING
                    deferred.append(rcpt)
                state.recipients[rcpt] = record
                self._journal("delivery", queue_id=queue_id, recipient=rcpt,
                              status=record["status"], host=result.host or "local mailbox",
                              reply=record["reply"], attempt=state.attempts + 1)
        next_at = None
        if deferred:
            state.attempts += 1
            delay = schedule.next_delay(self.delays, state.attempts)
            # KEEPUNTIL: a next attempt past the longest stay is never made.
            kept_too_long = delay is not None and schedule.past_keep(
                self.keep_seconds, state.first_attempt, time.time() + delay)
            if delay is None or kept_too_long:       # the schedule is spent, or the stay
                for rcpt in deferred:
                    record = state.recipients[rcpt]
                    record["status"] = qstates.FAILED
                    reply = record["reply"]
                    status = "4.4.7" if kept_too_long else _expired_status(reply)
                    failures.append(dsn.Notice(rcpt, status, reply, record.get("host", ""),
                                               dsn.FAILED, notices.orcpt(envelope, rcpt)))
                    if kept_too_long:
                        self.log.send("TCP2741", queue_id, rcpt, self.keep_days, reply)
                    else:
                        self.log.send("TCP5013", queue_id, rcpt, state.attempts, reply)
                    self._journal("expired", queue_id=queue_id, recipient=rcpt,
                                  attempts=state.attempts, reply=reply,
                                  kept_too_long=bool(kept_too_long))
                deferred = []
            else:
                next_at = time.time() + delay
                state.next_attempt = next_at
                for rcpt in deferred:
                    self.log.send("TCP5011", queue_id, rcpt, state.recipients[rcpt]["reply"],
                                  _when(next_at))
                self.deferred_count += 1
        delayed = self.notice_policy.delayed(envelope, state, deferred)
        for group in (failures, delayed, successes):
            if group:
                self._notify_sender(envelope, content, group, state)
        if deferred:
            qstates.write_state(self.queue, queue_id, state)
            qstates.move(self.queue, queue_id, qformat.ACTIVE, qformat.DEFERRED)
            heapq.heappush(self.due, (next_at, queue_id))
        else:
            qstates.remove(self.queue, queue_id)

    def _notify_sender(self, envelope: dict, content: bytes, group: list[dsn.Notice],
                       state: qstates.MessageState) -> None:
        """One report of one kind (failed, delayed, delivered/relayed) to the sender, if
        the sender may have it (qtsmtp-server(8), DSN); a copy of failures to NFYDLVRY's
        responsible person."""
        sender = envelope.get("sender", "")
        message_id = envelope.get("id", "?")
        failed = group[0].action == dsn.FAILED
        if failed:
            group = [f for f in group if f.recipient not in state.dsn_sent]
            if not group:
                return
            self.bounced += len(group)
            state.dsn_sent += [f.recipient for f in group]
        asked = [n for n in group if notices.asked_for(envelope, n)]
        for n in group:
            if n not in asked:
                self.log.send("TCP5053", message_id, n.recipient, n.action,
                              ",".join(notices.notify_of(envelope, n.recipient) or ()))
        if not sender:
            if failed:
                self.log.send("TCP5015", message_id, len(group))
        elif not asked:
            pass
        elif not self.notice_policy.to_senders:
            self.log.send("TCP5051", message_id, asked[0].action, sender)
        elif not envelope.get("trusted", True):
            self.log.send("TCP5050", message_id, asked[0].action, sender,
                          envelope.get("client", "?"))
        else:
            full = envelope.get("ret") == "FULL"
            report = dsn.build(self.routing.system_name, envelope, content, asked, full)
            queue_id = self.queue_message("", [sender], report)
            self.log.send("TCP5014", message_id, sender, queue_id, len(asked))
            self._journal("bounce" if failed else asked[0].action, queue_id=message_id,
                          sender=sender, notification=queue_id,
                          recipients=[n.recipient for n in asked])
        person = self.notice_policy.responsible
        made_here = not sender and not envelope.get("client")   # a report itself: no loop
        if failed and person and not made_here:
            report = dsn.build(self.routing.system_name, envelope, content, group)
            queue_id = self.queue_message("", [person], report)
            self.log.send("TCP5052", message_id, person, queue_id)

    def _journal(self, event: str, **fields) -> None:
        if getattr(self, "journal_on", False):
            self.journal.record(event, **fields)

    def queue_message(self, sender: str, recipients: list[str], content: bytes,
                      helo: str | None = None) -> str:
        """Queue a message made here (a notification, a submission) in incoming/,
        durably, in the server's own format."""
        if self._writer is None:
            self._writer = QueueWriter(self.root)
        queue_id = self._writer.new_id()
        envelope = qformat.make_envelope(
            queue_id, datetime.now(timezone.utc).isoformat(timespec="seconds"),
            client="", client_port=0,
            helo=helo or (self.routing.system_name if self.routing else ""),
            protocol="LOCAL", sender=sender, recipients=recipients, written=recipients,
            size=len(content), server_job=self.job_number)
        self._writer.store(queue_id, envelope, content)
        self.notify()
        return queue_id

    async def _deliver_group(self, key: tuple, recipients: list[str], sender: str,
                             content: bytes, outbound: Envelope,
                             done: tuple | None = None) -> dict[str, Result]:
        kind, destination = key
        if kind == LOCAL:
            return {destination: self._deliver_local(destination, sender, content, done)}
        try:
            hosts = await self._next_hops(kind, destination)
        except _RouteFailure as failed:
            return {r: Result(failed.reply) for r in recipients}
        last = Reply(451, "4.4.1 no host to try")
        for host, port in hosts:
            try:
                mail, rcpts, data, offers_dsn = await self.pool.transaction(
                    host, port, sender, recipients, content, outbound)
            except SMTPFailure as failure:
                last = failure.reply
                if failure.reply.code >= 500:
                    return {r: Result(failure.reply, host) for r in recipients}
                continue                                   # the next MX, if any
            out = {}
            for rcpt, reply in zip(recipients, rcpts):
                if reply.code in (250, 251):
                    reply = data if data is not None else Reply(451, "4.3.0 DATA not sent")
                out[rcpt] = Result(reply, host, offers_dsn)
            return out
        return {r: Result(last, hosts[-1][0] if hosts else "") for r in recipients}

    async def _next_hops(self, kind: str, destination: str) -> list[tuple[str, int]]:
        if kind in (HUB, ROUTER):
            return [split_host_port(destination)]
        if kind == LITERAL:
            address = destination.strip("[]")
            if address.lower().startswith("ipv6:"):
                address = address[5:]
            return [(address, 25)]
        router = self.routing.router
        try:
            hosts = await self.resolver(destination)
        except NoSuchDomain as missing:
            if router:
                return [split_host_port(router)]
            raise _RouteFailure(Reply(550, f"5.1.2 {missing}")) from None
        except NameServerFailure as failure:
            if self.routing.retry_name_server:
                raise _RouteFailure(Reply(451, f"4.4.3 {failure}")) from None
            if router:
                return [split_host_port(router)]
            raise _RouteFailure(Reply(550, f"5.4.3 {failure} (RTYRMTSVR(*NO))")) from None
        return [(h, 25) for h in hosts]

    def _deliver_local(self, address: str, sender: str, content: bytes,
                       done: tuple | None = None) -> Result:
        local, domain = split_address(address)
        # The server refuses an unknown user at RCPT; a submission, or a user removed
        # since, is refused here: never a new mailbox for a name nobody has.
        mailbox = self.routing.users.mailbox(local, domain)
        if mailbox is None:
            return Result(Reply(550, f"5.1.1 no user {local} in the SMTP directory"))
        try:
            maildir.deliver(self.root, mailbox, address, sender, content)
        except maildir.MailboxRefused as refused:
            return Result(Reply(550, f"5.1.1 {refused}"))
        except OSError as bad:
            return Result(Reply(451, f"4.2.0 local mailbox not writable: {describe(bad)}"))
        result = Result(Reply(250, "2.0.0 delivered to mailbox"))
        if done is not None:
            self._record_local(address, result, *done)
        return result

    def _record_local(self, address: str, result: Result, queue_id: str,
                      state: qstates.MessageState, pending: list[str]) -> None:
        """Record a local recipient done right after its Maildir write, with no await in
        between: a client job killed later delivers it no second time. The last
        recipient of a message takes the message out of the queue at once; another
        is written to its state (qtsmtp-queue(5))."""
        pending.remove(address)
        state.recipients[address] = {"reply": result.reply.line, "host": "",
                                     "when": time.time(), "status": qstates.SENT}
        try:
            if pending:
                qstates.note_state(self.queue, queue_id, state)
            else:
                (self.queue / qformat.ACTIVE / queue_id).unlink(missing_ok=True)
        except OSError:
            pass       # recorded at the end of the attempt, as before


class _RouteFailure(Exception):
    def __init__(self, reply: Reply):
        super().__init__(reply.line)
        self.reply = reply


def _expired_status(reply: str) -> str:
    code = reply.split(" ", 2)
    if len(code) > 1 and code[1].count(".") == 2 and code[1][0] == "4":
        return "4" + code[1][1:]
    return "4.4.7"


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(timespec="seconds")
