"""Processing programs of ADDSMTPLE and RMVSMTPLE."""

from __future__ import annotations

from qtsmtp.cl.binder import Bound
from qtsmtp.messages import CLError, Message, escape
from qtsmtp.config import attrstatus
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import entry_from_parms, open_relay_warning
from qtsmtp.config.lists import ListMember
from qtsmtp.jobs.notify import confirm_change
from qtsmtp.store.root import data_directory


def addsmtple(bound: Bound) -> list[Message]:
    list_type, entry = _named_entry(bound, adding=True)
    root = data_directory()          # a str: no pathlib on the CL path (store.root)
    passed_over = _change(root, list_type, lambda member: member.add(entry))
    # Returns once every running server job applies it (or names the one that did not).
    warning = open_relay_warning(entry)
    return (passed_over + attrstatus.list_diagnostic(list_type)
            + _filter_note(root, list_type)
            + confirm_change(root) + [Message("TCP2660")] + ([warning] if warning else []))


def _filter_note(root, list_type: lt.ListType) -> list[Message]:
    """A filter entry under FTRACN(*NONE) is stored and does nothing: say so."""
    if list_type.kind != lt.TEXT:
        return []
    # The attributes (TOML) only here: every other ADDSMTPLE starts without them.
    from qtsmtp.config import attributes
    return [Message("TCP7007")] if attributes.load(root).get("FTRACN") == "*NONE" else []


def rmvsmtple(bound: Bound) -> list[Message]:
    list_type, entry = _named_entry(bound, adding=False)
    root = data_directory()          # a str: no pathlib on the CL path (store.root)
    passed_over = _change(root, list_type, lambda member: member.remove(entry))
    return passed_over + confirm_change(root) + [Message("TCP2661")]


def _change(root, list_type: lt.ListType, change) -> list[Message]:
    """``change`` (ListMember -> None) made under the member's lock; returns the
    messages naming the records passed over (TCP2671, TCP2673), which go before the
    escape message too when the change fails (TCP2650 duplicate, TCP2651 not found):
    the operator hears of the bad lines from every command on the list."""
    with ListMember(root, list_type) as member:
        try:
            change(member)
        except CLError as error:
            raise CLError(member.index.passed_over + error.messages) from None
    return member.index.passed_over


def _named_entry(bound: Bound, adding: bool):
    list_type = lt.LIST_TYPES[bound["TYPE"]]
    allowed = list_type.add_parms if adding else list_type.rmv_parms
    return list_type, entry_from_parms(list_type, _given_for_type(bound, allowed, list_type))


def _given_for_type(bound: Bound, allowed: frozenset, list_type: lt.ListType) -> dict:
    """The values the user gave, checked against what this TYPE takes."""
    key = (bound.command.name, bound.given, allowed, list_type.type)
    checked = _checked_keywords.get(key)
    if checked is None:
        checked = _checked_keywords[key] = _keywords_for_type(bound, allowed, list_type)
    if not isinstance(checked, frozenset):
        raise escape(*checked)
    return {k: bound[k] for k in checked}


# (command, keywords given, keywords allowed, list type) -> the keywords to take, or the
# message refusing them: what the check finds depends on nothing else, and a script's
# commands mostly give the same keywords.
_checked_keywords: dict[tuple, frozenset | tuple] = {}


def _keywords_for_type(bound: Bound, allowed: frozenset, list_type: lt.ListType
                       ) -> frozenset | tuple:
    given = bound.given - {"TYPE"}
    for keyword in bound.command.by_keyword:
        if keyword in given and keyword not in allowed:
            return "TCP2652", keyword, list_type.type
    for one_of in list_type.required:
        candidates = [k for k in one_of if k in allowed]
        if candidates and not any(k in given for k in candidates):
            return "TCP2653", " or ".join(candidates), list_type.type
    return given
