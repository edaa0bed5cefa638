"""The relay decision (DESIGN.md section 5): a pure object the server asks, per event.

``RelayPolicy`` is built once from the list entries and the system's own names and
addresses, then only read: every connection and every RCPT is one call that returns a
``Decision`` (reply code, text, and which list entry and ALWRLY rule decided, for logs).

Lookups must cost the same for ten entries and for a million. An IP list keeps one set
per prefix length present, holding ``network >> host_bits`` as plain ints; a lookup
probes those prefix lengths longest first, so the first hit is also the most specific
entry, the one DESIGN 5.5 says to report (PrefixTable also skips the long lengths that
have no entry near the client). Entry text is rebuilt from the int and the
prefix length when a decision needs it, so a million entries cost ints, not strings.
"""

from __future__ import annotations

import ipaddress
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from qtsmtp.config.address import AddressRefused, Recipient, address_literal
from qtsmtp.config.entries import Entry

ALWRLY_VALUES = ("*NONE", "*ALL", "*LIST", "*NEAR", "*BOTH")

# Decision.rule values other than "ALWRLY(*xxx)".
CONNECT, REJECT, CLIENT, ADDRESS, LOCAL, AUTH = (
    "CONNECT", "REJECT", "CLIENT", "ADDRESS", "LOCAL", "AUTH")

# Reply texts name no list, entry or rule: a refused client learns nothing to work around.
_ACCESS_DENIED = "Access denied"
_RELAY_DENIED = "Relaying denied"
_RECIPIENT_OK = "Recipient ok"


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
        if not self.recipient and self.rule in (CONNECT, REJECT, CLIENT):
            verdict = "connection accepted" if self.allowed else "connection refused"
            return f"{verdict}: {self.reason}"
        if self.rule in (REJECT, CLIENT, ADDRESS):
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


class PrefixTable:
    """One IP list for one address family: network keys grouped by prefix length.

    A miss probes every prefix length present; in a big list each probe is a cache miss.
    So an IPv4 table also keeps, per /16 block, a 16-bit mask of the lengths /17../32 that
    have an entry inside that block (such an entry lies wholly inside one /16): a client
    far from every long entry skips those 16 probes for one array read. 128 KB, made on
    the first long entry.
    """

    __slots__ = ("bits", "list_name", "_by_prefix", "_long", "_short", "_block_lengths")

    def __init__(self, bits: int, list_name: str):
        self.bits = bits
        self.list_name = list_name
        self._by_prefix: dict[int, set[int]] = {}
        # Longest prefix first, so the first hit is the most specific entry.
        self._long: tuple[tuple[int, int, set[int], int], ...] = ()   # (bit, shift, keys, prefix)
        self._short: tuple[tuple[int, set[int], int], ...] = ()       # (shift, keys, prefix)
        self._block_lengths: array | None = None

    def add(self, network: int, prefix: int) -> None:
        keys = self._by_prefix.get(prefix)
        if keys is None:
            keys = self._by_prefix[prefix] = set()
            self._arrange()
        keys.add(network >> (self.bits - prefix))
        if prefix > 16 and self._block_lengths is not None:
            self._block_lengths[network >> 16] |= 1 << (prefix - 17)

    def _arrange(self) -> None:
        summarised = self.bits == 32 and any(p > 16 for p in self._by_prefix)
        if summarised and self._block_lengths is None:
            self._block_lengths = array("H", bytes(2 * 65536))
        order = sorted(self._by_prefix, reverse=True)
        self._long = tuple((1 << (p - 17), 32 - p, self._by_prefix[p], p)
                           for p in order if summarised and p > 16)
        self._short = tuple((self.bits - p, self._by_prefix[p], p)
                            for p in order if not (summarised and p > 16))

    def discard(self, network: int, prefix: int) -> None:
        """Take the entry out. Its block's bit in _block_lengths stays: a hint that costs
        a probe, never a wrong answer."""
        keys = self._by_prefix.get(prefix)
        if keys is None:
            return
        keys.discard(network >> (self.bits - prefix))
        if not keys:
            del self._by_prefix[prefix]
            self._arrange()

    def copy(self) -> PrefixTable:
        """An independent table with the same entries (for RelayPolicy.with_entries)."""
        twin = PrefixTable(self.bits, self.list_name)
        twin._by_prefix = {prefix: set(keys) for prefix, keys in self._by_prefix.items()}
        if self._block_lengths is not None:
            twin._block_lengths = array("H", self._block_lengths)
        twin._arrange()
        return twin

    def match(self, address: int) -> int:
        """The prefix length of the most specific entry holding ``address``, or -1."""
        if self._block_lengths is not None:
            present = self._block_lengths[address >> 16]
            if present:
                for bit, shift, keys, prefix in self._long:
                    if present & bit and address >> shift in keys:
                        return prefix
        for shift, keys, prefix in self._short:
            if address >> shift in keys:
                return prefix
        return -1

    def record(self, address: int, prefix: int) -> str:
        """The member record of the entry of length ``prefix`` that holds ``address``."""
        shift = self.bits - prefix
        network = address >> shift << shift
        if self.bits == 32:
            return f"{_dotted(network)} {_MASKS4[prefix]}"
        return f"{ipaddress.IPv6Address(network).compressed} {prefix}"

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_prefix.values())


