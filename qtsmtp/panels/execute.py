"""Running a CL command from a panel: the same parse, bind and processing program as the
console commands, with what the program writes kept off the screen.

Output a processing program writes (DSPSMTPA, a printed report) is captured and handed to
the panel, and the terminal's file descriptors are pointed away from the screen while it
runs, so a process it starts cannot draw over the display. Commands that show a panel of
their own (WRKSMTPLE, WRKACTJOB with OUTPUT(*)) run in the open terminal session instead.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field

from qtsmtp.cl.binder import Bound
from qtsmtp.messages import CLError, Message
from qtsmtp.cl.parser import Statement, parse
from qtsmtp.cl.runner import compile_statement, run_bound, with_escape

# Commands whose processing program shows a panel when OUTPUT is *.
PANEL_COMMANDS = {"WRKSMTPLE", "WRKACTJOB"}


@dataclass
class Outcome:
    command: str                                    # the command as it is logged
    messages: list[Message] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    failed: bool = False
    result: object = None                           # what a panel command's panel returned


def statement(text: str) -> Statement:
    """The statement in ``text``; CLError (CPD0031 ...) when there is none or it is bad."""
    stmt = parse(text)
    if stmt is None or stmt.command is None:
        raise CLError([Message("CPD0031")])
    return stmt


def run_text(text: str) -> Outcome:
    try:
        bound = compile_statement(statement(text))
    except CLError as error:
        return Outcome(text, with_escape(error, command_name(text)).messages, failed=True)
    return run(bound, text)


def run(bound: Bound, text: str) -> Outcome:
    outcome = Outcome(logged_text(bound, text))
    name = bound.command.name
    try:
        if name in PANEL_COMMANDS and bound.values.get("OUTPUT") == "*":
            outcome.messages = run_bound(bound)
        else:
            with captured() as output:
                outcome.messages = run_bound(bound)
            outcome.output = output
    except CLError as error:
        outcome.messages, outcome.failed = error.messages, True
    return outcome


def logged_text(bound: Bound, text: str) -> str:
    """The command for logs and history: values of DSPINPUT(*NO) parameters left out."""
    hidden = [p.keyword for p in bound.command.parms if not p.display_input]
    if not any(k in bound.given for k in hidden):
        return " ".join(text.split("\n"))
    try:
        stmt = parse(text)
    except CLError:
        return bound.command.name
    stmt.keywords = [(k, v) for k, v in stmt.keywords if k.lstrip("?*<&%-/") not in hidden]
    stmt.prompt = False
    return str(stmt)


def command_name(text: str) -> str | None:
    words = text.split()
    if not words:
        return None
    word = words[1] if words[0].endswith(":") and len(words) > 1 else words[0]
    return word.split("(")[0].lstrip("?").upper().rpartition("/")[2] or None


@contextmanager
def captured():
    """Collect what is written to standard output and error, at both levels: Python's
    streams, and the descriptors a child process would inherit. Yields a list that holds
    the lines once the block ends."""
    import tempfile        # here: it costs start-up time, and most panels never run a command
    lines: list[str] = []
    text = io.StringIO()
    saved = []
    spool = tempfile.TemporaryFile()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        for sys_stream in (sys.stdout, sys.stderr):
            try:
                sys_stream.flush()
            except (OSError, ValueError):
                pass
        for fd in (0, 1, 2):
            saved.append(os.dup(fd))
        os.dup2(devnull, 0)
        os.dup2(spool.fileno(), 1)
        os.dup2(spool.fileno(), 2)
        with redirect_stdout(text), redirect_stderr(text):
            yield lines
    finally:
        for fd, copy in zip((0, 1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
        spool.seek(0)
        child_text = spool.read().decode("utf-8", "replace")
        spool.close()
        lines.extend((text.getvalue() + child_text).splitlines())
