"""SMTP attributes (the CHGSMTPA values), kept as TOML in QUSRSYS/QATMSMTP(CONFIG).

Keys are the CHGSMTPA keywords. Values are stored as the command means them: special
values as strings ("*LIST"), numbers as integers, element lists as arrays, qualified
names as "LIB/OBJ". A key missing from the member has its shipped default, so an old or
hand-trimmed member still reads completely.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w

from qtsmtp.cl.binder import bind_value
from qtsmtp.cl import definition
from qtsmtp.cl.parser import parse as parse_cl
from qtsmtp.messages import CLError, escape
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY

ATTRIBUTES_FILE, ATTRIBUTES_MEMBER = "QATMSMTP", "CONFIG"

# What a new system has. Closed by default: ALWRLY(*LIST) with an empty *ACCEPT list lets
# no client relay.
SHIPPED = {
    "AUTOSTART": "*NO", "COLDSTART": "*NO", "DIRTYPE": "*SMTP",
    "RTYMIN": [3, 30], "RTYDAY": [0, 0], "RTYHOUR": [0, 0], "RTYRMTSVR": "*NO",
    "AUTOADD": "*NO", "USRIDPFX": "QSM", "ADDRESS": "QSMRMTAD", "SYSNAME": "*DFT",
    "TBLTYPE": "*SYSTEM", "USRIDDELIM": "?", "MAILROUTER": "*NONE", "CCSID": 819,
    "TBLSMTPOUT": "*CCSID", "TBLSMTPIN": "*CCSID", "JOURNAL": "*NO", "PCTRTGCHR": "*NO",
    "ETRNSVR": "*NO", "MIME8BIT": "*YES", "NFYDLVRY": ["*NONE", "*YES"], "DLYNFY": 240, "ESMTPEXT": "*ALL", "ALIASDMN": "*NONE",
    "ALLMAILMSF": "*NO", "ALWAUTH": "*NONE", "ALWBARELF": "*NO", "ALWIMPSSL": "*NO",
    "ALWRLY": "*LIST", "DIALSCD": ["*NO", "*NONE", 15], "ETRNCLT": "*NO", "FIREWALL": "*NO",
    "FTRACN": "*NONE", "FWDHUBSVR": "*NONE", "IFCDMN": "*NONE", "KEEPUNTIL": 5,
    "MAXEMMSIZE": 10240, "MAXINEMM": "*NOMAX", "MAXOUTEMM": "*NOMAX", "OVRRJTCNNL": "*NO",
    "POPWDW": "*NONE", "RBLSVR": "*NONE", "SBSD": "*LIBL/QSYSWRK", "VFYFROMUSR": "*NO",
    "VFYID": "*NO", "VFYMSFMSG": "*NO", "PORT": 25,
    # qtsmtp extensions for security and control: chgsmtpa(1), qatmsmtp(5).
    "TLSCERT": "*NONE", "TLSKEY": "*NONE", "IMPSSLPORT": 465, "PROXYPORT": "*NONE",
    "MAXRCPT": 1000, "MAXCLTEMM": 50, "MAXCLTRATE": 300, "CMDTIMEOUT": 300, "DTATIMEOUT": 180,
    "MAXBADCMD": 20, "MAXAUTHFAIL": 3,
    "RUNQINTV": 30,
}
# *DFT of parameters whose default is not a number the definition can map.
DFT_VALUES = {"USRIDDELIM": "?"}


def attributes_member(root: Path) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, ATTRIBUTES_FILE, ATTRIBUTES_MEMBER)


def parse(member: MemberFile, text: str) -> dict:
    try:
        stored = tomllib.loads(text) if text.strip() else {}
    except tomllib.TOMLDecodeError as bad:
        # tomllib says "... (at line N, column M)": keep the line for the message.
        reason = str(bad)
        line = reason.rsplit("line ", 1)[-1].split(",")[0] if "line " in reason else "?"
        raise escape("TCP2670", member.member, member.file, member.library, line,
                     reason.split(" (at")[0]) from None
    for keyword, value in stored.items():
        problem = _problem(keyword, value)
        if problem:
            raise escape("TCP2670", member.member, member.file, member.library,
                         _line_of(text, keyword), problem)
    return {**SHIPPED, **stored}


def check_stored(keyword: str, value) -> None:
    """For the writer (CHGSMTPA): TCP2693 unless the reader of the member takes ``value``
    as stored, so that no command stores what every later reader would refuse."""
    problem = _problem(keyword, value)
    if problem:
        raise escape("TCP2693", keyword, problem)


def _problem(keyword: str, value) -> str:
    """Why a stored value is not one CHGSMTPA could have stored, or "" when it is.

    The value is checked by binding it with CHGSMTPA's own definition, so a hand edit is
    held to exactly the rules the command is held to.
    """
    parm = definition.load("CHGSMTPA").by_keyword.get(keyword)
    if parm is None:
        return f"{keyword} is not an SMTP attribute"
    if "*SAME" in repr(value):
        return f"{keyword}: *SAME is a command value, not a stored one"
    try:
        stmt = parse_cl(f"CHGSMTPA {keyword}({_as_cl(parm, value)})")
        bind_value(parm, stmt.keywords[0][1])
    except CLError as bad:
        return bad.messages[0].text.rstrip(".")
    except (TypeError, ValueError):
        return f"{keyword}: a value of the wrong kind"
    return ""


def _as_cl(parm, value) -> str:
    """A stored value written back as CL, for checking."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        items = [f"({_as_cl(parm, v)})" if isinstance(v, list) else _as_cl(parm, v) for v in value]
        return " ".join(items)
    if not isinstance(value, str):
        raise TypeError(value)
    if value.startswith("*") or (parm.quals is not None and "/" in value):
        return value
    return "'" + value.replace("'", "''") + "'"


def _line_of(text: str, keyword: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if line.split("=")[0].strip() == keyword:
            return str(number)
    return "-"


def load(root: Path) -> dict:
    member = attributes_member(root)
    return parse(member, member.read_text())


def dump(values: dict) -> str:
    header = ("# SMTP attributes (CHGSMTPA). Change them with CHGSMTPA; a hand edit must stay\n"
              "# valid TOML with the keys and values chgsmtpa(1) lists.\n")
    return header + tomli_w.dumps({k: values[k] for k in SHIPPED})
