"""WRKACTJOB on a terminal: the Work with Active Jobs panel.

The jobs come from the job table (``qtsmtp.jobs.table.active_jobs``), measured and put in
order as the printed report has them (``qtsmtp.jobs.activejobs``): the subsystem line,
its jobs indented under it (SEQ(*SBS)), or the jobs sorted by another column. CPU % and
AuxIO are measured as IBM i measures them, over the elapsed interval: since the panel
started (RESET(*YES), or an interval an earlier WRKACTJOB of this process started goes
on), or since F10 restarted the statistics. Status is what the kernel says the process
waits in. F11 goes round three views: status, elapsed data (pool, run priority, CPU
time, interactions, response, AuxIO, CPU %) and the process (number, process ID,
threads, start). On the 27 x 132 display every column is shown at once. F19 starts (and
stops) an automatic refresh every INTERVAL seconds.

Options: 2=Change (the run priority: the process's nice value), 3=Hold (SIGSTOP; status
HLD), 4=End (after a confirmation, or with F4 the End Job prompt: *CNTRLD with a delay
after which the job is ended at once, or *IMMED), 5=Work with (process, start time,
port, sessions served, recent job log), 6=Release (SIGCONT), 7=Display message (the
job's messages that need attention: diagnostics and escapes of its log), 8=Work with
spooled files (the job log, the job's one spooled file, QPJOBLOG). Position to puts
the first job or subsystem whose name starts with a text on the top line; F14=Include
shows only the jobs that match a name, user, type, function and status
(qtsmtp.panels.jobinclude). Each job is named
by its pid *and* the start time of that pid, so a signal never reaches a process that
merely reused the number.

OUTPUT(*PRINT) or (*CSV), or an output that is not a terminal: the report of
``qtsmtp.jobs.activejobs``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime

from qtsmtp.cl.binder import Bound
from qtsmtp.jobs import activejobs, procstat, table
from qtsmtp.jobs.activejobs import Request, Row, ibm_decimal
from qtsmtp.jobs.counters import read_counts
from qtsmtp.messages import CATALOGUE, Message
from qtsmtp.panels import screen
from qtsmtp.panels.cmdline import run_command_line, show_output
from qtsmtp.panels.jobinclude import Include, IncludePanel, position
from qtsmtp.panels.panel import (
    CANCEL,
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
POSITION_ROW, POSITION_COL = 3, 26
OPTIONS = {"2": "Change", "3": "Hold", "4": "End", "5": "Work with", "6": "Release",
           "7": "Display message", "8": "Work with spooled files"}
OPT_WIDTH = max(len(k) for k in OPTIONS)
END_WAIT_SECONDS = 10
SIGNAL_WAIT_SECONDS = 2         # a hold or release shows in /proc within this, or never
DEFAULT_DELAY = 30              # ENDJOB's DELAY default, in seconds
VIEWS = ("status", "elapsed", "process")
NEXT_VIEW = {"status": "F11=Display elapsed data", "elapsed": "F11=Display process data",
             "process": "F11=Display status"}


def hhmmss(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def row_key(row: Row) -> str:
    return row.number if row.job is not None else f"sbs:{row.subsystem}"


class JobsPanel(Panel):
    def __init__(self, request: Request | None = None, reset: bool = True, interval: int = 5):
        super().__init__()
        self.root = data_root()
        self.request = request or Request()
        self.interval = interval
        self.view = "status"
        self.auto = False
        self.next_refresh = 0.0
        self.top = 0
        self.options: dict[str, str] = {}          # row key -> option typed
        self.include = Include()
        self.position = Field(POSITION_ROW, POSITION_COL, 10, key="position",
                              help="Type the start of a job or subsystem name and press "
                                   "Enter: the list starts at the first one whose name "
                                   "starts with it. *TOP and *BOT go to the top and the "
                                   "bottom.")
        self.command = Field(20, 7, 72, max_length=2000, key="command",
                             help="Type a command and press Enter to run it, or F4 to "
                                  "prompt it.")
        self.sampler, _ = activejobs.sampler(reset)
        self.show(list(self.request.messages))
        self.resized()
        self.refresh()

    @property
    def page(self) -> int:
        return self.rows - 15

    @property
    def wide(self) -> bool:
        return self.cols >= 132

    def resized(self) -> None:
        self.keep_options()
        self.command.row, self.command.width = self.rows - 4, self.cols - 8
        self.top = self.top // self.page * self.page
        if hasattr(self, "table"):
            self.arrange()

    # --- measuring ----------------------------------------------------------------------

    def restart_statistics(self) -> None:
        self.sampler.restart()
        self.refresh()

    def refresh(self) -> None:
        request = self.request
        every = table.active_jobs(self.root)
        self.active = len(every)      # IBM: the system's active jobs, whatever is listed
        self.jobs = activejobs.select_jobs(every, request.subsystems, request.job)
        measured = self.sampler.measure(self.jobs)
        present = sorted({j.subsystem for j in activejobs.select_jobs(every, request.subsystems, "*ALL")})
        self.table = self.include.apply(
            activejobs.arrange(measured, request.seq, request.cpu_limit, request.rsp_limit,
                               present if request.job == "*SBS" else []))
        self.keys = [row_key(row) for row in self.table]
        self.elapsed = self.sampler.elapsed
        self.top = max(0, min(self.top, len(self.table) - 1))   # Position to: any row on top
        self.arrange()

    def arrange(self) -> None:
        key = self.field.key if self.field else None
        fields = [self.position]
        for index in range(self.top, min(self.top + self.page, len(self.table))):
            fields.append(Field(FIRST_ROW + index - self.top, 2, OPT_WIDTH,
                                self.options.get(self.keys[index], ""), key=self.keys[index],
                                option=True,
                                help="Type an option beside a job and press Enter (F4 "
                                     "prompts the option's command where it has one): "
                                     + ", ".join(f"{k}={v}" for k, v in OPTIONS.items()) + "."))
        fields.append(self.command)
        self.set_fields(fields, focus=1)           # the first Opt (or ===> on an empty list)
        if key is not None:
            self.focus_key(key)

    def on_idle(self) -> bool:
        super().on_idle()
        if self.auto and time.monotonic() >= self.next_refresh:
            self.next_refresh = time.monotonic() + self.interval
            self.keep_options()
            self.refresh()
            return True
        return False

    # --- the display ----------------------------------------------------------------------

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Work with Active Jobs")
        total = sum(row.cpu_percent for row in self.table if row.job is not None)
        active = self.active
        put(lines, 2, 1, f"CPU %: {ibm_decimal(total):>7}     Elapsed time:   {hhmmss(self.elapsed)}"
            f"     Active jobs: {active:>5}" + ("     Automatic refresh" if self.auto else ""))
        put(lines, POSITION_ROW, 1, leader("Position to", POSITION_COL - 4))
        if self.include.active:
            put(lines, POSITION_ROW, POSITION_COL + 12, "Include: " + self.include.describe())
        put(lines, 4, 1, "Type options, press Enter.")
        put(lines, 5, 3, "   ".join(f"{k}={v}" for k, v in list(OPTIONS.items())[:6]))
        put(lines, 6, 3, "   ".join(f"{k}={v}" for k, v in list(OPTIONS.items())[6:]))
        if self.wide:
            put(lines, 7, 21, "Current")
            put(lines, 7, 66, "--------Elapsed---------")
            put(lines, HEADING_ROW, 1, "Opt  Subsystem/Job  User        Number  Type  Pool  Pty"
                "       CPU   Int    Rsp    AuxIO  Threads  CPU %  Function        Status")
        elif self.view == "status":
            put(lines, 7, 21, "Current")
            put(lines, HEADING_ROW, 1, "Opt  Subsystem/Job  User        Type  CPU %  Function        Status")
        elif self.view == "elapsed":
            put(lines, 7, 46, "--------Elapsed---------")
            put(lines, HEADING_ROW, 1, "Opt  Subsystem/Job  Type  Pool  Pty       CPU   Int    Rsp   AuxIO  CPU %")
        else:
            put(lines, HEADING_ROW, 1, "Opt  Subsystem/Job  Number  Process    Threads  Started")
        for offset, row in enumerate(self.table[self.top: self.top + self.page]):
            put(lines, FIRST_ROW + offset, 6, self._row_text(row))
        if not self.table:
            put(lines, FIRST_ROW, 6, "(No jobs included)" if self.include.active else "(No active jobs)")
        more_or_bottom(lines, FIRST_ROW + self.page, self.top + self.page < len(self.table))
        put(lines, self.rows - 5, 1, "Parameters or command")
        put(lines, self.rows - 4, 1, "===>")
        return lines

    def _row_text(self, row: Row) -> str:
        name = ("  " if row.indent else "") + row.name
        cpu = ibm_decimal(row.cpu_percent)
        if self.wide:
            return (f"{name:<15}{row.current_user:<12}{row.number:<8}{row.type:<4}{row.pool:>6}"
                    f"{row.priority:>5}{ibm_decimal(row.cpu_seconds):>10}{row.interactions:>6}"
                    f"{ibm_decimal(row.response):>7}{row.aux_io:>9}{row.threads:>9}{cpu:>7}  "
                    f"{row.function:<16}{row.status}")
        if self.view == "status":
            return f"{name:<15}{row.current_user:<12}{row.type:<4}{cpu:>7}  {row.function:<16}{row.status}"
        if self.view == "elapsed":
            return (f"{name:<15}{row.type:<4}{row.pool:>6}{row.priority:>5}"
                    f"{ibm_decimal(row.cpu_seconds):>10}{row.interactions:>6}"
                    f"{ibm_decimal(row.response):>7}{row.aux_io:>8}{cpu:>7}")
        if row.job is None:
            return name
        started = _local(row.job.started).strftime("%m/%d/%y  %H:%M:%S")
        return f"{name:<15}{row.number:<8}{row.job.pid:<11}{row.threads:>7}  {started}"

    def function_keys(self) -> list[str]:
        keys = ["F3=Exit", "F4=Prompt", "F5=Refresh", "F9=Retrieve", "F10=Restart statistics", ""]
        if not self.wide:
            keys.append(NEXT_VIEW[self.view])
        keys += ["F12=Cancel", "F14=Include", "F19=" + ("Stop automatic refresh" if self.auto else "Automatic refresh")]
        return keys

    def _row(self, key: str) -> Row | None:
        return next((r for r in self.table if row_key(r) == key), None)

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
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
            return None
        if key == "F14":
            self.choose_include()
            return None
        if key == "F19":
            self.auto = not self.auto
            self.next_refresh = time.monotonic() + self.interval
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
                return self.enter(prompt=True)
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

    def choose_include(self) -> None:
        self.keep_options()
        result = IncludePanel(self.include).run()
        if isinstance(result, Include):
            self.include = result
            self.options.clear()
            self.top = 0
            self.show([])
            self.refresh()
            self.focus_on(1)                 # the first Opt, or ===> on an empty list

    def position_to(self, text: str) -> None:
        """Position to: *TOP, *BOT, or the first job or subsystem whose name starts
        with ``text`` on the top line."""
        self.position.set("")
        word = text.strip()
        last = max(0, (len(self.table) - 1) // self.page * self.page)
        found = {"*TOP": 0, "*BOT": last}.get(word.upper(), position(self.table, word))
        if found is None:
            self.show([Message("TCP2674", word)], field=self.position)
            return
        self.top = found
        self.show([])
        self.arrange()
        self.focus_on(1)

    def help_lines(self) -> list[str]:
        return [
            " Work with Active Jobs lists the qtsmtp jobs under their subsystem, with the",
            " CPU they used since the display started (or F10 restarted the statistics)",
            " as a share of the whole system, and what each job waits on (Status).",
            "",
            " Type an option beside a job and press Enter:",
            "   2=Change   the job's run priority (1-99; 50 is the batch default)",
            "   3=Hold     stop the job's process (SIGSTOP); its status becomes HLD",
            "   4=End      end the job, after a confirmation display; with F4, the",
            "              End Job prompt: *CNTRLD with a delay, or *IMMED",
            "   5=Work with  the job: process, start time, port, sessions, job log",
            "   6=Release  let a held job go on (SIGCONT)",
            "   7=Display message  the job's messages that need attention",
            "   8=Work with spooled files  the job log (QPJOBLOG)",
            "",
            " F5 refreshes the list, F10 restarts the statistics, F11 goes round the",
            " status, elapsed data and process views, F14 chooses the jobs shown (by",
            " name, user, type, function, status), F19 refreshes every INTERVAL",
            " seconds. Position to: the start of a job or subsystem name, *TOP or *BOT.",
            " A command typed at ===> runs with Enter; F4 prompts it, F9 retrieves",
            " the previous one.",
        ]

    def enter(self, prompt: bool = False):
        self.keep_options()
        if self.position.text:
            self.position_to(self.position.text)
            if self.messages:
                return None
        order = {key: index for index, key in enumerate(self.keys)}
        for key, option in sorted(self.options.items(), key=lambda item: order.get(item[0], 0)):
            if option not in OPTIONS or key.startswith("sbs:"):
                valid = ", ".join(OPTIONS) if not key.startswith("sbs:") else "none on a subsystem line"
                self.show([Message("QTS1001", option, valid)], field=key)
                return None
        if not self.options:
            if self.command.text:
                return self.command_line()
            self.show([])
            self.refresh()
            return None
        messages: list[Message] = []
        pending = sorted(self.options.items(), key=lambda item: order.get(item[0], 0))
        self.options.clear()
        ending = [self._job(n) for n, o in pending if o == "4" and self._job(n)]
        confirmed = False
        for number, option in pending:
            job = self._job(number)
            if job is None:
                messages.append(Message("TCP4007", number))
            elif option == "2":
                messages += ChangeJobPanel(job).run_for_messages()
            elif option == "3":
                messages.append(hold(job))
            elif option == "6":
                messages.append(release(job))
            elif option == "5":
                WorkWithJobPanel(self.root, job).run()      # F3 there: back to this list
            elif option == "7":
                found = job_messages(self.root, job)
                if found:
                    TextPanel("Display Messages", found,
                              above=[f" Job . . :   {job.name}     User . . :   {job.user}"
                                     f"     Number . . :   {job.number}", ""]).run()
                else:
                    messages.append(Message("TCP4015", job.qualified))
            elif option == "8":
                log = job_log(self.root, job)
                if log:
                    SpooledFilePanel(job, log).run()
                else:
                    messages.append(Message("TCP4017", job.qualified))
            elif option == "4" and prompt:
                choice = EndJobPanel(job).run()
                if isinstance(choice, tuple):
                    messages.append(end(job, *choice))
            elif option == "4" and not confirmed:
                confirmed = True
                if ConfirmEndPanel(ending).run() == "confirmed":
                    messages += [end(j, "*CNTRLD", DEFAULT_DELAY) for j in ending]
        messages.sort(key=lambda m: m.severity, reverse=True)
        self.show(messages)
        self.refresh()
        self.focus_on(0)
        self.focus_job(pending[-1][0])          # the cursor back on the row worked on
        return None

    def _job(self, number: str) -> table.JobRecord | None:
        return next((j for j in self.jobs if j.number == number), None)

    def focus_job(self, number: str) -> None:
        if number not in self.keys:
            return
        index = self.keys.index(number)
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


# Ends a job once ENDJOB's DELAY has gone by, if it still runs: a process of its own, so
# the display is not held for the delay (and collected by the display's reaper).
_END_LATER = """
import os, signal, sys, time
from qtsmtp.jobs import procstat
pid, started, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + delay
while time.monotonic() < deadline and procstat.is_alive(pid, started):
    time.sleep(0.2)
