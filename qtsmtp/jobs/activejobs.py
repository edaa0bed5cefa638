"""The active jobs as WRKACTJOB shows them: which jobs, measured, in which order, and the
printed report (OUTPUT(*PRINT)) in the layout of IBM's spooled file QPDSPAJB; the panel
(qtsmtp.panels.wrkactjob) shows the same rows.

Measured, never made up: CPU time and CPU % from /proc over an interval (CPU % is the
share of the whole system's processing capacity, as on IBM i, not of one core), the
status from what the kernel says the process waits in (procstat), threads, run priority
(from the nice value: 50, IBM's default for batch, is nice 0), and AuxIO, the storage
reads and writes over the interval counted in 4 KiB pages. Int and Rsp, interactions and
response time, belong to interactive jobs; qtsmtp's jobs are batch jobs: 0 and .0, as
IBM i shows a batch job's.

The interval: RESET(*YES) starts it now; RESET(*NO) goes on with the interval an earlier
WRKACTJOB started in this process (IBM: "in this job"), for instance from the same
command entry display; a report with nothing to go on with measures over SAMPLE_SECONDS.

The report layout (REPORT_COLUMNS): 132 columns; ten heading lines (the product,
title, system, date, time and page; the parameter lines Reset, Subsystems, CPU Percent
Limit, Response Time Limit, Sequence, Job name; CPU %, elapsed time and active jobs; the
"Current" and "--------Elapsed---------" line; the column headings); a subsystem's name
in column 3 and its jobs' one column in; the end-of-listing line last. A program that
reads IBM's spooled file (by those heading texts, by columns 3-12 for the subsystem, by
the first 37 columns for name, user and number, by the type after column 36) reads this.

What public sources confirm, and what they do not. Two programs of IBM's JTOpen test
suite read QPDSPAJB (JobListTestcase: WRKACTJOB OUTPUT(*PRINT) copied with CPYSPLF;
JDGroupTestInfo: the output of `system wrkactjob`): 132-byte records; ten heading lines
before the first job line and one line after the last; the heading texts above (each is
looked for as a substring, "Subsystem/Job  User        Number   User" with its blanks);
the subsystem or job name in columns 3-12, column 3 blank on a job line; the name, user
and number as the first three words of columns 1-37; the type SBS after column 36.
Every other position (the type's exact column, Pool to Status, the job's indent, the
places of the system name, date and time on the first line) is qtsmtp's choice: no
public capture of the spooled file was found. Column 1 blank on the first line, the
page number ending in column 130 and the end-of-listing line from column 27 follow
IBM's printed DSPLIBL, WRKSBS and DSPJOBLOG outputs, not QPDSPAJB's own.
OUTPUT(*CSV) is the same data for scripts: one line per row, every value whole.
"""

from __future__ import annotations

import csv
import io
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime

from qtsmtp.jobs import procstat, table
from qtsmtp.messages import Message
from qtsmtp.store.root import data_root

SAMPLE_SECONDS = 0.25
PAGE_BYTES = 4096
PRODUCT = "QTSMTP  V1R0M0"          # the product and release line, as IBM's 5770SS1 V7R5M0
BATCH_PRIORITY, SUBSYSTEM_PRIORITY = 50, 0
BASE_POOL = 2                        # IBM's *BASE storage pool
REPORT_WIDTH = 132
END_OF_LISTING = "* * * * *  E N D  O F  L I S T I N G  * * * * *"
END_OF_LISTING_AT = 26               # 0-based: column 27, as IBM's other printed lists
PAGE_AT = 121                        # "Page    1" in columns 122-130
SYSTEM_AT = 83                       # system name, date, time from column 84

SEQUENCES = ("*SBS", "*AUXIO", "*CPU", "*CPUPCT", "*FUNCTION", "*INT", "*JOB", "*JOBTYPE",
             "*NUMBER", "*POOL", "*PTY", "*RSP", "*STS", "*THREAD", "*USER")

