"""The control statements of the program checker: IF/ELSE, the DO groups and loops,
SELECT, LEAVE and ITERATE, each compiled to jumps (cl.engine) patched when the group ends.

A mixin of cl.program's checker, kept apart so that each room stays small. An ELSE
belongs to the innermost IF before it that has none (``IF A THEN(IF B THEN(X))`` /
``ELSE Y``: Y runs when A is true and B is not), as in IBM's CL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtsmtp.cl import engine as e
from qtsmtp.cl import expression as ex
from qtsmtp.cl import statements as st
from qtsmtp.cl.command import resolve
from qtsmtp.messages import CLError, Message

MAX_NESTING = 25
LOOPS = ("DOWHILE", "DOUNTIL", "DOFOR")


@dataclass
class Block:
    kind: str                      # DO, DOWHILE, DOUNTIL, DOFOR, SELECT
    line: int
    label: str | None = None
    on_close: object = None        # what the statement that opened it does at ENDDO
    start: int = 0
    exit: object = None            # the jump that leaves a DOWHILE or DOFOR
    leaves: list = field(default_factory=list)
    iterates: list = field(default_factory=list)
    ends: list = field(default_factory=list)   # SELECT: the jumps to ENDSELECT
    test: object = None            # DOUNTIL: its condition; DOFOR: (variable, step)
    otherwise: bool = False


def _condition(expr):
    if expr is None:                 # already reported; the structure is still checked
        return lambda: False
    run = expr.run
    return lambda: ex.truth(run())


class FlowStatements:
    """Methods s_NAME for the control statements; ``self`` is cl.program's checker."""

    def s_if(self, stmt, done=None) -> None:
        args = self.args(stmt)
        cond = st.expression(args["COND"], self.variables, self.diagnostics, logical=True) \
            if args["COND"] is not None else None
        jump = self.emit(e.JumpUnless(self.line, _condition(cond)))
        depth = self.depth

        def finished():
            self.pending_else.append((depth, jump))
            if done is not None:
                done()
        self.embedded(args["THEN"], finished, "IF")

    def s_else(self, stmt) -> None:
        pending = self.pending_else
        if not pending:
            self.close_chain()
            raise CLError([Message("QTS0024", "ELSE", "no IF comes just before it")])
        self.close_chain()
        index = max(range(len(pending)), key=lambda i: (pending[i][0], i))
        _, unless = pending.pop(index)
        args = self.args(stmt)
        skip = self.emit(e.Jump(self.line))
        unless.target = len(self.code)

        def done():
            skip.target = len(self.code)
        self.embedded(args["CMD"], done, "ELSE")

    def s_do(self, stmt) -> None:
        self.args(stmt)
        self.open(Block("DO", self.line))

    def s_dowhile(self, stmt, done=None) -> None:
        args = self.args(stmt)
        cond = st.expression(args["COND"], self.variables, self.diagnostics, logical=True) \
            if args["COND"] is not None else None
        start = len(self.code)
        exit = self.emit(e.JumpUnless(self.line, _condition(cond)))
        self.open(Block("DOWHILE", self.line, stmt.label, done, start, exit))

    def s_dountil(self, stmt, done=None) -> None:
        args = self.args(stmt)
        cond = st.expression(args["COND"], self.variables, self.diagnostics, logical=True) \
            if args["COND"] is not None else None
        self.open(Block("DOUNTIL", self.line, stmt.label, done, len(self.code), test=_condition(cond)))

    def s_dofor(self, stmt, done=None) -> None:
        cmd = resolve(stmt)
        cmd_args = st.arguments(stmt, cmd, self.diagnostics)
        var = st.variable(cmd_args["VAR"], self.variables, self.diagnostics, ("*INT", "*UINT"),
                          "DOFOR VAR")
        first = st.expression(cmd_args["FROM"], self.variables, self.diagnostics) \
            if cmd_args["FROM"] is not None else None
        last = st.expression(cmd_args["TO"], self.variables, self.diagnostics) \
            if cmd_args["TO"] is not None else None
        step = st.constant(cmd, "BY", cmd_args["BY"], self.diagnostics)
        for what, expr in (("FROM", first), ("TO", last)):
            if expr is not None and expr.kind != "N":
                self.diagnostics.append(Message("QTS0026", f"DOFOR {what} must be a number"))
        if step == 0:
            self.diagnostics.append(Message("QTS0026", "DOFOR BY must not be 0"))
        block = Block("DOFOR", self.line, stmt.label, done)
        if var is not None and first is not None and last is not None and step:
            self.emit(e.ForStart(self.line, var, first.run))
            block.start = len(self.code)
            block.exit = self.emit(e.ForTest(self.line, var, last.run, step))
            block.test = (var, step)
        self.open(block)

    def s_enddo(self, stmt) -> None:
        self.args(stmt)
        if not self.blocks or self.blocks[-1].kind == "SELECT":
            raise CLError([Message("QTS0024", "ENDDO", "no DO group is open")])
        block = self.blocks.pop()
        again = block.start
        if block.kind == "DOWHILE":
            self.emit(e.Jump(self.line, block.start))
        elif block.kind == "DOUNTIL":
            again = len(self.code)
            self.emit(e.JumpUnless(self.line, block.test, block.start))
        elif block.kind == "DOFOR" and block.test is not None:
            again = len(self.code)
            variable, step = block.test
            self.emit(e.ForStep(self.line, variable, step, block.start))
        end = len(self.code)
        if block.exit is not None:
            block.exit.target = end
        for jump in block.leaves:
            jump.target = end
        for jump in block.iterates:
            jump.target = again
        self.last = None
        if block.on_close is not None:
            block.on_close()

    def s_leave(self, stmt) -> None:
        self._loop_jump(stmt, "LEAVE").leaves.append(self.emit(e.Jump(self.line)))

    def s_iterate(self, stmt) -> None:
        self._loop_jump(stmt, "ITERATE").iterates.append(self.emit(e.Jump(self.line)))

    def _loop_jump(self, stmt, name: str) -> Block:
        args = self.args(stmt)
        label = ex.node_text(args["CMDLBL"]).strip().upper() if args["CMDLBL"] is not None else "*CURRENT"
        loops = [b for b in self.blocks if b.kind in LOOPS]
        if not loops:
            raise CLError([Message("QTS0024", name, "it is not in a DOWHILE, DOUNTIL or DOFOR group")])
        if label == "*CURRENT":
            return loops[-1]
        for block in reversed(loops):
            if block.label == label:
                return block
        raise CLError([Message("QTS0024", name,
                               f"{label} is not the label of a DOWHILE, DOUNTIL or DOFOR that holds it")])

    def s_select(self, stmt) -> None:
        self.args(stmt)
        self.open(Block("SELECT", self.line))

    def _select(self, name: str) -> Block:
        if not self.blocks or self.blocks[-1].kind != "SELECT":
            raise CLError([Message("QTS0024", name, "it is not in a SELECT group")])
        block = self.blocks[-1]
        if block.otherwise and name != "ENDSELECT":
            raise CLError([Message("QTS0024", name, "OTHERWISE is the last of a SELECT group")])
        return block

    def s_when(self, stmt) -> None:
        block = self._select("WHEN")
        args = self.args(stmt)
        cond = st.expression(args["COND"], self.variables, self.diagnostics, logical=True) \
            if args["COND"] is not None else None
        unless = self.emit(e.JumpUnless(self.line, _condition(cond)))

        def done():
            block.ends.append(self.emit(e.Jump(self.line)))
            unless.target = len(self.code)
        self.embedded(args["THEN"], done, "WHEN")

    def s_otherwise(self, stmt) -> None:
        block = self._select("OTHERWISE")
        args = self.args(stmt)
        block.otherwise = True
        self.embedded(args["CMD"], lambda: None, "OTHERWISE")

    def s_endselect(self, stmt) -> None:
        self.args(stmt)
        block = self._select("ENDSELECT")
        self.blocks.pop()
        for jump in block.ends:
            jump.target = len(self.code)
        self.last = None
