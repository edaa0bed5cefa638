"""Compile the relay policy from the member files, and follow what changes them.

The server never reads a member on the hot path: it asks the compiled ``RelayPolicy``
(a pure object). Off the hot path, a server job follows the library's change journal
(store.journal): every ADDSMTPLE, RMVSMTPLE and CHGSMTPA records there what it changed,
with a generation number, before it writes the member. The job applies the records it
has not seen to a copy of its policy (``apply_records``: RelayPolicy.with_changes; a
few shards copied, whatever the size of the list), then checks that each member it
touched is what the last record said it would be (inode and size, taken under the
journal lock, so no change is half made). Anything the records do not explain (a
member edited by hand, a command killed between its record and its member write, a
journal cut back past the job, CHGSMTPA) compiles everything from the members again:
the members are the truth, the journal only the way from one version to the next.

A member changed by hand is also seen without any record: the job compares the stat
keys of the members it compiled from every RELOAD_CHECK_SECONDS. When the change is
appended records (the bytes read before unchanged: checked by digest) only those are
parsed and added (``add_appended``); anything else compiles everything. A member that
does not parse leaves the last good policy in use (qatmadrlst(5)), and the error
is reported once per change, not on every check.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qtsmtp.messages import CLError, Message, escape
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import (MAX_RECORD, MAX_RECORD_BYTES, Entry, PackedIp4,
                                   canonical_ip4_block, canonical_ip4_network, not_valid_at, parse_record_fast)
from qtsmtp.config.lists import member_file
from qtsmtp.config.policy import ADD, REMOVE, RelayPolicy
from qtsmtp.config.settings import alias_domains
from qtsmtp.config.users import local_users, users_member
from qtsmtp.store import journal, settle
from qtsmtp.store.journal import Behind, JournalReader
from qtsmtp.store.member import MemberFile
from qtsmtp.store.permissions import check_trusted
from qtsmtp.store.root import SYSTEM_LIBRARY

# The lists the relay decision reads. *SVRBIND and *SVRBNDIP6 are read once, at start.
POLICY_LISTS = ("*ACCEPT", "*ACCEPTIP6", "*REJECT", "*REJECTIP6", "*NEAR", "*DOMAIN", "*DOMAINIP6")


# A member is read this many bytes at a time (and never a line longer than
# MAX_RECORD_BYTES held whole).
BLOCK_BYTES = 1 << 20

_MOVED = "it changed while it was read"

# How long the server's start waits for a member being written by hand (TCP2677), and
# how often it looks meanwhile.
START_WAIT_SECONDS = 10.0
START_WAIT_PAUSE = 0.1

# How long a job waits for a command to finish writing what it journaled.
LOCK_SECONDS = 2.0


@dataclass(frozen=True)
class MemberRead:
    """How much of a list member a policy was compiled from."""
    inode: int
    size: int              # bytes read (the member may have grown while it was read)
    records: int           # lines read: the next record's number is records + 1
    digest: "hashlib._Hash"   # blake2b of those bytes
    whole_lines: bool      # they end with a line end: an append starts a new record


class NotAnAppend(Exception):
    """The member is not what it was, plus more: compile it all again."""


@dataclass(frozen=True)
class CompiledPolicy:
    policy: RelayPolicy
    attributes: dict
    system_name: str
    keys: tuple            # stat keys of every member it was compiled from
    reads: tuple           # a MemberRead (None: no member) per POLICY_LISTS entry
    generation: int = 0    # the last change journal record it holds
    journal: str = ""      # the id of that journal

    def summary(self) -> str:
        sizes = self.policy.sizes()
        return " ".join(f"{name}={count}" for name, count in sizes.items() if count) or "none"


def watched_members(root: Path) -> list[MemberFile]:
    """The attributes, the POLICY_LISTS members in order, and last the SMTP user
    directory (who receives mail here)."""
    return [attributes.attributes_member(root)] + [
        member_file(root, lt.LIST_TYPES[t]) for t in POLICY_LISTS] + [users_member(root)]


def stat_keys(members: list[MemberFile]) -> tuple:
    return tuple(m.stat_key() for m in members)


class MemberReader:
    """A member's entries one at a time (a million-entry list never sits in memory as
    Entry objects); raises TCP2670 naming the member and record of the first bad line.
    Once iterated, ``read`` says what was read. parse_record_fast: the same entries and
    errors as parse_record, sooner for the plain IPv4 records a big list is made of.
    Those, in an IPv4 address list, come as (network, prefix length) pairs, all the
    policy needs of them (RelayPolicy.from_entries): building an Entry and its
    IPv4Network was three quarters of the time a million-entry list took to compile;
    and a block of lines that are all such records comes as one PackedIp4, parsed and
    put in the policy with every loop in C (entries.canonical_ip4_block).

    With ``since`` (an earlier read), only what was appended since: the bytes read then
    must be there unchanged, in the same file, else NotAnAppend."""

    def __init__(self, member: MemberFile, list_type: lt.ListType,
                 since: MemberRead | None = None):
        self.member, self.list_type, self.since = member, list_type, since
        self.read: MemberRead | None = None

    def __iter__(self) -> Iterator[Entry | tuple[int, int] | PackedIp4]:
        member, since = self.member, self.since
        try:
            f = open(member.path, "rb")
        except FileNotFoundError:
            if since is not None:
                raise NotAnAppend() from None
            return
        bulk = self.list_type.kind == lt.IP4
        try:
            inode = os.fstat(f.fileno()).st_ino
            digest, size, number, whole = hashlib.blake2b(), 0, 0, True
            if since is not None:
                self._check_unchanged(f, inode, digest)
                size, number = since.size, since.records
            # Read in blocks of whole lines: a block of canonical IPv4 records is parsed
            # at once (entries.canonical_ip4_block), any other line by itself.
            rest = b""
            while block := f.read(BLOCK_BYTES):
                block = rest + block
                end = block.rfind(b"\n") + 1
                lines, rest = block[:end], block[end:]
                if len(rest) > MAX_RECORD_BYTES:
                    raise _too_long(member, number + lines.count(b"\n") + 1)
                if not lines:
                    continue
                digest.update(lines)
                size += len(lines)
                packed = canonical_ip4_block(lines) if bulk else None
                if packed is not None:
                    yield packed            # RelayPolicy takes the block as it is
                    number += lines.count(b"\n")
                else:
                    for line in lines.split(b"\n")[:-1]:
                        number += 1
                        yield from self._parse(line, number)
                whole = True
            if rest and member.torn_append_start(f.fileno(), inode, size + len(rest)) is not None:
                pass        # a record whose writer was killed appending it: none yet
            elif rest:                  # a last line without its line end (a hand edit)
                digest.update(rest)
                size += len(rest)
                number += 1
                whole = False
                yield from self._parse(rest, number)
        finally:                        # also a bad record, or the reading given up
            f.close()
        self.read = MemberRead(inode, size, number, digest, whole)

    def _parse(self, line: bytes, number: int) -> Iterator[Entry | tuple[int, int]]:
        """The entry of one line (none for a comment or a blank one); TCP2670 naming
        the member and record ``number`` when it is not valid."""
        if len(line) > MAX_RECORD_BYTES:
            # Never parse a huge line: it is no record, whatever the rest of it holds.
            raise _too_long(self.member, number)
        list_type = self.list_type
        text = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if list_type.kind == lt.IP4:
            pair = canonical_ip4_network(list_type, text)
            if pair is not None:
                yield pair
                return
        try:
            entry = parse_record_fast(list_type, text)
        except CLError as bad:
            raise not_valid_at(self.member, number, bad) from None
        if entry is not None:
            yield entry

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


def _too_long(member: MemberFile, number: int) -> CLError:
    return not_valid_at(member, number, escape("TCP2690", f"more than {MAX_RECORD_BYTES} bytes",
                                                 MAX_RECORD))


def compile_policy(root: Path, default_system_name: str, local_addresses: tuple[str, ...],
                   reader: JournalReader | None = None) -> CompiledPolicy:
    """Read attributes and lists into a policy; raises CLError TCP2670 on a bad member.
    With ``reader``, the policy holds every change that reader's journal has now."""
    members = watched_members(root)
    # Keys (and the journal's end) first: a change made while we read is then seen by
    # the next check, and applied again by the next record: no harm, an entry added
    # twice or taken out twice is added or taken out.
    if reader is None:
        keys = stat_keys(members)
    else:
        try:
            with reader.shared(LOCK_SECONDS):
                reader.skip_to_end()
                keys = stat_keys(members)
        except TimeoutError:     # a writer stuck in its change: it is seen when done
            reader.skip_to_end()
            keys = stat_keys(members)
        except OSError:          # a journal we may not read: the members alone, then
            reader.unreadable()
            keys = stat_keys(members)
    values = attributes.load(root)
    system_name = system_name_of(values, default_system_name)
    readers = {t: MemberReader(member_file(root, lt.LIST_TYPES[t]), lt.LIST_TYPES[t])
               for t in POLICY_LISTS}
    try:
        policy = RelayPolicy.from_entries(values["ALWRLY"], readers,
                                          local_domains=[system_name, *alias_domains(values)],
                                          local_addresses=local_addresses,
                                          local_users=local_users(root))
    except ValueError as bad:
        raise _not_valid(root, bad) from None
    return CompiledPolicy(policy, values, system_name, keys,
                          tuple(readers[t].read for t in POLICY_LISTS),
                          reader.generation if reader else 0, reader.journal_id if reader else "")


