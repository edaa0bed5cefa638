"""CHGSMTPA / DSPSMTPA and CL scripts run with `qtsmtp run`, as a user runs them."""

import tomllib

from support import member


def config(root):
    return tomllib.loads(member(root, "QATMSMTP", "CONFIG"))


def test_chgsmtpa_changes_only_what_is_named(cl, qroot):
    before = config(qroot)
    r = cl("chgsmtpa", "*YES RTYMIN(5 *SAME) MAILROUTER('Router.Example:2526') ALIASDMN((1 corp.example))")
    assert (r.returncode, r.stdout) == (0, "TCP2662 SMTP attributes changed.\n"), r.stderr
    after = config(qroot)
    assert after["AUTOSTART"] == "*YES"
    assert after["RTYMIN"] == [5, before["RTYMIN"][1]]
    assert after["MAILROUTER"] == "Router.Example:2526"
    assert after["ALIASDMN"] == [[1, "corp.example"]]
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"AUTOSTART", "RTYMIN", "MAILROUTER", "ALIASDMN"}


def test_chgsmtpa_option_form_and_dft(cl, qroot):
    r = cl("chgsmtpa", "--alwrly", "near", "--rtymin", "*dft", "--ccsid", "dft", "--port", "2600")
    assert r.returncode == 0, r.stderr
    after = config(qroot)
    assert (after["ALWRLY"], after["RTYMIN"], after["CCSID"], after["PORT"]) == ("*NEAR", [3, 30], 819, 2600)


def test_open_relay_warning(cl, qroot):
    r = cl("chgsmtpa", "ALWRLY(*ALL)")
    assert r.returncode == 0
    assert r.stderr.startswith("TCP2663 ALWRLY(*ALL) makes this system an open relay")


def test_chgsmtpa_bad_values_change_nothing(cl, qroot):
    before = member(qroot, "QATMSMTP", "CONFIG")
    for args in (["NBRCLT(5)"], ["ALWRLY(*OPEN)"], ["RTYDAY(10 1)"], ["MAILROUTER('bad..name')"],
                 ["FWDHUBSVR('hub.example:99999')"], ["FWDHUBSVR('[::1]:0')"],
                 ["FWDHUBSVR('[bad..name]:25')"], ["--alwrly", "sometimes"], ["PORT(0)"]):
        r = cl("chgsmtpa", *args)
        assert r.returncode in (1, 2), args
        assert r.stderr[:3] in ("CPD", "TCP", "QTS") and "Traceback" not in r.stderr, args
    assert member(qroot, "QATMSMTP", "CONFIG") == before


def test_an_ipv6_hub_with_a_port_is_stored(cl, qroot):
    # qtsmtp-queue(5): an IPv6 address with a port is written [address]:port.
    assert cl("chgsmtpa", "FWDHUBSVR('[::1]:2526')").returncode == 0
    assert "FWDHUBSVR = \"[::1]:2526\"" in member(qroot, "QATMSMTP", "CONFIG")


def test_dspsmtpa_shows_the_stored_values_without_a_terminal(cl, qroot):
    cl("chgsmtpa", "ALWRLY(*BOTH) PORT(2626)")
    r = cl("dspsmtpa")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert "Display SMTP Attributes" in lines[0]
    assert any(line.startswith(" Allow relayed mail .") and line.endswith(":   *BOTH") for line in lines)
    assert any(line.startswith(" Port (qtsmtp extension)") and line.endswith(":   2626") for line in lines)


def test_hand_broken_attributes_member_is_named(cl, qroot):
    path = qroot / "QUSRSYS" / "QATMSMTP" / "CONFIG"
    path.write_text(path.read_text() + 'ALWRLY = "*LIST\n')
    r = cl("dspsmtpa")
    assert r.returncode == 1
    assert r.stderr.startswith("TCP2670 Member CONFIG file QATMSMTP in library QUSRSYS not valid at record")


SCRIPT = """\
/* Relay set-up for the branch offices.                              */
/* QGPL/*ALL in a comment is still a comment.                        */
START:  ADDSMTPLE TYPE(*ACCEPT) +
                  INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')
        ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') +
                  SUBNETMASK('255.255.255.0')   /* a duplicate */
        MONMSG    MSGID(TCP2650)
        ADDSMTPLE *NEAR HOSTNAME('branch.exa-
mple')
        CHGSMTPA  ALWRLY(*BOTH)
"""


def test_script_with_continuation_comments_labels_and_monmsg(cl, qroot, tmp_path):
    path = tmp_path / "setup.clp"
    path.write_text(SCRIPT)
    r = cl("qtsmtp", "run", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "TCP2660 SMTP list entry added.",
        "TCP2660 SMTP list entry added.",
        "TCP2662 SMTP attributes changed.",
        f"QTS0002 Script {path} completed; commands run: 4.",
    ]
    assert r.stderr.startswith("TCP2650 ")          # monitored, still reported
    assert member(qroot, "QATMADRLST", "NEAR") == "branch.example\n"
    assert config(qroot)["ALWRLY"] == "*BOTH"


