"""The relay decision (qtsmtp-server(8), RELAY): a pure object the server asks, per event.

``RelayPolicy`` is built once from the list entries and the system's own names and
addresses, then only read: every connection and every RCPT is one call that returns a
``Decision`` (reply code, text, and which list entry and ALWRLY rule decided, for logs).

Lookups must cost the same for ten entries and for a million. An IP list is a
PrefixTable (config/prefixtable.py): per prefix length present, the sorted keys
``network >> host_bits``, 4 bytes an IPv4 entry; a lookup probes those prefix lengths
longest first, so the first hit is also the most specific entry, the one DESIGN 5.5 says
to report. Entry text is rebuilt from the key and the prefix length when a decision
needs it, so a million entries cost an array, not strings.

A change (ADDSMTPLE, RMVSMTPLE) makes a new policy and leaves the old one as it was:
a session keeps the policy it started with. So the new one must not cost a copy of
every table: it shares every table the change does not touch; a PrefixTable it touches
shares every key array but those of the prefix lengths changed (made again from slices
of the old one); a domain table is split into SHARDS shards by the hash of the key, and
a copy shares every shard it does not write to (copy on write): a 256th of the table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from array import array
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from qtsmtp.config.address import AddressRefused, Recipient, address_literal
from qtsmtp.config.entries import Entry, PackedIp4
from qtsmtp.config.prefixtable import PrefixTable

ALWRLY_VALUES = ("*NONE", "*ALL", "*LIST", "*NEAR", "*BOTH")

# Keys per table are split into this many shards (a power of two): see the module text.
SHARDS = 256
_SHARD = SHARDS - 1         # match() writes it as the constant 255: a global costs a look-up
# What a shard is before anything is written to it: shared, never written to.
_NO_NAMES = MappingProxyType({})

# What RelayPolicy.with_changes does with a list's entries.
ADD, REMOVE = "add", "remove"

# Decision.rule values other than "ALWRLY(*xxx)".
CONNECT, REJECT, CLIENT, ADDRESS, LOCAL, AUTH, USER, SENDER = (
    "CONNECT", "REJECT", "CLIENT", "ADDRESS", "LOCAL", "AUTH", "USER", "SENDER")

# Reply texts name no list, entry or rule: a refused client learns nothing to work around.
_ACCESS_DENIED = "Access denied"
_RELAY_DENIED = "Relaying denied"
_RECIPIENT_OK = "Recipient ok"
_NO_SUCH_USER = "No such user here"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    code: int
    enhanced: str
    text: str
    rule: str               # CONNECT, REJECT, CLIENT, ADDRESS, LOCAL, AUTH or "ALWRLY(*LIST)"...
    list_name: str = ""     # the list whose entry decided: "*ACCEPT", "*NEAR", "*DOMAIN" ...
    entry: str = ""         # that entry's record text (the most specific one that matched)
    client: str = ""
    recipient: str = ""     # "" for a connection decision
    reason: str = ""        # the clause explain() puts after the verdict

    @property
    def reply(self) -> str:
        """The SMTP reply line, e.g. "550 5.7.1 Relaying denied"."""
        return f"{self.code} {self.enhanced} {self.text}"

    def explain(self) -> str:
        """One line for logs and for people: the verdict, then which rule and entry decided."""
        if self.rule == LOCAL:
            return f"local recipient {self.recipient}: {self.reason}"
        if self.rule == SENDER:
            return f"sender {'accepted' if self.allowed else 'refused'}: {self.reason}"
        if not self.recipient and self.rule in (CONNECT, REJECT, CLIENT):
            verdict = "connection accepted" if self.allowed else "connection refused"
            return f"{verdict}: {self.reason}"
        if self.rule in (REJECT, CLIENT, ADDRESS, USER):
            verdict = "recipient refused"
        else:
            verdict = "relay allowed" if self.allowed else "relay refused"
        return f"{verdict}: {self.reason} (recipient {self.recipient})"

    @classmethod
    def address_refused(cls, refusal: AddressRefused, client_ip: str, raw: str) -> Decision:
        """The decision for an address canonical_recipient refused, for uniform logging."""
        shown = repr(raw[:200])    # repr: the raw text may hold control characters
        return cls(False, refusal.code, refusal.enhanced, refusal.text, ADDRESS,
                   client=client_ip, recipient=shown, reason=refusal.text)


class _Shards:
    """One set (or dict) of keys, as SHARDS shards; copy() shares them until written."""

    __slots__ = ("shards", "owned")

    def __init__(self, empty):
        self.shards = [empty] * SHARDS
        self.owned = bytearray(SHARDS)      # 1: this object's own shard, free to write

    def writable(self, index: int, make):
        """The shard ``index``, this object's own (``make`` copies a shared one)."""
        if self.owned[index]:
            return self.shards[index]
        shard = self.shards[index] = make(self.shards[index])
        self.owned[index] = 1
        return shard

    def copy(self) -> _Shards:
        twin = object.__new__(_Shards)
        twin.shards = list(self.shards)
        twin.owned = bytearray(SHARDS)
        return twin

    def __len__(self) -> int:
        return sum(map(len, self.shards))


