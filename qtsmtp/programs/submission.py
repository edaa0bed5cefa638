"""ADDSMTPSBM, RMVSMTPSBM, WRKSMTPSBM: who may submit mail locally (qtsmtp.config.submission).
"""

from __future__ import annotations

import pwd
import sys

from qtsmtp.cl.binder import Bound
from qtsmtp.config.submission import (RESOURCE_PREFIX, Profile, control_member, decide, profile_name,
                                      read_profiles, resource_of, segment_match, user_and_group)
from qtsmtp.messages import Message, escape
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import data_root

def _write(member: MemberFile, profiles: list[Profile]) -> None:
    header = "# Submission control profiles (ADDSMTPSBM): NAME<TAB>*ALLOW|*DENY\n"
    member.replace(header + "".join(f"{p.name}\t{p.access}\n"
                                    for p in sorted(profiles, key=lambda p: p.name)))


def addsmtpsbm(bound: Bound) -> list[Message]:
    name = profile_name(bound["PRF"])
    first = name.split(".")[0]
    if first != "**" and not segment_match(first, RESOURCE_PREFIX[0]):
        raise escape("TCP6041", name, ".".join(RESOURCE_PREFIX))
    member = control_member(data_root())
    with member.locked():
        profiles = read_profiles(data_root())
        old = [p for p in profiles if p.name == name]
        if old and bound["REPLACE"] != "*YES":
            raise escape("TCP6042", name)
        profiles = [p for p in profiles if p.name != name] + [Profile(name, bound["ACCESS"])]
        _write(member, profiles)
    return [Message("TCP6043", name, bound["ACCESS"])]


def rmvsmtpsbm(bound: Bound) -> list[Message]:
    name = profile_name(bound["PRF"])
    member = control_member(data_root())
    with member.locked():
        profiles = read_profiles(data_root())
        if not any(p.name == name for p in profiles):
            raise escape("TCP6044", name)
        _write(member, [p for p in profiles if p.name != name])
    return [Message("TCP6045", name)]


def wrksmtpsbm(bound: Bound) -> list[Message]:
    root = data_root()
    profiles = read_profiles(root)
    lines = ["                     Work with SMTP Submission Profiles", "",
             f" {'Profile':<44} Access"]
    lines += [f" {p.name:<44} {p.access}" for p in sorted(profiles, key=lambda p: p.name)]
    if not profiles:
        lines.append(" (no profiles: every user may submit)")
    sys.stdout.write("\n".join(lines) + "\n")
    user = bound["USRPRF"]
    if user in (None, "*NONE"):
        return [Message("TCP6046", len(profiles))]
    try:
        entry = pwd.getpwnam(user.lower())
        login, group = user_and_group(entry.pw_uid)
    except KeyError:
        login, group = user.upper(), "*NONE"
    resource = resource_of(login, group)
    profile = decide(profiles, resource)
    if profile is None:
        return [Message("TCP6047", resource, "*ALLOW", "no profile")]
    return [Message("TCP6047", resource, profile.access, profile.name)]
