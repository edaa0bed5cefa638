"""Shell completion: the answers to the scripts typer's ``--install-completion`` installs.

Those scripts run the command again with ``_ADDSMTPLE_COMPLETE=complete_bash`` (or
``complete_zsh``, ``complete_fish``) and the words typed so far in the environment
(bash: COMP_WORDS, one word a line, and COMP_CWORD; zsh and fish: _TYPER_COMPLETE_ARGS).
The option form (a word that starts with ``-``) is answered by the command's typer app;
the CL form, in bash and zsh, from the definitions (qtsmtp.cl.completion) without
loading typer, so a TAB costs what the CL form costs. The umbrella ``qtsmtp`` completes
command names, then the named command's words.
"""

from __future__ import annotations

import os
import shlex
import sys

from qtsmtp.cl import completion as cl
from qtsmtp.cl import definition

COMMANDS = ["commands", "run", "runqueue"]       # the umbrella's own words (console.USAGE)


def complete_var(prog: str) -> str:
    return f"_{prog.replace('-', '_').upper()}_COMPLETE"


def answer(prog: str, command: str | None) -> int:
    """Print the completions the shell asked for. ``command`` is the CL command of a
    command's own script; None for the umbrella."""
    var = complete_var(prog)
    instruction = os.environ.get(var, "")
    shell = instruction.partition("_")[2]
    words, current = typed_words(shell)
    if command is None:                                # qtsmtp WORD ...
        typed = _unquoted(current)
        if not words and " " in typed.strip():         # qtsmtp "ADDSMTPLE TYPE(*AC
            start = cl.last_token_start(typed)
            found = cl.line_candidates(typed) if start is not None else []
            return _print(shell, current, [typed[:start] + c for c in found])
        if not words:
            names = cl.command_candidates(current, definition.runnable_command_names())
            if current.islower() or not current:
                names += [w for w in COMMANDS if w.startswith(current)]
            return _print(shell, current, names)
        if " " in words[0].strip():                    # a whole command line went before
            return _print(shell, current, [])
        command = words[0].upper()
        if definition.load(command) is None:
            return _print(shell, current, [])
        words = words[1:]
        _drop_first_word(shell)
    cmd = definition.load(command)
    if shell == "fish" or any(w.startswith("-") for w in [*words, current]):
        from qtsmtp.shell.typerapp import make_command  # typer: the option form only
        make_command(cmd).main(args=[], prog_name=prog, complete_var=var)
        return 0
    return _print(shell, current, _cl_candidates(cmd, words, _unquoted(current)))


def typed_words(shell: str) -> tuple[list[str], str]:
    """The words after the command name, and the word being completed (as typed, quotes
    and backslashes included for bash)."""
    if shell == "bash":
        words = os.environ.get("COMP_WORDS", "").split("\n")
        index = int(os.environ.get("COMP_CWORD", "0") or 0)
        before = words[1:index]
        current = words[index] if index < len(words) else ""
        return [_unquoted(w) for w in before], current
    text = os.environ.get("_TYPER_COMPLETE_ARGS", "")
    words = _split(text)
    if words and not text.endswith(" "):
        return words[1:-1], words[-1]
    return words[1:], ""


def _drop_first_word(shell: str) -> None:
    """The umbrella hands ``qtsmtp addsmtple --ty`` on as ``addsmtple --ty``."""
    if shell == "bash":
        words = os.environ.get("COMP_WORDS", "").split("\n")
        os.environ["COMP_WORDS"] = "\n".join(words[1:])
        os.environ["COMP_CWORD"] = str(int(os.environ.get("COMP_CWORD", "1")) - 1)
    else:
        text = os.environ.get("_TYPER_COMPLETE_ARGS", "")
        os.environ["_TYPER_COMPLETE_ARGS"] = text.lstrip().partition(" ")[2]


def _cl_candidates(cmd, words: list[str], typed: str) -> list[str]:
    """Whole-word completions of ``typed`` (the word as the command will get it), the CL
    words before it being ``words``."""
    text = " ".join([*words, typed])
    start = cl.last_token_start(text)
    if start is None or start < len(text) - len(typed):
        return []
    head = typed[: len(typed) - (len(text) - start)]      # what the word holds before the token
    return [head + c for c in cl.parameter_candidates(cmd, text)]


def _print(shell: str, current: str, candidates: list[str]) -> int:
    if shell == "bash":
        quote = current[:1] if current[:1] in ("'", '"') else ""
        # Readline puts a candidate in place of the word after its opening quote; a
        # word without quotes needs CL's parentheses, asterisks and blanks escaped.
        lines = [c if quote else _bash_escaped(c) for c in candidates]
        sys.stdout.write("".join(line + "\n" for line in lines))
    elif shell == "zsh":
        if not candidates:
            sys.stdout.write("_files\n")
            return 0
        listed = "\n".join(f'"{_zsh_escaped(c)}"' for c in candidates)
        sys.stdout.write(f"_arguments '*: :(({listed}))'\n")
    return 0


def _unquoted(word: str) -> str:
    """A word as the command will get it: bash's quotes and backslashes taken away
    (an unterminated quote, the word being typed, is closed first)."""
    for closing in ("", "'", '"'):
        try:
            return "".join(shlex.split(word + closing)) if word else ""
        except ValueError:
            continue
    return word


def _split(text: str) -> list[str]:
    for closing in ("", "'", '"'):
        try:
            return shlex.split(text + closing)
        except ValueError:
            continue
    return text.split()


def _bash_escaped(text: str) -> str:
    return "".join("\\" + c if c in " ()*'\"\\$&;|<>`!?[]{}" else c for c in text)


def _zsh_escaped(text: str) -> str:
    return (text.replace('"', '""').replace("'", "''").replace("$", "\\$")
            .replace("`", "\\`").replace(":", r"\\:"))


def install_everywhere(args: list[str], show: bool) -> int:
    """``qtsmtp --install-completion [SHELL]``: typer's installation for qtsmtp and every
    command at once (each command's own --install-completion does one);
    ``--show-completion [SHELL]``: the scripts, to install by hand."""
    from typer import completion as typer_completion  # typer: only here

    shell = args[0] if args else typer_completion._get_shell_name()
    if shell not in ("bash", "zsh", "fish") or len(args) > 1:
        from qtsmtp.messages import Message, send
        send([Message("QTS0014", " ".join(args) or shell or "(none found)")])
        sys.stderr.write("usage: qtsmtp --install-completion|--show-completion [bash|zsh|fish]\n")
        return 2
    progs = ["qtsmtp", *(n.lower() for n in definition.runnable_command_names())]
    for prog in progs:
        if show:
            sys.stdout.write(typer_completion.get_completion_script(
                prog_name=prog, complete_var=complete_var(prog), shell=shell) + "\n")
        else:
            _, path = typer_completion.install(shell=shell, prog_name=prog,
                                               complete_var=complete_var(prog))
    if not show:
        sys.stdout.write(f"{shell} completion installed for {len(progs)} commands in {path.parent}\n"
                         "Completion will take effect once you restart the terminal\n")
    return 0
