"""WRKSMTPLE: Work with SMTP List Entries, as a 5250 panel or as a printed report.

The panel lists the entries of every list (or of TYPE's) with a line to add one, options
1=Add (the ADDSMTPLE prompt), 4=Remove (after a confirmation display) and 5=Display (what
the entry means, its effective network, the entries it overlaps or shadows, whether the
current ALWRLY reads it), F8 to test a relay decision, and a ``===>`` line for commands.
Options typed on several lines are processed top to bottom when Enter is pressed. Every
change is made by running ADDSMTPLE or RMVSMTPLE through their processing programs: the
same store, locks and messages as the console commands.

OUTPUT(*PRINT), or a standard output that is not a terminal, writes the report instead.
"""

from __future__ import annotations

import sys
from datetime import datetime

import tabulate

from qtsmtp.cl.binder import Bound
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.messages import CLError, Message
from qtsmtp.panels import entrylist, execute, screen
from qtsmtp.panels.cmdline import run_command_line
from qtsmtp.panels.entrylist import Row
from qtsmtp.panels.panel import (
    CANCEL,
    EXIT,
    KEY_ROWS,
    Field,
    Panel,
    TextPanel,
    blank,
    heading,
    leader,
    more_or_bottom,
    put,
    system_name,
    wrap,
)
from qtsmtp.panels.relaytest import RelayTestPanel
from qtsmtp.programs.runner import Outcome
from qtsmtp.store.root import data_root

TITLE = "Work with SMTP List Entries"
# Columns of the list: Opt, Type, Internet address, Mask or prefix, Host name.
OPT, TYPE, ADDRESS, MASK, HOST = 2, 6, 18, 41, 57
WIDTHS = {ADDRESS: 22, MASK: 15, HOST: 22}
HEADING_ROW, ADD_ROW, FIRST_ROW, PAGE = 7, 8, 9, 9
OPTIONS = {"1": "Add", "4": "Remove", "5": "Display"}


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ">"


def row_text(row: Row) -> str:
    """A list line from the Type column on."""
    line = " " * TYPE + row.list_type.type
    try:
        address, mask, host = entrylist.columns(row)
    except CLError:
        return (line.ljust(ADDRESS) + _cell(row.record.replace("\t", " "), MASK - ADDRESS - 1)
                ).ljust(HOST) + "< record not valid"
    for col, text in ((ADDRESS, address), (MASK, mask), (HOST, host)):
        line = line.ljust(col) + _cell(text, WIDTHS[col])
    return line


def settings(root) -> tuple[str, list[Message]]:
    """ALWRLY now stored, and the message when the attributes cannot be read."""
    try:
        return str(attributes.load(root)["ALWRLY"]), []
    except CLError as error:
        return "?", error.messages


def selected_types(type_value: str) -> list[lt.ListType]:
    return list(lt.LIST_TYPES.values()) if type_value == "*ALL" else [lt.LIST_TYPES[type_value]]


# --- the panel ----------------------------------------------------------------------------

