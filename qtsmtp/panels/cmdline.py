"""The CL command line: ``qtsmtp`` with no arguments, IBM's "Command Entry" display.

Type a command at ``===>`` and press Enter: it runs as the console command would (same
binder, same processing program, same messages), and the command and its messages go to
the log above ("Previous commands and messages", Page Up / Page Down to scroll). F4
prompts the typed command, or lists the commands when the line is empty; ``?CMD`` and
``??KEYWORD`` prompt too. F9 retrieves the previous command, again and again further
back, from a history kept between sessions (qtsmtp.panels.history). F10 shows message
identifiers and second-level text in the log. F3 or F12 ends the session.

``run_command_line`` is the same line for the Work-with panels' ``===>``.
"""

from __future__ import annotations

import textwrap

from qtsmtp.cl import command, definition
from qtsmtp.messages import CLError, Message
from qtsmtp.panels import execute, history, prompter
from qtsmtp.panels.panel import (CANCEL, EXIT, Field, Panel, TextPanel, blank, heading,
                                 key_label, more_or_bottom, put, system_name, wrap)
from qtsmtp.programs.runner import Outcome

def run_command_line(text: str, prompt: bool = False):
    """Run (or with ``prompt``, F4-prompt) a command typed on a ``===>`` line.

    Returns an Outcome (the command ran, or failed to parse), EXIT/CANCEL from a prompt,
    or None when F4 was pressed on an empty line and no command was chosen."""
    text = text.strip()
    if not text:
        if not prompt:
            return None
        chosen = SelectCommandPanel().run()
        if chosen in (EXIT, CANCEL, None):
            return chosen if chosen == EXIT else None
        return prompter.PromptPanel(definition.load(chosen)).run()
    try:
        stmt = command.statement(text)
        if prompt or prompter.wants_prompt(stmt):
            result = prompter.prompt_statement(stmt)
        else:
            result = execute.run(command.compile_statement(stmt), text)
    except CLError as error:
        result = Outcome(text, command.with_escape(error, command.command_name(text)).messages,
                                 failed=True)
    if isinstance(result, Outcome):
        warning = history.shared().add(result.command)
        if warning is not None:
            result.messages.append(warning)
    return result


def show_output(outcome: Outcome) -> object:
    """What a command run from a Work-with list's ===> wrote (DSPSMTPA, a report), on a
    display of its own: titled with the output's own title when it starts with one (a
    centred line), else with the command's name; EXIT or CANCEL as the display ends."""
    output = list(outcome.output)
    if not output:
        return None
    first = output[0]
    if len(first) - len(first.lstrip()) >= 10 and first.strip():
        title = first.strip()
        output = output[1:]
        if output and not output[0].strip():
            output = output[1:]
    else:
        title = (command.command_name(outcome.command) or "Command") + " output"
    return TextPanel(title, output).run()


def output_lines(line: str, cols: int) -> list[str]:
    """A line a command wrote, as the log shows it: indented four, and when that does
    not fit, never cut: it goes on on the next lines, under the value of a 'label . . :
    value' line (DSPSMTPA's lines are 80 columns before the indent)."""
    if len(line) + 4 <= cols:
        return ["    " + line]
    label_end = line.find(":   ")
    hang = label_end + 4 if 0 < label_end < cols - 24 else len(line) - len(line.lstrip())
    return textwrap.wrap(line, cols - 5, initial_indent="    ", subsequent_indent=" " * (hang + 4),
                         drop_whitespace=True, replace_whitespace=False) or ["    "]


