"""Running one CL command: definition -> binding -> processing program -> messages.

The registry maps each command to its processing program as "module:function" and
imports it only when that command runs (pip's lazy command registry), so a configuration
command never loads the server, asyncio or aiosmtpd.
"""

from __future__ import annotations

import importlib
import os
import sys

from qtsmtp.cl import definition
from qtsmtp.cl.binder import Bound, bind
from qtsmtp.messages import COMPLETION, ESCAPE, CLError, Message
from qtsmtp.cl.parser import Statement

PROGRAMS = {
    "ADDSMTPLE": "qtsmtp.programs.lists:addsmtple",
    "RMVSMTPLE": "qtsmtp.programs.lists:rmvsmtple",
    "CHGSMTPA": "qtsmtp.programs.attributes:chgsmtpa",
    "DSPSMTPA": "qtsmtp.programs.attributes:dspsmtpa",
    "STRTCPSVR": "qtsmtp.programs.tcpsvr:strtcpsvr",
    "ENDTCPSVR": "qtsmtp.programs.tcpsvr:endtcpsvr",
    "WRKACTJOB": "qtsmtp.panels.wrkactjob:wrkactjob",   # the panel; *PRINT: qtsmtp.programs.wrkactjob
    "WRKSMTPLE": "qtsmtp.panels.wrksmtple:wrksmtple",
    "SNDSMTPEMM": "qtsmtp.programs.sndsmtpemm:sndsmtpemm",
    "ADDUSRSMTP": "qtsmtp.config.users:addusrsmtp",
    "CHGUSRSMTP": "qtsmtp.config.users:chgusrsmtp",
    "RMVUSRSMTP": "qtsmtp.config.users:rmvusrsmtp",
    "WRKSMTPQ": "qtsmtp.programs.wrksmtpq:wrksmtpq",
    "ADDSMTPAUT": "qtsmtp.config.credentials:addsmtpaut",
    "CHGSMTPAUT": "qtsmtp.config.credentials:chgsmtpaut",
    "RMVSMTPAUT": "qtsmtp.config.credentials:rmvsmtpaut",
    "ADDEXITPGM": "qtsmtp.config.exitreg:addexitpgm",
    "RMVEXITPGM": "qtsmtp.config.exitreg:rmvexitpgm",
    "WRKEXITPGM": "qtsmtp.config.exitreg:wrkexitpgm",
    "ADDSMTPSBM": "qtsmtp.config.submission:addsmtpsbm",
    "RMVSMTPSBM": "qtsmtp.config.submission:rmvsmtpsbm",
    "WRKSMTPSBM": "qtsmtp.config.submission:wrksmtpsbm",
}
# Commands that only mean something inside a CL script; the script runner handles them.
SCRIPT_ONLY = {"MONMSG"}
LIBRARIES = {None, "*LIBL", "QSYS", "QTCP"}


def resolve(stmt: Statement) -> definition.Command:
    """The definition a statement names, or CPD0030 + CPF0001."""
    cmd = definition.load(stmt.command) if stmt.library in LIBRARIES else None
    if cmd is None or (stmt.command not in PROGRAMS and stmt.command not in SCRIPT_ONLY):
        raise CLError([Message("CPD0030", stmt.command, stmt.library or "*LIBL"),
                       Message("CPF0001", stmt.command)])
    return cmd


def compile_statement(stmt: Statement) -> Bound:
    return bind(stmt, resolve(stmt))


def run_bound(bound: Bound) -> list[Message]:
    """Call the processing program; returns its messages or raises CLError."""
    name = bound.command.name
    if name in SCRIPT_ONLY:
        raise CLError([Message("QTS0006", name, type=ESCAPE)])
    module, _, function = PROGRAMS[name].partition(":")
    program = getattr(importlib.import_module(module), function)
    try:
        return program(bound) or []
    except CLError:
        raise
    except Exception:  # a bug must still end in a message, never a traceback
        if os.environ.get("QTSMTP_DEBUG"):
            import traceback  # only on this rare path: it costs start-up time
            traceback.print_exc()
        raise CLError([Message("TCP9999", name, type=ESCAPE,
                               detail="Set QTSMTP_DEBUG=1 to see the Python traceback.")]) from None


def send(messages: list[Message], out=None, err=None) -> None:
    """Completion messages to standard output, everything else to standard error."""
    out = out or sys.stdout
    err = err or sys.stderr
    for message in messages:
        stream = out if message.type == COMPLETION else err
        stream.write(f"{message}\n")
        if message.detail:
            stream.write(f"  {message.detail}\n")


def with_escape(error: CLError, command: str | None) -> CLError:
    """Make sure a failed command ends in an escape message (CPF0001 after bare diagnostics)."""
    if error.escape.type == ESCAPE or error.escape.id == "CPF0001" or not command:
        return error
    return CLError(error.messages + [Message("CPF0001", command)])
