"""Compile the relay policy from the member files, and know when to compile it again.

The server never reads a member on the hot path: it asks the compiled ``RelayPolicy``
(a pure object) and, off the hot path, compares the stat keys of the members the policy
came from. A changed key means "compile again"; a member that does not parse then
leaves the last good policy in use (DESIGN.md section 4), and the error is reported once
per change, not on every check.

What ADDSMTPLE does to a list is an append. For each list member the compiled policy
remembers how many bytes it read and a digest of them; when the only changes are
appends (same file, longer, the bytes read before unchanged: checked by digest), only
the new records are parsed and added to a copy of the policy
(``RelayPolicy.with_entries``). With a million entries that is a fraction of a second
instead of several, and the sessions of the job are not held up meanwhile.

What RMVSMTPLE does is a new member without the records of one entry. The policy keeps
the members it read open, so it still has what it was compiled from; when the new
member of an IPv4 address list is that less some whole lines (memberdiff), the networks
of those lines are taken out of a copy of the policy, unless the member holds another
record of the same network (RelayPolicy.without_networks). Anything else (a hand edit,
a removal from a domain or IPv6 list, CHGSMTPA) compiles everything again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from qtsmtp.messages import CLError, escape
from qtsmtp.config.memberdiff import has_network, removed_lines
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import Entry, canonical_ip4_network, not_valid_at, parse_record_fast
from qtsmtp.config.lists import member_file
from qtsmtp.config.policy import RelayPolicy
from qtsmtp.store.member import MemberFile

# The lists the relay decision reads. *SVRBIND and *SVRBNDIP6 are read once, at start.
POLICY_LISTS = ("*ACCEPT", "*ACCEPTIP6", "*REJECT", "*REJECTIP6", "*NEAR", "*DOMAIN", "*DOMAINIP6")


@dataclass(frozen=True)
class MemberRead:
    """How much of a list member a policy was compiled from."""
    inode: int
    size: int              # bytes read (the member may have grown while it was read)
    records: int           # lines read: the next record's number is records + 1
    digest: "hashlib._Hash"   # blake2b of those bytes
    whole_lines: bool      # they end with a line end: an append starts a new record
    # The file they were read from, kept open: after RMVSMTPLE renamed a new member over
    # it, it still holds what the policy was compiled from (see drop_removed).
    file: BinaryIO | None = field(default=None, compare=False, repr=False)

    def content(self) -> bytes | None:
        """The bytes read, read again from that file; None unless they are all there,
        and nothing else."""
        if self.file is None:
            return None
        data = os.pread(self.file.fileno(), self.size + 1, 0)
        if len(data) != self.size or hashlib.blake2b(data).digest() != self.digest.digest():
            return None
        return data


class NotAnAppend(Exception):
    """The member is not what it was, plus more: compile it all again."""


@dataclass(frozen=True)
class CompiledPolicy:
    policy: RelayPolicy
    attributes: dict
    system_name: str
    keys: tuple            # stat keys of every member it was compiled from
    reads: tuple           # a MemberRead (None: no member) per POLICY_LISTS entry

    def summary(self) -> str:
        sizes = self.policy.sizes()
        return " ".join(f"{name}={count}" for name, count in sizes.items() if count) or "none"


def watched_members(root: Path) -> list[MemberFile]:
    return [attributes.attributes_member(root)] + [
        member_file(root, lt.LIST_TYPES[t]) for t in POLICY_LISTS]


def stat_keys(members: list[MemberFile]) -> tuple:
    return tuple(m.stat_key() for m in members)


class MemberReader:
    """A member's entries one at a time (a million-entry list never sits in memory as
    Entry objects); raises TCP2670 naming the member and record of the first bad line.
    Once iterated, ``read`` says what was read. parse_record_fast: the same entries and
    errors as parse_record, sooner for the plain IPv4 records a big list is made of.
    Those, in an IPv4 address list, come as (network, prefix length) pairs, all the
    policy needs of them (RelayPolicy.from_entries): building an Entry and its
    IPv4Network was three quarters of the time a million-entry list took to compile.

    With ``since`` (an earlier read), only what was appended since: the bytes read then
    must be there unchanged, in the same file, else NotAnAppend."""

    def __init__(self, member: MemberFile, list_type: lt.ListType,
                 since: MemberRead | None = None):
        self.member, self.list_type, self.since = member, list_type, since
        self.read: MemberRead | None = None

    def __iter__(self) -> Iterator[Entry | tuple[int, int]]:
        member, since = self.member, self.since
        try:
            f = open(member.path, "rb")
        except FileNotFoundError:
            if since is not None:
                raise NotAnAppend() from None
            return
        list_type = self.list_type
        as_pairs = list_type.kind == lt.IP4
        try:
            inode = os.fstat(f.fileno()).st_ino
            digest, size, number, whole = hashlib.blake2b(), 0, 0, True
            if since is not None:
                self._check_unchanged(f, inode, digest)
                size, number = since.size, since.records
            for line in f:
                digest.update(line)
                size += len(line)
                number += 1
                whole = line.endswith(b"\n")
                text = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
                if as_pairs:
                    pair = canonical_ip4_network(list_type, text)
                    if pair is not None:
                        yield pair
                        continue
                try:
                    entry = parse_record_fast(list_type, text)
                except CLError as bad:
                    raise not_valid_at(member, number, bad) from None
                if entry is not None:
                    yield entry
        except BaseException:           # a bad record, or the reading given up
            f.close()
            raise
        self.read = MemberRead(inode, size, number, digest, whole, f)

    def _check_unchanged(self, f, inode: int, digest) -> None:
        """Read (into ``digest``) the bytes ``since`` read; NotAnAppend unless they are
        the same, in the same file, and ended with a whole record."""
        since = self.since
        if inode != since.inode or not since.whole_lines:
            raise NotAnAppend()
        left = since.size
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                raise NotAnAppend()                 # shorter than it was
            digest.update(chunk)
            left -= len(chunk)
        if digest.digest() != since.digest.digest():
            raise NotAnAppend()


def compile_policy(root: Path, default_system_name: str,
                   local_addresses: tuple[str, ...]) -> CompiledPolicy:
    """Read attributes and lists into a policy; raises CLError TCP2670 on a bad member."""
    members = watched_members(root)
    # Keys first: a change made while we read is then seen by the next check.
    keys = stat_keys(members)
    values = attributes.load(root)
    system_name = system_name_of(values, default_system_name)
    readers = {t: MemberReader(member_file(root, lt.LIST_TYPES[t]), lt.LIST_TYPES[t])
               for t in POLICY_LISTS}
    try:
        policy = RelayPolicy.from_entries(values["ALWRLY"], readers,
                                          local_domains=[system_name],
                                          local_addresses=local_addresses)
    except ValueError as bad:
        raise _not_valid(root, bad) from None
    return CompiledPolicy(policy, values, system_name, keys,
                          tuple(readers[t].read for t in POLICY_LISTS))


def _changed_lists(root: Path, compiled: CompiledPolicy
                   ) -> tuple[tuple, list[tuple[int, str, MemberFile]]] | None:
    """The stat keys now, and (index in POLICY_LISTS, list type, member) of each list
    changed since ``compiled``; None when the attributes changed (then only a full
    compile will do)."""
    members = watched_members(root)
    keys = stat_keys(members)
    if keys[0] != compiled.keys[0]:
        return None
    return keys, [(index, list_type, member)
                  for index, (list_type, member) in enumerate(zip(POLICY_LISTS, members[1:]))
                  if keys[index + 1] != compiled.keys[index + 1]]


def add_appended(root: Path, compiled: CompiledPolicy) -> CompiledPolicy | None:
    """``compiled`` with the records appended to its lists since; None when anything
    else changed (then only a full compile will do). Raises TCP2670 on a bad record."""
    changed = _changed_lists(root, compiled)
    if changed is None:
        return None
    keys, lists = changed
    readers, reads = {}, list(compiled.reads)
    for index, list_type, member in lists:
        before = compiled.reads[index]
        if before is None:
            return None                               # a new member: read it all
        readers[list_type] = MemberReader(member, lt.LIST_TYPES[list_type], since=before)
    try:
        entries = {list_type: list(reader) for list_type, reader in readers.items()}
    except NotAnAppend:
        return None
    try:
        policy = compiled.policy.with_entries(entries)
    except ValueError as bad:
        raise _not_valid(root, bad) from None
    for list_type, reader in readers.items():
        reads[POLICY_LISTS.index(list_type)] = reader.read
    return CompiledPolicy(policy, compiled.attributes, compiled.system_name,
                          keys, tuple(reads))


def drop_removed(root: Path, compiled: CompiledPolicy) -> CompiledPolicy | None:
    """``compiled`` without the networks whose records were taken out of its IPv4 address
    lists since (what RMVSMTPLE does); None when anything else changed (then only a full
    compile will do)."""
    changed = _changed_lists(root, compiled)
    if changed is None:
        return None
    keys, lists = changed
    removals, reads = {}, list(compiled.reads)
    for index, list_type, member in lists:
        found = _removed_networks(member, lt.LIST_TYPES[list_type], compiled.reads[index])
        if found is None:
            return None
        removals[list_type], reads[index] = found
    return CompiledPolicy(compiled.policy.without_networks(removals), compiled.attributes,
                          compiled.system_name, keys, tuple(reads))


def _removed_networks(member: MemberFile, list_type: lt.ListType, before: MemberRead | None
                      ) -> tuple[list[tuple[int, int]], MemberRead] | None:
    """The networks no record of the member holds any more, if the member is what
    ``before`` read less some whole lines, and what was read of it; else None."""
    if before is None or list_type.kind != lt.IP4:
        return None
    old = before.content()
    if old is None:
        return None
    try:
        f = open(member.path, "rb")
    except FileNotFoundError:
        return None
    try:
        new = f.read()
        gone = removed_lines(old, new)
        networks = None if gone is None else _networks_gone(list_type, gone, new)
        if networks is None:
            f.close()
            return None
        return networks, MemberRead(os.fstat(f.fileno()).st_ino, len(new), new.count(b"\n"),
                                    hashlib.blake2b(new), True, f)
    except BaseException:
        f.close()
        raise


def _networks_gone(list_type: lt.ListType, gone: list[bytes], new: bytes
                   ) -> list[tuple[int, int]] | None:
    """The networks of the lines ``gone`` that no record of ``new`` holds; None when a
    line is a record in another form than ADDSMTPLE writes, or the check would cost more
    than a full compile."""
    networks = []
    for line in gone:
        text = line.decode("utf-8", "surrogateescape").rstrip("\r")
        pair = canonical_ip4_network(list_type, text)
        if pair is None:
            # A comment or a blank line (the parser says None: nothing to drop), or a
            # record in another form. It parsed when the policy was compiled.
            if parse_record_fast(list_type, text) is not None:
                return None
            continue
        still = has_network(list_type, new, *pair)    # a duplicate made by hand?
        if still is None:
            return None
        if not still:
            networks.append(pair)
    return networks


def _not_valid(root: Path, bad: ValueError) -> CLError:
    # ALWRLY hand-edited to a value the policy does not know, or an entry of the
    # wrong family: the attributes member or a list is what the person must fix.
    member = attributes.attributes_member(root)
    return escape("TCP2670", member.member, member.file, member.library, "-", str(bad))


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
        """Compile again (only the appended records, when appends are all that
        changed); on success switch to the new policy, else keep the old one and return
        the error (the caller logs it)."""
        keys = stat_keys(self._members)
        try:
            self.current = (add_appended(self.root, self.current)
                            or drop_removed(self.root, self.current) or self.compile())
        except CLError as error:
            self._failed_keys = keys
            return error
        self._failed_keys = None
        return None
