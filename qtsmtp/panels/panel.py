"""A small 5250 screen framework: protected text, input fields, function keys, messages.

Every panel is an 80 x 24 grid laid out as IBM i lays out its displays: the title centred
on line 1 with the system name at the right, date and time on line 2, the function-key
legend on lines 22-23 and the message line on line 24. Input fields show their empty
positions as underscores, as a 5250 capture does. The cursor lives in input fields: Tab,
Back-tab and the arrow keys move it; typing overwrites (Insert toggles insert mode);
Ctrl-K erases to the end of the field (Erase EOF), Ctrl-U the whole field.

A panel is an object with ``lines()`` (the protected text) and ``on_key(key)`` (Enter
and the function keys). ``run()`` shows it until ``on_key`` returns something other than
None, and returns that: ``EXIT`` (F3, which ends every panel up to the command),
``CANCEL`` (F12, one panel back) or whatever the panel hands its caller. A panel opened
from another one just calls ``run()``: the session is shared.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from datetime import datetime

from qtsmtp.messages import Message
from qtsmtp.panels import history, screen

ROWS, COLS = screen.ROWS, screen.COLS
MESSAGE_ROW, KEY_ROWS = 23, (21, 22)
EXIT, CANCEL = "*EXIT", "*CANCEL"


# --- layout helpers -----------------------------------------------------------------------

def system_name() -> str:
    """The name shown at the top right, as WRKACTJOB's report shows it (the host name;
    os.uname is gethostname without importing socket)."""
    return os.uname().nodename.split(".")[0].upper()[:10] or "LOCALHOST"


def blank() -> list[str]:
    return [""] * ROWS


def put(lines: list[str], row: int, col: int, text: str) -> None:
    """Write ``text`` over ``lines[row]`` from column ``col`` (clipped at 80 columns)."""
    line = lines[row].ljust(col)
    text = text[: max(0, COLS - col)]
    lines[row] = line[:col] + text + line[col + len(text):]


def heading(lines: list[str], title: str, with_system: bool = True) -> None:
    """Title centred on line 1 with the system name at the right; date and time on line 2."""
    put(lines, 0, (COLS - len(title)) // 2, title)
    if with_system:
        name = system_name()
        put(lines, 0, COLS - 1 - len(name), name)
        put(lines, 1, COLS - 19, datetime.now().strftime("%m/%d/%y  %H:%M:%S"))


def more_or_bottom(lines: list[str], row: int, more: bool) -> None:
    word = "More..." if more else "Bottom"
    put(lines, row, COLS - 1 - len(word), word)


def leader(label: str, width: int = 32) -> str:
    """IBM dot leaders: 'Internet address . . . .' filling ``width`` columns, the dots on
    alternate columns ending at the last one, so the leaders of a display line up."""
    chars = list(label[: width - 2].ljust(width))
    for col in range(len(label) + 1, width):
        if (width - 1 - col) % 2 == 0:
            chars[col] = "."
    return "".join(chars)


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent]


# --- input fields ---------------------------------------------------------------------------

@dataclass(eq=False)
class Field:
    row: int
    col: int
    width: int
    value: str = ""
    height: int = 1
    max_length: int = 0            # 0: what the field shows (width x height)
    key: object = None             # the panel's name for the field
    changed: bool = False          # typed into since the panel set it
    offset: int = 0                # first character shown (a multiple of width)
    hidden: bool = False           # a non-display field (DSPINPUT(*NO)): typing not shown
    option: bool = False           # an Opt field of a Work-with list (kept across pages)

    @property
    def capacity(self) -> int:
        return self.max_length or self.width * self.height

    @property
    def text(self) -> str:
        return self.value.strip()

    def set(self, value: str) -> None:
        self.value = value
        self.changed = False
        self.offset = 0

    def segments(self) -> list[tuple[int, int, str]]:
        shown = "" if self.hidden else self.value[self.offset: self.offset + self.width * self.height]
        shown = shown.ljust(min(self.width * self.height, self.capacity - self.offset), "_")
        return [(self.row + n, self.col, shown[n * self.width:(n + 1) * self.width])
                for n in range(self.height) if shown[n * self.width:(n + 1) * self.width]]

    def place(self, index: int) -> tuple[int, int]:
        """Screen position of character ``index`` (scrolling the field so it is shown)."""
        visible = self.width * self.height
        if index < self.offset:
            self.offset = index // self.width * self.width
        elif index >= self.offset + visible:
            self.offset = (index // self.width - self.height + 1) * self.width
        rel = index - self.offset
        return self.row + rel // self.width, self.col + rel % self.width


# --- the panel ----------------------------------------------------------------------------

class Panel:
    """Base of every display. Subclasses give ``lines()`` and ``on_key()``."""

    bold_rows = frozenset({0, MESSAGE_ROW})

    def __init__(self) -> None:
        self.fields: list[Field] = []
        self.focus = 0
        self.index = 0
        self.insert = False
        self.messages: list[Message] = []
        self.options: dict = {}        # Opt values typed, by field key (Work-with lists)

    # --- what subclasses give ---------------------------------------------------------

    def lines(self) -> list[str]:
        return blank()

    def on_key(self, key: str):
        if key == "F3":
            return EXIT
        if key == "F12":
            return CANCEL
        if key.startswith("F") or key in ("PGUP", "PGDN"):
            self.show([Message("QTS1004", key)])
        return None

    def help_lines(self) -> list[str]:
        return []

    # --- Work-with conventions: options kept across pages, F9 retrieves -------------------

    def keep_options(self) -> None:
        """Remember what is typed in the Opt fields shown, by their keys, so paging,
        F5 and a message do not lose options the user has typed but not yet entered."""
        for field in self.fields:
            if field.option:
                if field.text:
                    self.options[field.key] = field.text
                else:
                    self.options.pop(field.key, None)

    def retrieve(self, line: "Field") -> None:
        """F9: the previous command (further back each time) onto the ===> line."""
        command = history.shared().retrieve()
        if command is None:
            self.show([Message("QTS1005")])
            return
        line.set(command)
        self.focus_key(line.key)
        self.show([])

    # --- messages ---------------------------------------------------------------------

    def show(self, messages: list[Message]) -> None:
        self.messages = list(messages)

    def message_line(self) -> str:
        if not self.messages:
            return ""
        text = self.messages[0].text
        if len(self.messages) > 1:
            return text[: COLS - 3].ljust(COLS - 2) + "+"
        return text[: COLS - 1]

    # --- fields and cursor ------------------------------------------------------------

    @property
    def field(self) -> Field | None:
        return self.fields[self.focus] if self.fields else None

    def set_fields(self, fields: list[Field], focus: int = 0) -> None:
        self.fields = fields
        self.focus_on(min(focus, len(fields) - 1) if fields else 0)

    def focus_on(self, number: int, index: int = 0) -> None:
        self.focus = number
        self.index = index

    def focus_key(self, key) -> bool:
        for number, field in enumerate(self.fields):
            if field.key == key:
                self.focus_on(number)
                return True
        return False

    def compose(self) -> tuple[list[str], tuple[int, int]]:
        lines = [line.ljust(COLS)[:COLS] for line in self.lines()]
        lines += [" " * COLS] * (ROWS - len(lines))
        for field in self.fields:
            for row, col, text in field.segments():
                put(lines, row, col, text)
        put(lines, MESSAGE_ROW, 0, self.message_line().ljust(COLS))
        field = self.field
        cursor = field.place(min(self.index, field.capacity - 1)) if field else (MESSAGE_ROW, 0)
        return lines, cursor

    def edit(self, key: str) -> bool:
        """Typing and cursor keys; False when ``key`` is for ``on_key``."""
        field = self.field
        if field is None:
            return key in ("TAB", "BTAB", "UP", "DOWN", "LEFT", "RIGHT", "HOME", "END")
        if len(key) == 1:
            self._type(field, key)
        elif key == "TAB":
            self.focus_on((self.focus + 1) % len(self.fields))
        elif key == "BTAB":
            self.focus_on((self.focus - 1) % len(self.fields))
        elif key in ("UP", "DOWN"):
            self._vertical(1 if key == "DOWN" else -1)
        elif key == "LEFT":
            if self.index > 0:
                self.index -= 1
            else:
                self.focus_on((self.focus - 1) % len(self.fields))
                self.index = max(0, min(len(self.field.value), self.field.capacity - 1))
        elif key == "RIGHT":
            if self.index + 1 < field.capacity:
                self.index += 1
            else:
                self.focus_on((self.focus + 1) % len(self.fields))
        elif key == "HOME":
            self.focus_on(0)
        elif key == "END":
            self.index = min(len(field.value.rstrip()), field.capacity - 1)
        elif key == "BACKSPACE":
            if self.index > 0:
                self.index -= 1
                field.value = field.value[: self.index] + field.value[self.index + 1:]
                field.changed = True
        elif key == "DELETE":
            field.value = field.value[: self.index] + field.value[self.index + 1:]
            field.changed = True
        elif key == "INSERT":
            self.insert = not self.insert
        elif key == "ERASE_EOF":
            field.value = field.value[: self.index]
            field.changed = True
        elif key == "ERASE_FIELD":
            field.value, self.index, field.changed = "", 0, True
        else:
            return False
        return True

    def _type(self, field: Field, char: str) -> None:
        value = field.value.ljust(self.index)
        if self.insert:
            if len(value.rstrip()) >= field.capacity:
                return
            value = value[: self.index] + char + value[self.index:]
        else:
            value = value[: self.index] + char + value[self.index + 1:]
        field.value = value[: field.capacity]
        field.changed = True
        self.index += 1
        if self.index >= field.capacity and len(self.fields) > 1:
            self.focus_on((self.focus + 1) % len(self.fields))      # auto-advance

    def _vertical(self, step: int) -> None:
        row, col = self.field.place(min(self.index, self.field.capacity - 1))
        rows = sorted({f.row for f in self.fields})
        later = [r for r in rows if (r > row if step > 0 else r < row)]
        target = (min(later) if step > 0 else max(later)) if later else (rows[0] if step > 0 else rows[-1])
        candidates = [n for n, f in enumerate(self.fields) if f.row == target]
        best = min(candidates, key=lambda n: abs(self.fields[n].col - col))
        self.focus_on(best)

    # --- the loop -----------------------------------------------------------------------

    def run(self):
        with screen.session() as terminal:
            while True:
                lines, cursor = self.compose()
                terminal.draw(lines, set(self.bold_rows), cursor)
                key = terminal.read_key()
                if key in ("RESIZE", "REDRAW"):
                    continue
                if self.edit(key):
                    continue
                if key == "F1":
                    result = self.help()
                    if result == EXIT:
                        return EXIT
                    continue
                result = self.on_key(key)
                if result is not None:
                    return result

    def help(self):
        """F1: the messages on the message line in full, else the panel's help."""
        if self.messages:
            lines = []
            for message in self.messages:
                lines += [f" Message ID . . . . . . :   {message.id}",
                          f" Type . . . . . . . . . :   {message.type}",
                          f" Severity . . . . . . . :   {message.severity}", ""]
                lines += wrap(message.text, 76, "   ")
                if message.detail:
                    lines += [""] + wrap(message.detail, 74, "     ")
                lines.append("")
            return TextPanel("Additional Message Information", lines).run()
        lines = self.help_lines()
        if lines:
            return TextPanel("Help", lines).run()
        return None


