"""The panels as an IBM i operator's fingers try them: each test reproduces one defect
found that way (in a real terminal, tmux) and holds its fix, screens compared with
golden/*.txt. Servers are always ended, by PID if need be."""

from __future__ import annotations

import time

from support import eventually, free_port
from support.server import Server
from tmuxterm import child_processes, expect_screen, masked

ACCEPT = "QUSRSYS/QATMADRLST/ACCEPTRLY"
REJECT = "QUSRSYS/QATMADRLST/REJECTCNN"


def member(root, path: str) -> str:
    target = root / path
    return target.read_text() if target.exists() else ""


def enter(terminal, command: str, then: str):
    terminal.type(command)
    return terminal.press("Enter", then)


# --- 1. options after a 4 ------------------------------------------------------------------

def test_options_after_a_remove_are_processed(term, cl, qroot):
    for address in ("10.5.5.1", "10.5.5.2", "10.5.5.3"):
        assert cl("addsmtple", f"*REJECT INTNETADR('{address}')").returncode == 0
    terminal = term("wrksmtple", "*REJECT")
    terminal.wait_for("F18=Bottom")
    terminal.keys("Tab", "Tab")               # the add line's Opt and Type, then row 1
    terminal.type("4")                        # a full Opt field: on to the next row's
    terminal.type("5")
    terminal.type("1")
    terminal.press("Enter", "Confirm Remove of SMTP List Entries")
    terminal.press("Enter", "Display SMTP List Entry")
    expect_screen(terminal, "defect1_display_after_remove")
    assert "10.5.5.1" not in member(qroot, REJECT)
    # F3 on the display leaves that option's function: on to the next option (1=Add).
    terminal.press("F3", "Add SMTP List Entry (ADDSMTPLE)")
    terminal.wait_for("*REJECT")
    terminal.press("F12", "Work with SMTP List Entries")
    terminal.wait_for("SMTP list entry removed.")
    expect_screen(terminal, "defect1_back_on_the_list")
    terminal.wait_for_cursor(10, 2)           # on the row worked on last (10.5.5.3)


# --- 2. LANG=C ----------------------------------------------------------------------------

def test_lang_c_keys_are_never_lost_and_unknown_characters_show_a_substitute(term, qroot):
    (qroot / "QUSRSYS/QATMADRLST/FTRSUBJECT").write_text("Grüße aus Köln\n")
    terminal = term("qtsmtp", env={"LANG": "C", "LC_ALL": "C"})
    terminal.wait_for("===>")
    terminal.type("Ma")
    terminal.type("ß")
    terminal.type("xy")
    terminal.wait_for("===>  Ma?xy")
    terminal.keys("Tab")
    terminal.press("Enter", "not found")
    expect_screen(terminal, "defect2_lang_c_command")
    enter(terminal, "WRKSMTPLE *FTRSUBJECT", "Work with SMTP List Entries")
    terminal.wait_for("Gr??e aus K?ln")
    expect_screen(terminal, "defect2_lang_c_list")
    terminal.keys("F3")
    terminal.wait_for("Type command, press Enter.")
    terminal.keys("F3")
    assert terminal.wait_exit() == 0


