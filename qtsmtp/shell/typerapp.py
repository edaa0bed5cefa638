"""The option form through typer: one typer app per command, generated from its definition.

``addsmtple --type accept --intnetadr 10.1.1.1``, ``addsmtple --help``, and typer's
``--install-completion`` / ``--show-completion`` and completion protocol all go through
the app made here from commands/ADDSMTPLE.cmd: one option per PARM (``--keyword``,
given once, or again for each value of a list parameter), its help the PARM's prompt,
its completions the values the definition names. Nothing here lists options by hand.

typer parses; it does not validate. Each value is handed, as text, to the CL binder
(via qtsmtp.cl.optionform.option_value), and everything the parser of click would
refuse is turned into the CL messages the CL form gives for the same mistake
(CPD0043 for an unknown keyword, CPD0012 for one given twice, QTS0010 for a missing
value, QTS0011 for a word that is not an option), so both forms answer alike.

typer is imported only here, and this module only for the option form, --help and
completion: the CL form, ``qtsmtp run`` and the panels never load it (qtsmtp(1)), and
a plain, valid option-form invocation runs without it (qtsmtp.shell.options).
"""

from __future__ import annotations

import inspect

import typer
from typer import _click as click  # typer 0.28 carries its own click
from typer._click.globals import get_current_context
from typer._click.types import STRING
from typer.core import TyperCommand, TyperOption

from qtsmtp.cl.binder import bind
from qtsmtp.cl.definition import NUMERIC_TYPES, Command, Parm
from qtsmtp.cl.optionform import option_value
from qtsmtp.cl.parser import Statement, ValueList
from qtsmtp.messages import CLError, Message

COMPLETION_HELP = """\
Shell completion (bash, zsh, fish):
  {prog} --install-completion   install it for the shell you are in
  {prog} --show-completion      print the script, to install it by hand
  qtsmtp --install-completion   the same for qtsmtp and every command
  Options and their values complete in the option form; in bash and zsh the CL
  form completes too (keywords, and values after KEYWORD( ; in bash write the CL
  words in quotes, or their parentheses as \\( and \\) ).
"""


class DefinitionHelp(TyperCommand):
    """--help is the definition's help (qtsmtp.cl.helptext), as on every other path,
    followed by what the typer app adds: completion."""

    definition: Command

    def format_help(self, ctx, formatter) -> None:
        from qtsmtp.cl.helptext import help_text  # only for --help
        formatter.write(help_text(self.definition))
        formatter.write("\n" + COMPLETION_HELP.format(prog=ctx.info_name))


def option_choices(parm: Parm) -> list[str]:
    """What ``--keyword <TAB>`` offers: the definition's values in the option form's
    spelling (without the asterisk where qtsmtp.cl.optionform lets it go)."""
    from qtsmtp.cl.completion import values_of  # only when completing
    bare = parm.rstd or parm.type in NUMERIC_TYPES
    return [(v[1:] if bare and v.startswith("*") else v).lower() for v in values_of(parm)]


def _completer(parm: Parm):
    """typer's autocompletion callback, as typer calls it (ctx, args, incomplete)."""
    def complete(ctx, args, incomplete: str) -> list[str]:
        return [c for c in option_choices(parm) if c.startswith(incomplete.lower())]
    return complete


CONTEXT_SETTINGS = {
    "help_option_names": ["-h", "--help"],
    # Unknown options and stray words reach the command, which answers them in CL;
    # option names are read as CL keywords: any case, hyphens inside ignored.
    "ignore_unknown_options": True, "allow_extra_args": True,
    "token_normalize_func": lambda name: name.lower().replace("-", ""),
}


def make_command(cmd: Command) -> click.Command:
    """The typer app of ``cmd``: the click command typer makes of a one-command
    ``typer.Typer(add_completion=True, rich_markup_mode=None)`` whose function takes, per
    PARM, ``Annotated[list[str] | None, typer.Option("--keyword", help=PROMPT,
    metavar="VALUE", show_default=False, autocompletion=...)] = None``. It is made here
    from typer's own classes (TyperCommand, TyperOption and typer's completion options)
    rather than through ``typer.main.get_command``, which finds the same thing by
    inspecting a generated signature and evaluating its type hints, one parameter at a
    time (1.7 ms for ADDSMTPLE, 6.5 for CHGSMTPA); tests/unit/test_typerapp.py checks
    that both give the same command."""
    params = [
        TyperOption(param_decls=[parm.keyword.lower(), f"--{parm.keyword.lower()}"],
                    type=STRING, multiple=True, default=None, metavar="VALUE",
                    help=parm.prompt, show_default=False, show_envvar=True,
                    autocompletion=_completer(parm))
        for parm in cmd.parms]
    # What typer's add_completion appends: --install-completion, --show-completion.
    params += typer.main.get_install_completion_arguments()

    def statement(**given) -> Statement:
        return statement_from(cmd, given, get_current_context().args)
    command = DefinitionHelp(cmd.name.lower(), context_settings=CONTEXT_SETTINGS, callback=statement,
                             params=params, help=inspect.cleandoc(cmd.prompt), rich_markup_mode=None)
    command.definition = cmd
    return command


def statement_from(cmd: Command, given: dict, extra: list[str]) -> Statement:
    """The Statement the CL parser would make, from what typer parsed (each option's
    values, a sequence, empty or None when it was not given)."""
    diagnostics = []
    stray = [arg for arg in extra if not arg.startswith("-")]
    unknown = [arg for arg in extra if arg.startswith("-")]
    if stray and not unknown:
        raise CLError([Message("QTS0011", stray[0]), Message("CPF0001", cmd.name)])
    for arg in unknown:
        diagnostics.append(Message("CPD0043", arg.lstrip("-").partition("=")[0].upper()))
    keywords = []
    for parm in cmd.parms:
        values = given.get(parm.keyword.lower())
        if not values:
            continue
        if len(values) > 1 and parm.max == 1:
            diagnostics.append(Message("CPD0012", parm.keyword))
            continue
        items = [item for value in values for item in option_value(parm, value).items]
        keywords.append((parm.keyword, ValueList(items)))
    if diagnostics:
        raise CLError(diagnostics + [Message("CPF0001", cmd.name)])
    return Statement(cmd.name, keywords=keywords)


def bound_from_options(cmd: Command, prog: str, argv: list[str]):
    """Parse ``argv`` with the command's typer app: the bound command, or an exit status
    when typer answered itself (--help, --show-completion), or CLError."""
    command = make_command(cmd)
    try:
        result = command.main(args=argv, prog_name=prog, standalone_mode=False)
    except click.exceptions.BadOptionUsage as error:
        # click says so both for an option without its value and for a flag given one
        # (--install-completion=bash): which, from the option itself.
        option = _option_named(command, error.option_name)
        if option is not None and option.is_flag:
            message = Message("QTS0013", max(option.opts, key=len))
        else:
            message = Message("QTS0010", error.option_name)
        raise CLError([message, Message("CPF0001", cmd.name)]) from None
    except click.exceptions.UsageError as error:
        raise CLError([Message("QTS0011", error.format_message()), Message("CPF0001", cmd.name)]) from None
    if isinstance(result, Statement):
        return bind(result, cmd)
    return result or 0


def _option_named(command: click.Command, name: str):
    """The option of ``command`` that ``name`` (as the parser normalized it) names."""
    normalize = CONTEXT_SETTINGS["token_normalize_func"]
    wanted = normalize(name.lstrip("-"))
    for param in command.params:
        if any(normalize(opt.lstrip("-")) == wanted for opt in getattr(param, "opts", ())):
            return param
    return None
