"""The SMTP user directory (CHGSMTPA DIRTYPE(*SMTP)): user profile -> e-mail address.

Member QUSRSYS/QATMSMTPU(USERS), one record per user, tab-separated:

    USRPRF<TAB>alias<TAB>domain

USRPRF is the user profile: the Unix login name in upper case (IBM profiles are at most
10 characters). The address is alias@domain; a domain of *DFT means the system name
(CHGSMTPA SYSNAME), resolved when the address is used. ADDUSRSMTP, CHGUSRSMTP and
RMVUSRSMTP keep it; SNDSMTPEMM and the submission pickup read it.

It is also who may receive mail here (``LocalUsers``): a recipient at a local domain is
refused with 550 5.1.1 unless its local part names a user of the directory.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
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


# RFC 5321 4.5.1: every domain this system takes mail for has a postmaster.
POSTMASTER = "postmaster"
ANY_LOCAL_DOMAIN = ""


@dataclass(frozen=True)
class LocalUsers:
    """Who receives mail at this system: (local part, domain) -> mailbox (a profile in
    lower case). A user whose domain is *DFT receives at every local domain (the system
    name, *DOMAIN entries, ALIASDMN names); one with a domain of its own only there.
    Both the profile name and the alias are local parts of the user, in any case, as on
    IBM i (an alias is another name for the same mailbox). A pure lookup: the relay
    policy and the delivery job ask it, neither reads a file for it."""

    mailboxes: dict  # (local part lower, domain lower or ANY_LOCAL_DOMAIN) -> mailbox

    @classmethod
    def from_entries(cls, entries: dict[str, tuple[str, str]]) -> LocalUsers:
        boxes = {(POSTMASTER, ANY_LOCAL_DOMAIN): POSTMASTER}
        for profile, (alias, domain) in entries.items():
            where = ANY_LOCAL_DOMAIN if domain.upper() == "*DFT" else domain.lower().rstrip(".")
            for name in (profile.lower(), alias.lower()):
                boxes.setdefault((name, where), profile.lower())
        return cls(boxes)

    def mailbox(self, local_part: str, domain: str) -> str | None:
        """The mailbox of local_part@domain (domain already known to be local), or None:
        no such user here."""
        local = local_part.lower()
        if len(local) > 1 and local[0] == local[-1] == '"':
            local = local[1:-1]
        return (self.mailboxes.get((local, domain.lower()))
                or self.mailboxes.get((local, ANY_LOCAL_DOMAIN)))


def local_users(root: Path) -> LocalUsers:
    return LocalUsers.from_entries(read_users(root))
