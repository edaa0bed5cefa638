"""Where a recipient goes (IBM i SMTP routing: local, FWDHUBSVR, MAILROUTER, MX; qtsmtp-queue(5) ROUTING).

In order: a local domain (the system name, *DOMAIN and *DOMAINIP6 entries, ALIASDMN
names, this system's address literals) -> the local Maildir; else FWDHUBSVR when set ->
the hub, for all non-local mail; else FIREWALL(*YES) with a MAILROUTER and a domain that
is not *NEAR -> the router; else the domain's MX (falling back to the router when the
domain cannot be resolved).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qtsmtp.cl.charset import is_ascii_digits
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.address import address_literal
from qtsmtp.config.lists import read_entries
from qtsmtp.config.policy import DomainTable
from qtsmtp.config.settings import alias_domains, configured_system_name, own_addresses
from qtsmtp.config.users import local_users

LOCAL, HUB, ROUTER, MX, LITERAL = "local", "hub", "router", "mx", "literal"
SMTP_PORT = 25


@dataclass(frozen=True)
class Route:
    kind: str                      # LOCAL, HUB, ROUTER, MX or LITERAL
    destination: str               # host[:port] (HUB, ROUTER), domain (MX), address (LITERAL)

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.destination


def _is_port(text: str) -> bool:
    return is_ascii_digits(text) and 0 < int(text) < 65536


def split_host_port(text: str, default: int = SMTP_PORT) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port", "v6" -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and _is_port(rest[1:]) else default
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if _is_port(port):
            return host, int(port)
    return text, default


def split_address(address: str) -> tuple[str, str]:
    """(local part, lower-case domain); the domain is "" for a bare local name."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address, ""
    return local, domain.lower().rstrip(".")


def _configured(value) -> str:
    text = str(value or "").strip()
    return "" if not text or text.upper() == "*NONE" else text


class Routing:
    """The routing table of one delivery run: read once from the attributes and lists."""

    def __init__(self, root: Path, values: dict | None = None, system_name: str | None = None,
                 local_addresses: tuple[str, ...] | None = None):
        self.values = values if values is not None else attributes.load(root)
        if system_name is None:
            system_name = configured_system_name(self.values)
        self.system_name = system_name.lower().rstrip(".")
        if local_addresses is None:
            local_addresses = own_addresses(("0.0.0.0",), self.system_name)
        self.local_literals = frozenset(address_literal(a) for a in local_addresses)
        self.local = DomainTable()
        self.local.add(self.system_name, "SYSNAME")
        for type_ in ("*DOMAIN", "*DOMAINIP6"):
            for entry in read_entries(root, lt.LIST_TYPES[type_]):
                self.local.add(entry.domain, type_)
        for alias in alias_domains(self.values):
            self.local.add(alias, "ALIASDMN")
        self.users = local_users(root)      # who has a mailbox here
        self.near = DomainTable()
        for entry in read_entries(root, lt.LIST_TYPES["*NEAR"]):
            if entry.network is None:
                self.near.add(entry.domain, "*NEAR")
        self.hub = _configured(self.values.get("FWDHUBSVR"))
        self.router = _configured(self.values.get("MAILROUTER"))
        self.firewall = str(self.values.get("FIREWALL", "*NO")).upper() == "*YES"
        self.retry_name_server = str(self.values.get("RTYRMTSVR", "*NO")).upper() == "*YES"
        self.bind4 = [e.address for e in read_entries(root, lt.LIST_TYPES["*CLTBIND"])]
        self.bind6 = [e.address for e in read_entries(root, lt.LIST_TYPES["*CLTBNDIP6"])]
        self.credentials = {}
        for entry in read_entries(root, lt.LIST_TYPES["*HOSTAUTH"]):
            _, user, password = entry.record.split("\t", 2)
            self.credentials[entry.domain] = (user, password)

    def is_local(self, domain: str) -> bool:
        if not domain:
            return True
        if domain.startswith("["):
            return domain in self.local_literals
        return self.local.match(domain) is not None

    def route(self, address: str) -> Route:
        _, domain = split_address(address)
        if self.is_local(domain):
            return Route(LOCAL, domain)
        if self.hub:
            return Route(HUB, self.hub)
        if self.firewall and self.router and self.near.match(domain) is None:
            return Route(ROUTER, self.router)
        if domain.startswith("["):
            return Route(LITERAL, domain)
        return Route(MX, domain)

    def source_address(self, family_v6: bool) -> str | None:
        """*CLTBIND / *CLTBNDIP6: the first entry is the source of outbound connections."""
        found = self.bind6 if family_v6 else self.bind4
        return found[0] if found else None

    def credentials_for(self, host: str) -> tuple[str, str] | None:
        return self.credentials.get(host.lower().rstrip("."))
