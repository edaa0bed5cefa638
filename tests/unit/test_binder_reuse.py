"""The binder remembers, per command definition, what binding each parameter takes (its
default, when that cannot change in place) and the bound value of a parameter given as
one word or string (qtsmtp.cl.binder: _plan, _bind_given), because a script binds the
same command thousands of times. What it binds must be what it bound without them:
every row of the CL table, bound with nothing remembered, then after every other row."""

from __future__ import annotations

from qtsmtp.cl import binder
from qtsmtp.cl.command import compile_text
from qtsmtp.messages import CLError
from test_cl_table import ERR, OK

TEXTS = [text for text, _ in OK + ERR] + [
    "ADDSMTPSBM PRF(joe) ACCESS(*ALLOW)", "ADDSMTPSBM PRF('joe') ACCESS(*ALLOW)",
    "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.1') SUBNETMASK('255.255.255.0')",
    "ADDSMTPLE TYPE(*accept) INTNETADR('10.1.1.1') SUBNETMASK('255.255.255.0')",
    "ADDSMTPLE TYPE('*ACCEPT') INTNETADR('10.1.1.1')",
    "ADDSMTPLE TYPE(*ACCEPT) INTNETADR(*N)",
]


def outcome(text: str):
    try:
        bound = compile_text(text)
    except CLError as error:
        return [(m.id, m.data) for m in error.messages]
    return bound.values, sorted(bound.given)


def forget(monkeypatch) -> None:
    for cache in ("_plans", "_scalars", "_defaults"):
        monkeypatch.setattr(binder, cache, {})


def test_every_row_binds_alike_with_and_without_what_was_remembered(monkeypatch):
    fresh = {}
    for text in TEXTS:
        forget(monkeypatch)
        fresh[text] = outcome(text)
    forget(monkeypatch)
    for order in (TEXTS, TEXTS, TEXTS[::-1]):     # each row after every other remembered
        assert [outcome(text) for text in order] == [fresh[text] for text in order]


def test_a_quoted_value_and_the_same_word_unquoted_are_bound_apart():
    unquoted = compile_text("ADDSMTPSBM PRF(joe) ACCESS(*ALLOW)")["PRF"]
    quoted = compile_text("ADDSMTPSBM PRF('joe') ACCESS(*ALLOW)")["PRF"]
    assert compile_text("ADDSMTPSBM PRF(joe) ACCESS(*ALLOW)")["PRF"] == unquoted
    assert compile_text("ADDSMTPSBM PRF('joe') ACCESS(*ALLOW)")["PRF"] == quoted
    assert (unquoted, quoted) == ("JOE", "joe")


def test_a_value_that_can_change_in_place_is_never_shared():
    text = "CHGSMTPA ALWAUTH(*LOCAL *RELAY)"
    first, second = compile_text(text), compile_text(text)
    assert first["ALWAUTH"] == second["ALWAUTH"] == ["*LOCAL", "*RELAY"]
    assert first["ALWAUTH"] is not second["ALWAUTH"]
    # A list parameter left out: its default, a new list each time (PGM PARM()).
    first, second = compile_text("PGM"), compile_text("PGM")
    assert first["PARM"] == second["PARM"] == [] and first["PARM"] is not second["PARM"]
