"""The panels' logic without a terminal: the prompter's commands, selective prompting,
the list analysis behind 5=Display, removal commands, history, and what panels import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qtsmtp.cl.definition import load
from qtsmtp.messages import CLError
from qtsmtp.cl.parser import parse
from qtsmtp.cl.command import compile_text
from qtsmtp.programs.runner import logged_text
from qtsmtp.panels import entrylist, execute, promptfields, prompter
from qtsmtp.panels.history import KEEP, History
from qtsmtp.panels.panel import Field, Panel, leader
from qtsmtp.config import listtypes as lt


def fields_of(panel: prompter.PromptPanel, keyword: str) -> list[Field]:
    return next(p for p in panel.prompts if p.parm.keyword == keyword).fields


# --- layout -------------------------------------------------------------------------------

def test_leaders_line_up():
    labels = ["List type", "Internet address", "Recipient", "E-mail directory type"]
    shown = [leader(label) for label in labels]
    assert all(len(s) == 32 and s.endswith(".") for s in shown)
    assert {tuple(i for i, c in enumerate(s) if c == "." and i > 22) for s in shown} == {(23, 25, 27, 29, 31)}


def test_field_editing_overwrite_insert_and_erase():
    panel = Panel()
    field = Field(5, 10, 6, "*SAME")
    panel.set_fields([field, Field(6, 10, 4)])
    for key in "*NO":
        panel.edit(key)
    assert field.value == "*NOME"
    panel.edit("ERASE_EOF")
    assert field.value == "*NO" and field.changed
    panel.edit("HOME")
    panel.edit("INSERT")
    panel.edit("X")
    assert field.value == "X*NO"
    for key in "ABC":
        panel.edit(key)                   # full: inserting stops at the field's length
    assert field.value == "XAB*NO"
    panel.focus_on(0)
    panel.edit("ERASE_FIELD")
    assert field.value == ""


# --- the prompter ---------------------------------------------------------------------------

def test_chgsmtpa_prompt_shows_stored_values_and_passes_only_changes(qroot, cl):
    assert cl("chgsmtpa", "ALWRLY(*BOTH) RTYMIN(5 15) TBLSMTPOUT(MYLIB/OUTTBL) "
              "ALIASDMN((1 'a.example.com')) RBLSVR(zen.example.org)").returncode == 0
    panel = prompter.PromptPanel(load("CHGSMTPA"))
    assert [f.text for f in fields_of(panel, "ALWRLY")] == ["*BOTH"]
    assert [f.text for f in fields_of(panel, "RTYMIN")] == ["5", "15"]
    assert [f.text for f in fields_of(panel, "TBLSMTPOUT")] == ["OUTTBL", "MYLIB"]
    assert [f.text for f in fields_of(panel, "ALIASDMN")] == ["(1 a.example.com)"]
    assert [f.text for f in fields_of(panel, "PORT")] == ["2525"]
    assert panel.command_text() == "CHGSMTPA"
    fields_of(panel, "RTYMIN")[1].value = "20"
    fields_of(panel, "SYSNAME")[0].value = "Mail.Example.COM"
    fields_of(panel, "ALIASDMN")[0].value += " (2 'b.example.net')"
    text = panel.command_text()
    assert text == ("CHGSMTPA RTYMIN(5 20) SYSNAME('Mail.Example.COM') "
                    "ALIASDMN((1 a.example.com) (2 'b.example.net'))")
    bound = compile_text(text)
    assert bound["ALIASDMN"] == [(1, "a.example.com"), (2, "b.example.net")]
    assert bound["SYSNAME"] == "Mail.Example.COM" and bound["ALWRLY"] == "*SAME"


def test_other_commands_start_from_their_defaults():
    panel = prompter.PromptPanel(load("ADDSMTPLE"))
    assert [f.text for f in fields_of(panel, "SUBNETMASK")] == ["255.255.255.255"]
    assert [f.text for f in fields_of(panel, "IP6PFX")] == ["128"]
    assert panel.command_text() == "ADDSMTPLE"
    fields_of(panel, "TYPE")[0].value = "*accept"
    fields_of(panel, "INTNETADR")[0].value = "10.1.1.0"
    fields_of(panel, "SUBNETMASK")[0].value = "255.255.255.0"
    assert panel.command_text() == "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')"


def test_values_written_on_the_command_are_kept_as_written():
    stmt = parse("?ADDSMTPLE *NEAR HOSTNAME(Near.Example) SUBNETMASK('*N')")
    cmd, given, modes = prompter.request(stmt)
    panel = prompter.PromptPanel(cmd, given, modes)
    assert [f.text for f in fields_of(panel, "SUBNETMASK")] == ["'*N'"]
    assert panel.command_text() == "ADDSMTPLE TYPE(*NEAR) SUBNETMASK('*N') HOSTNAME(Near.Example)"
    assert panel.field.key == "INTNETADR"       # the cursor starts on the first value not given


@pytest.mark.parametrize("text, spec_keyword, expected", [
    ("10.1.1.1", "INTNETADR", "'10.1.1.1'"),
    ("O'Brien", "HOSTNAME", "'O''Brien'"),
    ("*accept", "TYPE", "*ACCEPT"),
    ("'quoted'", "HOSTNAME", "'quoted'"),
    ("128", "IP6PFX", "128"),
])
def test_field_text_to_cl(text, spec_keyword, expected):
    assert promptfields.cl_value(text, load("ADDSMTPLE").by_keyword[spec_keyword]) == expected


def test_selective_prompting_modes():
    stmt = parse("?ADDSMTPLE ??TYPE(*REJECT) ?*INTNETADR('10.1.1.1') ?<SUBNETMASK('255.0.0.0') "
                 "?-HOSTNAME(x.example) ?&FTRDATA(a) ?%IP6PFX(64)")
    cmd, given, modes = prompter.request(stmt)
    assert modes == {"TYPE": "input", "INTNETADR": "protected", "SUBNETMASK": "input-default",
                     "HOSTNAME": "hidden", "FTRDATA": "more-input", "IP6PFX": "more-protected"}
    panel = prompter.PromptPanel(cmd, given, modes)
    assert [p.parm.keyword for p in panel.visible()] == ["TYPE", "INTNETADR", "SUBNETMASK"]
    panel.show_all = True
    assert [p.parm.keyword for p in panel.visible()] == ["TYPE", "INTNETADR", "SUBNETMASK",
                                                         "FTRDATA", "IP6PFX"]
    # ?< and ?& pass the default unless changed; ?% always the default; ?- and ?* as written.
    assert panel.command_text() == "ADDSMTPLE TYPE(*REJECT) INTNETADR('10.1.1.1') HOSTNAME(x.example)"
    fields_of(panel, "SUBNETMASK")[0].value = "255.255.0.0"
    assert "SUBNETMASK('255.255.0.0')" in panel.command_text()


@pytest.mark.parametrize("text, msgid", [
    ("ADDSMTPLE ?-TYPE(*ACCEPT)", "QTS1007"),
    ("?ADDSMTPLE ?/TYPE(*ACCEPT)", "QTS1006"),
    ("?ADDSMTPLE ??NOSUCH()", "CPD0043"),
    ("?NOSUCHCMD", "CPD0030"),
])
def test_selective_prompting_errors(text, msgid):
    with pytest.raises(CLError) as error:
        prompter.request(parse(text))
    assert error.value.messages[0].id == msgid


def test_wants_prompt():
    assert prompter.wants_prompt(parse("?DSPSMTPA"))
    assert prompter.wants_prompt(parse("CHGSMTPA ??ALWRLY()"))
    assert not prompter.wants_prompt(parse("CHGSMTPA ALWRLY(*LIST)"))


# --- WRKSMTPLE's analysis -------------------------------------------------------------------

def rows_of(root, type_name):
    return list(entrylist.load_rows(root, [lt.LIST_TYPES[type_name]]))


def test_overlaps_and_shadows(qroot, cl):
    for command in ("*ACCEPT INTNETADR('10.1.0.0') SUBNETMASK('255.255.0.0')",
                    "*ACCEPT INTNETADR('10.1.1.7')",
                    "*REJECT INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')",
                    "*NEAR HOSTNAME('.example.com')", "*DOMAIN HOSTNAME('mail.example.com')",
                    "*ACCEPT INTNETADR('192.168.1.1')"):
        assert cl("addsmtple", command).returncode == 0, command
    wide, host, lone = rows_of(qroot, "*ACCEPT")
    assert entrylist.overlaps(qroot, lone) == []
    found = entrylist.overlaps(qroot, host)
    assert ("*ACCEPT", "10.1.0.0 255.255.0.0", "covers this entry: this entry adds nothing") in found
    assert ("*REJECT", "10.1.1.0 255.255.255.0",
            "refuses every client of this entry at connect: it shadows this entry") in found
    assert ("*REJECT", "10.1.1.0 255.255.255.0", "refuses some clients of this entry at connect") \
        in entrylist.overlaps(qroot, wide)
    reject = rows_of(qroot, "*REJECT")[0]
    assert ("*ACCEPT", "10.1.1.7 255.255.255.255",
            "shadowed by this entry: its clients are refused at connect") in entrylist.overlaps(qroot, reject)
    near = rows_of(qroot, "*NEAR")[0]
    assert entrylist.overlaps(qroot, near) == [
        ("*DOMAIN", "mail.example.com", "part of this domain is local mail")]


@pytest.mark.parametrize("list_type, alwrly, word", [
    ("*ACCEPT", "*LIST", "Yes"), ("*ACCEPT", "*NEAR", "No"), ("*ACCEPT", "*ALL", "No"),
    ("*NEAR", "*BOTH", "Yes"), ("*NEAR", "*LIST", "No"), ("*REJECT", "*NONE", "Yes"),
    ("*DOMAIN", "*NONE", "Yes"), ("*SVRBIND", "*LIST", "At start"),
])
def test_in_effect(list_type, alwrly, word):
    assert entrylist.in_effect(lt.LIST_TYPES[list_type], alwrly)[0] == word


def test_filter_lists_are_in_effect_under_ftracn(qroot, cl):
    # FTRACN, not ALWRLY, decides: *NONE (shipped) filters nothing.
    assert entrylist.in_effect(lt.LIST_TYPES["*FTRSUBJECT"], "*ALL")[0] == "No"
    assert cl("chgsmtpa", "FTRACN(*REFUSE)").returncode == 0
    word, sentence = entrylist.in_effect(lt.LIST_TYPES["*FTRFILNAME"], "*LIST")
    assert word == "Yes" and "refused at the end of DATA" in sentence


@pytest.mark.parametrize("add", [
    "*ACCEPT INTNETADR('10.1.1.5') SUBNETMASK('255.255.255.0')",
    "*ACCEPTIP6 IP6NETADR('2001:db8::1') IP6PFX(64)",
    "*NEAR INTNETADR('172.16.0.0') SUBNETMASK('255.240.0.0')",
    "*NEAR HOSTNAME('.Example.ORG')",
    "*DOMAIN HOSTNAME('mail.example.com') INTNETADR('10.0.0.1')",
    "*SVRBIND INTNETADR('10.0.0.2')",
    "*SVRBNDIP6 IP6NETADR('fe80::1')",
    "*FTRSUBJECT FTRDATA('Win a prize, it''s free')",
    "*HOSTAUTH HOSTNAME(hub.example.net) USERNAME(u) PASSWORD(p)",
    "*ETRNSVR HOSTNAME(etrn.example.net)",
])
def test_remove_command_names_the_entry(qroot, cl, add):
    type_name = add.split()[0]
    list_type = lt.LIST_TYPES[type_name]
    before = len(rows_of(qroot, type_name))
    assert cl("addsmtple", add).returncode == 0, add
    row = rows_of(qroot, type_name)[-1]
    outcome = execute.run_text(entrylist.remove_command(row))
    assert not outcome.failed, [str(m) for m in outcome.messages]
    assert [m.id for m in outcome.messages] == ["TCP2661"]
    assert len(rows_of(qroot, type_name)) == before
    assert list_type.type == row.list_type.type


def test_rows_are_made_on_demand(qroot):
    path = qroot / "QUSRSYS" / "QATMADRLST" / "ACCEPTRLY"
    path.write_text("# a comment\n10.0.0.1 255.255.255.255\n\n10.0.0.2 255.255.255.255\n")
    rows = entrylist.load_rows(qroot, [lt.LIST_TYPES["*ACCEPT"], lt.LIST_TYPES["*SVRBIND"]])
    assert len(rows) == 3
    assert (rows[0].number, rows[1].number, rows[2].record) == (2, 4, "127.0.0.1")
    assert rows[-1].list_type.type == "*SVRBIND"
    with pytest.raises(IndexError):
        rows[3]


# --- running commands from panels -------------------------------------------------------------

def test_output_of_programs_and_their_children_is_captured(capfd):
    with execute.captured() as lines:
        print("from python")
        subprocess.run(["sh", "-c", "echo from a child; echo to stderr >&2"], check=True)
    assert lines == ["from python", "from a child", "to stderr"]
    assert capfd.readouterr().out == ""


def test_passwords_are_left_out_of_the_logged_command(qroot):
    text = "ADDSMTPLE *HOSTAUTH HOSTNAME(h.example) USERNAME(u) PASSWORD('pw''x')"
    bound = compile_text(text)
    assert logged_text(bound, text) == "ADDSMTPLE *HOSTAUTH HOSTNAME(h.example) USERNAME(u)"


def test_history_keeps_the_last_commands_owner_only(tmp_path):
    path = tmp_path / "state" / "cmdhistory"
    history = History(path)
    for n in range(2 * KEEP + 50):
        assert history.add(f"DSPSMTPA /* {n:04d} {'x' * 70} */") is None
    kept = path.read_text().splitlines()
    assert len(kept) <= 2 * KEEP and kept[-1].startswith(f"DSPSMTPA /* {2 * KEEP + 49:04d}")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = History(path)
    assert again.retrieve().startswith(f"DSPSMTPA /* {2 * KEEP + 49:04d}")
    assert again.retrieve().startswith(f"DSPSMTPA /* {2 * KEEP + 48:04d}")


def test_history_that_cannot_be_written_is_a_warning(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    warning = History(blocker / "cmdhistory").add("DSPSMTPA")
    assert warning is not None and warning.id == "QTS1010"


# --- what panels import -----------------------------------------------------------------------

def test_panels_never_load_the_server_asyncio_or_aiosmtpd(qroot):
    code = (
        "import sys\n"
        "import qtsmtp.panels.wrksmtple, qtsmtp.panels.wrkactjob, qtsmtp.panels.cmdline\n"
        "from qtsmtp.panels import relaytest\n"
        "relaytest.decide('10.1.1.1', 'a@far.example')\n"
        "bad = [m for m in sys.modules if m in ('asyncio', 'aiosmtpd') or m.startswith('aiosmtpd.')\n"
        "       or m in ('qtsmtp.server.worker', 'qtsmtp.server.handler', 'qtsmtp.server.supervisor',\n"
        "                'qtsmtp.server.protocol', 'qtsmtp.queue.writer', 'qtsmtp.delivery.job')]\n"
        "print(bad)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={"QTSMTP_ROOT": str(qroot), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
