"""A real server started by the console commands on a temporary root, as an operator
starts it, and what the tests read of it: the job table, the job logs, the queue.

``Server.shut_down()`` (every fixture's teardown) runs ENDTCPSVR, then kills by PID any
process the job table named at any time during the test and still running: a failing
test leaves nothing running and nothing on the port.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import smtplib
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from support import eventually, free_port, new_library, process_running, process_start, script

COMMAND_TIMEOUT = 120
CONFIG_COMMANDS = {"addsmtple", "rmvsmtple", "chgsmtpa", "addusrsmtp", "chgusrsmtp",
                   "rmvusrsmtp"}
QUEUE_STATES = ("incoming", "active", "deferred")


class Server:
    """A temporary data root, the commands run on it, and the server jobs they start."""

    def __init__(self, root: Path, env: dict | None = None):
        self.root = root
        self.env = {**os.environ, "QTSMTP_ROOT": str(root), **(env or {})}
        self.port = 0
        self.seen: dict[int, int] = {}          # pid -> its start time, from the job table

    @classmethod
    def on_new_root(cls, root: Path, attributes: str = "", env: dict | None = None) -> "Server":
        """A copy of the embedded default library in ``root``, the server's port set to a
        free one, and any other CHGSMTPA ``attributes``."""
        server = cls(new_library(root), env)
        server.port = free_port()
        server.run("chgsmtpa", f"PORT({server.port}) {attributes}".rstrip())
        return server

    def run(self, name: str, *args: str, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run a console command. A configuration change made while the server runs
        returns once every server job has compiled it (or refused it): each job reloads
        on its own, and a test's next connection may reach any of them."""
        watching = name in CONFIG_COMMANDS and self.port and self.job_pids("QTSMTPSRVP")
        before = self._reload_counts() if watching else {}
        result = subprocess.run([script(name), *args], env=self.env, capture_output=True,
                                text=True, timeout=COMMAND_TIMEOUT, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"{name} {' '.join(args)} -> {result.returncode}\n"
                                 f"{result.stdout}{result.stderr}")
        if watching and result.returncode == 0:
            eventually(lambda: all(self._reload_counts().get(log, 0) > count
                                   for log, count in before.items()
                                   if self._job_alive_for(log)),
                       f"every server job reloaded after {name}")
        return result

    def add_user(self, user: str, password: str) -> None:
        """ADDSMTPAUT with the password on standard input, as an administrator would."""
        self.run("addsmtpaut", user, input=password + "\n")

    def _reload_counts(self) -> dict[str, int]:
        out = {}
        for job in self.jobs():
            if job["name"] == "QTSMTPSRVP":
                text = self.log_of(job)
                out[job["log"]] = text.count(" TCP3022 ") + text.count(" TCP3021 ")
        return out

    def _job_alive_for(self, log: str) -> bool:
        return any(j["log"] == log and self.alive(j) for j in self.jobs())

    # --- the job table, read as WRKACTJOB reads it ---------------------------------------

    def jobs(self) -> list[dict]:
        directory = self.root / "QSYSWRK" / "jobs"
        out = []
        for path in sorted(directory.glob("[0-9]*")) if directory.exists() else []:
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        self.seen.update((j["pid"], j.get("pid_start", 0)) for j in out)
        return out

    def job(self, name: str) -> dict:
        return next(j for j in self.jobs() if j["name"] == name)

    def job_pids(self, name: str) -> list[int]:
        return [j["pid"] for j in self.jobs() if j["name"] == name]

    def track(self, pid: int) -> None:
        """Have shut_down() kill ``pid`` too, if it still runs then (a process the test
        started itself, not recorded in the job table)."""
        self.seen[pid] = process_start(pid)

    @staticmethod
    def alive(job: dict) -> bool:
        return process_running(job["pid"], job.get("pid_start", 0))

    def job_serving(self, client_port: int) -> int:
        """The pid of the server job whose log shows the session from ``client_port``
        (0 while none does yet)."""
        pattern = re.compile(rf"TCP3051 127\.0\.0\.\d+:{client_port} session started")
        for job in self.jobs():
            if job["name"] == "QTSMTPSRVP" and pattern.search(self.log_of(job)):
                return job["pid"]
        return 0

    def log_of(self, job: dict) -> str:
        """One job's log; "" while a new job's record is there before its log is."""
        try:
            return (self.root / job["log"]).read_text()
        except FileNotFoundError:
            return ""

    def joblog_text(self, name: str | None = None) -> str:
        logs = sorted((self.root / "QSYSWRK" / "joblog").glob("*.log"))
        return "".join(p.read_text() for p in logs if name is None or name in p.name)

    def joblog_shows(self, text: str, name: str | None = None) -> str:
        """Wait for ``text`` in the job logs. A server job writes its log lines in
        batches (joblog.FLUSH_SECONDS), so a line may reach the file just after the
        reply it explains reached the client."""
        return eventually(lambda: text in (log := self.joblog_text(name)) and log,
                          f"{text!r} in the job log of {name or 'any job'}")

    # --- start and end -------------------------------------------------------------------

    def start(self, *args: str) -> subprocess.CompletedProcess:
        result = self.run("strtcpsvr", "*SMTP", *args)
        self.jobs()
        return result

    def end(self) -> subprocess.CompletedProcess:
        self.jobs()
        return self.run("endtcpsvr", "*SMTP", check=False)

    def kill_leftovers(self) -> list[int]:
        """SIGKILL, by PID, every process the job table ever named that still runs (a
        held one too: SIGCONT first, so that nothing is left stopped)."""
        self.jobs()
        killed = []
        for pid, started in self.seen.items():
            if process_running(pid, started):
                for signum in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(pid, signum)
                    except ProcessLookupError:
                        pass
                killed.append(pid)
        return killed

    def shut_down(self) -> list[int]:
        """ENDTCPSVR if any job is recorded, then kill_leftovers(): what had to be killed."""
        if self.jobs():
            self.end()
        return self.kill_leftovers()

    # --- SMTP clients --------------------------------------------------------------------

    def smtp(self, source: str = "127.0.0.2", host: str = "127.0.0.1") -> smtplib.SMTP:
        client = smtplib.SMTP(host, self.port, source_address=(source, 0), timeout=30)
        client.ehlo("client.test")
        return client

    def in_data(self, source: str, first_part: bytes) -> smtplib.SMTP:
        """A session from ``source`` in DATA (a null sender, to postmaster: 354 seen),
        with ``first_part`` of the message sent and the rest still to come."""
        client = self.smtp(source)
        client.mail("<>")
        client.rcpt("postmaster")
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(first_part)
        return client

    def load_message(self, source: str, message_id: str, body: bytes,
                     timeout: float) -> tuple[int, bytes]:
        """One message of a load test: from ``source``, null sender, to postmaster, with
        ``message_id`` and ``body``, then END-OF-BODY (a stored copy without it is torn).
        The reply to its DATA, a refusal too; a session that fails before raises."""
        client = smtplib.SMTP("127.0.0.1", self.port, source_address=(source, 0),
                              timeout=timeout)
        try:
            client.ehlo("load.test")
            client.mail("<>")
            client.rcpt("postmaster")
            try:
                reply = client.data(f"Message-ID: {message_id}\r\n\r\n".encode() + body
                                    + b"END-OF-BODY\r\n")
            except smtplib.SMTPDataError as refused:
                reply = refused.smtp_code, refused.smtp_error
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass                      # the reply to DATA is what counts
            return reply
        finally:
            client.close()

    def rcpt_code(self, source: str, recipient: str, host: str = "127.0.0.1") -> int:
        client = self.smtp(source, host)
        try:
            code, _ = client.mail("sender@client.test")
            assert code == 250
            return client.rcpt(recipient)[0]
        finally:
            client.quit()

    # --- the queue and the mailboxes -----------------------------------------------------

    def hold_delivery(self) -> int:
        """Hold the queue's delivery lock, as a queue runner would; take it BEFORE start
        (a running client job holds it). The client job then delivers nothing, so every
        accepted message stays in queue/incoming as the server wrote it: a test that
        reads a queue file after the 250 does not race its delivery (a delivered
        message's queue file is gone). Closing the descriptor lets the client job take
        the lock and deliver."""
        queue = self.root / "queue"
        queue.mkdir(exist_ok=True)
        lock = os.open(queue / ".delivery.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def queued(self) -> list[Path]:
        """Every queued message, whichever state the client job has moved it to."""
        queue = self.root / "queue"
        return sorted(p for state in QUEUE_STATES for p in (queue / state).glob("*"))

    def stored_messages(self) -> list[bytes]:
        """The bytes of every message the server holds: queued, or delivered to a local
        mailbox. The client job moves a message by rename (incoming/ -> active/ ->
        deferred/, or into a mailbox and then out of the queue), so one listed here may
        be gone from where it was listed by the time it is read; then it is somewhere
        later in its path, and the whole look is taken again, until every file listed
        could be read: a message moving meanwhile is never missed. One delivered to a
        mailbox is in the mailbox and still in active/ for a moment (the queue file goes
        once the mailbox copy is durable), so a count of messages is waited for."""
        def look() -> list[bytes] | None:
            out = []
            for path in self.queued() + sorted((self.root / "mail").glob("*/*/*")):
                try:
                    out.append(path.read_bytes())
                except FileNotFoundError:
                    return None          # moved on since it was listed: look again
                except IsADirectoryError:
                    continue
            return out
        return eventually(lambda: (found := look()) is not None and [found], "a look at the "
                          "queue and the mailboxes while no message moved")[0]

    def queue_file(self, queue_id: str) -> bytes:
        """The bytes of a queued message, in whichever state directory the client job
        has moved it to by now (it may move while we look: look again)."""
        queue = self.root / "queue"

        def read() -> bytes | None:
            for state in QUEUE_STATES:
                try:
                    return (queue / state / queue_id).read_bytes()
                except FileNotFoundError:
                    continue
            return None

        return eventually(read, f"queue file {queue_id}")

    def queue_message(self, sender: str, recipients: list[str], body: bytes) -> str:
        """Put a message in incoming/ as a server job would (its writer, its format)."""
        from qtsmtp.queue.format import prepare
        from qtsmtp.queue.writer import QueueWriter
        prepare(self.root)
        writer = QueueWriter(self.root)
        queue_id = writer.new_id()
        envelope = {"id": queue_id,
                    "arrival": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "client": "127.0.0.2", "client_port": 1, "helo": "client.test",
                    "protocol": "ESMTP", "sender": sender, "recipients": recipients,
                    "written": recipients, "size": len(body), "server_job": "000001"}
        try:
            writer.store(queue_id, envelope, body)
            writer.notify()
        finally:
            writer.close()
        return queue_id
