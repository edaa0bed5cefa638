"""QTSMTPSRVD: starts the server jobs and the client job, replaces the ones that die,
and ends them all on SIGTERM (ENDTCPSVR) or SIGINT (Ctrl-C in foreground mode).

It holds no listening socket (a socket nobody accepts on would swallow the connections
the kernel hashed to it) and runs no event loop: one select() on a signal pipe, which
WRKACTJOB shows as SELW. Jobs are forked after the configuration has been read and the
policy compiled, so a bad member stops the start before anything listens.

Run as ``python -m qtsmtp.server.supervisor --ready-fd N [--server-jobs N]`` by
STRTCPSVR; MODE(*FOREGROUND) calls ``Supervisor`` in the command's own process.
"""

from __future__ import annotations

import argparse
import fcntl
import gc
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

from qtsmtp.config.policyload import (START_WAIT_SECONDS, PolicySource, wait_for_hand_edits,
                                      watched_members)
from qtsmtp.config import mailfilter
from qtsmtp.config.credentials import credentials_member
from qtsmtp.config.exitreg import exit_member
from qtsmtp.config.lists import member_file
from qtsmtp.config.listtypes import LIST_TYPES
from qtsmtp.config.settings import load_settings
from qtsmtp.delivery.job import run_delivery_job
from qtsmtp.server.submitexits import SubmissionScreen
from qtsmtp.jobs import table
from qtsmtp.jobs.joblog import JobLog
from qtsmtp.jobs.process import describe_status, end_with_parent, set_process_name
from qtsmtp.messages import CLError, Message, escape
from qtsmtp.queue import format as qformat
from qtsmtp.queue import states as qstates
from qtsmtp.queue.sweep import sweep_tmp
from qtsmtp.server import restarts
from qtsmtp.server.anvil import ClientTable
from qtsmtp.server.tls import check_start
from qtsmtp.server.worker import run_server_job
from qtsmtp.store.permissions import make_directory
from qtsmtp.store.root import data_root

START_TIMEOUT_SECONDS = 60
END_TIMEOUT_SECONDS = 45              # the server jobs' DATA grace (30 s) and some
SERVER_JOB_PROGRAM, CLIENT_JOB_PROGRAM, DAEMON_PROGRAM = "QTMSSRCP", "QTMSCLTD", "QTMSSRCD"


def refuse_busy_port(addresses: tuple[str, ...], port: int) -> None:
    """TCP3006 if anything listens on the port already.

    The server jobs bind with SO_REUSEPORT, and the kernel lets every socket of the same
    user that asks for it share the port: a second qtsmtp of the same user (another data
    root, the same PORT) would start without a word and take half the connections of the
    first. A probe socket without SO_REUSEPORT cannot bind beside a listener, shared or
    not; with SO_REUSEADDR it can bind beside connections in TIME_WAIT."""
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:        # as the server jobs bind (asyncio's way)
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind((address, port))
            except OSError as failure:
                raise escape("TCP3006", address, port, failure.strerror or failure) from None


def server_lock_path(root: Path) -> Path:
    return table.run_directory(root) / f"{table.SERVER_DAEMON}.lock"


def members_read_at_start(root: Path) -> list:
    """Every member the jobs take as they find it when they start: the policy's, and
    the server bind lists (read once: a truncated one is "no bind list", every address,
    for good), the exit registration, the mail filter lists, the credentials, and the
    client job's routing lists."""
    lists = ("*SVRBIND", "*SVRBNDIP6", "*CLTBIND", "*CLTBNDIP6", "*HOSTAUTH",
             *mailfilter.FILTER_TYPES)
    return watched_members(root) + [member_file(root, LIST_TYPES[t]) for t in lists] + [
        exit_member(root), credentials_member(root)]