class CommandEntry(Panel):
    LOG_FIRST = 3           # log rows: LOG_FIRST to the row that holds More.../Bottom

    def __init__(self):
        super().__init__()
        self.log: list[tuple[str, object]] = []     # ("command", text) ("message", Message) ("output", line)
        self.top = 0
        self.detailed = False
        self.line = Field(18, 7, 72, height=3, max_length=3 * 72, key="command")
        self.resized()
        self.set_fields([self.line])

    def resized(self) -> None:
        value = self.line.value
        self.line.row, self.line.width = self.rows - 6, self.cols - 8
        self.line.max_length = 3 * self.line.width
        self.line.value = value[: self.line.max_length]
        self.top = max(0, len(self.log_lines()) - self.page)

    @property
    def log_last(self) -> int:
        return self.rows - 8

    @property
    def page(self) -> int:
        return self.log_last - self.LOG_FIRST

    def log_lines(self) -> list[str]:
        out = []
        width = self.cols - 6
        for kind, item in self.log:
            if kind == "command":
                wrapped = wrap(item, width)
                out += ["  > " + wrapped[0]] + ["    " + w for w in wrapped[1:]]
            elif kind == "message":
                text = f"{item.id} {item.text}" if self.detailed else item.text
                out += wrap(text, width, "    ")
                if self.detailed and item.detail:
                    out += wrap(item.detail, width - 2, "      ")
            else:
                out += output_lines(item, self.cols)
        return out

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Command Entry", with_system=False)
        name = system_name()
        put(lines, 0, self.cols - 1 - len(name), name)
        put(lines, 1, self.cols - 19, "Request level:   1")
        put(lines, 2, 1, "Previous commands and messages:")
        log = self.log_lines()
        for number, text in enumerate(log[self.top: self.top + self.page]):
            put(lines, self.LOG_FIRST + number, 0, text)
        more_or_bottom(lines, self.log_last, self.top + self.page < len(log))
        put(lines, self.rows - 7, 1, "Type command, press Enter.")
        put(lines, self.rows - 6, 1, "===>")
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F4=Prompt", "F9=Retrieve",
                "F10=" + ("Exclude" if self.detailed else "Include") + " detailed messages", "",
                "F1=Help", "F12=Cancel"]

    def add_outcome(self, outcome: Outcome) -> None:
        self.log.append(("command", outcome.command))
        self.log += [("output", line) for line in outcome.output]
        self.log += [("message", m) for m in outcome.messages]
        self.top = max(0, len(self.log_lines()) - self.page)

    def on_key(self, key: str):
        if key in ("ENTER", "F4"):
            text = self.line.value
            result = run_command_line(text, prompt=key == "F4")
            if result == EXIT:
                return None                     # F3 in a prompt ends the prompt, not the line
            if isinstance(result, Outcome):
                self.add_outcome(result)
                self.show(result.messages)
                self.line.set("")
                self.focus_on(0)
            elif key == "ENTER":
                self.show([])
            return None
        if key == "F9":
            self.retrieve(self.line)
            return None
        if key == "F10":
            self.detailed = not self.detailed
            self.top = max(0, len(self.log_lines()) - self.page)
            return None
        if key in ("PGUP", "PGDN"):
            total = len(self.log_lines())
            if key == "PGUP":
                if self.top == 0:
                    self.show([Message("QTS1002")])
                self.top = max(0, self.top - self.page)
            else:
                if self.top + self.page >= total:
                    self.show([Message("QTS1003")])
                else:
                    self.top += self.page
            return None
        if key in ("F3", "F12"):
            return EXIT
        self.show([Message("QTS1004", key_label(key))])
        return None

    def help_lines(self) -> list[str]:
        return [
            " Type a CL command at ===> and press Enter to run it, e.g.",
            "   ADDSMTPLE TYPE(*ACCEPT) INTNETADR('192.168.1.0') SUBNETMASK('255.255.255.0')",
            "",
            " F4 prompts the command typed (or lists the commands when the line is",
            " empty). ?CMD prompts before running; ??KEYWORD(value) prompts only the",
            " keywords marked.",
            " F9 retrieves the previous command; press it again to go further back.",
            " F10 shows message identifiers and second-level text.",
            " Page Up and Page Down scroll the previous commands and messages.",
            " F1 with a message on the bottom line shows that message in full.",
        ]


class SelectCommandPanel(Panel):
    """F4 on an empty line: the commands, and 1=Select to prompt one."""

    FIRST_ROW = 6

    def __init__(self):
        super().__init__()
        self.names = definition.runnable_command_names()
        self.top = 0
        self.arrange()

    @property
    def page(self) -> int:
        return self.rows - 11

    def resized(self) -> None:
        self.top = self.top // self.page * self.page
        self.arrange()

    def arrange(self) -> None:
        shown = self.names[self.top: self.top + self.page]
        self.set_fields([Field(self.FIRST_ROW + number, 2, 1, key=name, option=True,
                               help="1 selects the command: its prompt is shown.")
                         for number, name in enumerate(shown)])

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Select Command")
        put(lines, 2, 1, "Type option, press Enter.")
        put(lines, 3, 3, "1=Select")
        put(lines, 5, 1, "Opt  Command     Text")
        for number, name in enumerate(self.names[self.top: self.top + self.page]):
            put(lines, self.FIRST_ROW + number, 6, f"{name:<10}  {definition.load(name).prompt}")
        more_or_bottom(lines, self.FIRST_ROW + self.page, self.top + self.page < len(self.names))
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F12=Cancel"]

    def on_key(self, key: str):
        if key == "ENTER":
            for field in self.fields:
                if field.text and field.text != "1":
                    self.show([Message("QTS1001", field.text, "1")], field=field)
                    return None
            chosen = [f.key for f in self.fields if f.text == "1"]
            return chosen[0] if chosen else CANCEL
        if key in ("PGDN", "PGUP"):
            self.scroll(key, len(self.names))
            self.arrange()
            return None
        if key in ("F3", "F12"):
            return super().on_key(key)
        self.show([Message("QTS1004", key_label(key))])
        return None

    def help_lines(self) -> list[str]:
        return [" Type 1 beside a command and press Enter: its prompt is shown, with every",
                " parameter, its choices and F1 help for each. Page Down and Page Up page",
                " the list."]


def command_entry() -> int:
    """``qtsmtp`` with no arguments on a terminal."""
    CommandEntry().run()
    return 0