class DomainTable:
    """Domain entries: "name" matches that name, ".name" matches name and its sub-domains.

    A domain may be in more than one list that feeds one table (*DOMAIN and *DOMAINIP6):
    the first list named keeps answering for it, and ``_also`` remembers the others, so
    taking it out of one list leaves it in the table for the other."""

    __slots__ = ("_exact", "_suffix", "_suffixes", "_also")

    def __init__(self) -> None:
        self._exact = _Shards(_NO_NAMES)    # domain -> list name
        self._suffix = _Shards(_NO_NAMES)   # domain without its leading "." -> list name
        self._suffixes = 0
        self._also: dict[str, tuple[str, ...]] = {}   # domain as given -> every list name

    def _where(self, domain: str) -> tuple[_Shards, str]:
        if domain.startswith("."):
            return self._suffix, domain[1:]
        return self._exact, domain

    def add(self, domain: str, list_name: str) -> None:
        table, key = self._where(domain)
        held = table.shards[hash(key) & _SHARD].get(key)
        if held is None:
            table.writable(hash(key) & _SHARD, dict)[key] = list_name
            self._suffixes += table is self._suffix
        else:
            names = self._also.get(domain, (held,))
            if list_name not in names:
                self._also[domain] = names + (list_name,)

    def discard(self, domain: str, list_name: str) -> None:
        """Take ``domain`` out of list ``list_name``; it stays while another list has it."""
        table, key = self._where(domain)
        held = table.shards[hash(key) & _SHARD].get(key)
        names = self._also.get(domain, (held,))
        if held is None or list_name not in names:
            return
        self._also.pop(domain, None)
        names = tuple(n for n in names if n != list_name)
        shard = table.writable(hash(key) & _SHARD, dict)
        if not names:
            del shard[key]
            self._suffixes -= table is self._suffix
            return
        shard[key] = names[0]
        if len(names) > 1:
            self._also[domain] = names

    def copy(self) -> DomainTable:
        twin = object.__new__(DomainTable)
        twin._exact, twin._suffix = self._exact.copy(), self._suffix.copy()
        twin._suffixes, twin._also = self._suffixes, dict(self._also)
        return twin

    def match(self, domain: str) -> tuple[str, str] | None:
        """(list name, record) of the most specific entry matching ``domain``, or None."""
        list_name = self._exact.shards[hash(domain) & _SHARD].get(domain)
        if list_name is not None:
            return list_name, domain
        if not self._suffixes or domain.startswith("["):
            return None
        # One dict probe per label: a.b.example.com, b.example.com, example.com, com.
        shards = self._suffix.shards
        name = domain
        while True:
            list_name = shards[hash(name) & _SHARD].get(name)
            if list_name is not None:
                return list_name, "." + name
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1:]

    def __len__(self) -> int:
        return len(self._exact) + len(self._suffix)


