"""Where the data root lives: the directory that holds the libraries (QUSRSYS/ ...).

In order: $QTSMTP_ROOT; else the checkout's data/ (the embedded default library, for
people who run qtsmtp from a clone); else a per-user state directory. Tests always set
QTSMTP_ROOT to a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "QTSMTP_ROOT"
SYSTEM_LIBRARY = "QUSRSYS"


_configured: tuple[str, Path] = ("", Path())     # $QTSMTP_ROOT as last seen, as a Path


def data_root() -> Path:
    global _configured
    configured = os.environ.get(ENV)
    if configured:
        # Every command of a script asks: one Path per value, not one per command.
        if _configured[0] != configured:
            _configured = (configured, Path(configured))
        return _configured[1]
    checkout_data = Path(__file__).resolve().parents[2] / "data"
    if (checkout_data / SYSTEM_LIBRARY).is_dir():
        return checkout_data
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "qtsmtp"
