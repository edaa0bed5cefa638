"""A job's log: one file per job, one message per line, as IBM i keeps a job log.

    2025-01-31T10:04:05.123456 TCP3050 127.0.0.2:40312 relay refused: ALWRLY(*LIST) ...

Appended and, by default, line-buffered: a line is in the file as soon as it is written
(tests and operators read it while the job runs) and a crash loses at most the line being
written. The file outlives the job, like a QPJOBLOG spooled file.

A server job writes several lines per message; a write() each would be a good part of
the cost of a message. So while its event loop runs, it buffers the lines and writes them
in one go every FLUSH_SECONDS (``buffer_in``), and writes what is left when the loop ends
(``unbuffer``), before the job's last message: an ending job, graceful or by an error
Python sees, loses no line. Only a job killed outright (SIGKILL) can lose the lines of
its last FLUSH_SECONDS. A line written from another thread meanwhile goes to the file at
once (its timestamp tells its place).
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime
from pathlib import Path

from qtsmtp.messages import Message, printable
from qtsmtp.store.permissions import make_directory

FLUSH_SECONDS = 0.2
LOG_MODE, LOG_DIRECTORY_MODE = 0o640, 0o750


class JobLog:
    def __init__(self, path: Path, echo=None):
        make_directory(path.parent, LOG_DIRECTORY_MODE)
        self.path = path
        # 0640 whatever the umask: a log names clients, senders and AUTH users.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, LOG_MODE)
        os.fchmod(fd, LOG_MODE)
        self._file = open(fd, "a", buffering=1, encoding="utf-8", errors="backslashreplace")
        self._echo = echo          # a stream that also gets each line (foreground mode)
        self._pending: list[str] | None = None    # lines waiting for a timed flush
        self._loop = None
        self._loop_thread = 0
        self._timer = None
        self._lock = threading.Lock()             # one writer of the file at a time

    def send(self, msgid: str, *data) -> Message:
        message = Message(msgid, *data)
        # Printable already: Message quotes every substituted value, and the catalogue's
        # texts hold no control character (tests/unit/test_server_fast_paths.py).
        self._line(str(message))
        return message

    def write(self, text: str) -> None:
        # One line per message: an address or HELO may hold a CR or LF; never let it
        # forge a second log line, nor ESC or NUL reach whoever reads the log.
        self._line(printable(text))

    def _line(self, text: str) -> None:
        line = f"{datetime.now().isoformat(timespec='microseconds')} {text}\n"
        if self._pending is not None and threading.get_ident() == self._loop_thread:
            self._pending.append(line)
            if self._timer is None:
                self._timer = self._loop.call_later(FLUSH_SECONDS, self.flush)
            return
        self._emit(line)

    def _emit(self, text: str) -> None:
        with self._lock:
            self._file.write(text)   # the file is line-buffered: one write() for the lot
            if self._echo is not None:
                self._echo.write(text)
                self._echo.flush()

    # --- buffering while an event loop runs ------------------------------------------

    def buffer_in(self, loop) -> None:
        """Buffer the lines the loop's thread writes from now on (call in that thread),
        written by a timer of ``loop``; a line from any other thread still goes straight
        to the file."""
        self.flush()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._pending = []

    def unbuffer(self) -> None:
        """Write what is buffered and go back to writing each line as it comes."""
        self.flush()
        self._pending = None
        self._loop = None

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._emit(text)

    def redirect_stderr(self) -> None:
        """Send the process's standard error (a Python traceback, a warning) here too."""
        sys.stderr.flush()
        os.dup2(self._file.fileno(), 2)

    def close(self) -> None:
        self.unbuffer()
        self._file.close()
