"""From CL text to a bound command: the language's half of running a command.

Every way in (a console script, ``qtsmtp "CMD ..."``, a script line, a panel's ``===>``)
compiles through here, so a command is named, checked and bound one way only. Running
the bound command is the processing program's business (qtsmtp.programs.runner).
"""

from __future__ import annotations

from qtsmtp.cl import definition
from qtsmtp.cl.binder import Bound, bind
from qtsmtp.cl.lexer import logical_lines
from qtsmtp.cl.parser import Statement, parse
from qtsmtp.messages import ESCAPE, CLError, Message

# The libraries a command may be qualified with: ours are all "in QSYS" as IBM's are.
LIBRARIES = {None, "*LIBL", "QSYS", "QTCP"}


def resolve(stmt: Statement) -> definition.Command:
    """The definition a statement names, or CPD0030 + CPF0001."""
    cmd = definition.load(stmt.command) if stmt.library in LIBRARIES else None
    if cmd is None:
        raise CLError([Message("CPD0030", stmt.command, stmt.library or "*LIBL"),
                       Message("CPF0001", stmt.command)])
    return cmd


def compile_statement(stmt: Statement) -> Bound:
    return bind(stmt, resolve(stmt))


def statement(text: str) -> Statement:
    """The one command in ``text`` (continued lines joined); CPD0031 when there is none."""
    if "\n" in text:
        text = " ".join(t for _, t in logical_lines(text))
    stmt = parse(text)
    if stmt is None or stmt.command is None:
        raise CLError([Message("CPD0031")])
    return stmt


def compile_text(text: str) -> Bound:
    """Parse and bind one command; CLError (ending in an escape message) when it is bad."""
    try:
        return compile_statement(statement(text))
    except CLError as error:
        raise with_escape(error, command_name(text)) from None


def command_name(text: str) -> str | None:
    """The command a line names, for messages about a line that did not parse: the word
    after an optional label, without ``?`` prompting or a library qualifier."""
    words = text.split()
    if not words:
        return None
    word = words[1] if words[0].endswith(":") and len(words) > 1 else words[0]
    return word.split("(")[0].lstrip("?").upper().rpartition("/")[2] or None


def with_escape(error: CLError, command: str | None) -> CLError:
    """Make sure a failed command ends in an escape message (CPF0001 after bare diagnostics)."""
    if error.escape.type == ESCAPE or error.escape.id == "CPF0001" or not command:
        return error
    return CLError(error.messages + [Message("CPF0001", command)])
