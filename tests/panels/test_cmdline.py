"""The CL command line (``qtsmtp`` with no arguments), F4 prompting, selective prompting,
F9 retrieve and ``--prompt``, driven in a real terminal (tmux)."""

from __future__ import annotations

import os
import subprocess

from qtsmtp.panels.prompter import FIRST_ROW
from qtsmtp.panels.promptfields import FIELD_COL
from support import script
from tmuxterm import expect_screen

ACCEPT = "QUSRSYS/QATMADRLST/ACCEPTRLY"


def command_entry(term):
    terminal = term("qtsmtp")
    terminal.wait_for("===>")
    return terminal


def enter(terminal, command: str, then: str):
    terminal.type(command)
    return terminal.press("Enter", then)


def test_command_entry_runs_commands_and_shows_messages(term, qroot):
    terminal = command_entry(term)
    expect_screen(terminal, "cmdline_empty")
    enter(terminal, "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.1')", "SMTP list entry added.")
    enter(terminal, "addsmtple *accept intnetadr('10.1.1.1')", "already exists")
    enter(terminal, "RMVSMTPLE *ACCEPT INTNETADR('10.9.9.9') SUBNETMASK(255)", "Subnet mask 255 not valid")
    enter(terminal, "FROBNICATE", "Command FROBNICATE in library *LIBL not found.")
    expect_screen(terminal, "cmdline_log")
    assert (qroot / ACCEPT).read_text() == "10.1.1.1 255.255.255.255\n"
    # F10: identifiers and second-level text in the log.
    terminal.press("F10", "TCP2650 SMTP list entry already exists")
    terminal.wait_for("The entry is 10.1.1.1 255.255.255.255.")
    terminal.keys("F3")
    assert terminal.wait_exit() == 0


def test_output_of_a_command_goes_to_the_log(term):
    terminal = command_entry(term)
    enter(terminal, "DSPSMTPA", "Port (qtsmtp extension)")
    # Page Up scrolls the log back to the start of the output, and no further.
    page_until(terminal, "PPage", "> DSPSMTPA")
    terminal.press("PPage", "Already at the top of the list.")
    page_until(terminal, "NPage", "stored for IBM i scripts")        # the last line written
    terminal.press("NPage", "Already at the bottom of the list.")


def test_output_wider_than_the_log_goes_on_below_not_cut(term):
    """DSPSMTPA writes 80 columns; the log indents them by four: a line that does not
    fit goes on on the next line, under its value (it was cut: '*LIBL/QSYSWRK  (no eff')."""
    terminal = command_entry(term)
    enter(terminal, "DSPSMTPA", "Port (qtsmtp extension)")
    page_until(terminal, "PPage", "Subsystem description")
    lines = terminal.screen()
    row = next(n for n, line in enumerate(lines) if "Subsystem description" in line)
    assert lines[row].rstrip().endswith(":   *LIBL/QSYSWRK"), lines[row]
    assert lines[row + 1].strip() == "(no effect)" and lines[row + 1].index("(") == lines[row].index("*LIBL")
    assert all(len(line.rstrip()) <= 79 for line in lines[3:16])
    expect_screen(terminal, "cmdline_dspsmtpa_wrapped")


def page_until(terminal, key: str, text: str, pages: int = 10) -> None:
    for _ in range(pages):
        if text in terminal.text():
            return
        screen = terminal.text()
        terminal.keys(key)
        terminal.wait_for(lambda lines: "\n".join(lines) != screen)
    terminal.wait_for(text)


