"""The SMTP user directory (CHGSMTPA DIRTYPE(*SMTP)): user profile -> e-mail address.

Member QUSRSYS/QATMSMTPU(USERS), one record per user, tab-separated:

    USRPRF<TAB>alias<TAB>domain

USRPRF is the user profile: the Unix login name in upper case (IBM profiles are at most
10 characters). The address is alias@domain; a domain of *DFT means the system name
(CHGSMTPA SYSNAME), resolved when the address is used. ADDUSRSMTP, CHGUSRSMTP and
RMVUSRSMTP keep it; SNDSMTPEMM and the submission pickup read it.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from qtsmtp.config import attributes
from qtsmtp.config.settings import configured_system_name
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY

USERS_FILE, USERS_MEMBER = "QATMSMTPU", "USERS"


def users_member(root: Path) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, USERS_FILE, USERS_MEMBER)


def profile_of_uid(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name.upper()[:10]
    except KeyError:
        return str(uid)


def current_profile() -> str:
    return profile_of_uid(os.getuid())


def read_users(root: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in users_member(root).read_lines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) == 3:
            out[fields[0].upper()] = (fields[1], fields[2])
    return out


def address_of(root: Path, profile: str, system_name: str | None = None) -> str | None:
    entry = read_users(root).get(profile.upper())
    if entry is None:
        return None
    alias, domain = entry
    if domain.upper() == "*DFT":
        domain = system_name or configured_system_name(attributes.load(root))
    return f"{alias}@{domain}"


def users_text(entries: dict[str, tuple[str, str]]) -> str:
    return "".join(f"{p}\t{a}\t{d}\n" for p, (a, d) in sorted(entries.items()))
