"""A server job (QTSMTPSRVP): one asyncio loop serving SMTP sessions.

The loop is uvloop's (libuv): aiosmtpd's protocol code is unchanged, but the loop and
its transports are C; measured with smtp-source, a third less CPU per message in the
server job (bench/bench_throughput.py).

Every server job binds the same port with SO_REUSEPORT, so the kernel spreads new
connections over them and a job that dies takes only its own sessions with it. The job
reports to the supervisor on a pipe: "READY" once it listens, or "FAIL <message>".

Configuration changes: the job follows the library's change journal (policyload). A
command that changed something asks the job, on the job's socket (jobs.notify), to apply
the journal up to its change, and returns when the job answers "applied": so the next
connection, whichever job the kernel gives it to, sees the change. Every
RELOAD_CHECK_SECONDS the job also looks (one stat per member and of the journal) for
changes no one told it about: a member edited by hand, a command that ended before it
asked. One task at a time changes the policy (``_policy_lock``), in a worker thread: a
million-entry compile must not hold up the sessions.
"""

from __future__ import annotations

import asyncio
import functools
import math
import resource
import signal
import socket

import uvloop

from qtsmtp.config.policyload import PolicySource
from qtsmtp.config.settings import NOMAX_MESSAGE_KB, ServerSettings
from qtsmtp.jobs import notify
from qtsmtp.jobs.joblog import JobLog
from qtsmtp.queue.writer import QueueWriter
from qtsmtp.server.committer import CommitProcess
from qtsmtp.server.protocol import SessionRegistry
from qtsmtp.server.secure import SecureHandler, SecureSMTP, Security, session_limits

RELOAD_CHECK_SECONDS = 0.3       # a change no one told the job about is seen within this
DATA_GRACE_SECONDS = 30          # ENDTCPSVR: how long a session in DATA may take to finish
SESSION_TIMEOUT_SECONDS = 300    # RFC 5321 4.5.3.2.7: the server waits 5 minutes per command
# Descriptors kept for what is not a session: the listeners, the job log, the pipes to
# the commit process and the exits, the change socket, a member being read, the 421
# that refuses a client beyond the cap.
DESCRIPTOR_RESERVE = 100


