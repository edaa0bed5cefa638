"""The prompter's fields: a command's parameters as input fields, and back to CL.

``build`` makes, from a definition, one ParmPrompt per parameter: its display lines
(an element list is a heading and a line per element, a qualified name a line per
qualifier, a parameter with MAX > 1 one wide field written as in CL) and the text each
field starts with (the value written on the command, else the stored value, else the
default). ``ParmPrompt.cl`` turns the fields back into ``KEYWORD(value)``, quoting as the
parameter's type needs, or None when the default is to be passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qtsmtp.cl.definition import NUMERIC_TYPES, Command, Parm, ValueSpec
from qtsmtp.cl.parser import Scalar, ValueList, parse
from qtsmtp.panels.panel import Field

FIELD_COL = 36
WIDE = 79 - FIELD_COL                 # a field too wide to leave room for the choices
_NAME = re.compile(r"[A-Z$#@][A-Z0-9$#@_.]*\Z")
_PLAIN_WORD = re.compile(r"[\w.*:@/-]+\Z")


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def shown(node, spec: ValueSpec) -> str:
    """A value written on a command as a field shows it (quotes only where they matter)."""
    if isinstance(node, Scalar):
        if node.quoted and node.text == "*":
            return "*"              # OUTPUT('*'): IBM's prompt shows *, and * means it
        if node.quoted and (node.text.upper() in spec.special_values() or node.text[:1] in "*("):
            return str(node)
        return node.text
    return " ".join(str(i) for i in node.items) if isinstance(node, ValueList) else str(node)


def cl_value(text: str, spec: ValueSpec) -> str:
    """Field text -> the CL value it means for ``spec``."""
    text = text.strip()
    if text[:1] in "'(" or spec.max > 1 or spec.type == "*CMDSTR":
        return text
    if text.startswith("*"):
        return text.upper()
    if spec.type in NUMERIC_TYPES:
        return text
    if spec.type in ("*NAME", "*CNAME", "*GENERIC") and _NAME.match(text.upper()):
        return text
    return quote(text)


def _word(value) -> str:
    text = str(value)
    return text if _PLAIN_WORD.match(text) else quote(text)


def stored_texts(parm: Parm, value) -> list[str]:
    """A stored attribute value as the texts of the parameter's fields."""
    if parm.max > 1:
        if isinstance(value, list):
            return [" ".join("(" + " ".join(_word(x) for x in v) + ")" if isinstance(v, list)
                             else _word(v) for v in value)]
        return [str(value)]
    if parm.elems is not None:
        if isinstance(value, list):
            return [str(v) for v in value] + [""] * (len(parm.elems) - len(value))
        return [str(value)] + [_default_text(e) for e in parm.elems[1:]]
    if parm.quals is not None:
        if isinstance(value, str) and "/" in value:
            library, _, name = value.partition("/")
            return [name, library]
        return [str(value)] + [_default_text(q) for q in parm.quals[1:]]
    return [str(value)]


def _default_text(spec: ValueSpec) -> str:
    if spec.dft is None:
        return ""
    return shown(spec.dft, spec) if isinstance(spec.dft, Scalar) else str(spec.dft)[1:-1]


# --- one parameter on the display ---------------------------------------------------------------

@dataclass(eq=False)
class Line:
    label: str
    spec: ValueSpec | None              # None: the heading of an element list
    field: Field | None = None
    more: bool = False                  # "+ for more values": its one-position field


@dataclass(eq=False)
class ParmPrompt:
    parm: Parm
    mode: str = "input"                 # a SELECTIVE value, or "input"
    given: object = None                # the value written on the command (a ValueList)
    lines: list[Line] = field(default_factory=list)
    initial: list[str] = field(default_factory=list)

    @property
    def protected(self) -> bool:
        return self.mode in ("protected", "more-protected")

    @property
    def fields(self) -> list[Field]:
        """The fields that hold the value (not "+ for more values")."""
        return [line.field for line in self.lines if line.field is not None and not line.more]

    @property
    def more_field(self) -> Field | None:
        return next((line.field for line in self.lines if line.more), None)

    def texts(self) -> list[str]:
        return [f.text for f in self.fields]

    def changed(self) -> bool:
        return [t.strip() for t in self.texts()] != [t.strip() for t in self.initial]

    def specified(self) -> bool:
        """Marked > and passed on: written on the command, or changed here."""
        if self.mode in ("input-default", "more-input", "more-protected"):
            return self.changed()
        return self.given is not None or self.changed()

    def cl(self) -> str | None:
        """``KEYWORD(value)`` for the command, or None to leave the default."""
        parm = self.parm
        if not self.specified():
            return None
        if self.given is not None and (self.protected or not self.changed()):
            return f"{parm.keyword}{self.given}"      # as written on the command
        texts = self.texts()
        if parm.max > 1 or (parm.elems is None and parm.quals is None):
            return f"{parm.keyword}({cl_value(texts[0], parm)})" if texts[0] else None
        first = texts[0].strip().upper()
        if first in parm.sngval:
            return f"{parm.keyword}({first})"
        if parm.quals is not None:
            name, library = texts[0], texts[1] if len(texts) > 1 else ""
            if not name:
                return None
            value = cl_value(name, parm.quals[0])
            return f"{parm.keyword}({cl_value(library, parm.quals[1]) + '/' if library else ''}{value})"
        values = [cl_value(t, e) if t else "*N" for t, e in zip(texts, parm.elems)]
        while values and values[-1] == "*N":
            values.pop()
        return f"{parm.keyword}({' '.join(values)})" if values else None


