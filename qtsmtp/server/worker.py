"""A server job (QTSMTPSRVP): one asyncio loop serving SMTP sessions.

The loop is uvloop's (libuv): aiosmtpd's protocol code is unchanged, but the loop and
its transports are C; measured with smtp-source, a third less CPU per message in the
server job (bench/bench_throughput.py).

Every server job binds the same port with SO_REUSEPORT, so the kernel spreads new
connections over them and a job that dies takes only its own sessions with it. The job
reports to the supervisor on a pipe: "READY" once it listens, or "FAIL <message>".
"""

from __future__ import annotations

import asyncio
import functools
import math
import signal

import uvloop

from qtsmtp.server.committer import CommitProcess
from qtsmtp.jobs.joblog import JobLog
from qtsmtp.config.policyload import PolicySource
from qtsmtp.server.protocol import SessionRegistry
from qtsmtp.queue.writer import QueueWriter
from qtsmtp.server.secure import SecureHandler, SecureSMTP, Security, session_limits
from qtsmtp.config.settings import NOMAX_MESSAGE_KB, ServerSettings

RELOAD_CHECK_SECONDS = 0.3       # a change is in use within this (plus compile time)
DATA_GRACE_SECONDS = 30          # ENDTCPSVR: how long a session in DATA may take to finish
SESSION_TIMEOUT_SECONDS = 300    # RFC 5321 4.5.3.2.7: the server waits 5 minutes per command


class ServerJob:
    def __init__(self, settings: ServerSettings, source: PolicySource, log: JobLog,
                 job_number: str, queue: CommitProcess):
        self.settings = settings
        self.source = source
        self.log = log
        self.registry = SessionRegistry()
        # STARTTLS, AUTH, exits, limits, PROXY listener (qtsmtp.server.secure).
        self.security = Security(source.root, log, job_number)
        self.handler = SecureHandler(source, queue, log, job_number, self.security)
        self.queue = queue
        self._stop = asyncio.Event()

    def _session_factory(self, **listener):
        compiled = self.source.current
        values = compiled.attributes
        size_kb = values.get("MAXEMMSIZE")
        size_kb = size_kb if isinstance(size_kb, int) else NOMAX_MESSAGE_KB
        max_in = values.get("MAXINEMM")
        per_job = (math.ceil(max_in / self.settings.server_jobs) if isinstance(max_in, int)
                   else 1_000_000)
        timeout = values.get("CMDTIMEOUT")
        return SecureSMTP(self.handler, self.registry, per_job,
                          security=self.security,
                          limits=session_limits(values, self.security.tls is not None),
                          hostname=compiled.system_name, ident="ESMTP qtsmtp",
                          data_size_limit=size_kb * 1024,
                          timeout=timeout if isinstance(timeout, int) else SESSION_TIMEOUT_SECONDS,
                          loop=asyncio.get_running_loop(), **listener)

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
        reloader = asyncio.create_task(self._watch_policy())
        exit_watcher = asyncio.create_task(self.security.watch(RELOAD_CHECK_SECONDS))
        report("READY")
        await self._stop.wait()

        # ENDTCPSVR: stop taking connections, then end the sessions gracefully.
        reloader.cancel()
        exit_watcher.cancel()
        for server in servers:
            server.close()
        in_data = self.registry.ask_to_end()
        self.log.send("TCP3014", len(self.registry.sessions), in_data, DATA_GRACE_SECONDS)
        try:
            await asyncio.wait_for(self.registry.idle.wait(), DATA_GRACE_SECONDS)
        except asyncio.TimeoutError:
            self.log.send("TCP3015", self.registry.force_end(), DATA_GRACE_SECONDS)
            await asyncio.sleep(0.1)   # let the transports flush the 421s
        await self.security.close()      # external exit programs, policy connections
        return 0

    async def _watch_policy(self) -> None:
        """Off the hot path: a stat of each member every RELOAD_CHECK_SECONDS; a compile
        (in a thread, a million entries take a while) only when something changed."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(RELOAD_CHECK_SECONDS)
            if not self.source.needs_reload():
                continue
            error = await loop.run_in_executor(None, self.source.reload)
            if error is None:
                current = self.source.current
                self.log.send("TCP3022", current.policy.alwrly, current.summary())
            else:
                self.log.send("TCP3021", error.escape)


def run_server_job(settings: ServerSettings, source: PolicySource, log: JobLog,
                   job_number: str, root, report) -> int:
    """The body of a forked server job. ``report(text)`` tells the supervisor."""
    # A job forked a while after start may carry an old policy: catch up before serving.
    if source.needs_reload() and source.reload() is not None:
        log.send("TCP3021", "a member does not parse")
    job = ServerJob(settings, source, log, job_number, CommitProcess(QueueWriter(root), log))
    try:
        return uvloop.run(job.serve(report))
    finally:
        # Write the buffered log lines before the job's last one.
        log.unbuffer()
