"""The Unix option form of a command: ``addsmtple --type accept --intnetadr 10.1.1.1``.

It builds the same Statement the CL parser builds, from the same definition, so both
forms are validated, defaulted and documented by one set of rules. From the shell the
options are parsed by the command's typer app (qtsmtp.shell.typerapp), which hands each
value to ``option_value`` here; ``statement_from_options`` parses them without typer,
for the F4 prompter (``addsmtple --prompt --type accept``), which must not load it.
Conventions:

* ``--keyword VALUE`` or ``--keyword=VALUE``; keywords are the CL keywords in lower case.
* A special value may be written without its asterisk where that cannot be mistaken for
  a name: for restricted or numeric parameters (``--type accept``, ``--alwrly list``,
  ``--autostart yes``, ``--ccsid dft``). Character values and list elements need the
  asterisk (``--mailrouter '*none'``, ``--rtymin "*same 10"``).
* A character value is taken literally: case, blanks and apostrophes are kept.
* Element lists and qualified names are written as in CL, without the parentheses:
  ``--rtymin "5 10"``, ``--tblsmtpout qgpl/mytbl``.
* Giving a list parameter several times adds its values: ``--rblsvr a --rblsvr b``.
"""

from __future__ import annotations

from qtsmtp.cl.definition import NUMERIC_TYPES, Command, Parm
from qtsmtp.cl.parser import Scalar, Statement, ValueList, parse
from qtsmtp.messages import CLError, Message


def is_option_form(argv: list[str]) -> bool:
    return any(a.startswith("--") for a in argv)


def statement_from_options(cmd: Command, argv: list[str]) -> Statement:
    keywords: dict[str, ValueList] = {}
    diagnostics: list[Message] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("--"):
            raise CLError([Message("QTS0011", arg), Message("CPF0001", cmd.name)])
        name, has_value, value = arg[2:].partition("=")
        parm = cmd.by_keyword.get(name.upper().replace("-", ""))
        if parm is None:
            diagnostics.append(Message("CPD0043", name.upper()))
            if not has_value and index < len(argv) and not argv[index].startswith("--"):
                index += 1
            continue
        if not has_value:
            if index >= len(argv):
                diagnostics.append(Message("QTS0010", arg))
                break
            value = argv[index]
            index += 1
        items = option_value(parm, value).items
        if parm.keyword in keywords and parm.max > 1:
            keywords[parm.keyword].items.extend(items)
        elif parm.keyword in keywords:
            diagnostics.append(Message("CPD0012", parm.keyword))
        else:
            keywords[parm.keyword] = ValueList(items)
    if diagnostics:
        raise CLError(diagnostics + [Message("CPF0001", cmd.name)])
    return Statement(cmd.name, keywords=list(keywords.items()))


def well_formed_statement(cmd: Command, argv: list[str]) -> Statement | None:
    """The Statement the command's typer app hands on for ``argv`` (the one
    qtsmtp.shell.typerapp.statement_from makes: keywords in the definition's order, the
    values of a repeated list option in the order given), when ``argv`` is certainly
    well formed: every argument an option of the command, by a name click would match
    to it, each with its value, none given twice unless it takes a list, no value that
    CL cannot read. None when anything is less plain (--help, -h, ``--``, an unknown or
    repeated option, a separate value argument that starts with ``-``, a word that is
    not an option, a control character...): the typer app decides those, and answers as
    it always has."""
    given: dict[str, list[str]] = {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        name, has_value, value = arg.partition("=")
        if not (name.startswith("--") and name[2:3].isalpha() and name.isascii()):
            return None
        # click's token_normalize_func in the typer app: any case, hyphens inside ignored
        parm = cmd.by_keyword.get(name[2:].replace("-", "").upper())
        if parm is None:
            return None
        if not has_value:
            if index == len(argv) or argv[index].startswith("-"):
                return None
            value = argv[index]
            index += 1
        if not value.isprintable():      # control characters, or bytes not in the locale
            return None
        values = given.setdefault(parm.keyword, [])
        if values and parm.max == 1:
            return None
        values.append(value)
    try:
        keywords = [(parm.keyword, ValueList([item for value in given[parm.keyword]
                                              for item in option_value(parm, value).items]))
                    for parm in cmd.parms if parm.keyword in given]
    except CLError:
        return None
    return Statement(cmd.name, keywords=keywords)


def option_value(parm: Parm, text: str) -> ValueList:
    if parm.is_compound or parm.max > 1:
        # Structured values are written in CL; borrow the parser for them. A value
        # whose ")" closes V( early is not one list (``a) AUTOSTART(*NO``): refused as
        # the CL form refuses it, not cut there with the rest dropped.
        stmt = parse(f"X V({text})")
        if len(stmt.keywords) != 1:
            raise CLError([Message("CPD0013")])
        return stmt.keywords[0][1]
    upper = text.strip().upper()
    specials = parm.special_values()
    if upper in specials:
        return ValueList([Scalar(upper)])
    bare_allowed = parm.rstd or parm.type in NUMERIC_TYPES
    if bare_allowed and "*" + upper in specials:
        return ValueList([Scalar("*" + upper)])
    if parm.type in NUMERIC_TYPES or parm.type in ("*NAME", "*CNAME", "*GENERIC") or parm.rstd:
        return ValueList([Scalar(text.strip())])
    return ValueList([Scalar(text, quoted=True)])
