"""--help text, generated from a command definition.

The layout follows IBM's command pages: a parameter table (Keyword, Description,
Choices, Notes), then one paragraph per parameter.
"""

from __future__ import annotations

import textwrap

from qtsmtp.cl.definition import Command, Parm, ValueSpec


def notes(cmd: Command, parm: Parm) -> str:
    parts = ["Required" if parm.min else "Optional"]
    if parm in cmd.positional:
        parts.append(f"Positional {cmd.parms.index(parm) + 1}")
    return ", ".join(parts)


def default_text(spec: ValueSpec) -> str:
    if spec.dft is None:
        return ""
    return str(spec.dft)


def choices(spec: ValueSpec) -> list[str]:
    """The choices of a parameter as lines: single values, then list elements."""
    lines = []
    if spec.sngval:
        lines.append("Single values: " + ", ".join(spec.sngval))
        prefix = "Other values" + (f" (up to {spec.max} repetitions)" if spec.max > 1 else "") + ": "
    else:
        prefix = f"Values (up to {spec.max} repetitions): " if spec.max > 1 else ""
    if spec.elems is not None:
        lines.append(prefix + "Element list")
        for number, elem in enumerate(spec.elems, 1):
            lines.append(f"  Element {number}: {elem.prompt}: {elem.choices_text()}")
    elif spec.quals is not None:
        lines.append(prefix + "Qualified object name")
        for number, qual in enumerate(spec.quals, 1):
            lines.append(f"  Qualifier {number}: {qual.prompt}: {qual.choices_text()}")
    else:
        lines.append(prefix + spec.choices_text())
    return lines


def help_text(cmd: Command, width: int = 79) -> str:
    lower = cmd.name.lower()
    out = [f"{cmd.name} - {cmd.prompt}", ""]
    out += textwrap.wrap(cmd.help, width)
    out += ["", "Usage:"]
    if not cmd.parms:
        return "\n".join(out + [f"  {lower}", f"  {lower} --help", "", "This command has no parameters."]) + "\n"
    first = cmd.parms[0].keyword
    out += [f"  {lower} \"{first}(...) ...\"      CL form (keywords, positional values first)",
            f"  {lower} --{first.lower()} VALUE ...     option form",
            f"  {lower} --help", "", "Parameters:"]
    rows = [("Keyword", "Description", "Choices", "Notes")]
    for parm in cmd.parms:
        lines = choices(parm)
        rows.append((parm.keyword, parm.prompt, lines[0], notes(cmd, parm)))
        rows += [("", "", line, "") for line in lines[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        out.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    out.append("")
    for parm in cmd.parms:
        dft = default_text(parm)
        head = f"{parm.keyword} ({parm.prompt})" + (f", default {dft}" if dft else "")
        out.append(head)
        out += textwrap.wrap(parm.help or parm.prompt + ".", width, initial_indent="    ",
                             subsequent_indent="    ")
    return "\n".join(out) + "\n"
