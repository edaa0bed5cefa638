"""What the server reads once, at start: port, bind addresses, system name, limits.

These need a restart to change (CHGSMTPA's help says so for PORT); the relay policy and
the limits of each session are re-read live by ``policyload``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from qtsmtp.messages import escape
from qtsmtp.config import attributes
from qtsmtp.config import listtypes as lt
from qtsmtp.config.lists import read_entries

# CHGSMTPA MAXEMMSIZE(*NOMAX): the largest value the parameter itself allows (2 GB - 1 KB),
# so that "no maximum" still announces a SIZE a client can test against.
NOMAX_MESSAGE_KB = 2097151
WILDCARD = ("0.0.0.0", "::")


@dataclass(frozen=True)
class ServerSettings:
    port: int
    bind_addresses: tuple[str, ...]     # "" never: a wildcard is written 0.0.0.0 / ::
    system_name: str                    # SYSNAME, *DFT resolved once, here
    local_addresses: tuple[str, ...]    # this system's addresses: [x] literals are local
    server_jobs: int

    @property
    def shown_addresses(self) -> str:
        return " ".join(self.bind_addresses)


def load_settings(root: Path, server_jobs: int | None = None) -> ServerSettings:
    values = attributes.load(root)
    port = values.get("PORT")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        member = attributes.attributes_member(root)
        raise escape("TCP2670", member.member, member.file, member.library, "-",
                     f"PORT {port!r} is not a number from 1 to 65535")
    binds = [e.address or e.record for e in read_entries(root, lt.LIST_TYPES["*SVRBIND"])]
    binds += [e.address or e.record for e in read_entries(root, lt.LIST_TYPES["*SVRBNDIP6"])]
    bind_addresses = tuple(dict.fromkeys(b.split()[0] for b in binds)) or WILDCARD
    system_name = configured_system_name(values)
    return ServerSettings(port, bind_addresses, system_name,
                          own_addresses(bind_addresses, system_name),
                          server_jobs or os.cpu_count() or 1)


def configured_system_name(values: dict) -> str:
    """SYSNAME of the attributes, *DFT resolved: lower case, no trailing dot."""
    name = str(values.get("SYSNAME", "*DFT"))
    return default_system_name() if name.upper() == "*DFT" else name.lower().rstrip(".")


def alias_domains(values: dict) -> list[str]:
    """The ALIASDMN domains: local, for the relay decision as for delivery."""
    aliases = values.get("ALIASDMN")
    if not isinstance(aliases, list):
        return []
    return [str(item[1]).lower().rstrip(".") for item in aliases
            if isinstance(item, list) and len(item) == 2 and str(item[1]).upper() != "*NONE"]


def default_system_name() -> str:
    """SYSNAME(*DFT): this host's name, looked up once per server start, never per
    connection (aiosmtpd would call getfqdn for every session)."""
    name = socket.getfqdn() or socket.gethostname()
    return name.lower().rstrip(".") or "localhost"


def own_addresses(bind_addresses: tuple[str, ...], system_name: str) -> tuple[str, ...]:
    """The addresses a recipient's [address literal] may name to mean this system."""
    found = [a for a in bind_addresses if a not in WILDCARD]
    if len(found) < len(bind_addresses):
        # Listening everywhere: loopback and whatever our own name resolves to are us.
        found += ["127.0.0.1", "::1"]
        try:
            found += [info[4][0] for info in socket.getaddrinfo(system_name, None)]
        except OSError:
            pass
    return tuple(dict.fromkeys(a.split("%")[0] for a in found))
