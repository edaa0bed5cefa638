"""The Unix shell side: the option form through typer, both forms answering alike, and
shell completion (bash, zsh, fish) driven as the shells drive it, in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import script

# (CL form, option form): each case runs both ways on its own copy of the library, in
# the same order; exit status, standard output, standard error and the members must be
# the same.
CASES = [
    ("addsmtple", "*ACCEPT INTNETADR('10.1.1.1')", ["--type", "accept", "--intnetadr", "10.1.1.1"]),
    ("addsmtple", "TYPE(*ACCEPT) INTNETADR('10.1.1.1')", ["--type", "accept", "--intnetadr", "10.1.1.1"]),
    ("addsmtple", "TYPE(*REJECT) INTNETADR('10.2.0.0') SUBNETMASK('255.255.0.0')",
     ["--type=reject", "--intnetadr=10.2.0.0", "--subnetmask", "255.255.0.0"]),
    ("addsmtple", "TYPE(*ACCEPT) INTNETADR('10.1.1.300')", ["--type", "accept", "--intnetadr", "10.1.1.300"]),
    ("addsmtple", "TYPE(*ACCEPT) INTNETADR('10.1.1.0') SUBNETMASK('255.0.255.0')",
     ["--type", "accept", "--intnetadr", "10.1.1.0", "--subnetmask", "255.0.255.0"]),
    ("addsmtple", "TYPE(*BOGUS) INTNETADR('10.1.1.1')", ["--type", "*BOGUS", "--intnetadr", "10.1.1.1"]),
    ("addsmtple", "INTNETADR('10.1.1.1')", ["--intnetadr", "10.1.1.1"]),
    ("addsmtple", "TYPE(*ACCEPT) FOO(1)", ["--type", "accept", "--foo", "1"]),
    ("addsmtple", "TYPE(*ACCEPT) TYPE(*REJECT)", ["--type", "accept", "--type", "reject"]),
    ("addsmtple", "TYPE(*NEAR) HOSTNAME('Near.Example')", ["--type", "near", "--hostname", "Near.Example"]),
    ("addsmtple", "TYPE(*ACCEPTIP6) IP6NETADR('2001:db8::') IP6PFX(32)",
     ["--type", "acceptip6", "--ip6netadr", "2001:db8::", "--ip6pfx", "32"]),
    ("addsmtple", "TYPE(*ACCEPTIP6) IP6NETADR('2001:db8::') IP6PFX(200)",
     ["--type", "acceptip6", "--ip6netadr", "2001:db8::", "--ip6pfx", "200"]),
    ("rmvsmtple", "TYPE(*ACCEPT) INTNETADR('10.1.1.1')", ["--type", "accept", "--intnetadr", "10.1.1.1"]),
    ("rmvsmtple", "TYPE(*ACCEPT) INTNETADR('10.9.9.9')", ["--type", "accept", "--intnetadr", "10.9.9.9"]),
    ("chgsmtpa", "ALWRLY(*LIST) RTYMIN(5 10)", ["--alwrly", "list", "--rtymin", "5 10"]),
    ("chgsmtpa", "ALWRLY(never)", ["--alwrly", "never"]),
    ("chgsmtpa", "RTYMIN(5 10 15)", ["--rtymin", "5 10 15"]),
    ("chgsmtpa", "MAILROUTER(*NONE)", ["--mailrouter", "*none"]),
    ("dspsmtpa", "", []),
]


def run(name: str, args: list[str], root: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([script(name), *args], check=False, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QTSMTP_ROOT": str(root), **(env or {})})


def members(root: Path) -> dict[str, str]:
    """The list members and the attributes (not the journal, whose records are timed)."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
            and p.parent.name in ("QATMADRLST", "QATMSMTP")}