class NotExplained(Exception):
    """The journal records do not explain the members: compile them all again."""


class CompileAgain(NotExplained):
    """The journal records explain the members, but a CHGSMTPA record cannot be applied
    without the default system name: compiled again as an ordinary step, where
    NotExplained is news for the job log (TCP3024)."""


def apply_records(root: Path, compiled: CompiledPolicy, records: list[dict],
                  keys_now: tuple, journal_id: str,
                  members: list[MemberFile] | None = None,
                  default_system_name: str | None = None) -> CompiledPolicy:
    """``compiled`` with the changes of the journal ``records`` (the next ones after its
    generation) made; ``keys_now``: the members' stat keys, taken with the records under
    the journal lock; ``journal_id``: the journal they are of. Raises NotExplained (saying
    why) when the records do not account for the members as they are: a member not as
    the record found it, or not as the record left it, or a record not understood; and
    CompileAgain when they do, but one of them is CHGSMTPA's and there is no
    ``default_system_name`` (SYSNAME(*DFT)) to apply it with."""
    members = members or watched_members(root)
    where = _indices(members)
    known = list(compiled.keys)       # (inode, size, mtime_ns); mtime None: not known
    touched: set[int] = set()
    changes = []
    compile_again = None
    attributes_changed = users_changed = False
    for record in records:
        index = where.get((record.get("file"), record.get("member")))
        if index is None:
            continue                  # a member the policy is not made of
        name = f"{record.get('member')} generation {record['gen']}"
        if not _same(record.get("before"), known[index]):
            raise NotExplained(f"{name} found the member changed by other means")
        after = record.get("after")
        if not (isinstance(after, list) and len(after) in (2, 3)):
            raise NotExplained(f"{name} does not say what it left")
        # A change made in place (same inode and size) names the modification time it
        # leaves too: without it, a writer killed before its write would go unseen.
        known[index] = (after[0], after[1], after[2] if len(after) == 3 else None)
        touched.add(index)
        # The records after it are checked all the same: a member changed by other
        # means meanwhile is still news.
        if index == 0 and default_system_name is None:
            compile_again = f"{name} changed the SMTP attributes"
        elif index == 0:
            attributes_changed = True       # read once, below: as the last record left it
        elif record.get("op") == journal.CUT:
            pass              # a torn record cut off: no policy ever held it (compile)
        elif index == len(members) - 1:
            users_changed = True            # read once, below, as for the attributes
        elif compile_again is None:
            changes.append(_change(record, POLICY_LISTS[index - 1], name))
    for index in touched:
        now, promised = keys_now[index], known[index]
        if now is None or tuple(now[:2]) != tuple(promised[:2]) or (
                promised[2] is not None and now[2] != promised[2]):
            raise NotExplained(f"member {members[index].member} is not what "
                               f"generation {records[-1]['gen']} left")
        known[index] = now
    if compile_again is not None:
        raise CompileAgain(compile_again)
    try:
        policy = compiled.policy.with_changes(changes) if changes else compiled.policy
    except ValueError as bad:
        raise NotExplained(str(bad)) from None
    values, system_name = compiled.attributes, compiled.system_name
    if attributes_changed:
        # What the attributes change in a policy (ALWRLY, SYSNAME, ALIASDMN), made without
        # reading a list again: a CHGSMTPA that tightens ALWRLY is in use at once, even
        # while a list is being written by hand (which a compile would wait for).
        try:
            values = attributes.load(root)
            system_name = system_name_of(values, default_system_name)
            policy = policy.with_attributes(values["ALWRLY"],
                                            [system_name, *alias_domains(values)])
        except (CLError, ValueError) as bad:
            raise NotExplained(f"the SMTP attributes: {bad}") from None
    if users_changed:
        try:
            policy = policy.with_users(local_users(root))
        except (CLError, ValueError) as bad:
            raise NotExplained(f"the SMTP user directory: {bad}") from None
    # What was read of a member a command changed since no longer describes it: a
    # member rewritten by hand later, its first bytes unchanged (or an empty one), would
    # pass for an append and keep the entries the rewrite took out. Read it all then.
    reads = tuple(None if index + 1 in touched else read
                  for index, read in enumerate(compiled.reads))
    return CompiledPolicy(policy, values, system_name, tuple(known),
                          reads, records[-1]["gen"] if records else compiled.generation,
                          journal_id)