def test_first_unmonitored_escape_stops_the_script_at_its_line(cl, qroot):
    source = ("ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.3')\n")
    r = cl("qtsmtp", "run", "-", input=source)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == ("QTS0001 Script (standard input) ended at line 2: "
                                         "escape message TCP2650 not monitored.")
    assert member(qroot, "QATMADRLST", "ACCEPTRLY") == "10.1.1.1 255.255.255.255\n"


def test_generic_and_program_level_monmsg(cl, qroot):
    source = ("MONMSG TCP2600\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')\n"
              "RMVSMTPLE *ACCEPT INTNETADR('10.7.7.7')\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.2')\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.999')\n"
              "MONMSG TCP0000\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.3')\n")
    r = cl("qtsmtp", "run", "-", input=source)
    assert r.returncode == 0, r.stderr
    ids = [line.split()[0] for line in r.stderr.splitlines() if not line.startswith(" ")]
    assert ids == ["TCP2650", "TCP2651", "TCP1901"]
    assert member(qroot, "QATMADRLST", "ACCEPTRLY").split("\n")[:-1] == [
        "10.1.1.1 255.255.255.255", "10.1.1.2 255.255.255.255", "10.1.1.3 255.255.255.255"]


def test_script_with_a_syntax_error_runs_nothing(cl, qroot):
    source = ("ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')\n"
              "CHGSMTPA ALWRLY(*LIST) BOGUS(1)\n"
              "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.2'\n")
    r = cl("qtsmtp", "run", "-", input=source)
    assert r.returncode == 2
    assert "CPD0043 Keyword BOGUS not valid for this command." in r.stderr
    assert "At (standard input) line 2." in r.stderr
    assert "CPD0013" in r.stderr
    assert r.stderr.splitlines()[-1] == ("QTS0005 Script (standard input) not run; "
                                         "commands in error: 2, the first at line 2.")
    assert member(qroot, "QATMADRLST", "ACCEPTRLY") == ""


def test_missing_script_file(cl, tmp_path):
    r = cl("qtsmtp", "run", str(tmp_path / "nope.clp"))
    assert r.returncode == 2 and r.stderr.startswith("QTS0003 ")


def test_run_and_runqueue_help_is_usage_not_a_file_name(cl, tmp_path):
    # "qtsmtp run --help" read a script file named --help (QTS0003); a file of that
    # name is still run as ./--help.
    for words, usage in ((["run", "--help"], "usage: qtsmtp run FILE|-"),
                         (["run", "-h"], "usage: qtsmtp run FILE|-"),
                         (["runqueue", "--help"], "usage: qtsmtp runqueue")):
        r = cl("qtsmtp", *words)
        assert (r.returncode, r.stderr) == (0, "") and r.stdout.startswith(usage), words
    (tmp_path / "--help").write_text("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.7.7.7')\n")
    r = cl("qtsmtp", "run", "./--help", cwd=tmp_path)
    assert r.returncode == 0 and "QTS0002" in r.stderr + r.stdout


def test_commands_list_and_unknown_command(cl):
    r = cl("qtsmtp", "commands")
    assert r.returncode == 0 and "ADDSMTPLE   Add SMTP List Entry" in r.stdout
    r = cl("qtsmtp", "WRKFOO")
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["CPD0030 Command WRKFOO in library *LIBL not found.",
                                     "CPF0006 Errors occurred in command."]


def test_hand_edited_attribute_values_are_held_to_the_command_rules(cl, qroot):
    path = qroot / "QUSRSYS" / "QATMSMTP" / "CONFIG"
    good = path.read_text()
    cases = [('AUTOSTART = "*NO"', 'AUTOSTART = "*MAYBE"', "*MAYBE not valid for parameter AUTOSTART"),
             ("PORT = 2525", "PORT = 70000", "Value 70000 for parameter PORT not in range 1 to 65535"),
             ("PORT = 2525", "PORT = true", "PORT: a value of the wrong kind"),
             ('ALWRLY = "*LIST"', 'ALWRLY = "*SAME"', "*SAME is a command value"),
             ("PORT = 2525", "PORT = 2525\nFOO = 1", "FOO is not an SMTP attribute")]
    for old, new, reason in cases:
        assert old in good, old
        path.write_text(good.replace(old, new))
        r = cl("dspsmtpa")
        assert r.returncode == 1, new
        assert r.stderr.startswith("TCP2670 Member CONFIG file QATMSMTP in library QUSRSYS "
                                   "not valid at record "), r.stderr
        assert reason in r.stderr, r.stderr
        r = cl("chgsmtpa", "ALWRLY(*NONE)")        # a change does not paper over it either
        assert r.returncode == 1 and path.read_text() == good.replace(old, new)
    path.write_text(good)
    assert cl("dspsmtpa").returncode == 0
