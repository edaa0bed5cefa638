"""The binder: Statement + Command definition -> typed parameter values.

It applies the definition's rules (positional order, required parameters, special and
single values, restricted values, lengths, ranges, element lists, qualified names) and
reports every problem it finds as a CPD diagnostic, then CPF0001, as IBM i does. What it
returns is plain Python: str, int, float, tuple (element list or qualified name), list
(a parameter given more than once, MAX > 1), or None (optional, no default).
"""

from __future__ import annotations

from qtsmtp.cl import charset
from qtsmtp.cl.definition import NUMERIC_TYPES, Command, ValueSpec
from qtsmtp.messages import CLError, Message
from qtsmtp.cl.parser import Keyword, Scalar, Statement, ValueList
from qtsmtp.record import Record

_NAME_REST = charset.NAME_REST + "."              # a name: [A-Z$#@][A-Z0-9$#@_.]*


class Bound(Record):
    command: Command
    values: dict          # every parameter: keyword -> value
    given: frozenset      # the keywords the user specified (not defaulted)

    def __getitem__(self, keyword: str):
        return self.values[keyword]


class _Invalid(Exception):
    def __init__(self, msgid: str, *data):
        self.message = Message(msgid, *data)


def assign(stmt: Statement, cmd: Command, diagnostics: list[Message]) -> dict[str, ValueList]:
    """Which value the statement gives which parameter (positional values in the
    definition's order, then keywords), as written; faults go to ``diagnostics``."""
    assigned: dict[str, ValueList] = {}
    for index, node in enumerate(stmt.positional):
        if index >= cmd.maxpos:
            diagnostics.append(Message("CPD0003", cmd.name, cmd.maxpos))
            break
        if isinstance(node, Scalar) and node.is_n:
            continue
        assigned[cmd.parms[index].keyword] = node if isinstance(node, ValueList) else ValueList([node])
    for keyword, content in stmt.keywords:
        if keyword not in cmd.by_keyword:
            diagnostics.append(Message("CPD0043", keyword))
        elif keyword in assigned:
            diagnostics.append(Message("CPD0012", keyword))
        else:
            assigned[keyword] = content
    return assigned


def bind(stmt: Statement, cmd: Command) -> Bound:
    diagnostics: list[Message] = []
    assigned = assign(stmt, cmd, diagnostics)
    values = {}
    for parm, keyword, required, fixed in _plan(cmd):
        content = assigned.get(keyword)
        try:
            if content is None:
                if required:
                    raise _Invalid("CPD0007", keyword)
                values[keyword] = default(parm) if fixed is _UNSET else fixed
            else:
                values[keyword] = _bind_given(parm, content)
        except _Invalid as bad:
            diagnostics.append(bad.message)
    if diagnostics:
        raise CLError(diagnostics + [Message("CPF0001", cmd.name)])
    return Bound(cmd, values, frozenset(assigned))


# What bind does for each parameter of a command, worked out once per definition (a
# script binds the same command thousands of times): id(command) -> (command, [(parm,
# keyword, required, its default when that cannot change in place, else _UNSET)]).
_plans: dict[int, tuple[Command, list[tuple]]] = {}
_UNSET = object()


def _plan(cmd: Command) -> list[tuple]:
    known = _plans.get(id(cmd))
    if known is not None and known[0] is cmd:
        return known[1]
    plan = []
    for parm in cmd.parms:
        fixed = _UNSET
        if not parm.min:
            try:
                value = default(parm)
            except Exception:
                value = None          # bind says so when it is left out, as before
            else:
                if _immutable(value):
                    fixed = value
        plan.append((parm, parm.keyword, parm.min, fixed))
    _plans[id(cmd)] = (cmd, plan)
    return plan


# (id(spec), text, quoted) -> (spec, bound value) of a value given as one word or string,
# when the value cannot be changed in place: the commands of a script give the same
# TYPE(*ACCEPT) and SUBNETMASK('255.255.255.255') line after line. At most
# SCALARS_MOST kept; bind_parm's answer depends on nothing else.
_scalars: dict[tuple, tuple[ValueSpec, object]] = {}
SCALARS_MOST = 4096


def _bind_given(parm: ValueSpec, content: ValueList):
    items = content.items
    if len(items) != 1 or items[0].__class__ is not Scalar:
        return bind_parm(parm, content)
    key = (id(parm), items[0].text, items[0].quoted)
    known = _scalars.get(key)
    if known is not None and known[0] is parm:
        return known[1]
    value = bind_parm(parm, content)
    if len(_scalars) < SCALARS_MOST and _immutable(value):
        _scalars[key] = (parm, value)
    return value


def bind_value(parm: ValueSpec, content: ValueList):
    """One parameter's value on its own; a bad one raises CLError with its diagnostic."""
    try:
        return bind_parm(parm, content)
    except _Invalid as bad:
        raise CLError([bad.message]) from None


# id(spec) -> (spec, its bound default) for defaults that cannot be changed in place:
# a definition's defaults are the same for every command of a script.
_defaults: dict[int, tuple[ValueSpec, object]] = {}


def default(parm: ValueSpec):
    known = _defaults.get(id(parm))
    if known is not None and known[0] is parm:
        return known[1]
    value = _default(parm)
    if _immutable(value):
        _defaults[id(parm)] = (parm, value)
    return value


def _immutable(value) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _default(parm: ValueSpec):
    if parm.dft is None:
        if parm.elems is not None and parm.max == 1:
            return tuple(default(e) for e in parm.elems)
        return [] if parm.max > 1 else None
    content = parm.dft if isinstance(parm.dft, ValueList) else ValueList([parm.dft])
    return bind_parm(parm, content, keyword=getattr(parm, "keyword", ""))


