"""One registry: the definitions in commands/*.cmd drive the processing programs, the
console scripts and the man pages, and this test fails the moment any of them disagree."""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path

import pytest

from qtsmtp import console
from qtsmtp.cl.definition import command_names, load, runnable_command_names

CHECKOUT = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]["scripts"]
RUNNABLE = runnable_command_names()


def test_every_runnable_command_has_a_console_script_and_every_script_a_command():
    commands = {name.lower() for name in RUNNABLE}
    scripts = set(SCRIPTS) - {"qtsmtp"}
    assert scripts == commands, (f"scripts without a command: {sorted(scripts - commands)}; "
                                 f"commands without a script: {sorted(commands - scripts)}")


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_enters_through_the_console_module(script):
    assert SCRIPTS[script] == f"qtsmtp.console:{script}"
    entry = getattr(console, script)
    assert callable(entry)


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_definition_names_a_program_that_exists(name):
    module, _, function = load(name).program.partition(":")
    assert module and function, f"{name}: PGM must be 'module:function'"
    assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_command_has_its_man_page_and_fragment(name):
    assert (CHECKOUT / "man" / "man1" / f"{name.lower()}.1").is_file()
    assert (CHECKOUT / "man" / "src" / f"{name.lower()}.1.in").is_file()


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_console_script_is_installed(name):
    # pip install -e '.[test]' made them from [project.scripts]: a new command that is in
    # the definitions but was never installed shows here.
    assert Path(sys.executable).with_name(name.lower()).exists()


def test_script_only_statements_have_no_program_and_no_script():
    only_in_scripts = set(command_names()) - set(RUNNABLE)
    assert "MONMSG" in only_in_scripts
    for name in only_in_scripts:
        assert name.lower() not in SCRIPTS


def test_an_unknown_entry_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        console.nosuchcommand
    with pytest.raises(AttributeError):
        console.ADDSMTPLE      # entry names are lower case, as the scripts are
