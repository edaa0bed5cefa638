"""Console entry points: one per CL command, and the umbrella ``qtsmtp``.

Each takes the CL form (``addsmtple "TYPE(*ACCEPT) INTNETADR('10.1.1.1')"``, or the same
words as separate arguments), the option form (``addsmtple --type accept ...``), or
``--help``. Exit status: 0 done, 1 the command ended with an escape message, 2 the
command (or script) is not valid and nothing was run, 3 the change is stored but a
running server job did not confirm it applies it (TCP2665, TCP2666), 141 the reader of
the output went away before everything was written (``qtsmtp commands | head -1``).
"""

from __future__ import annotations

import os
import sys

from qtsmtp.cl import definition
from qtsmtp.cl.command import command_name, statement, with_escape
from qtsmtp.cl.optionform import is_option_form
from qtsmtp.messages import CLError, Message, send
from qtsmtp.programs import runner
from qtsmtp.programs.runner import EXIT_INVALID, EXIT_OK, exit_status_of
from qtsmtp.store.root import data_root


def run_command_line(text: str) -> int:
    """Run one command written in CL (the umbrella's and the CL form's path)."""
    if "?" in text and _wants_prompt(text):
        from qtsmtp.panels.screen import is_interactive  # curses: only when prompting
        if not is_interactive():
            send([Message("QTS1008", command_name(text) or "qtsmtp")])
            return EXIT_INVALID
        from qtsmtp.panels import prompter
        runner.collect_again()          # a panel may stay up long
        return prompter.prompt_command_line(text)
    return _reported(runner.run_text(text))


def _wants_prompt(text: str) -> bool:
    """?CMD or ??KWD(...): selective prompting, which needs a display."""
    try:
        stmt = statement(text)
    except CLError:
        return False
    return stmt.prompt or any(k.startswith("?") for k, _ in stmt.keywords)


# A reader that stops early (head, a pager quit at once, a closed pipe): ended as a command
# that the shell's SIGPIPE killed, 128 + 13, quietly (Python ignores SIGPIPE and would
# print a traceback). What the command changed stays changed, as with any Unix tool.
EXIT_OUTPUT_CLOSED = 141


def _flush_output() -> None:
    if sys.stdout is not None:  # here, where a closed pipe can still be answered
        sys.stdout.flush()


def _output_closed() -> int:
    try:    # else Python's own flush of stdout at exit complains a second time
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # AttributeError: stdout was closed
        pass                                        # from the start (>&-): nothing to do
    return EXIT_OUTPUT_CLOSED


def run_console(name: str, argv: list[str], prog: str | None = None) -> int:
    try:
        try:
            return _run_console(name, argv, prog)
        finally:
            _flush_output()
    except BrokenPipeError:
        return _output_closed()


def _run_console(name: str, argv: list[str], prog: str | None) -> int:
    prog = prog or name.lower()
    if _completing(prog):       # a shell asks for completions (qtsmtp.shell.completion)
        from qtsmtp.shell.completion import answer
        return answer(prog, name)
    if "--prompt" in argv:      # the F4 prompter, in the terminal
        from qtsmtp.panels.prompter import prompt_console  # curses: only when prompting
        runner.collect_again()          # a panel may stay up long
        return prompt_console(name, [a for a in argv if a != "--prompt"])
    if not (is_option_form(argv) or "-h" in argv):
        return run_command_line(f"{name} " + " ".join(argv))
    # The option form, --help and --install-completion: the command's typer app, loaded
    # only here and only when needed (typer costs start-up time the CL form does not pay).
    from qtsmtp.shell.options import bound_from_options
    try:
        bound = bound_from_options(definition.load(name), prog, argv)
    except CLError as error:
        return _failed(with_escape(error, name))
    if isinstance(bound, int):       # typer answered: --help, --show-completion
        return bound
    return _reported(runner.run(bound, name))


def _completing(prog: str) -> bool:
    return f"_{prog.replace('-', '_').upper()}_COMPLETE" in os.environ


def _reported(outcome: runner.Outcome) -> int:
    if outcome.failed:
        outcome.messages = _from_the_shell(outcome.messages)
    send(outcome.messages)
    return outcome.exit_status


def _failed(error: CLError) -> int:
    messages = _from_the_shell(error.messages)
    send(messages)
    return exit_status_of(messages[-1])


def _from_the_shell(messages: list[Message]) -> list[Message]:
    # From the shell a command runs as IBM i's QCMDEXC (and PASE's system) runs it: a
    # command that is not valid ends in CPF0006, not the CPF0001 of a command line or a
    # CL program.
    if messages and messages[-1].id == "CPF0001":
        return messages[:-1] + [Message("CPF0006")]
    return messages


# --- the umbrella ------------------------------------------------------------------------

USAGE = """\
usage: qtsmtp                      on a terminal: the command entry display (===>, F4, F9)
       qtsmtp "CL COMMAND ..."     run one CL command, e.g. qtsmtp "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')"
       qtsmtp run FILE|- [PARM(v ...)]  run a CL script or CL program (qtsmtp-cl(7))
       qtsmtp commands             list the commands
       qtsmtp runqueue [--all]     deliver the queue now (cron; like sendmail -q)
       qtsmtp runqueue --scheduled deliver if RUNQINTV minutes have passed (systemd timer, cron)
       qtsmtp COMMAND --help       a command's parameters
       qtsmtp --install-completion [bash|zsh|fish]  TAB completion for qtsmtp and every command
"""


