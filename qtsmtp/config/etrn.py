"""ETRN (RFC 1985) under CHGSMTPA ETRNSVR and the *ETRNSVR list: who may ask this server
to run the queue for a node, and what the node argument means. Pure: the server job
hands it the list's entries and the client; the queue does the running.

IBM i says only that the *ETRNSVR list holds the hosts allowed to issue ETRN. qtsmtp
reads its two kinds of entry so (etrn in chgsmtpa(1)):

- an address entry (INTNETADR and SUBNETMASK): a client in that network may ask for any
  node;
- a host name entry (HOSTNAME): a client that names itself that host in EHLO or HELO may
  ask for that host's own queue (the node itself, or @node for it and its sub-domains).

ETRN only makes the server try now what it would try later, to the node's own mail
exchangers, never to the client (RFC 1985 section 7): a client that lies in EHLO gains
an early delivery attempt for someone else, nothing more.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_NODE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\Z")


@dataclass(frozen=True)
class Node:
    domain: str
    subdomains: bool          # "@domain": the domain and every name below it

    def holds(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        return domain == self.domain or (self.subdomains and domain.endswith("." + self.domain))

    def __str__(self) -> str:
        return ("@" if self.subdomains else "") + self.domain


def parse_node(argument: str) -> Node | None:
    """ETRN's argument: "domain" or "@domain"; None when it is neither (a "#queue"
    name, an address literal, nothing)."""
    text = argument.strip().lower()
    subdomains = text.startswith("@")
    domain = text[1:] if subdomains else text
    domain = domain.rstrip(".")
    if not domain or len(domain) > 253 or not _NODE.match(domain):
        return None
    return Node(domain, subdomains)


def permitting_entry(entries, client_ip: str, helo: str, node: Node) -> str | None:
    """The record of the *ETRNSVR entry that lets this client ask for ``node``, or None."""
    try:
        client = ipaddress.ip_address(client_ip)
    except ValueError:
        return None
    if client.version == 6 and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    helo = (helo or "").lower().rstrip(".")
    for entry in entries:
        if entry.network is not None:
            if client.version == entry.network.version and client in entry.network:
                return entry.record
        elif entry.domain and helo == entry.domain.lower() and Node(helo, True).holds(node.domain):
            return entry.record
    return None
