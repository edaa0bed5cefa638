"""Conditional prompting (IBM's PMTCTL) and "+ for more values", from the definitions:
the prompter shows ADDSMTPLE's and RMVSMTPLE's parameters for the chosen TYPE only, a
list parameter's values one per line; --help and the man pages say the same."""

from __future__ import annotations

import pytest

from qtsmtp.cl.definition import DefinitionError, compile_definition, load
from qtsmtp.cl.helptext import help_text, prompted_when
from qtsmtp.config import listtypes as lt
from qtsmtp.panels import prompter
from tmuxterm import expect_screen


@pytest.mark.parametrize("name", ["ADDSMTPLE", "RMVSMTPLE"])
def test_the_prompt_controls_give_each_type_the_parameters_it_takes(name):
    cmd = load(name)
    for type_value, list_type in lt.LIST_TYPES.items():
        shown = {p.keyword for p in cmd.parms
                 if p.keyword != "TYPE" and cmd.prompted(p, {"TYPE": type_value}, {"TYPE"})}
        taken = list_type.add_parms if name == "ADDSMTPLE" else list_type.rmv_parms
        assert shown == set(taken), type_value
    # No TYPE yet: nothing is known, every parameter is shown.
    assert all(cmd.prompted(p, {}, set()) for p in cmd.parms)


SOURCE = """
             CMD        PROMPT('Test') MAXPOS(1)
             PARM       KWD(KIND) TYPE(*CHAR) LEN(4) RSTD(*YES) VALUES(A B C) DFT(A) +
                          PROMPT('Kind')
             PARM       KWD(SIZE) TYPE(*INT2) DFT(1) PROMPT('Size')
             PARM       KWD(ONLYB) TYPE(*CHAR) LEN(4) PMTCTL(ISB) PROMPT('Only B')
             PARM       KWD(BIGNOTC) TYPE(*CHAR) LEN(4) PMTCTL(BIGNOTC) PROMPT('Big, not C')
             PARM       KWD(ASKED) TYPE(*CHAR) LEN(4) PMTCTL(*PMTRQS) PROMPT('Asked for')
ISB:         PMTCTL     CTL(KIND) COND((*EQ B))
BIGNOTC:     PMTCTL     CTL(SIZE) COND((*GT 10)) NBRTRUE(*EQ 1)
             PMTCTL     CTL(KIND) COND((*NE C)) LGLREL(*AND)
"""


def test_pmtctl_statements_as_ibm_writes_them():
    cmd = compile_definition("TEST", SOURCE)
    parm = cmd.by_keyword

    def shown(keyword, **values):
        return cmd.prompted(parm[keyword], {k.upper(): str(v) for k, v in values.items()},
                            set(values))
    assert shown("ONLYB", kind="B") and not shown("ONLYB", kind="A")
    assert shown("BIGNOTC", kind="A", size=11) and not shown("BIGNOTC", kind="C", size=11)
    assert not shown("BIGNOTC", kind="A", size=9)
    assert not shown("ASKED", kind="A") and cmd.prompted(parm["ASKED"], {}, set(), requested=True)
    assert prompted_when(cmd, parm["ONLYB"]) == "Prompted for KIND B."
    with pytest.raises(DefinitionError):
        compile_definition("BAD", SOURCE.replace("PMTCTL(ISB)", "PMTCTL(NOSUCH)"))
    with pytest.raises(DefinitionError):
        compile_definition("BAD", SOURCE.replace("CTL(KIND) COND((*EQ B))", "CTL(NOPE) COND((*EQ B))"))


def test_help_says_when_a_parameter_is_prompted():
    text = help_text(load("ADDSMTPLE"))
    assert "Prompted for TYPE *HOSTAUTH." in text.replace("\n    ", " ")


def test_the_prompter_passes_only_what_the_type_shows():
    panel = prompter.PromptPanel(load("ADDSMTPLE"), *prompter.request(
        prompter.command.statement("?ADDSMTPLE *FTRSUBJECT"))[1:])
    assert [p.parm.keyword for p in panel.visible()] == ["TYPE", "FTRDATA"]
    next(p for p in panel.prompts if p.parm.keyword == "IP6PFX").fields[0].value = "64"
    assert panel.command_text() == "ADDSMTPLE TYPE(*FTRSUBJECT)"


def test_choosing_a_type_shows_its_parameters(term, qroot):
    terminal = term("qtsmtp", "?ADDSMTPLE")
    terminal.wait_for("Add SMTP List Entry (ADDSMTPLE)")
    terminal.wait_for("IPv6 address")                  # no TYPE yet: every parameter
    terminal.keys("Home")
    terminal.type("*FTRSUBJECT")
    terminal.press("Enter", lambda lines: "IPv6 address" not in "\n".join(lines))
    expect_screen(terminal, "pmtctl_ftrsubject")
    terminal.wait_for_cursor(5, 36)                    # on the parameter that appeared
    terminal.type("Urgent: invoice")
    terminal.keys("Enter")
    assert terminal.wait_exit() == 0
    member = qroot / "QUSRSYS/QATMADRLST/FTRSUBJECT"
    assert member.read_text() == "Urgent: invoice\n"


def test_choosing_a_type_on_the_wide_display(term):
    terminal = term("qtsmtp", "?RMVSMTPLE *ACCEPTIP6", size=(132, 27))
    terminal.wait_for("Remove SMTP List Entry (RMVSMTPLE)")
    expect_screen(terminal, "pmtctl_rmvsmtple_132")


def test_more_values_one_per_line(term, cl):
    assert cl("addsmtple", "*ACCEPT INTNETADR('10.1.1.0') SUBNETMASK('255.255.255.0')").returncode == 0
    terminal = term("qtsmtp", "?TSTSMTPRLY")
    terminal.wait_for("Test SMTP Relay Decision (TSTSMTPRLY)")
    terminal.type("10.1.1.7")
    terminal.keys("Tab", "Tab")                        # Recipient, then its + for more values
    terminal.type("+")
    terminal.press("Enter", "Specify More Values for Parameter RCPT")
    terminal.type("a@far.example.org")
    terminal.keys("Tab")
    terminal.type("b@other.example.net")
    expect_screen(terminal, "more_values_rcpt")
    terminal.press("Enter", "Test SMTP Relay Decision (TSTSMTPRLY)")
    terminal.wait_for("a@far.example.org b@other.example.net")
    terminal.keys("Enter")
    assert terminal.wait_exit() == 0
    shown = terminal.scrollback()
    assert "TCP2680 Relay test: client 10.1.1.7 may send to every recipient given (2)." in shown
