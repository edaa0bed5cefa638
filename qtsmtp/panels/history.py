"""The command history that F9 (Retrieve) walks back through, kept between sessions.

Where: ``$QTSMTP_ROOT/cmdhistory`` when QTSMTP_ROOT names the data root (each root keeps
its own, and tests never touch a person's history), else
``${XDG_STATE_HOME:-~/.local/state}/qtsmtp/cmdhistory``. One command per line, oldest
first, readable by its owner only; values of DSPINPUT(*NO) parameters (passwords) are
never written. The file is cut back to the last ``KEEP`` commands when it grows past
twice that.
"""

from __future__ import annotations

import os
from pathlib import Path

from qtsmtp.messages import Message
from qtsmtp.store.root import ENV

KEEP = 500
FILE_NAME = "cmdhistory"


def history_path() -> Path:
    root = os.environ.get(ENV)
    if root:
        return Path(root) / FILE_NAME
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "qtsmtp" / FILE_NAME


class History:
    def __init__(self, path: Path | None = None):
        self.path = path or history_path()
        self.commands = self._load()
        self.back = 0                      # how far F9 has gone back since the last command

    def _load(self) -> list[str]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                return [line.rstrip("\n") for line in f if line.strip()][-KEEP:]
        except OSError:
            return []

    def add(self, command: str) -> Message | None:
        """Remember a command; a warning message when the file cannot be written."""
        command = " ".join(command.split("\n")).strip()
        self.back = 0
        if not command:
            return None
        self.commands.append(command)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (command + "\n").encode("utf-8"))
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > 2 * KEEP * 80 and len(self._load_all()) > 2 * KEEP:
                self._trim()
        except OSError as exc:
            return Message("QTS1010", self.path, exc.strerror or exc)
        return None

    def _load_all(self) -> list[str]:
        with open(self.path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f if line.strip()]

    def _trim(self) -> None:
        kept = self._load_all()[-KEEP:]
        tmp = self.path.with_name(f".{FILE_NAME}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, "".join(c + "\n" for c in kept).encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def retrieve(self) -> str | None:
        """F9: the command before the one retrieved last (None when there is none)."""
        if self.back >= len(self.commands):
            return None
        self.back += 1
        return self.commands[-self.back]


_shared: History | None = None


def shared() -> History:
    """The one history of this process: every ===> line adds to it and F9 walks it."""
    global _shared
    if _shared is None:
        _shared = History()
    return _shared
