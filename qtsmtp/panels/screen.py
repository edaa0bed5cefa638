"""The terminal under the panels: curses, the 5250's two display sizes, keys named as on a 5250.

Why curses and not prompt_toolkit: a panel must start as fast as a configuration command.
prompt_toolkit's Application costs 110-240 ms of imports on the machines we measured and
imports asyncio (the CL path keeps asyncio out of every command: ARCHITECTURE.md); curses, in the
standard library, costs about 2 ms. A 5250 display is a fixed grid of protected text and
input fields refreshed on Enter or a function key, which is all curses has to do here.

Display sizes: a 5250 shows 24 x 80 or, on a wide terminal, 27 x 132. ``geometry`` picks
the one the window holds (and gives a list every line the window has below the 24th or
27th); a window smaller than 24 x 80 gets no panel at all (the panel says what it needs).

Characters: in a UTF-8 locale curses reads and writes them as they are. In any other
locale (LANG=C, a Latin-1 locale) the keys are read as bytes and decoded here, so a key
the locale cannot name never leaves curses half-way through a character; what the locale
cannot show is drawn as SUBSTITUTE, as a 5250 shows a character its code page lacks.

One terminal session is open at a time (``session()``): a panel started from another
panel, or from the command line, draws in the session already open.
"""

from __future__ import annotations

import codecs
import curses
import locale
import os
import sys
from contextlib import contextmanager

ROWS, COLS = 24, 80                 # the 5250's standard display
WIDE_ROWS, WIDE_COLS = 27, 132      # and its wide one
SUBSTITUTE = "?"                    # shown for a character the locale cannot show
IDLE_MS = 1000                      # a key wait ends this often, so a panel can look around

_SPECIAL_KEYS = {
    curses.KEY_NPAGE: "PGDN", curses.KEY_PPAGE: "PGUP", curses.KEY_UP: "UP",
    curses.KEY_DOWN: "DOWN", curses.KEY_LEFT: "LEFT", curses.KEY_RIGHT: "RIGHT",
    curses.KEY_HOME: "HOME", curses.KEY_END: "END", curses.KEY_BACKSPACE: "BACKSPACE",
    curses.KEY_DC: "DELETE", curses.KEY_IC: "INSERT", curses.KEY_BTAB: "BTAB",
    curses.KEY_RESIZE: "RESIZE", curses.KEY_EOL: "ERASE_EOF", curses.KEY_HELP: "F1",
    # The keypad's Enter is the 5250's Field Exit: it sits where a 5250 keyboard has it.
    curses.KEY_ENTER: "FIELD_EXIT",
}
_CONTROL_KEYS = {
    "\r": "ENTER", "\t": "TAB", "\x7f": "BACKSPACE", "\x08": "BACKSPACE",
    "\n": "FIELD_EXIT",       # Ctrl-J: 5250 Field Exit (erase to the end, next field)
    "\x0b": "ERASE_EOF",      # Ctrl-K: 5250 Erase EOF
    "\x15": "ERASE_FIELD",    # Ctrl-U: clear the whole field
    "\x12": "RESET",          # Ctrl-R: 5250 Reset (unlocks the keyboard after an error)
    "\x0c": "REDRAW",         # Ctrl-L
    "\x1b": "F12",            # Esc cancels, as F12 does
}

_active: "Terminal | None" = None


def geometry(height: int, width: int) -> tuple[int, int] | None:
    """(rows, columns) a panel is laid out for in a window of this size; None when the
    window is smaller than the 5250's 24 x 80."""
    if width >= WIDE_COLS and height >= WIDE_ROWS:
        return height, WIDE_COLS
    if width >= COLS and height >= ROWS:
        return height, COLS
    return None