if procstat.is_alive(pid, started):
    os.kill(pid, signal.SIGKILL)
"""


def end(job: table.JobRecord, how: str = "*CNTRLD", delay: int = DEFAULT_DELAY) -> Message:
    """ENDJOB: *IMMED kills the process (SIGKILL); *CNTRLD asks it to end (SIGTERM, and
    SIGCONT so a held job can act on it), waits (bounded) to say it ended, and leaves a
    watcher that ends it at once when ``delay`` seconds go by first."""
    if how == "*IMMED":
        problem = _signal(job, signal.SIGCONT) or _signal(job, signal.SIGKILL)
        if problem is not None:
            return problem
        return _await_end(job, END_WAIT_SECONDS) or Message("TCP4004", job.qualified)
    problem = _signal(job, signal.SIGTERM)
    if problem is not None:
        return problem
    _signal(job, signal.SIGCONT)
    ended = _await_end(job, min(delay, END_WAIT_SECONDS))
    if ended is not None:
        return ended
    if delay > END_WAIT_SECONDS:
        subprocess.Popen([sys.executable, "-c", _END_LATER, str(job.pid), str(job.pid_start),
                          str(delay - END_WAIT_SECONDS)], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        return Message("TCP4018", job.qualified, delay)
    _signal(job, signal.SIGKILL)          # the delay went by: ended at once
    return _await_end(job, END_WAIT_SECONDS) or Message("TCP4004", job.qualified)


def _await_end(job: table.JobRecord, seconds: float) -> Message | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not procstat.is_alive(job.pid, job.pid_start):
            return Message("TCP4003", job.qualified)
        time.sleep(0.05)
    return None


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
            put(lines, 6 + offset, 2, f"4   {job.name:<12}{job.user:<12}{job.number:<8}{job.pid}")
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

    def help_lines(self) -> list[str]:
        return [" Enter ends the jobs listed: each is asked to end (*CNTRLD) and ended at",
                f" once when it has not ended after {DEFAULT_DELAY} seconds. F4 instead of Enter",
                " on the list prompts End Job for each, to choose *IMMED or another delay."]


class JobPrompt(Panel):
    """A prompt for a job (End Job, Change Job): the job named, protected, then fields."""

    title = ""

    def __init__(self, job: table.JobRecord):
        super().__init__()
        self.job = job

    def job_lines(self, lines: list[str]) -> None:
        title = self.title
        put(lines, 0, (self.cols - len(title)) // 2, title)
        put(lines, 2, 1, "Type choices, press Enter.")
        put(lines, 4, 1, leader("Job name") + "   " + self.job.name.ljust(14) + "Name")
        put(lines, 5, 1, leader("  User") + "   " + self.job.user.ljust(14) + "Name")
        put(lines, 6, 1, leader("  Number") + "   " + self.job.number.ljust(14) + "000000-999999")

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F5=Refresh", "F12=Cancel"]


class EndJobPanel(JobPrompt):
    """4 with F4: End Job (ENDJOB): how to end, and the delay of a controlled end."""

    title = "End Job (ENDJOB)"

    def __init__(self, job: table.JobRecord):
        super().__init__(job)
        self.how = Field(7, 36, 7, "*CNTRLD", key="OPTION",
                         help="*CNTRLD: the job is asked to end (SIGTERM) and has the delay "
                              "time to finish its work; *IMMED: it is ended at once "
                              "(SIGKILL), with no time to finish.")
        self.delay = Field(8, 36, 6, str(DEFAULT_DELAY), key="DELAY",
                           help="Seconds a controlled end may take; after them the job is "
                                "ended at once. 1-999999.")
        self.set_fields([self.how, self.delay])

    def lines(self) -> list[str]:
        lines = blank()
        self.job_lines(lines)
        put(lines, 7, 1, leader("How to end"))
        put(lines, 7, 50, "*CNTRLD, *IMMED")
        put(lines, 8, 1, leader("Delay time, if *CNTRLD"))
        put(lines, 8, 50, "1-999999")
        return lines

    def on_key(self, key: str):
        if key == "ENTER":
            how = self.how.text.upper()
            if how not in ("*CNTRLD", "*IMMED"):
                self.show([Message("CPD0084", how or "''", "OPTION")], field=self.how)
                return None
            delay = self.delay.text
            if not delay.isdigit() or not 1 <= int(delay) <= 999999:
                self.show([Message("CPD0085", delay or "''", "DELAY", 1, 999999)]
                          if delay.isdigit() else [Message("CPD0086", delay or "''", "DELAY")],
                          field=self.delay)
                return None
            return how, int(delay)
        if key == "F5":
            self.how.set("*CNTRLD")
            self.delay.set(str(DEFAULT_DELAY))
            return None
        return super().on_key(key)


class ChangeJobPanel(JobPrompt):
    """2=Change: Change Job (CHGJOB), the run priority."""

    title = "Change Job (CHGJOB)"

    def __init__(self, job: table.JobRecord):
        super().__init__(job)
        self.now = activejobs.priority_of(procstat.nice(job.pid))
        self.priority = Field(7, 36, 2, str(self.now), key="RUNPTY",
                              help="The run priority, 1 (the highest) to 99 (the lowest); "
                                   "50 is the batch default. qtsmtp sets the process's nice "
                                   "value from it; a priority above the job's present one "
                                   "needs the authority to lower a nice value.")
        self.set_fields([self.priority])

    def lines(self) -> list[str]:
        lines = blank()
        self.job_lines(lines)
        put(lines, 7, 1, leader("Run priority"))
        put(lines, 7, 50, "1-99")
        return lines

    def run_for_messages(self) -> list[Message]:
        result = self.run()
        return result if isinstance(result, list) else []

    def on_key(self, key: str):
        if key == "ENTER":
            text = self.priority.text
            if not text.isdigit() or not 1 <= int(text) <= 99:
                self.show([Message("CPD0085", text, "RUNPTY", 1, 99)] if text.isdigit()
                          else [Message("CPD0086", text or "''", "RUNPTY")], field=self.priority)
                return None
            return [change_priority(self.job, int(text))]
        if key == "F5":
            self.priority.set(str(self.now))
            return None
        return super().on_key(key)


def change_priority(job: table.JobRecord, priority: int) -> Message:
    if not procstat.is_alive(job.pid, job.pid_start):
        return Message("TCP4007", job.qualified)
    try:
        os.setpriority(os.PRIO_PROCESS, job.pid, activejobs.nice_of(priority))
    except ProcessLookupError:
        return Message("TCP4007", job.qualified)
    except PermissionError as exc:
        return Message("TCP4011", job.qualified, exc.strerror)
    return Message("TCP4009", job.qualified)


def job_messages(root, job: table.JobRecord) -> list[str]:
    """7=Display message: the messages of the job's log that need attention (severity
    20 and above: warnings, diagnostics, escapes), the last 50, with their IDs."""
    out = []
    for line in job_log(root, job):
        stamp, _, text = line.partition(" ")
        msgid = text.split(" ", 1)[0]
        if msgid in CATALOGUE and CATALOGUE[msgid][0] >= 20:
            out += wrap(f"{stamp[:10]} {stamp[11:19]}  {text}", 76, " ")
    return out[-50:]


class SpooledFilePanel(TextPanel):
    """8=Work with spooled files: the job's one spooled file, its job log, displayed."""

    def __init__(self, job: table.JobRecord, log: list[str]):
        above = [f" File  . . . . . :   QPJOBLOG          Job  . . :   {job.qualified}",
                 f" Records . . . . :   {len(log)}", ""]
        text = []
        for line in log:
            stamp, _, rest = line.partition(" ")
            text += wrap(f"{stamp[:10]} {stamp[11:19]}  {rest}", 78, " ")
        super().__init__("Display Spooled File", text, above=above)
        self.top = max(0, len(text) - self.page)     # the newest in sight


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
             # Counted, not logged each time: the log says it once (TCP6086).
             ("Exit calls without a thread",
              str(read_counts(root / job.log).get("exit_calls_without_thread", 0))
              if job.name == table.SERVER_JOB else "-"),
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
    def limit(value):
        return None if value == "*NONE" else float(value)

    request = Request(reset=bound["RESET"], subsystems=bound["SBS"],
                      cpu_limit=limit(bound["CPUPCTLMT"]), rsp_limit=limit(bound["RSPLMT"]),
                      seq=bound["SEQ"], job=bound["JOB"])
    reset = bound["RESET"] == "*YES"
    if request.rsp_limit is not None:
        request.messages.append(Message("TCP4012", ibm_decimal(request.rsp_limit)))
    if request.subsystems != "*ALL":
        active = {j.subsystem for j in table.active_jobs(data_root())}
        request.messages += [Message("TCP4010", name) for name in request.subsystems
                             if name.upper() not in active]
    output = bound["OUTPUT"]
    if output != "*" or not screen.is_interactive():
        form = "*CSV" if output == "*CSV" else "*PRINT"
        if "INTERVAL" in bound.given:
            request.messages.append(Message("TCP4013", form))
        sys.stdout.write(activejobs.report(request, reset=reset, form=form))
        return request.messages
    JobsPanel(request, reset, bound["INTERVAL"]).run()
    return []
