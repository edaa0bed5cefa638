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

from qtsmtp.cl import command, definition
from qtsmtp.messages import CLError, Message
from qtsmtp.panels import execute, history, prompter
from qtsmtp.panels.panel import (CANCEL, EXIT, KEY_ROWS, Field, Panel, blank, heading,
                                 more_or_bottom, put, system_name, wrap)
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


class CommandEntry(Panel):
    LOG_FIRST, LOG_LAST = 3, 16           # log rows; row LOG_LAST holds More.../Bottom

    def __init__(self):
        super().__init__()
        self.log: list[tuple[str, object]] = []     # ("command", text) ("message", Message) ("output", line)
        self.top = 0
        self.detailed = False
        self.line = Field(18, 7, 72, height=3, max_length=3 * 72)
        self.set_fields([self.line])

    @property
    def page(self) -> int:
        return self.LOG_LAST - self.LOG_FIRST

    def log_lines(self) -> list[str]:
        out = []
        for kind, item in self.log:
            if kind == "command":
                wrapped = wrap(item, 74)
                out += ["  > " + wrapped[0]] + ["    " + w for w in wrapped[1:]]
            elif kind == "message":
                text = f"{item.id} {item.text}" if self.detailed else item.text
                out += wrap(text, 74, "    ")
                if self.detailed and item.detail:
                    out += wrap(item.detail, 72, "      ")
            else:
                out.append("    " + item)
        return out

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Command Entry", with_system=False)
        name = system_name()
        put(lines, 0, 79 - len(name), name)
        put(lines, 1, 61, "Request level:   1")
        put(lines, 2, 1, "Previous commands and messages:")
        log = self.log_lines()
        for number, text in enumerate(log[self.top: self.top + self.page]):
            put(lines, self.LOG_FIRST + number, 0, text)
        more_or_bottom(lines, self.LOG_LAST, self.top + self.page < len(log))
        put(lines, 17, 1, "Type command, press Enter.")
        put(lines, 18, 1, "===>")
        put(lines, KEY_ROWS[0], 1, "F3=Exit   F4=Prompt   F9=Retrieve   F10="
            + ("Exclude" if self.detailed else "Include") + " detailed messages")
        put(lines, KEY_ROWS[1], 1, "F1=Help   F12=Cancel")
        return lines

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
        self.show([Message("QTS1004", key)])
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

    PAGE = 13

    def __init__(self):
        super().__init__()
        self.names = definition.runnable_command_names()
        self.top = 0
        self.arrange()

    def arrange(self) -> None:
        shown = self.names[self.top: self.top + self.PAGE]
        self.set_fields([Field(6 + number, 2, 2, key=name) for number, name in enumerate(shown)])

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Select Command")
        put(lines, 2, 1, "Type option, press Enter.")
        put(lines, 3, 3, "1=Select")
        put(lines, 5, 1, "Opt  Command     Text")
        for number, name in enumerate(self.names[self.top: self.top + self.PAGE]):
            put(lines, 6 + number, 6, f"{name:<10}  {definition.load(name).prompt}")
        more_or_bottom(lines, 6 + self.PAGE, self.top + self.PAGE < len(self.names))
        put(lines, KEY_ROWS[0], 1, "F3=Exit   F12=Cancel")
        return lines

    def on_key(self, key: str):
        if key == "ENTER":
            for field in self.fields:
                if field.text and field.text != "1":
                    self.show([Message("QTS1001", field.text, "1")])
                    self.focus_key(field.key)
                    return None
            chosen = [f.key for f in self.fields if f.text == "1"]
            return chosen[0] if chosen else CANCEL
        if key in ("PGDN", "PGUP"):
            if key == "PGDN" and self.top + self.PAGE < len(self.names):
                self.top += self.PAGE
            elif key == "PGUP" and self.top > 0:
                self.top = max(0, self.top - self.PAGE)
            else:
                self.show([Message("QTS1003" if key == "PGDN" else "QTS1002")])
            self.arrange()
            return None
        if key in ("F3", "F12"):
            return super().on_key(key)
        self.show([Message("QTS1004", key)])
        return None


def command_entry() -> int:
    """``qtsmtp`` with no arguments on a terminal."""
    CommandEntry().run()
    return 0
