"""DNS blocklists (CHGSMTPA RBLSVR): is the connecting client listed?

For client 192.0.2.5 and zone bl.example the question is the A record of
5.2.0.192.bl.example (IPv6: the 32 nibbles, reversed); an answer in 127.0.0.0/8 means
listed, NXDOMAIN or no answer means not listed. Each look-up has a time budget
(``DNSBL_TIMEOUT_SECONDS``); a zone that does not answer in time is counted as "not
listed" (fail open, as every MTA does: a dead list must not stop the mail) and logged.

QTSMTP_DNS=off turns the look-ups off (the test suite sets it: no test may ask real DNS).
QTSMTP_DNSBL_NAMESERVER=ADDRESS:PORT sends them to that name server only.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections import OrderedDict

import dns.asyncresolver
import dns.exception
import dns.resolver

DNSBL_TIMEOUT_SECONDS = 2.0
CACHE_SECONDS, CACHE_SIZE = 300, 10_000


def dns_is_off() -> bool:
    return os.environ.get("QTSMTP_DNS", "").lower() == "off"


def query_name(client: str, zone: str) -> str:
    address = ipaddress.ip_address(client)
    if address.version == 4:
        labels = reversed(str(address).split("."))
    else:
        labels = reversed(address.exploded.replace(":", ""))
    return ".".join(labels) + "." + zone.rstrip(".") + "."


class Blocklists:
    def __init__(self, zones: list[str], timeout: float = DNSBL_TIMEOUT_SECONDS,
                 nameserver: str | None = None):
        self.zones = [z for z in zones if z and z != "*NONE"]
        self.timeout = timeout
        self.nameserver = nameserver or os.environ.get("QTSMTP_DNSBL_NAMESERVER") or None
        self._cache: OrderedDict = OrderedDict()
        self._resolver = None

    @property
    def active(self) -> bool:
        return bool(self.zones) and not dns_is_off()

    def _make_resolver(self):
        resolver = dns.asyncresolver.Resolver(configure=self.nameserver is None)
        if self.nameserver is not None:
            host, _, port = self.nameserver.rpartition(":")
            resolver.nameservers = [host.strip("[]")]
            resolver.port = int(port)
        resolver.lifetime = self.timeout
        resolver.timeout = self.timeout
        return resolver

    async def check(self, client: str) -> tuple[str | None, list[str]]:
        """(the zone that lists the client, or None; the zones that did not answer)."""
        if not self.active:
            return None, []
        try:
            ip = ipaddress.ip_address(client)
        except ValueError:
            return None, []
        if ip.is_loopback and self.nameserver is None:
            return None, []
        now = time.monotonic()
        cached = self._cache.get(client)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1], []
        if self._resolver is None:
            self._resolver = self._make_resolver()
        found, silent = None, []
        for zone in self.zones:
            try:
                answer = await self._resolver.resolve(query_name(client, zone), "A")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.exception.DNSException):
                silent.append(zone)
                continue
            if any(ipaddress.ip_address(r.address) in ipaddress.ip_network("127.0.0.0/8")
                   for r in answer):
                found = zone
                break
        if not silent:
            self._cache[client] = (now, found)
            self._cache.move_to_end(client)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found, silent
