"""Shared test fixtures: a temporary data root, and the real console scripts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]

# No test may send traffic off loopback: the delivery job's MX look-ups would ask the
# machine's name server. Set before any fixture copies the environment for a server.
os.environ["QTSMTP_DNS"] = "off"
EMBEDDED_LIBRARY = CHECKOUT / "data" / "QUSRSYS"


def script(name: str) -> str:
    """The installed console script: next to this Python first (a venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"console script {name} is not installed: pip install -e .")
    return found


@pytest.fixture
def qroot(tmp_path, monkeypatch) -> Path:
    """A data root holding a copy of the embedded default library; QTSMTP_ROOT points at it."""
    root = tmp_path / "root"
    shutil.copytree(EMBEDDED_LIBRARY, root / "QUSRSYS",
                    ignore=shutil.ignore_patterns(".*"))
    monkeypatch.setenv("QTSMTP_ROOT", str(root))
    return root


@pytest.fixture
def cl(qroot):
    """Run a console script on the temporary root: cl("addsmtple", "--type", "accept", ...)."""
    def run(name: str, *args: str, input: str | None = None, env: dict | None = None,
            **kw) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "QTSMTP_ROOT": str(qroot), **(env or {})}
        return subprocess.run([script(name), *args], input=input, capture_output=True,
                              text=True, env=full_env, timeout=60, **kw)
    return run


def member(root: Path, file: str, name: str) -> str:
    path = root / "QUSRSYS" / file / name
    return path.read_text() if path.exists() else ""
