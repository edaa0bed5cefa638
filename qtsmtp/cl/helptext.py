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


def prompted_when(cmd: Command, parm: Parm) -> str:
    """When the prompter shows ``parm`` (its PMTCTL), as a sentence; "" when always."""
    if parm.pmtctl == "*PMTRQS":
        return "Prompted on request (F10=Additional parameters)."
    sentences = []
    for control, values in cmd.controlled_by(parm):
        shown = ", ".join(values[:-1]) + (" or " if len(values) > 1 else "") + values[-1]
        sentences.append(f"{control} {shown}")
    return f"Prompted for {' and '.join(sentences)}." if sentences else ""


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
    table = [(parm.keyword, parm.prompt, choices(parm), notes(cmd, parm)) for parm in cmd.parms]
    heads = ("Keyword", "Description", "Choices", "Notes")
    widths = [max([len(heads[0])] + [len(t[0]) for t in table]),
              0,
              0,
              max([len(heads[3])] + [len(t[3]) for t in table])]
    # Description and choices share what the line leaves (the choices at least 22
    # columns), each wrapped: the table fits in ``width``.
    room = width - 2 - widths[0] - widths[3] - 3 * 2
    widths[1] = min(max([len(heads[1])] + [len(t[1]) for t in table]), 24, max(room - 22, 11))
    widths[2] = max(room - widths[1], 20)
    rows = [heads]
    for keyword, prompt, lines, note in table:
        wrapped = [piece for line in lines
                   for piece in textwrap.wrap(line, widths[2], subsequent_indent="  ") or [""]]
        described = textwrap.wrap(prompt, widths[1]) or [""]
        noted = textwrap.wrap(note, widths[3]) or [""]
        for number in range(max(len(wrapped), len(described), len(noted))):
            rows.append((keyword if number == 0 else "",
                         described[number] if number < len(described) else "",
                         wrapped[number] if number < len(wrapped) else "",
                         noted[number] if number < len(noted) else ""))
    for row in rows:
        out.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    out.append("")
    for parm in cmd.parms:
        dft = default_text(parm)
        head = f"{parm.keyword} ({parm.prompt})" + (f", default {dft}" if dft else "")
        out.append(head)
        out += textwrap.wrap(" ".join(filter(None, [parm.help or parm.prompt + ".",
                                                     prompted_when(cmd, parm)])),
                             width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(out) + "\n"
