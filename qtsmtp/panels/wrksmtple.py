"""WRKSMTPLE: Work with SMTP List Entries, as a 5250 panel or as a printed report.

The panel lists the entries of every list (or of TYPE's) with a line to add one, options
1=Add (the ADDSMTPLE prompt), 4=Remove (after a confirmation display) and 5=Display (what
the entry means, its effective network, the entries it overlaps or shadows, whether the
current ALWRLY reads it), F8 to test a relay decision, and a ``===>`` line for commands.
Options typed on several lines are processed top to bottom when Enter is pressed; with
F4 instead of Enter each option's command is prompted first (4 prompts RMVSMTPLE, no
confirmation display). Every change is made by running ADDSMTPLE or RMVSMTPLE through
their processing programs, with the same store, locks and messages as the console
commands; the one exception is a record that is not a valid entry (a hand edit), which no
RMVSMTPLE can name: 4=Remove takes that line out of the member (config.lists).

*Position to* puts the first entry whose address or host name starts with what is typed
at the top of the list (*TOP, *BOT); F15=Subset shows only the entries of one list type,
or whose address or host name starts with, or contains, a text.

OUTPUT(*PRINT), or a standard output that is not a terminal, writes the report instead.
"""

from __future__ import annotations

import sys
from datetime import datetime

from qtsmtp.cl.binder import Bound
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.listindex import passed_over_messages
from qtsmtp.config.lists import remove_record
from qtsmtp.messages import CLError, Message
from qtsmtp.panels import entrylist, execute, screen
from qtsmtp.panels.cmdline import run_command_line, show_output
from qtsmtp.panels.entrylist import Row
from qtsmtp.panels.panel import (
    CANCEL,
    Field,
    Panel,
    TextPanel,
    blank,
    heading,
    key_label,
    leader,
    more_or_bottom,
    put,
    system_name,
    wrap,
)
from qtsmtp.panels.relaytest import RelayTestPanel
from qtsmtp.programs.runner import Outcome
from qtsmtp.store.member import take_cut_back
from qtsmtp.store.root import data_root

TITLE = "Work with SMTP List Entries"
OPT = 2
OPTIONS = {"1": "Add", "4": "Remove", "5": "Display"}
OPT_WIDTH = max(len(k) for k in OPTIONS)       # an Opt field as wide as the options
HEADING_ROW, ADD_ROW, FIRST_ROW = 7, 8, 9
REPORT_WIDTH = 132                              # a printed report is 132 columns wide


class Layout:
    """Columns of the list: Opt, Type, Internet address, Mask or prefix, Host name (wider
    on the 27 x 132 display, where an IPv6 address and a long host name fit)."""

    def __init__(self, cols: int = 80):
        if cols >= 132:
            self.type, self.address, self.mask, self.host = 6, 18, 59, 76
            self.widths = {self.address: 40, self.mask: 16, self.host: 55}
        else:
            self.type, self.address, self.mask, self.host = 6, 18, 41, 57
            self.widths = {self.address: 22, self.mask: 15, self.host: 22}


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ">"


def row_text(row: Row, layout: Layout | None = None) -> str:
    """A list line from the Type column on."""
    layout = layout or Layout()
    line = " " * layout.type + row.list_type.type
    try:
        address, mask, host = entrylist.columns(row)
    except CLError:
        return (line.ljust(layout.address)
                + _cell(row.record.replace("\t", " "), layout.host - layout.address - 1)
                ).ljust(layout.host) + "< record not valid"
    for col, text in ((layout.address, address), (layout.mask, mask), (layout.host, host)):
        line = line.ljust(col) + _cell(text, layout.widths[col])
    return line


def settings(root) -> tuple[str, list[Message]]:
    """ALWRLY now stored, and the message when the attributes cannot be read."""
    try:
        return str(attributes.load(root)["ALWRLY"]), []
    except CLError as error:
        return "?", error.messages


def selected_types(type_value: str) -> list[lt.ListType]:
    return list(lt.LIST_TYPES.values()) if type_value == "*ALL" else [lt.LIST_TYPES[type_value]]


def identity(row: Row) -> tuple[str, str]:
    return row.list_type.type, row.record


# --- the panel ----------------------------------------------------------------------------

