"""Command definitions: commands/NAME.cmd, written in IBM i command definition source.

A definition is CL itself (CMD, PARM, ELEM and QUAL statements, as given to CRTCMD), so
it is read by the same lexer and parser as any command. It is the one source of truth
for parsing, validation, defaults, positional order, --help, the prompter and the man
page's parameter table. qtsmtp extensions, documented in qtsmtp(1): CMD MAXPOS(n) (the
CRTCMD parameter), CMD PGM('module:function') (CRTCMD's processing program, as a Python
callable), and HELP('text') on CMD, PARM and ELEM (IBM keeps help in panel
groups; we keep it beside the parameter).

Conditional prompting is IBM's: a PARM names a prompt control, PMTCTL(label); the
statements ``label: PMTCTL CTL(keyword) COND((*EQ value) ...) NBRTRUE(*GE 1)`` (more
PMTCTL statements after the first join it with LGLREL(*AND | *OR)) say when the prompter
shows the parameter, from the value of another. PMTCTL(*PMTRQS): shown on request (F10).
"""

from __future__ import annotations

import os

from qtsmtp.cl.lexer import logical_lines
from qtsmtp.cl.parser import Scalar, ValueList, parse
from qtsmtp.record import Record, field

SIMPLE_TYPES = {"*CHAR", "*NAME", "*CNAME", "*PNAME", "*INT2", "*INT4", "*UINT2", "*UINT4",
                "*DEC", "*GENERIC", "*CMDSTR"}
NUMERIC_TYPES = {"*INT2", "*INT4", "*UINT2", "*UINT4", "*DEC"}


class DefinitionError(Exception):
    """A fault in a commands/*.cmd file: a developer's error, found by the test suite."""


class ValueSpec(Record):
    """What one value may be: a PARM's, an ELEM's or a QUAL's type and rules."""
    type: str = "*CHAR"
    length: int | None = None
    rstd: bool = False
    values: list[str] = field(default_factory=list)          # VALUES(...)
    spcval: dict[str, object] = field(default_factory=dict)  # *SPECIAL -> value passed
    sngval: dict[str, object] = field(default_factory=dict)  # single values (not in a list)
    range: tuple | None = None
    mixed_case: bool = False                                  # CASE(*MIXED)
    dft: Scalar | ValueList | None = None
    min: int = 0
    max: int = 1
    prompt: str = ""
    choice: str = ""
    help: str = ""
    display_input: bool = True                                # DSPINPUT(*NO) hides it
    elems: list["ValueSpec"] | None = None                    # element list
    quals: list["ValueSpec"] | None = None                    # qualified name
    pmtctl: str = ""                                          # PMTCTL(label | *PMTRQS)

    @property
    def is_list(self) -> bool:
        return self.max > 1

    @property
    def is_compound(self) -> bool:
        return self.elems is not None or self.quals is not None

    def special_values(self) -> list[str]:
        """Every *VALUE this spec accepts, in the order a person should read them."""
        out = list(self.sngval) + list(self.spcval)
        out += [v for v in self.values if v.startswith("*")]
        return list(dict.fromkeys(out))

    def choices_text(self) -> str:
        if self.choice:
            return self.choice
        if self.rstd:
            return ", ".join(self.values + list(self.spcval))
        kind = {"*CHAR": "Character value", "*NAME": "Name", "*CNAME": "Communications name",
                "*PNAME": "Path name", "*GENERIC": "Generic name", "*CMDSTR": "Command string"}
        if self.type in NUMERIC_TYPES:
            base = f"{self.range[0]}-{self.range[1]}" if self.range else "Number"
        elif self.elems is not None:
            base = "Element list"
        elif self.quals is not None:
            base = "Qualified name"
        else:
            base = kind.get(self.type, self.type)
        return ", ".join([base] + list(self.spcval))


class Parm(ValueSpec):
    keyword: str = ""


_RELATIONS = {"*EQ": lambda a, b: a == b, "*NE": lambda a, b: a != b,
              "*GT": lambda a, b: a > b, "*LT": lambda a, b: a < b,
              "*GE": lambda a, b: a >= b, "*LE": lambda a, b: a <= b,
              "*NG": lambda a, b: a <= b, "*NL": lambda a, b: a >= b}