def bind_parm(parm: ValueSpec, content: ValueList, keyword: str | None = None):
    keyword = keyword or getattr(parm, "keyword", "")
    items = content.items
    if not items:
        raise _Invalid("CPD0084", "()", keyword)
    first = items[0]
    if len(items) == 1 and isinstance(first, Scalar) and not first.quoted:
        special = first.text.upper()
        if special in parm.sngval:
            return parm.sngval[special]
    if len(items) > 1 and parm.elems is None:
        # A single value cannot stand among others, unless an item may take it too.
        for item in items:
            special = item.text.upper() if isinstance(item, Scalar) and not item.quoted else ""
            if special in parm.sngval and special not in parm.spcval and special not in parm.values:
                raise _Invalid("CPD0083", special, keyword)

    if parm.max > 1:
        if len(items) > parm.max:
            raise _Invalid("CPD0028", keyword, parm.max)
        if parm.elems is not None:
            return [_bind_elements(parm, i.items if isinstance(i, ValueList) else [i], keyword)
                    for i in items]
        return [_bind_one(parm, i, keyword) for i in items]
    if parm.elems is not None:
        return _bind_elements(parm, items, keyword)
    if len(items) > 1:
        raise _Invalid("CPD0028", keyword, 1)
    return _bind_one(parm, first, keyword)


def _bind_elements(parm: ValueSpec, items: list, keyword: str) -> tuple:
    elems = parm.elems
    if len(items) > len(elems):
        raise _Invalid("CPD0029", keyword, len(elems))
    out = []
    for index, elem in enumerate(elems):
        node = items[index] if index < len(items) else None
        if node is None or (isinstance(node, Scalar) and node.is_n):
            if elem.min:
                raise _Invalid("CPD0072", keyword)
            out.append(default(elem))
        elif elem.elems is not None or elem.max > 1:
            out.append(bind_parm(elem, node if isinstance(node, ValueList) else ValueList([node]),
                                 keyword))
        else:
            out.append(_bind_one(elem, node, keyword))
    return tuple(out)


def _bind_one(spec: ValueSpec, node, keyword: str):
    if spec.quals is not None:
        return _bind_qualified(spec, node, keyword)
    if isinstance(node, (ValueList, Keyword)):
        if spec.type == "*CMDSTR":
            return str(node)[1:-1] if isinstance(node, ValueList) else str(node)
        raise _Invalid("CPD0084", node, keyword)
    text, quoted = node.text, node.quoted
    shown = text if spec.display_input else "*" * len(text)
    if not quoted and text.startswith("*"):
        special = text.upper()
        if special in spec.spcval:
            return spec.spcval[special]
        if spec.rstd and special in spec.values:
            return special
        raise _Invalid("CPD0084", shown, keyword)

    if spec.type in NUMERIC_TYPES:
        value = _number(spec, text, keyword)
    elif spec.type in ("*NAME", "*CNAME", "*GENERIC"):
        value = text if quoted else text.upper()
        # A quoted name may hold blanks and punctuation, never a control character (IBM:
        # X'00'-X'3F' are not valid in a quoted name): a line end would cut the member's
        # record in two.
        if (not _is_name(value, spec.type == "*GENERIC") if not quoted
                else charset.first_of(value, charset.C0_AND_DEL) is not None):
            raise _Invalid("CPD0078", shown, keyword)
    else:  # *CHAR, *PNAME, *CMDSTR
        value = text if quoted or spec.mixed_case else text.upper()
    if spec.length and spec.type not in NUMERIC_TYPES and len(value) > spec.length:
        raise _Invalid("CPD0074", shown if len(shown) < 40 else shown[:37] + "...", keyword, spec.length)
    if spec.rstd and value not in spec.values:
        raise _Invalid("CPD0084", shown, keyword)
    return value


def _is_name(value: str, generic: bool) -> bool:
    """A CL name; a generic name may end in one ``*`` (``QTCP*``)."""
    if generic and value.endswith("*"):
        value = value[:-1]
    return charset.made_of(value, charset.NAME_START, _NAME_REST)


def _number(spec: ValueSpec, text: str, keyword: str):
    if spec.type == "*DEC":
        if not charset.is_decimal(text):
            raise _Invalid("CPD0086", text, keyword)
        value = float(text.replace(",", "."))
    else:
        if not charset.is_integer(text):
            raise _Invalid("CPD0086", text, keyword)
        value = int(text)
    if spec.range and not spec.range[0] <= value <= spec.range[1]:
        raise _Invalid("CPD0085", text, keyword, spec.range[0], spec.range[1])
    if spec.rstd and str(value) not in spec.values:
        raise _Invalid("CPD0084", text, keyword)
    return value


def _bind_qualified(spec: ValueSpec, node, keyword: str) -> tuple:
    """LIB/OBJ -> (OBJ, LIB): IBM lists the object first and its qualifiers after it."""
    if not isinstance(node, Scalar):
        raise _Invalid("CPD0084", node, keyword)
    parts = node.text.split("/") if not node.quoted else [node.text]
    if len(parts) > len(spec.quals):
        raise _Invalid("CPD0084", node.text, keyword)
    parts.reverse()
    out = []
    for index, qual in enumerate(spec.quals):
        if index < len(parts):
            out.append(_bind_one(qual, Scalar(parts[index], node.quoted), keyword))
        else:
            out.append(default(qual))
    return tuple(out)
