"""Running a command: CL text -> bound command -> processing program -> an Outcome.

The one way every front door runs a command (IBM's QCMDEXC): the console scripts,
``qtsmtp "CMD ..."``, ``qtsmtp run`` scripts and the panels' ``===>`` lines all call
``run_text`` or ``run``, so they parse, bind, report and pick an exit status alike.

Each definition (commands/NAME.cmd) names its processing program as "module:function";
the module is imported only when that command runs (pip's lazy command registry), so a
configuration command never loads the server, asyncio or aiosmtpd.
"""

from __future__ import annotations

import gc
import os
import sys

from qtsmtp.cl.binder import Bound
from qtsmtp.cl.command import compile_text
from qtsmtp.cl.parser import parse
from qtsmtp.messages import ESCAPE, CLError, Message
from qtsmtp.record import Record, field

# For annotations only: contextlib and collections (with functools) cost every CL
# command's start about 1.5 ms (bench/bench_cl.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    # What a front door wraps a program's run in: given the bound command, a context
    # manager that yields the list the program's output lines go to (the panels keep it
    # off the screen).
    Capture = Callable[[Bound], AbstractContextManager]

EXIT_OK, EXIT_ESCAPE, EXIT_INVALID, EXIT_UNCONFIRMED = 0, 1, 2, 3
# Diagnostics of a change that is stored, but that a running server job did not confirm
# it applies (qtsmtp.jobs.notify): a script can tell it from both success and failure.
UNCONFIRMED = {"TCP2665", "TCP2666"}
# Escape messages that mean "the command (or script) is not valid and nothing was run".
SYNTAX_ESCAPES = {"CPF0001", "CPF0006", "QTS0005", "QTS0011"}


class Outcome(Record):
    command: str                                    # the command as it is logged
    messages: list[Message] = field(default_factory=list)
    output: list[str] = field(default_factory=list)  # what the program wrote, when captured
    failed: bool = False
    result: object = None                           # what a panel command's panel returned

    @property
    def exit_status(self) -> int:
        """0 done, 1 ended with an escape message, 2 not valid and nothing run, 3 done
        but a running server job did not confirm it applies the change."""
        if not self.failed:
            return (EXIT_UNCONFIRMED if any(m.id in UNCONFIRMED for m in self.messages)
                    else EXIT_OK)
        return exit_status_of(self.messages[-1])


def exit_status_of(escape_message: Message) -> int:
    invalid = escape_message.id in SYNTAX_ESCAPES or escape_message.id.startswith("CPD")
    return EXIT_INVALID if invalid else EXIT_ESCAPE


class _NoCapture:
    """contextlib.nullcontext([]): the program's output lines go to a list of their own."""

    def __enter__(self) -> list:
        return []

    def __exit__(self, *exc) -> bool:
        return False


def run_text(text: str, capture: Capture | None = None) -> Outcome:
    try:
        bound = compile_text(text)
    except CLError as error:
        return Outcome(" ".join(text.split("\n")), error.messages, failed=True)
    return run(bound, text, capture)


def run(bound: Bound, text: str, capture: Capture | None = None) -> Outcome:
    outcome = Outcome(logged_text(bound, text))
    try:
        with (capture(bound) if capture else _NoCapture()) as output:
            outcome.messages = run_bound(bound)
        outcome.output = output
    except CLError as error:
        outcome.messages, outcome.failed = error.messages, True
    return outcome


def program_of(target: str) -> Callable[[Bound], list[Message] | None]:
    """The processing program a definition names ("module:function"), imported now."""
    module, _, function = target.partition(":")
    # __import__ rather than importlib.import_module: importlib (and warnings with it)
    # would be loaded for this alone, at every command's start.
    __import__(module)
    collect_again()
    return getattr(sys.modules[module], function)


def collect_again() -> None:
    """Turn the garbage collector on again, if a console script (bin/) started with it
    off, with what is loaded so far frozen.

    A command's launcher loads its modules with the collector off: the collections it
    made meanwhile found nothing to collect and cost about 1 ms of CPU a command (a
    pass over every function and class just loaded; bench/bench_cl.py). Once the
    processing program is loaded (or before a panel), those objects are frozen (never
    looked at again; they stay until exit anyway) and collection is on, for a program
    that runs long: a server in the foreground, a work-with panel, a script."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run_bound(bound: Bound) -> list[Message]:
    """Call the processing program; returns its messages or raises CLError."""
    name = bound.command.name
    if not bound.command.program:        # MONMSG and the like: statements of a CL script
        raise CLError([Message("QTS0006", name, type=ESCAPE)])
    program = program_of(bound.command.program)
    try:
        messages = program(bound) or []
    except CLError as error:
        error.messages[:0] = _cut_back()
        raise
    except Exception:  # a bug must still end in a message, never a traceback
        if os.environ.get("QTSMTP_DEBUG"):
            import traceback  # only on this rare path: it costs start-up time
            traceback.print_exc()
        raise CLError([*_cut_back(),
                       Message("TCP9999", name, type=ESCAPE,
                               detail="Set QTSMTP_DEBUG=1 to see the Python traceback.")]) from None
    return _cut_back() + messages


def _cut_back() -> list[Message]:
    """TCP2675 for a torn record the program's member lock found and cut back, said
    before the program's own messages. Only a program that loaded the store can have."""
    store = sys.modules.get("qtsmtp.store.member")
    return store.take_cut_back() if store is not None else []


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