class _Batch:
    """The IP entries put in and taken out of each PrefixTable while a policy is made,
    applied to each table at once (``apply``): one new key array per prefix length, not
    one per entry. The last change of a key wins, as if each were made in turn."""

    def __init__(self) -> None:
        self._adds: dict[PrefixTable, dict[int, array | list]] = {}
        self._drops: dict[PrefixTable, dict[int, set]] = {}

    def add_packed(self, table: PrefixTable, packed: PackedIp4) -> None:
        """Put in the entries of a PackedIp4 (a member's read: no entry is taken out)."""
        adds = self._adds.setdefault(table, {})
        self._drops.setdefault(table, {})
        for prefix, keys in packed.items():
            held = adds.get(prefix)
            if held is None:
                adds[prefix] = keys
            else:
                held.extend(keys)

    def adding(self, table: PrefixTable):
        """A function (network, prefix length) that puts an entry in ``table``."""
        adds = self._adds.setdefault(table, {})
        drops = self._drops.setdefault(table, {})
        bits = table.bits

        def add(network: int, prefix: int) -> None:
            keys = adds.get(prefix)
            if keys is None:
                keys = adds[prefix] = array("I") if bits == 32 else []
            key = network >> (bits - prefix)
            keys.append(key)                  # an array: 4 bytes, no int object kept
            dropped = drops.get(prefix)
            if dropped:
                dropped.discard(key)
        return add

    def dropping(self, table: PrefixTable):
        """A function (network, prefix length) that takes an entry out of ``table``."""
        adds = self._adds.setdefault(table, {})
        drops = self._drops.setdefault(table, {})
        bits = table.bits

        def drop(network: int, prefix: int) -> None:
            key = network >> (bits - prefix)
            drops.setdefault(prefix, set()).add(key)
            added = adds.get(prefix)
            if added is not None and key in added:
                kept = [k for k in added if k != key]
                adds[prefix] = array("I", kept) if bits == 32 else kept
        return drop

    def apply(self) -> None:
        for table, adds in self._adds.items():
            table.update(adds, self._drops.get(table, {}))
        self._adds.clear()
        self._drops.clear()


# The tables (RelayPolicy attributes) the entries of each list type go into.
_TABLES_OF = {"*ACCEPT": ("_accept4", "_accept6"), "*ACCEPTIP6": ("_accept4", "_accept6"),
              "*REJECT": ("_reject4", "_reject6"), "*REJECTIP6": ("_reject4", "_reject6"),
              "*NEAR": ("_near4", "_near_domains"), "*DOMAIN": ("_local_domains",),
              "*DOMAINIP6": ("_local_domains",)}


