"""The CL program interpreter: runs the instruction list that cl.program made.

A program is checked whole before it runs (cl.program); what runs here is a flat list of
instructions with jump targets: a command, a CHGVAR, a conditional jump, a DOFOR step.
Each instruction that can end in an escape message carries the command-level MONMSGs
that follow it; the program-level ones apply to every instruction. An escape message
goes, as on IBM i, to the command-level monitors first, then to the program-level
ones; one that nobody monitors becomes the function check CPF9999, which is offered to
the same monitors (MONMSG CPF9999 or CPF0000 catch it) and otherwise ends the program.

Changes are group-committed as in plain scripts (cl.script): the completion messages of
commands are held until their changes are durable, and released before anything else
is written, so what is reported stays in order.
"""

from __future__ import annotations

import time

from qtsmtp.cl.binder import bind
from qtsmtp.messages import COMPLETION, ESCAPE, CLError, Message, monitors, send
from qtsmtp.store.member import group_commit

# A runaway guard: GOTO loops are the program's to bound, but a program that runs this
# many statements is taken to loop for ever and is ended (QTS0030).
MAX_STATEMENTS = 5_000_000
GROUP_COMMANDS, GROUP_SECONDS = 1024, 0.25        # as qtsmtp.cl.script's group commit


class Monitor:
    """One MONMSG: the IDs (generic allowed), CMPDTA, and where its EXEC code starts."""

    __slots__ = ("ids", "compare", "target")

    def __init__(self, ids: list[str], compare: str | None, target: int | None = None):
        self.ids, self.compare, self.target = ids, compare, target

    def catches(self, message: Message) -> bool:
        if not any(monitors(g, message.id) for g in self.ids):
            return False
        return self.compare is None or "".join(message.data).startswith(self.compare)


class Instruction:
    __slots__ = ("line", "monitors", "after")

    def __init__(self, line: int):
        self.line = line
        self.monitors: list[Monitor] = []
        self.after: int | None = None     # where to go on after a monitored message

    def execute(self, machine: "Machine"):
        """Do it; return the next index, or None for the one after this."""
        raise NotImplementedError


class Command(Instruction):
    __slots__ = ("bound",)

    def __init__(self, line, bound):
        super().__init__(line)
        self.bound = bound

    def execute(self, machine):
        machine.commands += 1
        machine.completed(machine.run_bound(self.bound))


class DynamicCommand(Instruction):
    """A command with variables or expressions in its values: bound each time it runs."""
    __slots__ = ("statement", "definition", "makers")

    def __init__(self, line, statement, definition, makers):
        super().__init__(line)
        self.statement, self.definition, self.makers = statement, definition, makers

    def execute(self, machine):
        machine.commands += 1
        bound = bind(self.makers(self.statement), self.definition)
        machine.completed(machine.run_bound(bound))


class Assign(Instruction):
    __slots__ = ("store", "value")

    def __init__(self, line, store, value):
        super().__init__(line)
        self.store, self.value = store, value

    def execute(self, machine):
        self.store(self.value())


class Jump(Instruction):
    __slots__ = ("target",)

    def __init__(self, line, target=None):
        super().__init__(line)
        self.target = target

    def execute(self, machine):
        return self.target


class JumpUnless(Instruction):
    """Go to ``target`` unless the condition is true (IF, WHEN, DOWHILE, DOUNTIL)."""
    __slots__ = ("condition", "target")

    def __init__(self, line, condition, target=None):
        super().__init__(line)
        self.condition, self.target = condition, target

    def execute(self, machine):
        return None if self.condition() else self.target


class ForStart(Instruction):
    __slots__ = ("variable", "start")

    def __init__(self, line, variable, start):
        super().__init__(line)
        self.variable, self.start = variable, start

    def execute(self, machine):
        self.variable.store(self.start())


class ForTest(Instruction):
    """DOFOR's test before each pass: past TO (in the direction of BY) ends the loop."""
    __slots__ = ("variable", "limit", "step", "target")

    def __init__(self, line, variable, limit, step, target=None):
        super().__init__(line)
        self.variable, self.limit, self.step, self.target = variable, limit, step, target

    def execute(self, machine):
        value, limit = self.variable.value, self.limit()
        if (value > limit) if self.step > 0 else (value < limit):
            return self.target
        return None


class ForStep(Instruction):
    __slots__ = ("variable", "step", "target")

    def __init__(self, line, variable, step, target):
        super().__init__(line)
        self.variable, self.step, self.target = variable, step, target

    def execute(self, machine):
        self.variable.store(self.variable.value + self.step)
        return self.target