def test_each_panel_at_lang_c(term, cl, qroot):
    """Every display, driven in the C locale: typed text and stored UTF-8 shown with a
    substitute, never a traceback, the keyboard never locked."""
    (qroot / "QUSRSYS/QATMADRLST/FTRSUBJECT").write_text("Grüße\n")
    env = {"LANG": "C", "LC_ALL": "C"}
    terminal = term("qtsmtp", env=env)
    terminal.wait_for("===>")
    terminal.press("F4", "Select Command")
    terminal.press("F12", "Type command, press Enter.")
    terminal.type("ADDSMTPLE *FTRSUBJECT")
    terminal.press("F4", "Add SMTP List Entry (ADDSMTPLE)")
    terminal.wait_for("Filter data")                   # the one parameter *FTRSUBJECT takes
    terminal.type("Größe")
    terminal.wait_for("Gr??e")
    terminal.press("F1", "Help")
    terminal.press("F12", "Add SMTP List Entry (ADDSMTPLE)")
    terminal.press("Enter", "SMTP list entry added.")
    assert "Größe" in member(qroot, "QUSRSYS/QATMADRLST/FTRSUBJECT")
    for name, check in (("wrksmtple", "F18=Bottom"), ("wrkactjob", "Work with Active Jobs")):
        panel = term(name, env=env)
        panel.wait_for(check)
        panel.press("F1", "Help")
        panel.press("F12", check)
        panel.keys("F3")
        assert panel.wait_exit() == 0
    panel = term("wrksmtple", "*FTRSUBJECT", env=env)
    panel.wait_for("Gr??e")
    panel.keys("Tab", "Tab")
    panel.type("5")
    panel.press("Enter", "Display SMTP List Entry")
    panel.press("F12", "Work with SMTP List Entries")
    panel.press("F8", "Test Relay Decision")
    panel.type("10.1.1.1")
    panel.keys("Tab")
    panel.type("jürgen@example.org")
    panel.press("Enter", "Recipient")
    panel.press("F12", "Work with SMTP List Entries")
    panel.press("S-F3", "Subset SMTP List Entries")      # F15 = Shift+F3
    panel.press("F12", "Work with SMTP List Entries")
    panel.keys("Home", "Tab", "Tab", "Tab")       # Position to, the add line, the entry
    panel.type("4")
    panel.press("Enter", "Confirm Remove of SMTP List Entries")
    panel.wait_for("Gr??e")
    panel.press("F12", "Work with SMTP List Entries")
    panel.keys("F3")
    assert panel.wait_exit() == 0
    assert "Traceback" not in panel.scrollback() + terminal.scrollback()
    relay = term("qtsmtp", "?TSTSMTPRLY", env=env)
    relay.wait_for("Test SMTP Relay Decision (TSTSMTPRLY)")
    relay.type("10.1.1.1")
    relay.keys("Tab")
    relay.type("jürgen@example.org")
    relay.keys("Tab")
    relay.type("+")
    relay.press("Enter", "Specify More Values for Parameter RCPT")
    relay.wait_for("j?rgen@example.org")
    relay.press("F12", "Test SMTP Relay Decision (TSTSMTPRLY)")
    relay.keys("F3")
    assert relay.wait_exit() == 1 and "Traceback" not in relay.scrollback()


# --- 3. small windows ---------------------------------------------------------------------

def test_a_window_too_small_says_what_it_needs_and_takes_no_typing(term):
    terminal = term("qtsmtp", size=(60, 15))
    terminal.wait_for("too small")
    expect_screen(terminal, "defect3_too_small")
    terminal.type("ENDTCPSVR")                # nowhere to type it: not taken
    terminal.wait_for("Key R not taken.")
    terminal.resize(80, 24)
    terminal.wait_for("===>")
    expect_screen(terminal, "cmdline_empty")
    terminal.resize(60, 15)
    terminal.wait_for("too small")
    terminal.keys("F3")                       # F3 still ends the session
    assert terminal.wait_exit() == 0


def test_a_work_with_list_in_a_small_window(term, cl):
    terminal = term("wrksmtple", size=(79, 30))
    terminal.wait_for("Display size 79 x 30 too small.")
    terminal.type("4")
    terminal.wait_for("Key 4 not taken.")
    terminal.resize(80, 30)                   # taller than 24: more rows, same layout
    terminal.wait_for("F18=Bottom")
    lines = terminal.screen()
    assert lines[26].startswith(" ===>") and lines[29] == ""
    assert not any(line.startswith("  4") for line in lines)


# --- 4. selective prompting -----------------------------------------------------------------

def test_selective_prompt_without_a_value_shows_the_current_one(term, qroot):
    config = qroot / "QUSRSYS/QATMSMTP/CONFIG"
    before = config.read_text()
    for words, typed in (("?CHGSMTPA ??ALWRLY()", None), ("?CHGSMTPA ??ALWRLY", "*NONE")):
        terminal = term("qtsmtp", words)
        terminal.wait_for("Change SMTP Attributes (CHGSMTPA)")
        expect_screen(terminal, "defect4_selective_alwrly")      # the stored *LIST
        if typed:
            terminal.keys("C-u")
            terminal.type(typed)
        terminal.keys("Enter")
        assert terminal.wait_exit() == 0, terminal.scrollback()
        assert "TCP2662 SMTP attributes changed." in terminal.scrollback()
        if not typed:                         # nothing changed, nothing given: as it was
            assert config.read_text() == before
    stored = config.read_text()
    assert 'ALWRLY = "*NONE"' in stored and 'AUTOSTART = "*NO"' in stored


