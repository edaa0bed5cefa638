"""Which rows Work with Active Jobs shows: F14=Include and Position to.

Include keeps the jobs whose name, user, type, function and status match what is given;
a name or function ending in * is generic (QTSMTP* matches QTSMTPSRVD), anything else
must be the whole value; case does not matter. A subsystem line stays while one of its
jobs does. Position to finds the first row, subsystem or job, whose name starts with a
text.
"""

from __future__ import annotations

import re

from qtsmtp.jobs.activejobs import Row
from qtsmtp.messages import Message
from qtsmtp.panels.panel import Field, Panel, blank, heading, leader, put

# (attribute of the row, label, field width, what the field takes)
CRITERIA = (("name", "Job name", 10, "Name, generic*"),
            ("user", "User", 10, "Name, generic*"),
            ("type", "Job type", 4, "SBS, BCH, PJ ..."),
            ("function", "Function", 16, "PGM-name, generic*"),
            ("status", "Status", 4, "RUN, SELW, DEQW, HLD ..."))
NAME = re.compile(r"[A-Z$#@][A-Z0-9$#@_.]{0,9}\*?\Z|\*\Z")      # IBM's names, generic*
JOB_TYPES = ("ASJ", "BCH", "BCI", "EVK", "INT", "MRT", "PDJ", "PJ", "RDR", "SBS", "SYS", "WTR")


def matches(pattern: str, value: str) -> bool:
    pattern, value = pattern.upper(), value.upper()
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


class Include:
    def __init__(self, **given: str):
        self.values = {key: given.get(key, "").strip().upper() for key, *_ in CRITERIA}

    @property
    def active(self) -> bool:
        return any(self.values.values())

    def describe(self) -> str:
        return "  ".join(f"{label} {self.values[key]}" for key, label, *_ in CRITERIA
                         if self.values[key])

    def keeps(self, row: Row) -> bool:
        return all(matches(pattern, getattr(row, key)) for key, pattern in self.values.items()
                   if pattern)

    def apply(self, rows: list[Row]) -> list[Row]:
        """The rows kept, in their order: each job that matches, and a subsystem line
        that has a job kept (or, as JOB(*SBS) shows them, no job line at all)."""
        if not self.active:
            return rows
        kept = [row for row in rows if row.job is not None and self.keeps(row)]
        with_jobs = {row.subsystem for row in rows if row.job is not None}
        kept_in = {row.subsystem for row in kept}
        kept_ids = {id(row) for row in kept}
        return [row for row in rows
                if id(row) in kept_ids
                or (row.job is None and (row.subsystem in kept_in
                                         or row.subsystem not in with_jobs and self.keeps(row)))]


def position(rows: list[Row], text: str) -> int | None:
    """Index of the first row whose subsystem or job name starts with ``text``."""
    text = text.upper()
    return next((n for n, row in enumerate(rows) if row.name.upper().startswith(text)), None)


class IncludePanel(Panel):
    """F14: which jobs the list shows."""

    FIRST_ROW, FIELD_COL, TAKES_COL = 4, 36, 54

    def __init__(self, include: Include):
        super().__init__()
        self.inputs = {}
        for offset, (key, label, width, _) in enumerate(CRITERIA):
            self.inputs[key] = Field(self.FIRST_ROW + offset, self.FIELD_COL, width,
                                     include.values[key], key=key,
                                     help=f"Show only the jobs whose {label.lower()} is this; "
                                          "end it with * to show those that start with "
                                          "the text before it. Blank: every job.")
        self.set_fields(list(self.inputs.values()))

    def lines(self) -> list[str]:
        lines = blank()
        heading(lines, "Include Jobs")
        put(lines, 2, 1, "Type choices, press Enter.")
        for offset, (_, label, _, takes) in enumerate(CRITERIA):
            put(lines, self.FIRST_ROW + offset, 1, leader(label))
            put(lines, self.FIRST_ROW + offset, self.TAKES_COL, takes)
        return lines

    def function_keys(self) -> list[str]:
        return ["F3=Exit", "F5=Refresh", "F12=Cancel"]

    def help_lines(self) -> list[str]:
        return [" Include Jobs chooses the jobs Work with Active Jobs lists: only those",
                " that match every value given. A value ending in * matches every name",
                " that starts with the text before it. A subsystem line is shown while",
                " one of its jobs is. F5 blanks every value (every job is shown)."]

    def on_key(self, key: str):
        if key == "ENTER":
            for name in ("name", "user"):
                text = self.inputs[name].text
                if text and not (text.isascii() and NAME.match(text.upper())):
                    self.show([Message("CPD0078", text, name.upper())], field=self.inputs[name])
                    return None
            values = {name: field.text.upper() for name, field in self.inputs.items()}
            for name, value in values.items():
                if " " in value or "*" in value[:-1]:
                    self.show([Message("CPD0084", value, name.upper())], field=self.inputs[name])
                    return None
            if values["type"] and values["type"] not in JOB_TYPES:
                self.show([Message("CPD0084", values["type"], "TYPE")], field=self.inputs["type"])
                return None
            return Include(**values)
        if key == "F5":
            for field in self.inputs.values():
                field.set("")
            return None
        return super().on_key(key)
