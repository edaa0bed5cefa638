"""The batch runner for CL source files: ``qtsmtp run FILE`` (``-`` for standard input).

Like CRTBNDCL then CALL: the whole script is parsed and bound first, so a script with
a syntax error runs nothing and changes nothing; then its commands run in order.
``MONMSG MSGID(...)`` right after a command lets the script go on past the escape
messages it names (generic IDs such as CPF0000 or TCP2600 name a family); MONMSG before
the first command applies to every command (a program-level MONMSG, as on IBM i).
Otherwise the first escape message ends the script, naming its line.

A script that uses the statements of CL programs (PGM, DCL, CHGVAR, IF, DOFOR, GOTO,
MONMSG EXEC ...) or variables is a CL program: it is checked whole by cl.program and run
by cl.engine. A plain script (commands and MONMSG MSGID only) takes the short way
below, which is what a 10,000-line list load needs.

Changes are group-committed: appends are fsynced together, at least every 1,024 commands
or 0.25 s, and each command's completion message is written only after its change is
durable.
"""

from __future__ import annotations

import time

from qtsmtp.cl.binder import Bound
from qtsmtp.cl.command import command_name, compile_statement, with_escape
from qtsmtp.cl.lexer import logical_lines
from qtsmtp.cl.parser import parse
from qtsmtp.messages import DIAGNOSTIC, CLError, Message, monitors, send
from qtsmtp.store.member import group_commit

# Runs one bound command: its messages, or CLError. The front door passes the processing
# programs' runner (qtsmtp.programs.runner.run_bound); the language knows no programs.
# (For type checkers only: typing, and dataclasses, are 10 ms of every qtsmtp run.)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    RunBound = Callable[[Bound], list[Message]]

# Group commit: at most this many changes, or this long, between a change and its message.
# Each group costs two fsyncs (the journal, the member); at 50 ms a loaded machine made
# groups of a few dozen commands, and fsyncs were most of a 10,000-line script's time.
GROUP_COMMANDS = 1024
GROUP_SECONDS = 0.25

# The statements of CL programs (commands/*.cmd without PGM, other than MONMSG).
PROGRAM_STATEMENTS = frozenset({
    "PGM", "ENDPGM", "DCL", "CHGVAR", "IF", "ELSE", "DO", "ENDDO", "DOWHILE", "DOUNTIL",
    "DOFOR", "LEAVE", "ITERATE", "SELECT", "WHEN", "OTHERWISE", "ENDSELECT", "GOTO",
    "SNDPGMMSG", "RCVMSG", "RTVJOBA"})


class Step:
    """A command of a plain script: its line, the bound command, and the message IDs
    the MONMSG commands right after it monitor."""

    __slots__ = ("line", "bound", "monitored")

    def __init__(self, line: int, bound: Bound, monitored: list[str] | None = None):
        self.line, self.bound = line, bound
        self.monitored = [] if monitored is None else monitored

    def __repr__(self) -> str:
        return f"Step(line={self.line!r}, bound={self.bound!r}, monitored={self.monitored!r})"


def compile_script(source: str) -> tuple[list[Step], list[str], list[tuple[int, CLError]]]:
    """Steps, program-level MONMSG IDs, and the errors found (line, error)."""
    steps, program_monitors, errors, _ = _compile(source)
    return steps, program_monitors, errors


class _Program(Exception):
    """The script is a CL program: cl.program checks it, not this plain compiler."""


def _compile(source: str):
    steps: list[Step] = []
    program_monitors: list[str] = []
    errors: list[tuple[int, CLError]] = []
    try:
        for line, text in logical_lines(source):
            try:
                stmt = parse(text, line)
                if stmt is None or stmt.command is None:
                    continue
                _plain(stmt, text)
                bound = compile_statement(stmt)
            except CLError as error:
                name = command_name(text)
                if name in PROGRAM_STATEMENTS or "&" in text:
                    raise _Program() from None
                errors.append((line, with_escape(error, name)))
                continue
            if bound.command.name == "MONMSG":
                ids = bound["MSGID"]
                if steps:
                    steps[-1].monitored.extend(ids)
                elif not errors:
                    program_monitors.extend(ids)
                continue
            steps.append(Step(line, bound))
    except _Program:
        return [], [], [], True
    return steps, program_monitors, errors, False


