"""Console entry points: one per CL command, and the umbrella ``qtsmtp``.

Each takes the CL form (``addsmtple "TYPE(*ACCEPT) INTNETADR('10.1.1.1')"``, or the same
words as separate arguments), the option form (``addsmtple --type accept ...``), or
``--help``. Exit status: 0 done, 1 the command ended with an escape message, 2 the
command (or script) is not valid and nothing was run.
"""

from __future__ import annotations

import sys

from qtsmtp.cl import definition
from qtsmtp.messages import CLError, Message
from qtsmtp.cl.runner import run_bound, send, with_escape

EXIT_OK, EXIT_ESCAPE, EXIT_INVALID = 0, 1, 2
_SYNTAX_ESCAPES = {"CPF0001", "QTS0005", "QTS0011"}


def run_command_line(text: str) -> int:
    """Run one command written in CL (the umbrella's and the CL form's path)."""
    from qtsmtp.cl.lexer import logical_lines
    from qtsmtp.cl.parser import parse
    from qtsmtp.cl.runner import compile_statement

    text = " ".join(t for _, t in logical_lines(text)) if "\n" in text else text
    try:
        stmt = parse(text)
        if stmt is None or stmt.command is None:
            raise CLError([Message("CPD0031")])
        return _run(compile_statement(stmt))
    except CLError as error:
        return _failed(with_escape(error, _name_of(text)))


def run_console(name: str, argv: list[str]) -> int:
    cmd = definition.load(name)
    if "--help" in argv or "-h" in argv:
        from qtsmtp.cl.helptext import help_text
        sys.stdout.write(help_text(cmd))
        return EXIT_OK
    if "--prompt" in argv:      # the F4 prompter, in the terminal (qtsmtp.panels)
        from qtsmtp.panels.prompter import prompt_console
        return prompt_console(name, [a for a in argv if a != "--prompt"])
    from qtsmtp.cl.optionform import is_option_form, statement_from_options
    if not is_option_form(argv):
        return run_command_line(f"{name} " + " ".join(argv))
    try:
        from qtsmtp.cl.binder import bind
        return _run(bind(statement_from_options(cmd, argv), cmd))
    except CLError as error:
        return _failed(with_escape(error, name))


def _run(bound) -> int:
    try:
        send(run_bound(bound))
    except CLError as error:
        return _failed(error)
    return EXIT_OK


def _failed(error: CLError) -> int:
    send(error.messages)
    invalid = error.escape.id in _SYNTAX_ESCAPES or error.escape.id.startswith("CPD")
    return EXIT_INVALID if invalid else EXIT_ESCAPE


def _name_of(text: str) -> str | None:
    from qtsmtp.cl.script import _first_word
    return _first_word(text)


# --- the umbrella ------------------------------------------------------------------------

USAGE = """\
usage: qtsmtp                      on a terminal: the command entry display (===>, F4, F9)
       qtsmtp "CL COMMAND ..."     run one CL command, e.g. qtsmtp "ADDSMTPLE *ACCEPT INTNETADR('10.1.1.1')"
       qtsmtp run FILE|-           run a CL script (continuation, comments, labels, MONMSG)
       qtsmtp commands             list the commands
       qtsmtp runqueue [--all]     deliver the queue now (cron; like sendmail -q)
       qtsmtp COMMAND --help       a command's parameters
"""


def qtsmtp() -> None:
    argv = sys.argv[1:]
    if not argv or argv[0].lstrip().startswith("?"):
        from qtsmtp.panels.screen import is_interactive
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


def _run_queue(args: list[str]) -> int:
    """qtsmtp runqueue [--all]: deliver the queue now, as sendmail -q (qtsmtp(1))."""
    if any(a not in ("--all",) for a in args):
        sys.stderr.write("usage: qtsmtp runqueue [--all]\n")
        return EXIT_INVALID
    from qtsmtp.programs.wrksmtpq import run_queue
    from qtsmtp.store.root import data_root
    try:
        send([run_queue(data_root(), all_deferred="--all" in args)])
    except CLError as error:
        return _failed(error)
    return EXIT_OK


def _run_script_file(args: list[str]) -> int:
    from qtsmtp.cl.script import run_script
    if len(args) != 1:
        sys.stderr.write("usage: qtsmtp run FILE|-\n")
        return EXIT_INVALID
    path = args[0]
    try:
        if path == "-":
            source, name = sys.stdin.read(), "(standard input)"
        else:
            with open(path, encoding="utf-8") as f:
                source, name = f.read(), path
    except (OSError, UnicodeDecodeError) as exc:
        send([Message("QTS0003", path, getattr(exc, "strerror", None) or exc)])
        return EXIT_INVALID
    return run_script(source, name)


# --- one entry point per command -----------------------------------------------------------

def _entry(name: str):
    def main() -> None:
        sys.exit(run_console(name, sys.argv[1:]))
    main.__name__ = name.lower()
    return main


addsmtple = _entry("ADDSMTPLE")
rmvsmtple = _entry("RMVSMTPLE")
chgsmtpa = _entry("CHGSMTPA")
dspsmtpa = _entry("DSPSMTPA")
strtcpsvr = _entry("STRTCPSVR")
endtcpsvr = _entry("ENDTCPSVR")
wrkactjob = _entry("WRKACTJOB")
sndsmtpemm = _entry("SNDSMTPEMM")
addusrsmtp = _entry("ADDUSRSMTP")
chgusrsmtp = _entry("CHGUSRSMTP")
rmvusrsmtp = _entry("RMVUSRSMTP")
wrksmtpq = _entry("WRKSMTPQ")
wrksmtple = _entry("WRKSMTPLE")
addsmtpaut = _entry("ADDSMTPAUT")
chgsmtpaut = _entry("CHGSMTPAUT")
rmvsmtpaut = _entry("RMVSMTPAUT")
addexitpgm = _entry("ADDEXITPGM")
rmvexitpgm = _entry("RMVEXITPGM")
wrkexitpgm = _entry("WRKEXITPGM")
addsmtpsbm = _entry("ADDSMTPSBM")
rmvsmtpsbm = _entry("RMVSMTPSBM")
wrksmtpsbm = _entry("WRKSMTPSBM")
