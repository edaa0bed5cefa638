"""Properties of CL programs built at random from the grammar: the check and the run
answer with messages and an exit status, never a traceback; and a program that fails
its check runs no command at all (so it changes no member)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtsmtp.cl.script import run_program, run_script
from qtsmtp.messages import CLError, Message

VARIABLES = ["&C", "&D", "&I", "&L", "&X"]          # &X is never declared
DECLARATIONS = ("DCL &C *CHAR 12 VALUE('10.1.1.1')\nDCL &D *DEC (5 2) VALUE(1.5)\n"
                "DCL &I *INT\nDCL &L *LGL VALUE('1')\n")
LABELS = ["L1", "L2", "L3", "TOOLONGLABEL1"]

atom = st.one_of(st.sampled_from(VARIABLES), st.integers(-999, 999).map(str),
                 st.sampled_from(["'abc'", "''", "'1'", "'0'", "'10.1.1.'", "1.25", "*ACCEPT"]))
operator = st.sampled_from(["+", "-", "*", "/", "*CAT", "||", "*BCAT", "*TCAT", "*EQ", "=",
                            "*GT", "<", "*AND", "*OR", "&", "|"])


@st.composite
def expressions(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(atom)
    kind = draw(st.sampled_from(["binary", "function", "paren", "not"]))
    if kind == "binary":
        return f"{draw(expressions(depth + 1))} {draw(operator)} {draw(expressions(depth + 1))}"
    if kind == "function":
        name = draw(st.sampled_from(["%SST", "%TRIM", "%CHAR", "%DEC", "%INT", "%LEN", "%NOPE"]))
        args = " ".join(draw(st.lists(expressions(depth + 1), min_size=1, max_size=3)))
        return f"{name}({args})"
    if kind == "not":
        return f"*NOT {draw(expressions(depth + 1))}"
    return f"({draw(expressions(depth + 1))})"


@st.composite
def statement(draw):
    expr = draw(expressions())
    var = draw(st.sampled_from(VARIABLES))
    label = draw(st.sampled_from(LABELS))
    return draw(st.sampled_from([
        f"CHGVAR {var} ({expr})",
        f"IF ({expr}) THEN(CHGVAR &I (&I + 1))",
        "ELSE CMD(CHGVAR &I 0)",
        f"IF ({expr}) THEN(DO)", "ENDDO", "DO",
        f"DOWHILE (&I *LT 3)\nCHGVAR &I (&I + 1)\nENDDO",
        "DOFOR &I 1 3", f"DOUNTIL ({expr})", "LEAVE", "ITERATE",
        "SELECT", f"WHEN ({expr}) THEN(CHGVAR &I 2)", "OTHERWISE CMD(CHGVAR &I 3)", "ENDSELECT",
        f"{label}: CHGVAR &I (&I + 1)", f"GOTO {label}",
        f"ADDSMTPLE *ACCEPT INTNETADR({expr})", "ADDSMTPLE *ACCEPT INTNETADR(&C)",
        "RMVSMTPLE *ACCEPT INTNETADR('10.9.9.9')", "MONMSG CPF0000", "MONMSG TCP2600 EXEC(GOTO L1)",
        f"MONMSG MSGID(TCP2651 MCH1210) EXEC(CHGVAR &C ({expr}))",
        f"SNDPGMMSG MSG({expr})", "SNDPGMMSG MSGID(CPF9898) MSGDTA('x') MSGTYPE(*ESCAPE)",
        "RCVMSG MSGTYPE(*LAST) MSGID(&C)", "RTVJOBA USER(&C)", "CHGSMTPA ??ALWRLY(*LIST)",
        f"DCL &Y *CHAR VALUE({expr})", "ENDPGM",
    ]))


programs = st.builds(lambda body, pgm: ("PGM\n" if pgm else "") + DECLARATIONS + "\n".join(body),
                     st.lists(statement(), max_size=12), st.booleans())


class Recorder:
    """Stands in for the command runner: commands are counted, the odd one fails."""

    def __init__(self):
        self.calls = 0

    def __call__(self, bound):
        self.calls += 1
        if self.calls % 3 == 0:
            raise CLError([Message("TCP2651", "accept relay list")])
        return [Message("TCP2660")]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_random_programs_answer_with_messages(source):
    runner = Recorder()
    out = io.StringIO()
    status = run_program(source, "r.clp", runner, out, out, limit=2000)
    assert status in (0, 1, 2, 3)
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("  ")]
    if status == 2:
        # Refused by the check: not one command ran.
        assert runner.calls == 0
        assert lines[-1].startswith("QTS0005 ")
    elif status == 1:
        assert lines and lines[-1].split()[0] in ("CPF9999", "CPF9898", "QTS0030")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(statement(), st.text(max_size=30)), max_size=8).map("\n".join))
def test_random_scripts_answer_with_messages(source):
    runner = Recorder()
    out = io.StringIO()
    status = run_script(source, "r.clp", runner, out, out)
    assert status in (0, 1, 2, 3)
    if status == 2:
        assert runner.calls == 0