def descriptor_cap() -> int:
    """The most sessions a job may hold, whatever MAXINEMM says: each takes one
    descriptor, and a job out of descriptors can no longer even refuse a client (it
    cannot accept the connection to say 421; the client is left without a greeting).
    The soft limit is raised to the hard one first, as daemons do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return max(1, min(soft - DESCRIPTOR_RESERVE, int(soft * 0.9)))


class ServerJob:
    def __init__(self, settings: ServerSettings, source: PolicySource, log: JobLog,
                 job_number: str, queue: CommitProcess,
                 changes: socket.socket | None = None, clients=None):
        self.settings = settings
        self.source = source
        self.log = log
        self.changes = changes        # where commands ask "apply up to this change"
        self._policy_lock: asyncio.Lock | None = None
        self.registry = SessionRegistry()
        # STARTTLS, AUTH, exits, limits, PROXY listener (qtsmtp.server.secure).
        self.security = Security(source.root, log, job_number, clients)
        self.security.own_addresses = frozenset(settings.local_addresses)
        self.session_cap = descriptor_cap()
        self.handler = SecureHandler(source, queue, log, job_number, self.security)
        self.queue = queue
        self._stop = asyncio.Event()
        self._options_of: dict[tuple, tuple] = {}    # listener -> (policy, its options)
        self._loop: asyncio.AbstractEventLoop | None = None     # the job's one loop

    def _session_factory(self, **listener):
        compiled = self.source.current
        # What a session takes from the policy is the same for every session of it:
        # worked out once per policy (and listener), not per connection.
        made = self._options_of.get(tuple(listener.items()))
        if made is None or made[0] is not compiled:
            made = (compiled, self._session_options(compiled))
            self._options_of[tuple(listener.items())] = made
        if self._loop is None:
            # Once: asyncio's get_running_loop() is a getpid() system call each time.
            self._loop = asyncio.get_running_loop()
        return SecureSMTP(self.handler, self.registry, made[1]["per_job"],
                          security=self.security, loop=self._loop,
                          **made[1]["options"], **listener)

    def _session_options(self, compiled) -> dict:
        values = compiled.attributes
        size_kb = values.get("MAXEMMSIZE")
        size_kb = size_kb if isinstance(size_kb, int) else NOMAX_MESSAGE_KB
        max_in = values.get("MAXINEMM")
        per_job = (math.ceil(max_in / self.settings.server_jobs) if isinstance(max_in, int)
                   else self.session_cap)
        per_job = min(per_job, self.session_cap)
        timeout = values.get("CMDTIMEOUT")
        return {"per_job": per_job, "options": {
            "limits": session_limits(values, self.security.tls is not None),
            "hostname": compiled.system_name, "ident": "ESMTP qtsmtp",
            "enable_SMTPUTF8": True,     # offered or not: server.esmtp
            "data_size_limit": size_kb * 1024,
            "timeout": timeout if isinstance(timeout, int) else SESSION_TIMEOUT_SECONDS}}

    async def serve(self, report) -> int:
        try:
            await self.queue.start()
        except OSError as failure:
            report(f"FAIL {self.log.send('TCP3041', failure.strerror or failure)}")
            return 1
        try:
            return await self._serve(report)
        finally:
            # Every session has ended: the commit process finishes what it has, and ends.
            await self.queue.close()
            if "journal" in vars(self.handler):
                self.handler.journal.close()     # the SMTP journal's last records, synced

    async def _serve(self, report) -> int:
        loop = asyncio.get_running_loop()
        servers = []
        for address in self.settings.bind_addresses:
            try:
                servers.append(await loop.create_server(
                    self._session_factory, address, self.settings.port, reuse_port=True,
                    reuse_address=True, backlog=1024))
            except OSError as failure:
                for server in servers:
                    server.close()
                message = self.log.send("TCP3006", address, self.settings.port,
                                        failure.strerror or failure)
                report(f"FAIL {message}")
                return 1
        for what, port, options in self.security.extra_listeners():
            for address in self.settings.bind_addresses:
                try:
                    servers.append(await loop.create_server(
                        functools.partial(self._session_factory, **options), address, port,
                        reuse_port=True, reuse_address=True, backlog=1024,
                        ssl=self.security.tls if options.get("implicit_tls") else None))
                except OSError as failure:
                    for server in servers:
                        server.close()
                    message = self.log.send("TCP3006", address, port, failure.strerror or failure)
                    report(f"FAIL {message}")
                    return 1
                self.log.send("TCP6052", what, address, port)
        for address in self.settings.bind_addresses:
            self.log.send("TCP3030", address, self.settings.port)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        # Several log lines per message: written in batches from here on, the rest when
        # the job ends (run_server_job).
        self.log.buffer_in(loop)
        self._policy_lock = asyncio.Lock()
        change_server = None
        if self.changes is not None:
            change_server = await asyncio.start_unix_server(self._answer, sock=self.changes)
        reloader = asyncio.create_task(self._watch_policy())
        exit_watcher = asyncio.create_task(self.security.watch(RELOAD_CHECK_SECONDS))
        report("READY")
        await self._stop.wait()

        # ENDTCPSVR: stop taking connections, then end the sessions gracefully.
        if change_server is not None:
            change_server.close()
        reloader.cancel()
        exit_watcher.cancel()
        for server in servers:
            server.close()
        in_data = self.registry.ask_to_end()
        self.log.send("TCP3014", len(self.registry.sessions), in_data, DATA_GRACE_SECONDS)
        try:
            await asyncio.wait_for(self.registry.idle.wait(), DATA_GRACE_SECONDS)
        except TimeoutError:
            self.log.send("TCP3015", self.registry.force_end(), DATA_GRACE_SECONDS)
            await asyncio.sleep(0.1)   # let the transports flush the 421s
        await self.security.close()      # external exit programs, policy connections
        return 0

    async def _watch_policy(self) -> None:
        """Off the hot path: a stat of each member and of the journal every
        RELOAD_CHECK_SECONDS; the work only when something changed."""
        while True:
            await asyncio.sleep(RELOAD_CHECK_SECONDS)
            await self._follow()

    async def _follow(self) -> None:
        """Bring the policy up to date with the members (in a thread: a compile of a
        million entries takes a while), and say so in the job log."""
        loop = asyncio.get_running_loop()
        async with self._policy_lock:
            if not self.source.needs_reload():
                return
            before = self.source.current
            try:
                error = await loop.run_in_executor(None, self.source.reload)
            except TimeoutError:
                return              # a command is still writing: the next look sees it
            except OSError as failure:      # a member we may not read: as one that is bad
                self.log.send("TCP3021", failure)
                return
            for note in self.source.notes:
                self.log.send(note.id, *note.data)
            self.source.notes.clear()
            if error is not None:
                self.log.send("TCP3021", error.escape)
            elif self.source.current.policy is not before.policy:
                current = self.source.current
                self.log.send("TCP3022", current.policy.alwrly, current.summary())

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One command's question on the change socket: "apply <journal> <generation>";
        the answer once the policy holds it (jobs.notify)."""
        try:
            line = await asyncio.wait_for(reader.readline(), notify.CONFIRM_SECONDS)
            answer = await asyncio.wait_for(self._applied(line), notify.CONFIRM_SECONDS)
            if answer:
                writer.write(answer.encode("utf-8", "replace") + b"\n")
                await writer.drain()
        except (TimeoutError, OSError, ValueError):
            pass                  # the command reports the job that did not answer
        finally:
            writer.close()

    async def _applied(self, line: bytes) -> str:
        words = line.decode("ascii", "replace").split()
        if len(words) != 3 or words[0] != "apply" or not words[2].isdigit():
            return "failed not a request"
        journal_id, generation = ("" if words[1] == "-" else words[1]), int(words[2])
        while True:
            if self._holds(journal_id, generation):
                # The exit registration too (HLDEXITPGM, RLSEXITPGM, ADDEXITPGM...): its
                # member is written before the command asks. One that does not parse (a
                # hand edit) is the job log's to say (TCP6023): which member the command
                # changed is not in the question, and the commands write none such.
                await self.security.follow_exits()
                current_id, current_generation = self.source.position
                return f"applied {current_id or '-'} {current_generation}"
            await self._follow()
            if self._holds(journal_id, generation):
                continue
            if self.source.failure is not None:
                return f"failed {self.source.failure.escape}"
            await asyncio.sleep(0.01)      # a writer holds the journal: bounded by _answer

    def _holds(self, journal_id: str, generation: int) -> bool:
        """Does the policy for new connections hold that change?"""
        current_id, current_generation = self.source.position
        if current_id == journal_id:
            return current_generation >= generation
        # Another journal than the command's: it was made again after the command wrote
        # (a journal is only ever replaced by a newer one), and this policy was compiled
        # from the members since. Unless the journal is changing under us: look again.
        return (bool(current_id) and self.source.failure is None
                and not self.source.journal.has_news())


def run_server_job(settings: ServerSettings, source: PolicySource, log: JobLog,
                   job_number: str, root, report, clients=None) -> int:
    """The body of a forked server job. ``report(text)`` tells the supervisor."""
    # The change socket first: a command that finds none needs no answer from this job,
    # since the job reads the journal after this (jobs.notify).
    changes = notify.listen(root, job_number)
    try:
        # A job forked a while after start may carry an old policy: catch up before serving.
        try:
            if source.needs_reload() and source.reload() is not None:
                log.send("TCP3021", source.failure.escape)
        except TimeoutError:
            pass                         # a command still writing: the first look sees it
        except OSError as failure:
            log.send("TCP3021", failure)
        for note in source.notes:
            log.send(note.id, *note.data)
        source.notes.clear()
        job = ServerJob(settings, source, log, job_number,
                        CommitProcess(QueueWriter(root), log), changes, clients)
        try:
            return uvloop.run(job.serve(report))
        finally:
            # Write the buffered log lines before the job's last one.
            log.unbuffer()
    finally:
        changes.close()
        notify.forget(root, job_number)