# (heading, first column (0-based), width, right-aligned) of the report's columns.
REPORT_COLUMNS = [
    ("Subsystem/Job", 2, 13, False), ("User", 17, 10, False), ("Number", 29, 6, False),
    ("User", 38, 10, False), ("Type", 50, 4, False), ("Pool", 55, 4, True),
    ("Pty", 60, 3, True), ("CPU", 64, 9, True), ("Int", 74, 4, True), ("Rsp", 79, 6, True),
    ("AuxIO", 86, 12, True), ("Threads", 99, 7, True), ("CPU %", 107, 5, True),
    ("Function", 113, 12, False), ("Status", 126, 6, False),
]
CURRENT_AT, ELAPSED_AT = 38, 74          # "Current" over the second User; the ruler
ELAPSED_RULER = "--------Elapsed---------"  # over Int, Rsp and AuxIO
CSV_FIELDS = ["subsystem", "job", "user", "number", "current_user", "type", "pool",
              "priority", "cpu_seconds", "interactions", "response_seconds", "aux_io",
              "threads", "cpu_percent", "function", "status", "pid", "started"]


# --- the rows -------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of the list: a subsystem (job is None) or a job of it."""
    subsystem: str
    name: str
    user: str
    number: str
    type: str
    pool: int = BASE_POOL
    priority: int = BATCH_PRIORITY
    cpu_seconds: float = 0.0
    interactions: int = 0
    response: float = 0.0
    aux_io: int = 0
    threads: int = 1
    cpu_percent: float = 0.0
    function: str = ""
    status: str = ""
    job: table.JobRecord | None = None
    indent: bool = False                 # a job under its subsystem line (SEQ(*SBS))

    @property
    def current_user(self) -> str:
        return self.user                 # a qtsmtp job never swaps its user profile


def priority_of(nice: int | None) -> int:
    """IBM run priority (1-99, 50 the batch default) for a nice value (-20 to 19)."""
    if nice is None:
        return BATCH_PRIORITY
    return max(1, min(99, BATCH_PRIORITY + round(nice * 49 / 19)))


def nice_of(priority: int) -> int:
    """The nice value that gives run priority ``priority`` (the inverse of priority_of)."""
    return max(-20, min(19, round((priority - BATCH_PRIORITY) * 19 / 49)))


def select_jobs(jobs: list[table.JobRecord], subsystems, job_name: str) -> list[table.JobRecord]:
    """SBS and JOB: *ALL, names, a generic name (QTSMTP*); *SBS keeps no job (only the
    subsystem lines), *SYS none (qtsmtp has no system jobs)."""
    if subsystems != "*ALL":
        wanted = {s.upper() for s in ([subsystems] if isinstance(subsystems, str) else subsystems)}
        jobs = [j for j in jobs if j.subsystem in wanted]
    if job_name in ("*SBS", "*SYS"):
        return []
    if job_name != "*ALL":
        name = job_name.upper()
        if name.endswith("*"):
            jobs = [j for j in jobs if j.name.startswith(name[:-1])]
        else:
            jobs = [j for j in jobs if j.name == name]
    return jobs


class Sampler:
    """CPU and storage I/O of the jobs since the interval began (start, or restart)."""

    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.started = time.monotonic()
        self.baseline: dict[tuple[int, int], tuple[int, int]] = {}

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def measure(self, jobs: list[table.JobRecord]) -> dict[str, Row]:
        """Job number -> its Row (without the subsystem line), measured now."""
        elapsed = max(self.elapsed, 1e-6)
        capacity = elapsed * procstat.CLOCK_TICKS * (os.cpu_count() or 1)
        out = {}
        for job in jobs:
            ticks = procstat.cpu_ticks(job.pid) or 0
            done = procstat.io_bytes(job.pid) or 0
            first_ticks, first_io = self.baseline.setdefault((job.pid, job.pid_start), (ticks, done))
            out[job.number] = Row(
                job.subsystem, job.name, job.user, job.number, job.type,
                priority=priority_of(procstat.nice(job.pid)),
                cpu_seconds=ticks / procstat.CLOCK_TICKS,
                aux_io=max(0, done - first_io) // PAGE_BYTES,
                threads=procstat.threads(job.pid) or 1,
                cpu_percent=100.0 * (ticks - first_ticks) / capacity,
                function=f"PGM-{job.program}", status=procstat.status(job.pid), job=job)
        return out


_sampler: Sampler | None = None