def _plain(stmt, text: str) -> None:
    """Raise _Program for a statement only a CL program has; refuse prompting."""
    if stmt.command in PROGRAM_STATEMENTS:
        raise _Program()
    if stmt.command == "MONMSG" and any(k in ("EXEC", "CMPDTA") for k, _ in stmt.keywords):
        raise _Program()
    if "&" in text or "%" in text:
        # Expressions (and decimal with them) only for a line that may hold one.
        from qtsmtp.cl.expression import is_dynamic
        if any(is_dynamic(node) for node in stmt.positional + [v for _, v in stmt.keywords]):
            raise _Program()
    if stmt.prompt or any(k.startswith("?") for k, _ in stmt.keywords):
        # A script runs without a display: ?CMD and ??KWD cannot prompt (F4 can).
        raise CLError([Message("QTS1008", stmt.command, type=DIAGNOSTIC)])


def run_script(source: str, name: str, run_bound: RunBound, out=None, err=None,
               parameters: list | None = None) -> int:
    """Run a script or CL program; ``parameters``: the values of PGM PARM, as Scalars."""
    steps, program_monitors, errors, program = _compile(source)
    if program:
        return run_program(source, name, run_bound, out, err, parameters or [])
    if parameters:
        send([Message("CPD0172"), Message("CPF0001", "CALL")], out, err)
        return 2
    if errors:
        report_errors(errors, name, out, err)
        return 2
    unconfirmed = False      # a running server job did not confirm a change (TCP2665)
    with group_commit() as group:
        held: list[Message] = []      # reported once the changes behind them are durable
        held_since = 0.0

        def release() -> None:
            nonlocal unconfirmed
            late = group.flush() or []    # durable; then every server job told, once a group
            unconfirmed = unconfirmed or bool(late)
            send(held + late, out, err)
            held.clear()

        for step in steps:
            try:
                messages = run_bound(step.bound)
            except CLError as error:
                release()
                send(error.messages, out, err)
                escape_id = error.escape.id
                if any(monitors(g, escape_id) for g in step.monitored + program_monitors):
                    continue
                send([Message("QTS0001", name, step.line, escape_id)], out, err)
                return 1
            if not held:
                held_since = time.monotonic()
            held.extend(messages)
            if group.count >= GROUP_COMMANDS or time.monotonic() - held_since >= GROUP_SECONDS:
                release()
        release()
    send([Message("QTS0002", name, len(steps))], out, err)
    return 3 if unconfirmed else 0


def run_program(source: str, name: str, run_bound: RunBound, out=None, err=None,
                parameters: list | None = None, limit: int | None = None) -> int:
    """Check a CL program whole, then run it (exit status as qtsmtp(1) gives it)."""
    from qtsmtp.cl import engine, program as checker   # the program engine: only for programs
    program, errors = checker.check(source, name)
    if errors:
        report_errors(errors, name, out, err)
        return 2
    parameters = parameters or []
    if len(parameters) != len(program.parameters):
        send([Message("CPD0172"), Message("CPF0001", "CALL")], out, err)
        return 2
    machine = engine.Machine(program, run_bound, out, err, limit or engine.MAX_STATEMENTS)
    for variable, value in zip(program.parameters, parameters):
        try:
            variable.store(value)
        except CLError as error:
            send(error.messages + [Message("CPF0001", "CALL")], out, err)
            return 2
    return machine.run()


def report_errors(errors: list[tuple[int, CLError]], name: str, out=None, err=None) -> None:
    """The statements in error, each with its line, then QTS0005: nothing was run."""
    for line, error in errors:
        send([_at_line(m, name, line) if i == 0 else m for i, m in enumerate(error.messages)],
             out, err)
    send([Message("QTS0005", name, len(errors), errors[0][0])], out, err)


def _at_line(message: Message, name: str, line: int) -> Message:
    # The first message of a failed line says where it is.
    located = Message(message.id, *message.data, type=message.type,
                      detail=f"At {name} line {line}." + (f" {message.detail}" if message.detail else ""))
    return located