class PromptControl(Record):
    """One PMTCTL statement: is the parameter CTL's value such that NBRTRUE of the
    conditions hold? ``relation`` joins it to the statements before it (LGLREL)."""
    control: str                                  # CTL: the controlling keyword
    conditions: list[tuple[str, str]]             # COND: (relation, value); *SPCFD, *UNSPCFD
    count: tuple[str, int | str] = ("*ALL", "*ALL")  # NBRTRUE: (relation, n) or *ALL
    relation: str = "*AND"                        # LGLREL

    def holds(self, value: str, specified: bool) -> bool:
        value = value.strip().upper()
        true = 0
        for relation, wanted in self.conditions:
            if relation == "*SPCFD":
                true += specified
            elif relation == "*UNSPCFD":
                true += not specified
            else:
                mine, theirs = _comparable(value), _comparable(wanted.upper())
                if type(mine) is not type(theirs):       # a number against a word
                    mine, theirs = value, wanted.upper()
                true += bool(_RELATIONS.get(relation, _RELATIONS["*EQ"])(mine, theirs))
        relation, wanted = self.count
        if relation == "*ALL":
            return true == len(self.conditions)
        return _RELATIONS.get(relation, _RELATIONS["*GE"])(true, int(wanted))


def _comparable(text: str):
    try:
        return float(text)
    except ValueError:
        return text


class Command(Record):
    name: str
    prompt: str
    help: str
    maxpos: int
    parms: list[Parm]
    # The processing program, "module:function" (CRTCMD's PGM, kept in the definition):
    # imported only when the command runs. Empty for statements that only the CL script
    # engine carries out (MONMSG).
    program: str = ""
    # PMTCTL label -> its statements, in order (conditional prompting).
    controls: dict[str, list[PromptControl]] = field(default_factory=dict)

    def __post_init__(self):
        self.by_keyword = {p.keyword: p for p in self.parms}

    def prompted(self, parm: Parm, values: dict[str, str], specified: set[str] = frozenset(),
                 requested: bool = False) -> bool:
        """Does the prompter show ``parm``, the other parameters having ``values`` (the
        text of each, its default when not given) and ``specified`` given? A control
        whose parameter has no value yet (not in ``values``) shows it: nothing is known."""
        if not parm.pmtctl:
            return True
        if parm.pmtctl == "*PMTRQS":
            return requested
        result = None
        for control in self.controls.get(parm.pmtctl, []):
            if control.control not in values:
                holds = True
            else:
                holds = control.holds(values[control.control], control.control in specified)
            if result is None:
                result = holds
            elif control.relation == "*OR":
                result = result or holds
            else:
                result = result and holds
        return True if result is None else result

    def controlled_by(self, parm: Parm) -> list[tuple[str, list[str]]]:
        """(controlling keyword, the values that show ``parm``) for help and man pages:
        the *EQ conditions of its prompt control."""
        out = []
        for control in self.controls.get(parm.pmtctl, []):
            values = [v for relation, v in control.conditions if relation == "*EQ"]
            if values:
                out.append((control.control, values))
        return out

    @property
    def positional(self) -> list[Parm]:
        return self.parms[: self.maxpos]


# --- loading ----------------------------------------------------------------------------

def definitions_dir() -> str:
    import qtsmtp.commands
    return os.path.dirname(qtsmtp.commands.__file__)


def command_names() -> list[str]:
    return sorted(n[:-4] for n in os.listdir(definitions_dir()) if n.endswith(".cmd"))


def runnable_command_names() -> list[str]:
    """The commands that run on their own (not MONMSG and other script-only statements)."""
    return [n for n in command_names() if load(n).program]


# Loaded definitions by name (not functools.lru_cache: functools and the collections it
# imports cost a CL command's start about 1 ms, bench/bench_cl.py).
_loaded: dict[str, Command | None] = {}


def load(name: str) -> Command | None:
    """The definition of command ``name`` (upper case), or None if there is none."""
    try:
        return _loaded[name]
    except KeyError:
        found = _loaded[name] = _load(name)
        return found