# --- 5. frozen screen -----------------------------------------------------------------------

def row_of(lines: list[str], name: str) -> int:
    return next(n for n, line in enumerate(lines) if line[6:].strip().startswith(name))


def status_of(lines: list[str], name: str) -> str:
    return lines[row_of(lines, name)].rstrip().rpartition(" ")[2]


def test_hold_shows_at_once_and_endtcpsvr_ends_a_held_server(term, smtp_server):
    terminal = term("wrkactjob")
    lines = terminal.wait_for(lambda now: "QTSMTPSRVP" in "\n".join(now))
    terminal.keys("Home", *["Down"] * (row_of(lines, "QTSMTPSRVD") - 8))   # Home: Position to
    terminal.type("3")
    terminal.press("Enter", "held.")
    # Without F5: the list drawn after the hold shows it.
    lines = terminal.screen()
    assert status_of(lines, "QTSMTPSRVD") == "HLD", "\n".join(lines)
    terminal.keys("Home", "BTab")             # Position to (the first field), then ===>
    terminal.type("ENDTCPSVR *SMTP")
    started = time.monotonic()
    terminal.press("Enter", "SMTP server ended")
    assert time.monotonic() - started < 20    # ENDTCPSVR waits 60 s for a job that stays
    assert not any(smtp_server.alive(job) for job in smtp_server.jobs())


# --- 6. F4 and F1 -----------------------------------------------------------------------------

def test_f4_with_an_option_prompts_its_command(term, cl, qroot):
    assert cl("addsmtple", "*REJECT INTNETADR('10.5.5.1')").returncode == 0
    terminal = term("wrksmtple", "*REJECT")
    terminal.wait_for("F18=Bottom")
    terminal.keys("Tab", "Tab")
    terminal.type("4")
    terminal.press("F4", "Remove SMTP List Entry (RMVSMTPLE)")
    expect_screen(terminal, "defect6_f4_remove_prompt")
    terminal.press("Enter", "SMTP list entry removed.")
    assert member(qroot, REJECT) == ""


def test_wrkactjob_prompts_and_helps_on_its_command_line(term):
    terminal = term("wrkactjob")
    terminal.wait_for("(No active jobs)")
    terminal.press("F1", "Help")
    expect_screen(terminal, "defect6_wrkactjob_help")
    terminal.press("F12", "(No active jobs)")
    terminal.type("ENDTCPSVR")
    terminal.press("F4", "End TCP/IP Server (ENDTCPSVR)")
    terminal.press("F12", "(No active jobs)")


# --- 7. records that are not valid -------------------------------------------------------------

def test_a_record_not_valid_is_removed_from_the_panel(term, qroot):
    (qroot / ACCEPT).write_text("10.1.1.1 255.255.255.255\nnot-an-address\n")
    terminal = term("wrksmtple", "*ACCEPT")
    terminal.wait_for("record not valid")
    terminal.keys("Tab", "Tab", "Down")
    terminal.type("4")
    terminal.press("Enter", "Confirm Remove of SMTP List Entries")
    expect_screen(terminal, "defect7_confirm_invalid")
    terminal.press("Enter", "not a valid entry, removed.")
    expect_screen(terminal, "defect7_invalid_removed")
    assert member(qroot, ACCEPT) == "10.1.1.1 255.255.255.255\n"


def test_a_record_not_valid_does_not_block_other_changes(cl, qroot):
    (qroot / ACCEPT).write_text("10.1.1.1 255.255.255.255\n# typo below\n10.1.1.999\n")
    added = cl("addsmtple", "*ACCEPT INTNETADR('10.2.2.2')")
    assert added.returncode == 0, added.stderr
    assert added.stderr.startswith("TCP2671 Member ACCEPTRLY file QATMADRLST in library "
                                   "QUSRSYS not valid at record 3")
    removed = cl("rmvsmtple", "*ACCEPT INTNETADR('10.1.1.1')")
    assert removed.returncode == 0, removed.stderr
    assert member(qroot, ACCEPT) == "# typo below\n10.1.1.999\n10.2.2.2 255.255.255.255\n"



