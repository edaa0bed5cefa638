"""The man pages: lint-clean, generated pages in step with their definitions, hand-written
pages in step with the code they describe.

* ``mandoc -T lint`` over every page under man/ must print nothing at all: no error, no
  warning, no style message. mandoc is required (CI installs it): without it this fails.
* The pages generated from commands/*.cmd and man/src/*.in must be the committed ones
  (``python tools/manpage.py --check``).
* The hand-written pages must name every message, attribute and list member the code has.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qtsmtp import messages
from qtsmtp.cl.definition import compile_definition, definitions_dir, load
from qtsmtp.config import attrstatus
from qtsmtp.config.attributes import SHIPPED
from qtsmtp.config.listtypes import LIST_TYPES
from support import CHECKOUT, tool

sys.path.insert(0, str(CHECKOUT / "tools"))   # the generator is a build tool, not in the package
import manpage  # noqa: E402
MAN = CHECKOUT / "man"
PAGE = re.compile(r"\.[1-8]\Z")

# The pages this suite holds to the section rules (other pages are linted only).
OWN_PAGES = ["man1/qtsmtp.1", "man1/addsmtple.1", "man1/rmvsmtple.1", "man1/chgsmtpa.1",
             "man1/dspsmtpa.1", "man5/qatmadrlst.5", "man5/qatmsmtp.5",
             "man7/qtsmtp-messages.7"]


def pages() -> list[Path]:
    return sorted(p for p in MAN.rglob("*") if p.is_file() and PAGE.search(p.name))


def mandoc() -> str:
    return tool("mandoc", "mandoc")        # without it the man pages cannot be checked


# --- lint -------------------------------------------------------------------------------

def test_every_page_is_lint_clean():
    found = pages()
    assert found, f"no man pages under {MAN}"
    result = subprocess.run([mandoc(), "-T", "lint", *map(str, found)],
                            capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    if output:
        print(output)
    assert not output, f"mandoc -T lint is not silent:\n{output}"


def test_own_pages_exist_and_have_their_sections():
    for name in OWN_PAGES:
        path = MAN / name
        assert path.is_file(), f"{name} is missing"
        titles = re.findall(r"^\.SH (.+)$", path.read_text(encoding="utf-8"), re.M)
        needed = ["NAME", "SYNOPSIS", "DESCRIPTION", "FILES", "EXAMPLES", "SEE ALSO"]
        if name.endswith(".1"):
            needed.append("EXIT STATUS")
        missing = [t for t in needed if t not in titles]
        assert not missing, f"{name} lacks {missing}"


# --- generated pages --------------------------------------------------------------------

def test_generated_pages_are_up_to_date():
    out = io.StringIO()
    status = manpage.check(out=out)
    print(out.getvalue())
    assert status == 0, ("a generated man page differs from its definition and fragment; run "
                         "python tools/manpage.py --write\n" + out.getvalue())


def test_check_command_line():
    result = subprocess.run([sys.executable, "tools/manpage.py", "--check"],
                            capture_output=True, text=True, timeout=60, cwd=CHECKOUT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_finds_a_stale_page(tmp_path):
    man = tmp_path / "man"
    shutil.copytree(MAN / "src", man / "src")
    assert manpage.write(man, out=io.StringIO()) == 0
    assert manpage.check(man, out=io.StringIO()) == 0
    page = man / "man1" / "chgsmtpa.1"
    page.write_text(page.read_text().replace("Retries by minute", "Retries per minute"))
    out = io.StringIO()
    assert manpage.check(man, out=out) == 1
    assert "chgsmtpa.1" in out.getvalue() and "Retries by minute" in out.getvalue()
    (man / "man1" / "dspsmtpa.1").unlink()
    assert manpage.check(man, out=io.StringIO()) == 1


def test_output_is_reproducible():
    cmd = load("ADDSMTPLE")
    first = manpage.render(cmd)
    assert first == manpage.render(cmd)
    assert f".TH ADDSMTPLE 1 {manpage.DATE} " in first


def test_a_definition_change_changes_the_parameters_section():
    source = (Path(definitions_dir()) / "DSPSMTPA.cmd").read_text(encoding="utf-8")
    source += ("             PARM       KWD(OUTPUT) TYPE(*CHAR) LEN(6) RSTD(*YES) +\n"
               "                          VALUES(* *PRINT) DFT(*) PROMPT('Output') +\n"
               "                          HELP('Where the attributes go.')\n")
    page = manpage.render(compile_definition("DSPSMTPA", source), fragment="")
    assert ".BR OUTPUT \", \" \\-\\-output \" (Output)\"" in page
    assert "Where the attributes go." in page
    assert "has no parameters" not in page


def test_every_parameter_and_prompt_is_on_its_page():
    for name in manpage.GENERATED:
        cmd = load(name)
        page = manpage.render(cmd)
        for parm in cmd.parms:
            assert f".BR {manpage.code(parm.keyword)} " in page, (name, parm.keyword)
            assert manpage.prose(parm.prompt) in page, (name, parm.prompt)


# --- escaping and fragments ---------------------------------------------------------------

def test_escaping():
    assert manpage.code("--type a-b") == "\\-\\-type a\\-b"
    assert manpage.prose("an e-mail, --type or - alone") == "an e-mail, \\-\\-type or \\- alone"
    assert manpage.prose('a \\ and "q"') == "a \\e and \\(dqq\\(dq"
    assert manpage.prose("caf\u00e9") == "caf\\[u00E9]"
    # A line may not start with a control character, nor be longer than 80 bytes.
    assert manpage.wrap("a" * 78 + " .example.com") == ["a" * 78, "\\&.example.com"]
    assert manpage.wrap("a" * 78 + " 'q'") == ["a" * 78, "\\&'q'"]
    assert manpage.wrap("a" * 74 + " b\\ c d") == ["a" * 74 + " b\\ c", "d"]
    lines = manpage.text_lines("First one. Second (sentence). Third " + "word " * 40)
    assert lines[:2] == ["First one.", "Second (sentence)."]
    assert all(len(line) <= 80 for line in lines)


def test_fragment_sections_and_directives():
    sections = manpage.parse_fragment(
        '.\\" a note\n@@ DESCRIPTION\nMore.\n\n@@ DIAGNOSTICS\n@messages TCP2650\n'
        "@@ EXAMPLES\n.EX\na\n\nb\n.EE\n")
    assert sections["DESCRIPTION"] == ["More."]
    assert sections["DIAGNOSTICS"][:2] == [".TP", '.BR TCP2650 " (severity 40)"']
    assert sections["EXAMPLES"] == [".EX", "a", "", "b", ".EE"]


@pytest.mark.parametrize("fragment, complaint", [
    ("@@ OPTIONS\nx\n", "is not one of"),
    ("@@ FILES\nx\n@@ FILES\ny\n", "given twice"),
    ("text first\n@@ FILES\n", "before the first"),
    ("@@ DIAGNOSTICS\n@messages XYZ9999\n", "not in qtsmtp.messages.CATALOGUE"),
    ("@@ FILES\n@frobnicate\n", "unknown directive"),
    ("@@ FILES\n@include nothere\n", "not found"),
])
def test_fragment_faults_are_reported(fragment, complaint):
    with pytest.raises(manpage.ManPageError, match=complaint):
        manpage.parse_fragment(fragment)


def test_fragment_must_have_the_required_sections():
    with pytest.raises(manpage.ManPageError, match="missing section"):
        manpage.render(load("DSPSMTPA"), fragment="@@ FILES\n.TP\nx\n")


# --- hand-written pages against the code --------------------------------------------------

def unroff(text: str) -> str:
    """Roff source -> plain words, enough to find a message text or a value in it."""
    for escape, plain in (("\\(dq", '"'), ("\\(aq", "'"), ("\\-", "-"), ("\\e", "\\"),
                          ("\\&", ""), ("\\|", ""), ("\\ ", " ")):
        text = text.replace(escape, plain)
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"^\.(br|B|I|BR|IR|RB|RI)\b ?", "", text, flags=re.M)
    return " ".join(text.split())


def blocks(page: str, tag: re.Pattern) -> dict[str, str]:
    """Tagged paragraphs: first group of ``tag`` (on the line after .TP) -> the body."""
    out = {}
    for chunk in re.split(r"^\.(?:TP|SH|SS)\b.*$", page, flags=re.M):
        lines = chunk.strip("\n").split("\n")
        m = tag.match(lines[0])
        if m:
            out[m.group(1)] = "\n".join(lines)
    return out


def ibm_marks() -> dict[str, str]:
    source = Path(messages.__file__).read_text(encoding="utf-8")
    return dict(re.findall(r'^\s*"([A-Z]{3}[0-9A-F]{4})":.*#\s*(IBM[^\n]*)$', source, re.M))


# The "# IBM ..." mark of a message in messages.py -> what its tag in the page says.
ORIGINS = {"IBM": "; IBM i)", "IBM family": "; IBM i TCP family)",
           "IBM (field report)": "; IBM i, field report)",
           "IBM (meaning)": "; IBM i meaning, qtsmtp wording)"}


def test_messages_page_lists_every_message():
    page = (MAN / "man7" / "qtsmtp-messages.7").read_text(encoding="utf-8")
    found = blocks(page, re.compile(r'\.BR ([A-Z]{3}[0-9A-F]{4}) "'))
    marks = ibm_marks()
    assert marks, "no '# IBM' marks found in messages.py"
    missing = sorted(set(messages.CATALOGUE) - set(found))
    assert not missing, f"qtsmtp-messages.7 does not describe {missing}"
    extra = sorted(set(found) - set(messages.CATALOGUE))
    assert not extra, f"qtsmtp-messages.7 describes messages that do not exist: {extra}"
    for msgid, (severity, text) in messages.CATALOGUE.items():
        block = found[msgid]
        tag = block.split("\n")[0]
        assert f"(severity {severity};" in tag, (msgid, tag)
        origin = ORIGINS.get(marks[msgid], "; IBM i") if msgid in marks else "; qtsmtp)"
        assert origin in tag, (msgid, tag, marks.get(msgid))
        assert " ".join(text.split()) in unroff(block), (msgid, text)


def test_attributes_page_lists_every_attribute():
    page = (MAN / "man5" / "qatmsmtp.5").read_text(encoding="utf-8")
    acted, _, stored = page.partition(".SS Attributes without effect on this system")
    assert stored, "qatmsmtp.5 has no 'Attributes without effect on this system' subsection"
    acted = acted.partition(".SS Attributes the server acts on")[2]
    assert acted, "qatmsmtp.5 has no 'Attributes the server acts on' subsection"
    tag = re.compile(r"\.B ([A-Z0-9]+)$")
    stored = stored.partition(".SS Editing by hand")[0]
    found_acted, found_stored = blocks(acted, tag), blocks(stored, tag)
    chg = load("CHGSMTPA")
    for parm in chg.parms:
        key = parm.keyword
        no_effect = not attrstatus.acts(key)
        group = found_stored if no_effect else found_acted
        assert key in group, (f"qatmsmtp.5: {key} belongs under Attributes "
                              f"{'without effect on this system' if no_effect else 'the server acts on'}")
        shipped = json.dumps(SHIPPED[key])
        assert f"Shipped value: {shipped}." in unroff(group[key]), (key, shipped)
    assert set(found_acted) | set(found_stored) == set(SHIPPED)


def test_list_members_page_lists_every_list_type():
    page = (MAN / "man5" / "qatmadrlst.5").read_text(encoding="utf-8")
    found = blocks(page, re.compile(r'\.BR ([A-Z0-9]+) " \((\*[A-Z0-9]+)\)"'))
    for list_type in LIST_TYPES.values():
        assert list_type.member in found, f"qatmadrlst.5 does not describe {list_type.member}"
        block = found[list_type.member]
        assert f'" ({list_type.type})"' in block.split("\n")[0], (list_type.member, list_type.type)
        assert ("not used yet" in block) == (not list_type.acted_on), list_type.member
    assert set(found) == {t.member for t in LIST_TYPES.values()}
