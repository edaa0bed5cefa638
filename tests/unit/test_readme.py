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
