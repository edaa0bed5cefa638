"""README.md promises two set-up commands; CI must run the very test command it gives."""

import re

from support import CHECKOUT


def _fenced_commands(text: str) -> list[str]:
    return [line for block in re.findall(r"```sh\n(.*?)```", text, re.S) for line in block.splitlines()
            if line.strip() and not line.startswith("#")]


def test_readme_test_command_is_the_one_ci_runs():
    readme = (CHECKOUT / "README.md").read_text()
    section = readme.split("## Run the tests", 1)[1].split("##", 1)[0]
    (command,) = _fenced_commands(section)
    ci = (CHECKOUT / ".ci" / "run").read_text().splitlines()
    assert command in ci, f"README's test command is not a line of .ci/run: {command}"


def test_readme_server_command_uses_the_embedded_library():
    readme = (CHECKOUT / "README.md").read_text()
    section = readme.split("## Run the server", 1)[1].split("##", 1)[0]
    (command,) = _fenced_commands(section)
    assert 'strtcpsvr "SERVER(*SMTP)' in command
    assert "QTSMTP_ROOT" not in command      # the embedded default library, data/QUSRSYS


def _quietness(args: list[str]) -> int:
    """How many steps quieter than its default pytest is told to be by ``args``."""
    steps = 0
    for arg in args:
        if arg == "--quiet" or re.fullmatch(r"-q+", arg):
            steps += 1 if arg == "--quiet" else len(arg) - 1
        elif arg == "--verbose" or re.fullmatch(r"-v+", arg):
            steps -= 1 if arg == "--verbose" else len(arg) - 1
    return steps


def test_readme_test_command_ends_with_the_count_line():
    """pytest -qq (a -q in pyproject's addopts and another in the command) drops the
    final "N passed" line: the README's command must leave it."""
    import shlex
    import tomllib
    addopts = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    readme = (CHECKOUT / "README.md").read_text()
    (command,) = _fenced_commands(readme.split("## Run the tests", 1)[1].split("##", 1)[0])
    pytest_args = shlex.split(command.rsplit("-m pytest", 1)[1]) if "-m pytest" in command else []
    assert _quietness(shlex.split(addopts) + pytest_args) <= 1, (addopts, command)
