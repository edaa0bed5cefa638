"""The F4 prompter: one display per command, generated from its definition.

Every parameter is a line with its prompt text, dot leaders, an input field and the
choices (F11 shows keywords instead); an element list is a heading with one line per
element, a qualified name one line per qualifier; a parameter that takes several values
(MAX > 1) is one wide field written as in CL, e.g. ``(1 example.com) (2 example.net)``.
A field starts with, in order: the value written on the command, the value now stored
(CHGSMTPA: what DSPSMTPA shows), or the default. Values written on the command, and
values typed here, are marked ``>``; only those go into the command Enter builds, so
an unchanged CHGSMTPA field stays *SAME. Enter binds the command with the same binder the
console commands use and runs it; an error stays on the display, on the message line,
with the cursor on the parameter in error. F12 returns without running anything.

Selective prompting (``?CMD ??KWD(value)``): when any keyword carries prompt characters
only those parameters are shown. ``??`` shown, can be changed; ``?*`` shown, protected;
``?<`` shown, can be changed, the default is passed unless it is; ``?-`` not shown,
passed as written (the command must start with ``?``); ``?&`` and ``?%`` shown after F9
(All parameters), like ``?<`` and protected respectively. ``?/`` (IBM: reserved) is
refused.
"""

from __future__ import annotations

import importlib

from qtsmtp.cl import command, definition
from qtsmtp.cl.definition import Command, Parm
from qtsmtp.cl.helptext import choices, notes, prompted_when
from qtsmtp.cl.optionform import is_option_form, statement_from_options
from qtsmtp.cl.parser import Scalar, Statement, ValueList
from qtsmtp.config import attributes
from qtsmtp.messages import CLError, Message, send
from qtsmtp.panels import execute, screen
from qtsmtp.panels.panel import (
    CANCEL,
    EXIT,
    Field,
    Panel,
    blank,
    key_label,
    leader,
    more_or_bottom,
    put,
    wrap,
)
from qtsmtp.panels.promptfields import FIELD_COL, Line, ParmPrompt, build, split_values
from qtsmtp.programs.runner import EXIT_INVALID, Outcome
from qtsmtp.store.root import data_root

FIRST_ROW = 4
MARK_COL, CHOICE_COL = 34, 52
SELECTIVE = {"??": "input", "?*": "protected", "?<": "input-default", "?-": "hidden",
             "?&": "more-input", "?%": "more-protected"}

# Commands whose prompt shows current values, as IBM's prompt override programs do:
# command -> "module:function" returning {keyword: stored value}.
CURRENT_VALUES = {"CHGSMTPA": "qtsmtp.panels.prompter:stored_attributes"}


def stored_attributes() -> dict:
    return attributes.load(data_root())


# --- what a ?-command asks for ------------------------------------------------------------------

def request(stmt: Statement) -> tuple[Command, dict, dict]:
    """(definition, given values by keyword, selective modes by keyword) of a statement."""
    cmd = command.resolve(stmt)
    given, modes, bad = {}, {}, []
    keywords = list(stmt.keywords)
    positional = []
    for node in stmt.positional:
        # ??KWD written without parentheses: the keyword to prompt, no value given.
        if isinstance(node, Scalar) and not node.quoted and node.text[:1] == "?" and len(node.text) > 2:
            keywords.append((node.text.upper(), ValueList([])))
        else:
            positional.append(node)
    for index, node in enumerate(positional):
        if index >= cmd.maxpos:
            bad.append(Message("CPD0003", cmd.name, cmd.maxpos))
            break
        if not (isinstance(node, Scalar) and node.is_n):
            given[cmd.parms[index].keyword] = node if isinstance(node, ValueList) else ValueList([node])
    for keyword, value in keywords:
        chars = keyword[:2] if keyword.startswith("?") else ""
        name = keyword[len(chars):]
        if chars and chars not in SELECTIVE:
            bad.append(Message("QTS1006", chars, name))
            continue
        if name not in cmd.by_keyword:
            bad.append(Message("CPD0043", name))
            continue
        if chars == "?-" and not stmt.prompt:
            bad.append(Message("QTS1007", name))
        if chars:
            modes[name] = SELECTIVE[chars]
        if isinstance(value, ValueList) and not value.items:
            continue        # KWD(): nothing written; the field shows the current value
        given[name] = value
    if bad:
        raise CLError(bad + [Message("CPF0001", cmd.name)])
    return cmd, given, modes