def test_every_case_answers_alike_in_both_forms(tmp_path):
    from support import new_library
    roots = {form: new_library(tmp_path / form) for form in ("cl", "options")}
    for name, text, options in CASES:
        by_cl = run(name, [text] if text else [], roots["cl"])
        by_options = run(name, options, roots["options"])
        assert by_cl.returncode in (0, 1, 2), (name, text, by_cl.stderr)
        assert "Traceback" not in by_cl.stderr + by_options.stderr
        assert ((by_options.returncode, by_options.stdout, by_options.stderr)
                == (by_cl.returncode, by_cl.stdout, by_cl.stderr)), (name, text, options)
    stored = members(roots["cl"])
    assert "QUSRSYS/QATMADRLST/ACCEPTIP6" in stored and stored == members(roots["options"])
    # The table covers success, an escape message and a command not valid.
    statuses = {run(n, [t] if t else [], roots["cl"]).returncode for n, t, _ in CASES}
    assert {0, 1, 2} <= statuses


def _modules_after(argv: list[str], root: Path, stdin: str | None = None,
                   watched: tuple = ("typer", "click", "rich"), env: dict | None = None) -> set[str]:
    """Which of ``watched`` a console entry point had loaded when it exited."""
    name = argv[0]
    program = ("import atexit, sys\n"
               "atexit.register(lambda: sys.stderr.write('LOADED=' + ','.join(sorted("
               f"m for m in {watched!r} if m in sys.modules)) + '\\n'))\n"
               f"sys.argv = {argv!r}\n"
               f"from qtsmtp.console import {name}\n{name}()\n")
    r = subprocess.run([sys.executable, "-c", program], check=False, capture_output=True, text=True,
                       input=stdin, timeout=60, env={**os.environ, "QTSMTP_ROOT": str(root), **(env or {})})
    line = [x for x in r.stderr.splitlines() if x.startswith("LOADED=")]
    assert line, r.stderr
    return set(filter(None, line[-1][7:].split(",")))