def test_f9_retrieves_previous_commands_and_history_persists(term, qroot):
    terminal = command_entry(term)
    enter(terminal, "ADDSMTPLE *REJECT INTNETADR('10.2.2.2')", "SMTP list entry added.")
    enter(terminal, "DSPSMTPA", "Port (qtsmtp extension)")
    terminal.press("F9", "===>  DSPSMTPA")
    terminal.press("F9", "===>  ADDSMTPLE *REJECT INTNETADR('10.2.2.2')")
    terminal.press("F9", "No previous command to retrieve.")
    expect_screen(terminal, "cmdline_f9_retrieved")
    terminal.keys("F3")
    assert terminal.wait_exit() == 0
    history = (qroot / "cmdhistory").read_text().splitlines()
    assert history == ["ADDSMTPLE *REJECT INTNETADR('10.2.2.2')", "DSPSMTPA"]
    assert oct((qroot / "cmdhistory").stat().st_mode & 0o777) == "0o600"
    # A new session retrieves what the last one ran.
    again = command_entry(term)
    again.press("F9", "===>  DSPSMTPA")
    # A retrieved command can be changed and run.
    again.keys("F9")
    again.wait_for("===>  ADDSMTPLE *REJECT INTNETADR('10.2.2.2')")
    again.keys("C-k")
    again.type("ADDSMTPLE *REJECT INTNETADR('10.3.3.3')")
    again.press("Enter", "SMTP list entry added.")
    assert "10.3.3.3" in (qroot / "QUSRSYS/QATMADRLST/REJECTCNN").read_text()


def test_every_chgsmtpa_prompt_label_reads_whole(term):
    """A label longer than the 30 columns before its leader dots is cut at a word, and
    never inside a parenthesis: 'TLS certificate (qtsmtp . . .' reads as a fault; the
    whole label is in F1's help. Every page of the prompt, at 80 x 24 and 132 x 27."""
    for size, golden in (((80, 24), "prompt_chgsmtpa_page5"), ((132, 27), "prompt_chgsmtpa_132_last")):
        terminal = term("qtsmtp", "?CHGSMTPA", size=size)
        lines = terminal.wait_for("Change SMTP Attributes (CHGSMTPA)")
        for _ in range(12):
            for line in lines[4:-3]:
                label = line[:34]
                if ". ." in label:
                    assert label.count("(") == label.count(")"), line
            if "Bottom" in "\n".join(lines[-4:]):
                break
            terminal.press("NPage", lambda now, before=lines: now != before)
            lines = terminal.settled()   # a changed screen may be half drawn: no Bottom yet
        expect_screen(terminal, golden)
        terminal.close()


def test_f4_prompts_chgsmtpa_with_the_stored_values(term, cl, qroot):
    assert cl("chgsmtpa", "ALWRLY(*BOTH) RTYMIN(5 15) MAILROUTER('relay.example.net:2525') "
              "TBLSMTPOUT(MYLIB/OUTTBL) ALIASDMN((1 'a.example.com') (2 b.example.net))").returncode == 0
    terminal = command_entry(term)
    terminal.type("CHGSMTPA")
    terminal.press("F4", "Change SMTP Attributes (CHGSMTPA)")
    expect_screen(terminal, "prompt_chgsmtpa_page1")
    terminal.press("NPage", "Mail router")
    expect_screen(terminal, "prompt_chgsmtpa_page2")
    terminal.press("NPage", "Allow relayed mail")
    expect_screen(terminal, "prompt_chgsmtpa_page3")
    # Change ALWRLY only: the command built names ALWRLY and nothing else.
    _go_to_field(terminal, "Allow relayed mail")
    terminal.keys("C-u")
    terminal.type("*list")
    terminal.press("Enter", "SMTP attributes changed.")
    terminal.wait_for("> CHGSMTPA ALWRLY(*LIST)")
    stored = (qroot / "QUSRSYS/QATMSMTP/CONFIG").read_text()
    assert 'ALWRLY = "*LIST"' in stored
    assert "5,\n    15," in stored and 'MAILROUTER = "relay.example.net:2525"' in stored
    assert 'TBLSMTPOUT = "MYLIB/OUTTBL"' in stored


