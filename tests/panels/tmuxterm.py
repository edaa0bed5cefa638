"""A real terminal for panel tests: a private tmux server, one 80 x 24 window.

Each Terminal runs its own tmux server (``-S`` a socket in the test's directory, no user
configuration, no status line, remain-on-exit so the last screen and the exit status can
still be read) and ``close()`` kills that server and with it every process it started.
Screens are read with ``capture-pane``; waiting is bounded polling on the screen's
content, never a sleep of a guessed length.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import uuid
from pathlib import Path

from support import tool

WAIT_SECONDS = 30          # a bound on polling, not a performance expectation
DATE_TIME = re.compile(r"\d\d/\d\d/\d\d  \d\d:\d\d:\d\d")
GOLDEN = Path(__file__).parent / "golden"

_CONFIG = """\
set -g status off
set -g remain-on-exit on
set -g escape-time 0
set -g default-terminal "tmux-256color"
set -g history-limit 100
"""


class Terminal:
    def __init__(self, tmp_path: Path):
        name = f"tmux-{uuid.uuid4().hex[:8]}"
        self.socket = tmp_path / name            # -S: the socket lives in the test's directory
        self.config = tmp_path / f"{name}.conf"
        self.config.write_text(_CONFIG)
        self.status_file = tmp_path / f"{name}.status"
        self.tmux = tool("tmux", "tmux")     # without it the panels cannot be driven
        self.started = False

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([self.tmux, "-S", str(self.socket), "-f", str(self.config), *args],
                              capture_output=True, text=True, timeout=WAIT_SECONDS, check=check)

    def start(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = (80, 24)) -> "Terminal":
        """Run ``argv`` in a terminal of ``size`` (columns, lines) with ``env`` (added to
        the environment)."""
        self.size = size
        setting = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f"env {setting} {' '.join(shlex.quote(a) for a in argv)}"
        # The exit status goes to a file: tmux 3.3 does not report it for a dead pane.
        command = f"{command}; echo $? > {shlex.quote(str(self.status_file))}"
        self._tmux("new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), "-s", "t",
                   "sh -c " + shlex.quote(command))
        self.started = True
        return self

    def close(self) -> None:
        if self.started:
            self._tmux("kill-server", check=False)
            self.socket.unlink(missing_ok=True)
            self.started = False

    # --- reading ----------------------------------------------------------------------

    def resize(self, columns: int, lines: int) -> None:
        """Make the window (and the program's terminal) ``columns`` x ``lines``."""
        self._tmux("resize-window", "-t", "t", "-x", str(columns), "-y", str(lines))
        self.size = (columns, lines)

    def program_pid(self) -> int:
        """The program's process: the child of the pane's shell (``env`` execs it)."""
        shell = int(self._tmux("display-message", "-p", "-t", "t", "#{pane_pid}").stdout)
        children = child_processes(shell)
        assert children, "the program is not running"
        return children[0][0]

    def screen(self) -> list[str]:
        rows = getattr(self, "size", (80, 24))[1]
        out = self._tmux("capture-pane", "-p", "-t", "t").stdout.split("\n")
        lines = [line.rstrip() for line in out[:rows]]
        return lines + [""] * (rows - len(lines))

    def text(self) -> str:
        return "\n".join(self.screen())

    def scrollback(self) -> str:
        """The screen and the lines scrolled off it (what a program printed as it ended)."""
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", "t").stdout

    def exit_status(self) -> int | None:
        """The program's exit status once it has ended, else None."""
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.lstrip("-").isdigit() else None

    def wait_for(self, what, timeout: float = WAIT_SECONDS) -> list[str]:
        """Poll until ``what`` (text, or a predicate on the screen lines) holds."""
        check = what if callable(what) else (lambda lines: what in "\n".join(lines))
        deadline = time.monotonic() + timeout
        lines = self.screen()
        while not check(lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never showed {what!r}; last screen:\n" + "\n".join(lines))
            time.sleep(0.05)
            lines = self.screen()
        return lines

    def settled(self, pause: float = 0.3, timeout: float = WAIT_SECONDS) -> list[str]:
        """The screen once it is the same twice, ``pause`` apart: a repaint is over (a
        screen that merely differs from the last one may be half drawn)."""
        deadline = time.monotonic() + timeout
        lines = self.screen()
        while True:
            time.sleep(pause)
            again = self.screen()
            if again == lines:
                return lines
            if time.monotonic() > deadline:
                raise AssertionError("the screen never settled; last screen:\n" + "\n".join(again))
            lines = again

    def cursor(self) -> tuple[int, int]:
        """(row, column) of the cursor, as tmux last drew it."""
        row, col = self._tmux("display-message", "-p", "-t", "t", "#{cursor_y} #{cursor_x}").stdout.split()
        return int(row), int(col)

    def wait_for_cursor(self, row: int, col: int, timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while (where := self.cursor()) != (row, col):
            if time.monotonic() > deadline:
                raise AssertionError(f"cursor never at {(row, col)}, still at {where}; last "
                                     "screen:\n" + self.text())
            time.sleep(0.05)

    def wait_exit(self, timeout: float = WAIT_SECONDS) -> int:
        deadline = time.monotonic() + timeout
        while True:
            status = self.exit_status()
            if status is not None:
                return status
            if time.monotonic() > deadline:
                raise AssertionError("the program did not end; last screen:\n" + self.text())
            time.sleep(0.05)

    # --- typing -------------------------------------------------------------------------

    def keys(self, *keys: str) -> None:
        """tmux key names: Enter, F3, Tab, BTab, NPage, PPage, C-k, Escape ..."""
        for key in keys:
            self._tmux("send-keys", "-t", "t", key)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)

    def press(self, key: str, then) -> list[str]:
        """Press a key and wait for the screen ``then`` describes (text or predicate)."""
        self.keys(key)
        return self.wait_for(then)


def child_processes(parent: int) -> list[tuple[int, str]]:
    """(pid, state) of each child process of ``parent``, from /proc (R, S, T, Z ...)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            out.append((int(entry), fields[0]))
    return sorted(out)


def masked(lines: list[str]) -> list[str]:
    """A screen with the parts that change from run to run replaced: date, time and the
    system name (top right, as the panels show it)."""
    from qtsmtp.panels.panel import system_name
    out = [DATE_TIME.sub("MM/DD/YY  HH:MM:SS", line) for line in lines]
    name = system_name()
    if out and out[0].endswith(" " + name):
        out[0] = out[0][: len(out[0]) - len(name)].rstrip().ljust(79 - len("SYSNAME")) + "SYSNAME"
    return out


def _text(lines: list[str], mask) -> str:
    return "\n".join(mask(lines)).rstrip("\n") + "\n"


def expect_screen(terminal: Terminal, name: str, mask=masked) -> list[str]:
    """Wait (bounded) until the screen, masked, is tests/panels/golden/NAME.txt, and fail
    with both screens when it never is. QTSMTP_UPDATE_GOLDEN=1 writes the golden file
    from the screen instead, once it has settled (review the diff before committing)."""
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("QTSMTP_UPDATE_GOLDEN"):
        lines = terminal.settled()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_text(lines, mask))
        return lines
    assert path.exists(), f"golden screen {path} missing; run with QTSMTP_UPDATE_GOLDEN=1"
    expected = path.read_text()
    try:
        return terminal.wait_for(lambda lines: _text(lines, mask) == expected)
    except AssertionError:
        got = _text(terminal.screen(), mask)
        raise AssertionError(f"screen differs from golden/{path.name}:\n--- expected\n"
                             f"{expected}--- got\n{got}") from None