class WorkPanel(Panel):
    def __init__(self, type_value: str = "*ALL"):
        super().__init__()
        self.type_value = type_value
        self.root = data_root()
        self.top = 0
        self.options: dict[int, str] = {}
        self.subset = Subset()
        self.add_opt = Field(ADD_ROW, OPT, OPT_WIDTH, key="add-opt",
                             help="1 beside the list type adds an entry: the ADDSMTPLE "
                                  "prompt is shown for that type (or for the type you "
                                  "choose on it when the type is left blank).")
        self.add_type = Field(ADD_ROW, 6, 11, key="add-type",
                              help="The list type of the entry to add, as ADDSMTPLE "
                                   "names it (*ACCEPT, *REJECT, *NEAR ...).")
        self.position = Field(4, 32, 22, max_length=255, key="position",
                              help="Type the start of an address or host name and press "
                                   "Enter: the list starts at the first entry whose "
                                   "address or host name starts with it. *TOP and *BOT go "
                                   "to the top and the bottom.")
        self.command = Field(20, 7, 72, max_length=2000, key="command",
                             help="Type a command and press Enter to run it (F4 prompts "
                                  "it). With an option typed, what is typed here is added "
                                  "to the command the option runs, as its parameters.")
        self.load()
        self.tell_not_entries()

    # --- geometry ---------------------------------------------------------------------

    @property
    def layout(self) -> Layout:
        return Layout(self.cols)

    @property
    def page(self) -> int:
        """List lines on a page: as many as the window holds."""
        return self.rows - 15

    def resized(self) -> None:
        self.keep_options()
        self.command.row, self.command.width = self.rows - 4, self.cols - 8
        self.add_type.col = self.layout.type
        self.top = self.top // self.page * self.page
        self.arrange()

    # --- the rows -----------------------------------------------------------------------

    def load(self) -> None:
        self.alwrly, problems = settings(self.root)
        rows = entrylist.load_rows(self.root, selected_types(self.subset.type or self.type_value))
        self.rows_all = rows
        self.list_rows = self.subset.apply(rows)
        self.top = max(0, min(self.top, (len(self.list_rows) - 1) // self.page * self.page))
        if problems:
            self.show(problems)
        self.arrange()

    def tell_not_entries(self) -> None:
        """Records that are not entries, named as the list opens (and at F5), unless
        another message is shown."""
        if not self.messages:
            self.show(entrylist.not_entries(self.root, self.rows_all))

    def arrange(self) -> None:
        """Input fields of the page shown: position to, the add line, one Opt per row,
        the ===> line."""
        key = self.field.key if self.field else None
        fields = [self.position, self.add_opt, self.add_type]
        for number in range(self.top, min(self.top + self.page, len(self.list_rows))):
            fields.append(Field(FIRST_ROW + number - self.top, OPT, OPT_WIDTH,
                                self.options.get(number, ""), key=number, option=True,
                                help="Type an option beside the entry: 1=Add an entry to "
                                     "its list, 4=Remove it, 5=Display it. Options on "
                                     "several lines are processed top to bottom."))
        fields.append(self.command)
        self.set_fields(fields, focus=1)
        if key is not None:
            self.focus_key(key)

    def lines(self) -> list[str]:
        lines = blank()
        layout = self.layout
        heading(lines, TITLE)
        put(lines, 2, 1, leader("ALWRLY", 16) + "   " + self.alwrly.ljust(11)
            + "Relay lists used:  " + entrylist.relay_summary(self.alwrly))
        put(lines, 3, 1, leader("List type", 16) + "   " + self.type_value.ljust(12)
            + "Always used:  reject and domain lists")
        put(lines, 4, 1, leader("Position to", 28) + "   ")
        if self.subset.active:
            put(lines, 4, 56, "Subset: " + self.subset.describe())
        put(lines, 5, 1, "Type options, press Enter.")
        put(lines, 6, 3, "   ".join(f"{k}={v}" for k, v in OPTIONS.items()))
        put(lines, HEADING_ROW, 1, "Opt  Type")
        put(lines, HEADING_ROW, layout.address, "Internet address")
        put(lines, HEADING_ROW, layout.mask, "Mask or prefix")
        put(lines, HEADING_ROW, layout.host, "Host name")
        shown = [self.list_rows[n] for n in range(self.top, min(self.top + self.page, len(self.list_rows)))]
        for number, row in enumerate(shown):
            put(lines, FIRST_ROW + number, 0, row_text(row, layout))
        if not self.list_rows:
            put(lines, FIRST_ROW, layout.type,
                "(No list entries in the subset)" if self.subset.active else "(No list entries)")
        more_or_bottom(lines, FIRST_ROW + self.page, self.top + self.page < len(self.list_rows))
        put(lines, self.rows - 5, 1, "Parameters or command")
        put(lines, self.rows - 4, 1, "===>")
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F4=Prompt", "F5=Refresh", "F6=Add", "F8=Test relay", "F9=Retrieve", "",
                "F12=Cancel", "F13=Repeat", "F15=Subset", "F17=Top", "F18=Bottom"]

    # --- keys --------------------------------------------------------------------------

    def on_key(self, key: str):
        if key == "ENTER":
            return self.enter()
        if key in ("PGDN", "PGUP", "F17", "F18"):
            self.page_to(key)
            return None
        if key == "F5":
            self.options.clear()
            self.add_opt.set("")
            self.add_type.set("")
            self.show([])
            self.load()
            self.tell_not_entries()
            return None
        if key == "F6":
            single = self.type_value if self.type_value != "*ALL" else ""
            return self.after(self.prompt_add(single))
        if key == "F8":
            RelayTestPanel(self.alwrly).run()      # F3 there ends the test: back here
            return None
        if key == "F9":
            self.retrieve(self.command)
            return None
        if key == "F4":
            self.keep_options()
            if self.options or self.add_opt.text:
                return self.enter(prompt=True)
            return self.command_line(prompt=True)
        if key == "F13":
            self.repeat()
            return None
        if key == "F15":
            return self.choose_subset()
        if key in ("F3", "F12"):
            return super().on_key(key)
        self.show([Message("QTS1004", key_label(key))])
        return None

    def page_to(self, key: str) -> None:
        self.keep_options()
        last = max(0, (len(self.list_rows) - 1) // self.page * self.page)
        if key == "PGDN" and self.top >= last:
            self.show([Message("QTS1003")])
        elif key == "PGUP" and self.top == 0:
            self.show([Message("QTS1002")])
        else:
            self.top = {"PGDN": self.top + self.page, "PGUP": max(0, self.top - self.page),
                        "F17": 0, "F18": last}[key]
            self.show([])
        self.arrange()

    def repeat(self) -> None:
        """F13=Repeat: the option typed last (the one nearest above the cursor) on every
        row below it, as far as the end of the list."""
        self.keep_options()
        field = self.field
        here = field.key if field is not None and field.option else None
        typed = [n for n in self.options if here is None or n <= here]
        if not typed:
            self.show([Message("QTS1011")])
            return
        first = max(typed)
        option = self.options[first]
        for number in range(first + 1, len(self.list_rows)):
            self.options[number] = option
        self.show([])
        self.arrange()

    def choose_subset(self):
        result = SubsetPanel(self.subset).run()
        if isinstance(result, Subset):
            self.subset = result
            self.options.clear()
            self.top = 0
            self.show([])
            self.load()
        return None

    def position_to(self, text: str) -> None:
        """Position to: *TOP, *BOT, or the first entry whose address or host name starts
        with ``text``."""
        self.position.set("")
        word = text.strip()
        if word.upper() in ("*TOP", "*BOT"):
            self.page_to("F17" if word.upper() == "*TOP" else "F18")
            return
        found = self.subset.find(self.list_rows, word)
        if found is None:
            self.show([Message("QTS1012", word)], field=self.position)
            return
        self.keep_options()
        self.top = found
        self.show([])
        self.arrange()

    def after(self, result, messages: list[Message] | None = None, worked: Row | None = None,
              near: int | None = None):
        """Back on the list after an action: the list read again, the cursor on the row
        worked on (or where it was)."""
        if isinstance(result, Outcome):
            messages = (messages or []) + result.messages
        if messages is not None:
            self.show(messages)
        self.load()
        self.focus_on(1)
        if worked is not None:
            self.focus_row(worked, near)
        return None

    def focus_row(self, row: Row, near: int | None = None) -> None:
        found = self.subset.index_of(self.list_rows, row, near)
        if found is None:
            return
        self.top = found // self.page * self.page
        self.arrange()
        self.focus_key(found)

    def prompt_add(self, type_value: str, parameters: str = ""):
        text = "ADDSMTPLE" + (f" TYPE({type_value})" if type_value else "") + (
            f" {parameters}" if parameters else "")
        return run_command_line(text, prompt=True)

    def command_line(self, prompt: bool = False):
        result = run_command_line(self.command.value, prompt=prompt)
        if isinstance(result, Outcome):
            self.command.set("")
            show_output(result)
        return self.after(result)

    def enter(self, prompt: bool = False):
        self.keep_options()
        if self.position.text:
            self.position_to(self.position.text)
            if self.messages:
                return None
        add = self.add_opt.text
        bad = [(key, text) for key, text in [("add-opt", add)] if text and text != "1"]
        bad += [(n, t) for n, t in sorted(self.options.items()) if t not in OPTIONS]
        if bad:
            key, text = bad[0]
            if isinstance(key, int):
                self.top = key // self.page * self.page
                self.arrange()
            self.show([Message("QTS1001", text, "1" if key == "add-opt" else ", ".join(OPTIONS))],
                      field=key)
            return None
        parameters = self.command.text
        if not add and not self.options:
            if parameters:
                return self.command_line()
            self.show([])
            self.load()
            return None
        return self.process(add, parameters, prompt)

    def process(self, add: str, parameters: str, prompt: bool):
        """The options typed, top to bottom. All 4=Remove are confirmed together when the
        first is reached (F12 there: back to the list with every option not yet done
        still typed). F3 or F12 on the display or prompt an option shows ends that
        option (its command), and the next option is processed, as on IBM i."""
        messages: list[Message] = []
        if add:
            result = self.prompt_add(self.add_type.text.upper(), parameters)
            if isinstance(result, Outcome):
                messages += result.messages
            self.add_opt.set("")
            self.add_type.set("")
        pending = [(n, o, self.list_rows[n]) for n, o in sorted(self.options.items())]
        # With F4 a 4 prompts RMVSMTPLE instead; a record that is not valid has no
        # RMVSMTPLE to prompt, and is confirmed with the others.
        removals = [(n, row) for n, o, row in pending
                    if o == "4" and not (prompt and row.problem() is None)]
        done: set[int] = set()
        removed = {n for n, _ in removals}
        worked, worked_at = None, None
        leftover: list[tuple[int, str, Row]] = []
        for position, (number, option, row) in enumerate(pending):
            if number in done:
                continue
            worked, worked_at = row, number
            if option == "1":
                result = self.prompt_add(row.list_type.type, parameters)
                if isinstance(result, Outcome):
                    messages += result.messages
            elif option == "5":
                DisplayPanel(self.root, self.as_stored(row, bool(done & removed)), self.alwrly).run()
            elif prompt and row.problem() is None:
                result = run_command_line(entrylist.remove_command(row)
                                          + (f" {parameters}" if parameters else ""), prompt=True)
                if isinstance(result, Outcome):
                    messages += result.messages
            else:
                if ConfirmPanel(removals, self.layout).run() != "confirmed":
                    leftover = [p for p in pending[position:] if p[0] not in done]
                    break
                for doomed_number, doomed in removals:
                    messages += self.remove(doomed, parameters)
                    done.add(doomed_number)
            done.add(number)
        if parameters and not leftover:
            self.command.set("")
        self.options.clear()
        self.after(None, sorted(messages, key=lambda m: m.severity, reverse=True), worked, worked_at)
        self.keep_leftover(leftover)
        return None

    def as_stored(self, row: Row, changed: bool) -> Row:
        """``row`` as its member holds it now: after a removal its record number moved."""
        if not changed:
            return row
        rows = entrylist.load_rows(self.root, [row.list_type])
        found = self.subset.index_of(rows, row, row.number - 1)
        return rows[found] if found is not None else row

    def keep_leftover(self, leftover: list[tuple[int, str, Row]]) -> None:
        """Options not yet processed stay typed, on their rows as the list is now."""
        for number, option, row in leftover:
            found = self.subset.index_of(self.list_rows, row, number)
            if found is not None:
                self.options[found] = option
        if leftover:
            self.arrange()

    def remove(self, row: Row, parameters: str) -> list[Message]:
        if row.problem() is not None:
            # Not an entry (a hand edit): no RMVSMTPLE names it; the line itself goes.
            # Its lock cuts off a record torn by a command killed adding it (TCP2675),
            # said first, as a command run through the runner says it.
            try:
                remove_record(self.root, row.list_type, row.number, row.record)
            except CLError as error:
                return take_cut_back() + error.messages
            member = entrylist.member_file(self.root, row.list_type)
            return take_cut_back() + [Message("TCP2672", row.number, member.member)]
        try:
            text = entrylist.remove_command(row)
        except CLError as error:
            return error.messages
        return execute.run_text(text + (f" {parameters}" if parameters else "")).messages

    def help_lines(self) -> list[str]:
        return [
            " Work with SMTP List Entries shows the entries of the SMTP lists kept in",
            " QUSRSYS/QATMADRLST, one line each, in list order then member order.",
            "",
            " Type an option beside one or more entries and press Enter; options are",
            " processed top to bottom:",
            "   1=Add      prompt ADDSMTPLE for the entry's list type (on the first line,",
            "              type the list type, or leave it blank)",
            "   4=Remove   remove the entries, after a confirmation display; a line shown",
            "              as not valid is taken out of the member as it is",
            "   5=Display  the entry in full: network, addresses, overlaps, in effect",
            " F4 instead of Enter prompts each option's command first.",
            " Parameters typed at ===> are added to the command each option runs;",
            " without an option, what is typed at ===> is run as a command.",
            "",
            " Position to: the start of an address or host name, *TOP or *BOT.",
            " F8 tests the relay decision for a client address and a recipient.",
            " F13 repeats the last option typed on every row below it. F15 shows a",
            " subset. Page Down / Page Up page the list; F17 goes to the top, F18 to the",
            " bottom. F3 on a display an option shows comes back to this list.",
        ]


# --- the subset --------------------------------------------------------------------------

class Subset:
    """F15=Subset: one list type, and an address or host name that starts with (or, with
    a leading *, contains) a text."""

    def __init__(self, type_value: str = "", text: str = ""):
        self.type, self.text = type_value, text

    @property
    def active(self) -> bool:
        return bool(self.type or self.text)

    def describe(self) -> str:
        return " ".join(x for x in (self.type, self.text and f"'{self.text}'") if x)

    def matches(self, row: Row) -> bool:
        if not self.text:
            return True
        record = row.record.lower()
        text = self.text.lower()
        return text[1:] in record if text.startswith("*") else record.lstrip().startswith(text)

    def apply(self, rows):
        if not self.text:
            return rows
        return [row for row in rows if self.matches(row)]

    @staticmethod
    def find(rows, word: str) -> int | None:
        """Index of the first row whose record starts with ``word`` (no case); else of the
        first row after where it would be, in a list sorted that way; None if none."""
        word = word.lower()
        for number, row in enumerate(rows):
            if row.record.lower().lstrip().startswith(word):
                return number
        return None

    @staticmethod
    def index_of(rows, row: Row, near: int | None = None) -> int | None:
        """Where ``row`` (its list type and record) is in ``rows``: looked for around
        ``near`` first, where it was before the list was read again."""
        want = identity(row)
        if near is not None:
            for number in range(max(0, near - 3), min(len(rows), near + 3)):
                if identity(rows[number]) == want:
                    return number
        for number, other in enumerate(rows):
            if identity(other) == want:
                return number
        return None


class SubsetPanel(Panel):
    """F15: which entries the list shows."""

    def __init__(self, subset: Subset):
        super().__init__()
        self.type = Field(5, 36, 11, subset.type, key="type",
                          help="A list type (*ACCEPT, *REJECT ...) to show only that "
                               "list, or blank for every list the command shows.")
        self.text = Field(6, 36, 40, subset.text, max_length=255, key="text",
                          help="Show only entries whose record (address, network or host "
                               "name) starts with this text; begin with * to show those "
                               "that contain it anywhere. Blank: every entry.")
        self.set_fields([self.type, self.text])

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Subset SMTP List Entries")
        put(lines, 2, 1, "Type choices, press Enter.")
        put(lines, 5, 1, leader("List type"))
        put(lines, 5, 52, "*ALL, *ACCEPT, *REJECT ...")
        put(lines, 6, 1, leader("Address or host name"))
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F5=Refresh", "F12=Cancel"]

    def on_key(self, key: str):
        if key == "ENTER":
            type_value = self.type.text.upper()
            if type_value == "*ALL":
                type_value = ""
            if type_value and type_value not in lt.LIST_TYPES:
                self.show([Message("CPD0084", type_value, "TYPE")], field=self.type)
                return None
            return Subset(type_value, self.text.text)
        if key == "F5":
            self.type.set("")
            self.text.set("")
            return None
        return super().on_key(key)


class ConfirmPanel(Panel):
    """4=Remove: the entries chosen, Enter to remove them, F12 to go back."""

    def __init__(self, rows: list[tuple[int, Row]], layout: Layout | None = None):
        super().__init__()
        self.rows_chosen = rows
        self.layout = layout or Layout()
        self.top = 0

    @property
    def page(self) -> int:
        return self.key_rows[0] - 2 - 6

    def lines(self) -> list[str]:
        lines = blank()
        layout = self.layout
        heading(lines, "Confirm Remove of SMTP List Entries")
        put(lines, 2, 1, "Press Enter to confirm your choices for 4=Remove.")
        put(lines, 3, 1, "Press F12=Cancel to return to change your choices.")
        put(lines, 5, 1, "Opt  Type")
        put(lines, 5, layout.address, "Internet address")
        put(lines, 5, layout.mask, "Mask or prefix")
        put(lines, 5, layout.host, "Host name")
        for number, (_, row) in enumerate(self.rows_chosen[self.top: self.top + self.page]):
            put(lines, 6 + number, 0, row_text(row, layout))
            put(lines, 6 + number, OPT, "4")
        more_or_bottom(lines, 6 + self.page, self.top + self.page < len(self.rows_chosen))
        return lines

    def function_keys(self) -> list[str]:
        return ["F12=Cancel"]

    def on_key(self, key: str):
        if key == "ENTER":
            return "confirmed"
        if key == "PGDN" and self.top + self.page < len(self.rows_chosen):
            self.top += self.page
            return None
        if key == "PGUP":
            self.top = max(0, self.top - self.page)
            return None
        if key in ("F3", "F12"):
            return CANCEL
        self.show([Message("QTS1004", key_label(key))])
        return None

    def help_lines(self) -> list[str]:
        return [" Enter removes the entries listed. F12 goes back to the list, with the",
                " options still typed, and removes nothing."]


def display_lines(root, row: Row, alwrly: str) -> list[str]:
    """5=Display: everything about one entry."""
    list_type = row.list_type
    member = entrylist.member_file(root, list_type)
    out = [leader("List type", 30) + "   " + list_type.type,
           leader("List", 30) + "   " + list_type.title,
           leader("Member", 30) + f"   {member}, record {row.number}"]
    try:
        entry = row.entry()
    except CLError as error:
        return out + ["", leader("Record", 30) + "   " + row.record] + wrap(error.escape.text, 74, "   ")
    address, mask, host = entrylist.columns(row)
    if address:
        out.append(leader("Internet address", 30) + "   " + address)
    if mask:
        label = "Subnet mask" if "." in mask else "IPv6 prefix"
        out.append(leader(label, 30) + "   " + mask)
    if entry.network is not None:
        out.append(leader("Effective network", 30) + "   " + str(entry.network))
        out.append(leader("Number of addresses", 30) + "   " + f"{entry.network.num_addresses:,}")
    if entry.domain:
        out.append(leader("Host name", 30) + "   " + entry.domain)
        reach = (f"{entry.domain[1:]} and every sub-domain" if entry.domain.startswith(".")
                 else f"{entry.domain} only")
        out.append(leader("Domains matched", 30) + "   " + reach)
    if list_type.kind == lt.TEXT:
        out.append(leader("Filter data", 30) + "   " + entry.text)
    if list_type.kind == lt.CREDENTIAL:
        out.append(leader("User name", 30) + "   " + entry.text)
    _, sentence = entrylist.in_effect(list_type, alwrly)
    sentence_lines = wrap(sentence, 44)
    out.append(leader(f"In effect (ALWRLY {alwrly})", 30) + "   " + sentence_lines[0])
    out += [" " * 33 + more for more in sentence_lines[1:]]
    found = entrylist.overlaps(root, row) if entry.network is not None or entry.domain else []
    out += ["", "Overlapping entries:" if found else "Overlapping entries:  none"]
    for name, record, meaning in found[: entrylist.MAX_OVERLAPS]:
        out.append(f"   {name:<11} {record}")
        out += wrap(meaning, 70, "       ")
    if len(found) > entrylist.MAX_OVERLAPS:
        out.append(f"   ... and more; only the first {entrylist.MAX_OVERLAPS} are shown.")
    return out


class DisplayPanel(TextPanel):
    def __init__(self, root, row: Row, alwrly: str):
        super().__init__("Display SMTP List Entry",
                         [" " + line for line in display_lines(root, row, alwrly)])


# --- the printed report -------------------------------------------------------------------

def report(type_value: str = "*ALL") -> tuple[str, list[Message]]:
    root = data_root()
    alwrly, messages = settings(root)
    rows = entrylist.load_rows(root, selected_types(type_value))
    now = datetime.now()
    name = system_name()
    out = [f"{TITLE:^66}{name:>12}",
           f"{now.strftime('%m/%d/%y  %H:%M:%S'):>78}",
           f" List type  . . . . . . . . :   {type_value}",
           f" Allow relayed mail (ALWRLY) :   {alwrly}",
           f" Relay lists used . . . . . :   {entrylist.relay_summary(alwrly)}",
           " Always used  . . . . . . . :   *REJECT *REJECTIP6 *DOMAIN *DOMAINIP6",
           ""]
    if not rows:
        return "\n".join(out + [" No SMTP list entries to display.", ""]), messages
    table = []
    not_entries: dict[lt.ListType, list[tuple[int, str]]] = {}
    for row in rows:
        effect, _ = entrylist.in_effect(row.list_type, alwrly)
        try:
            address, mask, host = entrylist.columns(row)
        except CLError as error:
            # Named as ADDSMTPLE names them (TCP2671, a few, then a count): listed, not
            # a failure of the report.
            not_entries.setdefault(row.list_type, []).append((row.number, error.escape.data[4]))
            address, mask, host, effect = "", "", row.record.replace("\t", " "), "Not valid"
        table.append([row.list_type.type, address, mask, host, effect, str(row.number)])
    for list_type, found in not_entries.items():
        messages += passed_over_messages(entrylist.member_file(root, list_type), list_type, found)
    text = "\n".join(report_table(table))
    out += [text, "", f" Entries: {len(rows)}", ""]
    return "\n".join(out), messages


# Columns of the report: (heading, width); the host name column takes what a 132-column
# line leaves, and a longer name goes on in that column on the lines below.
REPORT_COLUMNS = [("Type", 11), ("Internet address", 39), ("Mask or prefix", 15),
                  ("Host name", 40), ("In effect", 9), ("Record", 7)]


def report_table(table: list[list[str]]) -> list[str]:
    widths = [w for _, w in REPORT_COLUMNS]
    host = 3

    def line(cells: list[str]) -> str:
        parts = [c.ljust(w) if n < len(widths) - 1 else c.rjust(w)
                 for n, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    out = [line([h for h, _ in REPORT_COLUMNS[:-1]] + ["Record"]),
           "  ".join("-" * w for w in widths)]
    for cells in table:
        cells = [c if n == host else c[: widths[n]] for n, c in enumerate(cells)]
        name = cells[host]
        out.append(line(cells[:host] + [name[: widths[host]]] + cells[host + 1:]))
        for start in range(widths[host], len(name), widths[host]):
            out.append(line(["", "", "", name[start: start + widths[host]], "", ""]))
    return out


def wrksmtple(bound: Bound) -> list[Message]:
    """Processing program of WRKSMTPLE."""
    type_value = bound["TYPE"]
    if bound["OUTPUT"] == "*PRINT" or not screen.is_interactive():
        text, messages = report(type_value)
        sys.stdout.write(text)
        return messages
    WorkPanel(type_value).run()
    return []