load.cache_clear = _loaded.clear          # as lru_cache's: forget what was loaded


def _load(name: str) -> Command | None:
    from qtsmtp.cl import defcache     # compiled definitions, kept beside the sources
    path = os.path.join(definitions_dir(), f"{name}.cmd")
    try:
        with open(path, encoding="utf-8") as f:
            st = os.fstat(f.fileno())
            cached = defcache.load(path, st)
            if cached is not None:
                return cached
            source = f.read()
    except FileNotFoundError:
        return None
    cmd = compile_definition(name, source)
    defcache.store(path, st, cmd)
    return cmd


def compile_definition(name: str, source: str) -> Command:
    cmd: Command | None = None
    parms: list[Parm] = []
    groups: dict[str, list[ValueSpec]] = {}   # ELEM/QUAL label -> its members
    group_kind: dict[str, str] = {}
    current: str | None = None                # label of the ELEM/QUAL list being read
    controls: dict[str, list[PromptControl]] = {}
    control_label: str | None = None          # label of the PMTCTL statements being read
    for line, text in logical_lines(source):
        stmt = parse(text, line)
        if stmt is None or stmt.command is None:
            continue
        kw = _keywords(stmt, name)
        if stmt.command == "CMD":
            cmd = Command(name, _text(kw.pop("PROMPT", None)), _text(kw.pop("HELP", None)),
                          int(_text(kw.pop("MAXPOS", None)) or 0), parms,
                          _text(kw.pop("PGM", None)))
            _no_more(kw, stmt, name)
        elif stmt.command == "PARM":
            keyword = _text(kw.pop("KWD", None)).upper()
            if not keyword:
                raise DefinitionError(f"{name} line {line}: PARM without KWD")
            parms.append(_spec(Parm(keyword=keyword), kw, stmt, name))
            current = None
        elif stmt.command == "PMTCTL":
            control_label = stmt.label or control_label
            if control_label is None:
                raise DefinitionError(f"{name} line {line}: PMTCTL without a label")
            controls.setdefault(control_label, []).append(_prompt_control(kw, stmt, name))
            current = None
        elif stmt.command in ("ELEM", "QUAL"):
            if stmt.label:
                current = stmt.label
                groups[current] = []
                group_kind[current] = stmt.command
            if current is None or group_kind[current] != stmt.command:
                raise DefinitionError(f"{name} line {line}: {stmt.command} without a label")
            groups[current].append(_spec(ValueSpec(), kw, stmt, name))
        else:
            raise DefinitionError(f"{name} line {line}: {stmt.command} is not a definition statement")
    if cmd is None:
        raise DefinitionError(f"{name}: no CMD statement")
    _resolve_groups(parms, groups, group_kind, name)
    keywords = {p.keyword for p in parms}
    for parm in parms:
        if parm.pmtctl and parm.pmtctl != "*PMTRQS" and parm.pmtctl not in controls:
            raise DefinitionError(f"{name}: PARM {parm.keyword} PMTCTL({parm.pmtctl}) names no PMTCTL")
    for label, statements in controls.items():
        for control in statements:
            if control.control not in keywords:
                raise DefinitionError(f"{name}: PMTCTL {label} CTL({control.control}) names no PARM")
    cmd.controls = controls
    cmd.__post_init__()
    return cmd


def _prompt_control(kw: dict, stmt, name: str) -> PromptControl:
    unknown = set(kw) - {"CTL", "COND", "NBRTRUE", "LGLREL"}
    if unknown or "CTL" not in kw or "COND" not in kw:
        raise DefinitionError(f"{name} line {stmt.line}: PMTCTL needs CTL and COND, and takes "
                              f"NBRTRUE and LGLREL only")
    conditions = []
    for item in kw["COND"].items:
        parts = item.items if isinstance(item, ValueList) else [item]
        relation = _text(parts[0]).upper()
        conditions.append((relation, _upper_special(parts[1]) if len(parts) > 1 else ""))
    count: tuple = ("*ALL", "*ALL")
    if "NBRTRUE" in kw:
        parts = kw["NBRTRUE"].items
        relation = _text(parts[0]).upper()
        count = (relation, int(_text(parts[1]))) if len(parts) > 1 else (relation, relation)
    return PromptControl(_text(kw["CTL"]).upper(), conditions, count,
                         _text(kw.get("LGLREL")).upper() or "*AND")


