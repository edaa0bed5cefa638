"""The console scripts in bin/: one launcher per runnable command, and ``qtsmtp``.

``python tools/launchers.py --write`` writes them from the definitions in commands/;
``--check`` exits 1 when one on disk differs from what this module writes, or when
pyproject.toml's ``script-files`` does not list exactly them (tests/unit/test_registry.py
runs both checks).

Why our own launchers and not ``[project.scripts]``: the wrapper pip generates for an
entry point runs ``import re`` before it calls us (to strip ``-script.pyw`` from
``sys.argv[0]``, which only Windows needs), and ``re`` with enum and functools is about
5 ms of every CL command's start (bench/bench_cl.py; issue 15). A launcher here imports
``sys`` and the console module, nothing else. pip writes the installing interpreter in
place of the ``#!python`` line, for ``pip install .`` and ``pip install -e .`` alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT))

from qtsmtp.cl.definition import runnable_command_names  # noqa: E402 (after the path)

BIN = CHECKOUT / "bin"
UMBRELLA = "qtsmtp"

COMMAND = '''\
#!python
# {script}(1): the CL command {name}. Written by tools/launchers.py; pip puts the
# installing python in the line above.
import gc
import sys

# The modules load without a garbage collection (nothing to collect; about 1 ms of
# CPU): the runner turns it on again once the command's program is loaded.
gc.disable()

from qtsmtp.console import run_console

sys.exit(run_console("{name}", sys.argv[1:]))
'''

QTSMTP = '''\
#!python
# qtsmtp(1): the command entry display, a CL command, qtsmtp run, qtsmtp runqueue.
# Written by tools/launchers.py; pip puts the installing python in the line above.
from qtsmtp.console import qtsmtp

qtsmtp()
'''


def launchers() -> dict[str, str]:
    """Script name -> its text: ``qtsmtp`` and every runnable command, in lower case."""
    scripts = {UMBRELLA: QTSMTP}
    for name in runnable_command_names():
        scripts[name.lower()] = COMMAND.format(script=name.lower(), name=name)
    return scripts


def listed_in_pyproject() -> list[str]:
    pyproject = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
    return pyproject["tool"]["setuptools"].get("script-files", [])


def problems() -> list[str]:
    wanted = launchers()
    found = []
    on_disk = {p.name for p in BIN.iterdir()} if BIN.is_dir() else set()
    for script in sorted(on_disk - set(wanted)):
        found.append(f"bin/{script}: no command of that name")
    for script, text in sorted(wanted.items()):
        path = BIN / script
        if not path.is_file() or path.read_text() != text:
            found.append(f"bin/{script}: not what tools/launchers.py writes")
        elif not os.access(path, os.X_OK):
            found.append(f"bin/{script}: not executable")
    listed = listed_in_pyproject()
    if listed != [f"bin/{s}" for s in sorted(wanted)]:
        found.append("pyproject.toml [tool.setuptools] script-files: not bin/ and every "
                     "launcher, sorted")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write bin/")
    parser.add_argument("--check", action="store_true", help="exit 1 if bin/ is not current")
    args = parser.parse_args()
    if args.write:
        BIN.mkdir(exist_ok=True)
        for script, text in launchers().items():
            path = BIN / script
            path.write_text(text)
            path.chmod(0o755)
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found and (args.check or args.write) else 0


if __name__ == "__main__":
    sys.exit(main())
