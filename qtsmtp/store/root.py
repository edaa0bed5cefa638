"""Where the data root lives: the directory that holds the libraries (QUSRSYS/ ...).

In order: $QTSMTP_ROOT; else the checkout's data/ (the embedded default library, for
people who run qtsmtp from a clone); else a per-user state directory. Tests always set
QTSMTP_ROOT to a temporary directory.

``data_directory`` gives it as a str: the CL commands that change a list work on str
paths, without pathlib (which imports re, urllib and ipaddress: about 4 ms of every
CL command's start, bench/bench_cl.py). ``data_root`` gives it as a Path.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

ENV = "QTSMTP_ROOT"
SYSTEM_LIBRARY = "QUSRSYS"


def normal_path(text: str) -> str:
    """``str(pathlib.PurePosixPath(text))`` without pathlib: "." and empty components
    dropped, a trailing "/" too, two leading slashes kept (POSIX leaves their meaning
    to the system); ".." is kept, as pathlib keeps it. Paths joined to it with "/"
    then read as pathlib's would in a message (tests/unit/test_store_context.py)."""
    if not text:
        return "."
    lead = "/" if text[0] == "/" else ""
    if text.startswith("//") and not text.startswith("///"):
        lead = "//"
    body = "/".join(part for part in text.split("/") if part and part != ".")
    return lead + body or "."


def join(base: str, *names: str) -> str:
    """``str(PurePosixPath(base, *names))`` for a normal ``base`` and plain names."""
    if not names:
        return base
    if base == ".":
        base = ""
    elif not base.endswith("/"):
        base += "/"
    return base + "/".join(names)


_configured: tuple[str, str] = ("", "")      # $QTSMTP_ROOT as last seen, made normal


def data_directory() -> str:
    global _configured
    configured = os.environ.get(ENV)
    if configured:
        # Every command of a script asks: once per value, not once per command.
        if _configured[0] != configured:
            _configured = (configured, normal_path(configured))
        return _configured[1]
    checkout_data = os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "data")
    if os.path.isdir(os.path.join(checkout_data, SYSTEM_LIBRARY)):
        return checkout_data
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return normal_path(os.path.join(state, "qtsmtp"))


def data_root() -> Path:
    """data_directory() as a pathlib.Path."""
    from pathlib import Path
    return Path(data_directory())
