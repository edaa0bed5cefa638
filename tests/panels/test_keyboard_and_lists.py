"""The 5250 keyboard in a real terminal (Field Exit, the field in error in reverse image,
the insert indicator), and the Work-with list conventions of WRKSMTPLE: Position to,
the subset, F13=Repeat, as many rows as the window holds, the 27 x 132 display."""

from __future__ import annotations

from tmuxterm import DATE_TIME, expect_screen

ACCEPT = "QUSRSYS/QATMADRLST/ACCEPTRLY"


def attributes(terminal) -> str:
    """The screen with its attributes, as escape sequences (tmux capture-pane -e)."""
    return terminal._tmux("capture-pane", "-e", "-p", "-t", "t").stdout


def five_hundred(qroot) -> None:
    (qroot / ACCEPT).write_text("".join(f"10.{n // 250}.{n % 250}.1 255.255.255.255\n"
                                        for n in range(500)))


def test_field_exit_erases_what_the_default_left(term, qroot):
    terminal = term("qtsmtp", "?ADDSMTPLE *ACCEPT")
    terminal.wait_for("Subnet mask")
    terminal.type("10.8.8.0")
    terminal.keys("Tab")
    terminal.type("255.255.255.0")                # over 255.255.255.255: 255.255.255.055
    terminal.wait_for("255.255.255.055")
    terminal.keys("C-j")                          # Field Exit
    terminal.wait_for(lambda lines: lines[6][36:51] == "255.255.255.0__")
    terminal.keys("Enter")
    assert terminal.wait_exit() == 0
    assert (qroot / ACCEPT).read_text() == "10.8.8.0 255.255.255.0\n"


def test_the_field_in_error_and_the_insert_indicator(term, qroot):
    terminal = term("qtsmtp", "?ADDSMTPLE *ACCEPT")
    terminal.wait_for("Subnet mask")
    terminal.type("10.1.1.300")
    terminal.press("Enter", "Internet address 10.1.1.300 not valid.")
    screen = attributes(terminal).split("\n")
    assert "\x1b[7m" in screen[5] and "10.1.1.300" in screen[5].split("\x1b[7m", 1)[1]
    terminal.wait_for_cursor(5, 36)               # the cursor on the field in error
    terminal.keys("IC")                           # Insert
    terminal.wait_for(lambda lines: lines[23].rstrip().endswith("INSERT"))
    terminal.keys("C-r")                          # Reset: the error state goes
    terminal.wait_for(lambda lines: "\x1b[7m" not in attributes(terminal).split("\n")[5])


def test_position_to(term, qroot):
    five_hundred(qroot)
    terminal = term("wrksmtple", "*ACCEPT")
    terminal.wait_for("F18=Bottom")
    terminal.keys("Home")                         # Position to: the first field
    terminal.type("10.1.100")
    lines = terminal.press("Enter", lambda now: "10.1.100.1 " in now[9])
    assert lines[4].endswith("Position to  . . . . . . . .   ______________________")
    terminal.keys("Home")
    terminal.type("*bot")
    terminal.press("Enter", lambda now: "10.1.249.1" in "\n".join(now) and "Bottom" in now[18])
    terminal.keys("Home")
    terminal.type("10.9.")
    terminal.press("Enter", "No entry starts with 10.9..")
    assert "\x1b[7m" in attributes(terminal).split("\n")[4]
    terminal.keys("C-u")
    terminal.type("*TOP")
    terminal.press("Enter", lambda now: "10.0.0.1 " in now[9])


def test_subset(term, qroot):
    five_hundred(qroot)
    terminal = term("wrksmtple")
    terminal.wait_for("F18=Bottom")
    terminal.press("S-F3", "Subset SMTP List Entries")     # F15
    terminal.type("*accept")
    terminal.keys("Tab")
    terminal.type("*.7.1")
    terminal.press("Enter", "Subset: *ACCEPT '*.7.1'")
    expect_screen(terminal, "wrksmtple_subset")
    terminal.press("S-F3", "Subset SMTP List Entries")
    terminal.press("F5", lambda now: now[5][36:47] == "___________")
    terminal.press("Enter", lambda now: "Work with SMTP List Entries" in now[0]
                   and "Subset:" not in now[4] and "More..." in now[18])


def test_f13_repeats_an_option_down_the_list(term, cl, qroot):
    for address in ("10.5.5.1", "10.5.5.2", "10.5.5.3"):
        assert cl("addsmtple", f"*REJECT INTNETADR('{address}')").returncode == 0
    terminal = term("wrksmtple", "*REJECT")
    terminal.wait_for("F18=Bottom")
    terminal.keys("Tab", "Tab")
    terminal.type("5")
    terminal.keys("BTab")                         # back on the row the 5 is on
    terminal.press("S-F1", lambda now: [line[:3] for line in now[9:12]] == ["  5"] * 3)   # F13
    terminal.press("Enter", "Display SMTP List Entry")
    for address in ("10.5.5.2", "10.5.5.3"):     # each display in turn
        terminal.keys("F12")
        terminal.wait_for(f"Internet address . . . . . . .   {address}")
    terminal.press("F12", "Work with SMTP List Entries")


def test_a_taller_window_shows_more_rows(term, qroot):
    five_hundred(qroot)
    terminal = term("wrksmtple", "*ACCEPT", size=(80, 34))
    lines = terminal.wait_for("F18=Bottom")
    assert [line.split()[2] for line in lines[9:28]][-1] == "10.0.18.1"     # 19 rows
    assert lines[28].strip() == "More..." and lines[30].startswith(" ===>")
    terminal.press("NPage", lambda now: now[9].split()[2] == "10.0.19.1")


