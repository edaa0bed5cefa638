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
import tempfile
from contextlib import AbstractContextManager, contextmanager, nullcontext, redirect_stderr, redirect_stdout

from qtsmtp.cl.binder import Bound
from qtsmtp.programs import runner
from qtsmtp.programs.runner import Outcome

# Commands whose processing program shows a panel when OUTPUT is *.
PANEL_COMMANDS = {"WRKSMTPLE", "WRKACTJOB"}


def run_text(text: str) -> Outcome:
    return runner.run_text(text, capture=off_screen)


def run(bound: Bound, text: str) -> Outcome:
    return runner.run(bound, text, capture=off_screen)


def off_screen(bound: Bound) -> AbstractContextManager:
    """Where a program's output goes while a panel is shown: captured, unless the
    program shows a panel of its own."""
    if bound.command.name in PANEL_COMMANDS and bound.values.get("OUTPUT") == "*":
        return nullcontext([])
    return captured()


@contextmanager
def captured():
    """Collect what is written to standard output and error, at both levels: Python's
    streams, and the descriptors a child process would inherit. Yields a list that holds
    the lines once the block ends."""
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
