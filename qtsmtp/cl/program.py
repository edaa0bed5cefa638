"""The CL program checker: source -> a Program (instructions with jump targets), or errors.

As IBM's CL compiler does, the whole source is checked before anything runs, and every
statement in error is reported, each with its messages; a program with an error does not
run at all, so it changes nothing. What is checked: each statement's keywords and
values, every command without variables bound as it will run, variables declared
(CPD0727) and of the right type, expressions, labels (10 characters at most, defined
once, every GOTO target defined), DO/SELECT groups closed and nested at most 25 deep,
ELSE after an IF, WHEN and OTHERWISE in a SELECT, LEAVE and ITERATE in a loop, DCL
before the first command, program-level MONMSG (after the declarations) with only
GOTO as EXEC, and no prompting characters (a program runs without a display).

The instructions are cl.engine's; the statements' parameters are read by cl.statements.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from qtsmtp.cl import engine as e
from qtsmtp.cl import expression as ex
from qtsmtp.cl import statements as st
from qtsmtp.cl import variables as v
from qtsmtp.cl.binder import bind
from qtsmtp.cl.command import command_name, resolve
from qtsmtp.cl.flow import LOOPS, MAX_NESTING, Block, FlowStatements
from qtsmtp.cl.lexer import logical_lines
from qtsmtp.cl.parser import Statement, parse
from qtsmtp.cl.script import PROGRAM_STATEMENTS
from qtsmtp.messages import DIAGNOSTIC, CLError, Message

STATEMENTS = PROGRAM_STATEMENTS
_NOT_EMBEDDED = {"PGM", "ENDPGM", "DCL", "MONMSG", "ELSE", "ENDDO", "WHEN", "OTHERWISE",
                 "SELECT", "ENDSELECT"}


@dataclass
class Program:
    name: str                      # the program's name, as CPF9999 gives it
    source_name: str               # the file, as messages give it
    code: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    parameters: list = field(default_factory=list)
    monitors: list = field(default_factory=list)


@dataclass
class _Chain:
    """The MONMSG statements after one command."""
    instruction: e.Instruction
    skips: list = field(default_factory=list)


def program_name(source_name: str) -> str:
    stem = os.path.splitext(os.path.basename(source_name))[0].upper()
    word = "".join(c for c in stem if c.isalnum() or c in "$#@_")[:10]
    return word if word and not source_name.startswith("(") else "QTSMTPRUN"


def check(source: str, source_name: str) -> tuple[Program, list[tuple[int, CLError]]]:
    return _Checker(source_name).check(source)


class _Checker(FlowStatements):
    def __init__(self, source_name: str):
        self.program = Program(program_name(source_name), source_name)
        self.code = self.program.code
        self.variables = self.program.variables
        self.errors: list[tuple[int, CLError]] = []
        self.diagnostics: list[Message] = []
        self.labels: dict[str, int] = {}
        self.gotos: list[tuple[e.Jump | e.Monitor, str, int]] = []
        self.blocks: list[Block] = []
        self.pending_else: list[tuple[int, e.JumpUnless]] = []   # (embedding depth, its jump)
        self.depth = 0
        self.chain: _Chain | None = None
        self.last: e.Instruction | None = None     # what a MONMSG here would monitor
        self.phase = "start"                       # start, declare, monitors, body, ended
        self.parameter_names: list[tuple[str, int]] = []

    # --- the whole source -----------------------------------------------------------------------

    def check(self, source: str):
        for line, text in logical_lines(source):
            try:
                stmt = parse(text, line, program=True)
            except CLError as error:
                self._error(line, error.messages, _name(text))
                continue
            if stmt is None:
                continue
            self.line = line
            self.diagnostics = []
            try:
                self.statement(stmt)
            except CLError as error:
                self.diagnostics.extend(error.messages)
            if self.diagnostics:
                self._error(line, self.diagnostics, stmt.command)
        self.finish()
        self.errors.sort(key=lambda item: item[0])
        return self.program, self.errors

    def _error(self, line: int, messages: list[Message], command: str | None) -> None:
        messages = [m if m.id not in ("CPF0001",) else None for m in messages]
        messages = [Message(m.id, *m.data, type=DIAGNOSTIC) if m.type == "*ESCAPE" else m
                    for m in messages if m is not None]
        tail = [Message("CPF0001", command)] if command else []
        self.errors.append((line, CLError(messages + tail)))

    def finish(self) -> None:
        self.close_chain()
        self.close_else()
        for block in reversed(self.blocks):
            closer = "ENDSELECT" if block.kind == "SELECT" else "ENDDO"
            self._error(block.line, [Message("QTS0025", closer, block.kind, block.line)], None)
        for target, label, line in self.gotos:
            if label not in self.labels:
                self._error(line, [Message("QTS0022", label)], "GOTO")
            else:
                target.target = self.labels[label]
        for name, line in self.parameter_names:
            var = self.variables.get(name)
            if var is None:
                self._error(line, [Message("CPD0727", name)], "PGM")
            else:
                self.program.parameters.append(var)

    # --- one statement ----------------------------------------------------------------------------

    def statement(self, stmt: Statement) -> None:
        name = stmt.command
        if name != "MONMSG" and name != "ELSE":
            self.close_chain()
            self.close_else()
        if stmt.label:
            if stmt.label in self.labels:
                self.diagnostics.append(Message("QTS0021", stmt.label))
            self.labels[stmt.label] = len(self.code)
        if name is None:
            return
        if stmt.prompt or any(k.startswith("?") for k, _ in stmt.keywords):
            raise CLError([Message("QTS1008", name, type=DIAGNOSTIC)])
        if self.phase == "ended":
            raise CLError([Message("QTS0024", name, "ENDPGM is the last statement")])
        if name == "PGM":
            return self.pgm(stmt)
        if name == "DCL":
            return self.dcl(stmt)
        if name == "MONMSG":
            return self.monmsg(stmt)
        if self.phase != "body":
            self.phase = "body"
        if self.blocks and self.blocks[-1].kind == "SELECT" and name not in (
                "WHEN", "OTHERWISE", "ENDSELECT"):
            raise CLError([Message("QTS0024", name, "a SELECT group holds WHEN and OTHERWISE")])
        self.last = None
        handler = getattr(self, "s_" + name.lower(), None) if name in STATEMENTS else None
        if handler is not None:
            return handler(stmt)
        return self.command(stmt)

    def embedded(self, node, done, owner: str) -> None:
        """The command in THEN, ELSE CMD, WHEN THEN, OTHERWISE CMD or MONMSG EXEC."""
        text = ex.node_text(node).strip() if node is not None else ""
        if not text:
            return done()
        stmt = parse(text, self.line, program=True)
        if stmt is None or stmt.command is None or stmt.label:
            raise CLError([Message("QTS0024", owner, "its command is missing")])
        if stmt.command in _NOT_EMBEDDED and stmt.command != "DO" or stmt.prompt:
            raise CLError([Message("QTS0024", stmt.command, f"it cannot be the command of {owner}")])
        self.depth += 1
        try:
            if stmt.command == "DO":
                self.open(Block("DO", self.line, on_close=done))
            elif stmt.command in LOOPS:
                getattr(self, "s_" + stmt.command.lower())(stmt, done)
            elif stmt.command == "IF":
                self.s_if(stmt, done)
            else:
                handler = getattr(self, "s_" + stmt.command.lower(), None) \
                    if stmt.command in STATEMENTS else None
                (handler or self.command)(stmt)
                done()
        finally:
            self.depth -= 1

    def emit(self, instruction: e.Instruction, monitorable: bool = False) -> e.Instruction:
        self.code.append(instruction)
        self.last = instruction if monitorable else None
        return instruction

    def args(self, stmt: Statement) -> dict:
        return st.arguments(stmt, resolve(stmt), self.diagnostics)

    def open(self, block: Block) -> None:
        if sum(b.kind != "SELECT" for b in self.blocks) >= MAX_NESTING and block.kind != "SELECT" \
                or sum(b.kind == "SELECT" for b in self.blocks) >= MAX_NESTING:
            self.diagnostics.append(Message("QTS0024", block.kind, f"groups nest at most {MAX_NESTING} deep"))
        self.blocks.append(block)

    # --- declarations and the program's edges -----------------------------------------------------

    def pgm(self, stmt: Statement) -> None:
        if self.phase != "start" or self.code:
            raise CLError([Message("QTS0024", "PGM", "it must be the first statement")])
        args = self.args(stmt)
        self.phase = "declare"
        for item in (args["PARM"].items if args["PARM"] is not None else []):
            name = ex.node_text(item).strip().upper()
            if not st.VARIABLE_NAME.match(name):
                self.diagnostics.append(Message("QTS0026", f"PARM takes variable names, not {name}"))
            else:
                self.parameter_names.append((name, stmt.line))

    def dcl(self, stmt: Statement) -> None:
        if self.phase not in ("start", "declare"):
            raise CLError([Message("QTS0024", "DCL", "declarations come before the first command")])
        self.phase = "declare"
        cmd = resolve(stmt)
        args = st.arguments(stmt, cmd, self.diagnostics)
        name = ex.node_text(args["VAR"]).strip().upper() if args["VAR"] else ""
        kind = st.constant(cmd, "TYPE", args["TYPE"], self.diagnostics)
        length = st.constant(cmd, "LEN", args["LEN"], self.diagnostics) if args["LEN"] else (None, None)
        if self.diagnostics or not kind:
            return
        if not st.VARIABLE_NAME.match(name):
            raise CLError([Message("QTS0027", name, "a name is & and 1 to 10 characters")])
        if name in self.variables:
            raise CLError([Message("QTS0023", name)])
        length, decimals = length if length else (None, None)
        reason = v.check_declaration(kind, length, decimals)
        if reason:
            raise CLError([Message("QTS0027", name, reason)])
        var = v.Variable(name, kind, length, decimals)
        if args["VALUE"] is not None:
            expr = st.expression(args["VALUE"], {}, self.diagnostics)
            if expr is None or not expr.constant and expr.kind != v.N:
                if expr is not None:
                    self.diagnostics.append(Message("QTS0027", name, "VALUE must be a constant"))
                return
            try:
                value = expr.run()
                if var.kind == v.C and isinstance(value, str) and len(value) > var.length:
                    raise CLError([Message("QTS0027", name, f"VALUE is longer than LEN({var.length})")])
                var.store(value)
            except CLError as error:
                reason = error.messages[-1].text.rstrip(".")
                raise CLError([Message("QTS0027", name, reason)]) from None
        self.variables[name] = var

    def monmsg(self, stmt: Statement) -> None:
        cmd = resolve(stmt)
        args = st.arguments(stmt, cmd, self.diagnostics)
        ids = st.constant(cmd, "MSGID", args["MSGID"], self.diagnostics) or []
        compare = st.constant(cmd, "CMPDTA", args["CMPDTA"], self.diagnostics)
        compare = None if compare in (None, "*NONE") else compare
        for msgid in ids:
            if not st.MESSAGE_ID.match(msgid):
                self.diagnostics.append(Message("CPD0084", msgid, "MSGID"))
        if self.diagnostics:
            return
        monitor = e.Monitor(ids, compare)
        if self.phase in ("start", "declare", "monitors"):
            self.phase = "monitors"
            exec_text = ex.node_text(args["EXEC"]).strip() if args["EXEC"] is not None else ""
            if exec_text:
                target = parse(exec_text, self.line, program=True)
                if target is None or target.command != "GOTO":
                    raise CLError([Message("QTS0024", "MONMSG", "before the first command it monitors the whole program and its EXEC may only be GOTO; to monitor one command, put MONMSG after it")])
                self.goto_target(target, monitor)
            self.program.monitors.append(monitor)
            return
        if self.chain is None:
            if self.last is None:
                raise CLError([Message("QTS0024", "MONMSG", "it follows no command it can monitor")])
            self.chain = _Chain(self.last)
        chain = self.chain
        chain.instruction.monitors.append(monitor)
        if args["EXEC"] is None:
            return
        chain.skips.append(self.emit(e.Jump(self.line)))
        monitor.target = len(self.code)
        self.chain = None

        def done():
            chain.skips.append(self.emit(e.Jump(self.line)))
            self.chain = chain
            self.last = chain.instruction
        try:
            self.embedded(args["EXEC"], done, "MONMSG")
        finally:
            if not (self.blocks and self.blocks[-1].on_close is done):
                self.chain = chain
                self.last = chain.instruction

    def close_chain(self) -> None:
        if self.chain is not None:
            for skip in self.chain.skips:
                skip.target = len(self.code)
            self.chain.instruction.after = len(self.code)
            self.chain = None

    def close_else(self) -> None:
        for _, jump in self.pending_else:
            jump.target = len(self.code)
        self.pending_else.clear()

    # --- commands and simple statements -------------------------------------------------------

    def command(self, stmt: Statement) -> None:
        cmd = resolve(stmt)
        values = list(stmt.positional) + [node for _, node in stmt.keywords]
        if any(ex.is_dynamic(node) for node in values):
            makers = st.command_makers(stmt, cmd, self.variables, self.diagnostics)
            if makers is not None:
                self.emit(e.DynamicCommand(self.line, stmt, cmd, makers), monitorable=True)
            return
        self.emit(e.Command(self.line, bind(stmt, cmd)), monitorable=True)

    def s_chgvar(self, stmt: Statement) -> None:
        args = self.args(stmt)
        if self.diagnostics:
            return
        var, store = ex.compile_target(ex.node_text(args["VAR"]), self.variables)
        value = ex.compile_expression(ex.node_text(args["VALUE"]), self.variables)
        ex.check_assignable(var, value)
        self.emit(e.Assign(self.line, store, value.run), monitorable=True)

    def s_sndpgmmsg(self, stmt: Statement) -> None:
        self._call(stmt, st.send_program_message)

    def s_rcvmsg(self, stmt: Statement) -> None:
        self._call(stmt, st.receive_message)

    def s_rtvjoba(self, stmt: Statement) -> None:
        self._call(stmt, st.retrieve_job)

    def _call(self, stmt: Statement, make) -> None:
        cmd = resolve(stmt)
        args = st.arguments(stmt, cmd, self.diagnostics)
        if self.diagnostics:
            return
        function = make(cmd, args, self.variables, self.diagnostics)
        if function is not None and not self.diagnostics:
            self.emit(e.Call(self.line, function), monitorable=True)

    def s_goto(self, stmt: Statement) -> None:
        self.goto_target(stmt, self.emit(e.Jump(self.line)))

    def goto_target(self, stmt: Statement, target) -> None:
        args = self.args(stmt)
        label = ex.node_text(args["CMDLBL"]).strip().upper() if args["CMDLBL"] else ""
        if label and not _is_label(label):
            self.diagnostics.append(Message("QTS0020", label))
        elif label:
            self.gotos.append((target, label, self.line))

    def s_endpgm(self, stmt: Statement) -> None:
        self.args(stmt)
        self.emit(e.End(self.line))
        if not self.depth:
            self.phase = "ended"


def _is_label(word: str) -> bool:
    return bool(word) and len(word) <= 10 and (word[0].isalpha() or word[0] in "$#@") and all(
        c.isalnum() or c in "$#@_" for c in word)


def _name(text: str) -> str | None:
    return command_name(text)
