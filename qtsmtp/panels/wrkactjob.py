"""WRKACTJOB on a terminal: the Work with Active Jobs panel.

The jobs come from the job table (``qtsmtp.jobs.table.active_jobs``) and are shown as the
printed report shows them (``qtsmtp.jobs.activejobs.select_jobs`` and ``rows``): the
subsystem line, its jobs indented under it. CPU % is measured as IBM i measures it, over
the elapsed interval: the CPU time each process used (``procstat.cpu_ticks``) since the
panel started or since F10 restarted the statistics, as a share of the whole system's
capacity. Status is what the kernel says the process waits in (``procstat.status``).

Options: 3=Hold stops the process (SIGSTOP; status HLD), 6=Release continues it
(SIGCONT), 4=End asks it to end (SIGTERM, after a confirmation display), 5=Work with
shows the job: process, start time, port, sessions served, recent job log. Each job is
named by its pid *and* the start time of that pid, so a signal never reaches a process
that merely reused the number.

OUTPUT(*PRINT), or an output that is not a terminal: the printed report of
``qtsmtp.jobs.activejobs``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import datetime

from qtsmtp.cl.binder import Bound
from qtsmtp.jobs import activejobs as report
from qtsmtp.jobs import procstat, table
from qtsmtp.messages import Message
from qtsmtp.panels import screen
from qtsmtp.panels.cmdline import run_command_line, show_output
from qtsmtp.panels.panel import (
    CANCEL,
    EXIT,
    Field,
    Panel,
    TextPanel,
    blank,
    heading,
    key_label,
    leader,
    more_or_bottom,
    put,
    wrap,
)
from qtsmtp.programs.runner import Outcome
from qtsmtp.store.root import data_root

HEADING_ROW, FIRST_ROW = 8, 9
OPTIONS = {"3": "Hold", "4": "End", "5": "Work with", "6": "Release"}
END_WAIT_SECONDS = 10
SIGNAL_WAIT_SECONDS = 2         # a hold or release shows in /proc within this, or never


def ibm_percent(value: float) -> str:
    """CPU % as IBM shows it: one decimal, no leading zero ('.0', '1.4')."""
    text = f"{value:.1f}"
    return text[1:] if text.startswith("0.") else text


def hhmmss(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class JobsPanel(Panel):
    def __init__(self, subsystems="*ALL", job_name: str = "*ALL"):
        super().__init__()
        self.root = data_root()
        self.subsystems, self.job_name = subsystems, job_name
        self.elapsed_view = False
        self.top = 0
        self.options: dict[str, str] = {}          # job number -> option typed
        self.command = Field(20, 7, 72, max_length=2000, key="command",
                             help="Type a command and press Enter to run it, or F4 to "
                                  "prompt it.")
        self.restart_statistics()

    @property
    def page(self) -> int:
        return self.rows - 15

    def resized(self) -> None:
        self.keep_options()
        self.command.row, self.command.width = self.rows - 4, self.cols - 8
        self.top = self.top // self.page * self.page
        self.arrange()

    # --- measuring ----------------------------------------------------------------------

    def restart_statistics(self) -> None:
        self.started = time.monotonic()
        self.baseline: dict[tuple[int, int], int] = {}
        self.refresh()

    def refresh(self) -> None:
        self.jobs = report.select_jobs(table.active_jobs(self.root), self.subsystems, self.job_name)
        elapsed = time.monotonic() - self.started
        capacity = max(elapsed, 1e-6) * procstat.CLOCK_TICKS * (os.cpu_count() or 1)
        measured, self.ticks = {}, {}
        for job in self.jobs:
            ticks = procstat.cpu_ticks(job.pid) or 0
            self.ticks[job.number] = ticks
            first = self.baseline.setdefault((job.pid, job.pid_start), ticks)
            measured[job.number] = (100.0 * (ticks - first) / capacity, procstat.status(job.pid))
        self.measured = measured
        self.elapsed = elapsed
        self.table = report.rows(self.jobs, measured)   # subsystem lines and indented jobs
        self.numbers = [row[2] for row in self.table]   # "" for a subsystem line
        self.top = max(0, min(self.top, (len(self.table) - 1) // self.page * self.page))
        self.arrange()

    def arrange(self) -> None:
        key = self.field.key if self.field else None
        fields = []
        for index in range(self.top, min(self.top + self.page, len(self.table))):
            number = self.numbers[index] or f"sbs{index}"
            fields.append(Field(FIRST_ROW + index - self.top, 2, 2,
                                self.options.get(number, ""), key=number, option=True))
        fields.append(self.command)
        self.set_fields(fields)
        if key is not None:
            self.focus_key(key)


    # --- the display ----------------------------------------------------------------------

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Work with Active Jobs")
        total = sum(cpu for cpu, _ in self.measured.values())
        put(lines, 2, 1, f"CPU %: {ibm_percent(total):>7}     Elapsed time:   {hhmmss(self.elapsed)}"
            f"     Active jobs: {len(self.jobs):>5}")
        put(lines, 4, 1, "Type options, press Enter.")
        put(lines, 5, 3, "   ".join(f"{k}={v}" for k, v in OPTIONS.items()))
        if self.elapsed_view:
            put(lines, HEADING_ROW, 1, "Opt  Subsystem/Job  Number  Process      CPU time   Started")
        else:
            put(lines, HEADING_ROW, 1, "Opt  Subsystem/Job  User        Type  CPU %  Function        Status")
        for offset, row in enumerate(self.table[self.top: self.top + self.page]):
            put(lines, FIRST_ROW + offset, 6, self._row_text(row))
        if not self.table:
            put(lines, FIRST_ROW, 6, "(No active jobs)")
        more_or_bottom(lines, FIRST_ROW + self.page, self.top + self.page < len(self.table))
        put(lines, self.rows - 5, 1, "Parameters or command")
        put(lines, self.rows - 4, 1, "===>")
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F4=Prompt", "F5=Refresh", "F9=Retrieve", "F10=Restart statistics", "",
                "F11=Display status" if self.elapsed_view else "F11=Display elapsed data",
                "F12=Cancel"]

    def _row_text(self, row: list[str]) -> str:
        name, user, number, job_type, cpu, function, status = row
        if self.elapsed_view:
            job = self._job(number)
            if job is None:
                return name
            seconds = self.ticks.get(number, 0) / procstat.CLOCK_TICKS
            return (f"{name:<15}{number:<8}{job.pid:<11}{seconds:>10.2f}   "
                    f"{_local(job.started).strftime('%m/%d/%y  %H:%M:%S')}")
        return (f"{name:<15}{user:<12}{job_type:<4}{ibm_percent(float(cpu)):>7}  "
                f"{function:<16}{status}")

    def _job(self, number: str) -> table.JobRecord | None:
        return next((j for j in self.jobs if j.number == number), None)

    # --- keys ----------------------------------------------------------------------------

    def on_key(self, key: str):
        if key == "ENTER":
            return self.enter()
        if key == "F5":
            self.keep_options()
            self.show([])
            self.refresh()
            return None
        if key == "F10":
            self.keep_options()
            self.show([])
            self.restart_statistics()
            return None
        if key == "F11":
            self.elapsed_view = not self.elapsed_view
            return None
        if key in ("PGDN", "PGUP"):
            self.keep_options()
            last = max(0, (len(self.table) - 1) // self.page * self.page)
            if key == "PGDN" and self.top >= last:
                self.show([Message("QTS1003")])
            elif key == "PGUP" and self.top == 0:
                self.show([Message("QTS1002")])
            else:
                self.top = min(last, self.top + self.page) if key == "PGDN" else max(0, self.top - self.page)
            self.arrange()
            return None
        if key == "F9":
            self.retrieve(self.command)
            return None
        if key == "F4":
            self.keep_options()
            if self.options:
                return self.enter()
            return self.command_line(prompt=True)
        if key in ("F3", "F12"):
            return super().on_key(key)
        self.show([Message("QTS1004", key_label(key))])
        return None

    def command_line(self, prompt: bool = False):
        result = run_command_line(self.command.value, prompt=prompt)
        if isinstance(result, Outcome):
            self.command.set("")
            show_output(result)
            self.show(result.messages)
        elif not prompt:
            self.show([])
        self.refresh()
        return None

    def help_lines(self) -> list[str]:
        return [
            " Work with Active Jobs lists the qtsmtp jobs under their subsystem, with the",
            " CPU they used since the display started (or F10 restarted the statistics)",
            " as a share of the whole system, and what each job waits on (Status).",
            "",
            " Type an option beside a job and press Enter:",
            "   3=Hold     stop the job's process (SIGSTOP); its status becomes HLD",
            "   4=End      end the job, after a confirmation display",
            "   5=Work with  the job: process, start time, port, sessions, job log",
            "   6=Release  let a held job go on (SIGCONT)",
            "",
            " F5 refreshes the list, F10 restarts the statistics, F11 switches between",
            " status and elapsed data. A command typed at ===> runs with Enter; F4",
            " prompts it, F9 retrieves the previous one.",
        ]

    def enter(self):
        self.keep_options()
        for key, option in sorted(self.options.items()):
            if option not in OPTIONS or key.startswith("sbs"):
                valid = ", ".join(OPTIONS) if not key.startswith("sbs") else "none on a subsystem line"
                self.show([Message("QTS1001", option, valid)], field=key)
                return None
        if not self.options:
            if self.command.text:
                return self.command_line()
            self.show([])
            self.refresh()
            return None
        messages: list[Message] = []
        pending = [(n, o) for n, o in sorted(self.options.items())]
        self.options.clear()
        ending = [self._job(n) for n, o in pending if o == "4" and self._job(n)]
        for number, option in pending:
            job = self._job(number)
            if job is None:
                messages.append(Message("TCP4007", number))
            elif option == "3":
                messages.append(hold(job))
            elif option == "6":
                messages.append(release(job))
            elif option == "5":
                WorkWithJobPanel(self.root, job).run()      # F3 there: back to this list
        if ending:
            if ConfirmEndPanel(ending).run() == "confirmed":
                messages += [end(job) for job in ending]
        messages.sort(key=lambda m: m.severity, reverse=True)
        self.show(messages)
        self.refresh()
        self.focus_on(0)
        self.focus_job(pending[-1][0])          # the cursor back on the row worked on
        return None

    def focus_job(self, number: str) -> None:
        if number not in self.numbers:
            return
        index = self.numbers.index(number)
        self.top = index // self.page * self.page
        self.arrange()
        self.focus_key(number)


# --- what the options do -------------------------------------------------------------------

def _signal(job: table.JobRecord, signum: int) -> Message | None:
    """Send ``signum`` to the job's process, if it is still that job's process."""
    if not procstat.is_alive(job.pid, job.pid_start):
        return Message("TCP4007", job.qualified)
    try:
        os.kill(job.pid, signum)
    except ProcessLookupError:
        return Message("TCP4007", job.qualified)
    except PermissionError as exc:
        return Message("TCP4008", job.qualified, exc.strerror)
    return None


def _settle(job: table.JobRecord, held: bool) -> None:
    """Wait (bounded) until the kernel shows the job stopped or going again: a signal is
    delivered a moment after kill() returns, and the list drawn next must show it."""
    deadline = time.monotonic() + SIGNAL_WAIT_SECONDS
    while time.monotonic() < deadline:
        if (procstat.status(job.pid) == "HLD") == held or not procstat.is_alive(job.pid, job.pid_start):
            return
        time.sleep(0.01)


def hold(job: table.JobRecord) -> Message:
    if procstat.status(job.pid) == "HLD":
        return Message("TCP4005", job.qualified)
    problem = _signal(job, signal.SIGSTOP)
    if problem is None:
        _settle(job, held=True)
    return problem or Message("TCP4001", job.qualified)


def release(job: table.JobRecord) -> Message:
    if procstat.status(job.pid) != "HLD":
        return Message("TCP4006", job.qualified)
    problem = _signal(job, signal.SIGCONT)
    if problem is None:
        _settle(job, held=False)
    return problem or Message("TCP4002", job.qualified)


def end(job: table.JobRecord) -> Message:
    """SIGTERM (and SIGCONT, so a held job can act on it); wait, bounded, for it to go."""
    problem = _signal(job, signal.SIGTERM)
    if problem is not None:
        return problem
    _signal(job, signal.SIGCONT)
    deadline = time.monotonic() + END_WAIT_SECONDS
    while time.monotonic() < deadline:
        if not procstat.is_alive(job.pid, job.pid_start):
            return Message("TCP4003", job.qualified)
        time.sleep(0.05)
    return Message("TCP4004", job.qualified)


class ConfirmEndPanel(Panel):
    def __init__(self, jobs: list[table.JobRecord]):
        super().__init__()
        self.jobs = jobs

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Confirm End of Jobs")
        put(lines, 2, 1, "Press Enter to confirm your choices for 4=End.")
        put(lines, 3, 1, "Press F12=Cancel to return to change your choices.")
        put(lines, 5, 1, "Opt  Job         User        Number  Process")
        page = self.key_rows[0] - 2 - 6
        for offset, job in enumerate(self.jobs[:page]):
            put(lines, 6 + offset, 3, f"4  {job.name:<12}{job.user:<12}{job.number:<8}{job.pid}")
        more_or_bottom(lines, 6 + page, len(self.jobs) > page)
        return lines

    def function_keys(self) -> list[str]:
        return ["F12=Cancel"]

    def on_key(self, key: str):
        if key == "ENTER":
            return "confirmed"
        if key in ("F3", "F12"):
            return CANCEL
        self.show([Message("QTS1004", key_label(key))])
        return None


# --- 5=Work with -----------------------------------------------------------------------------

def _local(stamp: str) -> datetime:
    try:
        return datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return datetime.now()


def job_log(root, job: table.JobRecord) -> list[str]:
    try:
        with open(root / job.log, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def _ports(lines: list[str]) -> str:
    """"2626 (127.0.0.1 ::1)" from the job's TCP3030 Listening lines."""
    listening = [line.split(" TCP3030 Listening on ", 1)[1].rstrip(".")
                 for line in lines if " TCP3030 Listening on " in line]
    ports = {}
    for text in listening:
        address, _, port = text.rpartition(" port ")
        ports.setdefault(port, []).append(address)
    return "; ".join(f"{p} ({' '.join(a)})" for p, a in ports.items())


