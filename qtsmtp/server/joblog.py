"""A job's log: one file per job, one message per line, as IBM i keeps a job log.

    2025-01-31T10:04:05.123456 TCP3050 127.0.0.2:40312 relay refused: ALWRLY(*LIST) ...

Line-buffered and appended, so a line is in the file as soon as it is written (tests and
operators read it while the job runs) and a crash loses at most the line being written.
The file outlives the job, like a QPJOBLOG spooled file.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from qtsmtp.cl.messages import Message


class JobLog:
    def __init__(self, path: Path, echo=None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "a", buffering=1, encoding="utf-8", errors="backslashreplace")
        self._echo = echo          # a stream that also gets each line (foreground mode)

    def send(self, msgid: str, *data) -> Message:
        message = Message(msgid, *data)
        self.write(str(message))
        return message

    def write(self, text: str) -> None:
        # One line per message: an address or HELO may hold a CR or LF; never let it
        # forge a second log line.
        text = text.replace("\r", "\\r").replace("\n", "\\n")
        line = f"{datetime.now().isoformat(timespec='microseconds')} {text}\n"
        self._file.write(line)
        if self._echo is not None:
            self._echo.write(line)
            self._echo.flush()

    def redirect_stderr(self) -> None:
        """Send the process's standard error (a Python traceback, a warning) here too."""
        sys.stderr.flush()
        os.dup2(self._file.fileno(), 2)

    def close(self) -> None:
        self._file.close()
