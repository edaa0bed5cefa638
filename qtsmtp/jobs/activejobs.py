"""The active jobs as WRKACTJOB shows them: which jobs, measured, and the printed report
(OUTPUT(*PRINT)); the panel (qtsmtp.panels.wrkactjob) shows the same rows.

CPU % and Status are measured: CPU time from /proc over a short interval, the status
from what the kernel says the process waits in (procstat). CPU % is the share of the
whole system's processing capacity, as on IBM i, not of one core.
"""

from __future__ import annotations

import inspect
import os
import socket
import time
from datetime import datetime

import tabulate as tabulate_module

from qtsmtp.jobs import procstat, table
from qtsmtp.store.root import data_root

SAMPLE_SECONDS = 0.25
HEADERS = ["Subsystem/Job", "User", "Number", "Type", "CPU %", "Function", "Status"]


def select_jobs(jobs: list[table.JobRecord], subsystems, job_name: str) -> list[table.JobRecord]:
    if subsystems != "*ALL":
        wanted = {s.upper() for s in subsystems}
        jobs = [j for j in jobs if j.subsystem in wanted]
    if job_name != "*ALL":
        if job_name.endswith("*"):
            jobs = [j for j in jobs if j.name.startswith(job_name[:-1])]
        else:
            jobs = [j for j in jobs if j.name == job_name]
    return jobs


def measure(jobs: list[table.JobRecord], seconds: float = SAMPLE_SECONDS) -> dict[str, tuple[float, str]]:
    """Job number -> (CPU %, status), measured over ``seconds``."""
    before = {j.number: procstat.cpu_ticks(j.pid) for j in jobs}
    start = time.monotonic()
    if jobs:
        time.sleep(seconds)
    elapsed = max(time.monotonic() - start, 1e-6)
    capacity = elapsed * procstat.CLOCK_TICKS * (os.cpu_count() or 1)
    out = {}
    for job in jobs:
        after = procstat.cpu_ticks(job.pid)
        first = before.get(job.number)
        used = (after - first) if after is not None and first is not None else 0
        out[job.number] = (100.0 * used / capacity, procstat.status(job.pid))
    return out


def rows(jobs: list[table.JobRecord], measured: dict) -> list[list[str]]:
    """Subsystem monitor line first, its jobs indented below it, by name then number."""
    out = []
    for subsystem in sorted({j.subsystem for j in jobs}):
        members = sorted((j for j in jobs if j.subsystem == subsystem),
                         key=lambda j: (j.name, j.number))
        total = sum(measured.get(j.number, (0.0, ""))[0] for j in members)
        # No process stands behind the subsystem line: its CPU % is its jobs' sum and
        # its status is left blank rather than made up.
        out.append([subsystem, "QSYS", "", "SBS", f"{total:.1f}", "", ""])
        for job in members:
            cpu, status = measured.get(job.number, (0.0, ""))
            out.append([f"  {job.name}", job.user, job.number, job.type, f"{cpu:.1f}",
                        f"PGM-{job.program}", status])
    return out


def report(subsystems="*ALL", job_name: str = "*ALL") -> str:
    root = data_root()
    jobs = select_jobs(table.active_jobs(root), subsystems, job_name)
    measured = measure(jobs)
    total = sum(cpu for cpu, _ in measured.values())
    now = datetime.now()
    shown_sbs = "*ALL" if subsystems == "*ALL" else " ".join(subsystems)
    heading = [
        f"{'Work with Active Jobs':^66}{socket.gethostname().split('.')[0].upper():>12}",
        f"{now.strftime('%m/%d/%y  %H:%M:%S'):>78}",
        " Reset . . . . . . . . . :   *NO",
        f" Subsystems  . . . . . . :   {shown_sbs}",
        " CPU Percent Limit . . . :   *NONE",
        " Response Time Limit . . :   *NONE",
        " Sequence  . . . . . . . :   *SBS",
        f" Job name  . . . . . . . :   {job_name}",
        f" CPU %  . . . :  {total:5.1f}     Elapsed time:   {SAMPLE_SECONDS:.2f} s"
        f"     Active jobs:  {len(jobs)}",
        "",
    ]
    if not jobs:
        return "\n".join(heading + [" No active jobs to display.", ""])
    table_text = tabulate_module.tabulate(
        rows(jobs, measured), headers=HEADERS, tablefmt="simple", disable_numparse=True,
        colalign=("left",) * 4 + ("right",) + ("left",) * 2, **_keep_blanks(tabulate_module))
    return "\n".join(heading) + "\n" + table_text + "\n"


def _keep_blanks(tabulate_module) -> dict:
    """Jobs are indented under their subsystem, as on the IBM i screen: keep the blanks.
    tabulate 0.10 takes a keyword for that; 0.9 reads a module global."""
    if "preserve_whitespace" in inspect.signature(tabulate_module.tabulate).parameters:
        return {"preserve_whitespace": True}
    tabulate_module.PRESERVE_WHITESPACE = True
    return {}
