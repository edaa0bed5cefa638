"""The one table of what each SMTP attribute does here (qtsmtp.config.attrstatus):
every CHGSMTPA keyword acts, with a named end-to-end test that exists, or has no effect,
with a diagnostic of ours that says why; CHGSMTPA's help agrees with it."""

from __future__ import annotations

import ast

import pytest

from qtsmtp.cl.definition import load
from qtsmtp.config import attrstatus
from qtsmtp.config.attributes import SHIPPED
from qtsmtp.config.listtypes import LIST_TYPES
from qtsmtp.messages import CATALOGUE, DIAGNOSTIC
from support import CHECKOUT

KEYWORDS = [parm.keyword for parm in load("CHGSMTPA").parms]


def test_every_keyword_is_on_exactly_one_side():
    acts, inert = set(attrstatus.ACTS), set(attrstatus.NO_EFFECT)
    assert not acts & inert, acts & inert
    assert acts | inert == set(KEYWORDS), (acts | inert) ^ set(KEYWORDS)


def _test_names(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test_")}


@pytest.mark.parametrize("keyword", sorted(attrstatus.ACTS))
def test_an_acting_keyword_names_a_test_that_exists_and_uses_it(keyword):
    file, _, name = attrstatus.ACTS[keyword].partition("::")
    path = CHECKOUT / file
    assert path.is_file(), f"{keyword}: {file} does not exist"
    assert name in _test_names(path), f"{keyword}: {file} has no {name}"
    assert file.split("/")[1] in ("e2e", "delivery", "security", "esmtp"), \
        f"{keyword}: {file} is not an end-to-end test"


@pytest.mark.parametrize("keyword", sorted(attrstatus.NO_EFFECT))
def test_a_keyword_without_effect_has_a_message_that_says_why(keyword):
    msgid = attrstatus.NO_EFFECT[keyword]
    assert msgid[:3] == "TCP" and 2700 <= int(msgid[3:]) <= 2749, msgid
    severity, text = CATALOGUE[msgid]
    assert severity == 20
    assert text.startswith("&1 stored; it has no effect ") and len(text) > 60, text


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_chgsmtpa_help_agrees_with_the_table(keyword):
    text = " ".join(load("CHGSMTPA").by_keyword[keyword].help.split())
    assert not text.endswith("Stored.")
    msgid = attrstatus.NO_EFFECT.get(keyword)
    if msgid is None:
        assert "No effect" not in text, keyword
    else:
        assert "effect" in text and msgid in text, (keyword, text)


def test_diagnostic_only_for_a_value_other_than_the_shipped_one():
    sent = attrstatus.diagnostics({"CCSID": 500, "DIALSCD": ["*YES", "PROFILE1", 30],
                                   "TBLTYPE": "*SYSTEM", "ALWRLY": "*NONE"}, SHIPPED)
    assert [(m.id, m.type) for m in sent] == [("TCP2702", DIAGNOSTIC), ("TCP2704", DIAGNOSTIC)]
    assert sent[0].text.startswith("CCSID(500) stored; it has no effect here")
    assert sent[1].data[0] == "DIALSCD(*YES PROFILE1 30)"


def test_every_list_type_acts_or_says_why_not():
    for list_type in LIST_TYPES.values():
        said = attrstatus.list_diagnostic(list_type)
        if list_type.acted_on:
            assert not said and list_type.type not in attrstatus.LIST_NO_EFFECT
        else:
            assert [m.id for m in said] == ["TCP2730"]
            assert list_type.type in attrstatus.LIST_NO_EFFECT
