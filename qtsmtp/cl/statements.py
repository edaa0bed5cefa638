"""The parameters of program statements and of commands with variables in them.

The program statements (DCL, CHGVAR, IF, SNDPGMMSG ...) are defined in commands/*.cmd
like every command, so their keywords, positional order, prompts and help come from one
source; but their values are expressions and variable names, which the engine takes
as written, so they are read here rather than bound by cl.binder.

A command with a variable or an expression in a value is checked as far as it can be
when the program is checked (its keywords; the values without variables) and bound
each time it runs, once its values are known: ``makers`` builds that statement.
"""

from __future__ import annotations

import getpass
import os
import re
import time

from qtsmtp.cl import expression as ex
from qtsmtp.cl.binder import assign, bind_value, default
from qtsmtp.cl.definition import Command
from qtsmtp.cl.engine import ImmediateMessage
from qtsmtp.cl.parser import Keyword, Scalar, Statement, ValueList
from qtsmtp.cl.variables import C, N, as_text
from qtsmtp.messages import (
    CATALOGUE,
    COMPLETION,
    DIAGNOSTIC,
    ESCAPE,
    INFORMATIONAL,
    CLError,
    Message,
)

VARIABLE_NAME = re.compile(r"&[A-Z$#@][A-Z0-9$#@_]{0,9}\Z")
MESSAGE_ID = re.compile(r"[A-Z][A-Z0-9]{2}[0-9A-F]{4}\Z")
MESSAGE_TYPES = {"*INFO": INFORMATIONAL, "*COMP": COMPLETION, "*DIAG": DIAGNOSTIC, "*ESCAPE": ESCAPE}
RETURN_TYPES = {COMPLETION: "01", DIAGNOSTIC: "02", INFORMATIONAL: "04", ESCAPE: "15"}


def arguments(stmt: Statement, cmd: Command, diagnostics: list) -> dict:
    """keyword -> the value as written (a ValueList), or None; faults go to diagnostics."""
    assigned = assign(stmt, cmd, diagnostics)
    for parm in cmd.parms:
        if parm.min and parm.keyword not in assigned:
            diagnostics.append(Message("CPD0007", parm.keyword))
    return {parm.keyword: assigned.get(parm.keyword) for parm in cmd.parms}


def constant(cmd: Command, keyword: str, node, diagnostics: list):
    """A parameter that must be written as a constant, bound by its definition."""
    parm = cmd.by_keyword[keyword]
    if node is None:
        return default(parm)
    if ex.is_dynamic(node):
        diagnostics.append(Message("QTS0026", f"{keyword} must be written as a value, "
                                              f"without variables or operators"))
        return None
    try:
        return bind_value(parm, node)
    except CLError as error:
        diagnostics.extend(error.messages)
        return None


def variable(node, variables: dict, diagnostics: list, kinds=None, what: str = ""):
    """The declared variable a parameter names (``&X``), or None after a diagnostic."""
    if node is None:
        return None
    name = ex.node_text(node).strip().upper()
    if not VARIABLE_NAME.match(name):
        diagnostics.append(Message("QTS0026", f"{what or 'the value'} must be a variable "
                                              f"name (& and 1 to 10 characters), not {name}"))
        return None
    var = variables.get(name)
    if var is None:
        diagnostics.append(Message("CPD0727", name))
        return None
    if kinds and var.type not in kinds:
        diagnostics.append(Message("QTS0026", f"{what} needs a {' or '.join(kinds)} variable; "
                                              f"{name} is {var.type}"))
        return None
    return var


def expression(node, variables: dict, diagnostics: list, logical: bool = False):
    """A compiled expression, or None after a diagnostic."""
    text = ex.node_text(node)
    try:
        return (ex.compile_logical if logical else ex.compile_expression)(text, variables)
    except CLError as error:
        diagnostics.extend(error.messages)
        return None


# --- commands with variables -------------------------------------------------------------------

def command_makers(stmt: Statement, cmd: Command, variables: dict, diagnostics: list):
    """A function that writes ``stmt`` with its variables' current values, or None."""
    args = arguments(stmt, cmd, diagnostics)
    parts = []
    for keyword, node in args.items():
        if node is None:
            continue
        if not ex.is_dynamic(node):
            try:
                bind_value(cmd.by_keyword[keyword], node)   # found now, not on the run
            except CLError as error:
                diagnostics.extend(error.messages)
            parts.append((keyword, lambda node=node: node))
            continue
        maker = _value_maker(node, variables, diagnostics)
        if maker is not None:
            parts.append((keyword, maker))
    if diagnostics:
        return None
    template = Statement(stmt.command, library=stmt.library, line=stmt.line)

    def make(_stmt: Statement) -> Statement:
        return template.replace(keywords=[(keyword, maker()) for keyword, maker in parts])
    return make