class Terminal:
    """The curses screen: draws what a panel shows, returns keys by name."""

    def __init__(self) -> None:
        self.window = None
        self.encoding = "utf-8"
        self.utf8 = True

    def open(self) -> None:
        locale.setlocale(locale.LC_ALL, "")
        try:
            self.encoding = codecs.lookup(locale.nl_langinfo(locale.CODESET) or "ascii").name
        except LookupError:
            self.encoding = "ascii"
        self.utf8 = self.encoding == "utf-8"
        os.environ.setdefault("ESCDELAY", "25")     # a lone Esc is F12, not half a sequence
        _size_from_terminal()
        self.window = curses.initscr()
        curses.noecho()
        curses.cbreak()
        curses.nonl()
        try:
            curses.meta(True)       # eight-bit keys arrive whole in a non-UTF-8 locale
        except curses.error:
            pass
        self.window.keypad(True)
        self.window.timeout(IDLE_MS)
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

    def size(self) -> tuple[int, int]:
        """(height, width) of the window now."""
        return self.window.getmaxyx()

    def shown(self, text: str) -> str:
        """``text`` as this terminal can show it: one cell per character, SUBSTITUTE for
        what the locale cannot encode and for control characters."""
        if text.isascii() and text.isprintable():
            return text
        out = []
        for char in text:
            if not char.isprintable():
                char = SUBSTITUTE
            elif not self.utf8:
                try:
                    char.encode(self.encoding)
                except UnicodeEncodeError:
                    char = SUBSTITUTE
            out.append(char)
        return "".join(out)

    def draw(self, lines: list[str], bold_rows: set[int], cursor: tuple[int, int],
             spans: list[tuple[int, int, int, str]] = ()) -> None:
        """Show ``lines`` (fields already merged in), with ``spans`` (row, column,
        length, "reverse" | "bold") drawn in that attribute, and put the cursor at
        (row, col)."""
        window = self.window
        height, width = window.getmaxyx()
        window.erase()
        for row, line in enumerate(lines[:height]):
            text = self.shown(line[:width])
            if row == height - 1 and len(text) >= width:
                text = text[: width - 1]            # curses cannot write the last cell
            try:
                window.addstr(row, 0, text, curses.A_BOLD if row in bold_rows else curses.A_NORMAL)
            except curses.error:
                pass
        attributes = {"reverse": curses.A_REVERSE, "bold": curses.A_BOLD}
        for row, col, length, style in spans:
            if row >= height or col >= width or row >= len(lines):
                continue
            text = self.shown(lines[row][col: min(col + length, width)])
            if row == height - 1 and col + len(text) >= width:
                text = text[: width - 1 - col]
            try:
                window.addstr(row, col, text, attributes.get(style, curses.A_NORMAL))
            except curses.error:
                pass
        row, col = cursor
        try:
            window.move(min(row, height - 1), min(col, width - 1))
        except curses.error:
            pass
        window.refresh()

    def read_key(self) -> str:
        """The next key: a printable character, or a name (ENTER, F1..F24, PGDN, ...);
        IDLE when no key came for IDLE_MS."""
        while True:
            try:
                key = self.window.get_wch() if self.utf8 else self._locale_key()
            except curses.error:
                return "IDLE"               # the wait timed out
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
            # Any other control character: ignored, and the keyboard stays usable.

    def _locale_key(self):
        """A key in a locale that is not UTF-8: a curses key code, or a character decoded
        from the bytes the terminal sent. In the C locale a terminal still most often
        sends UTF-8, so a multi-byte sequence is decoded as UTF-8 first; bytes that are
        not UTF-8 are read in the locale's own code page (Latin-1 standing in for ASCII)."""
        code = self.window.getch()
        if code == -1:
            raise curses.error("no key")
        if code > 0xFF:
            return code                     # KEY_*: curses named it already
        data = bytes([code])
        if code >= 0xC2 and self.encoding == "ascii":
            need = 1 if code < 0xE0 else 2 if code < 0xF0 else 3
            self.window.timeout(50)         # the rest of the character is on its way
            try:
                for _ in range(need):
                    more = self.window.getch()
                    if not 0x80 <= more <= 0xBF:
                        if more != -1:
                            curses.ungetch(more)
                        break
                    data += bytes([more])
            finally:
                self.window.timeout(IDLE_MS)
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        fallback = "latin-1" if self.encoding == "ascii" else self.encoding
        return data.decode(fallback, "replace")[:1] or SUBSTITUTE


def _size_from_terminal() -> None:
    """Let curses ask the terminal for its size: LINES and COLUMNS in the environment
    (exported once by a shell or a parent, as a test runner does) win over the terminal
    in curses, and are stale as soon as the window is resized."""
    for name in ("LINES", "COLUMNS"):
        os.environ.pop(name, None)


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


def reap_children() -> None:
    """Collect the exit status of child processes nobody waits for any more.

    A server started from a panel's ===> (STRTCPSVR) is a child of this process; once it
    has ended, nothing here waits for it, and it would stay <defunct> until qtsmtp ends.
    Only called between keys, when no command is running, so no status a running command
    waits for is taken from it."""
    for _ in range(64):             # bounded: a few children at most end between keys
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def is_interactive() -> bool:
    """Can a panel be shown? (A session is open, or both stdin and stdout are terminals.)"""
    if _active is not None:
        return True
    try:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return False
        _size_from_terminal()
        curses.setupterm()          # a terminal curses can drive (not TERM=dumb or unknown)
    except (AttributeError, ValueError, OSError, curses.error):
        return False
    return curses.tigetstr("cup") is not None
