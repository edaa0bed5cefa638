"""WRKACTJOB OUTPUT(*PRINT): the server's jobs with measured CPU % and status."""

from __future__ import annotations

import os
import signal

from support import eventually


def _lines(server, *args: str) -> list[str]:
    result = server.run("wrkactjob", *args)     # stdout is a pipe: the printed report
    return result.stdout.splitlines()


def _row(lines: list[str], number: str) -> list[str]:
    return next(line.split() for line in lines if f" {number} " in line)


def _waiting(lines: list[str], server) -> bool:
    """The waiting daemons show where they wait: the supervisor and the server jobs in
    select/epoll, the client job on its queue."""
    wanted = {"QTSMTPSRVD": "SELW", "QTSMTPCLTD": "DEQW", "QTSMTPSRVP": "SELW"}
    return all(_row(lines, job["number"])[-1] == wanted[job["name"]] for job in server.jobs())


def test_report_lists_the_jobs_with_their_measured_status(server) -> None:
    # The status is the kernel's at the moment of the report, and a waiting job wakes
    # now and then (a server job looks for changes every RELOAD_CHECK_SECONDS): a report
    # may catch one on the CPU (RUN; seen in 1.5 % of samples of a server job on a loaded
    # machine). Report again until every job is caught waiting, as WRKACTJOB's F5 does.
    def report() -> list[str] | None:
        lines = _lines(server, "OUTPUT(*PRINT)")
        return lines if _waiting(lines, server) else None
    lines = eventually(report, "a report with every job waiting")
    assert "Work with Active Jobs" in lines[0]
    header = next(line for line in lines if line.lstrip().startswith("Subsystem/Job"))
    assert header.split() == ["Subsystem/Job", "User", "Number", "User", "Type", "Pool", "Pty",
                              "CPU", "Int", "Rsp", "AuxIO", "Threads", "CPU", "%",
                              "Function", "Status"]
    assert any(line.split()[:5] == ["QSYSWRK", "QSYS", "000000", "QSYS", "SBS"] for line in lines)
    by_name = {}
    for job in server.jobs():
        by_name.setdefault(job["name"], []).append(_row(lines, job["number"]))
    # Waiting daemons: the supervisor and the server jobs in select/epoll, the client job
    # on its queue.
    assert by_name["QTSMTPSRVD"][0][-1] == "SELW"
    assert by_name["QTSMTPCLTD"][0][-1] == "DEQW"
    assert [row[-1] for row in by_name["QTSMTPSRVP"]] == ["SELW", "SELW"]
    assert all(row[1] == "QTCP" for rows in by_name.values() for row in rows)
    # The subsystem in column 3, its jobs indented under it (IBM's spooled file layout).
    assert any(line.startswith("  QSYSWRK ") for line in lines)
    assert any(line.startswith("   QTSMTPSRVD") for line in lines)


def test_held_job_shows_hld(server) -> None:
    worker = server.job_pids("QTSMTPSRVP")[0]
    number = next(j["number"] for j in server.jobs() if j["pid"] == worker)
    os.kill(worker, signal.SIGSTOP)
    try:
        eventually(lambda: _row(_lines(server, "*PRINT"), number)[-1] == "HLD", "HLD status")
    finally:
        os.kill(worker, signal.SIGCONT)


def test_filters(server) -> None:
    only_daemon = _lines(server, "*PRINT", "JOB(QTSMTPSRVD)")
    assert any("QTSMTPSRVD" in line for line in only_daemon)
    assert not any("QTSMTPSRVP" in line or "QTSMTPCLTD" in line for line in only_daemon)
    generic = _lines(server, "*PRINT", "JOB(QTSMTPSRV*)")
    assert any("QTSMTPSRVP" in line for line in generic)
    assert not any("QTSMTPCLTD" in line for line in generic)
    other = _lines(server, "*PRINT", "SBS(QBATCH)")
    assert "No active jobs to display." in " ".join(other)


def test_records_of_killed_jobs_are_cleaned(server) -> None:
    worker = server.job_pids("QTSMTPSRVP")[0]
    number = next(j["number"] for j in server.jobs() if j["pid"] == worker)
    os.kill(worker, signal.SIGKILL)
    # The supervisor replaces the job under a new number; the old one disappears.
    eventually(lambda: not any(f" {number} " in line for line in _lines(server, "*PRINT")),
               "dead job gone from WRKACTJOB")
    eventually(lambda: len(server.job_pids("QTSMTPSRVP")) == 2, "a replacement server job")
    # The supervisor writes the replacement's record, then the TCP3012 line that says
    # why: the line may come just after the record.
    server.joblog_shows("ended abnormally (signal 9 (SIGKILL))", "QTSMTPSRVD")


def test_bad_parameter_is_an_ibm_message(server_root) -> None:
    result = server_root.run("wrkactjob", "OUTPUT(*FOO)", check=False)
    assert result.returncode != 0 and "CPD0084" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