class DomainTable:
    """Domain entries: "name" matches that name, ".name" matches name and its sub-domains."""

    __slots__ = ("_exact", "_suffix")

    def __init__(self) -> None:
        self._exact: dict[str, str] = {}    # domain -> list name
        self._suffix: dict[str, str] = {}   # domain without its leading "." -> list name

    def add(self, domain: str, list_name: str) -> None:
        if domain.startswith("."):
            self._suffix.setdefault(domain[1:], list_name)
        else:
            self._exact.setdefault(domain, list_name)

    def copy(self) -> DomainTable:
        twin = DomainTable()
        twin._exact, twin._suffix = dict(self._exact), dict(self._suffix)
        return twin

    def match(self, domain: str) -> tuple[str, str] | None:
        """(list name, record) of the most specific entry matching ``domain``, or None."""
        list_name = self._exact.get(domain)
        if list_name is not None:
            return list_name, domain
        if not self._suffix or domain.startswith("["):
            return None
        # One dict probe per label: a.b.example.com, b.example.com, example.com, com.
        name = domain
        while True:
            list_name = self._suffix.get(name)
            if list_name is not None:
                return list_name, "." + name
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1:]

    def __len__(self) -> int:
        return len(self._exact) + len(self._suffix)


# The tables (RelayPolicy attributes) the entries of each list type go into.
_TABLES_OF = {"*ACCEPT": ("_accept4", "_accept6"), "*ACCEPTIP6": ("_accept4", "_accept6"),
              "*REJECT": ("_reject4", "_reject6"), "*REJECTIP6": ("_reject4", "_reject6"),
              "*NEAR": ("_near4", "_near_domains"), "*DOMAIN": ("_local_domains",),
              "*DOMAINIP6": ("_local_domains",)}


class RelayPolicy:
    """Who may connect, and who may relay to where. Built once, then read-only."""

    __slots__ = ("alwrly", "_rule", "_accept4", "_accept6", "_reject4", "_reject6",
                 "_near4", "_near_domains", "_local_domains", "_local_names", "_local_literals")

    def __init__(self, alwrly: str, local_domains: Iterable[str] = (),
                 local_addresses: Iterable[str] = ()):
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

    @classmethod
    def from_entries(cls, alwrly: str, entries: Mapping[str, Iterable[Entry]],
                     local_domains: Iterable[str] = (),
                     local_addresses: Iterable[str] = ()) -> RelayPolicy:
        """A policy from list entries keyed by TYPE. Types the relay decision does not use
        (filters, bind lists...) are ignored. The iterables may be generators, so a loader
        can stream a large member without holding every Entry at once. An IPv4 address
        list may give (network, prefix length) pairs instead of Entry objects: a loader
        need not build an IPv4Network for each of a million records."""
        policy = cls(alwrly, local_domains, local_addresses)
        policy._add(entries)
        return policy

    def with_entries(self, entries: Mapping[str, Iterable[Entry]]) -> RelayPolicy:
        """A new policy: this one and ``entries`` (keyed by TYPE, as from_entries). This
        one is not changed, so the sessions that use it go on seeing it as it was; the
        new one shares every table that gets no entry. For a server that reloads after
        ADDSMTPLE appended a few records to a list of a million: a copy of one table,
        not a million records parsed again."""
        twin = self._twin([list_type for list_type, items in entries.items() if items])
        twin._add(entries)
        return twin

    def without_networks(self, networks: Mapping[str, Iterable[tuple[int, int]]]) -> RelayPolicy:
        """A new policy: this one without the IPv4 (network, prefix length) entries of
        ``networks`` (keyed by TYPE: *ACCEPT, *REJECT). As with_entries, this one is not
        changed: for a server that reloads after RMVSMTPLE took one entry out of a list of
        a million."""
        twin = self._twin([list_type for list_type, items in networks.items() if items])
        for list_type, items in networks.items():
            table = getattr(twin, _TABLES_OF[list_type.upper()][0])
            for network, prefix in items:
                table.discard(network, prefix)
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

    def _add(self, entries: Mapping[str, Iterable[Entry]]) -> None:
        """Put the entries in the tables: only while the policy is being built."""
        ip_lists = {"*ACCEPT": (self._accept4, self._accept6),
                    "*ACCEPTIP6": (self._accept4, self._accept6),
                    "*REJECT": (self._reject4, self._reject6),
                    "*REJECTIP6": (self._reject4, self._reject6),
                    "*NEAR": (self._near4, None)}
        domain_lists = {"*NEAR": self._near_domains, "*DOMAIN": self._local_domains,
                        "*DOMAINIP6": self._local_domains}
        for list_type, items in entries.items():
            list_type = list_type.upper()
            tables, domains = ip_lists.get(list_type), domain_lists.get(list_type)
            if tables is None and domains is None:
                continue
            for entry in items:
                if entry.__class__ is tuple:        # (IPv4 network, prefix length)
                    if tables is None:
                        raise ValueError(f"{list_type} cannot hold the network {entry!r}")
                    tables[0].add(*entry)
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
                table.add(int(net.network_address), net.prefixlen)

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
            return Decision(True, 250, "2.1.5", _RECIPIENT_OK, LOCAL, list_name, entry,
                            client_ip, shown, reason)
        # A relay. The queue sends it to recipient.domain, so that is the destination the
        # *NEAR domain list judges; a route hidden behind one of our own names ("%", "!" or
        # "@" left in the local part) goes somewhere unknown, which no domain can authorise.
        unknown = local is not None and recipient.routing_chars
        return self._relay(key, client_ip, "" if unknown else domain, shown, authenticated)

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


def _dotted(n: int) -> str:
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


_MASKS4 = tuple(_dotted(0xFFFFFFFF << (32 - p) & 0xFFFFFFFF) for p in range(33))
