"""Completing CL text from the command definitions: ``ADDS`` -> ``ADDSMTPLE``,
``INT`` -> ``INTNETADR(``, ``TYPE(*AC`` -> ``TYPE(*ACCEPT)``.

The shells' side (the words a shell hands over, its quoting, the answer's format) is
qtsmtp.shell.completion's; this module only knows CL. Its answers are whole CL tokens:
the text of the last token, completed.
"""

from __future__ import annotations

from qtsmtp.cl import definition
from qtsmtp.cl.definition import Command, Parm


def command_candidates(prefix: str, names: list[str]) -> list[str]:
    """The command names that start with ``prefix``, in the case it is typed in."""
    lower = prefix.islower()
    found = [n for n in names if n.startswith(prefix.upper())]
    return [n.lower() for n in found] if lower else found


def last_token_start(text: str) -> int | None:
    """Where the last CL token of ``text`` begins; None inside a quoted string or a
    nested list (nothing there to complete from the definition)."""
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char.isspace() and depth == 0:
            start = index + 1
    if quoted or depth > 1:
        return None
    return start


def parameter_candidates(cmd: Command, text: str) -> list[str]:
    """Completions of the last token of ``text`` (the command's parameters so far, in CL)."""
    start = last_token_start(text)
    if start is None:
        return []
    before, token = text[:start], text[start:]
    used, positional = _written(cmd, before)
    keyword, paren, value = token.partition("(")
    if paren:
        parm = cmd.by_keyword.get(keyword.upper())
        if parm is None or " " in value or "'" in value:
            return []
        return [f"{keyword}({v})" for v in _matching(values_of(parm), value)]
    out = []
    if token.startswith("*") and not used and positional < len(cmd.positional):
        out += _matching(values_of(cmd.positional[positional]), token)
    lower = token.islower()
    for parm in cmd.parms:
        if parm.keyword not in used and parm.keyword.startswith(token.upper()):
            out.append((parm.keyword.lower() if lower else parm.keyword) + "(")
    return out


def values_of(parm: Parm) -> list[str]:
    """What a parameter may be given from its definition alone: its special values and,
    for a restricted one, its values."""
    listed = parm.values if parm.rstd else []
    return list(dict.fromkeys([*parm.special_values(), *listed]))


def _matching(values: list[str], prefix: str) -> list[str]:
    lower = prefix.islower()
    found = [v for v in values if v.upper().startswith(prefix.upper())]
    return [v.lower() for v in found] if lower else found


def _written(cmd: Command, before: str) -> tuple[set[str], int]:
    """The keywords already written, and how many positional values came before them."""
    used: set[str] = set()
    positional = 0
    for token in _tokens(before):
        keyword, paren, _ = token.partition("(")
        if paren and keyword.upper() in cmd.by_keyword:
            used.add(keyword.upper())
        elif not used:
            positional += 1
    for parm in cmd.positional[:positional]:
        used.add(parm.keyword)
    return used, positional


def _tokens(text: str) -> list[str]:
    tokens, current, depth, quoted = [], "", 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(depth - 1, 0)
        if char.isspace() and depth == 0 and not quoted:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def line_candidates(text: str) -> list[str]:
    """Completions of a whole command line (``qtsmtp "ADDSMTPLE TYPE(*AC``): the command
    name while it is the only word, else the last token for that command."""
    stripped = text.lstrip()
    name, blank, rest = stripped.partition(" ")
    if not blank:
        return command_candidates(name, definition.runnable_command_names())
    cmd = definition.load(name.upper())
    if cmd is None:
        return []
    return parameter_candidates(cmd, rest)
