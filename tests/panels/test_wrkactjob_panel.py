"""WRKACTJOB on a terminal, with a real server started by STRTCPSVR: hold (SIGSTOP, HLD),
release (SIGCONT), end (SIGTERM after a confirmation), work with a job. The server is
always ended by the fixture (ENDTCPSVR, then by PID)."""

from __future__ import annotations

import os
import re
import subprocess

from support import process_state, script
from tmuxterm import expect_screen, masked

ROW_NAMES = re.compile(r"^  .{2}  ( {0,2}\w+)")


def mask_jobs(lines: list[str]) -> list[str]:
    """Masked screen: what is measured (CPU % and seconds, AuxIO), the elapsed time,
    process ids and start times, the port, the Unix user and the job log's times."""
    out = []
    detail = "Work with Job" in lines[0]
    view = ("elapsed" if "Pool" in lines[8] else "process" if "Process" in lines[8]
            else "status")
    for number, line in enumerate(masked(lines)):
        line = re.sub(r"CPU %:\s+\S+", "CPU %:      ##", line)
        line = re.sub(r"Elapsed time:   \d\d:\d\d:\d\d", "Elapsed time:   HH:MM:SS", line)
        listed = 9 <= number <= 17
        if listed and view == "status" and line[33:37].strip() in ("BCH", "PJ", "SBS"):
            line = line[:37] + "     ##" + line[44:]
        if listed and view == "elapsed" and line[6:].strip():      # CPU, AuxIO, CPU %
            line = line[:36] + "##".rjust(10) + line[46:59] + "##".rjust(8) + "##".rjust(7)
        if listed and view == "process" and line[6:].strip().startswith("QTSMTP"):
            line = line[:29] + "PID".ljust(11) + "N".rjust(7) + "  MM/DD/YY  HH:MM:SS"
        if detail:
            line = re.sub(r"^( Process ID[ .]+)\d+", r"\1PID", line)
            line = re.sub(r"^( Port[ .]+)\d+", r"\1PORT", line)
            line = re.sub(r"^( CPU time used[ .]+)[\d.]+", r"\1N.NN", line)
            line = re.sub(r"^( Run by Unix user[ .]+)\S+", r"\1USER", line)
            line = re.sub(r"^   \d\d:\d\d:\d\d ", "   HH:MM:SS ", line)
            line = re.sub(r"process \d+", "process PID", line)
            line = re.sub(r"port \d+", "port PORT", line)
        if "Confirm End of Jobs" in lines[0] and number >= 6:
            line = re.sub(r"\d+$", "PID", line)
        out.append(line)
    return out


def open_jobs(term):
    terminal = term("wrkactjob")
    terminal.wait_for("QTSMTPSRVP")
    return terminal


def refresh_until(terminal, check, presses: int = 40):
    """Press F5 until ``check`` holds for the screen (bounded)."""
    for _ in range(presses):
        lines = terminal.screen()
        if check(lines):
            return lines
        terminal.keys("F5")
        terminal.wait_for(lambda now: now != lines or check(now))
    return terminal.wait_for(check)


def row_of(lines: list[str], name: str) -> int:
    return next(n for n, line in enumerate(lines) if line[6:].strip().startswith(name))


def type_option(terminal, row: int, option: str) -> None:
    """Put ``option`` in the Opt field of screen row ``row`` (rows start at 9): Home
    (Position to: the cursor stays on the row last worked on), then Down."""
    terminal.keys("Home")
    for _ in range(row - 8):
        terminal.keys("Down")
    terminal.type(option)


def status_of(lines: list[str], name: str) -> str:
    return lines[row_of(lines, name)].rstrip().rpartition(" ")[2]


def settled(lines: list[str], worker: str = "SELW") -> bool:
    """The idle statuses: the supervisor and a server job in select, the client job on
    its queue (a job may show RUN for a moment, e.g. the supervisor told of a child that
    stopped)."""
    text = "\n".join(lines)
    return ("QTSMTPSRVP" in text and status_of(lines, "QTSMTPSRVD") == "SELW"
            and status_of(lines, "QTSMTPCLTD") == "DEQW" and status_of(lines, "QTSMTPSRVP") == worker)