def _indices(members: list[MemberFile]) -> dict[tuple[str, str], int]:
    """(file, member), as a journal record names it -> its index in ``members``."""
    return {(m.file, m.member): index for index, m in enumerate(members)}


def _holds_only(path, read: MemberRead | None) -> bool:
    """Is the file at ``path`` the one ``read`` describes, holding those bytes and no
    more (no file, when ``read`` is None)?"""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if read is None or st.st_ino != read.inode or st.st_size != read.size:
                return False
            digest = hashlib.blake2b()
            while chunk := f.read(BLOCK_BYTES):
                digest.update(chunk)
    except FileNotFoundError:
        return read is None
    except OSError:
        return False
    return digest.digest() == read.digest.digest()


def _same(before, known) -> bool:
    """Is ``before`` (a record's [inode, size, mtime_ns] or None) the member ``known``?"""
    if before is None or known is None:
        return before is None and known is None
    return (len(before) == 3 and before[0] == known[0] and before[1] == known[1]
            and (known[2] is None or before[2] == known[2]))


def _left_as(after, key) -> bool:
    """Is ``key`` (a member's stat key now) what a journal record's ``after`` left?"""
    return (isinstance(after, list) and len(after) in (2, 3) and key is not None
            and tuple(key[:2]) == tuple(after[:2]) and (len(after) == 2 or key[2] == after[2]))


