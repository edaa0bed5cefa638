"""SMTP attributes (the CHGSMTPA values), kept as TOML in QUSRSYS/QATMSMTP(CONFIG).

Keys are the CHGSMTPA keywords. Values are stored as the command means them: special
values as strings ("*LIST"), numbers as integers, element lists as arrays, qualified
names as "LIB/OBJ". A key missing from the member has its shipped default, so an old or
hand-trimmed member still reads completely.
"""

from __future__ import annotations

from pathlib import Path

from qtsmtp.cl.messages import escape
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
    "ETRNSVR": "*NO", "MIME8BIT": "*YES", "NFYDLVRY": ["*NONE", "*YES"], "ALIASDMN": "*NONE",
    "ALLMAILMSF": "*NO", "ALWAUTH": "*NONE", "ALWBARELF": "*NO", "ALWIMPSSL": "*NO",
    "ALWRLY": "*LIST", "DIALSCD": ["*NO", "*NONE", 15], "ETRNCLT": "*NO", "FIREWALL": "*NO",
    "FTRACN": "*NONE", "FWDHUBSVR": "*NONE", "IFCDMN": "*NONE", "KEEPUNTIL": 5,
    "MAXEMMSIZE": "*NOMAX", "MAXINEMM": "*NOMAX", "MAXOUTEMM": "*NOMAX", "OVRRJTCNNL": "*NO",
    "POPWDW": "*NONE", "RBLSVR": "*NONE", "SBSD": "*LIBL/QSYSWRK", "VFYFROMUSR": "*NO",
    "VFYID": "*NO", "VFYMSFMSG": "*NO", "PORT": 25,
}
# *DFT of parameters whose default is not a number the definition can map.
DFT_VALUES = {"USRIDDELIM": "?"}


def attributes_member(root: Path) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, ATTRIBUTES_FILE, ATTRIBUTES_MEMBER)


def parse(member: MemberFile, text: str) -> dict:
    import tomllib
    try:
        stored = tomllib.loads(text) if text.strip() else {}
    except tomllib.TOMLDecodeError as bad:
        # tomllib says "... (at line N, column M)": keep the line for the message.
        reason = str(bad)
        line = reason.rsplit("line ", 1)[-1].split(",")[0] if "line " in reason else "?"
        raise escape("TCP2670", member.member, member.file, member.library, line,
                     reason.split(" (at")[0]) from None
    unknown = sorted(set(stored) - set(SHIPPED))
    if unknown:
        raise escape("TCP2670", member.member, member.file, member.library, "-",
                     f"unknown attribute {unknown[0]}")
    return {**SHIPPED, **stored}


def load(root: Path) -> dict:
    member = attributes_member(root)
    return parse(member, member.read_text())


def dump(values: dict) -> str:
    import tomli_w
    header = ("# SMTP attributes (CHGSMTPA). Change them with CHGSMTPA; a hand edit must stay\n"
              "# valid TOML with the keys and values chgsmtpa(1) lists.\n")
    return header + tomli_w.dumps({k: values[k] for k in SHIPPED})