class TextPanel(Panel):
    """Protected text that pages (Page Down / Page Up), with F3 and F12."""

    FIRST, LAST = 2, 19

    def __init__(self, title: str, text: list[str], keys: str = " F3=Exit   F12=Cancel",
                 above: list[str] | None = None):
        super().__init__()
        self.title = title
        self.text = text
        self.keys = keys
        self.above = above or []           # fixed lines between heading and the text
        self.top = 0

    @property
    def page(self) -> int:
        return self.LAST - self.FIRST - len(self.above)

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, self.title)
        row = self.FIRST
        for line in self.above:
            put(lines, row, 0, line)
            row += 1
        for line in self.text[self.top: self.top + self.page]:
            put(lines, row, 0, line)
            row += 1
        more_or_bottom(lines, self.LAST, self.top + self.page < len(self.text))
        put(lines, KEY_ROWS[0], 0, self.keys)
        return lines

    def on_key(self, key: str):
        if key == "PGDN":
            if self.top + self.page < len(self.text):
                self.top += self.page
            else:
                self.show([Message("QTS1003")])
            return None
        if key == "PGUP":
            if self.top > 0:
                self.top = max(0, self.top - self.page)
            else:
                self.show([Message("QTS1002")])
            return None
        if key in ("ENTER", "F12"):
            return CANCEL
        return super().on_key(key)       # F3; any other key is not allowed here
