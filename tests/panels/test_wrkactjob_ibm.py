"""WRKACTJOB as IBM i has it: the printed report in the layout of IBM's spooled file
QPDSPAJB, read the way programs written for that spooled file read it; every parameter;
the options 2, 4 (with the End Job prompt), 7 and 8; the 27 x 132 display. A real server
(STRTCPSVR) runs the jobs; the fixture always ends it."""

from __future__ import annotations

import csv
import io
import os
import re

from qtsmtp.panels.panel import system_name
from support import eventually
from tmuxterm import DATE_TIME, expect_screen, masked

# IBM's layout, column by column (0-based first column). CONFIRMED by two programs of
# IBM's JTOpen test suite that read the spooled file QPDSPAJB (JobListTestcase.java:
# WRKACTJOB OUTPUT(*PRINT) copied into a 132-byte file, the first ten records and the
# last dropped, the first three words of columns 1-37 read as name, user, number, a
# subsystem line known by SBS after column 36; JDGroupTestInfo.java: `system wrkactjob`,
# heading lines skipped by the texts of HEADING_TEXTS, columns 3-12 read as a subsystem
# when column 3 is not blank, as a job when it is): WIDTH, HEADING_TEXTS, the ten heading
# lines and the trailer, columns 3-12, columns 1-37, SBS after column 36. NOT CONFIRMED
# (no public capture of the spooled file found; qtsmtp's choice, which the man page
# says): the other positions of COLUMNS, the job's one-column indent, the first line's
# layout. The first line's column 1 blank, its "Page    1" ending in column 130 and the
# end-of-listing line from column 27 follow IBM's printed DSPLIBL, WRKSBS and DSPJOBLOG.
WIDTH = 132
HEADING_TEXTS = ["Work with Active Jobs", "Reset . . . . . . . . . ", "Subsystems  . . . . . . ",
                 "CPU Percent Limit . . . ", "Response Time Limit . . ",
                 "Sequence  . . . . . . . ", "Job name  . . . . . . . ", "CPU %  . . . ",
                 "--------Elapsed---------", "Subsystem/Job  User        Number   User"]
COLUMNS = [  # heading, first column, width, right-aligned
    ("Subsystem/Job", 2, 13, False), ("User", 17, 10, False), ("Number", 29, 6, False),
    ("User", 38, 10, False), ("Type", 50, 4, False), ("Pool", 55, 4, True),
    ("Pty", 60, 3, True), ("CPU", 64, 9, True), ("Int", 74, 4, True), ("Rsp", 79, 6, True),
    ("AuxIO", 86, 12, True), ("Threads", 99, 7, True), ("CPU %", 107, 5, True),
    ("Function", 113, 12, False), ("Status", 126, 6, False)]
END_OF_LISTING = "* * * * *  E N D  O F  L I S T I N G  * * * * *"


def report(server, *args: str):
    return server.run("wrkactjob", "OUTPUT(*PRINT)", *args)


def cell(line: str, column: tuple) -> str:
    _, first, width, _ = column
    return line[first:first + width]


# Two readers written for IBM's spooled file, as programs that parse it do.

def jobs_by_subsystem(lines: list[str]) -> list[tuple[str, str]]:
    """(subsystem, job) of every job line: heading lines skipped by their texts, a
    subsystem where column 3 is not blank, a job where it is (columns 3-12)."""
    current, out = "", []
    for line in lines:
        if any(text in line for text in HEADING_TEXTS[1:] + ["5770SS1 V"]) or "Work with Active Jobs" in line:
            continue
        possible = line[2:12]
        if not possible.strip():
            continue
        if possible[0] != " ":
            current = possible.strip()
        else:
            out.append((current, possible.strip()))
    return out


def keys_by_position(lines: list[str]) -> set[str]:
    """number/user/name of the subsystem lines (SBS or SYS after column 36), and here
    of the job lines too (a type in columns 51-54): the first ten records and the last
    dropped, the first three words before column 38 read as name, user, number."""
    keys = set()
    for line in lines[10:-1]:
        if line.find("SBS") > 35 or line.rfind("SYS") > 35 or line[50:54].strip():
            tokens = line[:37].split()
            if len(tokens) == 3:
                keys.add(f"{tokens[2]}/{tokens[1]}/{tokens[0]}")
    return keys