def sampler(reset: bool) -> tuple[Sampler, bool]:
    """The interval of this process (IBM: of this job): a new one when ``reset`` or none
    was started yet; and whether it goes on from an earlier WRKACTJOB."""
    global _sampler
    if reset or _sampler is None:
        _sampler = Sampler()
        return _sampler, False
    return _sampler, True


def _key(seq: str):
    numeric = {"*AUXIO": lambda r: -r.aux_io, "*CPU": lambda r: -r.cpu_seconds,
               "*CPUPCT": lambda r: -r.cpu_percent, "*INT": lambda r: -r.interactions,
               "*RSP": lambda r: -r.response, "*THREAD": lambda r: -r.threads,
               "*POOL": lambda r: r.pool, "*PTY": lambda r: r.priority}
    if seq in numeric:                   # the largest first, as IBM sorts them
        get = numeric[seq]
        return lambda r: (get(r), r.name, r.number)
    text = {"*FUNCTION": "function", "*JOB": "name", "*JOBTYPE": "type", "*NUMBER": "number",
            "*STS": "status", "*USER": "user"}[seq]
    return lambda r: (getattr(r, text), r.name, r.number)


def arrange(measured: dict[str, Row], seq: str = "*SBS", cpu_limit=None, rsp_limit=None,
            subsystem_lines: list[str] | None = None) -> list[Row]:
    """The rows in SEQ order. *SBS: each subsystem's line first, its jobs indented below
    it by name then number (no process stands behind a subsystem line: its CPU is its
    jobs', its status blank rather than made up). Any other SEQ: the jobs alone, sorted.
    CPUPCTLMT and RSPLMT keep only the jobs at or above the limit."""
    jobs = list(measured.values())
    if cpu_limit is not None:
        jobs = [r for r in jobs if r.cpu_percent >= cpu_limit]
    if rsp_limit is not None:
        jobs = [r for r in jobs if r.response >= rsp_limit]
    if seq != "*SBS":
        return sorted(jobs, key=_key(seq))
    names = sorted({r.subsystem for r in jobs} | set(subsystem_lines or []))
    out = []
    for subsystem in names:
        members = sorted((r for r in jobs if r.subsystem == subsystem), key=lambda r: (r.name, r.number))
        out.append(Row(subsystem, subsystem, "QSYS", "000000", "SBS", priority=SUBSYSTEM_PRIORITY,
                       cpu_seconds=sum(r.cpu_seconds for r in members),
                       aux_io=sum(r.aux_io for r in members),
                       threads=1, cpu_percent=sum(r.cpu_percent for r in members)))
        for row in members:
            row.indent = True
            out.append(row)
    return out


def ibm_decimal(value: float) -> str:
    """One decimal, no leading zero, as IBM prints CPU and CPU %: '.0', '1.4'."""
    text = f"{value:.1f}"
    return text[1:] if text.startswith("0.") else text


# --- the printed report ---------------------------------------------------------------------

@dataclass
class Request:
    """WRKACTJOB's parameters, as the report heads them."""
    reset: str = "*NO"
    subsystems: object = "*ALL"
    cpu_limit: float | None = None
    rsp_limit: float | None = None
    seq: str = "*SBS"
    job: str = "*ALL"
    messages: list[Message] = field(default_factory=list)

    @property
    def subsystems_text(self) -> str:
        return "*ALL" if self.subsystems == "*ALL" else " ".join(self.subsystems)


def _cells(row: Row) -> list[str]:
    # A job one column in from its subsystem's name (the display indents two): a reader
    # of columns 3-12 tells them apart by column 3, and gets a job name of up to nine
    # characters whole.
    name = (" " if row.indent else "") + row.name
    return [name, row.user, row.number, row.current_user, row.type, str(row.pool),
            str(row.priority), ibm_decimal(row.cpu_seconds), str(row.interactions),
            ibm_decimal(row.response), str(row.aux_io), str(row.threads),
            ibm_decimal(row.cpu_percent), row.function, row.status]


def _place(line: str, col: int, width: int, text: str, right: bool) -> str:
    text = text[:width]
    text = text.rjust(width) if right else text.ljust(width)
    return line.ljust(col)[:col] + text + line[col + width:]


def report_line(cells: list[str]) -> str:
    line = ""
    for (_, col, width, right), text in zip(REPORT_COLUMNS, cells):
        line = _place(line, col, width, text, right)
    return line.ljust(REPORT_WIDTH)