def _width(spec: ValueSpec, many: bool) -> tuple[int, int]:
    """(shown width, longest text) of a field for ``spec``."""
    longest = max([len(v) for v in spec.special_values()] + [1])
    if many or spec.type == "*CMDSTR":
        return WIDE, 2000
    if spec.type in NUMERIC_TYPES:
        digits = len(str(spec.range[1])) if spec.range else 11
        size = max(digits, longest, 5)
        return size, size
    size = max(spec.length or 10, longest)
    return min(size, WIDE), size + 2 * (spec.type not in NUMERIC_TYPES)


def build(cmd: Command, given: dict, modes: dict, current: dict) -> list[ParmPrompt]:
    out = []
    for parm in cmd.parms:
        prompt = ParmPrompt(parm, modes.get(parm.keyword, "input"), given.get(parm.keyword))
        parts = parm.elems if parm.max == 1 and parm.elems is not None else (
            parm.quals if parm.max == 1 and parm.quals is not None else None)
        if prompt.given is not None:
            texts = _given_texts(parm, parts, prompt.given)
        elif parm.keyword in current:
            texts = stored_texts(parm, current[parm.keyword])
        elif parts is None:
            texts = [_default_text(parm)]
        elif parm.dft is not None and isinstance(parm.dft, Scalar):
            texts = [shown(parm.dft, parm)] + [_default_text(p) for p in parts[1:]]
        else:
            texts = [_default_text(p) for p in parts]
        if parts is None:
            width, size = _width(parm, parm.max > 1)
            prompt.lines = [Line(parm.prompt, parm, Field(0, FIELD_COL, width, max_length=size,
                                                           key=parm.keyword,
                                                           hidden=not parm.display_input))]
        else:
            if parm.elems is not None:
                prompt.lines = [Line(parm.prompt + ":", None)]
            for number, part in enumerate(parts):
                label = part.prompt if parm.elems is not None or number else parm.prompt
                width, size = _width(part, False)
                indent = "  " if parm.elems is not None or number else ""
                prompt.lines.append(Line(indent + label, part,
                                         Field(0, FIELD_COL, width, max_length=size,
                                               key=parm.keyword)))
        if parm.max > 1:
            # IBM's "+ for more values": a + here, and Enter shows one field per value.
            prompt.lines.append(Line("+ for more values", None, Field(
                0, FIELD_COL, 1, key=(parm.keyword, "+"),
                help=f"Type + and press Enter to give the values of {parm.keyword} one "
                     f"on each line (up to {parm.max})."), more=True))
        for f, text in zip(prompt.fields, texts):
            f.set(text)
        prompt.initial = prompt.texts()
        out.append(prompt)
    return out


def split_values(text: str) -> list[str]:
    """The values of a list written as in CL ("a 'b c' (1 x)") one by one, each as CL
    writes it; CLError when the text is not CL."""
    stmt = parse(f"X K({text})")
    items = stmt.keywords[0][1].items if stmt is not None and stmt.keywords else []
    return [str(item) for item in items]


def _given_texts(parm: Parm, parts, node: ValueList) -> list[str]:
    items = node.items
    if parts is None:
        if len(items) == 1 and parm.max == 1:
            return [shown(items[0], parm)]
        return [" ".join(str(i) for i in items)]
    if parm.quals is not None:
        if len(items) == 1 and isinstance(items[0], Scalar) and not items[0].quoted and "/" in items[0].text:
            library, _, name = items[0].text.rpartition("/")
            return [name, library]
        return [shown(items[0], parts[0]) if items else ""] + [_default_text(q) for q in parts[1:]]
    texts = [shown(i, parts[n]) if n < len(parts) else "" for n, i in enumerate(items)]
    return texts + [_default_text(p) for p in parts[len(texts):]]