def test_the_wide_display(term, cl, qroot):
    assert cl("addsmtple", "*ACCEPTIP6 IP6NETADR('2001:db8:1234:5678:9abc:def0:1234:5678')").returncode == 0
    long_name = "relay." + "a" * 30 + ".example.com"    # 48: more than 80 columns show
    assert cl("addsmtple", f"*NEAR HOSTNAME('{long_name}')").returncode == 0
    terminal = term("wrksmtple", size=(132, 27))
    terminal.wait_for("F18=Bottom")
    lines = terminal.wait_for("2001:db8:1234:5678:9abc:def0:1234:5678")
    assert long_name in "\n".join(lines)                 # whole: the host column is wider
    expect_screen(terminal, "wrksmtple_132", mask=mask_wide)


def test_position_to_and_subset_on_the_wide_display(term, qroot):
    five_hundred(qroot)
    terminal = term("wrksmtple", size=(132, 27))
    terminal.wait_for("F18=Bottom")
    terminal.keys("Home")
    terminal.type("10.1.100")
    lines = terminal.press("Enter", lambda now: "10.1.100.1 " in now[9])
    assert [line.split()[2] for line in lines[9:21]][-1] == "10.1.111.1"      # 12 rows
    expect_screen(terminal, "wrksmtple_132_position_to", mask=mask_wide)
    terminal.press("S-F3", "Subset SMTP List Entries")     # F15
    terminal.type("*accept")
    terminal.keys("Tab")
    terminal.type("*.7.1")
    terminal.press("Enter", "Subset: *ACCEPT '*.7.1'")
    expect_screen(terminal, "wrksmtple_132_subset", mask=mask_wide)

def mask_wide(lines: list[str]) -> list[str]:
    """Date and time, and the system name at the end of line 1 (132 columns)."""
    out = [DATE_TIME.sub("MM/DD/YY  HH:MM:SS", line) for line in lines]
    out[0] = out[0][:100].rstrip().ljust(124) + "SYSNAME"
    return out


def test_displays_on_the_27_by_132_display(term, cl):
    """The command entry, the command list, a prompt with F1 help, an entry displayed,
    the relay test and the confirmation, each laid out for 132 columns."""
    assert cl("addsmtple", "*REJECT INTNETADR('10.5.5.1')").returncode == 0
    terminal = term("qtsmtp", size=(132, 27))
    terminal.wait_for("===>")
    expect_screen(terminal, "wide_command_entry", mask=mask_command_entry)
    terminal.press("F4", "Select Command")
    terminal.wait_for(lambda lines: lines[22].strip() in ("More...", "Bottom"))   # 16 rows
    terminal.press("F12", "===>")
    terminal.type("WRKSMTPLE *REJECT")
    terminal.press("Enter", "F18=Bottom")
    terminal.keys("Tab", "Tab")
    terminal.type("5")
    terminal.press("Enter", "Display SMTP List Entry")
    expect_screen(terminal, "wide_display_entry", mask=mask_wide)
    terminal.press("F12", "F18=Bottom")
    terminal.press("F8", "Test Relay Decision")
    terminal.type("10.5.5.1")
    terminal.keys("Tab")
    terminal.type("a@b.example")
    terminal.press("Enter", "Access denied")
    expect_screen(terminal, "wide_relay_test", mask=mask_wide)
    terminal.press("F12", "F18=Bottom")
    terminal.keys("Home", "Tab", "Tab", "Tab")    # Position to, the add line, the entry
    terminal.type("4")
    terminal.press("Enter", "Confirm Remove of SMTP List Entries")
    expect_screen(terminal, "wide_confirm_remove", mask=mask_wide)
    terminal.press("F12", "F18=Bottom")


def mask_command_entry(lines: list[str]) -> list[str]:
    out = list(lines)
    out[0] = out[0][:100].rstrip().ljust(124) + "SYSNAME"
    return out


def test_output_wider_than_the_display_shifts_left_and_right(term):
    """WRKEXITPGM's list is 90 columns: run from a Work-with list's ===> on 80 columns,
    its display showed the first 80 and lost the rest ('Thread', no Program column).
    F20=Right (Shift+F8) and F19=Left (Shift+F7) shift it, as DSPSPLF does; on the
    27 x 132 display it fits, and the keys are not offered."""
    terminal = term("wrksmtple")
    terminal.wait_for("F18=Bottom")
    terminal.keys("Home", "BTab")                   # Position to, then round to ===>
    terminal.type("WRKEXITPGM")
    lines = terminal.press("Enter", "Work with Exit Programs")
    assert lines[2].rstrip().endswith("Default   Thread") and "F20=Right" in lines[21]
    terminal.press("S-F8", "Threads  Program")      # F20
    expect_screen(terminal, "output_shifted_right")
    terminal.press("S-F7", "Columns . . . :   1 - 80 of 90")    # F19
    terminal.press("F12", "Work with SMTP List Entries")
    wide = term("wrksmtple", size=(132, 27))
    wide.wait_for("F18=Bottom")
    wide.keys("Home", "BTab")
    wide.type("WRKEXITPGM")
    lines = wide.press("Enter", "Threads  Program")
    assert "F20=Right" not in "\n".join(lines) and "Columns . . ." not in lines[1]
