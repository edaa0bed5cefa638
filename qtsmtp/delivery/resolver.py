"""MX look-ups with dnspython (a real resolver: MX preference order, the implicit MX of
RFC 5321 5.1, and a name-server failure told apart from a name that does not exist, which
RTYRMTSVR needs and socket.getaddrinfo cannot say).

The engine takes any ``async (domain) -> [host, ...]`` callable; tests pass their own, so
no test ever asks real DNS.
"""

from __future__ import annotations

import os

import dns.asyncresolver
import dns.exception
import dns.resolver


class NameServerFailure(Exception):
    """Temporary: timeout, SERVFAIL, no name server answered."""


class NoSuchDomain(Exception):
    """Permanent: NXDOMAIN, a null MX (RFC 7505), or no address at all."""


async def resolve_mx(domain: str) -> list[str]:
    """The hosts to try for ``domain``, best preference first."""
    if os.environ.get("QTSMTP_DNS", "").lower() == "off":
        raise NameServerFailure(f"DNS look-ups are off (QTSMTP_DNS=off); {domain} not resolved")

    try:
        answer = await dns.asyncresolver.resolve(domain, "MX")
    except dns.resolver.NXDOMAIN:
        raise NoSuchDomain(f"domain {domain} does not exist") from None
    except dns.resolver.NoAnswer:
        return [domain]                        # no MX: the domain is its own mail host
    except (dns.resolver.NoNameservers, dns.exception.Timeout, dns.resolver.YXDOMAIN) as bad:
        raise NameServerFailure(f"name server failure for {domain}: {bad}") from None
    except dns.exception.DNSException as bad:
        raise NameServerFailure(f"name server failure for {domain}: {bad}") from None
    records = sorted(answer, key=lambda r: r.preference)
    hosts = [str(r.exchange).rstrip(".") for r in records]
    if hosts == [""] or hosts == ["."]:
        raise NoSuchDomain(f"domain {domain} accepts no mail (null MX)")
    return [h for h in hosts if h]
