"""One registry: the definitions in commands/*.cmd drive the processing programs, the
console scripts and the man pages, and this test fails the moment any of them disagree."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from qtsmtp import console
from qtsmtp.cl.definition import command_names, load, runnable_command_names

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT / "tools"))   # the launchers' writer is a build tool
import launchers  # noqa: E402

# The console scripts: our launchers in bin/, as pyproject.toml installs them
# (script-files; tools/launchers.py says why not [project.scripts]).
PYPROJECT = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
SCRIPTS = sorted(Path(path).name for path in PYPROJECT["tool"]["setuptools"]["script-files"])
RUNNABLE = runnable_command_names()


def test_every_runnable_command_has_a_console_script_and_every_script_a_command():
    commands = {name.lower() for name in RUNNABLE}
    scripts = set(SCRIPTS) - {"qtsmtp"}
    assert "qtsmtp" in SCRIPTS
    assert scripts == commands, (f"scripts without a command: {sorted(scripts - commands)}; "
                                 f"commands without a script: {sorted(commands - scripts)}")
    assert "scripts" not in PYPROJECT["project"]    # pip's wrappers would import re again


def test_the_launchers_are_what_tools_launchers_writes():
    assert launchers.problems() == []
    result = subprocess.run([sys.executable, "tools/launchers.py", "--check"], cwd=CHECKOUT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_enters_through_the_console_module_with_its_command(script):
    text = (CHECKOUT / "bin" / script).read_text()
    assert text.startswith("#!python\n")            # pip writes the venv's python there
    if script == "qtsmtp":
        assert "from qtsmtp.console import qtsmtp\n" in text
        return
    assert f'sys.exit(run_console("{script.upper()}", sys.argv[1:]))' in text
    assert load(script.upper()).program
    # Every import of the launcher: gc, sys and the console module, nothing else.
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import gc", "import sys", "from qtsmtp.console import run_console"]
    assert "\ngc.disable()\n" in text         # the runner turns it on again (collect_again)
    # And the console module still names each command as an entry point, for a program
    # that runs one in-process.
    assert callable(getattr(console, script))


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_installed_console_script_is_our_launcher(script):
    # pip install -e '.[test]' put them beside the interpreter, the "#!python" line made
    # the interpreter's own: a launcher never installed, or one of pip's wrappers left
    # from before, shows here.
    installed = Path(sys.executable).with_name(script).read_text()
    first, _, rest = installed.partition("\n")
    assert first.startswith("#!/") and "python" in first
    assert rest == (CHECKOUT / "bin" / script).read_text().partition("\n")[2]


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_definition_names_a_program_that_exists(name):
    module, _, function = load(name).program.partition(":")
    assert module and function, f"{name}: PGM must be 'module:function'"
    assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize("name", RUNNABLE)
def test_each_command_has_its_man_page_and_fragment(name):
    assert (CHECKOUT / "man" / "man1" / f"{name.lower()}.1").is_file()
    assert (CHECKOUT / "man" / "src" / f"{name.lower()}.1.in").is_file()


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


def test_the_runner_turns_collection_on_again_when_a_launcher_turned_it_off():
    import gc

    from qtsmtp.programs.runner import program_of
    frozen = gc.get_freeze_count()
    program_of("qtsmtp.programs.lists:addsmtple")        # as every command: collecting
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()                                          # as a launcher in bin/ starts
    try:
        assert callable(program_of("qtsmtp.programs.lists:rmvsmtple"))
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.enable()
