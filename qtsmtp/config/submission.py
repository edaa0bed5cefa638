"""Submission control: which local users may hand mail to the client queue.

Modelled on z/OS CSSMTP's EZB.CSSMTP.sysname.writername.jobname profiles: a submission
by Unix user U, whose primary group is G, is the resource

    QTSMTP.SUBMIT.G.U          (both in upper case)

and profiles with generic names decide whether it may: a segment is a name, a name
ending in * (a prefix), * (any one segment), or, last only, ** (any number of segments,
none included). When several profiles match, the most specific decides: the segments are
compared left to right, and a name beats a prefix, a longer prefix beats a shorter one,
a prefix beats *, and * beats **. No matching profile: permitted (the issue's rule; a
site that wants closed by default adds QTSMTP.SUBMIT.** *DENY).

Member QUSRSYS/QATMSBMCTL(PROFILES), one record per profile: NAME<TAB>*ALLOW|*DENY.
ADDSMTPSBM, RMVSMTPSBM and WRKSMTPSBM keep and show it; the submission pickup
(qtsmtp.delivery.submit) asks ``decide`` for every submission, and refuses, logs and
reports to the submitter what a *DENY profile decides.
"""

from __future__ import annotations

import grp
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from qtsmtp.messages import escape
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY

CONTROL_FILE, CONTROL_MEMBER = "QATMSBMCTL", "PROFILES"
RESOURCE_PREFIX = ("QTSMTP", "SUBMIT")
_SEGMENT = re.compile(r"(\*\*|\*|[A-Z0-9$#@_\-]+\*?)\Z")


@dataclass(frozen=True)
class Profile:
    name: str
    access: str              # *ALLOW or *DENY

    @property
    def segments(self) -> list[str]:
        return self.name.split(".")


def profile_name(text: str) -> str:
    name = text.strip().upper()
    segments = name.split(".")
    if (not name or len(name) > 255 or not all(_SEGMENT.match(s) for s in segments)
            or "**" in segments[:-1]):
        raise escape("TCP6040", text)
    return name


def segment_match(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


def matches(profile: str, resource: str) -> bool:
    pattern, value = profile.split("."), resource.split(".")
    if pattern and pattern[-1] == "**":
        head = pattern[:-1]
        return len(value) >= len(head) and all(map(segment_match, head, value[:len(head)]))
    return len(pattern) == len(value) and all(map(segment_match, pattern, value))


def specificity(profile: str) -> tuple:
    """Larger is more specific (see the module's docstring)."""
    key = []
    for segment in profile.split("."):
        if segment == "**":
            key.append((0, 0))
        elif segment == "*":
            key.append((1, 0))
        elif segment.endswith("*"):
            key.append((2, len(segment) - 1))
        else:
            key.append((3, len(segment)))
    return tuple(key) + ((-1, 0),)     # a shorter profile of equal head is less specific


def resource_of(user: str, group: str) -> str:
    clean = lambda s: re.sub(r"[^A-Z0-9$#@_\-]", "_", s.upper()) or "_"
    return ".".join(RESOURCE_PREFIX + (clean(group), clean(user)))


def decide(profiles: list[Profile], resource: str) -> Profile | None:
    """The profile that decides for ``resource``, or None (no profile: permitted)."""
    found = [p for p in profiles if matches(p.name, resource)]
    return max(found, key=lambda p: specificity(p.name)) if found else None


def control_member(root: Path) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, CONTROL_FILE, CONTROL_MEMBER)


def read_profiles(root: Path) -> list[Profile]:
    out = []
    member = control_member(root)
    for number, line in enumerate(member.read_lines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, access = line.partition("\t")
        if access not in ("*ALLOW", "*DENY"):
            raise escape("TCP2670", member.member, member.file, member.library, number,
                         f"access {access!r} is not *ALLOW or *DENY")
        out.append(Profile(name, access))
    return out


def user_and_group(uid: int) -> tuple[str, str]:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return str(uid), str(uid)
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    return entry.pw_name.upper()[:10], group.upper()


def check_submission(root: Path, uid: int) -> tuple[bool, str, Profile | None]:
    """(permitted, the resource, the deciding profile or None)."""
    user, group = user_and_group(uid)
    resource = resource_of(user, group)
    profile = decide(read_profiles(root), resource)
    return (profile is None or profile.access == "*ALLOW"), resource, profile