def _change(record: dict, list_type: str, name: str) -> tuple[str, str, list]:
    """(ADD or REMOVE, TYPE, entries) of a list member's record."""
    op, lines = record.get("op"), record.get("records")
    if op not in (journal.ADD, journal.REMOVE) or not isinstance(lines, list):
        raise NotExplained(f"{name} is a {op} the policy cannot follow")
    type_ = lt.LIST_TYPES[list_type]
    items: list = []
    for line in lines:
        if not isinstance(line, str):
            raise NotExplained(f"{name} holds a record that is not text")
        pair = canonical_ip4_network(type_, line)
        if pair is not None:
            items.append(pair)
            continue
        try:
            entry = parse_record_fast(type_, line)
        except CLError:
            raise NotExplained(f"{name} holds a record that does not parse") from None
        if entry is not None:
            items.append(entry)
    return (ADD if op == journal.ADD else REMOVE), list_type, items


def _changed_lists(root: Path, compiled: CompiledPolicy
                   ) -> tuple[tuple, list[tuple[int, str, MemberFile]]] | None:
    """The stat keys now, and (index in POLICY_LISTS, list type, member) of each list
    changed since ``compiled``; None when the attributes changed (then only a full
    compile will do)."""
    members = watched_members(root)
    keys = stat_keys(members)
    if keys[0] != compiled.keys[0] or keys[-1] != compiled.keys[-1]:
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
                          keys, tuple(reads), compiled.generation, compiled.journal)


