"""What WRKSMTPLE shows, apart from the screen: the rows, what each entry means, and
which other entries it overlaps or shadows.

The list members are read as text and an entry is parsed (``parse_record``, the very
parser the commands and the server use) only when a row is shown, displayed or removed:
a list of 100,000 entries opens as fast as a list of ten. A record that does not parse
is shown as it is, marked, with the TCP2670 message the commands would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qtsmtp.messages import CLError, Message
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import Entry, parse_record
from qtsmtp.config.lists import member_file
from qtsmtp.store.root import data_root

ACCEPT, REJECT = {"*ACCEPT", "*ACCEPTIP6"}, {"*REJECT", "*REJECTIP6"}
LOCAL = {"*DOMAIN", "*DOMAINIP6"}
RELAY_RULES = {   # ALWRLY value -> the relay lists it reads
    "*NONE": (), "*ALL": (), "*LIST": ("*ACCEPT", "*ACCEPTIP6"), "*NEAR": ("*NEAR",),
    "*BOTH": ("*ACCEPT", "*ACCEPTIP6", "*NEAR"),
}
MAX_OVERLAPS = 100


@dataclass(frozen=True, slots=True)
class Row:
    list_type: lt.ListType
    number: int          # record number in the member
    record: str          # the line as stored

    def entry(self) -> Entry:
        """The parsed entry; CLError TCP2670 (member, record) when it does not parse."""
        return _parse(self)

    def problem(self) -> Message | None:
        try:
            self.entry()
        except CLError as bad:
            return bad.escape
        return None


_parsed: dict[Row, Entry | CLError] = {}


def _parse(row: Row) -> Entry:
    found = _parsed.get(row)
    if found is None:
        try:
            found = parse_record(row.list_type, row.record)
        except CLError as bad:
            member = member_file(Path("."), row.list_type)
            found = CLError([Message("TCP2670", member.member, member.file, member.library,
                                     row.number, bad.escape.text.rstrip("."))])
        if len(_parsed) > 10000:
            _parsed.clear()
        _parsed[row] = found
    if isinstance(found, CLError):
        raise found
    return found


class Rows:
    """The rows of some lists, in list order then member order. A Row is made only when
    asked for, so 100,000 records cost two Python lists, not 100,000 objects."""

    def __init__(self, segments: list[tuple[lt.ListType, list[int], list[str]]]):
        self.segments = segments
        self.starts = []
        total = 0
        for _, numbers, _ in segments:
            self.starts.append(total)
            total += len(numbers)
        self.total = total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> Row:
        if index < 0:
            index += self.total
        if not 0 <= index < self.total:
            raise IndexError(index)
        for start, (list_type, numbers, lines) in zip(reversed(self.starts), reversed(self.segments)):
            if index >= start:
                return Row(list_type, numbers[index - start], lines[index - start])
        raise IndexError(index)

    def __iter__(self):
        for list_type, numbers, lines in self.segments:
            for number, line in zip(numbers, lines):
                yield Row(list_type, number, line)


def load_rows(root: Path, types: list[lt.ListType]) -> Rows:
    segments = []
    for list_type in types:
        text = member_file(root, list_type).read_text()
        comments = list_type.kind != lt.TEXT     # filter data may itself start with "#"
        numbers, lines = [], []
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if stripped and not (comments and stripped[0] == "#"):
                numbers.append(number)
                lines.append(line.rstrip("\r"))
        segments.append((list_type, numbers, lines))
    return Rows(segments)


# Lists of more records than this are not checked as the panel opens (about 0.3 s):
# their records are checked as their rows are shown, and ADDSMTPLE names them.
CHECK_MOST = 200_000


def not_entries(root: Path, rows: Rows) -> list[Message]:
    """What WRKSMTPLE says as it opens: the records of the lists shown that are not
    entries (a hand edit), named as ADDSMTPLE names them (TCP2671 for the first three
    of a list, TCP2673 counting the rest), so the operator hears of a bad line on page
    300 too. A list longer than CHECK_MOST is not checked here."""
    from qtsmtp.config.entries import canonical_ip4_network, parse_record_fast
    from qtsmtp.config.listindex import passed_over_messages
    messages = []
    for list_type, numbers, lines in rows.segments:
        if len(lines) > CHECK_MOST:
            continue
        found = []
        for number, line in zip(numbers, lines):
            if canonical_ip4_network(list_type, line) is not None:
                continue
            try:
                parse_record_fast(list_type, line)
            except CLError as bad:
                found.append((number, bad.escape.text.rstrip(".")))
        if found:
            messages += passed_over_messages(member_file(root, list_type), list_type, found)
    return messages


def columns(row: Row) -> tuple[str, str, str]:
    """(Internet address, mask or prefix, host name) as the list shows them."""
    entry = row.entry()
    kind = row.list_type.kind
    if entry.network is not None and kind in (lt.IP4, lt.IP6, lt.IP4_OR_DOMAIN, lt.HOST_OR_IP4):
        address, _, mask = entry.record.partition(" ")
        return address, mask.strip(), ""
    if entry.network is not None:
        return entry.address, "", ""
    if kind == lt.TEXT:
        return "", "", entry.text
    return entry.address, "", entry.domain


# --- what an entry does under the current ALWRLY -----------------------------------------

def in_effect(list_type: lt.ListType, alwrly: str) -> tuple[str, str]:
    """(short word for the report, a sentence for the display)."""
    name = list_type.type
    if not list_type.acted_on:
        return "Stored", "No: this list is stored and validated, not yet used by the qtsmtp server."
    if list_type.kind == lt.TEXT:
        return filter_in_effect()
    if name in REJECT:
        return "Yes", "Yes: connections from these clients are refused, whatever ALWRLY says."
    if name in LOCAL:
        return "Yes", "Yes: mail for this domain is local mail, never a relay."
    if name in ("*SVRBIND", "*SVRBNDIP6"):
        return "At start", "Yes, from the next server start: the server listens on this address."
    if name in RELAY_RULES.get(alwrly, ()):
        what = "clients in this network" if name in ACCEPT else "these clients or domains"
        return "Yes", f"Yes: under ALWRLY({alwrly}) {what} may relay."
    if alwrly == "*ALL":
        return "No", "No: ALWRLY(*ALL) lets every client relay; the relay lists are not read."
    return "No", f"No: ALWRLY({alwrly}) does not read the {list_type.name_in_text}."


def filter_in_effect() -> tuple[str, str]:
    """A filter list acts under CHGSMTPA FTRACN, whatever ALWRLY says."""
    try:
        action = attributes.load(data_root()).get("FTRACN", "*NONE")
    except CLError:
        action = "?"
    if action == "*NONE":
        return "No", "No: FTRACN(*NONE) filters nothing; CHGSMTPA FTRACN sets what a match does."
    what = {"*KEEP": "kept in the quarantine", "*REJECTMAIL": "discarded",
            "*REFUSE": "refused at the end of DATA"}.get(action, "filtered")
    return "Yes", f"Yes: under FTRACN({action}) matching mail is {what}."


def relay_summary(alwrly: str) -> str:
    lists = RELAY_RULES.get(alwrly)
    if lists is None:
        return "?"
    if alwrly == "*ALL":
        return "none (every client may relay)"
    return " ".join(lists) if lists else "none (no client may relay)"


# --- overlaps ---------------------------------------------------------------------------------

def _ip_key(text: str, bits: int) -> int | None:
    import socket          # here: only 5=Display needs it, and it costs start-up time
    try:
        if bits == 32:
            if text.count(".") != 3:
                return None
            return int.from_bytes(socket.inet_aton(text), "big")
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError:
        return None


def _network(record: str, kind: str) -> tuple[int, int, int] | None:
    """(bits, network, prefix) of an address record, read fast; None if it is not one."""
    fields = record.split()
    if not fields or fields[0][:1] == "#":
        return None
    bits = 128 if ":" in fields[0] else 32
    address = _ip_key(fields[0], bits)
    if address is None:
        return None
    prefix = bits
    if len(fields) > 1 and kind not in (lt.DOMAIN, lt.HOST4, lt.HOST6):
        if bits == 32:
            mask = _ip_key(fields[1], 32)
            if mask is None:
                return None
            prefix = 32 - (~mask & 0xFFFFFFFF).bit_length()
        elif fields[1].isdigit():
            prefix = int(fields[1])
    shift = bits - prefix
    return bits, address >> shift << shift, prefix


def _covers(domain: str, other: str) -> bool:
    """Does the domain entry ``domain`` take in ``other`` (".x" takes in x and a.x)?"""
    if domain == other:
        return True
    if domain.startswith("."):
        name = other.lstrip(".")
        return name == domain[1:] or name.endswith(domain)
    return False


def _effect(mine: str, theirs: str, relation: str) -> str:
    """What an overlap means. relation: 'contains' (theirs holds mine), 'within', 'same'."""
    wider = relation in ("contains", "same")
    if mine == theirs:
        return "covers this entry: this entry adds nothing" if wider else \
            "lies inside this entry: it adds nothing"
    if theirs in REJECT and mine not in REJECT:
        return ("refuses every client of this entry at connect: it shadows this entry" if wider
                else "refuses some clients of this entry at connect")
    if mine in REJECT and theirs not in REJECT:
        return ("shadowed by this entry: its clients are refused at connect" if not relation == "contains"
                else "partly shadowed: this entry refuses some of its clients")
    if theirs in LOCAL and mine == "*NEAR":
        return ("local domain: mail to it is never relayed, so this entry does not apply"
                if wider else "part of this domain is local mail")
    if mine in LOCAL and theirs == "*NEAR":
        return ("shadowed: its domain is local mail here" if not relation == "contains"
                else "partly local: this entry makes part of it local mail")
    return {"contains": "contains this entry", "within": "lies inside this entry",
            "same": "names the same network"}[relation]


def overlaps(root: Path, row: Row) -> list[tuple[str, str, str]]:
    """(list type, record, what it means) for every entry that overlaps ``row``'s."""
    entry = row.entry()
    mine = row.list_type.type
    found: list[tuple[str, str, str]] = []
    if entry.network is not None:
        net = entry.network
        bits, network, prefix = net.max_prefixlen, int(net.network_address), net.prefixlen
        names = ("*ACCEPT", "*REJECT", "*NEAR") if bits == 32 else ("*ACCEPTIP6", "*REJECTIP6")
        names = tuple(dict.fromkeys(names + (mine,)))
        for name in names:
            list_type = lt.LIST_TYPES[name]
            for other in load_rows(root, [list_type]):
                if name == mine and other.number == row.number:
                    continue
                theirs = _network(other.record, list_type.kind)
                if theirs is None or theirs[0] != bits:
                    continue
                _, their_net, their_prefix = theirs
                short = min(prefix, their_prefix)
                if network >> (bits - short) != their_net >> (bits - short):
                    continue
                relation = ("same" if their_prefix == prefix else
                            "contains" if their_prefix < prefix else "within")
                found.append((name, other.record, _effect(mine, name, relation)))
                if len(found) > MAX_OVERLAPS:
                    return found
    elif entry.domain:
        domain = entry.domain
        names = tuple(dict.fromkeys(("*NEAR", "*DOMAIN", "*DOMAINIP6", mine)))
        for name in names:
            list_type = lt.LIST_TYPES[name]
            for other in load_rows(root, [list_type]):
                if name == mine and other.number == row.number:
                    continue
                their = other.record.split()[0].lower().rstrip(".") if other.record.split() else ""
                if not their or their[0].isdigit() and name == "*NEAR":
                    continue
                if _covers(their, domain):
                    relation = "same" if their == domain else "contains"
                elif _covers(domain, their):
                    relation = "within"
                else:
                    continue
                found.append((name, other.record.split("\t")[0], _effect(mine, name, relation)))
                if len(found) > MAX_OVERLAPS:
                    return found
    return found


# --- the command that removes an entry ----------------------------------------------------------

def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def entry_parameters(row: Row) -> str:
    """The RMVSMTPLE parameters that name this entry (after TYPE)."""
    entry = row.entry()
    kind = row.list_type.kind
    fields = entry.record.split()
    if entry.network is not None:
        if kind == lt.IP6:
            return f"IP6NETADR({_q(fields[0])}) IP6PFX({fields[1]})"
        if kind == lt.HOST6:
            return f"IP6NETADR({_q(entry.address)})"
        if kind == lt.HOST4:
            return f"INTNETADR({_q(entry.address)})"
        return f"INTNETADR({_q(fields[0])}) SUBNETMASK({_q(fields[1])})"
    if kind == lt.TEXT:
        return f"FTRDATA({_q(entry.text)})"
    return f"HOSTNAME({_q(entry.domain)})"


def remove_command(row: Row) -> str:
    return f"RMVSMTPLE TYPE({row.list_type.type}) {entry_parameters(row)}"
