"""The floor plan holds: import-linter's layers contract (pyproject.toml) is kept.

A room imports only the rooms below it (ARCHITECTURE.md), in-function imports included,
so no package cycle can come back unnoticed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def lint_imports() -> str:
    found = Path(sys.executable).with_name("lint-imports")
    return str(found) if found.exists() else shutil.which("lint-imports")


def test_the_layers_contract_is_kept():
    command = lint_imports()
    assert command, "lint-imports (import-linter, in the [test] extra) is not installed"
    result = subprocess.run([command, "--no-cache"], cwd=CHECKOUT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_names_every_package():
    """A new package must be placed in the floor plan, not slip past it."""
    text = (CHECKOUT / "pyproject.toml").read_text()
    packages = {p.name for p in (CHECKOUT / "qtsmtp").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in (CHECKOUT / "qtsmtp").glob("*.py") if p.stem != "__init__"}
    missing = [name for name in sorted(packages) if f"qtsmtp.{name}" not in text]
    assert not missing, f"not in the layers contract of pyproject.toml: {missing}"
