"""Shared test fixtures: a temporary data root, and the real console scripts on it.

The helpers themselves are in tests/support (``import support``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# No test may send traffic off loopback: the delivery job's MX look-ups would ask the
# machine's name server. Set before any fixture copies the environment for a server.
os.environ["QTSMTP_DNS"] = "off"

from support import new_library, script  # noqa: E402  (tests/ is on sys.path from here on)


@pytest.fixture
def qroot(tmp_path, monkeypatch) -> Path:
    """A data root holding a copy of the embedded default library; QTSMTP_ROOT points at it."""
    root = new_library(tmp_path / "root")
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
