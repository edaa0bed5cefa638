"""The terminal under the panels: curses, an 80 x 24 grid, keys named as on a 5250.

Why curses and not prompt_toolkit: a panel must start as fast as a configuration command.
prompt_toolkit's Application costs 110-240 ms of imports on the machines we measured and
imports asyncio (the CL path keeps asyncio out of every command: ARCHITECTURE.md); curses, in the
standard library, costs about 2 ms. A 5250 display is a fixed grid of protected text and
input fields refreshed on Enter or a function key, which is all curses has to do here.

One terminal session is open at a time (``session()``): a panel started from another
panel, or from the command line, draws in the session already open.
"""

from __future__ import annotations

import curses
import locale
import os
import sys
from contextlib import contextmanager

ROWS, COLS = 24, 80

_SPECIAL_KEYS = {
    curses.KEY_NPAGE: "PGDN", curses.KEY_PPAGE: "PGUP", curses.KEY_UP: "UP",
    curses.KEY_DOWN: "DOWN", curses.KEY_LEFT: "LEFT", curses.KEY_RIGHT: "RIGHT",
    curses.KEY_HOME: "HOME", curses.KEY_END: "END", curses.KEY_BACKSPACE: "BACKSPACE",
    curses.KEY_DC: "DELETE", curses.KEY_IC: "INSERT", curses.KEY_BTAB: "BTAB",
    curses.KEY_ENTER: "ENTER", curses.KEY_RESIZE: "RESIZE", curses.KEY_EOL: "ERASE_EOF",
}
_CONTROL_KEYS = {
    "\n": "ENTER", "\r": "ENTER", "\t": "TAB", "\x7f": "BACKSPACE", "\x08": "BACKSPACE",
    "\x0b": "ERASE_EOF",      # Ctrl-K: 5250 Erase EOF
    "\x15": "ERASE_FIELD",    # Ctrl-U: clear the whole field
    "\x0c": "REDRAW",         # Ctrl-L
    "\x1b": "F12",            # Esc cancels, as F12 does
}

_active: "Terminal | None" = None


class Terminal:
    """The curses screen: draws what a panel shows, returns keys by name."""

    def __init__(self) -> None:
        self.window = None

    def open(self) -> None:
        locale.setlocale(locale.LC_ALL, "")
        os.environ.setdefault("ESCDELAY", "25")     # a lone Esc is F12, not half a sequence
        self.window = curses.initscr()
        curses.noecho()
        curses.cbreak()
        curses.nonl()
        self.window.keypad(True)
        try:
            curses.curs_set(1)
        except curses.error:
            pass

    def close(self) -> None:
        if self.window is None:
            return
        self.window.keypad(False)
        curses.nocbreak()
        curses.echo()
        curses.nl()
        curses.endwin()
        self.window = None

    def draw(self, lines: list[str], bold_rows: set[int], cursor: tuple[int, int]) -> None:
        """Show 24 lines (fields already merged in) and put the cursor at (row, col)."""
        window = self.window
        height, width = window.getmaxyx()
        window.erase()
        for row, line in enumerate(lines[: min(ROWS, height)]):
            text = line[: min(COLS, width)]
            if row == height - 1 and len(text) >= width:
                text = text[: width - 1]            # curses cannot write the last cell
            try:
                window.addstr(row, 0, text, curses.A_BOLD if row in bold_rows else curses.A_NORMAL)
            except curses.error:
                pass
        row, col = cursor
        try:
            window.move(min(row, height - 1), min(col, width - 1))
        except curses.error:
            pass
        window.refresh()

    def read_key(self) -> str:
        """The next key: a printable character, or a name (ENTER, F1..F24, PGDN, ...)."""
        while True:
            try:
                key = self.window.get_wch()
            except curses.error:
                continue
            except KeyboardInterrupt:       # Ctrl-C ends the display, as F3 does
                return "F3"
            if isinstance(key, int):
                if curses.KEY_F1 <= key <= curses.KEY_F0 + 24:
                    return f"F{key - curses.KEY_F0}"
                name = _SPECIAL_KEYS.get(key)
                if name:
                    return name
                continue
            if key in _CONTROL_KEYS:
                return _CONTROL_KEYS[key]
            if key.isprintable():
                return key


def active() -> Terminal | None:
    return _active


@contextmanager
def session():
    """The open terminal session, opening one if there is none."""
    global _active
    if _active is not None:
        yield _active
        return
    terminal = Terminal()
    terminal.open()
    _active = terminal
    try:
        yield terminal
    finally:
        _active = None
        terminal.close()


def is_interactive() -> bool:
    """Can a panel be shown? (A session is open, or both stdin and stdout are terminals.)"""
    if _active is not None:
        return True
    try:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return False
        curses.setupterm()          # a terminal curses can drive (not TERM=dumb or unknown)
    except (AttributeError, ValueError, OSError, curses.error):
        return False
    return curses.tigetstr("cup") is not None