def _go_to_field(terminal, label: str) -> None:
    """Put the cursor on the field of the line whose prompt is ``label``: Home (the first
    field of the page), then one Tab for each field line above it.

    The keys are worked out from the page's text alone, never from where the cursor
    seems to be: the panel takes keys in the order they were typed however late it runs,
    but a cursor read while it is still working through earlier keys is stale, and a Tab
    sent on a stale read moves the cursor past the field (on a loaded machine the value
    was then typed into another field). The wait for the cursor is only the check."""
    lines = terminal.wait_for(lambda lines: any(line.lstrip().startswith(label) for line in lines))
    row = next(n for n, line in enumerate(lines) if line.lstrip().startswith(label))
    # A line with a field has its value (or the field's underscores) from FIELD_COL on.
    fields_above = [n for n in range(FIRST_ROW, row) if lines[n][FIELD_COL:FIELD_COL + 1].strip()]
    terminal.keys("Home", *["Tab"] * len(fields_above))
    terminal.wait_for_cursor(row, FIELD_COL)


def test_prompt_error_stays_on_the_prompt_and_changes_nothing(term, qroot):
    terminal = command_entry(term)
    terminal.type("CHGSMTPA")
    terminal.press("F4", "Change SMTP Attributes (CHGSMTPA)")
    terminal.press("NPage", "Mail router")
    _go_to_field(terminal, "Coded character set")
    terminal.keys("C-u")
    terminal.type("70000")
    terminal.press("Enter", "Value 70000 for parameter CCSID not in range 1 to 65533.")
    expect_screen(terminal, "prompt_chgsmtpa_error")
    assert "CCSID = 819" in (qroot / "QUSRSYS/QATMSMTP/CONFIG").read_text()
    terminal.press("F12", "Type command, press Enter.")
    terminal.wait_for("===>  CHGSMTPA")


def test_f4_on_an_empty_line_lists_the_commands(term, qroot):
    terminal = command_entry(term)
    # Every command that can run is listed with its prompt text, in name order, 13 a
    # page (other work adds commands, so this is read rather than compared whole).
    from qtsmtp.cl.definition import load, runnable_command_names
    runnable = runnable_command_names()
    expected = [f"  _   {n:<10}  {load(n).prompt}" for n in runnable[:13]]
    terminal.keys("F4")
    lines = terminal.wait_for(lambda now: "Select Command" in now[0] and now[6:6 + len(expected)] == expected)
    listed = [line.split()[1] for line in lines[6:19] if line.startswith("  _ ")]
    assert lines[19].strip() == ("More..." if len(runnable) > 13 else "Bottom")
    # ADDSMTPLE sorts among the first page's names whatever other work adds.
    for _ in range(listed.index("ADDSMTPLE")):
        terminal.keys("Down")
    terminal.type("1")
    terminal.press("Enter", "Add SMTP List Entry (ADDSMTPLE)")


def test_selective_prompting(term, qroot):
    terminal = command_entry(term)
    enter(terminal, "?ADDSMTPLE ?*TYPE(*REJECT) ??INTNETADR() ?<SUBNETMASK('255.255.255.0')",
          "Add SMTP List Entry (ADDSMTPLE)")
    expect_screen(terminal, "prompt_selective")
    terminal.type("10.7.7.0")
    terminal.press("Enter", "SMTP list entry added.")
    # ?< passes the default unless the value shown is changed: one host, not a /24.
    assert (qroot / "QUSRSYS/QATMADRLST/REJECTCNN").read_text() == "10.7.7.0 255.255.255.255\n"
    terminal.wait_for("> ADDSMTPLE TYPE(*REJECT) INTNETADR('10.7.7.0')")


def test_selective_prompting_errors(term):
    terminal = command_entry(term)
    enter(terminal, "ADDSMTPLE ?-TYPE(*ACCEPT) ??INTNETADR()",
          "Selective prompting ?- for TYPE needs ? before the command name.")
    enter(terminal, "?ADDSMTPLE ?/TYPE(*ACCEPT)",
          "Selective prompt characters ?/ not valid for keyword TYPE.")