def _not_valid(root: Path, bad: ValueError) -> CLError:
    # ALWRLY hand-edited to a value the policy does not know, or an entry of the
    # wrong family: the attributes member or a list is what the person must fix.
    member = attributes.attributes_member(root)
    return escape("TCP2670", member.member, member.file, member.library, "-", str(bad))


def system_name_of(values: dict, default_system_name: str) -> str:
    name = str(values.get("SYSNAME", "*DFT"))
    return default_system_name if name.upper() == "*DFT" else name.lower().rstrip(".")


def wait_for_hand_edits(members: list[MemberFile], deadline: float, tell=None) -> None:
    """Return once none of ``members`` is being written by hand (store.settle), or raise
    TCP2677 naming one that still is at ``deadline`` (time.monotonic). ``tell(message)``
    hears TCP2678 once for each member waited for."""
    told = set()
    while True:
        busy = [(m, why) for m in members if (why := settle.unfinished(m.path))]
        if not busy:
            return
        if time.monotonic() >= deadline:
            member, why = busy[0]
            raise escape("TCP2677", member.member, member.file, member.library, why)
        for member, why in busy:
            if tell is not None and member.member not in told:
                told.add(member.member)
                tell(Message("TCP2678", member.member, member.file, member.library, why,
                             f"{START_WAIT_SECONDS:g}"))
        time.sleep(START_WAIT_PAUSE)


