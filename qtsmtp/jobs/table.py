"""The job table of subsystem QSYSWRK: one record per active job, read by other commands.

Layout (qtsmtp-jobs(5)), under the data root:

    QSYSWRK/jobs/NNNNNN        one JSON record per active job, named by its job number
    QSYSWRK/jobs/NNNNNN.sock   a server job's socket for change notices (jobs.notify)
    QSYSWRK/jobs/.number       the last job number given out (a counter, under .lock)
    QSYSWRK/joblog/NNNNNN.NAME.log   the job's log, kept after the job ends

A record names the process behind the job by pid *and* its start time (from
/proc/PID/stat), so a pid the kernel has reused is never taken for our job, and by its
owner (uid): a record is believed only when the file is the server user's or root's
and no one else may write it, and the process is of the record's user and carries the
job's name (set_process_name): a record planted by another local user can never make
ENDTCPSVR or WRKACTJOB signal a process that is not the job. Records
whose process is gone (ended by kill -9, a crash, a reboot) are removed by whoever reads
the table next: nothing needs to be running for the table to stay true.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import stat

from qtsmtp.jobs import procstat
from qtsmtp.record import Record, field
from qtsmtp.store.context import contextmanager
from qtsmtp.store.durable import remove_quietly
from qtsmtp.store.permissions import make_directory

# A CL command that changes a list asks for the running jobs (active_jobs) with str
# paths, without pathlib (store.root); what gives a path to others gives a Path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

SUBSYSTEM, USER = "QSYSWRK", "QTCP"
SERVER_DAEMON, SERVER_JOB, CLIENT_DAEMON = "QTSMTPSRVD", "QTSMTPSRVP", "QTSMTPCLTD"
BATCH, PRESTART = "BCH", "PJ"
MAX_NUMBER = 999999


class JobRecord(Record):
    number: str                  # six digits, "000123"
    name: str                    # QTSMTPSRVD, QTSMTPSRVP, QTSMTPCLTD
    type: str                    # BCH or PJ
    pid: int
    pid_start: int               # field 22 of /proc/PID/stat: tells a reused pid apart
    program: str                 # what the job runs, shown as Function PGM-<program>
    server: str = "*SMTP"
    user: str = USER
    subsystem: str = SUBSYSTEM
    unix_user: str = field(default_factory=lambda: _unix_user())
    started: str = field(default_factory=lambda: _now())
    log: str = ""                # path of the job log, relative to the data root
    uid: int = -1                # the process's user: -1 in a record of an older release

    @property
    def qualified(self) -> str:
        """The IBM way to name a job: number/user/name."""
        return f"{self.number}/{self.user}/{self.name}"


def _now() -> str:
    from datetime import datetime, timezone   # only for a new job's record: not at import
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _unix_user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def run_directory(root: str | Path) -> Path:
    from pathlib import Path
    return Path(root) / SUBSYSTEM


def jobs_directory(root: str | Path) -> Path:
    from pathlib import Path
    return Path(_jobs_directory_text(root))


def _jobs_directory_text(root: str | Path) -> str:
    return os.path.join(root, SUBSYSTEM, "jobs")          # without pathlib: active_jobs'


def _socket_name(number: str) -> str:
    return f"{number}.sock"


def joblog_directory(root: Path) -> Path:
    return run_directory(root) / "joblog"


JOBS_DIRECTORY_MODE, JOBLOG_DIRECTORY_MODE, RECORD_MODE = 0o755, 0o750, 0o644


@contextmanager
def _table_lock(root: Path):
    directory = make_directory(jobs_directory(root), JOBS_DIRECTORY_MODE)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield directory
    finally:
        os.close(fd)


def next_job_number(root: Path) -> str:
    """The next six-digit job number; wraps after 999999 as IBM i's do."""
    with _table_lock(root) as directory:
        counter = directory / ".number"
        try:
            last = int(counter.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            last = 0
        number = last % MAX_NUMBER + 1
        _write_atomically(counter, f"{number}\n")
    return f"{number:06d}"


def joblog_path(root: Path, number: str, name: str) -> Path:
    return joblog_directory(root) / f"{number}.{name}.log"


def new_record(root: Path, number: str, name: str, pid: int, program: str,
               job_type: str = BATCH) -> JobRecord:
    """The record of a process that has just started (not yet written)."""
    log = joblog_path(root, number, name)
    return JobRecord(number, name, job_type, pid, procstat.start_time(pid) or 0, program,
                     log=str(log.relative_to(root)), uid=os.geteuid())


def write_record(root: Path, record: JobRecord) -> None:
    directory = make_directory(jobs_directory(root), JOBS_DIRECTORY_MODE)
    import json      # not at import: a command that finds no job table never needs it
    _write_atomically(directory / record.number, json.dumps(record.as_dict()) + "\n")


def socket_path(root: Path, number: str) -> Path:
    """Where a server job listens for change notices (qtsmtp.jobs.notify)."""
    return jobs_directory(root) / _socket_name(number)


def remove_record(root: str | Path, number: str) -> None:
    directory = _jobs_directory_text(root)
    remove_quietly(os.path.join(directory, number))
    remove_quietly(os.path.join(directory, _socket_name(number)))    # left behind by a kill -9


def active_jobs(root: str | Path) -> list[JobRecord]:
    """Every job whose process still runs, by job number; removes the records of the dead."""
    directory = _jobs_directory_text(root)
    try:
        names = sorted(n for n in os.listdir(directory) if n.isdigit())
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        record = _read(os.path.join(directory, name))
        if record is None:
            continue
        if not procstat.is_alive(record.pid, record.pid_start):
            remove_record(root, record.number)
        elif is_the_job(record):
            out.append(record)
    return out


def is_the_job(record: JobRecord) -> bool:
    """Is the process the record names the job (its user, its name), not only a live
    process with that pid and start time?"""
    if procstat.owner(record.pid) != record.uid:
        return False
    # The name is set just after the fork: a record written a moment before may name
    # a process that is still "python"; it is left alone, not listed, until then.
    return procstat.name(record.pid) == record.name[:15]


def _read(path: str | Path) -> JobRecord | None:
    import json
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = json.loads(f.read())
        record = JobRecord(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        # A torn or foreign file cannot describe a job: drop it rather than fail every reader.
        remove_quietly(path)
        return None
    # Believed only when written by the job's own user (or ours, or root's) and by no
    # one else: a record another user planted names that user's processes at most.
    if record.uid < 0 or st.st_uid not in (record.uid, os.geteuid(), 0) \
            or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return record


def _write_atomically(path: Path, text: str) -> None:
    # Readers never lock, so a record appears whole or not at all. No fsync: the table
    # describes running processes, and after a crash there are none to describe.
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, RECORD_MODE)
    try:
        os.fchmod(fd, RECORD_MODE)          # whatever the umask
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
