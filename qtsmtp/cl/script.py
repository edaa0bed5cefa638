"""The batch runner for CL source files: ``qtsmtp run FILE`` (``-`` for standard input).

Like CRTBNDCL then CALL: the whole script is parsed and bound first, so a script with
a syntax error runs nothing and changes nothing; then its commands run in order.
``MONMSG MSGID(...)`` right after a command lets the script go on past the escape
messages it names (generic IDs such as CPF0000 or TCP2600 name a family); MONMSG before
the first command applies to every command (a program-level MONMSG, as on IBM i).
Otherwise the first escape message ends the script, naming its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtsmtp.cl.binder import Bound
from qtsmtp.cl.lexer import logical_lines
from qtsmtp.cl.messages import CLError, Message, monitors
from qtsmtp.cl.parser import parse
from qtsmtp.cl.runner import compile_statement, run_bound, send, with_escape


@dataclass
class Step:
    line: int
    bound: Bound
    monitored: list[str] = field(default_factory=list)


def compile_script(source: str) -> tuple[list[Step], list[str], list[tuple[int, CLError]]]:
    """Steps, program-level MONMSG IDs, and the errors found (line, error)."""
    steps: list[Step] = []
    program_monitors: list[str] = []
    errors: list[tuple[int, CLError]] = []
    for line, text in logical_lines(source):
        try:
            stmt = parse(text, line)
            if stmt is None or stmt.command is None:
                continue
            bound = compile_statement(stmt)
        except CLError as error:
            errors.append((line, with_escape(error, _first_word(text))))
            continue
        if bound.command.name == "MONMSG":
            ids = bound["MSGID"]
            if steps:
                steps[-1].monitored.extend(ids)
            elif not errors:
                program_monitors.extend(ids)
            continue
        steps.append(Step(line, bound))
    return steps, program_monitors, errors


def run_script(source: str, name: str, out=None, err=None) -> int:
    steps, program_monitors, errors = compile_script(source)
    if errors:
        for line, error in errors:
            send([_at_line(m, name, line) if i == 0 else m for i, m in enumerate(error.messages)],
                 out, err)
        send([Message("QTS0005", name, len(errors), errors[0][0])], out, err)
        return 2
    for step in steps:
        try:
            send(run_bound(step.bound), out, err)
        except CLError as error:
            send(error.messages, out, err)
            escape_id = error.escape.id
            if any(monitors(g, escape_id) for g in step.monitored + program_monitors):
                continue
            send([Message("QTS0001", name, step.line, escape_id)], out, err)
            return 1
    send([Message("QTS0002", name, len(steps))], out, err)
    return 0


def _at_line(message: Message, name: str, line: int) -> Message:
    # The first message of a failed line says where it is.
    located = Message(message.id, *message.data, type=message.type,
                      detail=f"At {name} line {line}." + (f" {message.detail}" if message.detail else ""))
    return located


def _first_word(text: str) -> str | None:
    words = text.split()
    if not words:
        return None
    word = words[1] if words[0].endswith(":") and len(words) > 1 else words[0]
    word = word.split("(")[0].lstrip("?").upper()
    return word.rpartition("/")[2] or None