class PolicySource:
    """The current compiled policy of one server job, and how it follows changes."""

    def __init__(self, root: Path, default_system_name: str, local_addresses: tuple[str, ...]):
        self.root = Path(root)
        self.default_system_name = default_system_name
        self.local_addresses = local_addresses
        self._members = watched_members(self.root)
        self._failed_keys: tuple | None = None
        self.failure: CLError | None = None     # why the last reload kept the old policy
        self.notes: list[Message] = []          # for the job log: why it compiled again
        self.journal = JournalReader(self.root / SYSTEM_LIBRARY)
        self._compile_all = False           # journal records read, not yet in a policy
        self._waiting_told: dict[int, tuple | None] = {}   # TCP2676 said for that state
        self.current = self._first_compile()   # raises at start: the server must not run

    def _first_compile(self) -> CompiledPolicy:
        """The policy the server starts with, from members no hand edit is writing:
        waits START_WAIT_SECONDS at most for one to be finished, then TCP2677."""
        deadline = time.monotonic() + START_WAIT_SECONDS
        while True:
            wait_for_hand_edits(self._members, deadline)
            before = self._fingerprints()
            compiled = self.compile()
            changed = [m for index, (m, had) in enumerate(zip(self._members, before))
                       if settle.fingerprint(m.path) != had
                       and not self._as_read(index, compiled)]
            if not changed:
                return compiled
            if time.monotonic() >= deadline:
                member = changed[0]
                raise escape("TCP2677", member.member, member.file, member.library, _MOVED)

    def compile(self) -> CompiledPolicy:
        return compile_policy(self.root, self.default_system_name, self.local_addresses,
                              self.journal)

    @property
    def position(self) -> tuple[str, int]:
        """(journal id, generation) of the current policy."""
        return self.current.journal, self.current.generation

    def needs_reload(self) -> bool:
        """Cheap (one stat per member and one of the journal): did anything change
        since the last compile?"""
        if self.journal.has_news():
            return True
        keys = stat_keys(self._members)
        return keys != self.current.keys and keys != self._failed_keys

    def reload(self) -> CLError | None:
        """Follow what changed: the journal's new records, else appended records,
        else everything compiled again. On success switch to the new policy, else keep
        the old one and return the error (the caller logs it); the changes the journal
        records are in use all the same when only a member changed by hand does not
        parse. Raises TimeoutError when a command holds the journal too long: nothing
        changed, try again."""
        keys = None
        try:
            # A member or directory another user may now write (chmod 777 QATMADRLST,
            # a member renamed in by someone else) is not loaded: the last good policy
            # stays in use, and the job log says why (qtsmtp-server(8), Permissions).
            check_trusted(self._trusted_paths())
            try:
                with self.journal.shared(LOCK_SECONDS):
                    try:
                        records = self.journal.read_new()
                    except Behind as why:
                        records = None
                        self._note("TCP3024", self.journal.generation, why)
                    keys = stat_keys(self._members)
            except OSError as failure:   # not TimeoutError: a journal we may not read
                if isinstance(failure, TimeoutError):
                    raise
                records, keys = None, stat_keys(self._members)
                self._note("TCP3024", self.journal.generation, failure)
            applied = None               # the policy with the journal's records made
            if self._compile_all:
                records = None           # records read before a wait: compile them all
            if records:
                try:
                    applied = apply_records(self.root, self.current, records, keys,
                                            self.journal.journal_id, self._members,
                                            self.default_system_name)
                except CompileAgain:
                    pass                 # compiled below, as a command asked
                except NotExplained as why:
                    self._note("TCP3024", records[-1]["gen"], why)
                journal.fault_point("job-apply")
            elif records is not None:
                applied = self.current
            by_hand = self._changed_by_other_means(keys, records, applied)
            reading = applied is None or bool(by_hand)     # the members are read
            if reading:
                before = self._fingerprints()
                if not self._may_read(keys, by_hand, before, applied):
                    return None
            try:
                if applied is None:
                    new = self.compile()
                elif applied.keys != keys:
                    # Changed without a record: an edit by hand (or by a program that
                    # does not use the commands); appended records are added, else all
                    # compiled.
                    for member, key, had in zip(self._members, keys, applied.keys):
                        if key != had:
                            self._note("TCP3023", member.member, member.file, member.library)
                    new = add_appended(self.root, applied) or self.compile()
                else:
                    new = applied
            except CLError:
                if applied is not None:
                    self.current = applied     # what the commands changed, in use
                self._compile_all = False
                raise
            if reading and not self._read_whole(by_hand, before, applied, new):
                return None
            self.current = new
            self._compile_all = False
        except CLError as error:
            self._failed_keys = keys
            self.failure = error
            return error
        self._failed_keys = None
        self.failure = None
        return None

    def _changed_by_other_means(self, keys: tuple, records: list | None,
                                applied: CompiledPolicy | None) -> list[int]:
        """The members (indices in the watched members) changed since the policy by
        anything but the commands: neither the policy nor a journal record says they
        are as they are."""
        if applied is not None:
            return [index for index, (key, had) in enumerate(zip(keys, applied.keys))
                    if key != had]
        where = _indices(self._members)
        left = {}                        # index -> what its last record left
        for record in records or ():
            index = where.get((record.get("file"), record.get("member")))
            if index is not None:
                left[index] = record.get("after")
        return [index for index, (key, had) in enumerate(zip(keys, self.current.keys))
                if key != had and not _left_as(left.get(index), key)]

    def _fingerprints(self) -> list[tuple | None]:
        return [settle.fingerprint(m.path) for m in self._members]

    def _may_read(self, keys: tuple, by_hand: list[int], before: list,
                  applied: CompiledPolicy | None) -> bool:
        """May the members be read now? Not when one changed since ``keys`` were taken
        (look again), nor while one changed by hand is still being written (a writer
        has it open, or, where that cannot be told, it changed less than
        settle.SETTLE_SECONDS ago)."""
        moved = [index for index, (key, now) in enumerate(zip(keys, before))
                 if (now[:3] if now else None) != (tuple(key) if key else None)]
        if moved:
            return self._wait(applied, before, [(index, _MOVED) for index in moved
                                                if index in by_hand], again=True)
        return self._wait(applied, before, [
            (index, why) for index in by_hand
            if (why := settle.unfinished(self._members[index].path))])

    def _read_whole(self, by_hand: list[int], before: list,
                    applied: CompiledPolicy | None, new: CompiledPolicy) -> bool:
        """Were the members read as they were before (``before``), none changed while
        it was read (or a list that did still holds what ``new`` read of it), and is no
        one writing one changed by hand now?"""
        after = self._fingerprints()
        moved = [index for index, (had, now) in enumerate(zip(before, after))
                 if had != now and not self._as_read(index, new)]
        if moved:
            return self._wait(applied, after, [(index, _MOVED) for index in moved
                                               if index in by_hand], again=True)
        return self._wait(applied, after, [
            (index, "a program has it open for writing") for index in by_hand
            if settle.writer_seen(self._members[index].path)])

    def _as_read(self, index: int, compiled: CompiledPolicy) -> bool:
        """Does list member ``index``, which moved while it was read, hold what
        ``compiled`` read of it, byte for byte, with no hand edit under way? Then the
        policy is made of what it holds: a member only touched (its times changed by a
        careless script every 100 ms) does not have a large list read again and again
        for ever, nor the start refused. The attributes and the user directory keep no
        such record: read again."""
        if not 0 < index <= len(POLICY_LISTS):
            return False
        path = self._members[index].path
        return settle.unfinished(path) is None and _holds_only(path, compiled.reads[index - 1])

    def _wait(self, applied: CompiledPolicy | None, fingerprints: list,
              waiting: list[tuple[int, str]], again: bool = False) -> bool:
        """True when nothing is to be waited for (``waiting`` empty, not ``again``).
        Else the policy keeps what the commands changed and no more, the job log says
        why for each member changed by hand (once for each state of the member), and
        the next look tries again."""
        if not waiting and not again:
            self._waiting_told = {}
            return True
        if applied is not None:
            self.current = applied       # what the commands changed is in use meanwhile
        else:
            self._compile_all = True     # the records read are in no policy yet
        for index, why in waiting:
            member = self._members[index]
            if self._waiting_told.get(index) != fingerprints[index]:
                self._waiting_told[index] = fingerprints[index]
                self._note("TCP2676", member.member, member.file, member.library, why)
        # Not a failure of the member: no TCP3021, and the next look reads it again. A
        # command waiting for this job hears why its change is not in use yet, unless
        # the job is only to look again at once.
        self._failed_keys = None
        self.failure = None
        if applied is None and waiting and not again:
            member = self._members[waiting[0][0]]
            self.failure = escape("TCP2676", member.member, member.file, member.library,
                                  waiting[0][1])
        return False

    def _trusted_paths(self) -> list[Path]:
        library = self.root / SYSTEM_LIBRARY
        directories = sorted({m.directory for m in self._members})
        return [self.root, library, journal.journal_path(library), *directories,
                *(m.path for m in self._members)]

    def _note(self, msgid: str, *data) -> None:
        self.notes.append(Message(msgid, *data))
