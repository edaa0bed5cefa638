"""Property: whatever text comes in, the CL front end answers with a binding or a CL message.

Nothing else: no Python exception of any other kind, for any command.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qtsmtp.cl.binder import Bound
from qtsmtp.cl.definition import command_names, load
from qtsmtp.cl.lexer import logical_lines
from qtsmtp.messages import CLError
from qtsmtp.cl.optionform import statement_from_options
from qtsmtp.cl.parser import parse
from qtsmtp.cl.command import compile_statement
from qtsmtp.cl.script import compile_script

NAMES = command_names()
KEYWORDS = sorted({p.keyword for n in NAMES for p in load(n).parms} | {"FOO", "TYPE"})
SPECIALS = ["*ACCEPT", "*SAME", "*N", "*NONE", "*ALL", "*DFT", "*YES", "*LIBL", "*", "**"]

# Pieces CL is made of, so that random text often reaches the binder, not just the lexer.
piece = st.one_of(
    st.sampled_from(NAMES + KEYWORDS + SPECIALS + ["(", ")", "'", "''", "/*", "*/", "+\n", "-\n",
                                                   "\n", " ", "/", ":", "?", "QGPL/*ALL"]),
    st.from_regex(r"[A-Za-z0-9.*'()/ :-]{0,12}", fullmatch=True),
    st.text(max_size=6),
)
cl_text = st.lists(piece, max_size=25).map("".join)


def _answer(text: str):
    try:
        for _, logical in logical_lines(text):
            stmt = parse(logical)
            if stmt is not None and stmt.command is not None:
                assert isinstance(compile_statement(stmt), Bound)
    except CLError as error:
        assert error.messages and all(m.id and m.text for m in error.messages)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cl_text)
def test_random_text_is_bound_or_answered_with_a_message(text):
    _answer(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_unicode_is_bound_or_answered_with_a_message(text):
    _answer(text)


keyword_form = st.builds(
    lambda name, pairs: name + " " + " ".join(f"{k}({v})" for k, v in pairs),
    st.sampled_from(NAMES),
    st.lists(st.tuples(st.sampled_from(KEYWORDS), cl_text), max_size=6),
)


@settings(max_examples=1000, deadline=None)
@given(keyword_form)
def test_keyword_form_with_random_values(text):
    _answer(text)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(NAMES),
       st.lists(st.one_of(st.sampled_from(["--" + k.lower() for k in KEYWORDS] + ["--", "--type=accept"]),
                          st.text(max_size=10)), max_size=8))
def test_option_form_is_bound_or_answered_with_a_message(name, argv):
    try:
        statement_from_options(load(name), argv)
    except CLError as error:
        assert error.messages


@settings(max_examples=300, deadline=None)
@given(st.lists(cl_text, max_size=8).map("\n".join))
def test_scripts_compile_or_report_errors(source):
    steps, monitors, errors = compile_script(source)
    assert all(isinstance(e, CLError) for _, e in errors)