class Call(Instruction):
    """A statement carried out by a function of the machine (SNDPGMMSG, RCVMSG, RTVJOBA)."""
    __slots__ = ("function",)

    def __init__(self, line, function):
        super().__init__(line)
        self.function = function

    def execute(self, machine):
        self.function(machine)


class End(Instruction):
    def execute(self, machine):
        return len(machine.code)


class Ended(Exception):
    """The program ends: ``status`` 1 after an escape message, 0 at ENDPGM."""

    def __init__(self, status: int):
        self.status = status


class Machine:
    def __init__(self, program, run_bound, out=None, err=None, limit: int = MAX_STATEMENTS):
        self.program = program
        self.code = program.code
        self.run_bound = run_bound
        self.out, self.err = out, err
        self.limit = limit
        self.queue: list[Message] = []      # the program's message queue (RCVMSG)
        self.held: list[Message] = []
        self.held_since = 0.0
        self.commands = 0
        self.unconfirmed = False
        self.group = None

    # --- reporting, in order, after the changes behind it are durable -------------------------

    def completed(self, messages: list[Message]) -> None:
        self.queue.extend(messages)
        if not self.held:
            self.held_since = time.monotonic()
        self.held.extend(messages)
        if self.group.count >= GROUP_COMMANDS or time.monotonic() - self.held_since >= GROUP_SECONDS:
            self.release()

    def release(self) -> None:
        late = self.group.flush() or []     # and the server jobs told, where that is done
        self.unconfirmed = self.unconfirmed or bool(late)
        send(self.held + late, self.out, self.err)
        self.held.clear()

    def report(self, messages: list[Message]) -> None:
        self.release()
        send(messages, self.out, self.err)

    # --- running -------------------------------------------------------------------------------

    def run(self) -> int:
        code = self.code
        end = len(code)
        pc = 0
        count = 0
        status = 0
        with group_commit() as self.group:
            try:
                while pc < end:
                    count += 1
                    if count > self.limit:
                        ins = code[pc]
                        self.report([Message("QTS0030", self.program.name, ins.line, self.limit)])
                        raise Ended(1)
                    ins = code[pc]
                    try:
                        nxt = ins.execute(self)
                    except CLError as error:
                        nxt = self.escaped(ins, pc, error)
                    pc = pc + 1 if nxt is None else nxt
            except Ended as ended:
                status = ended.status
            self.release()
        if status == 0:
            send([Message("QTS0002", self.program.source_name, self.commands)], self.out, self.err)
        return 3 if status == 0 and self.unconfirmed else status

    def escaped(self, ins: Instruction, pc: int, error: CLError) -> int:
        self.report(error.messages)
        self.queue.extend(error.messages)
        target = self.monitored(ins, pc, error.escape)
        if target is not None:
            return target
        check = Message("CPF9999", error.escape.id or "*IMMED", self.program.name, ins.line,
                        type=ESCAPE, detail=f"At {self.program.source_name} line {ins.line}.")
        self.report([check])
        self.queue.append(check)
        target = self.monitored(ins, pc, check)
        if target is not None:
            return target
        raise Ended(1)

    def monitored(self, ins: Instruction, pc: int, message: Message) -> int | None:
        after = pc + 1 if ins.after is None else ins.after
        for monitor in ins.monitors:
            if monitor.catches(message):
                return after if monitor.target is None else monitor.target
        for monitor in self.program.monitors:
            if monitor.catches(message):
                return after if monitor.target is None else monitor.target
        return None

    # --- statements carried out here -----------------------------------------------------------

    def send_program_message(self, message: Message) -> None:
        if message.type == ESCAPE:        # to the caller: it ends this program
            self.report([message])
            raise Ended(1)
        self.report([message])

    def receive(self, kind: str, remove: bool) -> Message | None:
        queue = self.queue
        found = None
        if kind == "*ANY":
            found = queue[0] if queue else None
        elif kind == "*LAST":
            found = queue[-1] if queue else None
        elif kind == "*EXCP":
            found = next((m for m in reversed(queue) if m.type == ESCAPE), None)
        else:
            found = next((m for m in queue if m.type == kind), None)
        if found is not None and remove:
            for index in range(len(queue) - 1, -1, -1):
                if queue[index] is found:
                    del queue[index]
                    break
        return found


class ImmediateMessage(Message):
    """SNDPGMMSG MSG('text'): a message without an identifier, shown as its text alone."""

    __slots__ = ("words",)

    def __init__(self, text: str, type: str):
        self.id = ""
        self.data = ()
        self.type = type
        self.detail = ""
        self.words = text

    @property
    def severity(self) -> int:
        return 0 if self.type == COMPLETION else 40 if self.type == ESCAPE else 30 if \
            self.type == "*DIAG" else 0

    @property
    def text(self) -> str:
        return self.words

    def __str__(self) -> str:
        return self.words