def test_question_mark_on_the_qtsmtp_command(term, qroot):
    terminal = term("qtsmtp", "?ADDSMTPLE *NEAR")
    terminal.wait_for("Add SMTP List Entry (ADDSMTPLE)")
    for _ in range(2):                    # TYPE is given: the cursor starts on INTNETADR
        terminal.keys("Tab")
    terminal.type("near.example.org")
    terminal.keys("Enter")
    assert terminal.wait_exit() == 0
    assert "TCP2660 SMTP list entry added." in terminal.scrollback()
    assert (qroot / "QUSRSYS/QATMADRLST/NEAR").read_text() == "near.example.org\n"


def test_prompt_option_of_a_console_script(term, qroot):
    terminal = term("addsmtple", "--prompt", "*ACCEPT")
    terminal.wait_for("Add SMTP List Entry (ADDSMTPLE)")
    terminal.type("10.4.4.4")
    terminal.keys("Enter")
    assert terminal.wait_exit() == 0
    assert "TCP2660 SMTP list entry added." in terminal.scrollback()
    assert (qroot / ACCEPT).read_text() == "10.4.4.4 255.255.255.255\n"

    cancelled = term("chgsmtpa", "--prompt")
    cancelled.wait_for("Change SMTP Attributes (CHGSMTPA)")
    cancelled.keys("F12")
    assert cancelled.wait_exit() == 1
    assert "QTS1009 Command prompting ended when user pressed F12." in cancelled.scrollback()


def test_prompt_needs_a_terminal(qroot):
    result = subprocess.run([script("addsmtple"), "--prompt"], capture_output=True, text=True,
                            env={**os.environ, "QTSMTP_ROOT": str(qroot)}, timeout=60)
    assert result.returncode == 2
    assert "QTS1008 ADDSMTPLE needs a terminal to prompt" in result.stderr
    usage = subprocess.run([script("qtsmtp")], capture_output=True, text=True,
                           env={**os.environ, "QTSMTP_ROOT": str(qroot)}, timeout=60)
    assert usage.returncode == 2 and usage.stdout.startswith("usage: qtsmtp")


def test_password_is_never_shown_or_kept(term, qroot):
    terminal = command_entry(term)
    enter(terminal, "ADDSMTPLE *HOSTAUTH HOSTNAME(hub.example.net) USERNAME(mailer) PASSWORD('s3cret')",
          "SMTP list entry added.")
    assert "s3cret" not in terminal.text()
    terminal.wait_for("> ADDSMTPLE *HOSTAUTH HOSTNAME(hub.example.net) USERNAME(mailer)")
    assert "s3cret" not in (qroot / "cmdhistory").read_text()
    terminal.type("ADDSMTPLE *HOSTAUTH")
    terminal.press("F4", "User password")         # *HOSTAUTH's: host, user, password
    terminal.type("other.example.net")
    terminal.keys("Tab")
    terminal.type("agent")
    terminal.keys("Tab")
    terminal.type("hidden-pw")
    terminal.wait_for(lambda lines: all("hidden-pw" not in line for line in lines))
    assert "hidden-pw" not in terminal.text()


def test_f1_shows_the_message_in_full(term):
    terminal = command_entry(term)
    enter(terminal, "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1') HOSTNAME(x.example)",
          "Parameter HOSTNAME not valid for list type *ACCEPT.")
    terminal.press("F1", "Additional Message Information")
    expect_screen(terminal, "cmdline_message_help")
    terminal.press("F12", "Type command, press Enter.")


def test_output_star_is_prompted_as_ibm_shows_it(term, qroot):
    """OUTPUT's default * showed as '*' on the WRKACTJOB and WRKSMTPLE prompts; IBM's
    prompt shows *, and Enter with it runs the display."""
    terminal = term("qtsmtp", "?WRKACTJOB")
    lines = terminal.wait_for("Work with Active Jobs (WRKACTJOB)")
    assert lines[4].startswith(" Output . . . . . . . . . . . . .   *_____ "), lines[4]
    expect_screen(terminal, "prompt_wrkactjob")
    terminal.press("Enter", "Position to")
    terminal.keys("F3")
    terminal.wait_exit()
