"""The option form from the shell: typer's answer, without loading typer when it is plain.

The option form's interface is the command's typer app (qtsmtp.shell.typerapp): --help,
completion and every mistake are answered there. Importing typer alone costs about four
times a bare ``python -c pass`` on a normal install, so an invocation that is certainly
well formed (qtsmtp.cl.optionform.well_formed_statement: the same definition, the same
value parsing, the same binder) and binds without a message runs without it; anything
else goes to the typer app, which then says what typer always said.
tests/functional/test_option_form_fast_path.py runs every case both ways and compares
the answers.

``QTSMTP_OPTIONS_THROUGH_TYPER=1`` sends every invocation through the typer app, for that
comparison and for measuring the typer app's own cost (qtsmtp(1) ENVIRONMENT).
"""

from __future__ import annotations

import os

from qtsmtp.cl.binder import Bound, bind
from qtsmtp.cl.definition import Command
from qtsmtp.cl.optionform import well_formed_statement
from qtsmtp.messages import CLError

THROUGH_TYPER = "QTSMTP_OPTIONS_THROUGH_TYPER"


def bound_from_options(cmd: Command, prog: str, argv: list[str]) -> Bound | int:
    """The bound command, or the exit status typer answered with itself (--help,
    --show-completion); CLError for an invocation that is not valid."""
    if os.environ.get(THROUGH_TYPER, "") in ("", "0"):
        statement = well_formed_statement(cmd, argv)
        if statement is not None:
            try:
                return bind(statement, cmd)
            except CLError:
                pass        # the typer app says what is wrong, as it always has
    from qtsmtp.shell import typerapp  # typer: only when the fast path is not sure
    return typerapp.bound_from_options(cmd, prog, argv)
