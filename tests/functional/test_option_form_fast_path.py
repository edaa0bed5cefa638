"""The option form without typer (qtsmtp.shell.options) answers exactly as the typer app.

Every case runs twice, each way on its own copy of the library, in the same order: forced
through the command's typer app (QTSMTP_OPTIONS_THROUGH_TYPER=1), and as users run it.
Exit status, standard output, standard error and what is stored must be the same. The
user's run is watched for typer (PYTHONPROFILEIMPORTTIME: the interpreter's own record
of each import, taken off standard error before the comparison), so each case also
shows which path it took: a plain, valid invocation never loads typer; --help,
completion and every mistake always do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from support import new_library, script

FAST, TYPER = "fast", "typer"

# (console script, arguments, path taken as users run it)
CASES = [
    # ADDSMTPLE: both spellings of an option and its value, case, hyphens, asterisks
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.1"], FAST),
    ("addsmtple", ["--type=reject", "--intnetadr=10.2.0.0", "--subnetmask", "255.255.0.0"], FAST),
    ("addsmtple", ["--TYPE", "Accept", "--IntNetAdr", "10.1.1.2"], FAST),
    ("addsmtple", ["--int-net-adr", "10.1.1.3", "--type", "accept"], FAST),
    ("addsmtple", ["--type", "*ACCEPT", "--intnetadr", "10.1.1.4"], FAST),
    ("addsmtple", ["--type", " accept ", "--intnetadr", "10.1.1.5"], FAST),
    ("addsmtple", ["--type", "near", "--hostname", "Near.Example"], FAST),
    ("addsmtple", ["--type", "acceptip6", "--ip6netadr", "2001:db8::", "--ip6pfx", "32"], FAST),
    ("addsmtple", ["--type=acceptip6", "--ip6netadr=2001:db8:1::", "--ip6pfx=48"], FAST),
    # values that need quoting in CL: taken literally, as typer's app takes them
    ("addsmtple", ["--type", "near", "--hostname", "it's.example"], FAST),
    ("addsmtple", ["--type", "near", "--hostname", "two words"], FAST),
    ("addsmtple", ["--type", "near", "--hostname", "(paren)"], FAST),
    ("addsmtple", ["--type", "near", "--hostname", "näh.example"], FAST),
    ("addsmtple", ["--type", "near", "--hostname", ""], FAST),
    ("addsmtple", ["--type", "accept", "--intnetadr=-10.1.1.16"], FAST),
    # well formed, and the command itself ends with an escape message (the same program
    # runs after either parser): the entry exists, an address or mask not valid
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.1"], FAST),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.300"], FAST),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.0", "--subnetmask", "255.0.255.0"], FAST),
    # values the definition refuses (the binder's messages): through typer's app
    ("addsmtple", ["--type", "bogus", "--intnetadr", "10.1.1.1"], TYPER),
    ("addsmtple", ["--type", "*BOGUS", "--intnetadr", "10.1.1.1"], TYPER),
    ("addsmtple", ["--type", "acceptip6", "--ip6netadr", "2001:db8::", "--ip6pfx", "200"], TYPER),
    ("addsmtple", ["--type", "acceptip6", "--ip6netadr", "2001:db8::", "--ip6pfx", "x2"], TYPER),
    ("addsmtple", ["--type=", "--intnetadr", "10.1.1.6"], TYPER),
    ("addsmtple", ["--type", "", "--intnetadr", "10.1.1.6"], TYPER),
    ("addsmtple", ["--type", "accept\t", "--intnetadr", "10.1.1.6"], TYPER),
    # mistakes in the invocation itself
    ("addsmtple", ["--intnetadr", "10.1.1.1"], TYPER),
    ("addsmtple", ["--type", "accept", "--foo", "1"], TYPER),
    ("addsmtple", ["--type", "accept", "--foo=1", "--intnetadr", "10.1.1.7"], TYPER),
    ("addsmtple", ["--type", "accept", "--type", "reject"], TYPER),
    ("addsmtple", ["--type", "accept", "--type", "accept", "--intnetadr", "10.1.1.8"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr"], TYPER),
    ("addsmtple", ["--type", "--intnetadr", "10.1.1.9"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.10", "stray"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.11", ""], TYPER),
    ("addsmtple", ["--type", "accept", "-x", "--intnetadr", "10.1.1.12"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.13", "--"], TYPER),
    ("addsmtple", ["--", "--type", "accept", "--intnetadr", "10.1.1.14"], TYPER),
    ("addsmtple", ["---type", "accept", "--intnetadr", "10.1.1.15"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr", "-10.1.1.16"], TYPER),
    ("addsmtple", ["--typé", "accept", "--intnetadr", "10.1.1.17"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.18", "--help"], TYPER),
    ("addsmtple", ["--type", "accept", "--intnetadr", "10.1.1.19", "-h"], TYPER),
    ("addsmtple", ["--HELP"], TYPER),
    ("addsmtple", ["--show-completion", "bash"], TYPER),
    ("rmvsmtple", ["--type", "accept", "--intnetadr", "10.1.1.1"], FAST),
    ("rmvsmtple", ["--type", "accept", "--intnetadr", "10.1.1.1"], FAST),       # not there now
    ("rmvsmtple", ["--type", "accept"], FAST),
    ("rmvsmtple", ["--type", "accept", "--intnetadr", "10.1.1.2", "--hostname"], TYPER),
    # CHGSMTPA: restricted values without their asterisk, element lists, list parameters
    # given once or repeated, qualified names, numbers
    ("chgsmtpa", ["--alwrly", "list", "--rtymin", "5 10"], FAST),
    ("chgsmtpa", ["--autostart", "yes", "--ccsid", "dft"], FAST),
    ("chgsmtpa", ["--mailrouter", "*none"], FAST),
    ("chgsmtpa", ["--mailrouter", "mail.example"], FAST),
    ("chgsmtpa", ["--rblsvr", "bl1.example", "--rblsvr", "bl2.example"], FAST),
    ("chgsmtpa", ["--rblsvr=bl3.example bl4.example", "--rblsvr", "bl5.example"], FAST),
    ("chgsmtpa", ["--esmtpext", "*dsn", "--esmtpext", "*yes"], TYPER),
    ("chgsmtpa", ["--tblsmtpout", "qgpl/mytbl"], FAST),
    ("chgsmtpa", ["--maxrcpt", "100", "--maxemmsize=20480"], FAST),
    ("chgsmtpa", ["--sysname", "relay.example"], FAST),
    ("chgsmtpa", ["--alwrly", "never"], TYPER),
    ("chgsmtpa", ["--rtymin", "5 10 15"], TYPER),
    ("chgsmtpa", ["--rtymin", "(5"], TYPER),
    ("chgsmtpa", ["--rtymin", "5 'ten'"], TYPER),
    ("chgsmtpa", ["--ccsid", "abc"], TYPER),
    ("chgsmtpa", ["--maxrcpt", "-1"], TYPER),
    ("chgsmtpa", ["--mailrouter", "it's"], FAST),
    ("chgsmtpa", ["--alwrly", "list", "--alwrly", "all"], TYPER),
    ("chgsmtpa", ["--rblsvr", "bl1.example", "--rblsvr"], TYPER),
    # commands with no parameter, or no option form to speak of
    ("dspsmtpa", ["--help"], TYPER),
    ("dspsmtpa", ["--output", "print"], TYPER),
    # the other commands: a valid invocation where it is harmless here, and mistakes
    ("addusrsmtp", ["--usrprf", "JOE", "--alias", "joe", "--domain", "example.com"], FAST),
    ("addusrsmtp", ["--usrprf", "1bad", "--alias", "joe", "--domain", "example.com"], TYPER),
    ("chgusrsmtp", ["--usrprf", "joe", "--domain", "example.org"], FAST),
    ("chgusrsmtp", ["--usrprf", "nobody", "--domain", "example.org"], FAST),
    ("rmvusrsmtp", ["--usrprf=JOE"], FAST),
    ("rmvusrsmtp", ["--usrprf"], TYPER),
    ("addsmtpaut", ["--user", "alice"], FAST),          # TCP6002: no password given
    ("chgsmtpaut", ["--user", "bob", "--password", "x", "--user", "carol"], TYPER),
    ("rmvsmtpaut", ["--user", "alice"], FAST),
    ("addsmtpsbm", ["--prf", "JOE", "--access", "allow"], FAST),
    ("addsmtpsbm", ["--prf", "JOE", "--access", "maybe"], TYPER),
    ("rmvsmtpsbm", ["--prf", "JOE"], FAST),
    ("wrksmtpsbm", ["--usrprf", "JOE"], FAST),
    ("wrksmtpsbm", ["--usrprf", "*all"], TYPER),
    ("wrksmtple", ["--type", "accept", "--output", "print"], FAST),
    ("wrksmtple", ["--type", "nosuch"], TYPER),
    ("wrksmtpq", ["--option", "*bogus"], TYPER),
    ("wrksmtpqtn", ["--msgid", "none", "--outputx", "print"], TYPER),
    ("tstsmtprly", ["--client", "10.1.1.2", "--rcpt", "a@example.com", "--rcpt", "b@example.com"], FAST),
    ("tstsmtprly", ["--client", "10.1.1.2", "--rcpt=a@example.com c@example.com"], FAST),
    ("tstsmtprly", ["--client", "10.1.1.2", "--rcpt", "a@example.com", "--sender"], TYPER),
    ("addexitpgm", ["--exitpnt", "QIBM_QTMS_SMTP_EXIT", "--pgmnbr", "one"], TYPER),
    ("rmvexitpgm", ["--exitpnt", "QIBM_QTMS_NOSUCH", "--format", "EXIT0100", "--pgmnbr", "1"], FAST),
    ("hldexitpgm", ["--pgmnbr", "1"], TYPER),
    ("rlsexitpgm", ["--exitpnt"], TYPER),
    ("wrkexitpgm", ["--exitpnt", "*all"], FAST),
    ("dspsmtpjrn", ["--fromtime", "2000-01-01", "--tooo", "x"], TYPER),
    ("strtcpsvr", ["--server", "*smtp", "--svrjobs", "x"], TYPER),
    ("strtcpsvr", ["--mode", "bogus"], TYPER),
    ("endtcpsvr", ["--server", "*smtp", "--server"], TYPER),
    ("wrkactjob", ["--output", "print", "--interval", "soon"], TYPER),
    ("sndsmtpemm", ["--rcp", "(a@example.com *pri)", "--subject"], TYPER),
    # the umbrella hands a command word and options to the same path
    ("qtsmtp", ["addsmtple", "--type", "accept", "--intnetadr", "10.7.7.7"], FAST),
    ("qtsmtp", ["ADDSMTPLE", "--type", "accept", "--intnetadr", "10.7.7.7"], FAST),
    ("qtsmtp", ["addsmtple", "--type", "accept", "--bad", "x"], TYPER),
]

THROUGH_TYPER = {"QTSMTP_OPTIONS_THROUGH_TYPER": "1"}
CLOCK = re.compile(r"\b\d\d/\d\d/\d\d  \d\d:\d\d:\d\d\b")       # a report's heading


def run(name: str, args: list[str], root: Path, env: dict) -> tuple[subprocess.CompletedProcess, set]:
    """Run a console script as users do; what it answered, and which of typer and click
    it imported (from the interpreter's import record, taken off standard error)."""
    r = subprocess.run([script(name), *args], check=False, capture_output=True, text=True, timeout=60,
                       env={**os.environ, "QTSMTP_ROOT": str(root), "PYTHONPROFILEIMPORTTIME": "1",
                            "COLUMNS": "80", **env})
    imported, stderr = set(), []
    for line in r.stderr.splitlines(keepends=True):
        if line.startswith("import time:"):
            imported.add(line.rpartition("|")[2].strip())
        else:
            stderr.append(line)
    r.stderr = "".join(stderr)
    return r, {m for m in ("typer", "click", "typer._click") if m in imported}


def stored(root: Path) -> dict[str, object]:
    """Every member under the library, and the change journal's records, without what
    differs between two runs of the same commands anyway: inode numbers and times in
    the journal, and a password hash's salt."""
    found: dict[str, object] = {}
    for path in sorted((root / "QUSRSYS").rglob("*")):
        if not path.is_file() or path.name.endswith(".lock") or "__pycache__" in path.parts:
            continue
        text = path.read_text(errors="replace")
        if path.name == ".journal":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
            text = [{k: v for k, v in record.items() if k not in ("before", "after", "journal", "time")}
                    for record in records]
        elif path.parent.name == "QATMSMTPC":
            text = re.sub(r"\$[^$\s]+\$[^$\s]+$", "$salt$hash", text, flags=re.MULTILINE)
        found[str(path.relative_to(root))] = text
    return found


def test_every_option_form_case_answers_alike_with_and_without_typer(tmp_path):
    roots = {way: new_library(tmp_path / way) for way in ("typer", "users")}
    ways, statuses = [], set()
    for name, args, expected_way in CASES:
        by_typer, typer_loaded = run(name, args, roots["typer"], THROUGH_TYPER)
        as_users_run, loaded = run(name, args, roots["users"], {})
        case = (name, args)
        assert typer_loaded, case                      # the switch forces the typer app
        assert by_typer.returncode in (0, 1, 2, 3), (case, by_typer.stderr)
        assert "Traceback" not in by_typer.stderr + as_users_run.stderr, case
        assert ((as_users_run.returncode, CLOCK.sub("", as_users_run.stdout), as_users_run.stderr)
                == (by_typer.returncode, CLOCK.sub("", by_typer.stdout), by_typer.stderr)), case
        assert stored(roots["users"]) == stored(roots["typer"]), case
        ways.append((case, TYPER if loaded else FAST))
        statuses.add(by_typer.returncode)
    unexpected = [w for w in ways if w not in [((n, a), x) for n, a, x in CASES]]
    assert not unexpected, "\n".join(map(str, unexpected))
    assert ways == [((n, a), w) for n, a, w in CASES]
    # The table covers success, an escape message and a command not valid.
    assert {0, 1, 2} <= statuses
    assert "QUSRSYS/QATMADRLST/ACCEPTIP6" in stored(roots["users"])
