"""Processing programs of STRTCPSVR and ENDTCPSVR.

Kept light: they import neither asyncio nor aiosmtpd. MODE(*BATCH) submits the
supervisor as its own process (a new session, so it outlives the shell) and waits for
its one-line report; MODE(*FOREGROUND) runs the supervisor here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from qtsmtp.cl.binder import Bound
from qtsmtp.config import attributes
from qtsmtp.jobs import procstat, table
from qtsmtp.messages import CLError, Message, escape, send
from qtsmtp.server.supervisor import Supervisor
from qtsmtp.store.member import current_group
from qtsmtp.store.permissions import make_directory
from qtsmtp.store.root import data_root

SUBMIT_TIMEOUT_SECONDS = 90
END_TIMEOUT_SECONDS = 60


def _wants_smtp(server, root) -> bool:
    if server == "*AUTOSTART":
        return attributes.load(root)["AUTOSTART"] == "*YES"
    return True        # *ALL, or a list holding *SMTP (the only value it may hold)


def _smtp_jobs(root) -> list[table.JobRecord]:
    return [j for j in table.active_jobs(root) if j.server == "*SMTP"]


def strtcpsvr(bound: Bound) -> list[Message]:
    root = data_root().resolve()
    if not _wants_smtp(bound["SERVER"], root):
        return [Message("TCP3007")]
    daemon = [j for j in _smtp_jobs(root) if j.name == table.SERVER_DAEMON]
    if daemon:
        raise escape("TCP3002", daemon[0].qualified, daemon[0].pid)
    jobs = None if bound["SVRJOBS"] == "*CPU" else bound["SVRJOBS"]
    # A script's changes before this command: a group commit keeps a member it appended
    # to open for writing until it flushes, and the server does not read a member a
    # program has open for writing (it would wait, then refuse to start: TCP2677).
    # Durable and closed now; their messages come at the group's flush as ever.
    group = current_group()
    if group is not None:
        group.sync()
        group.release_lock()
    if bound["MODE"] == "*FOREGROUND":
        return _run_in_foreground(root, jobs)
    return _submit(root, jobs)


def _submit(root, jobs: int | None) -> list[Message]:
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-m", "qtsmtp.server.supervisor", "--ready-fd", str(write_fd)]
    if jobs:
        command += ["--server-jobs", str(jobs)]
    errors = table.run_directory(root) / "QTSMTPSRVD.stderr"
    try:
        make_directory(errors.parent, table.JOBS_DIRECTORY_MODE)
        fd = os.open(errors, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
        os.fchmod(fd, 0o640)
    except OSError as failure:      # read-only, full: the supervisor says so on its pipe
        raise escape("TCP9003", failure.filename or errors, failure.strerror or failure) from None
    with open(fd, "wb") as stderr:
        process = subprocess.Popen(command, pass_fds=(write_fd,), start_new_session=True,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr, env={**os.environ, "QTSMTP_ROOT": str(root)})
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        line = pipe.readline()      # the supervisor writes one line, then closes
    if not line:
        code = process.wait(timeout=SUBMIT_TIMEOUT_SECONDS)
        said = _last_line(errors)
        raise escape("TCP3005", f"QTSMTPSRVD ended with exit status {code}"
                                + (f": {said}" if said else ", with nothing said"))
    report = json.loads(line)
    messages = [Message(item[0], *item[1:]) for item in report["messages"]]
    if not report["ok"]:
        process.wait(timeout=SUBMIT_TIMEOUT_SECONDS)
        raise CLError(messages)
    return messages


def _last_line(path) -> str:
    """The last line the supervisor wrote to its standard error (a traceback ends with
    the exception), or ""."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _run_in_foreground(root, jobs: int | None) -> list[Message]:
    supervisor = Supervisor(root, jobs, echo=sys.stderr)
    send([supervisor.start()])
    supervisor.run_until_ended()
    return [Message("TCP3003", supervisor.record.qualified)]


def endtcpsvr(bound: Bound) -> list[Message]:
    root = data_root().resolve()
    jobs = _smtp_jobs(root)
    if not jobs:
        raise escape("TCP3004")
    daemon = [j for j in jobs if j.name == table.SERVER_DAEMON]
    # The supervisor ends its own jobs; without one (it was killed), end them directly.
    for job in daemon or jobs:
        try:
            os.kill(job.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    # A held job (WRKACTJOB 3=Hold: SIGSTOP) cannot act on SIGTERM: it is released to
    # end, as ENDJOB ends a held job, instead of being waited for in vain.
    for job in jobs:
        if procstat.status(job.pid) == "HLD" and procstat.is_alive(job.pid, job.pid_start):
            try:
                os.kill(job.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + END_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not any(procstat.is_alive(j.pid, j.pid_start) for j in jobs) and not _smtp_jobs(root):
            return [Message("TCP3003", (daemon or jobs)[0].qualified)]
        time.sleep(0.05)
    still = [j for j in jobs if procstat.is_alive(j.pid, j.pid_start)]
    raise escape("TCP3008", still[0].qualified if still else "?", END_TIMEOUT_SECONDS)