def _resolve_groups(specs, groups, group_kind, name):
    for spec in specs:
        if spec.type in SIMPLE_TYPES:
            continue
        label = spec.type
        if label not in groups:
            raise DefinitionError(f"{name}: TYPE({label}) names no ELEM or QUAL")
        members = groups[label]
        _resolve_groups(members, groups, group_kind, name)
        if group_kind[label] == "ELEM":
            spec.elems = members
        else:
            spec.quals = members


_SPEC_KEYWORDS = {"TYPE", "LEN", "RSTD", "VALUES", "SPCVAL", "SNGVAL", "RANGE", "CASE", "DFT",
                  "MIN", "MAX", "PROMPT", "CHOICE", "HELP", "DSPINPUT", "PMTCTL"}


def _spec(spec: ValueSpec, kw: dict, stmt, name: str) -> ValueSpec:
    unknown = set(kw) - _SPEC_KEYWORDS
    if unknown:
        raise DefinitionError(f"{name} line {stmt.line}: unknown keyword(s) {sorted(unknown)}")
    if "TYPE" in kw:
        spec.type = _text(kw["TYPE"]).upper()
    if "LEN" in kw:
        spec.length = int(_text(kw["LEN"].items[0]))
    spec.rstd = _text(kw.get("RSTD")).upper() == "*YES"
    spec.values = [_upper_special(i) for i in kw["VALUES"].items] if "VALUES" in kw else []
    spec.spcval = _mapping(kw.get("SPCVAL"))
    spec.sngval = _mapping(kw.get("SNGVAL"))
    if "RANGE" in kw:
        low, high = (_number(i) for i in kw["RANGE"].items)
        spec.range = (low, high)
    spec.mixed_case = _text(kw.get("CASE")).upper() == "*MIXED"
    if "DFT" in kw:
        items = kw["DFT"].items
        spec.dft = items[0] if len(items) == 1 else ValueList(items)
    spec.min = int(_text(kw.get("MIN")) or 0)
    spec.max = int(_text(kw.get("MAX")) or 1)
    spec.prompt = _text(kw.get("PROMPT"))
    spec.choice = _text(kw.get("CHOICE"))
    spec.help = _text(kw.get("HELP"))
    spec.display_input = _text(kw.get("DSPINPUT")).upper() != "*NO"
    spec.pmtctl = _text(kw.get("PMTCTL")).upper()
    if spec.type not in SIMPLE_TYPES and not spec.type[:1].isalpha():
        raise DefinitionError(f"{name} line {stmt.line}: TYPE({spec.type}) not supported")
    return spec


def _keywords(stmt, name) -> dict:
    if stmt.positional:
        raise DefinitionError(f"{name} line {stmt.line}: write definitions in keyword form")
    return dict(stmt.keywords)


def _no_more(kw, stmt, name):
    if kw:
        raise DefinitionError(f"{name} line {stmt.line}: unknown keyword(s) {sorted(kw)}")


def _text(node) -> str:
    if node is None:
        return ""
    if isinstance(node, ValueList):
        return " ".join(_text(i) for i in node.items)
    return node.text


def _upper_special(node: Scalar) -> str:
    return node.text if node.quoted else node.text.upper()


def _number(node: Scalar):
    text = node.text
    return float(text) if "." in text else int(text)


def _mapping(node: ValueList | None) -> dict[str, object]:
    """SPCVAL((*A) (*B 5)) -> {"*A": "*A", "*B": 5}."""
    out: dict[str, object] = {}
    if node is None:
        return out
    for item in node.items:
        parts = item.items if isinstance(item, ValueList) else [item]
        special = _upper_special(parts[0])
        if len(parts) > 1:
            to = parts[1]
            out[special] = _number(to) if to.text.lstrip("-").replace(".", "").isdigit() else to.text
        else:
            out[special] = special
    return out