class RelayPolicy:
    """Who may connect, and who may relay to where. Built once, then read-only."""

    __slots__ = ("alwrly", "_rule", "_accept4", "_accept6", "_reject4", "_reject6",
                 "_near4", "_near_domains", "_local_domains", "_local_names", "_local_literals",
                 "_users")

    def __init__(self, alwrly: str, local_domains: Iterable[str] = (),
                 local_addresses: Iterable[str] = (), local_users=None):
        mode = alwrly.strip().upper()
        if not mode.startswith("*"):
            mode = "*" + mode
        if mode not in ALWRLY_VALUES:
            raise ValueError(f"ALWRLY value {alwrly!r} not one of {', '.join(ALWRLY_VALUES)}")
        self.alwrly = mode
        self._rule = f"ALWRLY({mode})"
        self._accept4 = PrefixTable(32, "*ACCEPT")
        self._accept6 = PrefixTable(128, "*ACCEPTIP6")
        self._reject4 = PrefixTable(32, "*REJECT")
        self._reject6 = PrefixTable(128, "*REJECTIP6")
        self._near4 = PrefixTable(32, "*NEAR")
        self._near_domains = DomainTable()
        self._local_domains = DomainTable()
        self._local_names = frozenset(n for n in map(_domain_key, local_domains) if n)
        self._local_literals = frozenset(address_literal(a) for a in local_addresses)
        # users.LocalUsers: who receives mail here (550 5.1.1 for anyone else); None
        # takes every local part at a local domain.
        self._users = local_users

    @classmethod
    def from_entries(cls, alwrly: str, entries: Mapping[str, Iterable[Entry]],
                     local_domains: Iterable[str] = (),
                     local_addresses: Iterable[str] = (), local_users=None) -> RelayPolicy:
        """A policy from list entries keyed by TYPE. Types the relay decision does not use
        (filters, bind lists...) are ignored. The iterables may be generators, so a loader
        can stream a large member without holding every Entry at once. An IPv4 address
        list may give (network, prefix length) pairs instead of Entry objects: a loader
        need not build an IPv4Network for each of a million records."""
        policy = cls(alwrly, local_domains, local_addresses, local_users)
        batch = _Batch()
        policy._add(entries, batch)
        batch.apply()
        return policy

    def with_entries(self, entries: Mapping[str, Iterable[Entry]]) -> RelayPolicy:
        """A new policy: this one and ``entries`` (keyed by TYPE, as from_entries)."""
        return self.with_changes([(ADD, list_type, items) for list_type, items in entries.items()])

    def without_entries(self, entries: Mapping[str, Iterable[Entry]]) -> RelayPolicy:
        """A new policy: this one without ``entries`` (keyed by TYPE; an IPv4 entry may be
        a (network, prefix length) pair), whatever their address family or kind."""
        return self.with_changes([(REMOVE, list_type, items)
                                  for list_type, items in entries.items()])

    def with_changes(self, changes: Iterable[tuple[str, str, Iterable[Entry]]]) -> RelayPolicy:
        """A new policy: this one with ``changes`` made in order, each (ADD or REMOVE,
        TYPE, entries). This one is not changed, so the sessions that use it go on
        seeing it as it was; the new one shares every table no change touches, and of
        those it touches, every shard it does not write to. For a server job applying
        what ADDSMTPLE or RMVSMTPLE did to a list of a million: a few shards copied, not
        a table, let alone a million records parsed again."""
        changes = [(op, list_type.upper(), items) for op, list_type, items in changes]
        twin = self._twin([list_type for _, list_type, _ in changes])
        batch = _Batch()
        for op, list_type, items in changes:
            if op == ADD:
                twin._add({list_type: items}, batch)
            else:
                twin._discard(list_type, items, batch)
        batch.apply()
        return twin

    def with_attributes(self, alwrly: str, local_domains: Iterable[str]) -> RelayPolicy:
        """A new policy: this one's lists, with CHGSMTPA's ALWRLY and local domain names
        (SYSNAME, ALIASDMN), all the attributes change in a policy; no table copied."""
        fresh = RelayPolicy(alwrly, local_domains)
        twin = self._twin(())
        twin.alwrly, twin._rule, twin._local_names = fresh.alwrly, fresh._rule, fresh._local_names
        return twin

    def with_users(self, local_users) -> RelayPolicy:
        """A new policy: this one with the SMTP user directory ``local_users`` (who
        receives mail here); no table copied."""
        twin = self._twin(())
        twin._users = local_users
        return twin

    def _twin(self, list_types: Iterable[str]) -> RelayPolicy:
        """A policy sharing this one's tables, but for its own copies of the tables of
        ``list_types``."""
        twin = object.__new__(RelayPolicy)
        for name in RelayPolicy.__slots__:
            setattr(twin, name, getattr(self, name))
        touched = {attribute for list_type in list_types
                   for attribute in _TABLES_OF.get(list_type.upper(), ())}
        for attribute in touched:
            setattr(twin, attribute, getattr(self, attribute).copy())
        return twin

    def _tables(self, list_type: str) -> tuple[tuple | None, DomainTable | None]:
        """The (IPv4, IPv6) tables and the domain table the entries of a list go to."""
        ip_lists = {"*ACCEPT": (self._accept4, self._accept6),
                    "*ACCEPTIP6": (self._accept4, self._accept6),
                    "*REJECT": (self._reject4, self._reject6),
                    "*REJECTIP6": (self._reject4, self._reject6),
                    "*NEAR": (self._near4, None)}
        domain_lists = {"*NEAR": self._near_domains, "*DOMAIN": self._local_domains,
                        "*DOMAINIP6": self._local_domains}
        return ip_lists.get(list_type), domain_lists.get(list_type)

    def _add(self, entries: Mapping[str, Iterable[Entry]], batch: _Batch) -> None:
        """Put the entries in the tables (the IP ones through ``batch``): only while the
        policy is being built."""
        for list_type, items in entries.items():
            list_type = list_type.upper()
            tables, domains = self._tables(list_type)
            if tables is None and domains is None:
                continue
            add4 = batch.adding(tables[0]) if tables is not None else None
            for entry in items:
                if entry.__class__ is tuple:        # (IPv4 network, prefix length)
                    if add4 is None:
                        raise ValueError(f"{list_type} cannot hold the network {entry!r}")
                    add4(*entry)
                    continue
                if entry.__class__ is PackedIp4:    # a block of them, packed
                    if add4 is None:
                        raise ValueError(f"{list_type} cannot hold IPv4 networks")
                    batch.add_packed(tables[0], entry)
                    continue
                net = entry.network
                if net is None and domains is not None:
                    domains.add(entry.domain, list_type)
                    continue
                table = None
                if tables is not None and net is not None:
                    table = tables[0] if net.version == 4 else tables[1]
                if table is None:
                    raise ValueError(f"{list_type} cannot hold the entry {entry.record!r}")
                batch.adding(table)(int(net.network_address), net.prefixlen)

    def _discard(self, list_type: str, items: Iterable[Entry], batch: _Batch) -> None:
        """Take the entries out of the tables (the IP ones through ``batch``): only while
        the policy is being built. An entry the tables do not hold is no error (taking
        it out twice is taking it out)."""
        tables, domains = self._tables(list_type)
        if tables is None and domains is None:
            return
        for entry in items:
            if entry.__class__ is tuple:
                if tables is not None:
                    batch.dropping(tables[0])(*entry)
                continue
            net = entry.network
            if net is None:
                if domains is not None:
                    domains.discard(entry.domain, list_type)
                continue
            table = None if tables is None else tables[0] if net.version == 4 else tables[1]
            if table is not None:
                batch.dropping(table)(int(net.network_address), net.prefixlen)

    def sizes(self) -> dict[str, int]:
        """Entry counts per list, for the server's start and reload messages."""
        return {"*ACCEPT": len(self._accept4), "*ACCEPTIP6": len(self._accept6),
                "*REJECT": len(self._reject4), "*REJECTIP6": len(self._reject6),
                "*NEAR": len(self._near4) + len(self._near_domains),
                "*DOMAIN": len(self._local_domains)}

    # --- decisions ----------------------------------------------------------------------

    def check_connect(self, client_ip: str) -> Decision:
        """May this client open a session? Only the reject lists are consulted (DESIGN 5.1)."""
        key = client_address(client_ip)
        if key is None:
            return _unknown_client(client_ip, "")
        refused = self._rejected(key, client_ip, "")
        if refused is not None:
            return refused
        table = self._reject4 if key[0] == 4 else self._reject6
        return Decision(True, 220, "2.0.0", "Service ready", CONNECT, client=client_ip,
                        reason=f"client {client_ip} matches no {table.list_name} entry")

    def check_recipient(self, client_ip: str, recipient: Recipient,
                        authenticated: bool = False) -> Decision:
        """May this client send to this (canonical) recipient? Local mail is not relay."""
        key = client_address(client_ip)
        shown = _shown(recipient)
        if key is None:
            return _unknown_client(client_ip, shown)
        # Reject beats everything, also on RCPT: a policy reloaded mid-session, or a server
        # that skipped check_connect, still never takes mail from a rejected client.
        refused = self._rejected(key, client_ip, shown)
        if refused is not None:
            return refused

        # Local mail only if every system the address names is this one: the resolved
        # domain, and the host after the "@" when a % or ! route was resolved (so neither
        # user%us@far nor "user@far"@us is taken for local mail).
        domain = recipient.domain
        local = self._local(domain)
        if local is not None and not recipient.routing_chars and (
                not recipient.via or self._local(recipient.via) is not None):
            list_name, entry, reason = local
            if self._users is not None and self._users.mailbox(recipient.local_part,
                                                               domain) is None:
                # Refused here, at RCPT: no bounce to a forged sender, nothing on disk.
                return Decision(False, 550, "5.1.1", _NO_SUCH_USER, USER, list_name, entry,
                                client_ip, shown, f"{reason}, but no user of the SMTP "
                                f"directory is {recipient.local_part}")
            return Decision(True, 250, "2.1.5", _RECIPIENT_OK, LOCAL, list_name, entry,
                            client_ip, shown, reason)
        # A relay. The queue sends it to recipient.domain, so that is the destination the
        # *NEAR domain list judges; a route hidden behind one of our own names ("%", "!" or
        # "@" left in the local part) goes somewhere unknown, which no domain can authorise.
        unknown = local is not None and recipient.routing_chars
        return self._relay(key, client_ip, "" if unknown else domain, shown, authenticated)

    def check_sender(self, client_ip: str, sender: Recipient, mode: str) -> Decision:
        """CHGSMTPA VFYFROMUSR for a (canonical) MAIL FROM address: *YES, a sender at a
        local domain must be a user of the SMTP directory (or postmaster); *ALL, every
        sender must be; *NO, anyone. The null sender is the caller's to let through:
        bounces must arrive whatever this says."""
        shown = _shown(sender)
        local = None if sender.routing_chars else self._local(sender.domain)
        user = local is not None and (self._users is None or self._users.mailbox(
            sender.local_part, sender.domain) is not None)
        rule = f"VFYFROMUSR({mode})"
        if mode == "*NO" or user or (mode == "*YES" and local is None):
            why = ("is a user of this system" if user else "is not at a local domain")
            return Decision(True, 250, "2.1.0", "Sender ok", SENDER, client=client_ip,
                            recipient=shown, reason=f"{rule} and sender {shown} {why}")
        why = ("is at a local domain but no user of the SMTP directory" if local is not None
               else "is not a user of this system")
        return Decision(False, 553, "5.7.1", "Sender is not a user of this system", SENDER,
                        client=client_ip, recipient=shown, reason=f"{rule} and sender {shown} {why}")

    def _relay(self, key: tuple[int, int], client_ip: str, destination: str, shown: str,
               authenticated: bool) -> Decision:
        mode, rule = self.alwrly, self._rule
        version, address = key
        if mode == "*ALL":
            return _relay_ok(rule, "", "", client_ip, shown, f"{rule} lets every client relay")
        missed: list[str] = []      # lists the client is not in, for the refusal's reason
        domain_miss = ""
        if mode in ("*LIST", "*BOTH"):
            table = self._accept4 if version == 4 else self._accept6
            prefix = table.match(address)
            if prefix >= 0:
                entry = table.record(address, prefix)
                return _relay_ok(rule, table.list_name, entry, client_ip, shown,
                                 f"{rule} and client {client_ip} matches "
                                 f"{table.list_name} entry {entry}")
            missed.append(table.list_name)
        if mode in ("*NEAR", "*BOTH"):
            prefix = self._near4.match(address) if version == 4 else -1
            if prefix >= 0:
                entry = self._near4.record(address, prefix)
                return _relay_ok(rule, "*NEAR", entry, client_ip, shown,
                                 f"{rule} and client {client_ip} matches *NEAR entry {entry}")
            hit = self._near_domains.match(destination) if destination else None
            if hit is not None:
                list_name, entry = hit
                return _relay_ok(rule, list_name, entry, client_ip, shown,
                                 f"{rule} and domain {destination} matches *NEAR entry {entry}")
            missed.append("*NEAR")
            domain_miss = (f" and domain {destination} matches no *NEAR entry" if destination
                           else " and the recipient hides a route behind a local domain")
        if authenticated:
            return _relay_ok(AUTH, "", "", client_ip, shown,
                             f"client {client_ip} authenticated ({rule} alone would refuse)")
        if missed:
            reason = (f"{rule} and client {client_ip} matches no {' or '.join(missed)} entry"
                      f"{domain_miss}")
        else:
            reason = f"{rule} refuses every relay"
        return Decision(False, 550, "5.7.1", _RELAY_DENIED, rule, client=client_ip,
                        recipient=shown, reason=reason)

    def _rejected(self, key: tuple[int, int], client_ip: str, shown: str) -> Decision | None:
        version, address = key
        table = self._reject4 if version == 4 else self._reject6
        prefix = table.match(address)
        if prefix < 0:
            return None
        entry = table.record(address, prefix)
        # 554 closes a connection; on RCPT the refusal is 550 and the session goes on.
        code = 550 if shown else 554
        return Decision(False, code, "5.7.1", _ACCESS_DENIED, REJECT, table.list_name, entry,
                        client_ip, shown,
                        f"client {client_ip} matches {table.list_name} entry {entry}")

    def _local(self, domain: str) -> tuple[str, str, str] | None:
        """(list name, entry, reason) when ``domain`` is this system, else None."""
        if not domain:
            return "", "", "postmaster without a domain means this system's postmaster"
        if domain[0] == "[":
            if domain in self._local_literals:
                return "", "", f"{domain} is an address literal of this system"
            return None
        if domain in self._local_names:
            return "", "", f"domain {domain} is a name of this system"
        hit = self._local_domains.match(domain)
        if hit is None:
            return None
        list_name, entry = hit
        return list_name, entry, f"domain {domain} matches {list_name} entry {entry}"