class WorkPanel(Panel):
    def __init__(self, type_value: str = "*ALL"):
        super().__init__()
        self.type_value = type_value
        self.root = data_root()
        self.top = 0
        self.options: dict[int, str] = {}
        self.add_opt = Field(ADD_ROW, OPT, 2, key="add-opt")
        self.add_type = Field(ADD_ROW, TYPE, 11, key="add-type")
        self.command = Field(20, 7, 72, max_length=2000, key="command")
        self.load()

    def load(self) -> None:
        self.alwrly, problems = settings(self.root)
        self.rows = entrylist.load_rows(self.root, selected_types(self.type_value))
        self.top = max(0, min(self.top, (len(self.rows) - 1) // PAGE * PAGE))
        if problems:
            self.show(problems)
        self.arrange()

    def arrange(self) -> None:
        """Input fields of the page shown: the add line, one Opt per row, the ===> line."""
        key = self.field.key if self.field else None
        fields = [self.add_opt, self.add_type]
        for number in range(self.top, min(self.top + PAGE, len(self.rows))):
            fields.append(Field(FIRST_ROW + number - self.top, OPT, 2,
                                self.options.get(number, ""), key=number, option=True))
        fields.append(self.command)
        self.set_fields(fields, focus=0)
        if key is not None:
            self.focus_key(key)


    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, TITLE)
        put(lines, 2, 1, leader("ALWRLY", 16) + "   " + self.alwrly.ljust(11)
            + "Relay lists used:  " + entrylist.relay_summary(self.alwrly))
        put(lines, 3, 1, leader("List type", 16) + "   " + self.type_value.ljust(11)
            + "Always used:  reject and domain lists")
        put(lines, 5, 1, "Type options, press Enter.")
        put(lines, 6, 3, "   ".join(f"{k}={v}" for k, v in OPTIONS.items()))
        put(lines, HEADING_ROW, 1, "Opt  Type")
        put(lines, HEADING_ROW, ADDRESS, "Internet address")
        put(lines, HEADING_ROW, MASK, "Mask or prefix")
        put(lines, HEADING_ROW, HOST, "Host name")
        shown = [self.rows[n] for n in range(self.top, min(self.top + PAGE, len(self.rows)))]
        for number, row in enumerate(shown):
            put(lines, FIRST_ROW + number, 0, row_text(row))
        if not self.rows:
            put(lines, FIRST_ROW, TYPE, "(No list entries)")
        more_or_bottom(lines, FIRST_ROW + PAGE, self.top + PAGE < len(self.rows))
        put(lines, 19, 1, "Parameters or command")
        put(lines, 20, 1, "===>")
        put(lines, KEY_ROWS[0], 1, "F3=Exit   F4=Prompt   F5=Refresh   F6=Add   F8=Test relay   F9=Retrieve")
        put(lines, KEY_ROWS[1], 1, "F12=Cancel   F17=Top   F18=Bottom")
        return lines

    # --- keys --------------------------------------------------------------------------

    def on_key(self, key: str):
        if key == "ENTER":
            return self.enter()
        if key in ("PGDN", "PGUP", "F17", "F18"):
            self.page(key)
            return None
        if key == "F5":
            self.options.clear()
            self.add_opt.set("")
            self.add_type.set("")
            self.show([])
            self.load()
            return None
        if key == "F6":
            single = self.type_value if self.type_value != "*ALL" else ""
            return self.after(self.prompt_add(single))
        if key == "F8":
            return EXIT if RelayTestPanel(self.alwrly).run() == EXIT else None
        if key == "F9":
            self.retrieve(self.command)
            return None
        if key == "F4":
            if self.field is not self.command:
                self.show([Message("QTS1004", key)])
                return None
            return self.command_line(prompt=True)
        if key in ("F3", "F12"):
            return super().on_key(key)
        self.show([Message("QTS1004", key)])
        return None

    def page(self, key: str) -> None:
        self.keep_options()
        last = max(0, (len(self.rows) - 1) // PAGE * PAGE)
        if key == "PGDN" and self.top >= last:
            self.show([Message("QTS1003")])
        elif key == "PGUP" and self.top == 0:
            self.show([Message("QTS1002")])
        else:
            self.top = {"PGDN": self.top + PAGE, "PGUP": max(0, self.top - PAGE),
                        "F17": 0, "F18": last}[key]
            self.show([])
        self.arrange()

    def after(self, result, messages: list[Message] | None = None):
        """Back on the list after an action: EXIT goes on up, anything else reloads."""
        if result == EXIT:
            return EXIT
        if isinstance(result, Outcome):
            messages = (messages or []) + result.messages
        if messages is not None:
            self.show(messages)
        self.load()
        self.focus_on(0)
        return None

    def prompt_add(self, type_value: str, parameters: str = ""):
        text = "ADDSMTPLE" + (f" TYPE({type_value})" if type_value else "") + (
            f" {parameters}" if parameters else "")
        return run_command_line(text, prompt=True)

    def command_line(self, prompt: bool = False):
        result = run_command_line(self.command.value, prompt=prompt)
        if isinstance(result, Outcome):
            self.command.set("")
            if result.output:
                TextPanel(result.command, result.output).run()
        return self.after(result)

    def enter(self):
        self.keep_options()
        add = self.add_opt.text
        bad = [(key, text) for key, text in [("add-opt", add)] if text and text != "1"]
        bad += [(n, t) for n, t in sorted(self.options.items()) if t not in OPTIONS]
        if bad:
            key, text = bad[0]
            self.show([Message("QTS1001", text, "1" if key == "add-opt" else ", ".join(OPTIONS))])
            if isinstance(key, int):
                self.top = key // PAGE * PAGE
                self.arrange()
            self.focus_key(key)
            return None
        parameters = self.command.text
        if not add and not self.options:
            if parameters:
                return self.command_line()
            self.show([])
            self.load()
            return None
        messages: list[Message] = []
        if add:
            result = self.prompt_add(self.add_type.text.upper(), parameters)
            if result == EXIT:
                return EXIT
            if isinstance(result, Outcome):
                messages += result.messages
            self.add_opt.set("")
            self.add_type.set("")
        pending = sorted(self.options.items())
        for position, (number, option) in enumerate(pending):
            row = self.rows[number]
            if option == "1":
                result = self.prompt_add(row.list_type.type, parameters)
                if isinstance(result, Outcome):
                    messages += result.messages
            elif option == "5":
                result = DisplayPanel(self.root, row, self.alwrly).run()
            else:
                removals = [(n, self.rows[n]) for n, o in pending[position:] if o == "4"]
                if ConfirmPanel(removals).run() != "confirmed":
                    self.options = dict(pending[position:])
                    return self.after(None, messages)
                for _, doomed in removals:
                    messages += self.remove(doomed, parameters)
                pending[position:] = [(n, o) for n, o in pending[position:] if o != "4"]
                result = None
            self.options.pop(number, None)
            if result == EXIT:
                self.options.clear()
                return EXIT
        self.options.clear()
        if parameters:
            self.command.set("")
        return self.after(None, sorted(messages, key=lambda m: m.severity, reverse=True))

    def remove(self, row: Row, parameters: str) -> list[Message]:
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
            "   4=Remove   remove the entries, after a confirmation display",
            "   5=Display  the entry in full: network, addresses, overlaps, in effect",
            " Parameters typed at ===> are added to the command each option runs;",
            " without an option, what is typed at ===> is run as a command.",
            "",
            " F8 tests the relay decision for a client address and a recipient.",
            " Page Down / Page Up page the list; F17 goes to the top, F18 to the bottom.",
        ]


class ConfirmPanel(Panel):
    """4=Remove: the entries chosen, Enter to remove them, F12 to go back."""

    def __init__(self, rows: list[tuple[int, Row]]):
        super().__init__()
        self.rows = rows
        self.top = 0

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Confirm Remove of SMTP List Entries")
        put(lines, 2, 1, "Press Enter to confirm your choices for 4=Remove.")
        put(lines, 3, 1, "Press F12=Cancel to return to change your choices.")
        put(lines, 5, 1, "Opt  Type")
        put(lines, 5, ADDRESS, "Internet address")
        put(lines, 5, MASK, "Mask or prefix")
        put(lines, 5, HOST, "Host name")
        for number, (_, row) in enumerate(self.rows[self.top: self.top + 13]):
            put(lines, 6 + number, 0, row_text(row))
            put(lines, 6 + number, OPT + 1, "4")
        more_or_bottom(lines, 19, self.top + 13 < len(self.rows))
        put(lines, KEY_ROWS[0], 1, "F12=Cancel")
        return lines

    def on_key(self, key: str):
        if key == "ENTER":
            return "confirmed"
        if key == "PGDN" and self.top + 13 < len(self.rows):
            self.top += 13
            return None
        if key == "PGUP":
            self.top = max(0, self.top - 13)
            return None
        if key in ("F3", "F12"):
            return CANCEL
        self.show([Message("QTS1004", key)])
        return None


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
    for row in rows:
        effect, _ = entrylist.in_effect(row.list_type, alwrly)
        try:
            address, mask, host = entrylist.columns(row)
        except CLError as error:
            messages.append(error.escape)
            address, mask, host, effect = "", "", row.record.replace("\t", " "), "Not valid"
        table.append([row.list_type.type, address, mask, host, effect, str(row.number)])
    text = tabulate.tabulate(table, headers=["Type", "Internet address", "Mask or prefix",
                                             "Host name", "In effect", "Record"],
                             tablefmt="simple", disable_numparse=True)
    out += [text, "", f" Entries: {len(rows)}", ""]
    return "\n".join(out), messages


def wrksmtple(bound: Bound) -> list[Message]:
    """Processing program of WRKSMTPLE."""
    type_value = bound["TYPE"]
    if bound["OUTPUT"] == "*PRINT" or not screen.is_interactive():
        text, messages = report(type_value)
        sys.stdout.write(text)
        return messages
    WorkPanel(type_value).run()
    return []