class Supervisor:
    def __init__(self, root: Path, server_jobs: int | None = None, echo=None):
        self.root = Path(root).resolve()
        self.requested_jobs = server_jobs
        self.echo = echo
        self.children: dict[int, table.JobRecord] = {}
        self.born: dict[int, float] = {}               # pid -> when it was forked
        now = time.monotonic()
        self.restarts = {name: restarts.Restarts(now)
                         for name in (table.SERVER_JOB, table.CLIENT_DAEMON)}
        self.pending: list[tuple[float, table.JobRecord, str]] = []   # replacements due
        self.ending = False
        self._lock_fd = -1
        self._wake_r = self._wake_w = -1

    # --- start -----------------------------------------------------------------------

    def start(self) -> Message:
        """Read the configuration, start every job; the TCP3001 message, or CLError
        (nothing left running) when the server cannot start."""

        # Nothing the server makes is writable by others, whatever umask it was given.
        os.umask(os.umask(0o022) | 0o022)
        set_process_name(table.SERVER_DAEMON)    # before the record: its name is checked
        try:
            self._take_server_lock()
            self.record = table.new_record(self.root, table.next_job_number(self.root),
                                           table.SERVER_DAEMON, os.getpid(), DAEMON_PROGRAM)
            table.write_record(self.root, self.record)
            self.log = JobLog(self.root / self.record.log, echo=self.echo)
            self.log.send("TCP3010", self.record.qualified, table.SUBSYSTEM, os.getpid())
        except OSError as failure:
            # A read-only file system, a full disk: said, not a traceback (TCP9999).
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1
            record = getattr(self, "record", None)
            if record is not None:
                table.remove_record(self.root, record.number)
            raise _cannot_write(failure, self.root) from None
        try:
            # Not from a member an editor is still writing (TCP2677 past a bound).
            wait_for_hand_edits(members_read_at_start(self.root),
                                time.monotonic() + START_WAIT_SECONDS,
                                lambda message: self.log.send(message.id, *message.data))
            self.settings = load_settings(self.root, self.requested_jobs)
            check_start(self.root)       # permissions, secrets, TLS: before any job starts
            self.source = PolicySource(self.root, self.settings.system_name,
                                       self.settings.local_addresses)
            current = self.source.current
            self.log.send("TCP3020", current.policy.alwrly, current.system_name, current.summary())
            if current.policy.alwrly == "*ALL":
                self.log.send("TCP2663")
            queue = qformat.prepare(self.root)
            swept, uncounted = sweep_tmp(self.root)  # before a job of ours writes there
            if swept:
                self.log.send("TCP9004", swept)
            for name in uncounted:
                self.log.send("TCP3080", name, queue)
            # Shared by every server job, replacements too: they are forked from here.
            self.clients = ClientTable(self.settings.server_jobs)
            refuse_busy_port(self.settings.bind_addresses, self.settings.port)
            if str(current.attributes.get("COLDSTART", "*NO")).upper() == "*YES":
                # Once the start cannot fail for the port, and before the client job
                # runs: it would deliver what is being discarded.
                self.log.send("TCP2740", qstates.discard_waiting(queue), queue)
            self._install_signals()
            # What the jobs inherit (the compiled policy, every module) is left out of
            # the collector's passes from here on: its pages stay shared with the jobs
            # instead of being copied the first time a collection touches them.
            gc.freeze()
            os.close(self._spawn(table.CLIENT_DAEMON)[0])
            reports = [self._spawn(table.SERVER_JOB)[0] for _ in range(self.settings.server_jobs)]
            self._await_ready(reports)
        except OSError as failure:
            error = _cannot_write(failure, self.root)
            self.log.send("TCP3005", error.escape)
            self.end("the start failed")
            raise error from None
        except CLError as error:
            self.log.send("TCP3005", error.escape)
            self.end("the start failed")
            raise
        return Message("TCP3001", self.record.qualified, self.settings.server_jobs,
                       self.settings.shown_addresses, self.settings.port)

    def _take_server_lock(self) -> None:
        path = server_lock_path(self.root)
        make_directory(path.parent, table.JOBS_DIRECTORY_MODE)
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            daemon = [j for j in table.active_jobs(self.root) if j.name == table.SERVER_DAEMON]
            raise escape("TCP3002", daemon[0].qualified if daemon else table.SERVER_DAEMON,
                         daemon[0].pid if daemon else "?") from None

    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wake_w)

        def asked_to_end(signum, frame):
            self.ending = True

        signal.signal(signal.SIGTERM, asked_to_end)
        signal.signal(signal.SIGINT, asked_to_end)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)   # wakes the select

    def _await_ready(self, reports: list[int]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        waiting = {fd: b"" for fd in reports}
        failures = []
        while waiting and time.monotonic() < deadline:
            readable, _, _ = select.select(list(waiting), [], [], 0.5)
            for fd in readable:
                chunk = os.read(fd, 4096)
                waiting[fd] += chunk
                if b"\n" in waiting[fd] or not chunk:
                    line = waiting.pop(fd).decode(errors="replace").strip()
                    os.close(fd)
                    if line != "READY":
                        failures.append(line.removeprefix("FAIL ") or "server job ended at start")
        for fd in waiting:
            os.close(fd)
        if failures or waiting:
            raise escape("TCP3005", failures[0] if failures else "server jobs did not start in time")

    # --- jobs ------------------------------------------------------------------------

    def _spawn(self, name: str) -> tuple[int, table.JobRecord]:
        """Fork one job; returns the read end of its start-report pipe, and its record."""
        number = table.next_job_number(self.root)
        log_path = table.joblog_path(self.root, number, name)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        self._region = self.clients.claim() if name == table.SERVER_JOB else -1
        try:
            pid = os.fork()
        except OSError:
            os.close(report_r)
            os.close(report_w)
            raise
        if pid == 0:                                    # the child: never returns
            code = 1
            try:
                os.close(report_r)
                code = self._child(name, number, log_path, report_w)
            finally:
                os._exit(code)
        os.close(report_w)
        if self._region >= 0:
            self.clients.owned(pid, self._region)
        program = SERVER_JOB_PROGRAM if name == table.SERVER_JOB else CLIENT_JOB_PROGRAM
        job_type = table.PRESTART if name == table.SERVER_JOB else table.BATCH
        record = table.new_record(self.root, number, name, pid, program, job_type)
        table.write_record(self.root, record)
        self.children[pid] = record
        self.born[pid] = time.monotonic()
        return report_r, record

    def _child(self, name: str, number: str, log_path: Path, report_w: int) -> int:
        # Undo what the supervisor set up: its signal pipe, its handlers, its lock.
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        for fd in (self._lock_fd, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        end_with_parent()
        set_process_name(name)
        log = JobLog(log_path)
        log.redirect_stderr()
        log.send("TCP3010", f"{number}/{table.USER}/{name}", table.SUBSYSTEM, os.getpid())

        def report(text: str) -> None:
            try:
                os.write(report_w, text.encode() + b"\n")
            except OSError:
                pass       # a replacement job: nobody waits for its report

        try:
            if name == table.CLIENT_DAEMON:
                os.close(report_w)
                code = run_delivery_job(self.root, log, screen=SubmissionScreen(self.root, log))
            else:
                code = run_server_job(self.settings, self.source, log, number, self.root, report,
                                      self.clients.job(self._region))
        except BaseException as failure:          # the log must say why a job ended
            log.write("TCP9999 " + "".join(traceback.format_exception(failure)).replace("\n", " | "))
            report(f"FAIL {failure}")
            code = 1
        log.send("TCP3011", f"{number}/{table.USER}/{name}", f"exit status {code}")
        return code

    # --- running ---------------------------------------------------------------------

    def run_until_ended(self) -> None:
        """Replace the jobs that die until asked to end. Raises CLError (TCP9001), every
        job ended, when jobs of a kind keep dying for restarts.GIVE_UP_SECONDS: the
        caller's exit status is then non-zero, for a service manager to act on."""
        while not self.ending:
            select.select([self._wake_r], [], [], self._wait_seconds())
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass
            self._reap(replace=not self.ending)
            if not self.ending:
                self._start_due()
                given_up = self._given_up()
                if given_up is not None:
                    self.end(f"given up: {given_up.text}")
                    raise CLError([given_up])
        self.end()

    def _wait_seconds(self) -> float:
        if not self.pending:
            return 5.0
        return max(0.0, min(5.0, min(due for due, _, _ in self.pending) - time.monotonic()))

    def _given_up(self) -> Message | None:
        """TCP9001 when a kind of job is in a crash loop too long to go on alone."""
        now = time.monotonic()
        for pid, record in self.children.items():
            kind = self.restarts[record.name]
            if now - self.born[pid] >= kind.stable:
                kind.serving(now)
        for name, kind in self.restarts.items():
            if kind.must_give_up(now):
                return Message("TCP9001", self.record.qualified, name, kind.loop_deaths,
                               f"{kind.stable:g}", f"{kind.give_up:g}")
        return None

    def _reap(self, replace: bool) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            record = self.children.pop(pid, None)
            born = self.born.pop(pid, None)
            if hasattr(self, "clients"):
                self.clients.release(pid)     # its sessions ended with it
            if record is None:
                continue
            table.remove_record(self.root, record.number)
            if replace:
                self._replace(record, describe_status(status), time.monotonic() - born)

    def _replace(self, record: table.JobRecord, how: str, lived: float) -> None:
        """Replace a job that died: at once, or after the back-off's pause (TCP3013)."""
        kind = self.restarts[record.name]
        delay = kind.died(time.monotonic(), lived)
        if delay:
            self.log.send("TCP3013", record.qualified, how, kind.recent(),
                          int(kind.window), f"{delay:g}")
        self.pending.append((time.monotonic() + delay, record, how))
        self._start_due()

    def _start_due(self) -> None:
        now = time.monotonic()
        due = [item for item in self.pending if item[0] <= now]
        self.pending = [item for item in self.pending if item[0] > now]
        for _, record, how in due:
            try:
                report, new = self._spawn(record.name)
            except OSError as failure:        # no process to be had: try again later
                self.log.send("TCP9002", record.qualified, failure)
                self._replace(record, how, 0.0)
                continue
            os.close(report)
            self.log.send("TCP3012", record.qualified, how, new.qualified)

    # --- end -------------------------------------------------------------------------

    def end(self, reason: str = "ended by ENDTCPSVR") -> None:
        """End every job (SIGTERM: graceful), wait for them, then end this one."""
        self.ending = True
        for pid in list(self.children):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + END_TIMEOUT_SECONDS
        while self.children and time.monotonic() < deadline:
            self._reap(replace=False)
            if self.children:
                time.sleep(0.02)
        for pid, record in list(self.children.items()):
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            table.remove_record(self.root, record.number)
            self.children.pop(pid)
        self.log.send("TCP3011", self.record.qualified, reason)
        table.remove_record(self.root, self.record.number)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _cannot_write(failure: OSError, root: Path) -> CLError:
    """TCP9003: what the file system refused, and where."""
    return escape("TCP9003", failure.filename or root,
                  failure.strerror or failure)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


# --- STRTCPSVR MODE(*BATCH): this module is the submitted job --------------------------

def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="qtsmtp.server.supervisor")
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--server-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    supervisor = Supervisor(data_root(), args.server_jobs)
    try:
        started = supervisor.start()
    except CLError as error:
        _tell_submitter(args.ready_fd, False, error.messages)
        return 1
    supervisor.log.redirect_stderr()
    _tell_submitter(args.ready_fd, True, [started])
    try:
        supervisor.run_until_ended()
    except CLError:
        return 1                 # given up (TCP9001, in the job log): not a clean end
    return 0


def _tell_submitter(fd: int, ok: bool, messages: list[Message]) -> None:
    report = {"ok": ok, "messages": [[m.id, *m.data] for m in messages]}
    try:
        os.write(fd, json.dumps(report).encode() + b"\n")
        os.close(fd)
    except OSError:
        pass
    # Nobody reads our standard streams any more: a print must not kill the job.
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream_fd in (0, 1):
        os.dup2(devnull, stream_fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