def test_the_list_names_a_record_not_valid_as_it_opens(term, qroot):
    """A bad line on a later page is named on the message line as WRKSMTPLE opens (it
    was only marked on its own row, which the operator might never page to), and at F5
    until it is removed; at 80 x 24 and 132 x 27."""
    (qroot / ACCEPT).write_text("".join(f"10.1.1.{n} 255.255.255.255\n" for n in range(1, 40))
                                + "10.1.1.999\n")
    for size, golden in (((80, 24), "wrksmtple_names_not_valid"),
                         ((132, 27), "wrksmtple_132_names_not_valid")):
        terminal = term("wrksmtple", "*ACCEPT", size=size)
        lines = terminal.wait_for("not valid at record 40")
        assert lines[-1].startswith("Member ACCEPTRLY file QATMADRLST in library QUSRSYS not valid at record 40")
        assert "record not valid" not in "\n".join(lines)          # its row is not on this page
        expect_screen(terminal, golden, mask=lambda now: masked(now) if size[0] == 80 else wide_mask(now))
        terminal.close()
    terminal = term("wrksmtple", "*ACCEPT")
    terminal.wait_for("not valid at record 40")
    terminal.press("S-F6", "record not valid")                      # F18: the bottom
    lines = terminal.screen()
    row = next(n for n, line in enumerate(lines) if "record not valid" in line)
    terminal.keys("Home", "Tab", "Tab", "Tab", *["Down"] * (row - 9))    # the first row's Opt, down
    terminal.type("4")
    terminal.press("Enter", "Confirm Remove of SMTP List Entries")
    terminal.press("Enter", "Record 40 of member ACCEPTRLY, not a valid entry, removed.")
    terminal.keys("F5")
    terminal.wait_for(lambda now: not now[-1].strip())


def wide_mask(lines: list[str]) -> list[str]:
    out = masked(lines)
    out[0] = out[0][:100].rstrip().ljust(124) + "SYSNAME"
    return out


def named_not_valid(stderr: str) -> list[str]:
    """The TCP2671 and TCP2673 lines of a command's messages."""
    return [line for line in stderr.splitlines() if line.startswith(("TCP2671 ", "TCP2673 "))]


def test_a_record_not_valid_is_named_by_every_command_until_it_is_fixed(cl, qroot):
    """An operator who hand-edits a member is told of the bad line by each command that
    changes the list, not only the first after the edit; with its record number as the
    member is then; many bad lines are named three at a time and counted, not listed."""
    path = qroot / ACCEPT
    path.write_text("10.1.1.1 255.255.255.255\n10.1.1.999\n")
    for command, text, record in [("addsmtple", "INTNETADR('10.2.2.2')", 2),
                                  ("addsmtple", "INTNETADR('10.3.3.3')", 2),
                                  ("rmvsmtple", "INTNETADR('10.1.1.1')", 1),   # one line above it gone
                                  ("rmvsmtple", "INTNETADR('10.2.2.2')", 1)]:
        result = cl(command, f"*ACCEPT {text}")
        assert result.returncode == 0, result.stderr
        assert named_not_valid(result.stderr) == [
            f"TCP2671 Member ACCEPTRLY file QATMADRLST in library QUSRSYS not valid at record "
            f"{record}: Internet address 10.1.1.999 not valid; the record is not an entry and "
            f"was passed over."], (command, result.stderr)
    # A command that fails names it too, before its escape message.
    missing = cl("rmvsmtple", "*ACCEPT INTNETADR('10.9.9.9')")
    assert missing.returncode == 1 and missing.stderr.startswith(
        "TCP2671 Member ACCEPTRLY file QATMADRLST in library QUSRSYS not valid at record 1: ")
    assert missing.stderr.splitlines()[1].startswith("TCP2651 ")
    # Many bad lines, appended by hand: three named, the rest counted, on every command.
    with path.open("a") as f:
        f.writelines(f"bad{n}\n" for n in range(10))
    for text in ("INTNETADR('10.4.4.4')", "INTNETADR('10.5.5.5')"):
        result = cl("addsmtple", f"*ACCEPT {text}")
        named = named_not_valid(result.stderr)
        assert [line.split(" at record ")[1].split(":")[0] for line in named[:3]] == ["1", "3", "4"]
        assert named[3] == ("TCP2673 8 more records of member ACCEPTRLY file QATMADRLST in library "
                            "QUSRSYS are not valid entries and were passed over; WRKSMTPLE "
                            "TYPE(*ACCEPT) shows them.")
        assert len(named) == 4
    # The printed list says the same, no more.
    report = cl("wrksmtple", "*ACCEPT OUTPUT(*PRINT)")
    assert report.returncode == 0 and len(named_not_valid(report.stderr)) == 4, report.stderr
    assert report.stdout.count("Not valid") == 11
    # Fixed by hand: no more messages.
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()
                            if line.endswith(" 255.255.255.255")))
    for text in ("INTNETADR('10.6.6.6')", "INTNETADR('10.7.7.7')"):
        result = cl("addsmtple", f"*ACCEPT {text}")
        assert result.returncode == 0 and not named_not_valid(result.stderr), result.stderr
    assert not named_not_valid(cl("wrksmtple", "*ACCEPT OUTPUT(*PRINT)").stderr)