def test_the_cl_form_run_and_the_panels_never_load_typer(qroot, tmp_path):
    assert _modules_after(["addsmtple", "TYPE(*ACCEPT) INTNETADR('10.3.3.3')"], qroot) == set()
    assert _modules_after(["addsmtple", "TYPE(*BAD)"], qroot) == set()
    assert _modules_after(["qtsmtp", "DSPSMTPA"], qroot) == set()
    script_file = tmp_path / "s.clp"
    script_file.write_text("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.3.3.4')\n")
    assert _modules_after(["qtsmtp", "run", str(script_file)], qroot) == set()
    # Completing the CL form does not load it either.
    env_words = {"COMP_WORDS": "addsmtple\nTYPE\\(\\*AC", "COMP_CWORD": "1",
                 "_ADDSMTPLE_COMPLETE": "complete_bash"}
    os.environ.update(env_words)
    try:
        assert _modules_after(["addsmtple"], qroot) == set()
    finally:
        for key in env_words:
            del os.environ[key]
    # The panels: every module of qtsmtp.panels imported, and the command entry's runner.
    program = ("import pkgutil, importlib, sys, qtsmtp.panels as p\n"
               "[importlib.import_module('qtsmtp.panels.' + m.name) for m in pkgutil.iter_modules(p.__path__)]\n"
               "print(sorted(m for m in ('typer', 'click') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stderr


def test_a_well_formed_option_form_run_does_not_load_typer(qroot):
    # A plain, valid invocation is parsed from the same definition without the typer app
    # (qtsmtp.shell.options; tests/functional/test_option_form_fast_path.py compares it
    # with the typer app case by case).
    assert _modules_after(["addsmtple", "--type", "accept", "--intnetadr", "10.3.3.5"], qroot) == set()
    assert _modules_after(["qtsmtp", "rmvsmtple", "--type=accept", "--intnetadr=10.3.3.5"], qroot) == set()
    assert _modules_after(["chgsmtpa", "--rblsvr", "a.example", "--rblsvr=b.example", "--alwrly", "list"],
                          qroot) == set()
    # and nothing else the CL form does without
    assert _modules_after(["addsmtple", "--type", "accept", "--intnetadr", "10.3.3.6"], qroot,
                          watched=HEAVY) == set()
    # The switch that sends it through the typer app, for comparisons and measurements.
    assert "typer" in _modules_after(["addsmtple", "--type", "accept", "--intnetadr", "10.3.3.7"], qroot,
                                     env={"QTSMTP_OPTIONS_THROUGH_TYPER": "1"})


def test_help_completion_and_mistakes_in_the_option_form_go_through_typer(qroot):
    for argv in (["addsmtple", "--help"], ["addsmtple", "-h"], ["qtsmtp", "addsmtple", "--help"],
                 ["addsmtple", "--type", "accept", "--intnetadr", "10.3.3.8", "--help"],
                 ["addsmtple", "--show-completion", "bash"],
                 ["addsmtple", "--type", "accept", "--foo", "1"],                  # unknown option
                 ["addsmtple", "--type", "accept", "--intnetadr"],                 # no value
                 ["addsmtple", "--type", "accept", "--type", "reject"],            # given twice
                 ["addsmtple", "--type", "accept", "10.3.3.9"],                    # not an option
                 ["addsmtple", "--type", "bogus", "--intnetadr", "10.3.3.9"],      # not a value of TYPE
                 ["addsmtple", "--intnetadr", "10.3.3.9"]):                        # TYPE missing
        assert "typer" in _modules_after(argv, qroot), argv
    # A shell asking for completions of the option form.
    completing = {"_ADDSMTPLE_COMPLETE": "complete_bash", "COMP_WORDS": "addsmtple\n--type\nac",
                  "COMP_CWORD": "2"}
    assert "typer" in _modules_after(["addsmtple"], qroot, env=completing)


# What start-up time is made of (bench/bench_cl.py): none of these is needed to add or
# remove a list entry with no server running.
HEAVY = ("dataclasses", "inspect", "typing", "socket", "selectors", "tomllib", "asyncio",
         "aiosmtpd", "curses", "decimal", "qtsmtp.cl.script", "qtsmtp.server",
         # a small list is searched without its index (listscan); the change journal is
         # written and its tail read without json; signal only for the test fault points
         "sqlite3", "datetime", "zlib", "json", "signal")


def test_the_cl_form_loads_nothing_it_does_not_need(qroot):
    assert _modules_after(["addsmtple", "*ACCEPT INTNETADR('10.4.4.4')"], qroot, watched=HEAVY) == set()
    assert _modules_after(["rmvsmtple", "*ACCEPT INTNETADR('10.4.4.4')"], qroot, watched=HEAVY) == set()


# Nor these (issue 15: the CL form's start on a normal install): re (with enum and
# functools) and pathlib (with urllib.parse, ipaddress and re) were about 9 ms of it.
# The launcher (bin/, not pip's wrapper, which imports re), the lexer, the checks of
# names, numbers and addresses, the store's paths and context managers do without.
CL_FORM_ALSO_WITHOUT = ("re", "enum", "functools", "collections", "contextlib", "pathlib",
                        "urllib", "ipaddress", "fnmatch", "warnings")
CHECKOUT = Path(__file__).resolve().parents[2]


def _launched(argv: list[str], root: Path, status: int = 0) -> tuple[set[str], tuple]:
    """The modules the launcher bin/argv[0] loads beyond python's own, run as in a normal
    installation: python -S (no site, so no editable install's finder, which loads re and
    pathlib itself), qtsmtp from this checkout with commands/ as qtsmtp.commands; and
    (garbage collection on, objects frozen) at its exit."""
    launcher = CHECKOUT / "bin" / argv[0]
    program = ("import sys\n"
               "start = set(sys.modules)\n"
               f"sys.path.insert(0, {str(CHECKOUT)!r})\n"
               "import qtsmtp\n"
               f"qtsmtp.__path__.append({str(CHECKOUT)!r})\n"
               "import atexit\n"
               "import gc\n"
               "atexit.register(lambda: sys.stderr.write('LOADED=' + ','.join(sorted("
               "set(sys.modules) - start)) + '\\nGC=%s,%d\\n' % (gc.isenabled(), "
               "gc.get_freeze_count())))\n"
               f"sys.argv = {argv!r}\n"
               f"exec(compile(open({str(launcher)!r}).read(), {str(launcher)!r}, 'exec'), "
               "{'__name__': '__main__'})\n")
    r = subprocess.run([sys.executable, "-S", "-c", program], check=False, capture_output=True,
                       text=True, timeout=60, env={**os.environ, "QTSMTP_ROOT": str(root)})
    lines = r.stderr.splitlines()
    assert r.returncode == status and lines[-2].startswith("LOADED="), r.stderr
    enabled, frozen = lines[-1].removeprefix("GC=").split(",")
    return set(lines[-2][7:].split(",")), (enabled == "True", int(frozen))


def test_the_cl_form_starts_without_re_or_pathlib(qroot):
    for argv in (["addsmtple", "*ACCEPT INTNETADR('10.4.4.5')"],
                 ["addsmtple", "TYPE(*ACCEPT) INTNETADR('10.4.5.0') SUBNETMASK('255.255.255.0')"],
                 ["rmvsmtple", "*ACCEPT INTNETADR('10.4.4.5')"]):
        loaded, (collecting, frozen) = _launched(argv, qroot)
        assert "qtsmtp.programs.lists" in loaded          # it ran the command
        unwanted = (*CL_FORM_ALSO_WITHOUT, *HEAVY)
        assert {m for m in loaded if m.startswith(unwanted) and (
            m in unwanted or m.startswith(tuple(f"{u}." for u in unwanted)))} == set(), argv
        # The launcher loaded them with the garbage collector off; the runner turned it
        # on again, what was loaded frozen, once the processing program was loaded.
        assert collecting and frozen > 1000, argv
    # The check sees them when they are loaded: an address that is not canonical goes
    # through ipaddress (with functools and collections), and is refused as before.
    assert {"ipaddress", "functools", "collections"} <= _launched(
        ["addsmtple", "*ACCEPT INTNETADR('10.4.4.05')"], qroot, status=1)[0]


def test_help_goes_through_the_typer_app(cl):
    for argv in (["--help"], ["-h"]):
        r = cl("addsmtple", *argv)
        assert r.returncode == 0 and r.stderr == ""
        assert "ADDSMTPLE - Add SMTP List Entry" in r.stdout
        assert "addsmtple --install-completion" in r.stdout
        assert max(len(line) for line in r.stdout.splitlines()) <= 80
    r = cl("dspsmtpa", "--help")
    assert r.returncode == 0 and "DSPSMTPA" in r.stdout
    r = cl("qtsmtp", "addsmtple", "--help")
    assert r.returncode == 0 and "ADDSMTPLE - Add SMTP List Entry" in r.stdout


def complete(cl, name: str, shell: str, words: list[str], **env) -> subprocess.CompletedProcess:
    """Ask a command for completions the way typer's installed scripts do."""
    var = f"_{name.upper()}_COMPLETE"
    if shell == "bash":
        protocol = {"COMP_WORDS": "\n".join(words), "COMP_CWORD": str(len(words) - 1)}
    else:
        protocol = {"_TYPER_COMPLETE_ARGS": " ".join(words)}
    return cl(name, env={var: f"complete_{shell}", **protocol, **env})


def test_option_names_and_values_complete_in_every_shell(cl):
    r = complete(cl, "addsmtple", "bash", ["addsmtple", "--ty"])
    assert r.stdout.split() == ["--type"]
    r = complete(cl, "addsmtple", "bash", ["addsmtple", "--type", ""])
    values = r.stdout.split()
    assert values[:3] == ["accept", "reject", "near"] and "acceptip6" in values
    assert complete(cl, "addsmtple", "bash", ["addsmtple", "--type", "rej"]).stdout.split() == [
        "reject", "rejectip6"]
    # A character parameter offers its special values with their asterisk.
    r = complete(cl, "chgsmtpa", "bash", ["chgsmtpa", "--mailrouter", ""])
    assert "*none" in r.stdout.split()
    r = complete(cl, "addsmtple", "zsh", ["addsmtple", "--type", "acc"])
    assert r.stdout.startswith("_arguments") and '"accept"' in r.stdout and '"acceptip6"' in r.stdout
    assert '"reject"' not in r.stdout
    r = complete(cl, "addsmtple", "fish", ["addsmtple", "--type", "ne"],
                 _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert r.stdout.split() == ["near"]
    r = complete(cl, "addsmtple", "fish", ["addsmtple", "--intn"], _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert r.stdout.split()[0] == "--intnetadr"


def test_cl_form_completes_in_bash_and_zsh(cl):
    r = complete(cl, "addsmtple", "bash", ["addsmtple", ""])
    assert "TYPE\\(" in r.stdout.split() and "INTNETADR\\(" in r.stdout.split()
    r = complete(cl, "addsmtple", "bash", ["addsmtple", "TYPE\\(\\*AC"])
    assert r.stdout.split() == ["TYPE\\(\\*ACCEPT\\)", "TYPE\\(\\*ACCEPTIP6\\)"]
    # In quotes, as the CL form is usually written: no escapes.
    r = complete(cl, "addsmtple", "bash", ["addsmtple", '"TYPE(*REJ'])
    assert r.stdout.split() == ["TYPE(*REJECT)", "TYPE(*REJECTIP6)"]
    r = complete(cl, "addsmtple", "bash", ["addsmtple", "'*ACCEPT INT"])
    assert r.stdout.splitlines() == ["*ACCEPT INTNETADR("]       # TYPE given positionally
    r = complete(cl, "addsmtple", "bash", ["addsmtple", "TYPE\\(\\*NEAR\\)", "TYPE\\(\\*NEAR\\)", "HOST"])
    assert r.stdout.split() == ["HOSTNAME\\("]
    r = complete(cl, "addsmtple", "bash", ["addsmtple", "TYPE\\(\\*NEAR\\)", "TY"])
    assert r.stdout == ""                                      # TYPE is given already
    r = complete(cl, "chgsmtpa", "zsh", ["chgsmtpa", "ALWRLY(*L"])
    assert r.stdout == "_arguments '*: :((\"ALWRLY(*LIST)\"))'\n"
    r = complete(cl, "addsmtple", "zsh", ["addsmtple", "INTNETADR('10."])
    assert r.stdout == "_files\n"                              # nothing to offer in a string
    # The umbrella: command names, then the command's words, in either form.
    r = complete(cl, "qtsmtp", "bash", ["qtsmtp", "ADDS"])
    assert r.stdout.split() == ["ADDSMTPAUT", "ADDSMTPLE", "ADDSMTPSBM"]
    r = complete(cl, "qtsmtp", "bash", ["qtsmtp", "ru"])
    assert r.stdout.split() == ["run", "runqueue"]
    r = complete(cl, "qtsmtp", "bash", ["qtsmtp", "ADDSMTPLE", "TYPE\\(\\*DOM"])
    assert r.stdout.split() == ["TYPE\\(\\*DOMAIN\\)", "TYPE\\(\\*DOMAINIP6\\)"]
    r = complete(cl, "qtsmtp", "bash", ["qtsmtp", "addsmtple", "--type", "near"])
    assert r.stdout.split() == ["near"]
    r = complete(cl, "qtsmtp", "bash", ["qtsmtp", '"ADDSMTPLE *NEAR HOST'])
    assert r.stdout.splitlines() == ["ADDSMTPLE *NEAR HOSTNAME("]
    r = complete(cl, "qtsmtp", "bash", ["qtsmtp", "'CHGSMTPA ALWRLY(*N"])
    assert r.stdout.splitlines() == ["CHGSMTPA ALWRLY(*NONE)", "CHGSMTPA ALWRLY(*NEAR)"]
    r = complete(cl, "qtsmtp", "zsh", ["qtsmtp", "RMVSMTPL"])
    assert '"RMVSMTPLE"' in r.stdout


@pytest.fixture
def home(tmp_path, qroot):
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = str(Path(script("addsmtple")).parent)
    return {**os.environ, "HOME": str(home), "QTSMTP_ROOT": str(qroot),
            "PATH": bin_dir + os.pathsep + os.environ["PATH"]}


def bash(command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--norc", "--noprofile", "-c", command], check=False, capture_output=True,
                          text=True, env=env, timeout=120)


def test_install_completion_in_bash_and_tab_through_the_installed_function(home):
    # Installed from bash, so typer finds the shell it runs in.
    r = bash("addsmtple --install-completion", home)
    assert r.returncode == 0, r.stderr
    assert "bash completion installed" in r.stdout
    rc = Path(home["HOME"]) / ".bashrc"
    assert "source" in rc.read_text()
    # The function that file installs, driven as bash's programmable completion drives it.
    probe = ("source ~/.bashrc; complete -p addsmtple; "
             "tab() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); "
             "_addsmtple_completion addsmtple; printf '[%s]' \"${COMPREPLY[@]}\"; echo; }; "
             "tab addsmtple --type ac; tab addsmtple 'TYPE\\(\\*REJ'; tab addsmtple '\"*NEAR HOST'")
    r = bash(probe, home)
    lines = r.stdout.splitlines()
    assert lines[0] == "complete -o default -F _addsmtple_completion addsmtple", r.stderr
    assert lines[1] == "[accept][acceptip6]"
    assert lines[2] == "[TYPE\\(\\*REJECT\\)][TYPE\\(\\*REJECTIP6\\)]"
    assert lines[3] == "[*NEAR HOSTNAME(]"


def test_qtsmtp_installs_completion_for_every_command(home):
    r = bash("qtsmtp --install-completion bash", home)
    assert r.returncode == 0, r.stderr
    r = bash("source ~/.bashrc; complete -p qtsmtp addsmtple wrksmtple | wc -l", home)
    assert r.stdout.strip() == "3", r.stderr
    r = bash("qtsmtp --show-completion zsh", home)
    assert r.returncode == 0 and "compdef _addsmtple_completion addsmtple" in r.stdout
    r = bash("qtsmtp --show-completion=zsh", home)           # the shell after = too
    assert r.returncode == 0 and "compdef _addsmtple_completion addsmtple" in r.stdout
    r = bash("qtsmtp --show-completion tcsh", home)
    assert r.returncode == 2 and "usage" in r.stderr
    assert r.stderr.startswith("QTS0014 Shell tcsh not supported for completion"), r.stderr
    r = bash("addsmtple --show-completion", home)
    assert r.returncode == 0 and "_ADDSMTPLE_COMPLETE=complete_bash" in r.stdout


def test_a_plain_script_loads_no_dataclasses_typing_or_decimal(qroot, tmp_path):
    # qtsmtp run of a plain script (bench_cl part 2): dataclasses and typing were 10 ms
    # of each run; expressions (decimal) only for a CL program's lines or a line with & or %.
    script_file = tmp_path / "plain.clp"
    script_file.write_text("ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.3.4.1')\nMONMSG TCP2650\n"
                           "RMVSMTPLE TYPE(*ACCEPT) INTNETADR('10.3.4.1')\n")
    watched = ("dataclasses", "typing", "inspect", "decimal", "qtsmtp.cl.expression")
    assert _modules_after(["qtsmtp", "run", str(script_file)], qroot, watched=watched) == set()
    program = tmp_path / "program.clp"
    program.write_text("PGM\nDCL VAR(&A) TYPE(*CHAR) LEN(15) VALUE('10.3.4.2')\n"
                       "ADDSMTPLE TYPE(*ACCEPT) INTNETADR(&A)\nENDPGM\n")
    assert "decimal" in _modules_after(["qtsmtp", "run", str(program)], qroot, watched=watched)