def _value_maker(node: ValueList, variables: dict, diagnostics: list):
    """ValueList -> a function making it with values for its variables and expressions."""
    items = node.items
    whole = len(items) > 1 and any(_is_operator(i) for i in items)
    if whole or (len(items) == 1 and not isinstance(items[0], ValueList)):
        if len(items) == 1 and not whole and isinstance(items[0], Scalar) and not ex.is_dynamic(items[0]):
            fixed = ValueList(items)
            return lambda: fixed
        expr = expression(node, variables, diagnostics)
        if expr is None:
            return None
        run = expr.run
        return lambda: ValueList([_scalar(run())])
    makers = []
    for item in items:
        if isinstance(item, ValueList):
            inner = _value_maker(item, variables, diagnostics)
            if inner is None:
                return None
            makers.append(inner)
        elif ex.is_dynamic(item):
            inner = _value_maker(ValueList([item]), variables, diagnostics)
            if inner is None:
                return None
            makers.append(lambda inner=inner: inner().items[0])
        else:
            makers.append(lambda item=item: item)
    return lambda: ValueList([m() for m in makers])


def _is_operator(item) -> bool:
    if isinstance(item, Keyword):
        return item.name.startswith("%")
    return isinstance(item, Scalar) and not item.quoted and (
        item.text.upper() in ex.OPERATORS or ex.is_dynamic(item) and not item.text.startswith("&"))


def _scalar(value) -> Scalar:
    text = as_text(value)
    # A special value held in a variable is still a special value (*ACCEPT); any other
    # text is passed as written, case and all, as a quoted string would be.
    return Scalar(text, quoted=isinstance(value, str) and not text.startswith("*"))


# --- SNDPGMMSG, RCVMSG, RTVJOBA ------------------------------------------------------------------

def send_program_message(cmd, args, variables, diagnostics):
    kind = constant(cmd, "MSGTYPE", args["MSGTYPE"], diagnostics) or "*INFO"
    message_type = MESSAGE_TYPES.get(kind, INFORMATIONAL)
    if args["MSG"] is None and args["MSGID"] is None:
        diagnostics.append(Message("CPD0007", "MSG or MSGID"))
        return None
    if args["MSGID"] is None:
        if message_type == ESCAPE:
            diagnostics.append(Message("QTS0028", kind))
            return None
        text = expression(args["MSG"], variables, diagnostics)
        if text is None:
            return None
        run = text.run
        return lambda m: m.send_program_message(ImmediateMessage(as_text(run()), message_type))
    msgid = expression(args["MSGID"], variables, diagnostics)
    data = expression(args["MSGDTA"], variables, diagnostics) if args["MSGDTA"] is not None else None
    if msgid is None or (args["MSGDTA"] is not None and data is None):
        return None
    if msgid.constant:
        known = as_text(msgid.run()).upper()
        if known not in CATALOGUE:
            diagnostics.append(Message("QTS0033", known))
            return None

    def send(machine):
        identifier = as_text(msgid.run()).upper()
        if identifier not in CATALOGUE:
            raise CLError([Message("QTS0033", identifier)])
        values = [as_text(data.run())] if data is not None else []
        wanted = max((int(n) for n in re.findall(r"&(\d+)", CATALOGUE[identifier][1])), default=0)
        values += [""] * (wanted - len(values))
        machine.send_program_message(Message(identifier, *values, type=message_type))
    return send


def receive_message(cmd, args, variables, diagnostics):
    kind = constant(cmd, "MSGTYPE", args["MSGTYPE"], diagnostics) or "*ANY"
    remove = (constant(cmd, "RMV", args["RMV"], diagnostics) or "*YES") == "*YES"
    kind = {"*COMP": COMPLETION, "*DIAG": DIAGNOSTIC, "*INFO": INFORMATIONAL}.get(kind, kind)
    targets = {}
    for keyword in ("MSG", "MSGDTA", "MSGID", "RTNTYPE", "SEV"):
        kinds = None if keyword == "SEV" else ("*CHAR",)
        var = variable(args[keyword], variables, diagnostics, kinds, f"RCVMSG {keyword}")
        if var is not None:
            targets[keyword] = var

    def receive(machine):
        found = machine.receive(kind, remove)
        parts = {"MSG": found.text, "MSGDTA": "".join(found.data), "MSGID": found.id,
                 "RTNTYPE": RETURN_TYPES.get(found.type, "04"),
                 "SEV": found.severity} if found is not None else {}
        for keyword, var in targets.items():
            value = parts.get(keyword)
            if value is None:
                value = 0 if var.kind == N else ""
            var.store(value if var.kind != N or not isinstance(value, str) else value or 0)
    return receive


def retrieve_job(cmd, args, variables, diagnostics):
    targets = {}
    for keyword in ("JOB", "USER", "NBR", "TYPE", "DATE"):
        var = variable(args[keyword], variables, diagnostics, ("*CHAR",), f"RTVJOBA {keyword}")
        if var is not None:
            targets[keyword] = var

    def retrieve(machine):
        values = {"JOB": "QTSMTPRUN", "USER": _user(), "NBR": f"{os.getpid() % 1000000:06d}",
                  "TYPE": "1" if os.isatty(0) else "0", "DATE": time.strftime("%y%m%d")}
        for keyword, var in targets.items():
            var.store(values[keyword])
    return retrieve


def _user() -> str:
    try:
        return getpass.getuser().upper()[:10]
    except (KeyError, OSError):      # no name for this uid (a container)
        return f"UID{os.getuid()}"[:10]


def is_char(var) -> bool:
    return var.kind == C