# --- 8. no zombie ------------------------------------------------------------------------------

def test_a_server_started_from_the_command_line_leaves_no_zombie(term, cl, qroot):
    assert cl("chgsmtpa", f"PORT({free_port()})").returncode == 0
    terminal = term("qtsmtp")
    try:
        terminal.wait_for("===>")
        enter(terminal, "STRTCPSVR *SMTP SVRJOBS(1)", "SMTP server started")
        program = terminal.program_pid()
        enter(terminal, "ENDTCPSVR *SMTP", "SMTP server ended")
        eventually(lambda: not [pid for pid, state in child_processes(program) if state == "Z"],
                   "the ended server collected (no <defunct> child of qtsmtp)")
    finally:
        Server(qroot).shut_down()        # ENDTCPSVR, then by PID what the job table names


# --- 9. the smaller ones ---------------------------------------------------------------------

def test_a_long_message_is_cut_at_a_word_and_marked(term, qroot):
    (qroot / ACCEPT).write_text("not-an-address\n")
    terminal = term("qtsmtp")
    terminal.wait_for("===>")
    enter(terminal, "ADDSMTPLE *ACCEPT INTNETADR('10.9.9.9')", "SMTP list entry added.")
    expect_screen(terminal, "defect9_long_message")
    line = terminal.screen()[23]
    assert line.endswith("+") and line[:-1].rstrip().endswith("not valid at record 1:")


def test_small_things_on_the_list(term, cl, qroot):
    assert cl("addsmtple", "*REJECT INTNETADR('10.5.5.1')").returncode == 0
    terminal = term("wrksmtple", "*REJECT")
    terminal.wait_for("F18=Bottom")
    terminal.keys("Tab", "Tab")
    terminal.type(" ")                        # a blank typed over the Opt: still underlined
    terminal.wait_for(lambda lines: lines[9].startswith("  _   *REJECT"))
    terminal.press("F8", "Test Relay Decision")
    terminal.press("NPage", "Function key Page Down not allowed on this display.")
    terminal.press("F12", "Work with SMTP List Entries")
    terminal.keys("Home", "BTab")             # Position to (the first field), then ===>
    terminal.type("DSPSMTPA")
    lines = terminal.press("Enter", "Autostart server")
    assert lines[0].split()[:3] == ["Display", "SMTP", "Attributes"] and "DSPSMTPA" not in lines[0]
    terminal.press("F3", "Work with SMTP List Entries")


def test_report_and_help_fit_their_pages(cl, qroot):
    long_name = "relay." + ".".join(["sub"] * 30) + ".example.com"
    assert cl("addsmtple", f"*NEAR HOSTNAME('{long_name}')").returncode == 0
    report = cl("wrksmtple", "OUTPUT(*PRINT)")
    assert report.returncode == 0
    assert max(len(line) for line in report.stdout.splitlines()) <= 132
    # A host name longer than its column goes on, in that column, on the lines below.
    pieces = [long_name[n:n + 40] for n in range(0, len(long_name), 40)]
    assert all(piece in report.stdout for piece in pieces)
    helped = cl("addsmtple", "--help")
    assert max(len(line) for line in helped.stdout.splitlines()) <= 80