def test_report_is_ibm_s_layout_column_by_column(smtp_server):
    lines = report(smtp_server).stdout.splitlines()
    assert all(len(line) == WIDTH for line in lines)
    for number, text in enumerate(HEADING_TEXTS):             # the ten heading lines, in order
        assert text in lines[number], (number, lines[number])
    first = lines[0]
    assert re.search(r"\d\d/\d\d/\d\d  \d\d:\d\d:\d\d", first)
    assert first[0] == " " and first[121:130] == "Page    1" and not first[130:].strip()
    assert lines[8][38:45] == "Current"
    headings = lines[9]
    for column in COLUMNS:
        heading, first_col, width, right = column
        shown = cell(headings, column)
        assert (shown.rstrip() if not right else shown.lstrip()) == heading[:width] or \
            headings[first_col:first_col + len(heading)] == heading, (heading, shown)
    assert lines[-1][:26].strip() == "" and lines[-1][26:].rstrip() == END_OF_LISTING
    rows = lines[10:-1]
    subsystem = rows[0]
    assert cell(subsystem, COLUMNS[0]).rstrip() == "QSYSWRK" and cell(subsystem, COLUMNS[4]).strip() == "SBS"
    by_number = {job["number"]: job for job in smtp_server.jobs()}
    for row in rows[1:]:
        assert row[2] == " " and row[3] != " "                 # indented under QSYSWRK
        values = {c[0] + str(c[1]): cell(row, c) for c in COLUMNS}
        job = by_number[values["Number29"].strip()]
        assert values["Subsystem/Job2"].strip() == job["name"]
        assert values["User17"].strip() == values["User38"].strip() == "QTCP"
        assert values["Type50"].strip() == job["type"]
        assert values["Function113"].strip() == "PGM-" + job["program"]
        assert values["Status126"].strip() in ("SELW", "DEQW", "RUN", "TIMW", "CNDW", "EVTW")
        for column in COLUMNS:                                 # each value inside its column
            heading, first_col, width, right = column
            text = cell(row, column)
            if right and text.strip():
                assert not text.endswith(" ") and row[first_col - 1] == " ", (heading, row)
            if not right and text.strip():
                assert not text.startswith(" ") or heading == "Subsystem/Job", (heading, row)
        assert re.fullmatch(r"\d*\.\d", values["CPU64"].strip())
        assert re.fullmatch(r"\d*\.\d", values["CPU %107"].strip())
        assert int(values["Pty60"]) == 50 and int(values["Pool55"]) == 2
        assert int(values["Threads99"]) >= 1
    # What programs written for IBM's spooled file read from it.
    names = sorted(job["name"][:9] for job in smtp_server.jobs())   # columns 4-12 of 10
    assert sorted(j for s, j in jobs_by_subsystem(lines) if s == "QSYSWRK") == names
    expected = {f"{j['number']}/QTCP/{j['name']}" for j in smtp_server.jobs()} | {"000000/QSYS/QSYSWRK"}
    assert keys_by_position(lines) == expected


def test_csv_for_scripts(smtp_server):
    result = smtp_server.run("wrkactjob", "OUTPUT(*CSV)")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    jobs = {row["number"]: row for row in rows if row["job"]}
    for job in smtp_server.jobs():
        row = jobs[job["number"]]
        assert (row["job"], row["pid"], row["subsystem"], row["type"]) == \
            (job["name"], str(job["pid"]), "QSYSWRK", job["type"])
        assert float(row["cpu_seconds"]) >= 0 and row["status"]
    assert rows[0]["type"] == "SBS"


def test_parameters_act(smtp_server):
    server = smtp_server
    only = report(server, "SEQ(*JOB)", "JOB(QTSMTPSRV*)").stdout.splitlines()
    assert only[5].split()[-1] == "*JOB"
    listed = [line[2:16].strip() for line in only[10:-1]]
    assert listed == sorted(listed) and set(listed) == {"QTSMTPSRVD", "QTSMTPSRVP"}
    assert not any(line[2] == " " for line in only[10:-1])      # not indented: no subsystem
    sbs = report(server, "JOB(*SBS)").stdout.splitlines()[10:-1]
    assert [line[2:12].strip() for line in sbs if line[2:12].strip()][:1] == ["QSYSWRK"]
    assert not any("QTSMTP" in line for line in sbs)
    assert "No active jobs to display." in report(server, "JOB(*SYS)").stdout
    assert "No active jobs to display." in report(server, "CPUPCTLMT(99.9)").stdout
    limited = report(server, "RSPLMT(1)")
    assert "TCP4012 Response time limit 1.0" in limited.stderr
    assert "No active jobs to display." in limited.stdout
    other = report(server, "SBS(QINTER)")
    assert "TCP4010 Subsystem QINTER not active." in other.stderr
    timed = report(server, "INTERVAL(10)", "RESET(*YES)")
    assert "TCP4013" in timed.stderr and " Reset . . . . . . . . . :   *YES" in timed.stdout
    bad = server.run("wrkactjob", "*PRINT SEQ(*NAME)", check=False)
    assert bad.returncode == 2 and "CPD0084" in bad.stderr and "Traceback" not in bad.stderr


# --- the display ------------------------------------------------------------------------------

def mask_wide(lines: list[str]) -> list[str]:
    """The 27 x 132 display masked: date, time and system name; what is measured (CPU
    time, AuxIO, threads, CPU %) and the elapsed time."""
    out = []
    for number, line in enumerate(lines):
        line = DATE_TIME.sub("MM/DD/YY  HH:MM:SS", line)
        if number == 0:
            line = line.rstrip()[: -len(system_name())].rstrip().ljust(124) + "SYSNAME"
        line = re.sub(r"CPU %:\s+\S+", "CPU %:      ##", line)
        line = re.sub(r"Elapsed time:   \d\d:\d\d:\d\d", "Elapsed time:   HH:MM:SS", line)
        if 9 <= number <= 20 and line[6:].strip():
            line = (line[:56] + "##".rjust(10) + line[66:79] + "##".rjust(9) + "#".rjust(9)
                    + "##".rjust(7) + line[104:])
        out.append(line)
    return out


