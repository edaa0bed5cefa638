"""The 5250 keyboard in the panel base, without a terminal: a scripted stand-in for the
curses screen records every frame drawn, so what the operator would see at each key
(X SYSTEM while a request runs, the field in error in reverse image, the legend, the
geometry) is checked exactly."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from qtsmtp.messages import Message
from qtsmtp.panels import panel as base
from qtsmtp.panels import screen
from qtsmtp.panels.panel import CANCEL, EXIT, Field, Panel


class ScriptedTerminal:
    def __init__(self, keys: list[str], size: tuple[int, int] = (24, 80)):
        self.keys = list(keys)
        self.height_width = size
        self.frames: list[tuple[list[str], tuple[int, int], list]] = []

    def size(self):
        return self.height_width

    def draw(self, lines, bold_rows, cursor, spans=()):
        self.frames.append((list(lines), cursor, list(spans)))

    def read_key(self) -> str:
        assert self.keys, "the panel asked for more keys than the script has"
        return self.keys.pop(0)


@pytest.fixture
def scripted(monkeypatch):
    """Run a panel against a ScriptedTerminal: scripted(panel, keys) -> the terminal."""
    def run(panel: Panel, keys: list[str], size=(24, 80)):
        terminal = ScriptedTerminal(keys, size)

        @contextmanager
        def session():
            yield terminal
        monkeypatch.setattr(screen, "session", session)
        panel.result = panel.run()
        return terminal
    yield run
    base.set_size(base.ROWS, base.COLS)


class Form(Panel):
    """Two fields; Enter checks the first and names it in error when it is not a number."""

    def __init__(self):
        super().__init__()
        self.seen_at_enter: list[str] = []
        self.first = Field(3, 10, 6, "", key="first", help="A number.")
        self.second = Field(4, 10, 15, "255.255.255.255", key="second")
        self.set_fields([self.first, self.second])

    def function_keys(self):
        return ["F3=Exit", "F12=Cancel"]

    def on_key(self, key):
        if key == "ENTER":
            # the frame drawn last: the one the operator sees while the request runs
            self.seen_at_enter.append(self.last_frame[0][-1])
            if not self.first.text.isdigit():
                self.show([Message("QTS1012", self.first.text)], field=self.first)
                return None
            return "done"
        return super().on_key(key)

    def draw(self, terminal):
        super().draw(terminal)
        self.last_frame = terminal.frames[-1]


def test_the_request_runs_with_input_inhibited_shown(scripted):
    form = Form()
    scripted(form, ["1", "2", "ENTER"])
    assert form.result == "done"
    assert form.seen_at_enter[0].rstrip().endswith("X SYSTEM")


def test_the_field_in_error_is_in_reverse_image_with_the_cursor_on_it(scripted):
    form = Form()
    terminal = scripted(form, ["TAB", "x", "ENTER", "F3"])
    lines, cursor, spans = terminal.frames[-2]      # after Enter; the last is F3's
    assert lines[-1].startswith("No entry starts with .")
    assert (3, 10, 6, "reverse") in spans and cursor == (3, 10)
    # Reset (or the next request) takes the error state away.
    form = Form()
    terminal = scripted(form, ["TAB", "x", "ENTER", "RESET", "F3"])
    assert terminal.frames[-3][2] and not terminal.frames[-2][2]


def test_field_exit_erases_the_rest_of_the_field_and_goes_on():
    form = Form()
    form.focus_on(1)
    for key in "255.255.255.0":
        form.edit(key)
    assert form.second.value == "255.255.255.055"      # typing over, as a 5250 does
    form.focus_on(1, 13)
    form.edit("FIELD_EXIT")
    assert form.second.value == "255.255.255.0" and form.focus == 0


def test_insert_mode_shows_on_the_bottom_line(scripted):
    form = Form()
    terminal = scripted(form, ["INSERT", "F3"])
    assert terminal.frames[-2][0][-1].rstrip().endswith("INSERT")
    assert terminal.frames[-1][0][-1].rstrip().endswith("X SYSTEM")   # F3 runs
    assert form.result == EXIT


def test_f1_shows_the_field_help_and_the_message(scripted):
    form = Form()
    form.show([Message("QTS1012", "x")])
    terminal = scripted(form, ["F1", "F12", "F12"])
    help_screen = "\n".join(terminal.frames[1][0])
    assert "Additional Message Information" in help_screen
    assert "QTS1012" in help_screen and "A number." in help_screen
    assert form.result == CANCEL


class ManyKeys(Panel):
    def function_keys(self):
        return [f"F{n}=Function number {n}" for n in range(1, 11)]


def test_f24_shows_the_other_function_keys(scripted):
    panel = ManyKeys()
    terminal = scripted(panel, ["F24", "F24", "F3"])
    first, second, third = (frame[0] for frame in terminal.frames[:3])
    assert "F24=More keys" in first[22] and "F1=Function number 1" in first[21]
    assert "F1=Function number 1" not in second[21] + second[22]
    assert first[21] == third[21]                    # round again


def test_a_window_below_24_by_80_gets_no_panel_and_no_typing(scripted):
    form = Form()
    terminal = scripted(form, ["1", "2", "F3"], size=(15, 60))
    assert terminal.frames[0][0][0] == "Display size 60 x 15 too small."
    assert form.first.value == "" and form.result == EXIT


def test_the_wide_display_and_taller_windows(scripted):
    form = Form()
    terminal = scripted(form, ["F3"], size=(30, 140))
    lines = terminal.frames[0][0]
    assert len(lines) == 30 and all(len(line) == 132 for line in lines)
    assert "F3=Exit" in lines[27]


def test_messages_are_cut_at_a_word_and_marked():
    form = Form()
    form.show([Message("TCP2671", "ACCEPTRLY", "QATMADRLST", "QUSRSYS", 7, "Internet address x not valid")])
    line = form.message_line()
    assert len(line) <= 79 and line.endswith("+") and line[:-1].rstrip().endswith("record 7:")


def test_key_names_in_messages_are_the_keyboard_s():
    form = Form()
    form.on_key("PGDN")
    assert form.messages[0].text == "Function key Page Down not allowed on this display."
