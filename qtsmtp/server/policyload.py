"""Compile the relay policy from the member files, and know when to compile it again.

The server never reads a member on the hot path: it asks the compiled ``RelayPolicy``
(a pure object) and, off the hot path, compares the stat keys of the members the policy
came from. A changed key means "compile again"; a member that does not parse then
leaves the last good policy in use (DESIGN.md section 4), and the error is reported once
per change, not on every check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qtsmtp.cl.messages import CLError, escape
from qtsmtp.smtp import attributes
from qtsmtp.smtp import listtypes as lt
from qtsmtp.smtp.entries import Entry, parse_record_fast
from qtsmtp.smtp.lists import member_file
from qtsmtp.smtp.policy import RelayPolicy
from qtsmtp.store.member import MemberFile

# The lists the relay decision reads. *SVRBIND and *SVRBNDIP6 are read once, at start.
POLICY_LISTS = ("*ACCEPT", "*ACCEPTIP6", "*REJECT", "*REJECTIP6", "*NEAR", "*DOMAIN", "*DOMAINIP6")


@dataclass(frozen=True)
class CompiledPolicy:
    policy: RelayPolicy
    attributes: dict
    system_name: str
    keys: tuple            # stat keys of every member it was compiled from

    def summary(self) -> str:
        sizes = self.policy.sizes()
        return " ".join(f"{name}={count}" for name, count in sizes.items() if count) or "none"


def watched_members(root: Path) -> list[MemberFile]:
    return [attributes.attributes_member(root)] + [
        member_file(root, lt.LIST_TYPES[t]) for t in POLICY_LISTS]


def stat_keys(members: list[MemberFile]) -> tuple:
    return tuple(m.stat_key() for m in members)


def stream_entries(member: MemberFile, list_type: lt.ListType) -> Iterator[Entry]:
    """A member's entries one at a time (a million-entry list never sits in memory as
    Entry objects); raises TCP2670 naming the member and record of the first bad line.
    parse_record_fast: the same entries and errors as parse_record, sooner for the
    plain IPv4 records a big list is made of."""
    try:
        f = open(member.path, encoding="utf-8", errors="surrogateescape", newline="")
    except FileNotFoundError:
        return
    with f:
        for number, line in enumerate(f, 1):
            try:
                entry = parse_record_fast(list_type, line.rstrip("\r\n"))
            except CLError as bad:
                raise escape("TCP2670", member.member, member.file, member.library, number,
                             bad.escape.text.rstrip(".")) from None
            if entry is not None:
                yield entry


def compile_policy(root: Path, default_system_name: str,
                   local_addresses: tuple[str, ...]) -> CompiledPolicy:
    """Read attributes and lists into a policy; raises CLError TCP2670 on a bad member."""
    members = watched_members(root)
    # Keys first: a change made while we read is then seen by the next check.
    keys = stat_keys(members)
    values = attributes.load(root)
    system_name = system_name_of(values, default_system_name)
    streams = {t: stream_entries(member_file(root, lt.LIST_TYPES[t]), lt.LIST_TYPES[t])
               for t in POLICY_LISTS}
    try:
        policy = RelayPolicy.from_entries(values["ALWRLY"], streams,
                                          local_domains=[system_name],
                                          local_addresses=local_addresses)
    except ValueError as bad:
        # ALWRLY hand-edited to a value the policy does not know, or an entry of the
        # wrong family: the attributes member or a list is what the person must fix.
        member = attributes.attributes_member(root)
        raise escape("TCP2670", member.member, member.file, member.library, "-", str(bad)) from None
    return CompiledPolicy(policy, values, system_name, keys)


def system_name_of(values: dict, default_system_name: str) -> str:
    name = str(values.get("SYSNAME", "*DFT"))
    return default_system_name if name.upper() == "*DFT" else name.lower().rstrip(".")


class PolicySource:
    """The current compiled policy of one server job, and its reload check."""

    def __init__(self, root: Path, default_system_name: str, local_addresses: tuple[str, ...]):
        self.root = Path(root)
        self.default_system_name = default_system_name
        self.local_addresses = local_addresses
        self._members = watched_members(self.root)
        self._failed_keys: tuple | None = None
        self.current = self.compile()      # raises at start: the server must not run

    def compile(self) -> CompiledPolicy:
        return compile_policy(self.root, self.default_system_name, self.local_addresses)

    def needs_reload(self) -> bool:
        """Cheap (one stat per member): did anything change since the last compile?"""
        keys = stat_keys(self._members)
        return keys != self.current.keys and keys != self._failed_keys

    def reload(self) -> CLError | None:
        """Compile again; on success switch to the new policy, else keep the old one and
        return the error (the caller logs it)."""
        keys = stat_keys(self._members)
        try:
            self.current = self.compile()
        except CLError as error:
            self._failed_keys = keys
            return error
        self._failed_keys = None
        return None
