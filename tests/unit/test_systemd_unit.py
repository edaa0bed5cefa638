"""The systemd unit shipped in tools/systemd (qtsmtp-server(8), SYSTEMD): systemd's own
checker accepts it, it runs the server in the foreground with the hardening a
distribution would use, and the package installs it with its documentation."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import tomllib
from pathlib import Path

from support import CHECKOUT, script, tool

UNIT = CHECKOUT / "tools" / "systemd" / "qtsmtp.service"


def _service() -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNIT)
    return dict(parser["Service"])


def test_systemd_analyze_verifies_the_unit(tmp_path) -> None:
    analyze = tool("systemd-analyze", "systemd")
    # As installed: ExecStart names the console script where this installation has it.
    unit = tmp_path / "qtsmtp.service"
    unit.write_text(UNIT.read_text().replace("/usr/bin/strtcpsvr", script("strtcpsvr")))
    result = subprocess.run([analyze, "verify", "--man=no", str(unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_systemd_analyze_verifies_the_queue_runner_timer_and_service(tmp_path) -> None:
    analyze = tool("systemd-analyze", "systemd")
    units = []
    for name in ("qtsmtp-runqueue.timer", "qtsmtp-runqueue.service"):
        text = (UNIT.parent / name).read_text().replace("/usr/bin/qtsmtp", script("qtsmtp"))
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    result = subprocess.run([analyze, "verify", "--man=no", *units],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(tmp_path / "qtsmtp-runqueue.timer")
    assert timer["Timer"]["OnCalendar"] == "*:0/5" and timer["Timer"]["Persistent"] == "true"


def test_the_unit_runs_the_foreground_server_hardened_and_restarted() -> None:
    service = _service()
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "strtcpsvr" and command[1:] == ["SERVER(*SMTP) MODE(*FOREGROUND)"]
    assert service["Restart"] == "on-failure"
    assert service["Environment"] == "QTSMTP_ROOT=/var/lib/qtsmtp"
    assert service["ReadWritePaths"] == "/var/lib/qtsmtp"
    for option, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                          "PrivateTmp": "yes", "ProtectHome": "yes",
                          "KillMode": "mixed"}.items():
        assert service[option] == value, option


def test_the_package_installs_the_units_with_its_documentation() -> None:
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
    data_files = project["tool"]["setuptools"]["data-files"]
    assert "tools/systemd/*" in data_files["share/doc/qtsmtp/systemd"]