# --- helpers ----------------------------------------------------------------------------

def _relay_ok(rule: str, list_name: str, entry: str, client_ip: str, shown: str,
              reason: str) -> Decision:
    return Decision(True, 250, "2.1.5", _RECIPIENT_OK, rule, list_name, entry, client_ip,
                    shown, reason)


def _unknown_client(client_ip: str, shown: str) -> Decision:
    # Closed by default: a peer we cannot place in any list is not given the benefit.
    return Decision(False, 550 if shown else 554, "5.7.1", _ACCESS_DENIED, CLIENT,
                    client=client_ip, recipient=shown,
                    reason=f"client address {client_ip!r} is not an IP address")


def _shown(recipient: Recipient) -> str:
    if recipient.resolved or recipient.routing_chars:
        return f"{recipient.address}, written {recipient.original!r}"
    return recipient.address


def _domain_key(name: str) -> str:
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") else name


@lru_cache(maxsize=4096)
def client_address(ip: str) -> tuple[int, int] | None:
    """(4, int) or (6, int) for a peer address, None if it is none. An IPv4-mapped IPv6
    peer (::ffff:10.1.1.1, what a dual-stack socket reports) is the IPv4 client it is.
    Cached: every RCPT of a session asks again for the same peer."""
    if not isinstance(ip, str):
        return None
    if ":" not in ip:
        n = _ip4_int(ip)
        return None if n is None else (4, n)
    try:
        ip6 = ipaddress.IPv6Address(ip.strip("[]"))
    except ValueError:
        return None
    mapped = ip6.ipv4_mapped
    return (4, int(mapped)) if mapped is not None else (6, int(ip6))


def _ip4_int(text: str) -> int | None:
    # Hand-rolled: ipaddress.IPv4Address costs several times more, on every connection.
    parts = text.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for part in parts:
        # isdigit() alone would pass "٣" and int() would pass " 1" or "1_0".
        if not (part.isascii() and part.isdigit()) or len(part) > 3 or (
                len(part) > 1 and part[0] == "0"):
            return None
        value = int(part)
        if value > 255:
            return None
        n = n << 8 | value
    return n