def row_of(lines: list[str], name: str) -> int:
    return next(n for n, line in enumerate(lines) if line[6:].strip().startswith(name))


def on_row(terminal, name: str, option: str) -> None:
    lines = terminal.wait_for(lambda now: any(line[6:].strip().startswith(name) for line in now))
    terminal.keys("Home", *["Down"] * (row_of(lines, name) - 8))     # Home: Position to
    terminal.type(option)


def test_the_wide_display(term, smtp_server):
    terminal = term("wrkactjob", size=(132, 27))
    terminal.wait_for("QTSMTPSRVP")
    expect_screen(terminal, "wrkactjob_132", mask=mask_wide)


def test_change_display_message_and_job_log(term, smtp_server):
    job = smtp_server.job("QTSMTPCLTD")
    terminal = term("wrkactjob")
    on_row(terminal, "QTSMTPCLTD", "2")
    terminal.press("Enter", "Change Job (CHGJOB)")
    terminal.keys("C-u")
    terminal.type("60")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPCLTD changed.")
    with open(f"/proc/{job['pid']}/stat") as f:
        assert int(f.read().rpartition(")")[2].split()[16]) == 4      # nice 4: priority 60
    lines = terminal.screen()
    assert " 60 " not in lines[row_of(lines, "QTSMTPCLTD")]           # status view: no Pty
    on_row(terminal, "QTSMTPSRVD", "8")
    terminal.press("Enter", "Display Spooled File")
    terminal.wait_for("QPJOBLOG")
    terminal.wait_for("TCP3010 Job")
    terminal.press("F3", "Work with Active Jobs")                     # F3: back to the list
    on_row(terminal, "QTSMTPCLTD", "7")
    lines = terminal.press("Enter", lambda now: "Display Messages" in now[0]
                           or "need attention" in now[-1])
    if "Display Messages" in lines[0]:
        terminal.press("F12", "Work with Active Jobs")


def test_end_with_the_end_job_prompt(term, smtp_server):
    job = smtp_server.job("QTSMTPSRVP")
    terminal = term("wrkactjob")
    on_row(terminal, "QTSMTPSRVP", "4")
    terminal.press("F4", "End Job (ENDJOB)")
    expect_screen(terminal, "wrkactjob_endjob_prompt", mask=lambda lines: [
        re.sub(r"   \d{6} ", "   NNNNNN ", line) if number == 6 else line
        for number, line in enumerate(masked(lines))])
    terminal.keys("C-u")
    terminal.type("*NOW")
    terminal.press("Enter", "*NOW not valid for parameter OPTION.")
    terminal.keys("C-u")
    terminal.type("*IMMED")
    terminal.press("Enter", f"Job {job['number']}/QTCP/QTSMTPSRVP ended.")
    assert not smtp_server.alive(job)
    # Controlled, with a delay: ended as asked.
    # The supervisor replaces the ended job: wait for a live one (under load it takes a while).
    other = eventually(lambda: next((j for j in smtp_server.jobs()
                                     if j["name"] == "QTSMTPSRVP" and smtp_server.alive(j)), None),
                       "a live QTSMTPSRVP after the first was ended")
    terminal.keys("F5")
    on_row(terminal, "QTSMTPSRVP", "4")
    terminal.press("F4", "End Job (ENDJOB)")
    terminal.keys("Tab", "C-u")
    terminal.type("5")
    terminal.press("Enter", f"Job {other['number']}/QTCP/QTSMTPSRVP ended.")
    assert not smtp_server.alive(other)
    assert os.path.exists(f"/proc/{smtp_server.job('QTSMTPSRVD')['pid']}")


def test_include_on_the_wide_display(term, smtp_server):
    terminal = term("wrkactjob", size=(132, 27))
    terminal.wait_for("QTSMTPSRVP")
    terminal.press("S-F2", "Include Jobs")                  # F14
    terminal.type("QTSMTPSRV*")
    terminal.press("Enter", "Include: Job name QTSMTPSRV*")
    lines = terminal.wait_for(lambda now: [line[6:20].strip() for line in now[9:13]]
                              == ["QSYSWRK", "QTSMTPSRVD", "QTSMTPSRVP", ""])
    assert "QTSMTPCLTD" not in "\n".join(lines)
    expect_screen(terminal, "wrkactjob_132_include", mask=mask_wide)
    terminal.keys("Home")
    terminal.type("QTSMTPSRVP")
    terminal.press("Enter", lambda now: now[9][6:].strip().startswith("QTSMTPSRVP"))
    expect_screen(terminal, "wrkactjob_132_position_to", mask=mask_wide)