def test_jobs_are_listed_under_their_subsystem(term, smtp_server):
    terminal = open_jobs(term)
    refresh_until(terminal, settled)
    expect_screen(terminal, "wrkactjob_list", mask=mask_jobs)
    terminal.press("F11", "--------Elapsed---------")
    expect_screen(terminal, "wrkactjob_elapsed_view", mask=mask_jobs)
    terminal.press("F11", "Process")
    expect_screen(terminal, "wrkactjob_process_view", mask=mask_jobs)
    terminal.press("F11", "Function")
    terminal.keys("F10")
    terminal.wait_for("Elapsed time:   00:00:00")


def test_hold_release_and_end_a_server_job(term, smtp_server):
    job = smtp_server.job("QTSMTPSRVP")
    terminal = open_jobs(term)
    lines = refresh_until(terminal, settled)
    type_option(terminal, row_of(lines, "QTSMTPSRVP"), "3")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPSRVP held.")
    assert process_state(job["pid"]) == "T"
    lines = refresh_until(terminal, lambda now: settled(now, worker="HLD"))
    # Without the message line: F5, pressed until the status shows, clears it.
    expect_screen(terminal, "wrkactjob_held", mask=lambda now: mask_jobs(now)[:23])
    # Holding it again says so and changes nothing.
    type_option(terminal, row_of(lines, "QTSMTPSRVP"), "3")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPSRVP already held.")

    type_option(terminal, row_of(terminal.screen(), "QTSMTPSRVP"), "6")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPSRVP released.")
    assert process_state(job["pid"]) != "T"
    lines = refresh_until(terminal, settled)

    type_option(terminal, row_of(lines, "QTSMTPSRVP"), "4")
    terminal.press("Enter", "Confirm End of Jobs")
    expect_screen(terminal, "wrkactjob_confirm_end", mask=mask_jobs)
    terminal.press("F12", "Work with Active Jobs")
    assert smtp_server.alive(job)
    type_option(terminal, row_of(terminal.screen(), "QTSMTPSRVP"), "4")
    terminal.press("Enter", "Confirm End of Jobs")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPSRVP ended.")
    assert not smtp_server.alive(job)


def test_end_a_held_job(term, smtp_server):
    job = smtp_server.job("QTSMTPSRVP")
    terminal = open_jobs(term)
    lines = refresh_until(terminal, settled)
    type_option(terminal, row_of(lines, "QTSMTPSRVP"), "3")
    terminal.press("Enter", "held.")
    type_option(terminal, row_of(terminal.screen(), "QTSMTPSRVP"), "4")
    terminal.press("Enter", "Confirm End of Jobs")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPSRVP ended.")
    assert not smtp_server.alive(job)


def test_work_with_job_shows_the_process(term, smtp_server):
    job = smtp_server.job("QTSMTPSRVP")
    terminal = open_jobs(term)
    lines = refresh_until(terminal, settled)
    type_option(terminal, row_of(lines, "QTSMTPSRVP"), "5")
    terminal.press("Enter", "Work with Job")
    terminal.wait_for(f"Process ID . . . . . . . . . .   {job['pid']}")
    terminal.wait_for(f"Port . . . . . . . . . . . . .   {smtp_server.port} (127.0.0.1 ::1)")
    expect_screen(terminal, "wrkactjob_work_with_job", mask=mask_jobs)
    # The job log goes on below the details: Page Down reaches its listening lines.
    terminal.press("NPage", "TCP3030 Listening on 127.0.0.1 port")
    terminal.press("F12", "Work with Active Jobs")


