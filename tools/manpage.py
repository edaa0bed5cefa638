"""Man pages generated from the command definitions: ``python tools/manpage.py --write``.

A command's page is made of two things:

* its definition, commands/NAME.cmd: the NAME line (CMD PROMPT), the SYNOPSIS, the start
  of the DESCRIPTION (CMD HELP) and the whole PARAMETERS section (one tagged paragraph per
  PARM: keyword and option, prompt, help, choices, default, notes), so a definition change
  updates the page;
* a hand-written fragment, man/src/name.1.in, for what a definition cannot say: more
  DESCRIPTION, ENVIRONMENT, FILES, EXIT STATUS, EXAMPLES, DIAGNOSTICS, SEE ALSO.

Fragment syntax. A fragment is roff (man(7)) cut into sections by lines ``@@ SECTION``.
Roff comment lines before the first section are notes for the author and are dropped;
blank lines are dropped (write ``.PP`` for a paragraph break), except inside ``.EX``.
Four directives:

* ``@messages ID ...`` expands to one tagged paragraph per message, with its severity and
  first-level text taken from ``qtsmtp.messages.CATALOGUE`` (an unknown ID is an error);
* ``@listtypes ADDSMTPLE|RMVSMTPLE`` expands to one tagged paragraph per list type, from
  ``qtsmtp.config.listtypes``: its list, member, and the parameters the command takes for it;
* ``@include NAME`` inserts man/src/NAME.inc, a piece shared by several pages;
* ``@attrstatus`` expands to one tagged paragraph per CHGSMTPA keyword: acts, or no
  effect with its message (``qtsmtp.config.attrstatus``).

Output is reproducible: the date in ``.TH`` is the constant ``DATE``, not today. Change it
when a page's content changes in a way worth dating. ``--write`` writes the pages of
``GENERATED`` and of every other command that has a fragment; ``--check`` exits 1 when one
of them on disk differs from what this module produces (the test suite runs it).
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

from qtsmtp.cl import definition
from qtsmtp.cl.definition import NUMERIC_TYPES, Command, Parm
from qtsmtp.cl.helptext import choices, default_text, notes, prompted_when
from qtsmtp.messages import CATALOGUE

DATE = "2026-11-22"
SOURCE = "qtsmtp"
# The pages this module always writes; every other command with a fragment in man/src
# (and a definition in commands/) is generated and checked too.
GENERATED = ("ADDSMTPLE", "RMVSMTPLE", "CHGSMTPA", "DSPSMTPA")

# Hand-written sections a fragment may hold, in the order they appear on the page
# (mdoc(7) order; PARAMETERS, generated, comes right after DESCRIPTION).
FRAGMENT_SECTIONS = ("DESCRIPTION", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES",
                     "DIAGNOSTICS", "SEE ALSO", "NOTES", "BUGS")
REQUIRED_SECTIONS = ("FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO")

# A synopsis names every parameter when there are at most this many; otherwise the
# positional and required ones, then "KEYWORD(value) ...".
MAX_SYNOPSIS_PARMS = 10

_CHAR_TYPES = {"*CHAR", "*NAME", "*CNAME", "*PNAME", "*GENERIC"}


class ManPageError(Exception):
    """A fault in a fragment (man/src/*.in): a writer's error, found by --check and the tests."""


# --- roff escaping ------------------------------------------------------------------------

_PROSE_HYPHEN = re.compile(r"(?<![A-Za-z0-9])-|-(?![A-Za-z0-9])")
_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)'][.!?]) +(?=[A-Z*(])")
_VARIABLE = re.compile(r"&(\d+)")


def _chars(text: str) -> str:
    r"""Backslashes, double quotes and non-ASCII characters made safe anywhere."""
    text = text.replace("\\", "\\e").replace('"', "\\(dq")
    return "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)


def code(text: str) -> str:
    r"""Text a user types (keywords, values, options): every hyphen is \- (a minus)."""
    return _chars(text).replace("-", "\\-")


def prose(text: str) -> str:
    r"""Running text: a hyphen inside a word stays a hyphen; any other one is \- (an option)."""
    return _PROSE_HYPHEN.sub(r"\\-", _chars(text))


def text_lines(text: str) -> list[str]:
    """Prose as roff text lines: each sentence starts a line, no line is over 80 bytes."""
    escaped = prose(" ".join(text.split()))
    if not escaped:
        return []
    return [line for sentence in _SENTENCE_END.split(escaped) for line in wrap(sentence)]


def wrap(line: str, width: int = 80) -> list[str]:
    """Break an escaped roff text line at its blanks (never at an escaped one, "\\ ")."""
    out: list[str] = []
    current = ""
    for word in re.split(r"(?<!\\) +", line.strip()):
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        out.append(current)
    return [_guard(w) for w in out]


def _guard(line: str) -> str:
    # A text line that starts with . or ' would be read as a request.
    return "\\&" + line if line[:1] in (".", "'") else line


def message_text(text: str) -> str:
    """A catalogue text with its substitution variables (&1) in italics."""
    return _VARIABLE.sub(r"\\fI&\1\\fP", prose(text))


# --- fragments ----------------------------------------------------------------------------

def default_man_dir() -> Path:
    """man/ of the checkout this module runs from."""
    return Path(__file__).resolve().parents[1] / "man"


def fragment_path(name: str, man_dir: Path | None = None) -> Path:
    return (man_dir or default_man_dir()) / "src" / f"{name.lower()}.1.in"


def read_fragment(name: str, man_dir: Path | None = None) -> str:
    """The hand-written fragment of command ``name``; "" when it has none."""
    try:
        return fragment_path(name, man_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def parse_fragment(text: str, origin: str = "fragment",
                   man_dir: Path | None = None) -> dict[str, list[str]]:
    """Section title -> its roff lines, with @messages and @include expanded."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    example = False                       # inside .EX/.EE, where a blank line is kept
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{origin} line {number}"
        if current is not None and line.startswith((".EX", ".EE")):
            example = line.startswith(".EX")
        if example and not line.strip():
            current.append("")
            continue
        if line.startswith("@@"):
            title = " ".join(line[2:].split()).upper()
            if title not in FRAGMENT_SECTIONS:
                raise ManPageError(f"{where}: section {title!r} is not one of {FRAGMENT_SECTIONS}")
            if title in sections:
                raise ManPageError(f"{where}: section {title} given twice")
            current = sections[title] = []
        elif not line.strip():
            continue
        elif current is None:
            if not line.startswith(('.\\"', "'\\\"")):
                raise ManPageError(f"{where}: text before the first @@ SECTION line")
        elif line.startswith("@messages"):
            current += message_paragraphs(line.split()[1:], where)
        elif line.startswith("@include"):
            current += _include(line.split()[1:], where, man_dir)
        elif line.startswith("@listtypes"):
            current += list_type_paragraphs(line.split()[1:], where)
        elif line.startswith("@attrstatus"):
            current += attribute_status_paragraphs()
        elif line.startswith("@"):
            raise ManPageError(f"{where}: unknown directive {line.split()[0]}")
        else:
            current.append(line.rstrip())
    return sections


def message_paragraphs(ids: list[str], where: str = "") -> list[str]:
    """One tagged paragraph per message: ID and severity, then the first-level text."""
    if not ids:
        raise ManPageError(f"{where}: @messages names no message")
    out = []
    for msgid in ids:
        if msgid not in CATALOGUE:
            raise ManPageError(f"{where}: message {msgid} is not in qtsmtp.messages.CATALOGUE")
        severity, text = CATALOGUE[msgid]
        out += [".TP", f".BR {msgid} \" (severity {severity})\"", *wrap(message_text(text))]
    return out


def list_type_paragraphs(args: list[str], where: str = "") -> list[str]:
    """``@listtypes ADDSMTPLE|RMVSMTPLE``: one tagged paragraph per TYPE value, from the
    list-type table: its list, its member, the parameters it takes and which are required."""
    from qtsmtp.config.listtypes import HOST_OR_IP4, IP4_OR_DOMAIN, LIST_TYPES
    if args not in (["ADDSMTPLE"], ["RMVSMTPLE"]):
        raise ManPageError(f"{where}: write @listtypes ADDSMTPLE or @listtypes RMVSMTPLE")
    command = definition.load(args[0])
    out = []
    for list_type in LIST_TYPES.values():
        allowed = list_type.add_parms if args[0] == "ADDSMTPLE" else list_type.rmv_parms
        taken = [p.keyword for p in command.parms if p.keyword in allowed]
        required = []
        for one_of in list_type.required:
            names = [k for k in one_of if k in allowed]
            if names:
                required.append(" or ".join(names))
        sentences = [f"{list_type.title}; member {list_type.member}.",
                     f"Takes {_and(taken)}; {_and(required)} "
                     f"{'is' if len(required) == 1 else 'are'} required."]
        if list_type.kind in (IP4_OR_DOMAIN, HOST_OR_IP4):
            sentences.append("An entry is a network (INTNETADR and SUBNETMASK) or a domain "
                             "(HOSTNAME), not both.")
        if list_type.secret:
            sentences.append("The member can be read by its owner only.")
        if not list_type.acted_on:
            sentences.append("Stored and checked; the server does not use it yet.")
        out += [".TP", f".B {code(list_type.type)}", *_roff_lines(*(prose(s) for s in sentences))]
    return out


def attribute_status_paragraphs() -> list[str]:
    """``@attrstatus``: every CHGSMTPA keyword, in the definition's order, with what it
    does on this system, from qtsmtp.config.attrstatus (the table CHGSMTPA and DSPSMTPA
    use): "Acts.", or the message it sends and why it cannot act."""
    from qtsmtp.config import attrstatus
    out = []
    for parm in definition.load("CHGSMTPA").parms:
        msgid = attrstatus.NO_EFFECT.get(parm.keyword)
        if msgid is None:
            status = ["Acts."]
        else:
            why = CATALOGUE[msgid][1].split(": ", 1)[-1]
            status = wrap(f"No effect {'yet' if ' effect yet' in CATALOGUE[msgid][1] else 'here'} "
                          f"(\\fB{msgid}\\fP): {prose(why)}")
        out += [".TP 12", f".B {code(parm.keyword)}", *status]
    return out


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _include(args: list[str], where: str, man_dir: Path | None) -> list[str]:
    if len(args) != 1 or not re.fullmatch(r"[a-z0-9_-]+", args[0]):
        raise ManPageError(f"{where}: write @include NAME (man/src/NAME.inc)")
    path = (man_dir or default_man_dir()) / "src" / f"{args[0]}.inc"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManPageError(f"{where}: {path} not found") from None
    return [line.rstrip() for line in text.splitlines()
            if line.strip() and not line.startswith('.\\"')]


# --- the page -----------------------------------------------------------------------------

def render(cmd: Command, fragment: str | None = None, man_dir: Path | None = None) -> str:
    """The man(7) page of ``cmd``: its definition merged with its hand-written fragment.

    ``fragment`` is the fragment's text; None reads man/src/NAME.1.in (none if missing).
    """
    lower = cmd.name.lower()
    if fragment is None:
        fragment = read_fragment(cmd.name, man_dir)
    sections = parse_fragment(fragment, f"man/src/{lower}.1.in", man_dir)
    if fragment:
        missing = [s for s in REQUIRED_SECTIONS if s not in sections]
        if missing:
            raise ManPageError(f"man/src/{lower}.1.in: missing section(s) {', '.join(missing)}")

    out = [
        f'.\\" {lower}.1: generated by "python tools/manpage.py --write" from',
        f'.\\" commands/{cmd.name}.cmd and man/src/{lower}.1.in. Do not edit: edit those.',
        f".TH {cmd.name} 1 {DATE} {SOURCE}",
        ".SH NAME",
        f"{lower} \\- {prose(cmd.prompt)}",
        ".SH SYNOPSIS",
        *_synopsis(cmd),
        ".SH DESCRIPTION",
        *text_lines(cmd.help),
        ".PP",
        *_forms(cmd),
        *_paragraph_break(sections.get("DESCRIPTION", [])),
        ".SH PARAMETERS",
        *_parameters(cmd),
    ]
    for title in FRAGMENT_SECTIONS[1:]:
        if title in sections:
            out.append(f".SH {title}")
            out += sections[title]
    return "\n".join(out) + "\n"


def _forms(cmd: Command) -> list[str]:
    """The paragraph that says where else the command can be written."""
    if not cmd.parms:
        return _roff_lines(
            f"The command can also be run as \\fBqtsmtp\\ {cmd.name}\\fP or from a CL script run "
            "by \\fBqtsmtp\\ run\\fP; see \\fBqtsmtp\\fP(1).")
    return _roff_lines(
        "The parameters are written in CL, as one argument or as separate words, or in the "
        "option form; \\fBqtsmtp\\fP(1) describes both.",
        f"The command can also be run as \\fBqtsmtp\\ \\(dq{cmd.name}\\ .\\|.\\|.\\(dq\\fP "
        "or from a CL script run by \\fBqtsmtp\\ run\\fP.")


def _roff_lines(*sentences: str) -> list[str]:
    """Sentences already in roff, one or more lines each, none over 80 bytes."""
    return [line for sentence in sentences for line in wrap(sentence)]


def _paragraph_break(lines: list[str]) -> list[str]:
    if not lines:
        return []
    return lines if lines[0].startswith((".PP", ".SS", ".TP", ".IP", ".EX")) else [".PP", *lines]


def placeholder(spec) -> str:
    """A value placeholder from a prompt: "Internet address" -> internet-address."""
    words = [re.sub(r"[^a-z0-9]", "", w) for w in re.sub(r"\(.*?\)", "", spec.prompt).lower().split()]
    return "-".join(w for w in words if w) or "value"


def _synopsis(cmd: Command) -> list[str]:
    lower = cmd.name.lower()
    named = cmd.parms if len(cmd.parms) <= MAX_SYNOPSIS_PARMS else [
        p for p in cmd.parms if p.min or p in cmd.positional]
    rest = len(named) < len(cmd.parms)
    out = []
    if cmd.parms:
        # The CL form: one shell argument holding the parameters. A placeholder's hyphens
        # are written \- so that it is never broken at the end of a line.
        cl = []
        for parm in named:
            item = f"\\fB{code(parm.keyword)}(\\fP\\fI{code(placeholder(parm))}\\fP\\fB)\\fP"
            cl.append(item if parm.min else f"[{item}]")
        if rest:
            cl.append("[\\fIKEYWORD\\fP\\fB(\\fP\\fIvalue\\fP\\fB)\\fP\\ .\\|.\\|.]")
        cl[0] = "\\(dq" + cl[0]
        cl[-1] += "\\(dq"
        out += [f".SY {lower}", *cl, ".YS"]
        # The option form.
        out.append(f".SY {lower}")
        for parm in named:
            option, value = "\\-\\-" + code(parm.keyword.lower()), code(placeholder(parm))
            out += [f".B {option}", f".I {value}"] if parm.min else [f".OP {option} {value}"]
        if rest:
            out.append("[\\fB\\-\\-\\fP\\fIkeyword\\ value\\fP\\ .\\|.\\|.]")
        out.append(".YS")
    else:
        out += [f".SY {lower}", ".YS"]
    out += [f".SY {lower}", ".B \\-\\-help", ".YS"]
    return out


def _parameters(cmd: Command) -> list[str]:
    if not cmd.parms:
        return [f"{cmd.name} has no parameters."]
    sentences = [
        "Each parameter is written in CL as \\fIKEYWORD\\fP\\fB(\\fP\\fIvalue\\fP\\fB)\\fP, "
        "or in the option form as \\fB\\-\\-\\fP\\fIkeyword\\ value\\fP or "
        "\\fB\\-\\-\\fP\\fIkeyword\\fP\\fB=\\fP\\fIvalue\\fP.",
        "Keywords and special values are not case sensitive."]
    if cmd.maxpos:
        first = ", ".join(p.keyword for p in cmd.positional)
        sentences.append(
            f"In CL, {prose(first)} may also be given by position, without "
            f"{'its keyword' if cmd.maxpos == 1 else 'their keywords'}, before any keyword "
            f"parameter; \\fB*N\\fP in that place means no value.")
    if any(_bare_special(p) for p in cmd.parms):
        sentences.append(
            "In the option form, a special value of a parameter that takes one value from a "
            "fixed list, or one number, may be written without its asterisk: "
            f"\\fB\\-\\-{_example_option(cmd)}\\fP.")
    if any(p.type == "*CHAR" and not p.rstd for p in cmd.parms):
        sentences.append(
            "A character value is taken as written in the option form: case, blanks and "
            "apostrophes are kept, and a special value keeps its asterisk.")
    out = _roff_lines(*sentences)
    for parm in cmd.parms:
        out += _parameter(cmd, parm)
    return out


def _bare_special(parm: Parm) -> bool:
    """May the option form drop the asterisk of this parameter's special values?"""
    return (parm.rstd or parm.type in NUMERIC_TYPES) and not parm.is_compound and parm.max == 1


def _example_option(cmd: Command) -> str:
    for parm in cmd.parms:
        special = [v for v in parm.special_values() if v != "*SAME"]
        if _bare_special(parm) and special:
            return f"{code(parm.keyword.lower())}\\ {code(special[0][1:].lower())}"
    return "keyword\\ value"


def _parameter(cmd: Command, parm: Parm) -> list[str]:
    out = [".TP", f".BR {code(parm.keyword)} \", \" \\-\\-{code(parm.keyword.lower())} "
                  f"\" ({prose(parm.prompt)})\"",
           *text_lines(parm.help or parm.prompt + ".")]
    # The choices, one line each as in --help, then the notes as one paragraph.
    lines = choices(parm)
    if not (parm.sngval or parm.max > 1):
        lines[0] = "Values: " + lines[0]
    facts = [("\\ \\ \\ \\ " if line.startswith("  ") else "") + _choice_line(line.strip())
             for line in lines]
    required, *more = notes(cmd, parm).split(", ")
    sentences = [", ".join([required] + [m.lower() for m in more]) + "."]
    dft = default_text(parm)
    if dft:
        sentences.append(f"Default: \\fB{code(dft)}\\fP.")
    for annotate in ANNOTATIONS.get(cmd.name, ()):
        sentences.append(annotate(parm))
    sentences += _generated_notes(parm)
    sentences.append(prose(prompted_when(cmd, parm)))     # the definition's PMTCTL
    out.append(".IP")
    for fact in facts:
        out += wrap(fact)
        out.append(".br")
    out += _roff_lines(*(s for s in sentences if s))
    return out


def _choice_line(line: str) -> str:
    """A choices line with its special values in bold: "Values: *SAME, *YES, 1-10"."""
    label, sep, values = line.rpartition(": ")
    shown = ", ".join(f"\\fB{code(v)}\\fP" if v.startswith("*") or len(v) == 1 and not v.isalnum()
                      else code(v) for v in values.split(", "))
    return f"{prose(label)}{sep}{shown}"


def _generated_notes(parm: Parm) -> list[str]:
    out = []
    meanings = _meanings(parm)
    if meanings:
        out.append(_and(meanings) + ".")
    for number, elem in enumerate(parm.elems or [], 1):
        meanings = _meanings(elem)
        if meanings:
            out.append(f"In element {number}, {_and(meanings)}.")
    if parm.type in _CHAR_TYPES and parm.length and not parm.is_compound and not parm.rstd:
        out.append(f"At most {parm.length} characters.")
    if parm.mixed_case:
        out.append("Upper and lower case are kept, quoted or not.")
    if not parm.display_input:
        out.append("Messages show the value as asterisks.")
    option = f"\\fB\\-\\-{code(parm.keyword.lower())}\\fP"
    if parm.elems is not None and parm.max == 1:
        out.append("In the option form the elements are one argument, separated by blanks, "
                   "as in CL without the parentheses.")
    elif parm.elems is not None:
        out.append("In the option form each value is an element list in parentheses, as in "
                   f"CL; one argument may hold several, and {option} may be repeated.")
    elif parm.max > 1:
        out.append("In the option form the values are one argument, separated by blanks, "
                   f"or {option} is given once for each value.")
    if parm.quals is not None:
        out.append(f"In the option form: {option} "
                   f"\\fI{code(placeholder(parm.quals[-1]))}\\fP\\fB/\\fP"
                   f"\\fI{code(placeholder(parm.quals[0]))}\\fP.")
    return out


def _meanings(spec) -> list[str]:
    """What special values stand for: SPCVAL((*DFT 30)) -> "*DFT stands for 30"."""
    return [f"\\fB{code(special)}\\fP stands for \\fB{code(str(value))}\\fP"
            for special, value in spec.spcval.items() if str(value) != special]


# Extra facts some commands add to each parameter: command name -> functions(parm) -> text.

def _shipped_value(parm: Parm) -> str:
    from qtsmtp.config.attributes import SHIPPED
    if parm.keyword not in SHIPPED:
        return ""
    return f"Shipped value: \\fB{code(_attribute_text(SHIPPED[parm.keyword]))}\\fP."


def _attribute_text(value) -> str:
    if isinstance(value, list):
        return " ".join(f"({_attribute_text(v)})" if isinstance(v, list) else str(v) for v in value)
    return str(value)


def _dft_value(parm: Parm) -> str:
    """*DFT of a CHGSMTPA parameter whose definition cannot map it (USRIDDELIM)."""
    from qtsmtp.config.attributes import DFT_VALUES
    if parm.keyword not in DFT_VALUES:
        return ""
    return f"\\fB*DFT\\fP stands for \\fB{code(str(DFT_VALUES[parm.keyword]))}\\fP."


ANNOTATIONS = {"CHGSMTPA": (_shipped_value, _dft_value)}


# --- command line ---------------------------------------------------------------------------

def generated_names(man_dir: Path | None = None) -> list[str]:
    """GENERATED, then every other command that has a fragment and a definition."""
    names = list(GENERATED)
    for path in sorted(((man_dir or default_man_dir()) / "src").glob("*.1.in")):
        name = path.name[:-len(".1.in")].upper()
        if name not in names and definition.load(name) is not None:
            names.append(name)
    return names


def expected_pages(man_dir: Path | None = None) -> dict[Path, str]:
    """Every generated page: its path under man/ -> its text."""
    man_dir = man_dir or default_man_dir()
    return {man_dir / "man1" / f"{name.lower()}.1": render(definition.load(name), man_dir=man_dir)
            for name in generated_names(man_dir)}


def check(man_dir: Path | None = None, out=None) -> int:
    """0 when every generated page on disk is what the generator produces, else 1."""
    out = out or sys.stdout
    stale = 0
    for path, text in expected_pages(man_dir).items():
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale += 1
        if current is None:
            out.write(f"{path}: missing\n")
            continue
        out.write(f"{path}: differs from its definition and fragment\n")
        out.writelines(difflib.unified_diff(current.splitlines(keepends=True),
                                            text.splitlines(keepends=True),
                                            f"{path} (on disk)", f"{path} (generated)", n=1))
    if stale:
        out.write(f"{stale} page(s) out of date: run python tools/manpage.py --write\n")
    return 1 if stale else 0


def write(man_dir: Path | None = None, out=None) -> int:
    out = out or sys.stdout
    for path, text in expected_pages(man_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if path.read_text(encoding="utf-8") == text:
                continue
        except FileNotFoundError:
            pass
        path.write_text(text, encoding="utf-8")
        out.write(f"wrote {path}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/manpage.py",
        description="Generate the man pages of the CL commands from commands/*.cmd and man/src.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true",
                        help="(re)write man/man1/{%s}.1, and the page of every other command "
                             "with a fragment in man/src" % ",".join(n.lower() for n in GENERATED))
    action.add_argument("--check", action="store_true",
                        help="exit 1 if a page on disk differs from what would be written")
    action.add_argument("--print", metavar="COMMAND", help="write one command's page to standard output")
    parser.add_argument("--man-dir", type=Path, default=None,
                        help="the man/ directory (default: the checkout's)")
    args = parser.parse_args(argv)
    try:
        if args.print:
            cmd = definition.load(args.print.upper())
            if cmd is None:
                parser.error(f"no command definition {args.print.upper()}")
            sys.stdout.write(render(cmd, man_dir=args.man_dir))
            return 0
        return write(args.man_dir) if args.write else check(args.man_dir)
    except ManPageError as error:
        sys.stderr.write(f"manpage: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