def qtsmtp() -> None:
    try:
        try:
            _qtsmtp(sys.argv[1:])
        finally:
            _flush_output()
    except BrokenPipeError:
        sys.exit(_output_closed())


def _qtsmtp(argv: list[str]) -> None:
    if _completing("qtsmtp"):
        from qtsmtp.shell.completion import answer
        sys.exit(answer("qtsmtp", None))
    option, _, shell = argv[0].partition("=") if argv else ("", "", "")
    if option in ("--install-completion", "--show-completion"):
        from qtsmtp.shell.completion import install_everywhere
        shells = [shell] if shell else []            # --install-completion=bash too
        sys.exit(install_everywhere(shells + argv[1:], show=option == "--show-completion"))
    if not argv or argv[0].lstrip().startswith("?"):
        from qtsmtp.panels.screen import (
            is_interactive,  # the panels load curses: only here
        )
        if is_interactive():     # the command entry display, or the prompt of ?CMD
            from qtsmtp.panels import cmdline, prompter
            sys.exit(prompter.prompt_command_line(" ".join(argv)) if argv else cmdline.command_entry())
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        sys.exit(EXIT_OK if argv else EXIT_INVALID)
    if argv[0] == "commands":
        for name in definition.command_names():
            cmd = definition.load(name)
            print(f"{name:<10}  {cmd.prompt}")
        sys.exit(EXIT_OK)
    if argv[0] == "run":
        sys.exit(_run_script_file(argv[1:]))
    if argv[0] == "runqueue":
        sys.exit(_run_queue(argv[1:]))
    word = argv[0].split()[0].split("(")[0].upper() if argv[0].strip() else ""
    if len(argv) > 1 and definition.load(word) is not None and " " not in argv[0]:
        sys.exit(run_console(word, argv[1:]))
    sys.exit(run_command_line(" ".join(argv)))


RUN_USAGE = "usage: qtsmtp run FILE|- [PARM(value ...)]\n"
RUNQUEUE_USAGE = "usage: qtsmtp runqueue [--all | --scheduled]\n"


def _run_queue(args: list[str]) -> int:
    """qtsmtp runqueue [--all | --scheduled]: deliver the queue now, as sendmail -q, or
    when RUNQINTV minutes have passed (qtsmtp(1), qtsmtp-server(8) QUEUE RUNNER)."""
    if args[:1] in (["-h"], ["--help"]):
        sys.stdout.write(RUNQUEUE_USAGE)
        return EXIT_OK
    if len(args) > 1 or any(a not in ("--all", "--scheduled") for a in args):
        sys.stderr.write(RUNQUEUE_USAGE)
        return EXIT_INVALID
    from qtsmtp.programs import wrksmtpq  # the delivery engine: only here
    try:
        if args == ["--scheduled"]:
            send([wrksmtpq.scheduled_run(data_root())])
        else:
            send([wrksmtpq.run_queue(data_root(), all_deferred="--all" in args)])
    except CLError as error:
        return _failed(error)
    return EXIT_OK


def _run_script_file(args: list[str]) -> int:
    if args[:1] in (["-h"], ["--help"]):      # a script of that name runs as ./--help
        sys.stdout.write(RUN_USAGE)
        return EXIT_OK
    if not args:
        sys.stderr.write(RUN_USAGE)
        return EXIT_INVALID
    path = args[0]
    try:
        parameters = _call_parameters(" ".join(args[1:]))
    except CLError as error:
        send(error.messages)
        return EXIT_INVALID
    try:
        if path == "-":
            source, name = sys.stdin.read(), "(standard input)"
        else:
            with open(path, encoding="utf-8") as f:
                source, name = f.read(), path
    except (OSError, UnicodeDecodeError) as exc:
        send([Message("QTS0003", path, getattr(exc, "strerror", None) or exc)])
        return EXIT_INVALID
    from qtsmtp.cl.script import run_script   # scripts and programs: only for qtsmtp run
    return run_script(source, name, runner.run_bound, parameters=parameters)


def _call_parameters(text: str) -> list[str]:
    """``PARM('10.1.1.0' '255.255.255.0')`` after the file, as CALL takes it: unquoted
    values in upper case, quoted ones as written."""
    if not text.strip():
        return []
    from qtsmtp.cl.parser import ValueList, parse
    stmt = parse("CALL " + text)
    bad = [Message("CPD0004", v) for v in stmt.positional]
    bad += [Message("CPD0043", k) for k, _ in stmt.keywords if k != "PARM"]
    if bad:
        raise CLError(bad + [Message("CPF0001", "CALL")])
    values = []
    for _, content in stmt.keywords:
        for item in content.items:
            if isinstance(item, ValueList):
                raise CLError([Message("CPD0084", item, "PARM"), Message("CPF0001", "CALL")])
            values.append(item.text if item.quoted else item.text.upper())
    return values


# --- one entry point per command -----------------------------------------------------------
# The console scripts are the launchers in bin/ (tools/launchers.py), which call
# run_console with their command's name. ``qtsmtp.console:<name>`` is that entry as a
# function, made here from the definition, for a program that runs a command in-process
# or names it as an entry point of its own; a new command needs no code in this module
# (tests/unit/test_registry.py checks that the scripts, definitions and man pages agree).

def __getattr__(attribute: str):
    name = attribute.upper()
    if attribute != attribute.lower() or definition.load(name) is None:
        raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")

    def main() -> None:
        sys.exit(run_console(name, sys.argv[1:]))
    main.__name__ = attribute
    return main