def test_options_that_are_not_valid(term, smtp_server):
    terminal = open_jobs(term)
    lines = refresh_until(terminal, settled)
    type_option(terminal, row_of(lines, "QSYSWRK"), "3")
    terminal.press("Enter", "Option 3 not valid here; the options are none on a subsystem line.")
    terminal.keys("C-u")
    type_option(terminal, 10, "9")
    terminal.press("Enter", "Option 9 not valid here; the options are 2, 3, 4, 5, 6, 7, 8.")
    assert all(smtp_server.alive(j) for j in smtp_server.jobs())


def test_report_when_output_is_not_a_terminal(smtp_server):
    result = subprocess.run([script("wrkactjob")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "QTSMTP_ROOT": str(smtp_server.root)})
    assert result.returncode == 0, result.stderr
    assert "Work with Active Jobs" in result.stdout.splitlines()[0]
    names = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("   QTSMTP")]
    assert sorted(names) == ["QTSMTPCLTD", "QTSMTPSRVD", "QTSMTPSRVP"]


# --- Position to and F14=Include --------------------------------------------------------------

def test_position_to_and_include(term, smtp_server):
    terminal = open_jobs(term)
    refresh_until(terminal, settled)
    terminal.keys("Home")                                   # Position to
    terminal.type("qtsmtps")
    lines = terminal.press("Enter", lambda now: now[9][6:].strip().startswith("QTSMTPSRVD"))
    assert lines[10][6:].strip().startswith("QTSMTPSRVP") and not lines[11].strip()
    assert terminal.cursor() == (9, 2)                      # on the first Opt shown
    expect_screen(terminal, "wrkactjob_position_to", mask=mask_jobs)
    terminal.keys("Home")
    terminal.type("NOSUCHJOB")
    terminal.press("Enter", "No job or subsystem name starts with NOSUCHJOB.")
    assert terminal.cursor()[0] == 3                        # the field in error
    terminal.keys("C-u")
    terminal.type("*TOP")
    terminal.press("Enter", lambda now: now[9][6:].startswith("QSYSWRK"))

    terminal.press("S-F2", "Include Jobs")                  # F14
    terminal.keys("Tab", "Tab")
    terminal.type("PX")
    terminal.press("Enter", "PX not valid for parameter TYPE.")
    terminal.keys("C-u")
    terminal.type("pj")
    terminal.press("Enter", "Include: Job type PJ")
    lines = refresh_until(terminal, lambda now: "QTSMTPSRVP" in now[10]
                          and status_of(now, "QTSMTPSRVP") == "SELW")
    assert [line[6:20].strip() for line in lines[9:12]] == ["QSYSWRK", "QTSMTPSRVP", ""]
    assert "Active jobs:     3" in lines[2]                # the system's, as IBM counts them
    expect_screen(terminal, "wrkactjob_include_pj", mask=mask_jobs)
    # Options work on the rows included; Position to looks among them only.
    terminal.keys("Home")
    terminal.type("QTSMTPC")
    terminal.press("Enter", "No job or subsystem name starts with QTSMTPC.")
    terminal.keys("C-u")
    terminal.press("S-F2", "Include Jobs")
    terminal.keys("F5")                                     # every value blanked
    terminal.press("Enter", lambda now: "Include:" not in now[3] and "QTSMTPCLTD" in "\n".join(now))


def test_include_at_lang_c(term):
    """LANG=C: a character the locale cannot show is typed into a name (IBM names are
    A-Z, 0-9, $ # @ _ .): refused, the field in error, shown with a substitute."""
    terminal = term("wrkactjob", env={"LANG": "C", "LC_ALL": "C"})
    terminal.wait_for("(No active jobs)")
    terminal.press("S-F2", "Include Jobs")
    terminal.type("ß")
    terminal.press("Enter", "Value '?' for parameter NAME not a valid name.")
    assert terminal.cursor() == (4, 36)
    terminal.keys("C-u")
    terminal.type("qtsmtp*")
    terminal.press("Enter", "Include: Job name QTSMTP*")
    terminal.wait_for("(No jobs included)")
