"""The typer app of each command, made from typer's classes (qtsmtp.shell.typerapp), is the
command ``typer.main.get_command`` makes of the annotated function it stands for."""

from __future__ import annotations

import inspect
import keyword
from typing import Annotated

import pytest
import typer
from typer.models import DefaultPlaceholder

from qtsmtp.cl import definition
from qtsmtp.messages import CLError
from qtsmtp.shell import typerapp


def typer_made(cmd):
    """The app as typer builds it from a signature: one keyword-only parameter per PARM."""
    app = typer.Typer(add_completion=True, rich_markup_mode=None, context_settings=typerapp.CONTEXT_SETTINGS)

    def completer(parm):
        def complete(incomplete: str) -> list[str]:
            return [c for c in typerapp.option_choices(parm) if c.startswith(incomplete.lower())]
        return complete
    parameters = [
        inspect.Parameter(parm.keyword.lower(), inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[list[str] | None, typer.Option(
                              f"--{parm.keyword.lower()}", help=parm.prompt, metavar="VALUE",
                              show_default=False, autocompletion=completer(parm))])
        for parm in cmd.parms]

    def statement(ctx: typer.Context, **given):
        return typerapp.statement_from(cmd, given, ctx.args)
    statement.__signature__ = inspect.Signature(
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
         *parameters])
    app.command(name=cmd.name.lower(), cls=typerapp.DefinitionHelp, help=cmd.prompt)(statement)
    command = typer.main.get_command(app)
    command.definition = cmd
    return command


def described(thing) -> dict:
    """What a click command or parameter is, callbacks aside (they are compared by use);
    typer's "not given" placeholder is taken as the default it stands for."""
    return {k: v.value if isinstance(v, DefaultPlaceholder) else v for k, v in vars(thing).items()
            if not callable(v) and k not in ("params", "_custom_shell_complete")}


def outcome(command, argv: list[str]):
    try:
        result = command.main(args=argv, prog_name="x", standalone_mode=False)
    except CLError as error:
        return "CLError", [(m.id, str(m)) for m in error.messages]
    except typerapp.click.exceptions.ClickException as error:       # click's usage errors
        return type(error).__name__, str(error)
    return result if isinstance(result, int) else (result.command, repr(result.keywords))


# typer's way needs each keyword to be a Python parameter name (DOFOR's FROM is not).
NAMED_LIKE_PYTHON = [name for name in definition.command_names()
                     if not any(keyword.iskeyword(p.keyword.lower()) for p in definition.load(name).parms)]


@pytest.mark.parametrize("name", NAMED_LIKE_PYTHON)
def test_the_app_made_from_typers_classes_is_the_one_typer_makes(name):
    cmd = definition.load(name)
    ours, typers = typerapp.make_command(cmd), typer_made(cmd)
    assert type(ours) is type(typers)
    assert described(ours) == described(typers)
    assert [type(p) for p in ours.params] == [type(p) for p in typers.params]
    assert [described(p) for p in ours.params] == [described(p) for p in typers.params]
    ctx = ours.make_context("x", [], resilient_parsing=True)
    # Completion of every option's value, as the shells ask for it.
    for mine, theirs in zip(ours.params, typers.params):
        for incomplete in ("", "a", "*n", "Li"):
            assert ([c.value for c in mine.shell_complete(ctx, incomplete)]
                    == [c.value for c in theirs.shell_complete(ctx, incomplete)])
    # Parsing: what each hands on, or how it refuses.
    first = cmd.parms[0].keyword.lower() if cmd.parms else "none"
    for argv in ([], [f"--{first}", "a"], [f"--{first}=a b", f"--{first}", "c"], [f"--{first}"],
                 ["--nosuch", "1"], ["stray"], [f"--{first.upper()}", "x", "--"], ["-x"]):
        assert outcome(ours, argv) == outcome(typers, argv), argv