def job_details(root, job: table.JobRecord) -> list[str]:
    log = job_log(root, job)
    ports = _ports(log)
    if not ports and job.name == table.SERVER_DAEMON:
        others = [_ports(job_log(root, j)) for j in table.active_jobs(root)
                  if j.name == table.SERVER_JOB]
        ports = next((p for p in others if p), "")
        ports = f"{ports}, through its server jobs" if ports else "none"
    ticks = procstat.cpu_ticks(job.pid)
    sessions = sum(1 for line in log if " TCP3051 " in line)
    value = [("Job", f"{job.name}   User: {job.user}   Number: {job.number}"),
             ("Status", procstat.status(job.pid) or "ended"),
             ("Type", job.type), ("Subsystem", job.subsystem),
             ("Function", f"PGM-{job.program}"),
             ("Process ID", str(job.pid)),
             ("Started", _local(job.started).strftime("%m/%d/%y  %H:%M:%S")),
             ("Port", ports or "none"),
             ("Sessions served", str(sessions) if job.name == table.SERVER_JOB else "-"),
             ("CPU time used", f"{ticks / procstat.CLOCK_TICKS:.2f} seconds" if ticks is not None else "-"),
             ("Run by Unix user", job.unix_user),
             ("Job log", job.log)]
    out = [" " + leader(label, 30) + "   " + text for label, text in value]
    out += ["", " Recent job log:"]
    for line in log[-20:]:
        stamp, _, text = line.partition(" ")
        out += wrap(f"{stamp[11:19]} {text}", 76, "   ")
    return out


class WorkWithJobPanel(TextPanel):
    def __init__(self, root, job: table.JobRecord):
        super().__init__("Work with Job", job_details(root, job))


def wrkactjob(bound: Bound) -> list[Message]:
    """Processing program of WRKACTJOB: the panel on a terminal, else the report."""
    if bound["OUTPUT"] == "*PRINT" or not screen.is_interactive():
        sys.stdout.write(report.report(bound["SBS"], bound["JOB"]))
        return []
    JobsPanel(bound["SBS"], bound["JOB"]).run()
    return []