def wants_prompt(stmt: Statement) -> bool:
    return stmt.prompt or any(k.startswith("?") for k, _ in stmt.keywords)


# --- the display ------------------------------------------------------------------------------

class PromptPanel(Panel):
    def __init__(self, cmd: Command, given: dict | None = None, modes: dict | None = None):
        super().__init__()
        self.cmd = cmd
        self.given, self.modes = given or {}, modes or {}
        self.selective = bool(self.modes)
        self.show_all = False
        self.keywords = False
        current = {}
        if cmd.name in CURRENT_VALUES:
            module, _, function = CURRENT_VALUES[cmd.name].partition(":")
            try:
                current = getattr(importlib.import_module(module), function)()
            except CLError as error:
                self.show(error.messages)
        self.current = current
        self.prompts = build(cmd, self.given, self.modes, current)
        self.requested = False              # F10: the parameters shown on request
        self.top = 0
        self._decide_prompted()
        self._arrange()
        # The cursor starts on the first parameter the command did not give a value.
        for prompt in self.visible():
            if prompt.given is None and not prompt.protected and prompt.fields:
                self._go_to(prompt.parm.keyword)
                break

    # --- which lines are on the display -----------------------------------------------

    def visible(self) -> list[ParmPrompt]:
        # A parameter written on the command, or marked for selective prompting, is
        # shown whatever its prompt control says: the operator named it.
        prompts = [p for p in self.prompts if p.parm.keyword in self.prompted
                   or p.given is not None or p.parm.keyword in self.modes]
        if not self.selective:
            return prompts
        shown_modes = {"input", "protected", "input-default"}
        if self.show_all:
            shown_modes |= {"more-input", "more-protected"}
        return [p for p in prompts if self.modes.get(p.parm.keyword) in shown_modes]

    def control_values(self) -> tuple[dict[str, str], set[str]]:
        """The value of every parameter as the display has it now (its first field; none
        when it is blank), and which of them are specified (given or typed)."""
        values, specified = {}, set()
        for prompt in self.prompts:
            texts = prompt.texts()
            if texts and texts[0]:
                values[prompt.parm.keyword] = texts[0]
            if prompt.specified():
                specified.add(prompt.parm.keyword)
        return values, specified

    def _decide_prompted(self) -> None:
        """Which parameters the definition's prompt controls (PMTCTL) show, from the
        values now on the display: decided when the display is made and at each Enter,
        as IBM's prompter does, never while typing."""
        values, specified = self.control_values()
        self.prompted = {p.parm.keyword for p in self.prompts
                         if self.cmd.prompted(p.parm, values, specified, self.requested)}

    def all_lines(self) -> list[tuple[ParmPrompt, Line]]:
        return [(p, line) for p in self.visible() for line in p.lines]

    @property
    def page(self) -> int:
        """Parameter lines on a page: from FIRST_ROW to the line above More.../Bottom."""
        return self.key_rows[0] - 1 - FIRST_ROW

    def resized(self) -> None:
        self.top = self.top // self.page * self.page
        self._arrange()

    def _arrange(self) -> None:
        focus_key = self.field.key if self.field else None
        fields = []
        for number, (prompt, line) in enumerate(self.all_lines()):
            if line.field is not None:
                line.field.row = FIRST_ROW + number - self.top
                if self.top <= number < self.top + self.page and not prompt.protected:
                    fields.append(line.field)
        self.set_fields(fields)
        if focus_key is not None:
            self.focus_key(focus_key)

    @property
    def bold_rows(self):
        rows = {0, self.message_row}
        for number, (prompt, line) in enumerate(self.all_lines()):
            if prompt.parm.min and self.top <= number < self.top + self.page:
                rows.add(FIRST_ROW + number - self.top)
        return rows

    def lines(self) -> list[str]:
        lines = blank()
        title = f"{self.cmd.prompt} ({self.cmd.name})"
        put(lines, 0, (self.cols - len(title)) // 2, title)
        entries = self.all_lines()
        if entries:
            put(lines, 2, 1, "Type choices, press Enter.")
        else:
            put(lines, 2, 1, "This command has no parameters; press Enter to run it.")
        for number, (prompt, line) in enumerate(entries[self.top: self.top + self.page]):
            row = FIRST_ROW + number
            if line.field is None:
                put(lines, row, 1, line.label)
                continue
            if line.more:
                put(lines, row, MARK_COL - 1 - len(line.label), line.label)
                continue
            if self.keywords:       # F11: the keyword between the leaders and the field
                first = line.field is prompt.fields[0]
                put(lines, row, 1, leader(line.label, 21) + " " + (prompt.parm.keyword if first else ""))
            else:
                put(lines, row, 1, leader(line.label))
                if FIELD_COL + line.field.width + 1 <= CHOICE_COL:
                    note = self._choices(prompt, line)
                    put(lines, row, CHOICE_COL, note if len(note) <= 27 else note[:24] + "...")
            if prompt.specified():
                put(lines, row, MARK_COL, ">")
            if prompt.protected:
                put(lines, row, FIELD_COL, line.field.text)
        more_or_bottom(lines, FIRST_ROW + self.page, self.top + self.page < len(entries))
        return lines

    def function_keys(self) -> list[str]:
        keys = ["F1=Help", "F3=Exit", "F4=Prompt", "F5=Refresh",
                "F11=Choices" if self.keywords else "F11=Keywords", "F12=Cancel"]
        if any(p.parm.pmtctl == "*PMTRQS" for p in self.prompts):
            keys.append("F10=" + ("Fewer parameters" if self.requested else "Additional parameters"))
        hidden = self.selective and not self.show_all and any(
            m.startswith("more") for m in self.modes.values())
        return keys + (["", "F9=All parameters"] if hidden else [])

    @staticmethod
    def _choices(prompt: ParmPrompt, line: Line) -> str:
        text = line.spec.choices_text()
        extra = [v for v in prompt.parm.sngval if v not in text.split(", ")]
        if extra and line.field is prompt.fields[0]:
            text = ", ".join([text] + extra)
        return text

    # --- keys --------------------------------------------------------------------------

    def on_key(self, key: str):
        if key == "ENTER":
            return self.submit()
        if key in ("PGDN", "PGUP"):
            total = len(self.all_lines())
            if key == "PGDN" and self.top + self.page >= total:
                self.show([Message("QTS1003")])
            elif key == "PGUP" and self.top == 0:
                self.show([Message("QTS1002")])
            else:
                self.top = max(0, self.top + (self.page if key == "PGDN" else -self.page))
                self._arrange()
            return None
        if key == "F4":
            return self.value_list()
        if key == "F5":
            for prompt in self.prompts:
                for f, text in zip(prompt.fields, prompt.initial):
                    f.set(text)
                if prompt.more_field is not None:
                    prompt.more_field.set("")
            self.show([])
            self._decide_prompted()
            self._arrange()
            return None
        if key == "F10" and any(p.parm.pmtctl == "*PMTRQS" for p in self.prompts):
            self.requested = not self.requested
            self._decide_prompted()
            self._arrange()
            return None
        if key == "F9" and self.selective:
            self.show_all = True
            self._arrange()
            return None
        if key == "F11":
            self.keywords = not self.keywords
            return None
        if key in ("F3", "F12"):
            return EXIT if key == "F3" else CANCEL
        self.show([Message("QTS1004", key_label(key))])
        return None

    def command_text(self) -> str:
        """The command Enter runs: a parameter the prompt controls do not show is passed
        only when it was written on the command."""
        parts = [self.cmd.name]
        for prompt in self.prompts:
            if (prompt.parm.keyword not in self.prompted and prompt.given is None
                    and prompt.parm.keyword not in self.modes):
                continue
            text = prompt.cl()
            if text:
                parts.append(text)
        return " ".join(parts)

    def submit(self):
        for prompt in self.visible():
            more = prompt.more_field
            if more is not None and more.text:
                typed = more.text
                more.set("")
                if typed != "+":
                    self.show([Message("CPD0084", typed, prompt.parm.keyword)], field=more)
                    return None
                return self.more_values(prompt)
        # Changed controls (a new TYPE) show the parameters they call for before the
        # command runs, when there are new ones to fill in.
        before = set(self.prompted)
        self._decide_prompted()
        if self.prompted - before:
            self._arrange()
            for prompt in self.visible():
                if prompt.parm.keyword in self.prompted - before and prompt.fields:
                    self._go_to(prompt.parm.keyword)
                    break
            self.show([])
            return None
        if self.prompted != before:
            self._arrange()
        text = self.command_text()
        try:
            bound = command.compile_statement(command.statement(text))
        except CLError as error:
            self.show(error.messages, field=self._point_at(error.messages))
            return None
        outcome = execute.run(bound, text)
        if outcome.failed:
            self.show(outcome.messages, field=self._point_at(outcome.messages))
            return None
        return outcome

    def _point_at(self, messages: list[Message]) -> Field | None:
        """The field of the parameter a message names (the page turned to it); else of
        the parameter whose value a message quotes."""
        for message in messages:
            for word in message.data:
                if word in self.cmd.by_keyword and self._go_to(word):
                    return self.field
        for message in messages:
            for word in message.data:
                for prompt in self.visible():
                    if word and any(f.text == word for f in prompt.fields) and self._go_to(prompt.parm.keyword):
                        return next(f for f in prompt.fields if f.text == word)
        return None

    def _go_to(self, keyword: str) -> bool:
        for number, (prompt, line) in enumerate(self.all_lines()):
            if prompt.parm.keyword == keyword and line.field is not None:
                self.top = number // self.page * self.page
                self._arrange()
                return self.focus_key(keyword)
        return False

    def _current(self) -> tuple[ParmPrompt, Line] | None:
        field_now = self.field
        for prompt, line in self.all_lines():
            if line.field is field_now:
                return prompt, line
        return None

    def help_lines(self) -> list[str]:
        found = self._current()
        if found is None:
            return wrap(self.cmd.help, 76, "  ")
        prompt, line = found
        parm = prompt.parm
        lines = [f" {parm.prompt} ({parm.keyword})", ""]
        lines += wrap(parm.help or parm.prompt + ".", 76, "  ") + [""]
        lines += ["  " + c for c in choices(parm)]
        lines += ["", "  " + notes(self.cmd, parm)]
        shown_when = prompted_when(self.cmd, parm)
        if shown_when:
            lines += wrap(shown_when, 76, "  ")
        return lines

    def more_values(self, prompt: ParmPrompt):
        """"+ for more values": one field per value of a list parameter; what Enter
        leaves there goes back into the parameter's field, written as in CL."""
        field = prompt.fields[0]
        try:
            values = split_values(field.value)
        except CLError as error:
            self.show(error.messages, field=field)
            return None
        result = MoreValuesPanel(self.cmd, prompt.parm, values).run()
        if result == EXIT:
            return EXIT
        if isinstance(result, list):
            field.value = " ".join(result)[: field.capacity]
            field.changed = True
            self._go_to(prompt.parm.keyword)
        return None

    def value_list(self):
        """F4 on a field: its choices, one per line, and the field to type the value in."""
        found = self._current()
        if found is None:
            return None
        prompt, line = found
        result = ValuePanel(self.cmd, prompt.parm, line).run()
        if result == EXIT:
            return EXIT
        return None


class MoreValuesPanel(Panel):
    """Specify More Values for Parameter: a list parameter's values, one on each line;
    Page Down and Page Up when there are more lines than the display holds."""

    FIRST_ROW = 5

    def __init__(self, cmd: Command, parm: Parm, values: list[str]):
        super().__init__()
        self.cmd, self.parm = cmd, parm
        self.values = list(values) + [""] * (parm.max - len(values))
        self.top = 0
        self.arrange()

    @property
    def page(self) -> int:
        return self.key_rows[0] - 1 - self.FIRST_ROW

    def resized(self) -> None:
        self.keep_values()
        self.top = self.top // self.page * self.page
        self.arrange()

    def arrange(self) -> None:
        width = min(self.cols - 1 - FIELD_COL, 60)
        self.set_fields([Field(self.FIRST_ROW + n, FIELD_COL, width, self.values[self.top + n],
                               max_length=max(width, 512), key=self.top + n,
                               help=self.parm.help or self.parm.prompt)
                         for n in range(min(self.page, len(self.values) - self.top))])

    def keep_values(self) -> None:
        for field in self.fields:
            self.values[field.key] = field.value.strip()

    def lines(self) -> list[str]:
        lines = blank()
        title = f"Specify More Values for Parameter {self.parm.keyword}"
        put(lines, 0, (self.cols - len(title)) // 2, title)
        put(lines, 2, 1, "Type choices, press Enter.")
        put(lines, self.FIRST_ROW, 1, leader(self.parm.prompt))
        more_or_bottom(lines, self.FIRST_ROW + self.page, self.top + self.page < len(self.values))
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F5=Refresh", "F12=Cancel"]

    def on_key(self, key: str):
        if key == "ENTER":
            self.keep_values()
            return [v for v in self.values if v]
        if key in ("PGDN", "PGUP"):
            self.keep_values()
            self.scroll(key, len(self.values))
            self.arrange()
            return None
        if key == "F5":
            for field in self.fields:
                field.set(self.values[field.key])
            return None
        return super().on_key(key)

    def help_lines(self) -> list[str]:
        return wrap(f"{self.parm.prompt} ({self.parm.keyword}): type one value on each line, "
                    f"up to {self.parm.max}; a blank line is no value. Enter puts them back "
                    "on the prompt.", 76, " ")


class ValuePanel(Panel):
    """F4 on a parameter: "Specify Value for Parameter", its choices and its help."""

    def __init__(self, cmd: Command, parm: Parm, line: Line):
        super().__init__()
        self.cmd, self.parm, self.line = cmd, parm, line
        width = min(line.field.width, self.cols - 1 - 35)
        self.entry = Field(5, 35, width, line.field.value, max_length=line.field.capacity)
        self.set_fields([self.entry])

    def lines(self) -> list[str]:
        lines = blank()
        title = f"Specify Value for Parameter {self.parm.keyword}"
        put(lines, 0, (self.cols - len(title)) // 2, title)
        put(lines, 2, 1, "Type choice, press Enter.")
        put(lines, 5, 1, leader(self.line.label.strip(), 32))
        rows = ["Choices:"] + [w for c in choices(self.parm) for w in wrap(c, 74, "  ")]
        spec = self.line.spec
        values = list(dict.fromkeys(spec.special_values() + [v for v in spec.values if not v.startswith("*")]))
        if values and not spec.rstd:          # a restricted list is its choices already
            rows += ["", "Special values:"] + wrap("   ".join(values), 74, "  ")
        rows += [""] + wrap(self.parm.help or self.parm.prompt + ".", 76)
        for number, text in enumerate(rows[: self.key_rows[0] - 1 - 7]):
            put(lines, 7 + number, 1, text)
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F12=Cancel"]

    def on_key(self, key: str):
        if key == "ENTER":
            self.line.field.value = self.entry.value
            self.line.field.changed = True
            return CANCEL
        return super().on_key(key)


# --- entry points -------------------------------------------------------------------------------

def prompt_statement(stmt: Statement):
    """Prompt for a parsed command: an Outcome once it ran, EXIT or CANCEL, or CLError."""
    cmd, given, modes = request(stmt)
    return PromptPanel(cmd, given, modes).run()


def prompt_console(name: str, argv: list[str]) -> int:
    """``COMMAND --prompt [values]``: prompt in the terminal, run, exit as the command would."""
    def stmt():
        if is_option_form(argv):
            made = statement_from_options(definition.load(name), argv)
            made.prompt = True
            return made
        return command.statement(f"?{name} " + " ".join(argv))
    return _prompt_and_report(name, stmt)


def prompt_command_line(text: str) -> int:
    """``qtsmtp "?CMD ..."`` on a terminal."""
    return _prompt_and_report(command.command_name(text) or "qtsmtp", lambda: command.statement(text))


def _prompt_and_report(name: str, make_statement) -> int:
    """Prompt, run, and report as the console command would: its messages, its exit status."""
    if not screen.is_interactive():
        send([Message("QTS1008", name)])
        return EXIT_INVALID
    try:
        result = prompt_statement(make_statement())
    except CLError as error:
        result = Outcome(name, command.with_escape(error, name).messages, failed=True)
    if result in (EXIT, CANCEL):
        result = Outcome(name, [Message("QTS1009", "F3" if result == EXIT else "F12")], failed=True)
    for line in result.output:
        print(line)
    send(result.messages)
    return result.exit_status