def heading_lines(request: Request, rows: list[Row], elapsed: float, now: datetime,
                  system: str) -> list[str]:
    total = sum(r.cpu_percent for r in rows if r.job is not None)
    jobs = sum(1 for r in rows if r.job is not None)
    # Column 1 blank, the page number's last digit in column 130: as IBM's printed
    # DSPLIBL, WRKSBS and DSPJOBLOG have them; the system name, date and time where a
    # V7R5 DSPJOBLOG has them (see the module's docstring).
    first = " " + PRODUCT.ljust(41) + "Work with Active Jobs"
    first = first.ljust(SYSTEM_AT) + system[:8].ljust(10) + now.strftime("%m/%d/%y  %H:%M:%S")
    first = first.ljust(PAGE_AT) + "Page    1"
    limit = (lambda v: "*NONE" if v is None else ibm_decimal(v))
    seconds = int(elapsed)
    ruler = _place(_place("", CURRENT_AT, 7, "Current", False), ELAPSED_AT,
                   len(ELAPSED_RULER), ELAPSED_RULER, False)
    headings = ""
    for heading, col, width, right in REPORT_COLUMNS:
        headings = _place(headings, col, width, heading, right)
    return [line.ljust(REPORT_WIDTH) for line in [
        first,
        f" Reset . . . . . . . . . :   {request.reset}",
        f" Subsystems  . . . . . . :   {request.subsystems_text}",
        f" CPU Percent Limit . . . :   {limit(request.cpu_limit)}",
        f" Response Time Limit . . :   {limit(request.rsp_limit)}",
        f" Sequence  . . . . . . . :   {request.seq}",
        f" Job name  . . . . . . . :   {request.job}",
        f" CPU %  . . . :  {ibm_decimal(total):>6}     Elapsed time . . . . :   "
        f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        f"     Active jobs  . . . . :  {jobs:>5}",
        ruler,
        headings]]


def print_report(request: Request, rows: list[Row], elapsed: float,
                 now: datetime | None = None, system: str | None = None) -> str:
    now = now or datetime.now()
    system = system or socket.gethostname().split(".")[0].upper() or "LOCALHOST"
    lines = heading_lines(request, rows, elapsed, now, system)
    lines += [report_line(_cells(row)) for row in rows]
    if not any(row.job is not None for row in rows):
        lines.append("   No active jobs to display.".ljust(REPORT_WIDTH))
    lines.append((" " * END_OF_LISTING_AT + END_OF_LISTING).ljust(REPORT_WIDTH))
    return "\n".join(lines) + "\n"


def csv_report(rows: list[Row]) -> str:
    """OUTPUT(*CSV): one line per row, a heading line first, nothing cut or rounded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        job = row.job
        writer.writerow([row.subsystem, "" if job is None else row.name, row.user, row.number,
                         row.current_user, row.type, row.pool, row.priority,
                         f"{row.cpu_seconds:.2f}", row.interactions, f"{row.response:.1f}",
                         row.aux_io, row.threads, f"{row.cpu_percent:.2f}", row.function,
                         row.status, "" if job is None else job.pid,
                         "" if job is None else job.started])
    return out.getvalue()


def collect(request: Request, reset: bool) -> tuple[list[Row], float]:
    """The rows WRKACTJOB shows now, and the interval they were measured over."""
    root = data_root()
    every = table.active_jobs(root)
    jobs = select_jobs(every, request.subsystems, request.job)
    interval, goes_on = sampler(reset)
    measured = interval.measure(jobs)
    if not goes_on and jobs:
        time.sleep(SAMPLE_SECONDS)            # a new interval: measure over a moment
        measured = interval.measure(jobs)
    # JOB(*SBS): the subsystem lines alone; SBS names a subsystem with no job: no line.
    present = sorted({j.subsystem for j in select_jobs(every, request.subsystems, "*ALL")})
    lines = present if request.job == "*SBS" else []
    rows = arrange(measured, request.seq, request.cpu_limit, request.rsp_limit, lines)
    return rows, interval.elapsed


def report(request: Request, reset: bool = True, form: str = "*PRINT") -> str:
    rows, elapsed = collect(request, reset)
    return csv_report(rows) if form == "*CSV" else print_report(request, rows, elapsed)
