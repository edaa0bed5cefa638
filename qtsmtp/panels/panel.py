"""A small 5250 screen framework: protected text, input fields, function keys, messages.

Every panel is laid out as IBM i lays out its displays: the title centred on line 1 with
the system name at the right, date and time on line 2, the function-key legend on the
two lines above the last, and the message line at the bottom. A panel is drawn for the
5250's 24 x 80 display or, in a window wide and tall enough, for its 27 x 132 display;
a window taller than that gives a list its extra lines. Below 24 x 80 a panel says what
it needs and takes no field input until the window is large enough.

The keyboard is a 5250's, in one place (``Panel.edit`` and ``Panel.run``): typing
overwrites (Insert toggles insert mode); Tab, Back-tab and the arrows move the cursor;
Field Exit (Ctrl-J, or the keypad's Enter) erases from the cursor to the end of the field
and goes to the next one; Erase EOF (Ctrl-K) erases to the end, Ctrl-U the whole field;
Reset (Ctrl-R) takes the error state away. The bottom line's right end shows the
indicators a 5250 shows below its screen: X SYSTEM while a request runs (input
inhibited) and INSERT in insert mode. A message that points at a field shows that field
in reverse image with the cursor on it, until the next Enter or function key. F1 shows
help for the field the cursor is on, and a message on the message line in full; F24
shows the next set of function keys when they do not fit on the legend's two lines.

A panel is an object with ``lines()`` (the protected text), ``function_keys()`` (the
legend) and ``on_key(key)`` (Enter and the function keys). ``run()`` shows it until
``on_key`` returns something other than None, and returns that: ``EXIT`` (F3) or
``CANCEL`` (F12), or whatever the panel hands its caller. CUA's rule for the two: F12
goes back one display; F3 leaves the function the user started, and a display called by
an option of a Work-with list is a function of its own, so F3 there goes back to the
list (the list decides: it gets EXIT). A panel opened from another one just calls
``run()``: the session is shared.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from datetime import datetime

from qtsmtp.messages import Message
from qtsmtp.panels import history, screen

ROWS, COLS = screen.ROWS, screen.COLS
EXIT, CANCEL = "*EXIT", "*CANCEL"
INHIBITED, INSERT_MODE = "X SYSTEM", "INSERT"
INDICATOR_WIDTH = 9                     # the bottom line's last columns

# The geometry the panels lay out for now: (rows, columns). Set by Panel.run from the
# window; 24 x 80 when no terminal is open (tests, reports).
_size = [ROWS, COLS]

# Key names as a 5250 keyboard labels them, for messages.
KEY_LABELS = {"PGDN": "Page Down", "PGUP": "Page Up", "ENTER": "Enter", "HOME": "Home",
              "END": "End", "FIELD_EXIT": "Field Exit", "RESET": "Reset"}


def key_label(key: str) -> str:
    return KEY_LABELS.get(key, key)


# --- layout helpers -----------------------------------------------------------------------

def size() -> tuple[int, int]:
    return _size[0], _size[1]


def set_size(rows: int, cols: int) -> None:
    _size[0], _size[1] = rows, cols


def system_name() -> str:
    """The name shown at the top right, as WRKACTJOB's report shows it (the host name;
    os.uname is gethostname without importing socket)."""
    return os.uname().nodename.split(".")[0].upper()[:10] or "LOCALHOST"


def blank() -> list[str]:
    return [""] * _size[0]


def put(lines: list[str], row: int, col: int, text: str) -> None:
    """Write ``text`` over ``lines[row]`` from column ``col`` (clipped at the display's width)."""
    if not 0 <= row < len(lines):
        return
    cols = _size[1]
    line = lines[row].ljust(col)
    text = text[: max(0, cols - col)]
    lines[row] = line[:col] + text + line[col + len(text):]


def heading(lines: list[str], title: str, with_system: bool = True) -> None:
    """Title centred on line 1 with the system name at the right; date and time on line 2."""
    cols = _size[1]
    put(lines, 0, (cols - len(title)) // 2, title)
    if with_system:
        name = system_name()
        put(lines, 0, cols - 1 - len(name), name)
        put(lines, 1, cols - 19, datetime.now().strftime("%m/%d/%y  %H:%M:%S"))


def more_or_bottom(lines: list[str], row: int, more: bool) -> None:
    word = "More..." if more else "Bottom"
    put(lines, row, _size[1] - 1 - len(word), word)


def leader(label: str, width: int = 32) -> str:
    """IBM dot leaders: 'Internet address . . . .' filling ``width`` columns, the dots on
    alternate columns ending at the last one, so the leaders of a display line up. A
    label too long for the width is cut at a word, keeping at least one leader dot, and
    never inside a parenthesis ('TLS certificate (qtsmtp . . .' reads as a fault): an
    aside that does not fit goes whole."""
    if len(label) > width - 2:
        label, _ = fit_words(label, width - 2)
        opened = label.rfind("(")
        if opened > label.rfind(")") and label[:opened].strip():
            label = label[:opened].rstrip(" ,")
    chars = list(label.ljust(width))
    for col in range(len(label) + 1, width):
        if (width - 1 - col) % 2 == 0:
            chars[col] = "."
    return "".join(chars)


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent]


def fit_words(text: str, width: int) -> tuple[str, bool]:
    """``text`` cut to ``width`` at a word boundary; and whether anything was cut."""
    if len(text) <= width:
        return text, False
    cut = text[: width + 1].rfind(" ")
    if cut < width // 2:
        cut = width
    return text[:cut].rstrip(), True


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
    help: str = ""                 # F1 on this field: what it is for

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
        """(row, column, text) of each line of the field as shown. A blank position shows
        as an underscore, as the field's underline shows it on a 5250, trailing blanks
        typed into the field too."""
        shown = "" if self.hidden else self.value[self.offset: self.offset + self.width * self.height]
        shown = shown.rstrip(" ")
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
    """Base of every display. Subclasses give ``lines()``, ``function_keys()`` and
    ``on_key()``."""

    def __init__(self) -> None:
        self.fields: list[Field] = []
        self.focus = 0
        self.index = 0
        self.insert = False
        self.messages: list[Message] = []
        self.error_field: Field | None = None   # shown in reverse image (a message names it)
        self.inhibited = False                  # a request runs: X SYSTEM
        self.key_set = 0                        # which legend set F24 has reached
        self.options: dict = {}        # Opt values typed, by field key (Work-with lists)

    # --- geometry ---------------------------------------------------------------------

    @property
    def rows(self) -> int:
        return _size[0]

    @property
    def cols(self) -> int:
        return _size[1]

    @property
    def key_rows(self) -> tuple[int, int]:
        return self.rows - 3, self.rows - 2

    @property
    def message_row(self) -> int:
        return self.rows - 1

    @property
    def bold_rows(self):
        return {0, self.message_row}

    # --- what subclasses give ---------------------------------------------------------

    def lines(self) -> list[str]:
        return blank()

    def function_keys(self) -> list[str]:
        """The legend, in the order IBM lists keys (F1 first is not needed: F1 is help
        everywhere). The base lays it out on the two legend lines, F24 for the rest."""
        return []

    def on_key(self, key: str):
        if key == "F3":
            return EXIT
        if key == "F12":
            return CANCEL
        if key.startswith("F") or key in ("PGUP", "PGDN", "FIELD_EXIT"):
            self.show([Message("QTS1004", key_label(key))])
        return None

    def on_idle(self) -> bool:
        """A second went by without a key: True when the display should be drawn again."""
        screen.reap_children()
        return False

    def help_lines(self) -> list[str]:
        """F1 anywhere on the panel: what the display is for."""
        return []

    def field_help(self, field: Field) -> list[str]:
        """F1 with the cursor on ``field``: its help, before the panel's."""
        return wrap(field.help, 76, " ") if field.help else []

    # --- Work-with conventions: options kept across pages, F9 retrieves -------------------

    def scroll(self, key: str, total: int) -> bool:
        """Page Down / Page Up over ``total`` rows, ``self.page`` at a time; past either
        end the message instead (QTS1003 at the bottom, QTS1002 at the top). True when
        the page moved."""
        if key == "PGDN" and self.top + self.page < total:
            self.top += self.page
        elif key == "PGUP" and self.top > 0:
            self.top = max(0, self.top - self.page)
        else:
            self.show([Message("QTS1003" if key == "PGDN" else "QTS1002")])
            return False
        return True

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

    def show(self, messages: list[Message], field: "Field | object | None" = None) -> None:
        """Messages for the message line; ``field`` (a Field or a field key) is the field
        in error: reverse image, and the cursor on it."""
        self.messages = list(messages)
        if field is None:
            return
        if not isinstance(field, Field):
            if not self.focus_key(field):
                return
            field = self.field
        else:
            for number, candidate in enumerate(self.fields):
                if candidate is field:
                    self.focus_on(number)
        self.error_field = field

    def indicator(self) -> str:
        if self.inhibited:
            return INHIBITED
        return INSERT_MODE if self.insert else ""

    def message_line(self) -> str:
        """The first message, cut at a word; '+' at the end when there are more messages
        or more text (F1 shows them in full); the indicators at the right."""
        indicator = self.indicator()
        width = self.cols - 1 - (INDICATOR_WIDTH + 1 if indicator else 0)
        text = self.messages[0].text if self.messages else ""
        more = len(self.messages) > 1
        shown, cut = fit_words(text, width - 2 if len(text) > width or more else width)
        if cut or more:
            shown = shown.ljust(width - 1) + "+"
        if indicator:
            shown = shown.ljust(self.cols - 1 - INDICATOR_WIDTH) + indicator.ljust(INDICATOR_WIDTH)
        return shown

    # --- the legend -------------------------------------------------------------------

    def legend_sets(self) -> list[list[list[str]]]:
        """The function keys in sets of two lines each; when they do not all fit, each
        set ends with F24=More keys, and F24 goes round the sets."""
        keys = self.function_keys()
        width = self.cols - 2
        more = "F24=More keys"

        def fill(entries: list[str], reserve: bool) -> tuple[list[list[str]], list[str]]:
            rows, rest = [[], []], list(entries)
            for number, row in enumerate(rows):
                limit = width - (len(more) + 3 if reserve and number == 1 else 0)
                while rest and (rest[0] == "" or len("   ".join(row + [rest[0]])) <= limit):
                    if rest[0] == "":          # "" in the legend: the next keys on the next line
                        rest.pop(0)
                        if row:
                            break
                        continue
                    row.append(rest.pop(0))
            return rows, rest

        rows, rest = fill(keys, False)
        if not [k for k in rest if k]:
            return [rows]
        sets, rest = [], list(keys)
        while rest:
            rows, after = fill(rest, True)
            if len(after) == len(rest):      # a key wider than the line: show it cut
                rows, after = [[rest[0]], []], rest[1:]
            rows[1].append(more)
            sets.append(rows)
            rest = after
        return sets

    def draw_legend(self, lines: list[str]) -> None:
        sets = self.legend_sets()
        shown = sets[self.key_set % len(sets)]
        for row, entries in zip(self.key_rows, shown):
            if entries:
                put(lines, row, 1, "   ".join(entries))

    # --- fields and cursor ------------------------------------------------------------

    @property
    def field(self) -> Field | None:
        return self.fields[self.focus] if self.fields else None

    def set_fields(self, fields: list[Field], focus: int = 0) -> None:
        self.fields = fields
        if self.error_field is not None and self.error_field not in fields:
            self.error_field = None
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

    def compose(self) -> tuple[list[str], tuple[int, int], list[tuple[int, int, int, str]]]:
        rows, cols = self.rows, self.cols
        lines = [line.ljust(cols)[:cols] for line in self.lines()[:rows]]
        lines += [" " * cols] * (rows - len(lines))
        if self.function_keys():
            self.draw_legend(lines)
        spans = []
        for field in self.fields:
            if field is not self.field:
                field.offset = 0            # a field the cursor left shows its start
            for row, col, text in field.segments():
                put(lines, row, col, text)
                if field is self.error_field:
                    spans.append((row, col, len(text), "reverse"))
        put(lines, self.message_row, 0, self.message_line().ljust(cols))
        field = self.field
        cursor = field.place(min(self.index, field.capacity - 1)) if field else (self.message_row, 0)
        return lines, cursor, spans

    def edit(self, key: str) -> bool:
        """Typing and cursor keys; False when ``key`` is for ``on_key``."""
        field = self.field
        if key == "RESET":
            self.error_field = None
            return True
        if field is None:
            return key in ("TAB", "BTAB", "UP", "DOWN", "LEFT", "RIGHT", "HOME", "END", "INSERT")
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
        elif key == "FIELD_EXIT":
            # 5250 Field Exit: what is right of the cursor goes; on to the next field.
            field.value = field.value[: self.index]
            field.changed = True
            self.focus_on((self.focus + 1) % len(self.fields))
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

    def fit(self, terminal) -> bool:
        """Lay out for the window as it is now; False when it is too small for a panel.
        A panel made while another one showed (its fields placed for 24 x 80) is laid
        out when it is first shown, too."""
        layout = screen.geometry(*terminal.size())
        if layout is None:
            return False
        if list(layout) != _size or getattr(self, "_laid_out_for", None) != layout:
            set_size(*layout)
            self._laid_out_for = layout
            self.resized()
        return True

    def resized(self) -> None:
        """The geometry changed (a window made larger or smaller): arrange the fields."""

    def draw(self, terminal) -> None:
        lines, cursor, spans = self.compose()
        terminal.draw(lines, set(self.bold_rows), cursor, spans)

    def run(self):
        with screen.session() as terminal:
            saved = size()
            try:
                return self._loop(terminal)
            finally:
                if size() != saved:      # the display that called this one lays out again
                    set_size(*saved)

    def _loop(self, terminal):
        refused = ""
        while True:
            if not self.fit(terminal):
                key = too_small(terminal, refused)
                if key in ("F3", "F12"):
                    result = self.on_key(key)
                    if result is not None:
                        return result
                refused = key if key not in ("IDLE", "RESIZE", "REDRAW") else refused
                continue
            refused = ""
            self.draw(terminal)
            key = terminal.read_key()
            if key == "IDLE":
                self.on_idle()
                continue
            if key in ("RESIZE", "REDRAW"):
                continue
            if self.edit(key):
                continue
            self.error_field = None
            if key == "F1":
                if self.help() == EXIT:
                    return EXIT
                continue
            if key == "F24" and len(self.legend_sets()) > 1:
                self.key_set += 1
                continue
            # The request runs with the keyboard locked: X SYSTEM until it is done.
            self.inhibited = True
            try:
                self.draw(terminal)
                result = self.on_key(key)
            finally:
                self.inhibited = False
            if result is not None:
                return result

    def help(self):
        """F1: the messages on the message line in full, then the help of the field the
        cursor is on, then the panel's."""
        lines = []
        for message in self.messages:
            lines += [f" Message ID . . . . . . :   {message.id}",
                      f" Type . . . . . . . . . :   {message.type}",
                      f" Severity . . . . . . . :   {message.severity}", ""]
            lines += wrap(message.text, 76, "   ")
            if message.detail:
                lines += [""] + wrap(message.detail, 74, "     ")
            lines.append("")
        field = self.field
        about = self.field_help(field) if field is not None else []
        if about and self.help_lines():
            about.append("")
        about += self.help_lines()
        if about and lines:
            lines += [" Help for this display:", ""]
        lines += about
        if not lines:
            lines = wrap("No help is available for this display: F3 or F12 leaves it.", 76, " ")
        title = "Additional Message Information" if self.messages else "Help"
        return TextPanel(title, lines).run()


def too_small(terminal, refused: str = "") -> str:
    """What a window smaller than 24 x 80 shows instead of a panel; returns the key
    pressed (typing is not taken: the fields are not on the screen to type into, and
    the key last refused says so)."""
    height, width = terminal.size()
    text = [f"Display size {width} x {height} too small.",
            f"A panel needs {screen.COLS} x {screen.ROWS}.",
            "Make the window larger,", "or press F3 to exit."]
    if refused:
        text.append(f"Key {key_label(refused)} not taken.")
    lines = []
    for line in text:
        lines += textwrap.wrap(line, max(width - 1, 8)) or [""]
    terminal.draw(lines[:height], {0}, (min(len(lines), height) - 1, 0))
    return terminal.read_key()


class TextPanel(Panel):
    """Protected text that pages (Page Down / Page Up), with F3 and F12. Text wider than
    the display (a 132-column report on 80 columns) is shown from column ``left``:
    F19=Left and F20=Right shift it half a display, as DSPSPLF shifts a spooled file,
    and the columns shown are named on line 2."""

    FIRST = 2

    def __init__(self, title: str, text: list[str], keys: list[str] | None = None,
                 above: list[str] | None = None):
        super().__init__()
        self.title = title
        self.text = text
        self.keys = keys if keys is not None else ["F3=Exit", "F12=Cancel"]
        self.above = above or []           # fixed lines between heading and the text
        self.top = 0
        self.left = 0                       # first column shown of text wider than the display

    @property
    def last(self) -> int:
        return self.key_rows[0] - 2

    @property
    def page(self) -> int:
        return self.last - self.FIRST - len(self.above)

    @property
    def widest(self) -> int:
        return max((len(line) for line in self.above + self.text), default=0)

    @property
    def shifts(self) -> bool:
        return self.widest > self.cols

    def function_keys(self) -> list[str]:
        return self.keys + (["F19=Left", "F20=Right"] if self.shifts else [])

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, self.title)
        if self.shifts:
            self.left = min(self.left, self.widest - self.cols)
            put(lines, 1, 1, f"Columns . . . :   {self.left + 1} - "
                             f"{min(self.left + self.cols, self.widest)} of {self.widest}")
        row = self.FIRST
        for line in self.above:
            put(lines, row, 0, line[self.left:])
            row += 1
        for line in self.text[self.top: self.top + self.page]:
            put(lines, row, 0, line[self.left:])
            row += 1
        more_or_bottom(lines, self.last, self.top + self.page < len(self.text))
        return lines

    def on_key(self, key: str):
        if key in ("PGDN", "PGUP"):
            self.scroll(key, len(self.text))
            return None
        if key in ("F19", "F20") and self.shifts:
            step = self.cols // 2 if key == "F20" else -(self.cols // 2)
            self.left = max(0, min(self.left + step, self.widest - self.cols))
            return None
        if key in ("ENTER", "F12"):
            return CANCEL
        return super().on_key(key)       # F3; any other key is not allowed here
