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


def data_root() -> Path:
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured)
    checkout_data = Path(__file__).resolve().parents[2] / "data"
    if (checkout_data / SYSTEM_LIBRARY).is_dir():
        return checkout_data
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "qtsmtp"
